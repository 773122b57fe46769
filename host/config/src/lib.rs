//! Verdict's files: policy bindings (`policies/NAME.toml`), customer
//! profiles (TOML files, or JSON objects from a request), and diagnostics
//! that point at the file, line and column of a problem.
//!
//! A [`Binding`] names a plugin module, the semver range of versions it
//! accepts, an optional SHA-256 pin and parameters; [`Binding::bind`] turns
//! it into the engine's [`Policy`](verdict_engine::Policy), reporting any
//! problem at its place in the file. [`load_policies`] binds a whole
//! directory. [`Profiles`] are the customers of a profiles file, checked
//! and turned into the engine's span-free
//! [`Profile`](verdict_engine::Profile)s; [`customers_from_json`] applies the
//! same checks to JSON input. [`Document`] and [`Diagnostic`] are the TOML
//! text with spans and the `file:line:col` reports made from them.

#![deny(missing_docs)]

mod binding;
mod diagnostic;
mod document;
mod error;
mod policies;
mod profile;

pub use binding::{Binding, ParamSite, refusal};
pub use diagnostic::Diagnostic;
pub use document::{
    Document, Table, key_span, local_date_of, locate, lookup, normalize, resolve, table_to_json,
};
pub use error::ConfigError;
pub use policies::load_policies;
pub use profile::{Profiles, TomlProfile};
