//! Answering `POST /v1/evaluate`: the body is checked like a profiles file,
//! then decided against one snapshot of the policies (at most a fixed
//! number of requests at once, each on a thread allowed to block) and, when
//! the service keeps a decision log, logged before it is answered.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::value::RawValue;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::OwnedSemaphorePermit;
use verdict_sdk::Date;

use verdict_audit::{Append, AuditError, Chunk, GroupLog, Pipeline};
use verdict_config::ConfigError;
use verdict_engine::{DecisionRecord, InputError, Job, Policy, customers_from_json, today_utc};

use crate::api::{ApiError, EvaluateRequest};
use crate::app::{App, LogQueue};

/// Most customers one request may carry; larger batches belong in
/// `verdict eval` or several requests.
pub(crate) const MAX_CUSTOMERS: usize = 10_000;

/// Most bytes of JSON the decisions of one request may take: the bound on
/// what one response holds in memory (every answer may be up to
/// `abi::MAX_ANSWER_BYTES`, and 10,000 customers times a few policies of
/// those would be gigabytes). Past it the request is answered 413 and
/// nothing of it is logged.
pub(crate) const MAX_RESPONSE_BYTES: usize = 32 << 20;

/// Decides a request body: customers in the given order, and for each
/// customer the policies in name order — what `verdict eval --format json`
/// prints for the same input, less the decisions of experiments that were
/// not answered (those are only logged). Returns the response body, the
/// JSON array of the answered decision records.
pub(crate) async fn decide(app: &Arc<App>, body: &[u8]) -> Result<String, ApiError> {
    let request: EvaluateRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not an evaluate request: {e}")))?;
    let customers = match (request.customer, request.customers) {
        (Some(one), None) => vec![one],
        (None, Some(many)) if many.is_empty() => {
            return Err(ApiError::bad_request("`customers` is empty"));
        }
        (None, Some(many)) if many.len() > MAX_CUSTOMERS => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "{} customers in one request; at most {MAX_CUSTOMERS}: split the batch",
                    many.len()
                ),
            ));
        }
        (None, Some(many)) => many,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either `customer` or `customers`, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "give `customer` (one object) or `customers` (an array of objects)",
            ));
        }
    };
    let names = match request.policies {
        Some(names) if names.is_empty() => {
            return Err(ApiError::bad_request(
                "`policies` must name at least one policy; omit it to evaluate every policy",
            ));
        }
        Some(names) => names,
        None => Vec::new(),
    };
    let as_of = match request.as_of {
        Some(text) => text.parse::<Date>().map_err(|e| {
            ApiError::from(ConfigError::Input(InputError::of_field(
                "as_of",
                format!("`as_of` must be a date such as \"2026-11-23\": {e}"),
            )))
        })?,
        None => today_utc().map_err(|error| ApiError::internal(error.to_string()))?,
    };
    // One snapshot from here to the response: every record of this
    // request comes from the same version of each policy.
    let snapshot = app.live.snapshot();
    let policies = snapshot.set.select(&names)?;
    let slot = app
        .evaluation_slot()
        .await
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let (records, encoded) = if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        // Decide on this thread (no hand-off to another one and back, the
        // lowest latency); the runtime moves its other tasks to another
        // worker meanwhile, so a slow plugin holds up nothing else.
        tokio::task::block_in_place(|| decide_blocking(app, slot, &customers, as_of, &policies))?
    } else {
        let task = Arc::clone(app);
        tokio::task::spawn_blocking(move || {
            decide_blocking(&task, slot, &customers, as_of, &policies)
        })
        .await
        .map_err(|e| ApiError::internal(format!("the evaluation task failed: {e}")))??
    };
    app.metrics.record_decisions(&records);
    // The answered records as the log holds them, already encoded once; an
    // experiment's other arm is only logged.
    let answered: Vec<&str> = records
        .iter()
        .zip(&encoded)
        .filter(|(record, _)| record.answered())
        .map(|(_, one)| one.as_str())
        .collect();
    let mut body =
        String::with_capacity(answered.iter().map(|one| one.len() + 1).sum::<usize>() + 1);
    body.push('[');
    for (i, one) in answered.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(one);
    }
    body.push(']');
    Ok(body)
}

/// The records of a request and each one's JSON.
type Decided = (Vec<DecisionRecord>, Vec<String>);

/// Decides (holding `slot` meanwhile) and logs the decisions.
fn decide_blocking(
    app: &App,
    slot: OwnedSemaphorePermit,
    customers: &[Box<RawValue>],
    as_of: Date,
    policies: &[Arc<Policy>],
) -> Result<Decided, ApiError> {
    let texts: Vec<&str> = customers.iter().map(|customer| customer.get()).collect();
    let profiles = customers_from_json(&texts, as_of).map_err(ConfigError::Input)?;
    let work: Vec<Job<'_>> = profiles
        .iter()
        .map(|profile| Job { as_of, profile })
        .collect();
    // Durable before reported: a decision that cannot be logged is not
    // answered. Requests whose decisions are ready at the same time are
    // logged together, with one sync. The request is one chunk, decided
    // whole before its append, so no plugin runs once the slot is given
    // back there.
    let mut slot = Some(slot);
    let mut log = app.log.as_ref().map(|log| Logging {
        queue: &app.log_queue,
        log,
        slot: &mut slot,
    });
    let mut decided = (Vec::new(), Vec::new());
    let mut pipeline = Pipeline::new(policies)
        .encode(true)
        .budget(MAX_RESPONSE_BYTES);
    if let Some(log) = log.as_mut() {
        pipeline = pipeline.log(log);
    }
    pipeline
        .decide(&work, |chunk| -> Result<(), AuditError> {
            decided = (chunk.records, chunk.encoded);
            Ok(())
        })
        .map_err(|error| {
            if let AuditError::OverBudget { most } = error {
                return ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "the decisions of this request take more than {} MiB of JSON, the most one \
                     response may hold; none is answered or logged: split the batch",
                        most >> 20
                    ),
                );
            }
            // The log says once when appends start and stop failing.
            tracing::debug!("cannot log decisions, answering 503: {error}");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the decisions could not be logged, so none is reported: {}",
                    verdict_engine::chain_text(&error)
                ),
            )
        })?;
    Ok(decided)
}

/// The way a request's decisions go into the service's log: the
/// evaluation slot is given back while they wait for their sync (see
/// [`LogQueue::wait_here`]).
struct Logging<'a> {
    queue: &'a LogQueue,
    log: &'a GroupLog,
    slot: &'a mut Option<OwnedSemaphorePermit>,
}

impl Append for Logging<'_> {
    fn append_chunk(
        &mut self,
        policies: &[Arc<Policy>],
        chunk: &Chunk<'_>,
    ) -> Result<(), AuditError> {
        let bytes = chunk.encoded.iter().map(String::len).sum();
        let _room = self.queue.wait_here(self.slot, bytes);
        self.log.append_chunk(policies, chunk)
    }
}
