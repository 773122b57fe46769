//! A recorded decision — a line of a decision log, or a row of a decisions
//! file — with what re-deciding it needs: what replay and the what-if diff
//! work on, whatever the decisions were stored in.

use std::borrow::Cow;
use std::path::Path;

use verdict_engine::{ArmTag, Sha256};
use verdict_sdk::Date;

use crate::entry;
pub use crate::entry::LoggedLimits;
use crate::error::AuditError;
use crate::lines::Batch;

/// One decision as it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded<'a> {
    /// Where it was recorded: the log line, or the file's row, from 1.
    pub at: usize,
    /// The customer's `id`.
    pub customer: String,
    /// The policy name.
    pub policy: String,
    /// The evaluation date.
    pub as_of: Date,
    /// The sandbox limits it was decided under.
    pub limits: LoggedLimits,
    /// SHA-256 of the module bytes that decided (the archive's key).
    pub module_sha256: Sha256,
    /// SHA-256 of the parameter JSON (the archive's key).
    pub params_sha256: Sha256,
    /// The signed release the policy came in, if the record names one.
    pub release: Option<Sha256>,
    /// The profile JSON exactly as the plugin received it.
    pub input: Cow<'a, str>,
    /// The decision record's JSON, as `verdict eval --format jsonl` prints
    /// it.
    pub decision: Cow<'a, str>,
    /// The experiment, arm and answer the decision names, when it was
    /// made in an experiment.
    pub tag: Option<ArmTag>,
}

impl<'a> Recorded<'a> {
    /// The decision on line `i` of `batch` of the log at `path`, if
    /// `wants(customer, policy)`; a line that does not parse is an error
    /// naming it.
    pub(crate) fn read(
        path: &Path,
        batch: &'a Batch,
        i: usize,
        wants: impl Fn(&str, &str) -> bool,
    ) -> Result<Option<Recorded<'a>>, AuditError> {
        let line = batch.first_line() + i;
        let error = |problem| AuditError::Record {
            path: path.to_path_buf(),
            line,
            problem,
        };
        let parsed = entry::parse(batch.line(i)).map_err(error)?;
        let record = parsed.record;
        let customer = record.customer().map_err(error)?;
        if !wants(&customer, &record.policy) {
            return Ok(None);
        }
        Ok(Some(Recorded {
            at: line,
            as_of: record.as_of().map_err(error)?,
            customer,
            policy: record.policy.into_owned(),
            limits: record.limits,
            module_sha256: parsed.module_sha256,
            params_sha256: parsed.params_sha256,
            release: parsed.release,
            tag: entry::tag(record.decision.get()).map_err(error)?,
            input: record.input.get().into(),
            decision: record.decision.get().into(),
        }))
    }
}

/// Reads every record of the log at `path`, a batch at a time (parsed in
/// parallel), and hands each batch to `take`.
pub(crate) fn each_batch(
    path: &Path,
    mut take: impl FnMut(&[Recorded<'_>]) -> Result<(), AuditError>,
) -> Result<(), AuditError> {
    use rayon::prelude::*;
    let mut lines = crate::lines::Lines::open(path)?;
    while let Some(batch) = lines.next_batch()? {
        let recorded: Vec<Recorded<'_>> = (0..batch.len())
            .into_par_iter()
            .with_min_len(64)
            .filter_map(|i| Recorded::read(path, &batch, i, |_, _| true).transpose())
            .collect::<Result<_, AuditError>>()?;
        take(&recorded)?;
    }
    Ok(())
}
