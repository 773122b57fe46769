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

use std::sync::{Arc, LazyLock};

use arrow_array::builder::{
    Date32Builder, Int64Builder, ListBuilder, StringBuilder, StructBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use serde_json::{Map, Value};
use verdict_audit::{LoggedLimits, Recorded};
use verdict_engine::{DecisionRecord, Job, Limits, Policy, Sha256};
use verdict_sdk::{Date, Decision, Reason};

use crate::error::RowError;

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
    let text = |name: &str| Field::new(name, DataType::Utf8, false);
    let count = |name: &str| Field::new(name, DataType::Int64, false);
    Arc::new(Schema::new(vec![
        text("customer"),
        text("policy"),
        text("plugin_version"),
        text("module_sha256"),
        text("params_sha256"),
        text("outcome"),
        text("value"),
        Field::new("reasons", DataType::List(reasons_item()), false),
        Field::new("as_of", DataType::Date32, false),
        text("profile"),
        count("fuel"),
        count("memory_bytes"),
        count("stack_bytes"),
    ]))
});

/// The schema of a decisions batch (see the module's table).
#[must_use]
pub fn decisions_schema() -> SchemaRef {
    SCHEMA.clone()
}

/// The decisions of a grid as one batch: `records` holds, for each
/// customer of `work` in order, one decision per policy of `policies` in
/// order (as the engine's `Decider` yields them), made under
/// `limits`.
pub fn decisions_to_batch(
    policies: &[Arc<Policy>],
    work: &[Job<'_>],
    records: &[DecisionRecord],
    limits: Limits,
) -> Result<RecordBatch, String> {
    if records.len() != work.len() * policies.len() {
        return Err(format!(
            "{} decisions for {} customers under {} policies",
            records.len(),
            work.len(),
            policies.len()
        ));
    }
    let params_sha: Vec<String> = policies
        .iter()
        .map(|policy| policy.params_sha256().to_string())
        .collect();
    let rows = records.len();
    let texts = |capacity: usize| StringBuilder::with_capacity(rows, capacity * rows);
    let mut customer = texts(8);
    let mut policy_name = texts(16);
    let mut version = texts(8);
    let mut module = texts(64);
    let mut params = texts(64);
    let mut outcome = texts(8);
    let mut value = texts(64);
    let mut reasons =
        ListBuilder::with_capacity(StructBuilder::from_fields(reason_fields(), rows), rows)
            .with_field(reasons_item());
    let mut as_of = Date32Builder::with_capacity(rows);
    let mut profile = texts(256);
    let mut fuel = Int64Builder::with_capacity(rows);
    let mut memory = Int64Builder::with_capacity(rows);
    let mut stack = Int64Builder::with_capacity(rows);
    // Signed: Spark, Hive and Java read no unsigned integers.
    let signed =
        |n: u64, what: &str| i64::try_from(n).map_err(|_| format!("{what} {n} is beyond int64"));
    let fuel_value = signed(limits.fuel, "fuel")?;
    let memory_value = signed(limits.memory_bytes as u64, "memory")?;
    let stack_value = signed(limits.stack_bytes as u64, "stack")?;
    let grid = work
        .iter()
        .flat_map(|&job| (0..policies.len()).map(move |p| (job.as_of, job.profile, p)));
    for ((date, input, p), record) in grid.zip(records) {
        customer.append_value(record.customer());
        policy_name.append_value(record.policy());
        version.append_value(record.plugin_version());
        module.append_value(record.module_sha256().to_string());
        params.append_value(&params_sha[p]);
        outcome.append_value(record.outcome().as_str());
        value.append_value(serde_json::to_string(record.value()).map_err(|e| e.to_string())?);
        let list = reasons.values();
        for reason in record.reasons() {
            list.field_builder::<StringBuilder>(0)
                .ok_or("reason code column")?
                .append_value(&reason.code);
            list.field_builder::<StringBuilder>(1)
                .ok_or("reason message column")?
                .append_value(&reason.message);
            list.append(true);
        }
        reasons.append(true);
        as_of.append_value(
            i32::try_from(date.unix_days()).map_err(|_| format!("{date} is outside date32"))?,
        );
        profile.append_value(input.json());
        fuel.append_value(fuel_value);
        memory.append_value(memory_value);
        stack.append_value(stack_value);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(customer.finish()),
        Arc::new(policy_name.finish()),
        Arc::new(version.finish()),
        Arc::new(module.finish()),
        Arc::new(params.finish()),
        Arc::new(outcome.finish()),
        Arc::new(value.finish()),
        Arc::new(reasons.finish()),
        Arc::new(as_of.finish()),
        Arc::new(profile.finish()),
        Arc::new(fuel.finish()),
        Arc::new(memory.finish()),
        Arc::new(stack.finish()),
    ];
    RecordBatch::try_new(decisions_schema(), columns).map_err(|e| e.to_string())
}

/// The decisions of a batch in the [`decisions_schema`] layout, as the
/// replay and what-if diff read recorded decisions; rows are numbered from
/// `first_row`. The decision's bytes are its record encoded as `verdict
/// eval --format jsonl` prints it.
pub fn recorded_from_batch(
    batch: &RecordBatch,
    first_row: usize,
) -> Result<Vec<Recorded<'static>>, RowError> {
    let whole = |column: &str, message: String| RowError {
        row: first_row,
        column: Some(column.to_owned()),
        message,
        input: None,
    };
    let column = |name: &str| -> Result<&ArrayRef, RowError> {
        batch.column_by_name(name).ok_or_else(|| {
            whole(
                name,
                "the column is missing from this decisions file".to_owned(),
            )
        })
    };
    let text = |name: &'static str| {
        let array = column(name)?;
        array
            .as_string_opt::<i32>()
            .map(|strings| (name, strings))
            .ok_or_else(|| {
                whole(
                    name,
                    format!("must be a utf8 column, found {}", array.data_type()),
                )
            })
    };
    let count = |name: &'static str| {
        let array = column(name)?;
        array
            .as_primitive_opt::<Int64Type>()
            .map(|numbers| (name, numbers))
            .ok_or_else(|| {
                whole(
                    name,
                    format!("must be an int64 column, found {}", array.data_type()),
                )
            })
    };
    let [
        customer,
        policy,
        version,
        module,
        params,
        outcome,
        value,
        profile,
    ] = [
        "customer",
        "policy",
        "plugin_version",
        "module_sha256",
        "params_sha256",
        "outcome",
        "value",
        "profile",
    ]
    .map(text);
    let (customer, policy, version, module, params, outcome, value, profile) = (
        customer?, policy?, version?, module?, params?, outcome?, value?, profile?,
    );
    let [fuel, memory, stack] = ["fuel", "memory_bytes", "stack_bytes"].map(count);
    let (fuel, memory, stack) = (fuel?, memory?, stack?);
    let as_of = column("as_of")?;
    let as_of = as_of.as_primitive_opt::<Date32Type>().ok_or_else(|| {
        whole(
            "as_of",
            format!("must be a date32 column, found {}", as_of.data_type()),
        )
    })?;
    let reasons = column("reasons")?;
    let reasons = reasons.as_list_opt::<i32>().ok_or_else(|| {
        whole(
            "reasons",
            format!("must be a list column, found {}", reasons.data_type()),
        )
    })?;
    (0..batch.num_rows())
        .map(|i| {
            let row = first_row + i;
            let bad = |column: &str, message: String| RowError {
                row,
                column: Some(column.to_owned()),
                message,
                input: None,
            };
            let get = |(name, strings): (&str, &arrow_array::StringArray)| {
                if strings.is_null(i) {
                    Err(bad(name, "is null".to_owned()))
                } else {
                    Ok(strings.value(i).to_owned())
                }
            };
            let number = |(name, numbers): (&str, &arrow_array::Int64Array)| {
                if numbers.is_null(i) {
                    Err(bad(name, "is null".to_owned()))
                } else {
                    let n = numbers.value(i);
                    u64::try_from(n).map_err(|_| bad(name, format!("{n} is negative")))
                }
            };
            let size = |pair| {
                let n = number(pair)?;
                usize::try_from(n).map_err(|_| bad(pair.0, format!("{n} is too large")))
            };
            let value_text = get(value)?;
            let value: Map<String, Value> = serde_json::from_str(&value_text)
                .map_err(|e| bad("value", format!("is not a JSON object: {e}")))?;
            let digest = |(name, strings)| {
                get((name, strings))?
                    .parse::<Sha256>()
                    .map_err(|e| bad(name, e.to_string()))
            };
            let module_sha256 = digest(module)?;
            let params_sha256 = digest(params)?;
            let record = DecisionRecord::stored(
                get(customer)?,
                get(policy)?.into(),
                get(version)?.into(),
                module_sha256,
                Decision {
                    outcome: get(outcome)?,
                    value,
                    reasons: row_reasons(reasons, i).map_err(|message| bad("reasons", message))?,
                },
            );
            let decision = serde_json::to_string(&record)
                .map_err(|e| bad("value", format!("cannot be encoded: {e}")))?;
            let days = as_of.value(i);
            let date = Date::from_unix_days(i64::from(days))
                .map_err(|e| bad("as_of", format!("{days} days is not a date: {e}")))?;
            Ok(Recorded {
                at: row,
                customer: record.customer().to_owned(),
                policy: record.policy().to_owned(),
                as_of: date,
                limits: LoggedLimits {
                    fuel: number(fuel)?,
                    memory_bytes: size(memory)?,
                    stack_bytes: size(stack)?,
                },
                module_sha256,
                params_sha256,
                input: get(profile)?.into(),
                decision: decision.into(),
            })
        })
        .collect()
}

/// The reasons of row `i`.
fn row_reasons(reasons: &arrow_array::ListArray, i: usize) -> Result<Vec<Reason>, String> {
    if reasons.is_null(i) {
        return Err("is null".to_owned());
    }
    let items = reasons.value(i);
    let items = items
        .as_struct_opt()
        .ok_or("must hold structs of `code` and `message`")?;
    let field = |name: &str| {
        items
            .column_by_name(name)
            .and_then(|column| column.as_string_opt::<i32>())
            .ok_or(format!("lacks a utf8 `{name}` field"))
    };
    let (codes, messages) = (field("code")?, field("message")?);
    Ok((0..items.len())
        .map(|j| Reason {
            code: codes.value(j).to_owned(),
            message: messages.value(j).to_owned(),
        })
        .collect())
}
