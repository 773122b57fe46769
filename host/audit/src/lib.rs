//! The audit trail: a hash-chained decision log, the archive of the module
//! bytes and parameters that made its decisions, and the tools that check it.
//!
//! A [`DecisionLog`] appends one line per decision (the full input, the exact
//! module and parameters by SHA-256, the decision as reported, a timestamp)
//! and seals each line into a hash chain; `host/audit/LOG.md` documents the
//! format. A [`Pipeline`] is the one place the rule "durable before
//! reported" is kept, for `verdict eval` and `verdict serve` alike; a
//! [`GroupLog`] lets the service's concurrent requests share one sync.
//! Every module and parameter set it references is kept in an [`Archive`]
//! beside the log. [`verify`](verify::verify) checks the chain and the
//! archive, [`replay`](replay::replay) re-runs logged decisions on the
//! archived bytes and compares them byte for byte, and
//! [`what_if`](whatif::what_if) runs logged inputs through other policies.
//! A service's [`Journal`] keeps every change to what it serves, chained
//! the same way and verified by the same walk.

#![deny(missing_docs)]

pub mod archive;
mod compare;
mod entry;
mod error;
mod group;
pub mod journal;
mod lines;
pub mod log;
mod pipeline;
mod problem;
mod recorded;
pub mod replay;
pub mod report;
#[cfg(feature = "testing")]
pub mod testing;
mod timestamp;
pub mod verify;
pub mod whatif;

pub use archive::Archive;
pub use error::AuditError;
pub use group::{GroupLog, LogHealth};
pub use journal::Journal;
pub use log::DecisionLog;
pub use pipeline::{Append, Chunk, Pipeline};
pub use problem::{Contradiction, Flaw, Kind, Problem, ProblemKind, RecordError};
pub use recorded::{LoggedLimits, Recorded};
