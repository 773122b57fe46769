//! The customer fields the SDK knows, as data: the one definition both the
//! SDK's decoder and the host's validation of profiles come from.
//!
//! A profile is a table. Its known fields are listed in [`CUSTOMER`], each
//! with a key, a [`Shape`] and whether it is required; a [`Shape::Table`]
//! field lists the known fields of its own table ([`STAY`],
//! [`LOAN_REQUEST`]). Any other key, at any level, is not checked and
//! reaches the policy unchanged (in the `extra` map of [`Customer`],
//! [`Stay`] or [`LoanRequest`]).
//!
//! The lists are generated, with the `Deserialize` impl of each type, from
//! one declaration next to the type: a known field cannot be decoded
//! differently from how it is declared here, and the SDK's tests check the
//! shapes against the decoded types both ways.
//!
//! The host checks every profile against these lists before a plugin sees
//! it: a required key is present, and a known key present has its shape.
//! A plugin may therefore rely on them, and a plugin in another language
//! can read the same list in `ABI.md`.
//!
//! ```
//! use verdict_sdk::schema::{self, Shape};
//!
//! let required: Vec<&str> = schema::CUSTOMER
//!     .iter()
//!     .filter(|field| field.required)
//!     .map(|field| field.key)
//!     .collect();
//! assert_eq!(required, ["id", "birth_date"]);
//!
//! let stay = schema::field(schema::CUSTOMER, "stay").map(|field| field.shape);
//! assert_eq!(stay, Some(Shape::Table(schema::STAY)));
//! assert!(Shape::Date.accepts(&"2012-05-04".into()));
//! assert!(!Shape::Date.accepts(&"2012-02-30".into()));
//! ```
//!
//! [`Customer`]: crate::Customer
//! [`Stay`]: crate::domain::hotel::Stay
//! [`LoanRequest`]: crate::domain::lending::LoanRequest

pub use crate::shape::{Field, Shape};

/// The known fields of a customer profile, in the order they are checked.
pub const CUSTOMER: &[Field] = crate::input::CUSTOMER_FIELDS;

/// The known fields of a customer's `stay` table (a hotel guest's stay:
/// [`Stay`](crate::domain::hotel::Stay)).
pub const STAY: &[Field] = crate::domain::hotel::STAY_FIELDS;

/// The known fields of a customer's `loan_request` table (a loan being
/// asked for: [`LoanRequest`](crate::domain::lending::LoanRequest)).
pub const LOAN_REQUEST: &[Field] = crate::domain::lending::LOAN_REQUEST_FIELDS;

/// The field of `fields` with this key, if it is a known one.
#[must_use]
pub fn field(fields: &'static [Field], key: &str) -> Option<&'static Field> {
    fields.iter().find(|field| field.key == key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use serde_json::{Map, Value, json};

    use super::*;
    use crate::domain::hotel::Stay;
    use crate::domain::lending::LoanRequest;
    use crate::{Customer, Date};

    /// A value of the field's shape that decodes, distinct for every field
    /// (so a key read into the wrong field shows); a table has every one of
    /// its fields.
    fn sample(field: &Field, index: usize) -> Value {
        match field.shape {
            Shape::Text => json!(format!("{}-text", field.key)),
            Shape::Number => json!(10.5 + index as f64),
            Shape::Date => json!(format!("2001-02-{:02}", index + 1)),
            Shape::TextList => json!([format!("{}-1", field.key), format!("{}-2", field.key)]),
            Shape::Table(fields) => full(fields),
        }
    }

    fn full(fields: &[Field]) -> Value {
        let entries = fields.iter().enumerate();
        Value::Object(
            entries
                .map(|(index, field)| (field.key.to_owned(), sample(field, index)))
                .collect(),
        )
    }

    /// Whether a value passes the checks the host makes with the schema:
    /// the right shape and, for a table, its required fields present and
    /// every known field present conforming.
    fn conforms(shape: Shape, value: &Value) -> bool {
        shape.accepts(value)
            && match shape {
                Shape::Table(fields) => fields.iter().all(|field| match value.get(field.key) {
                    Some(inner) => conforms(field.shape, inner),
                    None => !field.required,
                }),
                _ => true,
            }
    }

    /// Every known field with its path from the customer, depth first.
    fn paths() -> Vec<(Vec<&'static str>, Field)> {
        fn walk(
            fields: &'static [Field],
            prefix: &[&'static str],
            out: &mut Vec<(Vec<&'static str>, Field)>,
        ) {
            for field in fields {
                let mut path = prefix.to_vec();
                path.push(field.key);
                out.push((path.clone(), *field));
                if let Shape::Table(inner) = field.shape {
                    walk(inner, &path, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(CUSTOMER, &[], &mut out);
        out
    }

    /// The table holding the last key of `path`.
    fn parent<'v>(doc: &'v mut Value, path: &[&str]) -> &'v mut Map<String, Value> {
        let mut table = doc.as_object_mut().unwrap();
        for key in &path[..path.len() - 1] {
            table = table.get_mut(*key).unwrap().as_object_mut().unwrap();
        }
        table
    }

    /// Decodes as the glue does: from JSON text.
    fn decode(doc: &Value) -> Result<Customer, serde_json::Error> {
        serde_json::from_str(&doc.to_string())
    }

    #[test]
    fn every_known_field_decodes_into_a_typed_field_under_its_own_key() {
        let doc = full(CUSTOMER);
        let customer = decode(&doc).unwrap();
        assert!(customer.extra.is_empty(), "{:?}", customer.extra);
        let stay = customer.stay.as_ref().unwrap();
        assert!(stay.extra.is_empty(), "{:?}", stay.extra);
        let loan = customer.loan_request.as_ref().unwrap();
        assert!(loan.extra.is_empty(), "{:?}", loan.extra);
        // Nothing went to `extra`, and serializing gives every value back
        // under its key: each key was read into its own typed field.
        assert_eq!(serde_json::to_value(&customer).unwrap(), doc);
    }

    #[test]
    fn every_typed_field_is_a_known_field() {
        // Struct literals, not constructors: a field added to a type fails
        // to compile here until it is set (and then must be in the schema
        // for the comparison below to hold).
        let customer = Customer {
            id: "C".to_owned(),
            name: Some("N".to_owned()),
            birth_date: Date::new(2001, 2, 3).unwrap(),
            language: Some("pt".to_owned()),
            products: vec!["p".to_owned()],
            stay: Some(Stay {
                recovery_spent_usd: 1.0,
                requested_recovery_usd: Some(2.0),
                requested_by: "manager".to_owned(),
                extra: Default::default(),
            }),
            loan_request: Some(LoanRequest {
                kind: "car".to_owned(),
                amount_usd: 3.0,
                extra: Default::default(),
            }),
            extra: Default::default(),
        };
        fn keys(value: &Value) -> Vec<&str> {
            let mut keys: Vec<&str> = value
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            keys
        }
        fn names(fields: &[Field]) -> Vec<&str> {
            let mut names: Vec<&str> = fields.iter().map(|field| field.key).collect();
            names.sort_unstable();
            names
        }
        let value = serde_json::to_value(&customer).unwrap();
        assert_eq!(keys(&value), names(CUSTOMER));
        assert_eq!(keys(&value["stay"]), names(STAY));
        assert_eq!(keys(&value["loan_request"]), names(LOAN_REQUEST));
        // And what is serialized decodes as the known fields it is.
        assert!(conforms(Shape::Table(CUSTOMER), &value));
        assert_eq!(decode(&value).unwrap(), customer);
    }

    #[test]
    fn a_required_field_is_needed_and_an_optional_one_is_not() {
        for (path, field) in paths() {
            let mut doc = full(CUSTOMER);
            parent(&mut doc, &path).remove(field.key);
            let decoded = decode(&doc);
            if field.required {
                let error = decoded.err().map(|e| e.to_string()).unwrap_or_default();
                assert!(
                    error.starts_with(&format!("missing field `{}`", field.key)),
                    "{path:?}: {error}"
                );
            } else {
                assert!(decoded.is_ok(), "{path:?}: {decoded:?}");
            }
            assert_eq!(conforms(Shape::Table(CUSTOMER), &doc), !field.required);
        }
    }

    #[test]
    fn a_value_decodes_exactly_when_it_has_the_declared_shape() {
        // Right and wrong values for every shape. (`null` is left out: the
        // host refuses it for every known field, while the decoder reads it
        // as absent where the typed field is an `Option`.)
        let values = [
            json!("text"),
            json!(""),
            json!("2001-02-03"),
            json!("2001-02-30"),
            json!(7),
            json!(-1.5),
            json!(true),
            json!([]),
            json!(["a", "b"]),
            json!(["a", 1]),
            json!([{}]),
            json!({}),
            full(STAY),
            full(LOAN_REQUEST),
            json!({"type": 1}),
            json!({"type": "car", "amount_usd": "1"}),
            json!({"recovery_spent_usd": "1"}),
        ];
        let mut checked = 0;
        for (path, field) in paths() {
            for value in &values {
                let mut doc = full(CUSTOMER);
                parent(&mut doc, &path).insert(field.key.to_owned(), value.clone());
                let expected = conforms(Shape::Table(CUSTOMER), &doc);
                assert_eq!(
                    expected,
                    conforms(field.shape, value),
                    "{path:?} = {value}: the rest of the sample must conform"
                );
                let decoded = decode(&doc);
                assert_eq!(
                    decoded.is_ok(),
                    expected,
                    "{path:?} ({}) = {value}: {decoded:?}",
                    field.shape.name()
                );
                checked += usize::from(!expected);
            }
        }
        assert!(checked > 100, "only {checked} wrong values tried");
    }

    #[test]
    fn null_is_absent_for_optional_fields_decoded_as_option() {
        let customer: Customer = serde_json::from_value(json!({
            "id": "C", "birth_date": "2001-02-03", "name": null, "stay": {"requested_recovery_usd": null},
        }))
        .unwrap();
        assert_eq!(customer.name, None);
        assert_eq!(customer.stay.unwrap().requested_recovery_usd, None);
        assert!(!Shape::Text.accepts(&Value::Null));
    }

    /// The lists the host validated profiles with before it read this
    /// module (`host/src/profile.rs`): the same keys, shapes, requirements
    /// and order, so its checks and messages stay as they were.
    #[test]
    fn the_schema_is_the_host_lists_it_replaces() {
        let flat = |fields: &[Field]| -> Vec<(&str, &str, bool)> {
            fields
                .iter()
                .map(|field| (field.key, field.shape.name(), field.required))
                .collect()
        };
        assert_eq!(
            flat(CUSTOMER),
            [
                ("id", "text", true),
                ("name", "text", false),
                ("birth_date", "date", true),
                ("language", "text", false),
                ("products", "list of text", false),
                ("stay", "table", false),
                ("loan_request", "table", false),
            ]
        );
        assert_eq!(
            flat(STAY),
            [
                ("recovery_spent_usd", "number", false),
                ("requested_recovery_usd", "number", false),
                ("requested_by", "text", false),
            ]
        );
        assert_eq!(
            flat(LOAN_REQUEST),
            [("type", "text", true), ("amount_usd", "number", false)]
        );
        assert_eq!(field(CUSTOMER, "stay").unwrap().shape, Shape::Table(STAY));
        assert_eq!(
            field(CUSTOMER, "loan_request").unwrap().shape,
            Shape::Table(LOAN_REQUEST)
        );
        assert_eq!(field(CUSTOMER, "tier"), None);
    }

    /// `ABI.md` lists the known fields for plugins written without the SDK;
    /// its table is this schema, row for row.
    #[test]
    fn abi_md_lists_exactly_these_fields() {
        let mut table = String::from("| key | shape | required |\n| --- | --- | --- |\n");
        for (path, field) in paths() {
            table.push_str(&format!(
                "| `{}` | {} | {} |\n",
                path.join("."),
                field.shape.name(),
                if field.required { "yes" } else { "no" }
            ));
        }
        let abi = include_str!("../ABI.md");
        assert!(
            abi.contains(&table),
            "ABI.md should have this table:\n{table}"
        );
    }
}
