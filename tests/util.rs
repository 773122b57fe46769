//! Test helpers: the binary, the built plugins, scratch policy directories.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_cmd::cargo::CommandCargoExt;
use tempfile::TempDir;

/// The repository root.
pub fn root() -> PathBuf {
    // The `verdict` package is `host/cli`.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// The three reference plugins, by crate name.
pub const REFERENCE: [&str; 3] = ["staff-allowance", "loan-rates", "product-ladder"];

/// Builds the reference plugins to wasm once per test run (a no-op when
/// `cargo plugins` already ran) and returns the directory holding them.
pub fn plugins_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["plugins", "--quiet"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building the reference plugins failed");
        root().join("target/wasm32-unknown-unknown/plugin")
    })
}

/// The built module of a reference plugin, e.g. `loan-rates`.
pub fn plugin_wasm(name: &str) -> PathBuf {
    plugins_dir().join(format!("{}.wasm", name.replace('-', "_")))
}

/// A hand-written WAT plugin from `tests/plugins/`.
pub fn wat(name: &str) -> PathBuf {
    root().join("tests/plugins").join(format!("{name}.wat"))
}

/// `verdict` run from the repository root.
pub fn verdict() -> Command {
    plugins_dir();
    let mut command = Command::cargo_bin("verdict").unwrap();
    // Compiled plugins are cached inside the build tree, not in $HOME.
    command
        .current_dir(root())
        .env_remove("RUST_LOG")
        .env("VERDICT_CACHE_DIR", root().join("target/test-module-cache"));
    command
}

/// What a finished command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `verdict ARGS...` and captures everything.
pub fn run(args: &[&str]) -> Run {
    run_command(verdict().args(args))
}

/// Runs a prepared command and captures everything.
pub fn run_command(command: &mut Command) -> Run {
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Parses JSON Lines output.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A scratch directory of policy bindings.
pub struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    /// An empty scratch directory.
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A copy of the shipped bindings, pointing at the built plugins.
    pub fn shipped() -> Scratch {
        let scratch = Scratch::new();
        for name in REFERENCE {
            let text =
                std::fs::read_to_string(root().join("policies").join(format!("{name}.toml")))
                    .unwrap();
            scratch.write(
                &format!("{name}.toml"),
                &retarget(&text, &plugin_wasm(name)),
            );
        }
        scratch
    }

    /// The directory, as a string argument.
    pub fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Binds `name` to a plugin module with `params` (TOML lines).
    pub fn bind(&self, name: &str, plugin: &Path, params: &str) -> PathBuf {
        self.write(
            &format!("{name}.toml"),
            &format!(
                "plugin = {:?}\nversion = \"^1.0\"\n\n[params]\n{params}\n",
                plugin.display().to_string()
            ),
        )
    }
}

/// A binding text with its `plugin = ...` line pointed at `plugin`.
pub fn retarget(binding: &str, plugin: &Path) -> String {
    binding
        .lines()
        .map(|line| {
            if line.starts_with("plugin") {
                format!("plugin = {:?}", plugin.display().to_string())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}
