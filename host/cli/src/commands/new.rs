//! `verdict new`: scaffold a plugin crate.

use std::io::Write;

use anyhow::Context;
use verdict::scaffold::{self, Placement, Request};

use crate::cli::NewArgs;
use crate::exit::Status;

/// Runs `verdict new`.
pub(crate) fn run(args: &NewArgs) -> anyhow::Result<Status> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let request = Request {
        name: args.name.clone(),
        parent: args.path.clone(),
        sdk: args.sdk.clone(),
        cwd: cwd.clone(),
        target_dir: std::env::var_os("CARGO_TARGET_DIR").map(Into::into),
    };
    let made = scaffold::create(&request)?;
    let mut out = std::io::stdout().lock();
    let shown = made.dir.strip_prefix(&cwd).unwrap_or(&made.dir);
    match &made.placement {
        Placement::Workspace { root } => writeln!(
            out,
            "created plugin crate `{}` in {}, a member of the workspace at {}",
            args.name,
            shown.display(),
            root.display()
        )?,
        Placement::Standalone { sdk } => writeln!(
            out,
            "created plugin crate `{}` in {} (its own workspace; verdict-sdk from {})",
            args.name,
            shown.display(),
            sdk.display()
        )?,
    }
    for file in &made.files {
        writeln!(out, "  {}", file.display())?;
    }
    writeln!(out, "\nnext:")?;
    let from = match &made.placement {
        Placement::Workspace { root } if !cwd.starts_with(root) => root.clone(),
        _ => cwd,
    };
    for step in scaffold::next_steps(&args.name, &made.dir, &made.placement, &from) {
        writeln!(out, "  {step}")?;
    }
    Ok(Status::Success)
}
