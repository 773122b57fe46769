//! Verifying a log: every line whole and well formed, every record matching
//! its hash, every `prev` linking to the record before, and every module
//! and parameter set it names present and intact in the archive.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use verdict_engine::Sha256;

use crate::archive::Archive;
use crate::entry::{self, GENESIS};
use crate::error::AuditError;
use crate::lines::Lines;
pub use crate::problem::{Flaw, Kind, Problem, ProblemKind, RecordError};

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Lines read (records, good or bad).
    pub lines: usize,
    /// The hash of the last record, when the log is intact and not empty:
    /// note it down to check later that nothing was cut off the end.
    pub head: Option<String>,
    /// Distinct modules the log names.
    pub modules: usize,
    /// Distinct parameter sets the log names.
    pub params: usize,
    /// The first bad record, if any.
    pub problem: Option<Problem>,
    /// Whether a record with the anchor hash was found (when one was given).
    pub anchor_found: Option<bool>,
}

impl Report {
    /// Whether the log passed every check.
    #[must_use]
    pub fn intact(&self) -> bool {
        self.problem.is_none() && self.anchor_found != Some(false)
    }
}

/// What one line says, as far as the chain is concerned.
enum Checked {
    Bad(ProblemKind),
    Good {
        seq: u64,
        prev: String,
        hash: String,
        module: Sha256,
        params: Sha256,
    },
}

fn check_line(line: &[u8]) -> Checked {
    match entry::parse(line) {
        Err(message) => Checked::Bad(ProblemKind::Malformed(message)),
        Ok(parsed) if !parsed.intact => Checked::Bad(ProblemKind::Edited),
        Ok(parsed) => {
            let record = parsed.record;
            Checked::Good {
                seq: record.seq,
                prev: record.prev.into_owned(),
                hash: record.hash.into_owned(),
                module: parsed.module_sha256,
                params: parsed.params_sha256,
            }
        }
    }
}

/// A broken link, classified once every line's sequence number is known.
struct Link {
    line: usize,
    expected: u64,
    found: u64,
}

/// Verifies the log at `path`, and the archive entries it names when an
/// archive is given. `anchor` is a record hash noted earlier; the log must
/// still hold it. Errors only when the log cannot be read.
pub fn verify(
    path: &Path,
    archive: Option<&Archive>,
    anchor: Option<&str>,
) -> Result<Report, AuditError> {
    let mut lines = Lines::open(path)?;
    let mut report = Report {
        lines: 0,
        head: None,
        modules: 0,
        params: 0,
        problem: None,
        anchor_found: anchor.map(|_| false),
    };
    let mut entries: HashMap<(Kind, Sha256), Option<Flaw>> = HashMap::new();
    let mut seqs: Vec<u64> = Vec::new();
    let mut link: Option<Link> = None;
    let mut expected = 1u64;
    let mut last_hash = GENESIS.to_owned();
    while let Some(batch) = lines.next_batch()? {
        let checked: Vec<Checked> = (0..batch.len())
            .into_par_iter()
            .with_min_len(64)
            .map(|i| check_line(batch.line(i)))
            .collect();
        for (i, checked) in checked.into_iter().enumerate() {
            let line = batch.first_line() + i;
            report.lines += 1;
            let torn = batch.torn() && i + 1 == batch.len();
            let (seq, prev, hash, module, params) = match checked {
                _ if torn => {
                    seqs.push(0);
                    report.problem.get_or_insert(Problem {
                        line,
                        kind: ProblemKind::Torn,
                    });
                    continue;
                }
                Checked::Bad(kind) => {
                    seqs.push(0);
                    report.problem.get_or_insert(Problem { line, kind });
                    continue;
                }
                Checked::Good {
                    seq,
                    prev,
                    hash,
                    module,
                    params,
                } => (seq, prev, hash, module, params),
            };
            seqs.push(seq);
            if anchor == Some(hash.as_str()) {
                report.anchor_found = Some(true);
            }
            if report.problem.is_some() {
                continue;
            }
            if prev != last_hash || seq != expected {
                link = Some(Link {
                    line,
                    expected,
                    found: seq,
                });
                // Classified below, once every sequence number is known.
                report.problem = Some(Problem {
                    line,
                    kind: ProblemKind::Relinked,
                });
                continue;
            }
            if let Some(archive) = archive {
                for (kind, sha256) in [(Kind::Module, module), (Kind::Params, params)] {
                    let key = (kind, sha256);
                    let flaw = entries
                        .entry(key)
                        .or_insert_with(|| archive.read(kind, sha256).err());
                    if let Some(flaw) = flaw {
                        report.problem = Some(Problem {
                            line,
                            kind: ProblemKind::Archive {
                                kind,
                                sha256: key.1,
                                flaw: flaw.clone(),
                            },
                        });
                        break;
                    }
                }
            } else {
                entries.insert((Kind::Module, module), None);
                entries.insert((Kind::Params, params), None);
            }
            last_hash = hash;
            expected = seq + 1;
        }
    }
    if let Some(link) = link
        && let Some(problem) = &mut report.problem
    {
        problem.kind = classify(&link, &seqs);
    }
    report.modules = entries.keys().filter(|(k, _)| *k == Kind::Module).count();
    report.params = entries.keys().filter(|(k, _)| *k == Kind::Params).count();
    if report.problem.is_none() && report.lines > 0 {
        report.head = Some(last_hash);
    }
    Ok(report)
}

/// Names a broken link by where the expected record went.
fn classify(link: &Link, seqs: &[u64]) -> ProblemKind {
    let at = |seq: u64, lines: &[u64]| lines.iter().position(|&s| s == seq).map(|i| i + 1);
    let before = &seqs[..link.line.saturating_sub(1).min(seqs.len())];
    if link.found == link.expected {
        return ProblemKind::Relinked;
    }
    if link.found > link.expected {
        let elsewhere = seqs
            .iter()
            .enumerate()
            .find(|&(i, &s)| s == link.expected && i + 1 != link.line)
            .map(|(i, _)| i + 1);
        return match elsewhere {
            Some(expected_at) => ProblemKind::Reordered {
                expected: link.expected,
                found: link.found,
                expected_at,
            },
            None => ProblemKind::Deleted {
                first: link.expected,
                last: link.found - 1,
            },
        };
    }
    match at(link.found, before) {
        Some(first_line) => ProblemKind::Repeated {
            seq: link.found,
            first_line,
        },
        None => ProblemKind::OutOfOrder {
            expected: link.expected,
            found: link.found,
        },
    }
}
