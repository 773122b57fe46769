//! Test helpers: the binary, the built plugins, scratch policy directories.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use assert_cmd::cargo::CommandCargoExt;
use tempfile::TempDir;

/// The repository root.
pub(crate) fn root() -> PathBuf {
    // The `verdict` package is `host/cli`.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when it is set (a relative
/// one taken from the repository root, where the plugins are built), else
/// `target/` in the repository.
pub(crate) fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// The three reference plugins, by crate name.
pub(crate) const REFERENCE: [&str; 3] = ["staff-allowance", "loan-rates", "product-ladder"];

/// Where `cargo plugins` puts the modules, below a target directory.
const PLUGIN_OUT: &str = "wasm32-unknown-unknown/plugin";

/// The directory holding the reference plugins `cargo plugins` built.
/// Tests build nothing: without the modules a test fails naming the
/// command that builds them.
pub(crate) fn plugins_dir() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let built = target_dir().join(PLUGIN_OUT);
        for name in REFERENCE {
            let file = built.join(format!("{}.wasm", name.replace('-', "_")));
            assert!(
                file.is_file(),
                "`{}` is missing: run `cargo plugins` first (the README's test command does)",
                file.display()
            );
        }
        link_shipped_target(&built);
        built
    })
}

/// The shipped bindings (`policies/*.toml`) name the modules in the
/// repository's `target/`. When the plugins were built elsewhere
/// (`CARGO_TARGET_DIR`), that directory is made a link to where they are,
/// so the commands run with the shipped bindings use this build; a real
/// directory there is used only if it holds the very same modules.
fn link_shipped_target(built: &Path) {
    let shipped = root().join("target").join(PLUGIN_OUT);
    if std::fs::canonicalize(&shipped).ok() == std::fs::canonicalize(built).ok() {
        return;
    }
    let is_link = std::fs::symlink_metadata(&shipped).is_ok_and(|m| m.file_type().is_symlink());
    if is_link {
        std::fs::remove_file(&shipped).unwrap();
    }
    if !shipped.exists() {
        std::fs::create_dir_all(shipped.parent().unwrap()).unwrap();
        #[cfg(unix)]
        let made = std::os::unix::fs::symlink(built, &shipped);
        #[cfg(windows)]
        let made = std::os::windows::fs::symlink_dir(built, &shipped);
        // Another test process may have made the same link meanwhile.
        if let Err(error) = made {
            assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists, "{error}");
        }
    }
    for name in REFERENCE {
        let file = format!("{}.wasm", name.replace('-', "_"));
        assert!(
            std::fs::read(shipped.join(&file)).ok() == std::fs::read(built.join(&file)).ok(),
            "`{}` holds another build of {name} than `{}`: the shipped bindings would \
             use it; remove it or build without CARGO_TARGET_DIR",
            shipped.display(),
            built.display()
        );
    }
}

/// The built module of a reference plugin, e.g. `loan-rates`.
pub(crate) fn plugin_wasm(name: &str) -> PathBuf {
    plugins_dir().join(format!("{}.wasm", name.replace('-', "_")))
}

/// A hand-written WAT plugin from `tests/plugins/`.
pub(crate) fn wat(name: &str) -> PathBuf {
    root().join("tests/plugins").join(format!("{name}.wat"))
}

/// `verdict` run from the repository root.
pub(crate) fn verdict() -> Command {
    plugins_dir();
    let mut command = Command::cargo_bin("verdict").unwrap();
    // Compiled plugins are cached inside the build tree, not in $HOME.
    // `verdict build` runs cargo: offline, so a test never fetches a
    // crate (what the workspace build fetched is all a scaffold needs).
    command
        .current_dir(root())
        .env_remove("RUST_LOG")
        .env("CARGO_NET_OFFLINE", "true")
        .env("VERDICT_CACHE_DIR", target_dir().join("test-module-cache"));
    command
}

/// What a finished command did.
#[derive(Debug)]
pub(crate) struct Run {
    /// The command line, as a shell would read it (for snapshots).
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `verdict ARGS...` and captures everything.
pub(crate) fn run(args: &[&str]) -> Run {
    run_command(verdict().args(args))
}

/// Runs a prepared command and captures everything.
pub(crate) fn run_command(command: &mut Command) -> Run {
    let output = command.output().unwrap();
    let program = Path::new(command.get_program());
    let words = std::iter::once(program.file_name().unwrap_or(program.as_os_str()))
        .chain(command.get_args())
        .map(|word| {
            let word = word.to_string_lossy();
            if !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=[]@,+".contains(c))
            {
                word.into_owned()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        });
    Run {
        command: words.collect::<Vec<_>>().join(" "),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Parses JSON Lines output.
pub(crate) fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Asserts that `stderr` points at exactly `file:location` (`line:col`),
/// as the diagnostics do: ` --> FILE:LINE:COL` ending its line.
#[track_caller]
pub(crate) fn assert_points_at(stderr: &str, file: impl AsRef<Path>, location: &str) {
    let pointer = format!("--> {}:{location}\n", file.as_ref().display());
    assert!(
        stderr.contains(&pointer),
        "expected `{}` in:\n{stderr}",
        pointer.trim_end()
    );
}

/// Each decision record's customer, policy, outcome and reason codes
/// (joined by `,`), in order: what a test compares whole.
pub(crate) fn decided(records: &[serde_json::Value]) -> Vec<[String; 4]> {
    records
        .iter()
        .map(|r| {
            let text = |v: &serde_json::Value| {
                v.as_str()
                    .unwrap_or_else(|| panic!("not a string: {v} in {r}"))
                    .to_owned()
            };
            let codes: Vec<String> = r["reasons"]
                .as_array()
                .unwrap_or_else(|| panic!("no reasons: {r}"))
                .iter()
                .map(|reason| text(&reason["code"]))
                .collect();
            [
                text(&r["customer"]),
                text(&r["policy"]),
                text(&r["outcome"]),
                codes.join(","),
            ]
        })
        .collect()
}

/// The [`decided`] rows of `customers` (in order), each decided by every
/// `(policy, outcome, codes)` of `per_customer` in turn.
pub(crate) fn decisions_for(
    customers: impl IntoIterator<Item = String>,
    per_customer: &[(&str, &str, &str)],
) -> Vec<[String; 4]> {
    customers
        .into_iter()
        .flat_map(|customer| {
            per_customer.iter().map(move |(policy, outcome, codes)| {
                [
                    customer.clone(),
                    (*policy).to_owned(),
                    (*outcome).to_owned(),
                    (*codes).to_owned(),
                ]
            })
        })
        .collect()
}

/// A scratch directory of policy bindings.
pub(crate) struct Scratch {
    pub dir: TempDir,
}

impl Scratch {
    /// An empty scratch directory.
    pub(crate) fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A copy of the shipped bindings, pointing at the built plugins.
    pub(crate) fn shipped() -> Scratch {
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
    pub(crate) fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `verdict eval` of `profiles` against this directory's bindings,
    /// with `extra` arguments.
    pub(crate) fn eval(&self, profiles: &Path, extra: &[&str]) -> Run {
        let policies = self.path();
        let profiles = profiles.display().to_string();
        let mut args = vec!["eval", "--policies", &policies, "--profiles", &profiles];
        args.extend_from_slice(extra);
        run(&args)
    }

    /// [`Scratch::eval`] as JSON Lines.
    pub(crate) fn eval_jsonl(&self, profiles: &Path) -> Run {
        self.eval(profiles, &["--format", "jsonl"])
    }

    /// Binds `name` to a plugin module with `params` (TOML lines).
    pub(crate) fn bind(&self, name: &str, plugin: &Path, params: &str) -> PathBuf {
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
pub(crate) fn retarget(binding: &str, plugin: &Path) -> String {
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

/// SHA-256 of bytes, hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// SHA-256 of a file, hex.
pub(crate) fn sha256_file(path: &Path) -> String {
    sha256_hex(&std::fs::read(path).unwrap())
}

/// The names in a directory, sorted.
pub(crate) fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// What varies between runs of the same command, replaced before a
/// snapshot: directories (each by a label), exact strings, SHA-256 digests
/// (64 hex digits, as `[SHA256]`) and RFC 3339 timestamps (`[TIMESTAMP]`).
/// insta's own filters need its `filters` feature (and regex); this does
/// the same by scanning characters.
#[derive(Debug, Clone)]
pub(crate) struct Filters {
    /// Literal replacements, applied longest first.
    literals: Vec<(String, String)>,
}

impl Filters {
    /// The repository as `[ROOT]` and the target directory as `[TARGET]`.
    pub(crate) fn new() -> Filters {
        Filters {
            literals: Vec::new(),
        }
        .dir(&root(), "[ROOT]")
        .dir(&target_dir(), "[TARGET]")
    }

    /// Replaces the directory `path` (as given and canonical) by `label`.
    pub(crate) fn dir(mut self, path: &Path, label: &str) -> Filters {
        let mut forms = vec![path.display().to_string()];
        if let Ok(canonical) = std::fs::canonicalize(path) {
            forms.push(canonical.display().to_string());
        }
        for form in forms {
            self = self.literal(&form, label);
        }
        self
    }

    /// Replaces every occurrence of `from` by `to`.
    pub(crate) fn literal(mut self, from: &str, to: &str) -> Filters {
        assert!(!from.is_empty(), "an empty filter would match everywhere");
        if !self.literals.iter().any(|(f, _)| f == from) {
            self.literals.push((from.to_owned(), to.to_owned()));
        }
        self
    }

    /// `text` with everything that varies replaced.
    pub(crate) fn apply(&self, text: &str) -> String {
        let mut literals: Vec<&(String, String)> = self.literals.iter().collect();
        literals.sort_by_key(|(from, _)| std::cmp::Reverse(from.len()));
        let mut text = text.to_owned();
        for (from, to) in literals {
            text = text.replace(from.as_str(), to);
        }
        replace_timestamps(&replace_sha256(&text))
    }
}

/// Words (runs of ASCII letters, digits and `_`) of exactly 64 lowercase
/// hex digits replaced by `[SHA256]`.
fn replace_sha256(text: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(is_word) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        let word = &rest[..end];
        let digest =
            word.len() == 64 && word.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        out.push_str(if digest { "[SHA256]" } else { word });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// RFC 3339 date-times (`2026-11-23T10:11:12.123456Z`: an optional
/// fraction, then `Z` or a `±HH:MM` offset) replaced by `[TIMESTAMP]`.
/// Plain dates are left alone: they are inputs, not times of a run.
fn replace_timestamps(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match timestamp_len(&text.as_bytes()[i..]) {
            Some(len) if i == 0 || !text.as_bytes()[i - 1].is_ascii_digit() => {
                out.push_str("[TIMESTAMP]");
                i += len;
            }
            _ => {
                let c = text[i..].chars().next().unwrap();
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// The length of the RFC 3339 date-time `bytes` starts with, if any.
fn timestamp_len(bytes: &[u8]) -> Option<usize> {
    // Digits (d) and literal bytes of `YYYY-MM-DDTHH:MM:SS`.
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    if bytes.len() < SHAPE.len() {
        return None;
    }
    for (&b, &want) in bytes.iter().zip(SHAPE) {
        let fits = if want == b'd' {
            b.is_ascii_digit()
        } else {
            b.eq_ignore_ascii_case(&want)
        };
        if !fits {
            return None;
        }
    }
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut len = SHAPE.len();
    if bytes.get(len) == Some(&b'.') && digits(len + 1) > 0 {
        len += 1 + digits(len + 1);
    }
    match bytes.get(len) {
        Some(b'Z' | b'z') => Some(len + 1),
        Some(b'+' | b'-')
            if bytes.len() >= len + 6
                && digits(len + 1) == 2
                && bytes[len + 3] == b':'
                && digits(len + 4) == 2 =>
        {
            Some(len + 6)
        }
        _ => None,
    }
}

/// A finished command as one snapshot, in the layout of uv's
/// `uv_snapshot!`: whether it succeeded, its exit code, stdout and stderr,
/// all filtered.
pub(crate) fn snapshot_text(run: &Run, filters: &Filters) -> String {
    format!(
        "success: {}\nexit_code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}\n",
        run.code == 0,
        run.code,
        filters.apply(&run.stdout),
        filters.apply(&run.stderr)
    )
}

/// Asserts a finished command against the snapshot `name` (in
/// `tests/snapshots/`, named after the calling test module), which records
/// the filtered command line as its expression:
/// `verdict_snapshot!("name", run, filters)`.
macro_rules! verdict_snapshot {
    ($name:expr, $run:expr, $filters:expr $(,)?) => {{
        let (run, filters): (&$crate::util::Run, &$crate::util::Filters) = (&$run, &$filters);
        insta::assert_snapshot!(
            $name,
            $crate::util::snapshot_text(run, filters),
            filters.apply(&run.command).as_str()
        )
    }};
}
pub(crate) use verdict_snapshot;

#[test]
fn filters_replace_what_varies_and_only_that() {
    let filters = Filters::new().dir(Path::new("/tmp/.tmpAbC123"), "[SCRATCH]");
    let digest = "0123456789abcdef".repeat(4);
    let text = format!(
        "log `/tmp/.tmpAbC123/d.jsonl` head {digest}\n\
         module_sha256\":\"{digest}\" not {digest}0 nor x{digest}\n\
         at 2026-11-23T10:11:12.123456Z, 2026-11-23T10:11:12+01:00, not 2026-11-23 nor 12026-11-23T10:11:12Z\n"
    );
    assert_eq!(
        filters.apply(&text),
        format!(
            "log `[SCRATCH]/d.jsonl` head [SHA256]\n\
             module_sha256\":\"[SHA256]\" not {digest}0 nor x{digest}\n\
             at [TIMESTAMP], [TIMESTAMP], not 2026-11-23 nor 12026-11-23T10:11:12Z\n"
        )
    );
}
