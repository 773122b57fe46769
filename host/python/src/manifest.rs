//! The digests of a policy set: which module bytes and which parameters
//! each policy decides with, by SHA-256. A driver hands them to its
//! executors, which load exactly those bytes from an archive.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyMapping};
use verdict_engine::{Policy, Sha256};

use crate::errors::ArchiveError;

/// What one policy decides with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digest {
    /// The policy name.
    pub(crate) policy: String,
    /// SHA-256 of the module bytes.
    pub(crate) module_sha256: Sha256,
    /// SHA-256 of the parameter JSON exactly as the plugin receives it.
    pub(crate) params_sha256: Sha256,
}

/// The keys of a digest as Python sees it, in the order it shows them.
const KEYS: [&str; 3] = ["policy", "module_sha256", "params_sha256"];

impl Digest {
    /// The digest of a loaded policy.
    pub(crate) fn of(policy: &Policy) -> Digest {
        Digest {
            policy: policy.name().to_owned(),
            module_sha256: policy.plugin().sha256(),
            params_sha256: policy.params_sha256(),
        }
    }

    /// `{"policy": ..., "module_sha256": ..., "params_sha256": ...}`.
    pub(crate) fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (key, value) in KEYS.iter().zip([
            self.policy.clone(),
            self.module_sha256.to_string(),
            self.params_sha256.to_string(),
        ]) {
            dict.set_item(key, value)?;
        }
        Ok(dict)
    }

    /// Reads the digest at `index` of a list: a mapping with exactly the
    /// three keys, each a string (the SHA-256s as 64 hex digits).
    pub(crate) fn from_mapping(index: usize, value: &Bound<'_, PyAny>) -> PyResult<Digest> {
        let problem = |message: String| ArchiveError::new_err(format!("digest {index}: {message}"));
        let mapping = value
            .cast::<PyMapping>()
            .map_err(|_| problem("not a mapping (expected a dict as `digests()` gives)".into()))?;
        for key in mapping.keys()?.iter() {
            let name: String = key
                .extract()
                .map_err(|_| problem("a key is not a string".into()))?;
            if !KEYS.contains(&name.as_str()) {
                return Err(problem(format!(
                    "unknown key `{name}` (expected {})",
                    KEYS.join(", ")
                )));
            }
        }
        let field = |key: &str| -> PyResult<String> {
            let item = mapping
                .get_item(key)
                .map_err(|_| problem(format!("`{key}` is missing")))?;
            item.extract()
                .map_err(|_| problem(format!("`{key}` is not a string")))
        };
        let digest = |key: &str| -> PyResult<Sha256> {
            let sha = field(key)?;
            sha.parse()
                .map_err(|_| problem(format!("`{key}` is not a SHA-256 (64 hex digits): `{sha}`")))
        };
        Ok(Digest {
            policy: field("policy")?,
            module_sha256: digest("module_sha256")?,
            params_sha256: digest("params_sha256")?,
        })
    }
}
