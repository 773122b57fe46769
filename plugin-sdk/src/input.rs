//! What a policy reads: the evaluation date and one customer profile.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Date, Lang};

/// Everything one evaluation sees besides the parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// The evaluation date: ages and deadlines are computed on it.
    pub as_of: Date,
    /// The customer being decided on.
    pub customer: Customer,
}

impl Input {
    /// An input for `customer` evaluated on `as_of`.
    #[must_use]
    pub fn new(as_of: Date, customer: Customer) -> Input {
        Input { as_of, customer }
    }

    /// The customer's age in full years on the evaluation date.
    #[must_use]
    pub fn age(&self) -> u32 {
        self.customer.birth_date.age_on(self.as_of)
    }

    /// The language to write messages in (English when not supported).
    #[must_use]
    pub fn lang(&self) -> Lang {
        Lang::from_tag(self.customer.language.as_deref())
    }
}

/// A customer profile, as written in a profiles file.
///
/// Keys the SDK does not know are kept in [`Customer::extra`], so a policy
/// can read fields no one planned for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Unique identifier within its file.
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Date of birth.
    pub birth_date: Date,
    /// Preferred language for reason messages, such as `pt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Products the customer already holds.
    #[serde(default)]
    pub products: Vec<String>,
    /// A hotel guest's current stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stay: Option<Stay>,
    /// A loan being asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loan_request: Option<LoanRequest>,
    /// Every other key of the profile, unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Customer {
    /// A customer with only the required fields set.
    #[must_use]
    pub fn new(id: impl Into<String>, birth_date: Date) -> Customer {
        Customer {
            id: id.into(),
            name: None,
            birth_date,
            language: None,
            products: Vec::new(),
            stay: None,
            loan_request: None,
            extra: Map::new(),
        }
    }
}

/// A hotel guest's stay and the service-recovery spend asked for now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stay {
    /// Already spent by staff on this guest, in USD.
    #[serde(default)]
    pub recovery_spent_usd: f64,
    /// The spend being asked for now, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_recovery_usd: Option<f64>,
    /// Who asks: `staff` (the default) or `manager`.
    #[serde(default = "staff")]
    pub requested_by: String,
    /// Every other key of the stay, unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn staff() -> String {
    "staff".to_owned()
}

impl Default for Stay {
    fn default() -> Stay {
        Stay {
            recovery_spent_usd: 0.0,
            requested_recovery_usd: None,
            requested_by: staff(),
            extra: Map::new(),
        }
    }
}

/// A loan the customer asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoanRequest {
    /// `student`, `personal`, `car`, `mortgage`, or another word a policy
    /// may not know.
    #[serde(rename = "type")]
    pub kind: String,
    /// The amount asked for, in USD.
    #[serde(default)]
    pub amount_usd: f64,
    /// Every other key of the request, unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
