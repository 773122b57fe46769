//! The module archive: every module and parameter set that made a logged
//! decision, stored under its SHA-256 beside the log.
//!
//! ```text
//! decisions.archive/
//!   modules/<sha256>.wasm   the module bytes exactly as loaded
//!   params/<sha256>.json    the parameter JSON exactly as the plugin got it
//! ```
//!
//! Content decides the name, so storing is idempotent: an entry that is
//! already there with the right content is left alone, anything else is
//! written to a temporary file, synced and renamed into place. Reading an
//! entry checks its content against its name.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use verdict_engine::{Links, MAX_MODULE_BYTES, Plugin, Policy, Sandbox, Sha256, read_bounded};

use crate::error::AuditError;
pub use crate::problem::{Flaw, Kind};

/// The directory and file extension entries of `kind` are kept under.
fn place(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Module => ("modules", "wasm"),
        Kind::Params => ("params", "json"),
    }
}

/// An archive directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    root: PathBuf,
}

/// Makes temporary file names unique within the process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Archive {
    /// The archive in `root`.
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> Archive {
        Archive { root: root.into() }
    }

    /// The default archive of a log: beside it, named after it with the
    /// extension replaced by `.archive` (`decisions.jsonl` ->
    /// `decisions.archive`).
    #[must_use]
    pub fn beside(log: &Path) -> Archive {
        if log.extension().is_some_and(|e| e == "archive") {
            let mut root = log.as_os_str().to_owned();
            root.push(".archive");
            return Archive::new(root);
        }
        Archive::new(log.with_extension("archive"))
    }

    /// The archive's directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where an entry lives.
    #[must_use]
    pub fn path(&self, kind: Kind, sha256: Sha256) -> PathBuf {
        let (dir, extension) = place(kind);
        self.root.join(dir).join(format!("{sha256}.{extension}"))
    }

    /// Stores the module and parameters of every policy that decides for
    /// `policies` (challengers included): what replaying their decisions
    /// needs.
    pub fn store_policies(&self, policies: &[Arc<Policy>]) -> Result<(), AuditError> {
        for policy in policies.iter().flat_map(Policy::deciders) {
            self.store(Kind::Module, policy.plugin().bytes())?;
            self.store(Kind::Params, policy.params_json().as_bytes())?;
        }
        Ok(())
    }

    /// Stores `bytes` (unless an intact copy is there) and returns their
    /// SHA-256. The entry is durable when this returns.
    pub fn store(&self, kind: Kind, bytes: &[u8]) -> Result<Sha256, AuditError> {
        let sha256 = Sha256::of(bytes);
        if self.read(kind, sha256).is_ok() {
            return Ok(sha256);
        }
        let dir = self.root.join(place(kind).0);
        std::fs::create_dir_all(&dir).map_err(AuditError::io("create", &dir))?;
        let temp = dir.join(format!(
            ".{sha256}.{}.{}.tmp",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let written = (|| {
            let mut file = File::create(&temp)?;
            file.write_all(bytes)?;
            file.sync_all()
        })();
        if let Err(source) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(AuditError::Io {
                action: "write",
                path: temp,
                source,
            });
        }
        let target = self.path(kind, sha256);
        std::fs::rename(&temp, &target).map_err(AuditError::io("write", &target))?;
        sync_dir(&dir)?;
        Ok(sha256)
    }

    /// Whether a regular file is there under an entry's name (its
    /// content unchecked): how a writer that stored the entry earlier
    /// tells that it is still there.
    #[must_use]
    pub(crate) fn holds(&self, kind: Kind, sha256: Sha256) -> bool {
        std::fs::symlink_metadata(self.path(kind, sha256)).is_ok_and(|meta| meta.is_file())
    }

    /// An entry's content, checked against its name.
    ///
    /// Only a regular file there itself is read (a link, a FIFO or a
    /// device is a flaw, never followed or waited on), and no more than
    /// [`MAX_MODULE_BYTES`].
    pub fn read(&self, kind: Kind, sha256: Sha256) -> Result<Vec<u8>, Flaw> {
        let path = self.path(kind, sha256);
        let bytes = read_bounded(&path, Links::Refuse, MAX_MODULE_BYTES).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Flaw::Missing
            } else {
                Flaw::Unreadable(e.to_string())
            }
        })?;
        let actual = Sha256::of(&bytes);
        if actual != sha256 {
            return Err(Flaw::Corrupt { actual });
        }
        Ok(bytes)
    }

    /// An entry's content, or an error naming the entry and its flaw.
    pub fn fetch(&self, kind: Kind, sha256: Sha256) -> Result<Vec<u8>, AuditError> {
        self.read(kind, sha256)
            .map_err(|flaw| self.flaw_error(kind, sha256, &flaw))
    }

    /// The module stored under `sha256`, every byte checked, compiled in
    /// `sandbox`.
    pub fn plugin(&self, sandbox: &Sandbox, sha256: Sha256) -> Result<Plugin, AuditError> {
        let bytes = self.fetch(Kind::Module, sha256)?;
        self.load(sandbox, sha256, bytes)
    }

    /// The module stored under `sha256`, whose checked `bytes` were read
    /// from it, compiled in `sandbox`.
    pub(crate) fn load(
        &self,
        sandbox: &Sandbox,
        sha256: Sha256,
        bytes: Vec<u8>,
    ) -> Result<Plugin, AuditError> {
        let path = self.path(Kind::Module, sha256);
        Ok(Plugin::from_bytes(sandbox, &path, bytes.into())?)
    }

    /// The policy a logged decision was made by: `plugin` named `name`,
    /// with exactly the parameter JSON stored under `params_sha256` (every
    /// byte checked), so it decides on the very bytes the decision got.
    pub fn recorded_policy(
        &self,
        name: &str,
        plugin: Plugin,
        params_sha256: Sha256,
    ) -> Result<Policy, AuditError> {
        let path = self.path(Kind::Params, params_sha256);
        let bytes = self.fetch(Kind::Params, params_sha256)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| AuditError::ParamsNotUtf8 { path: path.clone() })?;
        Policy::recorded(name, path.clone(), plugin, text.into())
            .map_err(|source| AuditError::ParamsNotObject { path, source })
    }

    /// The error for an entry's flaw.
    #[must_use]
    pub(crate) fn flaw_error(&self, kind: Kind, sha256: Sha256, flaw: &Flaw) -> AuditError {
        AuditError::Archive {
            path: self.path(kind, sha256),
            kind,
            sha256,
            flaw: flaw.clone(),
        }
    }
}

/// Makes a directory's entries (a new or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    // Directories cannot be opened for syncing on every platform; where
    // they can (Unix), this is what makes a rename survive a crash.
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(AuditError::io("sync", dir))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;

    #[test]
    fn stores_idempotently_and_checks_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::new(dir.path().join("a.archive"));
        let sha = archive.store(Kind::Params, b"{\"x\":1}").unwrap();
        assert_eq!(sha, Sha256::of(b"{\"x\":1}"));
        assert_eq!(archive.store(Kind::Params, b"{\"x\":1}").unwrap(), sha);
        assert_eq!(archive.read(Kind::Params, sha).unwrap(), b"{\"x\":1}");
        assert_eq!(archive.read(Kind::Module, sha), Err(Flaw::Missing));

        std::fs::write(archive.path(Kind::Params, sha), b"{\"x\":2}").unwrap();
        assert!(matches!(
            archive.read(Kind::Params, sha),
            Err(Flaw::Corrupt { .. })
        ));
        // Storing again repairs a damaged entry.
        archive.store(Kind::Params, b"{\"x\":1}").unwrap();
        assert_eq!(archive.read(Kind::Params, sha).unwrap(), b"{\"x\":1}");
    }

    #[test]
    fn sits_beside_its_log() {
        assert_eq!(
            Archive::beside(Path::new("/x/decisions.jsonl")).root(),
            Path::new("/x/decisions.archive")
        );
        assert_eq!(
            Archive::beside(Path::new("log")).root(),
            Path::new("log.archive")
        );
    }
}
