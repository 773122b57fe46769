//! Verdict's engine: policy plugins in a sandbox, bound to parameters, and
//! the decisions they make about customers.
//!
//! A [`Sandbox`] is the WebAssembly engine every plugin is compiled and run
//! with: no imports, a fuel budget and a memory cap per call, a fresh
//! instance for every call (ABI v1) or decision (ABI v2, after
//! `verdict_init`; see [`Abi`]). A [`Plugin`] is a checked module and what it
//! declares about itself (its manifest). A [`Policy`] is a plugin bound to a
//! name and a full, checked parameter set; a [`PolicySet`] holds several.
//! A [`Profile`] is one customer's evaluation input. [`evaluate_one`] and
//! [`evaluate_batch`] decide customers under policies and yield
//! [`DecisionRecord`]s; a plugin that faults yields an `error` record for
//! that decision only.
//!
//! The engine knows nothing of files people write (TOML), HTTP or
//! terminals: it reads no environment variables, picks no thread pool (the
//! `rayon` feature adds [`par_evaluate_batch`]), and never prints.

#![deny(missing_docs)]

mod canary;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod differential;
mod digest;
mod error;
mod evaluate;
mod instrument;
mod module_cache;
mod plugin;
mod policy;
mod profile;
mod record;
mod reuse;
mod sandbox;

pub use digest::{is_sha256_hex, sha256_hex};
pub use error::{EngineError, ParamAt, ParamError, PluginError, chain_text};
#[cfg(feature = "rayon")]
pub use evaluate::par_evaluate_batch;
pub use evaluate::{decide, encode_for, encode_input, evaluate_batch, evaluate_one};
pub use module_cache::{CacheError, ModuleCache};
pub use plugin::{Plugin, is_kebab_case};
pub use policy::{Policy, PolicySet};
pub use profile::Profile;
pub use record::{DecisionRecord, ERROR_OUTCOME};
pub use sandbox::{Abi, Fault, Limits, Sandbox};
