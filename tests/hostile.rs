//! Hostile and hand-written plugins: the sandbox contains every failure to
//! one `error` decision, refuses forbidden imports at load, and keeps no
//! state between evaluations.

use std::path::Path;

use serde_json::Value;

use crate::util::{Scratch, decided, decisions_for, json_lines, wat};

/// A profiles file of `n` customers.
fn customers(scratch: &Scratch, n: usize) -> String {
    let mut text = String::from("as_of = 2026-11-23\n");
    for i in 0..n {
        text.push_str(&format!(
            "\n[[customer]]\nid = \"H-{i}\"\nbirth_date = 1990-01-{:02}\n",
            1 + i % 28
        ));
    }
    scratch
        .write("profiles/many.toml", &text)
        .display()
        .to_string()
}

/// What each of the `n` customers of [`customers`] must get from each
/// policy (in policy name order): `(policy, outcome, code)`.
fn expected(n: usize, per_customer: &[(&str, &str, &str)]) -> Vec<[String; 4]> {
    decisions_for((0..n).map(|i| format!("H-{i}")), per_customer)
}

/// The message of a record's first reason.
fn message(record: &Value) -> &str {
    record["reasons"][0]["message"].as_str().unwrap()
}

/// Binds the WAT plugins `names` in a scratch directory.
fn with_wat(names: &[&str]) -> Scratch {
    let scratch = Scratch::new();
    for name in names {
        scratch.bind(name, &wat(name), "");
    }
    scratch
}

#[test]
fn endless_loop_is_stopped_by_fuel_and_others_go_on() {
    let scratch = with_wat(&["spin", "hello"]);
    let profiles = customers(&scratch, 3);
    let out = scratch.eval_jsonl(Path::new(&profiles));
    assert_eq!(out.code, 1, "an error decision exits 1: {}", out.stderr);
    assert_eq!(
        decided(&json_lines(&out.stdout)),
        expected(
            3,
            &[
                ("hello", "checked", "hand-written"),
                ("spin", "error", "out-of-fuel")
            ]
        )
    );
}

#[test]
fn memory_bomb_gets_an_error_decision() {
    let scratch = with_wat(&["memory-bomb"]);
    let profiles = customers(&scratch, 2);
    let out = scratch.eval_jsonl(Path::new(&profiles));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let records = json_lines(&out.stdout);
    assert_eq!(
        decided(&records),
        expected(2, &[("memory-bomb", "error", "memory-limit")])
    );
    for record in &records {
        assert!(message(record).contains("MiB of memory"), "{record}");
    }
}

#[test]
fn trap_gets_an_error_decision() {
    let scratch = with_wat(&["trap", "hello"]);
    let profiles = customers(&scratch, 1);
    let out = scratch.eval_jsonl(Path::new(&profiles));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let records = json_lines(&out.stdout);
    assert_eq!(
        decided(&records),
        expected(
            1,
            &[
                ("hello", "checked", "hand-written"),
                ("trap", "error", "trap")
            ]
        )
    );
    assert!(
        message(&records[1]).contains("unreachable"),
        "{}",
        records[1]
    );
}

#[test]
fn malformed_output_gets_an_error_decision() {
    let scratch = with_wat(&["malformed"]);
    // Short inputs get text that is not JSON; a long one gets a slice that
    // lies outside the plugin's memory.
    let long = "x".repeat(500);
    let profiles = scratch.write(
        "profiles/p.toml",
        &format!(
            "as_of = 2026-11-23\n[[customer]]\nid = \"short\"\nbirth_date = 1990-01-01\n\n\
             [[customer]]\nid = \"long\"\nbirth_date = 1990-01-01\nnote = \"{long}\"\n"
        ),
    );
    let out = scratch.eval_jsonl(&profiles);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let records = json_lines(&out.stdout);
    assert_eq!(
        decided(&records),
        [
            ["short", "malformed", "error", "malformed-output"],
            ["long", "malformed", "error", "malformed-output"],
        ]
    );
    assert!(
        message(&records[0]).contains("this is not JSON"),
        "{}",
        records[0]
    );
    assert!(
        message(&records[1]).contains("outside the plugin's memory"),
        "{}",
        records[1]
    );
}

#[test]
fn wasi_import_is_refused_at_load() {
    let scratch = with_wat(&["wasi-import"]);
    let profiles = customers(&scratch, 1);
    let out = scratch.eval(Path::new(&profiles), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "nothing is evaluated");
    assert!(
        out.stderr.contains("wasi_snapshot_preview1.fd_write"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("wasi-import.toml:1:10"),
        "{}",
        out.stderr
    );
}

#[test]
fn no_state_survives_between_evaluations() {
    let scratch = with_wat(&["counter"]);
    // Enough customers to spread over every worker thread, each of which
    // reuses pooled instance slots.
    let profiles = customers(&scratch, 500);
    let out = scratch.eval_jsonl(Path::new(&profiles));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        decided(&json_lines(&out.stdout)),
        expected(500, &[("counter", "fresh", "first-call")]),
        "a counter leaked between evaluations"
    );
}

#[test]
fn hand_written_plugin_follows_the_abi() {
    let scratch = with_wat(&["hello"]);
    let profiles = customers(&scratch, 2);
    let out = scratch.eval_jsonl(Path::new(&profiles));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = json_lines(&out.stdout);
    assert_eq!(
        decided(&records),
        expected(2, &[("hello", "checked", "hand-written")])
    );
    for (i, record) in records.iter().enumerate() {
        // The input is exactly the envelope of ABI.md.
        let envelope = format!(
            r#"{{"as_of":"2026-11-23","params":{{}},"customer":{{"birth_date":"1990-01-{:02}","id":"H-{i}"}}}}"#,
            i + 1
        );
        assert_eq!(
            record["value"],
            serde_json::json!({"input_bytes": envelope.len()})
        );
        assert_eq!(record["plugin_version"], "1.0.0");
        assert_eq!(
            message(record),
            "decided by a module written in WebAssembly text"
        );
    }
}

#[test]
fn module_without_the_abi_marker_is_refused() {
    let scratch = Scratch::new();
    let module = scratch.write("plain.wat", "(module (memory (export \"memory\") 1))");
    scratch.bind("plain", &module, "");
    let profiles = customers(&scratch, 1);
    let out = scratch.eval(Path::new(&profiles), &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("lacks the export `verdict_abi_v1`"),
        "{}",
        out.stderr
    );
}

#[test]
fn compiled_module_cache_is_used_and_survives_corruption() {
    let scratch = with_wat(&["hello"]);
    let profiles = customers(&scratch, 1);
    let cache = scratch.dir.path().join("cache");
    let eval = || {
        crate::util::run_command(
            crate::util::verdict()
                .env("VERDICT_CACHE_DIR", &cache)
                .args([
                    "eval",
                    "--policies",
                    &scratch.path(),
                    "--profiles",
                    &profiles,
                    "--format",
                    "jsonl",
                ]),
        )
    };
    let first = eval();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let entries: Vec<_> = std::fs::read_dir(cache.join("modules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "one compiled module cached: {entries:?}");
    // A damaged entry is ignored and replaced; the decisions do not change.
    std::fs::write(&entries[0], b"not a compiled module").unwrap();
    let second = eval();
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, first.stdout);
    assert_ne!(
        std::fs::read(&entries[0]).unwrap(),
        b"not a compiled module"
    );
}
