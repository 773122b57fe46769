//! `verdict eval` on batch files (Parquet, CSV, JSON Lines, Arrow IPC):
//! customers streamed a record batch at a time, so memory stays bounded
//! however large the input.
//!
//! The input is read twice. The first pass checks every row and decides
//! nothing, so a bad row stops the run before any decision is printed,
//! logged or written; the second decides a window of batches at a time
//! through the same pipeline as TOML input (`Pipeline`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;
use verdict_batch::read::{self, BATCH_ROWS, Batches};
use verdict_batch::write::LinesFile;
use verdict_batch::{BatchError, RowChecker, RowError};
use verdict_engine::{Job, Limits, Policy, Profile, today_utc};
use verdict_sdk::Date;

use crate::cli::EvalArgs;
use crate::exit::{PartWay, Status};
use crate::output;
use crate::sink::{CHUNK, Sink, open_log};

/// Customers decided per call of the pipeline: several chunks, so one
/// chunk is written while the next is decided, and still a bounded window.
const WINDOW: usize = 4 * CHUNK;

/// Runs `verdict eval` on `files`, all batch files.
#[expect(clippy::print_stderr, reason = "counts rejected rows on stderr")]
pub(crate) fn run(
    args: &EvalArgs,
    limits: Limits,
    policies: &[Arc<Policy>],
    files: &[PathBuf],
) -> anyhow::Result<Status> {
    let as_of = match args.as_of {
        Some(date) => date,
        None => today_utc()?,
    };
    let customers = check_all(files, as_of, args.rejects.is_some())?;
    tracing::info!(customers, policies = policies.len(), "evaluating");

    let mut log = open_log(args, limits)?;
    let mut rejects = Rejects {
        file: args.rejects.as_deref().map(LinesFile::create).transpose()?,
        count: 0,
    };
    let mut sink: Option<Sink<'_>> = None;
    let progress = output::progress_bar((customers * policies.len()) as u64);
    let mut errors = 0usize;
    for path in files {
        let mut rows = Rows::open(path, as_of)?;
        loop {
            let window = rows.next_window(&mut rejects)?;
            if window.is_empty() {
                break;
            }
            let work: Vec<Job<'_>> = window
                .iter()
                .map(|profile| Job { as_of, profile })
                .collect();
            // Made with the first window, whose ids size the table.
            let mut current = match sink.take() {
                Some(current) => current,
                None => Sink::new(args.output.as_deref(), args.format, &work, policies, limits)?,
            };
            errors += current
                .decide(policies, &work, log.as_mut(), args.format, &progress)
                .context(PartWay)?;
            sink = Some(current);
        }
    }
    progress.finish_and_clear();
    let sink = match sink {
        Some(sink) => sink,
        None => Sink::new(args.output.as_deref(), args.format, &[], policies, limits)?,
    };
    sink.finish().context(PartWay)?;
    if let (Some(file), Some(path)) = (rejects.file, &args.rejects) {
        file.finish().context(PartWay)?;
        eprintln!(
            "{} row(s) rejected, written to `{}`",
            rejects.count,
            path.display()
        );
    }
    Ok(Status::of_errors(errors))
}

/// The first pass: every row of every file checked, nothing decided.
/// Returns how many customers pass; a bad row stops the run unless
/// rejected rows are `kept` aside.
fn check_all(files: &[PathBuf], as_of: Date, kept: bool) -> anyhow::Result<usize> {
    let mut customers = 0usize;
    for path in files {
        let mut rows = Rows::open(path, as_of)?;
        while let Some(checked) = rows.next_checked()? {
            for row in checked {
                match row {
                    Ok(_) => customers += 1,
                    Err(_) if kept => {}
                    Err(row) => {
                        return Err(BatchError::Row {
                            path: path.clone(),
                            row,
                        }
                        .into());
                    }
                }
            }
        }
    }
    Ok(customers)
}

/// Rows refused by the checks: counted, and written to `--rejects` when
/// it is given.
struct Rejects {
    file: Option<LinesFile>,
    count: usize,
}

/// The checked rows of one file, a record batch at a time.
struct Rows {
    path: PathBuf,
    batches: Batches,
    checker: RowChecker,
}

impl Rows {
    /// The next window of customers that pass (up to `WINDOW`, fewer at
    /// the end of the file, none after it); refused rows go to `rejects`.
    fn next_window(&mut self, rejects: &mut Rejects) -> anyhow::Result<Vec<Profile>> {
        let mut window: Vec<Profile> = Vec::with_capacity(WINDOW);
        while window.len() < WINDOW {
            let Some(checked) = self.next_checked()? else {
                break;
            };
            for row in checked {
                match row {
                    Ok(profile) => window.push(profile),
                    Err(row) => {
                        rejects.count += 1;
                        if let Some(file) = rejects.file.as_mut() {
                            file.write_line(&reject_line(&self.path, &row))?;
                        }
                    }
                }
            }
        }
        Ok(window)
    }

    fn open(path: &Path, as_of: Date) -> anyhow::Result<Rows> {
        Ok(Rows {
            path: path.to_path_buf(),
            batches: read::profiles(path, BATCH_ROWS)?,
            checker: RowChecker::new(as_of, 1),
        })
    }

    /// The next batch's rows, each checked; `None` at the end of the file.
    fn next_checked(&mut self) -> anyhow::Result<Option<Vec<Result<Profile, RowError>>>> {
        let Some(batch) = self.batches.next() else {
            return Ok(None);
        };
        let checked = self.checker.check(&batch?).map_err(|problem| {
            let path = self.path.clone();
            match problem.column {
                // Row 0: about the columns, not a row.
                Some(column) if problem.row == 0 => BatchError::Column {
                    path,
                    column,
                    message: problem.message,
                },
                _ => BatchError::Row { path, row: problem },
            }
        })?;
        Ok(Some(checked))
    }
}

/// One line of the rejects file: where the row is, what is wrong, and the
/// row as JSON when it could be made.
fn reject_line(path: &Path, row: &RowError) -> String {
    let input = row
        .input
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok());
    json!({
        "file": path.display().to_string(),
        "row": row.row,
        "column": row.column,
        "error": row.message,
        "input": input,
    })
    .to_string()
}
