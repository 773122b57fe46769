//! `verdict eval`: evaluate profiles against the loaded policies.

use std::path::{Path, PathBuf};

use anyhow::Context;
use verdict_batch::Format as BatchFormat;
use verdict_config::Profiles;
use verdict_engine::{Job, Limits, today_utc};

use crate::cli::EvalArgs;
use crate::commands::{self, eval_batch, policies};
use crate::exit::{PartWay, Status};
use crate::output;
use crate::sink::{Sink, open_log};
use crate::written;

/// Runs `verdict eval`.
pub(crate) fn run(args: &EvalArgs) -> anyhow::Result<Status> {
    let sandbox = commands::sandbox(Limits::default())?;
    let set = policies::load(&sandbox, &args.policies, &args.release)?;
    let policies = set.select(&args.policy)?;
    let files = profile_files(&args.policies, &args.profiles)?;
    written::check(args, &files)?;
    let batch_files = files
        .iter()
        .filter(|path| BatchFormat::is_batch(path))
        .count();
    if batch_files > 0 {
        anyhow::ensure!(
            batch_files == files.len(),
            "give TOML profiles and batch files (.parquet, .csv, .ndjson, .jsonl, .arrow) in \
             separate runs"
        );
        return eval_batch::run(args, sandbox.limits(), &policies, &files);
    }
    anyhow::ensure!(
        args.rejects.is_none(),
        "--rejects is for batch input (.parquet, .csv, .ndjson, .jsonl, .arrow); a TOML \
         profiles file is refused whole"
    );
    // Every file is read and checked before anything is evaluated.
    let profiles = files
        .iter()
        .map(|path| Profiles::load(path))
        .collect::<Result<Vec<_>, _>>()?;
    let today = today_utc()?;
    let mut work: Vec<Job<'_>> = Vec::new();
    for file in &profiles {
        let as_of = args.as_of.or(file.as_of).unwrap_or(today);
        file.check_born_by(as_of)?;
        work.extend(file.customers.iter().map(|profile| Job { as_of, profile }));
    }
    tracing::info!(
        customers = work.len(),
        policies = policies.len(),
        "evaluating"
    );

    // Opened only once the input is known good, so bad input creates no log.
    let mut log = open_log(args, sandbox.limits())?;
    let mut sink = Sink::new(
        args.output.as_deref(),
        args.format,
        &work,
        &policies,
        sandbox.limits(),
    )?;
    let progress = output::progress_bar((work.len() * policies.len()) as u64);
    let errors = sink
        .decide(&policies, &work, log.as_mut(), args.format, &progress)
        .context(PartWay)?;
    progress.finish_and_clear();
    sink.finish().context(PartWay)?;
    Ok(Status::of_errors(errors))
}

/// The profiles files to read: those given, else `DIR/profiles/*.toml`.
fn profile_files(policies: &Path, given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    if let Some(reference) = policies::release_reference(policies) {
        anyhow::bail!(
            "a release holds no sample profiles (oci://{reference}): pass --profiles FILE"
        );
    }
    let dir = policies.join("profiles");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir)
        .with_context(|| format!("cannot read sample profiles in `{}`", dir.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    anyhow::ensure!(
        !files.is_empty(),
        "`{}` holds no profiles files; pass --profiles FILE",
        dir.display()
    );
    Ok(files)
}
