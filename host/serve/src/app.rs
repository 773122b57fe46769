//! The state every handler shares — live policies, metrics, the token,
//! the evaluation slots, the decision log and what waits for it, the change
//! journal — and the changes to it (reload, rollback, promotion) with the
//! log lines, metrics and journal entries they leave.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::Token;
use crate::live::{Live, PromoteError, Promotion, Reload, Rollback, RollbackError, Snapshot};
use crate::metrics::Metrics;
use crate::source::{LoadError, ReleaseId, Source};
use verdict_audit::journal::{Change, Event, PolicyChange};
use verdict_audit::{DecisionLog, GroupLog, Journal};
use verdict_engine::{Experiment, Policy};

/// What the handlers share.
#[derive(Debug)]
pub struct App {
    /// The policies.
    pub live: Live,
    /// The metrics.
    pub metrics: Metrics,
    /// The token state-changing endpoints require; without one they
    /// refuse every request.
    pub token: Option<Token>,
    /// The decision log, if decisions are logged: requests that finish
    /// deciding at the same time share one write and one sync.
    pub log: Option<GroupLog>,
    /// Every change to what serves.
    pub journal: Journal,
    /// Held across a change and its journal entry, so entries follow the
    /// order of the changes and each one's "before" is the set it replaced.
    changing: Mutex<()>,
    slots: Arc<Semaphore>,
    /// Decided records waiting for the log without holding an evaluation
    /// slot.
    pub(crate) log_queue: LogQueue,
}

/// Most bytes of decided records (as JSON) that may wait for the decision
/// log's sync after their requests gave back their evaluation slots. A
/// request whose records do not fit waits holding its slot, so memory
/// stays bounded by this plus what the slots hold.
pub(crate) const LOG_QUEUE_BYTES: usize = 64 << 20;

/// Room for decided records that wait for the log's sync, counted in KiB.
#[derive(Debug)]
pub(crate) struct LogQueue {
    kib: Arc<Semaphore>,
}

impl LogQueue {
    /// Room for `bytes` of records.
    #[must_use]
    pub(crate) fn new(bytes: usize) -> LogQueue {
        LogQueue {
            kib: Arc::new(Semaphore::new((bytes >> 10).min(Semaphore::MAX_PERMITS))),
        }
    }

    /// Trades a request's evaluation slot for room here while its decided
    /// records (`bytes` of JSON) wait for their sync: waiting for the disk
    /// needs no plugin instance, and the requests that decide meanwhile
    /// join the same sync. Keeps the slot when there is no room. Hold the
    /// answer until the records are durable.
    pub(crate) fn wait_here(
        &self,
        slot: &mut Option<OwnedSemaphorePermit>,
        bytes: usize,
    ) -> Option<OwnedSemaphorePermit> {
        let kib = u32::try_from(bytes.div_ceil(1024).max(1)).ok()?;
        let room = Arc::clone(&self.kib).try_acquire_many_owned(kib).ok()?;
        *slot = None;
        Some(room)
    }
}

impl App {
    /// The shared state; at most `slots` evaluations run at once. The set
    /// `live` holds is journaled as loaded.
    #[must_use]
    pub fn new(
        live: Live,
        token: Option<Token>,
        slots: usize,
        log: Option<DecisionLog>,
        journal: Journal,
    ) -> App {
        let metrics = Metrics::new();
        let snapshot = live.snapshot();
        metrics.set_active(snapshot.generation, &snapshot.set);
        let app = App {
            live,
            metrics,
            token,
            log: log.map(GroupLog::new),
            journal,
            changing: Mutex::new(()),
            slots: Arc::new(Semaphore::new(slots)),
            log_queue: LogQueue::new(LOG_QUEUE_BYTES),
        };
        app.archive_active();
        let policies = snapshot
            .set
            .policies()
            .iter()
            .map(|p| PolicyChange::new(p.name(), None, Some(p)))
            .collect();
        app.journal(app.change(Event::Load, "start", snapshot.generation, policies));
        app
    }

    /// A change to journal: what the service reads its policies from now.
    fn change(
        &self,
        event: Event,
        cause: &str,
        generation: u64,
        policies: Vec<PolicyChange>,
    ) -> Change {
        let loaded = self.live.loaded();
        Change {
            event,
            cause: cause.to_owned(),
            generation,
            source: Some(match &loaded.release {
                Some(release) => release.reference.clone(),
                None => loaded.dir.display().to_string(),
            }),
            release: loaded.release.as_ref().map(ReleaseId::journaled),
            policies,
            diagnostic: None,
        }
    }

    /// Appends `change` to the journal; a journal that cannot be written is
    /// logged as an error (the change itself has happened).
    fn journal(&self, change: Change) {
        if let Err(error) = self.journal.append(change) {
            tracing::error!(
                "the change journal is behind: {}",
                verdict_engine::chain_text(&error)
            );
        }
    }

    fn changing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.changing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Archives the active policies' modules and parameters before any of
    /// them decides (blocking), so that an archive that cannot be written
    /// makes the service unready at once rather than at its first request.
    /// A failure is in the log's health, and logged there.
    fn archive_active(&self) {
        if let Some(log) = &self.log {
            let _unready = log.archive(self.live.snapshot().set.policies());
        }
    }

    /// Waits for an evaluation slot. Every plugin call needs an instance
    /// from the engine's fixed pool, so the number of evaluations running
    /// at once must stay below its size whatever the number of requests;
    /// the others wait here without holding a thread. `None` once the
    /// service is shutting down.
    pub async fn evaluation_slot(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.slots).acquire_owned().await.ok()
    }

    /// Reads the policies' source again (blocking: call it off the request
    /// path), logs and counts the outcome. `cause` says what asked for it.
    pub fn reload(&self, cause: &str) -> Result<Reload, LoadError> {
        let started = Instant::now();
        let _changing = self.changing();
        let before = self.live.snapshot();
        match self.live.reload() {
            Ok(report) => {
                match (&report.previous_dir, &report.release, self.live.source()) {
                    (Some(_), Some(release), _) => tracing::info!(
                        cause,
                        reference = %release.reference,
                        digest = %release.digest,
                        signer = %release.signer.key_file.display(),
                        key_sha256 = %release.signer.fingerprint,
                        "the reference names another release now, verified"
                    ),
                    (Some(previous), None, Source::Dir(dir)) => tracing::info!(
                        cause,
                        path = %dir.given().display(),
                        from = %previous.display(),
                        to = %report.dir.display(),
                        "the policies path leads to another directory now"
                    ),
                    _ => {}
                }
                if report.swapped() {
                    self.archive_active();
                    let snapshot = self.live.snapshot();
                    self.metrics.record_swap(snapshot.generation, &snapshot.set);
                    tracing::info!(
                        cause,
                        generation = report.generation,
                        added = ?report.added,
                        changed = ?report.changed,
                        removed = ?report.removed,
                        millis = started.elapsed().as_millis(),
                        "policies swapped"
                    );
                    for policy in snapshot.set.policies().iter().filter(|p| {
                        report.added.iter().any(|n| n == p.name())
                            || report.changed.iter().any(|n| n == p.name())
                    }) {
                        tracing::info!(
                            policy = %policy.name(),
                            version = %policy.plugin().version(),
                            sha256 = %policy.plugin().sha256(),
                            params = %policy.params_json(),
                            experiment = ?policy.experiment().map(Experiment::id),
                            "now serving"
                        );
                    }
                    let policies = swapped(&before, &snapshot, &report);
                    self.journal(self.change(Event::Swap, cause, report.generation, policies));
                } else {
                    tracing::debug!(cause, "policies unchanged");
                    if cause == RELOAD_REQUEST {
                        let change = self.change(Event::Reload, cause, report.generation, vec![]);
                        self.journal(change);
                    }
                }
                Ok(report)
            }
            Err(error) if error.is_unreachable() => {
                tracing::warn!(
                    cause,
                    "the previous policies keep serving: {}",
                    verdict_engine::chain_text(&error)
                );
                Err(error)
            }
            Err(error) => {
                self.metrics.record_rejected_swap();
                let diagnostic = verdict_engine::chain_text(&error);
                tracing::error!(
                    cause,
                    "reload rejected, the previous policies keep serving: {diagnostic}"
                );
                let mut change = self.change(Event::Rejected, cause, before.generation, vec![]);
                change.diagnostic = Some(diagnostic);
                self.journal(change);
                Err(error)
            }
        }
    }

    /// Rolls `name` back to its previous version, logs and counts it.
    pub fn rollback(&self, name: &str) -> Result<Rollback, RollbackError> {
        let _changing = self.changing();
        let rollback = self.live.rollback(name)?;
        let snapshot = self.live.snapshot();
        self.metrics
            .record_rollback(snapshot.generation, &snapshot.set);
        tracing::warn!(
            policy = name,
            from_version = %rollback.from.plugin().version(),
            from_sha256 = %rollback.from.plugin().sha256(),
            to_version = %rollback.to.plugin().version(),
            to_sha256 = %rollback.to.plugin().sha256(),
            params = %rollback.to.params_json(),
            generation = rollback.generation,
            "rolled back"
        );
        let policies = vec![PolicyChange::new(
            name,
            Some(&rollback.from),
            Some(&rollback.to),
        )];
        self.journal(self.change(
            Event::Rollback,
            "rollback request",
            rollback.generation,
            policies,
        ));
        Ok(rollback)
    }

    /// Promotes the challenger of `name`'s experiment, logs and counts it.
    pub fn promote(&self, name: &str) -> Result<Promotion, PromoteError> {
        let _changing = self.changing();
        let promotion = self.live.promote(name)?;
        let snapshot = self.live.snapshot();
        self.metrics
            .record_promotion(snapshot.generation, &snapshot.set);
        tracing::warn!(
            policy = name,
            experiment = %promotion.experiment,
            from_version = %promotion.from.plugin().version(),
            from_sha256 = %promotion.from.plugin().sha256(),
            to_version = %promotion.to.plugin().version(),
            to_sha256 = %promotion.to.plugin().sha256(),
            params = %promotion.to.params_json(),
            generation = promotion.generation,
            "challenger promoted, experiment ended"
        );
        let policies = vec![PolicyChange::new(
            name,
            Some(&promotion.from),
            Some(&promotion.to),
        )];
        self.journal(self.change(
            Event::Promote,
            "promote request",
            promotion.generation,
            policies,
        ));
        Ok(promotion)
    }
}

/// What asks for a reload through `POST /v1/reload`: such a reload is
/// journaled even when it finds nothing changed (somebody asked).
pub(crate) const RELOAD_REQUEST: &str = "reload request";

/// Each policy a reload added, changed or removed, before and after, in
/// name order.
fn swapped(before: &Snapshot, after: &Snapshot, report: &Reload) -> Vec<PolicyChange> {
    let find = |snapshot: &Snapshot, name: &str| -> Option<Arc<Policy>> {
        snapshot
            .set
            .policies()
            .iter()
            .find(|p| p.name() == name)
            .cloned()
    };
    let mut names: Vec<&String> = report
        .added
        .iter()
        .chain(&report.changed)
        .chain(&report.removed)
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            PolicyChange::new(
                name,
                find(before, name).as_deref(),
                find(after, name).as_deref(),
            )
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn records_waiting_for_the_log_give_back_the_slot_while_there_is_room() {
        let slots = Arc::new(Semaphore::new(2));
        let queue = LogQueue::new(10 << 10);
        let take = || Some(Arc::clone(&slots).try_acquire_owned().unwrap());

        let mut first = take();
        let room = queue.wait_here(&mut first, 6 << 10);
        assert!(room.is_some() && first.is_none());
        assert_eq!(slots.available_permits(), 2, "the slot is free again");

        // 6 KiB of 10 are taken: 5 more do not fit, so that request keeps
        // its slot while it waits; 4 (a partial KiB counts whole) do.
        let mut second = take();
        assert!(queue.wait_here(&mut second, 4 * 1024 + 1).is_none());
        assert!(second.is_some());
        assert_eq!(slots.available_permits(), 1);
        let mut third = take();
        assert!(queue.wait_here(&mut third, 4 << 10).is_some());
        assert!(third.is_none());

        // Once the first request's records are durable, its room is back.
        drop(room);
        assert!(queue.wait_here(&mut second, 4 * 1024 + 1).is_some());
        assert!(second.is_none());
        assert_eq!(slots.available_permits(), 2);
    }
}
