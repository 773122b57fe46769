//! Answering `POST /v1/evaluate`: the body is checked like a profiles file,
//! then decided against one snapshot of the policies (at most a fixed
//! number of requests at once, each on a thread allowed to block) and, when
//! the service keeps a decision log, logged before it is answered.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use serde_json::Value;
use tokio::runtime::{Handle, RuntimeFlavor};
use verdict_sdk::Date;

use verdict_audit::{AuditError, decide_logged};
use verdict_config::{ConfigError, InputError, customers_from_json};
use verdict_engine::{DecisionRecord, Policy, Profile};

use crate::api::{ApiError, EvaluateRequest};
use crate::app::App;

/// Most customers one request may carry; larger batches belong in
/// `verdict eval` or several requests.
pub const MAX_CUSTOMERS: usize = 10_000;

/// Decides a request body: customers in the given order, and for each
/// customer the policies in name order — exactly what `verdict eval
/// --format json` prints for the same input.
pub async fn decide(app: &Arc<App>, body: &[u8]) -> Result<Vec<DecisionRecord>, ApiError> {
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
            ApiError::from(ConfigError::Input(InputError {
                customer: None,
                field: Some("as_of".to_owned()),
                message: format!("`as_of` must be a date such as \"2026-11-23\": {e}"),
            }))
        })?,
        None => today_utc()?,
    };
    // One snapshot from here to the response: every record of this
    // request comes from the same version of each policy.
    let snapshot = app.live.snapshot();
    let policies = snapshot.set.select(&names)?;
    let slot = app
        .evaluation_slot()
        .await
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let records = if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
        // Decide on this thread (no hand-off to another one and back, the
        // lowest latency); the runtime moves its other tasks to another
        // worker meanwhile, so a slow plugin holds up nothing else.
        let _slot = slot;
        tokio::task::block_in_place(|| decide_blocking(app, &customers, as_of, &policies))?
    } else {
        let task = Arc::clone(app);
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            decide_blocking(&task, &customers, as_of, &policies)
        })
        .await
        .map_err(|e| ApiError::internal(format!("the evaluation task failed: {e}")))??
    };
    app.metrics.record_decisions(&records);
    Ok(records)
}

fn decide_blocking(
    app: &App,
    customers: &[Value],
    as_of: Date,
    policies: &[Arc<Policy>],
) -> Result<Vec<DecisionRecord>, ApiError> {
    let profiles = customers_from_json(customers, as_of)?;
    let work: Vec<(Date, &Profile)> = profiles.iter().map(|p| (as_of, p)).collect();
    // Durable before reported: a decision that cannot be logged is not
    // answered. Requests whose decisions are ready at the same time are
    // logged together, with one sync.
    let mut log = app.log.as_ref();
    let mut records = Vec::new();
    decide_logged(
        policies,
        &work,
        work.len(),
        log.as_mut(),
        false,
        |chunk| -> Result<(), AuditError> {
            records = chunk.records;
            Ok(())
        },
    )
    .map_err(|error| {
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
    Ok(records)
}

/// Today's date in UTC.
fn today_utc() -> Result<Date, ApiError> {
    let days = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() / 86_400)
        .map_err(|_| ApiError::internal("the system clock is before 1970"))?;
    i64::try_from(days)
        .ok()
        .and_then(|days| Date::from_unix_days(days).ok())
        .ok_or_else(|| ApiError::internal("the system clock is out of range"))
}
