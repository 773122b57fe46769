//! The exceptions the package raises, and the engine's errors turned into
//! them with their whole cause chain (and `file:line:col` where there is one).

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use verdict_config::ConfigError;
use verdict_engine::chain_text;

create_exception!(
    verdict,
    VerdictError,
    PyException,
    "Every error the package raises."
);
create_exception!(
    verdict,
    PolicyError,
    VerdictError,
    "A policies directory, binding, module or parameter set that does not load."
);
create_exception!(
    verdict,
    ArchiveError,
    VerdictError,
    "An archive entry missing, or not matching its SHA-256, or digests that do not fit."
);
create_exception!(
    verdict,
    ReleaseError,
    VerdictError,
    "A signed release that cannot be fetched, or is not signed by a trusted key, or does not verify."
);
create_exception!(
    verdict,
    InputError,
    VerdictError,
    "A batch of customers that cannot be decided: a missing column, a wrong type, a bad row."
);

/// Adds the exception classes to the module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("VerdictError", py.get_type::<VerdictError>())?;
    module.add("PolicyError", py.get_type::<PolicyError>())?;
    module.add("ArchiveError", py.get_type::<ArchiveError>())?;
    module.add("InputError", py.get_type::<InputError>())?;
    module.add("ReleaseError", py.get_type::<ReleaseError>())?;
    Ok(())
}

/// A configuration that does not load, as a `PolicyError`: a diagnostic
/// in full (location, message, the offending line), anything else with
/// its causes.
pub(crate) fn policy_error(error: &ConfigError) -> PyErr {
    let text = match error.diagnostic() {
        Some(diagnostic) => diagnostic.render(false),
        None => chain_text(error),
    };
    PolicyError::new_err(text)
}
