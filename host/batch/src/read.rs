//! Streaming record batches from files: customers in any format this crate
//! knows, decisions in the formats it writes.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use verdict_sdk::schema::Shape;

use crate::columns::{self, field_path, known_field};
use crate::decisions::decisions_schema;
use crate::error::BatchError;
use crate::format::Format;
use crate::keys::KeyCheck;

/// Rows per record batch read: large enough that every core has work,
/// small enough that memory stays a few megabytes per batch.
pub const BATCH_ROWS: usize = 8192;

/// Rows a CSV or JSON Lines file's column types are inferred from.
const INFER_ROWS: usize = 1000;

/// The record batches of a file, one at a time.
pub struct Batches {
    path: PathBuf,
    schema: SchemaRef,
    inner: Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>,
    /// CSV only: the known list fields, written as `a;b;c` text.
    text_lists: Vec<usize>,
    /// JSON Lines customers only: the rows walked for keys given twice.
    keys: Option<KeyCheck>,
}

impl std::fmt::Debug for Batches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches")
            .field("path", &self.path)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl Batches {
    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The columns of every batch.
    #[must_use]
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = self.inner.next()?;
        let batch = batch
            .and_then(|batch| split_text_lists(batch, &self.text_lists))
            .map_err(|e| BatchError::Format {
                path: self.path.clone(),
                message: e.to_string(),
            });
        Some(batch.and_then(|batch| {
            if let Some(keys) = self.keys.as_mut() {
                keys.check(batch.num_rows())?;
            }
            Ok(batch)
        }))
    }
}

fn open(path: &Path) -> Result<File, BatchError> {
    File::open(path).map_err(BatchError::io("open", path))
}

/// Opens a file of customers (Parquet, CSV, JSON Lines or Arrow IPC, by
/// extension) and checks its columns against the profile fields they map to
/// (see [`columns`]): a missing `id` column or a known field in a column of
/// the wrong type is refused here, before any row is read.
///
/// CSV has no types: its column types are inferred from the first rows,
/// except the known fields', which are read as what they are (text, dates
/// as text, numbers as floating point); a known list field such as
/// `products` is written as its items separated by `;`.
///
/// A JSON Lines row whose objects give a key twice is an error of the
/// batch it is in, naming the row and the key.
pub fn profiles(path: &Path, batch_rows: usize) -> Result<Batches, BatchError> {
    let format = Format::require(path)?;
    let batches = match format {
        Format::Parquet => parquet(path, batch_rows)?,
        Format::Csv => csv(path, batch_rows)?,
        Format::JsonLines => {
            let mut file = BufReader::new(open(path)?);
            let (schema, _) =
                arrow_json::reader::infer_json_schema_from_seekable(&mut file, Some(INFER_ROWS))
                    .map_err(|e| BatchError::format(path)(e.to_string()))?;
            let mut batches = json_lines(path, file, Arc::new(schema), batch_rows)?;
            batches.keys = Some(KeyCheck::open(path)?);
            batches
        }
        Format::ArrowIpc => ipc(path)?,
    };
    columns::check_schema(&batches.schema).map_err(|problem| BatchError::Column {
        path: path.to_path_buf(),
        column: problem.column,
        message: problem.message,
    })?;
    Ok(batches)
}

/// Opens a decisions file as `verdict eval --output` writes it: Parquet,
/// JSON Lines or Arrow IPC, by extension.
pub fn decisions(path: &Path, batch_rows: usize) -> Result<Batches, BatchError> {
    match Format::require(path)? {
        Format::Parquet => parquet(path, batch_rows),
        Format::JsonLines => json_lines(
            path,
            BufReader::new(open(path)?),
            decisions_schema(),
            batch_rows,
        ),
        Format::ArrowIpc => ipc(path),
        Format::Csv => Err(BatchError::WrongFormat {
            path: path.to_path_buf(),
            what: "a decisions file",
            format: "CSV",
            instead: ".parquet, .jsonl or .arrow",
        }),
    }
}

pub(crate) fn parquet(path: &Path, batch_rows: usize) -> Result<Batches, BatchError> {
    let fail = |e: parquet::errors::ParquetError| BatchError::format(path)(e.to_string());
    let reader = ParquetRecordBatchReaderBuilder::try_new(open(path)?)
        .map_err(fail)?
        .with_batch_size(batch_rows)
        .build()
        .map_err(fail)?;
    Ok(Batches {
        path: path.to_path_buf(),
        schema: reader.schema(),
        inner: Box::new(reader),
        text_lists: Vec::new(),
        keys: None,
    })
}

fn ipc(path: &Path) -> Result<Batches, BatchError> {
    let reader = arrow_ipc::reader::FileReader::try_new(BufReader::new(open(path)?), None)
        .map_err(|e| BatchError::format(path)(e.to_string()))?;
    Ok(Batches {
        path: path.to_path_buf(),
        schema: reader.schema(),
        inner: Box::new(reader),
        text_lists: Vec::new(),
        keys: None,
    })
}

fn json_lines<R: BufRead + Send + 'static>(
    path: &Path,
    file: R,
    schema: SchemaRef,
    batch_rows: usize,
) -> Result<Batches, BatchError> {
    let reader = arrow_json::ReaderBuilder::new(schema.clone())
        .with_batch_size(batch_rows)
        .build(file)
        .map_err(|e| BatchError::format(path)(e.to_string()))?;
    Ok(Batches {
        path: path.to_path_buf(),
        schema,
        inner: Box::new(reader),
        text_lists: Vec::new(),
        keys: None,
    })
}

fn csv(path: &Path, batch_rows: usize) -> Result<Batches, BatchError> {
    let fail = |e: ArrowError| BatchError::format(path)(e.to_string());
    let mut file = open(path)?;
    let (inferred, _) = arrow_csv::reader::Format::default()
        .with_header(true)
        .infer_schema(&mut file, Some(INFER_ROWS))
        .map_err(fail)?;
    file.rewind().map_err(BatchError::io("read", path))?;
    let mut text_lists = Vec::new();
    let fields: Vec<Field> = inferred
        .fields()
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let read_as = match known_field(&field_path(field.name())).map(|f| f.shape) {
                Some(Shape::Text | Shape::Date) => DataType::Utf8,
                Some(Shape::TextList) => {
                    text_lists.push(i);
                    DataType::Utf8
                }
                Some(Shape::Number) => DataType::Float64,
                Some(Shape::Table(_)) | None => field.data_type().clone(),
            };
            Field::new(field.name(), read_as, true)
        })
        .collect();
    let read_schema = Arc::new(Schema::new(fields));
    let reader = arrow_csv::ReaderBuilder::new(read_schema.clone())
        .with_header(true)
        .with_batch_size(batch_rows)
        .build(BufReader::new(file))
        .map_err(fail)?;
    let schema = Arc::new(Schema::new(
        read_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, field)| {
                if text_lists.contains(&i) {
                    Field::new(field.name(), text_list_type(), true)
                } else {
                    field.as_ref().clone()
                }
            })
            .collect::<Vec<_>>(),
    ));
    Ok(Batches {
        path: path.to_path_buf(),
        schema,
        inner: Box::new(reader),
        text_lists,
        keys: None,
    })
}

fn text_list_type() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// Turns the text columns at `columns` (`a;b;c`) into lists of strings; an
/// empty cell is an empty list, a null one stays null.
fn split_text_lists(batch: RecordBatch, columns: &[usize]) -> Result<RecordBatch, ArrowError> {
    if columns.is_empty() {
        return Ok(batch);
    }
    let mut arrays: Vec<ArrayRef> = batch.columns().to_vec();
    let mut fields: Vec<Field> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    for &i in columns {
        let text = arrays[i].as_string_opt::<i32>().ok_or_else(|| {
            ArrowError::SchemaError(format!("column {i} was read as text but is not"))
        })?;
        let mut lists = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
            "item",
            DataType::Utf8,
            true,
        )));
        for row in 0..text.len() {
            if text.is_null(row) {
                lists.append_null();
                continue;
            }
            for item in text.value(row).split(';').filter(|item| !item.is_empty()) {
                lists.values().append_value(item.trim());
            }
            lists.append(true);
        }
        arrays[i] = Arc::new(lists.finish());
        fields[i] = Field::new(fields[i].name(), text_list_type(), true);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
}

/// Whether `path` holds decisions as `verdict eval --output` writes them
/// rather than a decision log: a Parquet or Arrow IPC file, or JSON Lines
/// whose first line is a decisions row (it has a `profile` and no `hash`,
/// which every log record has).
pub fn is_decisions_file(path: &Path) -> Result<bool, BatchError> {
    match Format::of(path) {
        Some(Format::Parquet | Format::ArrowIpc) => Ok(true),
        Some(Format::JsonLines) => {
            let mut first = String::new();
            BufReader::new(open(path)?)
                .read_line(&mut first)
                .map_err(BatchError::io("read", path))?;
            let row: serde_json::Value = match serde_json::from_str(&first) {
                Ok(row) => row,
                Err(_) => return Ok(false),
            };
            Ok(row.get("profile").is_some() && row.get("hash").is_none())
        }
        Some(Format::Csv) | None => Ok(false),
    }
}

/// The recorded decisions of a decisions file, a record batch at a time,
/// rows numbered from 1.
#[derive(Debug)]
pub struct RecordedRows {
    batches: Batches,
    next_row: usize,
}

impl RecordedRows {
    /// Opens a decisions file (see [`decisions`]).
    pub fn open(path: &Path) -> Result<RecordedRows, BatchError> {
        Ok(RecordedRows {
            batches: decisions(path, BATCH_ROWS)?,
            next_row: 1,
        })
    }
}

impl Iterator for RecordedRows {
    type Item = Result<Vec<verdict_audit::Recorded<'static>>, BatchError>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.batches.next()? {
            Ok(batch) => batch,
            Err(error) => return Some(Err(error)),
        };
        let first = self.next_row;
        self.next_row += batch.num_rows();
        Some(
            crate::decisions::recorded_from_batch(&batch, first).map_err(|row| BatchError::Row {
                path: self.batches.path.clone(),
                row,
            }),
        )
    }
}
