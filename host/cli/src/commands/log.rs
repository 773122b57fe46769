//! `verdict log verify`: check a decision log's chain and archive; and
//! opening a log for the commands that append to it.

use std::io::Write;
use std::path::{Path, PathBuf};

use verdict_audit::log::Wait;
use verdict_audit::verify::{Contents, verify};
use verdict_audit::{Archive, AuditError, DecisionLog};
use verdict_engine::{Limits, Sha256};

use crate::cli::{LogCommand, VerifyArgs};
use crate::commands;
use crate::exit::Status;

/// Runs `verdict log ...`.
pub(crate) fn run(command: &LogCommand) -> anyhow::Result<Status> {
    match command {
        LogCommand::Verify(args) => run_verify(args),
    }
}

/// The archive to use: the one given, else the one beside the log.
/// Fails unless the log at `path` verifies (records and chain), before a
/// command reads its decisions.
pub(crate) fn require_intact(path: &Path) -> anyhow::Result<()> {
    let check = verdict_audit::verify::verify(path, None, None)?;
    if let Some(problem) = check.problem {
        anyhow::bail!(
            "`{}` fails verification: {problem}; run `verdict log verify {}`",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

pub(crate) fn archive_for(log: &Path, given: Option<&PathBuf>) -> Archive {
    given.map_or_else(|| Archive::beside(log), Archive::new)
}

/// Opens a log for appending decisions made under `limits`. When another
/// process is appending, fails at once saying so, or with `wait` says so on
/// stderr and waits for it to finish.
#[expect(clippy::print_stderr, reason = "tells the user why nothing happens")]
pub(crate) fn open_for_append(
    path: &Path,
    limits: Limits,
    wait: bool,
) -> anyhow::Result<DecisionLog> {
    let archive = Archive::beside(path);
    match DecisionLog::open(path, archive.clone(), limits, Wait::No) {
        Err(error @ AuditError::Locked { .. }) if !wait => Err(anyhow::anyhow!(
            "{error} (a running `verdict serve` holds its log for as long as it runs); pass \
             --wait to wait for it to finish"
        )),
        Err(AuditError::Locked { .. }) => {
            eprintln!(
                "note: another process is appending to `{}`; waiting for it to finish",
                path.display()
            );
            Ok(DecisionLog::open(path, archive, limits, Wait::Yes)?)
        }
        other => Ok(other?),
    }
}

fn run_verify(args: &VerifyArgs) -> anyhow::Result<Status> {
    if let Some(anchor) = &args.anchor {
        anyhow::ensure!(
            anchor.parse::<Sha256>().is_ok(),
            "`{anchor}` is not a record hash (64 hex digits)"
        );
    }
    let archive = archive_for(&args.log, args.archive.as_ref());
    let anchor = args.anchor.as_deref().map(str::to_ascii_lowercase);
    // The archived modules are loaded to read what they declare.
    let sandbox = commands::sandbox(Limits::default())?;
    let report = verify(&args.log, Some((&archive, &sandbox)), anchor.as_deref())?;
    let mut out = std::io::stdout().lock();
    let log = args.log.display();
    if let Some(problem) = &report.problem {
        writeln!(out, "FAILED: `{log}` {problem}")?;
        writeln!(
            out,
            "{} lines read; everything from line {} on is unverified",
            report.lines, problem.line
        )?;
        return Ok(Status::Failure);
    }
    if report.anchor_found == Some(false) {
        writeln!(
            out,
            "FAILED: `{log}` holds no record with hash {}: records were cut off its end, or it \
             was rewritten",
            anchor.unwrap_or_default()
        )?;
        return Ok(Status::Failure);
    }
    writeln!(out, "ok: `{log}` is intact")?;
    match report.contents {
        Contents::Decisions => writeln!(out, "records  {}", report.lines)?,
        Contents::Changes => writeln!(out, "changes  {} (a change journal)", report.lines)?,
    }
    if let Some(head) = &report.head {
        writeln!(out, "head     {head}")?;
    }
    if report.contents == Contents::Decisions {
        writeln!(
            out,
            "archive  `{}`: {} module(s), {} parameter set(s), all present and intact",
            archive.root().display(),
            report.modules,
            report.params
        )?;
    }
    if report.head.is_some() {
        writeln!(
            out,
            "note: keep the head hash elsewhere; `verdict log verify {log} --anchor HASH` then \
             also proves that no record was cut off the end"
        )?;
    }
    Ok(Status::Success)
}
