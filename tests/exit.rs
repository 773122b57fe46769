//! Exit statuses that say what happened: a failure after output began is
//! not "bad input", and a reader that stops early is not an error.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::Stdio;

use crate::util::{Scratch, run, run_command, verdict};

/// A profiles file of `n` hotel guests, each asking for a recovery spend.
fn guests(n: usize) -> String {
    let mut text = String::from("as_of = 2026-11-23\n");
    for i in 0..n {
        write!(
            text,
            "\n[[customer]]\nid = \"G-{i}\"\nbirth_date = 1980-01-01\n\
             [customer.stay]\nrecovery_spent_usd = 100\nrequested_recovery_usd = {}\n",
            1 + i % 500
        )
        .unwrap();
    }
    text
}

#[test]
fn a_log_that_fills_up_after_output_began_exits_3_and_keeps_what_was_printed() {
    let scratch = Scratch::shipped();
    // Two chunks of 8,192 customers: the first is logged and printed, the
    // second cannot be logged.
    let data = Scratch::new();
    let profiles = data.write("guests.toml", &guests(8_192 + 2_000));
    let log = data.dir.path().join("decisions.jsonl");
    let mut command = verdict();
    command.args([
        "eval",
        "--policies",
        &scratch.path(),
        "--profiles",
        &profiles.display().to_string(),
        "--format",
        "jsonl",
        "--log",
        &log.display().to_string(),
    ]);
    // Files of this process may not grow past 27 MiB: the first chunk's
    // records (about 25 MB in the log) fit, the second's (about 6 MB more)
    // do not. SIGXFSZ is ignored,
    // so the write fails with EFBIG instead of killing the process.
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 27 << 20,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
                || libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run_command(&mut command);
    assert_eq!(out.code, 3, "{}", out.stderr);
    // Exactly the first chunk was reported, and it is in the log.
    assert_eq!(out.stdout.lines().count(), 8_192 * 3);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 8_192 * 3);
    assert!(
        out.stderr.starts_with("error: cannot append to `"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.ends_with(
            "note: decisions reported before this error stand; the rest were not made\n"
        ),
        "{}",
        out.stderr
    );
    // The log is whole up to its last record.
    let verified = run(&["log", "verify", &log.display().to_string()]);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
}

#[test]
fn diff_into_a_reader_that_stops_early_ends_quietly() {
    let scratch = Scratch::shipped();
    let data = Scratch::new();
    let profiles = data.write("guests.toml", &guests(3_000));
    let log = data.dir.path().join("decisions.jsonl");
    let logged = run(&[
        "eval",
        "--policies",
        &scratch.path(),
        "--profiles",
        &profiles.display().to_string(),
        "--log",
        &log.display().to_string(),
    ]);
    assert_eq!(logged.code, 0, "{}", logged.stderr);
    // A higher limit changes every staff decision: megabytes of JSON, far
    // more than a pipe holds, so the writer must hit the closed pipe.
    let next = Scratch::shipped();
    let binding = next.dir.path().join("staff-allowance.toml");
    let text = std::fs::read_to_string(&binding).unwrap();
    std::fs::write(
        &binding,
        text.replace("staff_limit_usd = 2000", "staff_limit_usd = 2100"),
    )
    .unwrap();
    let mut child = verdict()
        .args([
            "diff",
            &log.display().to_string(),
            "--policies",
            &next.path(),
            "--format",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first.trim_end(), "{");
    // The reader is gone (as with `| head -1`).
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8(output.stderr).unwrap(), "");
}
