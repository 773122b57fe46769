//! The policy author's kit behind the `verdict` binary: [`scaffold`] makes a
//! new plugin crate, [`builder`] compiles one to a module, and [`testcase`]
//! runs TOML test cases against a policy.
//!
//! The library never prints; the `verdict` binary owns stdout and stderr.

#![deny(missing_docs)]

pub mod builder;
pub mod scaffold;
pub mod testcase;
