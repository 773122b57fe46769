//! `verdict inspect`: what a plugin module declares and contains.

use std::io::Write;

use serde_json::json;
use verdict_engine::{Isolation, Limits, Plugin, Policy};
use verdict_sdk::ParamSpec;

use crate::cli::{InfoFormat, InspectArgs};
use crate::commands;
use crate::exit::Status;

/// Runs `verdict inspect`.
pub(crate) fn run(args: &InspectArgs) -> anyhow::Result<Status> {
    let sandbox = commands::sandbox(Limits::default())?;
    let plugin = Plugin::load(&sandbox, &args.plugin)?;
    let manifest = &plugin.manifest();
    // Under the declared defaults: `verdict_init` may grow memory past what
    // the restore covers.
    let isolation = match Policy::with_defaults(plugin.clone(), &args.plugin) {
        Ok(policy) => policy.isolation(),
        Err(_) => plugin.isolation(),
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        InfoFormat::Json => {
            let info = json!({
                "path": plugin.path(),
                "name": manifest.name,
                "version": manifest.version,
                "description": manifest.description,
                "abi": manifest.abi,
                "sha256": plugin.sha256(),
                "size_bytes": plugin.bytes().len(),
                "params": manifest.params,
                // A module that imports anything is refused at load.
                "imports": Vec::<String>::new(),
                "exports": plugin.exports(),
                "isolation": match &isolation {
                    Isolation::Reused => json!({"instance": "reused"}),
                    Isolation::Fresh(why) => json!({"instance": "fresh", "because": why.to_string()}),
                    other => json!({"instance": other.to_string()}),
                },
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&info)?)?;
        }
        InfoFormat::Human => {
            writeln!(out, "name         {}", manifest.name)?;
            writeln!(out, "version      {}", manifest.version)?;
            if !manifest.description.is_empty() {
                writeln!(out, "description  {}", manifest.description)?;
            }
            writeln!(
                out,
                "abi          v{} (host speaks v1 and v2)",
                manifest.abi
            )?;
            writeln!(out, "sha256       {}", plugin.sha256())?;
            writeln!(out, "isolation    {isolation}")?;
            writeln!(out, "size         {} bytes", plugin.bytes().len())?;
            writeln!(
                out,
                "parameters   {}",
                if manifest.params.is_empty() {
                    "(none)"
                } else {
                    ""
                }
            )?;
            write_params(&mut out, &manifest.params)?;
            // A module that imports anything is refused at load.
            writeln!(out, "imports      (none)")?;
            writeln!(out, "exports")?;
            for export in plugin.exports() {
                writeln!(out, "  {export}")?;
            }
        }
    }
    Ok(Status::Success)
}

/// One entry per declared parameter: name, type, range and description,
/// then the default (shared with `verdict build`).
pub(crate) fn write_params(out: &mut impl Write, params: &[ParamSpec]) -> std::io::Result<()> {
    for spec in params {
        let mut range = String::new();
        if let Some(min) = spec.min {
            range.push_str(&format!(" min {min}"));
        }
        if let Some(max) = spec.max {
            range.push_str(&format!(" max {max}"));
        }
        writeln!(
            out,
            "  {} ({}{range}): {}",
            spec.name,
            spec.kind.name(),
            spec.description
        )?;
        writeln!(out, "      default {}", spec.default)?;
    }
    Ok(())
}
