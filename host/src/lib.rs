//! The Verdict host: loads policy plugins, binds them to parameters, and
//! evaluates customer profiles against them in a sandbox.
//!
//! A [`Binding`](binding::Binding) (a `policies/NAME.toml` file) names a
//! plugin module, the semver range of versions it accepts, an optional
//! SHA-256 pin and parameters. Binding it yields a [`Policy`](policy::Policy):
//! the checked [`Plugin`](plugin::Plugin) plus the full parameter set. A
//! [`PolicySet`](policy::PolicySet) holds every policy of a directory.
//! [`Profiles`](profile::Profiles) are the customers of a TOML file.
//! [`evaluate`] sends each customer to each policy through the
//! [`Sandbox`](sandbox::Sandbox) — a fresh, bounded instance per call — and
//! yields [`DecisionRecord`](record::DecisionRecord)s.
//!
//! [`serve`] runs the policies as an HTTP service that swaps them while it
//! serves.
//!
//! [`audit`] keeps the decision log: hash-chained, with every module and
//! parameter set archived, so any decision can be verified, replayed bit
//! for bit, and re-decided under other policies.
//!
//! For policy authors, [`scaffold`] makes a new plugin crate, [`builder`]
//! compiles one to a module, and [`testcase`] runs TOML test cases.
//!
//! The library never prints; the `verdict` binary owns stdout and stderr.

#![deny(missing_docs)]

pub mod audit;
pub mod binding;
pub mod builder;
pub mod diagnostic;
pub mod digest;
pub mod document;
pub mod error;
pub mod evaluate;
pub mod module_cache;
pub mod plugin;
pub mod policy;
pub mod profile;
pub mod record;
pub mod sandbox;
pub mod scaffold;
pub mod serve;
pub mod testcase;

pub use error::Error;
