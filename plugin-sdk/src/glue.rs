//! The encoding work behind the ABI exports, shared by the wasm exports the
//! [`policy!`](crate::policy) macro emits and by native callers (benches,
//! tests) that want the exact same bytes in and out: ABI v2 (what the macro
//! exports) and ABI v1's JSON (what modules built before v2 speak, kept for
//! native comparisons and the recorded-decision files).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Customer, Date, Decision, Input, Manifest, ParamError, Params, abi, wire};

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

/// `verdict_init` (v2): decode the parameter set, which the host sends as
/// JSON once per instance; the error displays as the message the export
/// answers.
pub fn init_json<P: Params>(input: &[u8]) -> Result<P, InitError> {
    serde_json::from_slice::<P>(input).map_err(InitError)
}

/// Why `verdict_init` refuses a parameter set: it does not decode as the
/// plugin's parameters. Displays as the message the export answers
/// (`parameters do not decode: ...`), which recorded decisions keep.
#[derive(Debug)]
pub struct InitError(serde_json::Error);

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "parameters do not decode: {}", self.0)
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// `verdict_evaluate` (v2): decode the binary envelope, run the policy
/// with the parameters `verdict_init` decoded, encode the decision (or the
/// refusal, when the input does not decode).
pub fn evaluate_v2<P>(input: &[u8], params: &P, policy: fn(&Input, &P) -> Decision) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    match wire::decode_envelope(input) {
        Ok(input) => wire::encode_decision(&policy(&input, params), &mut out),
        Err(error) => wire::encode_failure(&format!("input does not decode: {error}"), &mut out),
    }
    out
}

/// The v2 envelope for a v1 JSON envelope's `as_of` and `customer`, as the
/// host would encode it, and the parameter JSON `verdict_init` would get:
/// `None` when the JSON envelope does not hold those.
pub fn v2_inputs(envelope_json: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let envelope: serde_json::Map<String, Value> = serde_json::from_slice(envelope_json).ok()?;
    let as_of: Date = envelope.get("as_of")?.as_str()?.parse().ok()?;
    let params = serde_json::to_vec(envelope.get("params")?).ok()?;
    let mut customer = Vec::new();
    wire::encode_customer(envelope.get("customer")?.as_object()?, &mut customer).ok()?;
    let mut input = Vec::new();
    wire::encode_envelope(&mut input, as_of, &customer);
    Some((params, input))
}

fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain data types cannot fail: no maps with
    // non-string keys, no failing `Serialize` impls.
    serde_json::to_vec(value).unwrap_or_default()
}

/// Memory handling of the raw exports; wasm only.
#[cfg(target_arch = "wasm32")]
pub mod wasm {
    use std::sync::OnceLock;

    use crate::{Decision, Input, Params, abi, wire};

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

    /// `verdict_init`: decode the parameters into `slot`, once per
    /// instance. Answers an empty status, or the error message.
    pub fn init<P: Params + Sync + Send>(ptr: u32, len: u32, slot: &OnceLock<P>) -> u64 {
        call(ptr, len, |input| match super::init_json::<P>(input) {
            Ok(params) => match slot.set(params) {
                Ok(()) => Vec::new(),
                Err(_) => b"verdict_init was called twice in one instance".to_vec(),
            },
            Err(error) => error.to_string().into_bytes(),
        })
    }

    /// `verdict_evaluate` (v2) with the parameters in `slot`.
    pub fn evaluate<P: Sync + Send>(
        ptr: u32,
        len: u32,
        slot: &OnceLock<P>,
        policy: fn(&Input, &P) -> Decision,
    ) -> u64 {
        call(ptr, len, |input| match slot.get() {
            Some(params) => super::evaluate_v2(input, params, policy),
            None => {
                let mut out = Vec::new();
                wire::encode_failure("verdict_init was not called in this instance", &mut out);
                out
            }
        })
    }
}

/// Runs every input of a recorded-decisions file through
/// [`evaluate_json`] and compares the answer with the one recorded, byte
/// for byte; every recorded decision (of an input the host could send) must
/// also come out of the ABI v2 path
/// ([`init_json`], then [`evaluate_v2`] on the same input laid out as the
/// host lays it out, the answer decoded as the host decodes it) as the same
/// JSON. Returns how many answers were checked, or the first difference
/// ([`RecordedError`]).
///
/// The format, one item a line: `params JSON` sets the parameters that
/// later inputs splice in for `$params`; `# NAME` names the cases below;
/// `> INPUT` is an envelope; `< ANSWER` is the answer it must get.
pub fn check_recorded<P: Params>(
    recorded: &str,
    policy: fn(&Input, &P) -> Decision,
) -> Result<usize, RecordedError> {
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
                .ok_or(RecordedError::AnswerWithoutInput { line: at })?;
            let answer = evaluate_json::<P>(input.as_bytes(), policy);
            let answer = String::from_utf8_lossy(&answer);
            if answer != expected {
                return Err(RecordedError::Differs {
                    line: at,
                    case: case.to_owned(),
                    abi: 1,
                    answered: answer.into_owned(),
                    recorded: expected.to_owned(),
                });
            }
            checked += 1;
            if expected.starts_with("{\"outcome\"")
                && let Some(v2) =
                    answer_v2::<P>(input.as_bytes(), policy).map_err(|error| RecordedError::V2 {
                        line: at,
                        case: case.to_owned(),
                        error,
                    })?
                && v2 != expected
            {
                return Err(RecordedError::Differs {
                    line: at,
                    case: case.to_owned(),
                    abi: 2,
                    answered: v2,
                    recorded: expected.to_owned(),
                });
            }
        }
    }
    Ok(checked)
}

/// The decision the ABI v2 path gives for a v1 JSON envelope, as JSON;
/// `None` for an envelope the host would never send (a known field of
/// another shape, such as `null`, which the host refuses in profiles).
fn answer_v2<P: Params>(
    envelope_json: &[u8],
    policy: fn(&Input, &P) -> Decision,
) -> Result<Option<String>, V2Error> {
    let Some((params, input)) = v2_inputs(envelope_json) else {
        return Ok(None);
    };
    let params = init_json::<P>(&params).map_err(V2Error::Init)?;
    match wire::decode_answer(&evaluate_v2(&input, &params, policy)) {
        Ok(wire::Answer::Decision(decision)) => Ok(Some(to_json_text(&decision))),
        Ok(wire::Answer::Error(message)) => Err(V2Error::Refused(message)),
        Err(error) => Err(V2Error::Undecodable(error)),
    }
}

/// The first recorded answer [`check_recorded`] could not reproduce.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecordedError {
    /// A `< ANSWER` line with no `> INPUT` line before it.
    AnswerWithoutInput {
        /// The line of the answer, from 1.
        line: usize,
    },
    /// An input got another answer than the one recorded.
    Differs {
        /// The line of the recorded answer, from 1.
        line: usize,
        /// The name of the cases it is under (`# NAME`).
        case: String,
        /// The ABI path that answered: 1 (JSON) or 2 (the binary layout).
        abi: u32,
        /// What the policy answered.
        answered: String,
        /// What was recorded.
        recorded: String,
    },
    /// The ABI v2 path gave no decision for an input that has one.
    V2 {
        /// The line of the recorded answer, from 1.
        line: usize,
        /// The name of the cases it is under (`# NAME`).
        case: String,
        /// What went wrong on that path.
        error: V2Error,
    },
}

impl fmt::Display for RecordedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordedError::AnswerWithoutInput { line } => {
                write!(f, "line {line}: an answer without an input")
            }
            RecordedError::Differs {
                line,
                case,
                abi,
                answered,
                recorded,
            } => {
                let through = if *abi == 2 { "through ABI v2 " } else { "" };
                write!(
                    f,
                    "line {line} ({case}): {through}answered\n{answered}\nrecorded\n{recorded}"
                )
            }
            RecordedError::V2 { line, case, error } => {
                write!(f, "line {line} ({case}), through ABI v2: {error}")
            }
        }
    }
}

impl std::error::Error for RecordedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecordedError::V2 { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Why the ABI v2 path gave no decision for a recorded input.
#[derive(Debug)]
#[non_exhaustive]
pub enum V2Error {
    /// `verdict_init` refused the parameters.
    Init(InitError),
    /// The plugin refused the input (the message of its failure answer).
    Refused(String),
    /// The answer is not in the layout of ABI v2.
    Undecodable(wire::WireError),
}

impl fmt::Display for V2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V2Error::Init(error) => error.fmt(f),
            V2Error::Refused(message) => write!(f, "refused: {message}"),
            V2Error::Undecodable(error) => write!(f, "the answer does not decode: {error}"),
        }
    }
}

impl std::error::Error for V2Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            V2Error::Init(error) => Some(error),
            V2Error::Refused(_) => None,
            V2Error::Undecodable(error) => Some(error),
        }
    }
}

fn to_json_text<T: Serialize>(value: &T) -> String {
    String::from_utf8(to_json(value)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct NoParams {}

    impl Params for NoParams {
        fn schema() -> Vec<crate::ParamSpec> {
            Vec::new()
        }
    }

    fn allow(_: &Input, _: &NoParams) -> Decision {
        Decision::new("allow")
    }

    const ENVELOPE: &str = r#"> {"as_of": "2026-11-23", "params": {}, "customer": {"id": "C", "birth_date": "2000-01-01"}}"#;

    #[test]
    fn recorded_answers_are_checked_on_both_paths() {
        let recorded = format!(
            "# allow\n{ENVELOPE}\n< {{\"outcome\":\"allow\",\"value\":{{}},\"reasons\":[]}}"
        );
        assert_eq!(check_recorded::<NoParams>(&recorded, allow).ok(), Some(1));
    }

    #[test]
    fn a_difference_says_where_and_what() {
        let error = check_recorded::<NoParams>("< {}", allow).err();
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("line 1: an answer without an input")
        );
        let recorded = format!("# deny\n{ENVELOPE}\n< {{\"outcome\":\"deny\"}}");
        let error = check_recorded::<NoParams>(&recorded, allow).err();
        assert!(
            matches!(
                &error,
                Some(RecordedError::Differs {
                    line: 3,
                    abi: 1,
                    ..
                })
            ),
            "{error:?}"
        );
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some(
                "line 3 (deny): answered\n{\"outcome\":\"allow\",\"value\":{},\"reasons\":[]}\n\
                 recorded\n{\"outcome\":\"deny\"}"
            )
        );
    }

    #[test]
    fn init_refuses_parameters_that_do_not_decode() {
        let error = init_json::<NoParams>(b"{").err();
        assert!(
            error.as_ref().and_then(std::error::Error::source).is_some(),
            "{error:?}"
        );
        assert_eq!(
            error.map(|e| e.to_string()).as_deref(),
            Some("parameters do not decode: EOF while parsing an object at line 1 column 1")
        );
    }
}
