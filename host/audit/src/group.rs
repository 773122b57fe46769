//! Group commit: one decision log shared by threads that append at once.
//! Their pending appends are written together and synced with one
//! `fdatasync`, and each caller returns only once its own records are
//! durable (or have failed with the group they were written in).

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use verdict_engine::{DecisionRecord, Job, Policy, Split};
use verdict_sdk::Date;

use crate::error::AuditError;
use crate::log::{DecisionLog, Entry, grid_entries};

/// A [`DecisionLog`] shared by concurrent callers, committing their appends
/// in groups. There is no committer thread: the first caller to find the
/// log free takes it and every append queued by then, writes them as one
/// batch (archive, write, one sync), and hands each waiter the batch's
/// result; appends queued meanwhile form the next batch. A failed batch
/// fails exactly its own callers and leaves the log as it was before it
/// (see [`DecisionLog`]); the next batch is tried afresh.
#[derive(Debug)]
pub struct GroupLog {
    path: PathBuf,
    state: Mutex<State>,
    committed: Condvar,
}

#[derive(Debug)]
struct State {
    /// The log, while no caller is committing a batch to it.
    log: Option<DecisionLog>,
    /// Appends waiting for the next batch.
    queue: Vec<Pending>,
    next_ticket: u64,
    /// Results of committed appends their callers have not collected yet.
    done: HashMap<u64, Result<(), Arc<AuditError>>>,
    health: LogHealth,
}

/// One caller's records, owned so that another caller may commit them.
#[derive(Debug)]
struct Pending {
    ticket: u64,
    records: Vec<Record>,
}

#[derive(Debug)]
struct Record {
    as_of: Date,
    policy: Arc<Policy>,
    split: Option<Split>,
    input: Arc<str>,
    decision: DecisionRecord,
    json: Option<String>,
}

impl Record {
    fn of(entry: &Entry<'_>) -> Record {
        Record {
            as_of: entry.as_of,
            policy: Arc::clone(entry.policy),
            split: entry.split.cloned(),
            input: Arc::from(entry.input),
            decision: entry.decision.clone(),
            json: entry.decision_json.map(str::to_owned),
        }
    }

    fn entry(&self) -> Entry<'_> {
        Entry {
            as_of: self.as_of,
            policy: &self.policy,
            split: self.split.as_ref(),
            input: &self.input,
            decision: &self.decision,
            decision_json: self.json.as_deref(),
        }
    }
}

/// Whether decisions can be logged, as far as the appends so far tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogHealth {
    /// Batches that failed since the log was opened.
    pub failures: u64,
    /// Why the last batch failed, while no batch has succeeded since.
    pub broken: Option<String>,
}

impl GroupLog {
    /// Shares `log`.
    #[must_use]
    pub fn new(log: DecisionLog) -> GroupLog {
        GroupLog {
            path: log.path().to_path_buf(),
            state: Mutex::new(State {
                log: Some(log),
                queue: Vec::new(),
                next_ticket: 0,
                done: HashMap::new(),
                health: LogHealth::default(),
            }),
            committed: Condvar::new(),
        }
    }

    /// The log file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the last batch was logged, and how many have failed.
    #[must_use]
    pub fn health(&self) -> LogHealth {
        self.lock().health.clone()
    }

    /// As [`DecisionLog::append_grid_encoded`], committed with whatever
    /// other callers append at the same time. Blocks until this caller's
    /// records are durable, or failed.
    pub fn append_grid_encoded(
        &self,
        policies: &[Arc<Policy>],
        customers: &[Job<'_>],
        records: &[DecisionRecord],
        encoded: &[String],
    ) -> Result<(), AuditError> {
        let records: Vec<Record> = grid_entries(policies, customers, records, encoded)?
            .iter()
            .map(Record::of)
            .collect();
        if records.is_empty() {
            return Ok(());
        }
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push(Pending { ticket, records });
        loop {
            if let Some(result) = state.done.remove(&ticket) {
                return result.map_err(AuditError::Shared);
            }
            match state.log.take() {
                Some(log) => state = self.commit(state, log, ticket),
                None => {
                    state = self
                        .committed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        }
    }

    /// As [`DecisionLog::archive`], once no batch is being committed; the
    /// outcome counts for [`GroupLog::health`] as a batch's does.
    pub fn archive(&self, policies: &[Arc<Policy>]) -> Result<(), AuditError> {
        let mut state = self.lock();
        let mut log = loop {
            match state.log.take() {
                Some(log) => break log,
                None => {
                    state = self
                        .committed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        };
        drop(state);
        let archived = catch_unwind(AssertUnwindSafe(|| log.archive(policies)));
        let mut state = self.lock();
        state.log = Some(log);
        self.committed.notify_all();
        let result = match archived {
            Ok(result) => result.map_err(Arc::new),
            Err(panic) => {
                drop(state);
                resume_unwind(panic);
            }
        };
        state.health.record(&self.path, &result);
        result.map_err(AuditError::Shared)
    }

    /// Commits every queued append as one batch, with the state unlocked
    /// meanwhile, then hands out the result and wakes the waiters. A panic
    /// while appending fails the batch and goes on up the committing
    /// caller, `ticket`.
    fn commit<'s>(
        &'s self,
        mut state: MutexGuard<'s, State>,
        mut log: DecisionLog,
        ticket: u64,
    ) -> MutexGuard<'s, State> {
        let batch = std::mem::take(&mut state.queue);
        drop(state);
        let appended = catch_unwind(AssertUnwindSafe(|| {
            let entries: Vec<Entry<'_>> = batch
                .iter()
                .flat_map(|pending| pending.records.iter().map(Record::entry))
                .collect();
            log.append(&entries)
        }));
        let mut state = self.lock();
        state.log = Some(log);
        let (result, panic) = match appended {
            Ok(result) => (result.map_err(Arc::new), None),
            Err(panic) => {
                let error = AuditError::Panicked {
                    path: self.path.clone(),
                };
                (Err(Arc::new(error)), Some(panic))
            }
        };
        state.health.record(&self.path, &result);
        for pending in &batch {
            if pending.ticket != ticket || panic.is_none() {
                state.done.insert(pending.ticket, result.clone());
            }
        }
        self.committed.notify_all();
        if let Some(panic) = panic {
            drop(state);
            resume_unwind(panic);
        }
        state
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl LogHealth {
    /// Takes in a batch's result; logs the change when appends start or
    /// stop failing.
    fn record(&mut self, path: &Path, result: &Result<(), Arc<AuditError>>) {
        match result {
            Ok(()) => {
                if self.broken.take().is_some() {
                    tracing::info!(
                        log = %path.display(),
                        "decisions are logged again; the service is ready"
                    );
                }
            }
            Err(error) => {
                self.failures += 1;
                let why = verdict_engine::chain_text(&**error);
                if self.broken.is_none() {
                    tracing::error!(
                        log = %path.display(),
                        "decisions cannot be logged, so none is answered until an append succeeds: {why}"
                    );
                }
                self.broken = Some(why);
            }
        }
    }
}
