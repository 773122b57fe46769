//! `verdict report`: the arms of experiments side by side, from a log or a
//! decisions file, or a challenger run over past answers after the fact.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use verdict_audit::report::{PolicyReport, Report, Reporter};
use verdict_batch::read::{RecordedRows, is_decisions_file};
use verdict_batch::report::{changed_batch, changed_schema, read_outcomes};
use verdict_batch::write::DecisionsFile;
use verdict_config::Binding;
use verdict_engine::{Limits, Policy};

use crate::cli::{ExperimentFormat, ReportArgs};
use crate::commands;
use crate::exit::Status;

/// Runs `verdict report`.
pub(crate) fn run(args: &ReportArgs) -> anyhow::Result<Status> {
    anyhow::ensure!(
        (args.format == ExperimentFormat::Parquet) == args.output.is_some(),
        "--format parquet writes the changed customers to --output FILE; --output is for it alone"
    );
    let outcomes = args
        .join
        .as_ref()
        .map(|path| read_outcomes(path, &args.on))
        .transpose()?;
    let challenger = args
        .challenger
        .as_ref()
        .map(|path| challenger(path, args.policy.as_deref()))
        .transpose()?;
    let mut reporter = Reporter::new(&args.log, args.policy.as_deref());
    if let Some(challenger) = &challenger {
        reporter = reporter.with_challenger(challenger);
    }
    if let Some(outcomes) = &outcomes {
        reporter = reporter.with_outcomes(outcomes);
    }
    if is_decisions_file(&args.log)? {
        for recorded in RecordedRows::open(&args.log)? {
            reporter.add(&recorded?)?;
        }
    } else {
        commands::log::require_intact(&args.log)?;
        reporter.add_log()?;
    }
    let report = reporter.finish();
    if let Some(policy) = &args.policy {
        anyhow::ensure!(
            !report.policies.is_empty(),
            "`{}` holds no decision of policy `{policy}`",
            args.log.display()
        );
    }
    let mut out = std::io::stdout().lock();
    match (args.format, &args.output) {
        (ExperimentFormat::Json, _) => {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        }
        (ExperimentFormat::Parquet, Some(path)) => {
            let mut file = DecisionsFile::create_table(path, &changed_schema(), "a report")?;
            file.write(&changed_batch(&report)?)?;
            file.finish()?;
            let changed: usize = report.policies.iter().map(|p| p.changed.len()).sum();
            writeln!(
                out,
                "{changed} changed customers written to `{}`",
                path.display()
            )?;
        }
        _ => print_table(&mut out, &report, args.changed)?,
    }
    Ok(Status::Success)
}

/// The champion of the binding at `path`, under the name `policy` when
/// given (a candidate file may be named otherwise than the policy).
fn challenger(path: &std::path::Path, policy: Option<&str>) -> anyhow::Result<Arc<Policy>> {
    let sandbox = commands::sandbox(Limits::default())?;
    let mut binding = Binding::load(path)?;
    if let Some(name) = policy {
        name.clone_into(&mut binding.name);
    }
    let policy = binding
        .bind(&sandbox, &[], &mut HashMap::new())
        .with_context(|| format!("cannot load the challenger `{}`", path.display()))?;
    Ok(Arc::new(policy.with_experiment(None)))
}

fn print_table(out: &mut impl Write, report: &Report, shown: usize) -> std::io::Result<()> {
    writeln!(out, "{} decisions read", report.decisions)?;
    for policy in &report.policies {
        print_policy(out, policy, shown)?;
    }
    Ok(())
}

fn print_policy(out: &mut impl Write, policy: &PolicyReport, shown: usize) -> std::io::Result<()> {
    let experiments = if policy.experiments.is_empty() {
        "no experiment".to_owned()
    } else {
        format!("experiment {}", policy.experiments.join(", "))
    };
    writeln!(out, "\n{} ({experiments})", policy.policy)?;
    writeln!(
        out,
        "  {:<10}  {:>9}  {:>9}  outcomes",
        "arm", "decided", "answered"
    )?;
    for arm in &policy.arms {
        let outcomes: Vec<String> = arm
            .outcomes
            .iter()
            .map(|o| format!("{} {} ({:.1}%)", o.outcome, o.count, o.share * 100.0))
            .collect();
        writeln!(
            out,
            "  {:<10}  {:>9}  {:>9}  {}",
            arm.arm.as_str(),
            arm.decided,
            arm.answered,
            outcomes.join(", ")
        )?;
    }
    for arm in &policy.arms {
        if !arm.totals.is_empty() {
            let totals: Vec<String> = arm
                .totals
                .iter()
                .map(|(key, sum)| format!("{key}={}", number(*sum)))
                .collect();
            writeln!(out, "  {} totals: {}", arm.arm, totals.join(" "))?;
        }
    }
    if policy.compared > 0 {
        #[allow(clippy::cast_precision_loss)]
        let share = policy.agreed as f64 / policy.compared as f64 * 100.0;
        writeln!(
            out,
            "  both arms decided {} customers; same outcome for {} ({share:.1}%)",
            policy.compared, policy.agreed
        )?;
        writeln!(out, "  champion -> challenger:")?;
        for transition in &policy.transitions {
            writeln!(
                out,
                "    {} -> {}: {}",
                transition.from, transition.to, transition.count
            )?;
        }
    }
    if !policy.deltas.is_empty() {
        writeln!(
            out,
            "  value changes (challenger - champion):\n    {:<24} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "value", "n", "mean", "min", "p50", "p90", "p99", "max"
        )?;
        for delta in &policy.deltas {
            writeln!(
                out,
                "    {:<24} {:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
                delta.key,
                delta.count,
                number(delta.mean),
                number(delta.min),
                number(delta.p50),
                number(delta.p90),
                number(delta.p99),
                number(delta.max)
            )?;
        }
    }
    for arm in &policy.arms {
        for joined in &arm.joined {
            writeln!(
                out,
                "  {} {} {}: mean {} over {}",
                arm.arm,
                joined.outcome.as_deref().unwrap_or("(all)"),
                joined.column,
                number(joined.mean),
                joined.count
            )?;
        }
    }
    if !policy.changed.is_empty() {
        writeln!(
            out,
            "  changed customers ({} of {}; --format json or parquet for all):",
            shown.min(policy.changed.len()),
            policy.changed.len()
        )?;
        for changed in policy.changed.iter().take(shown) {
            writeln!(
                out,
                "    at {}  {}  {} -> {}  (answered by the {})",
                changed.at,
                verdict_engine::shown_id(&changed.customer),
                changed.from,
                changed.to,
                changed.answered
            )?;
        }
    }
    Ok(())
}

/// A figure as people read it: whole numbers without decimals, others
/// with up to four.
fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        let text = format!("{value:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}
