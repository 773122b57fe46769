//! The decision record: what one evaluation of one policy against one
//! customer yields, exactly as `verdict eval --format json` prints it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use verdict_sdk::{Decision, Reason};

use crate::plugin::Plugin;
use crate::sandbox::Fault;

/// The outcome the host gives a decision the plugin could not make.
pub const ERROR_OUTCOME: &str = "error";

/// One decision, with what made it. The policy's strings are shared with
/// the policy and plugin (they serialize as plain strings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The customer's `id`.
    pub customer: String,
    /// The policy name.
    #[serde(with = "shared_text")]
    pub policy: Arc<str>,
    /// The plugin's version.
    #[serde(with = "shared_text")]
    pub plugin_version: Arc<str>,
    /// SHA-256 of the module bytes that decided.
    #[serde(with = "shared_text")]
    pub module_sha256: Arc<str>,
    /// The policy's outcome word, or `error`.
    pub outcome: String,
    /// The policy's values.
    pub value: Map<String, Value>,
    /// Why.
    pub reasons: Vec<Reason>,
}

impl DecisionRecord {
    /// The record of `plugin`'s answer for `customer` under the policy
    /// name `policy`: its decision, or an `error` decision naming the fault.
    #[must_use]
    pub(crate) fn from_plugin(
        customer: &str,
        policy: &Arc<str>,
        plugin: &Plugin,
        answer: Result<Decision, Fault>,
    ) -> DecisionRecord {
        let decision = answer.unwrap_or_else(|fault| Decision {
            outcome: ERROR_OUTCOME.to_owned(),
            value: Map::new(),
            reasons: vec![Reason {
                code: fault.code().to_owned(),
                message: fault.to_string(),
            }],
        });
        DecisionRecord {
            customer: customer.to_owned(),
            policy: Arc::clone(policy),
            plugin_version: Arc::clone(&plugin.record_version),
            module_sha256: Arc::clone(&plugin.record_sha256),
            outcome: decision.outcome,
            value: decision.value,
            reasons: decision.reasons,
        }
    }

    /// Whether the plugin failed to decide.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.outcome == ERROR_OUTCOME
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
}
