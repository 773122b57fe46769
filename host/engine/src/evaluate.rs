//! Deciding: the input encoding each plugin call receives (per ABI
//! version), one decision ([`Policy::decide`]), and many at once
//! ([`Decider`]).

use std::cell::RefCell;
use std::sync::Arc;

#[cfg(feature = "rayon")]
use rayon::prelude::*;
use verdict_sdk::{Date, wire};

use crate::experiment::{self, Slot};
use crate::exports::Abi;
use crate::fault::Fault;
use crate::policy::Policy;
use crate::profile::Profile;
use crate::record::DecisionRecord;

/// Below this many decisions a parallel [`Decider`] runs on the calling
/// thread: handing work to the pool costs more than it saves.
#[cfg(feature = "rayon")]
const PARALLEL_THRESHOLD: usize = 64;

/// One customer to decide: the evaluation date and the profile.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    /// The evaluation date (ages are counted to it).
    pub as_of: Date,
    /// The customer.
    pub profile: &'a Profile,
}

thread_local! {
    /// The input buffer of this thread's decisions: one allocation per
    /// thread, reused by every call.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Policy {
    /// Decides one customer. A plugin that faults yields an `error` record
    /// naming the fault; nothing else is affected.
    #[must_use]
    pub fn decide(&self, job: Job<'_>) -> DecisionRecord {
        BUFFER.with(|buffer| match buffer.try_borrow_mut() {
            Ok(mut buffer) => self.decide_into(job, &mut buffer),
            // Only a decision inside a decision could find it taken.
            Err(_) => self.decide_into(job, &mut Vec::new()),
        })
    }

    fn decide_into(&self, job: Job<'_>, buffer: &mut Vec<u8>) -> DecisionRecord {
        let plugin = self.plugin();
        let answer = encode(
            plugin.abi(),
            buffer,
            job.as_of,
            self.params_json(),
            job.profile,
        )
        .and_then(|()| plugin.evaluate(self.params_json(), buffer));
        if let Err(fault) = &answer {
            tracing::debug!(customer = job.profile.id(), policy = self.name(), %fault, "decision failed");
        }
        DecisionRecord::from_answer(
            job.profile.id(),
            self.record_name(),
            plugin.record_version(),
            plugin.sha256(),
            self.release(),
            answer,
        )
    }
}

/// Decides many customers under several policies: customers in the given
/// order, and for each customer the policies in the given order; a policy
/// with an experiment yields its arms' records as the experiment says
/// (champion first), each tagged with its arm.
#[derive(Debug, Clone, Copy)]
pub struct Decider<'p> {
    policies: &'p [Arc<Policy>],
    #[cfg(feature = "rayon")]
    parallel: bool,
}

impl<'p> Decider<'p> {
    /// A decider for `policies`, deciding on the calling thread.
    #[must_use]
    pub fn new(policies: &'p [Arc<Policy>]) -> Decider<'p> {
        Decider {
            policies,
            #[cfg(feature = "rayon")]
            parallel: false,
        }
    }

    /// This decider on rayon's thread pool (the caller's, when it installed
    /// one): large batches use every core; the order of the records does
    /// not depend on it.
    #[cfg(feature = "rayon")]
    #[must_use]
    pub fn parallel(self) -> Decider<'p> {
        Decider {
            parallel: true,
            ..self
        }
    }

    /// The policies it decides under.
    #[must_use]
    pub fn policies(&self) -> &'p [Arc<Policy>] {
        self.policies
    }

    /// Every job under every policy.
    #[must_use]
    pub fn decide(&self, jobs: &[Job<'_>]) -> Vec<DecisionRecord> {
        #[cfg(feature = "rayon")]
        if self.parallel && jobs.len() * self.policies.len() >= PARALLEL_THRESHOLD {
            return jobs
                .par_iter()
                .with_min_len(16)
                .map(|&job| self.decide_one(job))
                .flatten_iter()
                .collect();
        }
        jobs.iter().flat_map(|&job| self.decide_one(job)).collect()
    }

    /// The decisions it makes for `jobs`, in the order [`Decider::decide`]
    /// returns their records: for each job, each policy's champion, then its
    /// challenger as far as its experiment has it decide.
    pub fn slots<'j>(
        &self,
        jobs: &'j [Job<'j>],
    ) -> impl Iterator<Item = (Job<'j>, Slot<'p>)> + use<'j, 'p> {
        let policies = self.policies;
        jobs.iter().flat_map(move |&job| {
            policies
                .iter()
                .flat_map(move |policy| experiment::slots(policy, job.profile.id()))
                .flatten()
                .map(move |slot| (job, slot))
        })
    }

    /// One customer's decisions under every policy, in policy order (each
    /// policy's arms in arm order).
    fn decide_one(&self, job: Job<'_>) -> Vec<DecisionRecord> {
        self.policies
            .iter()
            .flat_map(|policy| experiment::slots(policy, job.profile.id()))
            .flatten()
            .map(|slot| slot.policy.decide(job).tagged(slot.tag))
            .collect()
    }
}

/// The bytes `verdict_evaluate` receives in ABI v1 (see `ABI.md`):
/// `{"as_of":"YYYY-MM-DD","params":{...},"customer":{...}}`. The parameter
/// and profile JSON are encoded once and spliced in.
pub(crate) fn encode_input(
    buffer: &mut Vec<u8>,
    as_of: Date,
    params_json: &str,
    customer_json: &str,
) {
    use std::io::Write;
    buffer.clear();
    // Writing to a Vec cannot fail.
    let _ = write!(
        buffer,
        "{{\"as_of\":\"{as_of}\",\"params\":{params_json},\"customer\":{customer_json}}}"
    );
}

/// The bytes `verdict_evaluate` of a plugin built for `abi` receives for
/// this customer: the JSON envelope ([`encode_input`]) or the v2 binary
/// one (without the parameters, which `verdict_init` gets). A profile that
/// does not lay out for v2 (never one the host checked) fails as it would
/// in a v1 plugin's decoder.
pub(crate) fn encode(
    abi: Abi,
    buffer: &mut Vec<u8>,
    as_of: Date,
    params_json: &str,
    profile: &Profile,
) -> Result<(), Fault> {
    match abi {
        Abi::V1 => encode_input(buffer, as_of, params_json, profile.json()),
        Abi::V2 => {
            let customer = profile
                .wire()
                .map_err(|why| Fault::Plugin(format!("input does not decode: {why}")))?;
            wire::encode_envelope(buffer, as_of, customer);
        }
    }
    Ok(())
}
