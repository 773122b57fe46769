//! Policy bindings (`policies/NAME.toml`): which plugin artifact a policy
//! runs, the versions it accepts, an optional SHA-256 pin, and parameters.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};
use toml::Spanned;
use toml::de::{DeTable as Table, DeValue};
use verdict_engine::{
    EngineError, Experiment, Mode, ParamAt, ParamError, Percent, Plugin, Policy, Sandbox, Sha256,
    Split, is_kebab_case,
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
    /// Plugin versions this binding accepts.
    pub version: semver::VersionReq,
    /// SHA-256 the module bytes must have, when pinned.
    pub sha256: Option<Sha256>,
    /// Parameters as written (defaults are filled in when bound).
    pub params: Map<String, Value>,
    places: Places,
    /// The `[challenger]` tried beside the policy, if any.
    pub challenger: Option<Challenger>,
}

/// Where a module's `plugin`, `version`, `sha256` and parameters were
/// written: at the top of the file (the champion) or in `[challenger]`.
#[derive(Debug, Clone, Default)]
struct Places {
    /// `""` at the top, `"challenger."` in the challenger's table: what
    /// parameter paths are prefixed with to be found in the file.
    table: &'static str,
    plugin: Range<usize>,
    version: Range<usize>,
    sha256: Range<usize>,
    params: Range<usize>,
    param_keys: HashMap<String, Range<usize>>,
}

/// A binding's `[challenger]`: the experiment, and the module, versions,
/// pin and parameters of the policy tried beside the champion (`plugin`
/// and `version` default to the champion's).
#[derive(Debug, Clone)]
pub struct Challenger {
    /// The experiment's id.
    pub id: String,
    /// Shadow or split, with the split's rule.
    pub mode: Mode,
    /// The challenger's module, resolved against the binding's directory.
    pub plugin: PathBuf,
    /// Versions the challenger's module may have.
    pub version: semver::VersionReq,
    /// SHA-256 the challenger's module must have, when pinned.
    pub sha256: Option<Sha256>,
    /// The challenger's parameters as written.
    pub params: Map<String, Value>,
    id_span: Range<usize>,
    places: Places,
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
    challenger: Option<ChallengerToml>,
}

/// A `[challenger]` table as written (its `[challenger.params]` read from
/// the tree, as the champion's).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChallengerToml {
    id: Option<Spanned<String>>,
    mode: Option<Spanned<ModeToml>>,
    percent: Option<Spanned<f64>>,
    salt: Option<Spanned<String>>,
    shadow_other: Option<Spanned<bool>>,
    plugin: Option<Spanned<String>>,
    version: Option<Spanned<String>>,
    sha256: Option<Spanned<String>>,
    #[serde(rename = "params")]
    _params: Option<IgnoredAny>,
}

/// The `mode` words.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ModeToml {
    Shadow,
    Split,
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
}

/// A module part of a binding as read: the champion's, or the
/// challenger's.
struct Module {
    plugin: PathBuf,
    version: semver::VersionReq,
    sha256: Option<Sha256>,
    params: Map<String, Value>,
}

impl Module {
    /// Reads `plugin`, `version` and `sha256` (as written in the table at
    /// `table`, `""` for the top one) and that table's `params`.
    fn read(
        doc: &Document,
        root: &Table<'_>,
        table: &'static str,
        plugin: Spanned<String>,
        version: Spanned<String>,
        sha256: Option<Spanned<String>>,
    ) -> Result<(Module, Places), ConfigError> {
        let key = |name: &str| format!("{table}{name}");
        let version_req = semver::VersionReq::parse(version.get_ref()).map_err(|e| {
            doc.error(
                version.span(),
                format!("`{}` is not a semver range: {e}", key("version")),
                "such as \"^1.0\" or \">=1.2, <2\"",
            )
        })?;
        let (sha256, sha256_span) = match sha256 {
            Some(pin) => match pin.get_ref().parse::<Sha256>() {
                Ok(digest) => (Some(digest), pin.span()),
                Err(_) => {
                    return Err(doc.error(
                        pin.span(),
                        format!("`{}` must be 64 hex digits", key("sha256")),
                        "",
                    ));
                }
            },
            None => (None, 0..0),
        };
        // `params` is read from the parsed tree (see `BindingToml`).
        let holder = match table.strip_suffix('.') {
            None => Some(root),
            Some(name) => match root.get(name).map(Spanned::get_ref) {
                Some(DeValue::Table(holder)) => Some(holder),
                _ => None,
            },
        };
        let (params, param_keys, params_span) = match holder.and_then(|t| t.get("params")) {
            None => (Map::new(), HashMap::new(), 0..0),
            Some(value) => {
                let DeValue::Table(params) = value.get_ref() else {
                    return Err(doc.error(
                        value.span(),
                        format!("`{}` must be a table", key("params")),
                        "",
                    ));
                };
                let json =
                    document::table_to_json(params).map_err(|problem| doc.no_json(problem))?;
                let keys = params
                    .iter()
                    .map(|(k, _)| (k.get_ref().to_string(), k.span()))
                    .collect();
                let span = holder
                    .and_then(|t| document::key_span(t, "params"))
                    .unwrap_or(0..0);
                (json, keys, span)
            }
        };
        let base = doc.path().parent().unwrap_or(Path::new("."));
        let places = Places {
            table,
            plugin: plugin.span(),
            version: version.span(),
            sha256: sha256_span,
            params: params_span,
            param_keys,
        };
        let module = Module {
            plugin: base.join(plugin.get_ref()),
            version: version_req,
            sha256,
            params,
        };
        Ok((module, places))
    }
}

impl Challenger {
    /// Reads `[challenger]`; `plugin` and `version` default to the
    /// champion's (`champion`, as written).
    fn read(
        doc: &Document,
        root: &Table<'_>,
        written: ChallengerToml,
        champion: (&Spanned<String>, &Spanned<String>),
    ) -> Result<Challenger, ConfigError> {
        let header = document::key_span(root, "challenger").unwrap_or(0..0);
        let missing = |key: &str, example: &str| {
            doc.error(
                header.clone(),
                format!("`[challenger]` lacks `{key}`"),
                &format!("add a line such as {example}"),
            )
        };
        let id = written
            .id
            .ok_or_else(|| missing("id", "id = \"rates-2027\""))?;
        if !is_kebab_case(id.get_ref()) {
            return Err(doc.error(
                id.span(),
                "`challenger.id` must be a kebab-case name",
                "such as \"rates-2027\"",
            ));
        }
        let mode = written.mode.ok_or_else(|| {
            missing(
                "mode",
                "mode = \"shadow\" (or \"split\", with percent and salt)",
            )
        })?;
        let only_in_split = |key: &str, span: Range<usize>| {
            doc.error(
                span,
                format!("`challenger.{key}` is only for mode = \"split\""),
                "a shadow experiment decides every customer on both arms",
            )
        };
        let mode = match *mode.get_ref() {
            ModeToml::Shadow => {
                for (key, span) in [
                    ("percent", written.percent.as_ref().map(Spanned::span)),
                    ("salt", written.salt.as_ref().map(Spanned::span)),
                    (
                        "shadow_other",
                        written.shadow_other.as_ref().map(Spanned::span),
                    ),
                ] {
                    if let Some(span) = span {
                        return Err(only_in_split(key, span));
                    }
                }
                Mode::Shadow
            }
            ModeToml::Split => {
                let percent = written.percent.ok_or_else(|| {
                    missing(
                        "percent",
                        "percent = 10 (the challenger's share of customers)",
                    )
                })?;
                let percent = Percent::new(*percent.get_ref()).map_err(|problem| {
                    doc.error(
                        percent.span(),
                        format!("`challenger.percent`: {problem}"),
                        "the challenger's share of customers, such as 10 or 2.5",
                    )
                })?;
                let salt = written.salt.ok_or_else(|| {
                    doc.error(
                        header.clone(),
                        "a split needs a `salt`",
                        "add a line such as salt = \"2027-01\" (mixed into the hash that puts each \
                         customer in an arm; a new salt draws new arms)",
                    )
                })?;
                Mode::Split {
                    split: Split {
                        percent,
                        salt: salt.into_inner(),
                    },
                    shadow_other: written.shadow_other.is_some_and(Spanned::into_inner),
                }
            }
        };
        let (module, places) = Module::read(
            doc,
            root,
            "challenger.",
            written.plugin.unwrap_or_else(|| champion.0.clone()),
            written.version.unwrap_or_else(|| champion.1.clone()),
            written.sha256,
        )?;
        Ok(Challenger {
            id_span: id.span(),
            id: id.into_inner(),
            mode,
            plugin: module.plugin,
            version: module.version,
            sha256: module.sha256,
            params: module.params,
            places,
        })
    }
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
        let table = root.get_ref();
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
        let version = file
            .version
            .ok_or_else(|| missing("version", "version = \"^1.0\""))?;
        let challenger = match file.challenger {
            None => None,
            Some(written) => Some(Challenger::read(&doc, table, written, (&plugin, &version))?),
        };
        let (module, places) = Module::read(&doc, table, "", plugin, version, file.sha256)?;
        Ok(Binding {
            plugin: module.plugin,
            version: module.version,
            sha256: module.sha256,
            params: module.params,
            places,
            challenger,
            name,
            doc,
        })
    }

    /// The binding file.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.doc.path()
    }

    /// The binding's text with its `plugin` value replaced by `plugin`, and
    /// the challenger's (when it names its own) by `challenger`, everything
    /// else byte for byte: what a release stores, its modules named inside
    /// the release.
    #[must_use]
    pub fn text_with_plugins(&self, plugin: &str, challenger: Option<&str>) -> String {
        let text = self.doc.text();
        // A JSON string is a valid TOML basic string (the same escapes).
        let quoted = |path: &str| Value::String(path.to_owned()).to_string();
        let mut edits = vec![(self.places.plugin.clone(), quoted(plugin))];
        if let (Some(side), Some(path)) = (&self.challenger, challenger) {
            // A challenger without its own `plugin` points at the
            // champion's place, already replaced.
            if side.places.plugin != self.places.plugin {
                edits.push((side.places.plugin.clone(), quoted(path)));
            }
        }
        edits.sort_by_key(|(span, _)| span.start);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (span, value) in edits {
            out.push_str(&text[at..span.start]);
            out.push_str(&value);
            at = span.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// A problem with one part of the champion.
    #[must_use]
    pub(crate) fn error(
        &self,
        field: Field,
        message: impl Into<String>,
        label: &str,
    ) -> ConfigError {
        self.error_in(&self.places, field, message, label)
    }

    /// A problem with one part of the champion or challenger written at
    /// `places`.
    fn error_in(
        &self,
        places: &Places,
        field: Field,
        message: impl Into<String>,
        label: &str,
    ) -> ConfigError {
        let span = match field {
            Field::Plugin => places.plugin.clone(),
            Field::Version => places.version.clone(),
            Field::Sha256 => places.sha256.clone(),
        };
        self.doc.error(span, message, label)
    }

    /// A problem with the challenger's experiment `id`.
    #[must_use]
    pub(crate) fn experiment_error(&self, message: impl Into<String>, label: &str) -> ConfigError {
        let span = self
            .challenger
            .as_ref()
            .map_or(0..0, |challenger| challenger.id_span.clone());
        self.doc.error(span, message, label)
    }

    /// The parameter problem of the part written at `places`, at its place.
    fn param_error_in(&self, places: &Places, error: ParamError) -> ConfigError {
        let span = match &error.at {
            ParamAt::Key(name) => places.param_keys.get(name).cloned(),
            ParamAt::Value(path) => self.locate(&format!("{}params.{path}", places.table)),
            // The whole set, or a place this version does not know.
            _ => None,
        };
        self.doc.error(
            span.unwrap_or_else(|| places.params.clone()),
            error.message,
            &error.hint,
        )
    }

    /// The place of the value at `path` (keys joined by `.`, then
    /// `[index]` steps), as deep into the file as the path goes.
    fn locate(&self, path: &str) -> Option<Range<usize>> {
        let root = self.doc.parse().ok()?;
        let (first, rest) = path.split_once('.')?;
        let value = root.get_ref().get(first)?;
        Some(document::locate(value, rest))
    }
}

impl Binding {
    /// Loads the binding's plugins (the champion's, and the challenger's
    /// when it has one) and checks their version ranges, pins and
    /// parameters; every problem points into the binding file. A module
    /// already in `plugins` (by path) is taken from there, and one whose
    /// bytes are those of one of the `known` plugins is reused instead of
    /// compiled again (a reload then costs a read and a hash per unchanged
    /// module); modules loaded here are added to `plugins`.
    pub fn bind(
        &self,
        sandbox: &Sandbox,
        known: &[&Plugin],
        plugins: &mut HashMap<PathBuf, Plugin>,
    ) -> Result<Policy, ConfigError> {
        let plugin = self.load_plugin(&self.plugin, &self.places, sandbox, known, plugins)?;
        let champion = self.with_plugin(plugin)?;
        let Some(challenger) = &self.challenger else {
            return Ok(champion);
        };
        let plugin = self.load_plugin(
            &challenger.plugin,
            &challenger.places,
            sandbox,
            known,
            plugins,
        )?;
        let policy = self.check(
            &challenger.places,
            plugin,
            &challenger.version,
            challenger.sha256,
            &challenger.params,
        )?;
        if policy.plugin().sha256() == champion.plugin().sha256()
            && policy.params_json() == champion.params_json()
        {
            tracing::warn!(
                binding = %self.path().display(),
                experiment = %challenger.id,
                "the challenger is the champion's module with the champion's parameters: \
                 both arms decide alike"
            );
        }
        let experiment = Experiment::new(&challenger.id, challenger.mode.clone(), policy);
        Ok(champion.with_experiment(Some(experiment)))
    }

    /// The module at `path`, written at `places`: from `plugins`, else read
    /// (and compiled unless one of the `known` plugins has its bytes).
    fn load_plugin(
        &self,
        path: &Path,
        places: &Places,
        sandbox: &Sandbox,
        known: &[&Plugin],
        plugins: &mut HashMap<PathBuf, Plugin>,
    ) -> Result<Plugin, ConfigError> {
        if let Some(plugin) = plugins.get(path) {
            return Ok(plugin.clone());
        }
        let bytes = std::fs::read(path).map_err(|source| {
            self.error_in(
                places,
                Field::Plugin,
                format!("cannot read plugin `{}`: {source}", path.display()),
                "build the plugins first (see README.md)",
            )
        })?;
        let sha256 = Sha256::of(&bytes);
        let plugin = match known.iter().find(|plugin| plugin.sha256() == sha256) {
            Some(&plugin) => plugin.clone().at(path),
            None => Plugin::from_bytes(sandbox, path, bytes.into())
                .map_err(|error| self.doc.refused(places.plugin.clone(), error))?,
        };
        plugins.insert(path.to_path_buf(), plugin.clone());
        Ok(plugin)
    }

    /// A problem with the binding's plugin, at its `plugin = ...` value.
    #[must_use]
    pub fn plugin_problem(&self, message: impl Into<String>, label: &str) -> ConfigError {
        self.error(Field::Plugin, message, label)
    }

    /// A module the engine refused, reported at the binding's `plugin`.
    #[must_use]
    pub fn plugin_error(&self, error: EngineError) -> ConfigError {
        self.doc.refused(self.places.plugin.clone(), error)
    }

    /// Checks an already loaded plugin against the binding: the champion
    /// alone, without its challenger (what a test case runs).
    pub fn with_plugin(&self, plugin: Plugin) -> Result<Policy, ConfigError> {
        self.check(
            &self.places,
            plugin,
            &self.version,
            self.sha256,
            &self.params,
        )
    }

    /// Checks `plugin` against the pin, range and parameters written at
    /// `places`, and binds it under the policy's name.
    fn check(
        &self,
        places: &Places,
        plugin: Plugin,
        version: &semver::VersionReq,
        sha256: Option<Sha256>,
        params: &Map<String, Value>,
    ) -> Result<Policy, ConfigError> {
        if let Some(pin) = sha256.filter(|pin| *pin != plugin.sha256()) {
            return Err(self.error_in(
                places,
                Field::Sha256,
                format!(
                    "plugin `{}` has SHA-256 {}, not the pinned one {pin}",
                    plugin.path().display(),
                    plugin.sha256()
                ),
                "pinned here",
            ));
        }
        if !version.matches(plugin.version()) {
            return Err(self.error_in(
                places,
                Field::Version,
                format!(
                    "plugin `{}` is version {}, outside the accepted range `{version}`",
                    plugin.name(),
                    plugin.version(),
                ),
                "accepted range",
            ));
        }
        Policy::new(&self.name, self.path().to_path_buf(), plugin, params)
            .map_err(|error| self.param_error_in(places, error))
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
        self.param_error_in(&self.places, error)
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
        let Err(error) = binding.bind(&sandbox, &[], &mut HashMap::new()) else {
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
                 `plugin`, `version`, `sha256`, `params`, `challenger`",
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
    fn refuses_bad_challengers_at_their_place() {
        let head = "plugin = \"p.wasm\"\nversion = \"^1\"\n[challenger]\n";
        let cases = [
            (
                "mode = \"shadow\"\n",
                "policies/my-policy.toml:3:2: `[challenger]` lacks `id`",
            ),
            (
                "id = \"x\"\n",
                "policies/my-policy.toml:3:2: `[challenger]` lacks `mode`",
            ),
            (
                "id = \"Rates 2027\"\nmode = \"shadow\"\n",
                "policies/my-policy.toml:4:6: `challenger.id` must be a kebab-case name",
            ),
            (
                "id = \"x\"\nmode = \"canary\"\n",
                "policies/my-policy.toml:5:8: `challenger.mode`: unknown variant `canary`, \
                 expected `shadow` or `split`",
            ),
            (
                "id = \"x\"\nmode = \"split\"\nsalt = \"s\"\n",
                "policies/my-policy.toml:3:2: `[challenger]` lacks `percent`",
            ),
            (
                "id = \"x\"\nmode = \"split\"\npercent = 150\nsalt = \"s\"\n",
                "policies/my-policy.toml:6:11: `challenger.percent`: 150 is not a percentage \
                 from 0 to 100",
            ),
            (
                "id = \"x\"\nmode = \"split\"\npercent = -0.5\nsalt = \"s\"\n",
                "policies/my-policy.toml:6:11: `challenger.percent`: -0.5 is not a percentage \
                 from 0 to 100",
            ),
            (
                "id = \"x\"\nmode = \"split\"\npercent = 1.23456\nsalt = \"s\"\n",
                "policies/my-policy.toml:6:11: `challenger.percent`: 1.23456 has more than four \
                 decimals",
            ),
            (
                "id = \"x\"\nmode = \"split\"\npercent = \"ten\"\nsalt = \"s\"\n",
                "policies/my-policy.toml:6:11: `challenger.percent`: invalid type: string \
                 \"ten\", expected f64",
            ),
            (
                "id = \"x\"\nmode = \"split\"\npercent = 10\n",
                "policies/my-policy.toml:3:2: a split needs a `salt`",
            ),
            (
                "id = \"x\"\nmode = \"shadow\"\npercent = 10\n",
                "policies/my-policy.toml:6:11: `challenger.percent` is only for mode = \"split\"",
            ),
            (
                "id = \"x\"\nmode = \"shadow\"\nversion = \"two\"\n",
                "policies/my-policy.toml:6:11: `challenger.version` is not a semver range: \
                 unexpected character 't' while parsing major version number",
            ),
            (
                "id = \"x\"\nmode = \"shadow\"\nparams = 3\n",
                "policies/my-policy.toml:6:10: `challenger.params` must be a table",
            ),
            (
                "id = \"x\"\nmode = \"shadow\"\nsalt_ = 3\n",
                "policies/my-policy.toml:6:1: `challenger`: unknown field `salt_`, expected one \
                 of `id`, `mode`, `percent`, `salt`, `shadow_other`, `plugin`, `version`, \
                 `sha256`, `params`",
            ),
        ];
        for (text, wanted) in cases {
            assert_eq!(problem(&format!("{head}{text}")), wanted, "{text}");
        }
    }

    #[test]
    fn a_challenger_defaults_to_the_champions_module_and_keeps_its_places() {
        let text = "plugin = \"p.wasm\"\nversion = \"^1\"\n[challenger]\nid = \"try-it\"\n\
                    mode = \"split\"\npercent = 12.5\nsalt = \"s\"\nshadow_other = true\n\
                    [challenger.params]\nlimit = 4\n";
        let binding = parse(text).unwrap_or_else(|e| unreachable!("{e}"));
        let challenger = binding.challenger.clone().unwrap_or_else(|| unreachable!());
        assert_eq!(challenger.id, "try-it");
        assert_eq!(challenger.plugin, binding.plugin);
        assert_eq!(challenger.version, binding.version);
        assert_eq!(
            Value::Object(challenger.params.clone()),
            serde_json::json!({"limit": 4})
        );
        let Mode::Split {
            split,
            shadow_other,
        } = &challenger.mode
        else {
            unreachable!("{:?}", challenger.mode)
        };
        assert!(*shadow_other);
        assert_eq!(split.percent.millionths(), 125_000);
        let error = binding.param_error_in(
            &challenger.places,
            ParamError {
                at: ParamAt::Value("limit".into()),
                message: "too big".into(),
                hint: String::new(),
            },
        );
        assert_eq!(error.to_string(), "policies/my-policy.toml:10:9: too big");
        // A release names the module inside it once: the challenger shares
        // the champion's `plugin`.
        assert_eq!(
            binding.text_with_plugins("modules/a.wasm", Some("modules/a.wasm")),
            text.replacen("p.wasm", "modules/a.wasm", 1)
        );
        let own = text.replace("[challenger]\n", "[challenger]\nplugin = \"q.wasm\"\n");
        let binding = parse(&own).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            binding.text_with_plugins("modules/a.wasm", Some("modules/b.wasm")),
            own.replacen("p.wasm", "modules/a.wasm", 1)
                .replacen("q.wasm", "modules/b.wasm", 1)
        );
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
