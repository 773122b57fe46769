//! Compiled-module cache: Cranelift's output for a plugin, kept on disk so a
//! plugin is compiled once per machine rather than once per run (compiling
//! the reference plugins takes most of a second; loading them from the
//! cache a few milliseconds).
//!
//! # What this module owns
//!
//! One cache directory, which the caller names: [`ModuleCache::open`] takes
//! it, checks it, and [`ModuleCache::compile`] looks modules up in it and
//! fills it. This module reads no environment variable: choosing the
//! directory is the caller's job (the `verdict` CLI's).
//!
//! The directory holds:
//!
//! - `key`: 32 random bytes, the cache's secret HMAC-SHA256 key (mode 0600);
//! - `modules/`: one file per compiled module and engine configuration,
//!   named `<module SHA-256>-<first 16 bytes of the engine fingerprint>.entry`
//!   (all hex).
//!
//! Whoever can write an entry the host accepts can run code as the user:
//! `trust.rs` says which directories and key files are trusted, and
//! `entry.rs` how each entry is authenticated (an HMAC-SHA256 tag under
//! the cache's key over a header naming the module and the engine).

mod entry;
mod trust;

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hmac::Mac;
use wasmtime::{Engine, Module};

use crate::files::{Links, open_regular};

use entry::{EntryKey, HmacSha256};
use trust::{KEY_LEN, create_key, private_dir, read_key, temporary_path, write_new_private};

/// The key file, in the cache directory.
const KEY_FILE: &str = "key";
/// The entries' directory, in the cache directory.
const MODULES_DIR: &str = "modules";

/// Where compiled modules are kept, if anywhere: a checked cache directory
/// and its key, or nothing (every module is compiled; the default, as
/// [`ModuleCache::disabled`]).
#[derive(Clone, Default)]
pub struct ModuleCache {
    open: Option<Arc<Open>>,
}

/// An open cache: its checked directories and its key, ready to tag.
struct Open {
    dir: PathBuf,
    modules: PathBuf,
    /// HMAC-SHA256 state keyed with the cache's key; cloned for each tag.
    mac: HmacSha256,
}

impl fmt::Debug for ModuleCache {
    /// Names the directory; never shows the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleCache")
            .field("dir", &self.dir())
            .finish_non_exhaustive()
    }
}

/// Why a cache directory cannot be used. Each message names the path; the
/// caller reports it and runs without a cache.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// A directory or the key file could not be created, inspected or read.
    #[error("cannot use module cache `{}`: {source}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The cache directory or `modules/` exists but is not a directory.
    #[error("module cache `{}` is not a directory", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A directory of the cache belongs to another user.
    #[error(
        "module cache `{}` is owned by uid {owner}, not by the current user (uid {user}); \
         refusing to run native code from it",
        path.display()
    )]
    NotOwned {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective uid of this process.
        user: u32,
    },
    /// A directory of the cache is writable by its group or by others.
    #[error(
        "module cache `{}` is writable by {} (mode {mode:04o}); refusing to run native code \
         from it",
        path.display(),
        if mode & 0o002 != 0 { "others" } else { "its group" }
    )]
    Writable {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is not a regular file owned by the current user.
    #[error(
        "module cache key `{}` is not a regular file owned by the current user (uid {user}); \
         refusing to trust entries tagged with it",
        path.display()
    )]
    KeyNotOwned {
        /// The key file.
        path: PathBuf,
        /// The effective uid of this process.
        user: u32,
    },
    /// The key file can be read or written by its group or by others.
    #[error(
        "module cache key `{}` is accessible to group or others (mode {mode:04o}); refusing to \
         trust entries tagged with it",
        path.display()
    )]
    KeyExposed {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file does not hold exactly 32 bytes.
    #[error(
        "module cache key `{}` holds {len} bytes, not 32; delete it to start a new cache",
        path.display()
    )]
    KeyMalformed {
        /// The key file.
        path: PathBuf,
        /// How many bytes it holds.
        len: u64,
    },
}

impl CacheError {
    /// The directory or file the problem is with.
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            CacheError::Io { path, .. }
            | CacheError::NotADirectory { path }
            | CacheError::NotOwned { path, .. }
            | CacheError::Writable { path, .. }
            | CacheError::KeyNotOwned { path, .. }
            | CacheError::KeyExposed { path, .. }
            | CacheError::KeyMalformed { path, .. } => path,
        }
    }
}

impl ModuleCache {
    /// Opens (creating, if missing) the cache in `dir`: checks that `dir`
    /// and `dir/modules` are private to the current user, and reads the
    /// cache's key (making one, if missing). See the module docs for what is
    /// checked and why.
    ///
    /// # Errors
    ///
    /// A [`CacheError`] naming the path when a directory or the key cannot
    /// be trusted, created or read. The caller should report it and go on
    /// with [`ModuleCache::disabled`].
    pub fn open(dir: PathBuf) -> Result<ModuleCache, CacheError> {
        private_dir(&dir)?;
        let modules = dir.join(MODULES_DIR);
        private_dir(&modules)?;
        let key_path = dir.join(KEY_FILE);
        let key = match read_key(&key_path)? {
            Some(key) => key,
            None => {
                create_key(&key_path)?;
                read_key(&key_path)?.ok_or_else(|| CacheError::Io {
                    path: key_path.clone(),
                    source: io::Error::new(io::ErrorKind::NotFound, "the new key vanished"),
                })?
            }
        };
        // HMAC takes keys of any length: this cannot fail.
        let mac = HmacSha256::new_from_slice(&key).map_err(|_| CacheError::KeyMalformed {
            path: key_path,
            len: KEY_LEN as u64,
        })?;
        Ok(ModuleCache {
            open: Some(Arc::new(Open { dir, modules, mac })),
        })
    }

    /// No cache: every module is compiled.
    #[must_use]
    pub fn disabled() -> ModuleCache {
        ModuleCache { open: None }
    }

    /// The cache directory, unless the cache is disabled.
    #[must_use]
    pub fn dir(&self) -> Option<&Path> {
        self.open.as_deref().map(|open| open.dir.as_path())
    }

    /// The compiled module for `bytes` (wasm or WebAssembly text): from the
    /// cache when it holds a verified entry for these bytes and this engine,
    /// else compiled and stored. A cache that cannot be read or written
    /// only costs the compilation.
    ///
    /// # Errors
    ///
    /// Only compilation's: the bytes are not a valid module.
    pub(crate) fn compile(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Module> {
        self.fetch(engine, bytes).map(|(module, _)| module)
    }

    /// [`ModuleCache::compile`], also telling where the module came from.
    fn fetch(&self, engine: &Engine, bytes: &[u8]) -> wasmtime::Result<(Module, Origin)> {
        let Some(open) = self.open.as_deref() else {
            return Ok((Module::new(engine, bytes)?, Origin::Uncached));
        };
        let key = EntryKey::new(engine, bytes);
        let path = open.entry_path(&key);
        match open.load(engine, &path, &key) {
            Ok(module) => return Ok((module, Origin::Cache)),
            Err(Miss::Absent) => {}
            Err(reason @ (Miss::Rejected(_) | Miss::Planted(_))) => {
                tracing::warn!(
                    "ignoring module cache entry `{}`: {reason}; compiling the module again",
                    path.display()
                );
            }
            Err(miss) => {
                tracing::debug!(path = %path.display(), %miss, "ignoring module cache entry");
            }
        }
        let module = Module::new(engine, bytes)?;
        if let Err(error) = open.store(&path, &key, &module) {
            tracing::debug!(path = %path.display(), %error, "could not cache compiled module");
        }
        Ok((module, Origin::Compiled))
    }
}

/// The bytes of the entry at `path`: a regular file there itself (a link,
/// a FIFO or a device is rejected, never followed or waited on) whose size
/// is the one its header gives, checked before the code is read.
fn read_entry(path: &Path) -> Result<Vec<u8>, Miss> {
    let mut file = match open_regular(path, Links::Refuse) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(Miss::Absent),
        Err(error) if error.kind() == io::ErrorKind::InvalidInput => {
            return Err(Miss::Planted(error.to_string()));
        }
        Err(error) => return Err(Miss::Unreadable(error)),
    };
    let size = file.metadata().map_err(Miss::Unreadable)?.len();
    let mut header = [0; entry::HEADER_LEN];
    if size < entry::sealed_len(0) || file.read_exact(&mut header).is_err() {
        return Err(Miss::Rejected("it is too short to be an entry"));
    }
    let expected = entry::sealed_len(entry::code_len(&header));
    if size != expected || expected > entry::MAX_ENTRY_BYTES {
        return Err(Miss::Rejected("its length does not match its header"));
    }
    let mut bytes = header.to_vec();
    file.take(size - header.len() as u64)
        .read_to_end(&mut bytes)
        .map_err(Miss::Unreadable)?;
    Ok(bytes)
}

/// Where [`ModuleCache::fetch`] got a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A verified entry.
    Cache,
    /// Compiled, and stored if the cache could be written.
    Compiled,
    /// Compiled; the cache is disabled.
    Uncached,
}

/// Why an entry was not used.
#[derive(Debug, thiserror::Error)]
enum Miss {
    /// There is none yet.
    #[error("no entry")]
    Absent,
    /// It could not be read.
    #[error("cannot read it: {0}")]
    Unreadable(io::Error),
    /// It is not this cache's entry for this module and engine: damaged,
    /// tampered with, or put there by hand.
    #[error("{0}")]
    Rejected(&'static str),
    /// What is there is no file of its own: a link, a FIFO, a device.
    #[error("{0}")]
    Planted(String),
    /// It is verified, but wasmtime refused the code (another wasmtime
    /// version, or an incompatible host).
    #[error("wasmtime refused it: {0:#}")]
    Stale(wasmtime::Error),
}

impl Open {
    fn entry_path(&self, key: &EntryKey) -> PathBuf {
        self.modules.join(key.file_name())
    }

    /// The module of a verified entry at `path`.
    fn load(&self, engine: &Engine, path: &Path, key: &EntryKey) -> Result<Module, Miss> {
        let entry = read_entry(path)?;
        let code = key.verify(&self.mac, &entry).map_err(Miss::Rejected)?;
        // SAFETY: `Module::deserialize` needs the unmodified output of
        // `Module::serialize`. `code` is that: `EntryKey::verify` accepted it only
        // because the entry's HMAC-SHA256 tag over header and code matches
        // under this cache's key, and the only code that tags with that key
        // is `EntryKey::seal`, which `store` calls on exactly what `Module::serialize`
        // returned. The key is 32 random bytes in a file `ModuleCache::open` checked to
        // be owned by the current user and unreadable and unwritable by
        // group and others, in a directory only the current user can
        // write; so a matching tag from anyone else needs the key, that is,
        // needs them to be this user already. `code` borrows our own copy of
        // the file, so what is deserialized is what was verified even if
        // the file changes meanwhile. The tagged header names this module's
        // SHA-256 and this engine's fingerprint, so the code is this
        // module's; and wasmtime itself returns an error for code from
        // another wasmtime version or an incompatible engine configuration.
        unsafe { Module::deserialize(engine, code) }.map_err(Miss::Stale)
    }

    /// Writes `module`'s entry atomically: a private temporary file renamed
    /// over whatever was at `path`.
    fn store(&self, path: &Path, key: &EntryKey, module: &Module) -> io::Result<()> {
        let code = module
            .serialize()
            .map_err(|e| io::Error::other(format!("{e:#}")))?;
        let entry = key.seal(&self.mac, &code);
        let temporary = temporary_path(path);
        let written =
            write_new_private(&temporary, &entry).and_then(|()| fs::rename(&temporary, path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }
}

#[cfg(test)]
mod tests;
