//! staff-allowance: how much hotel staff may spend to make a guest satisfied.
//!
//! Every employee may spend up to a limit on one guest's service recovery
//! (US$2,000 by default), a manager up to a higher one (US$5,000). A request
//! is approved when what was already spent on the guest plus what is asked
//! for now stays within the limit of whoever asks; otherwise it is referred
//! up: a staff request to a manager, a manager's to the general manager.
//!
//! Money is computed in integer cents; amounts with a fraction of a cent are
//! refused rather than rounded. Messages live in `messages`.

mod messages;

use serde::{Deserialize, Serialize};
use verdict_sdk::domain::money::Cents;
use verdict_sdk::{Decision, Input, ParamError, ParamSpec};

/// The allowances, in US dollars with at most two decimals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// What any employee may spend on one guest, in total.
    pub staff_limit_usd: f64,
    /// What a manager may spend on one guest, in total.
    pub manager_limit_usd: f64,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            staff_limit_usd: 2000.0,
            manager_limit_usd: 5000.0,
        }
    }
}

impl verdict_sdk::Params for Params {
    fn schema() -> Vec<ParamSpec> {
        vec![
            ParamSpec::number(
                "staff_limit_usd",
                "total an employee may spend on one guest, in USD (at most two decimals)",
            )
            .min(0.0),
            ParamSpec::number(
                "manager_limit_usd",
                "total a manager may spend on one guest, in USD (at most two decimals)",
            )
            .min(0.0),
        ]
    }

    fn validate(&self) -> Result<(), Vec<ParamError>> {
        let problems: Vec<ParamError> = [
            ("staff_limit_usd", self.staff_limit_usd),
            ("manager_limit_usd", self.manager_limit_usd),
        ]
        .into_iter()
        .filter_map(|(name, usd)| match Cents::from_usd(usd) {
            Err(error) => Some(ParamError::new(
                name,
                format!("must be in dollars and cents: {error}"),
            )),
            Ok(cents) if cents < Cents(0) => Some(ParamError::new(
                name,
                format!("must not be negative, not {usd}"),
            )),
            Ok(_) => None,
        })
        .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

impl Params {
    /// The limit of `role`, in cents.
    ///
    /// `validate` refuses limits that are not whole cents, so the fallback
    /// only serves parameters the host never lets through: a limit of zero
    /// refers every request to a person, the safe side.
    fn limit(&self, role: Role) -> Cents {
        let usd = match role {
            Role::Staff => self.staff_limit_usd,
            Role::Manager => self.manager_limit_usd,
        };
        Cents::from_usd(usd).unwrap_or_default()
    }
}

/// Who asks for the spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Staff,
    Manager,
}

/// Which amount of a stay is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Requested,
    Spent,
}

/// Why the amounts of a stay cannot be decided on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum AmountProblem {
    /// Not a dollar amount with at most two decimals (or far too large).
    NotCents(Field, f64),
    /// The request is zero or negative.
    NotPositive(Cents),
    /// The amount already spent is negative.
    Negative(Cents),
}

/// The figures behind an approve or refer decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Figures {
    pub role: Role,
    pub spent: Cents,
    pub requested: Cents,
    pub total: Cents,
    pub limit: Cents,
}

/// Checks the amounts of a stay and returns `(spent, requested)` in cents.
fn amounts(spent_usd: f64, requested_usd: f64) -> Result<(Cents, Cents), AmountProblem> {
    let requested = Cents::from_usd(requested_usd)
        .map_err(|_| AmountProblem::NotCents(Field::Requested, requested_usd))?;
    if requested <= Cents(0) {
        return Err(AmountProblem::NotPositive(requested));
    }
    let spent =
        Cents::from_usd(spent_usd).map_err(|_| AmountProblem::NotCents(Field::Spent, spent_usd))?;
    if spent < Cents(0) {
        return Err(AmountProblem::Negative(spent));
    }
    Ok((spent, requested))
}

/// Decides on the service-recovery spend asked for a hotel guest.
pub fn evaluate(input: &Input, params: &Params) -> Decision {
    let lang = input.lang();
    let request = input.customer.stay.as_ref().and_then(|stay| {
        stay.requested_recovery_usd
            .map(|requested| (stay, requested))
    });
    let Some((stay, requested_usd)) = request else {
        return Decision::new("not-applicable")
            .because("no-recovery-request", messages::no_recovery_request(lang));
    };
    let (spent, requested) = match amounts(stay.recovery_spent_usd, requested_usd) {
        Ok(amounts) => amounts,
        Err(problem) => {
            return Decision::new("deny")
                .because("invalid-amount", messages::invalid_amount(lang, problem));
        }
    };
    let role = match stay.requested_by.as_str() {
        "staff" => Role::Staff,
        "manager" => Role::Manager,
        other => {
            return Decision::new("deny")
                .because("unknown-role", messages::unknown_role(lang, other));
        }
    };
    let limit = params.limit(role);
    let total = spent + requested;
    let remaining = if total < limit {
        limit - total
    } else {
        Cents(0)
    };
    let figures = Figures {
        role,
        spent,
        requested,
        total,
        limit,
    };
    let decision = if total <= limit {
        Decision::new("approve").because(
            "within-allowance",
            messages::within_allowance(lang, figures, remaining),
        )
    } else {
        Decision::new("refer").because("over-allowance", messages::over_allowance(lang, figures))
    };
    decision
        .with("limit_usd", limit.to_usd())
        .with("total_usd", total.to_usd())
        .with("remaining_usd", remaining.to_usd())
}

verdict_sdk::policy!(evaluate, Params);

#[cfg(test)]
mod tests;
