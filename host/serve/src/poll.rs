//! Polling a release tag: at a fixed interval the tag is resolved again
//! and, when it names another release, that release is pulled, verified
//! and swapped in (a reload like any other). A release by digest never
//! changes and is never polled.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::app::App;

/// A running poll; stops when dropped.
#[derive(Debug)]
pub(crate) struct Poll {
    task: JoinHandle<()>,
}

impl Drop for Poll {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts polling `app`'s release tag every `every`, a reload at a time,
/// off the async workers. Must be called inside the runtime.
pub(crate) fn spawn(app: Arc<App>, every: Duration) -> Poll {
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        // A slow pull delays the next poll rather than causing a burst.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // The first tick completes at once: the release was read at start.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let app = Arc::clone(&app);
            // Failures are logged (and counted) inside `reload`.
            if let Err(error) = tokio::task::spawn_blocking(move || app.reload("poll")).await {
                tracing::error!("polling the release stopped: {error}");
                return;
            }
        }
    });
    Poll { task }
}
