//! What a plugin says about itself: name, version, parameters.

use serde::{Deserialize, Serialize};

use crate::ParamSpec;

/// The answer of the `verdict_manifest` export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// ABI version the plugin was built for.
    pub abi: u32,
    /// Policy name, kebab-case.
    pub name: String,
    /// Plugin version, semver.
    pub version: String,
    /// One line on what the policy decides.
    #[serde(default)]
    pub description: String,
    /// Declared parameters with their defaults.
    #[serde(default)]
    pub params: Vec<ParamSpec>,
}
