//! Watching the policies and reloading, debounced, when something changes.
//!
//! What is watched follows what the policies path leads to now: the
//! directory it resolves to, the directory holding the path and each link
//! on the way (so a switched link or a replaced directory is seen), and the
//! directories of the files the last load read (bindings that are links
//! elsewhere, modules). After every change the watches are set again for
//! where the path leads then, before the policies are read, so nothing
//! changed while they are read goes unseen.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::EventKind;
use notify::event::ModifyKind;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::policies_dir::PoliciesDir;
use crate::watched::WatchedDirs;

/// A running watch; stops when dropped.
#[derive(Debug)]
pub(crate) struct Watch {
    task: JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the file watcher reports.
enum Change {
    /// Something happened to these paths; `gone` when they were removed or
    /// renamed (which ends the watch of a directory among them).
    Paths { paths: Vec<PathBuf>, gone: bool },
    /// Events were lost (the kernel's queue overflowed): anything may have
    /// changed.
    Rescan,
}

/// Starts watching `app`'s policies directory `dir`: after a change, once the files have
/// been quiet for `debounce` (an editor's save or a copy of several files
/// is one change), the policies are reloaded off the async workers. Fails
/// when the policies directory cannot be watched. Must be called inside
/// the runtime.
pub(crate) fn spawn(
    app: Arc<App>,
    dir: PoliciesDir,
    debounce: Duration,
) -> Result<Watch, notify::Error> {
    let (sender, events) = unbounded_channel();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        match event {
            Ok(event) if event.need_rescan() => {
                let _ = sender.send(Change::Rescan);
            }
            // Reads (our own reload opens every file) are not changes.
            Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
            Ok(event) => {
                let gone = matches!(
                    event.kind,
                    EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
                );
                let _ = sender.send(Change::Paths {
                    paths: event.paths,
                    gone,
                });
            }
            Err(error) => tracing::warn!("file watching: {error}"),
        }
    })?;
    let mut watching = Watching {
        dir,
        dirs: WatchedDirs::new(watcher),
        targets: Targets::default(),
    };
    let loaded = app.live.loaded();
    watching.dirs.watch(&loaded.dir)?;
    watching.rearm(&app);
    // The path may have been switched since the policies were loaded.
    let moved = watching.targets.dir.as_ref() != Some(&loaded.dir);
    let task = tokio::spawn(watching.run(app, events, debounce, moved));
    Ok(Watch { task })
}

/// The paths whose change can change the policies.
#[derive(Debug, Default)]
struct Targets {
    /// The policies path as given and each link it leads through.
    chain: BTreeSet<PathBuf>,
    /// The directory it leads to now.
    dir: Option<PathBuf>,
    /// The files the last load read, resolved.
    files: BTreeSet<PathBuf>,
}

struct Watching {
    /// The policies directory watched.
    dir: PoliciesDir,
    dirs: WatchedDirs,
    targets: Targets,
}

impl Watching {
    async fn run(
        self,
        app: Arc<App>,
        mut events: UnboundedReceiver<Change>,
        debounce: Duration,
        mut pending: bool,
    ) {
        let mut watching = self;
        loop {
            if !pending {
                match events.recv().await {
                    Some(change) => {
                        if !watching.note(&change) {
                            continue;
                        }
                    }
                    None => return,
                }
            }
            pending = false;
            // Wait until nothing has happened for `debounce`.
            loop {
                match tokio::time::timeout(debounce, events.recv()).await {
                    Ok(Some(change)) => {
                        watching.note(&change);
                    }
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            // Off the async workers: it reads the file system and compiles.
            let app = Arc::clone(&app);
            watching = match tokio::task::spawn_blocking(move || {
                watching.refresh(&app);
                watching
            })
            .await
            {
                Ok(watching) => watching,
                Err(error) => {
                    tracing::error!("file watching stopped: {error}");
                    return;
                }
            };
        }
    }

    /// Watches where the policies path leads now, then reloads. Blocks.
    fn refresh(&mut self, app: &App) {
        self.rearm(app);
        // Failures are logged and counted inside `reload`.
        let _ = app.reload("file change");
        // The new set may name files in directories not watched while it
        // was read: read once more now that they are.
        if self.rearm(app) {
            let _ = app.reload("file change");
        }
    }

    /// Takes note of a change: a watched directory removed or renamed is
    /// no longer watched (the watcher drops it, and a directory made again
    /// under the name may even have the old one's inode number), so it is
    /// watched afresh at the next rearm. Answers whether the change
    /// concerns the policies.
    fn note(&mut self, change: &Change) -> bool {
        match change {
            Change::Rescan => true,
            Change::Paths { paths, gone } => {
                let concerns = paths.iter().any(|path| self.concerns(path));
                if *gone {
                    for path in paths {
                        self.dirs.forget(path);
                    }
                }
                concerns
            }
        }
    }

    /// Whether a change to `path` can change the policies: the policies
    /// path or a link on its way; a watched directory itself (removed,
    /// moved); a file the last load read; or, directly in the directory
    /// the path leads to, a binding (`*.toml`) or an entry that is a
    /// directory or a link (a release switched inside it, as Kubernetes
    /// volumes do). Other files — profiles, a decision log, editors' swap
    /// files — do not.
    fn concerns(&self, path: &Path) -> bool {
        let targets = &self.targets;
        targets.chain.contains(path)
            || targets.files.contains(path)
            || self.dirs.contains(path)
            || (targets
                .dir
                .as_deref()
                .is_some_and(|dir| path.parent() == Some(dir))
                && (path.extension().is_some_and(|e| e == "toml")
                    || std::fs::symlink_metadata(path)
                        .is_ok_and(|m| m.is_dir() || m.file_type().is_symlink())))
    }

    /// Points the watches at where the policies path leads now and at the
    /// files of the last load. Answers whether any new watch was set.
    ///
    /// Every path here is spelled with its directory resolved, as the
    /// watcher reports events under the directory as it was watched: one
    /// spelling per directory, so no directory is watched twice.
    fn rearm(&mut self, app: &App) -> bool {
        let chain: BTreeSet<PathBuf> = self
            .dir
            .chain()
            .iter()
            .filter_map(|link| in_resolved_dir(link))
            .collect();
        let dir = self.dir.resolve().ok();
        let files: BTreeSet<PathBuf> = app
            .live
            .loaded()
            .files
            .iter()
            .filter_map(|file| std::fs::canonicalize(file).ok())
            .collect();
        let wanted: BTreeSet<PathBuf> = chain
            .iter()
            .chain(files.iter())
            .filter_map(|path| path.parent())
            .map(Path::to_path_buf)
            .chain(dir.clone())
            .collect();
        let added = self.dirs.sync(&wanted);
        self.targets = Targets { chain, dir, files };
        added
    }
}

/// `path` with its directory resolved and its last name kept (a link stays
/// the link); `None` when that directory does not exist.
fn in_resolved_dir(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let parent = std::fs::canonicalize(path.parent()?).ok()?;
    Some(parent.join(name))
}
