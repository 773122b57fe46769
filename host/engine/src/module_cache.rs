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
//! # Trust model
//!
//! An entry is native code that the host maps executable and runs, so
//! whoever can write an entry the host accepts can run code as the user.
//! Two things stand between the cache and that:
//!
//! 1. **The directories.** On Unix, the cache directory and `modules/` are
//!    used only if they are owned by the current user (the effective uid)
//!    and not writable by group or others; the key file only if it is a
//!    regular file owned by the current user that group and others can
//!    neither read nor write. Anything else makes [`ModuleCache::open`]
//!    fail with a [`CacheError`] naming the path and the problem; the
//!    caller warns and runs without a cache. Missing directories are
//!    created with mode 0700, the key file with mode 0600. The directories
//!    above the cache are not checked: someone who can write one of them
//!    can swap the cache for another directory, but only one that the
//!    current user owns and keeps private passes. On other platforms
//!    nothing is checked (their permissions are ACLs that owner and mode
//!    bits cannot describe); the cache works the same otherwise.
//! 2. **The entries.** File names only say where to look; nothing is
//!    trusted by name. Each entry carries a header naming the SHA-256 of
//!    the module bytes it was compiled from and the fingerprint of the
//!    engine that compiled it, and an HMAC-SHA256 tag over header and code
//!    under the cache's key. An entry is used only if the tag matches (a
//!    constant-time comparison) and the header names this module and this
//!    engine; so an entry copied or renamed over another module's, damaged,
//!    truncated, or written under another cache's key is ignored, the
//!    module is compiled again and the entry replaced. Only then does
//!    wasmtime deserialize the code, and it still refuses code from another
//!    wasmtime version or an incompatible configuration.
//!
//! # Entry format
//!
//! All integers little-endian; `len` bytes of code as
//! [`Module::serialize`] wrote them.
//!
//! | offset     | bytes | field                                      |
//! |------------|-------|--------------------------------------------|
//! | 0          | 8     | magic `VRDCACHE`                           |
//! | 8          | 4     | format version, `1`                        |
//! | 12         | 32    | SHA-256 of the module bytes (wasm or WAT)  |
//! | 44         | 32    | engine fingerprint (below)                 |
//! | 76         | 8     | `len`, the length of the code              |
//! | 84         | `len` | the code                                   |
//! | 84 + `len` | 32    | HMAC-SHA256(key, bytes 0 .. 84 + `len`)    |
//!
//! The engine fingerprint is a SHA-256 over this format's version, the host
//! crate's name and version, and [`Engine::precompile_compatibility_hash`]
//! (the compiler's target and flags, the tunables and wasm features the
//! host configured, the wasmtime version), fed through a [`Hasher`] that
//! writes into SHA-256 with fixed-width little-endian integers: unlike
//! `DefaultHasher`, it gives the same name on every Rust release and
//! platform. Entries are written to a temporary file (mode 0600) and
//! renamed into place, so a reader never sees half an entry. Files of
//! earlier hosts (`*.cwasm`, untagged) are never read.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

/// The first bytes of every entry.
const MAGIC: [u8; 8] = *b"VRDCACHE";
/// The version of the entry format and of what the fingerprint covers.
const FORMAT: u32 = 1;
/// Magic, format, module digest, fingerprint, code length.
const HEADER_LEN: usize = 8 + 4 + 32 + 32 + 8;
/// An HMAC-SHA256 tag.
const TAG_LEN: usize = 32;
/// The cache's secret key.
const KEY_LEN: usize = 32;
/// The key file, in the cache directory.
const KEY_FILE: &str = "key";
/// The entries' directory, in the cache directory.
const MODULES_DIR: &str = "modules";

type HmacSha256 = Hmac<Sha256>;

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
            Err(Miss::Rejected(reason)) => {
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

/// What an entry must say to be used: the module it was compiled from and
/// the engine that compiled it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EntryKey {
    module: [u8; 32],
    fingerprint: [u8; 32],
}

impl EntryKey {
    fn new(engine: &Engine, bytes: &[u8]) -> EntryKey {
        EntryKey {
            module: Sha256::digest(bytes).into(),
            fingerprint: engine_fingerprint(engine),
        }
    }

    /// The entry's file name: `<module>-<fingerprint's first 16 bytes>.entry`.
    /// Sixteen bytes keep names short; the header holds all 32.
    fn file_name(&self) -> String {
        let (short, _) = self.fingerprint.split_at(16);
        format!("{}-{}.entry", hex::encode(self.module), hex::encode(short))
    }

    /// The entry header for `code_len` bytes of code.
    fn header(&self, code_len: usize) -> [u8; HEADER_LEN] {
        let mut header = [0; HEADER_LEN];
        let fields: [&[u8]; 5] = [
            &MAGIC,
            &FORMAT.to_le_bytes(),
            &self.module,
            &self.fingerprint,
            &(code_len as u64).to_le_bytes(),
        ];
        let mut at = 0;
        for field in fields {
            let end = at + field.len();
            if let Some(slot) = header.get_mut(at..end) {
                slot.copy_from_slice(field);
            }
            at = end;
        }
        header
    }
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
        let entry = match fs::read(path) {
            Ok(entry) => entry,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Err(Miss::Absent),
            Err(error) => return Err(Miss::Unreadable(error)),
        };
        let code = self.verify(&entry, key).map_err(Miss::Rejected)?;
        // SAFETY: `Module::deserialize` needs the unmodified output of
        // `Module::serialize`. `code` is that: `verify` accepted it only
        // because the entry's HMAC-SHA256 tag over header and code matches
        // under this cache's key, and the only code that tags with that key
        // is `seal`, which `store` calls on exactly what `Module::serialize`
        // returned. The key is 32 random bytes in a file `open` checked to
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

    /// The code of `entry` if its tag is this cache's and its header names
    /// `key`; else why not.
    fn verify<'a>(&self, entry: &'a [u8], key: &EntryKey) -> Result<&'a [u8], &'static str> {
        let body_len = entry
            .len()
            .checked_sub(TAG_LEN)
            .filter(|len| *len >= HEADER_LEN)
            .ok_or("it is too short to be an entry")?;
        let (body, tag) = entry
            .split_at_checked(body_len)
            .ok_or("it is too short to be an entry")?;
        let mut mac = self.mac.clone();
        mac.update(body);
        mac.verify_slice(tag).map_err(
            |_| "its tag does not match this cache's key (damaged or not written by this cache)",
        )?;
        let (header, code) = body
            .split_at_checked(HEADER_LEN)
            .ok_or("it is too short to be an entry")?;
        let expected = key.header(code.len());
        let fields = [
            (0..12, "it is not an entry of this format"),
            (12..44, "it holds the code of another module"),
            (44..76, "it was compiled by another engine configuration"),
            (76..HEADER_LEN, "its code length does not match its header"),
        ];
        if let Some((_, problem)) = fields
            .into_iter()
            .find(|(range, _)| header.get(range.clone()) != expected.get(range.clone()))
        {
            return Err(problem);
        }
        Ok(code)
    }

    /// `key`'s header, `code` and their tag: a whole entry.
    fn seal(&self, key: &EntryKey, code: &[u8]) -> Vec<u8> {
        let mut entry = Vec::with_capacity(HEADER_LEN + code.len() + TAG_LEN);
        entry.extend_from_slice(&key.header(code.len()));
        entry.extend_from_slice(code);
        let mut mac = self.mac.clone();
        mac.update(&entry);
        entry.extend_from_slice(&mac.finalize().into_bytes());
        entry
    }

    /// Writes `module`'s entry atomically: a private temporary file renamed
    /// over whatever was at `path`.
    fn store(&self, path: &Path, key: &EntryKey, module: &Module) -> io::Result<()> {
        let code = module
            .serialize()
            .map_err(|e| io::Error::other(format!("{e:#}")))?;
        let entry = self.seal(key, &code);
        let temporary = temporary_path(path);
        let written =
            write_new_private(&temporary, &entry).and_then(|()| fs::rename(&temporary, path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        written
    }
}

/// The fingerprint of everything besides the module's bytes that decides
/// the code in an entry (see the module docs).
fn engine_fingerprint(engine: &Engine) -> [u8; 32] {
    let mut hasher = Sha256Hasher::default();
    hasher.write_field(b"verdict module cache");
    hasher.write_u32(FORMAT);
    // The host's own part: a host release may set the engine up or treat
    // modules differently in ways it cannot see.
    hasher.write_field(env!("CARGO_PKG_NAME").as_bytes());
    hasher.write_field(env!("CARGO_PKG_VERSION").as_bytes());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.digest()
}

/// A [`Hasher`] that feeds SHA-256, writing integers as fixed-width
/// little-endian bytes (`usize` as 64 bits): the same value hashes the same
/// on every platform and Rust release, as `DefaultHasher` does not promise.
#[derive(Default)]
struct Sha256Hasher(Sha256);

impl Sha256Hasher {
    /// A length-prefixed byte string, so consecutive fields cannot run
    /// into each other.
    fn write_field(&mut self, bytes: &[u8]) {
        self.write_u64(bytes.len() as u64);
        self.write(bytes);
    }

    fn digest(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest's first 8 bytes; the cache uses the whole digest.
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0; 8];
        for (to, from) in first.iter_mut().zip(digest.iter()) {
            *to = *from;
        }
        u64::from_le_bytes(first)
    }

    fn write_u8(&mut self, i: u8) {
        self.write(&[i]);
    }
    fn write_u16(&mut self, i: u16) {
        self.write(&i.to_le_bytes());
    }
    fn write_u32(&mut self, i: u32) {
        self.write(&i.to_le_bytes());
    }
    fn write_u64(&mut self, i: u64) {
        self.write(&i.to_le_bytes());
    }
    fn write_u128(&mut self, i: u128) {
        self.write(&i.to_le_bytes());
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i8(&mut self, i: i8) {
        self.write(&i.to_le_bytes());
    }
    fn write_i16(&mut self, i: i16) {
        self.write(&i.to_le_bytes());
    }
    fn write_i32(&mut self, i: i32) {
        self.write(&i.to_le_bytes());
    }
    fn write_i64(&mut self, i: i64) {
        self.write(&i.to_le_bytes());
    }
    fn write_i128(&mut self, i: i128) {
        self.write(&i.to_le_bytes());
    }
    fn write_isize(&mut self, i: isize) {
        self.write_i64(i as i64);
    }
}

/// Makes sure `dir` exists (creating it and any missing parents with mode
/// 0700) and is private to the current user.
fn private_dir(dir: &Path) -> Result<(), CacheError> {
    let io_error = |source| CacheError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let metadata = match fs::metadata(dir) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(io_error)?;
            // Checked like any other: the umask, or another process that
            // made it first, decides what it is.
            fs::metadata(dir).map_err(io_error)?
        }
        Err(error) => return Err(io_error(error)),
    };
    if !metadata.is_dir() {
        return Err(CacheError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let user = current_user();
        if metadata.uid() != user {
            return Err(CacheError::NotOwned {
                path: dir.to_path_buf(),
                owner: metadata.uid(),
                user,
            });
        }
        let mode = metadata.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(CacheError::Writable {
                path: dir.to_path_buf(),
                mode,
            });
        }
    }
    Ok(())
}

/// The cache's key, or `None` if there is no key file yet.
fn read_key(path: &Path) -> Result<Option<[u8; KEY_LEN]>, CacheError> {
    let io_error = |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error(error)),
    };
    // The metadata of the open file, not of the path: what is checked is
    // what is read.
    let metadata = file.metadata().map_err(io_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let user = current_user();
        if !metadata.is_file() || metadata.uid() != user {
            return Err(CacheError::KeyNotOwned {
                path: path.to_path_buf(),
                user,
            });
        }
        let mode = metadata.mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(CacheError::KeyExposed {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    if metadata.len() != KEY_LEN as u64 {
        return Err(CacheError::KeyMalformed {
            path: path.to_path_buf(),
            len: metadata.len(),
        });
    }
    let mut key = [0; KEY_LEN];
    file.read_exact(&mut key).map_err(io_error)?;
    Ok(Some(key))
}

/// Makes a key file at `path` unless one appears meanwhile: 32 random
/// bytes written to a private temporary file, then hard-linked to `path`,
/// which fails rather than replace a key another process made first (whose
/// entries would otherwise stop verifying).
fn create_key(path: &Path) -> Result<(), CacheError> {
    let io_error = |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut key = [0; KEY_LEN];
    getrandom::fill(&mut key)
        .map_err(|e| io_error(io::Error::other(format!("cannot draw random bytes: {e}"))))?;
    let temporary = temporary_path(path);
    write_new_private(&temporary, &key).map_err(io_error)?;
    let linked = fs::hard_link(&temporary, path);
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(io_error(error)),
    }
}

/// A fresh name beside `path` for a file about to be renamed or linked to
/// it, unique across processes and threads.
fn temporary_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(
        ".{name}.{}-{}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Creates `path`, which must not exist, readable and writable by the
/// current user only, holding `bytes`.
fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// The effective uid: the user the kernel checks writes against, and so
/// the one who must own what the cache trusts. (Comparing with the owner of
/// a file made for the purpose would mean writing into the directory before
/// trusting it, and on some file systems a new file's owner is not the
/// process's uid.)
#[cfg(unix)]
fn current_user() -> u32 {
    // SAFETY: `geteuid` takes no arguments, touches no memory of ours and
    // always succeeds (POSIX: "shall always be successful").
    unsafe { libc::geteuid() }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const ALPHA: &str = r#"(module (func (export "alpha") (result i32) i32.const 1))"#;
    const BETA: &str = r#"(module (func (export "beta") (result i32) i32.const 2))"#;

    fn exports(module: &Module) -> Vec<String> {
        module.exports().map(|e| e.name().to_owned()).collect()
    }

    fn entry_path(cache: &ModuleCache, engine: &Engine, bytes: &[u8]) -> PathBuf {
        cache
            .open
            .as_deref()
            .unwrap()
            .entry_path(&EntryKey::new(engine, bytes))
    }

    /// Compiles `wat` through `cache`, checks the module is that text's
    /// (its one export is `export`), and says where it came from.
    fn fetch(cache: &ModuleCache, engine: &Engine, wat: &str, export: &str) -> Origin {
        let (module, origin) = cache.fetch(engine, wat.as_bytes()).unwrap();
        assert_eq!(exports(&module), [export], "the module of `{wat}`");
        origin
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[cfg(unix)]
    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn an_entry_is_compiled_once_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ModuleCache::open(dir.path().join("cache")).unwrap();
        assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Compiled);
        assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Cache);
        // The key persists: another open of the same directory trusts it.
        let reopened = ModuleCache::open(dir.path().join("cache")).unwrap();
        assert_eq!(fetch(&reopened, &engine, ALPHA, "alpha"), Origin::Cache);
        let names: Vec<_> = fs::read_dir(dir.path().join("cache/modules"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "one entry, no temporary left: {names:?}");
    }

    #[test]
    fn entry_renamed_or_copied_over_another_modules_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ModuleCache::open(dir.path().to_path_buf()).unwrap();
        fetch(&cache, &engine, ALPHA, "alpha");
        fetch(&cache, &engine, BETA, "beta");
        let alpha = entry_path(&cache, &engine, ALPHA.as_bytes());
        let beta = entry_path(&cache, &engine, BETA.as_bytes());
        let alpha_entry = fs::read(&alpha).unwrap();

        // Copied: beta's file now holds alpha's code, validly tagged.
        fs::copy(&alpha, &beta).unwrap();
        assert_eq!(fetch(&cache, &engine, BETA, "beta"), Origin::Compiled);
        assert_ne!(
            fs::read(&beta).unwrap(),
            alpha_entry,
            "the entry is replaced"
        );
        assert_eq!(fetch(&cache, &engine, BETA, "beta"), Origin::Cache);

        // Renamed: the same, and alpha is simply compiled again.
        fs::rename(&alpha, &beta).unwrap();
        assert_eq!(fetch(&cache, &engine, BETA, "beta"), Origin::Compiled);
        assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Compiled);
        assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Cache);
        assert_eq!(fetch(&cache, &engine, BETA, "beta"), Origin::Cache);
    }

    #[test]
    fn a_changed_byte_anywhere_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let cache = ModuleCache::open(dir.path().to_path_buf()).unwrap();
        fetch(&cache, &engine, ALPHA, "alpha");
        let path = entry_path(&cache, &engine, ALPHA.as_bytes());
        let good = fs::read(&path).unwrap();
        let len = good.len();
        // Magic, format, module digest, fingerprint, code length, code (the
        // first, a middle and the last byte), tag.
        for at in [
            0,
            9,
            20,
            50,
            80,
            HEADER_LEN,
            len / 2,
            len - TAG_LEN - 1,
            len - 1,
        ] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            fs::write(&path, &bad).unwrap();
            assert_eq!(
                fetch(&cache, &engine, ALPHA, "alpha"),
                Origin::Compiled,
                "byte {at} of {len} changed"
            );
            assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Cache);
        }
        // Cut short, lengthened, emptied.
        for bad in [&good[..len - 1], &[good.as_slice(), b"x"].concat(), &[][..]] {
            fs::write(&path, bad).unwrap();
            assert_eq!(fetch(&cache, &engine, ALPHA, "alpha"), Origin::Compiled);
        }
    }

    #[test]
    fn an_entry_tagged_under_another_caches_key_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::default();
        let ours = ModuleCache::open(dir.path().join("ours")).unwrap();
        let theirs = ModuleCache::open(dir.path().join("theirs")).unwrap();
        fetch(&ours, &engine, ALPHA, "alpha");
        fetch(&theirs, &engine, ALPHA, "alpha");
        let path = entry_path(&ours, &engine, ALPHA.as_bytes());
        fs::copy(entry_path(&theirs, &engine, ALPHA.as_bytes()), &path).unwrap();
        assert_eq!(fetch(&ours, &engine, ALPHA, "alpha"), Origin::Compiled);
        assert_eq!(fetch(&ours, &engine, ALPHA, "alpha"), Origin::Cache);
    }

    #[test]
    fn key_derivation_is_stable() {
        let key = EntryKey {
            module: [0x11; 32],
            fingerprint: [0x22; 32],
        };
        assert_eq!(
            key.file_name(),
            format!("{}-{}.entry", "11".repeat(32), "22".repeat(16))
        );
        // The hasher's byte stream is fixed: little-endian, `usize` as 64
        // bits, whatever the platform.
        let mut hasher = Sha256Hasher::default();
        hasher.write_u32(1);
        hasher.write_usize(2);
        hasher.write_field(b"ab");
        let stream: Vec<u8> = [
            &[1, 0, 0, 0][..],
            &[2, 0, 0, 0, 0, 0, 0, 0],
            &[2, 0, 0, 0, 0, 0, 0, 0],
            b"ab",
        ]
        .concat();
        assert_eq!(hasher.digest(), <[u8; 32]>::from(Sha256::digest(&stream)));

        // Same module, same engine configuration: same name, whichever
        // engine instance and cache (and so key) computes it.
        let dir = tempfile::tempdir().unwrap();
        let one = ModuleCache::open(dir.path().join("one")).unwrap();
        let two = ModuleCache::open(dir.path().join("two")).unwrap();
        let name = |cache: &ModuleCache, engine: &Engine, wat: &str| {
            entry_path(cache, engine, wat.as_bytes())
                .file_name()
                .unwrap()
                .to_owned()
        };
        let fuel = || Engine::new(wasmtime::Config::new().consume_fuel(true)).unwrap();
        assert_eq!(
            name(&one, &Engine::default(), ALPHA),
            name(&two, &Engine::default(), ALPHA)
        );
        assert_eq!(name(&one, &fuel(), ALPHA), name(&two, &fuel(), ALPHA));
        assert_eq!(
            engine_fingerprint(&Engine::default()),
            engine_fingerprint(&Engine::default())
        );
        // Another module or a configuration that changes the code: another
        // name.
        assert_ne!(
            name(&one, &Engine::default(), ALPHA),
            name(&one, &Engine::default(), BETA)
        );
        assert_ne!(
            name(&one, &Engine::default(), ALPHA),
            name(&one, &fuel(), ALPHA)
        );
        let entry = EntryKey::new(&Engine::default(), ALPHA.as_bytes());
        assert_eq!(
            entry.module,
            <[u8; 32]>::from(Sha256::digest(ALPHA.as_bytes()))
        );
    }

    #[test]
    fn an_entry_of_another_engine_configuration_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let plain = Engine::default();
        let fuel = Engine::new(wasmtime::Config::new().consume_fuel(true)).unwrap();
        let cache = ModuleCache::open(dir.path().to_path_buf()).unwrap();
        fetch(&cache, &plain, ALPHA, "alpha");
        fetch(&cache, &fuel, ALPHA, "alpha");
        fs::copy(
            entry_path(&cache, &plain, ALPHA.as_bytes()),
            entry_path(&cache, &fuel, ALPHA.as_bytes()),
        )
        .unwrap();
        assert_eq!(fetch(&cache, &fuel, ALPHA, "alpha"), Origin::Compiled);
    }

    #[test]
    fn a_disabled_cache_compiles_and_writes_nothing() {
        let cache = ModuleCache::disabled();
        assert_eq!(cache.dir(), None);
        assert_eq!(
            fetch(&cache, &Engine::default(), ALPHA, "alpha"),
            Origin::Uncached
        );
        assert_eq!(format!("{cache:?}"), "ModuleCache { dir: None, .. }");
    }

    #[cfg(unix)]
    #[test]
    fn a_fresh_directory_is_created_private() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b/cache");
        let cache = ModuleCache::open(root.clone()).unwrap();
        assert_eq!(cache.dir(), Some(root.as_path()));
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("modules")), 0o700);
        assert_eq!(mode(&root.join("key")), 0o600);
        assert_eq!(fs::read(root.join("key")).unwrap().len(), 32);
        fetch(&cache, &Engine::default(), ALPHA, "alpha");
        assert_eq!(
            mode(&entry_path(&cache, &Engine::default(), ALPHA.as_bytes())),
            0o600
        );
        // The key is in the directory, not in the Debug output.
        assert!(!format!("{cache:?}").contains("mac"));
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_writable_by_group_or_others_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        fs::create_dir(&root).unwrap();
        for (mode, who) in [
            (0o777, "others"),
            (0o770, "its group"),
            (0o702, "others"),
            (0o720, "its group"),
        ] {
            set_mode(&root, mode);
            let error = ModuleCache::open(root.clone()).unwrap_err();
            assert!(matches!(error, CacheError::Writable { .. }), "{error:?}");
            assert_eq!(error.path(), root);
            assert_eq!(
                error.to_string(),
                format!(
                    "module cache `{}` is writable by {who} (mode {mode:04o}); refusing to run \
                     native code from it",
                    root.display()
                )
            );
        }
        // `modules/` is checked too.
        set_mode(&root, 0o700);
        ModuleCache::open(root.clone()).unwrap();
        let modules = root.join("modules");
        set_mode(&modules, 0o777);
        let error = ModuleCache::open(root.clone()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "module cache `{}` is writable by others (mode 0777); refusing to run native code \
                 from it",
                modules.display()
            )
        );
        // Readable by others is fine: entries are not secret.
        set_mode(&modules, 0o755);
        set_mode(&root, 0o755);
        ModuleCache::open(root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_or_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        ModuleCache::open(root.clone()).unwrap();
        let key = root.join("key");
        for mode in [0o644, 0o640, 0o604, 0o660, 0o666] {
            set_mode(&key, mode);
            let error = ModuleCache::open(root.clone()).unwrap_err();
            assert!(matches!(error, CacheError::KeyExposed { .. }), "{error:?}");
            assert_eq!(
                error.to_string(),
                format!(
                    "module cache key `{}` is accessible to group or others (mode {mode:04o}); \
                     refusing to trust entries tagged with it",
                    key.display()
                )
            );
        }
        set_mode(&key, 0o400);
        ModuleCache::open(root.clone()).unwrap();
        // A key of the wrong length, or a directory where the key should be.
        set_mode(&key, 0o600);
        fs::write(&key, [7; 31]).unwrap();
        let error = ModuleCache::open(root.clone()).unwrap_err();
        assert!(
            matches!(error, CacheError::KeyMalformed { len: 31, .. }),
            "{error:?}"
        );
        fs::remove_file(&key).unwrap();
        fs::create_dir(&key).unwrap();
        set_mode(&key, 0o700);
        let error = ModuleCache::open(root).unwrap_err();
        assert!(matches!(error, CacheError::KeyNotOwned { .. }), "{error:?}");
    }

    /// Ownership can only be handed to another user by root; elsewhere the
    /// owner check is covered by every other test passing as the owner.
    #[cfg(unix)]
    #[test]
    fn a_directory_or_key_of_another_user_is_refused() {
        if current_user() != 0 {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        ModuleCache::open(root.clone()).unwrap();
        let key = root.join("key");
        std::os::unix::fs::chown(&key, Some(4242), None).unwrap();
        let error = ModuleCache::open(root.clone()).unwrap_err();
        assert!(
            matches!(error, CacheError::KeyNotOwned { user: 0, .. }),
            "{error:?}"
        );
        std::os::unix::fs::chown(&root, Some(4242), None).unwrap();
        let error = ModuleCache::open(root.clone()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "module cache `{}` is owned by uid 4242, not by the current user (uid 0); \
                 refusing to run native code from it",
                root.display()
            )
        );
    }

    #[test]
    fn a_file_where_the_directory_should_be_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        fs::write(&root, "").unwrap();
        let error = ModuleCache::open(root.clone()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("module cache `{}` is not a directory", root.display())
        );
    }

    #[test]
    fn concurrent_opens_of_a_fresh_directory_agree_on_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("cache");
        let caches: Vec<ModuleCache> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| ModuleCache::open(root.clone()).unwrap()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let engine = Engine::default();
        fetch(&caches[0], &engine, ALPHA, "alpha");
        for cache in &caches {
            assert_eq!(fetch(cache, &engine, ALPHA, "alpha"), Origin::Cache);
        }
        let names: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names.len(),
            2,
            "`key` and `modules`, no temporary left: {names:?}"
        );
    }
}
