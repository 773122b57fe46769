//! The problems the audit tools report: what can be wrong with a record of
//! a log, or with an entry of its archive. A leaf: it depends on nothing
//! else in the crate, so the log, the archive, verification and the error
//! type can all name these without depending on each other.

use std::fmt;

use verdict_engine::{Arm, Sha256, shown_id};

/// The two kinds of archived content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Module bytes (`modules/<sha>.wasm`).
    Module,
    /// Parameter JSON (`params/<sha>.json`).
    Params,
}

impl Kind {
    /// `module` or `parameter set`, for messages.
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Module => "module",
            Kind::Params => "parameter set",
        }
    }
}

/// Why an archive entry cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flaw {
    /// There is no such entry.
    Missing,
    /// The entry's content hashes to something else.
    Corrupt {
        /// The SHA-256 of what the file holds.
        actual: Sha256,
    },
    /// The entry could not be read.
    Unreadable(String),
    /// The entry is intact, but this host does not load it as a module
    /// (why).
    Refused(String),
}

impl std::fmt::Display for Flaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flaw::Missing => f.write_str("is missing"),
            Flaw::Corrupt { actual } => {
                write!(
                    f,
                    "does not match its name (its content has SHA-256 {actual})"
                )
            }
            Flaw::Unreadable(why) => write!(f, "cannot be read: {why}"),
            Flaw::Refused(why) => write!(f, "is not a module this host loads: {why}"),
        }
    }
}

/// Why a line is not a record this host reads, or a record lacks what a
/// tool needs of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The line is empty.
    #[error("empty line")]
    Empty,
    /// The line is not JSON of the record's shape (the decoder's message).
    #[error("not a log record: {0}")]
    NotRecord(String),
    /// The record is of another format version.
    #[error("record format v{found} is not v{reads}, the one this host reads")]
    Version {
        /// The record's `v`.
        found: u32,
        /// The version this host reads.
        reads: u32,
    },
    /// A digest member is not 64 lowercase hex digits.
    #[error("`{0}` is not a lowercase hex SHA-256")]
    NotDigest(&'static str),
    /// `as_of` is not a date.
    #[error("bad `as_of`: {0}")]
    AsOf(String),
    /// The input has no customer `id`.
    #[error("input has no customer `id`: {0}")]
    NoCustomer(String),
    /// The logged decision is not a decision record.
    #[error("the logged decision does not read back: {0}")]
    Decision(String),
}

/// The first bad record of a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The line, counting from 1.
    pub line: usize,
    /// What is wrong with it.
    pub kind: ProblemKind,
}

/// What can be wrong with a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The file ends in the middle of this line: a write was interrupted.
    Torn,
    /// The line is not a record of this format.
    Malformed(RecordError),
    /// The record's content does not match its `hash`.
    Edited,
    /// `prev` does not match the hash of the line before, although the
    /// record is the one expected there: the line before was edited and
    /// re-hashed, or this record was put in place of another.
    Relinked,
    /// Records are missing before this line.
    Deleted {
        /// The first missing sequence number.
        first: u64,
        /// The last missing sequence number.
        last: u64,
    },
    /// This line holds a record that belongs elsewhere; the one expected
    /// here is at another line.
    Reordered {
        /// The sequence number expected here.
        expected: u64,
        /// The one found here.
        found: u64,
        /// Where the expected record is.
        expected_at: usize,
    },
    /// This line repeats an earlier record.
    Repeated {
        /// Its sequence number.
        seq: u64,
        /// Where it first appears.
        first_line: usize,
    },
    /// This line holds a record from elsewhere in the sequence, and the
    /// expected one is nowhere in the log.
    OutOfOrder {
        /// The sequence number expected here.
        expected: u64,
        /// The one found here.
        found: u64,
    },
    /// A module or parameter set the record names is missing from the
    /// archive or damaged there.
    Archive {
        /// Module or parameters.
        kind: Kind,
        /// The SHA-256 the record names.
        sha256: Sha256,
        /// What is wrong with the entry.
        flaw: Flaw,
    },
    /// The record and the decision it holds name different customers,
    /// policies, plugin versions or modules: the decision is not the one
    /// the record says was made.
    Inconsistent {
        /// The record's member (`customer`: the input's `id`).
        member: &'static str,
        /// What the record says.
        record: String,
        /// What its decision says.
        decision: String,
    },
    /// The module archived under the record's `module_sha256` declares
    /// another plugin version than the record: the record names a module
    /// that did not make it.
    Contradicted(Box<Contradiction>),
    /// The decision's arm or its `answered` is not what its experiment's
    /// rule gives for its customer: the record was changed, or made by a
    /// host that did not keep the rule.
    WrongArm {
        /// The experiment the decision names.
        experiment: String,
        /// The arm it says it was decided on.
        arm: Arm,
        /// Whether it says it answered.
        answered: bool,
        /// The arm the rule says answers this customer.
        answering: Arm,
        /// The rule, as the record states it (`shadow`, or the split).
        rule: String,
    },
}

/// A record's `plugin_version` against what the module archived under its
/// `module_sha256` declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contradiction {
    /// The module the record names.
    pub sha256: Sha256,
    /// The record's `plugin_version`.
    pub record: String,
    /// The archived module's plugin name.
    pub plugin: String,
    /// The archived module's version.
    pub archived: String,
}

impl ProblemKind {
    /// A short stable label: `torn`, `malformed`, `edited`, `broken-link`,
    /// `deleted`, `reordered`, `missing-archive-entry`, `bad-archive-entry`,
    /// `inconsistent`, `contradicts-archive`, `wrong-arm`.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            ProblemKind::Torn => "torn",
            ProblemKind::Malformed(_) => "malformed",
            ProblemKind::Edited => "edited",
            ProblemKind::Relinked | ProblemKind::OutOfOrder { .. } => "broken-link",
            ProblemKind::Deleted { .. } => "deleted",
            ProblemKind::Reordered { .. } | ProblemKind::Repeated { .. } => "reordered",
            ProblemKind::Archive {
                flaw: Flaw::Missing,
                ..
            } => "missing-archive-entry",
            ProblemKind::Archive { .. } => "bad-archive-entry",
            ProblemKind::Inconsistent { .. } => "inconsistent",
            ProblemKind::Contradicted(_) => "contradicts-archive",
            ProblemKind::WrongArm { .. } => "wrong-arm",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = self.label();
        match self {
            ProblemKind::Torn => write!(
                f,
                "{label}: the log ends in the middle of this record (a write was interrupted, \
                 e.g. by a crash)"
            ),
            ProblemKind::Malformed(message) => {
                write!(f, "{label}: not a valid record ({message})")
            }
            ProblemKind::Edited => write!(
                f,
                "{label}: the record's content does not match its `hash` (changed after it was \
                 written)"
            ),
            ProblemKind::Relinked => write!(
                f,
                "{label}: `prev` does not match the hash of the record before (that record was \
                 edited and re-hashed, or this one was put in place of another)"
            ),
            ProblemKind::Deleted { first, last } if first == last => write!(
                f,
                "{label}: record #{first} is missing before this line (removed from the log)"
            ),
            ProblemKind::Deleted { first, last } => write!(
                f,
                "{label}: records #{first} to #{last} are missing before this line (removed \
                 from the log)"
            ),
            ProblemKind::Reordered {
                expected,
                found,
                expected_at,
            } => write!(
                f,
                "{label}: this line holds record #{found} where #{expected} belongs (#{expected} \
                 is at line {expected_at})"
            ),
            ProblemKind::Repeated { seq, first_line } => write!(
                f,
                "{label}: this line repeats record #{seq}, already at line {first_line}"
            ),
            ProblemKind::OutOfOrder { expected, found } => write!(
                f,
                "{label}: this line holds record #{found} where #{expected} belongs, and \
                 #{expected} is nowhere in the log"
            ),
            ProblemKind::Archive { kind, sha256, flaw } => {
                write!(f, "{label}: the {} {sha256} {flaw}", kind.noun())
            }
            ProblemKind::Inconsistent {
                member,
                record,
                decision,
            } => write!(
                f,
                "{label}: the record's {} is `{}` but its decision's is `{}` (the decision is \
                 not the one the record says was made)",
                if *member == "customer" {
                    "customer (its input's `id`)"
                } else {
                    member
                },
                shown_id(record),
                shown_id(decision)
            ),
            ProblemKind::Contradicted(contradiction) => {
                let Contradiction {
                    sha256,
                    record,
                    plugin,
                    archived,
                } = &**contradiction;
                write!(
                    f,
                    "{label}: the record says plugin version `{}`, but the module {sha256} archived \
                 under its `module_sha256` is plugin `{plugin}` version `{archived}` (the record \
                 names a module that did not make it)",
                    shown_id(record)
                )
            }
            ProblemKind::WrongArm {
                experiment,
                arm,
                answered,
                answering,
                rule,
            } => write!(
                f,
                "{label}: the decision says it is the {arm} arm of experiment `{}` and {} \
                 answered, but under the experiment's rule ({rule}) the {answering} arm answers \
                 this customer",
                shown_id(experiment),
                if *answered { "was" } else { "was not" },
            ),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}
