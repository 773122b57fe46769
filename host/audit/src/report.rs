//! The experiment report: per policy and arm, what the arms decided —
//! outcome counts and shares, the champion → challenger transitions of
//! the customers both arms decided, how numeric values moved, the
//! customers that changed — and, joined with outcomes learned later (a
//! default, a complaint), how each arm's customers fared.
//!
//! The pairs come from where both arms decided one customer together: a
//! shadow (or `shadow_other`) experiment's records, adjacent in a log or
//! decisions file, or a retro-shadow: past answers re-decided with a
//! challenger that never ran ([`Reporter::with_challenger`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use verdict_engine::{Arm, DecisionRecord, Policy};

use crate::error::AuditError;
use crate::problem::RecordError;
use crate::recorded::{self, Recorded};
use crate::whatif::redecide;

/// The report of every policy the decisions name.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Decisions read (of the policies reported).
    pub decisions: usize,
    /// Per policy, in name order.
    pub policies: Vec<PolicyReport>,
}

/// One policy's arms.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PolicyReport {
    /// The policy.
    pub policy: String,
    /// The experiments its decisions name (none outside one; for a
    /// retro-shadow, `retro-shadow`).
    pub experiments: Vec<String>,
    /// The champion's decisions, then the challenger's.
    pub arms: Vec<ArmReport>,
    /// Customers both arms decided together.
    pub compared: usize,
    /// Of those, how many got the same outcome from both.
    pub agreed: usize,
    /// Champion outcome → challenger outcome of the customers both arms
    /// decided, every pair (the same outcome included).
    pub transitions: Vec<Transition>,
    /// Challenger minus champion, per numeric value both gave.
    pub deltas: Vec<Delta>,
    /// The customers whose outcome or values differ between the arms, in
    /// the order read.
    pub changed: Vec<Changed>,
}

/// What one arm decided.
#[derive(Debug, Clone, Serialize)]
pub struct ArmReport {
    /// The arm.
    pub arm: Arm,
    /// Decisions it made.
    pub decided: usize,
    /// Of those, the ones that were the answer.
    pub answered: usize,
    /// Its outcomes, most frequent first.
    pub outcomes: Vec<OutcomeCount>,
    /// Sum of each numeric value over its decisions (allowance totals,
    /// say), by key.
    pub totals: BTreeMap<String, f64>,
    /// With outcomes joined: per joined column, over this arm's decisions
    /// whose customer the joined file holds.
    pub joined: Vec<Joined>,
}

/// How often an arm gave one outcome.
#[derive(Debug, Clone, Serialize)]
pub struct OutcomeCount {
    /// The outcome.
    pub outcome: String,
    /// Decisions with it.
    pub count: usize,
    /// `count` ÷ the arm's decisions.
    pub share: f64,
}

/// How many customers went from one outcome to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transition {
    /// The champion's outcome.
    pub from: String,
    /// The challenger's.
    pub to: String,
    /// Customers.
    pub count: usize,
}

/// How one numeric value moved from champion to challenger.
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    /// The value's key.
    pub key: String,
    /// Customers both arms gave it for.
    pub count: usize,
    /// Mean of challenger − champion.
    pub mean: f64,
    /// Smallest change.
    pub min: f64,
    /// Median change.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest change.
    pub max: f64,
}

/// A later-known outcome, averaged over an arm's decisions: for a
/// true/false column, the share that is true.
#[derive(Debug, Clone, Serialize)]
pub struct Joined {
    /// The joined column.
    pub column: String,
    /// The arm's outcome the figure is for (`None`: all of them).
    pub outcome: Option<String>,
    /// Decisions whose customer has a value there.
    pub count: usize,
    /// Their mean.
    pub mean: f64,
}

/// A customer the arms decided differently.
#[derive(Debug, Clone, Serialize)]
pub struct Changed {
    /// Where the champion's decision was read: log line or file row.
    pub at: usize,
    /// The customer.
    pub customer: String,
    /// The arm that answered.
    pub answered: Arm,
    /// The champion's outcome.
    pub from: String,
    /// The challenger's.
    pub to: String,
    /// The champion's values.
    pub from_value: Map<String, Value>,
    /// The challenger's.
    pub to_value: Map<String, Value>,
}

/// Outcomes learned later, by customer: each column's value (a number,
/// or 1/0 for true/false) where the file has one.
#[derive(Debug, Clone, Default)]
pub struct Outcomes {
    /// The columns, in the file's order.
    pub columns: Vec<String>,
    /// Per customer, one value per column.
    pub by_customer: HashMap<String, Vec<Option<f64>>>,
}

/// One decision read.
struct Read {
    /// Its place in the batch it was read from.
    index: usize,
    at: usize,
    customer: String,
    policy: String,
    arm: Arm,
    answered: bool,
    experiment: Option<String>,
    record: DecisionRecord,
}

/// What is kept per policy while reading.
#[derive(Default)]
struct Tally {
    experiments: Vec<String>,
    arms: [ArmTally; 2],
    compared: usize,
    agreed: usize,
    transitions: BTreeMap<(String, String), usize>,
    deltas: BTreeMap<String, Vec<f64>>,
    changed: Vec<Changed>,
}

#[derive(Default)]
struct ArmTally {
    decided: usize,
    answered: usize,
    outcomes: BTreeMap<String, usize>,
    totals: BTreeMap<String, f64>,
    /// Per (column, outcome or all): count and sum.
    joined: BTreeMap<(usize, Option<String>), (usize, f64)>,
}

/// Builds a [`Report`] from recorded decisions, a batch at a time.
pub struct Reporter<'a> {
    path: &'a Path,
    policy: Option<&'a str>,
    challenger: Option<&'a Arc<Policy>>,
    outcomes: Option<&'a Outcomes>,
    tallies: BTreeMap<String, Tally>,
    decisions: usize,
    /// The last champion decision read, until the next batch shows
    /// whether its challenger follows.
    pending: Option<Read>,
}

impl std::fmt::Debug for Reporter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<'a> Reporter<'a> {
    /// A report of the decisions recorded in `path` (named in errors), of
    /// `policy` only when given.
    #[must_use]
    pub fn new(path: &'a Path, policy: Option<&'a str>) -> Reporter<'a> {
        Reporter {
            path,
            policy,
            challenger: None,
            outcomes: None,
            tallies: BTreeMap::new(),
            decisions: 0,
            pending: None,
        }
    }

    /// A retro-shadow: every answered decision of `challenger`'s policy
    /// is the champion's, and `challenger` decides the same customer
    /// again; other policies are left out.
    #[must_use]
    pub fn with_challenger(self, challenger: &'a Arc<Policy>) -> Reporter<'a> {
        Reporter {
            challenger: Some(challenger),
            policy: Some(challenger.name()),
            ..self
        }
    }

    /// Joins `outcomes` to the decisions by customer.
    #[must_use]
    pub fn with_outcomes(self, outcomes: &'a Outcomes) -> Reporter<'a> {
        Reporter {
            outcomes: Some(outcomes),
            ..self
        }
    }

    /// Adds every record of the log at the reporter's path.
    pub fn add_log(&mut self) -> Result<(), AuditError> {
        let path = self.path;
        recorded::each_batch(path, |recorded| self.add(recorded))
    }

    /// Adds a batch of recorded decisions.
    pub fn add(&mut self, recorded: &[Recorded<'_>]) -> Result<(), AuditError> {
        let wanted = |r: &&Recorded<'_>| {
            self.policy.is_none_or(|p| p == r.policy)
                && (self.challenger.is_none() || r.tag.as_ref().is_none_or(|t| t.answered))
        };
        let mut read: Vec<Read> = recorded
            .par_iter()
            .enumerate()
            .with_min_len(64)
            .filter(|(_, r)| wanted(r))
            .map(|(index, r)| {
                let record: DecisionRecord =
                    serde_json::from_str(&r.decision).map_err(|e| AuditError::Record {
                        path: self.path.to_path_buf(),
                        line: r.at,
                        problem: RecordError::Decision(e.to_string()),
                    })?;
                let (arm, answered, experiment) = match (&r.tag, self.challenger) {
                    (Some(tag), None) => (tag.arm, tag.answered, Some(tag.experiment.to_string())),
                    (_, Some(_)) => (Arm::Champion, true, Some("retro-shadow".to_owned())),
                    (None, None) => (Arm::Champion, true, None),
                };
                Ok(Read {
                    index,
                    at: r.at,
                    customer: r.customer.clone(),
                    policy: r.policy.clone(),
                    arm,
                    answered,
                    experiment,
                    record,
                })
            })
            .collect::<Result<_, AuditError>>()?;
        if let Some(challenger) = self.challenger {
            let redone: Vec<DecisionRecord> = read
                .par_iter()
                .with_min_len(16)
                .map(|one| {
                    let r = &recorded[one.index];
                    redecide(challenger, &r.customer, r.as_of, &r.input)
                })
                .collect();
            read = read
                .into_iter()
                .zip(redone)
                .flat_map(|(champion, record)| {
                    let challenger = Read {
                        index: champion.index,
                        at: champion.at,
                        customer: champion.customer.clone(),
                        policy: champion.policy.clone(),
                        arm: Arm::Challenger,
                        answered: false,
                        experiment: champion.experiment.clone(),
                        record,
                    };
                    [champion, challenger]
                })
                .collect();
        }
        self.decisions += read.len();
        // A champion last in the previous batch may meet its challenger
        // first in this one.
        let mut read: Vec<Read> = self.pending.take().into_iter().chain(read).collect();
        let mut i = 0;
        while i < read.len() {
            if i + 1 == read.len() && read[i].arm == Arm::Champion && self.challenger.is_none() {
                self.pending = read.pop();
                break;
            }
            let one = &read[i];
            let tally = tally_of(&mut self.tallies, one);
            count(tally, one, self.outcomes);
            // A champion followed by its customer's challenger: a pair.
            if let Some(next) = read.get(i + 1)
                && one.arm == Arm::Champion
                && next.arm == Arm::Challenger
                && next.customer == one.customer
                && next.policy == one.policy
            {
                count(tally, next, self.outcomes);
                pair(tally, one, next);
                i += 2;
            } else {
                i += 1;
            }
        }
        Ok(())
    }

    /// The report.
    #[must_use]
    pub fn finish(mut self) -> Report {
        if let Some(last) = self.pending.take() {
            count(tally_of(&mut self.tallies, &last), &last, self.outcomes);
        }
        let columns = self.outcomes.map(|o| o.columns.as_slice()).unwrap_or(&[]);
        Report {
            decisions: self.decisions,
            policies: self
                .tallies
                .into_iter()
                .map(|(policy, tally)| finish_policy(policy, tally, columns))
                .collect(),
        }
    }
}

/// The tally of `one`'s policy, noting its experiment.
fn tally_of<'t>(tallies: &'t mut BTreeMap<String, Tally>, one: &Read) -> &'t mut Tally {
    let tally = tallies.entry(one.policy.clone()).or_default();
    if let Some(experiment) = &one.experiment
        && !tally.experiments.contains(experiment)
    {
        tally.experiments.push(experiment.clone());
    }
    tally
}

/// Counts one decision in its arm.
fn count(tally: &mut Tally, one: &Read, outcomes: Option<&Outcomes>) {
    let arm = &mut tally.arms[usize::from(one.arm == Arm::Challenger)];
    arm.decided += 1;
    arm.answered += usize::from(one.answered);
    let outcome = one.record.outcome().as_str();
    *arm.outcomes.entry(outcome.to_owned()).or_default() += 1;
    for (key, value) in one.record.value() {
        if let Some(number) = value.as_f64() {
            *arm.totals.entry(key.clone()).or_default() += number;
        }
    }
    if let Some(values) = outcomes.and_then(|o| o.by_customer.get(&one.customer)) {
        for (column, value) in values.iter().enumerate() {
            let Some(value) = value else { continue };
            for key in [(column, None), (column, Some(outcome.to_owned()))] {
                let (n, sum) = arm.joined.entry(key).or_default();
                *n += 1;
                *sum += value;
            }
        }
    }
}

/// Compares the two arms' decisions of one customer.
fn pair(tally: &mut Tally, champion: &Read, challenger: &Read) {
    let (from, to) = (
        champion.record.outcome().as_str(),
        challenger.record.outcome().as_str(),
    );
    tally.compared += 1;
    tally.agreed += usize::from(from == to);
    *tally
        .transitions
        .entry((from.to_owned(), to.to_owned()))
        .or_default() += 1;
    for (key, old) in champion.record.value() {
        if let (Some(old), Some(new)) = (
            old.as_f64(),
            challenger.record.value().get(key).and_then(Value::as_f64),
        ) {
            tally.deltas.entry(key.clone()).or_default().push(new - old);
        }
    }
    if from != to || champion.record.value() != challenger.record.value() {
        tally.changed.push(Changed {
            at: champion.at,
            customer: champion.customer.to_owned(),
            answered: if challenger.answered {
                Arm::Challenger
            } else {
                Arm::Champion
            },
            from: from.to_owned(),
            to: to.to_owned(),
            from_value: champion.record.value().clone(),
            to_value: challenger.record.value().clone(),
        });
    }
}

fn finish_policy(policy: String, tally: Tally, columns: &[String]) -> PolicyReport {
    let [champion, challenger] = tally.arms;
    let arms = [(Arm::Champion, champion), (Arm::Challenger, challenger)]
        .into_iter()
        .filter(|(_, arm)| arm.decided > 0)
        .map(|(arm, tally)| finish_arm(arm, tally, columns))
        .collect();
    PolicyReport {
        policy,
        experiments: tally.experiments,
        arms,
        compared: tally.compared,
        agreed: tally.agreed,
        transitions: tally
            .transitions
            .into_iter()
            .map(|((from, to), count)| Transition { from, to, count })
            .collect(),
        deltas: tally
            .deltas
            .into_iter()
            .map(|(key, mut changes)| {
                changes.sort_by(f64::total_cmp);
                let at = |q: f64| {
                    // Nearest rank.
                    #[allow(
                        clippy::cast_possible_truncation,
                        clippy::cast_sign_loss,
                        clippy::cast_precision_loss
                    )]
                    let rank = ((q * changes.len() as f64).ceil() as usize).max(1);
                    changes[rank.min(changes.len()) - 1]
                };
                #[allow(clippy::cast_precision_loss)]
                let mean = changes.iter().sum::<f64>() / changes.len() as f64;
                Delta {
                    count: changes.len(),
                    mean,
                    min: changes[0],
                    p50: at(0.5),
                    p90: at(0.9),
                    p99: at(0.99),
                    max: changes[changes.len() - 1],
                    key,
                }
            })
            .collect(),
        changed: tally.changed,
    }
}

fn finish_arm(arm: Arm, tally: ArmTally, columns: &[String]) -> ArmReport {
    let mut outcomes: Vec<OutcomeCount> = tally
        .outcomes
        .into_iter()
        .map(|(outcome, count)| OutcomeCount {
            #[allow(clippy::cast_precision_loss)]
            share: count as f64 / tally.decided as f64,
            outcome,
            count,
        })
        .collect();
    outcomes.sort_by(|a, b| b.count.cmp(&a.count).then(a.outcome.cmp(&b.outcome)));
    ArmReport {
        arm,
        decided: tally.decided,
        answered: tally.answered,
        outcomes,
        totals: tally.totals,
        joined: tally
            .joined
            .into_iter()
            .map(|((column, outcome), (count, sum))| Joined {
                column: columns.get(column).cloned().unwrap_or_default(),
                outcome,
                count,
                #[allow(clippy::cast_precision_loss)]
                mean: sum / count as f64,
            })
            .collect(),
    }
}
