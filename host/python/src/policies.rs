//! `verdict.Policies`: a checked policy set, loaded from a policies
//! directory or from an archive by digest, that decides record batches.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyList;
use pyo3_arrow::PyRecordBatch;
use verdict_audit::{Archive, AuditError, Kind};
use verdict_batch::{decisions_to_batch, profiles_from_batch};
use verdict_config::load_policies;
use verdict_engine::{
    Decider, EngineError, Job, Limits, ModuleCache, Plugin, Policy, PolicySet, Sandbox, Sha256,
    chain_text,
};
use verdict_release::{Cache, Connection, Reference, Registry, TrustedKey};
use verdict_sdk::Date;

use crate::errors::{ArchiveError, InputError, ReleaseError, VerdictError, policy_error};
use crate::manifest::Digest;

/// A loaded, checked set of policies, ready to decide customers.
///
/// Modules are compiled once per process and kept by SHA-256, so loading
/// the same policies again (a Spark executor's Python worker does, for
/// each partition it is sent) only reads and checks the files.
#[pyclass(frozen, module = "verdict")]
#[derive(Debug)]
pub(crate) struct Policies {
    set: PolicySet,
    /// The limits every decision runs under (recorded in each row).
    limits: Limits,
}

#[pymethods]
impl Policies {
    /// Loads every binding (`*.toml`) of the directory `policies` and the
    /// modules they name, exactly as `verdict eval --policies DIR` does; or,
    /// when `policies` is `oci://HOST[:PORT]/REPO:TAG` (or `…@sha256:HEX`),
    /// the signed release it names, as `verdict eval --policies oci://REF`
    /// takes it: pulled into `release_cache` (a directory; a release kept
    /// there is verified again, not fetched again), refused unless one of
    /// the public keys `trust` (PEM files) signed it. Plain HTTP is spoken
    /// to a registry on this machine, or elsewhere with `insecure`;
    /// `timeout` (seconds) bounds each registry request.
    ///
    /// Raises `PolicyError` with the file, line and column of a problem,
    /// `ReleaseError` for a release that cannot be fetched or verified.
    #[staticmethod]
    #[pyo3(signature = (policies, *, trust = Vec::new(), release_cache = None, insecure = false, timeout = 60.0))]
    fn load(
        py: Python<'_>,
        policies: PathBuf,
        trust: Vec<PathBuf>,
        release_cache: Option<PathBuf>,
        insecure: bool,
        timeout: f64,
    ) -> PyResult<Policies> {
        let sandbox = sandbox()?;
        let release = match policies
            .to_str()
            .and_then(|text| text.strip_prefix("oci://"))
        {
            Some(reference) => Some(Release::new(
                reference,
                &trust,
                release_cache,
                insecure,
                timeout,
            )?),
            None if trust.is_empty() && release_cache.is_none() => None,
            None => {
                return Err(ReleaseError::new_err(format!(
                    "trust and release_cache apply to a release (oci://REF), not to the directory {}",
                    policies.display()
                )));
            }
        };
        let set = py.detach(|| {
            let known = compiled();
            let known: Vec<&Plugin> = known.values().collect();
            match &release {
                Some(release) => release.open(sandbox, &known),
                None => {
                    load_policies(sandbox, &policies, &known).map_err(|error| policy_error(&error))
                }
            }
        })?;
        for policy in set.policies() {
            keep(policy.plugin());
        }
        Ok(Policies::new(set))
    }

    /// Loads the policies `digests` names (a list as `digests()` returns)
    /// from the archive in `archive_dir` (`modules/<sha256>.wasm`,
    /// `params/<sha256>.json`, as `archive()` and `verdict eval --log`
    /// write it). Each module and parameter set is checked against its
    /// SHA-256 before it is used, and the parameters again against the
    /// plugin, so the set decides with exactly the bytes the digests name.
    ///
    /// Raises `ArchiveError` for a missing or altered entry.
    #[staticmethod]
    fn from_archive(
        py: Python<'_>,
        archive_dir: PathBuf,
        digests: &Bound<'_, PyList>,
    ) -> PyResult<Policies> {
        let digests = digests
            .iter()
            .enumerate()
            .map(|(index, item)| Digest::from_mapping(index, &item))
            .collect::<PyResult<Vec<_>>>()?;
        if digests.is_empty() {
            return Err(ArchiveError::new_err(
                "no digests: name at least one policy",
            ));
        }
        let sandbox = sandbox()?;
        let archive = Archive::new(archive_dir);
        let policies = py.detach(|| {
            digests
                .iter()
                .map(|digest| from_archive(sandbox, &archive, digest).map(Arc::new))
                .collect::<PyResult<Vec<_>>>()
        })?;
        let mut names: Vec<&str> = policies.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        if let Some(twice) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(ArchiveError::new_err(format!(
                "policy `{}` is named by two digests",
                twice[0]
            )));
        }
        Ok(Policies::new(PolicySet::from_policies(policies)))
    }

    /// What each policy decides with, in policy name order: a list of
    /// `{"policy", "module_sha256", "params_sha256"}` dicts, the same
    /// values every decision's row carries.
    fn digests<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let dicts = self
            .set
            .policies()
            .iter()
            .map(|policy| Digest::of(policy).to_dict(py))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, dicts)
    }

    /// Stores every policy's module bytes and parameter JSON in the archive
    /// at `archive_dir` (created if needed; entries already there are kept)
    /// and returns `digests()`: ship both to the executors of a cluster
    /// job, which load them with `Policies.from_archive`.
    fn archive<'py>(&self, py: Python<'py>, archive_dir: PathBuf) -> PyResult<Bound<'py, PyList>> {
        let archive = Archive::new(archive_dir);
        py.detach(|| archive.store_policies(self.set.policies()))
            .map_err(|error: verdict_audit::AuditError| {
                ArchiveError::new_err(chain_text(&error))
            })?;
        self.digests(py)
    }

    /// Decides every customer (row) of `batch` under every policy, on all
    /// cores, each decision in a fresh sandboxed instance, on the date
    /// `as_of` (`YYYY-MM-DD`). `batch` is any Arrow record batch (the
    /// PyCapsule interface: pyarrow, DuckDB, Polars, a Spark `mapInArrow`
    /// batch) with the profile columns `verdict eval` reads from Parquet.
    ///
    /// Returns a `pyarrow.RecordBatch` in `decisions_schema()`: for each
    /// customer in order, one row per policy in name order, carrying the
    /// module and parameter digests that decided it. Raises `InputError`
    /// naming the row (counted from `first_row`) and column of the first
    /// bad one; then nothing is decided.
    #[pyo3(signature = (batch, *, as_of, first_row = 1))]
    fn decide<'py>(
        &self,
        py: Python<'py>,
        batch: PyRecordBatch,
        as_of: &str,
        first_row: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let as_of: Date = as_of.parse().map_err(|error: verdict_sdk::DateError| {
            InputError::new_err(format!("`as_of` `{as_of}`: {error}"))
        })?;
        let batch = batch.into_inner();
        let policies = self.set.policies();
        let decided = py.detach(|| {
            let profiles = profiles_from_batch(&batch, as_of, first_row).map_err(|error| {
                InputError::new_err(match (&error.column, error.row) {
                    (Some(column), 0) => format!("column `{column}`: {}", error.message),
                    _ => error.to_string(),
                })
            })?;
            let work: Vec<Job<'_>> = profiles
                .iter()
                .map(|profile| Job { as_of, profile })
                .collect();
            let records = Decider::new(policies).parallel().decide(&work);
            decisions_to_batch(policies, &work, &records, self.limits)
                .map_err(|error| VerdictError::new_err(error.to_string()))
        })?;
        PyRecordBatch::new(decided).into_pyarrow(py)
    }

    /// The policy names, in the order decisions are made for each customer.
    fn names(&self) -> Vec<String> {
        self.set
            .policies()
            .iter()
            .map(|p| p.name().to_owned())
            .collect()
    }

    fn __repr__(&self) -> String {
        let names: Vec<String> = self
            .set
            .policies()
            .iter()
            .map(|p| format!("{} {}", p.name(), p.plugin().manifest().version))
            .collect();
        format!("Policies([{}])", names.join(", "))
    }
}

impl Policies {
    fn new(set: PolicySet) -> Policies {
        Policies {
            set,
            limits: Limits::default(),
        }
    }
}

/// A signed release to load, and how.
struct Release {
    reference: Reference,
    registry: Registry,
    trusted: Vec<TrustedKey>,
    cache: Cache,
}

impl Release {
    fn new(
        reference: &str,
        trust: &[PathBuf],
        cache: Option<PathBuf>,
        insecure: bool,
        timeout: f64,
    ) -> PyResult<Release> {
        let refused =
            |error: verdict_release::ReleaseError| ReleaseError::new_err(chain_text(&error));
        if trust.is_empty() {
            return Err(ReleaseError::new_err(format!(
                "oci://{reference}: give the public key(s) a release must be signed by, as trust=[PATH, ...]"
            )));
        }
        let Some(cache) = cache else {
            return Err(ReleaseError::new_err(format!(
                "oci://{reference}: give release_cache=DIR, where the release is kept once pulled"
            )));
        };
        let timeout = Duration::try_from_secs_f64(timeout)
            .ok()
            .filter(|timeout| !timeout.is_zero())
            .ok_or_else(|| ReleaseError::new_err("timeout must be a number of seconds above 0"))?;
        let reference: Reference = reference.parse().map_err(refused)?;
        let registry =
            Registry::connect(&reference, Connection { insecure, timeout }).map_err(refused)?;
        let trusted = trust
            .iter()
            .map(|file| TrustedKey::load(file))
            .collect::<Result<_, _>>()
            .map_err(refused)?;
        Ok(Release {
            reference,
            registry,
            trusted,
            cache: Cache::new(cache),
        })
    }

    /// The release's policies, verified.
    fn open(&self, sandbox: &Sandbox, known: &[&Plugin]) -> PyResult<PolicySet> {
        self.cache
            .open_reference(
                &self.registry,
                &self.reference,
                &self.trusted,
                sandbox,
                known,
            )
            .map(|opened| opened.set)
            .map_err(|error| match error {
                verdict_release::ReleaseError::Config(error) => policy_error(&error),
                other => ReleaseError::new_err(chain_text(&other)),
            })
    }
}

/// The sandbox every policy of the process runs in, made on first use: the
/// default limits, as `verdict eval` uses (its instance pool is shared by
/// every set the process loads).
fn sandbox() -> PyResult<&'static Sandbox> {
    static SANDBOX: OnceLock<Result<Sandbox, EngineError>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| Sandbox::new(Limits::default(), ModuleCache::disabled()))
        .as_ref()
        .map_err(|error| VerdictError::new_err(chain_text(error)))
}

/// The modules this process compiled, by SHA-256 (the same bytes always
/// compile to the same plugin).
fn compiled() -> std::sync::MutexGuard<'static, HashMap<Sha256, Plugin>> {
    static COMPILED: OnceLock<Mutex<HashMap<Sha256, Plugin>>> = OnceLock::new();
    COMPILED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Keeps a compiled plugin for later loads in this process.
fn keep(plugin: &Plugin) {
    compiled()
        .entry(plugin.sha256())
        .or_insert_with(|| plugin.clone());
}

/// The policy a digest names, from the archive, every byte checked: the
/// module (compiled once per process) with exactly the archived parameters.
fn from_archive(sandbox: &Sandbox, archive: &Archive, digest: &Digest) -> PyResult<Policy> {
    let archived = |error: AuditError| ArchiveError::new_err(chain_text(&error));
    // Every byte is checked each load, even of a module compiled before.
    archive
        .fetch(Kind::Module, digest.module_sha256)
        .map_err(archived)?;
    let cached = compiled().get(&digest.module_sha256).cloned();
    let plugin = match cached {
        Some(plugin) => plugin,
        None => {
            let plugin = archive
                .plugin(sandbox, digest.module_sha256)
                .map_err(archived)?;
            keep(&plugin);
            plugin
        }
    };
    let recorded = archive
        .recorded_policy(&digest.policy, plugin, digest.params_sha256)
        .map_err(archived)?;
    // A driver's digests pair a module with parameters it declares: check
    // them as a binding would, and that they are the very bytes named.
    let at = recorded.binding().display().to_string();
    let checked = Policy::new(
        recorded.name(),
        recorded.binding().to_path_buf(),
        recorded.plugin().clone(),
        recorded.params(),
    )
    .map_err(|error| ArchiveError::new_err(format!("`{at}`: {}", error.message)))?;
    if checked.params_sha256() != digest.params_sha256 {
        return Err(ArchiveError::new_err(format!(
            "`{at}`: the parameters encode to SHA-256 {} once checked, not {}",
            checked.params_sha256(),
            digest.params_sha256
        )));
    }
    Ok(checked)
}
