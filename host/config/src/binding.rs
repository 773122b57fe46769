//! Policy bindings (`policies/NAME.toml`): which plugin artifact a policy
//! runs, the versions it accepts, an optional SHA-256 pin, and parameters.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use toml::de::DeValue;
use verdict_engine::{
    EngineError, ParamAt, ParamError, Plugin, Policy, Sandbox, chain_text, is_kebab_case,
    is_sha256_hex, sha256_hex,
};

use crate::document::{self, Document};
use crate::error::ConfigError;

/// A parsed binding file; every value keeps its place in the file so later
/// checks (version range, pin, parameters) can point at it.
#[derive(Debug, Clone)]
pub struct Binding {
    doc: Document,
    /// The policy name: the file stem.
    pub name: String,
    /// The plugin module, resolved against the binding's directory.
    pub plugin: PathBuf,
    plugin_span: Range<usize>,
    /// Plugin versions this binding accepts.
    pub version: semver::VersionReq,
    version_span: Range<usize>,
    /// SHA-256 the module bytes must have, when pinned.
    pub sha256: Option<String>,
    sha256_span: Range<usize>,
    /// Parameters as written (defaults are filled in when bound).
    pub params: Map<String, Value>,
    param_spans: HashMap<String, (Range<usize>, Range<usize>)>,
    params_span: Range<usize>,
}

/// Which part of a binding a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// The `plugin` path.
    Plugin,
    /// The `version` range.
    Version,
    /// The `sha256` pin.
    Sha256,
    /// The `[params]` table as a whole.
    Params,
}

impl Binding {
    /// Reads and parses a binding file.
    pub fn load(path: &Path) -> Result<Binding, ConfigError> {
        Binding::parse(Document::read(path)?)
    }

    /// Parses a binding document.
    pub fn parse(doc: Document) -> Result<Binding, ConfigError> {
        let name = doc
            .path()
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let root = doc.parse()?;
        if !is_kebab_case(&name) {
            return Err(doc.error(
                0..0,
                format!("binding file name `{name}` must be a kebab-case policy name"),
                "",
            ));
        }
        let table = root.get_ref();
        doc.deny_unknown_keys(
            table,
            &["plugin", "version", "sha256", "params"],
            "a binding",
        )?;
        let text = |key: &str| -> Result<Option<(String, Range<usize>)>, ConfigError> {
            match table.get(key) {
                None => Ok(None),
                Some(value) => match value.get_ref().as_str() {
                    Some(text) => Ok(Some((text.to_owned(), value.span()))),
                    None => Err(doc.error(value.span(), format!("`{key}` must be a string"), "")),
                },
            }
        };
        let missing = |key: &str, example: &str| {
            doc.error(
                0..0,
                format!("binding lacks `{key}`"),
                &format!("add a line such as {example}"),
            )
        };
        let (plugin, plugin_span) =
            text("plugin")?.ok_or_else(|| missing("plugin", "plugin = \"my_policy.wasm\""))?;
        let (version, version_span) =
            text("version")?.ok_or_else(|| missing("version", "version = \"^1.0\""))?;
        let version = semver::VersionReq::parse(&version).map_err(|e| {
            doc.error(
                version_span.clone(),
                format!("`version` is not a semver range: {e}"),
                "such as \"^1.0\" or \">=1.2, <2\"",
            )
        })?;
        let (sha256, sha256_span) = match text("sha256")? {
            Some((pin, span)) if is_sha256_hex(&pin) => (Some(pin.to_ascii_lowercase()), span),
            Some((_, span)) => return Err(doc.error(span, "`sha256` must be 64 hex digits", "")),
            None => (None, 0..0),
        };
        let (params, param_spans, params_span) = match table.get("params") {
            None => (Map::new(), HashMap::new(), 0..0),
            Some(value) => {
                let DeValue::Table(params) = value.get_ref() else {
                    return Err(doc.error(value.span(), "`params` must be a table", ""));
                };
                let json = document::table_to_json(params)
                    .map_err(|(span, message)| doc.error(span, message, ""))?;
                let spans = params
                    .iter()
                    .map(|(k, v)| (k.get_ref().to_string(), (k.span(), v.span())))
                    .collect();
                let span = document::key_span(table, "params").unwrap_or(0..0);
                (json, spans, span)
            }
        };
        let base = doc.path().parent().unwrap_or(Path::new("."));
        Ok(Binding {
            plugin: base.join(plugin),
            plugin_span,
            version,
            version_span,
            sha256,
            sha256_span,
            params,
            param_spans,
            params_span,
            name,
            doc,
        })
    }

    /// The binding file.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.doc.path()
    }

    /// A problem with one part of the binding.
    #[must_use]
    pub(crate) fn error(
        &self,
        field: Field,
        message: impl Into<String>,
        label: &str,
    ) -> ConfigError {
        let span = match field {
            Field::Plugin => self.plugin_span.clone(),
            Field::Version => self.version_span.clone(),
            Field::Sha256 => self.sha256_span.clone(),
            Field::Params => self.params_span.clone(),
        };
        self.doc.error(span, message, label)
    }

    /// A problem with the key of parameter `name`.
    #[must_use]
    fn param_key_error(&self, name: &str, message: impl Into<String>, label: &str) -> ConfigError {
        let span = self
            .param_spans
            .get(name)
            .map_or(self.params_span.clone(), |(key, _)| key.clone());
        self.doc.error(span, message, label)
    }

    /// A problem with the value at `path` (`name`, then `.field` and
    /// `[index]` steps), pointing as deep into the file as the path goes.
    #[must_use]
    fn param_value_error(
        &self,
        path: &str,
        message: impl Into<String>,
        label: &str,
    ) -> ConfigError {
        let span = self
            .locate(path)
            .unwrap_or_else(|| self.params_span.clone());
        self.doc.error(span, message, label)
    }

    fn locate(&self, path: &str) -> Option<Range<usize>> {
        let root = self.doc.parse().ok()?;
        let params = root.get_ref().get("params")?;
        Some(document::locate(params, path))
    }
}

impl Binding {
    /// Loads the binding's plugin and checks version range, pin and
    /// parameters; every problem points into the binding file. When the
    /// module's bytes are those of one of the `known` plugins, that plugin
    /// is reused instead of compiled again (a reload then costs a read and
    /// a hash per unchanged module).
    pub fn bind(&self, sandbox: &Sandbox, known: &[&Plugin]) -> Result<Policy, ConfigError> {
        let bytes = std::fs::read(&self.plugin).map_err(|source| {
            self.error(
                Field::Plugin,
                format!("cannot read plugin `{}`: {source}", self.plugin.display()),
                "build the plugins first (see README.md)",
            )
        })?;
        let sha256 = sha256_hex(&bytes);
        let plugin = match known.iter().find(|plugin| plugin.sha256 == sha256) {
            Some(&plugin) => {
                let mut plugin = plugin.clone();
                plugin.path.clone_from(&self.plugin);
                plugin
            }
            None => Plugin::from_bytes(sandbox, &self.plugin, bytes.into())
                .map_err(|error| self.plugin_error(&error))?,
        };
        self.with_plugin(plugin)
    }

    /// A problem with the binding's plugin, at its `plugin = ...` value.
    #[must_use]
    pub fn plugin_problem(&self, message: impl Into<String>, label: &str) -> ConfigError {
        self.error(Field::Plugin, message, label)
    }

    /// A module the engine refused, reported at the binding's `plugin`.
    #[must_use]
    pub fn plugin_error(&self, error: &EngineError) -> ConfigError {
        self.error(Field::Plugin, refusal(error), "")
    }

    /// Checks an already loaded plugin against the binding.
    pub fn with_plugin(&self, plugin: Plugin) -> Result<Policy, ConfigError> {
        if let Some(pin) = self.sha256.as_ref().filter(|pin| **pin != plugin.sha256) {
            return Err(self.error(
                Field::Sha256,
                format!(
                    "plugin `{}` has SHA-256 {}, not the pinned one {pin}",
                    plugin.path.display(),
                    plugin.sha256
                ),
                "pinned here",
            ));
        }
        if !self.version.matches(&plugin.version) {
            return Err(self.error(
                Field::Version,
                format!(
                    "plugin `{}` is version {}, outside the accepted range `{}`",
                    plugin.manifest.name, plugin.version, self.version
                ),
                "accepted range",
            ));
        }
        Policy::new(
            self.name.clone(),
            self.path().to_path_buf(),
            plugin,
            &self.params,
        )
        .map_err(|error| self.param_error(error))
    }
}

/// Where parameter values were written, so a problem with one points at
/// it: a binding's `[params]`, or a test case's overrides.
pub trait ParamSite {
    /// The engine's parameter problem, at its place in the file.
    fn param_error(&self, error: ParamError) -> ConfigError;
}

impl ParamSite for Binding {
    fn param_error(&self, error: ParamError) -> ConfigError {
        match &error.at {
            ParamAt::Key(name) => self.param_key_error(name, error.message, &error.hint),
            ParamAt::Value(path) => self.param_value_error(path, error.message, &error.hint),
            ParamAt::All => self.error(Field::Params, error.message, &error.hint),
        }
    }
}

/// What a diagnostic at a `plugin = ...` value says of a module the engine
/// refused (the location already names the file, so the path is left out).
#[must_use]
pub fn refusal(error: &EngineError) -> String {
    match error {
        EngineError::Plugin { problem, .. } => format!("plugin refused: {}", chain_text(problem)),
        other => chain_text(other),
    }
}
