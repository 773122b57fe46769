//! The change journal of `verdict serve`: every load, swap, rejected
//! change, requested reload and rollback, as `GET /v1/changes` shows it,
//! as the service's log lines and metrics count it, kept on disk beside the
//! decision log across restarts and checked by `verdict log verify`.

use std::path::Path;

use serde_json::{Value, json};

use crate::service::{Service, TOKEN, bearer};
use crate::util::{Scratch, plugin_wasm, retarget, root, run, sha256_file};

/// The staff-allowance binding with `staff_limit_usd = limit`.
fn staff_binding(limit: u64) -> String {
    let shipped = std::fs::read_to_string(root().join("policies/staff-allowance.toml")).unwrap();
    retarget(&shipped, &plugin_wasm("staff-allowance")).replace(
        "staff_limit_usd = 2000",
        &format!("staff_limit_usd = {limit}"),
    )
}

/// Replaces a binding in one step (aside, then renamed).
fn publish(dir: &Path, name: &str, text: &str) {
    let aside = dir.join(format!(".{name}.tmp"));
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(aside, dir.join(name)).unwrap();
}

/// Every entry `GET /v1/changes` serves.
fn changes(service: &Service) -> Vec<Value> {
    service.get_json("/v1/changes")["changes"]
        .as_array()
        .unwrap()
        .clone()
}

fn events(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["change"]["event"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until the journal holds `n` entries.
fn wait_for_entries(service: &Service, n: usize) -> Vec<Value> {
    service.wait_for(&format!("{n} journal entries"), || {
        changes(service).len() >= n
    });
    changes(service)
}

#[test]
fn every_change_is_journaled_beside_the_log_matches_the_metrics_and_survives_a_restart() {
    let scratch = Scratch::shipped();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("decisions.jsonl");
    let journal = logs.path().join("decisions.changes.jsonl");
    let log_arg = log.display().to_string();
    let mut service = Service::start(scratch.dir.path(), true, &["--log", &log_arg]);

    // Loaded at start: every policy, its module digest and parameters.
    let entries = changes(&service);
    assert_eq!(events(&entries), ["load"]);
    let load = &entries[0];
    assert_eq!(load["seq"], 1);
    assert_eq!(load["change"]["cause"], "start");
    assert_eq!(load["change"]["generation"], 0);
    let loaded: Vec<&str> = load["change"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["policy"].as_str().unwrap())
        .collect();
    assert_eq!(loaded, ["loan-rates", "product-ladder", "staff-allowance"]);
    let staff_sha256 = sha256_file(&plugin_wasm("staff-allowance"));
    assert_eq!(
        load["change"]["policies"][2]["after"]["module_sha256"],
        staff_sha256
    );
    assert!(load["change"]["policies"][2].get("before").is_none());

    // A file change: the parameter before and after.
    publish(
        scratch.dir.path(),
        "staff-allowance.toml",
        &staff_binding(2600),
    );
    let entries = wait_for_entries(&service, 2);
    let swap = &entries[1]["change"];
    assert_eq!(swap["event"], "swap");
    assert_eq!(swap["cause"], "file change");
    assert_eq!(swap["generation"], 1);
    assert_eq!(swap["policies"].as_array().unwrap().len(), 1);
    let changed = &swap["policies"][0];
    assert_eq!(changed["policy"], "staff-allowance");
    assert_eq!(
        changed["params"],
        json!([{"key": "staff_limit_usd", "before": 2000, "after": 2600}])
    );
    assert_eq!(changed["before"]["module_sha256"], staff_sha256);
    assert_eq!(changed["after"]["params"]["manager_limit_usd"], 5000);

    // A broken binding: refused with its diagnostic, nothing swapped.
    publish(
        scratch.dir.path(),
        "loan-rates.toml",
        "plugin = \"loan_rates.wasm\"\nversion = \"^1.0\"\n\n[params]\nmin_age = \"eighteen\n",
    );
    let entries = wait_for_entries(&service, 3);
    let rejected = &entries[2]["change"];
    assert_eq!(rejected["event"], "rejected");
    assert_eq!(rejected["generation"], 1);
    let diagnostic = rejected["diagnostic"].as_str().unwrap();
    let at = format!(
        "{}:5:",
        scratch.dir.path().join("loan-rates.toml").display()
    );
    assert!(diagnostic.starts_with(&at), "{diagnostic}");
    assert!(rejected.get("policies").is_none());
    // The same diagnostic as the service's log line.
    assert!(
        service.log().contains(&format!(
            "reload rejected, the previous policies keep serving: {diagnostic}"
        )),
        "{}",
        service.log()
    );

    // A requested reload that finds the broken file again is refused too;
    // after the fix, one that finds nothing new is journaled as asked for.
    let (status, _) = service.post("/v1/reload", &json!({}), Some(&bearer(TOKEN)));
    assert_eq!(status, 422);
    let shipped = std::fs::read_to_string(root().join("policies/loan-rates.toml")).unwrap();
    publish(
        scratch.dir.path(),
        "loan-rates.toml",
        &retarget(&shipped, &plugin_wasm("loan-rates")),
    );
    let entries = wait_for_entries(&service, 4);
    assert_eq!(entries[3]["change"]["event"], "rejected");
    assert_eq!(entries[3]["change"]["cause"], "reload request");
    // The fixed file is the version that was serving: nothing swaps.
    let answer = service.reload();
    assert_eq!(answer["swapped"], false);
    let entries = wait_for_entries(&service, 5);
    assert_eq!(entries[4]["change"]["event"], "reload");
    assert_eq!(entries[4]["change"]["generation"], 1);

    // A rollback: the version before and after.
    let (status, answer) = service.post(
        "/v1/policies/staff-allowance/rollback",
        &json!({}),
        Some(&bearer(TOKEN)),
    );
    assert_eq!(status, 200, "{answer}");
    let entries = wait_for_entries(&service, 6);
    let rollback = &entries[5]["change"];
    assert_eq!(rollback["event"], "rollback");
    assert_eq!(rollback["generation"], answer["generation"]);
    assert_eq!(
        rollback["policies"][0]["params"],
        json!([{"key": "staff_limit_usd", "before": 2600, "after": 2000}])
    );
    assert_eq!(
        events(&entries),
        ["load", "swap", "rejected", "rejected", "reload", "rollback"]
    );

    // The journal's counts are the metrics' counts (a rollback is a swap
    // there too), its generation the service's, and every entry links to
    // the one before.
    let count = |event: &str| events(&entries).iter().filter(|e| *e == event).count() as f64;
    assert_eq!(
        service.metric("verdict_swaps_total"),
        count("swap") + count("rollback")
    );
    assert_eq!(
        service.metric("verdict_rejected_swaps_total"),
        count("rejected")
    );
    assert_eq!(service.metric("verdict_rollbacks_total"), count("rollback"));
    assert_eq!(
        service.get_json("/v1/policies")["generation"],
        rollback["generation"]
    );
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prev"], pair[0]["hash"]);
        assert_eq!(pair[1]["seq"], pair[0]["seq"].as_u64().unwrap() + 1);
    }

    // Pages: after a sequence number, at most a limit.
    let page = service.get_json("/v1/changes?after=2&limit=2");
    assert_eq!(page["last"], 6);
    assert_eq!(
        events(page["changes"].as_array().unwrap()),
        ["rejected", "rejected"]
    );
    assert_eq!(page["changes"][0]["seq"], 3);
    let (status, body) = service.get("/v1/changes?after=two");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("after"), "{body}");

    // On disk, beside the log, and intact.
    assert_eq!(
        service.get_json("/v1/changes")["journal"],
        journal.display().to_string()
    );
    drop(service);
    let journal_arg = journal.display().to_string();
    let verified = run(&["log", "verify", &journal_arg]);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
    assert!(
        verified.stdout.contains("changes  6 (a change journal)"),
        "{}",
        verified.stdout
    );
    let head = format!("head     {}", entries[5]["hash"].as_str().unwrap());
    assert!(verified.stdout.contains(&head), "{}", verified.stdout);

    // A restart reads it back and goes on from it.
    service = Service::start(scratch.dir.path(), true, &["--log", &log_arg]);
    let entries = changes(&service);
    assert_eq!(
        events(&entries),
        [
            "load", "swap", "rejected", "rejected", "reload", "rollback", "load"
        ]
    );
    assert_eq!(entries[6]["prev"], entries[5]["hash"]);
    // A rollback lasts until the next load: the restart reads the files,
    // which still say 2600, and the journal shows it.
    assert_eq!(
        entries[6]["change"]["policies"][2]["after"]["params"]["staff_limit_usd"],
        2600
    );
    drop(service);
    let verified = run(&["log", "verify", &journal_arg]);
    assert_eq!(verified.code, 0, "{}", verified.stdout);

    // An edited entry is named at its line, by verify and at start.
    let text = std::fs::read_to_string(&journal).unwrap();
    let edited: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 1 {
                line.replace("\"after\":2600", "\"after\":2700")
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_ne!(
        edited.join("\n") + "\n",
        text,
        "the swap line holds the new value"
    );
    std::fs::write(&journal, edited.join("\n") + "\n").unwrap();
    let verified = run(&["log", "verify", &journal_arg]);
    assert_eq!(verified.code, 1, "{}", verified.stdout);
    assert!(
        verified
            .stdout
            .contains(&format!("FAILED: `{journal_arg}` line 2:")),
        "{}",
        verified.stdout
    );
    let refused = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--policies",
        &scratch.path(),
        "--log",
        &log_arg,
    ]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains(&format!("cannot append to `{journal_arg}`: line 2:")),
        "{}",
        refused.stderr
    );
}

#[test]
fn without_a_log_the_journal_is_kept_in_memory() {
    let scratch = Scratch::shipped();
    let service = Service::start(scratch.dir.path(), false, &[]);
    let answer = service.get_json("/v1/changes");
    assert_eq!(answer["journal"], Value::Null);
    assert_eq!(answer["last"], 1);
    assert_eq!(events(answer["changes"].as_array().unwrap()), ["load"]);
    assert!(scratch.dir.path().read_dir().unwrap().all(|entry| {
        !entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("changes")
    }));
}
