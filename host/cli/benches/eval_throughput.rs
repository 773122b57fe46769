//! `verdict eval` end to end on 100,000 generated customers (300,000
//! decisions): TOML parsing, isolated wasm decisions, JSON Lines output, on
//! one thread and on two (`RAYON_NUM_THREADS`). Reports decisions per
//! second and peak memory.
//!
//! Needs the plugins built: `cargo plugins`. Run: `cargo bench -p verdict
//! --bench eval_throughput`. To compare with another build in the same
//! run, set `VERDICT_BENCH_BASELINE_BIN` to its `verdict` binary and
//! `VERDICT_BENCH_BASELINE_ROOT` to its checkout (with its plugins built).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a bench reports and fails loudly"
)]

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

const CUSTOMERS: usize = 100_000;
const RUNS: usize = 3;

/// A `verdict` binary and the checkout whose `policies/` it evaluates.
struct Build {
    name: &'static str,
    binary: PathBuf,
    root: PathBuf,
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("eval_throughput: bench");
        return;
    }
    let mut builds = vec![Build {
        name: "this build",
        binary: env!("CARGO_BIN_EXE_verdict").into(),
        root: Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
    }];
    // Another build to compare with in the same run, taking turns.
    if let (Some(binary), Some(root)) = (
        std::env::var_os("VERDICT_BENCH_BASELINE_BIN"),
        std::env::var_os("VERDICT_BENCH_BASELINE_ROOT"),
    ) {
        builds.push(Build {
            name: "baseline",
            binary: binary.into(),
            root: root.into(),
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("customers.toml");
    std::fs::write(&profiles, support::generate_profiles(CUSTOMERS)).unwrap();
    let size_mib = std::fs::metadata(&profiles).unwrap().len() as f64 / (1 << 20) as f64;
    println!("{CUSTOMERS} customers ({size_mib:.1} MiB of TOML), 3 policies, best of {RUNS} runs");
    for threads in ["1", "2"] {
        let mut best = vec![(f64::MAX, 0.0f64); builds.len()];
        for _ in 0..RUNS {
            for (build, best) in builds.iter().zip(&mut best) {
                let run = support::run_measured(
                    Command::new(&build.binary)
                        .current_dir(&build.root)
                        .env("RAYON_NUM_THREADS", threads)
                        .args(["eval", "--format", "jsonl", "--profiles"])
                        .arg(&profiles),
                );
                best.0 = best.0.min(run.seconds);
                best.1 = best.1.max(run.peak_mib);
            }
        }
        for (build, (seconds, peak)) in builds.iter().zip(best) {
            println!(
                "{}, {threads} thread(s): {:.0} decisions/s ({:.2} µs per decision), peak memory {peak:.0} MiB",
                build.name,
                (3 * CUSTOMERS) as f64 / seconds,
                seconds * 1e6 / (3 * CUSTOMERS) as f64,
            );
        }
    }
}
