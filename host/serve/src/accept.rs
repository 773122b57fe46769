//! The accept loop: at most a fixed number of connections served at once,
//! and a graceful stop.
//!
//! At the bound the loop stops accepting: new connections wait in the
//! kernel's listen queue (they are connected, but get no answer) until a
//! served one closes, when the oldest waiting one is taken. Nothing is
//! refused, so a burst only waits; the header and idle timeouts make sure
//! silent clients do not hold their places for long.
//!
//! On stop the connections already waiting in the listen queue are taken
//! (as far as the bound allows: their clients connected before the stop),
//! then the listener is closed, every connection is told to finish
//! ([`connection::serve`]), and the loop returns once all have closed.

use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::app::App;
use crate::connection::{self, ConnectionLimits};

/// How long to wait before accepting again after the process ran out of
/// file descriptors (or a similar failure of its own).
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// Least time between two warnings that the bound is reached.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(60);

/// Serves `listener` until `shutdown` completes, then waits for every
/// connection to close.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    app: Arc<App>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(
        limits.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let (stop, stopping) = watch::channel(false);
    let serving = Serving {
        router,
        app,
        limits,
        stopping,
    };
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    let mut warned: Option<Instant> = None;
    loop {
        // Forget connections that have closed.
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = acquire_slot(&slots, limits.max_connections, &mut warned) => slot,
        };
        let Some(slot) = slot else { break };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    tracing::error!(
                        "cannot accept connections, trying again in {ACCEPT_RETRY:?}: {error}"
                    );
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_RETRY) => continue,
                    }
                }
            },
        };
        serving.spawn(&mut connections, stream, slot);
    }
    // Take what is already queued, without waiting for more.
    while let Ok(slot) = Arc::clone(&slots).try_acquire_owned() {
        let stream = tokio::select! {
            biased;
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) if is_connection_error(&error) => continue,
                Err(_) => break,
            },
            () = std::future::ready(()) => break,
        };
        serving.spawn(&mut connections, stream, slot);
    }
    // Connections not yet accepted are refused from here on.
    drop(listener);
    // Receivers never go away before the tasks holding them end.
    let _ = stop.send(true);
    tracing::debug!("waiting for {} connections to close", connections.len());
    while connections.join_next().await.is_some() {}
}

/// What every connection is served with.
struct Serving {
    router: Router,
    app: Arc<App>,
    limits: ConnectionLimits,
    stopping: watch::Receiver<bool>,
}

impl Serving {
    /// Serves an accepted connection in `connections`, holding `slot`
    /// until it closes.
    fn spawn(&self, connections: &mut JoinSet<()>, stream: TcpStream, slot: OwnedSemaphorePermit) {
        let (router, app, stopping) = (
            self.router.clone(),
            Arc::clone(&self.app),
            self.stopping.clone(),
        );
        let limits = self.limits;
        connections.spawn(async move {
            let _open = app.metrics.open_connection();
            connection::serve(stream, router, limits, stopping, &app.metrics).await;
            drop(slot);
        });
    }
}

/// A place for one more connection, waiting for one when all are taken
/// (warning about it at most every [`FULL_WARNING_EVERY`]). `None` if the
/// semaphore is closed, which it never is.
async fn acquire_slot(
    slots: &Arc<Semaphore>,
    max: usize,
    warned: &mut Option<Instant>,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(slot) = Arc::clone(slots).try_acquire_owned() {
        return Some(slot);
    }
    if warned.is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY) {
        tracing::warn!(
            "{max} connections open (--max-connections): new connections wait until one closes"
        );
        *warned = Some(Instant::now());
    }
    Arc::clone(slots).acquire_owned().await.ok()
}

/// Errors of one connection (it was reset before it was accepted), not of
/// the listener.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
