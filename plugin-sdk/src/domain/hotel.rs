//! Hotels: a guest's current stay, the `stay` table of a profile.

use serde::Serialize;
use serde_json::Value;

use crate::extra::Extra;
use crate::shape::{Shape, known_fields};

/// A hotel guest's stay and the service-recovery spend asked for now.
///
/// An absent `stay` table is `None` in
/// [`Customer::stay`](crate::Customer::stay); an empty one decodes to
/// [`Stay::new`]. `#[non_exhaustive]`: build one with `Stay::new()` and the
/// `with_*` setters.
///
/// ```
/// use verdict_sdk::domain::hotel::Stay;
///
/// let stay = Stay::new().with_recovery_spent_usd(1800.0).with_requested_recovery_usd(350.0);
/// assert_eq!(stay.requested_by, "staff");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Stay {
    /// Already spent by staff on this guest, in USD; 0 when absent.
    pub recovery_spent_usd: f64,
    /// The spend being asked for now, in USD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_recovery_usd: Option<f64>,
    /// Who asks: `staff` (the default) or `manager`.
    pub requested_by: String,
    /// Every other key of the stay, unchanged.
    #[serde(flatten)]
    pub extra: Extra,
}

fn staff() -> String {
    "staff".to_owned()
}

known_fields! {
    /// The known fields of a stay; [`crate::schema::STAY`].
    pub(crate) const STAY_FIELDS for Stay {
        recovery_spent_usd: "recovery_spent_usd" as Shape::Number, or 0.0;
        requested_recovery_usd: "requested_recovery_usd" as Shape::Number, or None;
        requested_by: "requested_by" as Shape::Text, or staff();
    }
}

impl Stay {
    /// A stay with nothing spent yet, nothing requested, asked for by staff:
    /// what an empty `stay` table decodes to.
    #[must_use]
    pub fn new() -> Stay {
        Stay {
            recovery_spent_usd: 0.0,
            requested_recovery_usd: None,
            requested_by: staff(),
            extra: Extra::default(),
        }
    }

    /// Sets what was already spent on the guest, in USD.
    #[must_use]
    pub fn with_recovery_spent_usd(mut self, usd: f64) -> Stay {
        self.recovery_spent_usd = usd;
        self
    }

    /// Sets the spend asked for now, in USD.
    #[must_use]
    pub fn with_requested_recovery_usd(mut self, usd: f64) -> Stay {
        self.requested_recovery_usd = Some(usd);
        self
    }

    /// Sets who asks (`staff` or `manager`).
    #[must_use]
    pub fn with_requested_by(mut self, role: impl Into<String>) -> Stay {
        self.requested_by = role.into();
        self
    }

    /// Adds (or replaces) a key the SDK does not know.
    #[must_use]
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Stay {
        self.extra.insert(key.into(), value.into());
        self
    }
}

impl Default for Stay {
    /// [`Stay::new`].
    fn default() -> Stay {
        Stay::new()
    }
}
