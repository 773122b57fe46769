//! Which cache directories and key files are trusted, and the private
//! files the cache writes.
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

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::CacheError;
use crate::files::{Links, open_regular};

/// The cache's secret key.
pub(super) const KEY_LEN: usize = 32;

/// Makes sure `dir` exists (creating it and any missing parents with mode
/// 0700) and is private to the current user.
pub(super) fn private_dir(dir: &Path) -> Result<(), CacheError> {
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
pub(super) fn read_key(path: &Path) -> Result<Option<[u8; KEY_LEN]>, CacheError> {
    let io_error = |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Never a link, and never waited on: a FIFO or device is refused.
    let mut file = match open_regular(path, Links::Refuse) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        // A link, a directory, a FIFO: not a key file of this user's.
        Err(error) if error.kind() == io::ErrorKind::InvalidInput => {
            return Err(CacheError::KeyNotOwned {
                path: path.to_path_buf(),
                user: current_user(),
            });
        }
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
pub(super) fn create_key(path: &Path) -> Result<(), CacheError> {
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
pub(super) fn temporary_path(path: &Path) -> PathBuf {
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
pub(super) fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
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
pub(super) fn current_user() -> u32 {
    // SAFETY: `geteuid` takes no arguments, touches no memory of ours and
    // always succeeds (POSIX: "shall always be successful").
    unsafe { libc::geteuid() }
}
