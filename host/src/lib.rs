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
//! The library never prints; the `verdict` binary owns stdout and stderr.

#![deny(missing_docs)]

pub mod binding;
pub mod diagnostic;
pub mod digest;
pub mod document;
pub mod error;
pub mod evaluate;
pub mod plugin;
pub mod policy;
pub mod profile;
pub mod record;
pub mod sandbox;

pub use error::Error;
