//! product-ladder: which bank products to offer a customer next.
//!
//! The bank runs a ladder of products for each phase of life, from cash
//! accounts for 11 to 15 year olds to pensions. The customer's age picks a
//! rung; the offer is that rung's products the customer does not hold yet,
//! in the rung's order. Messages live in `messages`.

mod messages;

use serde::{Deserialize, Serialize};
use verdict_sdk::serde_json::Value;
use verdict_sdk::{AgeBand, AgeBands, Decision, Input, ParamError, ParamSpec};

/// The ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    /// Rungs in order of age, contiguous, the last one open-ended.
    pub rungs: Vec<Rung>,
}

/// One phase of life and the products offered in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rung {
    /// Name of the phase, such as `student`.
    pub stage: String,
    /// First age of the rung.
    pub min_age: u32,
    /// Last age of the rung; absent for the open-ended last rung.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u32>,
    /// Products offered, in the order they are offered.
    pub products: Vec<String>,
}

impl AgeBand for Rung {
    fn min_age(&self) -> u32 {
        self.min_age
    }

    fn max_age(&self) -> Option<u32> {
        self.max_age
    }
}

impl Default for Params {
    fn default() -> Params {
        let rung = |stage: &str, min_age, max_age, products: &[&str]| Rung {
            stage: stage.to_owned(),
            min_age,
            max_age,
            products: products.iter().map(|p| (*p).to_owned()).collect(),
        };
        Params {
            rungs: vec![
                rung("youth", 11, Some(15), &["live-cash-account"]),
                rung(
                    "student",
                    16,
                    Some(24),
                    &["student-account", "student-loan"],
                ),
                rung("starter", 25, Some(34), &["credit-card", "personal-loan"]),
                rung("family", 35, Some(54), &["mortgage", "savings-account"]),
                rung("retirement", 55, None, &["pension", "wealth-management"]),
            ],
        }
    }
}

impl verdict_sdk::Params for Params {
    fn schema() -> Vec<ParamSpec> {
        vec![ParamSpec::list(
            "rungs",
            "life stages in age order, each { stage, min_age, max_age, products }: contiguous, \
             no overlaps, the last without max_age; products in the order they are offered",
        )]
    }

    fn validate(&self) -> Result<(), Vec<ParamError>> {
        // Contiguous rungs, the last open-ended: the SDK's `AgeBands` rules.
        let rules = AgeBands::new("rungs", "rung");
        rules
            .check_not_empty(&self.rungs)
            .map_err(|problem| vec![problem])?;
        let mut problems = Vec::new();
        for (i, rung) in self.rungs.iter().enumerate() {
            let at = |field: &str| rules.at(i, field);
            if rung.stage.trim().is_empty() {
                problems.push(ParamError::new(at("stage"), "must not be empty"));
            } else if let Some(first) = self.rungs[..i].iter().position(|r| r.stage == rung.stage) {
                problems.push(ParamError::new(
                    at("stage"),
                    format!("`{}` is already the stage of rungs[{first}]", rung.stage),
                ));
            }
            rules.check_band(&self.rungs, i, &mut problems);
            if rung.products.is_empty() {
                problems.push(ParamError::new(
                    at("products"),
                    "needs at least one product",
                ));
            }
            for (j, product) in rung.products.iter().enumerate() {
                let at = || format!("rungs[{i}].products[{j}]");
                if product.trim().is_empty() {
                    problems.push(ParamError::new(at(), "must not be empty"));
                } else if rung.products[..j].contains(product) {
                    problems.push(ParamError::new(
                        at(),
                        format!("`{product}` is listed twice"),
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Offers the products of the customer's rung that they do not hold yet.
pub fn evaluate(input: &Input, params: &Params) -> Decision {
    let lang = input.lang();
    let age = input.age();
    // `validate` makes the rungs contiguous from the first one up, so the
    // last rung starting at or below the age is the one holding it.
    let Some(rung) = params.rungs.iter().rev().find(|rung| rung.min_age <= age) else {
        let first = params.rungs.first().map_or(0, |rung| rung.min_age);
        return Decision::new("none")
            .because("too-young", messages::too_young(lang, age, first))
            .with("stage", Value::Null)
            .with("products", Value::Array(Vec::new()));
    };
    let held = &input.customer.products;
    let offer: Vec<String> = rung
        .products
        .iter()
        .filter(|product| !held.contains(product))
        .cloned()
        .collect();
    let decision = if offer.is_empty() {
        Decision::new("none").because(
            "ladder-complete",
            messages::ladder_complete(lang, age, &rung.stage),
        )
    } else {
        Decision::new("offer").because(
            "next-products",
            messages::next_products(lang, age, &rung.stage, &offer),
        )
    };
    decision
        .with("stage", rung.stage.as_str())
        .with("products", offer)
}

verdict_sdk::policy!(evaluate, Params);

#[cfg(test)]
mod tests;
