//! A recorded decision — a line of a decision log, or a row of a decisions
//! file — with what re-deciding it needs: what replay and the what-if diff
//! work on, whatever the decisions were stored in.

use std::borrow::Cow;

use verdict_sdk::Date;

pub use crate::entry::LoggedLimits;

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
    pub module_sha256: String,
    /// SHA-256 of the parameter JSON (the archive's key).
    pub params_sha256: String,
    /// The profile JSON exactly as the plugin received it.
    pub input: Cow<'a, str>,
    /// The decision record's JSON, as `verdict eval --format jsonl` prints
    /// it.
    pub decision: Cow<'a, str>,
}

impl<'a> Recorded<'a> {
    /// The decision logged at `line`, from its parsed record, for the
    /// customer `customer` (read from it already, as callers select by it).
    pub(crate) fn logged(
        line: usize,
        customer: String,
        record: crate::entry::Record<'a>,
    ) -> Result<Recorded<'a>, String> {
        Ok(Recorded {
            at: line,
            as_of: record.as_of()?,
            customer,
            policy: record.policy.into_owned(),
            limits: record.limits,
            module_sha256: record.module_sha256.into_owned(),
            params_sha256: record.params_sha256.into_owned(),
            input: record.input.get().into(),
            decision: record.decision.get().into(),
        })
    }
}
