//! Hooks for benchmarks, tests and fuzz targets that look beneath the
//! decision API (the `testing` feature): the raw input encodings, the
//! readers of what a plugin answers, one call on an encoded input, the
//! fresh-instance baseline, the restore alone, and loading a module for
//! reused instances whatever its ABI marker.

use std::path::Path;
use std::sync::Arc;

use verdict_sdk::{Date, Decision, Manifest, ParamError};

use crate::error::{EngineError, PluginError};
use crate::exports::Abi;
use crate::fault::Fault;
use crate::plugin::Plugin;
use crate::profile::Profile;
use crate::sandbox::Sandbox;

/// The ABI v1 input of one decision: the JSON envelope.
pub fn encode_input(buffer: &mut Vec<u8>, as_of: Date, params_json: &str, customer_json: &str) {
    crate::evaluate::encode_input(buffer, as_of, params_json, customer_json);
}

/// The input of one decision as a plugin built for `abi` receives it.
pub fn encode_for(
    abi: Abi,
    buffer: &mut Vec<u8>,
    as_of: Date,
    params_json: &str,
    profile: &Profile,
) -> Result<(), Fault> {
    crate::evaluate::encode(abi, buffer, as_of, params_json, profile)
}

/// Reads an answer of `verdict_evaluate` from a module built for `abi`,
/// exactly as the host does after a call: a checked decision, or the fault
/// the answer stands for (the plugin's own error, or a malformed answer).
pub fn decode_answer(abi: Abi, answer: &[u8]) -> Result<Decision, Fault> {
    crate::plugin::decoder(abi)(answer)
}

/// Reads and checks the answer of `verdict_manifest` from a module built
/// for `abi`, exactly as loading a plugin does.
pub fn read_manifest(abi: Abi, answer: &[u8]) -> Result<(Manifest, semver::Version), PluginError> {
    crate::plugin::read_manifest(answer, abi)
}

/// Reads the answer of `verdict_check_params`, exactly as binding a
/// plugin does.
pub fn read_param_problems(answer: &[u8]) -> Result<Vec<ParamError>, Fault> {
    crate::plugin::read_param_problems(answer)
}

/// One call of `plugin` on an encoded input, on the path it normally
/// takes (a reused instance where it may).
pub fn evaluate(plugin: &Plugin, params_json: &str, input: &[u8]) -> Result<Decision, Fault> {
    plugin.evaluate(params_json, input)
}

/// [`evaluate`] in a brand-new instance: the baseline the reused path is
/// measured against.
pub fn evaluate_fresh(plugin: &Plugin, params_json: &str, input: &[u8]) -> Result<Decision, Fault> {
    plugin.evaluate_fresh(params_json, input)
}

/// How long the restore after one decision on a new reused instance
/// takes, or `None` when the plugin does not reuse instances or the
/// instance could not be restored.
#[must_use]
pub fn time_restore(
    plugin: &Plugin,
    params_json: &str,
    input: &[u8],
) -> Option<std::time::Duration> {
    plugin.time_restore(params_json, input)
}

/// Loads a module instrumented for reused instances whatever ABI marker it
/// carries, refused if the rewrite refuses it.
pub fn plugin_reused(
    sandbox: &Sandbox,
    path: &Path,
    bytes: Arc<[u8]>,
) -> Result<Plugin, EngineError> {
    Plugin::from_bytes_reused(sandbox, path, bytes)
}
