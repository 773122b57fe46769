//! Opening a pulled release: the directory is checked again, offline, as
//! if it had just arrived — its digest from its OCI manifest, a signature
//! by a key trusted now, every blob against the digest the manifest names,
//! the binding files against the bindings layer — and its bindings are
//! loaded and compared with the release manifest. A copy changed on disk,
//! or signed by a key no longer trusted, is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use verdict_config::load_policies;
use verdict_engine::{Links, Plugin, Policy, PolicySet, Sandbox, Sha256, read_bounded};

use crate::artifact::MAX_MANIFEST_BYTES;
use crate::error::ReleaseError;
use crate::files::{Blobs, Files, MAX_BINDING_BYTES, Part, is_binding_file};
use crate::keys::TrustedKey;
use crate::pack::module_path;
use crate::signature::{Signer, StoredSignature, check};

/// The file of a pulled release holding its release manifest.
pub const RELEASE_MANIFEST_FILE: &str = "release.json";
/// The file of a pulled release holding its OCI manifest, whose SHA-256 is
/// the release's digest.
pub const OCI_MANIFEST_FILE: &str = "release.oci.json";
/// The file of a pulled release holding its bindings layer as it arrived.
pub const BINDINGS_FILE: &str = "bindings.tar";
/// The file of a pulled release holding the signatures it was pulled
/// with, so that it can be verified again offline.
pub const SIGNATURES_FILE: &str = "signatures.json";
/// The largest signatures file read: 64 signatures of 64 KiB, in base64.
const MAX_SIGNATURES_FILE_BYTES: u64 = 8 << 20;

/// A verified release in a directory, its policies loaded (each naming
/// the release, so that every record it makes does).
#[derive(Debug)]
pub struct Opened {
    /// The release's digest.
    pub digest: Sha256,
    /// The trusted key that signed it.
    pub signer: Signer,
    /// The directory.
    pub dir: PathBuf,
    /// Its policies, loaded from the directory.
    pub set: PolicySet,
}

/// A pulled release's directory, read as a source of blobs.
struct Pulled<'a> {
    dir: &'a Path,
}

impl Pulled<'_> {
    /// The file at `relative`, read as an untrusted one: a regular file,
    /// no link, at most `limit` bytes.
    fn read(&self, relative: &str, limit: u64) -> Result<Vec<u8>, ReleaseError> {
        let path = self.dir.join(relative);
        read_bounded(&path, Links::Refuse, limit).map_err(ReleaseError::io(path))
    }
}

impl Blobs for Pulled<'_> {
    fn blob(
        &self,
        part: Part,
        sha256: Sha256,
        what: &str,
        limit: u64,
    ) -> Result<Vec<u8>, ReleaseError> {
        let relative = match part {
            Part::Config => RELEASE_MANIFEST_FILE.to_owned(),
            Part::Bindings => BINDINGS_FILE.to_owned(),
            Part::Module => module_path(sha256),
        };
        let bytes = self.read(&relative, limit)?;
        let actual = Sha256::of(&bytes);
        if actual != sha256 {
            return Err(ReleaseError::Malformed(format!(
                "{}: {what} has digest sha256:{actual}, not the sha256:{sha256} its release names (the pulled copy was changed)",
                self.dir.join(relative).display()
            )));
        }
        Ok(bytes)
    }
}

/// Opens the release pulled to `dir`, signed by one of `trusted`; modules
/// with the bytes of one of `known` are not compiled again.
pub fn open(
    dir: &Path,
    trusted: &[TrustedKey],
    sandbox: &Sandbox,
    known: &[&Plugin],
) -> Result<Opened, ReleaseError> {
    let pulled = Pulled { dir };
    let oci_manifest = pulled.read(OCI_MANIFEST_FILE, MAX_MANIFEST_BYTES)?;
    let digest = Sha256::of(&oci_manifest);
    let signatures: Vec<StoredSignature> = serde_json::from_slice(
        &pulled.read(SIGNATURES_FILE, MAX_SIGNATURES_FILE_BYTES)?,
    )
    .map_err(|error| {
        ReleaseError::Malformed(format!(
            "{}: not the signatures of a pulled release: {error}",
            dir.join(SIGNATURES_FILE).display()
        ))
    })?;
    let signer = check(
        &dir.display().to_string(),
        digest,
        Some(&signatures),
        trusted,
    )?;
    let files = Files::read(&pulled, &oci_manifest, digest)?;
    let on_disk = binding_files(&pulled)?;
    if on_disk != files.bindings {
        return Err(ReleaseError::Malformed(format!(
            "{}: its binding files are not those of its bindings layer (the pulled copy was changed)",
            dir.display()
        )));
    }
    let set = load_policies(sandbox, dir, known)?;
    let loaded: Vec<Listed<'_>> = set
        .policies()
        .iter()
        .map(|p| {
            let challenger = p.experiment().map(|e| {
                let c = e.challenger();
                (e.id(), c.plugin().sha256(), c.params_sha256())
            });
            (p.name(), p.plugin().sha256(), p.params_sha256(), challenger)
        })
        .collect();
    let listed: Vec<Listed<'_>> = files
        .manifest
        .bindings
        .iter()
        .map(|b| {
            let challenger = b
                .challenger
                .as_ref()
                .map(|c| (c.experiment.as_str(), c.module_sha256, c.params_sha256));
            (
                b.policy.as_str(),
                b.module_sha256,
                b.params_sha256,
                challenger,
            )
        })
        .collect();
    if loaded != listed {
        return Err(ReleaseError::Malformed(format!(
            "{}: its bindings load to other policies, modules or parameters than its release manifest lists",
            dir.display()
        )));
    }
    // Every record these policies make names the release.
    let set = PolicySet::from_policies(
        set.policies()
            .iter()
            .map(|policy| Arc::new(Policy::clone(policy).in_release(Some(digest))))
            .collect(),
    );
    Ok(Opened {
        digest,
        signer,
        dir: dir.to_path_buf(),
        set,
    })
}

/// A policy as a release lists it: name, module and parameter digests, and
/// its challenger's experiment id, module and parameter digests.
type Listed<'a> = (&'a str, Sha256, Sha256, Option<(&'a str, Sha256, Sha256)>);

/// The binding files in a pulled release's directory, by name.
fn binding_files(pulled: &Pulled<'_>) -> Result<BTreeMap<String, Vec<u8>>, ReleaseError> {
    let entries = std::fs::read_dir(pulled.dir).map_err(ReleaseError::io(pulled.dir))?;
    let mut files = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(ReleaseError::io(pulled.dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") {
            if !is_binding_file(&name) {
                return Err(ReleaseError::Malformed(format!(
                    "{}: a pulled release holds no such file",
                    pulled.dir.join(&name).display()
                )));
            }
            let bytes = pulled.read(&name, MAX_BINDING_BYTES)?;
            files.insert(name, bytes);
        }
    }
    Ok(files)
}
