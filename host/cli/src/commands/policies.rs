//! Where a command's `--policies` leads: a directory of bindings, or
//! `oci://REF`, a signed release taken from its registry through the
//! release cache and verified before it is used.

use std::path::Path;

use anyhow::Context;
use verdict_config::load_policies;
use verdict_engine::{PolicySet, Sandbox};
use verdict_serve::ReleaseSource;

use crate::cli::ReleaseArgs;
use crate::commands::{self, release};

/// The release reference `--policies` names (`oci://REF`), if it names one.
pub(crate) fn release_reference(policies: &Path) -> Option<&str> {
    policies.to_str()?.strip_prefix("oci://")
}

/// The release `reference` as `args` say to take it: a registry client,
/// the trusted keys (one at least) and the release cache.
pub(crate) fn release_source(reference: &str, args: &ReleaseArgs) -> anyhow::Result<ReleaseSource> {
    anyhow::ensure!(
        !args.trust.is_empty(),
        "--policies oci://{reference}: give the public key(s) a release must be signed by, with --trust PUB"
    );
    let (reference, registry) = release::connect(reference, &args.registry)?;
    Ok(ReleaseSource {
        reference,
        registry,
        trusted: release::trusted(&args.trust)?,
        cache: commands::release_cache(args.release_cache.as_deref())?,
    })
}

/// Refuses release options given with a directory.
pub(crate) fn check_dir(policies: &Path, args: &ReleaseArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.trust.is_empty() && args.release_cache.is_none(),
        "--trust and --release-cache apply to a release (--policies oci://REF), not to the directory {}",
        policies.display()
    );
    Ok(())
}

/// Loads the policies `--policies` names: every binding of a directory, or
/// the signed release `oci://REF` (its tag resolved now), pulled into the
/// release cache unless kept there, and verified.
pub(crate) fn load(
    sandbox: &Sandbox,
    policies: &Path,
    args: &ReleaseArgs,
) -> anyhow::Result<PolicySet> {
    let Some(reference) = release_reference(policies) else {
        check_dir(policies, args)?;
        return Ok(load_policies(sandbox, policies, &[])?);
    };
    let source = release_source(reference, args)?;
    let opened = source
        .cache
        .open_reference(
            &source.registry,
            &source.reference,
            &source.trusted,
            sandbox,
            &[],
        )
        .with_context(|| format!("cannot use the release {}", source.reference))?;
    tracing::info!(
        release = %source.reference.at(opened.digest),
        signer = %opened.signer.key_file.display(),
        key_sha256 = %opened.signer.fingerprint,
        "policies from a verified release"
    );
    Ok(opened.set)
}
