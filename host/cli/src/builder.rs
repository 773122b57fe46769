//! `verdict build`: compiling a plugin crate to a WebAssembly module with
//! cargo (profile `plugin`, target `wasm32-unknown-unknown`) and finding the
//! module it made. Nothing is installed: a missing target is reported with
//! the command that installs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use toml::de::DeTable;

/// The target plugins are built for.
pub const TARGET: &str = "wasm32-unknown-unknown";
/// The cargo profile plugins are built with.
pub const PROFILE: &str = "plugin";

/// Why a build made no module.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No crate at the path.
    #[error("`{}` holds no Cargo.toml: give the directory of a plugin crate", .0.display())]
    NoManifest(PathBuf),
    /// The path is a workspace root, not a crate.
    #[error(
        "`{}` is a workspace, not a plugin crate: give the directory of one of its plugins (such \
         as `plugins/loan-rates`)",
        .0.display()
    )]
    Workspace(PathBuf),
    /// The manifest does not parse.
    #[error("`{}` is not a valid Cargo.toml: {message}", path.display())]
    BadManifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The wasm target is not installed for the toolchain in use.
    #[error(
        "the `{TARGET}` target is not installed for this toolchain; install it with:\n\n    \
         rustup target add {TARGET}\n"
    )]
    TargetMissing,
    /// Neither the crate nor its workspace defines the `plugin` profile.
    #[error(
        "no `[profile.{PROFILE}]` in the crate's workspace; add to the workspace root's \
         Cargo.toml:\n\n[profile.{PROFILE}]\ninherits = \"release\"\nlto = true\ncodegen-units = \
         1\npanic = \"abort\"\n"
    )]
    NoProfile,
    /// cargo could not be started.
    #[error("cannot run cargo: {0}")]
    Cargo(std::io::Error),
    /// The compiler refused the crate; its messages went to the log.
    #[error("the build of `{}` failed (cargo's messages are above)", .0.display())]
    Failed(PathBuf),
    /// The build succeeded but made no `.wasm`.
    #[error(
        "the build of `{}` made no .wasm module: a plugin crate needs `[lib] crate-type = \
         [\"cdylib\", \"rlib\"]`",
        .0.display()
    )]
    NoModule(PathBuf),
}

/// One line of cargo's `--message-format=json` output that matters here.
#[derive(Deserialize)]
struct Message {
    reason: String,
    #[serde(default)]
    manifest_path: Option<PathBuf>,
    #[serde(default)]
    filenames: Vec<PathBuf>,
}

/// Checks that `dir` holds a package (not only a workspace) and returns its
/// manifest's path.
pub fn manifest(dir: &Path) -> Result<PathBuf, BuildError> {
    let path = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|_| BuildError::NoManifest(dir.into()))?;
    let root = DeTable::parse(&text).map_err(|e| BuildError::BadManifest {
        path: path.clone(),
        message: e.message().trim_end().to_owned(),
    })?;
    if root.get_ref().get("package").is_none() {
        return Err(BuildError::Workspace(dir.into()));
    }
    Ok(path)
}

/// Whether the toolchain that builds in `dir` has the wasm target, as
/// `rustup` says; `None` when rustup cannot tell (not installed, or a
/// toolchain it does not manage).
#[must_use]
pub fn wasm_target_installed(dir: &Path) -> Option<bool> {
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let listed = String::from_utf8_lossy(&output.stdout);
    Some(listed.lines().any(|line| line.trim() == TARGET))
}

/// Builds the crate in `dir` to a module and returns the module's path.
///
/// cargo's own messages and the compiler's diagnostics, rendered as cargo
/// renders them (`color` asks for colors), are copied to `log` as they come.
pub fn build(dir: &Path, color: bool, log: &mut dyn Write) -> Result<PathBuf, BuildError> {
    let manifest = manifest(dir)?;
    // cargo runs in `dir` (so its `.cargo/config.toml` and toolchain file
    // apply): the manifest's path must not be relative to here.
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    if wasm_target_installed(dir) == Some(false) {
        return Err(BuildError::TargetMissing);
    }
    let mut command = Command::new(cargo());
    command
        .current_dir(dir)
        .args(["build", "--profile", PROFILE, "--target", TARGET])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--color", if color { "always" } else { "never" }])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(BuildError::Cargo)?;
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut json = String::new();
        if let Some(mut stdout) = stdout {
            let _ = stdout.read_to_string(&mut json);
        }
        json
    });
    let mut seen = String::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).split(b'\n').map_while(Result::ok) {
            let _ = log.write_all(&line);
            let _ = log.write_all(b"\n");
            seen.push_str(&String::from_utf8_lossy(&line));
            seen.push('\n');
        }
    }
    let status = child.wait().map_err(BuildError::Cargo)?;
    let json = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(if seen.contains("target may not be installed") {
            BuildError::TargetMissing
        } else if seen.contains(&format!("profile `{PROFILE}` is not defined")) {
            BuildError::NoProfile
        } else {
            BuildError::Failed(dir.into())
        });
    }
    module_in(&json, &manifest).ok_or_else(|| BuildError::NoModule(dir.into()))
}

/// The `.wasm` file cargo reports having made for the package at
/// `manifest`.
fn module_in(json: &str, manifest: &Path) -> Option<PathBuf> {
    json.lines()
        .filter_map(|line| serde_json::from_str::<Message>(line).ok())
        .filter(|message| message.reason == "compiler-artifact")
        .filter(|message| {
            message.manifest_path.as_ref().is_some_and(|path| {
                path.canonicalize().unwrap_or_else(|_| path.clone()) == manifest
            })
        })
        .flat_map(|message| message.filenames)
        .find(|file| file.extension().is_some_and(|e| e == "wasm"))
}

/// The cargo to run: the one on `PATH`, which honours a crate's
/// `rust-toolchain.toml`, else the one that launched this process.
fn cargo() -> std::ffi::OsString {
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .any(|dir| dir.join("cargo").is_file() || dir.join("cargo.exe").is_file())
    });
    match std::env::var_os("CARGO") {
        Some(cargo) if !on_path => cargo,
        _ => "cargo".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_module_of_the_package() {
        let json = r#"{"reason":"compiler-artifact","manifest_path":"/nowhere/serde/Cargo.toml","filenames":["/t/libserde.rlib"]}
{"reason":"compiler-artifact","manifest_path":"/nowhere/p/Cargo.toml","target":{"kind":["cdylib","rlib"]},"filenames":["/t/p.wasm","/t/libp.rlib"]}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            module_in(json, Path::new("/nowhere/p/Cargo.toml")),
            Some(PathBuf::from("/t/p.wasm"))
        );
        assert_eq!(module_in(json, Path::new("/nowhere/q/Cargo.toml")), None);
    }

    #[test]
    fn a_workspace_root_is_not_a_crate() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        assert!(matches!(manifest(&root), Err(BuildError::Workspace(_))));
        assert!(manifest(Path::new(env!("CARGO_MANIFEST_DIR"))).is_ok());
        assert!(matches!(
            manifest(&root.join("no-such-dir")),
            Err(BuildError::NoManifest(_))
        ));
    }
}
