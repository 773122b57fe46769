//! Calendar dates and the age rule every policy shares.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A proleptic Gregorian calendar date, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

/// Why a text is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateError(String);

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DateError {}

impl Date {
    /// Builds a date, checking that the day exists in that month and year.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Date, DateError> {
        if !(1..=9999).contains(&year) {
            return Err(DateError(format!("year {year} is outside 1..=9999")));
        }
        if !(1..=12).contains(&month) {
            return Err(DateError(format!("month {month} is outside 1..=12")));
        }
        let last = days_in_month(year, month);
        if day == 0 || day > last {
            return Err(DateError(format!(
                "day {day} does not exist in {year:04}-{month:02} (it has {last} days)"
            )));
        }
        Ok(Date { year, month, day })
    }

    /// The year.
    #[must_use]
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1 to 12.
    #[must_use]
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, from 1.
    #[must_use]
    pub fn day(self) -> u8 {
        self.day
    }

    /// The date `days` days after 1970-01-01 (before it when negative).
    ///
    /// Howard Hinnant's `civil_from_days`: shift to a year that starts on
    /// 1 March so the leap day ends the year, then split into 400-year eras.
    pub fn from_unix_days(days: i64) -> Result<Date, DateError> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let out_of_range = || DateError(format!("{days} days from 1970-01-01 is outside 1..=9999"));
        Date::new(
            i32::try_from(year).map_err(|_| out_of_range())?,
            u8::try_from(month).map_err(|_| out_of_range())?,
            u8::try_from(day).map_err(|_| out_of_range())?,
        )
    }

    /// Days from 1970-01-01 to `self` (negative before it): the inverse of
    /// [`Date::from_unix_days`], Howard Hinnant's `days_from_civil`.
    #[must_use]
    pub fn unix_days(self) -> i64 {
        let month = i64::from(self.month);
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5
            + i64::from(self.day)
            - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Full years from `self` (a birth date) to `on`; 0 when `on` is earlier.
    ///
    /// A birthday counts on the day itself. Someone born on 29 February turns
    /// a year older on 1 March in non-leap years: comparing (month, day)
    /// pairs gives exactly that, since 28 February sorts before 29 February
    /// and 1 March after it.
    #[must_use]
    pub fn age_on(self, on: Date) -> u32 {
        if on < self {
            return 0;
        }
        let before_birthday = (on.month, on.day) < (self.month, self.day);
        let years = on.year - self.year - i32::from(before_birthday);
        u32::try_from(years).unwrap_or(0)
    }
}

/// Whether `year` has a 29 February.
#[must_use]
pub(crate) fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(text: &str) -> Result<Date, DateError> {
        let bad = || DateError(format!("`{text}` is not a date of the form YYYY-MM-DD"));
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, DateError> {
            let part = &text[range];
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let year = i32::try_from(number(0..4)?).map_err(|_| bad())?;
        let month = u8::try_from(number(5..7)?).map_err(|_| bad())?;
        let day = u8::try_from(number(8..10)?).map_err(|_| bad())?;
        Date::new(year, month, day)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Date, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Date {
        text.parse().unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn birthday_counts_on_the_day() {
        assert_eq!(d("2012-05-04").age_on(d("2026-05-03")), 13);
        assert_eq!(d("2012-05-04").age_on(d("2026-05-04")), 14);
    }

    #[test]
    fn leap_day_birthday_moves_to_first_of_march() {
        let born = d("2008-02-29");
        assert_eq!(born.age_on(d("2026-02-28")), 17);
        assert_eq!(born.age_on(d("2026-03-01")), 18);
        assert_eq!(born.age_on(d("2028-02-28")), 19);
        assert_eq!(born.age_on(d("2028-02-29")), 20);
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!("2026-02-29".parse::<Date>().is_err());
        assert!("2026-13-01".parse::<Date>().is_err());
        assert!("2026-1-01".parse::<Date>().is_err());
        assert!("+026-01-01".parse::<Date>().is_err());
        assert!("2024-02-29".parse::<Date>().is_ok());
    }

    /// Independent computation: count the anniversaries passed, one year
    /// at a time, where a 29 February anniversary in a common year falls on
    /// 1 March.
    fn age_by_counting(born: Date, on: Date) -> u32 {
        let mut age = 0;
        let mut year = born.year() + 1;
        loop {
            let anniversary = if born.month() == 2 && born.day() == 29 && !is_leap_year(year) {
                Date::new(year, 3, 1)
            } else {
                Date::new(year, born.month(), born.day())
            };
            match anniversary {
                Ok(a) if a <= on => age += 1,
                _ => return age,
            }
            year += 1;
        }
    }

    #[test]
    fn unix_days_to_dates() {
        assert_eq!(Date::from_unix_days(0), Ok(d("1970-01-01")));
        assert_eq!(Date::from_unix_days(19_723), Ok(d("2024-01-01")));
        assert_eq!(Date::from_unix_days(19_782), Ok(d("2024-02-29")));
        assert_eq!(Date::from_unix_days(-1), Ok(d("1969-12-31")));
    }

    proptest! {
        #[test]
        fn consecutive_days_are_consecutive_dates(days in -700_000i64..2_900_000) {
            let (Ok(today), Ok(tomorrow)) = (Date::from_unix_days(days), Date::from_unix_days(days + 1)) else {
                return Err(TestCaseError::fail("out of range"));
            };
            prop_assert!(today < tomorrow);
            let next_day = Date::new(today.year(), today.month(), today.day() + 1);
            let next_month = Date::new(today.year(), today.month() + 1, 1);
            let next_year = Date::new(today.year() + 1, 1, 1);
            prop_assert!(next_day.or(next_month).or(next_year) == Ok(tomorrow));
        }

        #[test]
        fn unix_days_inverts_from_unix_days(days in -700_000i64..2_900_000) {
            let Ok(date) = Date::from_unix_days(days) else {
                return Err(TestCaseError::fail("out of range"));
            };
            prop_assert_eq!(date.unix_days(), days);
        }
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (1900i32..2100, 1u8..=12, 1u8..=31)
            .prop_filter_map("real date", |(y, m, day)| Date::new(y, m, day).ok())
    }

    proptest! {
        #[test]
        fn age_matches_counting(born in any_date(), on in any_date()) {
            prop_assume!(born <= on);
            prop_assert_eq!(born.age_on(on), age_by_counting(born, on));
        }

        #[test]
        fn display_round_trips(date in any_date()) {
            prop_assert_eq!(date.to_string().parse::<Date>(), Ok(date));
        }
    }
}
