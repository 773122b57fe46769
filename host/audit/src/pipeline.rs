//! The one rule between deciding and reporting: a decision is durable in
//! the decision log before anyone is told it was made. `verdict eval` and
//! `verdict serve` both decide through a [`Pipeline`], appending to a
//! [`DecisionLog`] of their own or to a [`GroupLog`] shared by concurrent
//! requests.

use std::sync::Arc;

use rayon::prelude::*;
use verdict_engine::{Decider, DecisionRecord, Job, Policy};

use crate::error::AuditError;
use crate::group::GroupLog;
use crate::log::DecisionLog;

/// One chunk of decisions, durable in the log (when there is one) and
/// ready to report.
#[derive(Debug)]
pub struct Chunk<'a> {
    /// The customers decided, in order.
    pub work: &'a [Job<'a>],
    /// Their decisions: customers in order, and for each customer the
    /// policies in order.
    pub records: Vec<DecisionRecord>,
    /// Each record's JSON (`serde_json`'s encoding, the very bytes the log
    /// stores) when encoding was asked for; else empty.
    pub encoded: Vec<String>,
}

/// Where a [`Pipeline`] makes a chunk durable before reporting it.
pub trait Append {
    /// Appends the records of `chunk`, decided under `policies`, and
    /// returns once they are written and synced to disk. On an error none
    /// of them is in the log.
    fn append_chunk(
        &mut self,
        policies: &[Arc<Policy>],
        chunk: &Chunk<'_>,
    ) -> Result<(), AuditError>;
}

impl Append for DecisionLog {
    fn append_chunk(
        &mut self,
        policies: &[Arc<Policy>],
        chunk: &Chunk<'_>,
    ) -> Result<(), AuditError> {
        self.append_grid_encoded(policies, chunk.work, &chunk.records, &chunk.encoded)
    }
}

impl Append for &GroupLog {
    fn append_chunk(
        &mut self,
        policies: &[Arc<Policy>],
        chunk: &Chunk<'_>,
    ) -> Result<(), AuditError> {
        self.append_grid_encoded(policies, chunk.work, &chunk.records, &chunk.encoded)
    }
}

/// Below this many records a chunk is encoded on the calling thread: a
/// record takes a few microseconds, and waking the thread pool for a
/// request's handful costs more (the idle workers spin and yield the CPU
/// the service's other requests need).
const PARALLEL_ENCODE: usize = 64;

/// Decisions decided at once within a chunk that has a byte budget: what
/// a chunk may hold past its budget before the check stops it.
const BUDGET_PIECE: usize = 256;

/// Decides customers under policies in chunks (each chunk over every core),
/// appends each chunk to the log when there is one — written and synced —
/// and only then hands it on, in order. While one chunk is logged and
/// reported, the next is decided.
///
/// ```text
/// Pipeline::new(&policies).chunk(4096).log(&mut log).decide(&jobs, |chunk| ...)
/// ```
pub struct Pipeline<'p, 'l> {
    policies: &'p [Arc<Policy>],
    chunk: usize,
    log: Option<&'l mut dyn Append>,
    encode: bool,
    budget: Option<usize>,
}

impl std::fmt::Debug for Pipeline<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("policies", &self.policies.len())
            .field("chunk", &self.chunk)
            .field("logged", &self.log.is_some())
            .field("encode", &self.encode)
            .field("budget", &self.budget)
            .finish()
    }
}

impl<'p, 'l> Pipeline<'p, 'l> {
    /// A pipeline deciding under `policies`: every customer in one chunk,
    /// no log, records not encoded, no budget.
    #[must_use]
    pub fn new(policies: &'p [Arc<Policy>]) -> Pipeline<'p, 'l> {
        Pipeline {
            policies,
            chunk: usize::MAX,
            log: None,
            encode: false,
            budget: None,
        }
    }

    /// Chunks of at most `customers` customers (at least one).
    #[must_use]
    pub fn chunk(self, customers: usize) -> Pipeline<'p, 'l> {
        Pipeline {
            chunk: customers.max(1),
            ..self
        }
    }

    /// Makes every chunk durable in `log` before it is reported. When
    /// logging fails, the chunk is not reported and nothing more is
    /// decided; chunks reported before stay reported (they are in the log).
    #[must_use]
    pub fn log<A: Append>(self, log: &'l mut A) -> Pipeline<'p, 'l> {
        Pipeline {
            log: Some(log),
            ..self
        }
    }

    /// With `encode`, every record is encoded to JSON once, in parallel,
    /// for both the log and the caller ([`Chunk::encoded`]); a logged or
    /// budgeted pipeline always encodes.
    #[must_use]
    pub fn encode(self, encode: bool) -> Pipeline<'p, 'l> {
        Pipeline { encode, ..self }
    }

    /// The records of one chunk may take at most `bytes` of JSON: the chunk
    /// is decided a few hundred decisions at a time and checked after each,
    /// and past the budget it fails with [`AuditError::OverBudget`] before
    /// any of it is logged or reported, holding at most the budget and one
    /// such piece.
    #[must_use]
    pub fn budget(self, bytes: usize) -> Pipeline<'p, 'l> {
        Pipeline {
            budget: Some(bytes),
            ..self
        }
    }

    /// Decides `work` chunk by chunk and hands each chunk, durable, to
    /// `report`, in order.
    pub fn decide<'w, E>(
        self,
        work: &'w [Job<'w>],
        mut report: impl FnMut(Chunk<'w>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<AuditError> + Send,
    {
        let Pipeline {
            policies,
            chunk,
            mut log,
            encode,
            budget,
        } = self;
        let encode = encode || log.is_some() || budget.is_some();
        let decider = Decider::new(policies).parallel();
        let decide = |work: &'w [Job<'w>]| -> Result<Chunk<'w>, AuditError> {
            let Some(most) = budget else {
                let records = decider.decide(work);
                let encoded = encode_all(encode, &records)?;
                return Ok(Chunk {
                    work,
                    records,
                    encoded,
                });
            };
            let customers = (BUDGET_PIECE / policies.len().max(1)).max(1);
            let (mut records, mut encoded, mut bytes) = (Vec::new(), Vec::new(), 0usize);
            for piece in work.chunks(customers) {
                let decided = decider.decide(piece);
                let json = encode_all(encode, &decided)?;
                bytes = json
                    .iter()
                    .fold(bytes, |sum, one| sum.saturating_add(one.len()));
                if bytes > most {
                    return Err(AuditError::OverBudget { most });
                }
                records.extend(decided);
                encoded.extend(json);
            }
            Ok(Chunk {
                work,
                records,
                encoded,
            })
        };
        let mut chunks = work.chunks(chunk);
        let mut decided = chunks.next().map(decide).transpose()?;
        while let Some(current) = decided.take() {
            decided = std::thread::scope(|scope| -> Result<_, E> {
                let decide = &decide;
                let next = chunks.next().map(|next| scope.spawn(move || decide(next)));
                if let Some(log) = log.as_deref_mut() {
                    log.append_chunk(policies, &current)?;
                }
                report(current)?;
                match next.map(std::thread::ScopedJoinHandle::join) {
                    None => Ok(None),
                    Some(Ok(decided)) => Ok(Some(decided?)),
                    Some(Err(panic)) => std::panic::resume_unwind(panic),
                }
            })?;
        }
        Ok(())
    }
}

/// Each record's JSON when `encode`; else nothing.
fn encode_all(encode: bool, records: &[DecisionRecord]) -> Result<Vec<String>, AuditError> {
    if !encode {
        Ok(Vec::new())
    } else if records.len() < PARALLEL_ENCODE {
        Ok(records
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?)
    } else {
        Ok(records
            .par_iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?)
    }
}
