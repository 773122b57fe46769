//! The Python package end to end: the scripts beside this file run in a
//! Python environment kept in the target directory (`tests/setup-env`
//! makes it and installs the pinned `requirements.txt`),
//! against the extension module cargo built for this test and the `verdict`
//! binary of the same build.
//!
//! - `package_api.py`: loading, digests, the archive, deciding exactly as
//!   `verdict eval`, the errors.
//! - `release_load.py`: a signed release taken from a registry (Debian's
//!   `docker-registry`, started by the script on loopback) decides as its
//!   directory; untrusted and keyless loads refused.
//! - `sql_duckdb.py`: the DuckDB recipe, aggregates checked against the CLI.
//! - `spark_cluster.py`: the Spark recipe on a local cluster of two executor
//!   JVMs, equal to the CLI, and a job whose executor is killed mid-task
//!   still complete.
//!
//! The environment (the pinned Python packages, a Java runtime for Spark)
//! is what `tests/setup-env` installs; without it a test fails naming that
//! script. Each script runs in a
//! process group of its own with a time bound; the group is killed when
//! the script ends, so no JVM outlives a test.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "tests fail loudly and show what the scripts checked"
)]

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The build's profile directory (`target/debug`): this test runs from its
/// `deps` directory.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Runs `command`, failing the test with its output unless it succeeds.
#[track_caller]
fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Fails the test with one line naming the setup script unless `ready`.
#[track_caller]
fn require(ready: bool, what: &str) {
    assert!(
        ready,
        "{what} is missing: run tests/setup-env (it installs the test environment)"
    );
}

/// Whether `program args` runs and succeeds.
fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The `verdict` binary of this build's profile, which `cargo test
/// --workspace` builds beside this test, after checking the reference
/// plugins the shipped bindings name are built (`cargo plugins`). Tests
/// build nothing: a missing one fails naming the README's test command.
fn built_cli(profile: &Path) -> PathBuf {
    let plugins = workspace().join("target/wasm32-unknown-unknown/plugin");
    for name in ["staff_allowance", "loan_rates", "product_ladder"] {
        let module = plugins.join(format!("{name}.wasm"));
        require_built(module.is_file(), &module, "cargo plugins");
    }
    let verdict = profile.join("verdict");
    require_built(verdict.is_file(), &verdict, "cargo test --workspace");
    verdict
}

/// Fails the test with one line naming the command that builds `what`.
#[track_caller]
fn require_built(ready: bool, what: &Path, command: &str) {
    assert!(
        ready,
        "`{}` is missing: run `{command}` first (the README's test command does)",
        what.display()
    );
}

/// The Python environment, set up once per test run.
#[derive(Debug)]
struct Env {
    python: PathBuf,
    /// Holds `verdict.abi3.so`, a copy of the module cargo built.
    site: PathBuf,
    verdict: PathBuf,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let profile = profile_dir();
        let verdict = built_cli(&profile);
        // tests/setup-env makes it, with requirements.txt installed.
        let root = profile.parent().unwrap().join("test-env/python");
        let python = root.join("bin/python");
        let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/requirements.txt");
        let wanted = std::fs::read_to_string(&requirements).unwrap();
        let installed = std::fs::read_to_string(root.join("requirements.installed"));
        require(
            python.is_file() && installed.ok().as_deref() == Some(wanted.as_str()),
            &format!(
                "the Python environment `{}` with tests/requirements.txt",
                root.display()
            ),
        );
        let site = root.join("module");
        std::fs::create_dir_all(&site).unwrap();
        std::fs::copy(built_module(&profile), site.join("verdict.abi3.so")).unwrap();
        Env {
            python,
            site,
            verdict,
        }
    })
}

/// The extension module cargo built for this package (the newest, should
/// an older build's copy be beside it).
fn built_module(profile: &Path) -> PathBuf {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> =
        [profile.to_path_buf(), profile.join("deps")]
            .iter()
            .filter_map(|dir| std::fs::read_dir(dir).ok())
            .flatten()
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("libverdict_python") && n.ends_with(".so"))
            })
            .filter_map(|path| Some((path.metadata().ok()?.modified().ok()?, path)))
            .collect();
    found.sort();
    found
        .pop()
        .unwrap_or_else(|| panic!("no libverdict_python*.so under `{}`", profile.display()))
        .1
}

/// Runs one of the Python test scripts with `extra` environment
/// variables, in a process group of its own that is killed whole when the
/// script ends (Spark's JVMs with it) or outlives `limit`; its `ok:` lines
/// are shown.
fn script(name: &str, limit: Duration, extra: &[(&str, &Path)]) {
    let env = env();
    let work = tempfile::tempdir().unwrap();
    let package = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tests = package.join("tests");
    let stdout = work.path().join("stdout");
    let stderr = work.path().join("stderr");
    let mut command = Command::new(&env.python);
    command
        .arg(tests.join(name))
        .env(
            "PYTHONPATH",
            std::env::join_paths([env.site.as_path(), &package.join("recipes")]).unwrap(),
        )
        .env("VERDICT_BIN", &env.verdict)
        .env("VERDICT_POLICIES", workspace().join("policies"))
        .env("VERDICT_WORK_DIR", work.path())
        .env("VERDICT_CACHE_DIR", "off")
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .process_group(0);
    for (key, value) in extra {
        command.env(key, value);
    }
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let group = libc::pid_t::try_from(child.id()).unwrap();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait()));
    let started = Instant::now();
    let status = finished.recv_timeout(limit).ok();
    // Whatever the script left running goes with it.
    // SAFETY: kill(2) with a negative pid signals the process group the
    // script leads; it touches no memory of this process.
    let _ = unsafe { libc::kill(-group, libc::SIGKILL) };
    let out = std::fs::read_to_string(&stdout).unwrap();
    let err = std::fs::read_to_string(&stderr).unwrap();
    match status {
        Some(Ok(status)) if status.success() => {}
        Some(status) => panic!("{name} failed ({status:?}):\n--- stdout\n{out}\n--- stderr\n{err}"),
        None => panic!(
            "{name} did not finish within {limit:?}; killed:\n--- stdout\n{out}\n--- stderr\n{err}"
        ),
    }
    assert!(out.contains("ok: "), "{name} reported nothing:\n{out}");
    eprintln!("{out}{name}: {:.1} s", started.elapsed().as_secs_f64());
}

/// Spark needs a Java runtime.
fn java() {
    require(succeeds("java", &["-version"]), "a Java runtime (`java`)");
}

#[test]
fn package_decides_as_the_cli() {
    script("package_api.py", Duration::from_secs(300), &[]);
}

#[test]
fn a_signed_release_loads_from_a_registry() {
    script("release_load.py", Duration::from_secs(300), &[]);
}

#[test]
fn duckdb_recipe() {
    script("sql_duckdb.py", Duration::from_secs(300), &[]);
}

#[test]
fn spark_recipe_on_a_two_executor_cluster() {
    java();
    let python = &env().python;
    // `local-cluster` starts its executors from SPARK_HOME: the pyspark
    // package holds the whole Spark distribution.
    let spark_home = run(Command::new(python).args([
        "-c",
        "import os, pyspark; print(os.path.dirname(pyspark.__file__))",
    ]));
    let spark_home = PathBuf::from(spark_home.trim());
    script(
        "spark_cluster.py",
        Duration::from_secs(600),
        &[
            ("SPARK_HOME", &spark_home),
            ("SPARK_LOCAL_IP", Path::new("127.0.0.1")),
            ("PYSPARK_PYTHON", python),
            ("PYSPARK_DRIVER_PYTHON", python),
        ],
    );
}
