//! `verdict serve`: the policies as an HTTP service.

use std::io::Write;

use anyhow::Context;
use verdict_audit::log::Wait;
use verdict_audit::{Archive, AuditError, DecisionLog, Journal, journal};
use verdict_serve::{
    Config, ConnectionLimits, Policies, ServeError, Server, Source, Token, shutdown_signal,
};

use crate::commands::{self, policies};

use crate::cli::ServeArgs;
use crate::exit::Status;

/// Runs `verdict serve` until SIGTERM or Ctrl-C.
pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<Status> {
    let token = Token::from_file_or_env(args.token_file.as_deref())?;
    if token.is_none() {
        tracing::warn!(
            "no token (--token-file or VERDICT_TOKEN): reload and rollback requests will be refused"
        );
    }
    let mut config = Config::new(args.listen, policies(args)?);
    config.poll = args.poll;
    config.token = token;
    config.cache = commands::module_cache();
    config.watch = !args.no_watch;
    config.connections = ConnectionLimits {
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        body_timeout: args.body_timeout,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        drain_timeout: args.drain_timeout,
    };
    if let Some(path) = &args.log {
        let log = DecisionLog::open(path, Archive::beside(path), config.limits, Wait::No).map_err(
            |error| match error {
                AuditError::Locked { .. } => anyhow::anyhow!(
                    "{error}: another process is appending to it; give every running \
                     service its own decision log"
                ),
                other => other.into(),
            },
        )?;
        tracing::info!(log = %path.display(), records = log.records(), "logging decisions");
        config.log = Some(log);
        let journal = journal::beside(path);
        config.journal = Journal::open(&journal)?;
        tracing::info!(journal = %journal.display(), "journaling changes");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("verdict-serve")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let server = Server::bind(config).await.map_err(startup_error)?;
        let addr = server.local_addr()?;
        let snapshot = server.app().live.snapshot();
        let live = &server.app().live;
        tracing::info!(
            %addr,
            policies = snapshot.set.policies().len(),
            source = %live.source().describe(),
            dir = %live.loaded().dir.display(),
            watch = !args.no_watch && matches!(live.source(), Source::Dir(_)),
            poll = ?live.source().follows_tag().then_some(args.poll),
            header_timeout = ?args.header_timeout,
            idle_timeout = ?args.idle_timeout,
            drain_timeout = ?args.drain_timeout,
            max_connections = args.max_connections,
            "listening"
        );
        // The one line on stdout: scripts and tests read the address here
        // (useful with --listen 127.0.0.1:0).
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
        drop(stdout);
        server.run(shutdown_signal()).await?;
        tracing::info!("stopped");
        Ok(Status::Success)
    })
}

/// Where `--policies` says the policies are: `oci://REF`, a release
/// (which needs `--trust`), else a directory.
fn policies(args: &ServeArgs) -> anyhow::Result<Policies> {
    match policies::release_reference(&args.policies) {
        Some(reference) => Ok(Policies::Release(Box::new(policies::release_source(
            reference,
            &args.release,
        )?))),
        None => {
            policies::check_dir(&args.policies, &args.release)?;
            Ok(Policies::Dir(args.policies.clone()))
        }
    }
}

/// A policy that fails to load at start is bad configuration: show its
/// diagnostic like `verdict eval` does.
fn startup_error(error: ServeError) -> anyhow::Error {
    match error {
        ServeError::Policies(error) => error.into(),
        ServeError::Release(error) => error.into(),
        other => other.into(),
    }
}
