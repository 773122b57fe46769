//! The encoding work behind the ABI exports, shared by the wasm exports the
//! [`policy!`](crate::policy) macro emits and by native callers (benches,
//! tests) that want the exact same bytes in and out.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Customer, Date, Decision, Input, Manifest, ParamError, Params, abi};

/// The package facts a plugin's manifest carries, taken from its Cargo.toml.
#[derive(Debug, Clone, Copy)]
pub struct PackageInfo {
    /// `CARGO_PKG_NAME`.
    pub name: &'static str,
    /// `CARGO_PKG_VERSION`.
    pub version: &'static str,
    /// `CARGO_PKG_DESCRIPTION`.
    pub description: &'static str,
}

/// The input of `verdict_evaluate`, as the host encodes it.
#[derive(Deserialize)]
struct Envelope<P> {
    as_of: Date,
    params: P,
    customer: Customer,
}

/// The reply of `verdict_evaluate` when the plugin cannot decide.
#[derive(Serialize)]
struct Failure {
    error: String,
}

/// The manifest of a plugin whose parameters are `P`.
pub fn manifest<P: Params>(package: &PackageInfo) -> Manifest {
    let defaults = serde_json::to_value(P::default()).unwrap_or(Value::Null);
    let params = P::schema()
        .into_iter()
        .map(|mut spec| {
            spec.default = defaults.get(&spec.name).cloned().unwrap_or(Value::Null);
            spec
        })
        .collect();
    Manifest {
        abi: abi::VERSION,
        name: package.name.to_owned(),
        version: package.version.to_owned(),
        description: package.description.to_owned(),
        params,
    }
}

/// The manifest, encoded as the `verdict_manifest` export returns it.
pub fn manifest_json<P: Params>(package: &PackageInfo) -> Vec<u8> {
    to_json(&manifest::<P>(package))
}

/// `verdict_check_params`: decode and validate a parameter set, answering a
/// JSON list of problems (empty when the set is good).
pub fn check_params_json<P: Params>(input: &[u8]) -> Vec<u8> {
    let problems = match serde_json::from_slice::<P>(input) {
        Ok(params) => params.validate().err().unwrap_or_default(),
        Err(error) => vec![ParamError::new("", error.to_string())],
    };
    to_json(&problems)
}

/// `verdict_evaluate`: decode the envelope, run the policy, encode the
/// decision (or `{"error": ...}` when the input does not decode).
pub fn evaluate_json<P: Params>(input: &[u8], policy: fn(&Input, &P) -> Decision) -> Vec<u8> {
    match serde_json::from_slice::<Envelope<P>>(input) {
        Ok(envelope) => {
            let input = Input::new(envelope.as_of, envelope.customer);
            to_json(&policy(&input, &envelope.params))
        }
        Err(error) => to_json(&Failure {
            error: format!("input does not decode: {error}"),
        }),
    }
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain data types cannot fail: no maps with
    // non-string keys, no failing `Serialize` impls.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Memory handling of the raw exports; wasm only.
#[cfg(target_arch = "wasm32")]
pub mod wasm {
    use crate::abi;

    /// `verdict_alloc`: a buffer of `len` bytes the host writes into. The
    /// instance lives for one call, so it is never freed.
    pub fn alloc(len: u32) -> u32 {
        let buffer = Vec::<u8>::with_capacity(len as usize).leak();
        buffer.as_mut_ptr() as u32
    }

    /// Hands `bytes` to the host as a packed slice; they live as long as the
    /// instance.
    pub fn reply(bytes: Vec<u8>) -> u64 {
        let bytes = bytes.leak();
        abi::pack(bytes.as_ptr() as u32, bytes.len() as u32)
    }

    /// Runs `f` over the input slice the host wrote at `ptr`.
    pub fn call(ptr: u32, len: u32, f: impl FnOnce(&[u8]) -> Vec<u8>) -> u64 {
        // SAFETY: the host wrote `len` bytes at `ptr`, a buffer it got from
        // `alloc`; nothing else touches it during this call.
        let input = unsafe { core::slice::from_raw_parts(ptr as *const u8, len as usize) };
        reply(f(input))
    }
}

/// Runs every input of a recorded-decisions file through
/// [`evaluate_json`] and compares the answer with the one recorded, byte
/// for byte; returns how many were checked, or the first difference.
///
/// The format, one item a line: `params JSON` sets the parameters that
/// later inputs splice in for `$params`; `# NAME` names the cases below;
/// `> INPUT` is an envelope; `< ANSWER` is the answer it must get.
pub fn check_recorded<P: Params>(
    recorded: &str,
    policy: fn(&Input, &P) -> Decision,
) -> Result<usize, String> {
    let mut params = "";
    let mut case = "";
    let mut input = None;
    let mut checked = 0;
    for (index, line) in recorded.lines().enumerate() {
        let at = index + 1;
        if let Some(json) = line.strip_prefix("params ") {
            params = json;
        } else if let Some(name) = line.strip_prefix("# ") {
            case = name;
        } else if let Some(text) = line.strip_prefix("> ") {
            input = Some(text.replace("$params", params));
        } else if let Some(expected) = line.strip_prefix("< ") {
            let input = input
                .take()
                .ok_or_else(|| format!("line {at}: an answer without an input"))?;
            let answer = evaluate_json::<P>(input.as_bytes(), policy);
            let answer = String::from_utf8_lossy(&answer);
            if answer != expected {
                return Err(format!(
                    "line {at} ({case}): answered\n{answer}\nrecorded\n{expected}"
                ));
            }
            checked += 1;
        }
    }
    Ok(checked)
}
