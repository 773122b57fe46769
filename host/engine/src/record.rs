//! The decision record: what one evaluation of one policy against one
//! customer yields, exactly as `verdict eval --format json` prints it, and
//! its outcome.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use verdict_sdk::{Decision, Reason};

use crate::digest::Sha256;
use crate::experiment::{Arm, ArmTag};
use crate::fault::Fault;

/// What a decision came to: the policy's kebab-case word, or `error` when
/// the host could not get a decision from the plugin. It is written as
/// that word (`approve`, `refer`, `error`...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The word the policy chose (never `error`: plugins may not use it).
    Decided(String),
    /// The plugin faulted; the record's first reason names the fault.
    Error,
}

impl Outcome {
    /// The word of [`Outcome::Error`].
    pub const ERROR: &'static str = "error";

    /// The outcome as it is written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Outcome::Decided(word) => word,
            Outcome::Error => Outcome::ERROR,
        }
    }

    /// The outcome a word stands for.
    #[must_use]
    pub fn from_word(word: String) -> Outcome {
        if word == Outcome::ERROR {
            Outcome::Error
        } else {
            Outcome::Decided(word)
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Outcome, D::Error> {
        String::deserialize(deserializer).map(Outcome::from_word)
    }
}

/// One decision, with what made it. Its fields are fixed when it is made
/// (read them through the accessors); the policy's name and version are
/// shared with the policy and plugin (they serialize as plain strings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    customer: String,
    #[serde(with = "shared_text")]
    policy: Arc<str>,
    #[serde(with = "shared_text")]
    plugin_version: Arc<str>,
    module_sha256: Sha256,
    /// The signed release the policy came in, when it came in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    release: Option<Sha256>,
    /// The experiment the decision was part of, its arm and whether it was
    /// answered: all three or none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "shared_text::optional"
    )]
    experiment: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arm: Option<Arm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    answered: Option<bool>,
    outcome: Outcome,
    value: Map<String, Value>,
    reasons: Vec<Reason>,
    /// Whether the call was cut by the sandbox's wall-clock bound: known
    /// only to the process that made the record.
    #[serde(skip)]
    cut_by_deadline: bool,
}

impl DecisionRecord {
    /// A record as it was stored (a decisions file's row, say): the
    /// `decision` of policy `policy` (plugin version `plugin_version`,
    /// module `module_sha256`) about customer `customer`. Its outcome is
    /// [`Outcome::Error`] exactly when the decision's word is `error`.
    #[must_use]
    pub fn stored(
        customer: String,
        policy: Arc<str>,
        plugin_version: Arc<str>,
        module_sha256: Sha256,
        decision: Decision,
    ) -> DecisionRecord {
        DecisionRecord {
            customer,
            policy,
            plugin_version,
            module_sha256,
            release: None,
            experiment: None,
            arm: None,
            answered: None,
            outcome: Outcome::from_word(decision.outcome),
            value: decision.value,
            reasons: decision.reasons,
            cut_by_deadline: false,
        }
    }

    /// The record of a plugin's answer for `customer` under the policy
    /// name `policy` (of the signed release `release`, if any): its
    /// decision, or an `error` decision naming the fault.
    #[must_use]
    pub(crate) fn from_answer(
        customer: &str,
        policy: &Arc<str>,
        plugin_version: &Arc<str>,
        module_sha256: Sha256,
        release: Option<Sha256>,
        answer: Result<Decision, Fault>,
    ) -> DecisionRecord {
        let (outcome, value, reasons, cut_by_deadline) = match answer {
            // The plugin's answer was checked: its word is not `error`.
            Ok(decision) => (
                Outcome::Decided(decision.outcome),
                decision.value,
                decision.reasons,
                false,
            ),
            Err(fault) => (
                Outcome::Error,
                Map::new(),
                vec![Reason {
                    code: fault.code().to_owned(),
                    message: fault.to_string(),
                }],
                matches!(fault, Fault::Deadline(_)),
            ),
        };
        DecisionRecord {
            customer: customer.to_owned(),
            policy: Arc::clone(policy),
            plugin_version: Arc::clone(plugin_version),
            module_sha256,
            release,
            experiment: None,
            arm: None,
            answered: None,
            outcome,
            value,
            reasons,
            cut_by_deadline,
        }
    }

    /// This record as made on an arm of an experiment (`None`: outside
    /// any), as [`Decider`](crate::Decider) tags it, or as it was stored.
    #[must_use]
    pub fn tagged(self, tag: Option<ArmTag>) -> DecisionRecord {
        let (experiment, arm, answered) = match tag {
            Some(tag) => (Some(tag.experiment), Some(tag.arm), Some(tag.answered)),
            None => (None, None, None),
        };
        DecisionRecord {
            experiment,
            arm,
            answered,
            ..self
        }
    }

    /// The experiment, arm and answer of a record made in an experiment.
    #[must_use]
    pub fn tag(&self) -> Option<ArmTag> {
        match (&self.experiment, self.arm, self.answered) {
            (Some(experiment), Some(arm), Some(answered)) => Some(ArmTag {
                experiment: Arc::clone(experiment),
                arm,
                answered,
            }),
            _ => None,
        }
    }

    /// Whether this decision is an answer: outside an experiment always,
    /// inside one when its arm answered.
    #[must_use]
    pub fn answered(&self) -> bool {
        self.answered.unwrap_or(true)
    }

    /// The arm it was decided on, in an experiment.
    #[must_use]
    pub fn arm(&self) -> Option<Arm> {
        self.arm
    }

    /// The experiment it was decided in, if any.
    #[must_use]
    pub fn experiment(&self) -> Option<&str> {
        self.experiment.as_deref()
    }

    /// The customer's `id`.
    #[must_use]
    pub fn customer(&self) -> &str {
        &self.customer
    }

    /// The policy's name.
    #[must_use]
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// The version of the plugin that decided.
    #[must_use]
    pub fn plugin_version(&self) -> &str {
        &self.plugin_version
    }

    /// SHA-256 of the module bytes that decided.
    #[must_use]
    pub fn module_sha256(&self) -> Sha256 {
        self.module_sha256
    }

    /// The digest of the signed release the policy came in, if any.
    #[must_use]
    pub fn release(&self) -> Option<Sha256> {
        self.release
    }

    /// The outcome.
    #[must_use]
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// The policy's values (empty for an error).
    #[must_use]
    pub fn value(&self) -> &Map<String, Value> {
        &self.value
    }

    /// Why: the policy's reasons, or the fault of an error.
    #[must_use]
    pub fn reasons(&self) -> &[Reason] {
        &self.reasons
    }

    /// Whether the plugin failed to decide.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.outcome == Outcome::Error
    }

    /// Whether the call was cut by the sandbox's wall-clock bound
    /// ([`Sandbox::with_deadline`](crate::Sandbox::with_deadline)): the
    /// record then says nothing of what the plugin would have decided. Only
    /// the process that made the record knows; a record read back says
    /// `false`.
    #[must_use]
    pub fn hit_deadline(&self) -> bool {
        self.cut_by_deadline
    }
}

/// A shared string (`Arc<str>`) as a plain JSON string, both ways.
mod shared_text {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        text: &Arc<str>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Arc<str>, D::Error> {
        String::deserialize(deserializer).map(Into::into)
    }

    /// An optional shared string, absent or a plain JSON string.
    pub(super) mod optional {
        use std::sync::Arc;

        use serde::{Deserialize, Deserializer, Serializer};

        // serde's `with` passes the field by reference.
        #[allow(clippy::ref_option)]
        pub(crate) fn serialize<S: Serializer>(
            text: &Option<Arc<str>>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match text {
                Some(text) => serializer.serialize_some(&**text),
                None => serializer.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Arc<str>>, D::Error> {
            Ok(Option::<String>::deserialize(deserializer)?.map(Into::into))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn record(answer: Result<Decision, Fault>) -> DecisionRecord {
        DecisionRecord::from_answer(
            "C-1",
            &"p".into(),
            &"1.0.0".into(),
            Sha256::of(b"m"),
            None,
            answer,
        )
    }

    #[test]
    fn serializes_as_before_and_reads_back() {
        let decided = record(Ok(Decision {
            outcome: "approve".to_owned(),
            value: Map::new(),
            reasons: vec![],
        }));
        let text = serde_json::to_string(&decided).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"customer\":\"C-1\",\"policy\":\"p\",\"plugin_version\":\"1.0.0\",\
                 \"module_sha256\":\"{}\",\"outcome\":\"approve\",\"value\":{{}},\"reasons\":[]}}",
                Sha256::of(b"m")
            )
        );
        assert_eq!(
            serde_json::from_str::<DecisionRecord>(&text).unwrap(),
            decided
        );
        assert!(!decided.is_error());
    }

    #[test]
    fn a_fault_is_an_error_and_only_a_deadline_says_it_was_cut() {
        let fuel = record(Err(Fault::OutOfFuel));
        assert!(fuel.is_error() && !fuel.hit_deadline());
        assert_eq!(fuel.outcome().as_str(), "error");
        assert_eq!(fuel.reasons()[0].code, "out-of-fuel");
        let cut = record(Err(Fault::Deadline(std::time::Duration::from_secs(1))));
        assert!(cut.is_error() && cut.hit_deadline());
        let text = serde_json::to_string(&cut).unwrap();
        let back: DecisionRecord = serde_json::from_str(&text).unwrap();
        assert!(back.is_error() && !back.hit_deadline());
        assert_eq!(back.outcome(), &Outcome::Error);
    }
}
