//! The evaluation input for one customer: what every decision about them
//! needs, whatever format the customer came in (TOML, JSON, Arrow).

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use verdict_sdk::{Date, wire};

/// One customer, checked and ready to be decided.
#[derive(Clone)]
pub struct Profile {
    /// The customer's `id`.
    pub id: String,
    /// The customer's `birth_date`.
    pub birth_date: Date,
    /// The profile as given, as a JSON object: the bytes every ABI v1
    /// plugin receives as `customer`.
    pub json: Arc<str>,
    /// `json` laid out as the customer of an ABI v2 envelope, made on first
    /// use and then shared by every v2 decision about this customer.
    wire: OnceLock<Result<Arc<[u8]>, String>>,
}

impl Profile {
    /// A checked customer: `json` is the profile as a JSON object.
    #[must_use]
    pub fn new(id: String, birth_date: Date, json: Arc<str>) -> Profile {
        Profile {
            id,
            birth_date,
            json,
            wire: OnceLock::new(),
        }
    }

    /// The customer as an ABI v2 envelope lays it out, or why the profile
    /// JSON cannot be (not an object, or a known field of another shape).
    pub fn wire(&self) -> Result<&[u8], &str> {
        match self
            .wire
            .get_or_init(|| customer_wire(&self.json).map(Into::into))
        {
            Ok(bytes) => Ok(bytes),
            Err(message) => Err(message),
        }
    }
}

/// A profile's JSON laid out as the customer of an ABI v2 envelope.
pub(crate) fn customer_wire(json: &str) -> Result<Vec<u8>, String> {
    let profile: Map<String, Value> = serde_json::from_str(json)
        .map_err(|error| format!("the profile is not a JSON object: {error}"))?;
    let mut out = Vec::with_capacity(json.len() / 2);
    wire::encode_customer(&profile, &mut out).map_err(|error| error.to_string())?;
    Ok(out)
}

impl PartialEq for Profile {
    /// Equal profiles: the same id, birth date and JSON (however far the
    /// v2 layout was made).
    fn eq(&self, other: &Profile) -> bool {
        self.id == other.id && self.birth_date == other.birth_date && self.json == other.json
    }
}

impl Eq for Profile {}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Profile")
            .field("id", &self.id)
            .field("birth_date", &self.birth_date)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}
