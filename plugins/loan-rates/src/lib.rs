//! loan-rates: the annual rate a bank quotes for a loan.
//!
//! Each loan type has a base rate; a surcharge by age band raises it
//! gradually for the loans of later life. Minors get no loan, student loans
//! stop at one age and mortgages at another. Rates are computed in integer
//! basis points (1 bp = 0.01 %) and reported as percent with two decimals.
//! Messages live in the `messages` module.

mod messages;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use verdict_sdk::domain::money::Cents;
use verdict_sdk::{AgeBand, AgeBands, Decision, Input, ParamError, ParamSpec};

/// The rate card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Base annual rate by loan type, in percent with at most two decimals.
    pub base_rates_pct: BTreeMap<String, f64>,
    /// Youngest age that may borrow.
    pub min_age: u32,
    /// Surcharges by age band, from `min_age` up, the last one open-ended.
    pub surcharge_bands: Vec<SurchargeBand>,
    /// Oldest age that may take a student loan.
    pub student_max_age: u32,
    /// Oldest age that may take a mortgage.
    pub mortgage_max_age: u32,
}

/// One age band and the surcharge it adds to the base rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurchargeBand {
    /// First age of the band.
    pub min_age: u32,
    /// Last age of the band; absent for the open-ended last band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
    /// Added to the base rate, in percent with at most two decimals.
    pub surcharge_pct: f64,
}

impl AgeBand for SurchargeBand {
    fn min_age(&self) -> u32 {
        self.min_age
    }

    fn max_age(&self) -> Option<u32> {
        self.max_age
    }
}

impl SurchargeBand {
    /// `"25-34"`, or `"65+"` for the open-ended band.
    fn label(&self) -> String {
        match self.max_age {
            Some(max) => format!("{}-{max}", self.min_age),
            None => format!("{}+", self.min_age),
        }
    }
}

impl Default for Params {
    fn default() -> Params {
        let band = |min_age, max_age, surcharge_pct| SurchargeBand {
            min_age,
            max_age,
            surcharge_pct,
        };
        Params {
            base_rates_pct: [
                ("student", 2.9),
                ("car", 5.4),
                ("mortgage", 4.1),
                ("personal", 6.9),
            ]
            .into_iter()
            .map(|(kind, pct)| (kind.to_owned(), pct))
            .collect(),
            min_age: 18,
            surcharge_bands: vec![
                band(18, Some(24), 0.0),
                band(25, Some(34), 0.25),
                band(35, Some(49), 0.75),
                band(50, Some(64), 1.5),
                band(65, None, 2.5),
            ],
            student_max_age: 29,
            mortgage_max_age: 69,
        }
    }
}

impl verdict_sdk::Params for Params {
    fn schema() -> Vec<ParamSpec> {
        vec![
            ParamSpec::table(
                "base_rates_pct",
                "base annual rate by loan type, in percent (at most two decimals, not negative)",
            ),
            ParamSpec::integer("min_age", "youngest age that may borrow").min(0.0),
            ParamSpec::list(
                "surcharge_bands",
                "age bands { min_age, max_age, surcharge_pct } from min_age up, contiguous, the \
                 last without max_age; surcharge in percent added to the base rate",
            ),
            ParamSpec::integer("student_max_age", "oldest age that may take a student loan")
                .min(0.0),
            ParamSpec::integer("mortgage_max_age", "oldest age that may take a mortgage").min(0.0),
        ]
    }

    fn validate(&self) -> Result<(), Vec<ParamError>> {
        let mut problems = Vec::new();
        for (kind, pct) in &self.base_rates_pct {
            if let Err(error) = check_pct(*pct) {
                problems.push(ParamError::new(
                    format!("base_rates_pct.{kind}"),
                    error.to_string(),
                ));
            }
        }
        check_bands(self.min_age, &self.surcharge_bands, &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// A rate in percent must be a whole number of basis points, not negative.
fn check_pct(pct: f64) -> Result<(), PctError> {
    // A percent with two decimals is a whole number of basis points just as
    // dollars with two decimals are whole cents: reuse the SDK's exact check.
    match Cents::from_usd(pct) {
        Err(_) => Err(PctError::NotBasisPoints(pct)),
        Ok(bp) if bp.0 < 0 => Err(PctError::Negative(pct)),
        Ok(_) => Ok(()),
    }
}

/// Why a rate in percent is refused; displays as the problem `validate`
/// reports at its path.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PctError {
    /// More than two decimals: not a whole number of basis points.
    NotBasisPoints(f64),
    /// Below zero.
    Negative(f64),
}

impl fmt::Display for PctError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PctError::NotBasisPoints(pct) => {
                write!(f, "must be a percent with at most two decimals, not {pct}")
            }
            PctError::Negative(pct) => write!(f, "must not be negative, not {pct}"),
        }
    }
}

impl std::error::Error for PctError {}

/// Bands must start at `min_age`, follow each other with no gap or overlap,
/// and end with the one open-ended band (the SDK's [`AgeBands`] rules); each
/// surcharge is a rate.
fn check_bands(min_age: u32, bands: &[SurchargeBand], problems: &mut Vec<ParamError>) {
    let rules = AgeBands::new("surcharge_bands", "band").starting_at("min_age", min_age);
    if let Err(problem) = rules.check_not_empty(bands) {
        problems.push(problem);
        return;
    }
    for (i, band) in bands.iter().enumerate() {
        rules.check_band(bands, i, problems);
        if let Err(error) = check_pct(band.surcharge_pct) {
            problems.push(ParamError::new(
                rules.at(i, "surcharge_pct"),
                error.to_string(),
            ));
        }
    }
}

/// Basis points of a percent. `validate` guarantees whole basis points, so
/// rounding changes nothing for parameters the host accepts.
#[expect(clippy::cast_possible_truncation, reason = "rates are far inside i64")]
fn basis_points(pct: f64) -> i64 {
    (pct * 100.0).round() as i64
}

/// The loan types the policy knows something special about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    Student,
    Car,
    Mortgage,
    Personal,
    /// A type added to `base_rates_pct` by the operators.
    Other(&'a str),
}

impl<'a> Kind<'a> {
    fn of(name: &'a str) -> Kind<'a> {
        match name {
            "student" => Kind::Student,
            "car" => Kind::Car,
            "mortgage" => Kind::Mortgage,
            "personal" => Kind::Personal,
            other => Kind::Other(other),
        }
    }
}

/// The figures of a quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quote<'a> {
    pub kind: Kind<'a>,
    pub base_bp: i64,
    pub surcharge_bp: i64,
    pub band: String,
}

impl Quote<'_> {
    fn rate_bp(&self) -> i64 {
        self.base_bp + self.surcharge_bp
    }
}

/// Quotes an annual rate for the loan the customer asks for.
pub fn evaluate(input: &Input, params: &Params) -> Decision {
    let lang = input.lang();
    let Some(request) = &input.customer.loan_request else {
        return Decision::new("not-applicable")
            .because("no-loan-request", messages::no_loan_request(lang));
    };
    let age = input.age();
    if age < params.min_age {
        return Decision::new("deny").because("minor", messages::minor(lang, age, params.min_age));
    }
    let Some(base_pct) = params.base_rates_pct.get(&request.kind) else {
        let known: Vec<&str> = params.base_rates_pct.keys().map(String::as_str).collect();
        return Decision::new("deny").because(
            "unknown-loan-type",
            messages::unknown_loan_type(lang, &request.kind, &known),
        );
    };
    let kind = Kind::of(&request.kind);
    let max_age = match kind {
        Kind::Student => Some(params.student_max_age),
        Kind::Mortgage => Some(params.mortgage_max_age),
        Kind::Car | Kind::Personal | Kind::Other(_) => None,
    };
    if let Some(max_age) = max_age.filter(|max| age > *max) {
        return Decision::new("deny").because(
            "not-eligible",
            messages::too_old_for(lang, kind, age, max_age),
        );
    }
    // `validate` makes the bands cover every age from `min_age` up; without
    // a band there is no rate to quote.
    let Some(band) = params
        .surcharge_bands
        .iter()
        .find(|band| band.contains(age))
    else {
        return Decision::new("deny").because("not-eligible", messages::no_band(lang, age));
    };
    let quote = Quote {
        kind,
        base_bp: basis_points(*base_pct),
        surcharge_bp: basis_points(band.surcharge_pct),
        band: band.label(),
    };
    #[expect(clippy::cast_precision_loss, reason = "rates are far below 2^53 bp")]
    let rate_pct = quote.rate_bp() as f64 / 100.0;
    Decision::new("quote")
        .because("rate-quoted", messages::rate_quoted(lang, &quote))
        .with("annual_rate_pct", rate_pct)
        .with("age_band", quote.band)
}

verdict_sdk::policy!(evaluate, Params);

#[cfg(test)]
mod tests;
