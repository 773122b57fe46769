//! The JSON the service reads and writes: request bodies, policy listings,
//! and the error body every 4xx and 5xx answer carries.

use std::path::PathBuf;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use verdict_config::ConfigError;
use verdict_engine::{EngineError, Experiment, Percent, Policy, Sha256};

/// `POST /v1/evaluate`: one customer or a batch, an optional evaluation
/// date, an optional list of policies.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EvaluateRequest {
    /// One customer, as in a profiles file (kept as its text: see
    /// `customers_from_json`).
    #[serde(default)]
    pub customer: Option<Box<RawValue>>,
    /// Several customers, answered in this order.
    #[serde(default)]
    pub customers: Option<Vec<Box<RawValue>>>,
    /// The evaluation date, `YYYY-MM-DD` [default: today, UTC].
    #[serde(default)]
    pub as_of: Option<String>,
    /// The policies to evaluate, by name [default: every active policy].
    /// Given, it names at least one: an empty list is refused rather than
    /// read as "all".
    #[serde(default)]
    pub policies: Option<Vec<String>>,
}

/// One active policy as `GET /v1/policies` lists it.
#[derive(Debug, Serialize)]
pub(crate) struct PolicyInfo {
    /// The policy name.
    pub name: String,
    /// The plugin's name.
    pub plugin: String,
    /// The plugin's version.
    pub plugin_version: String,
    /// SHA-256 of the module bytes.
    pub module_sha256: Sha256,
    /// The module file.
    pub module: PathBuf,
    /// The binding file.
    pub binding: PathBuf,
    /// The full parameter set.
    pub params: Map<String, Value>,
    /// Versions kept, the active one included (`history - 1` rollbacks
    /// are possible).
    pub history: usize,
    /// The digest of the signed release this version came in, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The experiment this version runs, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<ExperimentInfo>,
}

/// An experiment as `GET /v1/policies` shows it.
#[derive(Debug, Serialize)]
pub(crate) struct ExperimentInfo {
    /// The experiment's id.
    pub id: String,
    /// `shadow` or `split`.
    pub mode: &'static str,
    /// In a split, the challenger's share of customers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<Percent>,
    /// In a split, the salt of the hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Whether both arms decide every customer.
    pub both_arms_decide: bool,
    /// The challenger's plugin version.
    pub challenger_plugin_version: String,
    /// SHA-256 of the challenger's module.
    pub challenger_module_sha256: Sha256,
    /// The challenger's full parameter set.
    pub challenger_params: Map<String, Value>,
}

impl ExperimentInfo {
    fn new(experiment: &Experiment) -> ExperimentInfo {
        let challenger = experiment.challenger();
        let split = experiment.split();
        ExperimentInfo {
            id: experiment.id().to_owned(),
            mode: if split.is_some() { "split" } else { "shadow" },
            percent: split.map(|split| split.percent),
            salt: split.map(|split| split.salt.clone()),
            both_arms_decide: experiment.decides_both(),
            challenger_plugin_version: challenger.plugin().manifest().version.clone(),
            challenger_module_sha256: challenger.plugin().sha256(),
            challenger_params: challenger.params().clone(),
        }
    }
}

impl PolicyInfo {
    /// Describes `policy`, which keeps `history` versions.
    #[must_use]
    pub(crate) fn new(policy: &Policy, history: usize) -> PolicyInfo {
        PolicyInfo {
            name: policy.name().to_owned(),
            plugin: policy.plugin().name().to_owned(),
            plugin_version: policy.plugin().manifest().version.clone(),
            module_sha256: policy.plugin().sha256(),
            module: policy.plugin().path().to_path_buf(),
            binding: policy.binding().to_path_buf(),
            params: policy.params().clone(),
            history,
            release: policy.release().map(|digest| format!("sha256:{digest}")),
            experiment: policy.experiment().map(ExperimentInfo::new),
        }
    }
}

/// An answer other than success: its status and a JSON body
/// `{"error": "...", "status": 400}`, plus `customer` and `field` when the
/// problem is in one customer of the request.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    customer: Option<usize>,
    field: Option<String>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// An error with `status` and `message`.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            customer: None,
            field: None,
        }
    }

    /// 400: the request is wrong.
    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 500: the service failed.
    pub(crate) fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl From<ConfigError> for ApiError {
    /// Problems with the request's content are 400s; anything else is the
    /// service's fault.
    fn from(error: ConfigError) -> ApiError {
        match error {
            ConfigError::Input(input) => ApiError {
                status: StatusCode::BAD_REQUEST,
                message: input.to_string(),
                customer: input.customer,
                field: input.field,
            },
            ConfigError::Engine(engine) => ApiError::from(engine),
            other => ApiError::internal(verdict_engine::chain_text(&other)),
        }
    }
}

impl From<EngineError> for ApiError {
    /// An unknown policy name is the request's fault; anything else is the
    /// service's.
    fn from(error: EngineError) -> ApiError {
        match error {
            EngineError::UnknownPolicy { .. } => ApiError::bad_request(error.to_string()),
            other => ApiError::internal(verdict_engine::chain_text(&other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: &self.message,
            status: self.status.as_u16(),
            customer: self.customer,
            field: self.field.as_deref(),
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body is never read, so the connection cannot
            // carry another request: tell the client not to reuse it.
            response.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        response
    }
}
