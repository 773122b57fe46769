//! Evaluating customers against policies: the input encoding each plugin
//! call receives, one decision, and batches.

use std::sync::Arc;

#[cfg(feature = "rayon")]
use rayon::prelude::*;
use verdict_sdk::Date;

use crate::plugin::Plugin;
use crate::policy::Policy;
use crate::profile::Profile;
use crate::record::DecisionRecord;

/// Below this many decisions [`par_evaluate_batch`] runs on the calling
/// thread: handing work to the pool costs more than it saves.
#[cfg(feature = "rayon")]
const PARALLEL_THRESHOLD: usize = 64;

/// The bytes `verdict_evaluate` receives (see `ABI.md`):
/// `{"as_of":"YYYY-MM-DD","params":{...},"customer":{...}}`. The parameter
/// and profile JSON are encoded once and spliced in.
pub fn encode_input(buffer: &mut Vec<u8>, as_of: Date, params_json: &str, customer_json: &str) {
    use std::io::Write;
    buffer.clear();
    // Writing to a Vec cannot fail.
    let _ = write!(
        buffer,
        "{{\"as_of\":\"{as_of}\",\"params\":{params_json},\"customer\":{customer_json}}}"
    );
}

/// Decides one customer under one policy.
#[must_use]
pub fn evaluate_one(
    policy: &Policy,
    as_of: Date,
    profile: &Profile,
    buffer: &mut Vec<u8>,
) -> DecisionRecord {
    decide(
        &policy.plugin,
        &policy.name,
        &policy.params_json,
        as_of,
        &profile.id,
        &profile.json,
        buffer,
    )
}

/// Decides one customer (`customer` is its `id`, `customer_json` the
/// profile as given) with a plugin and parameter JSON directly, without a
/// binding: what replay and the what-if diff use on logged inputs.
#[must_use]
pub fn decide(
    plugin: &Plugin,
    policy: &str,
    params_json: &str,
    as_of: Date,
    customer: &str,
    customer_json: &str,
    buffer: &mut Vec<u8>,
) -> DecisionRecord {
    encode_input(buffer, as_of, params_json, customer_json);
    let answer = plugin.evaluate(buffer);
    if let Err(fault) = &answer {
        tracing::debug!(%customer, %policy, %fault, "decision failed");
    }
    DecisionRecord::from_plugin(customer, policy, plugin, answer)
}

/// Decides every customer under every policy, on the calling thread:
/// customers in the given order, and for each customer the policies in the
/// given order.
#[must_use]
pub fn evaluate_batch(
    policies: &[Arc<Policy>],
    customers: &[(Date, &Profile)],
) -> Vec<DecisionRecord> {
    let mut buffer = Vec::new();
    customers
        .iter()
        .flat_map(|customer| decide_customer(policies, &mut buffer, customer))
        .collect()
}

/// What [`evaluate_batch`] returns, decided on rayon's thread pool (the
/// caller's, when it installed one): large batches use every core; the
/// result order does not depend on it.
#[cfg(feature = "rayon")]
#[must_use]
pub fn par_evaluate_batch(
    policies: &[Arc<Policy>],
    customers: &[(Date, &Profile)],
) -> Vec<DecisionRecord> {
    if customers.len() * policies.len() < PARALLEL_THRESHOLD {
        return evaluate_batch(policies, customers);
    }
    customers
        .par_iter()
        .with_min_len(16)
        .map_init(Vec::new, |buffer, customer| {
            decide_customer(policies, buffer, customer)
        })
        .flatten_iter()
        .collect()
}

/// One customer's decisions under every policy, in policy order.
fn decide_customer(
    policies: &[Arc<Policy>],
    buffer: &mut Vec<u8>,
    &(as_of, profile): &(Date, &Profile),
) -> Vec<DecisionRecord> {
    policies
        .iter()
        .map(|policy| evaluate_one(policy, as_of, profile, buffer))
        .collect()
}
