//! A policies directory: every binding in it, bound, as one set.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use verdict_engine::{Experiment, Plugin, Policy, PolicySet, Sandbox};

use crate::binding::Binding;
use crate::error::ConfigError;

/// Loads every binding (`*.toml` directly in `dir`), in name order; each
/// distinct plugin module is compiled once, and a module whose bytes are
/// those of one of the `known` plugins is not compiled again (what a reload
/// of a running service uses). Any binding that fails fails the whole set,
/// a challenger's included, and so do two experiments with one id.
pub fn load_policies(
    sandbox: &Sandbox,
    dir: &Path,
    known: &[&Plugin],
) -> Result<PolicySet, ConfigError> {
    let mut paths = binding_paths(dir)?;
    paths.sort();
    if paths.is_empty() {
        return Err(ConfigError::NoBindings {
            dir: dir.to_path_buf(),
        });
    }
    let mut plugins: HashMap<PathBuf, Plugin> = HashMap::new();
    let mut policies: Vec<Arc<Policy>> = Vec::with_capacity(paths.len());
    for path in paths {
        let binding = Binding::load(&path)?;
        let policy = binding.bind(sandbox, known, &mut plugins)?;
        if let Some(experiment) = policy.experiment()
            && let Some(other) = policies.iter().find(|other| {
                other
                    .experiment()
                    .is_some_and(|e| e.id() == experiment.id())
            })
        {
            return Err(binding.experiment_error(
                format!(
                    "experiment `{}` is already run by policy `{}`",
                    experiment.id(),
                    other.name()
                ),
                "each experiment has its own id: records and reports tell them apart by it",
            ));
        }
        tracing::debug!(policy = %policy.name(), version = %policy.plugin().version(), sha256 = %policy.plugin().sha256(), experiment = ?policy.experiment().map(Experiment::id), "bound");
        policies.push(Arc::new(policy));
    }
    Ok(PolicySet::from_policies(policies))
}

/// The binding files directly inside `dir`.
fn binding_paths(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let io = ConfigError::io(dir);
    let mut paths = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => return Err(io(source)),
    };
    for entry in entries {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(source) => return Err(ConfigError::io(dir)(source)),
        };
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            paths.push(path);
        }
    }
    Ok(paths)
}
