//! The audit trail: a hash-chained decision log, the archive of the module
//! bytes and parameters that made its decisions, and the tools that check it.
//!
//! A [`DecisionLog`] appends one line per decision (the full input, the exact
//! module and parameters by SHA-256, the decision as reported, a timestamp)
//! and seals each line into a hash chain; `host/LOG.md` documents the format.
//! Every module and parameter set it references is kept in an [`Archive`]
//! beside the log. [`verify`](verify::verify) checks the chain and the
//! archive, [`replay`](replay::replay) re-runs logged decisions on the
//! archived bytes and compares them byte for byte, and
//! [`what_if`](whatif::what_if) runs logged inputs through other policies.

pub mod archive;
pub mod compare;
pub mod entry;
pub mod error;
pub mod lines;
pub mod log;
pub mod replay;
pub mod timestamp;
pub mod verify;
pub mod whatif;

pub use archive::Archive;
pub use error::AuditError;
pub use log::DecisionLog;
