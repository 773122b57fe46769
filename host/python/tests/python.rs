//! The Python package end to end: the scripts beside this file run in a
//! Python environment kept in the target directory (created, and the pinned
//! `requirements.txt` installed, on the first run or when the pins change),
//! against the extension module cargo built for this test and the `verdict`
//! binary of the same build.
//!
//! - `package_api.py`: loading, digests, the archive, deciding exactly as
//!   `verdict eval`, the errors.
//! - `sql_duckdb.py`: the DuckDB recipe, aggregates checked against the CLI.
//! - `spark_cluster.py`: the Spark recipe on a local cluster of two executor
//!   JVMs (Java installed from Debian's packages when missing), equal to the
//!   CLI, and a job whose executor is killed mid-task still complete.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "tests fail loudly and show what the scripts checked"
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

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
        let verdict = profile.join("verdict");
        assert!(
            verdict.is_file(),
            "`{}` is missing: the tests compare with the CLI; build it (`cargo build -p verdict`) or run `cargo test --workspace`",
            verdict.display()
        );
        let root = profile.parent().unwrap().join("python-env");
        let python = root.join("bin/python");
        let requirements = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/requirements.txt");
        let wanted = std::fs::read_to_string(&requirements).unwrap();
        let stamp = root.join("requirements.installed");
        if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
            run(Command::new("python3").arg("-m").arg("venv").arg("--clear").arg(&root));
            run(Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements));
            std::fs::write(&stamp, &wanted).unwrap();
        }
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
/// variables; its `ok:` lines are shown.
fn script(name: &str, extra: &[(&str, &Path)]) {
    let env = env();
    let work = tempfile::tempdir().unwrap();
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut command = Command::new(&env.python);
    command
        .arg(tests.join(name))
        .env("PYTHONPATH", &env.site)
        .env("VERDICT_BIN", &env.verdict)
        .env("VERDICT_POLICIES", workspace().join("policies"))
        .env("VERDICT_WORK_DIR", work.path())
        .env("VERDICT_CACHE_DIR", "off");
    for (key, value) in extra {
        command.env(key, value);
    }
    let out = run(&mut command);
    assert!(out.contains("ok: "), "{name} reported nothing:\n{out}");
    eprint!("{out}");
}

/// Spark needs a Java runtime; install Debian's when there is none.
fn java() {
    static JAVA: Mutex<bool> = Mutex::new(false);
    let mut ready = JAVA.lock().unwrap();
    if *ready {
        return;
    }
    let present = Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        run(Command::new("apt-get").arg("update").arg("-qq"));
        run(Command::new("apt-get").args(["install", "-y", "-qq", "openjdk-17-jre-headless"]));
    }
    *ready = true;
}

#[test]
fn package_decides_as_the_cli() {
    script("package_api.py", &[]);
}

#[test]
fn duckdb_recipe() {
    script("sql_duckdb.py", &[]);
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
        &[
            ("SPARK_HOME", &spark_home),
            ("SPARK_LOCAL_IP", Path::new("127.0.0.1")),
            ("PYSPARK_PYTHON", python),
            ("PYSPARK_DRIVER_PYTHON", python),
        ],
    );
}
