//! Pulling a release: resolve the reference to a digest, verify its
//! signature before any of its blobs is used, read every blob with a bound
//! and check it against its digest, and write the release to a directory
//! that appears only when whole and loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use verdict_config::load_policies;
use verdict_engine::{MAX_MODULE_BYTES, Sandbox, Sha256, is_kebab_case};

use crate::artifact::{
    ARTIFACT_TYPE, BINDINGS_MEDIA_TYPE, IMAGE_MANIFEST, ImageManifest, MAX_BINDINGS_BYTES,
    MAX_CONFIG_BYTES, MAX_MANIFEST_BYTES, MODULE_MEDIA_TYPE,
};
use crate::error::ReleaseError;
use crate::keys::TrustedKey;
use crate::pack::{ReleaseManifest, module_path};
use crate::reference::{Reference, Target};
use crate::registry::Registry;
use crate::signature::{Signer, verify};

/// The file of a pulled release holding its release manifest.
pub const RELEASE_MANIFEST_FILE: &str = "release.json";
/// The file of a pulled release holding its OCI manifest, whose SHA-256 is
/// the release's digest.
pub const OCI_MANIFEST_FILE: &str = "release.oci.json";
/// The largest binding file in a release.
const MAX_BINDING_BYTES: u64 = 1 << 20;

/// A release that was pulled and verified.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The release's digest.
    pub digest: Sha256,
    /// The trusted key that signed it.
    pub signer: Signer,
    /// Its policies, in name order.
    pub policies: Vec<String>,
}

/// Pulls the release `reference` names to the new directory `to`, signed
/// by one of `trusted`. Nothing is written unless the whole release
/// verifies and its bindings load.
pub fn pull(
    registry: &Registry,
    reference: &Reference,
    trusted: &[TrustedKey],
    sandbox: &Sandbox,
    to: &Path,
) -> Result<Pulled, ReleaseError> {
    if std::fs::symlink_metadata(to).is_ok() {
        return Err(ReleaseError::Exists {
            path: to.to_path_buf(),
        });
    }
    let (manifest_bytes, digest) = manifest_at(registry, reference)?;
    let signer = verify(registry, reference, digest, trusted)?;
    let files = fetch(registry, &manifest_bytes, digest)?;
    let policies = files.write(sandbox, to)?;
    Ok(Pulled {
        digest,
        signer,
        policies,
    })
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

/// A release's files, read and checked against each other.
struct Files {
    manifest: ReleaseManifest,
    config: Vec<u8>,
    oci_manifest: Vec<u8>,
    bindings: BTreeMap<String, Vec<u8>>,
    modules: BTreeMap<Sha256, Vec<u8>>,
}

/// Reads the blobs of the (verified) release manifest `manifest_bytes`.
fn fetch(
    registry: &Registry,
    manifest_bytes: &[u8],
    digest: Sha256,
) -> Result<Files, ReleaseError> {
    let what = format!("release sha256:{digest}");
    let oci = ImageManifest::parse(manifest_bytes, &what)?;
    if oci.artifact_type.as_deref() != Some(ARTIFACT_TYPE) || oci.config.media_type != ARTIFACT_TYPE
    {
        return Err(ReleaseError::Malformed(format!(
            "{what} is not a Verdict release (artifactType {:?}, config {}; a release has {ARTIFACT_TYPE})",
            oci.artifact_type.as_deref().unwrap_or("none"),
            oci.config.media_type
        )));
    }
    let bounded = |size: u64, limit: u64, part: &str| {
        if size > limit {
            return Err(ReleaseError::TooLarge {
                host: registry.host().to_owned(),
                what: format!("{part} of {what}"),
                limit,
            });
        }
        Ok(())
    };
    bounded(oci.config.size, MAX_CONFIG_BYTES, "the release manifest")?;
    let config = registry.blob(
        oci.config.sha256()?,
        "the release manifest",
        MAX_CONFIG_BYTES,
    )?;
    let manifest: ReleaseManifest = serde_json::from_slice(&config).map_err(|error| {
        ReleaseError::Malformed(format!(
            "the release manifest of {what} is not one: {error}"
        ))
    })?;
    if manifest.schema != 1 {
        return Err(ReleaseError::Malformed(format!(
            "{what} has release layout {}; this verdict reads layout 1",
            manifest.schema
        )));
    }
    let mut bindings = None;
    let mut modules = BTreeMap::new();
    for layer in &oci.layers {
        let sha256 = layer.sha256()?;
        match layer.media_type.as_str() {
            BINDINGS_MEDIA_TYPE if bindings.is_none() => {
                bounded(layer.size, MAX_BINDINGS_BYTES, "the bindings")?;
                let tar = registry.blob(sha256, "the bindings", MAX_BINDINGS_BYTES)?;
                bindings = Some(untar(&tar)?);
            }
            MODULE_MEDIA_TYPE => {
                let part = format!("module sha256:{sha256}");
                bounded(layer.size, MAX_MODULE_BYTES, &part)?;
                modules.insert(sha256, registry.blob(sha256, &part, MAX_MODULE_BYTES)?);
            }
            other => {
                return Err(ReleaseError::Malformed(format!(
                    "{what} has a layer of type `{}`; a release has one {BINDINGS_MEDIA_TYPE} and {MODULE_MEDIA_TYPE} layers",
                    other.chars().take(100).collect::<String>()
                )));
            }
        }
    }
    let bindings = bindings.ok_or_else(|| {
        ReleaseError::Malformed(format!(
            "{what} has no bindings layer ({BINDINGS_MEDIA_TYPE})"
        ))
    })?;
    let files = Files {
        manifest,
        config,
        oci_manifest: manifest_bytes.to_vec(),
        bindings,
        modules,
    };
    files.check(&what)?;
    Ok(files)
}

impl Files {
    /// The release manifest lists exactly the bindings and modules there are.
    fn check(&self, what: &str) -> Result<(), ReleaseError> {
        let listed: BTreeSet<&str> = self
            .manifest
            .bindings
            .iter()
            .map(|b| b.file.as_str())
            .collect();
        let present: BTreeSet<&str> = self.bindings.keys().map(String::as_str).collect();
        if listed != present {
            return Err(ReleaseError::Malformed(format!(
                "{what} lists bindings {listed:?} but its bindings layer holds {present:?}"
            )));
        }
        let listed: BTreeSet<Sha256> = self.manifest.modules.iter().map(|m| m.sha256).collect();
        let present: BTreeSet<Sha256> = self.modules.keys().copied().collect();
        if listed != present {
            return Err(ReleaseError::Malformed(format!(
                "{what} lists {} module(s) but holds {} other than those",
                listed.len(),
                present.symmetric_difference(&listed).count()
            )));
        }
        Ok(())
    }

    /// Writes the release to a temporary directory beside `to`, loads it,
    /// checks every policy against the release manifest, then renames it
    /// to `to`. Returns the policy names.
    fn write(&self, sandbox: &Sandbox, to: &Path) -> Result<Vec<String>, ReleaseError> {
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
        let dir = temp.path();
        let write = |relative: &str, bytes: &[u8]| {
            let path = dir.join(relative);
            std::fs::write(&path, bytes).map_err(ReleaseError::io(path))
        };
        std::fs::create_dir(dir.join("modules")).map_err(ReleaseError::io(dir.join("modules")))?;
        for (sha256, bytes) in &self.modules {
            write(&module_path(*sha256), bytes)?;
        }
        for (file, text) in &self.bindings {
            write(file, text)?;
        }
        write(RELEASE_MANIFEST_FILE, &self.config)?;
        write(OCI_MANIFEST_FILE, &self.oci_manifest)?;
        let set = load_policies(sandbox, dir, &[])?;
        let loaded: Vec<(String, Sha256, Sha256)> = set
            .policies()
            .iter()
            .map(|p| (p.name().to_owned(), p.plugin().sha256(), p.params_sha256()))
            .collect();
        let listed: Vec<(String, Sha256, Sha256)> = self
            .manifest
            .bindings
            .iter()
            .map(|b| (b.policy.clone(), b.module_sha256, b.params_sha256))
            .collect();
        if loaded != listed {
            return Err(ReleaseError::Malformed(
                "the release's bindings load to other policies, modules or parameters than its release manifest lists".into(),
            ));
        }
        std::fs::rename(dir, to).map_err(ReleaseError::io(to))?;
        // Renamed away: nothing is left to remove.
        let _ = temp.keep();
        Ok(loaded.into_iter().map(|(name, _, _)| name).collect())
    }
}

/// The binding files of a bindings layer: regular files named
/// `POLICY.toml` (a kebab-case name), each at most 1 MiB, no name twice.
fn untar(tar: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, ReleaseError> {
    let malformed =
        |problem: String| ReleaseError::Malformed(format!("the bindings layer {problem}"));
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(tar);
    let entries = archive
        .entries()
        .map_err(|e| malformed(format!("is not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| malformed(format!("is not a tar archive: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| malformed(format!("has an unreadable name: {e}")))?
            .to_string_lossy()
            .into_owned();
        let shown: String = path.chars().take(100).collect();
        let is_binding = path.strip_suffix(".toml").is_some_and(is_kebab_case);
        if entry.header().entry_type() != tar::EntryType::Regular || !is_binding {
            return Err(malformed(format!(
                "holds `{shown}`, which is no POLICY.toml file"
            )));
        }
        if entry.size() > MAX_BINDING_BYTES {
            return Err(malformed(format!(
                "holds `{shown}` of over {MAX_BINDING_BYTES} bytes"
            )));
        }
        let mut bytes = Vec::new();
        entry
            .by_ref()
            .take(MAX_BINDING_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| malformed(format!("cannot be read: {e}")))?;
        if files.insert(path, bytes).is_some() {
            return Err(malformed(format!("holds `{shown}` twice")));
        }
    }
    Ok(files)
}
