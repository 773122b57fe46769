//! `verdict build`: build a plugin crate to a WebAssembly module and show
//! what the module declares.

use std::io::{IsTerminal, Write};
use std::path::Path;

use verdict::builder::{self, BuildError};
use verdict_config::Binding;
use verdict_engine::{Limits, Plugin};

use crate::cli::BuildArgs;
use crate::commands;
use crate::commands::inspect::write_params;
use crate::exit::Status;

/// Runs `verdict build`.
pub(crate) fn run(args: &BuildArgs) -> anyhow::Result<Status> {
    let stderr = std::io::stderr();
    let color = stderr.is_terminal();
    let module = match builder::build(&args.path, color, &mut stderr.lock()) {
        Ok(module) => module,
        Err(error @ (BuildError::Failed(_) | BuildError::NoModule(_))) => {
            writeln!(stderr.lock(), "error: {error}")?;
            return Ok(Status::Failure);
        }
        Err(error) => return Err(error.into()),
    };
    let sandbox = commands::sandbox(Limits::default())?;
    let plugin = Plugin::load(&sandbox, &module)?;
    let manifest = &plugin.manifest();
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut out = std::io::stdout().lock();
    writeln!(out, "module       {}", shown(&module, &cwd).display())?;
    writeln!(out, "size         {} bytes", plugin.bytes().len())?;
    writeln!(out, "sha256       {}", plugin.sha256())?;
    writeln!(out, "name         {}", manifest.name)?;
    writeln!(out, "version      {}", manifest.version)?;
    if !manifest.description.is_empty() {
        writeln!(out, "description  {}", manifest.description)?;
    }
    if manifest.params.is_empty() {
        writeln!(out, "parameters   (none)")?;
    } else {
        writeln!(out, "parameters")?;
        write_params(&mut out, &manifest.params)?;
    }
    warn_stale_bindings(&args.path, &module, &mut stderr.lock());
    Ok(Status::Success)
}

/// `path` relative to `cwd` when it lies below it.
fn shown<'a>(path: &'a Path, cwd: &Path) -> &'a Path {
    path.strip_prefix(cwd).unwrap_or(path)
}

/// Says so when a binding shipped in the crate (`policies/*.toml`) points
/// at another file than the module just built.
fn warn_stale_bindings(dir: &Path, module: &Path, log: &mut impl Write) {
    let Ok(entries) = std::fs::read_dir(dir.join("policies")) else {
        return;
    };
    let module = module
        .canonicalize()
        .unwrap_or_else(|_| module.to_path_buf());
    for path in entries.filter_map(|entry| Some(entry.ok()?.path())) {
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let Ok(binding) = Binding::load(&path) else {
            continue;
        };
        let target = binding
            .plugin
            .canonicalize()
            .unwrap_or(binding.plugin.clone());
        if target != module {
            let _ = writeln!(
                log,
                "note: binding `{}` uses `{}`, not the module just built",
                path.display(),
                binding.plugin.display()
            );
        }
    }
}
