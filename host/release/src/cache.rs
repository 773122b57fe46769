//! Releases kept on this machine once pulled, one directory per digest,
//! and the digest each reference last resolved to: a service that restarts
//! while its registry is down serves the release it served before, and a
//! release already here is never fetched again. Every use of a kept
//! release verifies it again ([`open`]): the cache is trusted no more than
//! the registry.

use std::path::PathBuf;

use verdict_engine::{Links, Plugin, Sandbox, Sha256, read_bounded};

use crate::error::ReleaseError;
use crate::keys::TrustedKey;
use crate::open::{Opened, open};
use crate::pull::{pull, resolve};
use crate::reference::Reference;
use crate::registry::Registry;

/// The directory of kept releases.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// The cache kept in `root` (created when first written).
    #[must_use]
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    /// Where the release `digest` is kept.
    #[must_use]
    pub fn dir(&self, digest: Sha256) -> PathBuf {
        self.root.join(format!("sha256-{digest}"))
    }

    /// The release `digest` of `reference`'s repository: the kept copy when
    /// it verifies, else pulled (by digest) and kept. A kept copy that no
    /// longer verifies is replaced.
    pub fn open_or_pull(
        &self,
        registry: &Registry,
        reference: &Reference,
        digest: Sha256,
        trusted: &[TrustedKey],
        sandbox: &Sandbox,
        known: &[&Plugin],
    ) -> Result<Opened, ReleaseError> {
        let dir = self.dir(digest);
        if let Ok(metadata) = std::fs::symlink_metadata(&dir) {
            match open(&dir, trusted, sandbox, known) {
                Ok(opened) => return Ok(opened),
                Err(error) => {
                    tracing::warn!(
                        dir = %dir.display(),
                        "the kept copy of release sha256:{digest} is refused and pulled again: {}",
                        verdict_engine::chain_text(&error)
                    );
                    let removed = if metadata.is_dir() {
                        std::fs::remove_dir_all(&dir)
                    } else {
                        std::fs::remove_file(&dir)
                    };
                    removed.map_err(ReleaseError::io(&dir))?;
                }
            }
        }
        std::fs::create_dir_all(&self.root).map_err(ReleaseError::io(&self.root))?;
        match pull(
            registry,
            &reference.at(digest),
            trusted,
            sandbox,
            known,
            &dir,
        ) {
            // Another process kept it meanwhile.
            Err(ReleaseError::Exists { .. }) => open(&dir, trusted, sandbox, known),
            other => other,
        }
    }

    /// The release `reference` names now (a tag resolved now), as
    /// [`Cache::open_or_pull`] gives it.
    pub fn open_reference(
        &self,
        registry: &Registry,
        reference: &Reference,
        trusted: &[TrustedKey],
        sandbox: &Sandbox,
        known: &[&Plugin],
    ) -> Result<Opened, ReleaseError> {
        let digest = resolve(registry, reference)?;
        self.open_or_pull(registry, reference, digest, trusted, sandbox, known)
    }

    /// The kept release `digest`, verified, without the registry.
    pub fn open(
        &self,
        digest: Sha256,
        trusted: &[TrustedKey],
        sandbox: &Sandbox,
        known: &[&Plugin],
    ) -> Result<Opened, ReleaseError> {
        open(&self.dir(digest), trusted, sandbox, known)
    }

    /// The file noting what `reference` last resolved to.
    fn tag_file(&self, reference: &Reference) -> PathBuf {
        let name = Sha256::of(reference.to_string().as_bytes());
        self.root.join("tags").join(name.to_string())
    }

    /// Notes that `reference` resolved to `digest` (replacing the note
    /// whole, never leaving half of one).
    pub fn remember(&self, reference: &Reference, digest: Sha256) -> Result<(), ReleaseError> {
        let file = self.tag_file(reference);
        let dir = file.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(ReleaseError::io(dir))?;
        let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(ReleaseError::io(dir))?;
        std::io::Write::write_all(
            &mut temp,
            format!("sha256:{digest} {reference}\n").as_bytes(),
        )
        .map_err(ReleaseError::io(temp.path()))?;
        temp.persist(&file)
            .map_err(|error| ReleaseError::io(&file)(error.error))?;
        Ok(())
    }

    /// The digest `reference` resolved to when last noted, if any.
    #[must_use]
    pub fn remembered(&self, reference: &Reference) -> Option<Sha256> {
        let text = read_bounded(&self.tag_file(reference), Links::Refuse, 4096).ok()?;
        let text = String::from_utf8(text).ok()?;
        let (digest, named) = text.trim_end().split_once(' ')?;
        (named == reference.to_string())
            .then(|| digest.strip_prefix("sha256:")?.parse().ok())
            .flatten()
    }
}
