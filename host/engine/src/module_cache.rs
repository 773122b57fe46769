//! Compiled-module cache: Cranelift's output for a plugin, stored by the
//! module's SHA-256 and the engine's compatibility fingerprint, so a plugin
//! is compiled once per machine rather than once per run (compiling the
//! reference plugins takes most of a second; loading them from the cache a
//! few milliseconds).
//!
//! The caller names the directory. Entries are native code the host runs, so the directory must be writable
//! only by the user running Verdict (it is created with mode 0700). A bad or
//! stale entry is ignored and replaced.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

use crate::digest::sha256_hex;

/// Where compiled modules are kept, if anywhere.
#[derive(Debug, Clone, Default)]
pub struct ModuleCache {
    dir: Option<PathBuf>,
}

impl ModuleCache {
    /// A cache kept in `dir`.
    #[must_use]
    pub fn in_dir(dir: PathBuf) -> ModuleCache {
        ModuleCache { dir: Some(dir) }
    }

    /// No cache: every module is compiled.
    #[must_use]
    pub fn disabled() -> ModuleCache {
        ModuleCache { dir: None }
    }

    /// The compiled module for `bytes`: from the cache when an entry for
    /// this module and engine exists, else compiled and stored.
    pub(crate) fn compile(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Module> {
        let Some(path) = self.entry(engine, bytes) else {
            return Module::new(engine, bytes);
        };
        if path.is_file() {
            // SAFETY: entries are written only by `store` below from
            // `Module::serialize` of this same engine configuration (the
            // file name carries its fingerprint), in a directory private to
            // the user; wasmtime still checks the header and version.
            match unsafe { Module::deserialize_file(engine, &path) } {
                Ok(module) => return Ok(module),
                Err(error) => {
                    tracing::debug!(path = %path.display(), %error, "ignoring unusable cache entry")
                }
            }
        }
        let module = Module::new(engine, bytes)?;
        if let Err(error) = store(&path, &module) {
            tracing::debug!(path = %path.display(), %error, "could not cache compiled module");
        }
        Ok(module)
    }

    fn entry(&self, engine: &Engine, bytes: &[u8]) -> Option<PathBuf> {
        let dir = self.dir.as_ref()?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Some(dir.join("modules").join(format!(
            "{}-{:016x}.cwasm",
            sha256_hex(bytes),
            hasher.finish()
        )))
    }
}

/// Writes an entry atomically: a temporary file renamed into place, so a
/// reader never sees half an entry.
fn store(path: &Path, module: &Module) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        create_private_dir(dir)?;
    }
    let serialized = module
        .serialize()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    let written =
        std::fs::File::create(&temporary).and_then(|mut file| file.write_all(&serialized));
    match written.and_then(|()| std::fs::rename(&temporary, path)) {
        Ok(()) => Ok(()),
        Err(error) => {
            let _ = std::fs::remove_file(&temporary);
            Err(error)
        }
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
