//! `verdict eval`: evaluate profiles against the loaded policies.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rayon::prelude::*;
use verdict::evaluate::evaluate_batch;
use verdict::policy::PolicySet;
use verdict::profile::{Profile, Profiles};
use verdict::record::DecisionRecord;
use verdict::sandbox::{Limits, Sandbox};
use verdict_sdk::Date;

use crate::cli::{EvalArgs, Format};
use crate::commands;
use crate::exit::Status;
use crate::output::{self, RecordWriter};

/// Customers evaluated (in parallel) between two writes of output: bounds
/// memory on huge files while keeping every core busy.
const CHUNK: usize = 8192;

/// A chunk of customers, their decisions, and those encoded as JSON.
type Decided<'w> = (&'w [(Date, &'w Profile)], Vec<DecisionRecord>, Vec<String>);

/// Runs `verdict eval`.
pub fn run(args: &EvalArgs) -> anyhow::Result<Status> {
    let sandbox = Sandbox::new(Limits::default())?;
    let set = PolicySet::load(&sandbox, &args.policies)?;
    let policies = set.select(&args.policy)?;
    let files = profile_files(&args.policies, &args.profiles)?;
    // Every file is read and checked before anything is evaluated.
    let profiles = files
        .iter()
        .map(|path| Profiles::load(path))
        .collect::<Result<Vec<_>, _>>()?;
    let today = today_utc()?;
    let mut work: Vec<(Date, &Profile)> = Vec::new();
    for file in &profiles {
        let as_of = args.as_of.or(file.as_of).unwrap_or(today);
        file.check_born_by(as_of)?;
        work.extend(file.customers.iter().map(|customer| (as_of, customer)));
    }
    tracing::info!(
        customers = work.len(),
        policies = policies.len(),
        "evaluating"
    );

    // Opened only once the input is known good, so bad input creates no log.
    let mut log = match &args.log {
        Some(path) => Some(commands::log::open_for_append(path, sandbox.limits())?),
        None => None,
    };

    let stdout = std::io::stdout();
    let mut writer = RecordWriter::new(args.format, stdout.lock(), &work, &policies);
    let progress = output::progress_bar((work.len() * policies.len()) as u64);
    let mut errors = 0usize;
    // Records are encoded to JSON once, in parallel with the decisions, for
    // both the output and the log: the log holds the very bytes printed.
    let encode = args.format != Format::Table || log.is_some();
    let decide = |chunk| -> anyhow::Result<Decided<'_>> {
        let records = evaluate_batch(&policies, chunk);
        let encoded = if encode {
            records
                .par_iter()
                .map(serde_json::to_string)
                .collect::<Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok((chunk, records, encoded))
    };
    // A chunk is logged and written while the next one is being decided, so
    // the log's write and sync and the output overlap with evaluation; a
    // decision is still reported only once it is durable in the log.
    let mut chunks = work.chunks(CHUNK);
    let mut decided = chunks.next().map(decide).transpose()?;
    while let Some((chunk, records, encoded)) = decided.take() {
        decided = std::thread::scope(|scope| -> anyhow::Result<_> {
            let decide = &decide;
            let next = chunks.next().map(|next| scope.spawn(move || decide(next)));
            errors += records.iter().filter(|r| r.is_error()).count();
            // Durable in the log before reported: one sync per chunk.
            if let Some(log) = &mut log {
                log.append_grid_encoded(&policies, chunk, &records, &encoded)?;
            }
            writer.write(&records, &encoded)?;
            progress.inc(records.len() as u64);
            match next.map(std::thread::ScopedJoinHandle::join) {
                None => Ok(None),
                Some(Ok(decided)) => decided.map(Some),
                Some(Err(_)) => anyhow::bail!("evaluating a chunk of customers panicked"),
            }
        })?;
    }
    progress.finish_and_clear();
    writer.finish()?;
    Ok(if errors > 0 {
        Status::Failure
    } else {
        Status::Success
    })
}

/// The profiles files to read: those given, else `DIR/profiles/*.toml`.
fn profile_files(policies: &Path, given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    if !given.is_empty() {
        return Ok(given.to_vec());
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

/// Today's date in UTC.
fn today_utc() -> anyhow::Result<Date> {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs();
    Ok(Date::from_unix_days(i64::try_from(seconds / 86_400)?)?)
}
