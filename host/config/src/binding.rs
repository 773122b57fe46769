//! Policy bindings (`policies/NAME.toml`): which plugin artifact a policy
//! runs, the versions it accepts, an optional SHA-256 pin, and parameters.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use toml::Spanned;
use toml::de::DeValue;
use verdict_engine::{
    EngineError, ParamAt, ParamError, Plugin, Policy, Sandbox, Sha256, is_kebab_case,
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
    pub sha256: Option<Sha256>,
    sha256_span: Range<usize>,
    /// Parameters as written (defaults are filled in when bound).
    pub params: Map<String, Value>,
    param_spans: HashMap<String, (Range<usize>, Range<usize>)>,
    params_span: Range<usize>,
}

/// A binding file as written, checked by serde: no unknown keys, and
/// `plugin`, `version` and `sha256` strings, each with its place. A missing
/// key is reported by [`Binding::parse`] with an example line to add.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BindingToml {
    plugin: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    sha256: Option<Spanned<String>>,
    /// Only admitted here: parameter values are read from the parsed tree,
    /// whose values all keep their spans (a problem the plugin finds in one
    /// is located by path) and whose dates `table_to_json` turns into
    /// strings; serde's data model keeps neither.
    #[serde(rename = "params")]
    _params: Option<IgnoredAny>,
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
        let file: BindingToml = doc.deserialize(&root)?;
        // A missing key is missing from the file's top-level table, whose
        // place is the start of the file.
        let missing = |key: &str, example: &str| {
            doc.error(
                0..0,
                format!("binding lacks `{key}`"),
                &format!("add a line such as {example}"),
            )
        };
        let plugin = file
            .plugin
            .ok_or_else(|| missing("plugin", "plugin = \"my_policy.wasm\""))?;
        let version_text = file
            .version
            .ok_or_else(|| missing("version", "version = \"^1.0\""))?;
        let version = semver::VersionReq::parse(version_text.get_ref()).map_err(|e| {
            doc.error(
                version_text.span(),
                format!("`version` is not a semver range: {e}"),
                "such as \"^1.0\" or \">=1.2, <2\"",
            )
        })?;
        let (sha256, sha256_span) = match file.sha256 {
            Some(pin) => match pin.get_ref().parse::<Sha256>() {
                Ok(digest) => (Some(digest), pin.span()),
                Err(_) => {
                    return Err(doc.error(pin.span(), "`sha256` must be 64 hex digits", ""));
                }
            },
            None => (None, 0..0),
        };
        // `[params]` is read from the parsed tree (see `BindingToml`).
        let table = root.get_ref();
        let (params, param_spans, params_span) = match table.get("params") {
            None => (Map::new(), HashMap::new(), 0..0),
            Some(value) => {
                let DeValue::Table(params) = value.get_ref() else {
                    return Err(doc.error(value.span(), "`params` must be a table", ""));
                };
                let json =
                    document::table_to_json(params).map_err(|problem| doc.no_json(problem))?;
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
            plugin: base.join(plugin.get_ref()),
            plugin_span: plugin.span(),
            version,
            version_span: version_text.span(),
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

    /// The binding's text with its `plugin` value replaced by `plugin` (a
    /// TOML string), everything else byte for byte: what a release stores,
    /// its modules named inside the release.
    #[must_use]
    pub fn text_with_plugin(&self, plugin: &str) -> String {
        let text = self.doc.text();
        // A JSON string is a valid TOML basic string (the same escapes).
        let value = Value::String(plugin.to_owned()).to_string();
        let span = self.plugin_span.clone();
        [&text[..span.start], value.as_str(), &text[span.end..]].concat()
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
        let sha256 = Sha256::of(&bytes);
        let plugin = match known.iter().find(|plugin| plugin.sha256() == sha256) {
            Some(&plugin) => plugin.clone().at(&self.plugin),
            None => Plugin::from_bytes(sandbox, &self.plugin, bytes.into())
                .map_err(|error| self.plugin_error(error))?,
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
    pub fn plugin_error(&self, error: EngineError) -> ConfigError {
        self.doc.refused(self.plugin_span.clone(), error)
    }

    /// Checks an already loaded plugin against the binding.
    pub fn with_plugin(&self, plugin: Plugin) -> Result<Policy, ConfigError> {
        if let Some(pin) = self.sha256.filter(|pin| *pin != plugin.sha256()) {
            return Err(self.error(
                Field::Sha256,
                format!(
                    "plugin `{}` has SHA-256 {}, not the pinned one {pin}",
                    plugin.path().display(),
                    plugin.sha256()
                ),
                "pinned here",
            ));
        }
        if !self.version.matches(plugin.version()) {
            return Err(self.error(
                Field::Version,
                format!(
                    "plugin `{}` is version {}, outside the accepted range `{}`",
                    plugin.name(),
                    plugin.version(),
                    self.version
                ),
                "accepted range",
            ));
        }
        Policy::new(&self.name, self.path().to_path_buf(), plugin, &self.params)
            .map_err(|error| self.param_error(error))
    }
}

/// Where parameter values were written, so a problem with one points at
/// it: a binding's `[params]`, or a test case's overrides.
pub(crate) trait ParamSite {
    /// The engine's parameter problem, at its place in the file.
    fn param_error(&self, error: ParamError) -> ConfigError;
}

impl ParamSite for Binding {
    fn param_error(&self, error: ParamError) -> ConfigError {
        match &error.at {
            ParamAt::Key(name) => self.param_key_error(name, error.message, &error.hint),
            ParamAt::Value(path) => self.param_value_error(path, error.message, &error.hint),
            // The whole set, or a place this version does not know.
            _ => self.error(Field::Params, error.message, &error.hint),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Diagnostic;

    fn parse(text: &str) -> Result<Binding, ConfigError> {
        Binding::parse(Document::from_text(
            Path::new("policies/my-policy.toml"),
            text,
        ))
    }

    fn problem(text: &str) -> String {
        match parse(text) {
            Ok(_) => String::from("(parsed)"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn a_refused_module_keeps_the_engines_error() {
        // The crate's own manifest: a file, but no WebAssembly module.
        let doc = Document::from_text(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("not-wasm.toml"),
            "plugin = \"Cargo.toml\"\nversion = \"^1\"\n",
        );
        let binding = Binding::parse(doc).unwrap_or_else(|e| unreachable!("{e}"));
        let sandbox = Sandbox::new(
            verdict_engine::Limits::default(),
            verdict_engine::ModuleCache::disabled(),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let Err(error) = binding.bind(&sandbox, &[]) else {
            unreachable!("a manifest bound as a plugin")
        };
        assert!(
            matches!(error.refusal(), Some(EngineError::Plugin { .. })),
            "{error:?}"
        );
        let message = error.diagnostic().map(Diagnostic::message);
        assert!(
            message.is_some_and(|m| m.starts_with("plugin refused: ")),
            "{message:?}"
        );
        assert!(
            error
                .to_string()
                .contains("not-wasm.toml:1:10: plugin refused: ")
        );
    }

    #[test]
    fn parses_a_binding_and_keeps_its_places() {
        let pin = "AB".repeat(32);
        let text = format!(
            "plugin = \"p.wasm\"\nversion = \"^1.2\"\nsha256 = \"{pin}\"\n\n[params]\nlimit = 3\nsince = 2020-01-02\n"
        );
        let binding = parse(&text).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(binding.name, "my-policy");
        assert_eq!(binding.plugin, PathBuf::from("policies/p.wasm"));
        assert_eq!(binding.version.to_string(), "^1.2");
        assert_eq!(binding.sha256, "ab".repeat(32).parse().ok());
        assert_eq!(
            Value::Object(binding.params.clone()),
            serde_json::json!({"limit": 3, "since": "2020-01-02"})
        );
        let at = |field| binding.error(field, "here", "").to_string();
        assert_eq!(at(Field::Plugin), "policies/my-policy.toml:1:10: here");
        assert_eq!(at(Field::Version), "policies/my-policy.toml:2:11: here");
        assert_eq!(at(Field::Sha256), "policies/my-policy.toml:3:10: here");
        assert_eq!(at(Field::Params), "policies/my-policy.toml:5:2: here");
    }

    #[test]
    fn refuses_bad_bindings_at_their_place() {
        let cases = [
            (
                "version = \"^1\"\n",
                "policies/my-policy.toml:1:1: binding lacks `plugin`",
            ),
            (
                "plugin = \"p.wasm\"\n",
                "policies/my-policy.toml:1:1: binding lacks `version`",
            ),
            (
                "plugin = 3\nversion = \"^1\"\n",
                "policies/my-policy.toml:1:10: `plugin`: invalid type: integer `3`, expected a string",
            ),
            (
                "plugin = \"p.wasm\"\nversion = \"^1\"\nplugins = \"q.wasm\"\n",
                "policies/my-policy.toml:3:1: unknown field `plugins`, expected one of \
                 `plugin`, `version`, `sha256`, `params`",
            ),
            (
                "plugin = \"p.wasm\"\nversion = \"^1\"\n[params]\nx = 1\n[params.more]\n",
                "(parsed)",
            ),
            (
                "plugin = \"p.wasm\"\nversion = \"one\"\n",
                "policies/my-policy.toml:2:11: `version` is not a semver range: \
                 unexpected character 'o' while parsing major version number",
            ),
            (
                "plugin = \"p.wasm\"\nversion = \"^1\"\nsha256 = \"abc\"\n",
                "policies/my-policy.toml:3:10: `sha256` must be 64 hex digits",
            ),
            (
                "plugin = \"p.wasm\"\nversion = \"^1\"\nparams = 3\n",
                "policies/my-policy.toml:3:10: `params` must be a table",
            ),
        ];
        for (text, wanted) in cases {
            assert_eq!(problem(text), wanted, "{text}");
        }
    }

    #[test]
    fn a_missing_key_says_what_to_add() {
        let Err(ConfigError::Diagnostic(diagnostic)) = parse("version = \"^1\"\n") else {
            unreachable!("a binding without `plugin` parses");
        };
        let report = diagnostic.render(false);
        assert!(
            report.contains("add a line such as plugin = \"my_policy.wasm\""),
            "{report}"
        );
    }
}
