//! The `verdict` command line: parse, dispatch, map the result to an exit
//! status. Each subcommand lives in `commands/`.

mod arg_values;
mod cli;
mod commands;
mod exit;
mod output;
mod sink;
mod written;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::exit::Status;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A service's log is its record of swaps and refusals: info by default.
    init_tracing(cli.verbose, matches!(cli.command, Command::Serve(_)));
    let result = match cli.command {
        Command::Eval(args) => commands::eval::run(&args),
        Command::Log(command) => commands::log::run(&command),
        Command::Replay(args) => commands::replay::run(&args),
        Command::Diff(args) => commands::diff::run(&args),
        Command::Report(args) => commands::report::run(&args),
        Command::Inspect(args) => commands::inspect::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Rollback(args) => {
            commands::policy_change::run(&args, commands::policy_change::Change::Rollback)
        }
        Command::Promote(args) => {
            commands::policy_change::run(&args, commands::policy_change::Change::Promote)
        }
        Command::Release(command) => commands::release::run(&command),
        Command::New(args) => commands::new::run(&args),
        Command::Build(args) => commands::build::run(&args),
        Command::Test(args) => commands::test::run(&args),
    };
    match result {
        Ok(status) => status.into(),
        Err(error) if output::is_broken_pipe(&error) => Status::Success.into(),
        Err(error) => {
            output::report_error(&error);
            if error.is::<exit::PartWay>() {
                Status::PartWay.into()
            } else {
                Status::BadInput.into()
            }
        }
    }
}

/// `-v` shows debug diagnostics, `-vv` traces; `RUST_LOG` overrides both.
/// A long-running service logs at info level without `-v`.
fn init_tracing(verbose: u8, service: bool) {
    let default = match verbose {
        0 if service => "verdict=info,warn",
        0 => "warn",
        1 => "verdict=debug,info",
        _ => "verdict=trace,debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}
