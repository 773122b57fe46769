//! What `verdict eval` writes never destroys what it should keep: `--output`
//! refuses an existing file unless `--force` is given, and no file a run
//! writes (`--output`, `--rejects`, `--log`) may be one it reads or keeps,
//! however it is spelled (a link, `./`, a hard link). Each refusal exits 2
//! before anything is decided, and leaves every file as it was.

use std::path::Path;

use crate::util::{Scratch, root, run};

const AS_OF: &str = "2026-11-23";

/// Two customers as JSON Lines.
const CUSTOMERS: &str = "{\"id\":\"C-1\",\"birth_date\":\"1990-01-01\"}\n\
                         {\"id\":\"C-2\",\"birth_date\":\"1971-06-30\"}\n";

/// A scratch directory with the shipped bindings, a JSON Lines profiles
/// file and a decision log holding the sample customers' decisions.
fn setup() -> (Scratch, String, String) {
    let scratch = Scratch::shipped();
    let input = scratch.write("customers.jsonl", CUSTOMERS);
    let log = scratch.dir.path().join("decisions.jsonl");
    let samples = root().join("policies/profiles/customers.toml");
    let first = run(&[
        "eval",
        "--policies",
        &scratch.path(),
        "--profiles",
        &samples.display().to_string(),
        "--log",
        &log.display().to_string(),
    ]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    (
        scratch,
        input.display().to_string(),
        log.display().to_string(),
    )
}

/// Every file under `dir` with its bytes, to show that nothing changed.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                found.push((path.display().to_string(), bytes));
            }
        }
    }
    found.sort();
    found
}

/// Runs `eval` with `args` after the setup's bindings and date; it must
/// exit 2 saying `message`, and leave every file of the scratch directory
/// exactly as it was.
#[track_caller]
fn refused(scratch: &Scratch, args: &[&str], message: &str) {
    let before = contents(scratch.dir.path());
    let policies = scratch.path();
    let mut all = vec!["eval", "--policies", &policies, "--as-of", AS_OF];
    all.extend_from_slice(args);
    let refused = run(&all);
    assert_eq!(refused.code, 2, "{}\n{}", refused.command, refused.stderr);
    assert!(
        refused.stderr.contains(message),
        "{} said:\n{}\nnot: {message}",
        refused.command,
        refused.stderr
    );
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    assert!(
        contents(scratch.dir.path()) == before,
        "{} changed the scratch directory",
        refused.command
    );
}

#[test]
fn output_never_replaces_the_decision_log_however_it_is_spelled() {
    let (scratch, input, log) = setup();
    let message =
        |given: &str| format!("--output `{given}` is the decision log given to --log (`{log}`)");
    let same = format!("--output `{log}` is the decision log given to --log: ");
    refused(
        &scratch,
        &["--profiles", &input, "--log", &log, "--output", &log],
        &same,
    );
    let dotted = format!("{}/./decisions.jsonl", scratch.path());
    refused(
        &scratch,
        &["--profiles", &input, "--log", &log, "--output", &dotted],
        &message(&dotted),
    );
    let linked = scratch.dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&log, &linked).unwrap();
    let linked = linked.display().to_string();
    refused(
        &scratch,
        &["--profiles", &input, "--log", &log, "--output", &linked],
        &message(&linked),
    );
    let hard = scratch.dir.path().join("hard.jsonl");
    std::fs::hard_link(&log, &hard).unwrap();
    let hard = hard.display().to_string();
    refused(
        &scratch,
        &[
            "--profiles",
            &input,
            "--log",
            &log,
            "--output",
            &hard,
            "--force",
        ],
        &message(&hard),
    );
    let archive = format!("{}/decisions.archive", scratch.path());
    refused(
        &scratch,
        &["--profiles", &input, "--log", &log, "--output", &archive],
        &format!("--output `{archive}` is the decision log's archive: "),
    );
    // The log is still the intact chain it was.
    let verified = run(&["log", "verify", &log]);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
}

#[test]
fn no_written_file_is_an_input_or_the_rejects_file() {
    let (scratch, input, log) = setup();
    refused(
        &scratch,
        &["--profiles", &input, "--output", &input, "--force"],
        &format!("--output `{input}` is the profiles file: "),
    );
    refused(
        &scratch,
        &["--profiles", &input, "--rejects", &input],
        &format!("--rejects `{input}` is the profiles file: "),
    );
    refused(
        &scratch,
        &["--profiles", &input, "--log", &input],
        &format!("--log `{input}` is the profiles file: "),
    );
    refused(
        &scratch,
        &["--profiles", &input, "--log", &log, "--rejects", &log],
        &format!("--rejects `{log}` is the decision log given to --log: "),
    );
    let both = format!("{}/out.jsonl", scratch.path());
    refused(
        &scratch,
        &["--profiles", &input, "--rejects", &both, "--output", &both],
        &format!("--output `{both}` is the file given to --rejects: "),
    );
}

#[test]
fn an_existing_output_is_replaced_only_with_force() {
    let (scratch, input, _) = setup();
    let output = format!("{}/decided.jsonl", scratch.path());
    let policies = scratch.path();
    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--policies",
            &policies,
            "--as-of",
            AS_OF,
            "--profiles",
            &input,
            "--output",
            &output,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let first = eval(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let written = std::fs::read(&output).unwrap();
    assert_eq!(written.iter().filter(|&&b| b == b'\n').count(), 6);
    std::fs::write(&output, "kept\n").unwrap();
    refused(
        &scratch,
        &["--profiles", &input, "--output", &output],
        &format!("--output `{output}` exists; give --force to replace it"),
    );
    let forced = eval(&["--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(std::fs::read(&output).unwrap(), written);
}

#[test]
fn a_refused_output_leaves_nothing_behind() {
    let (scratch, input, _) = setup();
    let csv = format!("{}/decided.csv", scratch.path());
    refused(
        &scratch,
        &["--profiles", &input, "--output", &csv],
        "a decisions file cannot be CSV (use .parquet, .jsonl or .arrow)",
    );
    let dir = scratch.dir.path().join("decided.parquet");
    std::fs::create_dir(&dir).unwrap();
    let dir = dir.display().to_string();
    refused(
        &scratch,
        &["--profiles", &input, "--output", &dir, "--force"],
        &format!("--output `{dir}` is a directory; name the decisions file to write"),
    );
}
