//! Money in US dollars, held as integer cents: policies never add or compare
//! floating dollars.
//!
//! Profiles and decisions give amounts as JSON numbers of dollars with at
//! most two decimals (the `_usd` fields); [`Cents::from_usd`] refuses any
//! finer amount instead of rounding it. Only US dollars: a policy in
//! another currency keeps its own type (the arithmetic here does not depend
//! on the currency, the `US$` display does).

use std::fmt;

/// An amount of US dollars as a whole number of cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cents(pub i64);

/// Why a dollar amount cannot be held in cents.
#[derive(Debug, Clone, PartialEq)]
pub enum MoneyError {
    /// The amount has a fraction of a cent (more than two decimals).
    SubCent(f64),
    /// The amount is not finite or too large for cents in an `i64`.
    OutOfRange(f64),
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyError::SubCent(usd) => write!(f, "{usd} has more than two decimals"),
            MoneyError::OutOfRange(usd) => write!(f, "{usd} is not a representable amount"),
        }
    }
}

impl std::error::Error for MoneyError {}

/// Largest amount accepted, in cents: a trillion dollars, far inside `i64`
/// and inside the integers an `f64` holds exactly.
const MAX_CENTS: f64 = 1e14;

impl Cents {
    /// Converts dollars (at most two decimals) to cents.
    pub fn from_usd(usd: f64) -> Result<Cents, MoneyError> {
        let scaled = usd * 100.0;
        if !scaled.is_finite() || scaled.abs() > MAX_CENTS {
            return Err(MoneyError::OutOfRange(usd));
        }
        let rounded = scaled.round();
        // Two-decimal amounts are not exact in binary: 0.29 * 100 is
        // 28.999999999999996, and for large amounts the error of `* 100`
        // exceeds any fixed tolerance. An amount has at most two decimals
        // exactly when it is the double nearest to `rounded / 100`, the
        // value a two-decimal literal parses to (`rounded` is exact below
        // 2^53, and the division rounds correctly).
        if rounded / 100.0 != usd && (scaled - rounded).abs() > 1e-6 {
            return Err(MoneyError::SubCent(usd));
        }
        #[expect(
            clippy::cast_possible_truncation,
            reason = "bounded by MAX_CENTS above"
        )]
        Ok(Cents(rounded as i64))
    }

    /// The amount in dollars, for reporting as a JSON number.
    #[must_use]
    pub fn to_usd(self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "cents stay below 2^53")]
        let cents = self.0 as f64;
        cents / 100.0
    }
}

impl std::ops::Add for Cents {
    type Output = Cents;
    fn add(self, other: Cents) -> Cents {
        Cents(self.0.saturating_add(other.0))
    }
}

impl std::ops::Sub for Cents {
    type Output = Cents;
    fn sub(self, other: Cents) -> Cents {
        Cents(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Cents {
    /// `US$1,234.50` style, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let dollars = (abs / 100).to_string();
        let mut grouped = String::with_capacity(dollars.len() + dollars.len() / 3);
        for (i, digit) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        write!(f, "{sign}US${grouped}.{:02}", abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn two_decimals_are_exact() {
        assert_eq!(Cents::from_usd(1800.0), Ok(Cents(180_000)));
        assert_eq!(Cents::from_usd(0.29), Ok(Cents(29)));
        assert_eq!(Cents::from_usd(-12.5), Ok(Cents(-1250)));
    }

    #[test]
    fn fractions_of_a_cent_are_refused() {
        assert_eq!(Cents::from_usd(1.005), Err(MoneyError::SubCent(1.005)));
        assert!(matches!(
            Cents::from_usd(f64::NAN),
            Err(MoneyError::OutOfRange(_))
        ));
    }

    #[test]
    fn displays_grouped_dollars() {
        assert_eq!(Cents(215_000).to_string(), "US$2,150.00");
        assert_eq!(Cents(5).to_string(), "US$0.05");
        assert_eq!(Cents(-123_456_789).to_string(), "-US$1,234,567.89");
    }

    proptest! {
        #[test]
        fn cents_round_trip_through_dollars(cents in -1_000_000_000_000i64..1_000_000_000_000) {
            prop_assert_eq!(Cents::from_usd(Cents(cents).to_usd()), Ok(Cents(cents)));
        }
    }
}
