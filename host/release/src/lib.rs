//! Signed Verdict releases as OCI artifacts.
//!
//! A [`Release`] is a policies directory packed so the same files give the
//! same bytes on any machine: its bindings (each `plugin` pointing into the
//! release), the modules they name and a manifest listing every binding,
//! module and parameter set. [`Registry`] speaks the OCI distribution API
//! to push one as an OCI 1.1 image manifest of its own `artifactType` and
//! to read it back, every manifest and blob bounded in size and checked
//! against its digest as it arrives. [`sign`] and [`verify`] keep
//! signatures where cosign keeps a key-based one (the `sha256-<hex>.sig`
//! tag, a simple-signing payload naming the manifest digest), [`pull`]
//! writes a verified release to a directory that appears only when whole,
//! [`open`] verifies such a directory again offline, and [`Cache`] keeps
//! pulled releases by digest for a service that polls a tag.
//! The layout is documented in `docs/release.md`.

#![deny(missing_docs)]

mod artifact;
mod cache;
mod credentials;
mod error;
mod files;
mod keys;
mod open;
mod pack;
mod pull;
mod reference;
mod registry;
mod signature;

pub use artifact::{ARTIFACT_TYPE, BINDINGS_MEDIA_TYPE, MODULE_MEDIA_TYPE};
pub use cache::Cache;
pub use error::ReleaseError;
pub use keys::{PrivateKey, TrustedKey, generate_key};
pub use open::{
    BINDINGS_FILE, OCI_MANIFEST_FILE, Opened, RELEASE_MANIFEST_FILE, SIGNATURES_FILE, open,
};
pub use pack::Release;
pub use pull::{pull, resolve};
pub use reference::{Reference, Target};
pub use registry::{Connection, Registry};
pub use signature::{Signer, sign, verify};
