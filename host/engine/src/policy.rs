//! Policies: a plugin bound to a name and a checked parameter set, and sets
//! of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{EngineError, ParamAt, ParamError};
use crate::plugin::Plugin;

/// A policy ready to evaluate: plugin, version and parameters are fixed.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy name.
    pub name: String,
    /// The file that bound it: a binding, or a test file naming a module.
    pub binding: PathBuf,
    /// The plugin that decides.
    pub plugin: Plugin,
    /// The full parameter set: the given values over the plugin's defaults.
    pub params: Map<String, Value>,
    /// `params` encoded once, as every evaluation sends it.
    pub params_json: Arc<str>,
    /// `name` once more, shared by every record the policy makes.
    pub(crate) record_name: Arc<str>,
}

impl Policy {
    /// Binds `plugin` as policy `name`, with the `given` parameters over the
    /// plugin's declared defaults, checked against what the plugin declares
    /// (names, types, ranges) and by the plugin itself (rules across
    /// values). `binding` is the file the policy comes from.
    pub fn new(
        name: String,
        binding: PathBuf,
        plugin: Plugin,
        given: &Map<String, Value>,
    ) -> Result<Policy, ParamError> {
        let params = check_params(given, &defaults(&plugin), &plugin)?;
        Ok(Policy {
            record_name: name.as_str().into(),
            name,
            binding,
            params_json: Value::Object(params.clone()).to_string().into(),
            params,
            plugin,
        })
    }

    /// A policy of `plugin` alone, named after it, with its declared
    /// defaults: what a test file naming a module rather than a binding
    /// runs. `origin` is that file.
    pub fn with_defaults(plugin: Plugin, origin: &Path) -> Result<Policy, ParamError> {
        let name = plugin.manifest.name.clone();
        Policy::new(name, origin.to_path_buf(), plugin, &Map::new())
    }

    /// This policy with some parameters replaced (a test case's
    /// overrides), checked exactly as [`Policy::new`] checks them.
    pub fn with_overrides(&self, overrides: &Map<String, Value>) -> Result<Policy, ParamError> {
        let params = check_params(overrides, &self.params, &self.plugin)?;
        Ok(Policy {
            params_json: Value::Object(params.clone()).to_string().into(),
            params,
            ..self.clone()
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

/// Checks `given` parameters against what the plugin declares (names,
/// types, ranges), lays them over `base`, then lets the plugin check rules
/// across values.
fn check_params(
    given: &Map<String, Value>,
    base: &Map<String, Value>,
    plugin: &Plugin,
) -> Result<Map<String, Value>, ParamError> {
    let specs = &plugin.manifest.params;
    let mut params = base.clone();
    for (name, value) in given {
        let Some(spec) = specs.iter().find(|spec| spec.name == *name) else {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(ParamError {
                at: ParamAt::Key(name.clone()),
                message: format!(
                    "plugin `{}` declares no parameter `{name}`",
                    plugin.manifest.name
                ),
                hint: format!(
                    "declared: {}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            });
        };
        spec.check(value).map_err(|message| ParamError {
            at: ParamAt::Value(name.clone()),
            message,
            hint: spec.description.clone(),
        })?;
        params.insert(name.clone(), value.clone());
    }
    let problems = plugin.check_params(&params).map_err(|fault| ParamError {
        at: ParamAt::All,
        message: format!("plugin could not check the parameters: {fault}"),
        hint: String::new(),
    })?;
    match problems.into_iter().next() {
        // No path: the plugin could not even read the set (an unknown field
        // deep in a table, say). Its decoder's position is in JSON the user
        // never wrote, so it is left out.
        Some(problem) if problem.path.is_empty() => Err(ParamError {
            at: ParamAt::All,
            message: format!(
                "plugin `{}` cannot read the parameters: {}",
                plugin.manifest.name,
                without_json_position(&problem.message)
            ),
            hint: String::new(),
        }),
        Some(problem) => Err(ParamError {
            message: format!("invalid parameter `{}`: {}", problem.path, problem.message),
            at: ParamAt::Value(problem.path),
            hint: String::new(),
        }),
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

/// Policies in name order.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Vec<Arc<Policy>>,
}

impl PolicySet {
    /// A set of bound policies, kept in name order.
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
    pub fn select(&self, names: &[String]) -> Result<Vec<Arc<Policy>>, EngineError> {
        if let Some(unknown) = names
            .iter()
            .find(|n| !self.policies.iter().any(|p| p.name == **n))
        {
            return Err(EngineError::UnknownPolicy {
                name: unknown.clone(),
                loaded: self.policies.iter().map(|p| p.name.clone()).collect(),
            });
        }
        Ok(self
            .policies
            .iter()
            .filter(|p| names.is_empty() || names.contains(&p.name))
            .cloned()
            .collect())
    }
}
