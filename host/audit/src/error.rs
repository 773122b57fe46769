//! What stops the audit tools: unreadable files, a locked or broken log, a
//! damaged archive.

use std::path::PathBuf;
use std::sync::Arc;

use verdict_engine::Sha256;

use crate::problem::{Flaw, Kind, Problem, RecordError};

/// Everything that stops a log from being appended to, read or replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// A file or directory could not be read or written.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        /// What was being done (`read`, `write`, `lock` ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Another process holds the log's lock.
    #[error("`{}` is locked by another process appending to it", path.display())]
    Locked {
        /// The log.
        path: PathBuf,
    },
    /// The log's last record fails verification, so the chain cannot be
    /// continued.
    #[error(
        "cannot append to `{}`: {problem}; run `verdict log verify {}`",
        path.display(),
        path.display()
    )]
    BrokenTail {
        /// The log.
        path: PathBuf,
        /// What is wrong with its last record.
        problem: Problem,
    },
    /// A log record could not be read (replay and diff check the chain
    /// first, so this points at a line of a log that changed meanwhile).
    #[error("`{}` line {line}: {problem}", path.display())]
    Record {
        /// The log.
        path: PathBuf,
        /// The line, counting from 1.
        line: usize,
        /// What is wrong.
        problem: RecordError,
    },
    /// An archived module or parameter set is missing or does not match its
    /// SHA-256.
    #[error("archive `{}`: the {} {sha256} {flaw}", path.display(), kind.noun())]
    Archive {
        /// The archive entry.
        path: PathBuf,
        /// Module or parameters.
        kind: Kind,
        /// The SHA-256 the entry is stored under.
        sha256: Sha256,
        /// What is wrong with it.
        flaw: Flaw,
    },
    /// A previous append failed part way and could not be undone, so the
    /// log may end with a torn record; nothing more is appended by this
    /// handle.
    #[error("`{}`: an earlier append failed; refusing to append more", path.display())]
    Poisoned {
        /// The log.
        path: PathBuf,
    },
    /// An archived parameter set is not UTF-8 text.
    #[error("archived parameters are not UTF-8")]
    ParamsNotUtf8 {
        /// The archive entry.
        path: PathBuf,
    },
    /// An archived parameter set is not a JSON object.
    #[error("archive `{}`: the parameters are not a JSON object", path.display())]
    ParamsNotObject {
        /// The archive entry.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// Appending a batch panicked (a bug); its decisions were not logged.
    #[error("`{}`: appending panicked; the decisions were not logged", path.display())]
    Panicked {
        /// The log.
        path: PathBuf,
    },
    /// The error of a batch committed together with other callers' appends
    /// (see [`GroupLog`](crate::GroupLog)): each of them gets it.
    #[error(transparent)]
    Shared(Arc<AuditError>),
    /// Decisions that do not match the customers and policies they are
    /// said to be for (a caller's mistake).
    #[error(
        "internal error: {decisions} decisions ({encoded} encoded) for {customers} customers and \
         {policies} policies"
    )]
    Mismatched {
        /// Decisions given.
        decisions: usize,
        /// Encoded decisions given (0: none).
        encoded: usize,
        /// Customers given.
        customers: usize,
        /// Policies given.
        policies: usize,
    },
    /// The decisions of one chunk take more JSON than the budget given to
    /// a [`Pipeline`](crate::Pipeline); none of them was logged.
    #[error("the decisions take more than {most} bytes of JSON, the budget of one chunk")]
    OverBudget {
        /// The budget, in bytes.
        most: usize,
    },
    /// A record could not be encoded.
    #[error("cannot encode a log record")]
    Encode(#[from] serde_json::Error),
    /// The engine could not be set up or refused an archived module.
    #[error(transparent)]
    Engine(#[from] verdict_engine::EngineError),
}

impl AuditError {
    /// An I/O error while doing `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> AuditError {
        let path = path.into();
        move |source| AuditError::Io {
            action,
            path,
            source,
        }
    }
}
