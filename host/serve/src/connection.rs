//! One HTTP/1 connection: served by hyper, closed when its client takes too
//! long to send a request head or stays idle too long between requests,
//! and wound down when the service stops.
//!
//! Once the service is stopping, every response completed carries
//! `Connection: close`, so the client knows not to reuse the connection
//! and hyper closes it after the response. A connection idle at that
//! moment is not closed at once: its client may have sent its next request
//! just before it saw anything of the stop (the bytes may be on the wire,
//! or in the socket unread), and closing would lose that request. It stays
//! open for the drain time ([`ConnectionLimits::drain_timeout`]); a request
//! arriving meanwhile is answered (with `Connection: close`), and one still
//! idle at the end is closed. A request head being received is never cut
//! off by the stop, only by its header timeout.
//!
//! hyper's own header timeout starts when the connection waits for a
//! request, so on a kept-alive connection it would also end the idle time
//! at the header timeout. The two are timed here instead, from what the
//! connection does: bytes arriving ([`Tracked`]) and requests starting and
//! finishing ([`Activity::request`]). A request's body is timed where it
//! is read, by the routes.

use std::convert::Infallible;
use std::io;
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service as _, service_fn};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::metrics::{Metrics, Timeout};

/// How long a client may take, and how many connections are served at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time a new connection, or a request begun on a kept-alive one, has
    /// to deliver its whole request head.
    pub header_timeout: Duration,
    /// Time a kept-alive connection may stay idle between requests.
    pub idle_timeout: Duration,
    /// Time a request's body may take to arrive once its head has; a
    /// slower one is answered 408 and its connection closed.
    pub body_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// Once the service is stopping, time an idle kept-alive connection
    /// stays open for a request its client may already have sent.
    pub drain_timeout: Duration,
}

impl ConnectionLimits {
    /// The default header timeout.
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default idle timeout.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// The default body timeout.
    pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default bound on open connections.
    pub const MAX_CONNECTIONS: usize = 1024;
    /// The default drain time.
    pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            header_timeout: ConnectionLimits::HEADER_TIMEOUT,
            idle_timeout: ConnectionLimits::IDLE_TIMEOUT,
            body_timeout: ConnectionLimits::BODY_TIMEOUT,
            max_connections: ConnectionLimits::MAX_CONNECTIONS,
            drain_timeout: ConnectionLimits::DRAIN_TIMEOUT,
        }
    }
}

/// What a connection is doing, as far as its timeouts are concerned.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Receiving a request head since then (a new connection starts here).
    Head(Instant),
    /// Idle since then: the last response is done, nothing received since.
    Idle(Instant),
    /// This many requests being answered: no timeout runs.
    Busy(usize),
}

/// A connection's phase, shared by its byte stream, its service and the
/// task that times it.
#[derive(Debug)]
struct Activity {
    phase: Mutex<Phase>,
    /// Signalled at every change of phase.
    changed: Notify,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            phase: Mutex::new(Phase::Head(Instant::now())),
            changed: Notify::new(),
        }
    }

    /// Changes the phase (`update` answers the new one, or `None` to keep
    /// it) and wakes the timing task when it changed.
    fn update(&self, update: impl FnOnce(Phase) -> Option<Phase>) {
        // A phase is a plain value, never left half written.
        let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(next) = update(*phase) {
            *phase = next;
            drop(phase);
            self.changed.notify_one();
        }
    }

    /// Bytes arrived: on an idle connection, a request head has begun.
    fn received(&self) {
        self.update(|phase| match phase {
            Phase::Idle(_) => Some(Phase::Head(Instant::now())),
            Phase::Head(_) | Phase::Busy(_) => None,
        });
    }

    /// A request's head has been read; it is busy until the guard drops
    /// (when its response is ready, or the request is abandoned).
    fn request(self: &Arc<Activity>) -> Busy {
        self.update(|phase| match phase {
            Phase::Head(_) | Phase::Idle(_) => Some(Phase::Busy(1)),
            Phase::Busy(n) => Some(Phase::Busy(n + 1)),
        });
        Busy(Arc::clone(self))
    }

    /// When the running timer (if any) expires, and which one it is; an
    /// idle connection's ends at `drained` if that comes first.
    fn deadline(
        &self,
        limits: &ConnectionLimits,
        drained: Option<Instant>,
    ) -> Option<(Instant, Expiry)> {
        match *self.phase.lock().unwrap_or_else(PoisonError::into_inner) {
            Phase::Head(since) => Some((since + limits.header_timeout, Expiry::Header)),
            Phase::Idle(since) => {
                let idle = since + limits.idle_timeout;
                match drained {
                    Some(drained) if drained <= idle => Some((drained, Expiry::Drained)),
                    _ => Some((idle, Expiry::Idle)),
                }
            }
            Phase::Busy(_) => None,
        }
    }
}

/// What ends when a connection's timer expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    /// The header timeout: the connection is dropped.
    Header,
    /// The idle timeout: the connection is shut down.
    Idle,
    /// The drain time of a stopping service: the connection is shut down.
    Drained,
}

/// A request being answered.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.update(|phase| match phase {
            Phase::Busy(1) => Some(Phase::Idle(Instant::now())),
            Phase::Busy(n) => Some(Phase::Busy(n.saturating_sub(1))),
            Phase::Head(_) | Phase::Idle(_) => None,
        });
    }
}

/// A byte stream that reports arriving bytes to its connection's
/// [`Activity`].
struct Tracked<S> {
    stream: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.received();
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Serves one connection until the client closes it, a timeout closes it,
/// or (once `stopping` turns true) its last request is answered or its
/// drain time ends.
pub(crate) async fn serve(
    stream: TcpStream,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
    metrics: &Metrics,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        stream,
        activity: Arc::clone(&activity),
    });
    let service = {
        let activity = Arc::clone(&activity);
        let router = TowerToHyperService::new(router);
        let stopping = stopping.clone();
        service_fn(move |request: Request<Incoming>| {
            let busy = activity.request();
            let response = router.call(request);
            let stopping = stopping.clone();
            async move {
                let Ok::<Response, Infallible>(mut response) = response.await;
                // Read when the response is ready, not when the request
                // came: a long evaluation may outlast the signal.
                if *stopping.borrow() {
                    response
                        .headers_mut()
                        .insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                drop(busy);
                Ok::<Response, Infallible>(response)
            }
        })
    };
    let mut builder = http1::Builder::new();
    // Timed here (see the module's documentation), not by hyper.
    builder.header_read_timeout(None);
    let mut connection = pin!(builder.serve_connection(io, service));
    // When the drain ends, once the service is stopping.
    let mut drained: Option<Instant> = None;
    // Set once graceful shutdown has begun: from then on only the header
    // timeout still applies (an idle connection closes at once).
    let mut closing = false;
    loop {
        let deadline = activity
            .deadline(&limits, drained)
            .filter(|(_, expiry)| !closing || *expiry == Expiry::Header);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!("connection ended: {error}");
                }
                return;
            }
            () = activity.changed.notified() => {}
            () = sleep_until(deadline.map(|(at, _)| at)) => {
                // The phase may have changed while the timer fired.
                match activity.deadline(&limits, drained) {
                    Some((at, Expiry::Header)) if at <= Instant::now() => {
                        metrics.record_timeout(Timeout::Header);
                        tracing::debug!("closing a connection that sent no complete request head in time");
                        // Dropping the connection closes its socket.
                        return;
                    }
                    Some((at, expiry)) if at <= Instant::now() && !closing => {
                        if expiry == Expiry::Idle {
                            metrics.record_timeout(Timeout::Idle);
                        }
                        connection.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    _ => {}
                }
            }
            _ = stopping.wait_for(|stop| *stop), if drained.is_none() && !closing => {
                drained = Some(Instant::now() + limits.drain_timeout);
            }
        }
    }
}

/// Completes at `deadline`; never without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
