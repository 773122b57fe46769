//! `verdict inspect`: what a plugin declares, for people and machines.

use crate::util::{Filters, plugin_wasm, run, sha256_file, verdict_snapshot, wat};

#[test]
fn inspect_shows_name_version_params_imports_exports_and_digest() {
    let path = plugin_wasm("loan-rates");
    let out = run(&["inspect", &path.display().to_string(), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let info: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let keys: Vec<&str> = info
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "abi",
            "description",
            "exports",
            "imports",
            "isolation",
            "name",
            "params",
            "path",
            "sha256",
            "size_bytes",
            "version"
        ]
    );
    assert_eq!(info["name"], "loan-rates");
    assert_eq!(info["version"], "1.0.0");
    assert_eq!(
        info["description"],
        "Quotes an annual loan rate from the loan type and the age band of the customer"
    );
    assert_eq!(info["abi"], 2);
    assert_eq!(info["isolation"], serde_json::json!({"instance": "reused"}));
    assert_eq!(info["path"], path.display().to_string());
    assert_eq!(info["sha256"], sha256_file(&path).as_str());
    assert_eq!(info["size_bytes"], std::fs::metadata(&path).unwrap().len());
    let params: Vec<&str> = info["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        params,
        [
            "base_rates_pct",
            "min_age",
            "surcharge_bands",
            "student_max_age",
            "mortgage_max_age",
        ]
    );
    let student = info["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "student_max_age")
        .unwrap();
    assert_eq!(student["default"], 29);
    assert_eq!(student["type"], "integer");
    // A module with any import is refused (see below), so what is left to
    // check is the exports: the ABI's functions with their exact
    // signatures, one memory of however many pages the build needs, and
    // the linker's globals.
    let exports: Vec<&str> = info["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    let (memories, others): (Vec<&str>, Vec<&str>) =
        exports.iter().partition(|e| e.starts_with("memory: "));
    let pages = memories
        .iter()
        .map(|m| {
            m.strip_prefix("memory: memory(")
                .and_then(|rest| rest.strip_suffix(" pages min)"))
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or_else(|| panic!("not a memory export: {m}"))
        })
        .collect::<Vec<_>>();
    assert_eq!(pages.len(), 1, "one memory: {exports:?}");
    assert_eq!(
        others,
        [
            "verdict_abi_v2: func() -> ()",
            "verdict_alloc: func(i32) -> (i32)",
            "verdict_check_params: func(i32, i32) -> (i64)",
            "verdict_evaluate: func(i32, i32) -> (i64)",
            "verdict_init: func(i32, i32) -> (i64)",
            "verdict_manifest: func() -> (i64)",
            "__data_end: global",
            "__heap_base: global",
        ]
    );
}

#[test]
fn inspect_human_output_of_a_reference_plugin() {
    let module = plugin_wasm("staff-allowance");
    let out = run(&["inspect", &module.display().to_string()]);
    // The digest and size change with the plugin's code.
    let size = format!("{} bytes", std::fs::metadata(&module).unwrap().len());
    verdict_snapshot!(
        "inspect_staff_allowance",
        out,
        Filters::new().literal(&size, "[SIZE] bytes")
    );
}

#[test]
fn inspect_human_output_of_a_hand_written_plugin() {
    let out = run(&["inspect", &wat("hello").display().to_string()]);
    verdict_snapshot!("inspect_hello_wat", out, Filters::new());
}

#[test]
fn inspect_refuses_a_module_with_forbidden_imports() {
    let out = run(&["inspect", &wat("wasi-import").display().to_string()]);
    verdict_snapshot!("inspect_wasi_import", out, Filters::new());
}

/// A module whose `verdict_init` grows memory past what the restore covers
/// is reported as fresh, with why, and its decisions each get an instance
/// set up once.
#[test]
fn a_module_whose_init_outgrows_the_restore_is_reported_fresh() {
    let module = wat("init-grows").display().to_string();
    let out = run(&["inspect", &module, "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let info: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        info["isolation"],
        serde_json::json!({
            "instance": "fresh",
            "because": "verdict_init grows memory to 589824 bytes, past the 262144 bytes the \
                        restore covers"
        })
    );
    let scratch = crate::util::Scratch::new();
    scratch.bind("init-grows", &wat("init-grows"), "");
    let data = crate::util::Scratch::new();
    let profiles = data.write(
        "customers.toml",
        "[[customer]]\nid = \"A\"\nbirth_date = 1990-01-01\n\n\
         [[customer]]\nid = \"B\"\nbirth_date = 1980-01-01\n\n\
         [[customer]]\nid = \"C\"\nbirth_date = 1970-01-01\n",
    );
    let out = run(&[
        "eval",
        "--policies",
        &scratch.path(),
        "--profiles",
        &profiles.display().to_string(),
        "--as-of",
        "2026-11-23",
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let values: Vec<serde_json::Value> = crate::util::json_lines(&out.stdout)
        .into_iter()
        .map(|record| record["value"].clone())
        .collect();
    let expected = serde_json::json!({"as_of_year": 2026, "inits_so_far": 1});
    assert_eq!(values, [expected.clone(), expected.clone(), expected]);
}
