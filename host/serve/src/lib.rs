//! `verdict serve`: the policies as a long-running HTTP service that swaps
//! them while it serves.
//!
//! The service holds the active policies in [`live::Live`]: an atomic
//! pointer to a [`live::Snapshot`] that each request loads once and keeps
//! to its end, so no request sees two versions of a policy. The policies
//! come from a [`Source`]: a directory or a signed release. A reload (a
//! file change seen by `watch`, a tick of `poll` for a release tag, or
//! `POST /v1/reload`) reads the source again — resolves the policies path
//! again (`policies_dir`: a switched link or a replaced directory is
//! followed), or the release tag, pulling and verifying the release it
//! names now into the release cache — loads and checks the whole set off
//! the request path and swaps it in only when all of it loads; a rollback
//! switches one policy back to its previous version. Evaluations run on
//! threads allowed to block, at most a fixed number at once
//! ([`app::App::evaluation_slot`]), so request load can never exhaust the
//! engine's instance pool. With a decision log, each request's decisions
//! are appended and synced before its response is sent, in groups with
//! the requests ready at the same time; while they wait for that sync the
//! request's evaluation slot is free for another (within a bound on the
//! bytes waiting, `app::LOG_QUEUE_BYTES`).
//!
//! Connections are served by `accept` (at most a fixed number at once)
//! and `connection` (header and idle timeouts, graceful close).
//!
//! | route | does |
//! | --- | --- |
//! | `POST /v1/evaluate` | decide `{"customer": {...}}` or `{"customers": [...]}` (optional `as_of`, `policies`) |
//! | `GET /v1/policies` | the active policies: version, module SHA-256, params, history depth; the release |
//! | `POST /v1/reload` | read the policies' source again now (token) |
//! | `POST /v1/policies/{name}/rollback` | switch a policy back to its previous version (token) |
//! | `POST /v1/policies/{name}/promote` | make an experiment's challenger the champion (token) |
//! | `GET /v1/changes` | the change journal (`?after=SEQ&limit=N`) |
//! | `GET /healthz` | readiness: 503 while decisions cannot be logged |
//! | `GET /metrics` | Prometheus metrics (`metrics`) |

#![deny(missing_docs)]

mod accept;
mod api;
mod app;
mod auth;
mod connection;
mod decide;
mod live;
mod metrics;
mod policies_dir;
mod poll;
mod routes;
mod source;
mod watch;
mod watched;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use verdict_audit::{DecisionLog, Journal};
use verdict_config::ConfigError;
use verdict_engine::{EngineError, Limits, ModuleCache, Sandbox};
use verdict_release::ReleaseError;

pub use crate::app::App;
pub use crate::auth::{TOKEN_ENV, Token, TokenError};
pub use crate::connection::ConnectionLimits;
pub use crate::live::{Live, Loaded, Snapshot};
pub use crate::policies_dir::PoliciesDir;
pub use crate::source::{LoadError, ReleaseId, ReleaseSource, Source};

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 4 << 20;

/// How long the policy files must be quiet before a change is loaded.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// How often a release tag is resolved again, unless told.
pub const POLL: Duration = Duration::from_secs(30);

/// Where the service reads its policies.
#[derive(Debug)]
pub enum Policies {
    /// A policies directory, watched for changes. Kept as given (made
    /// absolute) and resolved again at every load, so a link switched to
    /// another release, or a replaced directory, is followed.
    Dir(PathBuf),
    /// A signed release in a registry; a tag is polled.
    Release(Box<ReleaseSource>),
}

/// How the service runs.
#[derive(Debug)]
pub struct Config {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// Where the policies are read.
    pub policies: Policies,
    /// Whether a policies directory is watched and changes loaded (else
    /// only `POST /v1/reload` loads them).
    pub watch: bool,
    /// How often a release tag is resolved again (a release by digest
    /// never changes and is not polled).
    pub poll: Duration,
    /// The token state-changing endpoints require (none: they are off).
    pub token: Option<Token>,
    /// Bounds of each plugin call.
    pub limits: Limits,
    /// Where compiled modules are kept.
    pub cache: ModuleCache,
    /// Quiet time before a file change is loaded.
    pub debounce: Duration,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// The decision log every decision is appended to (durably, before
    /// its response is sent), if any.
    pub log: Option<DecisionLog>,
    /// Where every change to what serves is journaled: beside the decision
    /// log, or in memory.
    pub journal: Journal,
    /// Connection timeouts and the bound on open connections.
    pub connections: ConnectionLimits,
}

impl Config {
    /// The defaults, for `policies` on `listen`.
    #[must_use]
    pub fn new(listen: SocketAddr, policies: Policies) -> Config {
        Config {
            listen,
            policies,
            watch: true,
            poll: POLL,
            token: None,
            limits: Limits::default(),
            cache: ModuleCache::disabled(),
            debounce: DEBOUNCE,
            body_limit: BODY_LIMIT,
            log: None,
            journal: Journal::in_memory(),
            connections: ConnectionLimits::default(),
        }
    }
}

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The policies did not load at start.
    #[error(transparent)]
    Policies(#[from] ConfigError),
    /// The release could not be read at start.
    #[error(transparent)]
    Release(#[from] ReleaseError),
    /// The engine could not be set up.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The policies directory could not be watched.
    #[error("cannot watch the policies for changes")]
    Watch(#[from] notify::Error),
    /// Serving failed.
    #[error("the service failed")]
    Io(#[from] std::io::Error),
    /// A startup task did not finish.
    #[error("a startup task failed: {0}")]
    Task(String),
}

/// A service that is listening, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    app: Arc<App>,
    watch: Option<watch::Watch>,
    poll: Option<poll::Poll>,
    body_limit: usize,
    connections: ConnectionLimits,
}

impl Server {
    /// Loads and checks every policy, binds the address and starts
    /// watching the policies. Must run inside a multi-threaded tokio
    /// runtime.
    pub async fn bind(config: Config) -> Result<Server, ServeError> {
        // Absolute paths make file events and log lines unambiguous; links
        // are resolved at each load, not here.
        let source = match config.policies {
            Policies::Dir(path) => Source::Dir(PoliciesDir::new(&path)?),
            Policies::Release(release) => Source::Release(release),
        };
        let sandbox = Sandbox::new(config.limits, config.cache)?;
        let live = tokio::task::spawn_blocking(move || Live::load(sandbox, source))
            .await
            .map_err(|e| ServeError::Task(e.to_string()))?
            .map_err(|error| match error {
                LoadError::Config(error) => ServeError::Policies(error),
                LoadError::Release(error) => ServeError::Release(error),
            })?;
        let app = Arc::new(App::new(
            live,
            config.token,
            evaluation_slots(config.limits),
            config.log,
            config.journal,
        ));
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServeError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let watch = match app.live.source() {
            Source::Dir(dir) if config.watch => Some(watch::spawn(
                Arc::clone(&app),
                dir.clone(),
                config.debounce,
            )?),
            _ => None,
        };
        let poll = app
            .live
            .source()
            .follows_tag()
            .then(|| poll::spawn(Arc::clone(&app), config.poll));
        Ok(Server {
            listener,
            app,
            watch,
            poll,
            body_limit: config.body_limit,
            connections: config.connections,
        })
    }

    /// The address it listens on (the real port when 0 was asked for).
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        Ok(self.listener.local_addr()?)
    }

    /// The shared state (policies, metrics).
    #[must_use]
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Serves until `shutdown` completes, then stops taking connections
    /// and returns once every request in flight has been answered (with
    /// `Connection: close`) and every connection closed; idle connections
    /// are closed at the end of the drain time
    /// ([`ConnectionLimits::drain_timeout`]) unless a request arrives first.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let router = routes::router(
            Arc::clone(&self.app),
            self.body_limit,
            self.connections.body_timeout,
        );
        accept::serve(
            self.listener,
            router,
            Arc::clone(&self.app),
            self.connections,
            shutdown,
        )
        .await;
        drop(self.watch);
        drop(self.poll);
        Ok(())
    }
}

/// How many evaluations may run at once: enough to keep every core busy
/// and let short requests pass a long one, far below the instance pool
/// (each evaluation holds one instance at a time; big batches also use
/// the rayon pool, one instance per core; reloads use one more).
fn evaluation_slots(limits: Limits) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let pool = usize::try_from(limits.concurrent_instances).unwrap_or(usize::MAX);
    (cores * 4).min(pool.saturating_sub(cores + 8) / 2).max(1)
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {error}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!("cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
