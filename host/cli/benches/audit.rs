//! The cost of the audit trail on 100,000 decisions (33,334 generated
//! customers × the 3 reference policies):
//!
//! - `verdict eval --format jsonl` with and without `--log` (the binary,
//!   end to end: what a user sees), and the same in-process without TOML
//!   parsing or output (decisions alone against decisions + log, the
//!   harshest view of the overhead);
//! - `verdict log verify` and `verdict replay` on the log that wrote.
//!
//! Durability is kept throughout: every chunk of 8,192 customers is synced
//! to disk before it is reported. Each figure is the median of a few runs,
//! so the whole bench takes two minutes or so.
//!
//! Needs the plugins built: `cargo plugins`. Run: `cargo bench -p verdict
//! --bench audit` (`VERDICT_BENCH_RUNS=N` for more runs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a bench reports and fails loudly"
)]

#[path = "support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use verdict_audit::log::Wait;
use verdict_audit::replay::{Caps, Selection, replay};
use verdict_audit::verify::verify;
use verdict_audit::{Archive, DecisionLog};
use verdict_config::{Profiles, load_policies};
use verdict_engine::{Decider, Job, Limits, ModuleCache, Sandbox};
use verdict_sdk::Date;

const CUSTOMERS: usize = 33_334;
const POLICIES: usize = 3;
/// As `verdict eval` does: decide and log this many customers at a time.
const CHUNK: usize = 8192;

fn runs() -> usize {
    std::env::var("VERDICT_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5)
}

/// The best and the median of several timings.
#[derive(Clone, Copy)]
struct Timing {
    best: Duration,
    median: Duration,
}

fn timing(mut times: Vec<Duration>) -> Timing {
    times.sort();
    Timing {
        best: times[0],
        median: times[times.len() / 2],
    }
}

/// Runs `f` `runs()` times (after one warm-up).
fn median(mut f: impl FnMut(usize) -> Duration) -> Timing {
    f(usize::MAX);
    timing((0..runs()).map(&mut f).collect())
}

/// Like [`median`] for two variants, run in alternation so that both see
/// the same machine load.
fn median_pair(
    mut a: impl FnMut(usize) -> Duration,
    mut b: impl FnMut(usize) -> Duration,
) -> (Timing, Timing) {
    a(usize::MAX);
    b(usize::MAX);
    let (xs, ys): (Vec<Duration>, Vec<Duration>) = (0..runs()).map(|run| (a(run), b(run))).unzip();
    (timing(xs), timing(ys))
}

fn verdict(root: &Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .current_dir(root)
        .args(args)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        status.code().is_some_and(|c| c <= 1),
        "verdict {args:?} failed: {status}"
    );
    elapsed
}

struct Row {
    what: &'static str,
    time: Timing,
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("audit: bench");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let profiles_path = dir.path().join("customers.toml");
    std::fs::write(&profiles_path, support::generate_profiles(CUSTOMERS)).unwrap();
    let profiles_arg = profiles_path.display().to_string();
    let decisions = CUSTOMERS * POLICIES;
    println!(
        "{decisions} decisions ({CUSTOMERS} customers × {POLICIES} policies), median of {} runs",
        runs()
    );

    // End to end, the binary.
    let log_of = |run: usize| dir.path().join(format!("bin-{run}.jsonl"));
    let (plain, logged) = median_pair(
        |_| {
            verdict(
                &root,
                &["eval", "--format", "jsonl", "--profiles", &profiles_arg],
            )
        },
        |run| {
            let log = log_of(run).display().to_string();
            verdict(
                &root,
                &[
                    "eval",
                    "--format",
                    "jsonl",
                    "--profiles",
                    &profiles_arg,
                    "--log",
                    &log,
                ],
            )
        },
    );
    let log = log_of(0);
    let log_arg = log.display().to_string();
    let log_bytes = std::fs::metadata(&log).unwrap().len();
    let verified = median(|_| verdict(&root, &["log", "verify", &log_arg]));
    let replayed = median(|_| verdict(&root, &["replay", &log_arg]));

    // In process: decisions alone against decisions + log.
    let sandbox = Sandbox::new(Limits::default(), ModuleCache::disabled()).unwrap();
    let set = load_policies(&sandbox, &root.join("policies"), &[]).unwrap();
    let policies = set.select(&[]).unwrap();
    assert_eq!(policies.len(), POLICIES);
    let file = Profiles::load(&profiles_path).unwrap();
    let as_of = file.as_of.unwrap_or(Date::new(2026, 11, 23).unwrap());
    let work: Vec<Job<'_>> = file
        .customers
        .iter()
        .map(|profile| Job { as_of, profile })
        .collect();
    let decider = Decider::new(&policies).parallel();
    let lib_log = |run: usize| -> PathBuf { dir.path().join(format!("lib-{run}.jsonl")) };
    let (decide_only, decide_and_log) = median_pair(
        |_| {
            let started = Instant::now();
            for chunk in work.chunks(CHUNK) {
                std::hint::black_box(decider.decide(chunk));
            }
            started.elapsed()
        },
        |run| {
            let path = lib_log(run);
            let started = Instant::now();
            let mut log =
                DecisionLog::open(&path, Archive::beside(&path), sandbox.limits(), Wait::No)
                    .unwrap();
            for chunk in work.chunks(CHUNK) {
                let records = decider.decide(chunk);
                log.append_grid_encoded(&policies, chunk, &records, &[])
                    .unwrap();
            }
            started.elapsed()
        },
    );
    // Logging alone: decisions made beforehand, then encoded, chained,
    // written and synced chunk by chunk.
    let made: Vec<_> = work
        .chunks(CHUNK)
        .map(|chunk| decider.decide(chunk))
        .collect();
    let log_only = median(|run| {
        let path = dir.path().join(format!("only-{run}.jsonl"));
        let started = Instant::now();
        let mut log =
            DecisionLog::open(&path, Archive::beside(&path), sandbox.limits(), Wait::No).unwrap();
        for (chunk, records) in work.chunks(CHUNK).zip(&made) {
            log.append_grid_encoded(&policies, chunk, records, &[])
                .unwrap();
        }
        started.elapsed()
    });

    // The logs are sound: verified and replayed identically.
    let report = verify(&log, Some((&Archive::beside(&log), &sandbox)), None).unwrap();
    assert!(report.intact() && report.lines == decisions, "{report:?}");
    let replay_report = replay(
        &lib_log(0),
        &Archive::beside(&lib_log(0)),
        &ModuleCache::disabled(),
        &Selection::default(),
        Caps::default(),
    )
    .unwrap();
    assert!(replay_report.all_identical() && replay_report.replayed == decisions);

    let rows = [
        Row {
            what: "`verdict eval --format jsonl`",
            time: plain,
        },
        Row {
            what: "`verdict eval --format jsonl --log FILE`",
            time: logged,
        },
        Row {
            what: "`verdict log verify FILE`",
            time: verified,
        },
        Row {
            what: "`verdict replay FILE`",
            time: replayed,
        },
        Row {
            what: "in process: decide only",
            time: decide_only,
        },
        Row {
            what: "in process: decide + log",
            time: decide_and_log,
        },
        Row {
            what: "in process: log only (encode, chain, write, sync)",
            time: log_only,
        },
    ];
    println!(
        "\nlog size: {:.1} MiB ({} bytes per record)",
        log_bytes as f64 / (1 << 20) as f64,
        log_bytes / decisions as u64
    );
    println!("\n| what | best | median | decisions/s (best) |");
    println!("| --- | ---: | ---: | ---: |");
    for row in &rows {
        let (best, median) = (row.time.best.as_secs_f64(), row.time.median.as_secs_f64());
        println!(
            "| {} | {best:.2} s | {median:.2} s | {:.0} |",
            row.what,
            decisions as f64 / best
        );
    }
    let overhead = |with: Duration, without: Duration| {
        (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0
    };
    println!(
        "\n`--log` overhead, best (median): {:.1}% ({:.1}%) end to end, {:.1}% ({:.1}%) over decisions alone",
        overhead(logged.best, plain.best),
        overhead(logged.median, plain.median),
        overhead(decide_and_log.best, decide_only.best),
        overhead(decide_and_log.median, decide_only.median),
    );
}
