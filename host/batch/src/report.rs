//! The experiment report as Arrow: the customers the arms decided
//! differently, as a table for DuckDB or Spark, and outcomes learned later
//! read from a Parquet file to join with the decisions.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Int64Builder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use verdict_audit::report::{Outcomes, Report};

use crate::error::BatchError;

/// Rows read at a time from an outcomes file.
const OUTCOME_ROWS: usize = 64 * 1024;

/// The columns of [`changed_batch`]: `policy`, `experiment` (the
/// policy's experiments, comma-separated), `at` (the champion's log line or
/// file row), `customer`, `answered` (the arm that answered), `from` and
/// `to` (the champion's and the challenger's outcome), `from_value` and
/// `to_value` (their values, JSON text).
#[must_use]
pub fn changed_schema() -> SchemaRef {
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        text("policy"),
        text("experiment"),
        Field::new("at", DataType::Int64, false),
        text("customer"),
        text("answered"),
        text("from"),
        text("to"),
        text("from_value"),
        text("to_value"),
    ]))
}

/// Every changed customer of `report`, one row each (see
/// [`changed_schema`]).
pub fn changed_batch(report: &Report) -> Result<RecordBatch, BatchError> {
    let mut text: Vec<StringBuilder> = (0..8).map(|_| StringBuilder::new()).collect();
    let mut at = Int64Builder::new();
    for policy in &report.policies {
        let experiments = policy.experiments.join(",");
        for changed in &policy.changed {
            let values = [
                policy.policy.as_str(),
                &experiments,
                &changed.customer,
                changed.answered.as_str(),
                &changed.from,
                &changed.to,
                &serde_json::to_string(&changed.from_value).unwrap_or_default(),
                &serde_json::to_string(&changed.to_value).unwrap_or_default(),
            ];
            for (builder, value) in text.iter_mut().zip(values) {
                builder.append_value(value);
            }
            at.append_value(i64::try_from(changed.at).unwrap_or(i64::MAX));
        }
    }
    let mut text = text
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef);
    let mut columns: Vec<ArrayRef> = text.by_ref().take(2).collect();
    columns.push(Arc::new(at.finish()));
    columns.extend(text);
    RecordBatch::try_new(changed_schema(), columns).map_err(|e| BatchError::Format {
        path: Path::new("(report)").to_path_buf(),
        message: e.to_string(),
    })
}

/// Reads outcomes learned later from the Parquet file at `path`: the
/// customer's id in column `on` (text), and every numeric or true/false
/// column beside it (true is 1, false 0); other columns are left out. A
/// customer given twice keeps its last row.
pub fn read_outcomes(path: &Path, on: &str) -> Result<Outcomes, BatchError> {
    let batches = crate::read::parquet(path, OUTCOME_ROWS)?;
    let schema = batches.schema();
    let column_error = |column: &str, message: String| BatchError::Column {
        path: path.to_path_buf(),
        column: column.to_owned(),
        message,
    };
    let Some(key) = schema.fields().iter().position(|f| f.name() == on) else {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        return Err(column_error(
            on,
            format!(
                "no such column to join on (the file's columns: {}); name the customer id column with --on",
                names.join(", ")
            ),
        ));
    };
    let wanted: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|&(i, field)| i != key && numeric(field.data_type()))
        .map(|(i, _)| i)
        .collect();
    if wanted.is_empty() {
        return Err(column_error(
            on,
            "the file has no numeric or true/false column beside it to join".to_owned(),
        ));
    }
    let mut outcomes = Outcomes {
        columns: wanted
            .iter()
            .map(|&i| schema.field(i).name().clone())
            .collect(),
        by_customer: HashMap::new(),
    };
    for batch in batches {
        let batch = batch?;
        let ids = batch.column(key);
        let ids: Vec<Option<&str>> = match ids.data_type() {
            DataType::Utf8 => ids.as_string::<i32>().iter().collect(),
            DataType::LargeUtf8 => ids.as_string::<i64>().iter().collect(),
            other => {
                return Err(column_error(
                    on,
                    format!("must be a text column to join on, found {other}"),
                ));
            }
        };
        let values: Vec<Vec<Option<f64>>> =
            wanted.iter().map(|&i| numbers(batch.column(i))).collect();
        for (row, id) in ids.into_iter().enumerate() {
            let Some(id) = id else { continue };
            outcomes.by_customer.insert(
                id.to_owned(),
                values.iter().map(|column| column[row]).collect(),
            );
        }
    }
    Ok(outcomes)
}

/// Whether a column of `data_type` can be read as numbers.
fn numeric(data_type: &DataType) -> bool {
    use DataType::{
        Boolean, Float32, Float64, Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64,
    };
    matches!(
        data_type,
        Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float32
            | Float64
    )
}

/// A numeric or boolean column as numbers (nulls as `None`).
fn numbers(array: &ArrayRef) -> Vec<Option<f64>> {
    macro_rules! primitive {
        ($type:ty) => {
            array
                .as_primitive::<$type>()
                .iter()
                .map(|v| v.map(|v| v as f64))
                .collect()
        };
    }
    #[allow(clippy::cast_precision_loss, clippy::cast_lossless)]
    match array.data_type() {
        DataType::Boolean => array
            .as_boolean()
            .iter()
            .map(|v| v.map(|v| f64::from(u8::from(v))))
            .collect(),
        DataType::Int8 => primitive!(Int8Type),
        DataType::Int16 => primitive!(Int16Type),
        DataType::Int32 => primitive!(Int32Type),
        DataType::Int64 => primitive!(Int64Type),
        DataType::UInt8 => primitive!(UInt8Type),
        DataType::UInt16 => primitive!(UInt16Type),
        DataType::UInt32 => primitive!(UInt32Type),
        DataType::UInt64 => primitive!(UInt64Type),
        DataType::Float32 => primitive!(Float32Type),
        DataType::Float64 => primitive!(Float64Type),
        _ => vec![None; array.len()],
    }
}
