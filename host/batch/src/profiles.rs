//! Customers from record batches: each row mapped to its JSON object
//! ([`columns`](crate::columns)) and checked as every customer is.

use arrow_array::RecordBatch;
use rayon::prelude::*;
use verdict_engine::{Profile, UniqueIds, customer_from_json, duplicate_message};
use verdict_sdk::Date;

use crate::columns::{self, ColumnProblem};
use crate::error::RowError;

/// Checks the rows of a stream of record batches with the checks of a
/// profiles file: the known fields' column types once, then every row's
/// values, and ids unique across every batch it has seen. Rows are
/// numbered on from batch to batch.
///
/// The ids seen are kept (about the id's length plus 40 bytes each); all
/// else is per batch.
#[derive(Debug)]
pub struct RowChecker {
    as_of: Date,
    next_row: usize,
    ids: UniqueIds,
    schema_checked: bool,
}

impl RowChecker {
    /// A checker for customers evaluated on `as_of` (no one may be born
    /// after it), whose first row is numbered `first_row`.
    #[must_use]
    pub fn new(as_of: Date, first_row: usize) -> RowChecker {
        RowChecker {
            as_of,
            next_row: first_row,
            ids: UniqueIds::default(),
            schema_checked: false,
        }
    }

    /// Each row of `batch` as a checked profile or the row's problem. A
    /// column problem (a missing `id` column, a known field in a column of
    /// the wrong type) is the batch's, as the `Err`; its row is 0.
    pub fn check(
        &mut self,
        batch: &RecordBatch,
    ) -> Result<Vec<Result<Profile, RowError>>, RowError> {
        let whole = |problem: ColumnProblem| RowError {
            row: 0,
            column: Some(problem.column),
            message: problem.message,
            input: None,
        };
        if !self.schema_checked {
            columns::check_schema(batch.schema_ref()).map_err(whole)?;
            self.schema_checked = true;
        }
        let first = self.next_row;
        self.next_row += batch.num_rows();
        let rows = columns::rows(batch).map_err(|error| RowError {
            row: first,
            column: None,
            message: error.to_string(),
            input: None,
        })?;
        let non_finite = columns::non_finite(batch);
        let as_of = self.as_of;
        // Mapping and checking a row is independent of the others; only
        // the unique-id rule is taken in order.
        let checked: Vec<Result<Profile, RowError>> = rows
            .into_par_iter()
            .enumerate()
            .with_min_len(256)
            .map(|(i, object)| {
                let row = first + i;
                if let Some((column, value)) = &non_finite[i] {
                    return Err(RowError {
                        row,
                        column: Some(column.clone()),
                        message: format!("{value} is not a number a profile may hold"),
                        input: None,
                    });
                }
                let object = object.map_err(|problem| RowError {
                    row,
                    column: Some(problem.column),
                    message: problem.message,
                    input: None,
                })?;
                let value = serde_json::Value::Object(object);
                customer_from_json(&value, as_of).map_err(|error| RowError {
                    row,
                    column: error.field,
                    message: error.message,
                    input: Some(value.to_string()),
                })
            })
            .collect();
        Ok(checked
            .into_iter()
            .enumerate()
            .map(|(i, profile)| {
                let row = first + i;
                let profile = profile?;
                self.ids
                    .insert(profile.id(), row)
                    .map_err(|first| RowError {
                        row,
                        column: Some("id".to_owned()),
                        message: format!("{} (also row {first})", duplicate_message(profile.id())),
                        input: Some(profile.json().to_owned()),
                    })?;
                Ok(profile)
            })
            .collect())
    }
}

/// The customers of one record batch, checked as a profiles file's are
/// (ids unique within the batch), evaluated on `as_of`; rows are numbered
/// from `first_row`. The first bad row (or column) is the error.
pub fn profiles_from_batch(
    batch: &RecordBatch,
    as_of: Date,
    first_row: usize,
) -> Result<Vec<Profile>, RowError> {
    RowChecker::new(as_of, first_row)
        .check(batch)?
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use std::sync::Arc;

    use arrow_array::builder::{Float64Builder, StringBuilder, StructBuilder};
    use arrow_array::{ArrayRef, Date32Array, Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Fields};
    use serde_json::{Value, json};

    use super::*;

    fn as_of() -> Date {
        "2026-11-23".parse().unwrap()
    }

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn ids(ids: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(ids.to_vec()))
    }

    fn births(days: &[i32]) -> ArrayRef {
        Arc::new(Date32Array::from(days.to_vec()))
    }

    fn json_of(profile: &Profile) -> Value {
        serde_json::from_str(profile.json()).unwrap()
    }

    /// `products` as a list of strings, dictionary-encoded or not.
    fn products(dictionary: bool) -> ArrayRef {
        use arrow_array::builder::{ListBuilder, StringDictionaryBuilder};
        use arrow_array::types::Int32Type;
        let rows: [&[&str]; 2] = [&["savings", "card"], &["card"]];
        if dictionary {
            let mut list = ListBuilder::new(StringDictionaryBuilder::<Int32Type>::new());
            for row in rows {
                for item in row {
                    list.values().append_value(item);
                }
                list.append(true);
            }
            Arc::new(list.finish())
        } else {
            let mut list = ListBuilder::new(StringBuilder::new());
            for row in rows {
                for item in row {
                    list.values().append_value(item);
                }
                list.append(true);
            }
            Arc::new(list.finish())
        }
    }

    #[test]
    fn dictionary_encoded_strings_read_as_the_strings_they_encode() {
        use arrow_array::DictionaryArray;
        use arrow_array::types::Int32Type;
        let plain = batch(vec![
            ("id", ids(&["C-1", "C-2"])),
            ("birth_date", births(&[7000, 8000])),
            ("language", Arc::new(StringArray::from(vec!["pt", "sv"]))),
            ("tier", Arc::new(StringArray::from(vec!["gold", "gold"]))),
            ("products", products(false)),
        ]);
        let dictionary = |values: Vec<&str>| -> ArrayRef {
            Arc::new(values.into_iter().collect::<DictionaryArray<Int32Type>>())
        };
        let encoded = batch(vec![
            ("id", dictionary(vec!["C-1", "C-2"])),
            ("birth_date", births(&[7000, 8000])),
            ("language", dictionary(vec!["pt", "sv"])),
            ("tier", dictionary(vec!["gold", "gold"])),
            ("products", products(true)),
        ]);
        let json = |batch: &RecordBatch| -> Vec<Value> {
            profiles_from_batch(batch, as_of(), 1)
                .unwrap()
                .iter()
                .map(json_of)
                .collect()
        };
        assert_eq!(json(&encoded), json(&plain));
        assert_eq!(
            json(&plain)[0],
            json!({"id": "C-1", "birth_date": "1989-03-02", "language": "pt", "tier": "gold",
                   "products": ["savings", "card"]})
        );
    }

    #[test]
    fn structs_dotted_names_nulls_and_extras_map_to_fields() {
        let fields = Fields::from(vec![
            Field::new("recovery_spent_usd", DataType::Float64, true),
            Field::new("requested_by", DataType::Utf8, true),
        ]);
        let mut stay = StructBuilder::from_fields(fields, 2);
        stay.field_builder::<Float64Builder>(0)
            .unwrap()
            .append_value(1800.5);
        stay.field_builder::<StringBuilder>(1)
            .unwrap()
            .append_null();
        stay.append(true);
        stay.field_builder::<Float64Builder>(0)
            .unwrap()
            .append_null();
        stay.field_builder::<StringBuilder>(1)
            .unwrap()
            .append_null();
        stay.append(false);
        let batch = batch(vec![
            ("id", ids(&["C-1", "C-2"])),
            ("birth_date", births(&[0, 7_000])),
            ("stay", Arc::new(stay.finish())),
            (
                "loan_request.type",
                Arc::new(StringArray::from(vec![Some("car"), None])),
            ),
            ("tier", Arc::new(Int64Array::from(vec![Some(3), None]))),
        ]);
        let profiles = profiles_from_batch(&batch, as_of(), 1).unwrap();
        assert_eq!(profiles.len(), 2);
        assert_eq!(profiles[0].id(), "C-1");
        assert_eq!(
            json_of(&profiles[0]),
            json!({"id": "C-1", "birth_date": "1970-01-01", "stay": {"recovery_spent_usd": 1800.5},
                   "loan_request": {"type": "car"}, "tier": 3})
        );
        assert_eq!(
            json_of(&profiles[1]),
            json!({"id": "C-2", "birth_date": "1989-03-02"})
        );
    }

    #[test]
    fn a_bad_row_is_named_by_row_and_column() {
        let batch = batch(vec![
            ("id", ids(&["C-1", "C-2", "C-3"])),
            (
                "birth_date",
                Arc::new(StringArray::from(vec![
                    "1990-01-01",
                    "1990-13-01",
                    "2030-01-01",
                ])),
            ),
        ]);
        let rows = RowChecker::new(as_of(), 10).check(&batch).unwrap();
        assert!(rows[0].is_ok());
        let second = rows[1].as_ref().unwrap_err();
        assert_eq!(second.row, 11);
        assert_eq!(second.column.as_deref(), Some("birth_date"));
        assert!(
            second.to_string().starts_with(
                "row 11, column `birth_date`: `birth_date` in customer must be a date string"
            ),
            "{second}"
        );
        let third = rows[2].as_ref().unwrap_err();
        assert_eq!(
            third.to_string(),
            "row 12, column `birth_date`: customer `C-3` has birth_date 2030-01-01 after the \
             evaluation date 2026-11-23"
        );
        assert_eq!(profiles_from_batch(&batch, as_of(), 1).unwrap_err().row, 2);
    }

    #[test]
    fn ids_stay_unique_across_batches() {
        let mut checker = RowChecker::new(as_of(), 1);
        let first = batch(vec![
            ("id", ids(&["A", "B"])),
            ("birth_date", births(&[0, 0])),
        ]);
        let second = batch(vec![
            ("id", ids(&["C", "A"])),
            ("birth_date", births(&[0, 0])),
        ]);
        assert!(checker.check(&first).unwrap().iter().all(Result::is_ok));
        let rows = checker.check(&second).unwrap();
        assert!(rows[0].is_ok());
        assert_eq!(
            rows[1].as_ref().unwrap_err().to_string(),
            "row 4, column `id`: duplicate customer id `A` (also row 1)"
        );
    }

    #[test]
    fn columns_of_the_wrong_type_or_missing_are_refused_whole() {
        let typed = batch(vec![
            ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ("birth_date", births(&[0])),
        ]);
        let error = RowChecker::new(as_of(), 1).check(&typed).unwrap_err();
        assert_eq!(error.row, 0);
        assert_eq!(
            error.message,
            "`id` must be a string column, but the column is Int64"
        );
        let missing = batch(vec![("id", ids(&["A"]))]);
        let error = RowChecker::new(as_of(), 1).check(&missing).unwrap_err();
        assert_eq!(error.column.as_deref(), Some("birth_date"));
        let dotted = batch(vec![
            ("id", ids(&["A"])),
            ("birth_date", births(&[0])),
            ("stay.recovery_spent_usd", ids(&["lots"])),
        ]);
        let error = RowChecker::new(as_of(), 1).check(&dotted).unwrap_err();
        assert_eq!(
            error.message,
            "`stay.recovery_spent_usd` must be a numeric column (integer or floating point), \
             but the column is Utf8"
        );
    }
}
