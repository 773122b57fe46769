//! From columns to profile fields: how a row of a record batch becomes the
//! JSON object a customer is.
//!
//! | column | profile field |
//! | --- | --- |
//! | `id` (string) | `id` |
//! | `birth_date` (date32, or a `"YYYY-MM-DD"` string) | `birth_date` |
//! | a list of strings (`products`) | a list of strings |
//! | a struct (`stay`, `loan_request`) | a table with the struct's fields |
//! | a dotted name (`stay.nights`) | that field of that table |
//! | any other column | the same key, as JSON: numbers, strings, booleans, dates as `"YYYY-MM-DD"`, lists, structs as objects |
//!
//! A null leaves the field out, as an absent key in TOML does. A NaN or an
//! infinity, in any floating-point column (known field or extra), refuses
//! its row: JSON has no such number. The known
//! fields' column types are checked once per file ([`check_schema`]); each
//! row's values are then checked as any JSON customer is.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_json::writer::{LineDelimited, WriterBuilder};
use arrow_schema::{DataType, Field as ArrowField, Fields, Schema};
use serde_json::{Map, Value};
use verdict_sdk::schema::{self, Field, Shape};

/// A column whose type cannot hold the profile field it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnProblem {
    /// The column's name (dotted for a struct's field: `stay.nights`).
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// Checks that every column naming a known profile field has a type that
/// can hold it, and that the required fields have a column.
pub fn check_schema(schema: &Schema) -> Result<(), ColumnProblem> {
    unique_names(schema.fields(), "")?;
    for field in schema.fields() {
        check_column(field.name(), field, &field_path(field.name()))?;
    }
    for required in schema::CUSTOMER.iter().filter(|f| f.required) {
        if schema.field_with_name(required.key).is_err() {
            return Err(ColumnProblem {
                column: required.key.to_owned(),
                message: format!(
                    "there is no `{}` column, and every customer needs one",
                    required.key
                ),
            });
        }
    }
    Ok(())
}

/// Refuses two columns (or two fields of the struct `within`) of one name:
/// which would a customer's field be?
fn unique_names(fields: &Fields, within: &str) -> Result<(), ColumnProblem> {
    for (i, field) in fields.iter().enumerate() {
        if fields[..i]
            .iter()
            .any(|earlier| earlier.name() == field.name())
        {
            let column = if within.is_empty() {
                field.name().clone()
            } else {
                format!("{within}.{}", field.name())
            };
            return Err(ColumnProblem {
                message: format!("the column `{column}` is given twice"),
                column,
            });
        }
    }
    Ok(())
}

/// A column name as a path of keys: `stay.nights` is `nights` in `stay`.
pub(crate) fn field_path(name: &str) -> Vec<&str> {
    name.split('.').collect()
}

/// The known field at `path`, if the path names one.
pub(crate) fn known_field(path: &[&str]) -> Option<&'static Field> {
    let (last, tables) = path.split_last()?;
    let mut fields = schema::CUSTOMER;
    for key in tables {
        match schema::field(fields, key)?.shape {
            Shape::Table(inner) => fields = inner,
            _ => return None,
        }
    }
    schema::field(fields, last)
}

fn check_column(name: &str, column: &ArrowField, path: &[&str]) -> Result<(), ColumnProblem> {
    let Some(known) = known_field(path) else {
        return Ok(());
    };
    let data_type = column.data_type();
    if !holds(known.shape, data_type) {
        return Err(ColumnProblem {
            column: name.to_owned(),
            message: format!(
                "`{}` must be {}, but the column is {data_type}",
                path.join("."),
                wanted(known.shape)
            ),
        });
    }
    if let DataType::Struct(children) = data_type {
        unique_names(children, name)?;
        for child in children {
            let mut inner = path.to_vec();
            inner.push(child.name());
            check_column(&format!("{name}.{}", child.name()), child, &inner)?;
        }
    }
    Ok(())
}

/// The column types a field's shape is written in, in words.
fn wanted(shape: Shape) -> &'static str {
    match shape {
        Shape::Text => "a string column",
        Shape::Number => "a numeric column (integer or floating point)",
        Shape::Date => "a date32 column or a string column of `YYYY-MM-DD` dates",
        Shape::TextList => "a list of strings column",
        Shape::Table(_) => "a struct column (or dotted column names)",
    }
}

/// Strings, or strings dictionary-encoded (pandas categoricals, Polars
/// `Categorical`, DuckDB `ENUM`): read as the strings they encode.
fn is_text(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => is_text(values),
        _ => false,
    }
}

/// Whether a column of `data_type` can hold values of `shape`. All-null
/// columns fit anything.
fn holds(shape: Shape, data_type: &DataType) -> bool {
    if *data_type == DataType::Null {
        return true;
    }
    match shape {
        Shape::Text => is_text(data_type),
        Shape::Number => data_type.is_integer() || data_type.is_floating(),
        Shape::Date => *data_type == DataType::Date32 || is_text(data_type),
        Shape::TextList => match data_type {
            DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) => {
                is_text(item.data_type()) || *item.data_type() == DataType::Null
            }
            _ => false,
        },
        Shape::Table(_) => matches!(data_type, DataType::Struct(_)),
    }
}

/// For each row of `batch`, the first column (dotted for a struct's field)
/// holding a floating-point value that is no number a profile may hold
/// (NaN or an infinity, which JSON cannot write: Arrow's writer would
/// make it a null), with that value.
pub(crate) fn non_finite(batch: &RecordBatch) -> Vec<Option<(String, f64)>> {
    let mut found = vec![None; batch.num_rows()];
    for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        mark_non_finite(field.name(), column, &mut found);
    }
    found
}

fn mark_non_finite(name: &str, column: &ArrayRef, found: &mut [Option<(String, f64)>]) {
    let mut mark = |row: usize, value: f64| {
        if let Some(slot) = found.get_mut(row).filter(|slot| slot.is_none()) {
            *slot = Some((name.to_owned(), value));
        }
    };
    if let Some(values) = column.as_primitive_opt::<Float64Type>() {
        for (row, value) in values.iter().enumerate() {
            if let Some(value) = value.filter(|v| !v.is_finite()) {
                mark(row, value);
            }
        }
    } else if let Some(values) = column.as_primitive_opt::<Float32Type>() {
        for (row, value) in values.iter().enumerate() {
            if let Some(value) = value.filter(|v| !v.is_finite()) {
                mark(row, f64::from(value));
            }
        }
    } else if let Some(structs) = column.as_struct_opt() {
        for (child, values) in structs.fields().iter().zip(structs.columns()) {
            mark_non_finite(&format!("{name}.{}", child.name()), values, found);
        }
    }
}

/// Why a batch's rows could not be made JSON objects at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RowsError {
    /// Arrow's JSON writer refused the batch.
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
    /// What it wrote does not read back as JSON objects.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// It wrote another number of objects than the batch has rows.
    #[error("{rows} rows encoded as {objects} JSON objects")]
    Count {
        /// The batch's rows.
        rows: usize,
        /// The objects written.
        objects: usize,
    },
}

/// A row as the JSON object it stands for, or the column it cannot be
/// made at.
pub type Row = Result<Map<String, Value>, ColumnProblem>;

/// Each row of `batch` as the JSON object it stands for, before the
/// profile checks: nulls left out, dotted names nested. A row whose dotted
/// names collide with another column gets the column it collides at.
pub fn rows(batch: &RecordBatch) -> Result<Vec<Row>, RowsError> {
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(false)
        .build::<_, LineDelimited>(Vec::new());
    writer.write(batch)?;
    writer.finish()?;
    let text = writer.into_inner();
    let dotted: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .filter(|name| name.contains('.'))
        .collect();
    let mut out = Vec::with_capacity(batch.num_rows());
    for line in text.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
        let mut object: Map<String, Value> = serde_json::from_slice(line)?;
        out.push(nest(&mut object, &dotted).map(|()| object));
    }
    if out.len() != batch.num_rows() {
        return Err(RowsError::Count {
            rows: batch.num_rows(),
            objects: out.len(),
        });
    }
    Ok(out)
}

/// Moves each dotted key (`stay.nights`) into its table (`stay`), making
/// the tables it needs.
fn nest(object: &mut Map<String, Value>, dotted: &[&str]) -> Result<(), ColumnProblem> {
    for &name in dotted {
        let Some(value) = object.remove(name) else {
            continue;
        };
        let path = field_path(name);
        let Some((last, tables)) = path.split_last() else {
            continue;
        };
        let mut table = &mut *object;
        for (depth, key) in tables.iter().enumerate() {
            let entry = table
                .entry((*key).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            table = entry.as_object_mut().ok_or_else(|| ColumnProblem {
                column: name.to_owned(),
                message: format!(
                    "`{}` is not a table here, so `{name}` cannot go in it",
                    path[..=depth].join(".")
                ),
            })?;
        }
        if table.insert((*last).to_owned(), value).is_some() {
            return Err(ColumnProblem {
                column: name.to_owned(),
                message: format!("`{name}` is given twice (as a dotted column and in a struct)"),
            });
        }
    }
    Ok(())
}
