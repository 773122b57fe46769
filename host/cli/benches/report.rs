//! `verdict report` over a decision log of a million records: 166,667
//! generated customers × the 3 reference policies × 2 arms, a shadow
//! challenger on every policy (the champion's module, one parameter
//! changed), written by `verdict eval --log`.
//!
//! Times the report as a risk team runs it — the table, JSON and the
//! changed customers to Parquet — each `VERDICT_BENCH_RUNS` times (default
//! 3) after a warm-up, with its peak memory, and checks that the report
//! accounts for every record. Needs the plugins built: `cargo plugins`.
//! Run: `cargo bench -p verdict --bench report`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a bench reports and fails loudly"
)]

#[path = "support/mod.rs"]
mod support;

use std::process::Command;

use serde_json::Value;
use support::{Measured, run_measured};

const CUSTOMERS: usize = 166_667;
const POLICIES: usize = 3;
/// Both arms decide every customer.
const RECORDS: usize = CUSTOMERS * POLICIES * 2;

fn runs() -> usize {
    std::env::var("VERDICT_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

fn verdict() -> Command {
    Command::new(env!("CARGO_BIN_EXE_verdict"))
}

/// The best and the median run of `command`, after one warm-up, and the
/// largest peak memory of them.
fn timed(mut command: impl FnMut() -> Command) -> (f64, f64, f64) {
    run_measured(&mut command());
    let mut runs: Vec<Measured> = (0..runs()).map(|_| run_measured(&mut command())).collect();
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let peak = runs.iter().map(|m| m.peak_mib).fold(0.0, f64::max);
    (runs[0].seconds, runs[runs.len() / 2].seconds, peak)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("report: bench");
        return;
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let profiles = dir.path().join("customers.toml");
    std::fs::write(&profiles, support::generate_profiles(CUSTOMERS)).unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    support::write_shadowed_bindings(&policies);
    let log = dir.path().join("decisions.jsonl");
    let written = run_measured(
        verdict()
            .args(["eval", "--format", "jsonl", "--policies"])
            .arg(&policies)
            .arg("--profiles")
            .arg(&profiles)
            .arg("--log")
            .arg(&log),
    );
    let bytes = std::fs::metadata(&log).unwrap().len();
    println!(
        "{RECORDS} records ({CUSTOMERS} customers × {POLICIES} policies × 2 arms), log of {:.0} \
         MiB written by `verdict eval --log` in {:.1} s; best and median of {} runs",
        bytes as f64 / f64::from(1 << 20),
        written.seconds,
        runs()
    );

    // The report accounts for every record, and both arms of each policy.
    let output = verdict()
        .args(["report", "--format", "json"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["decisions"], RECORDS);
    for policy in report["policies"].as_array().unwrap() {
        assert_eq!(policy["compared"], CUSTOMERS, "{}", policy["policy"]);
    }
    let changed: usize = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["changed"].as_array().unwrap().len())
        .sum();

    let parquet = dir.path().join("changed.parquet");
    let rows = [
        ("`verdict report LOG`", vec!["report"]),
        (
            "`verdict report LOG --format json`",
            vec!["report", "--format", "json"],
        ),
        (
            "`verdict report LOG --format parquet --output FILE`",
            vec!["report", "--format", "parquet", "--output"],
        ),
    ];
    println!("\n{changed} customers changed\n");
    println!("| what ({RECORDS} records) | best | median | records/s (best) | peak MiB |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (what, args) in rows {
        let (best, median, peak) = timed(|| {
            let mut command = verdict();
            command.args(&args);
            if args.contains(&"--output") {
                command.arg(&parquet);
            }
            command.arg(&log);
            command
        });
        println!(
            "| {what} | {best:.2} s | {median:.2} s | {:.0} | {peak:.0} |",
            RECORDS as f64 / best
        );
    }
}
