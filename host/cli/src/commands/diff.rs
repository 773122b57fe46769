//! `verdict diff`: run logged inputs through other policies and report
//! which decisions would change.

use std::io::Write;

use verdict_audit::whatif::{Differ, WhatIf, what_if};
use verdict_batch::read::{RecordedRows, is_decisions_file};
use verdict_engine::Limits;

use crate::cli::{DiffArgs, ReportFormat};
use crate::commands::{self, policies};
use crate::exit::Status;

/// Runs `verdict diff`.
pub(crate) fn run(args: &DiffArgs) -> anyhow::Result<Status> {
    let sandbox = commands::sandbox(Limits::default())?;
    let set = policies::load(&sandbox, &args.policies, &args.release)?;
    let (report, source) = if is_decisions_file(&args.log)? {
        let mut differ = Differ::new(&args.log, &set);
        for recorded in RecordedRows::open(&args.log)? {
            differ.add(&recorded?)?;
        }
        (differ.finish(), Source::Decisions)
    } else {
        commands::log::require_intact(&args.log)?;
        (what_if(&args.log, &set)?, Source::Log)
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        ReportFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        ReportFormat::Table => print_table(&mut out, &report, args, source)?,
    }
    Ok(Status::Success)
}

/// What the decisions were read from, as the report names them.
#[derive(Debug, Clone, Copy)]
enum Source {
    Log,
    Decisions,
}

fn print_table(
    out: &mut impl Write,
    report: &WhatIf,
    args: &DiffArgs,
    source: Source,
) -> std::io::Result<()> {
    let (what, at) = match source {
        Source::Log => ("logged", "line"),
        Source::Decisions => ("recorded", "row"),
    };
    writeln!(
        out,
        "{} {what} decisions re-decided with the policies in `{}`: {} would change",
        report.compared,
        args.policies.display(),
        report.changed
    )?;
    for policy in &report.policies {
        writeln!(
            out,
            "\n{} (now {}): {} compared, {} changed",
            policy.policy, policy.version, policy.compared, policy.changed
        )?;
        for transition in &policy.transitions {
            let note = if transition.from == transition.to {
                "   (values or reasons only)"
            } else {
                ""
            };
            writeln!(
                out,
                "  {} -> {}: {}{note}",
                transition.from, transition.to, transition.count
            )?;
        }
    }
    for skipped in &report.skipped {
        writeln!(
            out,
            "\n{}: {} decisions skipped (no such policy in `{}`)",
            skipped.policy,
            skipped.decisions,
            args.policies.display()
        )?;
    }
    if !report.changes.is_empty() {
        writeln!(out, "\nchanged decisions:")?;
    }
    for change in &report.changes {
        writeln!(
            out,
            "{at} {}  {}  {}  {} -> {}",
            change.line, change.customer, change.policy, change.from, change.to
        )?;
        // Messages are long and follow the codes and values; JSON has them.
        let (messages, shown): (Vec<_>, Vec<_>) = change
            .differences
            .iter()
            .partition(|d| d.path.starts_with("reasons[") && d.path.ends_with(".message"));
        for difference in shown {
            writeln!(out, "    {difference}")?;
        }
        if !messages.is_empty() {
            writeln!(
                out,
                "    (reason messages changed too; --format json shows them)"
            )?;
        }
    }
    Ok(())
}
