//! Replay: re-running logged decisions on the archived module bytes and
//! parameters that made them, and comparing the decision bytes.
//!
//! Nothing outside the log and its archive is read: not the policy files,
//! not the plugins in the working tree. Each distinct (limits, module) is
//! compiled once; decisions run in parallel, each in its own fresh instance.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::archive::Archive;
use crate::compare::{Difference, differences, first_byte_difference};
use crate::entry::LoggedLimits;
use crate::error::AuditError;
use crate::lines::{Batch, Lines};
use crate::recorded::Recorded;
use verdict_engine::{
    Job, Limits, ModuleCache, Plugin, Policy, Profile, Sandbox, Sha256, chain_text,
};

/// Which logged decisions to replay; empty lists select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these customers.
    pub customers: Vec<String>,
    /// Only these policies.
    pub policies: Vec<String>,
    /// Only lines in this inclusive range (counting from 1).
    pub lines: Option<(usize, usize)>,
}

impl Selection {
    /// Whether the selection picks this recorded decision.
    #[must_use]
    pub fn selects(&self, recorded: &Recorded<'_>) -> bool {
        self.wants_line(recorded.at) && self.wants(&recorded.customer, &recorded.policy)
    }

    fn wants_line(&self, line: usize) -> bool {
        self.lines
            .is_none_or(|(first, last)| (first..=last).contains(&line))
    }

    fn wants(&self, customer: &str, policy: &str) -> bool {
        (self.customers.is_empty() || self.customers.iter().any(|c| c == customer))
            && (self.policies.is_empty() || self.policies.iter().any(|p| p == policy))
    }
}

/// The most a logged record may claim of each limit, and the longest a
/// decision may run. A log edited (and re-hashed) to carry an enormous
/// budget would otherwise make replay run without end; records over a cap
/// are reported as suspicious instead of run, and a decision still
/// running after `decision_time` is cut and reported as suspicious.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Fuel per call.
    pub fuel: u64,
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Guest stack, in bytes.
    pub stack_bytes: usize,
    /// Wall-clock time per call into a plugin (more than zero). Fuel, not
    /// time, decides what a call does; this only ends calls whose capped
    /// budget still lets them run far longer than any real decision.
    pub decision_time: Duration,
}

impl Default for Caps {
    /// Ten times the engine's default fuel, eight times its memory and
    /// stack: room for logs made with raised limits, not for runaways. Ten
    /// seconds a call: the default fuel takes well under one.
    fn default() -> Caps {
        let limits = Limits::default();
        Caps {
            fuel: limits.fuel * 10,
            memory_bytes: limits.memory_bytes * 8,
            stack_bytes: limits.stack_bytes * 8,
            decision_time: Duration::from_secs(10),
        }
    }
}

impl Caps {
    /// Why `logged` is over the caps, or its memory or stack under an
    /// eighth of the engine's defaults (no engine the host builds runs
    /// with less: such a record was made up, not logged), if it is.
    fn exceeded_by(&self, logged: LoggedLimits) -> Option<String> {
        let defaults = Limits::default();
        let outside = |what: &str, value: u64, floor: u64, cap: u64| {
            if value > cap {
                Some(format!(
                    "suspicious: the record claims {what} {value}, over the replay cap {cap}"
                ))
            } else if value < floor {
                Some(format!(
                    "suspicious: the record claims {what} {value}, under the replay floor {floor}"
                ))
            } else {
                None
            }
        };
        outside("fuel", logged.fuel, 0, self.fuel)
            .or_else(|| {
                outside(
                    "memory_bytes",
                    logged.memory_bytes as u64,
                    defaults.memory_bytes as u64 / 8,
                    self.memory_bytes as u64,
                )
            })
            .or_else(|| {
                outside(
                    "stack_bytes",
                    logged.stack_bytes as u64,
                    defaults.stack_bytes as u64 / 8,
                    self.stack_bytes as u64,
                )
            })
    }
}

/// What a replay found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Decisions re-run.
    pub replayed: usize,
    /// Decisions whose bytes came out identical.
    pub identical: usize,
    /// Decisions that came out different.
    pub mismatches: Vec<Mismatch>,
    /// Decisions that could not be re-run (archive entry missing, module
    /// refused) or are suspicious (over a cap, or cut by the time bound).
    pub unreplayable: Vec<Unreplayable>,
}

impl Report {
    /// Whether every selected decision was re-run and came out identical.
    #[must_use]
    pub fn all_identical(&self) -> bool {
        self.mismatches.is_empty() && self.unreplayable.is_empty()
    }
}

/// A decision that came out different on replay.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    /// The log line, counting from 1.
    pub line: usize,
    /// The customer's `id`.
    pub customer: String,
    /// The policy.
    pub policy: String,
    /// The decision as logged.
    pub logged: String,
    /// The decision as replayed.
    pub replayed: String,
    /// Where they differ, field by field.
    pub differences: Vec<Difference>,
    /// The first differing byte, for differences JSON values hide (such as
    /// how a number is spelled).
    pub first_byte: Option<usize>,
}

/// A decision that could not be re-run.
#[derive(Debug, Clone, Serialize)]
pub struct Unreplayable {
    /// The log line, counting from 1.
    pub line: usize,
    /// The customer's `id`.
    pub customer: String,
    /// The policy.
    pub policy: String,
    /// Why.
    pub reason: String,
}

enum Outcome {
    Identical,
    Mismatch(Mismatch),
    Unreplayable(Unreplayable),
}

/// Why a recorded decision's policy cannot be made again.
#[derive(Debug, Clone)]
enum Refused {
    /// The record claims more than the caps allow (why).
    OverCaps(String),
    /// The sandbox, module or parameters could not be had.
    Load(Arc<AuditError>),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::OverCaps(why) => f.write_str(why),
            Refused::Load(error) => f.write_str(&chain_text(&**error)),
        }
    }
}

/// What a policy of a record is made from: its limits, module, parameters,
/// name and release.
type PolicyKey = (LoggedLimits, Sha256, Sha256, String, Option<Sha256>);

/// Sandboxes, compiled modules and the recorded policies made of them, each
/// once.
struct Resources<'a> {
    archive: &'a Archive,
    cache: &'a ModuleCache,
    caps: Caps,
    sandboxes: HashMap<LoggedLimits, Result<Sandbox, Refused>>,
    plugins: HashMap<(LoggedLimits, Sha256), Result<Plugin, Refused>>,
    policies: HashMap<PolicyKey, Result<Policy, Refused>>,
}

impl Resources<'_> {
    fn key(job: &Recorded<'_>) -> PolicyKey {
        (
            job.limits,
            job.module_sha256,
            job.params_sha256,
            job.policy.clone(),
            job.release,
        )
    }

    fn load(&mut self, job: &Recorded<'_>) {
        let key = Resources::key(job);
        if self.policies.contains_key(&key) {
            return;
        }
        let policy = self.plugin(job).and_then(|plugin| {
            self.archive
                .recorded_policy(&job.policy, plugin, job.params_sha256)
                .map(|policy| policy.in_release(job.release))
                .map_err(|error| Refused::Load(Arc::new(error)))
        });
        self.policies.insert(key, policy);
    }

    /// The module of `job`, compiled in a sandbox of its limits.
    fn plugin(&mut self, job: &Recorded<'_>) -> Result<Plugin, Refused> {
        if let Some(reason) = self.caps.exceeded_by(job.limits) {
            return Err(Refused::OverCaps(reason));
        }
        let key = (job.limits, job.module_sha256);
        if let Some(plugin) = self.plugins.get(&key) {
            return plugin.clone();
        }
        let decision_time = self.caps.decision_time;
        let cache = self.cache;
        let sandbox = self
            .sandboxes
            .entry(job.limits)
            .or_insert_with(|| {
                Sandbox::with_deadline(job.limits.to_limits(), cache.clone(), decision_time)
                    .map_err(|e| Refused::Load(Arc::new(e.into())))
            })
            .clone();
        let plugin = sandbox.and_then(|sandbox| {
            self.archive
                .plugin(&sandbox, job.module_sha256)
                .map_err(|e| Refused::Load(Arc::new(e)))
        });
        self.plugins.insert(key, plugin.clone());
        plugin
    }

    fn run(&self, job: &Recorded<'_>) -> Outcome {
        let unreplayable = |reason: &str| {
            Outcome::Unreplayable(Unreplayable {
                line: job.at,
                customer: job.customer.clone(),
                policy: job.policy.clone(),
                reason: reason.to_owned(),
            })
        };
        let policy = match self.policies.get(&Resources::key(job)) {
            Some(Ok(policy)) => policy,
            Some(Err(refused)) => return unreplayable(&refused.to_string()),
            None => return unreplayable("module not loaded"),
        };
        let profile = Profile::new(job.customer.clone(), job.input.as_ref().into());
        let record = policy
            .decide(Job {
                as_of: job.as_of,
                profile: &profile,
            })
            .tagged(job.tag.clone());
        // Cut by the bound: the logged decision was neither confirmed nor
        // contradicted.
        if record.hit_deadline() {
            let ran = record.reasons().first().map_or("", |r| r.message.as_str());
            return unreplayable(&format!(
                "suspicious: {ran} (the replay's bound per decision)"
            ));
        }
        let replayed = match serde_json::to_string(&record) {
            Ok(text) => text,
            Err(e) => return unreplayable(&format!("cannot encode the replayed decision: {e}")),
        };
        if replayed == job.decision {
            return Outcome::Identical;
        }
        let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
        Outcome::Mismatch(Mismatch {
            line: job.at,
            customer: job.customer.clone(),
            policy: job.policy.clone(),
            differences: differences(&parse(&job.decision), &parse(&replayed)),
            first_byte: first_byte_difference(&job.decision, &replayed),
            logged: job.decision.clone().into_owned(),
            replayed,
        })
    }
}

/// Replays recorded decisions a batch at a time, from any store of them
/// (a log's lines, a decisions file's rows): the selected ones are re-run
/// on the modules and parameters in the archive and compared byte for
/// byte. Each module is compiled once; a record that claims more than the
/// caps is not run.
pub struct Replayer<'a> {
    resources: Resources<'a>,
    selection: &'a Selection,
    report: Report,
}

impl std::fmt::Debug for Replayer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayer")
            .field("selection", self.selection)
            .field("report", &self.report)
            .finish_non_exhaustive()
    }
}

impl<'a> Replayer<'a> {
    /// A replay on the modules and parameters in `archive`, compiled
    /// through `cache`, of the decisions `selection` picks.
    #[must_use]
    pub fn new(
        archive: &'a Archive,
        cache: &'a ModuleCache,
        selection: &'a Selection,
        caps: Caps,
    ) -> Replayer<'a> {
        Replayer {
            resources: Resources {
                archive,
                cache,
                caps,
                sandboxes: HashMap::new(),
                plugins: HashMap::new(),
                policies: HashMap::new(),
            },
            selection,
            report: Report::default(),
        }
    }

    /// Re-runs the selected decisions of `recorded`, in parallel.
    pub fn replay(&mut self, recorded: &[Recorded<'_>]) {
        let jobs: Vec<&Recorded<'_>> = recorded
            .iter()
            .filter(|job| self.selection.selects(job))
            .collect();
        for job in &jobs {
            self.resources.load(job);
        }
        let resources = &self.resources;
        let outcomes: Vec<Outcome> = jobs
            .par_iter()
            .with_min_len(16)
            .map(|job| resources.run(job))
            .collect();
        self.report.replayed += outcomes.len();
        for outcome in outcomes {
            match outcome {
                Outcome::Identical => self.report.identical += 1,
                Outcome::Mismatch(mismatch) => self.report.mismatches.push(mismatch),
                Outcome::Unreplayable(failure) => self.report.unreplayable.push(failure),
            }
        }
    }

    /// What the replay found.
    #[must_use]
    pub fn finish(self) -> Report {
        self.report
    }
}

/// Re-runs the selected decisions of the log at `path` on the modules and
/// parameters in `archive`. Check the log with
/// [`verify`](crate::verify::verify) first: this reads records, it
/// does not check their chain. Modules are compiled through `cache`; a
/// record that claims more than `caps` is not run.
pub fn replay(
    path: &Path,
    archive: &Archive,
    cache: &ModuleCache,
    selection: &Selection,
    caps: Caps,
) -> Result<Report, AuditError> {
    let mut lines = Lines::open(path)?;
    let mut replayer = Replayer::new(archive, cache, selection, caps);
    while let Some(batch) = lines.next_batch()? {
        replayer.replay(&select(path, &batch, selection)?);
    }
    Ok(replayer.finish())
}

/// The selected records of a batch, read.
pub(crate) fn select<'a>(
    path: &Path,
    batch: &'a Batch,
    selection: &Selection,
) -> Result<Vec<Recorded<'a>>, AuditError> {
    let jobs: Vec<Option<Recorded<'a>>> = (0..batch.len())
        .into_par_iter()
        .with_min_len(64)
        .filter(|&i| selection.wants_line(batch.first_line() + i))
        .map(|i| {
            Recorded::read(path, batch, i, |customer, policy| {
                selection.wants(customer, policy)
            })
        })
        .collect::<Result<_, AuditError>>()?;
    Ok(jobs.into_iter().flatten().collect())
}
