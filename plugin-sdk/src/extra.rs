//! The keys of a table the SDK does not know, kept for the policy and read
//! only when it asks.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// The keys of a profile table that are not known fields, as a JSON map.
///
/// It dereferences to a `serde_json::Map`, so `customer.extra["tier"]`,
/// `.get("tier")` and `.insert(..)` work as on a map. Through ABI v2 the
/// host sends these keys as one JSON object the plugin does not parse until
/// the policy first reads the map: data a policy ignores costs it nothing.
#[derive(Clone, Default)]
pub struct Extra {
    /// The JSON object as the host sent it, not yet parsed; empty when
    /// there is none or once `parsed` holds it.
    raw: Box<[u8]>,
    parsed: OnceLock<Map<String, Value>>,
}

impl Extra {
    /// Keys sent as one JSON object, parsed on first read. Empty bytes are
    /// no keys.
    pub(crate) fn from_json(raw: &[u8]) -> Extra {
        Extra {
            raw: raw.into(),
            parsed: OnceLock::new(),
        }
    }

    fn map(&self) -> &Map<String, Value> {
        self.parsed.get_or_init(|| {
            if self.raw.is_empty() {
                return Map::new();
            }
            // The host sends a JSON object it serialized itself. Bytes that
            // are not one were not sent by a host: stop the plugin (a trap,
            // which the host reports) rather than decide on a guess.
            serde_json::from_slice(&self.raw).unwrap_or_else(|_| std::process::abort())
        })
    }
}

impl From<Map<String, Value>> for Extra {
    fn from(map: Map<String, Value>) -> Extra {
        Extra {
            raw: Box::default(),
            parsed: OnceLock::from(map),
        }
    }
}

impl Deref for Extra {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        self.map()
    }
}

impl DerefMut for Extra {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.map();
        self.raw = Box::default();
        match self.parsed.get_mut() {
            Some(map) => map,
            None => unreachable!("`map` has just filled the cell"),
        }
    }
}

impl PartialEq for Extra {
    fn eq(&self, other: &Extra) -> bool {
        self.map() == other.map()
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.map().fmt(f)
    }
}

impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.map().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;

    #[test]
    fn keys_are_parsed_on_first_read_and_can_be_changed() {
        let mut extra = Extra::from_json(br#"{"tier":"gold","accounts":[1,2]}"#);
        assert!(extra.parsed.get().is_none());
        assert_eq!(extra["tier"], "gold");
        assert_eq!(extra.len(), 2);
        extra.insert("tier".into(), json!("silver"));
        assert_eq!(extra.get("tier"), Some(&json!("silver")));
        assert_eq!(
            serde_json::to_value(&extra).unwrap(),
            json!({"tier": "silver", "accounts": [1, 2]})
        );
        assert!(Extra::from_json(b"").is_empty());
        assert_eq!(Extra::from_json(b"{}"), Extra::default());
    }
}
