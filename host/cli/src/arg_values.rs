//! Parsers of the option values clap cannot read by itself: dates,
//! durations and line ranges, each with an error that says what was
//! expected.

use std::time::Duration;

use verdict_sdk::{Date, DateError};

/// Why an option value is not a duration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum DurationError {
    /// No number, or one too large.
    #[error("`{0}` is not a duration such as `10s` or `500ms`")]
    NotADuration(String),
    /// A number without a unit this parser knows.
    #[error("`{text}` needs a unit, ms, s or m: `{number}s`, `{number}ms`")]
    NoUnit { text: String, number: u64 },
    /// Zero of any unit.
    #[error("must be more than zero")]
    Zero,
}

/// Why an option value is not a range of lines.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum LinesError {
    /// Nothing at all.
    #[error("a line range is needed, such as `10..20`")]
    Missing,
    /// An end that is not a line number.
    #[error("`{0}` is not a line number (lines count from 1)")]
    NotALine(String),
    /// A first line after the last.
    #[error("`{0}` is an empty range")]
    Empty(String),
}

/// `YYYY-MM-DD`.
pub(crate) fn date(text: &str) -> Result<Date, DateError> {
    text.parse()
}

/// A number and a unit, `ms`, `s` or `m`, more than zero.
pub(crate) fn duration(text: &str) -> Result<Duration, DurationError> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| DurationError::NotADuration(text.to_owned()))?;
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        _ => {
            return Err(DurationError::NoUnit {
                text: text.to_owned(),
                number,
            });
        }
    };
    if duration.is_zero() {
        return Err(DurationError::Zero);
    }
    Ok(duration)
}

/// `A..B`, `A..`, `..B` or `N` (lines count from 1): the first and last
/// line, both included.
pub(crate) fn lines(text: &str) -> Result<(usize, usize), LinesError> {
    let number = |part: &str, default: usize| {
        if part.is_empty() {
            return Ok(default);
        }
        part.parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| LinesError::NotALine(part.to_owned()))
    };
    let (first, last) = match text.split_once("..") {
        Some((a, b)) => (number(a, 1)?, number(b, usize::MAX)?),
        None if text.is_empty() => return Err(LinesError::Missing),
        None => {
            let n = number(text, 0)?;
            (n, n)
        }
    };
    if first > last {
        return Err(LinesError::Empty(text.to_owned()));
    }
    Ok((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<T: std::fmt::Debug, E: std::fmt::Display>(result: Result<T, E>) -> String {
        match result {
            Ok(value) => format!("ok {value:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn durations_and_what_is_wrong_with_them() {
        assert_eq!(text(duration("10s")), "ok 10s");
        assert_eq!(text(duration("500ms")), "ok 500ms");
        assert_eq!(text(duration("2m")), "ok 120s");
        assert_eq!(
            text(duration("10")),
            "`10` needs a unit, ms, s or m: `10s`, `10ms`"
        );
        assert_eq!(
            text(duration("s")),
            "`s` is not a duration such as `10s` or `500ms`"
        );
        assert_eq!(text(duration("0ms")), "must be more than zero");
    }

    #[test]
    fn line_ranges_and_what_is_wrong_with_them() {
        assert_eq!(text(lines("3..7")), "ok (3, 7)");
        assert_eq!(text(lines("..7")), "ok (1, 7)");
        assert_eq!(text(lines("4")), "ok (4, 4)");
        assert_eq!(text(lines("")), "a line range is needed, such as `10..20`");
        assert_eq!(
            text(lines("0..2")),
            "`0` is not a line number (lines count from 1)"
        );
        assert_eq!(text(lines("7..3")), "`7..3` is an empty range");
    }
}
