//! Lending: a loan the customer asks for, the `loan_request` table of a
//! profile.

use serde::Serialize;
use serde_json::Value;

use crate::extra::Extra;
use crate::shape::{Shape, known_fields};

/// A loan the customer asks for.
///
/// An absent `loan_request` table is `None` in
/// [`Customer::loan_request`](crate::Customer::loan_request); a present one
/// must give its `type`. `#[non_exhaustive]`: build one with
/// `LoanRequest::new` and the `with_*` setters.
///
/// ```
/// use verdict_sdk::domain::lending::LoanRequest;
///
/// let loan = LoanRequest::new("car").with_amount_usd(18_000.0);
/// assert_eq!((loan.kind.as_str(), loan.amount_usd), ("car", 18_000.0));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LoanRequest {
    /// `student`, `personal`, `car`, `mortgage`, or another word a policy
    /// may not know; the `type` key.
    #[serde(rename = "type")]
    pub kind: String,
    /// The amount asked for, in USD; 0 when absent.
    pub amount_usd: f64,
    /// Every other key of the request, unchanged.
    #[serde(flatten)]
    pub extra: Extra,
}

known_fields! {
    /// The known fields of a loan request; [`crate::schema::LOAN_REQUEST`].
    pub(crate) const LOAN_REQUEST_FIELDS for LoanRequest {
        kind: "type" as Shape::Text;
        amount_usd: "amount_usd" as Shape::Number, or 0.0;
    }
}

impl LoanRequest {
    /// A request for a loan of this type, with no amount given (0): what a
    /// `loan_request` table with only a `type` decodes to.
    #[must_use]
    pub fn new(kind: impl Into<String>) -> LoanRequest {
        LoanRequest {
            kind: kind.into(),
            amount_usd: 0.0,
            extra: Extra::default(),
        }
    }

    /// Sets the amount asked for, in USD.
    #[must_use]
    pub fn with_amount_usd(mut self, usd: f64) -> LoanRequest {
        self.amount_usd = usd;
        self
    }

    /// Adds (or replaces) a key the SDK does not know.
    #[must_use]
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> LoanRequest {
        self.extra.insert(key.into(), value.into());
        self
    }
}
