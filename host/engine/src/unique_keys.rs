//! Keys a JSON object gives twice. JSON parsers keep the last of them
//! without a word (serde_json's `Value`, Arrow's JSON reader), so a
//! customer could say two things and be decided on one; Verdict refuses
//! such input, as TOML refuses a key given twice. One walk, for every JSON
//! customer: a request body's, a JSON Lines row's.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A key given twice in one object of a JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The path of the object that holds the key (`name`, then `.field`
    /// and `[index]` steps; empty: the value itself is that object).
    pub object: String,
    /// The key.
    pub key: String,
}

impl DuplicateKey {
    /// The key's own path (`stay.requested_by`; `id` at the top level).
    #[must_use]
    pub fn field(&self) -> String {
        if self.object.is_empty() {
            self.key.clone()
        } else {
            format!("{}.{}", self.object, self.key)
        }
    }

    /// The same key, its object being inside `step` (a key, or an
    /// `[index]`) of an enclosing value.
    fn within(mut self, step: &str) -> DuplicateKey {
        let joint = if self.object.is_empty() || self.object.starts_with('[') {
            ""
        } else {
            "."
        };
        self.object = format!("{step}{joint}{}", self.object);
        self
    }
}

impl fmt::Display for DuplicateKey {
    /// `duplicate key `requested_by` in `stay``, or `duplicate key `id``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "duplicate key `{}`", self.key)?;
        if !self.object.is_empty() {
            write!(f, " in `{}`", self.object)?;
        }
        Ok(())
    }
}

impl std::error::Error for DuplicateKey {}

/// What deserializing a JSON value as this finds: its first key given
/// twice, in document order, or `None` when every object of it gives each
/// key once. It reads any JSON value and keeps nothing else of it, so it
/// walks a stream of values (JSON Lines) as well as one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FirstDuplicate(pub Option<DuplicateKey>);

impl FirstDuplicate {
    /// The first key given twice in `text`, one JSON value; a syntax
    /// error is the `Err`.
    pub fn in_text(text: &str) -> Result<Option<DuplicateKey>, serde_json::Error> {
        serde_json::from_str::<FirstDuplicate>(text).map(|found| found.0)
    }
}

impl<'de> Deserialize<'de> for FirstDuplicate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Walk)
    }
}

/// The visitor behind [`FirstDuplicate`]: scalars have no keys, arrays and
/// objects are walked item by item.
struct Walk;

impl<'de> Visitor<'de> for Walk {
    type Value = FirstDuplicate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<FirstDuplicate, E> {
        Ok(FirstDuplicate(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<FirstDuplicate, A::Error> {
        let mut first = None;
        let mut index = 0usize;
        while let Some(FirstDuplicate(found)) = items.next_element::<FirstDuplicate>()? {
            if first.is_none() {
                first = found.map(|found| found.within(&format!("[{index}]")));
            }
            index += 1;
        }
        Ok(FirstDuplicate(first))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<FirstDuplicate, A::Error> {
        let mut first = None;
        let mut seen = HashSet::new();
        while let Some(key) = entries.next_key::<String>()? {
            let FirstDuplicate(found) = entries.next_value::<FirstDuplicate>()?;
            if first.is_some() {
                continue;
            }
            if let Some(found) = found {
                first = Some(found.within(&key));
            } else if let Some(key) = seen.replace(key) {
                first = Some(DuplicateKey {
                    object: String::new(),
                    key,
                });
            }
        }
        Ok(FirstDuplicate(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(text: &str) -> Option<String> {
        FirstDuplicate::in_text(text)
            .unwrap_or_else(|e| unreachable!("{e}"))
            .map(|found| format!("{}: {found}", found.field()))
    }

    #[test]
    fn the_first_key_given_twice_is_found_with_its_path() {
        assert_eq!(first(r#"{"id": "A", "tier": "gold"}"#), None);
        assert_eq!(
            first(r#"{"id": "A", "tier": "gold", "id": "B"}"#).as_deref(),
            Some("id: duplicate key `id`")
        );
        assert_eq!(
            first(r#"{"id": "A", "stay": {"requested_by": "x", "requested_by": "y"}}"#).as_deref(),
            Some("stay.requested_by: duplicate key `requested_by` in `stay`")
        );
        assert_eq!(
            first(r#"{"a": [{}, {"b": [[{"c": 1, "c": 2}]]}], "a": 1}"#).as_deref(),
            Some("a[1].b[0][0].c: duplicate key `c` in `a[1].b[0][0]`")
        );
        assert_eq!(first(r#"[{"k": 1}, {"k": 2}]"#), None);
        assert_eq!(
            first(r#"[1, {"k": 1, "k": 2}]"#).as_deref(),
            Some("[1].k: duplicate key `k` in `[1]`")
        );
        assert!(FirstDuplicate::in_text(r#"{"id": }"#).is_err());
    }
}
