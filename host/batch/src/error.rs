//! What stops a batch file from being read or written: a bad row, a column
//! of the wrong type or a missing one, a file that cannot be read, parsed
//! or written.

use std::fmt;
use std::path::PathBuf;

/// A row that fails the profile checks, or a decisions row that does not
/// read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row, counting from 1 (the first row after a CSV header is 1).
    pub row: usize,
    /// The column at fault (dotted for a struct's field), when it is one.
    pub column: Option<String>,
    /// The problem.
    pub message: String,
    /// The row as the JSON object it maps to, when it could be made: what
    /// a rejects file keeps of it.
    pub input: Option<String>,
}

impl fmt::Display for RowError {
    /// `row 3, column `birth_date`: problem`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(column) => write!(f, "row {}, column `{column}`: {}", self.row, self.message),
            None => write!(f, "row {}: {}", self.row, self.message),
        }
    }
}

impl std::error::Error for RowError {}

/// Everything that stops a batch file from being read or written.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// A row fails its checks.
    #[error("{}: {row}", path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// The row and its problem.
        row: RowError,
    },
    /// A column cannot hold the field it maps to, or a needed column is
    /// missing.
    #[error("{}: column `{column}`: {message}", path.display())]
    Column {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// The problem.
        message: String,
    },
    /// The file's extension names no format this crate reads or writes.
    #[error(
        "{}: cannot tell the format from the extension (use .parquet, .csv, .ndjson, .jsonl, .json or .arrow)",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The format is known but not for this use (such as CSV decisions).
    #[error("{}: {what} cannot be {format} (use {instead})", path.display())]
    WrongFormat {
        /// The file.
        path: PathBuf,
        /// What the file is for.
        what: &'static str,
        /// Its format.
        format: &'static str,
        /// The formats that would do.
        instead: &'static str,
    },
    /// A file could not be opened, read, written or renamed.
    #[error("cannot {action} `{}`", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The content does not parse as its format (or cannot be encoded).
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The reader's or writer's message.
        message: String,
    },
}

impl BatchError {
    /// An I/O error on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> BatchError {
        let path = path.to_path_buf();
        move |source| BatchError::Io {
            action,
            path,
            source,
        }
    }

    /// A format error on `path`.
    pub(crate) fn format(path: &std::path::Path) -> impl Fn(String) -> BatchError {
        let path = path.to_path_buf();
        move |message| BatchError::Format {
            path: path.clone(),
            message,
        }
    }
}
