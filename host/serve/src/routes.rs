//! The HTTP routes and their handlers; a layer that counts every request
//! and its latency.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api::{ApiError, PolicyInfo};
use crate::app::{App, RELOAD_REQUEST};
use crate::decide::decide;
use crate::live::{PromoteError, RollbackError};
use crate::metrics::{self, Timeout};
use crate::source::ReleaseId;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use verdict_audit::journal::Version;

/// Every route of the service. Request bodies larger than `body_limit`
/// bytes are refused with 413, and those that take longer than
/// `body_timeout` to arrive with 408.
pub(crate) fn router(app: Arc<App>, body_limit: usize, body_timeout: Duration) -> Router {
    Router::new()
        .route("/v1/evaluate", post(evaluate))
        .route("/v1/policies", get(policies))
        .route("/v1/reload", post(reload))
        .route("/v1/policies/{name}/rollback", post(rollback))
        .route("/v1/policies/{name}/promote", post(promote))
        .route("/v1/changes", get(changes))
        .route("/healthz", get(healthz))
        .route("/metrics", get(render_metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            (Arc::clone(&app), body_limit, body_timeout),
            read_body_in_time,
        ))
        .layer(middleware::from_fn_with_state(
            body_limit,
            refuse_declared_oversize,
        ))
        .layer(middleware::from_fn_with_state(Arc::clone(&app), track))
        .with_state(app)
}

/// Counts the request in flight while it runs, then its status and
/// latency under a fixed route label (never the raw path, which would
/// let clients create label values).
async fn track(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_label(request.uri().path());
    let in_flight = app.metrics.start_request();
    let response = next.run(request).await;
    drop(in_flight);
    app.metrics.record_response(
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Refuses a request whose `Content-Length` is over the limit before any of
/// its body is read: a client that waits for `100 Continue` (as curl does
/// for large bodies) gets the 413 at once and sends nothing. Bodies of
/// undeclared length are cut off by the extractor's limit instead.
async fn refuse_declared_oversize(
    State(limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is {length} bytes; at most {limit} are accepted"),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

/// Reads the whole request body, at most `limit` bytes, within `timeout`
/// of its head: a client that trickles its body cannot hold a request, and
/// its connection, open for ever. Too slow is answered 408 with
/// `Connection: close` (the rest of the body is never read).
async fn read_body_in_time(
    State((app, limit, timeout)): State<(Arc<App>, usize, Duration)>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(body)) => {
            next.run(Request::from_parts(parts, Body::from(body.to_bytes())))
                .await
        }
        Ok(Err(error)) if error.is::<LengthLimitError>() => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {limit} bytes; at most {limit} are accepted"),
        )
        .into_response(),
        Ok(Err(error)) => {
            ApiError::bad_request(format!("cannot read the request body: {error}")).into_response()
        }
        Err(_) => {
            app.metrics.record_timeout(Timeout::Body);
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} ms",
                    timeout.as_millis()
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

fn route_label(path: &str) -> &'static str {
    match path {
        "/v1/evaluate" => "evaluate",
        "/v1/policies" => "policies",
        "/v1/reload" => "reload",
        "/v1/changes" => "changes",
        "/healthz" => "healthz",
        "/metrics" => "metrics",
        path if path.starts_with("/v1/policies/") && path.ends_with("/rollback") => "rollback",
        path if path.starts_with("/v1/policies/") && path.ends_with("/promote") => "promote",
        _ => "other",
    }
}

async fn evaluate(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body =
        body.map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
    let decisions = decide(&app, &body).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        decisions,
    )
        .into_response())
}

async fn policies(State(app): State<Arc<App>>) -> Response {
    let snapshot = app.live.snapshot();
    let policies: Vec<PolicyInfo> = snapshot
        .set
        .policies()
        .iter()
        .map(|policy| {
            PolicyInfo::new(
                policy,
                snapshot.history.get(policy.name()).copied().unwrap_or(1),
            )
        })
        .collect();
    Json(json!({
        "generation": snapshot.generation,
        "release": app.live.loaded().release.as_ref().map(release_json),
        "policies": policies,
    }))
    .into_response()
}

/// What the API says of a release: its reference, digest and signer.
fn release_json(release: &ReleaseId) -> Value {
    json!(release.journaled())
}

/// Most journal entries one `GET /v1/changes` answers.
const CHANGES_PAGE: usize = 1000;

/// Which journal entries `GET /v1/changes` answers.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangesQuery {
    /// Entries after this sequence number (0: from the first).
    #[serde(default)]
    after: u64,
    /// At most this many (at most [`CHANGES_PAGE`]).
    #[serde(default)]
    limit: Option<usize>,
}

/// The change journal, oldest first: the entries after `?after=SEQ`, at
/// most `?limit=N` (1000) of them, with the last entry's number so a
/// client can tell whether more follow.
async fn changes(
    State(app): State<Arc<App>>,
    query: Result<Query<ChangesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let limit = query.limit.unwrap_or(CHANGES_PAGE).min(CHANGES_PAGE);
    let (changes, last) = app.journal.since(query.after, limit);
    Ok(Json(json!({
        "journal": app.journal.path(),
        "last": last,
        "changes": changes,
    }))
    .into_response())
}

/// Ready (200) unless the last write to the decision log or its archive
/// failed (an append, or archiving the active policies at start or after a
/// swap): then 503, saying why and naming the file, until one succeeds
/// again.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    let snapshot = app.live.snapshot();
    let broken = app.log.as_ref().and_then(|log| log.health().broken);
    let (status, code) = match &broken {
        None => ("ok", StatusCode::OK),
        Some(_) => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
    };
    let mut body = json!({
        "status": status,
        "generation": snapshot.generation,
        "policies": snapshot.set.policies().len(),
    });
    if let Some(why) = broken {
        body["error"] = json!(format!(
            "decisions cannot be logged, so evaluations are refused: {why}"
        ));
    }
    (code, Json(body)).into_response()
}

async fn render_metrics(State(app): State<Arc<App>>) -> Response {
    if let Some(log) = &app.log {
        app.metrics.set_log_health(&log.health());
    }
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        app.metrics.render(),
    )
        .into_response()
}

/// Refuses the request unless it carries the service's token.
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &app.token else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this service has no token, so changes are disabled: start it with \
             --token-file FILE or VERDICT_TOKEN",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    match given {
        Some(given) if token.accepts(given) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong token")),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this endpoint changes the service: send `Authorization: Bearer TOKEN`",
        )),
    }
}

async fn reload(State(app): State<Arc<App>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let task = Arc::clone(&app);
    let outcome = tokio::task::spawn_blocking(move || task.reload(RELOAD_REQUEST))
        .await
        .map_err(|e| ApiError::internal(format!("the reload task failed: {e}")))?;
    match outcome {
        Ok(report) => Ok(Json(json!({
            "swapped": report.swapped(),
            "generation": report.generation,
            "added": report.added,
            "changed": report.changed,
            "removed": report.removed,
            "dir": report.dir,
            "release": report.release.as_ref().map(release_json),
        }))
        .into_response()),
        Err(error) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "reload rejected, the previous policies keep serving: {}",
                verdict_engine::chain_text(&error)
            ),
        )),
    }
}

async fn rollback(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let rollback = app.rollback(&name).map_err(|error| {
        let status = match error {
            RollbackError::Unknown(_) => StatusCode::NOT_FOUND,
            RollbackError::NoEarlier(_) => StatusCode::CONFLICT,
        };
        ApiError::new(status, error.to_string())
    })?;
    Ok(Json(json!({
        "policy": name,
        "generation": rollback.generation,
        "from": version(&rollback.from),
        "to": version(&rollback.to),
        "history": rollback.history,
    }))
    .into_response())
}

async fn promote(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&app, &headers)?;
    let promotion = app.promote(&name).map_err(|error| {
        let status = match error {
            PromoteError::Unknown(_) => StatusCode::NOT_FOUND,
            PromoteError::NoChallenger(_) => StatusCode::CONFLICT,
        };
        ApiError::new(status, error.to_string())
    })?;
    Ok(Json(json!({
        "policy": name,
        "generation": promotion.generation,
        "experiment": promotion.experiment,
        "from": version(&promotion.from),
        "to": version(&promotion.to),
    }))
    .into_response())
}

/// A policy version as rollback and promote answers show it (as the
/// journal keeps it).
fn version(policy: &verdict_engine::Policy) -> Value {
    json!(Version::of(policy))
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such endpoint; see `verdict serve --help`",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}
