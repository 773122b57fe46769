//! Signatures kept where cosign keeps a key-based one: the manifest tagged
//! `sha256-<hex>.sig` in the release's repository, one layer per signature,
//! each a simple-signing payload naming the release's manifest digest with
//! the ECDSA signature of those bytes in the layer's
//! `dev.cosignproject.cosign/signature` annotation (base64 of DER).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use verdict_engine::Sha256;

use crate::artifact::{Descriptor, IMAGE_MANIFEST, ImageManifest, MAX_MANIFEST_BYTES};
use crate::error::ReleaseError;
use crate::keys::{PrivateKey, TrustedKey};
use crate::pack::to_json;
use crate::reference::Reference;
use crate::registry::Registry;

/// The media type of a signature layer.
pub(crate) const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The annotation holding a layer's signature.
pub(crate) const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// The payload's `critical.type`.
const SIGNATURE_TYPE: &str = "cosign container image signature";
/// The media type of the signature manifest's config.
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The largest payload read.
const MAX_PAYLOAD_BYTES: u64 = 64 * 1024;
/// The most signature layers looked at.
const MAX_SIGNATURES: usize = 64;

/// The key a release was verified with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The trusted key's file.
    pub key_file: std::path::PathBuf,
    /// The SHA-256 of the key's DER encoding.
    pub fingerprint: Sha256,
}

/// The simple-signing payload, its fields in cosign's order.
#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    critical: Critical,
    optional: Option<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// The tag of the signatures of `digest`.
fn signature_tag(digest: Sha256) -> String {
    format!("sha256-{digest}.sig")
}

/// The signature manifest of `digest`, if there is one.
fn signatures(registry: &Registry, digest: Sha256) -> Result<Option<ImageManifest>, ReleaseError> {
    let tag = signature_tag(digest);
    registry
        .manifest(&tag, IMAGE_MANIFEST, MAX_MANIFEST_BYTES)?
        .map(|(bytes, _)| ImageManifest::parse(&bytes, &format!("signature manifest {tag}")))
        .transpose()
}

/// Signs the release at `digest` in `reference`'s repository with `key`,
/// beside the signatures it has. Returns false when `key` had signed it
/// already (nothing is written then).
pub fn sign(
    registry: &Registry,
    reference: &Reference,
    digest: Sha256,
    key: &PrivateKey,
) -> Result<bool, ReleaseError> {
    let release = format!("sha256:{digest}");
    if registry
        .manifest(&release, IMAGE_MANIFEST, MAX_MANIFEST_BYTES)?
        .is_none()
    {
        return Err(ReleaseError::Malformed(format!(
            "{} has no manifest {release} to sign",
            reference.repository_path()
        )));
    }
    let payload = to_json(&Payload {
        critical: Critical {
            identity: Identity {
                docker_reference: reference.repository_path(),
            },
            image: Image {
                docker_manifest_digest: release,
            },
            kind: SIGNATURE_TYPE.to_owned(),
        },
        optional: None,
    });
    let signature = BASE64.encode(key.sign(&payload));
    let layer =
        Descriptor::of(SIMPLE_SIGNING, &payload).annotated(SIGNATURE_ANNOTATION, &signature);
    let mut layers = signatures(registry, digest)?.map_or_else(Vec::new, |m| m.layers);
    if layers.contains(&layer) {
        return Ok(false);
    }
    layers.push(layer);
    registry.put_blob(&payload, "the signature payload")?;
    let diff_ids: Vec<&str> = layers.iter().map(|layer| layer.digest.as_str()).collect();
    let config = to_json(&serde_json::json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }));
    registry.put_blob(&config, "the signature config")?;
    let manifest = ImageManifest::new(None, Descriptor::of(CONFIG_MEDIA_TYPE, &config), layers);
    registry.put_manifest(&signature_tag(digest), IMAGE_MANIFEST, &manifest.to_bytes())?;
    Ok(true)
}

/// One signature as a registry keeps it: the payload's bytes and the
/// signature annotation's text (base64 of DER), both as found. A pulled
/// release keeps its signatures so, to be verified again offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StoredSignature {
    /// The simple-signing payload, base64.
    payload: String,
    /// The signature annotation, as found.
    signature: String,
}

/// The signatures kept for the release at `digest` (at most
/// [`MAX_SIGNATURES`]), or `None` when it has no signature manifest. Only
/// signature material is read, never the release's own blobs.
pub(crate) fn stored_signatures(
    registry: &Registry,
    digest: Sha256,
) -> Result<Option<Vec<StoredSignature>>, ReleaseError> {
    let Some(manifest) = signatures(registry, digest)? else {
        return Ok(None);
    };
    let mut stored = Vec::new();
    for layer in manifest
        .layers
        .iter()
        .filter(|layer| layer.media_type == SIMPLE_SIGNING)
        .take(MAX_SIGNATURES)
    {
        let payload = registry.blob(layer.sha256()?, "a signature payload", MAX_PAYLOAD_BYTES)?;
        stored.push(StoredSignature {
            payload: BASE64.encode(payload),
            signature: layer
                .annotations
                .get(SIGNATURE_ANNOTATION)
                .cloned()
                .unwrap_or_default(),
        });
    }
    Ok(Some(stored))
}

/// The first of `trusted` that signed the release at `digest`; refused
/// unless one did. Only signature material is read, never the release's
/// own blobs.
pub fn verify(
    registry: &Registry,
    reference: &Reference,
    digest: Sha256,
    trusted: &[TrustedKey],
) -> Result<Signer, ReleaseError> {
    let stored = stored_signatures(registry, digest)?;
    check(
        &reference.repository_path(),
        digest,
        stored.as_deref(),
        trusted,
    )
}

/// The first of `trusted` that made one of the signatures `stored` (`None`:
/// the release has no signature manifest) of the release at `digest` in
/// `repository`; refused unless one did.
pub(crate) fn check(
    repository: &str,
    digest: Sha256,
    stored: Option<&[StoredSignature]>,
    trusted: &[TrustedKey],
) -> Result<Signer, ReleaseError> {
    let unsigned = |why: String| ReleaseError::Unsigned {
        reference: repository.to_owned(),
        digest: digest.to_string(),
        why,
    };
    let Some(stored) = stored else {
        return Err(unsigned(format!(
            "it has no signature (no tag {})",
            signature_tag(digest)
        )));
    };
    let mut other_digests = Vec::new();
    for one in stored.iter().take(MAX_SIGNATURES) {
        let Ok(payload) = BASE64.decode(&one.payload) else {
            continue;
        };
        let Ok(parsed) = serde_json::from_slice::<Payload>(&payload) else {
            continue;
        };
        let named = parsed.critical.image.docker_manifest_digest;
        if parsed.critical.kind != SIGNATURE_TYPE || named != format!("sha256:{digest}") {
            other_digests.push(named);
            continue;
        }
        let Ok(signature) = BASE64.decode(&one.signature) else {
            continue;
        };
        if let Some(key) = trusted
            .iter()
            .find(|key| key.verifies(&payload, &signature))
        {
            return Ok(Signer {
                key_file: key.file().to_path_buf(),
                fingerprint: key.fingerprint(),
            });
        }
    }
    let seen = stored.len().min(MAX_SIGNATURES);
    let why = match (seen, other_digests.first()) {
        (0, _) => "its signature manifest holds no signature".to_owned(),
        (_, Some(other)) if other_digests.len() == seen => {
            format!(
                "its signatures name another release ({})",
                other.chars().take(80).collect::<String>()
            )
        }
        (1, _) => format!(
            "its one signature is by none of the {} trusted key(s)",
            trusted.len()
        ),
        (n, _) => format!(
            "none of its {n} signatures is by one of the {} trusted key(s)",
            trusted.len()
        ),
    };
    Err(unsigned(why))
}
