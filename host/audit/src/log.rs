//! Appending to a decision log: the lock that keeps writers apart, picking
//! up the chain from the last record, archiving what decided, and syncing
//! every batch before its decisions may be reported.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use verdict_sdk::Date;

use crate::archive::{self, Archive, Kind};
use crate::entry::{self, Fields, GENESIS, LoggedLimits};
use crate::error::AuditError;
use crate::problem::{Problem, ProblemKind};
use crate::timestamp;
use verdict_engine::{Decider, DecisionRecord, Experiment, Job, Limits, Policy, Sha256, Split};

/// What to do when another process holds the log's lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Fail at once with [`AuditError::Locked`].
    No,
    /// Block until the other process is done.
    Yes,
}

/// One decision to log: what went in and what came out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// The evaluation date.
    pub as_of: Date,
    /// The policy that decided (its plugin and parameters are archived):
    /// in an experiment, the arm's.
    pub policy: &'a Arc<Policy>,
    /// The rule of the split experiment the decision was part of, if any.
    pub split: Option<&'a Split>,
    /// The customer profile as given, a JSON object.
    pub input: &'a str,
    /// The decision as reported.
    pub decision: &'a DecisionRecord,
    /// `decision` as the caller printed it (`serde_json`'s encoding), if it
    /// has it: the log then stores exactly those bytes, encoded once.
    pub decision_json: Option<&'a str>,
}

/// A decision log open for appending, locked against other writers for as
/// long as it is open.
#[derive(Debug)]
pub struct DecisionLog {
    path: PathBuf,
    file: File,
    archive: Archive,
    limits: LoggedLimits,
    next_seq: u64,
    head: String,
    /// (module SHA-256, parameter SHA-256) already archived.
    archived: Vec<(Sha256, Sha256)>,
    buffer: Vec<u8>,
    poisoned: bool,
}

impl DecisionLog {
    /// Opens (creating if needed) the log at `path` for appending decisions
    /// made under `limits`, with its modules and parameters kept in
    /// `archive`. Takes the log's exclusive lock, then checks the last
    /// record (it must be whole and match its hash) to continue the chain.
    pub fn open(
        path: &Path,
        archive: Archive,
        limits: Limits,
        wait: Wait,
    ) -> Result<DecisionLog, AuditError> {
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(AuditError::io("open", path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) if wait == Wait::Yes => {
                file.lock().map_err(AuditError::io("lock", path))?;
            }
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
        let (next_seq, head) = match tail(&file).map_err(AuditError::io("read", path))? {
            None => {
                // A new file: make its name durable too.
                if let Some(parent) = path.parent() {
                    let parent = if parent.as_os_str().is_empty() {
                        Path::new(".")
                    } else {
                        parent
                    };
                    archive::sync_dir(parent)?;
                }
                (1, GENESIS.to_owned())
            }
            Some(tail) => continue_after(path, &tail)?,
        };
        Ok(DecisionLog {
            path: path.to_path_buf(),
            file,
            archive,
            limits: LoggedLimits::of(limits),
            next_seq,
            head,
            archived: Vec::new(),
            buffer: Vec::new(),
            poisoned: false,
        })
    }

    /// The log file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many records the log holds.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.next_seq - 1
    }

    /// Appends the decisions of `customers` × `policies` as a [`Decider`]
    /// returns them: customers in order, and for each customer the
    /// policies in order (each policy's arms in order). `encoded[i]`, when given, is `records[i]` as the caller
    /// already encoded it (the log then stores those very bytes); empty to
    /// have the log encode them.
    pub fn append_grid_encoded(
        &mut self,
        policies: &[Arc<Policy>],
        customers: &[Job<'_>],
        records: &[DecisionRecord],
        encoded: &[String],
    ) -> Result<(), AuditError> {
        let entries = grid_entries(policies, customers, records, encoded)?;
        self.append(&entries)
    }

    /// Appends decisions. Their modules and parameters are archived first;
    /// the records are then written and synced to disk in one go, so when
    /// this returns they are durable and may be reported. A failed write
    /// (a full disk, say) is undone: the file is cut back to its last whole
    /// record, so the log stays as it was and a later append may succeed.
    /// Only when that cut fails too may the log end torn; this handle then
    /// refuses to append more.
    pub(crate) fn append(&mut self, entries: &[Entry<'_>]) -> Result<(), AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned {
                path: self.path.clone(),
            });
        }
        if entries.is_empty() {
            return Ok(());
        }
        let mut sources: Vec<(&Policy, Sha256)> = Vec::new();
        for entry in entries {
            if !sources
                .iter()
                .any(|(p, _)| std::ptr::eq(*p, &**entry.policy))
            {
                sources.push((&**entry.policy, self.archive_policy(entry.policy)?));
            }
        }
        let time = timestamp::now();
        let host = env!("CARGO_PKG_VERSION");
        // Encoded on the calling thread, on purpose: `eval` decides the next
        // chunk on the thread pool meanwhile, and encoding is a few
        // microseconds per record against tens for deciding it.
        self.buffer.clear();
        let mut head = self.head.clone();
        for (i, entry) in entries.iter().enumerate() {
            // Every entry's policy was archived just above.
            let params_sha256 = sources
                .iter()
                .find(|(p, _)| std::ptr::eq(*p, &**entry.policy))
                .map_or_else(|| entry.policy.params_sha256(), |&(_, sha)| sha);
            let fields = Fields {
                seq: self.next_seq + i as u64,
                time: &time,
                host,
                limits: self.limits,
                as_of: entry.as_of,
                policy: entry.policy.name(),
                plugin_version: &entry.policy.plugin().manifest().version,
                module_sha256: entry.policy.plugin().sha256(),
                params_sha256,
                release: entry.policy.release(),
                split: entry.split,
                input: entry.input,
                decision: entry.decision,
                decision_json: entry.decision_json,
            };
            head = entry::write_record(&mut self.buffer, &fields, &head)?;
        }
        let io = |action: &'static str| AuditError::io(action, &self.path);
        let before = self.file.metadata().map_err(io("read"))?.len();
        let written = self
            .file
            .write_all(&self.buffer)
            .and_then(|()| self.file.sync_data());
        if written.is_err() {
            // Undo the partial write, so the log stays as it was and a later
            // append (once the disk has room) continues the chain; if even
            // that fails, the log may end torn and `verify` will say so.
            let undone = self
                .file
                .set_len(before)
                .and_then(|()| self.file.sync_data());
            self.poisoned = undone.is_err();
        }
        if let Err(source) = written {
            return Err(AuditError::Io {
                action: "append to",
                path: self.path.clone(),
                source,
            });
        }
        self.head = head;
        self.next_seq += entries.len() as u64;
        Ok(())
    }

    /// Archives the modules and parameters of `policies` ahead of their
    /// first decision, as appending their decisions would: an archive that
    /// cannot be written is then known before any decision waits on it.
    pub fn archive(&mut self, policies: &[Arc<Policy>]) -> Result<(), AuditError> {
        for policy in policies.iter().flat_map(Policy::deciders) {
            self.archive_policy(policy)?;
        }
        Ok(())
    }

    /// Archives a policy's module and parameters and returns the
    /// parameters' SHA-256. Each entry is written (and read back) once per
    /// log handle; after that it is only looked for, and one that went
    /// away (a removed or replaced archive) is written again, so no record
    /// is logged without its entries, or the append fails naming them.
    fn archive_policy(&mut self, policy: &Policy) -> Result<Sha256, AuditError> {
        let module = policy.plugin().sha256();
        let params = policy.params_sha256();
        let module_stored = self.archived.iter().any(|&(m, _)| m == module);
        if !(module_stored && self.archive.holds(Kind::Module, module)) {
            self.archive.store(Kind::Module, policy.plugin().bytes())?;
        }
        let pair_stored = self.archived.contains(&(module, params));
        if !(pair_stored && self.archive.holds(Kind::Params, params)) {
            self.archive
                .store(Kind::Params, policy.params_json().as_bytes())?;
        }
        if !pair_stored {
            self.archived.push((module, params));
        }
        Ok(params)
    }
}

/// The entries for the decisions of `customers` × `policies`, in the order
/// a [`Decider`] returns them (each policy's arms as its experiment has
/// them decide); `encoded` is empty or holds each record's JSON.
pub(crate) fn grid_entries<'a>(
    policies: &'a [Arc<Policy>],
    customers: &'a [Job<'a>],
    records: &'a [DecisionRecord],
    encoded: &'a [String],
) -> Result<Vec<Entry<'a>>, AuditError> {
    let slots: Vec<_> = Decider::new(policies).slots(customers).collect();
    if records.len() != slots.len() || !(encoded.is_empty() || encoded.len() == records.len()) {
        return Err(AuditError::Mismatched {
            decisions: records.len(),
            encoded: encoded.len(),
            customers: customers.len(),
            policies: policies.len(),
        });
    }
    Ok(slots
        .into_iter()
        .zip(records)
        .enumerate()
        .map(|(i, ((job, slot), decision))| Entry {
            as_of: job.as_of,
            policy: slot.policy,
            split: slot.experiment.and_then(Experiment::split),
            input: job.profile.json(),
            decision,
            decision_json: encoded.get(i).map(String::as_str),
        })
        .collect())
}

/// The last line of a file: its bytes, where it starts, and whether it ends
/// with a newline. `None` for an empty file.
struct Tail {
    line: Vec<u8>,
    start: u64,
    terminated: bool,
    file: File,
}

fn tail(file: &File) -> std::io::Result<Option<Tail>> {
    const BLOCK: u64 = 64 << 10;
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut reader = file.try_clone()?;
    let mut last = [0u8];
    reader.seek(SeekFrom::Start(len - 1))?;
    reader.read_exact(&mut last)?;
    let terminated = last[0] == b'\n';
    let end = if terminated { len - 1 } else { len };
    // Walk back a block at a time to the newline before the last line.
    let mut start = end;
    let mut line = Vec::new();
    while start > 0 {
        let from = start.saturating_sub(BLOCK);
        let mut block = vec![0; usize::try_from(start - from).unwrap_or(0)];
        reader.seek(SeekFrom::Start(from))?;
        reader.read_exact(&mut block)?;
        match block.iter().rposition(|&b| b == b'\n') {
            Some(at) => {
                block.drain(..=at);
                block.extend_from_slice(&line);
                line = block;
                start = from + at as u64 + 1;
                break;
            }
            None => {
                block.extend_from_slice(&line);
                line = block;
                start = from;
            }
        }
    }
    Ok(Some(Tail {
        line,
        start,
        terminated,
        file: reader,
    }))
}

/// The sequence number and hash to continue from, or why the tail is bad.
fn continue_after(path: &Path, tail: &Tail) -> Result<(u64, String), AuditError> {
    let kind = if tail.terminated {
        match entry::parse(&tail.line) {
            Err(problem) => ProblemKind::Malformed(problem),
            Ok(parsed) if !parsed.intact => ProblemKind::Edited,
            Ok(parsed) => return Ok((parsed.record.seq + 1, parsed.record.hash.into_owned())),
        }
    } else {
        ProblemKind::Torn
    };
    let line = line_number(&tail.file, tail.start).map_err(AuditError::io("read", path))?;
    Err(AuditError::BrokenTail {
        path: path.to_path_buf(),
        problem: Problem { line, kind },
    })
}

/// The line number of the line starting at byte `start`.
fn line_number(file: &File, start: u64) -> std::io::Result<usize> {
    let mut reader = file.try_clone()?;
    reader.seek(SeekFrom::Start(0))?;
    let mut newlines = 0;
    let mut block = vec![0; 1 << 20];
    let mut left = start;
    while left > 0 {
        let want = usize::try_from(left.min(block.len() as u64)).unwrap_or(block.len());
        let read = reader.read(&mut block[..want])?;
        if read == 0 {
            break;
        }
        newlines += block[..read].iter().filter(|&&b| b == b'\n').count();
        left -= read as u64;
    }
    Ok(newlines + 1)
}
