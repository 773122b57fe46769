//! Files planted where the host reads — a module cache entry or its key,
//! an archive entry — never make it hang or read without bound: a FIFO, a
//! link to `/dev/zero` or a huge sparse file is refused at once, the cache
//! compiles the module again (decisions identical to an uncached run) and
//! the archive reports the entry as a flaw.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{Run, Scratch, verdict};

/// Runs `command` to its end, killing it (and failing the test) should it
/// still run after a generous bound: what these tests guard against is a
/// hang, so a run that ends is the whole check.
fn run_bounded(command: &mut Command) -> Run {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("{command:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    Run {
        command: format!("{command:?}"),
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    let name = CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `name` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

fn link_to_zero(path: &Path) {
    let _ = std::fs::remove_file(path);
    std::os::unix::fs::symlink("/dev/zero", path).unwrap();
}

/// A 3 GiB file that takes no space.
fn sparse(path: &Path) {
    let _ = std::fs::remove_file(path);
    std::fs::File::create(path)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

/// `verdict eval --format jsonl` of the samples with the module cache in
/// `cache`.
fn eval_cached(cache: &Path) -> Run {
    run_bounded(
        verdict()
            .args(["eval", "--format", "jsonl", "--as-of", "2026-11-23"])
            .env("VERDICT_CACHE_DIR", cache),
    )
}

#[test]
fn planted_cache_entries_and_key_are_refused_and_decisions_stay_the_same() {
    let scratch = Scratch::new();
    let cache = scratch.dir.path().join("cache");
    let first = eval_cached(&cache);
    assert_eq!(first.code, 0, "{}", first.stderr);
    // The three reference plugins and the reuse self-check's canary.
    let entries = files_in(&cache.join("modules"));
    assert_eq!(entries.len(), 4, "{entries:?}");
    mkfifo(&entries[0]);
    link_to_zero(&entries[1]);
    sparse(&entries[2]);
    let planted = eval_cached(&cache);
    assert_eq!(planted.code, 0, "{}", planted.stderr);
    assert_eq!(planted.stdout, first.stdout);
    for (entry, why) in entries.iter().zip([
        "it is not a regular file",
        "it is a symbolic link",
        "its length does not match its header",
    ]) {
        let warning = format!("ignoring module cache entry `{}`: {why}", entry.display());
        assert!(planted.stderr.contains(&warning), "{}", planted.stderr);
    }
    // Compiled again and stored: the next run loads all three quietly.
    let again = eval_cached(&cache);
    assert_eq!(again.stdout, first.stdout);
    assert!(!again.stderr.contains("ignoring"), "{}", again.stderr);

    mkfifo(&cache.join("key"));
    let keyless = eval_cached(&cache);
    assert_eq!(keyless.code, 0, "{}", keyless.stderr);
    assert_eq!(keyless.stdout, first.stdout);
    assert!(
        keyless
            .stderr
            .contains("is not a regular file owned by the current user"),
        "{}",
        keyless.stderr
    );
}

#[test]
fn planted_archive_entries_are_flaws_not_hangs() {
    let scratch = Scratch::new();
    let log = scratch.dir.path().join("decisions.jsonl");
    let logged = run_bounded(
        verdict()
            .args(["eval", "--as-of", "2026-11-23", "--log"])
            .arg(&log),
    );
    assert_eq!(logged.code, 0, "{}", logged.stderr);
    let modules = files_in(&scratch.dir.path().join("decisions.archive/modules"));
    assert_eq!(modules.len(), 3, "{modules:?}");
    let sha = modules[0]
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    for (plant, why) in [
        (mkfifo as fn(&Path), "it is not a regular file"),
        (link_to_zero, "it is a symbolic link"),
    ] {
        plant(&modules[0]);
        let flaw = format!("bad-archive-entry: the module {sha} cannot be read: {why}");
        let verified = run_bounded(verdict().args(["log", "verify"]).arg(&log));
        assert_eq!(verified.code, 1, "{}{}", verified.stdout, verified.stderr);
        assert!(verified.stdout.contains(&flaw), "{}", verified.stdout);
        // The 15 decisions of that module cannot be replayed; the others are.
        let replayed = run_bounded(verdict().arg("replay").arg(&log));
        assert!(
            replayed
                .stdout
                .contains("replayed 45: 30 identical, 0 mismatched, 15 not replayable"),
            "{}",
            replayed.stdout
        );
    }
}
