//! Writing decisions files: all or nothing. The file is written under a
//! temporary name beside its place, synced, and renamed into place only by
//! [`DecisionsFile::finish`]; whatever fails before the rename (a failure
//! part way, a refused format, a rename onto a directory), the temporary
//! file is removed and nothing appears at the path.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_json::writer::{LineDelimited, Writer as JsonWriter};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::decisions::decisions_schema;
use crate::error::BatchError;
use crate::format::Format;

enum Sink {
    Parquet(ArrowWriter<BufWriter<File>>),
    JsonLines(JsonWriter<BufWriter<File>, LineDelimited>),
    ArrowIpc(arrow_ipc::writer::FileWriter<BufWriter<File>>),
}

/// A decisions file being written (Parquet, JSON Lines or Arrow IPC, by
/// extension), in the [`decisions_schema`] layout.
pub struct DecisionsFile {
    path: PathBuf,
    temp: Temp,
    sink: Option<Sink>,
}

/// A temporary file beside its final place, removed when dropped unless it
/// was renamed into place: whatever fails, nothing is left behind.
#[derive(Debug)]
struct Temp {
    path: PathBuf,
    committed: bool,
}

impl Temp {
    /// Creates the temporary file for `path`.
    fn create(path: &Path) -> Result<(Temp, BufWriter<File>), BatchError> {
        let temp = temp_beside(path);
        let file = File::create(&temp).map_err(BatchError::io("create", &temp))?;
        Ok((
            Temp {
                path: temp,
                committed: false,
            },
            BufWriter::new(file),
        ))
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl std::fmt::Debug for DecisionsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionsFile")
            .field("path", &self.path)
            .field("temp", &self.temp)
            .finish_non_exhaustive()
    }
}

impl DecisionsFile {
    /// Starts a decisions file at `path`: nothing is at `path` until
    /// [`finish`](DecisionsFile::finish).
    pub fn create(path: &Path) -> Result<DecisionsFile, BatchError> {
        DecisionsFile::create_table(path, &decisions_schema(), "a decisions file")
    }

    /// Starts a file of another table with `schema` (`what` it is, for
    /// errors), written the same way.
    pub fn create_table(
        path: &Path,
        schema: &SchemaRef,
        what: &'static str,
    ) -> Result<DecisionsFile, BatchError> {
        let format = Format::require(path)?;
        let (temp, file) = Temp::create(path)?;
        let mut out = DecisionsFile {
            path: path.to_path_buf(),
            temp,
            sink: None,
        };
        let fail = |message: String| BatchError::Format {
            path: path.to_path_buf(),
            message,
        };
        out.sink = Some(match format {
            Format::Parquet => {
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                Sink::Parquet(
                    ArrowWriter::try_new(file, schema.clone(), Some(properties))
                        .map_err(|e| fail(e.to_string()))?,
                )
            }
            Format::JsonLines => Sink::JsonLines(JsonWriter::new(file)),
            Format::ArrowIpc => Sink::ArrowIpc(
                arrow_ipc::writer::FileWriter::try_new(file, schema)
                    .map_err(|e| fail(e.to_string()))?,
            ),
            Format::Csv => {
                return Err(BatchError::WrongFormat {
                    path: path.to_path_buf(),
                    what,
                    format: "CSV",
                    instead: ".parquet, .jsonl or .arrow",
                });
            }
        });
        Ok(out)
    }

    /// The path the file will have when finished.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a batch of decisions.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), BatchError> {
        let fail = BatchError::format(&self.path);
        match &mut self.sink {
            Some(Sink::Parquet(writer)) => writer.write(batch).map_err(|e| fail(e.to_string())),
            Some(Sink::JsonLines(writer)) => writer.write(batch).map_err(|e| fail(e.to_string())),
            Some(Sink::ArrowIpc(writer)) => writer.write(batch).map_err(|e| fail(e.to_string())),
            None => Err(fail("already finished".to_owned())),
        }
    }

    /// Completes the file, syncs it, and renames it into place.
    pub fn finish(mut self) -> Result<(), BatchError> {
        let fail = BatchError::format(&self.path);
        let file = match self.sink.take() {
            Some(Sink::Parquet(writer)) => writer.into_inner().map_err(|e| fail(e.to_string()))?,
            Some(Sink::JsonLines(mut writer)) => {
                writer.finish().map_err(|e| fail(e.to_string()))?;
                writer.into_inner()
            }
            Some(Sink::ArrowIpc(mut writer)) => {
                writer.finish().map_err(|e| fail(e.to_string()))?;
                writer.into_inner().map_err(|e| fail(e.to_string()))?
            }
            None => return Err(fail("already finished".to_owned())),
        };
        let file = file
            .into_inner()
            .map_err(|e| BatchError::io("write", &self.temp.path)(e.into_error()))?;
        commit(file, &mut self.temp, &self.path)
    }
}

/// A temporary name beside `path`, unique to this process.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Syncs a file, renames it from `temp` to `path` and syncs the directory,
/// so the rename survives a crash.
fn commit(file: File, temp: &mut Temp, path: &Path) -> Result<(), BatchError> {
    file.sync_all()
        .map_err(BatchError::io("sync", &temp.path))?;
    std::fs::rename(&temp.path, path).map_err(BatchError::io("rename", &temp.path))?;
    temp.committed = true;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(BatchError::io("sync", dir))?;
    }
    Ok(())
}

/// A JSON Lines side file (the rejected rows), written all or nothing as a
/// [`DecisionsFile`] is.
#[derive(Debug)]
pub struct LinesFile {
    path: PathBuf,
    temp: Temp,
    file: Option<BufWriter<File>>,
}

impl LinesFile {
    /// Starts the file: nothing is at `path` until
    /// [`finish`](LinesFile::finish).
    pub fn create(path: &Path) -> Result<LinesFile, BatchError> {
        let (temp, file) = Temp::create(path)?;
        Ok(LinesFile {
            path: path.to_path_buf(),
            temp,
            file: Some(file),
        })
    }

    /// Appends one line (a newline is added).
    pub fn write_line(&mut self, line: &str) -> Result<(), BatchError> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| BatchError::format(&self.path)("already finished".to_owned()))?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .map_err(BatchError::io("write", &self.temp.path))
    }

    /// Completes the file, syncs it and renames it into place.
    pub fn finish(mut self) -> Result<(), BatchError> {
        let file = self
            .file
            .take()
            .ok_or_else(|| BatchError::format(&self.path)("already finished".to_owned()))?
            .into_inner()
            .map_err(|e| BatchError::io("write", &self.temp.path)(e.into_error()))?;
        commit(file, &mut self.temp, &self.path)
    }
}
