//! The audit trail: `eval --log` writes a hash-chained log and archives
//! what decided; `log verify` finds every kind of tampering at the right
//! line; `replay` reproduces decisions bit for bit from the log and archive
//! alone; `diff` shows exactly which decisions a policy change would alter.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::util::{
    Filters, REFERENCE, Run, Scratch, decided, decisions_for, json_lines, plugin_wasm, retarget,
    root, run, sha256_hex, verdict, verdict_snapshot, wat,
};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The shipped sample profiles.
fn samples() -> PathBuf {
    root().join("policies/profiles/customers.toml")
}

/// The customer tables of a profiles file.
fn customers_of(path: &Path) -> Vec<toml::Table> {
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["customer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_table().unwrap().clone())
        .collect()
}

/// `verdict eval --log LOG --format jsonl` on the samples (plus `extra` args).
fn eval_logged(policies: &str, log: &Path, extra: &[&str]) -> Run {
    let samples = samples().display().to_string();
    let log = log.display().to_string();
    let mut args = vec![
        "eval",
        "--policies",
        policies,
        "--profiles",
        &samples,
        "--format",
        "jsonl",
        "--log",
        &log,
    ];
    args.extend_from_slice(extra);
    run(&args)
}

pub(crate) fn read_lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub(crate) fn write_lines(log: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(log, text).unwrap();
}

pub(crate) fn verify(log: &Path) -> Run {
    run(&["log", "verify", &log.display().to_string()])
}

fn replay(log: &Path, extra: &[&str]) -> Run {
    let log = log.display().to_string();
    let mut args = vec!["replay", &log];
    args.extend_from_slice(extra);
    run(&args)
}

/// The hash a line must carry, computed as `host/audit/LOG.md` says: SHA-256 of
/// the line with its final `,"hash":"…"` member cut out.
fn expected_hash(line: &str) -> String {
    let cut = line.rfind(",\"hash\":\"").unwrap();
    assert_eq!(line.len() - cut, 9 + 64 + 2, "hash is the last member");
    sha256_hex(format!("{}}}", &line[..cut]).as_bytes())
}

/// Re-seals every line into a fresh chain, as a forger who rewrites the
/// whole log would: the chain alone then looks intact.
pub(crate) fn reseal(lines: &mut [String]) {
    let mut prev = GENESIS.to_owned();
    for line in lines.iter_mut() {
        let body = &line[..line.len() - (9 + 64 + 1) - (9 + 64 + 2)];
        assert!(line[body.len()..].starts_with(",\"prev\":\""));
        let canonical = format!("{body},\"prev\":\"{prev}\"}}");
        let hash = sha256_hex(canonical.as_bytes());
        *line = format!("{body},\"prev\":\"{prev}\",\"hash\":\"{hash}\"}}");
        prev = hash;
    }
}

/// A scratch policies directory whose bindings point at private copies of
/// the built plugins (so the test may delete or replace them).
fn private_policies() -> Scratch {
    let scratch = Scratch::new();
    for name in REFERENCE {
        let copy = scratch
            .dir
            .path()
            .join("plugins")
            .join(format!("{name}.wasm"));
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(plugin_wasm(name), &copy).unwrap();
        let text =
            std::fs::read_to_string(root().join("policies").join(format!("{name}.toml"))).unwrap();
        scratch.write(&format!("policies/{name}.toml"), &retarget(&text, &copy));
    }
    scratch
}

/// A log of the samples under the shipped policies, in a fresh scratch dir.
fn sample_log() -> (Scratch, PathBuf) {
    let scratch = Scratch::shipped();
    let log = scratch.dir.path().join("decisions.jsonl");
    let out = eval_logged(&scratch.path(), &log, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    (scratch, log)
}

/// Asserts verification fails at `line` with `label` in the message;
/// returns the run, for a snapshot of the whole report.
#[track_caller]
fn assert_fails_at(log: &Path, line: usize, label: &str) -> Run {
    let out = verify(log);
    assert_eq!(
        out.code, 1,
        "verify must fail: {}{}",
        out.stdout, out.stderr
    );
    let expected = format!("line {line}: {label}: ");
    assert!(
        out.stdout.contains(&expected),
        "expected `{expected}` in:\n{}",
        out.stdout
    );
    out
}

/// Filters for the output of a command about a log in `scratch`.
fn in_scratch(scratch: &Scratch) -> Filters {
    Filters::new().dir(scratch.dir.path(), "[SCRATCH]")
}

#[test]
fn eval_writes_a_chained_log_and_archive_that_verify() {
    let scratch = Scratch::shipped();
    let log = scratch.dir.path().join("decisions.jsonl");
    let out = eval_logged(&scratch.path(), &log, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let reported: Vec<&str> = out.stdout.lines().collect();
    let customers = customers_of(&samples());
    assert_eq!(reported.len(), customers.len() * REFERENCE.len());

    let lines = read_lines(&log);
    assert_eq!(lines.len(), reported.len());
    let archive = scratch.dir.path().join("decisions.archive");
    let mut prev = GENESIS.to_owned();
    for (i, (line, printed)) in lines.iter().zip(&reported).enumerate() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(record["v"], 1);
        assert_eq!(record["seq"], i as u64 + 1);
        assert_eq!(
            record["prev"],
            prev.as_str(),
            "line {} links to the one before",
            i + 1
        );
        assert_eq!(record["hash"], expected_hash(line).as_str());
        prev = record["hash"].as_str().unwrap().to_owned();
        // The decision is logged byte for byte as it was reported.
        let decision =
            &line[line.find(",\"decision\":").unwrap() + 12..line.rfind(",\"prev\":").unwrap()];
        assert_eq!(decision, *printed);
        // The full input: the profile as given and the evaluation date.
        let customer = &customers[i / REFERENCE.len()];
        assert_eq!(record["input"]["id"], customer["id"].as_str().unwrap());
        assert_eq!(
            record["input"]["name"].as_str(),
            customer.get("name").and_then(|n| n.as_str())
        );
        assert_eq!(record["as_of"], "2026-11-23");
        let time = record["time"].as_str().unwrap();
        assert!(
            time.len() == 27 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
            "RFC 3339 UTC: {time}"
        );
        assert_eq!(record["limits"]["fuel"], 20_000_000);
        // Module and parameters are archived under their SHA-256.
        let policy = record["policy"].as_str().unwrap();
        assert_eq!(record["module_sha256"], record["decision"]["module_sha256"]);
        let module = archive.join("modules").join(format!(
            "{}.wasm",
            record["module_sha256"].as_str().unwrap()
        ));
        assert_eq!(
            std::fs::read(&module).unwrap(),
            std::fs::read(plugin_wasm(policy)).unwrap()
        );
        let params = std::fs::read(archive.join("params").join(format!(
            "{}.json",
            record["params_sha256"].as_str().unwrap()
        )))
        .unwrap();
        assert_eq!(
            sha256_hex(&params),
            record["params_sha256"].as_str().unwrap()
        );
        let params: serde_json::Value = serde_json::from_slice(&params).unwrap();
        if policy == "staff-allowance" {
            assert_eq!(params["staff_limit_usd"], 2000);
            assert_eq!(params["manager_limit_usd"], 5000);
        }
    }

    let out = verify(&log);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("\nhead     {prev}\n")),
        "the head is the last hash: {}",
        out.stdout
    );
    verdict_snapshot!("log_verify_intact", out, in_scratch(&scratch));
    let anchored = run(&[
        "log",
        "verify",
        &log.display().to_string(),
        "--anchor",
        &prev,
    ]);
    assert_eq!(anchored.code, 0, "{}", anchored.stdout);
}

#[test]
fn chain_continues_across_runs() {
    let (scratch, log) = sample_log();
    let first = read_lines(&log);
    let out = eval_logged(&scratch.path(), &log, &["--policy", "loan-rates"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = read_lines(&log);
    assert_eq!(lines.len(), first.len() + customers_of(&samples()).len());
    assert_eq!(
        lines[..first.len()],
        first[..],
        "earlier records are left alone"
    );
    let joint: serde_json::Value = serde_json::from_str(&lines[first.len()]).unwrap();
    let last: serde_json::Value = serde_json::from_str(&first[first.len() - 1]).unwrap();
    assert_eq!(joint["prev"], last["hash"]);
    assert_eq!(joint["seq"], first.len() as u64 + 1);
    assert_eq!(verify(&log).code, 0);
    let anchored = run(&[
        "log",
        "verify",
        &log.display().to_string(),
        "--anchor",
        last["hash"].as_str().unwrap(),
    ]);
    assert_eq!(anchored.code, 0, "the earlier head is still in the log");
}

#[test]
fn editing_one_byte_of_a_value_is_caught_at_its_line() {
    let (scratch, log) = sample_log();
    let mut lines = read_lines(&log);
    let at = lines
        .iter()
        .position(|l| l.contains("\"remaining_usd\":0.0"))
        .unwrap();
    lines[at] = lines[at].replacen("\"remaining_usd\":0.0", "\"remaining_usd\":9.0", 1);
    write_lines(&log, &lines);
    let out = assert_fails_at(&log, at + 1, "edited");
    verdict_snapshot!("log_verify_edited", out, in_scratch(&scratch));
}

#[test]
fn deleting_a_record_is_caught_at_the_gap() {
    let (scratch, log) = sample_log();
    let mut lines = read_lines(&log);
    lines.remove(6);
    write_lines(&log, &lines);
    let out = assert_fails_at(&log, 7, "deleted");
    verdict_snapshot!("log_verify_deleted", out, in_scratch(&scratch));
}

#[test]
fn swapping_two_records_is_caught_as_reordered() {
    let (scratch, log) = sample_log();
    let mut lines = read_lines(&log);
    lines.swap(4, 5);
    write_lines(&log, &lines);
    let out = assert_fails_at(&log, 5, "reordered");
    verdict_snapshot!("log_verify_reordered", out, in_scratch(&scratch));
}

#[test]
fn a_torn_last_record_is_caught_and_blocks_appending() {
    let (scratch, log) = sample_log();
    let text = std::fs::read(&log).unwrap();
    let lines = read_lines(&log).len();
    // Cut the file in the middle of its last record, as a crash could.
    std::fs::write(&log, &text[..text.len() - 100]).unwrap();
    let out = assert_fails_at(&log, lines, "torn");
    verdict_snapshot!("log_verify_torn", out, in_scratch(&scratch));

    let out = eval_logged(&scratch.path(), &log, &[]);
    assert_eq!(out.code, 2, "appending to a torn log is refused");
    assert!(
        out.stdout.is_empty(),
        "nothing is reported that was not logged"
    );
    assert!(
        out.stderr.contains(&format!("line {lines}: torn")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("cannot append"), "{}", out.stderr);
}

#[test]
fn appending_after_an_edited_last_record_is_refused() {
    let (scratch, log) = sample_log();
    let mut lines = read_lines(&log);
    let last = lines.len() - 1;
    lines[last] = lines[last].replacen("\"as_of\":\"2026-11-23\"", "\"as_of\":\"2026-11-24\"", 1);
    write_lines(&log, &lines);
    let out = eval_logged(&scratch.path(), &log, &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains(&format!("line {}: edited", lines.len())),
        "{}",
        out.stderr
    );
    assert_eq!(read_lines(&log), lines, "nothing was appended");
}

#[test]
fn a_missing_archived_module_is_caught_at_its_first_use() {
    let (scratch, log) = sample_log();
    let lines = read_lines(&log);
    let first_staff = lines
        .iter()
        .position(|l| l.contains("\"policy\":\"staff-allowance\""))
        .unwrap();
    let record: serde_json::Value = serde_json::from_str(&lines[first_staff]).unwrap();
    let sha = record["module_sha256"].as_str().unwrap();
    std::fs::remove_file(
        scratch
            .dir
            .path()
            .join("decisions.archive/modules")
            .join(format!("{sha}.wasm")),
    )
    .unwrap();
    let report = assert_fails_at(&log, first_staff + 1, "missing-archive-entry").stdout;
    assert!(
        report.contains(&format!("the module {sha} is missing")),
        "{report}"
    );
    // Replay cannot run those decisions and says so.
    let out = replay(&log, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains(&format!("NOT REPLAYED line {}", first_staff + 1)),
        "{}",
        out.stdout
    );
    verdict_snapshot!("replay_not_replayable", out, in_scratch(&scratch));
}

#[test]
fn a_damaged_archive_entry_is_caught() {
    let (scratch, log) = sample_log();
    let lines = read_lines(&log);
    let record: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    let params = scratch
        .dir
        .path()
        .join("decisions.archive/params")
        .join(format!(
            "{}.json",
            record["params_sha256"].as_str().unwrap()
        ));
    // A different but valid parameter set, under the old name.
    let text = std::fs::read_to_string(&params).unwrap();
    std::fs::write(&params, text.replace("2.9", "1.9")).unwrap();
    assert_fails_at(&log, 1, "bad-archive-entry");
    let out = replay(&log, &[]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("NOT REPLAYED line 1"), "{}", out.stdout);
    assert!(
        out.stdout.contains("does not match its name"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_resealed_record_naming_a_module_that_did_not_make_it_is_caught_at_its_line() {
    let (_scratch, log) = sample_log();
    let original = read_lines(&log);
    let member = |line: &str, key: &str| -> String {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        record[key].as_str().unwrap().to_owned()
    };
    let staff = original
        .iter()
        .position(|l| l.contains("\"policy\":\"staff-allowance\""))
        .unwrap();
    let other = original
        .iter()
        .find(|l| !l.contains("\"policy\":\"staff-allowance\""))
        .unwrap();
    let staff_module = member(&original[staff], "module_sha256");
    let other_module = member(other, "module_sha256");
    let version = member(&original[staff], "plugin_version");

    // The record names another archived module than its decision does.
    let mut lines = original.clone();
    lines[staff] = lines[staff].replacen(&staff_module, &other_module, 1);
    reseal(&mut lines);
    write_lines(&log, &lines);
    let report = assert_fails_at(&log, staff + 1, "inconsistent").stdout;
    assert!(
        report.contains(&format!(
            "the record's module_sha256 is `{other_module}` but its decision's is `{staff_module}`"
        )),
        "{report}"
    );

    // Record and decision agree on a version the archived module does not
    // declare.
    let mut lines = original.clone();
    lines[staff] = lines[staff].replace(
        &format!("\"plugin_version\":\"{version}\""),
        "\"plugin_version\":\"9.9.9\"",
    );
    reseal(&mut lines);
    write_lines(&log, &lines);
    let report = assert_fails_at(&log, staff + 1, "contradicts-archive").stdout;
    assert!(
        report.contains(&format!(
            "the record says plugin version `9.9.9`, but the module {staff_module} archived under \
             its `module_sha256` is plugin `staff-allowance` version `{version}`"
        )),
        "{report}"
    );

    write_lines(&log, &original);
    assert_eq!(verify(&log).code, 0);
}

#[test]
fn unreadable_logs_exit_2_and_empty_ones_verify() {
    let scratch = Scratch::new();
    let missing = scratch.dir.path().join("nope.jsonl");
    assert_eq!(verify(&missing).code, 2);
    assert_eq!(replay(&missing, &[]).code, 2);
    let empty = scratch.write("empty.jsonl", "");
    assert_eq!(verify(&empty).code, 0);
}

#[test]
fn nothing_is_reported_when_the_log_cannot_be_written() {
    let scratch = Scratch::shipped();
    let log = scratch.dir.path().join("no-such-dir/decisions.jsonl");
    let out = eval_logged(&scratch.path(), &log, &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stdout.is_empty(),
        "decisions must not be reported before they are logged"
    );
    assert!(out.stderr.contains("cannot open"), "{}", out.stderr);
}

#[test]
fn replay_is_bit_exact_after_the_plugins_and_policies_are_gone() {
    let scratch = private_policies();
    let policies = scratch.dir.path().join("policies");
    let log = scratch.dir.path().join("audit/decisions.jsonl");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let out = eval_logged(&policies.display().to_string(), &log, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let decisions = out.stdout.lines().count();

    // Replace one plugin by another module, then delete everything.
    std::fs::copy(
        plugin_wasm("loan-rates"),
        scratch.dir.path().join("plugins/staff-allowance.wasm"),
    )
    .unwrap();
    let replaced = replay(&log, &[]);
    assert_eq!(replaced.code, 0, "{}", replaced.stdout);
    std::fs::remove_dir_all(scratch.dir.path().join("plugins")).unwrap();
    std::fs::remove_dir_all(&policies).unwrap();

    let out = replay(&log, &[]);
    assert_eq!(
        out.stdout,
        format!("replayed {decisions}: {decisions} identical, 0 mismatched\n")
    );
    verdict_snapshot!("replay_identical", out, in_scratch(&scratch));
}

#[test]
fn replay_matches_the_built_plugins() {
    // The log records the digests of the very modules `cargo plugins`
    // built, and a second log of the same run decides the same.
    let (scratch, log) = sample_log();
    let lines = read_lines(&log);
    assert_eq!(
        lines.len(),
        customers_of(&samples()).len() * REFERENCE.len()
    );
    for line in &lines {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        let built = std::fs::read(plugin_wasm(record["policy"].as_str().unwrap())).unwrap();
        assert_eq!(
            sha256_hex(&built),
            record["module_sha256"].as_str().unwrap(),
            "reproducible build"
        );
    }
    let again = scratch.dir.path().join("again.jsonl");
    let out = eval_logged(&scratch.path(), &again, &[]);
    assert_eq!(out.code, 0);
    let decisions = |log: &Path| -> Vec<String> {
        read_lines(log)
            .iter()
            .map(|l| {
                l[l.find(",\"decision\":").unwrap()..l.rfind(",\"prev\":").unwrap()].to_owned()
            })
            .collect()
    };
    assert_eq!(
        decisions(&log),
        decisions(&again),
        "same decision bytes from a separate process"
    );
    assert_eq!(replay(&log, &[]).code, 0);
}

#[test]
fn replay_selects_by_customer_policy_and_lines() {
    let (_scratch, log) = sample_log();
    let customers = customers_of(&samples()).len();
    let summary = |extra: &[&str]| {
        let out = replay(&log, extra);
        assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
        out.stdout.trim().to_owned()
    };
    assert_eq!(
        summary(&["--customer", "C-0002"]),
        "replayed 3: 3 identical, 0 mismatched"
    );
    assert_eq!(
        summary(&[
            "--customer",
            "C-0002",
            "--customer",
            "C-0003",
            "--policy",
            "loan-rates"
        ]),
        "replayed 2: 2 identical, 0 mismatched"
    );
    assert_eq!(
        summary(&["--policy", "loan-rates"]),
        format!("replayed {customers}: {customers} identical, 0 mismatched")
    );
    assert_eq!(
        summary(&["--lines", "4..9"]),
        "replayed 6: 6 identical, 0 mismatched"
    );
    assert_eq!(
        summary(&["--lines", "5"]),
        "replayed 1: 1 identical, 0 mismatched"
    );
    let none = replay(&log, &["--customer", "nobody"]);
    assert_eq!(none.code, 2);
    assert!(
        none.stderr.contains("matches the selection"),
        "{}",
        none.stderr
    );
    assert_eq!(replay(&log, &["--lines", "9..4"]).code, 2);
}

#[test]
fn a_forged_but_well_chained_log_fails_replay() {
    let (scratch, log) = sample_log();
    let original_head = read_lines(&log).last().map(|l| expected_hash(l)).unwrap();
    let mut lines = read_lines(&log);
    // Turn C-0002's staff referral into an approval, and re-seal the chain.
    let at = lines
        .iter()
        .position(|l| l.contains("\"customer\":\"C-0002\",\"policy\":\"staff-allowance\""))
        .unwrap();
    assert!(lines[at].contains("\"outcome\":\"refer\""));
    lines[at] = lines[at].replacen("\"outcome\":\"refer\"", "\"outcome\":\"approve\"", 1);
    reseal(&mut lines);
    write_lines(&log, &lines);

    assert_eq!(
        verify(&log).code,
        0,
        "the chain alone cannot tell a full rewrite"
    );
    let anchored = run(&[
        "log",
        "verify",
        &log.display().to_string(),
        "--anchor",
        &original_head,
    ]);
    assert_eq!(anchored.code, 1, "but the head noted earlier is gone");
    assert!(
        anchored.stdout.contains("holds no record with hash"),
        "{}",
        anchored.stdout
    );

    let out = replay(&log, &[]);
    assert!(
        out.stdout.contains(&format!(
            "MISMATCH line {}: customer C-0002, policy staff-allowance\n",
            at + 1
        )),
        "{}",
        out.stdout
    );
    verdict_snapshot!("replay_mismatch", out, in_scratch(&scratch));
}

#[test]
fn swapping_in_other_parameters_under_their_own_hash_fails_replay() {
    let (scratch, log) = sample_log();
    let mut lines = read_lines(&log);
    let staff: serde_json::Value = serde_json::from_str(
        lines
            .iter()
            .find(|l| l.contains("\"policy\":\"staff-allowance\""))
            .unwrap(),
    )
    .unwrap();
    let old_sha = staff["params_sha256"].as_str().unwrap().to_owned();
    let params_dir = scratch.dir.path().join("decisions.archive/params");
    let generous = std::fs::read_to_string(params_dir.join(format!("{old_sha}.json")))
        .unwrap()
        .replace("2000", "2500");
    let new_sha = sha256_hex(generous.as_bytes());
    std::fs::write(params_dir.join(format!("{new_sha}.json")), &generous).unwrap();
    for line in &mut lines {
        *line = line.replace(&old_sha, &new_sha);
    }
    reseal(&mut lines);
    write_lines(&log, &lines);
    assert_eq!(verify(&log).code, 0, "a consistent forgery passes verify");
    let out = replay(&log, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout
            .contains("customer C-0002, policy staff-allowance"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("value.limit_usd: 2000.0 -> 2500.0"),
        "{}",
        out.stdout
    );
}

#[test]
fn plugins_cannot_be_nondeterministic() {
    // No clock, no randomness: a module importing anything is refused, and
    // nothing is logged.
    let refused = Scratch::new();
    refused.bind("wasi-import", &wat("wasi-import"), "");
    let log = refused.dir.path().join("d.jsonl");
    let out = eval_logged(&refused.path(), &log, &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("wasi_snapshot_preview1.fd_write"),
        "{}",
        out.stderr
    );
    assert!(
        !log.exists(),
        "no log is created for a refused configuration"
    );

    // A plugin that tries to keep state, one that spins until its fuel is
    // gone (an `error` decision), and a plain one: every replay is exact.
    let scratch = Scratch::new();
    for name in ["counter", "spin", "hello"] {
        scratch.bind(name, &wat(name), "");
    }
    let first = scratch.dir.path().join("first.jsonl");
    let second = scratch.dir.path().join("second.jsonl");
    let a = eval_logged(&scratch.path(), &first, &[]);
    let b = eval_logged(&scratch.path(), &second, &[]);
    assert_eq!(a.code, 1, "spin yields error decisions");
    assert_eq!(a.stdout, b.stdout, "two processes, the same bytes");
    let expected = decisions_for(
        customers_of(&samples())
            .iter()
            .map(|customer| customer["id"].as_str().unwrap().to_owned()),
        &[
            ("counter", "fresh", "first-call"),
            ("hello", "checked", "hand-written"),
            ("spin", "error", "out-of-fuel"),
        ],
    );
    assert_eq!(decided(&json_lines(&a.stdout)), expected);
    let decisions = expected.len();
    for log in [&first, &second] {
        let out = replay(log, &[]);
        assert_eq!(out.code, 0, "{}", out.stdout);
        assert_eq!(
            out.stdout.trim(),
            format!("replayed {decisions}: {decisions} identical, 0 mismatched")
        );
    }
}

#[test]
fn concurrent_appends_do_not_interleave() {
    let scratch = Scratch::shipped();
    let mut text = String::from("as_of = 2026-11-23\n");
    for i in 0..1500 {
        text.push_str(&format!(
            "\n[[customer]]\nid = \"K-{i}\"\nbirth_date = 19{:02}-03-04\n[customer.stay]\nrecovery_spent_usd = {}\nrequested_recovery_usd = 100\n",
            10 + i % 90,
            i % 3000
        ));
    }
    let profiles = scratch
        .write("profiles/many.toml", &text)
        .display()
        .to_string();
    let log = scratch
        .dir
        .path()
        .join("shared.jsonl")
        .display()
        .to_string();
    let spawn = || {
        verdict()
            .args([
                "eval",
                "--policies",
                &scratch.path(),
                "--profiles",
                &profiles,
                "--format",
                "jsonl",
                "--log",
                &log,
                "--wait",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let lines = read_lines(Path::new(&log));
    assert_eq!(lines.len(), 2 * 1500 * REFERENCE.len());
    let out = verify(Path::new(&log));
    assert_eq!(out.code, 0, "{}", out.stdout);
    // Each run's records are contiguous: the first half is one run.
    let half: BTreeSet<&str> = lines[..lines.len() / 2]
        .iter()
        .map(|l| &l[l.find("\"time\":").unwrap()..][..36])
        .collect();
    assert_eq!(half.len(), 1, "one run, one batch time: {half:?}");
}

/// Staff requests whose total is over US$2,000 and at most US$2,500 (valid
/// amounts only): the customers the what-if must move from refer to approve.
fn expected_referrals_approved(profiles: &[PathBuf]) -> BTreeSet<String> {
    let cents = |value: Option<&toml::Value>| -> Option<i64> {
        let usd = match value? {
            toml::Value::Integer(i) => *i as f64,
            toml::Value::Float(f) => *f,
            _ => return None,
        };
        let cents = (usd * 100.0).round();
        ((usd * 100.0 - cents).abs() < 1e-6).then_some(cents as i64)
    };
    let mut expected = BTreeSet::new();
    for path in profiles {
        for customer in customers_of(path) {
            let Some(stay) = customer.get("stay").and_then(|s| s.as_table()) else {
                continue;
            };
            let role = stay
                .get("requested_by")
                .and_then(|r| r.as_str())
                .unwrap_or("staff");
            let spent = cents(stay.get("recovery_spent_usd"))
                .or(stay.get("recovery_spent_usd").map_or(Some(0), |_| None));
            let requested = cents(stay.get("requested_recovery_usd"));
            if let (Some(spent), Some(requested)) = (spent, requested) {
                let total = spent + requested;
                if role == "staff"
                    && requested > 0
                    && spent >= 0
                    && total > 200_000
                    && total <= 250_000
                {
                    expected.insert(customer["id"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    expected
}

#[test]
fn raising_the_staff_allowance_turns_exactly_the_expected_referrals_into_approvals() {
    let scratch = Scratch::shipped();
    // The samples, plus requests right at the edges of both limits.
    let edges = scratch.write(
        "profiles/edges.toml",
        r#"as_of = 2026-11-23
[[customer]]
id = "E-01"
birth_date = 1990-01-01
[customer.stay]
recovery_spent_usd = 1999.99
requested_recovery_usd = 0.01
[[customer]]
id = "E-02"
birth_date = 1990-01-01
[customer.stay]
recovery_spent_usd = 2000.00
requested_recovery_usd = 0.01
[[customer]]
id = "E-03"
birth_date = 1990-01-01
[customer.stay]
recovery_spent_usd = 2000
requested_recovery_usd = 500
requested_by = "staff"
[[customer]]
id = "E-04"
birth_date = 1990-01-01
[customer.stay]
recovery_spent_usd = 2000
requested_recovery_usd = 500.01
[[customer]]
id = "E-05"
birth_date = 1990-01-01
[customer.stay]
recovery_spent_usd = 2300
requested_recovery_usd = 100
requested_by = "manager"
[[customer]]
id = "E-06"
birth_date = 1990-01-01
[customer.stay]
requested_recovery_usd = 2400
"#,
    );
    let log = scratch.dir.path().join("decisions.jsonl");
    let edges_arg = edges.display().to_string();
    let out = eval_logged(&scratch.path(), &log, &["--profiles", &edges_arg]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let logged = json_lines(&out.stdout);
    let outcome_of: BTreeMap<(String, String), String> = logged
        .iter()
        .map(|r| {
            (
                (
                    r["customer"].as_str().unwrap().to_owned(),
                    r["policy"].as_str().unwrap().to_owned(),
                ),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();

    let expected = expected_referrals_approved(&[samples(), edges.clone()]);
    assert!(
        expected.contains("C-0002")
            && expected.contains("E-02")
            && expected.contains("E-03")
            && expected.contains("E-06"),
        "{expected:?}"
    );
    for id in &expected {
        assert_eq!(
            outcome_of[&(id.clone(), "staff-allowance".to_owned())],
            "refer",
            "{id} is referred at US$2,000"
        );
    }

    // The same bindings with the staff limit raised to US$2,500.
    let raised = Scratch::shipped();
    let binding = raised.dir.path().join("staff-allowance.toml");
    let text = std::fs::read_to_string(&binding).unwrap();
    assert!(text.contains("staff_limit_usd = 2000"));
    std::fs::write(
        &binding,
        text.replace("staff_limit_usd = 2000", "staff_limit_usd = 2500"),
    )
    .unwrap();

    let out = run(&[
        "diff",
        &log.display().to_string(),
        "--policies",
        &raised.path(),
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(report["compared"], logged.len());
    assert_eq!(report["skipped"], serde_json::json!([]));
    let mut approved = BTreeSet::new();
    for change in report["changes"].as_array().unwrap() {
        let customer = change["customer"].as_str().unwrap();
        assert_eq!(
            change["policy"], "staff-allowance",
            "only staff decisions change: {change}"
        );
        let line = change["line"].as_u64().unwrap() as usize;
        assert_eq!(
            logged[line - 1]["customer"],
            customer,
            "lines point at the logged decision"
        );
        let (from, to) = (
            change["from"].as_str().unwrap(),
            change["to"].as_str().unwrap(),
        );
        let paths: BTreeSet<&str> = change["differences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["path"].as_str().unwrap())
            .collect();
        if (from, to) == ("refer", "approve") {
            approved.insert(customer.to_owned());
            assert!(
                paths.contains("outcome") && paths.contains("value.limit_usd"),
                "{paths:?}"
            );
        } else {
            // Every other staff request only sees the new limit in its values.
            assert_eq!(from, to, "{change}");
            assert!(paths.contains("value.limit_usd"), "{paths:?}");
            assert!(
                paths
                    .iter()
                    .all(|p| p.starts_with("value.") || p.ends_with(".message")),
                "{paths:?}"
            );
            let limit = change["differences"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["path"] == "value.limit_usd")
                .unwrap();
            assert_eq!(
                (limit["old"].as_f64(), limit["new"].as_f64()),
                (Some(2000.0), Some(2500.0))
            );
        }
    }
    assert_eq!(
        approved, expected,
        "exactly the expected referrals become approvals"
    );
    let policies = report["policies"].as_array().unwrap();
    let names: Vec<&str> = policies
        .iter()
        .map(|p| p["policy"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["loan-rates", "product-ladder", "staff-allowance"]);
    for policy in policies {
        let transitions: Vec<(String, String, u64)> = policy["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["from"].as_str().unwrap().to_owned(),
                    t["to"].as_str().unwrap().to_owned(),
                    t["count"].as_u64().unwrap(),
                )
            })
            .collect();
        match policy["policy"].as_str().unwrap() {
            "staff-allowance" => {
                let outcome_changes: Vec<_> =
                    transitions.iter().filter(|(f, t, _)| f != t).collect();
                assert_eq!(
                    outcome_changes,
                    [&(
                        "refer".to_owned(),
                        "approve".to_owned(),
                        expected.len() as u64
                    )]
                );
            }
            _ => assert_eq!(policy["changed"], 0, "{policy}"),
        }
    }
    // Manager requests are untouched (E-05 is under both limits).
    assert!(
        !report["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["customer"] == "E-05")
    );

    let table = run(&[
        "diff",
        &log.display().to_string(),
        "--policies",
        &raised.path(),
    ]);
    assert!(
        table
            .stdout
            .contains(&format!("  refer -> approve: {}\n", expected.len())),
        "{}",
        table.stdout
    );
    verdict_snapshot!(
        "diff_table",
        table,
        in_scratch(&scratch).dir(raised.dir.path(), "[RAISED]")
    );
}

#[test]
fn diff_skips_policies_the_other_set_lacks() {
    let (scratch, log) = sample_log();
    let only_loans = Scratch::new();
    let text = std::fs::read_to_string(root().join("policies/loan-rates.toml")).unwrap();
    only_loans.write(
        "loan-rates.toml",
        &retarget(&text, &plugin_wasm("loan-rates")),
    );
    let out = run(&[
        "diff",
        &log.display().to_string(),
        "--policies",
        &only_loans.path(),
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let customers = customers_of(&samples()).len();
    assert_eq!(report["compared"], customers);
    assert_eq!(report["changed"], 0, "the same loan policy changes nothing");
    assert_eq!(
        report["skipped"],
        serde_json::json!([{"policy":"product-ladder","decisions":customers},{"policy":"staff-allowance","decisions":customers}])
    );
    let table = run(&[
        "diff",
        &log.display().to_string(),
        "--policies",
        &only_loans.path(),
    ]);
    verdict_snapshot!(
        "diff_table_skipped",
        table,
        in_scratch(&scratch).dir(only_loans.dir.path(), "[ONLY_LOANS]")
    );
}

#[test]
fn a_log_another_process_holds_is_refused_at_once_without_wait() {
    let scratch = Scratch::shipped();
    let data = Scratch::new();
    let log = data.dir.path().join("decisions.jsonl");
    let held = std::fs::File::create(&log).unwrap();
    held.lock().unwrap();
    let out = eval_logged(&scratch.path(), &log, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "error: `{}` is locked by another process appending to it (a running `verdict \
             serve` holds its log for as long as it runs); pass --wait to wait for it to finish\n",
            log.display()
        )
    );
    drop(held);
    assert_eq!(std::fs::read(&log).unwrap(), b"");
}

#[test]
fn a_resealed_log_claiming_an_enormous_fuel_budget_is_suspicious_not_run() {
    let (_scratch, log) = sample_log();
    let mut lines = read_lines(&log);
    assert!(lines[4].contains("\"fuel\":20000000,"), "{}", lines[4]);
    lines[4] = lines[4].replace("\"fuel\":20000000,", "\"fuel\":18000000000000000000,");
    reseal(&mut lines);
    write_lines(&log, &lines);
    assert_eq!(verify(&log).code, 0, "the chain alone looks intact");
    let out = replay(&log, &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "suspicious: the record claims fuel 18000000000000000000, over the replay cap \
             200000000"
        ),
        "{}",
        out.stdout
    );
    // Every other record replays identically.
    assert!(out.stdout.contains("44 identical"), "{}", out.stdout);
}

#[test]
fn a_resealed_log_claiming_no_memory_or_stack_is_suspicious_not_run() {
    let (_scratch, log) = sample_log();
    let mut lines = read_lines(&log);
    let memory = format!("\"memory_bytes\":{},", 32 << 20);
    let stack = format!("\"stack_bytes\":{}", 512 << 10);
    assert!(lines[4].contains(&memory), "{}", lines[4]);
    assert!(lines[7].contains(&stack), "{}", lines[7]);
    lines[4] = lines[4].replace(&memory, "\"memory_bytes\":1,");
    lines[7] = lines[7].replace(&stack, "\"stack_bytes\":0");
    reseal(&mut lines);
    write_lines(&log, &lines);
    assert_eq!(verify(&log).code, 0, "the chain alone looks intact");
    let out = replay(&log, &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    for claim in [
        "suspicious: the record claims memory_bytes 1, under the replay floor 4194304",
        "suspicious: the record claims stack_bytes 0, under the replay floor 65536",
    ] {
        assert!(out.stdout.contains(claim), "{}", out.stdout);
    }
    assert!(out.stdout.contains("43 identical"), "{}", out.stdout);
}

#[test]
fn a_resealed_log_whose_capped_budget_would_run_for_days_is_cut_and_suspicious() {
    let scratch = Scratch::new();
    for name in ["spin", "hello"] {
        scratch.bind(name, &wat(name), "");
    }
    let log = scratch.dir.path().join("decisions.jsonl");
    let out = eval_logged(&scratch.path(), &log, &[]);
    assert_eq!(out.code, 1, "spin yields error decisions: {}", out.stderr);
    let mut lines = read_lines(&log);
    // Customers in order, each under hello then spin: line 2 is the first
    // spin record.
    assert!(lines[1].contains("\"policy\":\"spin\""), "{}", lines[1]);
    assert!(lines[2].contains("\"policy\":\"hello\""), "{}", lines[2]);
    // Within the raised cap, but spin would loop on it for days.
    let huge = "1000000000000000";
    assert!(lines[1].contains("\"fuel\":20000000,"), "{}", lines[1]);
    lines[1] = lines[1].replace("\"fuel\":20000000,", &format!("\"fuel\":{huge},"));
    reseal(&mut lines);
    write_lines(&log, &lines);
    assert_eq!(verify(&log).code, 0, "the chain alone looks intact");
    let record: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    let customer = record["input"]["id"].as_str().unwrap();
    // The record is cut and replay goes on with the next (a hello record:
    // the unedited spin records are left out, as they run out of fuel only
    // after tens of milliseconds, which a loaded machine could stretch
    // past the bound).
    let out = replay(
        &log,
        &[
            "--lines",
            "1..3",
            "--max-fuel",
            huge,
            "--decision-timeout",
            "200ms",
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        out.stdout,
        format!(
            "NOT REPLAYED line 2: customer {customer}, policy spin: suspicious: plugin ran \
             longer than 200 ms (the replay's bound per decision)\n\
             replayed 3: 2 identical, 0 mismatched, 1 not replayable\n"
        )
    );
}
