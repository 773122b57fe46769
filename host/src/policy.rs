//! Policies: a binding joined to its checked plugin and validated
//! parameters, and the set of policies a directory holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::binding::{Binding, Field};
use crate::digest::sha256_hex;
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
        Policy::bind_reusing(sandbox, binding, &[])
    }

    /// Like [`Policy::bind`], but when the module's bytes are those of one
    /// of the `known` plugins, that plugin is reused instead of compiled
    /// again (a reload then costs a read and a hash per unchanged module).
    pub fn bind_reusing(
        sandbox: &Sandbox,
        binding: &Binding,
        known: &[&Plugin],
    ) -> Result<Policy, Error> {
        let bytes = std::fs::read(&binding.plugin).map_err(|source| {
            binding.error(
                Field::Plugin,
                format!(
                    "cannot read plugin `{}`: {source}",
                    binding.plugin.display()
                ),
                "build the plugins first (see README.md)",
            )
        })?;
        let sha256 = sha256_hex(&bytes);
        let plugin = match known.iter().find(|plugin| plugin.sha256 == sha256) {
            Some(&plugin) => {
                let mut plugin = plugin.clone();
                plugin.path.clone_from(&binding.plugin);
                plugin
            }
            None => {
                Plugin::from_bytes(sandbox, &binding.plugin, bytes.into()).map_err(|error| {
                    match error {
                        Error::Plugin { message, .. } => {
                            binding.error(Field::Plugin, format!("plugin refused: {message}"), "")
                        }
                        other => other,
                    }
                })?
            }
        };
        Policy::with_plugin(binding, plugin)
    }

    /// Checks an already loaded plugin against the binding.
    pub fn with_plugin(binding: &Binding, plugin: Plugin) -> Result<Policy, Error> {
        if let Some(pin) = binding.sha256.as_ref().filter(|pin| **pin != plugin.sha256) {
            return Err(binding.error(
                Field::Sha256,
                format!(
                    "plugin `{}` has SHA-256 {}, not the pinned one {pin}",
                    plugin.path.display(),
                    plugin.sha256
                ),
                "pinned here",
            ));
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
        let params = check_binding_params(binding, &plugin)?;
        Ok(Policy {
            name: binding.name.clone(),
            binding: binding.path().to_path_buf(),
            params_json: Value::Object(params.clone()).to_string().into(),
            params,
            plugin,
        })
    }
}

/// Where parameter values were written, so a problem with one points at
/// it: a binding's `[params]`, or a test case's overrides.
pub trait ParamSite {
    /// A problem with the key of parameter `name`.
    fn key_error(&self, name: &str, message: String, label: &str) -> Error;
    /// A problem with the value at `path` (`name`, then `.field` and
    /// `[index]` steps; empty for the parameters as a whole).
    fn value_error(&self, path: &str, message: String, label: &str) -> Error;
}

impl ParamSite for Binding {
    fn key_error(&self, name: &str, message: String, label: &str) -> Error {
        self.param_key_error(name, message, label)
    }

    fn value_error(&self, path: &str, message: String, label: &str) -> Error {
        if path.is_empty() {
            self.error(Field::Params, message, label)
        } else {
            self.param_value_error(path, message, label)
        }
    }
}

impl Policy {
    /// This policy with some parameters replaced (a test case's
    /// overrides), checked exactly as a binding's are; problems point at
    /// `site`.
    pub fn with_overrides(
        &self,
        site: &dyn ParamSite,
        overrides: &Map<String, Value>,
    ) -> Result<Policy, Error> {
        let params = check_params(site, overrides, &self.params, &self.plugin)?;
        Ok(Policy {
            params_json: Value::Object(params.clone()).to_string().into(),
            params,
            ..self.clone()
        })
    }

    /// A policy of `plugin` alone, with its declared defaults: what a test
    /// file naming a module rather than a binding runs. `origin` is that
    /// file; the plugin's own check of its defaults reports at `site`.
    pub fn with_defaults(
        plugin: Plugin,
        origin: &Path,
        site: &dyn ParamSite,
    ) -> Result<Policy, Error> {
        let params = check_params(site, &Map::new(), &defaults(&plugin), &plugin)?;
        Ok(Policy {
            name: plugin.manifest.name.clone(),
            binding: origin.to_path_buf(),
            params_json: Value::Object(params.clone()).to_string().into(),
            params,
            plugin,
        })
    }
}

/// The defaults the plugin declares for its parameters.
fn defaults(plugin: &Plugin) -> Map<String, Value> {
    plugin
        .manifest
        .params
        .iter()
        .map(|spec| (spec.name.clone(), spec.default.clone()))
        .collect()
}

/// The binding's parameters over the plugin's declared defaults, checked.
fn check_binding_params(binding: &Binding, plugin: &Plugin) -> Result<Map<String, Value>, Error> {
    check_params(binding, &binding.params, &defaults(plugin), plugin)
}

/// Checks `given` parameters against what the plugin declares (names,
/// types, ranges), lays them over `base`, then lets the plugin check rules
/// across values. Every problem points at `site`.
pub fn check_params(
    site: &dyn ParamSite,
    given: &Map<String, Value>,
    base: &Map<String, Value>,
    plugin: &Plugin,
) -> Result<Map<String, Value>, Error> {
    let specs = &plugin.manifest.params;
    let mut params = base.clone();
    for (name, value) in given {
        let Some(spec) = specs.iter().find(|spec| spec.name == *name) else {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(site.key_error(
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
            .map_err(|problem| site.value_error(name, problem, &spec.description))?;
        params.insert(name.clone(), value.clone());
    }
    let problems = plugin.check_params(&params).map_err(|fault| {
        site.value_error(
            "",
            format!("plugin could not check the parameters: {fault}"),
            "",
        )
    })?;
    match problems.into_iter().next() {
        // No path: the plugin could not even read the set (an unknown field
        // deep in a table, say). Its decoder's position is in JSON the user
        // never wrote, so it is left out.
        Some(problem) if problem.path.is_empty() => Err(site.value_error(
            "",
            format!(
                "plugin `{}` cannot read the parameters: {}",
                plugin.manifest.name,
                without_json_position(&problem.message)
            ),
            "",
        )),
        Some(problem) => Err(site.value_error(
            &problem.path,
            format!("invalid parameter `{}`: {}", problem.path, problem.message),
            "",
        )),
        None => Ok(params),
    }
}

/// `message` without serde_json's trailing ` at line L column C`.
fn without_json_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at)
            if message[at..]
                .split_whitespace()
                .filter_map(|word| word.parse::<u64>().ok())
                .count()
                == 2 =>
        {
            &message[..at]
        }
        _ => message,
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
        PolicySet::load_reusing(sandbox, dir, &[])
    }

    /// Like [`PolicySet::load`], but a module whose bytes are those of one
    /// of the `known` plugins is not compiled again: what a reload of a
    /// running service uses.
    pub fn load_reusing(
        sandbox: &Sandbox,
        dir: &Path,
        known: &[&Plugin],
    ) -> Result<PolicySet, Error> {
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
                    let policy = Policy::bind_reusing(sandbox, &binding, known)?;
                    plugins.insert(binding.plugin.clone(), policy.plugin.clone());
                    policy
                }
            };
            tracing::debug!(policy = %policy.name, version = %policy.plugin.version, sha256 = %policy.plugin.sha256, "bound");
            policies.push(Arc::new(policy));
        }
        Ok(PolicySet { policies })
    }

    /// A set of policies already bound (the service builds one when it
    /// rolls a policy back); they are kept in name order.
    #[must_use]
    pub fn from_policies(mut policies: Vec<Arc<Policy>>) -> PolicySet {
        policies.sort_by(|a, b| a.name.cmp(&b.name));
        PolicySet { policies }
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
