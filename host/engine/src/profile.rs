//! The evaluation input for one customer: what every decision about them
//! needs, whatever format the customer came in (TOML, JSON, Arrow).

use std::sync::Arc;

use verdict_sdk::Date;

/// One customer, checked and ready to be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The customer's `id`.
    pub id: String,
    /// The customer's `birth_date`.
    pub birth_date: Date,
    /// The profile as given, as a JSON object: the bytes every plugin
    /// receives as `customer`.
    pub json: Arc<str>,
}
