//! Verdict's files: policy bindings (`policies/NAME.toml`), customer
//! profiles files, test case files, and diagnostics that point at the
//! file, line and column of a problem.
//!
//! A [`Binding`] names a plugin module, the semver range of versions it
//! accepts, an optional SHA-256 pin and parameters; [`Binding::bind`] turns
//! it into the engine's [`Policy`](verdict_engine::Policy), reporting any
//! problem at its place in the file. [`load_policies`] binds a whole
//! directory. [`Profiles`] are the customers of a profiles file, checked
//! and turned into the engine's span-free
//! [`Profile`](verdict_engine::Profile)s, with the engine's customer checks
//! (which JSON customers get too). [`CaseFile`] reads a test case file and binds
//! it to the policy it tests. [`Document`] and [`Diagnostic`] are a file's
//! text and the `file:line:col` reports made from it; no TOML type is part
//! of this crate's API.

#![deny(missing_docs)]

mod binding;
mod case_file;
mod diagnostic;
mod document;
mod error;
mod policies;
mod profile;
#[cfg(feature = "testing")]
pub mod testing;

pub use binding::Binding;
pub use case_file::{Case, CaseFile, Expect, Subject, Suite, ValueExpect};
pub use diagnostic::Diagnostic;
pub use document::{Document, normalize};
pub use error::ConfigError;
pub use policies::load_policies;
pub use profile::{Profiles, TomlProfile};
