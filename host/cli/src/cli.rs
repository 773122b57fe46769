//! Command-line arguments (clap derive; doc comments are the help text).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use verdict_sdk::Date;

use crate::arg_values;

/// Verdict: business policies as WebAssembly plugins, evaluated against
/// customer profiles.
#[derive(Debug, Parser)]
#[command(name = "verdict", version, propagate_version = true)]
pub(crate) struct Cli {
    /// More diagnostics on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Evaluate customer profiles against the loaded policies.
    #[command(after_help = EVAL_EXAMPLES)]
    Eval(EvalArgs),
    /// Check a decision log: every record, hash, link and archive entry.
    #[command(subcommand)]
    Log(LogCommand),
    /// Re-run logged decisions on their archived modules and parameters and
    /// compare the decision bytes.
    #[command(after_help = REPLAY_EXAMPLES)]
    Replay(ReplayArgs),
    /// Run logged inputs through other policies and show which decisions
    /// would change.
    #[command(after_help = DIFF_EXAMPLES)]
    Diff(DiffArgs),
    /// Compare the arms of experiments (champion and challenger) in a log
    /// or decisions file, or shadow past decisions with a challenger now.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// Show a plugin's name, version, parameters, imports, exports, SHA-256.
    #[command(
        after_help = "Example:\n  verdict inspect target/wasm32-unknown-unknown/plugin/loan_rates.wasm --format json"
    )]
    Inspect(InspectArgs),
    /// Serve the policies over HTTP, reloading them when their files change.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Switch a running service back to the previous version of a policy.
    #[command(after_help = ROLLBACK_EXAMPLES)]
    Rollback(PolicyChangeArgs),
    /// Make the challenger of a policy's experiment its champion on a
    /// running service, ending the experiment.
    #[command(after_help = PROMOTE_EXAMPLES)]
    Promote(PolicyChangeArgs),
    /// Signed releases in an OCI registry: keygen, push, sign, verify, pull.
    #[command(subcommand, after_help = RELEASE_EXAMPLES)]
    Release(ReleaseCommand),
    /// Create a plugin crate: an example policy with parameters, unit
    /// tests, test cases, a binding and sample customers.
    #[command(after_help = NEW_EXAMPLES)]
    New(NewArgs),
    /// Build a plugin crate to a WebAssembly module and show what it
    /// declares.
    #[command(after_help = BUILD_EXAMPLES)]
    Build(BuildArgs),
    /// Run TOML test cases (customer + expected decision) against policies.
    #[command(after_help = TEST_EXAMPLES)]
    Test(TestArgs),
}

const EVAL_EXAMPLES: &str = "\
Examples:
  verdict eval                                   # shipped samples, all policies, a table
  verdict eval --profiles my.toml --format jsonl # one JSON decision per line
  verdict eval --policy loan-rates --as-of 2027-01-01
  verdict eval --log decisions.jsonl             # also append to a decision log
  verdict eval --profiles customers.parquet --output decisions.parquet
  verdict eval --profiles customers.csv --rejects rejects.jsonl --format jsonl

Exit status: 0 every decision made, 1 some decision is `error`, 2 bad input or
configuration (nothing evaluated), 3 stopped part way (the decision log could
not be written): the decisions printed before stand.";

/// Output formats for decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// A table for people.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// How to take policies from a signed release (`--policies oci://REF`).
#[derive(Debug, Args)]
pub(crate) struct ReleaseArgs {
    /// With an oci:// release: a public key to trust (PEM); repeat for
    /// several. A release is used only when one of them signed it.
    #[arg(long, value_name = "PUB")]
    pub trust: Vec<PathBuf>,
    /// With an oci:// release: where pulled releases are kept, verified
    /// again at each use [default: releases/ in the cache directory].
    #[arg(long, value_name = "DIR")]
    pub release_cache: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `verdict eval`.
#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Directory of policy bindings; or oci://HOST[:PORT]/REPO:TAG (or
    /// …@sha256:HEX), a signed release (see --trust).
    #[arg(long, default_value = "policies", value_name = "DIR|oci://REF")]
    pub policies: PathBuf,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Profiles file(s) to evaluate [default: DIR/profiles/*.toml]: TOML,
    /// or batch files of one customer per row (.parquet, .csv, .ndjson,
    /// .jsonl, .arrow), streamed a record batch at a time.
    #[arg(long, value_name = "FILE")]
    pub profiles: Vec<PathBuf>,
    /// Evaluate only this policy (repeatable) [default: every policy].
    #[arg(long = "policy", value_name = "NAME")]
    pub policy: Vec<String>,
    /// Evaluation date [default: the file's `as_of`, else today (UTC)].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = arg_values::date)]
    pub as_of: Option<Date>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Append every decision to this log (created if needed), synced to
    /// disk before it is printed; modules and parameters are archived
    /// beside it (LOG.jsonl -> LOG.archive/).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// With --log: when another process (a running `verdict serve`, another
    /// eval) is appending to the log, wait for it to finish instead of
    /// failing at once.
    #[arg(long, requires = "log")]
    pub wait: bool,
    /// Write the decisions as columns to FILE (.parquet, .jsonl or .arrow)
    /// instead of printing them, with the modules and parameters archived
    /// beside it (FILE.parquet -> FILE.archive/) for `verdict replay`.
    /// The file appears only when every decision is written.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// With --output: replace FILE if it exists (without it an existing
    /// FILE is refused). Never a file the run reads or keeps: a profiles
    /// file, the --log file or its archive, the --rejects file.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// With batch input: put rows that fail their checks in FILE (JSON
    /// Lines: file, row, column, error) and decide the others, instead of
    /// refusing the whole input.
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
}

/// Output formats for descriptions of things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum InfoFormat {
    /// Aligned text for people.
    Human,
    /// One JSON object.
    Json,
}

/// Arguments of `verdict inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The plugin module (.wasm, or .wat text); or the directory of a
    /// pulled release (`verdict release pull`, the release cache), shown
    /// verified with --trust.
    pub plugin: PathBuf,
    /// With a pulled release: a public key to trust (PEM); repeat for
    /// several.
    #[arg(long, value_name = "PUB")]
    pub trust: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InfoFormat::Human)]
    pub format: InfoFormat,
}

const SERVE_EXAMPLES: &str = "\
Examples:
  verdict serve                                  # policies/ on 127.0.0.1:8080
  VERDICT_TOKEN=$(cat token) verdict serve --listen 127.0.0.1:9000 --log decisions.jsonl
  curl -s localhost:8080/v1/evaluate -d '{\"customer\":{\"id\":\"C-1\",\"birth_date\":\"1990-01-01\"}}'
  curl -s -X POST -H \"Authorization: Bearer $(cat token)\" localhost:8080/v1/reload
  verdict serve --policies oci://registry.example.com/risk/policies:prod --trust risk.pub

Routes: POST /v1/evaluate, GET /v1/policies, GET /healthz, GET /metrics;
with the token: POST /v1/reload, POST /v1/policies/NAME/rollback,
POST /v1/policies/NAME/promote.
Changes under --policies are loaded after 200 ms of quiet; a set that fails
to load is refused and the previous one keeps serving. --policies may be a
link switched to each new release: it is resolved again at every load.
With --policies oci://REF the policies are a signed release (docs/release.md):
a tag is resolved again every --poll and the release it names then is pulled,
verified and swapped in; a release by digest never changes.
SIGTERM or Ctrl-C stops taking connections and answers the requests in
flight with `Connection: close`; an idle kept-alive connection stays open for
--drain-timeout (a request its client sent just then is answered the same
way), then is closed.

Durations: a number and a unit, ms, s or m (`10s`, `500ms`, `2m`).";

/// Arguments of `verdict serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR:PORT")]
    pub listen: std::net::SocketAddr,
    /// Directory of policy bindings, watched for changes; or
    /// oci://HOST[:PORT]/REPO:TAG (or …@sha256:HEX), a signed release
    /// pulled from a registry, its tag polled (see --trust, --poll).
    #[arg(long, default_value = "policies", value_name = "DIR|oci://REF")]
    pub policies: PathBuf,
    /// With an oci:// tag: how often it is resolved again; when it names
    /// another release, that one is pulled, verified and swapped in.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = arg_values::duration)]
    pub poll: Duration,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Append every decision to this decision log (synced before the
    /// response; modules and parameters archived beside it). One log per
    /// running service.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// File holding the token that reload and rollback require [default:
    /// the VERDICT_TOKEN environment variable; neither: changes are off].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Do not watch --policies: load changes only on POST /v1/reload (for
    /// file systems without change notification, such as NFS).
    #[arg(long)]
    pub no_watch: bool,
    /// Time a new connection, or a request begun on a kept-alive one, has
    /// to send its whole request head; slower ones are closed.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = arg_values::duration)]
    pub header_timeout: Duration,
    /// Time a kept-alive connection may stay idle between requests before
    /// it is closed.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = arg_values::duration)]
    pub idle_timeout: Duration,
    /// Time a request's body may take to arrive once its head has; slower
    /// ones are answered 408 and their connection closed.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = arg_values::duration)]
    pub body_timeout: Duration,
    /// Connections served at once; beyond it new connections wait to be
    /// accepted until one closes (keep it below the open-file limit).
    #[arg(long, default_value_t = 1024, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Once stopping (SIGTERM, Ctrl-C), time an idle kept-alive connection
    /// stays open for a request already on its way, answered with
    /// `Connection: close`; then it is closed.
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = arg_values::duration)]
    pub drain_timeout: Duration,
}

const ROLLBACK_EXAMPLES: &str = "\
Examples:
  VERDICT_TOKEN=$(cat token) verdict rollback staff-allowance
  verdict rollback loan-rates --server http://verdict-1.internal:8080 --token-file /etc/verdict/token

The policy goes back to its previous version (module and parameters); the
version that was active is dropped from the history. It stays there until
its binding or module file changes again: a later change to that policy's
files goes live as usual, changes to other policies do not undo it.";

const PROMOTE_EXAMPLES: &str = "\
Examples:
  VERDICT_TOKEN=$(cat token) verdict promote loan-rates
  verdict promote loan-rates --server http://verdict-1.internal:8080 --token-file /etc/verdict/token

The challenger (its module and parameters) answers every customer from the
next request on, in one swap; the version that ran the experiment stays in
the history, so `verdict rollback` brings it back. As after a rollback, the
promoted version stays until the policy's files change: commit the binding
with the challenger as its champion and without [challenger].";

/// Arguments of `verdict rollback` and `verdict promote`.
#[derive(Debug, Args)]
pub(crate) struct PolicyChangeArgs {
    /// The policy to change.
    pub policy: String,
    /// The running service.
    #[arg(long, default_value = "http://127.0.0.1:8080", value_name = "URL")]
    pub server: String,
    /// File holding the service's token [default: the VERDICT_TOKEN
    /// environment variable].
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

const RELEASE_EXAMPLES: &str = "\
Examples:
  verdict release keygen --out ci                      # ci.key (secret) and ci.pub
  verdict release push policies registry.example.com/risk/policies:v7 --key ci.key
  verdict release verify registry.example.com/risk/policies:v7 --trust ci.pub
  verdict release pull registry.example.com/risk/policies@sha256:3f1c... --trust ci.pub --to releases/7

Credentials come from REGISTRY_AUTH_FILE, $DOCKER_CONFIG/config.json or
~/.docker/config.json (`docker login`, `skopeo login`); plain HTTP is used
only for a registry on this machine or with --insecure. The layout is in
docs/release.md. Exit status: 0 done, 2 refused (nothing pushed, signed or
written).";

/// `verdict release` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ReleaseCommand {
    /// Write a new ECDSA P-256 key pair: PREFIX.key (PKCS#8, mode 0600) and
    /// PREFIX.pub.
    Keygen(KeygenArgs),
    /// Pack a policies directory (its bindings and the modules they name)
    /// and push it as an OCI artifact; prints its digest.
    Push(PushArgs),
    /// Sign a pushed release, beside the signatures it has.
    Sign(SignArgs),
    /// Check that a release is signed by one of the trusted keys.
    Verify(ReleaseVerifyArgs),
    /// Verify a release and write it to a new directory, whole or not at all.
    Pull(PullArgs),
}

/// Arguments of `verdict release keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Where to write the pair: PREFIX.key and PREFIX.pub (neither may exist).
    #[arg(long, value_name = "PREFIX")]
    pub out: PathBuf,
}

/// How to reach the registry.
#[derive(Debug, Args)]
pub(crate) struct RegistryArgs {
    /// Speak plain HTTP to a registry that is not on this machine.
    #[arg(long)]
    pub insecure: bool,
    /// The longest one registry request may take.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = arg_values::duration)]
    pub timeout: Duration,
}

/// Arguments of `verdict release push`.
#[derive(Debug, Args)]
pub(crate) struct PushArgs {
    /// The policies directory: every binding in it must load.
    pub dir: PathBuf,
    /// Where to push: HOST[:PORT]/REPO:TAG (or …@sha256:HEX).
    pub reference: String,
    /// Sign the release once pushed, with this private key.
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `verdict release sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The release: HOST[:PORT]/REPO:TAG or …@sha256:HEX.
    pub reference: String,
    /// The private key (PEM: PKCS#8 or SEC1, ECDSA P-256).
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `verdict release verify`.
#[derive(Debug, Args)]
pub(crate) struct ReleaseVerifyArgs {
    /// The release: HOST[:PORT]/REPO:TAG or …@sha256:HEX.
    pub reference: String,
    /// A public key to trust (PEM); repeat for several. One signature by
    /// any of them suffices.
    #[arg(long, alias = "key", value_name = "PUB", required = true)]
    pub trust: Vec<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Arguments of `verdict release pull`.
#[derive(Debug, Args)]
pub(crate) struct PullArgs {
    /// The release: HOST[:PORT]/REPO:TAG or …@sha256:HEX.
    pub reference: String,
    /// A public key to trust (PEM); repeat for several.
    #[arg(long, value_name = "PUB", required = true)]
    pub trust: Vec<PathBuf>,
    /// The directory to write the release to; it must not exist.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `verdict log` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum LogCommand {
    /// Verify a decision log: every line parses, every record matches its
    /// hash and links to the one before, and the archive holds every module
    /// and parameter set it names. Reports the first bad record by line.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
}

const VERIFY_EXAMPLES: &str = "\
Examples:
  verdict log verify decisions.jsonl
  verdict log verify decisions.jsonl --anchor 3f1c...   # the head hash noted last time

Exit status: 0 intact, 1 a record or archive entry is bad, 2 the log cannot be read.";

/// Arguments of `verdict log verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The decision log.
    pub log: PathBuf,
    /// The module archive [default: beside the log, LOG.jsonl -> LOG.archive].
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// A record hash noted earlier (say, the head a previous verify
    /// printed); the log must still hold it, so cutting records off its end
    /// is detected too.
    #[arg(long, value_name = "HASH")]
    pub anchor: Option<String>,
}

const REPLAY_EXAMPLES: &str = "\
Examples:
  verdict replay decisions.jsonl
  verdict replay decisions.jsonl --customer C-0002 --policy staff-allowance
  verdict replay decisions.jsonl --lines 100..200 --archive /mnt/audit/decisions.archive
  verdict replay decisions.parquet --sample 10000

Needs only the log and its archive: the policy files and plugins may have
changed or be gone. The log's chain is verified first; a decisions file
(from `verdict eval --output`) has no chain, and is replayed as it is.
A record claiming more fuel than --max-fuel (or memory or stack beyond the
caps), and a decision running longer than --decision-timeout, are reported
as suspicious, and replay goes on with the next.
Exit status: 0 every decision identical, 1 a mismatch (or a suspicious record,
a broken log or a missing archive entry), 2 the log cannot be read.";

/// Arguments of `verdict replay`.
#[derive(Debug, Args)]
pub(crate) struct ReplayArgs {
    /// The decision log, or a decisions file `verdict eval --output` wrote
    /// (.parquet, .jsonl, .arrow).
    pub log: PathBuf,
    /// The module archive [default: beside the log, LOG.jsonl -> LOG.archive].
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// Where the signed releases the log's records name are kept
    /// (HOST[:PORT]/REPO): modules and parameter sets the archive lacks are
    /// taken from those releases, by digest, verified (see --trust), and
    /// stored in the archive before anything is checked.
    #[arg(long, value_name = "HOST/REPO")]
    pub release_from: Option<String>,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Replay only this customer's decisions (repeatable).
    #[arg(long, value_name = "ID")]
    pub customer: Vec<String>,
    /// Replay only this policy's decisions (repeatable).
    #[arg(long = "policy", value_name = "NAME")]
    pub policy: Vec<String>,
    /// Replay only these log lines: `A..B` (inclusive), `A..`, `..B` or `N`.
    #[arg(long, value_name = "A..B", value_parser = arg_values::lines)]
    pub lines: Option<(usize, usize)>,
    /// The most fuel a logged decision may claim; a record that logs more
    /// (or more memory or stack than the engine's caps) is reported as
    /// suspicious and not run.
    #[arg(long, value_name = "N", default_value_t = verdict_audit::replay::Caps::default().fuel)]
    pub max_fuel: u64,
    /// The longest one call into a plugin may run (`10s`, `500ms`, `2m`):
    /// a decision still running then is cut and reported as suspicious.
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = arg_values::duration)]
    pub decision_timeout: Duration,
    /// Replay a deterministic sample of N decisions (the same N for the
    /// same decisions, whatever their order) instead of all.
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
}

const DIFF_EXAMPLES: &str = "\
Examples:
  verdict diff decisions.jsonl --policies staging/policies
  verdict diff decisions.jsonl --policies staging/policies --format json
  verdict diff decisions.parquet --policies staging/policies

A decision changes when its outcome, values or reasons would differ; logged
decisions whose policy DIR lacks are counted as skipped.
Exit status: 0 the report was made (whether or not anything changes), 2 bad
input.";

const REPORT_EXAMPLES: &str = "\
Examples:
  verdict report decisions.jsonl                          # every policy's arms, a table
  verdict report decisions.jsonl --policy loan-rates --format json
  verdict report decisions.jsonl --format parquet --output changed.parquet
  verdict report decisions.parquet --join outcomes.parquet --on customer
  verdict report decisions.jsonl --challenger candidates/loan-rates.toml

Per policy and arm: decisions, answers and outcomes; for the customers both
arms decided (shadow, or a split with shadow_other), the champion -> challenger
transitions, how numeric values moved, and the customers that changed.
--join adds outcomes learned later (each numeric or true/false column of
the file, averaged per arm and outcome). --challenger re-decides the logged
answers of the binding's policy with it, as if it had run in shadow.
Exit status: 0 the report was made, 2 bad input.";

/// Output formats of `verdict report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExperimentFormat {
    /// Text for people.
    Table,
    /// One JSON object, every changed customer included.
    Json,
    /// The changed customers as a Parquet table (needs --output).
    Parquet,
}

/// Arguments of `verdict report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The decision log, or decisions file, to report on.
    pub log: PathBuf,
    /// Only this policy.
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExperimentFormat::Table)]
    pub format: ExperimentFormat,
    /// With --format parquet: the file the changed customers go to.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A Parquet file of outcomes learned later (a default, a complaint),
    /// one row per customer, joined to the decisions.
    #[arg(long, value_name = "OUTCOMES.parquet")]
    pub join: Option<PathBuf>,
    /// The column of the --join file holding the customer's id.
    #[arg(
        long,
        value_name = "COLUMN",
        default_value = "customer",
        requires = "join"
    )]
    pub on: String,
    /// Re-decide the logged answers of this binding's policy with the
    /// binding (its champion), as a challenger in shadow.
    #[arg(long, value_name = "BINDING.toml")]
    pub challenger: Option<PathBuf>,
    /// Changed customers the table shows.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub changed: usize,
}

/// Output formats for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// Text for people.
    Table,
    /// One JSON object.
    Json,
}

/// Arguments of `verdict diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// The decision log, or decisions file, whose inputs to re-decide.
    pub log: PathBuf,
    /// Directory of the policy bindings to try; or oci://REF, a signed
    /// release (see --trust).
    #[arg(long, value_name = "DIR|oci://REF")]
    pub policies: PathBuf,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

/// Parses `A..B`, `A..`, `..B` or `N` into an inclusive range of lines.
const NEW_EXAMPLES: &str = "\
Examples:
  verdict new my-policy                   # ./my-policy, or plugins/my-policy in a Verdict checkout
  verdict new my-policy --path ~/policies # ~/policies/my-policy
  verdict new my-policy --sdk ~/verdict/plugin-sdk

The crate builds and passes its tests as made: `cargo test`, `verdict build`,
`verdict test`. The guide is plugin-sdk/README.md.";

/// Arguments of `verdict new`.
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// The plugin's name: kebab-case, such as `my-policy`.
    pub name: String,
    /// Make the crate in DIR/NAME [default: plugins/ inside a Verdict
    /// checkout, joining its workspace; else the current directory].
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// The verdict-sdk crate (a checkout's plugin-sdk directory) to depend
    /// on outside a Verdict checkout [default: the one this verdict was
    /// built from].
    #[arg(long, value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

const BUILD_EXAMPLES: &str = "\
Examples:
  verdict build                     # the crate in the current directory
  verdict build plugins/loan-rates

Runs `cargo build --profile plugin --target wasm32-unknown-unknown` and loads
the module as the host would. Installs nothing: if the wasm32-unknown-unknown
target is missing it says how to add it.

Exit status: 0 built, 1 the compiler refused the crate, 2 bad setup (no
crate, target missing).";

/// Arguments of `verdict build`.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The plugin crate's directory.
    #[arg(default_value = ".")]
    pub path: PathBuf,
}

const TEST_EXAMPLES: &str = "\
Examples:
  verdict test                                # policies/tests/*.toml
  verdict test plugins/my-policy              # a crate's policies/tests/*.toml
  verdict test policies/tests/loan-rates.toml --filter boundary

A case file names a binding (`binding = \"../loan-rates.toml\"`) or a module
(`plugin = \"x.wasm\"`) and holds [[case]] tables: name, as_of, customer,
optional params overrides, and expect (outcome, codes, value or
value_includes, message_contains). See plugin-sdk/README.md.

Exit status: 0 every case passed, 1 some case failed, 2 bad input.";

/// Arguments of `verdict test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Case files, or directories holding them (a plugin crate's or a
    /// policies directory's `policies/tests` or `tests`, else every *.toml
    /// below) [default: policies].
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Run only the cases whose name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}
