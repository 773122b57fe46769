//! What a policy reads: the evaluation date and one customer profile.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::hotel::{STAY_FIELDS, Stay};
use crate::domain::lending::{LOAN_REQUEST_FIELDS, LoanRequest};
use crate::extra::Extra;
use crate::shape::{Shape, known_fields};
use crate::{Date, Lang};

/// Everything one evaluation sees besides the parameters.
///
/// `#[non_exhaustive]`: build one with [`Input::new`]; its fields can be
/// read and assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
/// The typed fields are the known fields of [`crate::schema::CUSTOMER`], decoded
/// from the same declaration. Keys the SDK does not know are kept in
/// [`Customer::extra`], so a policy can read fields no one planned for.
///
/// `stay` and `loan_request` belong to the reference policies' domains
/// ([`crate::domain`]); a policy that does not need them ignores them.
///
/// `#[non_exhaustive]`: the SDK can learn a new field without breaking
/// plugins. Build a customer with [`Customer::new`] and the `with_*`
/// setters; read and assign its fields as usual.
///
/// ```
/// use verdict_sdk::domain::lending::LoanRequest;
/// use verdict_sdk::{Customer, Date};
///
/// let born = Date::new(1992, 12, 1)?;
/// let customer = Customer::new("C-5", born)
///     .with_language("id")
///     .with_products(["credit-card"])
///     .with_loan_request(LoanRequest::new("car").with_amount_usd(18_000.0))
///     .with_extra("loyalty_tier", "gold");
/// assert_eq!(customer.extra["loyalty_tier"], "gold");
/// # Ok::<(), verdict_sdk::DateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Customer {
    /// Unique identifier within its file.
    pub id: String,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Date of birth.
    pub birth_date: Date,
    /// Preferred language for reason messages, such as `pt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Products the customer already holds.
    pub products: Vec<String>,
    /// A hotel guest's current stay (the hotel domain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stay: Option<Stay>,
    /// A loan being asked for (the lending domain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loan_request: Option<LoanRequest>,
    /// Every other key of the profile, unchanged.
    #[serde(flatten)]
    pub extra: Extra,
}

known_fields! {
    /// The known fields of a customer; [`crate::schema::CUSTOMER`].
    pub(crate) const CUSTOMER_FIELDS for Customer {
        id: "id" as Shape::Text;
        name: "name" as Shape::Text, or None;
        birth_date: "birth_date" as Shape::Date;
        language: "language" as Shape::Text, or None;
        products: "products" as Shape::TextList, or Vec::new();
        stay: "stay" as Shape::Table(STAY_FIELDS), or None;
        loan_request: "loan_request" as Shape::Table(LOAN_REQUEST_FIELDS), or None;
    }
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
            extra: Extra::default(),
        }
    }

    /// Sets the display name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Customer {
        self.name = Some(name.into());
        self
    }

    /// Sets the language tag, such as `pt` or `pt-BR`.
    #[must_use]
    pub fn with_language(mut self, tag: impl Into<String>) -> Customer {
        self.language = Some(tag.into());
        self
    }

    /// Sets the products the customer already holds.
    #[must_use]
    pub fn with_products<P: Into<String>>(
        mut self,
        products: impl IntoIterator<Item = P>,
    ) -> Customer {
        self.products = products.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the hotel stay.
    #[must_use]
    pub fn with_stay(mut self, stay: Stay) -> Customer {
        self.stay = Some(stay);
        self
    }

    /// Sets the loan request.
    #[must_use]
    pub fn with_loan_request(mut self, loan_request: LoanRequest) -> Customer {
        self.loan_request = Some(loan_request);
        self
    }

    /// Adds (or replaces) a key the SDK does not know.
    #[must_use]
    pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Customer {
        self.extra.insert(key.into(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use serde_json::json;

    use super::*;

    #[test]
    fn known_keys_are_typed_and_the_rest_kept_unchanged() {
        let customer: Customer = serde_json::from_value(json!({
            "id": "C-1",
            "birth_date": "1990-02-28",
            "language": "pt",
            "tier": "gold",
            "stay": {"recovery_spent_usd": 12.5, "room": 812},
            "loan_request": {"type": "car", "amount_usd": 9000, "term": {"months": 48}},
        }))
        .unwrap();
        assert_eq!(customer.id, "C-1");
        assert_eq!(customer.birth_date, "1990-02-28".parse().unwrap());
        assert_eq!(customer.language.as_deref(), Some("pt"));
        assert_eq!(customer.name, None);
        assert!(customer.products.is_empty());
        assert_eq!(
            *customer.extra,
            json!({"tier": "gold"}).as_object().unwrap().clone()
        );
        let stay = customer.stay.clone().unwrap();
        assert_eq!(stay.recovery_spent_usd, 12.5);
        assert_eq!(stay.requested_recovery_usd, None);
        assert_eq!(stay.requested_by, "staff");
        assert_eq!(stay.extra["room"], 812);
        let loan = customer.loan_request.clone().unwrap();
        assert_eq!((loan.kind.as_str(), loan.amount_usd), ("car", 9000.0));
        assert_eq!(loan.extra["term"], json!({"months": 48}));
        // Serializing gives the same object back.
        let again: Customer =
            serde_json::from_value(serde_json::to_value(&customer).unwrap()).unwrap();
        assert_eq!(again, customer);
    }

    #[test]
    fn missing_required_keys_and_wrong_types_are_errors() {
        let error =
            serde_json::from_value::<Customer>(json!({"birth_date": "1990-01-01"})).unwrap_err();
        assert_eq!(error.to_string(), "missing field `id`");
        let error = serde_json::from_value::<Customer>(json!({"id": "C"})).unwrap_err();
        assert_eq!(error.to_string(), "missing field `birth_date`");
        let error = serde_json::from_value::<LoanRequest>(json!({"amount_usd": 1})).unwrap_err();
        assert_eq!(error.to_string(), "missing field `type`");
        let error =
            serde_json::from_value::<Customer>(json!({"id": 7, "birth_date": "1990-01-01"}))
                .unwrap_err();
        assert!(
            error.to_string().starts_with("invalid type: integer `7`"),
            "{error}"
        );
        let error = serde_json::from_value::<Stay>(json!(["not", "a", "table"])).unwrap_err();
        assert!(error.to_string().contains("a Stay table"), "{error}");
    }
}
