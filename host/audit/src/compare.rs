//! Differences between two JSON documents as paths with old and new
//! values (`value.remaining_usd: 0.0 -> 350.0`): what replay and the
//! what-if diff show.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// One place where two JSON documents differ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// Where: object keys joined by `.`, array indices as `[i]`.
    pub path: String,
    /// The old value (`None` when absent).
    pub old: Option<Value>,
    /// The new value (`None` when absent).
    pub new: Option<Value>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |value: &Option<Value>| {
            value
                .as_ref()
                .map_or_else(|| "(absent)".to_owned(), Value::to_string)
        };
        write!(
            f,
            "{}: {} -> {}",
            self.path,
            show(&self.old),
            show(&self.new)
        )
    }
}

/// Every difference between `old` and `new`, in key order.
#[must_use]
pub(crate) fn differences(old: &Value, new: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    walk(String::new(), Some(old), Some(new), &mut out);
    out
}

fn walk(path: String, old: Option<&Value>, new: Option<&Value>, out: &mut Vec<Difference>) {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match (old, new) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                walk(join(key), a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(format!("{path}[{i}]"), Some(x), Some(y), out);
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(Difference {
            path: if path.is_empty() {
                "(whole)".to_owned()
            } else {
                path
            },
            old: a.cloned(),
            new: b.cloned(),
        }),
    }
}

/// The byte offset of the first difference between two texts, if any.
#[must_use]
pub(crate) fn first_byte_difference(a: &str, b: &str) -> Option<usize> {
    a.bytes()
        .zip(b.bytes())
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then(|| a.len().min(b.len())))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_each_changed_leaf() {
        let old =
            json!({"outcome":"refer","value":{"limit_usd":2000.0,"x":1},"reasons":[{"code":"a"}]});
        let new = json!({"outcome":"approve","value":{"limit_usd":2500.0,"y":2},"reasons":[{"code":"b"}]});
        let shown: Vec<String> = differences(&old, &new)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "outcome: \"refer\" -> \"approve\"",
                "reasons[0].code: \"a\" -> \"b\"",
                "value.limit_usd: 2000.0 -> 2500.0",
                "value.x: 1 -> (absent)",
                "value.y: (absent) -> 2",
            ]
        );
        assert!(differences(&old, &old).is_empty());
    }

    #[test]
    fn finds_the_first_differing_byte() {
        assert_eq!(first_byte_difference("abc", "abc"), None);
        assert_eq!(first_byte_difference("abc", "abd"), Some(2));
        assert_eq!(first_byte_difference("ab", "abc"), Some(2));
    }
}
