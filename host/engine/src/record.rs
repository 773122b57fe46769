//! The decision record: what one evaluation of one policy against one
//! customer yields, exactly as `verdict eval --format json` prints it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use verdict_sdk::{Decision, Reason};

use crate::plugin::Plugin;
use crate::sandbox::Fault;

/// The outcome the host gives a decision the plugin could not make.
pub const ERROR_OUTCOME: &str = "error";

/// One decision, with what made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The customer's `id`.
    pub customer: String,
    /// The policy name.
    pub policy: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// SHA-256 of the module bytes that decided.
    pub module_sha256: String,
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
        policy: &str,
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
            policy: policy.to_owned(),
            plugin_version: plugin.manifest.version.clone(),
            module_sha256: plugin.sha256.clone(),
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
