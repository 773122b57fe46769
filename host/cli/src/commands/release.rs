//! `verdict release`: pack a policies directory as a signed OCI artifact,
//! push it, sign it, verify it and pull it back by tag or digest.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use verdict_engine::Limits;
use verdict_release::{
    Connection, PrivateKey, Reference, Registry, Release, TrustedKey, generate_key, pull, resolve,
    sign, verify,
};

use crate::cli::{
    KeygenArgs, PullArgs, PushArgs, RegistryArgs, ReleaseCommand, ReleaseVerifyArgs, SignArgs,
};
use crate::commands;
use crate::exit::Status;

/// Runs a `verdict release` subcommand.
pub(crate) fn run(command: &ReleaseCommand) -> anyhow::Result<Status> {
    match command {
        ReleaseCommand::Keygen(args) => keygen(args),
        ReleaseCommand::Push(args) => push(args),
        ReleaseCommand::Sign(args) => sign_release(args),
        ReleaseCommand::Verify(args) => verify_release(args),
        ReleaseCommand::Pull(args) => pull_release(args),
    }
}

/// Writes a new key pair, refusing to replace either file.
fn keygen(args: &KeygenArgs) -> anyhow::Result<Status> {
    let private = args.out.with_extension("key");
    let public = args.out.with_extension("pub");
    for path in [&private, &public] {
        if std::fs::symlink_metadata(path).is_ok() {
            bail!("{}: exists; keygen never replaces a key", path.display());
        }
    }
    let (private_pem, public_pem) = generate_key()?;
    write_new(&private, &private_pem, 0o600)?;
    write_new(&public, &public_pem, 0o644)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wrote {} (keep it secret) and {}",
        private.display(),
        public.display()
    )?;
    Ok(Status::Success)
}

/// Creates `path` (it must not exist) holding `text`, with `mode`.
fn write_new(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The reference and a client for its registry.
pub(crate) fn connect(
    reference: &str,
    registry: &RegistryArgs,
) -> anyhow::Result<(Reference, Registry)> {
    let reference: Reference = reference.parse()?;
    let connection = Connection {
        insecure: registry.insecure,
        timeout: registry.timeout,
    };
    let client = Registry::connect(&reference, connection)?;
    Ok((reference, client))
}

fn push(args: &PushArgs) -> anyhow::Result<Status> {
    let key = args.key.as_deref().map(PrivateKey::load).transpose()?;
    let sandbox = commands::sandbox(Limits::default())?;
    let release = Release::pack(&sandbox, &args.dir)?;
    let (reference, registry) = connect(&args.reference, &args.registry)?;
    // Signed before the tag moves, so that a service polling the tag never
    // meets the new release unsigned.
    let signed = match (&key, &args.key) {
        (Some(key), Some(file)) => {
            let pinned = reference.at(release.digest());
            let digest = release.push(&registry, &pinned)?;
            sign(&registry, &reference, digest, key)?;
            Some(file)
        }
        _ => None,
    };
    let digest = release.push(&registry, &reference)?;
    let mut out = std::io::stdout().lock();
    let policies: Vec<&str> = release.policies().collect();
    writeln!(out, "pushed {} to {reference}", policies.join(", "))?;
    if let Some(file) = signed {
        writeln!(out, "signed with {}", file.display())?;
    }
    writeln!(out, "{}", reference.at(digest))?;
    Ok(Status::Success)
}

fn sign_release(args: &SignArgs) -> anyhow::Result<Status> {
    let key = PrivateKey::load(&args.key)?;
    let (reference, registry) = connect(&args.reference, &args.registry)?;
    let digest = resolve(&registry, &reference)?;
    let added = sign(&registry, &reference, digest, &key)?;
    let mut out = std::io::stdout().lock();
    let pinned = reference.at(digest);
    if added {
        writeln!(out, "signed {pinned} with {}", args.key.display())?;
    } else {
        writeln!(
            out,
            "{pinned} was signed with {} already",
            args.key.display()
        )?;
    }
    Ok(Status::Success)
}

/// The keys named by `--trust`.
pub(crate) fn trusted(files: &[std::path::PathBuf]) -> anyhow::Result<Vec<TrustedKey>> {
    Ok(files
        .iter()
        .map(|file| TrustedKey::load(file))
        .collect::<Result<_, _>>()?)
}

fn verify_release(args: &ReleaseVerifyArgs) -> anyhow::Result<Status> {
    let trusted = trusted(&args.trust)?;
    let (reference, registry) = connect(&args.reference, &args.registry)?;
    let digest = resolve(&registry, &reference)?;
    let signer = verify(&registry, &reference, digest, &trusted)?;
    writeln!(
        std::io::stdout().lock(),
        "verified {}: signed by {} (key sha256:{})",
        reference.at(digest),
        signer.key_file.display(),
        signer.fingerprint
    )?;
    Ok(Status::Success)
}

fn pull_release(args: &PullArgs) -> anyhow::Result<Status> {
    let trusted = trusted(&args.trust)?;
    let (reference, registry) = connect(&args.reference, &args.registry)?;
    let sandbox = commands::sandbox(Limits::default())?;
    let pulled = pull(&registry, &reference, &trusted, &sandbox, &[], &args.to)?;
    let policies: Vec<&str> = pulled.set.policies().iter().map(|p| p.name()).collect();
    writeln!(
        std::io::stdout().lock(),
        "pulled {} to {}: {}; signed by {} (key sha256:{})",
        reference.at(pulled.digest),
        args.to.display(),
        policies.join(", "),
        pulled.signer.key_file.display(),
        pulled.signer.fingerprint
    )?;
    Ok(Status::Success)
}
