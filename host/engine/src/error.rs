//! What stops the engine: an engine that cannot start, a module it refuses,
//! parameters a plugin does not accept, a policy it does not have.

use std::path::PathBuf;

use crate::fault::Fault;
use crate::instrument::Refusal;

/// Everything that stops the engine from loading or selecting policies.
/// Messages name the problem; causes (I/O, wasmtime) stay in the chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The WebAssembly engine could not be configured.
    #[error("cannot set up the WebAssembly engine")]
    Setup(#[source] wasmtime::Error),
    /// A module file could not be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A module is not a usable plugin.
    #[error("plugin `{}` refused", path.display())]
    Plugin {
        /// The module file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        problem: PluginError,
    },
    /// Parameters the plugin does not accept.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// A policy name that is not loaded.
    #[error("no policy named `{name}`; loaded: {}", loaded.join(", "))]
    UnknownPolicy {
        /// The name asked for.
        name: String,
        /// The names loaded.
        loaded: Vec<String>,
    },
}

/// Why a module is not a usable plugin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// Not WebAssembly, or not valid under the engine's features.
    #[error("is not a valid WebAssembly module")]
    Invalid(#[source] wasmtime::Error),
    /// The module imports something; plugins get no imports.
    #[error(
        "imports {}, but the Verdict ABI offers plugins no imports (no file system, network, \
         clock or randomness)",
        .imports.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
    )]
    Imports {
        /// The imports, as `module.name`.
        imports: Vec<String>,
    },
    /// Neither ABI marker is exported.
    #[error(
        "lacks the export `{}` or `{}`: it was not built for a Verdict ABI",
        verdict_sdk::abi::MARKER_V1,
        verdict_sdk::abi::MARKER_V2
    )]
    NoMarker,
    /// Both ABI markers are exported.
    #[error(
        "exports both `{}` and `{}`: a module is built for one ABI version",
        verdict_sdk::abi::MARKER_V1,
        verdict_sdk::abi::MARKER_V2
    )]
    TwoMarkers,
    /// An export its ABI version requires is missing.
    #[error("lacks the export `{name}`, which its ABI version requires")]
    MissingExport {
        /// The export's name.
        name: &'static str,
    },
    /// An export the ABI requires has another type.
    #[error("exports `{name}` with another type than the ABI's: it must be {expected}")]
    ExportType {
        /// The export's name.
        name: &'static str,
        /// What the ABI requires.
        expected: String,
    },
    /// A declared parameter contradicts itself.
    #[error("declares parameter `{name}` wrongly: {problem}")]
    Param {
        /// The parameter.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The module defines more than one memory.
    #[error("defines {count} memories; the ABI allows one")]
    Memories {
        /// How many memories the module defines.
        count: u32,
    },
    /// The module was asked to run on reused instances, but its rewrite
    /// for them is refused (see why).
    #[error("cannot run on reused instances")]
    NotReusable(#[source] Refusal),
    /// The module could not be prepared for instantiation.
    #[error("cannot be prepared for instantiation")]
    Prepare(#[source] wasmtime::Error),
    /// Calling `verdict_manifest` failed.
    #[error("manifest call failed: {0}")]
    ManifestCall(Fault),
    /// The manifest is not the JSON the ABI describes.
    #[error("manifest is not valid JSON of the ABI")]
    ManifestJson(#[source] serde_json::Error),
    /// The manifest declares another ABI version than the marker export.
    #[error("declares ABI v{found} in its manifest, but exports the marker of ABI v{marker}")]
    Abi {
        /// The version the manifest declares.
        found: u32,
        /// The version of the marker export.
        marker: u32,
    },
    /// The declared name is not kebab-case.
    #[error("declares the name `{0}`, which is not kebab-case")]
    Name(String),
    /// The declared version is not semver.
    #[error("declares the version `{version}`, which is not semver")]
    Version {
        /// The declared version.
        version: String,
        /// Why it does not parse.
        #[source]
        source: semver::Error,
    },
}

/// Where in a parameter set a [`ParamError`] is: what a caller that knows
/// where the parameters were written points at.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamAt {
    /// The key of the parameter with this name.
    Key(String),
    /// The value at this path (`name`, then `.field` and `[index]` steps).
    Value(String),
    /// The parameters as a whole.
    All,
}

/// A parameter set a plugin does not accept.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// Where the problem is.
    pub at: ParamAt,
    /// The problem.
    pub message: String,
    /// A hint for the place (what is declared, what the parameter means);
    /// may be empty.
    pub hint: String,
}

/// `error` and its causes, joined by `: ` (what a message shows of an error
/// it reports as text, such as a diagnostic at a place in a file).
#[must_use]
pub fn chain_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
