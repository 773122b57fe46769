//! A plugin module: its bytes and digest, what it declares about itself,
//! and calls into it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};
use verdict_sdk::{Decision, Manifest, ParamError, ParamKind, ParamSpec, abi, wire};
use wasmtime::ExternType;

use crate::digest::Sha256;
use crate::error::{EngineError, PluginError};
use crate::exports::Abi;
use crate::fault::Fault;
use crate::files::{Links, read_bounded};
use crate::guest::Guest;
use crate::instance::Export;
use crate::instrument::{Refusal, fast_path_eligible, instrument, is_added_export};
use crate::record::Outcome;
use crate::reuse::Layout;
use crate::sandbox::Sandbox;

/// How a module is to be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loading {
    /// Unchanged, in a fresh instance per call.
    Fresh,
    /// Instrumented and reused if the rewrite accepts it, else `Fresh`.
    ReuseIfPossible,
    /// Instrumented and reused, or refused.
    #[cfg(any(test, feature = "testing"))]
    Reuse,
}

/// How a plugin's decisions are isolated from one another.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Isolation {
    /// On an instance kept per worker and binding, restored after each
    /// decision to its state after instantiation (and `verdict_init`).
    Reused,
    /// In a fresh instance per decision, and why.
    Fresh(WhyFresh),
}

/// Why a plugin's decisions each get a fresh instance.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhyFresh {
    /// The module was built for ABI v1, whose modules are never rewritten.
    NotV2,
    /// The load-time rewrite for reused instances refuses the module.
    Refused(Refusal),
    /// This host's isolation self-check refuses reused instances (why).
    SelfCheck(String),
    /// `verdict_init`, under the parameters given, grows memory past what
    /// the restore covers.
    InitGrowsMemory {
        /// The memory after `verdict_init`, in bytes.
        bytes: u64,
        /// What the restore covers, in bytes.
        covered: u64,
    },
}

impl std::fmt::Display for WhyFresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WhyFresh::NotV2 => f.write_str("it is not an ABI v2 module"),
            WhyFresh::Refused(refusal) => {
                write!(f, "the load-time rewrite refuses it: {refusal}")
            }
            WhyFresh::SelfCheck(why) => write!(
                f,
                "this host's isolation self-check refuses reused instances: {why}"
            ),
            WhyFresh::InitGrowsMemory { bytes, covered } => write!(
                f,
                "verdict_init grows memory to {bytes} bytes, past the {covered} bytes the \
                 restore covers"
            ),
        }
    }
}

impl std::fmt::Display for Isolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Isolation::Reused => f.write_str("a reused instance, restored after each decision"),
            Isolation::Fresh(why) => write!(f, "a fresh instance per decision ({why})"),
        }
    }
}

/// The largest module the host reads (a plugin file, an archived module):
/// far above any policy's, and a bound on what a file named by a binding
/// or a log can make the host read.
pub const MAX_MODULE_BYTES: u64 = 256 << 20;

/// A loaded, checked plugin module. What it holds is fixed at load: the
/// bytes, their digest and the manifest always belong together.
#[derive(Debug, Clone)]
pub struct Plugin {
    path: PathBuf,
    sha256: Sha256,
    bytes: Arc<[u8]>,
    manifest: Manifest,
    version: semver::Version,
    exports: Vec<String>,
    /// `manifest.version` once more, shared by every record the plugin
    /// makes.
    record_version: Arc<str>,
    /// Why the module was not instrumented for reused instances.
    fresh_because: Option<WhyFresh>,
    guest: Guest,
}

/// What `verdict_evaluate` answers when the plugin cannot decide.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Failure {
    error: String,
}

impl Plugin {
    /// Reads, compiles and checks a module file.
    pub fn load(sandbox: &Sandbox, path: &Path) -> Result<Plugin, EngineError> {
        let bytes = read_bounded(path, Links::Follow, MAX_MODULE_BYTES).map_err(|source| {
            EngineError::Io {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Plugin::from_bytes(sandbox, path, bytes.into())
    }

    /// Compiles and checks module bytes; `path` names them in errors.
    ///
    /// A module that opts in (it exports the ABI v2 marker) and that the
    /// rewrite accepts is instrumented and evaluates on reused instances;
    /// any other runs unchanged, in a fresh instance per call.
    pub fn from_bytes(
        sandbox: &Sandbox,
        path: &Path,
        bytes: Arc<[u8]>,
    ) -> Result<Plugin, EngineError> {
        let path_choice = if fast_path_eligible(&bytes) {
            Loading::ReuseIfPossible
        } else {
            Loading::Fresh
        };
        Plugin::check(sandbox, path, bytes, path_choice).map_err(|problem| EngineError::Plugin {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// [`Plugin::from_bytes`], but instrumented for reused instances
    /// whatever ABI marker the module carries, and refused if the rewrite
    /// refuses it: how tests and benchmarks run today's modules on the
    /// reused-instance path.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn from_bytes_reused(
        sandbox: &Sandbox,
        path: &Path,
        bytes: Arc<[u8]>,
    ) -> Result<Plugin, EngineError> {
        Plugin::check(sandbox, path, bytes, Loading::Reuse).map_err(|problem| EngineError::Plugin {
            path: path.to_path_buf(),
            problem,
        })
    }

    fn check(
        sandbox: &Sandbox,
        path: &Path,
        bytes: Arc<[u8]>,
        loading: Loading,
    ) -> Result<Plugin, PluginError> {
        let (instrumented, fresh_because) = match loading {
            Loading::Fresh => (None, Some(WhyFresh::NotV2)),
            Loading::ReuseIfPossible => match instrument(&bytes) {
                Ok(instrumented) => (Some(instrumented), None),
                Err(refusal) => {
                    tracing::debug!(path = %path.display(), %refusal, "fresh instances only");
                    (None, Some(WhyFresh::Refused(refusal)))
                }
            },
            #[cfg(any(test, feature = "testing"))]
            Loading::Reuse => (
                Some(instrument(&bytes).map_err(PluginError::NotReusable)?),
                None,
            ),
        };
        let (module, layout) = match instrumented {
            Some(instrumented) => (
                sandbox.compile(&instrumented.bytes)?,
                Some(Layout {
                    globals: instrumented.globals,
                    covered_bytes: instrumented.covered_bytes,
                }),
            ),
            None => (sandbox.compile(&bytes)?, None),
        };
        let exports = module
            .exports()
            .filter(|e| !is_added_export(e.name()))
            .map(|e| format!("{}: {}", e.name(), describe(&e.ty())))
            .collect();
        let guest = Guest::prepare(sandbox, &module, layout)?;
        let (manifest, version) = guest
            .call(Export::Manifest, &[], |answer| {
                Ok(read_manifest(answer, guest.abi()))
            })
            .map_err(PluginError::ManifestCall)??;
        Ok(Plugin {
            path: path.to_path_buf(),
            sha256: Sha256::of(&bytes),
            bytes,
            record_version: manifest.version.as_str().into(),
            manifest,
            version,
            exports,
            fresh_because,
            guest,
        })
    }

    /// The file the module was loaded from (or the name its bytes were
    /// given).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The same module named by another file (one whose bytes are the
    /// same, found by their digest), without compiling it again.
    #[must_use]
    pub fn at(self, path: &Path) -> Plugin {
        Plugin {
            path: path.to_path_buf(),
            ..self
        }
    }

    /// SHA-256 of the module bytes.
    #[must_use]
    pub fn sha256(&self) -> Sha256 {
        self.sha256
    }

    /// The module bytes exactly as loaded.
    #[must_use]
    pub fn bytes(&self) -> &Arc<[u8]> {
        &self.bytes
    }

    /// What the plugin declares: name, version, parameters.
    #[must_use]
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The plugin's name, as its manifest declares it.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The manifest's `version`, parsed.
    #[must_use]
    pub fn version(&self) -> &semver::Version {
        &self.version
    }

    /// The version as the manifest writes it (and every record of it).
    pub(crate) fn record_version(&self) -> &Arc<str> {
        &self.record_version
    }

    /// The module's exports as `name: type` (the rewrite's own left out).
    #[must_use]
    pub fn exports(&self) -> &[String] {
        &self.exports
    }

    /// The prepared module and its instances.
    #[cfg(test)]
    pub(crate) fn guest(&self) -> &Guest {
        &self.guest
    }

    /// The ABI version the module was built for (its marker export).
    #[must_use]
    pub fn abi(&self) -> Abi {
        self.guest.abi()
    }

    /// Asks the plugin to check a full parameter set.
    pub(crate) fn check_params(
        &self,
        params: &Map<String, Value>,
    ) -> Result<Vec<ParamError>, Fault> {
        let input = serde_json::to_vec(params).map_err(|e| Fault::Malformed(e.to_string()))?;
        self.guest
            .call(Export::CheckParams, &input, read_param_problems)
    }

    /// Whether the module was instrumented for reused, restored instances
    /// (they are used unless the host's self-check refuses them: see
    /// [`Plugin::isolation`]).
    #[must_use]
    pub fn reuses_instances(&self) -> bool {
        self.guest.pool().is_some()
    }

    /// How this plugin's decisions are isolated on this host, and if each
    /// gets a fresh instance, why. Runs the host's self-check if it has not
    /// run yet.
    #[must_use]
    pub fn isolation(&self) -> Isolation {
        if let Some(why) = &self.fresh_because {
            return Isolation::Fresh(why.clone());
        }
        match self.guest.sandbox().reuse_refused() {
            Some(why) => Isolation::Fresh(WhyFresh::SelfCheck(why.to_owned())),
            None => Isolation::Reused,
        }
    }

    /// How decisions under the parameters `params_json` are isolated: as
    /// [`Plugin::isolation`] says, unless `verdict_init` under them grows
    /// memory past what the restore covers (found by setting one instance
    /// up, which then serves a decision).
    #[must_use]
    pub fn isolation_under(&self, params_json: &str) -> Isolation {
        let isolation = self.isolation();
        if isolation != Isolation::Reused {
            return isolation;
        }
        match self.guest.unrestorable_under(params_json.as_bytes()) {
            Some((bytes, covered)) => {
                Isolation::Fresh(WhyFresh::InitGrowsMemory { bytes, covered })
            }
            None => Isolation::Reused,
        }
    }

    /// Decides once on an input encoded for the plugin's ABI
    /// (`evaluate::encode`) and checks the answer. For ABI v1 the input
    /// holds the parameters; for v2 `params_json` goes to `verdict_init` of
    /// the instance first.
    pub(crate) fn evaluate(&self, params_json: &str, input: &[u8]) -> Result<Decision, Fault> {
        self.guest
            .decide(params_json.as_bytes(), input, self.decoder())
    }

    /// [`Plugin::evaluate`] in a brand-new instance of the same module
    /// (instrumented or not), whichever path the plugin normally takes: the
    /// baseline the reused-instance path is measured against.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn evaluate_fresh(
        &self,
        params_json: &str,
        input: &[u8],
    ) -> Result<Decision, Fault> {
        self.guest
            .decide_fresh(params_json.as_bytes(), input, self.decoder())
    }

    /// Measurement hook: evaluates `input` on a new reused instance and
    /// returns how long the restore after it took, or `None` when the
    /// plugin does not reuse instances or this call's instance could not
    /// be restored.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn time_restore(
        &self,
        params_json: &str,
        input: &[u8],
    ) -> Option<std::time::Duration> {
        self.guest.time_restore(params_json.as_bytes(), input)
    }

    /// How an answer of this plugin's ABI is read.
    pub(crate) fn decoder(&self) -> fn(&[u8]) -> Result<Decision, Fault> {
        decoder(self.guest.abi())
    }
}

/// Reads the answer of `verdict_manifest` of a module built for `abi` and
/// checks what it declares: its ABI, a kebab-case name, parameters that hold
/// together, a semantic version.
pub(crate) fn read_manifest(
    answer: &[u8],
    abi: Abi,
) -> Result<(Manifest, semver::Version), PluginError> {
    let manifest: Manifest = serde_json::from_slice(answer).map_err(PluginError::ManifestJson)?;
    let marker = abi.number();
    if manifest.abi != marker {
        return Err(PluginError::Abi {
            found: manifest.abi,
            marker,
        });
    }
    if !is_kebab_case(&manifest.name) {
        return Err(PluginError::Name(manifest.name));
    }
    check_declared_params(&manifest.params)?;
    let version =
        semver::Version::parse(&manifest.version).map_err(|source| PluginError::Version {
            version: manifest.version.clone(),
            source,
        })?;
    Ok((manifest, version))
}

/// How an answer of `verdict_evaluate` in `abi` is read and checked.
pub(crate) fn decoder(abi: Abi) -> fn(&[u8]) -> Result<Decision, Fault> {
    match abi {
        Abi::V1 => decode_v1,
        Abi::V2 => decode_v2,
    }
}

/// Reads the answer of `verdict_check_params`: the problems the plugin
/// found in a parameter set (none when it accepts it).
pub(crate) fn read_param_problems(answer: &[u8]) -> Result<Vec<ParamError>, Fault> {
    serde_json::from_slice(answer)
        .map_err(|e| Fault::Malformed(format!("parameter check answer: {e}")))
}

/// Reads a v1 answer (JSON) in place and checks the decision.
fn decode_v1(answer: &[u8]) -> Result<Decision, Fault> {
    // A decision is by far the common answer: decode it directly rather
    // than through an untagged enum, which would buffer every answer.
    if let Ok(decision) = serde_json::from_slice::<Decision>(answer) {
        return check_decision(decision);
    }
    match serde_json::from_slice::<Failure>(answer) {
        Ok(Failure { error }) => Err(Fault::Plugin(error)),
        Err(_) => Err(Fault::Malformed(format!(
            "expected a decision object, got `{}`",
            String::from_utf8_lossy(&answer[..answer.len().min(120)])
        ))),
    }
}

/// Reads a v2 answer (the binary layout) in place and checks the decision
/// exactly as a v1 one.
fn decode_v2(answer: &[u8]) -> Result<Decision, Fault> {
    match wire::decode_answer(answer) {
        Ok(wire::Answer::Decision(decision)) => check_decision(decision),
        Ok(wire::Answer::Error(message)) => Err(Fault::Plugin(message)),
        Err(error) => Err(Fault::Malformed(format!(
            "the answer is not a v2 decision: {error}"
        ))),
    }
}

/// Whether `name` may name a parameter: an ASCII letter, then letters,
/// digits, `_` or `-`.
fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A plugin's declaration of its parameters must hold together: unique
/// names, a default of the declared type within the declared range, and a
/// range only on numbers with `min <= max`. Otherwise a binding could never
/// be checked against it, or the plugin would get values it forbids.
fn check_declared_params(specs: &[ParamSpec]) -> Result<(), PluginError> {
    for (i, spec) in specs.iter().enumerate() {
        let problem = |problem: String| PluginError::Param {
            name: spec.name.clone(),
            problem,
        };
        if specs[..i].iter().any(|earlier| earlier.name == spec.name) {
            return Err(problem("it is declared twice".to_owned()));
        }
        // Names are keys of a binding's `[params]` and steps of the paths
        // that locate a problem (`bands[2].max_age`): none may be empty or
        // hold what a path or a TOML bare key cannot.
        if !is_param_name(&spec.name) {
            return Err(problem(
                "a name must be letters, digits, `_` or `-`, starting with a letter".to_owned(),
            ));
        }
        let numeric = matches!(spec.kind, ParamKind::Number | ParamKind::Integer);
        if !numeric && (spec.min.is_some() || spec.max.is_some()) {
            return Err(problem(format!(
                "a range is only for numbers, not for a {}",
                spec.kind.name()
            )));
        }
        if let (Some(min), Some(max)) = (spec.min, spec.max)
            && min > max
        {
            return Err(problem(format!(
                "its minimum {min} is above its maximum {max}"
            )));
        }
        if spec.default.is_null() {
            return Err(problem("it has no default".to_owned()));
        }
        spec.check(&spec.default)
            .map_err(|why| problem(format!("its default does not fit it: {why}")))?;
    }
    Ok(())
}

fn check_decision(decision: Decision) -> Result<Decision, Fault> {
    if let Some(reason) = decision
        .reasons
        .iter()
        .find(|reason| reason.message.len() > abi::MAX_MESSAGE_BYTES)
    {
        return Err(Fault::Malformed(format!(
            "the message of reason `{}` is {} bytes, more than the {} bytes the ABI allows",
            reason.code,
            reason.message.len(),
            abi::MAX_MESSAGE_BYTES
        )));
    }
    if decision.outcome == Outcome::ERROR {
        return Err(Fault::Malformed(format!(
            "outcome `{}` is reserved for decisions the host could not get from the plugin",
            Outcome::ERROR
        )));
    }
    if !is_kebab_case(&decision.outcome) {
        return Err(Fault::Malformed(format!(
            "outcome `{}` is not a kebab-case word",
            decision.outcome
        )));
    }
    if let Some(reason) = decision.reasons.iter().find(|r| !is_kebab_case(&r.code)) {
        return Err(Fault::Malformed(format!(
            "reason code `{}` is not kebab-case",
            reason.code
        )));
    }
    Ok(decision)
}

/// Lowercase ASCII words joined by single hyphens, such as `over-allowance`.
#[must_use]
pub fn is_kebab_case(word: &str) -> bool {
    !word.is_empty()
        && word.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn describe(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(func) => {
            let list = |types: &mut dyn Iterator<Item = wasmtime::ValType>| {
                types.map(|t| t.to_string()).collect::<Vec<_>>().join(", ")
            };
            format!(
                "func({}) -> ({})",
                list(&mut func.params()),
                list(&mut func.results())
            )
        }
        ExternType::Memory(memory) => format!("memory({} pages min)", memory.minimum()),
        ExternType::Global(_) => "global".to_owned(),
        ExternType::Table(_) => "table".to_owned(),
        ExternType::Tag(_) => "tag".to_owned(),
    }
}
