//! The what-if diff: logged inputs run through other policies (a new
//! plugin version, new parameters), and which decisions would change.
//!
//! A decision changes when its outcome, values or reasons differ; the
//! plugin version and module SHA-256 are expected to differ and are not
//! counted. Logged decisions whose policy the other set lacks are skipped,
//! and so are an experiment's decisions that were not the answer.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::json;
use verdict_sdk::Date;

use crate::compare::{Difference, differences};
use crate::error::AuditError;
use crate::problem::RecordError;
use crate::recorded::{self, Recorded};
use verdict_engine::{DecisionRecord, Job, Policy, PolicySet, Profile};

/// What running the logged inputs through other policies would change.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WhatIf {
    /// Logged decisions re-decided.
    pub compared: usize,
    /// Of those, how many would change.
    pub changed: usize,
    /// Per policy, in name order.
    pub policies: Vec<PolicyChanges>,
    /// Logged decisions whose policy the other set lacks, per policy.
    pub skipped: Vec<Skipped>,
    /// Every decision that would change, in log order.
    pub changes: Vec<Change>,
}

/// The changes for one policy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyChanges {
    /// The policy.
    pub policy: String,
    /// The version of the plugin it would now run.
    pub version: String,
    /// Logged decisions re-decided.
    pub compared: usize,
    /// Of those, how many would change.
    pub changed: usize,
    /// Changed decisions by outcome before and after (the same outcome
    /// when only values or reasons change).
    pub transitions: Vec<Transition>,
}

/// How many changed decisions went from one outcome to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The logged outcome.
    pub from: String,
    /// The outcome now.
    pub to: String,
    /// How many decisions.
    pub count: usize,
}

/// Logged decisions left out because their policy is not in the set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The policy.
    pub policy: String,
    /// How many decisions.
    pub decisions: usize,
}

/// One decision that would change.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// The log line, counting from 1.
    pub line: usize,
    /// The customer's `id`.
    pub customer: String,
    /// The policy.
    pub policy: String,
    /// The logged outcome.
    pub from: String,
    /// The outcome now.
    pub to: String,
    /// The logged plugin version.
    pub from_version: String,
    /// The plugin version now.
    pub to_version: String,
    /// What differs in the outcome, values and reasons.
    pub differences: Vec<Difference>,
}

/// Changed decisions by (old outcome, new outcome).
type Transitions = BTreeMap<(String, String), usize>;

/// A recorded decision of a policy the new policies have none of: skipped,
/// and counted by name.
struct NoPolicy(String);

/// A recorded decision to re-decide.
struct Redo<'a> {
    line: usize,
    customer: String,
    as_of: Date,
    input: &'a str,
    logged: DecisionRecord,
    policy: &'a Arc<Policy>,
}

/// Runs recorded decisions through a policy set a batch at a time, from
/// any store of them (a log's lines, a decisions file's rows), and adds up
/// which would change.
pub struct Differ<'a> {
    path: &'a Path,
    by_name: HashMap<&'a str, &'a Arc<Policy>>,
    per_policy: BTreeMap<String, (PolicyChanges, Transitions)>,
    skipped: BTreeMap<String, usize>,
    report: WhatIf,
}

impl std::fmt::Debug for Differ<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Differ")
            .field("path", &self.path)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl<'a> Differ<'a> {
    /// A diff against `set` of the decisions recorded in `path` (named in
    /// errors).
    #[must_use]
    pub fn new(path: &'a Path, set: &'a PolicySet) -> Differ<'a> {
        Differ {
            path,
            by_name: set
                .policies()
                .iter()
                .map(|policy| (policy.name(), policy))
                .collect(),
            per_policy: BTreeMap::new(),
            skipped: BTreeMap::new(),
            report: WhatIf::default(),
        }
    }

    /// Re-decides `recorded` (in parallel) and counts what would change.
    pub fn add(&mut self, recorded: &[Recorded<'_>]) -> Result<(), AuditError> {
        // A decision an experiment made without answering is no answer to
        // compare with.
        let read: Vec<Result<Redo<'_>, NoPolicy>> = recorded
            .par_iter()
            .with_min_len(64)
            .filter(|record| record.tag.as_ref().is_none_or(|tag| tag.answered))
            .map(|record| {
                let Some(&policy) = self.by_name.get(record.policy.as_str()) else {
                    return Ok(Err(NoPolicy(record.policy.clone())));
                };
                let logged =
                    serde_json::from_str(&record.decision).map_err(|e| AuditError::Record {
                        path: self.path.to_path_buf(),
                        line: record.at,
                        problem: RecordError::Decision(e.to_string()),
                    })?;
                Ok(Ok(Redo {
                    line: record.at,
                    customer: record.customer.clone(),
                    as_of: record.as_of,
                    input: &record.input,
                    logged,
                    policy,
                }))
            })
            .collect::<Result<_, AuditError>>()?;
        let mut jobs = Vec::with_capacity(read.len());
        for job in read {
            match job {
                Ok(job) => jobs.push(job),
                Err(NoPolicy(policy)) => *self.skipped.entry(policy).or_default() += 1,
            }
        }
        let changes: Vec<Option<Change>> = jobs.par_iter().with_min_len(16).map(compare).collect();
        for (job, change) in jobs.iter().zip(changes) {
            let (summary, transitions) = self
                .per_policy
                .entry(job.policy.name().to_owned())
                .or_insert_with(|| {
                    (
                        PolicyChanges {
                            policy: job.policy.name().to_owned(),
                            version: job.policy.plugin().manifest().version.clone(),
                            ..PolicyChanges::default()
                        },
                        BTreeMap::new(),
                    )
                });
            summary.compared += 1;
            self.report.compared += 1;
            if let Some(change) = change {
                summary.changed += 1;
                self.report.changed += 1;
                *transitions
                    .entry((change.from.clone(), change.to.clone()))
                    .or_default() += 1;
                self.report.changes.push(change);
            }
        }
        Ok(())
    }

    /// What would change, per policy and decision by decision.
    #[must_use]
    pub fn finish(self) -> WhatIf {
        let mut report = self.report;
        report.policies = self
            .per_policy
            .into_values()
            .map(|(mut summary, transitions)| {
                summary.transitions = transitions
                    .into_iter()
                    .map(|((from, to), count)| Transition { from, to, count })
                    .collect();
                summary
            })
            .collect();
        report.skipped = self
            .skipped
            .into_iter()
            .map(|(policy, decisions)| Skipped { policy, decisions })
            .collect();
        report
    }
}

/// Runs the inputs of the log at `path` through `set` and reports which
/// decisions would change.
pub fn what_if(path: &Path, set: &PolicySet) -> Result<WhatIf, AuditError> {
    let mut differ = Differ::new(path, set);
    recorded::each_batch(path, |recorded| differ.add(recorded))?;
    Ok(differ.finish())
}

/// Re-decides one logged decision; `Some` when it would change.
fn compare(job: &Redo<'_>) -> Option<Change> {
    let policy = job.policy;
    let now = redecide(policy, &job.customer, job.as_of, job.input);
    let gist = |r: &DecisionRecord| json!({"outcome": r.outcome(), "value": r.value(), "reasons": r.reasons()});
    let found = differences(&gist(&job.logged), &gist(&now));
    if found.is_empty() {
        return None;
    }
    Some(Change {
        line: job.line,
        customer: job.customer.clone(),
        policy: policy.name().to_owned(),
        from: job.logged.outcome().to_string(),
        to: now.outcome().to_string(),
        from_version: job.logged.plugin_version().to_owned(),
        to_version: now.plugin_version().to_owned(),
        differences: found,
    })
}

/// `policy`'s decision on a recorded input: the customer `customer` whose
/// profile the plugin received as `input`, on `as_of`.
pub(crate) fn redecide(
    policy: &Policy,
    customer: &str,
    as_of: Date,
    input: &str,
) -> DecisionRecord {
    let profile = Profile::new(customer.to_owned(), input.into());
    policy.decide(Job {
        as_of,
        profile: &profile,
    })
}
