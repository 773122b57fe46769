//! What can go wrong with a release, each with the place it concerns.

use std::path::PathBuf;

use verdict_config::ConfigError;

/// A release that cannot be packed, pushed, signed, verified or pulled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// A reference that is not `HOST[:PORT]/REPO:TAG` or `…@sha256:HEX`.
    #[error(
        "`{text}` is not a release reference: {problem} (write HOST[:PORT]/REPO:TAG or HOST[:PORT]/REPO@sha256:HEX)"
    )]
    Reference {
        /// The reference as given.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The policies directory does not load.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The registry could not be reached or answered something unusable.
    #[error("registry {host}: {problem}")]
    Registry {
        /// The registry's host (and port).
        host: String,
        /// What happened.
        problem: String,
    },
    /// The registry could not be reached, or did not answer in time.
    #[error("registry {host}: {problem}")]
    Unreachable {
        /// The registry's host (and port).
        host: String,
        /// What happened.
        problem: String,
    },
    /// A manifest or blob larger than its bound.
    #[error("registry {host}: {what} is larger than its bound of {limit} bytes")]
    TooLarge {
        /// The registry's host.
        host: String,
        /// What was read (a manifest, a module layer...).
        what: String,
        /// The bound.
        limit: u64,
    },
    /// Content whose digest is not the one it was asked for by.
    #[error(
        "registry {host}: {what} has digest sha256:{actual}, not the sha256:{expected} it was asked for by (the registry's copy was changed)"
    )]
    Digest {
        /// The registry's host.
        host: String,
        /// What was read.
        what: String,
        /// The digest asked for.
        expected: String,
        /// The digest of what arrived.
        actual: String,
    },
    /// A manifest, layer or file that is not what a release holds.
    #[error("{0}")]
    Malformed(String),
    /// A key or credentials file that is not what it should be.
    #[error("{}: {problem}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// No signature of the release verifies with a trusted key.
    #[error("{reference}@sha256:{digest} is not signed by any trusted key: {why}")]
    Unsigned {
        /// The release's repository.
        reference: String,
        /// The release's digest.
        digest: String,
        /// What was found instead.
        why: String,
    },
    /// The directory a release would be written to exists.
    #[error("{}: exists; a release is pulled to a new directory", path.display())]
    Exists {
        /// The directory.
        path: PathBuf,
    },
}

impl ReleaseError {
    /// An I/O error about `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> ReleaseError {
        let path = path.into();
        move |source| ReleaseError::Io { path, source }
    }
}
