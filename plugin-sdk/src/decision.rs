//! What a policy returns: an outcome, values and reasons.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One policy's decision about one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// A kebab-case word chosen by the policy, such as `approve` or `refer`.
    pub outcome: String,
    /// Values the policy reports, as a JSON object (keys sort alphabetically).
    #[serde(default)]
    pub value: Map<String, Value>,
    /// Why: stable codes for machines, messages for people.
    #[serde(default)]
    pub reasons: Vec<Reason>,
}

/// One reason behind a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Stable kebab-case code, such as `over-allowance`.
    pub code: String,
    /// Human-readable explanation, in the customer's language when possible.
    pub message: String,
}

impl Decision {
    /// A decision with this outcome, no values and no reasons.
    #[must_use]
    pub fn new(outcome: impl Into<String>) -> Decision {
        Decision {
            outcome: outcome.into(),
            value: Map::new(),
            reasons: Vec::new(),
        }
    }

    /// Adds (or replaces) one value.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Decision {
        self.value.insert(key.into(), value.into());
        self
    }

    /// Adds one reason.
    #[must_use]
    pub fn because(mut self, code: impl Into<String>, message: impl Into<String>) -> Decision {
        self.reasons.push(Reason {
            code: code.into(),
            message: message.into(),
        });
        self
    }

    /// The reason codes, in order: handy in tests.
    #[must_use]
    pub fn codes(&self) -> Vec<&str> {
        self.reasons.iter().map(|r| r.code.as_str()).collect()
    }
}
