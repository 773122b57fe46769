//! The live policy set: the snapshot every request reads, the bounded
//! version history of each policy, and the ways the snapshot changes — a
//! reload from the policies' [`Source`], and a rollback or a promotion (the
//! challenger of an experiment made the champion) of one policy.
//!
//! Every load reads the whole set from one place: the directory the
//! policies path leads to then (so a release published by switching a link
//! or replacing the directory is read whole, and the release it replaced
//! is no longer read at all), or the signed release the reference names
//! then.
//!
//! Requests never lock: they load the current [`Snapshot`] (one atomic
//! pointer read) and keep it to the end, so a request sees exactly one
//! version of every policy. Changes are serialized by a mutex, built off to
//! the side and published with one atomic store.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use arc_swap::ArcSwap;

use verdict_engine::{Mode, Plugin, Policy, PolicySet, Sandbox, Sha256};

use crate::source::{Found, LoadError, ReleaseId, Source};

/// Versions kept per policy, the active one included.
pub(crate) const HISTORY: usize = 10;

/// One consistent state of the service's policies.
#[derive(Debug)]
pub struct Snapshot {
    /// Counts swaps since start (0: the set loaded at start).
    pub generation: u64,
    /// The active policies.
    pub set: PolicySet,
    /// Versions kept per policy (the active one included).
    pub history: BTreeMap<String, usize>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reload {
    /// The generation now serving.
    pub generation: u64,
    /// Policies that were not active before.
    pub added: Vec<String>,
    /// Policies whose module or parameters changed on disk.
    pub changed: Vec<String>,
    /// Policies whose binding is gone.
    pub removed: Vec<String>,
    /// The directory the policies were read from: the policies path,
    /// resolved.
    pub dir: PathBuf,
    /// The directory the previous load read, when this one found the path
    /// leading to another (a switched link, another release).
    pub previous_dir: Option<PathBuf>,
    /// The release read, when the policies come in releases.
    pub release: Option<ReleaseId>,
}

impl Reload {
    /// Whether the reload swapped in a new set.
    #[must_use]
    pub fn swapped(&self) -> bool {
        !(self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty())
    }
}

/// What a rollback did.
#[derive(Debug, Clone)]
pub struct Rollback {
    /// The generation now serving.
    pub generation: u64,
    /// The version that was active and is dropped.
    pub from: Arc<Policy>,
    /// The version active now.
    pub to: Arc<Policy>,
    /// Versions left in the policy's history, the active one included.
    pub history: usize,
}

/// Why a rollback did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    /// No active policy has that name.
    #[error("no active policy named `{0}`")]
    Unknown(String),
    /// The active version is the oldest one kept.
    #[error("policy `{0}` has no earlier version to roll back to")]
    NoEarlier(String),
}

/// What a promotion did.
#[derive(Debug, Clone)]
pub struct Promotion {
    /// The generation now serving.
    pub generation: u64,
    /// The experiment that ended.
    pub experiment: String,
    /// The version that was active (the champion with its challenger),
    /// kept in the history: a rollback goes back to it.
    pub from: Arc<Policy>,
    /// The challenger, now the champion, without an experiment.
    pub to: Arc<Policy>,
}

/// Why a promotion did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    /// No active policy has that name.
    #[error("no active policy named `{0}`")]
    Unknown(String),
    /// The active version runs no experiment.
    #[error("policy `{0}` runs no experiment: there is no challenger to promote")]
    NoChallenger(String),
}

/// What identifies a version as loaded from disk: a new module or new
/// parameters make a new version, and so does a new experiment (another
/// id, rule, challenger module or challenger parameters); anything else
/// (a comment, a wider version range) does not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    sha256: Sha256,
    params: Sha256,
    experiment: Option<(String, Mode, Sha256, Sha256)>,
}

impl Fingerprint {
    fn of(policy: &Policy) -> Fingerprint {
        Fingerprint {
            sha256: policy.plugin().sha256(),
            params: policy.params_sha256(),
            experiment: policy.experiment().map(|experiment| {
                let challenger = experiment.challenger();
                (
                    experiment.id().to_owned(),
                    experiment.mode().clone(),
                    challenger.plugin().sha256(),
                    challenger.params_sha256(),
                )
            }),
        }
    }
}

/// One policy's versions, oldest first; the last one is active.
#[derive(Debug)]
struct History {
    versions: VecDeque<Arc<Policy>>,
    /// What the policy's files said at the last load. A reload makes a new
    /// version only when this changes, so a rollback survives reloads
    /// caused by other policies' files.
    on_disk: Fingerprint,
}

/// What the last successful load read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The directory the policies were read from: the one the policies
    /// path led to, or the release's in the release cache.
    pub dir: PathBuf,
    /// Every binding and module file of the set, as the bindings name them.
    pub files: Vec<PathBuf>,
    /// The release read, when the policies come in releases.
    pub release: Option<ReleaseId>,
}

impl Loaded {
    fn of(found: &Found) -> Loaded {
        Loaded {
            dir: found.dir.clone(),
            release: found.release.clone(),
            files: found
                .set
                .policies()
                .iter()
                .flat_map(|policy| {
                    std::iter::once(policy.binding().to_path_buf())
                        .chain(policy.deciders().map(|p| p.plugin().path().to_path_buf()))
                })
                .collect(),
        }
    }
}

#[derive(Debug)]
struct State {
    generation: u64,
    histories: BTreeMap<String, History>,
}

/// The service's policies: the live snapshot and what can change it.
#[derive(Debug)]
pub struct Live {
    sandbox: Sandbox,
    source: Source,
    current: ArcSwap<Snapshot>,
    state: Mutex<State>,
    /// Written under `state`'s lock; read without it (the watcher reads
    /// it while a reload may be compiling).
    loaded: ArcSwap<Loaded>,
}

impl Live {
    /// Loads every binding `source` holds now; fails when any does not
    /// load.
    pub fn load(sandbox: Sandbox, source: Source) -> Result<Live, LoadError> {
        let found = source.first(&sandbox)?;
        let histories = found
            .set
            .policies()
            .iter()
            .map(|policy| {
                (
                    policy.name().to_owned(),
                    History {
                        versions: VecDeque::from([Arc::clone(policy)]),
                        on_disk: Fingerprint::of(policy),
                    },
                )
            })
            .collect();
        let state = State {
            generation: 0,
            histories,
        };
        Ok(Live {
            current: ArcSwap::from_pointee(snapshot(&state)),
            state: Mutex::new(state),
            loaded: ArcSwap::from_pointee(Loaded::of(&found)),
            sandbox,
            source,
        })
    }

    /// Where the policies come from.
    #[must_use]
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// What the last successful load read.
    #[must_use]
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded.load_full()
    }

    /// The state a request should use from its start to its end.
    #[must_use]
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is only replaced whole, after every fallible step, so
        // a panic elsewhere cannot leave it half changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the source again — resolves the policies path again and
    /// loads the directory it leads to, or resolves the release reference
    /// again and, when it names another release, fetches and verifies it —
    /// and, when the whole set loads, swaps it in. Only policies whose
    /// module or parameters changed get a new version; the others keep
    /// theirs (a rolled-back one included). On error nothing changes.
    /// Blocks while it reads and compiles: call it off the request path.
    pub fn reload(&self) -> Result<Reload, LoadError> {
        let mut state = self.lock();
        let previous = self.loaded.load_full();
        // Every module kept in a history is compiled already; reuse them.
        let known: Vec<&Plugin> = state
            .histories
            .values()
            .flat_map(|history| {
                history
                    .versions
                    .iter()
                    .flat_map(|policy| policy.deciders().map(|p| p.plugin()))
            })
            .collect();
        let current = previous.release.as_ref().map(|release| release.digest);
        let Some(found) = self.source.read(&self.sandbox, &known, current)? else {
            return Ok(Reload {
                generation: state.generation,
                dir: previous.dir.clone(),
                release: previous.release.clone(),
                ..Reload::default()
            });
        };
        let loaded = &found.set;
        let mut report = Reload {
            previous_dir: (previous.dir != found.dir).then(|| previous.dir.clone()),
            dir: found.dir.clone(),
            release: found.release.clone(),
            ..Reload::default()
        };
        // Unchanged policies read from new places (another release): the
        // active version is the same, but its files are now those.
        let mut moved = false;
        let mut histories = BTreeMap::new();
        let mut old = std::mem::take(&mut state.histories);
        for policy in loaded.policies() {
            let fingerprint = Fingerprint::of(policy);
            let history = match old.remove(policy.name()) {
                Some(mut history) if history.on_disk == fingerprint => {
                    if let Some(active) = history.versions.back_mut().filter(|active| {
                        Fingerprint::of(active) == fingerprint
                            && (active.binding() != policy.binding()
                                || active.plugin().path() != policy.plugin().path())
                    }) {
                        *active = Arc::clone(policy);
                        moved = true;
                    }
                    history
                }
                // The files now say what is active already (they were put
                // back after a rollback): nothing to swap.
                Some(mut history)
                    if history
                        .versions
                        .back()
                        .is_some_and(|active| Fingerprint::of(active) == fingerprint) =>
                {
                    history.on_disk = fingerprint;
                    history
                }
                Some(mut history) => {
                    history.versions.push_back(Arc::clone(policy));
                    while history.versions.len() > HISTORY {
                        history.versions.pop_front();
                    }
                    history.on_disk = fingerprint;
                    report.changed.push(policy.name().to_owned());
                    history
                }
                None => {
                    report.added.push(policy.name().to_owned());
                    History {
                        versions: VecDeque::from([Arc::clone(policy)]),
                        on_disk: fingerprint,
                    }
                }
            };
            histories.insert(policy.name().to_owned(), history);
        }
        report.removed = old.into_keys().collect();
        state.histories = histories;
        self.loaded.store(Arc::new(Loaded::of(&found)));
        if report.swapped() {
            state.generation += 1;
        }
        if report.swapped() || moved {
            self.current.store(Arc::new(snapshot(&state)));
        }
        report.generation = state.generation;
        Ok(report)
    }

    /// Switches `name` back to its previous version (module and
    /// parameters) and drops the version that was active.
    pub fn rollback(&self, name: &str) -> Result<Rollback, RollbackError> {
        let mut state = self.lock();
        let history = state
            .histories
            .get_mut(name)
            .ok_or_else(|| RollbackError::Unknown(name.to_owned()))?;
        if history.versions.len() < 2 {
            return Err(RollbackError::NoEarlier(name.to_owned()));
        }
        let (Some(from), Some(to)) = (
            history.versions.pop_back(),
            history.versions.back().cloned(),
        ) else {
            return Err(RollbackError::NoEarlier(name.to_owned()));
        };
        let remaining = history.versions.len();
        state.generation += 1;
        self.current.store(Arc::new(snapshot(&state)));
        Ok(Rollback {
            generation: state.generation,
            from,
            to,
            history: remaining,
        })
    }
}

impl Live {
    /// Makes the challenger of `name`'s experiment its champion, in one
    /// swap: the experiment ends, and the version that ran it stays in the
    /// history, so a rollback brings it back. As after a rollback, the
    /// promoted version stays until the policy's files change.
    pub fn promote(&self, name: &str) -> Result<Promotion, PromoteError> {
        let mut state = self.lock();
        let history = state
            .histories
            .get_mut(name)
            .ok_or_else(|| PromoteError::Unknown(name.to_owned()))?;
        let Some(from) = history.versions.back().cloned() else {
            return Err(PromoteError::Unknown(name.to_owned()));
        };
        let Some(experiment) = from.experiment() else {
            return Err(PromoteError::NoChallenger(name.to_owned()));
        };
        let to = Arc::clone(experiment.challenger());
        let experiment = experiment.id().to_owned();
        history.versions.push_back(Arc::clone(&to));
        while history.versions.len() > HISTORY {
            history.versions.pop_front();
        }
        state.generation += 1;
        self.current.store(Arc::new(snapshot(&state)));
        Ok(Promotion {
            generation: state.generation,
            experiment,
            from,
            to,
        })
    }
}

/// The snapshot of a state: the newest version of each policy.
fn snapshot(state: &State) -> Snapshot {
    Snapshot {
        generation: state.generation,
        set: PolicySet::from_policies(
            state
                .histories
                .values()
                .filter_map(|history| history.versions.back().cloned())
                .collect(),
        ),
        history: state
            .histories
            .iter()
            .map(|(name, history)| (name.clone(), history.versions.len()))
            .collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]
mod tests {
    use std::path::Path;

    use super::{HISTORY, Live, RollbackError};
    use crate::policies_dir::PoliciesDir;
    use crate::source::Source;
    use verdict_engine::{Limits, ModuleCache, Sandbox};

    /// A directory with `hello.toml` bound to the hand-written plugin at
    /// `version` (1.0.0 or 1.1.0).
    fn bind_hello(dir: &Path, version: &str) {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/plugins/hello.wat");
        let text = std::fs::read_to_string(source)
            .unwrap()
            .replace("1.0.0", version);
        let module = dir.join(format!("hello-{version}.wat"));
        std::fs::write(&module, text).unwrap();
        std::fs::write(
            dir.join("hello.toml"),
            format!(
                "plugin = {:?}\nversion = \"^1.0\"\n",
                module.display().to_string()
            ),
        )
        .unwrap();
    }

    fn active_version(live: &Live) -> String {
        live.snapshot().set.policies()[0]
            .plugin()
            .manifest()
            .version
            .clone()
    }

    #[test]
    fn reload_versions_only_what_changed_and_rollback_steps_back() {
        let dir = tempfile::tempdir().unwrap();
        bind_hello(dir.path(), "1.0.0");
        let live = Live::load(
            Sandbox::new(Limits::default(), ModuleCache::disabled()).unwrap(),
            Source::Dir(PoliciesDir::new(dir.path()).unwrap()),
        )
        .unwrap();
        assert_eq!(live.snapshot().generation, 0);

        // Same module and parameters: no new version, no swap.
        std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
        let report = live.reload().unwrap();
        assert!(!report.swapped());
        assert_eq!(live.snapshot().history["hello"], 1);

        bind_hello(dir.path(), "1.1.0");
        let report = live.reload().unwrap();
        assert_eq!(report.changed, ["hello"]);
        assert_eq!(
            (report.generation, active_version(&live)),
            (1, "1.1.0".to_owned())
        );
        assert_eq!(live.snapshot().history["hello"], 2);

        let rollback = live.rollback("hello").unwrap();
        assert_eq!(rollback.from.plugin().manifest().version, "1.1.0");
        assert_eq!(rollback.to.plugin().manifest().version, "1.0.0");
        assert_eq!((rollback.generation, rollback.history), (2, 1));
        assert_eq!(active_version(&live), "1.0.0");
        assert!(matches!(
            live.rollback("hello"),
            Err(RollbackError::NoEarlier(_))
        ));
        assert!(matches!(
            live.rollback("nope"),
            Err(RollbackError::Unknown(_))
        ));

        // The files still say 1.1.0, but they have not changed since: a
        // reload keeps the rollback.
        assert!(!live.reload().unwrap().swapped());
        assert_eq!(active_version(&live), "1.0.0");

        // A broken binding changes nothing.
        std::fs::write(dir.path().join("broken.toml"), "plugin = 7\n").unwrap();
        assert!(live.reload().is_err());
        assert_eq!(
            (live.snapshot().generation, active_version(&live)),
            (2, "1.0.0".to_owned())
        );
        std::fs::remove_file(dir.path().join("broken.toml")).unwrap();

        // Files put back to what is active: no new version.
        bind_hello(dir.path(), "1.0.0");
        assert!(!live.reload().unwrap().swapped());
        assert_eq!(live.snapshot().history["hello"], 1);

        // The history is bounded.
        for i in 0..HISTORY + 3 {
            bind_hello(dir.path(), if i % 2 == 0 { "1.1.0" } else { "1.0.0" });
            assert!(live.reload().unwrap().swapped());
        }
        assert_eq!(live.snapshot().history["hello"], HISTORY);
    }
}
