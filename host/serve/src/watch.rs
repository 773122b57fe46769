//! Watching the policies directory (and the directories of the modules the
//! active bindings name) and reloading, debounced, when something changes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::JoinHandle;

use crate::app::App;

/// A running watch; stops when dropped.
#[derive(Debug)]
pub struct Watch {
    task: JoinHandle<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching `app`'s policies directory: after a change, once the
/// files have been quiet for `debounce` (an editor's save or a copy of
/// several files is one change), the directory is reloaded off the async
/// workers. Must be called inside the runtime.
pub fn spawn(app: Arc<App>, debounce: Duration) -> Result<Watch, notify::Error> {
    let (sender, events) = unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        match event {
            // Reads (our own reload opens every file) are not changes.
            Ok(event) if matches!(event.kind, EventKind::Access(_)) => {}
            Ok(event) => {
                let _ = sender.send(event.paths);
            }
            Err(error) => tracing::warn!("file watching: {error}"),
        }
    })?;
    let dir = app.live.dir().to_path_buf();
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    let mut watching = Watching {
        watcher,
        dir,
        modules: BTreeSet::new(),
        module_dirs: BTreeSet::new(),
    };
    watching.follow_modules(&app);
    let task = tokio::spawn(watching.run(app, events, debounce));
    Ok(Watch { task })
}

struct Watching {
    watcher: RecommendedWatcher,
    /// The policies directory (canonical), watched.
    dir: PathBuf,
    /// The active modules (canonical paths).
    modules: BTreeSet<PathBuf>,
    /// Their directories other than `dir`, watched too.
    module_dirs: BTreeSet<PathBuf>,
}

impl Watching {
    async fn run(
        mut self,
        app: Arc<App>,
        mut events: UnboundedReceiver<Vec<PathBuf>>,
        debounce: Duration,
    ) {
        while let Some(paths) = events.recv().await {
            if !paths.iter().any(|path| self.concerns(path)) {
                continue;
            }
            // Wait until nothing has happened for `debounce`.
            loop {
                match tokio::time::timeout(debounce, events.recv()).await {
                    Ok(Some(_)) => {}
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            let reload = Arc::clone(&app);
            // Failures are logged and counted inside `reload`.
            let _ = tokio::task::spawn_blocking(move || reload.reload("file change")).await;
            self.follow_modules(&app);
        }
    }

    /// Whether a change to `path` can change the policies: a binding (a
    /// `.toml` file directly in the directory) or an active module. Other
    /// files — profiles, a decision log, editors' swap files — do not.
    fn concerns(&self, path: &Path) -> bool {
        (path.parent() == Some(self.dir.as_path()) && path.extension().is_some_and(|e| e == "toml"))
            || self.modules.contains(path)
    }

    /// Watches the directories of the active modules (a binding may name
    /// `modules/x.wasm` or `../target/.../x.wasm`).
    fn follow_modules(&mut self, app: &App) {
        let snapshot = app.live.snapshot();
        self.modules = snapshot
            .set
            .policies()
            .iter()
            .filter_map(|policy| std::fs::canonicalize(&policy.plugin.path).ok())
            .collect();
        let wanted: BTreeSet<PathBuf> = self
            .modules
            .iter()
            .filter_map(|module| module.parent())
            .filter(|parent| *parent != self.dir)
            .map(Path::to_path_buf)
            .collect();
        for gone in self.module_dirs.difference(&wanted) {
            let _ = self.watcher.unwatch(gone);
        }
        for new in wanted.difference(&self.module_dirs) {
            if let Err(error) = self.watcher.watch(new, RecursiveMode::NonRecursive) {
                tracing::warn!(
                    "cannot watch `{}` for module changes: {error}",
                    new.display()
                );
            }
        }
        self.module_dirs = wanted;
    }
}
