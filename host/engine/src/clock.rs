//! Today's date, the evaluation date when none is given.

use std::time::{SystemTime, UNIX_EPOCH};

use verdict_sdk::Date;

/// Why the system clock gives no date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// The clock reads a time before the Unix epoch.
    #[error("the system clock is before 1970")]
    BeforeEpoch,
    /// The clock reads a day no [`Date`] holds.
    #[error("the system clock is out of range")]
    OutOfRange,
}

/// Today's date in UTC.
pub fn today_utc() -> Result<Date, ClockError> {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| ClockError::BeforeEpoch)?
        .as_secs()
        / 86_400;
    i64::try_from(days)
        .ok()
        .and_then(|days| Date::from_unix_days(days).ok())
        .ok_or(ClockError::OutOfRange)
}
