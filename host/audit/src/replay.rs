//! Replay: re-running logged decisions on the archived module bytes and
//! parameters that made them, and comparing the decision bytes.
//!
//! Nothing outside the log and its archive is read: not the policy files,
//! not the plugins in the working tree. Each distinct (limits, module) is
//! compiled once; decisions run in parallel, each in its own fresh instance.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::archive::{Archive, Kind};
use crate::compare::{Difference, differences, first_byte_difference};
use crate::entry::LoggedLimits;
use crate::error::AuditError;
use crate::lines::{Batch, Lines};
use crate::recorded::Recorded;
use verdict_engine::{Limits, ModuleCache, Plugin, Sandbox, chain_text, decide};

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

/// The most a logged record may claim of each limit. A log edited (and
/// re-hashed) to carry an enormous budget would otherwise make replay run
/// without end; such records are reported as suspicious instead of run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Fuel per call.
    pub fuel: u64,
    /// Linear memory per instance, in bytes.
    pub memory_bytes: usize,
    /// Guest stack, in bytes.
    pub stack_bytes: usize,
}

impl Default for Caps {
    /// Ten times the engine's default fuel, eight times its memory and
    /// stack: room for logs made with raised limits, not for runaways.
    fn default() -> Caps {
        let limits = Limits::default();
        Caps {
            fuel: limits.fuel * 10,
            memory_bytes: limits.memory_bytes * 8,
            stack_bytes: limits.stack_bytes * 8,
        }
    }
}

impl Caps {
    /// Why `logged` is over the caps, if it is.
    fn exceeded_by(&self, logged: LoggedLimits) -> Option<String> {
        let over = |what: &str, value: u64, cap: u64| {
            (value > cap).then(|| {
                format!("suspicious: the record claims {what} {value}, over the replay cap {cap}")
            })
        };
        over("fuel", logged.fuel, self.fuel)
            .or_else(|| {
                over(
                    "memory_bytes",
                    logged.memory_bytes as u64,
                    self.memory_bytes as u64,
                )
            })
            .or_else(|| {
                over(
                    "stack_bytes",
                    logged.stack_bytes as u64,
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
    /// refused).
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

/// Compiled modules and parameter sets read from the archive, each once.
struct Resources<'a> {
    archive: &'a Archive,
    cache: &'a ModuleCache,
    caps: Caps,
    sandboxes: HashMap<LoggedLimits, Result<Sandbox, String>>,
    plugins: HashMap<(LoggedLimits, String), Result<Arc<Plugin>, String>>,
    params: HashMap<String, Result<Arc<str>, String>>,
}

impl Resources<'_> {
    fn load(&mut self, job: &Recorded<'_>) {
        let key = (job.limits, job.module_sha256.clone());
        if let Some(reason) = self.caps.exceeded_by(job.limits) {
            self.plugins.insert(key, Err(reason));
            return;
        }
        if !self.plugins.contains_key(&key) {
            let sandbox = self.sandboxes.entry(job.limits).or_insert_with(|| {
                Sandbox::new(job.limits.to_limits(), self.cache.clone()).map_err(|e| chain_text(&e))
            });
            let plugin = sandbox.clone().and_then(|sandbox| {
                let bytes = self
                    .archive
                    .fetch(Kind::Module, &job.module_sha256)
                    .map_err(|e| e.to_string())?;
                let path = self.archive.path(Kind::Module, &job.module_sha256);
                Plugin::from_bytes(&sandbox, &path, bytes.into())
                    .map(Arc::new)
                    .map_err(|e| chain_text(&e))
            });
            self.plugins.insert(key, plugin);
        }
        if !self.params.contains_key(&job.params_sha256) {
            let params = self
                .archive
                .fetch(Kind::Params, &job.params_sha256)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    String::from_utf8(bytes)
                        .map(Arc::from)
                        .map_err(|_| "archived parameters are not UTF-8".to_owned())
                });
            self.params.insert(job.params_sha256.clone(), params);
        }
    }

    fn run(&self, job: &Recorded<'_>, buffer: &mut Vec<u8>) -> Outcome {
        let unreplayable = |reason: &str| {
            Outcome::Unreplayable(Unreplayable {
                line: job.at,
                customer: job.customer.clone(),
                policy: job.policy.clone(),
                reason: reason.to_owned(),
            })
        };
        let plugin = match self.plugins.get(&(job.limits, job.module_sha256.clone())) {
            Some(Ok(plugin)) => plugin,
            Some(Err(reason)) => return unreplayable(reason),
            None => return unreplayable("module not loaded"),
        };
        let params = match self.params.get(&job.params_sha256) {
            Some(Ok(params)) => params,
            Some(Err(reason)) => return unreplayable(reason),
            None => return unreplayable("parameters not loaded"),
        };
        let record = decide(
            plugin,
            &job.policy,
            params,
            job.as_of,
            &job.customer,
            &job.input,
            buffer,
        );
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
                params: HashMap::new(),
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
            .map_init(Vec::new, |buffer, job| resources.run(job, buffer))
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
fn select<'a>(
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
