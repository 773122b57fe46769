//! A release's files — its OCI manifest, release manifest, bindings and
//! modules — read from where they are kept (a registry, or a directory a
//! release was pulled to), every blob bounded and checked against its
//! digest, and all of them checked against each other.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;

use verdict_engine::{MAX_MODULE_BYTES, Sha256, is_kebab_case};

use crate::artifact::{
    ARTIFACT_TYPE, BINDINGS_MEDIA_TYPE, ImageManifest, MAX_BINDINGS_BYTES, MAX_CONFIG_BYTES,
    MODULE_MEDIA_TYPE,
};
use crate::error::ReleaseError;
use crate::pack::ReleaseManifest;

/// The largest binding file in a release.
pub(crate) const MAX_BINDING_BYTES: u64 = 1 << 20;

/// Which part of a release a blob is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The release manifest (the OCI config).
    Config,
    /// The bindings layer.
    Bindings,
    /// A module layer.
    Module,
}

/// Where a release's blobs are read from.
pub(crate) trait Blobs {
    /// The blob `sha256` of `part` (`what` names it in errors), at most
    /// `limit` bytes, checked against its digest.
    fn blob(
        &self,
        part: Part,
        sha256: Sha256,
        what: &str,
        limit: u64,
    ) -> Result<Vec<u8>, ReleaseError>;
}

/// A release's files, read and checked against each other.
#[derive(Debug)]
pub(crate) struct Files {
    /// The release manifest, parsed.
    pub(crate) manifest: ReleaseManifest,
    /// The release manifest's bytes.
    pub(crate) config: Vec<u8>,
    /// The OCI manifest's bytes (their SHA-256 is the release's digest).
    pub(crate) oci_manifest: Vec<u8>,
    /// The bindings layer as it arrived.
    pub(crate) bindings_tar: Vec<u8>,
    /// The binding files it holds, by name.
    pub(crate) bindings: BTreeMap<String, Vec<u8>>,
    /// The modules, by digest.
    pub(crate) modules: BTreeMap<Sha256, Vec<u8>>,
}

impl Files {
    /// Reads the release whose OCI manifest is `oci_manifest` (already
    /// known to be the release `digest`) from `blobs`.
    pub(crate) fn read(
        blobs: &impl Blobs,
        oci_manifest: &[u8],
        digest: Sha256,
    ) -> Result<Files, ReleaseError> {
        let what = format!("release sha256:{digest}");
        let oci = ImageManifest::parse(oci_manifest, &what)?;
        if oci.artifact_type.as_deref() != Some(ARTIFACT_TYPE)
            || oci.config.media_type != ARTIFACT_TYPE
        {
            return Err(ReleaseError::Malformed(format!(
                "{what} is not a Verdict release (artifactType {:?}, config {}; a release has {ARTIFACT_TYPE})",
                oci.artifact_type.as_deref().unwrap_or("none"),
                oci.config.media_type
            )));
        }
        let read = |part: Part, sha256: Sha256, size: u64, name: &str, limit: u64| {
            if size > limit {
                return Err(ReleaseError::Malformed(format!(
                    "{what} declares {name} of {size} bytes, over its bound of {limit}"
                )));
            }
            blobs.blob(part, sha256, name, limit)
        };
        let config = read(
            Part::Config,
            oci.config.sha256()?,
            oci.config.size,
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
                    let tar = read(
                        Part::Bindings,
                        sha256,
                        layer.size,
                        "the bindings",
                        MAX_BINDINGS_BYTES,
                    )?;
                    bindings = Some((untar(&tar)?, tar));
                }
                MODULE_MEDIA_TYPE => {
                    let name = format!("module sha256:{sha256}");
                    let bytes = read(Part::Module, sha256, layer.size, &name, MAX_MODULE_BYTES)?;
                    modules.insert(sha256, bytes);
                }
                other => {
                    return Err(ReleaseError::Malformed(format!(
                        "{what} has a layer of type `{}`; a release has one {BINDINGS_MEDIA_TYPE} and {MODULE_MEDIA_TYPE} layers",
                        other.chars().take(100).collect::<String>()
                    )));
                }
            }
        }
        let (bindings, bindings_tar) = bindings.ok_or_else(|| {
            ReleaseError::Malformed(format!(
                "{what} has no bindings layer ({BINDINGS_MEDIA_TYPE})"
            ))
        })?;
        let files = Files {
            manifest,
            config,
            oci_manifest: oci_manifest.to_vec(),
            bindings_tar,
            bindings,
            modules,
        };
        files.check(&what)?;
        Ok(files)
    }

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
        if entry.header().entry_type() != tar::EntryType::Regular || !is_binding_file(&path) {
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

/// Whether `name` is a binding file's name: `POLICY.toml`, POLICY in
/// kebab case.
pub(crate) fn is_binding_file(name: &str) -> bool {
    name.strip_suffix(".toml").is_some_and(is_kebab_case)
}
