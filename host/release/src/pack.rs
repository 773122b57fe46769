//! A policies directory packed as a release: the same files give the same
//! bytes, and so the same digest, on any machine.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use verdict_config::{Binding, load_policies};
use verdict_engine::{Sandbox, Sha256};

use crate::artifact::{
    ARTIFACT_TYPE, BINDINGS_MEDIA_TYPE, Descriptor, IMAGE_MANIFEST, ImageManifest,
    MODULE_MEDIA_TYPE, TITLE,
};
use crate::error::ReleaseError;
use crate::reference::{Reference, Target};
use crate::registry::Registry;

/// The annotation naming a module layer's plugin.
pub(crate) const PLUGIN_ANNOTATION: &str = "dev.verdict.plugin";
/// The annotation naming a module layer's plugin version.
pub(crate) const VERSION_ANNOTATION: &str = "dev.verdict.plugin.version";
/// The bindings layer's file name.
pub(crate) const BINDINGS_TITLE: &str = "bindings.tar";

/// Where a release keeps the module with digest `sha256`, relative to its
/// directory; each binding's `plugin` names it so.
pub(crate) fn module_path(sha256: Sha256) -> String {
    format!("modules/{sha256}.wasm")
}

/// The release manifest: the release's config blob, and `release.json` in a
/// pulled release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReleaseManifest {
    /// The layout's version: 1.
    pub(crate) schema: u32,
    /// Every binding, in name order.
    pub(crate) bindings: Vec<BindingEntry>,
    /// Every distinct module, in digest order.
    pub(crate) modules: Vec<ModuleEntry>,
}

/// One binding of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BindingEntry {
    /// The policy name.
    pub(crate) policy: String,
    /// The binding's file in the bindings layer.
    pub(crate) file: String,
    /// The plugin's declared name.
    pub(crate) plugin: String,
    /// The plugin's version.
    pub(crate) version: String,
    /// The module's digest.
    pub(crate) module_sha256: Sha256,
    /// The digest of the parameter JSON its decisions send.
    pub(crate) params_sha256: Sha256,
    /// The parameters, defaults filled in.
    pub(crate) params: Map<String, Value>,
    /// The challenger tried beside the policy, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) challenger: Option<ChallengerEntry>,
}

/// The challenger of a binding in a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChallengerEntry {
    /// The experiment's id.
    pub(crate) experiment: String,
    /// The plugin's declared name.
    pub(crate) plugin: String,
    /// The plugin's version.
    pub(crate) version: String,
    /// The module's digest.
    pub(crate) module_sha256: Sha256,
    /// The digest of the parameter JSON its decisions send.
    pub(crate) params_sha256: Sha256,
    /// The parameters, defaults filled in.
    pub(crate) params: Map<String, Value>,
}

/// One module of a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModuleEntry {
    pub(crate) sha256: Sha256,
    pub(crate) plugin: String,
    pub(crate) version: String,
    pub(crate) size: u64,
}

/// A release ready to push: its manifest, bindings layer and modules.
#[derive(Debug, Clone)]
pub struct Release {
    manifest: ReleaseManifest,
    config: Vec<u8>,
    bindings: Vec<u8>,
    modules: BTreeMap<Sha256, Arc<[u8]>>,
}

impl Release {
    /// Packs the policies directory `dir`: every binding must load (the
    /// whole directory is refused otherwise, as `verdict serve` would).
    pub fn pack(sandbox: &Sandbox, dir: &Path) -> Result<Release, ReleaseError> {
        let set = load_policies(sandbox, dir, &[])?;
        let mut entries = Vec::new();
        let mut files = Vec::new();
        let mut modules = BTreeMap::new();
        let mut listed = BTreeMap::new();
        for policy in set.policies() {
            let plugin = policy.plugin();
            let sha256 = plugin.sha256();
            let binding = Binding::load(policy.binding())?;
            let file = format!("{}.toml", policy.name());
            let experiment = policy.experiment();
            let challenger = experiment.map(|e| e.challenger());
            files.push((
                file.clone(),
                binding.text_with_plugins(
                    &module_path(sha256),
                    challenger
                        .map(|c| module_path(c.plugin().sha256()))
                        .as_deref(),
                ),
            ));
            entries.push(BindingEntry {
                policy: policy.name().to_owned(),
                file,
                plugin: plugin.name().to_owned(),
                version: plugin.version().to_string(),
                module_sha256: sha256,
                params_sha256: policy.params_sha256(),
                params: policy.params().clone(),
                challenger: experiment.map(|experiment| {
                    let challenger = experiment.challenger();
                    ChallengerEntry {
                        experiment: experiment.id().to_owned(),
                        plugin: challenger.plugin().name().to_owned(),
                        version: challenger.plugin().version().to_string(),
                        module_sha256: challenger.plugin().sha256(),
                        params_sha256: challenger.params_sha256(),
                        params: challenger.params().clone(),
                    }
                }),
            });
            for decider in policy.deciders() {
                let plugin = decider.plugin();
                modules.insert(plugin.sha256(), Arc::clone(plugin.bytes()));
                listed.insert(
                    plugin.sha256(),
                    ModuleEntry {
                        sha256: plugin.sha256(),
                        plugin: plugin.name().to_owned(),
                        version: plugin.version().to_string(),
                        size: plugin.bytes().len() as u64,
                    },
                );
            }
        }
        let manifest = ReleaseManifest {
            schema: 1,
            bindings: entries,
            modules: listed.into_values().collect(),
        };
        Ok(Release {
            config: to_json(&manifest),
            bindings: bindings_tar(&files).map_err(ReleaseError::io(dir))?,
            manifest,
            modules,
        })
    }

    /// The OCI image manifest's bytes; their SHA-256 is the release's digest.
    #[must_use]
    pub fn image_manifest(&self) -> Vec<u8> {
        let mut layers = vec![
            Descriptor::of(BINDINGS_MEDIA_TYPE, &self.bindings).annotated(TITLE, BINDINGS_TITLE),
        ];
        for entry in &self.manifest.modules {
            if let Some(bytes) = self.modules.get(&entry.sha256) {
                layers.push(
                    Descriptor::of(MODULE_MEDIA_TYPE, bytes)
                        .annotated(TITLE, &module_path(entry.sha256))
                        .annotated(PLUGIN_ANNOTATION, &entry.plugin)
                        .annotated(VERSION_ANNOTATION, &entry.version),
                );
            }
        }
        let config = Descriptor::of(ARTIFACT_TYPE, &self.config);
        ImageManifest::new(Some(ARTIFACT_TYPE), config, layers).to_bytes()
    }

    /// The release's digest.
    #[must_use]
    pub fn digest(&self) -> Sha256 {
        Sha256::of(&self.image_manifest())
    }

    /// The policies it holds, in name order.
    pub fn policies(&self) -> impl Iterator<Item = &str> {
        self.manifest.bindings.iter().map(|b| b.policy.as_str())
    }

    /// Pushes the release to `reference` (its tag, or its own digest);
    /// returns the digest. Blobs the registry has are not sent again.
    pub fn push(&self, registry: &Registry, reference: &Reference) -> Result<Sha256, ReleaseError> {
        let manifest = self.image_manifest();
        let digest = Sha256::of(&manifest);
        let target = match reference.target() {
            Target::Tag(tag) => tag.clone(),
            Target::Digest(named) if *named == digest => format!("sha256:{digest}"),
            Target::Digest(named) => {
                return Err(ReleaseError::Malformed(format!(
                    "the release's digest is sha256:{digest}, not the sha256:{named} the reference names"
                )));
            }
        };
        registry.put_blob(&self.config, "the release manifest")?;
        registry.put_blob(&self.bindings, "the bindings")?;
        for (sha256, bytes) in &self.modules {
            registry.put_blob(bytes, &format!("module {sha256}"))?;
        }
        registry.put_manifest(&target, IMAGE_MANIFEST, &manifest)?;
        Ok(digest)
    }
}

/// Compact JSON of a value made of structs, strings and maps.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// The bindings as one tar: files in name order, each with the same
/// owner, mode and time, so the bytes depend on names and contents alone.
fn bindings_tar(files: &[(String, String)]) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, text) in files {
        let mut header = tar::Header::new_ustar();
        header.set_path(name)?;
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, text.as_bytes())?;
    }
    tar.into_inner()
}
