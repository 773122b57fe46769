//! RFC 3339 timestamps in UTC for log records, such as
//! `2026-11-23T09:41:07.123456Z`.
//!
//! Twenty lines instead of a date-time crate: the log needs one fixed
//! format, always UTC, and the calendar arithmetic already lives in
//! [`Date::from_unix_days`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use verdict_sdk::Date;

/// `time` as RFC 3339 in UTC with microseconds; `None` before 1970 or after
/// 9999.
#[must_use]
pub(crate) fn rfc3339(time: SystemTime) -> Option<String> {
    let since = time.duration_since(UNIX_EPOCH).ok()?;
    format_since_epoch(since)
}

/// The current time as RFC 3339 in UTC; the epoch when the clock is unusable.
#[must_use]
pub(crate) fn now() -> String {
    rfc3339(SystemTime::now()).unwrap_or_else(|| "1970-01-01T00:00:00.000000Z".to_owned())
}

fn format_since_epoch(since: Duration) -> Option<String> {
    let seconds = since.as_secs();
    let days = i64::try_from(seconds / 86_400).ok()?;
    let date = Date::from_unix_days(days).ok()?;
    let of_day = seconds % 86_400;
    Some(format!(
        "{date}T{:02}:{:02}:{:02}.{:06}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60,
        since.subsec_micros()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let at = |secs: u64, micros: u32| format_since_epoch(Duration::new(secs, micros * 1000));
        assert_eq!(at(0, 0).as_deref(), Some("1970-01-01T00:00:00.000000Z"));
        // 2000-02-29 is a leap day; 951782400 is its midnight.
        assert_eq!(
            at(951_782_400 + 3600 * 23 + 60 * 59 + 59, 999_999).as_deref(),
            Some("2000-02-29T23:59:59.999999Z")
        );
        assert_eq!(
            at(1_795_427_267, 42).as_deref(),
            Some("2026-11-23T09:47:47.000042Z")
        );
    }
}
