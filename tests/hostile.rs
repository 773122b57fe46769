//! Hostile and hand-written plugins: the sandbox contains every failure to
//! one `error` decision, refuses forbidden imports at load, and keeps no
//! state between evaluations.

use std::time::{Duration, Instant};

use crate::util::{Scratch, json_lines, run, wat};

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

/// `verdict eval` of `profiles` against the scratch bindings, as JSON Lines.
fn eval_jsonl(scratch: &Scratch, profiles: &str) -> crate::util::Run {
    run(&[
        "eval",
        "--policies",
        &scratch.path(),
        "--profiles",
        profiles,
        "--format",
        "jsonl",
    ])
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
    let started = Instant::now();
    let out = eval_jsonl(&scratch, &profiles);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "host must return promptly"
    );
    assert_eq!(out.code, 1, "an error decision exits 1: {}", out.stderr);
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 6);
    for record in &records {
        match record["policy"].as_str().unwrap() {
            "spin" => {
                assert_eq!(record["outcome"], "error");
                assert_eq!(record["reasons"][0]["code"], "out-of-fuel");
            }
            "hello" => assert_eq!(record["outcome"], "checked"),
            other => panic!("unexpected policy {other}"),
        }
    }
}

#[test]
fn memory_bomb_gets_an_error_decision() {
    let scratch = with_wat(&["memory-bomb"]);
    let profiles = customers(&scratch, 2);
    let out = eval_jsonl(&scratch, &profiles);
    assert_eq!(out.code, 1);
    for record in json_lines(&out.stdout) {
        assert_eq!(record["outcome"], "error");
        assert_eq!(record["reasons"][0]["code"], "memory-limit");
        assert!(
            record["reasons"][0]["message"]
                .as_str()
                .unwrap()
                .contains("MiB of memory")
        );
    }
}

#[test]
fn trap_gets_an_error_decision() {
    let scratch = with_wat(&["trap", "hello"]);
    let profiles = customers(&scratch, 1);
    let out = eval_jsonl(&scratch, &profiles);
    assert_eq!(out.code, 1);
    let records = json_lines(&out.stdout);
    assert_eq!(records[0]["outcome"], "checked");
    assert_eq!(records[1]["outcome"], "error");
    assert_eq!(records[1]["reasons"][0]["code"], "trap");
    assert!(
        records[1]["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("unreachable")
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
    let out = run(&[
        "eval",
        "--policies",
        &scratch.path(),
        "--profiles",
        &profiles.display().to_string(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.code, 1);
    let records = json_lines(&out.stdout);
    assert_eq!(records[0]["reasons"][0]["code"], "malformed-output");
    assert!(
        records[0]["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("this is not JSON")
    );
    assert_eq!(records[1]["reasons"][0]["code"], "malformed-output");
    assert!(
        records[1]["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("outside the plugin's memory")
    );
}

#[test]
fn wasi_import_is_refused_at_load() {
    let scratch = with_wat(&["wasi-import"]);
    let profiles = customers(&scratch, 1);
    let out = run(&[
        "eval",
        "--policies",
        &scratch.path(),
        "--profiles",
        &profiles,
    ]);
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
    let out = eval_jsonl(&scratch, &profiles);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = json_lines(&out.stdout);
    assert_eq!(records.len(), 500);
    assert!(
        records.iter().all(|r| r["outcome"] == "fresh"),
        "a counter leaked between evaluations"
    );
}

#[test]
fn hand_written_plugin_follows_the_abi() {
    let scratch = with_wat(&["hello"]);
    let profiles = customers(&scratch, 2);
    let out = eval_jsonl(&scratch, &profiles);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = json_lines(&out.stdout);
    // The input is exactly the envelope of ABI.md.
    let envelope =
        r#"{"as_of":"2026-11-23","params":{},"customer":{"birth_date":"1990-01-01","id":"H-0"}}"#;
    assert_eq!(records[0]["value"]["input_bytes"], envelope.len());
    assert_eq!(records[0]["plugin_version"], "1.0.0");
    assert_eq!(records[0]["reasons"][0]["code"], "hand-written");
}

#[test]
fn module_without_the_abi_marker_is_refused() {
    let scratch = Scratch::new();
    let module = scratch.write("plain.wat", "(module (memory (export \"memory\") 1))");
    scratch.bind("plain", &module, "");
    let profiles = customers(&scratch, 1);
    let out = run(&[
        "eval",
        "--policies",
        &scratch.path(),
        "--profiles",
        &profiles,
    ]);
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
