//! `verdict inspect`: what a plugin declares, for people and machines.

use crate::util::{plugin_wasm, run, sha256_file, wat};

#[test]
fn inspect_shows_name_version_params_imports_exports_and_digest() {
    let path = plugin_wasm("loan-rates");
    let out = run(&["inspect", &path.display().to_string(), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let info: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(info["name"], "loan-rates");
    assert_eq!(info["version"], "1.0.0");
    assert_eq!(info["abi"], 1);
    assert_eq!(info["sha256"], sha256_file(&path).as_str());
    assert_eq!(info["imports"], serde_json::json!([]));
    let params: Vec<&str> = info["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "base_rates_pct",
        "min_age",
        "surcharge_bands",
        "student_max_age",
        "mortgage_max_age",
    ] {
        assert!(params.contains(&name), "{name} missing from {params:?}");
    }
    let student = info["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "student_max_age")
        .unwrap();
    assert_eq!(student["default"], 29);
    assert_eq!(student["type"], "integer");
    let exports: Vec<&str> = info["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        exports.contains(&"verdict_evaluate: func(i32, i32) -> (i64)"),
        "{exports:?}"
    );
    assert!(
        exports.iter().any(|e| e.starts_with("memory: memory")),
        "{exports:?}"
    );
}

#[test]
fn inspect_human_output() {
    let out = run(&[
        "inspect",
        &plugin_wasm("staff-allowance").display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("name         staff-allowance"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("staff_limit_usd (number min 0)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("default 2000"), "{}", out.stdout);
    assert!(out.stdout.contains("imports      (none)"), "{}", out.stdout);
}

#[test]
fn inspect_refuses_a_module_with_forbidden_imports() {
    let out = run(&["inspect", &wat("wasi-import").display().to_string()]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("wasi_snapshot_preview1.fd_write"),
        "{}",
        out.stderr
    );
}
