//! Policies: a plugin bound to a name and a checked parameter set, and sets
//! of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::digest::Sha256;
use crate::error::{EngineError, ParamAt, ParamError};
use crate::experiment::Experiment;
use crate::plugin::{Isolation, Plugin};

/// A policy ready to evaluate: plugin, version and parameters are fixed.
/// Its parameters and their JSON are made together and never change, so
/// every decision sends exactly the parameters [`Policy::params`] shows.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The policy name, shared by every record the policy makes.
    name: Arc<str>,
    binding: PathBuf,
    plugin: Plugin,
    params: Map<String, Value>,
    params_json: Arc<str>,
    /// The digest of the signed release the policy came in, if any.
    release: Option<Sha256>,
    /// The challenger tried beside this policy, if any.
    experiment: Option<Arc<Experiment>>,
}

impl Policy {
    /// Binds `plugin` as policy `name`, with the `given` parameters over the
    /// plugin's declared defaults, checked against what the plugin declares
    /// (names, types, ranges) and by the plugin itself (rules across
    /// values). `binding` is the file the policy comes from.
    pub fn new(
        name: &str,
        binding: PathBuf,
        plugin: Plugin,
        given: &Map<String, Value>,
    ) -> Result<Policy, ParamError> {
        let params = check_params(given, &defaults(&plugin), &plugin)?;
        Ok(Policy {
            name: name.into(),
            binding,
            params_json: Value::Object(params.clone()).to_string().into(),
            params,
            plugin,
            release: None,
            experiment: None,
        })
    }

    /// How this policy's decisions are isolated on this host, under its own
    /// parameters (see [`Plugin::isolation_under`]).
    #[must_use]
    pub fn isolation(&self) -> Isolation {
        self.plugin().isolation_under(self.params_json())
    }

    /// A policy of `plugin` alone, named after it, with its declared
    /// defaults: what a test file naming a module rather than a binding
    /// runs. `origin` is that file.
    pub fn with_defaults(plugin: Plugin, origin: &Path) -> Result<Policy, ParamError> {
        let name = plugin.name().to_owned();
        Policy::new(&name, origin.to_path_buf(), plugin, &Map::new())
    }

    /// The policy a logged decision was made by: `plugin` under the name
    /// `name`, with exactly the parameter JSON it received then
    /// (`params_json`, as the archive keeps it), not checked again, so a
    /// replay sends the very bytes the original decision got. `origin`
    /// names where the parameters were read from.
    pub fn recorded(
        name: &str,
        origin: PathBuf,
        plugin: Plugin,
        params_json: Arc<str>,
    ) -> Result<Policy, serde_json::Error> {
        let params = serde_json::from_str(&params_json)?;
        Ok(Policy {
            name: name.into(),
            binding: origin,
            plugin,
            params,
            params_json,
            release: None,
            experiment: None,
        })
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

    /// This policy (and its challenger) as part of the signed release
    /// `digest`: every record it makes names that release.
    #[must_use]
    pub fn in_release(self, digest: Option<Sha256>) -> Policy {
        let experiment = self.experiment.map(|experiment| {
            let challenger = Policy::clone(experiment.challenger()).in_release(digest);
            Arc::new(experiment.with_challenger(challenger))
        });
        Policy {
            release: digest,
            experiment,
            ..self
        }
    }

    /// The digest of the signed release the policy came in, if any.
    #[must_use]
    pub fn release(&self) -> Option<Sha256> {
        self.release
    }

    /// This policy as the champion of `experiment` (or of none): its
    /// challenger decides beside it as the experiment says.
    #[must_use]
    pub fn with_experiment(self, experiment: Option<Experiment>) -> Policy {
        Policy {
            experiment: experiment.map(Arc::new),
            ..self
        }
    }

    /// The experiment this policy is the champion of, if any.
    #[must_use]
    pub fn experiment(&self) -> Option<&Experiment> {
        self.experiment.as_deref()
    }

    /// The policies that decide for this one: itself, then its challenger
    /// if it has one (what an archive must hold to replay its decisions).
    pub fn deciders(self: &Arc<Policy>) -> impl Iterator<Item = &Arc<Policy>> {
        std::iter::once(self).chain(self.experiment().map(Experiment::challenger))
    }

    /// The policy's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The name as every record of the policy shares it.
    pub(crate) fn record_name(&self) -> &Arc<str> {
        &self.name
    }

    /// The file that bound it: a binding, or a test file naming a module.
    #[must_use]
    pub fn binding(&self) -> &Path {
        &self.binding
    }

    /// The plugin that decides.
    #[must_use]
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// The full parameter set: the given values over the plugin's defaults.
    #[must_use]
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// [`Policy::params`] as JSON, the bytes every decision sends.
    #[must_use]
    pub fn params_json(&self) -> &str {
        &self.params_json
    }

    /// SHA-256 of [`Policy::params_json`]: what a log and an archive name
    /// the parameters by.
    #[must_use]
    pub fn params_sha256(&self) -> Sha256 {
        Sha256::of(self.params_json.as_bytes())
    }
}

/// The defaults the plugin declares for its parameters.
fn defaults(plugin: &Plugin) -> Map<String, Value> {
    plugin
        .manifest()
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
    let specs = &plugin.manifest().params;
    let mut params = base.clone();
    for (name, value) in given {
        let Some(spec) = specs.iter().find(|spec| spec.name == *name) else {
            let known: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(ParamError {
                at: ParamAt::Key(name.clone()),
                message: format!("plugin `{}` declares no parameter `{name}`", plugin.name()),
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
        spec.check(value).map_err(|problem| ParamError {
            at: ParamAt::Value(name.clone()),
            message: problem.to_string(),
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
                plugin.name(),
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
            .find(|n| !self.policies.iter().any(|p| p.name() == n.as_str()))
        {
            return Err(EngineError::UnknownPolicy {
                name: unknown.clone(),
                loaded: self.policies.iter().map(|p| p.name().to_owned()).collect(),
            });
        }
        Ok(self
            .policies
            .iter()
            .filter(|p| names.is_empty() || names.iter().any(|n| n.as_str() == p.name()))
            .cloned()
            .collect())
    }
}
