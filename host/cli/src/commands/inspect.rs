//! `verdict inspect`: what a plugin module declares and contains, or what
//! a pulled release holds and who signed it.

use std::io::Write;

use serde_json::json;
use verdict_engine::{Isolation, Limits, Plugin, Policy, Sandbox};
use verdict_release::{OCI_MANIFEST_FILE, open};
use verdict_sdk::ParamSpec;

use crate::cli::{InfoFormat, InspectArgs};
use crate::commands::{self, release};
use crate::exit::Status;

/// Runs `verdict inspect`.
pub(crate) fn run(args: &InspectArgs) -> anyhow::Result<Status> {
    let sandbox = commands::sandbox(Limits::default())?;
    if args.plugin.is_dir() {
        return release(args, &sandbox);
    }
    anyhow::ensure!(
        args.trust.is_empty(),
        "--trust applies to a pulled release's directory, not to the module {}",
        args.plugin.display()
    );
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

/// Shows the pulled release `args.plugin`, verified again offline against
/// the `--trust` keys: its digest, its signer and every policy in it.
fn release(args: &InspectArgs, sandbox: &Sandbox) -> anyhow::Result<Status> {
    let dir = &args.plugin;
    anyhow::ensure!(
        dir.join(OCI_MANIFEST_FILE).is_file(),
        "{} is no pulled release (it has no {OCI_MANIFEST_FILE}); inspect shows a plugin module or a pulled release",
        dir.display()
    );
    anyhow::ensure!(
        !args.trust.is_empty(),
        "{}: a release is shown verified: give the public key(s) it must be signed by, with --trust PUB",
        dir.display()
    );
    let opened = open(dir, &release::trusted(&args.trust)?, sandbox, &[])?;
    let mut out = std::io::stdout().lock();
    let policies = opened.set.policies();
    match args.format {
        InfoFormat::Json => {
            let info = json!({
                "release": format!("sha256:{}", opened.digest),
                "signer": opened.signer.key_file,
                "signer_sha256": opened.signer.fingerprint.to_string(),
                "policies": policies.iter().map(|policy| json!({
                    "policy": policy.name(),
                    "plugin": policy.plugin().name(),
                    "version": policy.plugin().version().to_string(),
                    "module_sha256": policy.plugin().sha256(),
                    "params_sha256": policy.params_sha256(),
                    "params": policy.params(),
                })).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&info)?)?;
        }
        InfoFormat::Human => {
            writeln!(out, "release      sha256:{}", opened.digest)?;
            writeln!(
                out,
                "signed by    {} (key sha256:{})",
                opened.signer.key_file.display(),
                opened.signer.fingerprint
            )?;
            writeln!(out, "policies")?;
            for policy in policies {
                writeln!(
                    out,
                    "  {}  {} {}  module {}  params {}",
                    policy.name(),
                    policy.plugin().name(),
                    policy.plugin().version(),
                    policy.plugin().sha256(),
                    policy.params_sha256()
                )?;
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
