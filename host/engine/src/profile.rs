//! The evaluation input for one customer: what every decision about them
//! needs, whatever format the customer came in (TOML, JSON, Arrow).

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use verdict_sdk::wire;

/// One customer, ready to be decided: its id and its profile as JSON. Both
/// are fixed when it is made, so the v2 layout made from the JSON once
/// always matches it.
#[derive(Clone)]
pub struct Profile {
    id: String,
    json: Arc<str>,
    /// `json` laid out as the customer of an ABI v2 envelope, made on first
    /// use and then shared by every v2 decision about this customer.
    wire: OnceLock<Result<Arc<[u8]>, Unlaid>>,
}

/// Why a profile's JSON cannot be laid out for ABI v2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unlaid {
    /// The profile is not a JSON object.
    #[error("the profile is not a JSON object: {0}")]
    NotObject(String),
    /// A known field has another shape than the layout's.
    #[error("{0}")]
    Field(String),
}

impl Profile {
    /// A customer with id `id` whose profile is the JSON object `json` (a
    /// checked customer, or one read back from a log).
    #[must_use]
    pub fn new(id: String, json: Arc<str>) -> Profile {
        Profile {
            id,
            json,
            wire: OnceLock::new(),
        }
    }

    /// The customer's `id`.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The profile as given, as a JSON object: the bytes every ABI v1
    /// plugin receives as `customer`.
    #[must_use]
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The customer as an ABI v2 envelope lays it out, or why the profile
    /// JSON cannot be (not an object, or a known field of another shape).
    pub fn wire(&self) -> Result<&[u8], &Unlaid> {
        match self
            .wire
            .get_or_init(|| customer_wire(&self.json).map(Into::into))
        {
            Ok(bytes) => Ok(bytes),
            Err(why) => Err(why),
        }
    }
}

/// A profile's JSON laid out as the customer of an ABI v2 envelope.
pub(crate) fn customer_wire(json: &str) -> Result<Vec<u8>, Unlaid> {
    let profile: Map<String, Value> =
        serde_json::from_str(json).map_err(|error| Unlaid::NotObject(error.to_string()))?;
    let mut out = Vec::with_capacity(json.len() / 2);
    wire::encode_customer(&profile, &mut out).map_err(|error| Unlaid::Field(error.to_string()))?;
    Ok(out)
}

impl PartialEq for Profile {
    /// Equal profiles: the same id and JSON (however far the v2 layout was
    /// made).
    fn eq(&self, other: &Profile) -> bool {
        self.id == other.id && self.json == other.json
    }
}

impl Eq for Profile {}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("id", &self.id)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}
