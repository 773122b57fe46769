//! The OCI manifests Verdict writes and reads: a release's image manifest
//! (its own `artifactType`, the release manifest as config, the bindings
//! and each module as layers) and the media types that name each part.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use verdict_engine::Sha256;

use crate::error::ReleaseError;

/// The `artifactType` of a release, and the media type of its config: the
/// release manifest.
pub const ARTIFACT_TYPE: &str = "application/vnd.verdict.release.v1+json";
/// The media type of the bindings layer: a tar of `NAME.toml` files.
pub const BINDINGS_MEDIA_TYPE: &str = "application/vnd.verdict.bindings.v1.tar";
/// The media type of a module layer, as WebAssembly artifacts are stored.
pub const MODULE_MEDIA_TYPE: &str = "application/wasm";
/// An OCI image manifest.
pub(crate) const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The annotation naming a layer's file.
pub(crate) const TITLE: &str = "org.opencontainers.image.title";

/// The largest manifest read from a registry (the distribution registry's
/// own default bound).
pub(crate) const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// The largest release manifest (the config blob) read.
pub(crate) const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// The largest bindings layer read.
pub(crate) const MAX_BINDINGS_BYTES: u64 = 16 << 20;

/// A content descriptor: what a manifest says of one blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub(crate) media_type: String,
    pub(crate) digest: String,
    pub(crate) size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The descriptor of `bytes`.
    pub(crate) fn of(media_type: &str, bytes: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: format!("sha256:{}", Sha256::of(bytes)),
            size: bytes.len() as u64,
            annotations: BTreeMap::new(),
        }
    }

    /// The same with one more annotation.
    pub(crate) fn annotated(mut self, key: &str, value: &str) -> Descriptor {
        self.annotations.insert(key.to_owned(), value.to_owned());
        self
    }

    /// The digest it names.
    pub(crate) fn sha256(&self) -> Result<Sha256, ReleaseError> {
        self.digest
            .strip_prefix("sha256:")
            .and_then(|hex| hex.parse().ok())
            .ok_or_else(|| {
                ReleaseError::Malformed(format!(
                    "a manifest names digest `{}`, which is not sha256:HEX",
                    self.digest.chars().take(100).collect::<String>()
                ))
            })
    }
}

/// An OCI image manifest (schema 2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageManifest {
    pub(crate) schema_version: u32,
    pub(crate) media_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) artifact_type: Option<String>,
    pub(crate) config: Descriptor,
    pub(crate) layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) annotations: BTreeMap<String, String>,
}

impl ImageManifest {
    /// A manifest of `config` and `layers`.
    pub(crate) fn new(
        artifact_type: Option<&str>,
        config: Descriptor,
        layers: Vec<Descriptor>,
    ) -> ImageManifest {
        ImageManifest {
            schema_version: 2,
            media_type: IMAGE_MANIFEST.to_owned(),
            artifact_type: artifact_type.map(str::to_owned),
            config,
            layers,
            annotations: BTreeMap::new(),
        }
    }

    /// Reads a manifest; `what` names it in errors.
    pub(crate) fn parse(bytes: &[u8], what: &str) -> Result<ImageManifest, ReleaseError> {
        let manifest: ImageManifest = serde_json::from_slice(bytes).map_err(|error| {
            ReleaseError::Malformed(format!("{what} is not an OCI image manifest: {error}"))
        })?;
        if manifest.schema_version != 2 || manifest.media_type != IMAGE_MANIFEST {
            return Err(ReleaseError::Malformed(format!(
                "{what} is not an OCI image manifest (schemaVersion {}, mediaType `{}`)",
                manifest.schema_version, manifest.media_type
            )));
        }
        Ok(manifest)
    }

    /// The manifest's bytes: compact JSON, fields in a fixed order.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // Serializing plain structs and maps of strings cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
