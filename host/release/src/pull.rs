//! Pulling a release: resolve the reference to a digest, verify its
//! signature before any of its blobs is used, read every blob with a bound
//! and check it against its digest, and write the release to a directory
//! that appears only when whole, verified and loaded.

use std::path::{Path, PathBuf};

use verdict_engine::{Plugin, Sandbox, Sha256};

use crate::artifact::{IMAGE_MANIFEST, MAX_MANIFEST_BYTES};
use crate::error::ReleaseError;
use crate::files::{Blobs, Files, Part};
use crate::keys::TrustedKey;
use crate::open::{
    BINDINGS_FILE, OCI_MANIFEST_FILE, Opened, RELEASE_MANIFEST_FILE, SIGNATURES_FILE, open,
};
use crate::pack::{module_path, to_json};
use crate::reference::{Reference, Target};
use crate::registry::Registry;
use crate::signature::{check, stored_signatures};

impl Blobs for Registry {
    fn blob(
        &self,
        _part: Part,
        sha256: Sha256,
        what: &str,
        limit: u64,
    ) -> Result<Vec<u8>, ReleaseError> {
        Registry::blob(self, sha256, what, limit)
    }
}

/// Pulls the release `reference` names to the new directory `to`, signed
/// by one of `trusted`. Nothing is written unless the whole release
/// verifies and its bindings load; modules with the bytes of one of
/// `known` are not compiled again.
pub fn pull(
    registry: &Registry,
    reference: &Reference,
    trusted: &[TrustedKey],
    sandbox: &Sandbox,
    known: &[&Plugin],
    to: &Path,
) -> Result<Opened, ReleaseError> {
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(ReleaseError::Exists {
            path: to.to_path_buf(),
        });
    }
    let (oci_manifest, digest) = manifest_at(registry, reference)?;
    let signatures = stored_signatures(registry, digest)?;
    check(
        &reference.repository_path(),
        digest,
        signatures.as_deref(),
        trusted,
    )?;
    let files = Files::read(registry, &oci_manifest, digest)?;

    let parent = match to.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = to
        .file_name()
        .map_or_else(|| "release".into(), |n| n.to_string_lossy().into_owned());
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}.partial-"))
        .tempdir_in(&parent)
        .map_err(ReleaseError::io(&parent))?;
    write(
        &files,
        &to_json(&signatures.unwrap_or_default()),
        temp.path(),
    )?;
    // What is on disk is checked as any pulled copy is before it is used.
    let written = open(temp.path(), trusted, sandbox, known)?;
    if let Err(source) = std::fs::rename(temp.path(), to) {
        return Err(if std::fs::symlink_metadata(to).is_ok() {
            ReleaseError::Exists {
                path: to.to_path_buf(),
            }
        } else {
            ReleaseError::Io {
                path: to.to_path_buf(),
                source,
            }
        });
    }
    // Renamed away: nothing is left to remove.
    let _ = temp.keep();
    // The loaded set names the temporary directory: open it where it is
    // now, reusing the modules just compiled.
    let compiled: Vec<&Plugin> = written.set.policies().iter().map(|p| p.plugin()).collect();
    open(to, trusted, sandbox, &compiled)
}

/// Writes a release's files to the empty directory `dir`.
fn write(files: &Files, signatures: &[u8], dir: &Path) -> Result<(), ReleaseError> {
    let write = |relative: &str, bytes: &[u8]| {
        let path = dir.join(relative);
        std::fs::write(&path, bytes).map_err(ReleaseError::io(path))
    };
    std::fs::create_dir(dir.join("modules")).map_err(ReleaseError::io(dir.join("modules")))?;
    for (sha256, bytes) in &files.modules {
        write(&module_path(*sha256), bytes)?;
    }
    for (file, text) in &files.bindings {
        write(file, text)?;
    }
    write(BINDINGS_FILE, &files.bindings_tar)?;
    write(RELEASE_MANIFEST_FILE, &files.config)?;
    write(SIGNATURES_FILE, signatures)?;
    write(OCI_MANIFEST_FILE, &files.oci_manifest)
}

/// The digest `reference` names: its own, or the one its tag points at now.
pub fn resolve(registry: &Registry, reference: &Reference) -> Result<Sha256, ReleaseError> {
    match reference.target() {
        Target::Digest(digest) => Ok(*digest),
        Target::Tag(_) => manifest_at(registry, reference).map(|(_, digest)| digest),
    }
}

/// The manifest `reference` names and its digest (a tag resolved now).
fn manifest_at(
    registry: &Registry,
    reference: &Reference,
) -> Result<(Vec<u8>, Sha256), ReleaseError> {
    let target = match reference.target() {
        Target::Tag(tag) => tag.clone(),
        Target::Digest(digest) => format!("sha256:{digest}"),
    };
    registry
        .manifest(&target, IMAGE_MANIFEST, MAX_MANIFEST_BYTES)?
        .ok_or_else(|| ReleaseError::Registry {
            host: registry.host().to_owned(),
            problem: format!("{reference}: no such release"),
        })
}
