//! Hooks for fuzz targets and tests beneath the file API (the `testing`
//! feature): the profiles parser with parts of any size, and all it found.

use std::ops::Range;

use verdict_engine::Profile;
use verdict_sdk::Date;

use crate::document::Document;
use crate::error::ConfigError;
use crate::profile::Profiles;

/// Everything a profiles parse found, comparable across ways of parsing:
/// the file's date, the customers in file order, and where each one's `id`
/// and `birth_date` are (with the birth date read).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The file's `as_of`.
    pub as_of: Option<Date>,
    /// The customers.
    pub customers: Vec<Profile>,
    /// Each customer's `id` span, `birth_date` span and birth date.
    pub spans: Vec<(Range<usize>, Range<usize>, Date)>,
}

/// [`Profiles::parse`] with parts of about `part_bytes` (`usize::MAX`
/// parses in one piece): the parallel parser must find exactly what the
/// one-piece parse finds, or refuse with exactly its problem.
pub fn parse_profiles(doc: Document, part_bytes: usize) -> Result<Parsed, ConfigError> {
    let profiles = Profiles::parse_in_parts(doc, part_bytes)?;
    Ok(Parsed {
        as_of: profiles.as_of,
        spans: profiles.spans(),
        customers: profiles.customers,
    })
}
