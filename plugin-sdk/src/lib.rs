//! Write a Verdict policy as one plain Rust function and build it to a
//! WebAssembly plugin.
//!
//! A policy reads an [`Input`] (the evaluation date and one [`Customer`]) and
//! its typed parameters, and returns a [`Decision`]: an outcome word, a JSON
//! object of values, and [`Reason`]s with stable codes and localized
//! messages. Parameters are a struct implementing [`Params`], which declares
//! each parameter's type, range and description; its `Default` is the
//! shipped default.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use verdict_sdk::{Decision, Input, ParamSpec, Params};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! pub struct Limits { pub min_age: u32 }
//!
//! impl Default for Limits {
//!     fn default() -> Self { Limits { min_age: 18 } }
//! }
//!
//! impl Params for Limits {
//!     fn schema() -> Vec<ParamSpec> {
//!         vec![ParamSpec::integer("min_age", "youngest age served").min(0.0)]
//!     }
//! }
//!
//! pub fn evaluate(input: &Input, params: &Limits) -> Decision {
//!     if input.age() < params.min_age { Decision::new("deny") } else { Decision::new("allow") }
//! }
//!
//! verdict_sdk::policy!(evaluate, Limits);
//! ```
//!
//! On `wasm32` the [`policy!`] macro emits the raw exports of the ABI
//! (`plugin-sdk/ABI.md`) and the SDK installs a bump allocator, since every
//! instance lives for one call. Natively the same crate is a plain library,
//! so the policy is unit-tested with `cargo test`.
//!
//! # What is generic, what is a domain
//!
//! Every plugin uses the generic part: [`Input`], [`Customer`] (`id`,
//! `name`, `birth_date`, `language`, `products`, and `extra` for every key
//! the SDK does not know), [`Decision`], [`Params`], [`Date`] and [`Lang`].
//!
//! The [`schema`] module lists the customer fields the SDK knows, with
//! their shapes and which are required, as data. It is the one definition
//! of a profile: the decoder of [`Customer`] and of its tables is generated
//! from the same declaration, and the host validates profiles against it.
//!
//! The [`domain`] module holds what only the reference policies need: a
//! hotel guest's stay ([`domain::hotel::Stay`]), a loan request
//! ([`domain::lending::LoanRequest`]), and US dollars in cents
//! ([`domain::money::Cents`]). A customer's `stay` and `loan_request`
//! decode to those types; a policy that does not need them ignores them.
//! They are also re-exported at the crate root, where SDK 1.0 had them.
//!
//! So that the SDK can grow without breaking plugins, the types a plugin
//! reads are `#[non_exhaustive]`: [`Input`], [`Customer`], the domain
//! tables and [`Lang`]. A plugin builds them with constructors and `with_*`
//! setters (`Customer::new(..).with_language("pt")`), reads and assigns
//! their public fields, and ends every `match` on a language with a
//! `_ =>` arm giving English. A new known field, or one more recognized
//! language, is then an addition: plugins keep compiling, and a language
//! a plugin does not translate gets its English text.

#![deny(missing_docs)]

pub mod abi;
mod bands;
mod date;
mod decision;
pub mod domain;
mod extra;
#[doc(hidden)]
pub mod glue;
mod input;
mod lang;
mod manifest;
mod params;
pub mod schema;
mod shape;
#[cfg(feature = "testing")]
pub mod testing;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod bump;

pub use bands::{AgeBand, AgeBands};
pub use date::{Date, DateError};
pub use decision::{Decision, Reason};
pub use extra::Extra;
pub use input::{Customer, Input};
pub use lang::Lang;
pub use manifest::Manifest;
pub use params::{ParamError, ParamKind, ParamSpec, ParamValueError, Params};

// The domain types where SDK 1.0 had them, so plugins written against it
// keep their imports. New code names them through `domain`.
#[doc(no_inline)]
pub use domain::hotel::Stay;
#[doc(no_inline)]
pub use domain::lending::LoanRequest;
#[doc(no_inline)]
pub use domain::money::{Cents, MoneyError};

/// Re-exported so the [`policy!`] macro and policies share one JSON crate.
pub use serde_json;

/// Turns `fn(&Input, &P) -> Decision` into a Verdict plugin.
///
/// `policy!(evaluate, MyParams)` exports, on `wasm32` only, the functions of
/// ABI v2 (`verdict_abi_v2`, `verdict_alloc`, `verdict_manifest`,
/// `verdict_check_params`, `verdict_init`, `verdict_evaluate`). The plugin's
/// name, version and description come from its `Cargo.toml`.
/// `verdict_init` decodes the parameters once per instance and keeps them
/// for every `verdict_evaluate` of that instance.
#[macro_export]
macro_rules! policy {
    ($func:ident, $params:ty) => {
        // Named here, where the caller wrote it: inside the module below a
        // bare `Params` would not resolve.
        #[cfg(target_arch = "wasm32")]
        type __VerdictParams = $params;

        #[cfg(target_arch = "wasm32")]
        mod __verdict_exports {
            const MANIFEST: $crate::glue::PackageInfo = $crate::glue::PackageInfo {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
                description: env!("CARGO_PKG_DESCRIPTION"),
            };

            /// The parameters `verdict_init` decoded, for this instance.
            static PARAMS: ::std::sync::OnceLock<super::__VerdictParams> =
                ::std::sync::OnceLock::new();

            #[unsafe(no_mangle)]
            pub extern "C" fn verdict_abi_v2() {}

            #[unsafe(no_mangle)]
            pub extern "C" fn verdict_alloc(len: u32) -> u32 {
                $crate::glue::wasm::alloc(len)
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn verdict_manifest() -> u64 {
                $crate::glue::wasm::reply($crate::glue::manifest_json::<super::__VerdictParams>(
                    &MANIFEST,
                ))
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn verdict_check_params(ptr: u32, len: u32) -> u64 {
                $crate::glue::wasm::call(
                    ptr,
                    len,
                    $crate::glue::check_params_json::<super::__VerdictParams>,
                )
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn verdict_init(ptr: u32, len: u32) -> u64 {
                $crate::glue::wasm::init(ptr, len, &PARAMS)
            }

            #[unsafe(no_mangle)]
            pub extern "C" fn verdict_evaluate(ptr: u32, len: u32) -> u64 {
                $crate::glue::wasm::evaluate(ptr, len, &PARAMS, super::$func)
            }
        }
    };
}

/// The Rust examples of the authoring guide (`README.md`) run as doctests,
/// so the guide cannot drift from the SDK.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct AuthoringGuide;
