//! Policies: a binding joined to its checked plugin and validated
//! parameters, and the set of policies a directory holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::binding::{Binding, Field};
use crate::error::Error;
use crate::plugin::Plugin;
use crate::sandbox::Sandbox;

/// A policy ready to evaluate: plugin, version and parameters are fixed.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy name (its binding file's stem).
    pub name: String,
    /// The binding file it came from.
    pub binding: PathBuf,
    /// The plugin that decides.
    pub plugin: Plugin,
    /// The full parameter set: the binding's values over the defaults.
    pub params: Map<String, Value>,
    /// `params` encoded once, as every evaluation sends it.
    pub params_json: Arc<str>,
}

impl Policy {
    /// Loads the binding's plugin and checks version range, pin and
    /// parameters; every problem points into the binding file.
    pub fn bind(sandbox: &Sandbox, binding: &Binding) -> Result<Policy, Error> {
        let plugin = Plugin::load(sandbox, &binding.plugin).map_err(|error| match error {
            Error::Io { path, source } => binding.error(
                Field::Plugin,
                format!("cannot read plugin `{}`: {source}", path.display()),
                "build the plugins first (see README.md)",
            ),
            Error::Plugin { message, .. } => {
                binding.error(Field::Plugin, format!("plugin refused: {message}"), "")
            }
            other => other,
        })?;
        Policy::with_plugin(binding, plugin)
    }

    /// Checks an already loaded plugin against the binding.
    pub fn with_plugin(binding: &Binding, plugin: Plugin) -> Result<Policy, Error> {
        if let Some(pin) = &binding.sha256 {
            if *pin != plugin.sha256 {
                return Err(binding.error(
                    Field::Sha256,
                    format!(
                        "plugin `{}` has SHA-256 {}, not the pinned one",
                        plugin.path.display(),
                        plugin.sha256
                    ),
                    "pinned here",
                ));
            }
        }
        if !binding.version.matches(&plugin.version) {
            return Err(binding.error(
                Field::Version,
                format!(
                    "plugin `{}` is version {}, outside the accepted range `{}`",
                    plugin.manifest.name, plugin.version, binding.version
                ),
                "accepted range",
            ));
        }
        let params = check_params(binding, &plugin)?;
        Ok(Policy {
            name: binding.name.clone(),
            binding: binding.path().to_path_buf(),
            params_json: Value::Object(params.clone()).to_string().into(),
            params,
            plugin,
        })
    }
}

/// Checks the binding's parameters against what the plugin declares (names,
/// types, ranges), fills in defaults, then lets the plugin check rules
/// across values.
fn check_params(binding: &Binding, plugin: &Plugin) -> Result<Map<String, Value>, Error> {
    let specs = &plugin.manifest.params;
    let mut params = Map::new();
    for (name, value) in &binding.params {
        let Some(spec) = specs.iter().find(|spec| spec.name == *name) else {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(binding.param_key_error(
                name,
                format!(
                    "plugin `{}` declares no parameter `{name}`",
                    plugin.manifest.name
                ),
                &format!(
                    "declared: {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        spec.check(value)
            .map_err(|problem| binding.param_value_error(name, problem, &spec.description))?;
        params.insert(name.clone(), value.clone());
    }
    for spec in specs {
        params
            .entry(spec.name.clone())
            .or_insert_with(|| spec.default.clone());
    }
    let problems = plugin.check_params(&params).map_err(|fault| {
        binding.error(
            Field::Params,
            format!("plugin could not check the parameters: {fault}"),
            "",
        )
    })?;
    match problems.into_iter().next() {
        Some(problem) => Err(binding.param_value_error(
            &problem.path,
            format!("invalid parameter `{}`: {}", problem.path, problem.message),
            "",
        )),
        None => Ok(params),
    }
}

/// Every policy bound in a directory, in name order.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Arc<Policy>>,
}

impl PolicySet {
    /// Loads every binding (`*.toml` directly in `dir`); each distinct plugin
    /// module is compiled once.
    pub fn load(sandbox: &Sandbox, dir: &Path) -> Result<PolicySet, Error> {
        let mut paths = binding_paths(dir)?;
        paths.sort();
        if paths.is_empty() {
            return Err(Error::Config(format!(
                "`{}` holds no policy bindings (*.toml)",
                dir.display()
            )));
        }
        let mut plugins: HashMap<PathBuf, Plugin> = HashMap::new();
        let mut policies = Vec::with_capacity(paths.len());
        for path in paths {
            let binding = Binding::load(&path)?;
            let policy = match plugins.get(&binding.plugin) {
                Some(plugin) => Policy::with_plugin(&binding, plugin.clone())?,
                None => {
                    let policy = Policy::bind(sandbox, &binding)?;
                    plugins.insert(binding.plugin.clone(), policy.plugin.clone());
                    policy
                }
            };
            tracing::debug!(policy = %policy.name, version = %policy.plugin.version, sha256 = %policy.plugin.sha256, "bound");
            policies.push(Arc::new(policy));
        }
        Ok(PolicySet { policies })
    }

    /// The policies, in name order.
    #[must_use]
    pub fn policies(&self) -> &[Arc<Policy>] {
        &self.policies
    }

    /// The named policies (all when `names` is empty), in name order.
    pub fn select(&self, names: &[String]) -> Result<Vec<Arc<Policy>>, Error> {
        if let Some(unknown) = names
            .iter()
            .find(|n| !self.policies.iter().any(|p| p.name == **n))
        {
            let known: Vec<&str> = self.policies.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::Config(format!(
                "no policy named `{unknown}`; loaded: {}",
                known.join(", ")
            )));
        }
        Ok(self
            .policies
            .iter()
            .filter(|p| names.is_empty() || names.contains(&p.name))
            .cloned()
            .collect())
    }
}

/// The binding files directly inside `dir`.
pub fn binding_paths(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            paths.push(path);
        }
    }
    Ok(paths)
}
