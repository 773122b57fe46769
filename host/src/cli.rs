//! Command-line arguments (clap derive; doc comments are the help text).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use verdict_sdk::Date;

/// Verdict: business policies as WebAssembly plugins, evaluated against
/// customer profiles.
#[derive(Debug, Parser)]
#[command(name = "verdict", version, propagate_version = true)]
pub struct Cli {
    /// More diagnostics on stderr (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate customer profiles against the loaded policies.
    #[command(after_help = EVAL_EXAMPLES)]
    Eval(EvalArgs),
    /// Show a plugin's name, version, parameters, imports, exports, SHA-256.
    #[command(
        after_help = "Example:\n  verdict inspect target/wasm32-unknown-unknown/plugin/loan_rates.wasm --format json"
    )]
    Inspect(InspectArgs),
}

const EVAL_EXAMPLES: &str = "\
Examples:
  verdict eval                                   # shipped samples, all policies, a table
  verdict eval --profiles my.toml --format jsonl # one JSON decision per line
  verdict eval --policy loan-rates --as-of 2027-01-01

Exit status: 0 every decision made, 1 some decision is `error`, 2 bad input.";

/// Output formats for decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
}

/// Arguments of `verdict eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Directory of policy bindings.
    #[arg(long, default_value = "policies", value_name = "DIR")]
    pub policies: PathBuf,
    /// Profiles file(s) to evaluate [default: DIR/profiles/*.toml].
    #[arg(long, value_name = "FILE")]
    pub profiles: Vec<PathBuf>,
    /// Evaluate only this policy (repeatable) [default: every policy].
    #[arg(long = "policy", value_name = "NAME")]
    pub policy: Vec<String>,
    /// Evaluation date [default: the file's `as_of`, else today (UTC)].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<Date>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Output formats for descriptions of things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InfoFormat {
    /// Aligned text for people.
    Human,
    /// One JSON object.
    Json,
}

/// Arguments of `verdict inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The plugin module (.wasm, or .wat text).
    pub plugin: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = InfoFormat::Human)]
    pub format: InfoFormat,
}

fn parse_date(text: &str) -> Result<Date, String> {
    text.parse()
        .map_err(|e: verdict_sdk::DateError| e.to_string())
}
