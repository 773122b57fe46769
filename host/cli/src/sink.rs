//! Where `verdict eval`'s decisions go: printed on stdout (a table, JSON or
//! JSON Lines), or written as columns to a decisions file whose modules and
//! parameters are archived beside it, for `verdict replay`; and the
//! decision log of `--log`.

use std::io::StdoutLock;
use std::path::Path;
use std::sync::Arc;

use indicatif::ProgressBar;
use verdict_audit::{Archive, Chunk, DecisionLog, Pipeline};
use verdict_batch::decisions_to_batch;
use verdict_batch::write::DecisionsFile;
use verdict_engine::{Job, Limits, Policy};

use crate::cli::{EvalArgs, Format};
use crate::commands;
use crate::output::RecordWriter;

/// Customers evaluated (in parallel) between two writes of output: bounds
/// memory on huge files while keeping every core busy.
pub(crate) const CHUNK: usize = 8192;

/// The decision log of `--log`, opened for appending.
pub(crate) fn open_log(args: &EvalArgs, limits: Limits) -> anyhow::Result<Option<DecisionLog>> {
    args.log
        .as_ref()
        .map(|path| commands::log::open_for_append(path, limits, args.wait))
        .transpose()
}

/// The destination of a run's decisions.
pub(crate) enum Sink<'p> {
    /// Printed as they are made.
    Print(RecordWriter<StdoutLock<'static>>),
    /// Written to a decisions file, which appears when finished.
    File {
        /// The file being written (boxed: its Parquet writer is large).
        file: Box<DecisionsFile>,
        /// The policies deciding, archived when the file is finished.
        policies: &'p [Arc<Policy>],
        /// The sandbox limits every decision is made under.
        limits: Limits,
    },
}

impl<'p> Sink<'p> {
    /// Prints in `format`, or with `output` writes that file; `work` (the
    /// first customers) sizes the table's columns.
    pub(crate) fn new(
        output: Option<&Path>,
        format: Format,
        work: &[Job<'_>],
        policies: &'p [Arc<Policy>],
        limits: Limits,
    ) -> anyhow::Result<Sink<'p>> {
        Ok(match output {
            Some(path) => Sink::File {
                file: Box::new(DecisionsFile::create(path)?),
                policies,
                limits,
            },
            None => Sink::Print(RecordWriter::new(
                format,
                std::io::stdout().lock(),
                work,
                policies,
            )),
        })
    }

    /// Whether the decisions are needed as JSON text (to print them).
    pub(crate) fn wants_json(&self, format: Format) -> bool {
        matches!(self, Sink::Print(_)) && format != Format::Table
    }

    /// Decides `work` with `policies` through the pipeline (logged to
    /// `log` first, when there is one) and takes every chunk of decisions,
    /// counting them on `progress`; returns how many are `error`. An error
    /// here comes after output may have begun.
    pub(crate) fn decide(
        &mut self,
        policies: &[Arc<Policy>],
        work: &[Job<'_>],
        log: Option<&mut DecisionLog>,
        format: Format,
        progress: &ProgressBar,
    ) -> anyhow::Result<usize> {
        let mut errors = 0usize;
        // Records are encoded to JSON once, in parallel with the decisions,
        // for both the output and the log: the log holds the very bytes
        // printed.
        let mut pipeline = Pipeline::new(policies)
            .chunk(CHUNK)
            .encode(self.wants_json(format));
        if let Some(log) = log {
            pipeline = pipeline.log(log);
        }
        pipeline.decide(work, |chunk| -> anyhow::Result<()> {
            errors += chunk.records.iter().filter(|r| r.is_error()).count();
            self.write(&chunk)?;
            progress.inc(chunk.records.len() as u64);
            Ok(())
        })?;
        Ok(errors)
    }

    /// Takes one chunk of decisions.
    pub(crate) fn write(&mut self, chunk: &Chunk<'_>) -> anyhow::Result<()> {
        match self {
            Sink::Print(writer) => writer.write(&chunk.records, &chunk.encoded)?,
            Sink::File {
                file,
                policies,
                limits,
            } => {
                let batch = decisions_to_batch(policies, chunk.work, &chunk.records, *limits)
                    .map_err(|error| anyhow::anyhow!("cannot encode decisions: {error}"))?;
                file.write(&batch)?;
            }
        }
        Ok(())
    }

    /// Finishes the output: closes what was printed, or archives the
    /// modules and parameters and then renames the decisions file into
    /// place.
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Print(writer) => writer.finish()?,
            Sink::File { file, policies, .. } => {
                Archive::beside(file.path()).store_policies(policies)?;
                file.finish()?;
            }
        }
        Ok(())
    }
}
