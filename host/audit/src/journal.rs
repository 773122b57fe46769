//! The change journal: every change to what a service serves — the set
//! loaded at start, each swap, each rejected change with its diagnostic, a
//! requested reload that found nothing new, each rollback and promotion —
//! with its time, generation and each policy's version before and after.
//!
//! On disk it sits beside the decision log (`decisions.jsonl` →
//! `decisions.changes.jsonl`), one JSON line per change, append-only and
//! sealed into a hash chain exactly as the log's records are (`hash` is
//! the SHA-256 of the line without its `,"hash":"…"` member, `prev` the
//! hash of the line before), so `verdict log verify` checks it too:
//!
//! ```text
//! {"journal":1,"seq":1,"time":"…","host":"1.0.0","change":{…},"prev":"…","hash":"…"}
//! ```
//!
//! Without a file the journal is kept in memory for the process's lifetime.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use verdict_engine::{Policy, Sha256};

use crate::entry::{self, GENESIS};
use crate::error::AuditError;
use crate::lines::Lines;
use crate::problem::{ProblemKind, RecordError};
use crate::timestamp;
use crate::verify;

/// The journal format version, the `journal` member of every line.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// How every journal line starts: what tells a journal from a decision log.
pub(crate) const LINE_START: &[u8] = b"{\"journal\":";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// The set the service started with.
    Load,
    /// A new set went live (a file change, a requested reload, a poll).
    Swap,
    /// A change was refused; the previous set keeps serving.
    Rejected,
    /// A requested reload found nothing changed.
    Reload,
    /// A policy went back to its previous version.
    Rollback,
    /// A challenger became its policy's champion.
    Promote,
}

/// One policy's version: what decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Version {
    /// The plugin's version.
    pub plugin_version: String,
    /// SHA-256 of the module bytes.
    pub module_sha256: Sha256,
    /// The parameters.
    pub params: Map<String, Value>,
    /// The digest of the signed release it came in, `sha256:…`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The experiment it runs, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
}

impl Version {
    /// `policy`'s version.
    #[must_use]
    pub fn of(policy: &Policy) -> Version {
        Version {
            plugin_version: policy.plugin().manifest().version.clone(),
            module_sha256: policy.plugin().sha256(),
            params: policy.params().clone(),
            release: policy.release().map(|digest| format!("sha256:{digest}")),
            experiment: policy.experiment().map(|e| e.id().to_owned()),
        }
    }
}

/// A parameter whose value differs between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamChange {
    /// The parameter (a top-level key of `[params]`).
    pub key: String,
    /// Its value before (absent: it was not set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// Its value after (absent: it is no longer set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// How one policy changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    /// The policy.
    pub policy: String,
    /// Its version before (absent: it was added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Version>,
    /// Its version after (absent: it was removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Version>,
    /// The parameters whose values differ, in key order (none when the
    /// policy was added or removed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<ParamChange>,
}

impl PolicyChange {
    /// The change from `before` to `after` of the policy `name`.
    #[must_use]
    pub fn new(name: &str, before: Option<&Policy>, after: Option<&Policy>) -> PolicyChange {
        let before = before.map(Version::of);
        let after = after.map(Version::of);
        // An added or removed policy's parameters are all in its version.
        let params = match (&before, &after) {
            (Some(old), Some(new)) => param_changes(&old.params, &new.params),
            _ => Vec::new(),
        };
        PolicyChange {
            policy: name.to_owned(),
            before,
            after,
            params,
        }
    }
}

/// Each top-level parameter whose value differs from `old` to `new`, in
/// key order.
fn param_changes(old: &Map<String, Value>, new: &Map<String, Value>) -> Vec<ParamChange> {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| old.get(*key) != new.get(*key))
        .map(|key| ParamChange {
            key: key.clone(),
            before: old.get(key).cloned(),
            after: new.get(key).cloned(),
        })
        .collect()
}

/// The signed release a set came in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// The reference it was pulled by.
    pub reference: String,
    /// Its manifest digest, `sha256:…`.
    pub digest: String,
    /// The public key file that verified it.
    pub signer: PathBuf,
    /// SHA-256 of that key.
    pub signer_sha256: String,
}

/// One change, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// What happened.
    pub event: Event,
    /// What asked for it: `start`, `file change`, `reload request`,
    /// `poll`, `rollback request`, `promote request`.
    pub cause: String,
    /// The generation serving afterwards.
    pub generation: u64,
    /// Where the set was read from (a directory, a release reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The release the set came in, when it came in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Release>,
    /// Each policy that changed, in name order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyChange>,
    /// Why a change was refused, pointing at its file, line and column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostic: Option<String>,
}

/// A journal line: one change, sealed into the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The format version.
    pub journal: u32,
    /// Position in the journal, counting from 1.
    pub seq: u64,
    /// When the change was made (RFC 3339, UTC).
    pub time: String,
    /// The version of the service that made it.
    pub host: String,
    /// The change.
    pub change: Change,
    /// The hash of the line before (64 zeros for the first).
    pub prev: String,
    /// This line's hash.
    pub hash: String,
}

/// A line as written, before it is sealed (`hash` comes last, outside).
#[derive(Serialize)]
struct Unsealed<'a> {
    journal: u32,
    seq: u64,
    time: &'a str,
    host: &'a str,
    change: &'a Change,
    prev: &'a str,
}

/// Reads one journal line; the error says why it is not one.
pub(crate) fn parse(line: &[u8]) -> Result<(Entry, bool), RecordError> {
    if line.is_empty() {
        return Err(RecordError::Empty);
    }
    let entry: Entry =
        serde_json::from_slice(line).map_err(|e| RecordError::NotRecord(e.to_string()))?;
    if entry.journal != FORMAT_VERSION {
        return Err(RecordError::Version {
            found: entry.journal,
            reads: FORMAT_VERSION,
        });
    }
    for (name, digest) in [("hash", &entry.hash), ("prev", &entry.prev)] {
        if digest.parse::<Sha256>().is_err() || digest.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(RecordError::NotDigest(name));
        }
    }
    let intact = entry::content_hash(line).is_some_and(|hash| hash == entry.hash);
    Ok((entry, intact))
}

/// The journal file kept beside the decision log at `log`.
#[must_use]
pub fn beside(log: &Path) -> PathBuf {
    log.with_extension("changes.jsonl")
}

/// The change journal, on disk or in memory; appends are serialized.
#[derive(Debug)]
pub struct Journal {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The file and its path, when kept on disk (locked while open).
    file: Option<(PathBuf, File)>,
    /// Every entry, oldest first.
    entries: Vec<Entry>,
    /// Whether a write to the file failed: it takes no more lines.
    poisoned: bool,
}

impl Journal {
    /// A journal kept in memory only.
    #[must_use]
    pub fn in_memory() -> Journal {
        Journal {
            inner: Mutex::new(Inner {
                file: None,
                entries: Vec::new(),
                poisoned: false,
            }),
        }
    }

    /// Opens (creating if needed) the journal at `path`, locked against
    /// other writers, and reads back what it holds: the whole chain must
    /// verify, or the journal cannot be continued.
    pub fn open(path: &Path) -> Result<Journal, AuditError> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(AuditError::io("open", path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(AuditError::Locked {
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(source)) => {
                return Err(AuditError::Io {
                    action: "lock",
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
        let report = verify::verify(path, None, None)?;
        if let Some(problem) = report.problem {
            return Err(AuditError::BrokenTail {
                path: path.to_path_buf(),
                problem,
            });
        }
        let mut entries = Vec::with_capacity(report.lines);
        let mut lines = Lines::open(path)?;
        while let Some(batch) = lines.next_batch()? {
            for i in 0..batch.len() {
                let line = batch.first_line() + i;
                let (entry, _) = parse(batch.line(i)).map_err(|problem| AuditError::Record {
                    path: path.to_path_buf(),
                    line,
                    problem,
                })?;
                entries.push(entry);
            }
        }
        Ok(Journal {
            inner: Mutex::new(Inner {
                file: Some((path.to_path_buf(), file)),
                entries,
                poisoned: false,
            }),
        })
    }

    /// The file the journal is kept in, if any.
    #[must_use]
    pub fn path(&self) -> Option<PathBuf> {
        self.lock().file.as_ref().map(|(path, _)| path.clone())
    }

    /// Appends `change`, durably when the journal is on disk, and returns
    /// its entry. The entry is kept in memory even when the write fails
    /// (the change happened); the error then says the file is behind, and
    /// it takes no more lines.
    pub fn append(&self, change: Change) -> Result<Entry, AuditError> {
        let mut inner = self.lock();
        let (seq, prev) = inner
            .entries
            .last()
            .map_or((1, GENESIS.to_owned()), |last| {
                (last.seq + 1, last.hash.clone())
            });
        let time = timestamp::now();
        let host = env!("CARGO_PKG_VERSION");
        let mut line = serde_json::to_vec(&Unsealed {
            journal: FORMAT_VERSION,
            seq,
            time: &time,
            host,
            change: &change,
            prev: &prev,
        })?;
        // Seal the object without its closing brace.
        line.pop();
        let hash = entry::seal(&mut line, 0);
        let entry = Entry {
            journal: FORMAT_VERSION,
            seq,
            time,
            host: host.to_owned(),
            change,
            prev,
            hash,
        };
        inner.entries.push(entry.clone());
        if inner.poisoned
            && let Some((path, _)) = &inner.file
        {
            return Err(AuditError::Poisoned { path: path.clone() });
        }
        let failed = match &mut inner.file {
            Some((path, file)) => file
                .write_all(&line)
                .and_then(|()| file.sync_data())
                .map_err(AuditError::io("append to", &*path))
                .err(),
            None => None,
        };
        match failed {
            // A line may be half written: the file takes no more.
            Some(error) => {
                inner.poisoned = true;
                Err(error)
            }
            None => Ok(entry),
        }
    }

    /// Up to `limit` entries after sequence number `after` (0: from the
    /// first), oldest first, and the number of the last entry.
    #[must_use]
    pub fn since(&self, after: u64, limit: usize) -> (Vec<Entry>, u64) {
        let inner = self.lock();
        let start = inner.entries.partition_point(|e| e.seq <= after);
        let last = inner.entries.last().map_or(0, |e| e.seq);
        (
            inner.entries[start..].iter().take(limit).cloned().collect(),
            last,
        )
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a journal line is, as far as the chain is concerned: its sequence
/// number, `prev` and `hash` when it reads and matches its hash.
pub(crate) fn check_line(line: &[u8]) -> Result<(u64, String, String), ProblemKind> {
    match parse(line) {
        Err(message) => Err(ProblemKind::Malformed(message)),
        Ok((_, false)) => Err(ProblemKind::Edited),
        Ok((entry, true)) => Ok((entry.seq, entry.prev, entry.hash)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(event: Event, generation: u64) -> Change {
        Change {
            event,
            cause: "test".to_owned(),
            generation,
            source: None,
            release: None,
            policies: Vec::new(),
            diagnostic: None,
        }
    }

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn param_changes_name_each_differing_key_in_order() {
        let old = map(json!({"b": 1, "a": {"x": 1}, "same": true, "gone": 5}));
        let new = map(json!({"b": 2, "a": {"x": 2}, "same": true, "new": "n"}));
        let changes = param_changes(&old, &new);
        let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "gone", "new"]);
        assert_eq!(changes[0].before, Some(json!({"x": 1})));
        assert_eq!(changes[2].after, None);
        assert_eq!(changes[3].before, None);
        assert!(param_changes(&old, &old).is_empty());
    }

    #[test]
    fn a_journal_reopens_where_it_ended_and_pages_by_sequence_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.changes.jsonl");
        let journal = Journal::open(&path).unwrap();
        let first = journal.append(change(Event::Load, 0)).unwrap();
        assert_eq!((first.seq, first.prev.as_str()), (1, GENESIS));
        journal.append(change(Event::Swap, 1)).unwrap();
        // One writer at a time.
        assert!(matches!(
            Journal::open(&path),
            Err(AuditError::Locked { .. })
        ));
        drop(journal);

        let journal = Journal::open(&path).unwrap();
        let third = journal.append(change(Event::Rollback, 2)).unwrap();
        let (all, last) = journal.since(0, 10);
        assert_eq!(last, 3);
        assert_eq!(all[1].change, change(Event::Swap, 1));
        assert_eq!(third.prev, all[1].hash);
        let (page, _) = journal.since(1, 1);
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].seq, 2);
        assert!(journal.since(3, 10).0.is_empty());
        drop(journal);

        let report = verify::verify(&path, None, None).unwrap();
        assert!(report.problem.is_none());
        assert_eq!(report.lines, 3);
        assert_eq!(report.head.as_deref(), Some(third.hash.as_str()));
    }

    #[test]
    fn an_edited_journal_is_not_continued() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("decisions.changes.jsonl");
        let journal = Journal::open(&path).unwrap();
        journal.append(change(Event::Load, 0)).unwrap();
        journal.append(change(Event::Swap, 1)).unwrap();
        drop(journal);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"generation\":1", "\"generation\":9")).unwrap();
        let error = Journal::open(&path).unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");
    }

    #[test]
    fn a_journal_in_memory_chains_its_entries() {
        let journal = Journal::in_memory();
        assert_eq!(journal.path(), None);
        let a = journal.append(change(Event::Load, 0)).unwrap();
        let b = journal.append(change(Event::Reload, 0)).unwrap();
        assert_eq!(b.prev, a.hash);
        assert_ne!(a.hash, b.hash);
        let line = serde_json::to_vec(&b).unwrap();
        let (parsed, intact) = parse(&line).unwrap();
        assert!(intact);
        assert_eq!(parsed, b);
    }
}
