//! Decision records as Arrow columns: one row per decision, with what made
//! it and what replaying it needs, and back.
//!
//! | column | type | holds |
//! | --- | --- | --- |
//! | `customer` | utf8 | the customer's `id` |
//! | `policy` | utf8 | the policy name |
//! | `plugin_version` | utf8 | the plugin's version |
//! | `module_sha256` | utf8 | SHA-256 of the module bytes that decided |
//! | `params_sha256` | utf8 | SHA-256 of the parameter JSON it was given |
//! | `outcome` | utf8 | the outcome word, or `error` |
//! | `value` | utf8 | the decision's values, as JSON text |
//! | `reasons` | list<struct<code: utf8, message: utf8>> | why |
//! | `as_of` | date32 | the evaluation date |
//! | `profile` | utf8 | the profile JSON exactly as the plugin received it |
//! | `fuel`, `memory_bytes`, `stack_bytes` | int64 (signed: Spark and Java read no unsigned integers) | the sandbox limits it was decided under |
//! | `experiment` | utf8, null outside an experiment | the experiment the decision was part of |
//! | `arm` | utf8, null outside an experiment | `champion` or `challenger` |
//! | `answered` | bool | whether the decision was the answer (always outside an experiment) |
//!
//! Files written before experiments lack the last three columns; they read
//! as decisions outside any experiment.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Date32Array, Int64Array, ListArray, RecordBatch, StringArray,
};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef};
use serde_json::{Map, Value};
use verdict_audit::{LoggedLimits, Recorded};
use verdict_engine::{Arm, ArmTag, Decider, DecisionRecord, Job, Limits, Policy, Sha256, shown_id};
use verdict_sdk::{Date, Decision, Reason};

use crate::error::RowError;

/// The column names, used by the table and by the reader.
mod name {
    pub(super) const CUSTOMER: &str = "customer";
    pub(super) const POLICY: &str = "policy";
    pub(super) const PLUGIN_VERSION: &str = "plugin_version";
    pub(super) const MODULE_SHA256: &str = "module_sha256";
    pub(super) const PARAMS_SHA256: &str = "params_sha256";
    pub(super) const OUTCOME: &str = "outcome";
    pub(super) const VALUE: &str = "value";
    pub(super) const REASONS: &str = "reasons";
    pub(super) const AS_OF: &str = "as_of";
    pub(super) const PROFILE: &str = "profile";
    pub(super) const FUEL: &str = "fuel";
    pub(super) const MEMORY_BYTES: &str = "memory_bytes";
    pub(super) const STACK_BYTES: &str = "stack_bytes";
    pub(super) const EXPERIMENT: &str = "experiment";
    pub(super) const ARM: &str = "arm";
    pub(super) const ANSWERED: &str = "answered";
}

/// One decision as the writer sees it: the record, the customer it was
/// made for, and what is the same for a whole policy or batch.
struct Row<'a> {
    record: &'a DecisionRecord,
    job: Job<'a>,
    params_sha256: &'a str,
    limits: &'a [i64; 3],
}

/// What a column holds, which gives its Arrow type and how the writer
/// fills it.
#[derive(Clone, Copy)]
enum Kind {
    /// utf8 text taken from the row, with the bytes a value usually takes
    /// (to size the builder).
    Text(
        for<'a> fn(&Row<'a>) -> Result<Cow<'a, str>, EncodeError>,
        usize,
    ),
    /// int64 taken from the row.
    Count(fn(&Row<'_>) -> i64),
    /// date32: the evaluation date.
    Date,
    /// list<struct<code, message>>: the reasons.
    Reasons,
    /// utf8 or null, taken from the row; absent from older files.
    Tag(for<'a> fn(&Row<'a>) -> Option<&'a str>),
    /// bool taken from the row; absent from older files.
    Flag(fn(&Row<'_>) -> bool),
}

impl Kind {
    fn data_type(self) -> DataType {
        match self {
            Kind::Text(..) => DataType::Utf8,
            Kind::Count(_) => DataType::Int64,
            Kind::Date => DataType::Date32,
            Kind::Reasons => DataType::List(reasons_item()),
            Kind::Tag(_) => DataType::Utf8,
            Kind::Flag(_) => DataType::Boolean,
        }
    }

    /// Whether the column may hold nulls.
    fn nullable(self) -> bool {
        matches!(self, Kind::Tag(_))
    }

    /// Whether files written before it was added lack it.
    fn added_later(self) -> bool {
        matches!(self, Kind::Tag(_) | Kind::Flag(_))
    }
}

/// The decisions layout, in column order: the one table the schema, the
/// writer and the reader's type checks follow (the module's doc shows it).
const COLUMNS: [(&str, Kind); 16] = [
    (
        name::CUSTOMER,
        Kind::Text(|row| Ok(row.record.customer().into()), 8),
    ),
    (
        name::POLICY,
        Kind::Text(|row| Ok(row.record.policy().into()), 16),
    ),
    (
        name::PLUGIN_VERSION,
        Kind::Text(|row| Ok(row.record.plugin_version().into()), 8),
    ),
    (
        name::MODULE_SHA256,
        Kind::Text(|row| Ok(row.record.module_sha256().to_string().into()), 64),
    ),
    (
        name::PARAMS_SHA256,
        Kind::Text(|row| Ok(row.params_sha256.into()), 64),
    ),
    (
        name::OUTCOME,
        Kind::Text(|row| Ok(row.record.outcome().as_str().into()), 8),
    ),
    (name::VALUE, Kind::Text(value_text, 64)),
    (name::REASONS, Kind::Reasons),
    (name::AS_OF, Kind::Date),
    (
        name::PROFILE,
        Kind::Text(|row| Ok(row.job.profile.json().into()), 256),
    ),
    (name::FUEL, Kind::Count(|row| row.limits[0])),
    (name::MEMORY_BYTES, Kind::Count(|row| row.limits[1])),
    (name::STACK_BYTES, Kind::Count(|row| row.limits[2])),
    (name::EXPERIMENT, Kind::Tag(|row| row.record.experiment())),
    (
        name::ARM,
        Kind::Tag(|row| row.record.arm().map(Arm::as_str)),
    ),
    (name::ANSWERED, Kind::Flag(|row| row.record.answered())),
];

fn value_text<'a>(row: &Row<'a>) -> Result<Cow<'a, str>, EncodeError> {
    serde_json::to_string(row.record.value())
        .map(Cow::Owned)
        .map_err(EncodeError::Value)
}

/// The fields of one reason.
fn reason_fields() -> Fields {
    Fields::from(vec![
        Field::new("code", DataType::Utf8, false),
        Field::new("message", DataType::Utf8, false),
    ])
}

fn reasons_item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Struct(reason_fields()), false))
}

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|&(name, kind)| Field::new(name, kind.data_type(), kind.nullable()))
            .collect::<Vec<_>>(),
    ))
});

/// The schema of a decisions batch (see the module's table).
#[must_use]
pub fn decisions_schema() -> SchemaRef {
    SCHEMA.clone()
}

/// Why decisions cannot become a batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The records are not one per customer and policy.
    #[error("{records} decisions for {customers} customers under {policies} policies")]
    Grid {
        /// How many records there are.
        records: usize,
        /// How many customers.
        customers: usize,
        /// How many policies.
        policies: usize,
    },
    /// A limit does not fit a signed 64-bit column.
    #[error("{what} {value} is beyond int64")]
    BeyondInt64 {
        /// Which limit.
        what: &'static str,
        /// Its value.
        value: u64,
    },
    /// An evaluation date beyond what date32 holds.
    #[error("{0} is outside date32")]
    Date(Date),
    /// A decision's values do not encode as JSON.
    #[error("a decision's values cannot be encoded: {0}")]
    Value(#[source] serde_json::Error),
    /// The reasons column's builder has no text builder for a field
    /// (Arrow's struct builders are typed at run time).
    #[error("the reasons column has no `{0}` field")]
    ReasonField(&'static str),
    /// Arrow refuses the columns.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
}

/// A column being written.
enum Builder {
    Text(
        StringBuilder,
        for<'a> fn(&Row<'a>) -> Result<Cow<'a, str>, EncodeError>,
    ),
    Count(Int64Builder, fn(&Row<'_>) -> i64),
    Date(Date32Builder),
    Reasons(ListBuilder<StructBuilder>),
    Tag(StringBuilder, for<'a> fn(&Row<'a>) -> Option<&'a str>),
    Flag(BooleanBuilder, fn(&Row<'_>) -> bool),
}

impl Builder {
    fn new(kind: Kind, rows: usize) -> Builder {
        match kind {
            Kind::Text(get, bytes) => {
                Builder::Text(StringBuilder::with_capacity(rows, bytes * rows), get)
            }
            Kind::Count(get) => Builder::Count(Int64Builder::with_capacity(rows), get),
            Kind::Date => Builder::Date(Date32Builder::with_capacity(rows)),
            Kind::Reasons => Builder::Reasons(
                ListBuilder::with_capacity(StructBuilder::from_fields(reason_fields(), rows), rows)
                    .with_field(reasons_item()),
            ),
            Kind::Tag(get) => Builder::Tag(StringBuilder::with_capacity(rows, 0), get),
            Kind::Flag(get) => Builder::Flag(BooleanBuilder::with_capacity(rows), get),
        }
    }

    fn append(&mut self, row: &Row<'_>) -> Result<(), EncodeError> {
        match self {
            Builder::Text(builder, get) => builder.append_value(get(row)?),
            Builder::Count(builder, get) => builder.append_value(get(row)),
            Builder::Date(builder) => {
                let date = row.job.as_of;
                let days = i32::try_from(date.unix_days()).map_err(|_| EncodeError::Date(date))?;
                builder.append_value(days);
            }
            Builder::Reasons(builder) => {
                let list = builder.values();
                for reason in row.record.reasons() {
                    for (field, (what, text)) in
                        [("code", &reason.code), ("message", &reason.message)]
                            .into_iter()
                            .enumerate()
                    {
                        list.field_builder::<StringBuilder>(field)
                            .ok_or(EncodeError::ReasonField(what))?
                            .append_value(text);
                    }
                    list.append(true);
                }
                builder.append(true);
            }
            Builder::Tag(builder, get) => builder.append_option(get(row)),
            Builder::Flag(builder, get) => builder.append_value(get(row)),
        }
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(builder, _) => Arc::new(builder.finish()),
            Builder::Count(builder, _) => Arc::new(builder.finish()),
            Builder::Date(builder) => Arc::new(builder.finish()),
            Builder::Reasons(builder) => Arc::new(builder.finish()),
            Builder::Tag(builder, _) => Arc::new(builder.finish()),
            Builder::Flag(builder, _) => Arc::new(builder.finish()),
        }
    }
}

/// The decisions of a grid as one batch: `records` holds, for each
/// customer of `work` in order, the decisions of each policy of `policies`
/// in order (one, or one per arm of its experiment, as the engine's
/// `Decider` yields them), made under `limits`.
pub fn decisions_to_batch(
    policies: &[Arc<Policy>],
    work: &[Job<'_>],
    records: &[DecisionRecord],
    limits: Limits,
) -> Result<RecordBatch, EncodeError> {
    let slots: Vec<_> = Decider::new(policies).slots(work).collect();
    if records.len() != slots.len() {
        return Err(EncodeError::Grid {
            records: records.len(),
            customers: work.len(),
            policies: policies.len(),
        });
    }
    // Signed: Spark, Hive and Java read no unsigned integers.
    let signed = |value: u64, what| {
        i64::try_from(value).map_err(|_| EncodeError::BeyondInt64 { what, value })
    };
    let limits = [
        signed(limits.fuel, "fuel")?,
        signed(limits.memory_bytes as u64, "memory")?,
        signed(limits.stack_bytes as u64, "stack")?,
    ];
    let mut builders: Vec<Builder> = COLUMNS
        .iter()
        .map(|&(_, kind)| Builder::new(kind, records.len()))
        .collect();
    // One digest per deciding policy, not per row.
    let digests: Vec<(&Arc<Policy>, String)> = policies
        .iter()
        .flat_map(Policy::deciders)
        .map(|policy| (policy, policy.params_sha256().to_string()))
        .collect();
    for ((job, slot), record) in slots.into_iter().zip(records) {
        let params_sha256 = digests
            .iter()
            .find(|(policy, _)| Arc::ptr_eq(policy, slot.policy))
            .map_or("", |(_, sha)| sha.as_str());
        let row = Row {
            record,
            job,
            params_sha256,
            limits: &limits,
        };
        for builder in &mut builders {
            builder.append(&row)?;
        }
    }
    let columns = builders.iter_mut().map(Builder::finish).collect();
    Ok(RecordBatch::try_new(decisions_schema(), columns)?)
}

/// The columns of a decisions batch, each checked against the table's
/// type, in the table's order.
struct Columns<'a> {
    arrays: Vec<(&'static str, Typed<'a>)>,
}

/// A column read as its kind's array.
#[derive(Clone, Copy)]
enum Typed<'a> {
    Text(&'a StringArray),
    Count(&'a Int64Array),
    Date(&'a Date32Array),
    Reasons(&'a ListArray),
    Flag(&'a BooleanArray),
}

impl<'a> Columns<'a> {
    /// Finds every column of the layout in `batch` and checks its type.
    fn of(batch: &'a RecordBatch, row: usize) -> Result<Columns<'a>, RowError> {
        let arrays = COLUMNS
            .iter()
            .filter(|&&(name, kind)| !kind.added_later() || batch.column_by_name(name).is_some())
            .map(|&(name, kind)| {
                let whole = |message: String| RowError {
                    row,
                    column: Some(name.to_owned()),
                    message,
                    input: None,
                };
                let array = batch.column_by_name(name).ok_or_else(|| {
                    whole("the column is missing from this decisions file".to_owned())
                })?;
                let (typed, what) = match kind {
                    Kind::Text(..) => (array.as_string_opt::<i32>().map(Typed::Text), "a utf8"),
                    Kind::Count(_) => (
                        array.as_primitive_opt::<Int64Type>().map(Typed::Count),
                        "an int64",
                    ),
                    Kind::Date => (
                        array.as_primitive_opt::<Date32Type>().map(Typed::Date),
                        "a date32",
                    ),
                    Kind::Reasons => (array.as_list_opt::<i32>().map(Typed::Reasons), "a list"),
                    Kind::Tag(_) => (array.as_string_opt::<i32>().map(Typed::Text), "a utf8"),
                    Kind::Flag(_) => (array.as_boolean_opt().map(Typed::Flag), "a bool"),
                };
                let typed = typed.ok_or_else(|| {
                    whole(format!(
                        "must be {what} column, found {}",
                        array.data_type()
                    ))
                })?;
                Ok((name, typed))
            })
            .collect::<Result<_, RowError>>()?;
        Ok(Columns { arrays })
    }

    fn get(&self, name: &str) -> Option<Typed<'a>> {
        self.arrays
            .iter()
            .find(|(column, _)| *column == name)
            .map(|&(_, typed)| typed)
    }
}

/// Reads row `i` of checked columns.
struct RowReader<'c, 'a> {
    columns: &'c Columns<'a>,
    i: usize,
    row: usize,
}

impl RowReader<'_, '_> {
    fn bad(&self, column: &str, message: String) -> RowError {
        RowError {
            row: self.row,
            column: Some(column.to_owned()),
            message,
            input: None,
        }
    }

    fn text(&self, name: &str) -> Result<String, RowError> {
        match self.columns.get(name) {
            Some(Typed::Text(strings)) if !strings.is_null(self.i) => {
                Ok(strings.value(self.i).to_owned())
            }
            _ => Err(self.bad(name, "is null".to_owned())),
        }
    }

    fn digest(&self, name: &str) -> Result<Sha256, RowError> {
        self.text(name)?
            .parse::<Sha256>()
            .map_err(|e| self.bad(name, e.to_string()))
    }

    fn count(&self, name: &str) -> Result<u64, RowError> {
        match self.columns.get(name) {
            Some(Typed::Count(numbers)) if !numbers.is_null(self.i) => {
                let n = numbers.value(self.i);
                u64::try_from(n).map_err(|_| self.bad(name, format!("{n} is negative")))
            }
            _ => Err(self.bad(name, "is null".to_owned())),
        }
    }

    fn size(&self, name: &str) -> Result<usize, RowError> {
        let n = self.count(name)?;
        usize::try_from(n).map_err(|_| self.bad(name, format!("{n} is too large")))
    }

    fn date(&self, name: &str) -> Result<Date, RowError> {
        match self.columns.get(name) {
            Some(Typed::Date(days)) if !days.is_null(self.i) => {
                let days = days.value(self.i);
                Date::from_unix_days(i64::from(days))
                    .map_err(|e| self.bad(name, format!("{days} days is not a date: {e}")))
            }
            _ => Err(self.bad(name, "is null".to_owned())),
        }
    }

    fn reasons(&self, name: &str) -> Result<Vec<Reason>, RowError> {
        match self.columns.get(name) {
            Some(Typed::Reasons(list)) => {
                row_reasons(list, self.i).map_err(|message| self.bad(name, message.into_owned()))
            }
            _ => Err(self.bad(name, "is null".to_owned())),
        }
    }

    /// Text that may be null, or a column older files lack.
    fn optional_text(&self, name: &str) -> Option<&str> {
        match self.columns.get(name) {
            Some(Typed::Text(strings)) if !strings.is_null(self.i) => Some(strings.value(self.i)),
            _ => None,
        }
    }

    /// The experiment, arm and answer of the row's decision, if it was made
    /// in an experiment.
    fn tag(&self) -> Result<Option<ArmTag>, RowError> {
        let answered = match self.columns.get(name::ANSWERED) {
            Some(Typed::Flag(flags)) if flags.is_null(self.i) => {
                return Err(self.bad(name::ANSWERED, "is null".to_owned()));
            }
            Some(Typed::Flag(flags)) => flags.value(self.i),
            _ => true,
        };
        let arm = match self.optional_text(name::ARM) {
            None => None,
            Some("champion") => Some(Arm::Champion),
            Some("challenger") => Some(Arm::Challenger),
            Some(other) => {
                return Err(self.bad(
                    name::ARM,
                    format!(
                        "`{}` is not an arm (champion or challenger)",
                        shown_id(other)
                    ),
                ));
            }
        };
        match (self.optional_text(name::EXPERIMENT), arm) {
            (Some(experiment), Some(arm)) => Ok(Some(ArmTag {
                experiment: experiment.into(),
                arm,
                answered,
            })),
            (None, None) if answered => Ok(None),
            (None, None) => {
                Err(self.bad(name::ANSWERED, "is false outside an experiment".to_owned()))
            }
            (None, Some(_)) => {
                Err(self.bad(name::EXPERIMENT, "is null but `arm` is not".to_owned()))
            }
            (Some(_), None) => {
                Err(self.bad(name::ARM, "is null but `experiment` is not".to_owned()))
            }
        }
    }

    /// The row as the replay and what-if diff read a recorded decision.
    fn recorded(&self) -> Result<Recorded<'static>, RowError> {
        let value_text = self.text(name::VALUE)?;
        let value: Map<String, Value> = serde_json::from_str(&value_text)
            .map_err(|e| self.bad(name::VALUE, format!("is not a JSON object: {e}")))?;
        let module_sha256 = self.digest(name::MODULE_SHA256)?;
        let record = DecisionRecord::stored(
            self.text(name::CUSTOMER)?,
            self.text(name::POLICY)?.into(),
            self.text(name::PLUGIN_VERSION)?.into(),
            module_sha256,
            Decision {
                outcome: self.text(name::OUTCOME)?,
                value,
                reasons: self.reasons(name::REASONS)?,
            },
        )
        .tagged(self.tag()?);
        let decision = serde_json::to_string(&record)
            .map_err(|e| self.bad(name::VALUE, format!("cannot be encoded: {e}")))?;
        Ok(Recorded {
            at: self.row,
            customer: record.customer().to_owned(),
            policy: record.policy().to_owned(),
            as_of: self.date(name::AS_OF)?,
            limits: LoggedLimits {
                fuel: self.count(name::FUEL)?,
                memory_bytes: self.size(name::MEMORY_BYTES)?,
                stack_bytes: self.size(name::STACK_BYTES)?,
            },
            module_sha256,
            params_sha256: self.digest(name::PARAMS_SHA256)?,
            // Decisions files keep no release: the record re-made from the
            // row names none either.
            release: None,
            input: self.text(name::PROFILE)?.into(),
            tag: record.tag(),
            decision: decision.into(),
        })
    }
}

/// The decisions of a batch in the [`decisions_schema`] layout, as the
/// replay and what-if diff read recorded decisions; rows are numbered from
/// `first_row`. The decision's bytes are its record encoded as `verdict
/// eval --format jsonl` prints it.
pub fn recorded_from_batch(
    batch: &RecordBatch,
    first_row: usize,
) -> Result<Vec<Recorded<'static>>, RowError> {
    let columns = Columns::of(batch, first_row)?;
    (0..batch.num_rows())
        .map(|i| {
            RowReader {
                columns: &columns,
                i,
                row: first_row + i,
            }
            .recorded()
        })
        .collect()
}

/// The reasons of row `i`.
fn row_reasons(reasons: &ListArray, i: usize) -> Result<Vec<Reason>, Cow<'static, str>> {
    if reasons.is_null(i) {
        return Err("is null".into());
    }
    let items = reasons.value(i);
    let items = items
        .as_struct_opt()
        .ok_or("must hold structs of `code` and `message`")?;
    let field = |name: &str| {
        items
            .column_by_name(name)
            .and_then(|column| column.as_string_opt::<i32>())
            .ok_or_else(|| Cow::Owned(format!("lacks a utf8 `{name}` field")))
    };
    let (codes, messages) = (field("code")?, field("message")?);
    Ok((0..items.len())
        .map(|j| Reason {
            code: codes.value(j).to_owned(),
            message: messages.value(j).to_owned(),
        })
        .collect())
}
