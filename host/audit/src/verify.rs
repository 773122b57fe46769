//! Verifying a log: every line whole and well formed, every record matching
//! its hash and agreeing with the decision it holds, every `prev` linking
//! to the record before, and every module and parameter set it names
//! present and intact in the archive, each module being the plugin and
//! version the record says. A change journal (see [`crate::journal`]) is
//! verified the same way, line by line and link by link; it names no
//! archive entries.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use rayon::prelude::*;
use verdict_engine::{Sandbox, Sha256};

use crate::archive::Archive;
use crate::entry::{self, GENESIS};
use crate::error::AuditError;
use crate::journal;
use crate::lines::Lines;
pub use crate::problem::{Contradiction, Flaw, Kind, Problem, ProblemKind, RecordError};

/// What a verified file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contents {
    /// Decision records: a decision log.
    Decisions,
    /// Changes: a service's change journal.
    Changes,
}

/// What verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What the file holds, as its first line tells.
    pub contents: Contents,
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

/// Archive entries a signed release should supply: the release's digest,
/// and the kind and digest of each entry.
pub type MissingFromRelease = (Sha256, Vec<(Kind, Sha256)>);

/// The signed releases whose modules or parameter sets records of the log
/// at `path` name but `archive` lacks, each with the digests it should
/// supply, in digest order: where the archive can be completed from (the
/// release by digest, from its registry). Lines that do not parse, and
/// records that name no release, are left to [`verify`].
pub fn missing_by_release(
    path: &Path,
    archive: &Archive,
) -> Result<Vec<MissingFromRelease>, AuditError> {
    let mut missing: BTreeMap<Sha256, BTreeSet<(Kind, Sha256)>> = BTreeMap::new();
    let mut lines = Lines::open(path)?;
    while let Some(batch) = lines.next_batch()? {
        for i in 0..batch.len() {
            let Ok(parsed) = entry::parse(batch.line(i)) else {
                continue;
            };
            let Some(release) = parsed.release else {
                continue;
            };
            for (kind, sha256) in [
                (Kind::Module, parsed.module_sha256),
                (Kind::Params, parsed.params_sha256),
            ] {
                if !archive.holds(kind, sha256) {
                    missing.entry(release).or_default().insert((kind, sha256));
                }
            }
        }
    }
    Ok(missing
        .into_iter()
        .map(|(release, wanted)| (release, wanted.into_iter().collect()))
        .collect())
}

/// What one line says, as far as the chain is concerned.
enum Checked {
    Bad(ProblemKind),
    Good(Sealed),
}

/// A line that matches its hash: what the chain and the archive checks
/// need of it.
struct Sealed {
    seq: u64,
    prev: String,
    hash: String,
    /// What a decision record names in the archive (a journal entry names
    /// nothing).
    named: Option<Named>,
    /// How the record and its decision disagree, if they do.
    inconsistent: Option<ProblemKind>,
}

/// The archive entries a decision record names, and the version it says
/// its module is.
struct Named {
    module: Sha256,
    params: Sha256,
    plugin_version: String,
}

fn check_line(contents: Contents, line: &[u8]) -> Checked {
    if contents == Contents::Changes {
        return match journal::check_line(line) {
            Err(kind) => Checked::Bad(kind),
            Ok((seq, prev, hash)) => Checked::Good(Sealed {
                seq,
                prev,
                hash,
                named: None,
                inconsistent: None,
            }),
        };
    }
    match entry::parse(line) {
        Err(message) => Checked::Bad(ProblemKind::Malformed(message)),
        Ok(parsed) if !parsed.intact => Checked::Bad(ProblemKind::Edited),
        Ok(parsed) => {
            let record = parsed.record;
            let inconsistent = match record.disagreement() {
                Ok(inconsistent) => inconsistent,
                Err(message) => return Checked::Bad(ProblemKind::Malformed(message)),
            };
            Checked::Good(Sealed {
                seq: record.seq,
                prev: record.prev.into_owned(),
                hash: record.hash.into_owned(),
                named: Some(Named {
                    module: parsed.module_sha256,
                    params: parsed.params_sha256,
                    plugin_version: record.plugin_version.into_owned(),
                }),
                inconsistent,
            })
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
/// archive is given, with the sandbox its modules are loaded in: each
/// module once, to check that it is the plugin version its records name.
/// `anchor` is a record hash noted earlier; the log must still hold it.
/// A change journal is told by its first line and verified as one (every
/// line must then be a journal entry). Errors only when the file cannot be
/// read.
pub fn verify(
    path: &Path,
    archive: Option<(&Archive, &Sandbox)>,
    anchor: Option<&str>,
) -> Result<Report, AuditError> {
    let mut lines = Lines::open(path)?;
    let mut walk = Walk::new(archive, anchor);
    while let Some(batch) = lines.next_batch()? {
        if batch.first_line() == 1
            && batch.len() > 0
            && batch.line(0).starts_with(journal::LINE_START)
        {
            walk.report.contents = Contents::Changes;
        }
        let contents = walk.report.contents;
        let checked: Vec<Checked> = (0..batch.len())
            .into_par_iter()
            .with_min_len(64)
            .map(|i| check_line(contents, batch.line(i)))
            .collect();
        for (i, checked) in checked.into_iter().enumerate() {
            let torn = batch.torn() && i + 1 == batch.len();
            walk.line(
                batch.first_line() + i,
                if torn { None } else { Some(checked) },
            );
        }
    }
    Ok(walk.finish())
}

/// What an archived module declares itself to be.
#[derive(Debug, Clone)]
struct Declared {
    plugin: String,
    version: String,
}

/// What the archive holds under a digest (`None` for a parameter set, or
/// without an archive), or what is wrong with it.
type Entry = Result<Option<Declared>, Flaw>;

/// The chain walked line by line, in order: what is known so far.
struct Walk<'a> {
    archive: Option<(&'a Archive, &'a Sandbox)>,
    anchor: Option<&'a str>,
    report: Report,
    /// Each digest the records name, with what its archive entry is
    /// (checked once per digest).
    entries: HashMap<(Kind, Sha256), Entry>,
    /// Every line's sequence number (0: unreadable), to classify a break.
    seqs: Vec<u64>,
    /// The first broken link, classified once every line is read.
    link: Option<Link>,
    expected: u64,
    last_hash: String,
}

impl<'a> Walk<'a> {
    fn new(archive: Option<(&'a Archive, &'a Sandbox)>, anchor: Option<&'a str>) -> Walk<'a> {
        Walk {
            archive,
            anchor,
            report: Report {
                contents: Contents::Decisions,
                lines: 0,
                head: None,
                modules: 0,
                params: 0,
                problem: None,
                anchor_found: anchor.map(|_| false),
            },
            entries: HashMap::new(),
            seqs: Vec::new(),
            link: None,
            expected: 1,
            last_hash: GENESIS.to_owned(),
        }
    }

    /// Takes line number `line`, as checked on its own (`None`: the torn
    /// last line of a log whose writer stopped mid-line).
    fn line(&mut self, line: usize, checked: Option<Checked>) {
        self.report.lines += 1;
        let sealed = match checked {
            None => return self.unreadable(line, ProblemKind::Torn),
            Some(Checked::Bad(kind)) => return self.unreadable(line, kind),
            Some(Checked::Good(sealed)) => sealed,
        };
        let seq = sealed.seq;
        self.seqs.push(seq);
        if self.anchor == Some(sealed.hash.as_str()) {
            self.report.anchor_found = Some(true);
        }
        if self.report.problem.is_some() {
            return;
        }
        if sealed.prev != self.last_hash || seq != self.expected {
            self.link = Some(Link {
                line,
                expected: self.expected,
                found: seq,
            });
            // Classified in `finish`, once every sequence number is known.
            self.report.problem = Some(Problem {
                line,
                kind: ProblemKind::Relinked,
            });
            return;
        }
        match (sealed.inconsistent, sealed.named) {
            (Some(kind), _) => self.report.problem = Some(Problem { line, kind }),
            (None, Some(named)) => {
                self.archived(line, named.module, named.params, &named.plugin_version);
            }
            (None, None) => {}
        }
        self.last_hash = sealed.hash;
        self.expected = seq + 1;
    }

    /// A line that is no record: the first problem, unless one came before.
    fn unreadable(&mut self, line: usize, kind: ProblemKind) {
        self.seqs.push(0);
        self.report.problem.get_or_insert(Problem { line, kind });
    }

    /// Counts the record's module and parameters, and with an archive
    /// checks that it holds them intact and that the module is the plugin
    /// version the record names.
    fn archived(&mut self, line: usize, module: Sha256, params: Sha256, plugin_version: &str) {
        let Some((archive, sandbox)) = self.archive else {
            self.entries.insert((Kind::Module, module), Ok(None));
            self.entries.insert((Kind::Params, params), Ok(None));
            return;
        };
        for (kind, sha256) in [(Kind::Module, module), (Kind::Params, params)] {
            let entry = self
                .entries
                .entry((kind, sha256))
                .or_insert_with(|| entry(archive, sandbox, kind, sha256));
            let kind = match entry {
                Err(flaw) => ProblemKind::Archive {
                    kind,
                    sha256,
                    flaw: flaw.clone(),
                },
                Ok(Some(declared)) if declared.version != plugin_version => {
                    ProblemKind::Contradicted(Box::new(Contradiction {
                        sha256,
                        record: plugin_version.to_owned(),
                        plugin: declared.plugin.clone(),
                        archived: declared.version.clone(),
                    }))
                }
                Ok(_) => continue,
            };
            self.report.problem = Some(Problem { line, kind });
            return;
        }
    }

    fn finish(mut self) -> Report {
        if let Some(link) = &self.link
            && let Some(problem) = &mut self.report.problem
        {
            problem.kind = classify(link, &self.seqs);
        }
        let count = |wanted: Kind| self.entries.keys().filter(|(k, _)| *k == wanted).count();
        self.report.modules = count(Kind::Module);
        self.report.params = count(Kind::Params);
        if self.report.problem.is_none() && self.report.lines > 0 {
            self.report.head = Some(self.last_hash);
        }
        self.report
    }
}

/// What `archive` holds under `sha256`: intact, and for a module, loaded
/// in `sandbox` to read what it declares.
fn entry(archive: &Archive, sandbox: &Sandbox, kind: Kind, sha256: Sha256) -> Entry {
    let bytes = archive.read(kind, sha256)?;
    if kind == Kind::Params {
        return Ok(None);
    }
    let plugin = archive
        .load(sandbox, sha256, bytes)
        .map_err(|error| Flaw::Refused(verdict_engine::chain_text(&error)))?;
    Ok(Some(Declared {
        plugin: plugin.name().to_owned(),
        version: plugin.manifest().version.clone(),
    }))
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
