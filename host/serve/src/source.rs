//! Where the service's policies come from: a directory (resolved again at
//! every load, watched for changes) or a signed release in an OCI registry
//! (its tag resolved again at every poll, the release pulled by digest into
//! the release cache and verified there before it is loaded).

use std::path::PathBuf;

use verdict_config::{ConfigError, load_policies};
use verdict_engine::{Plugin, PolicySet, Sandbox, Sha256};
use verdict_release::{
    Cache, Opened, Reference, Registry, ReleaseError, Signer, Target, TrustedKey,
};

use crate::policies_dir::PoliciesDir;

/// Where the policies come from.
#[derive(Debug)]
pub enum Source {
    /// A policies directory.
    Dir(PoliciesDir),
    /// A signed release.
    Release(Box<ReleaseSource>),
}

/// A release to serve: the reference (a tag is followed, a digest is
/// fixed), the registry it is in, the keys one of which must have signed
/// it, and where pulled releases are kept.
#[derive(Debug)]
pub struct ReleaseSource {
    /// The release's reference.
    pub reference: Reference,
    /// The registry's client.
    pub registry: Registry,
    /// The keys trusted to sign it.
    pub trusted: Vec<TrustedKey>,
    /// Where pulled releases are kept.
    pub cache: Cache,
}

/// The release a set of policies was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseId {
    /// The reference it was read by.
    pub reference: String,
    /// Its digest.
    pub digest: Sha256,
    /// The trusted key that signed it.
    pub signer: Signer,
}

impl ReleaseId {
    /// The release as the journal and the API show it.
    #[must_use]
    pub fn journaled(&self) -> verdict_audit::journal::Release {
        verdict_audit::journal::Release {
            reference: self.reference.clone(),
            digest: format!("sha256:{}", self.digest),
            signer: self.signer.key_file.clone(),
            signer_sha256: self.signer.fingerprint.to_string(),
        }
    }
}

/// Why the policies could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A binding or module did not load.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The release could not be resolved, fetched or verified.
    #[error(transparent)]
    Release(#[from] ReleaseError),
}

impl LoadError {
    /// Whether the registry could not be reached (rather than refusing
    /// what it holds).
    #[must_use]
    pub fn is_unreachable(&self) -> bool {
        matches!(self, LoadError::Release(ReleaseError::Unreachable { .. }))
    }
}

/// Policies read from a source.
#[derive(Debug)]
pub(crate) struct Found {
    /// The directory they were read from.
    pub(crate) dir: PathBuf,
    /// The policies.
    pub(crate) set: PolicySet,
    /// The release they came in, if they came in one.
    pub(crate) release: Option<ReleaseId>,
}

impl Source {
    /// What to say the policies come from: the directory as given, or the
    /// release reference.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Source::Dir(dir) => dir.given().display().to_string(),
            Source::Release(release) => format!("oci://{}", release.reference),
        }
    }

    /// Whether the source is a release tag, which can move and so is
    /// polled.
    #[must_use]
    pub fn follows_tag(&self) -> bool {
        matches!(self, Source::Release(release) if matches!(release.reference.target(), Target::Tag(_)))
    }

    /// Reads the policies at start. A release whose registry cannot be
    /// reached is served from the cache, when its reference was resolved
    /// here before, with a warning saying so.
    pub(crate) fn first(&self, sandbox: &Sandbox) -> Result<Found, LoadError> {
        let source = match self {
            Source::Dir(dir) => return load_dir(dir, sandbox, &[]),
            Source::Release(source) => source,
        };
        let error = match verdict_release::resolve(&source.registry, &source.reference) {
            Ok(digest) => return source.load(digest, sandbox, &[]),
            Err(error @ ReleaseError::Unreachable { .. }) => error,
            Err(error) => return Err(error.into()),
        };
        let Some(digest) = source.cache.remembered(&source.reference) else {
            return Err(error.into());
        };
        let opened = source
            .cache
            .open(digest, &source.trusted, sandbox, &[])
            .map_err(|cached| {
                tracing::error!(
                    "the cached release sha256:{digest} cannot be used either: {}",
                    verdict_engine::chain_text(&cached)
                );
                LoadError::from(error)
            })?;
        tracing::warn!(
            reference = %source.reference,
            digest = %opened.digest,
            "the registry cannot be reached: serving the release it last named, from the cache"
        );
        Ok(source.found(opened))
    }

    /// Reads the policies again: `None` when the source is a release whose
    /// reference still names `current`, the release serving. Modules with
    /// the bytes of one of `known` are not compiled again. Blocks (files,
    /// the registry, compiling).
    pub(crate) fn read(
        &self,
        sandbox: &Sandbox,
        known: &[&Plugin],
        current: Option<Sha256>,
    ) -> Result<Option<Found>, LoadError> {
        match self {
            Source::Dir(dir) => load_dir(dir, sandbox, known).map(Some),
            Source::Release(source) => {
                let digest = verdict_release::resolve(&source.registry, &source.reference)?;
                if current == Some(digest) {
                    return Ok(None);
                }
                source.load(digest, sandbox, known).map(Some)
            }
        }
    }
}

/// The policies of the directory `dir` leads to now.
fn load_dir(dir: &PoliciesDir, sandbox: &Sandbox, known: &[&Plugin]) -> Result<Found, LoadError> {
    let resolved = dir.resolve()?;
    let set = load_policies(sandbox, &resolved, known)?;
    Ok(Found {
        dir: resolved,
        set,
        release: None,
    })
}

impl ReleaseSource {
    /// The release `digest`, from the cache or pulled into it, and noted
    /// as the one the reference names.
    fn load(
        &self,
        digest: Sha256,
        sandbox: &Sandbox,
        known: &[&Plugin],
    ) -> Result<Found, LoadError> {
        let opened = self.cache.open_or_pull(
            &self.registry,
            &self.reference,
            digest,
            &self.trusted,
            sandbox,
            known,
        )?;
        if let Err(error) = self.cache.remember(&self.reference, digest) {
            tracing::warn!(
                "cannot note which release {} names: {}",
                self.reference,
                verdict_engine::chain_text(&error)
            );
        }
        Ok(self.found(opened))
    }

    fn found(&self, opened: Opened) -> Found {
        Found {
            dir: opened.dir,
            set: opened.set,
            release: Some(ReleaseId {
                reference: self.reference.to_string(),
                digest: opened.digest,
                signer: opened.signer,
            }),
        }
    }
}
