//! Champion and challenger: an experiment runs a second policy (the
//! challenger) beside a policy (the champion), in shadow (the champion
//! answers, the challenger's decision is only recorded) or on a share of
//! customers (each customer's arm answers; the other arm may be recorded
//! too). Which arm a customer is in is a pure function of the experiment,
//! its salt and the customer's id ([`split_arm`]), so every process that
//! holds the same binding — eval, serve on any replica, the Python package,
//! an auditor's own script — puts every customer in the same arm.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::policy::Policy;

/// Which side of an experiment a decision was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arm {
    /// The policy as bound: what answers when there is no experiment.
    Champion,
    /// The policy tried beside it.
    Challenger,
}

impl Arm {
    /// The arm as it is written: `champion` or `challenger`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Arm::Champion => "champion",
            Arm::Challenger => "challenger",
        }
    }
}

impl fmt::Display for Arm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A share of customers from 0 to 100 percent, exact to four decimals
/// (held in millionths of the whole, so the split rule is integer
/// arithmetic with nothing left to rounding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Percent {
    millionths: u32,
}

/// Why a number is not a [`Percent`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PercentError {
    /// Below 0 or above 100 (or not a number at all).
    #[error("{0} is not a percentage from 0 to 100")]
    OutOfRange(String),
    /// More than four decimals.
    #[error("{0} has more than four decimals")]
    TooPrecise(String),
}

impl Percent {
    /// The whole: 100 percent, in millionths.
    const WHOLE: u32 = 1_000_000;

    /// `value` percent, if it is from 0 to 100 with at most four decimals.
    pub fn new(value: f64) -> Result<Percent, PercentError> {
        if !(0.0..=100.0).contains(&value) {
            return Err(PercentError::OutOfRange(value.to_string()));
        }
        let scaled = value * 10_000.0;
        let millionths = scaled.round();
        // A decimal written with four places scales to within rounding
        // error of a whole number; anything finer does not.
        if (scaled - millionths).abs() > 1e-6 * scaled.max(1.0) {
            return Err(PercentError::TooPrecise(value.to_string()));
        }
        // In range: 0 to 1,000,000.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(Percent {
            millionths: millionths as u32,
        })
    }

    /// The share in millionths of the whole (10 percent is 100,000).
    #[must_use]
    pub fn millionths(self) -> u32 {
        self.millionths
    }

    /// The share as a number of percent.
    #[must_use]
    pub fn value(self) -> f64 {
        f64::from(self.millionths) / 10_000.0
    }
}

impl fmt::Display for Percent {
    /// The shortest decimal: `10`, `12.5`, `0.0001`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.millionths / 10_000;
        let fraction = self.millionths % 10_000;
        if fraction == 0 {
            write!(f, "{whole}")
        } else {
            let digits = format!("{fraction:04}");
            write!(f, "{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

impl FromStr for Percent {
    type Err = PercentError;

    fn from_str(text: &str) -> Result<Percent, PercentError> {
        let value: f64 = text
            .parse()
            .map_err(|_| PercentError::OutOfRange(text.to_owned()))?;
        Percent::new(value)
    }
}

impl Serialize for Percent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Shortest decimal, as a JSON number.
        let text = self.to_string();
        match text.parse::<u64>() {
            Ok(whole) => serializer.serialize_u64(whole),
            Err(_) => serializer.serialize_f64(self.value()),
        }
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Percent, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Percent::new(value).map_err(serde::de::Error::custom)
    }
}

/// How a split experiment divides customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The share of customers the challenger answers.
    pub percent: Percent,
    /// Mixed into the hash, so two experiments over the same customers
    /// split them independently.
    pub salt: String,
}

impl Split {
    /// The arm `customer` is in under experiment `experiment`.
    #[must_use]
    pub fn arm(&self, experiment: &str, customer: &str) -> Arm {
        split_arm(experiment, &self.salt, self.percent, customer)
    }
}

/// The split rule: SHA-256 of the experiment id, a zero byte, the salt, a
/// zero byte and the customer id (each as UTF-8); its first 8 bytes read
/// as a big-endian number `h` below 2^64. The customer is in the
/// challenger arm when `h` × 1,000,000 < millionths × 2^64, that is when
/// `h` falls in the first `percent` percent of the range; otherwise in the
/// champion arm. 0 percent puts nobody in the challenger arm, 100 everybody.
#[must_use]
pub fn split_arm(experiment: &str, salt: &str, percent: Percent, customer: &str) -> Arm {
    let mut digest = sha2::Sha256::new();
    digest.update(experiment.as_bytes());
    digest.update([0]);
    digest.update(salt.as_bytes());
    digest.update([0]);
    digest.update(customer.as_bytes());
    let hash = digest.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    let h = u128::from(u64::from_be_bytes(first));
    if h * u128::from(Percent::WHOLE) < u128::from(percent.millionths) << 64 {
        Arm::Challenger
    } else {
        Arm::Champion
    }
}

/// Which decisions an experiment makes and which one answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// The champion answers every customer; the challenger decides every
    /// customer too, recorded and never answered.
    Shadow,
    /// Each customer's arm ([`Split::arm`]) answers; with `shadow_other`
    /// the other arm decides too, recorded and never answered.
    Split {
        /// The rule.
        split: Split,
        /// Whether the arm that does not answer decides as well.
        shadow_other: bool,
    },
}

/// An experiment: a challenger policy beside the policy that holds it.
#[derive(Debug, Clone)]
pub struct Experiment {
    id: Arc<str>,
    mode: Mode,
    challenger: Arc<Policy>,
}

impl Experiment {
    /// Experiment `id` trying `challenger` in `mode`.
    #[must_use]
    pub fn new(id: &str, mode: Mode, challenger: Policy) -> Experiment {
        Experiment {
            id: id.into(),
            mode,
            challenger: Arc::new(challenger),
        }
    }

    /// The experiment's id, which every record of it names.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Shadow or split.
    #[must_use]
    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// The split rule, when the experiment splits customers.
    #[must_use]
    pub fn split(&self) -> Option<&Split> {
        match &self.mode {
            Mode::Shadow => None,
            Mode::Split { split, .. } => Some(split),
        }
    }

    /// The challenger policy (it carries the champion's name).
    #[must_use]
    pub fn challenger(&self) -> &Arc<Policy> {
        &self.challenger
    }

    /// The arm that answers `customer`.
    #[must_use]
    pub fn answering(&self, customer: &str) -> Arm {
        match &self.mode {
            Mode::Shadow => Arm::Champion,
            Mode::Split { split, .. } => split.arm(&self.id, customer),
        }
    }

    /// Whether both arms decide every customer.
    #[must_use]
    pub fn decides_both(&self) -> bool {
        match &self.mode {
            Mode::Shadow => true,
            Mode::Split { shadow_other, .. } => *shadow_other,
        }
    }

    /// The same experiment with another challenger policy.
    pub(crate) fn with_challenger(&self, challenger: Policy) -> Experiment {
        Experiment {
            challenger: Arc::new(challenger),
            ..self.clone()
        }
    }

    /// The tag of a record made on `arm` for a customer whose answering
    /// arm is `answering`.
    fn tag(&self, arm: Arm, answering: Arm) -> ArmTag {
        ArmTag {
            experiment: Arc::clone(&self.id),
            arm,
            answered: arm == answering,
        }
    }
}

/// What a record of an experiment says of it: the experiment, the arm it
/// was decided on, and whether it was the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmTag {
    /// The experiment's id.
    pub experiment: Arc<str>,
    /// The arm.
    pub arm: Arm,
    /// Whether this decision was the one answered (the other arm's is
    /// only recorded).
    pub answered: bool,
}

/// One decision to make for a customer under a policy: the policy that
/// decides (the champion itself, or its challenger) and how its record is
/// tagged (nothing outside an experiment).
#[derive(Debug, Clone)]
pub struct Slot<'p> {
    /// The policy that decides.
    pub policy: &'p Arc<Policy>,
    /// The experiment the decision is part of, if any.
    pub experiment: Option<&'p Experiment>,
    /// The record's tag, with the experiment.
    pub tag: Option<ArmTag>,
}

/// The decisions `policy` makes for `customer`, in order: the champion's
/// then the challenger's, as far as each decides.
pub(crate) fn slots<'p>(policy: &'p Arc<Policy>, customer: &str) -> [Option<Slot<'p>>; 2] {
    let Some(experiment) = policy.experiment() else {
        return [
            Some(Slot {
                policy,
                experiment: None,
                tag: None,
            }),
            None,
        ];
    };
    let answering = experiment.answering(customer);
    let both = experiment.decides_both();
    let slot = |arm: Arm, decider: &'p Arc<Policy>| {
        (both || arm == answering).then(|| Slot {
            policy: decider,
            experiment: Some(experiment),
            tag: Some(experiment.tag(arm, answering)),
        })
    };
    [
        slot(Arm::Champion, policy),
        slot(Arm::Challenger, experiment.challenger()),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn percent_reads_four_decimals_and_writes_the_shortest() {
        for (value, millionths, text) in [
            (0.0, 0, "0"),
            (10.0, 100_000, "10"),
            (12.5, 125_000, "12.5"),
            (0.0001, 1, "0.0001"),
            (99.9999, 999_999, "99.9999"),
            (100.0, 1_000_000, "100"),
        ] {
            let percent = Percent::new(value).unwrap();
            assert_eq!(percent.millionths(), millionths, "{value}");
            assert_eq!(percent.to_string(), text);
            assert_eq!(text.parse::<Percent>().unwrap(), percent);
            let json = serde_json::to_string(&percent).unwrap();
            assert_eq!(json, text);
            assert_eq!(serde_json::from_str::<Percent>(&json).unwrap(), percent);
        }
        assert_eq!(
            Percent::new(100.5),
            Err(PercentError::OutOfRange("100.5".into()))
        );
        assert_eq!(
            Percent::new(-1.0),
            Err(PercentError::OutOfRange("-1".into()))
        );
        assert_eq!(
            Percent::new(f64::NAN),
            Err(PercentError::OutOfRange("NaN".into()))
        );
        assert_eq!(
            Percent::new(0.00001),
            Err(PercentError::TooPrecise("0.00001".into()))
        );
    }

    #[test]
    fn the_split_rule_is_the_documented_hash() {
        // Recomputed by hand: SHA-256("e\0s\0C-1"), first 8 bytes.
        let digest = sha2::Sha256::digest(b"e\0s\0C-1");
        let h = u64::from_be_bytes(digest[..8].try_into().unwrap());
        let share = h as f64 / 2f64.powi(64) * 100.0;
        let below = Percent::new((share.floor()).min(100.0)).unwrap();
        let above = Percent::new((share.ceil()).min(100.0)).unwrap();
        assert_eq!(split_arm("e", "s", above, "C-1"), Arm::Challenger);
        assert_eq!(split_arm("e", "s", below, "C-1"), Arm::Champion);
    }

    proptest! {
        #[test]
        fn nobody_at_zero_everybody_at_a_hundred(customer in ".{0,40}", salt in "[a-z0-9]{0,8}") {
            let none = Percent::new(0.0).unwrap();
            let all = Percent::new(100.0).unwrap();
            prop_assert_eq!(split_arm("x", &salt, none, &customer), Arm::Champion);
            prop_assert_eq!(split_arm("x", &salt, all, &customer), Arm::Challenger);
        }

        #[test]
        fn a_larger_share_keeps_every_challenger(customer in ".{0,40}", a in 0u32..=1_000_000, b in 0u32..=1_000_000) {
            let (low, high) = (a.min(b), a.max(b));
            let arm = |m: u32| split_arm("x", "s", Percent { millionths: m }, &customer);
            if arm(low) == Arm::Challenger {
                prop_assert_eq!(arm(high), Arm::Challenger);
            }
        }
    }
}
