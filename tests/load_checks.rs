//! What the host refuses when it loads a module, and what it bounds when a
//! module answers: checks of ABI.md that hand-written modules break on
//! purpose.

use std::path::PathBuf;

use crate::util::{Scratch, json_lines, run};

/// A module in WebAssembly text whose manifest declares `params` (a JSON
/// list), with `evaluate` as the body of `verdict_evaluate` (it returns a
/// packed slice) and `marker` as the ABI marker's signature.
fn module(params: &str, marker: &str, evaluate: &str) -> String {
    let manifest = format!(
        r#"{{"abi":1,"name":"probe","version":"1.0.0","description":"","params":{params}}}"#
    );
    format!(
        r#"(module
  (memory (export "memory") 3)
  (func (export "verdict_abi_v1") {marker})
  (func (export "verdict_alloc") (param i32) (result i32) (i32.const 8192))
  (func (export "verdict_manifest") (result i64)
    (i64.const {manifest_len}))
  (func (export "verdict_check_params") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 4096) (i64.const 32)) (i64.const 2)))
  (data (i32.const 0) "{escaped}")
  (data (i32.const 4096) "[]")
  {evaluate}
)"#,
        manifest_len = manifest.len(),
        escaped = manifest.replace('"', "\\\""),
    )
}

/// `verdict_evaluate` answering `len` bytes of the page at 65536, which
/// holds a decision whose one reason message is `message_len` bytes of `x`.
fn answering(len: u32, message_len: usize) -> String {
    let head = r#"{"outcome":"checked","value":{},"reasons":[{"code":"long","message":""#;
    let decision = format!("{head}{}\"}}]}}", "x".repeat(message_len));
    let len = if len == 0 { decision.len() as u32 } else { len };
    format!(
        r#"(data (i32.const 65536) "{}")
  (func (export "verdict_evaluate") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 65536) (i64.const 32)) (i64.const {len})))"#,
        decision.replace('"', "\\\"")
    )
}

const WELL_BEHAVED: &str = r#"(func (export "verdict_evaluate") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 4096) (i64.const 32)) (i64.const 2)))"#;

fn write(scratch: &Scratch, text: &str) -> PathBuf {
    scratch.write("probe.wat", text)
}

/// `verdict inspect` on the module: its exit status and stderr.
fn inspect(text: &str) -> (i32, String) {
    let scratch = Scratch::new();
    let path = write(&scratch, text);
    let out = run(&["inspect", &path.display().to_string()]);
    (out.code, out.stderr)
}

#[track_caller]
fn assert_refused(text: &str, expected: &str) {
    let (code, stderr) = inspect(text);
    assert_eq!(code, 2, "{stderr}");
    let path_free = stderr
        .split_once("` refused: ")
        .map_or(stderr.as_str(), |(_, rest)| rest);
    assert_eq!(path_free.trim_end(), expected, "{stderr}");
}

fn param(fields: &str) -> String {
    format!(r#"[{{"name":"limit","type":"number","description":"d",{fields}}}]"#)
}

#[test]
fn a_module_whose_parameter_declarations_contradict_themselves_is_refused() {
    let cases = [
        (
            r#"[{"name":"a","type":"number","description":"d","default":1},{"name":"a","type":"number","description":"d","default":2}]"#
                .to_owned(),
            "declares parameter `a` wrongly: it is declared twice",
        ),
        (
            param(r#""min":0"#),
            "declares parameter `limit` wrongly: it has no default",
        ),
        (
            r#"[{"name":"","type":"number","description":"d","default":1}]"#.to_owned(),
            "declares parameter `` wrongly: a name must be letters, digits, `_` or `-`, \
             starting with a letter",
        ),
        (
            r#"[{"name":"bands[0].max","type":"number","description":"d","default":1}]"#
                .to_owned(),
            "declares parameter `bands[0].max` wrongly: a name must be letters, digits, `_` or \
             `-`, starting with a letter",
        ),
        (
            param(r#""min":5,"max":1,"default":3"#),
            "declares parameter `limit` wrongly: its minimum 5 is above its maximum 1",
        ),
        (
            r#"[{"name":"tier","type":"string","description":"d","min":1,"default":"gold"}]"#
                .to_owned(),
            "declares parameter `tier` wrongly: a range is only for numbers, not for a string",
        ),
    ];
    for (params, expected) in &cases {
        assert_refused(&module(params, "", WELL_BEHAVED), expected);
    }
    // A default of the wrong type or outside the range names the problem
    // the parameter check itself reports.
    for params in [
        param(r#""default":"high""#),
        param(r#""max":10,"default":11"#),
    ] {
        let (code, stderr) = inspect(&module(&params, "", WELL_BEHAVED));
        assert_eq!(code, 2, "{stderr}");
        assert!(
            stderr.contains(
                "refused: declares parameter `limit` wrongly: its default does not fit it: "
            ),
            "{stderr}"
        );
    }
    // The same module with a sound declaration loads.
    let (code, stderr) = inspect(&module(
        &param(r#""min":0,"max":10,"default":3"#),
        "",
        WELL_BEHAVED,
    ));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn exports_with_other_types_than_the_abi_are_refused_at_load() {
    assert_refused(
        &module(
            "[]",
            "",
            r#"(func (export "verdict_evaluate") (param i32 i32) (result i32) (i32.const 0))"#,
        ),
        "exports `verdict_evaluate` with another type than the ABI's: it must be a function \
         (i32, i32) -> i64",
    );
    assert_refused(
        &module("[]", "(param i32)", WELL_BEHAVED),
        "exports `verdict_abi_v1` with another type than the ABI's: it must be a function () -> ()",
    );
}

#[test]
fn proposals_abi_md_does_not_list_are_refused() {
    let tail_call = module(
        "[]",
        "",
        r#"(func $answer (result i64) (i64.or (i64.shl (i64.const 4096) (i64.const 32)) (i64.const 2)))
  (func (export "verdict_evaluate") (param i32 i32) (result i64) (return_call $answer))"#,
    );
    let (code, stderr) = inspect(&tail_call);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("refused: is not a valid WebAssembly module: ")
            && stderr.contains("tail call"),
        "{stderr}"
    );
    let call_ref = module(
        "[]",
        "",
        r#"(type $answers (func (result i64)))
  (func $answer (type $answers) (i64.or (i64.shl (i64.const 4096) (i64.const 32)) (i64.const 2)))
  (elem declare func $answer)
  (func (export "verdict_evaluate") (param i32 i32) (result i64) (call_ref $answers (ref.func $answer)))"#,
    );
    let (code, stderr) = inspect(&call_ref);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("refused: is not a valid WebAssembly module: ")
            && stderr.contains("function references"),
        "{stderr}"
    );
}

#[test]
fn answers_and_messages_over_the_abi_bounds_are_error_decisions() {
    let scratch = Scratch::new();
    let policies = Scratch::new();
    let huge = write(&scratch, &module("[]", "", &answering(64 * 1024 + 1, 0)));
    policies.bind("huge-answer", &huge, "");
    let wordy = scratch.write("wordy.wat", &module("[]", "", &answering(0, 4 * 1024 + 1)));
    policies.bind("wordy-message", &wordy, "");
    let fits = scratch.write("fits.wat", &module("[]", "", &answering(0, 4 * 1024)));
    policies.bind("within-bounds", &fits, "");
    let profiles = scratch.write(
        "customers.toml",
        "[[customer]]\nid = \"C-1\"\nbirth_date = 1990-01-01\n",
    );
    let out = run(&[
        "eval",
        "--policies",
        &policies.path(),
        "--profiles",
        &profiles.display().to_string(),
        "--as-of",
        "2026-11-23",
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let records = json_lines(&out.stdout);
    let summary: Vec<(String, String, String)> = records
        .iter()
        .map(|r| {
            (
                r["policy"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["reasons"][0]["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("huge-answer", "error", "answer-too-large"),
        ("within-bounds", "checked", "long"),
        ("wordy-message", "error", "malformed-output"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(summary, expected);
    assert_eq!(
        records[0]["reasons"][0]["message"],
        "plugin answered 65537 bytes, more than the 65536 bytes the ABI allows"
    );
    assert_eq!(
        records[2]["reasons"][0]["message"],
        "plugin returned malformed output: the message of reason `long` is 4097 bytes, more \
         than the 4096 bytes the ABI allows"
    );
}

#[test]
fn a_module_cache_others_can_write_is_refused_and_decisions_still_made() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new();
    let cache = scratch.dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = crate::util::run_command(
        crate::util::verdict()
            .env("VERDICT_CACHE_DIR", &cache)
            .args(["eval", "--format", "jsonl"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(json_lines(&out.stdout).len(), 45);
    assert!(
        out.stderr.contains(&format!(
            "module cache `{}` is writable by others (mode 0777); refusing to run native code \
             from it; running without a module cache",
            cache.display()
        )),
        "{}",
        out.stderr
    );
    // Nothing was written into the refused directory.
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0);
}
