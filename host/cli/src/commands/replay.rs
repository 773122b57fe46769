//! `verdict replay`: re-run logged decisions on their archived modules and
//! parameters and prove the decision bytes are the same.

use std::io::Write;

use verdict_audit::replay::{Caps, Report, Selection, replay};
use verdict_audit::verify::verify;

use crate::cli::ReplayArgs;
use crate::commands;
use crate::commands::log::archive_for;
use crate::exit::Status;

/// Runs `verdict replay`.
pub fn run(args: &ReplayArgs) -> anyhow::Result<Status> {
    let archive = archive_for(&args.log, args.archive.as_ref());
    let log = args.log.display();
    let mut out = std::io::stdout().lock();
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
    let selection = Selection {
        customers: args.customer.clone(),
        policies: args.policy.clone(),
        lines: args.lines,
    };
    let caps = Caps {
        fuel: args.max_fuel,
        ..Caps::default()
    };
    let report = replay(
        &args.log,
        &archive,
        &commands::module_cache(),
        &selection,
        caps,
    )?;
    let selective = selection != Selection::default();
    anyhow::ensure!(
        report.replayed > 0 || !selective,
        "no decision in `{log}` matches the selection"
    );
    print_report(&mut out, &report)?;
    Ok(if report.all_identical() {
        Status::Success
    } else {
        Status::Failure
    })
}

fn print_report(out: &mut impl Write, report: &Report) -> std::io::Result<()> {
    for mismatch in &report.mismatches {
        writeln!(
            out,
            "MISMATCH line {}: customer {}, policy {}",
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
            "NOT REPLAYED line {}: customer {}, policy {}: {}",
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
