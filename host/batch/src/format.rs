//! Which file format a path is, by its extension.

use std::path::Path;

use crate::error::BatchError;

/// A batch file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet (`.parquet`, `.pq`).
    Parquet,
    /// Comma-separated values with a header row (`.csv`).
    Csv,
    /// One JSON object per line (`.ndjson`, `.jsonl`).
    JsonLines,
    /// The Arrow IPC file format (`.arrow`, `.ipc`, `.feather`).
    ArrowIpc,
}

impl Format {
    /// The format `path`'s extension names, if it names one.
    #[must_use]
    pub fn of(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "parquet" | "pq" => Format::Parquet,
            "csv" => Format::Csv,
            "ndjson" | "jsonl" => Format::JsonLines,
            "arrow" | "ipc" | "feather" => Format::ArrowIpc,
            _ => return None,
        })
    }

    /// The format of `path`, or the error that names the ones known.
    pub fn require(path: &Path) -> Result<Format, BatchError> {
        Format::of(path).ok_or_else(|| BatchError::UnknownFormat {
            path: path.to_path_buf(),
        })
    }

    /// Whether `path` names a batch file (rather than TOML profiles or a
    /// decision log).
    #[must_use]
    pub fn is_batch(path: &Path) -> bool {
        Format::of(path).is_some()
    }

    /// The format's name, as messages say it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "Parquet",
            Format::Csv => "CSV",
            Format::JsonLines => "JSON Lines",
            Format::ArrowIpc => "Arrow IPC",
        }
    }
}
