//! The checks every customer passes, whatever format it came in (a TOML
//! table of a profiles or test case file, a JSON object of a request or a
//! batch row): known fields have the shapes the SDK decodes, `id` and
//! `birth_date` are there, ids are unique, no one is born after the
//! evaluation date, no profile is larger than a plugin may be sent.
//! Formats plug in through [`CustomerValue`]; JSON's is here.

use std::collections::HashMap;

use serde_json::Value;
use verdict_sdk::Date;
use verdict_sdk::schema::{self, Field, Shape};

use crate::profile::Profile;
use crate::unique_keys::FirstDuplicate;

/// A customer's fields as validation sees them, whichever format they came
/// in: a reference to a value of the format (a JSON value here, a TOML
/// value with its span in the config crate) that lives for `'n`.
pub trait CustomerValue<'n>: Copy {
    /// How a date is written in this format.
    const DATE: &'static str;
    /// What a table is called in this format.
    const TABLE: &'static str;
    /// The value under `key`, when this is a table.
    fn field(self, key: &str) -> Option<Self>;
    /// Whether this is a table (an object).
    fn is_table(self) -> bool;
    /// The text, when this is a string.
    fn as_text(self) -> Option<&'n str>;
    /// Whether this is a number.
    fn is_number(self) -> bool;
    /// Whether this is a list of strings.
    fn is_text_list(self) -> bool;
    /// How many items it has, when this is a list.
    fn list_len(self) -> Option<usize>;
    /// The date, when this is one as this format writes dates.
    fn as_date(self) -> Option<Date>;
    /// The value's type, for "found ..." labels.
    fn type_name(self) -> &'static str;
}

impl<'n> CustomerValue<'n> for &'n Value {
    const DATE: &'static str = "a date string such as \"2012-05-04\"";
    const TABLE: &'static str = "an object";

    fn field(self, key: &str) -> Option<Self> {
        self.as_object()?.get(key)
    }

    fn is_table(self) -> bool {
        self.is_object()
    }

    fn as_text(self) -> Option<&'n str> {
        self.as_str()
    }

    fn is_number(self) -> bool {
        Value::is_number(self)
    }

    fn is_text_list(self) -> bool {
        self.as_array()
            .is_some_and(|items| items.iter().all(Value::is_string))
    }

    fn list_len(self) -> Option<usize> {
        self.as_array().map(Vec::len)
    }

    /// A `"YYYY-MM-DD"` string.
    fn as_date(self) -> Option<Date> {
        self.as_str()?.parse().ok()
    }

    fn type_name(self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// Items a known list field (`products`) may hold: far more than any
/// customer has, and a bound on the fuel a policy spends decoding a
/// profile, whether it reads the list or not.
pub const MAX_LIST_ITEMS: usize = 10_000;

/// A customer that passed [`check_customer`].
#[derive(Debug)]
pub struct Checked<'n, N> {
    /// The `id`.
    pub id_text: &'n str,
    /// The `birth_date` value, where a problem with it is reported.
    pub birth: N,
    /// The birth date it holds.
    pub birth_date: Date,
}

/// What is wrong with a customer, and where: `at` is the offending value
/// (`None`: the customer as a whole), `field` its dotted path.
#[derive(Debug)]
pub struct Problem<N> {
    /// The offending value; `None`: the customer as a whole.
    pub at: Option<N>,
    /// The field's dotted path (empty: the customer).
    pub field: String,
    /// The problem.
    pub message: String,
    /// What was found instead, when that helps.
    pub label: String,
}

/// The checks every customer passes, whatever its format: known fields
/// have the right shape, `id` and `birth_date` are present, `id` is not
/// blank and `birth_date` is a real date.
pub fn check_customer<'n, N: CustomerValue<'n>>(customer: N) -> Result<Checked<'n, N>, Problem<N>> {
    // The fields the SDK decodes (`verdict_sdk::schema`): the top level
    // first, then each known table's own fields.
    check_fields(customer, "", schema::CUSTOMER, "customer")?;
    for field in schema::CUSTOMER {
        if let Shape::Table(fields) = field.shape
            && let Some(inner) = customer.field(field.key).filter(|inner| inner.is_table())
        {
            check_fields(inner, field.key, fields, &format!("customer.{}", field.key))?;
        }
    }
    let (Some(id), Some(birth)) = (customer.field("id"), customer.field("birth_date")) else {
        return Err(Problem {
            at: None,
            field: String::new(),
            message: "customer lacks `id` or `birth_date`".to_owned(),
            label: String::new(),
        });
    };
    let id_text = id.as_text().unwrap_or_default();
    if id_text.trim().is_empty() {
        return Err(Problem {
            at: Some(id),
            field: "id".to_owned(),
            message: "`id` must not be empty".to_owned(),
            label: String::new(),
        });
    }
    let birth_date = birth.as_date().ok_or_else(|| Problem {
        at: Some(birth),
        field: "birth_date".to_owned(),
        message: "`birth_date` is not a date".to_owned(),
        label: String::new(),
    })?;
    Ok(Checked {
        id_text,
        birth,
        birth_date,
    })
}

fn check_fields<'n, N: CustomerValue<'n>>(
    table: N,
    path: &str,
    fields: &[Field],
    what: &str,
) -> Result<(), Problem<N>> {
    let field_path = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    for &Field {
        key,
        shape,
        required,
        ..
    } in fields
    {
        match table.field(key) {
            Some(value) if !fits(shape, value) => {
                return Err(Problem {
                    at: Some(value),
                    field: field_path(key),
                    message: format!("`{key}` in {what} must be {}", describe::<N>(shape)),
                    label: found(shape, value),
                });
            }
            Some(value) if value.list_len().is_some_and(|n| n > MAX_LIST_ITEMS) => {
                return Err(Problem {
                    at: Some(value),
                    field: field_path(key),
                    message: format!(
                        "`{key}` in {what} has {} items, more than the {MAX_LIST_ITEMS} a \
                         profile may hold",
                        value.list_len().unwrap_or_default()
                    ),
                    label: String::new(),
                });
            }
            None if required => {
                return Err(Problem {
                    at: (!path.is_empty()).then_some(table),
                    field: field_path(key),
                    message: format!("{what} is missing required key `{key}`"),
                    label: String::new(),
                });
            }
            _ => {}
        }
    }
    Ok(())
}

/// How a known field's shape is written in message `N`'s format.
fn describe<'n, N: CustomerValue<'n>>(shape: Shape) -> &'static str {
    match shape {
        Shape::Text => "a string",
        Shape::Number => "a number",
        Shape::Date => N::DATE,
        Shape::TextList => "a list of strings",
        Shape::Table(_) => N::TABLE,
    }
}

/// Whether `value` has the known field's shape (a table's own fields are
/// checked separately).
fn fits<'n, N: CustomerValue<'n>>(shape: Shape, value: N) -> bool {
    match shape {
        Shape::Text => value.as_text().is_some(),
        Shape::Number => value.is_number(),
        Shape::Date => value.as_date().is_some(),
        Shape::TextList => value.is_text_list(),
        Shape::Table(_) => value.is_table(),
    }
}

/// What a value that does not fit `shape` is: its type, or for text that
/// should be a date, why it is not one (`1990-02-30`: no such day).
fn found<'n, N: CustomerValue<'n>>(shape: Shape, value: N) -> String {
    match (shape, value.as_text()) {
        (Shape::Date, Some(text)) => match text.parse::<Date>() {
            Err(why) => format!("`{text}` is not a date: {why}"),
            Ok(_) => format!("found {}", value.type_name()),
        },
        _ => format!("found {}", value.type_name()),
    }
}

/// The problem of a customer born after the evaluation date.
#[must_use]
pub fn born_after_message(id: &str, birth_date: Date, as_of: Date) -> String {
    format!(
        "customer `{}` has birth_date {birth_date} after the evaluation date {as_of}",
        shown_id(id)
    )
}

/// Bytes of an id a message shows whole; a longer one is cut.
const SHOWN_ID_BYTES: usize = 64;

/// An id as messages show it: whole up to 64 bytes, else its start and how
/// long it is, so that a huge id never fills an error.
#[must_use]
pub fn shown_id(id: &str) -> std::borrow::Cow<'_, str> {
    if id.len() <= SHOWN_ID_BYTES {
        return id.into();
    }
    let mut cut = SHOWN_ID_BYTES;
    while !id.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes)", &id[..cut], id.len()).into()
}

/// Validates customers given as the text of JSON objects (an HTTP request
/// body's) with the same checks as a profiles file, plus the evaluation
/// date: no key given twice in one object (see [`FirstDuplicate`]), ids
/// unique, no one born after `as_of`. A problem names the customer's
/// number (counting from 1) and the field.
pub fn customers_from_json(texts: &[&str], as_of: Date) -> Result<Vec<Profile>, InputError> {
    let mut ids = UniqueIds::default();
    let mut customers = Vec::with_capacity(texts.len());
    // Counted from 1, as rows and lines are everywhere else.
    for (index, text) in (1..).zip(texts) {
        let at_index = |error: InputError| InputError {
            customer: Some(index),
            ..error
        };
        let value = json_value(text).map_err(at_index)?;
        let profile = customer_from_json(&value, as_of).map_err(at_index)?;
        if let Err(first) = ids.insert(profile.id(), index) {
            return Err(at_index(InputError {
                customer: None,
                field: Some("id".to_owned()),
                message: format!(
                    "{} (also customer {first})",
                    duplicate_message(profile.id())
                ),
            }));
        }
        customers.push(profile);
    }
    Ok(customers)
}

/// The JSON value of `text`, refused when one of its objects gives a key
/// twice (where JSON parsers would keep the last one without a word).
fn json_value(text: &str) -> Result<Value, InputError> {
    let not_json = |error: serde_json::Error| InputError {
        customer: None,
        field: None,
        message: format!("not JSON: {error}"),
    };
    if let Some(twice) = FirstDuplicate::in_text(text).map_err(not_json)? {
        return Err(InputError {
            customer: None,
            field: Some(twice.field()),
            message: twice.to_string(),
        });
    }
    serde_json::from_str(text).map_err(not_json)
}

/// Validates one customer given as a JSON object (a request body's
/// customer, a row of a batch file) with the checks of a profiles file,
/// plus the evaluation date. The error names the field but no customer:
/// the caller knows where the value came from. Whether ids are unique
/// spans customers: see [`UniqueIds`].
pub fn customer_from_json(value: &Value, as_of: Date) -> Result<Profile, InputError> {
    let problem = |field: &str, message: String| InputError {
        customer: None,
        field: (!field.is_empty()).then(|| field.to_owned()),
        message,
    };
    if !value.is_table() {
        return Err(problem(
            "",
            format!(
                "each customer must be a JSON object, found {}",
                value.type_name()
            ),
        ));
    }
    let checked = check_customer(value).map_err(|p| {
        let message = if p.label.is_empty() {
            p.message
        } else {
            format!("{} ({})", p.message, p.label)
        };
        problem(&p.field, message)
    })?;
    let json = value.to_string();
    if let Some(message) = too_large(checked.id_text, &json) {
        return Err(problem("", message));
    }
    if checked.birth_date > as_of {
        return Err(problem(
            "birth_date",
            born_after_message(checked.id_text, checked.birth_date, as_of),
        ));
    }
    Ok(Profile::new(checked.id_text.to_owned(), json.into()))
}

/// Why a profile is refused for its size: over
/// [`abi::MAX_PROFILE_BYTES`](verdict_sdk::abi::MAX_PROFILE_BYTES) of JSON,
/// more than any plugin is sent.
#[must_use]
pub fn too_large(id: &str, json: &str) -> Option<String> {
    let limit = verdict_sdk::abi::MAX_PROFILE_BYTES;
    (json.len() > limit).then(|| {
        format!(
            "customer `{}` is {} bytes of profile JSON, more than the {} KiB a profile may have",
            shown_id(id),
            json.len(),
            limit >> 10
        )
    })
}

/// The rule that no two customers share an `id`, across customers checked
/// one at a time: the ids seen so far, each with where it was first seen
/// (a customer index, a row number).
#[derive(Debug, Default)]
pub struct UniqueIds {
    first: HashMap<Box<str>, usize>,
}

impl UniqueIds {
    /// Records `id` as seen at `at`; when it was seen before, refuses it
    /// and returns where it was first seen.
    pub fn insert(&mut self, id: &str, at: usize) -> Result<(), usize> {
        match self.first.get(id) {
            Some(&first) => Err(first),
            None => {
                self.first.insert(id.into(), at);
                Ok(())
            }
        }
    }
}

/// The problem of a customer whose `id` another customer already has.
#[must_use]
pub fn duplicate_message(id: &str) -> String {
    format!("duplicate customer id `{}`", shown_id(id))
}

/// A problem in a customer given as JSON, located by customer index and
/// field path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InputError {
    /// The customer's number in the request (counting from 1), when it is
    /// about one.
    pub customer: Option<usize>,
    /// The field's dotted path (`birth_date`, `stay.requested_by`), when
    /// it is about one field.
    pub field: Option<String>,
    /// The problem.
    pub message: String,
}

impl std::fmt::Display for InputError {
    /// `customer 2, field `birth_date`: problem`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.customer, &self.field) {
            (Some(index), Some(field)) => write!(f, "customer {index}, field `{field}`: ")?,
            (Some(index), None) => write!(f, "customer {index}: ")?,
            (None, Some(field)) => write!(f, "field `{field}`: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

impl InputError {
    /// A problem with one field of the input (`as_of`, say), not of one
    /// customer.
    #[must_use]
    pub fn of_field(field: &str, message: String) -> InputError {
        InputError {
            customer: None,
            field: Some(field.to_owned()),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn problem(value: Value) -> String {
        let as_of = "2026-11-23".parse().unwrap_or_else(|e| unreachable!("{e}"));
        match customer_from_json(&value, as_of) {
            Ok(profile) => format!("ok {}", profile.id()),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn a_json_customer_passes_or_says_which_field_is_wrong() {
        assert_eq!(
            problem(json!({"id": "C-1", "birth_date": "1990-01-01"})),
            "ok C-1"
        );
        assert_eq!(
            problem(json!(["C-1"])),
            "each customer must be a JSON object, found an array"
        );
        assert_eq!(
            problem(json!({"id": "C-1"})),
            "field `birth_date`: customer is missing required key `birth_date`"
        );
        assert_eq!(
            problem(json!({"id": " ", "birth_date": "1990-01-01"})),
            "field `id`: `id` must not be empty"
        );
        assert_eq!(
            problem(json!({"id": "C-1", "birth_date": "1990-02-30"})),
            "field `birth_date`: `birth_date` in customer must be a date string such as \
             \"2012-05-04\" (`1990-02-30` is not a date: day 30 does not exist in 1990-02 (it \
             has 28 days))"
        );
        assert_eq!(
            problem(json!({"id": "C-1", "birth_date": "2030-01-01"})),
            "field `birth_date`: customer `C-1` has birth_date 2030-01-01 after the \
             evaluation date 2026-11-23"
        );
    }

    #[test]
    fn a_huge_id_is_cut_in_messages() {
        assert_eq!(shown_id("C-1"), "C-1");
        let huge = "é".repeat(100);
        assert_eq!(
            duplicate_message(&huge),
            format!("duplicate customer id `{}… (200 bytes)`", "é".repeat(32))
        );
    }

    #[test]
    fn ids_are_unique_across_customers() {
        let customers = [
            r#"{"id": "A", "birth_date": "1990-01-01"}"#,
            r#"{"id": "A", "birth_date": "1991-01-01"}"#,
        ];
        let as_of = "2026-11-23".parse().unwrap_or_else(|e| unreachable!("{e}"));
        let error = customers_from_json(&customers, as_of).err();
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("customer 2, field `id`: duplicate customer id `A` (also customer 1)")
        );
    }

    #[test]
    fn a_key_given_twice_is_refused_at_its_field() {
        let customers = [
            r#"{"id": "A", "birth_date": "1990-01-01"}"#,
            r#"{"id": "B", "birth_date": "1991-01-01", "stay": {"nights": 1, "nights": 2}}"#,
        ];
        let as_of = "2026-11-23".parse().unwrap_or_else(|e| unreachable!("{e}"));
        let error = customers_from_json(&customers, as_of).err();
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("customer 2, field `stay.nights`: duplicate key `nights` in `stay`")
        );
    }
}
