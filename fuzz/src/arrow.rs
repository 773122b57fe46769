//! Record batches built from fuzz bytes: columns named like profile fields
//! (or not), of every type a data lake file holds, with nulls anywhere;
//! each string column can be materialized plain or dictionary-encoded.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, DictionaryArray, Float32Array, Float64Array, Int32Array,
    Int64Array, LargeStringArray, NullArray, RecordBatch, RecordBatchOptions, StringArray,
    StringViewArray, StructArray, TimestampMillisecondArray,
};
use arrow_buffer::NullBuffer;
use arrow_schema::{Field, Fields, Schema};
use libfuzzer_sys::arbitrary::{Result, Unstructured};

/// Names a column may have: the profile's fields, their dotted parts, and
/// others.
const NAMES: &[&str] = &[
    "id",
    "birth_date",
    "name",
    "language",
    "products",
    "stay",
    "loan_request",
    "stay.nights",
    "stay.recovery_spent_usd",
    "loan_request.type",
    "loan_request.amount_usd",
    "recovery_spent_usd",
    "requested_recovery_usd",
    "requested_by",
    "type",
    "amount_usd",
    "segment",
    "",
];

/// Texts a value may be: ids, dates, languages, products, and others.
const TEXTS: &[&str] = &[
    "C-1",
    "C-2",
    "1990-05-04",
    "2012-02-29",
    "2026-11-23",
    "0000-01-01",
    "en",
    "pt",
    "id",
    "cash-account",
    "car",
    "staff",
    "",
    " ",
    "1e309",
    "NaN",
];

/// One column's values, before it is laid out.
#[derive(Debug)]
enum Values {
    Text(Vec<Option<String>>),
    LargeText(Vec<Option<String>>),
    TextView(Vec<Option<String>>),
    Int64(Vec<Option<i64>>),
    Int32(Vec<Option<i32>>),
    Float64(Vec<Option<f64>>),
    Float32(Vec<Option<f32>>),
    Date32(Vec<Option<i32>>),
    Timestamp(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Null,
    TextList(Vec<Option<Vec<Option<String>>>>),
    Struct(Vec<(String, Values)>, Vec<bool>),
}

/// The columns of a batch of `rows` rows.
#[derive(Debug)]
pub struct Columns {
    rows: usize,
    columns: Vec<(String, Values)>,
}

fn name(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(if u.ratio(1, 8)? {
        u.arbitrary::<String>()?
    } else {
        (*u.choose(NAMES)?).to_owned()
    })
}

fn text(u: &mut Unstructured<'_>) -> Result<Option<String>> {
    Ok(match u.int_in_range(0..=7u8)? {
        0 => None,
        1 => Some(u.arbitrary::<String>()?),
        _ => Some((*u.choose(TEXTS)?).to_owned()),
    })
}

fn each<T>(
    u: &mut Unstructured<'_>,
    rows: usize,
    mut value: impl FnMut(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Vec<Option<T>>> {
    (0..rows)
        .map(|_| {
            if u.ratio(1, 6)? {
                Ok(None)
            } else {
                value(u).map(Some)
            }
        })
        .collect()
}

fn values(u: &mut Unstructured<'_>, rows: usize, depth: usize) -> Result<Values> {
    Ok(match u.int_in_range(0..=12u8)? {
        0 => Values::Text((0..rows).map(|_| text(u)).collect::<Result<_>>()?),
        1 => Values::LargeText((0..rows).map(|_| text(u)).collect::<Result<_>>()?),
        2 => Values::TextView((0..rows).map(|_| text(u)).collect::<Result<_>>()?),
        3 => Values::Int64(each(u, rows, |u| u.arbitrary())?),
        4 => Values::Int32(each(u, rows, |u| u.arbitrary())?),
        5 => Values::Float64(each(u, rows, |u| u.arbitrary())?),
        6 => Values::Float32(each(u, rows, |u| u.arbitrary())?),
        7 => Values::Date32(each(u, rows, |u| {
            // Mostly real birth dates, sometimes anything.
            if u.ratio(1, 4)? {
                u.arbitrary()
            } else {
                u.int_in_range(-25_000..=21_000)
            }
        })?),
        8 => Values::Timestamp(each(u, rows, |u| u.arbitrary())?),
        9 => Values::Bool(each(u, rows, |u| u.arbitrary())?),
        10 => Values::Null,
        11 => Values::TextList(each(u, rows, |u| {
            let len = u.int_in_range(0..=4usize)?;
            (0..len).map(|_| text(u)).collect::<Result<Vec<_>>>()
        })?),
        _ if depth < 2 => {
            let count = u.int_in_range(0..=4usize)?;
            let fields = (0..count)
                .map(|_| Ok((name(u)?, values(u, rows, depth + 1)?)))
                .collect::<Result<_>>()?;
            let valid = (0..rows)
                .map(|_| Ok(!u.ratio(1, 6)?))
                .collect::<Result<_>>()?;
            Values::Struct(fields, valid)
        }
        _ => Values::Null,
    })
}

fn strings(values: &[Option<String>], dictionary: bool) -> ArrayRef {
    let items = values.iter().map(Option::as_deref);
    if dictionary {
        Arc::new(items.collect::<DictionaryArray<Int32Type>>())
    } else {
        Arc::new(items.collect::<StringArray>())
    }
}

/// The column of `values`, its string columns dictionary-encoded if
/// `dictionary`; `None` when arrow refuses the layout.
fn column(values: &Values, rows: usize, dictionary: bool) -> Option<ArrayRef> {
    Some(match values {
        Values::Text(texts) => strings(texts, dictionary),
        Values::LargeText(texts) if !dictionary => Arc::new(
            texts
                .iter()
                .map(Option::as_deref)
                .collect::<LargeStringArray>(),
        ),
        Values::TextView(texts) if !dictionary => Arc::new(
            texts
                .iter()
                .map(Option::as_deref)
                .collect::<StringViewArray>(),
        ),
        Values::LargeText(texts) | Values::TextView(texts) => strings(texts, true),
        Values::Int64(numbers) => Arc::new(Int64Array::from(numbers.clone())),
        Values::Int32(numbers) => Arc::new(Int32Array::from(numbers.clone())),
        Values::Float64(numbers) => Arc::new(Float64Array::from(numbers.clone())),
        Values::Float32(numbers) => Arc::new(Float32Array::from(numbers.clone())),
        Values::Date32(days) => Arc::new(Date32Array::from(days.clone())),
        Values::Timestamp(ms) => Arc::new(TimestampMillisecondArray::from(ms.clone())),
        Values::Bool(flags) => Arc::new(BooleanArray::from(flags.clone())),
        Values::Null => Arc::new(NullArray::new(rows)),
        Values::TextList(lists) if dictionary => {
            let mut builder = ListBuilder::new(StringDictionaryBuilder::<Int32Type>::new());
            for list in lists {
                match list {
                    Some(items) => {
                        for item in items {
                            builder.values().append_option(item.as_deref());
                        }
                        builder.append(true);
                    }
                    None => builder.append(false),
                }
            }
            Arc::new(builder.finish())
        }
        Values::TextList(lists) => {
            let mut builder = ListBuilder::new(StringBuilder::new());
            for list in lists {
                match list {
                    Some(items) => {
                        for item in items {
                            builder.values().append_option(item.as_deref());
                        }
                        builder.append(true);
                    }
                    None => builder.append(false),
                }
            }
            Arc::new(builder.finish())
        }
        Values::Struct(children, valid) => {
            let arrays = children
                .iter()
                .map(|(_, values)| column(values, rows, dictionary))
                .collect::<Option<Vec<_>>>()?;
            let fields: Fields = children
                .iter()
                .zip(&arrays)
                .map(|((name, _), array)| Field::new(name, array.data_type().clone(), true))
                .collect();
            if fields.is_empty() {
                Arc::new(StructArray::new_empty_fields(
                    rows,
                    Some(NullBuffer::from(valid.clone())),
                ))
            } else {
                Arc::new(
                    StructArray::try_new(fields, arrays, Some(NullBuffer::from(valid.clone())))
                        .ok()?,
                )
            }
        }
    })
}

impl Columns {
    /// Up to 8 rows of up to 7 columns, read from `u`.
    pub fn arbitrary_batch(u: &mut Unstructured<'_>) -> Result<Columns> {
        let rows = u.int_in_range(0..=8usize)?;
        let count = u.int_in_range(0..=7usize)?;
        let columns = (0..count)
            .map(|_| Ok((name(u)?, values(u, rows, 0)?)))
            .collect::<Result<_>>()?;
        Ok(Columns { rows, columns })
    }

    /// The batch, its string columns plain or dictionary-encoded; `None`
    /// when arrow refuses the layout.
    #[must_use]
    pub fn batch(&self, dictionary: bool) -> Option<RecordBatch> {
        let arrays = self
            .columns
            .iter()
            .map(|(_, values)| column(values, self.rows, dictionary))
            .collect::<Option<Vec<_>>>()?;
        let schema = Schema::new(
            self.columns
                .iter()
                .zip(&arrays)
                .map(|((name, _), array)| Field::new(name, array.data_type().clone(), true))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new_with_options(
            Arc::new(schema),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(self.rows)),
        )
        .ok()
    }
}
