//! Verdict's engine: policy plugins in a sandbox, bound to parameters, and
//! the decisions they make about customers.
//!
//! A [`Sandbox`] is the WebAssembly engine every plugin is compiled and run
//! with: no imports, a fuel budget and a memory cap per call, a fresh
//! instance for every call (ABI v1) or decision (ABI v2, after
//! `verdict_init`; see [`Abi`]). A [`Plugin`] is a checked module and what it
//! declares about itself (its manifest). A [`Policy`] is a plugin bound to a
//! name and a full, checked parameter set; a [`PolicySet`] holds several.
//! A [`Profile`] is one customer's evaluation input and a [`Job`] one
//! customer to decide on a date. [`Policy::decide`] decides one job and a
//! [`Decider`] many under several policies; each yields
//! [`DecisionRecord`]s, whose [`Outcome`] is the policy's word, or `error`
//! when the plugin faulted — for that decision only. A [`Sha256`] names a
//! module or a parameter set wherever they are stored.
//!
//! The engine knows nothing of files people write (TOML), HTTP or
//! terminals: it reads no environment variables, picks no thread pool (the
//! `rayon` feature adds [`Decider::parallel`]), and never prints. This
//! crate's exports are its API boundary (`ARCHITECTURE.md`); the
//! `testing` feature adds hooks beneath it for benchmarks.

#![deny(missing_docs)]

mod canary;
mod clock;
mod customer;
mod deadline;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod differential;
mod digest;
mod error;
mod evaluate;
mod experiment;
mod exports;
mod fault;
mod files;
mod guest;
mod instance;
mod instrument;
mod limits;
mod module_cache;
mod plugin;
mod policy;
mod profile;
mod record;
mod reuse;
mod sandbox;
#[cfg(feature = "testing")]
pub mod testing;
mod unique_keys;

pub use clock::{ClockError, today_utc};
pub use customer::{
    Checked, CustomerValue, InputError, MAX_LIST_ITEMS, Problem, UniqueIds, born_after_message,
    check_customer, customer_from_json, customers_from_json, duplicate_message, shown_id,
    too_large,
};
pub use digest::{NotSha256, Sha256};
pub use error::{EngineError, ParamAt, ParamError, PluginError, chain_text};
pub use evaluate::{Decider, Job};
pub use experiment::{
    Arm, ArmTag, Experiment, Mode, Percent, PercentError, Slot, Split, split_arm,
};
pub use exports::Abi;
pub use fault::Fault;
pub use files::{Links, open_regular, read_bounded};
pub use instrument::Refusal;
pub use limits::Limits;
pub use module_cache::{CacheError, ModuleCache};
pub use plugin::{Isolation, MAX_MODULE_BYTES, Plugin, WhyFresh, is_kebab_case};
pub use policy::{Policy, PolicySet};
pub use profile::{Profile, Unlaid};
pub use record::{DecisionRecord, Outcome};
pub use sandbox::Sandbox;
pub use unique_keys::{DuplicateKey, FirstDuplicate};
