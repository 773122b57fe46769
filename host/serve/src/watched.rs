//! The directories being watched, each with the identity of the directory
//! it was when its watch was set, so that a directory replaced under the
//! same name (removed and made again, or another one moved there) is
//! watched again: a watch follows the directory, not its name. Removal and
//! renaming events also end a watch ([`WatchedDirs::forget`]): a directory
//! made again at once can get the old one's inode number.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// Which directory a path names: device and inode where there are such.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    #[cfg(unix)]
    device: u64,
    #[cfg(unix)]
    inode: u64,
}

impl Identity {
    /// The directory `path` names now; `None` when there is none.
    fn of(path: &Path) -> Option<Identity> {
        let metadata = std::fs::metadata(path)
            .ok()
            .filter(std::fs::Metadata::is_dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Some(Identity {
                device: metadata.dev(),
                inode: metadata.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            // No cheap identity: a directory replaced under the same name
            // is not noticed here.
            let _ = metadata;
            Some(Identity {})
        }
    }
}

/// A file watcher and the directories it watches (each one level deep).
pub(crate) struct WatchedDirs {
    watcher: RecommendedWatcher,
    dirs: BTreeMap<PathBuf, Identity>,
}

impl std::fmt::Debug for WatchedDirs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedDirs")
            .field("dirs", &self.dirs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl WatchedDirs {
    /// Nothing watched yet.
    pub(crate) fn new(watcher: RecommendedWatcher) -> WatchedDirs {
        WatchedDirs {
            watcher,
            dirs: BTreeMap::new(),
        }
    }

    /// Whether `path` is one of the watched directories.
    pub(crate) fn contains(&self, path: &Path) -> bool {
        self.dirs.contains_key(path)
    }

    /// Stops counting `path`, and every watched directory inside it, as
    /// watched: it was removed or moved, which ends a watch (the next
    /// [`WatchedDirs::sync`] watches whatever has the name then).
    pub(crate) fn forget(&mut self, path: &Path) {
        let gone: Vec<PathBuf> = self
            .dirs
            .keys()
            .filter(|dir| dir.starts_with(path))
            .cloned()
            .collect();
        for dir in gone {
            self.dirs.remove(&dir);
            let _ = self.watcher.unwatch(&dir);
        }
    }

    /// Starts watching `dir`, failing when it cannot be watched.
    pub(crate) fn watch(&mut self, dir: &Path) -> Result<(), notify::Error> {
        // The identity is read before the watch is set: if the directory is
        // replaced in between, the next sync sees a different one and
        // watches again, where the other order would miss it.
        let Some(identity) = Identity::of(dir) else {
            return Err(notify::Error::path_not_found().add_path(dir.to_path_buf()));
        };
        self.watcher.watch(dir, RecursiveMode::NonRecursive)?;
        self.dirs.insert(dir.to_path_buf(), identity);
        Ok(())
    }

    /// Watches exactly the `wanted` directories that exist: drops the
    /// watches of directories no longer wanted or no longer the directory
    /// they were (replaced, moved away, removed), and watches the wanted
    /// ones not watched now. A directory that cannot be watched is logged
    /// and tried again at the next sync. Answers whether any watch was set.
    pub(crate) fn sync(&mut self, wanted: &BTreeSet<PathBuf>) -> bool {
        let stale: Vec<PathBuf> = self
            .dirs
            .iter()
            .filter(|(dir, identity)| {
                !wanted.contains(*dir) || Identity::of(dir) != Some(**identity)
            })
            .map(|(dir, _)| dir.clone())
            .collect();
        for dir in stale {
            self.dirs.remove(&dir);
            // The watcher may have dropped it already (the directory is
            // gone); either way it is not watched any more.
            let _ = self.watcher.unwatch(&dir);
        }
        let mut added = false;
        for dir in wanted {
            if self.dirs.contains_key(dir) || Identity::of(dir).is_none() {
                continue;
            }
            match self.watch(dir) {
                Ok(()) => added = true,
                Err(error) => {
                    tracing::warn!("cannot watch `{}` for changes: {error}", dir.display());
                }
            }
        }
        added
    }
}
