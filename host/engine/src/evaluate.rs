//! Evaluating customers against policies: the input encoding each plugin
//! call receives (per ABI version), one decision, and batches.

use std::sync::Arc;

#[cfg(feature = "rayon")]
use rayon::prelude::*;
use verdict_sdk::{Date, wire};

use crate::plugin::Plugin;
use crate::policy::Policy;
use crate::profile::{Profile, customer_wire};
use crate::record::DecisionRecord;
use crate::sandbox::{Abi, Fault};

/// Below this many decisions [`par_evaluate_batch`] runs on the calling
/// thread: handing work to the pool costs more than it saves.
#[cfg(feature = "rayon")]
const PARALLEL_THRESHOLD: usize = 64;

/// The bytes `verdict_evaluate` receives in ABI v1 (see `ABI.md`):
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

/// The customer of one decision: its profile JSON, and (when known) the
/// ABI v2 layout of it made once per profile.
#[derive(Clone, Copy)]
struct Customer<'a> {
    id: &'a str,
    json: &'a str,
    wire: Option<&'a Profile>,
}

/// Decides one customer under one policy.
#[must_use]
pub fn evaluate_one(
    policy: &Policy,
    as_of: Date,
    profile: &Profile,
    buffer: &mut Vec<u8>,
) -> DecisionRecord {
    let customer = Customer {
        id: &profile.id,
        json: &profile.json,
        wire: Some(profile),
    };
    decide_as(
        &policy.plugin,
        &policy.record_name,
        &policy.params_json,
        as_of,
        customer,
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
    let customer = Customer {
        id: customer,
        json: customer_json,
        wire: None,
    };
    decide_as(plugin, &policy.into(), params_json, as_of, customer, buffer)
}

/// The bytes `verdict_evaluate` of a plugin built for `abi` receives for
/// this customer: the JSON envelope ([`encode_input`]) or the v2 binary
/// one (without the parameters, which `verdict_init` gets).
pub fn encode_for(
    abi: Abi,
    buffer: &mut Vec<u8>,
    as_of: Date,
    params_json: &str,
    profile: &Profile,
) -> Result<(), Fault> {
    let customer = Customer {
        id: &profile.id,
        json: &profile.json,
        wire: Some(profile),
    };
    encode(abi, buffer, as_of, params_json, customer)
}

fn encode(
    abi: Abi,
    buffer: &mut Vec<u8>,
    as_of: Date,
    params_json: &str,
    customer: Customer<'_>,
) -> Result<(), Fault> {
    match abi {
        Abi::V1 => {
            encode_input(buffer, as_of, params_json, customer.json);
            Ok(())
        }
        Abi::V2 => encode_v2(buffer, as_of, customer),
    }
}

fn decide_as(
    plugin: &Plugin,
    policy: &Arc<str>,
    params_json: &str,
    as_of: Date,
    customer: Customer<'_>,
    buffer: &mut Vec<u8>,
) -> DecisionRecord {
    let answer = encode(plugin.abi(), buffer, as_of, params_json, customer)
        .and_then(|()| plugin.evaluate(params_json, buffer));
    if let Err(fault) = &answer {
        tracing::debug!(customer = customer.id, %policy, %fault, "decision failed");
    }
    DecisionRecord::from_plugin(customer.id, policy, plugin, answer)
}

/// The ABI v2 envelope of one decision. A profile that does not lay out
/// (never one the host checked) fails as it would in a v1 plugin's decoder.
fn encode_v2(buffer: &mut Vec<u8>, as_of: Date, customer: Customer<'_>) -> Result<(), Fault> {
    let refused = |why: &str| Fault::Plugin(format!("input does not decode: {why}"));
    match customer.wire {
        Some(profile) => wire::encode_envelope(buffer, as_of, profile.wire().map_err(refused)?),
        None => {
            let laid_out = customer_wire(customer.json).map_err(|why| refused(&why))?;
            wire::encode_envelope(buffer, as_of, &laid_out);
        }
    }
    Ok(())
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
