//! Customer profile files: parsing, validation, and the JSON each plugin
//! receives for a customer.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use toml::Spanned;
use toml::de::DeValue;
use verdict_sdk::Date;

use crate::document::{self, Document, Table};
use crate::error::Error;

/// A profiles file, validated: every customer has a unique `id` and a real
/// `birth_date`, and every field the SDK knows has the right type.
#[derive(Debug, Clone)]
pub struct Profiles {
    doc: Document,
    /// The file's own evaluation date, if it gives one.
    pub as_of: Option<Date>,
    /// The customers, in file order.
    pub customers: Vec<Profile>,
}

/// One customer, ready to be evaluated.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The customer's `id`.
    pub id: String,
    /// The customer's `birth_date`.
    pub birth_date: Date,
    birth_date_span: Range<usize>,
    /// The profile as given, as a JSON object (keys sorted).
    pub json: Arc<str>,
}

/// The shape a known field must have.
#[derive(Clone, Copy)]
enum Shape {
    Text,
    Number,
    LocalDate,
    TextList,
    Table,
}

impl Shape {
    fn describe(self) -> &'static str {
        match self {
            Shape::Text => "a string",
            Shape::Number => "a number",
            Shape::LocalDate => "a date such as 2012-05-04 (no quotes, no time)",
            Shape::TextList => "a list of strings",
            Shape::Table => "a table",
        }
    }

    fn fits(self, value: &DeValue<'_>) -> bool {
        match self {
            Shape::Text => value.is_str(),
            Shape::Number => value.is_integer() || value.is_float(),
            Shape::LocalDate => local_date(value).is_some(),
            Shape::TextList => value
                .as_array()
                .is_some_and(|items| items.iter().all(|item| item.get_ref().is_str())),
            Shape::Table => value.is_table(),
        }
    }
}

/// Known customer fields: (key, shape, required).
const CUSTOMER_FIELDS: &[(&str, Shape, bool)] = &[
    ("id", Shape::Text, true),
    ("name", Shape::Text, false),
    ("birth_date", Shape::LocalDate, true),
    ("language", Shape::Text, false),
    ("products", Shape::TextList, false),
    ("stay", Shape::Table, false),
    ("loan_request", Shape::Table, false),
];
const STAY_FIELDS: &[(&str, Shape, bool)] = &[
    ("recovery_spent_usd", Shape::Number, false),
    ("requested_recovery_usd", Shape::Number, false),
    ("requested_by", Shape::Text, false),
];
const LOAN_FIELDS: &[(&str, Shape, bool)] = &[
    ("type", Shape::Text, true),
    ("amount_usd", Shape::Number, false),
];

impl Profiles {
    /// Reads and validates a profiles file.
    pub fn load(path: &Path) -> Result<Profiles, Error> {
        Profiles::parse(Document::read(path)?)
    }

    /// Validates a profiles document.
    pub fn parse(doc: Document) -> Result<Profiles, Error> {
        let root = doc.parse()?;
        let root = root.get_ref();
        doc.deny_unknown_keys(root, &["as_of", "customer"], "a profiles file")?;
        let as_of = match root.get("as_of") {
            Some(value) => Some(local_date(value.get_ref()).ok_or_else(|| {
                doc.error(
                    value.span(),
                    "`as_of` must be a date such as 2026-11-23",
                    "not a date",
                )
            })?),
            None => None,
        };
        let entries = match root.get("customer") {
            Some(value) => value.get_ref().as_array().ok_or_else(|| {
                doc.error(
                    value.span(),
                    "`customer` must be an array of tables: write `[[customer]]`",
                    "",
                )
            })?,
            None => {
                return Ok(Profiles {
                    doc: doc.clone(),
                    as_of,
                    customers: Vec::new(),
                });
            }
        };
        let mut first_seen: HashMap<String, Range<usize>> = HashMap::with_capacity(entries.len());
        let mut customers = Vec::with_capacity(entries.len());
        for entry in entries.iter() {
            let table = entry
                .get_ref()
                .as_table()
                .ok_or_else(|| doc.error(entry.span(), "each `customer` must be a table", ""))?;
            let profile = parse_customer(&doc, entry.span(), table)?;
            if let Some(first) = first_seen.get(&profile.id) {
                let (line, _) = doc.line_col(first.start);
                let span = table.get("id").map_or(entry.span(), Spanned::span);
                return Err(doc.error(
                    span,
                    format!("duplicate customer id `{}`", profile.id),
                    &format!("already used on line {line}"),
                ));
            }
            let span = table.get("id").map_or(entry.span(), Spanned::span);
            first_seen.insert(profile.id.clone(), span);
            customers.push(profile);
        }
        Ok(Profiles {
            doc: doc.clone(),
            as_of,
            customers,
        })
    }

    /// The file the profiles came from.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.doc.path()
    }

    /// Refuses the file when a customer is born after the evaluation date.
    pub fn check_born_by(&self, as_of: Date) -> Result<(), Error> {
        match self.customers.iter().find(|c| c.birth_date > as_of) {
            Some(customer) => Err(self.doc.error(
                customer.birth_date_span.clone(),
                format!(
                    "customer `{}` has birth_date {} after the evaluation date {as_of}",
                    customer.id, customer.birth_date
                ),
                "after the evaluation date",
            )),
            None => Ok(()),
        }
    }
}

fn parse_customer(doc: &Document, span: Range<usize>, table: &Table<'_>) -> Result<Profile, Error> {
    check_fields(doc, span.clone(), table, CUSTOMER_FIELDS, "customer")?;
    for (key, fields, what) in [
        ("stay", STAY_FIELDS, "customer.stay"),
        ("loan_request", LOAN_FIELDS, "customer.loan_request"),
    ] {
        if let Some(value) = table.get(key) {
            if let Some(inner) = value.get_ref().as_table() {
                check_fields(doc, value.span(), inner, fields, what)?;
            }
        }
    }
    let (Some(id), Some(birth)) = (table.get("id"), table.get("birth_date")) else {
        return Err(doc.error(span, "customer lacks `id` or `birth_date`", ""));
    };
    let id = id.get_ref().as_str().unwrap_or_default().to_owned();
    if id.trim().is_empty() {
        return Err(doc.error(
            table.get("id").map_or(span, Spanned::span),
            "`id` must not be empty",
            "",
        ));
    }
    let birth_date = local_date(birth.get_ref())
        .ok_or_else(|| doc.error(birth.span(), "`birth_date` is not a date", ""))?;
    let json =
        document::table_to_json(table).map_err(|(span, message)| doc.error(span, message, ""))?;
    Ok(Profile {
        id,
        birth_date,
        birth_date_span: birth.span(),
        json: Value::Object(json).to_string().into(),
    })
}

fn check_fields(
    doc: &Document,
    span: Range<usize>,
    table: &Table<'_>,
    fields: &[(&str, Shape, bool)],
    what: &str,
) -> Result<(), Error> {
    for &(key, shape, required) in fields {
        match table.get(key) {
            Some(value) if !shape.fits(value.get_ref()) => {
                return Err(doc.error(
                    value.span(),
                    format!("`{key}` in {what} must be {}", shape.describe()),
                    &format!("found {}", value.get_ref().type_str()),
                ));
            }
            None if required => {
                return Err(doc.error(span, format!("{what} is missing required key `{key}`"), ""));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A TOML local date (no time, no offset) as a [`Date`].
fn local_date(value: &DeValue<'_>) -> Option<Date> {
    let datetime = value.as_datetime()?;
    match (datetime.date, datetime.time, datetime.offset) {
        (Some(date), None, None) => Date::new(i32::from(date.year), date.month, date.day).ok(),
        _ => None,
    }
}
