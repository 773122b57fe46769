//! `verdict eval` end to end on 100,000 generated customers (300,000
//! decisions): TOML parsing, isolated wasm decisions on every core, JSON
//! Lines output. Reports decisions per second and peak memory.
//!
//! Needs the plugins built: `cargo plugins`. Run: `cargo bench -p verdict
//! --bench eval_throughput`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a bench reports and fails loudly"
)]

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const CUSTOMERS: usize = 100_000;
const RUNS: usize = 3;

/// Peak resident memory of the largest child waited for so far, in MiB.
fn children_peak_mib() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr());
        usage.assume_init()
    };
    usage.ru_maxrss as f64 / 1024.0
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("eval_throughput: bench");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let profiles = dir.path().join("customers.toml");
    std::fs::write(&profiles, support::generate_profiles(CUSTOMERS)).unwrap();
    let size_mib = std::fs::metadata(&profiles).unwrap().len() as f64 / (1 << 20) as f64;
    println!("{CUSTOMERS} customers ({size_mib:.1} MiB of TOML), 3 policies, {RUNS} runs");
    let mut best = f64::MAX;
    for run in 0..RUNS {
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_verdict"))
            .current_dir(&root)
            .args(["eval", "--format", "jsonl", "--profiles"])
            .arg(&profiles)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        let seconds = started.elapsed().as_secs_f64();
        assert!(
            status.code().is_some_and(|c| c <= 1),
            "verdict eval failed: {status}"
        );
        println!(
            "run {run}: {seconds:.2} s, {:.0} decisions/s",
            (3 * CUSTOMERS) as f64 / seconds
        );
        best = best.min(seconds);
    }
    println!(
        "best: {:.0} decisions/s ({:.2} µs per decision), peak memory {:.0} MiB",
        (3 * CUSTOMERS) as f64 / best,
        best * 1e6 / (3 * CUSTOMERS) as f64,
        children_peak_mib()
    );
}
