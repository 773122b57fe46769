//! `verdict replay`: re-run logged decisions on their archived modules and
//! parameters and prove the decision bytes are the same.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context;
use verdict_audit::replay::{Caps, Replayer, Report, Selection, replay};
use verdict_audit::verify::{missing_by_release, verify};
use verdict_audit::{Archive, Kind, Recorded};
use verdict_batch::read::{RecordedRows, is_decisions_file};
use verdict_engine::{Limits, Sha256};

use crate::cli::{ReleaseArgs, ReplayArgs};
use crate::commands::log::archive_for;
use crate::commands::{self, policies};
use crate::exit::Status;

/// Runs `verdict replay`.
pub(crate) fn run(args: &ReplayArgs) -> anyhow::Result<Status> {
    let archive = archive_for(&args.log, args.archive.as_ref());
    let log = args.log.display();
    let mut out = std::io::stdout().lock();
    let selection = Selection {
        customers: args.customer.clone(),
        policies: args.policy.clone(),
        lines: args.lines,
    };
    let caps = Caps {
        fuel: args.max_fuel,
        decision_time: args.decision_timeout,
        ..Caps::default()
    };
    if is_decisions_file(&args.log)? {
        let cache = commands::module_cache();
        let mut replayer = Replayer::new(&archive, &cache, &selection, caps);
        let mut sample = args.sample.map(Sample::new);
        for recorded in RecordedRows::open(&args.log)? {
            let recorded = recorded?;
            match &mut sample {
                Some(sample) => sample.offer(recorded.into_iter().filter(|r| selection.selects(r))),
                None => replayer.replay(&recorded),
            }
        }
        if let Some(sample) = sample {
            replayer.replay(&sample.into_rows());
        }
        return finish(&mut out, replayer.finish(), &selection, &args.log, "row");
    }
    anyhow::ensure!(
        args.sample.is_none(),
        "--sample is for decisions files (.parquet, .arrow, or .jsonl from `verdict eval \
         --output`); select log records with --lines, --customer or --policy"
    );
    if let Some(repository) = &args.release_from {
        restore(&args.log, &archive, repository, &args.release)?;
    }
    // A replay proves nothing about records that were tampered with, so the
    // chain is checked first; archive entries are checked as they are read.
    let check = verify(&args.log, None, None)?;
    if let Some(problem) = &check.problem {
        writeln!(
            out,
            "FAILED: `{log}` fails verification, nothing replayed: {problem}"
        )?;
        writeln!(out, "run `verdict log verify {log}` for details")?;
        return Ok(Status::Failure);
    }
    let report = replay(
        &args.log,
        &archive,
        &commands::module_cache(),
        &selection,
        caps,
    )?;
    finish(&mut out, report, &selection, &args.log, "line")
}

/// Completes `archive` from the signed releases in `repository` that the
/// log's records name: each release the archive lacks a module or
/// parameter set of is taken by digest (through the release cache,
/// verified against `--trust`), and what it holds of those is stored.
fn restore(
    log: &std::path::Path,
    archive: &Archive,
    repository: &str,
    args: &ReleaseArgs,
) -> anyhow::Result<()> {
    let missing = missing_by_release(log, archive)?;
    let Some((first, _)) = missing.first() else {
        return Ok(());
    };
    let sandbox = commands::sandbox(Limits::default())?;
    let source = policies::release_source(&format!("{repository}@sha256:{first}"), args)?;
    for (digest, wanted) in &missing {
        let reference = source.reference.at(*digest);
        let opened = source
            .cache
            .open_or_pull(
                &source.registry,
                &reference,
                *digest,
                &source.trusted,
                &sandbox,
                &[],
            )
            .with_context(|| {
                format!("cannot take the archive's missing entries from {reference}")
            })?;
        let mut stored = 0;
        for (kind, sha256) in wanted {
            let found = opened.set.policies().iter().find_map(|policy| match kind {
                Kind::Module if policy.plugin().sha256() == *sha256 => {
                    Some(policy.plugin().bytes().to_vec())
                }
                Kind::Params if policy.params_sha256() == *sha256 => {
                    Some(policy.params_json().as_bytes().to_vec())
                }
                _ => None,
            });
            if let Some(bytes) = found {
                archive.store(*kind, &bytes)?;
                stored += 1;
            }
        }
        tracing::info!(
            release = %reference,
            stored,
            missing = wanted.len() - stored,
            "archive entries taken from the release"
        );
    }
    Ok(())
}

/// Prints the report; the status is success only when every decision came
/// out identical. `at` is what a place in the file is called.
fn finish(
    out: &mut impl Write,
    report: Report,
    selection: &Selection,
    path: &std::path::Path,
    at: &str,
) -> anyhow::Result<Status> {
    let selective = *selection != Selection::default();
    anyhow::ensure!(
        report.replayed > 0 || !selective,
        "no decision in `{}` matches the selection",
        path.display()
    );
    print_report(out, &report, at)?;
    Ok(if report.all_identical() {
        Status::Success
    } else {
        Status::Failure
    })
}

/// A deterministic sample of `size` recorded decisions: those whose
/// SHA-256 of customer and policy is smallest, so the same decisions are
/// picked whatever order the file holds them in. Holds at most `size`.
struct Sample {
    size: usize,
    kept: BTreeMap<(Sha256, usize), Recorded<'static>>,
}

impl Sample {
    fn new(size: usize) -> Sample {
        Sample {
            size,
            kept: BTreeMap::new(),
        }
    }

    fn offer(&mut self, recorded: impl Iterator<Item = Recorded<'static>>) {
        for record in recorded {
            let key = Sha256::of(format!("{}\0{}", record.customer, record.policy).as_bytes());
            self.kept.insert((key, record.at), record);
            if self.kept.len() > self.size {
                self.kept.pop_last();
            }
        }
    }

    /// The sample, in file order.
    fn into_rows(self) -> Vec<Recorded<'static>> {
        let mut rows: Vec<Recorded<'static>> = self.kept.into_values().collect();
        rows.sort_by_key(|record| record.at);
        rows
    }
}

fn print_report(out: &mut impl Write, report: &Report, at: &str) -> std::io::Result<()> {
    for mismatch in &report.mismatches {
        writeln!(
            out,
            "MISMATCH {at} {}: customer {}, policy {}",
            mismatch.line, mismatch.customer, mismatch.policy
        )?;
        for difference in &mismatch.differences {
            writeln!(out, "  {difference}   (logged -> replayed)")?;
        }
        if mismatch.differences.is_empty()
            && let Some(at) = mismatch.first_byte
        {
            writeln!(
                out,
                "  same values, different bytes from byte {at} (logged -> replayed)"
            )?;
        }
        writeln!(out, "  logged:   {}", mismatch.logged)?;
        writeln!(out, "  replayed: {}", mismatch.replayed)?;
    }
    for failure in &report.unreplayable {
        writeln!(
            out,
            "NOT REPLAYED {at} {}: customer {}, policy {}: {}",
            failure.line, failure.customer, failure.policy, failure.reason
        )?;
    }
    let mut summary = format!(
        "replayed {}: {} identical, {} mismatched",
        report.replayed,
        report.identical,
        report.mismatches.len()
    );
    if !report.unreplayable.is_empty() {
        summary.push_str(&format!(", {} not replayable", report.unreplayable.len()));
    }
    writeln!(out, "{summary}")
}
