//! `verdict serve` under load on loopback: requests per second and p50/p99
//! latency of single-customer requests against the three reference
//! policies, with and without a policy swap every second, with and without
//! the decision log, and the time from a file change to the new version
//! serving.
//!
//! Starts the release `verdict` binary on 127.0.0.1 with a free port; every
//! request goes to that port only, and every loop is bounded in time.
//! Needs the plugins built: `cargo plugins`. Run: `cargo bench -p verdict
//! --bench serve`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "a bench reports and fails loudly"
)]

use std::cell::Cell;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{module, retarget, root};

#[path = "support/mod.rs"]
mod support;

/// Connections of the closed-loop throughput phases.
const CONNECTIONS: usize = 4;
/// Connections of the busier closed-loop phases: with the log, requests
/// share a sync only when they are in flight at once.
const MANY_CONNECTIONS: usize = 16;
/// Connections enough to keep the service with the log as busy as the one
/// without: each of its requests waits for a sync, so with fewer clients
/// its CPU idles meanwhile and the phase measures that wait, not how many
/// requests the service can take.
const SATURATING_CONNECTIONS: usize = 64;
/// Every comparison runs in this many rounds, each running the phases
/// compared in turn for `ROUND`: on a machine whose speed drifts by tens of
/// percent from one ten-second phase to the next, only interleaved phases
/// compare.
const ROUNDS: u32 = 5;
/// How long each phase runs in one round.
const ROUND: Duration = Duration::from_secs(2);
/// Request rate of the moderate-load phases (open loop).
const MODERATE_RATE: u32 = 500;
/// Requests that warm a service up before it is measured.
const WARM_UP: usize = 500;
/// File changes timed until the new version serves.
const CHANGES: usize = 10;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped bindings, pointed at the built modules; staff-allowance at
/// `staff` with `staff_limit_usd = limit`.
fn write_bindings(dir: &Path, staff: &Path, limit: u32) {
    for name in ["loan-rates", "product-ladder"] {
        let text =
            std::fs::read_to_string(root().join("policies").join(format!("{name}.toml"))).unwrap();
        std::fs::write(
            dir.join(format!("{name}.toml")),
            retarget(&text, &module(&name.replace('-', "_"))),
        )
        .unwrap();
    }
    write_staff(dir, staff, limit);
}

/// Replaces the staff-allowance binding in one step (write aside, rename).
fn write_staff(dir: &Path, staff: &Path, limit: u32) {
    let text = std::fs::read_to_string(root().join("policies/staff-allowance.toml")).unwrap();
    let text = retarget(&text, staff).replace(
        "staff_limit_usd = 2000",
        &format!("staff_limit_usd = {limit}"),
    );
    let aside = dir.join(".staff-allowance.toml.tmp");
    std::fs::write(&aside, text).unwrap();
    std::fs::rename(aside, dir.join("staff-allowance.toml")).unwrap();
}

/// Two staff-allowance modules with different bytes (the second carries an
/// extra custom section), so a swap between them is a real module change.
fn staff_modules(dir: &Path) -> [PathBuf; 2] {
    let bytes = std::fs::read(module("staff_allowance")).unwrap();
    let mut other = bytes.clone();
    let name = b"verdict-bench";
    other.push(0); // custom section
    other.push((1 + name.len() + 4) as u8);
    other.push(name.len() as u8);
    other.extend_from_slice(name);
    other.extend_from_slice(b"v2\0\0");
    let paths = [
        dir.join("modules/staff-a.wasm"),
        dir.join("modules/staff-b.wasm"),
    ];
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    std::fs::write(&paths[0], bytes).unwrap();
    std::fs::write(&paths[1], other).unwrap();
    paths
}

fn start(dir: &Path, args: &[&std::ffi::OsStr]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict"))
        .args(["serve", "--listen", "127.0.0.1:0", "--policies"])
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("the service prints its address")
        .to_owned();
    Server { child, base }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn customer(i: usize) -> String {
    json!({
        "customer": {
            "id": format!("B-{i}"),
            "birth_date": format!("{}-03-15", 1950 + i % 60),
            "products": ["student-account"],
            "stay": {"recovery_spent_usd": 1200.0, "requested_recovery_usd": 300.0, "requested_by": "staff"},
            "loan_request": {"type": "car", "amount_usd": 15000},
        },
        "as_of": "2026-11-23",
    })
    .to_string()
}

/// Sends one request; its latency in seconds.
fn request(agent: &ureq::Agent, url: &str, body: &str) -> f64 {
    let started = Instant::now();
    let mut response = agent
        .post(url)
        .header("content-type", "application/json")
        .send(body)
        .unwrap();
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap();
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(status, 200, "{text}");
    seconds
}

/// Latencies of one phase, and its requests per second.
struct Phase {
    latencies: Vec<f64>,
    rate: f64,
}

impl Phase {
    fn percentile(&self, p: f64) -> f64 {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index] * 1e3
    }

    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {:.0} | {:.2} | {:.2} | {:.2} |",
            self.rate,
            self.percentile(0.50),
            self.percentile(0.99),
            self.latencies.last().unwrap() * 1e3
        )
    }
}

/// Runs each of `phases` for `ROUND` in turn, `ROUNDS` times; each one's
/// latencies and rate over its rounds.
fn interleaved<const N: usize>(phases: [&dyn Fn(Duration) -> Phase; N]) -> [Phase; N] {
    let mut totals = [(); N].map(|()| (Vec::new(), 0.0));
    for _ in 0..ROUNDS {
        for (phase, (latencies, seconds)) in phases.iter().zip(&mut totals) {
            let round = phase(ROUND);
            *seconds += round.latencies.len() as f64 / round.rate;
            latencies.extend(round.latencies);
        }
    }
    totals.map(|(mut latencies, seconds)| {
        latencies.sort_by(f64::total_cmp);
        Phase {
            rate: latencies.len() as f64 / seconds,
            latencies,
        }
    })
}

/// `write` and `fdatasync` of `bytes` at a time to the file at `path`,
/// `rate` times a second for `duration`: what the disk alone takes to make
/// one request's records durable, the floor under the log's latency.
fn disk_alone(path: &Path, bytes: usize, rate: u32, duration: Duration) -> Phase {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    let record = vec![b'x'; bytes];
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let started = Instant::now();
    let mut next = started;
    let mut latencies = Vec::new();
    while started.elapsed() < duration {
        next += interval;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let synced = Instant::now();
        file.write_all(&record).unwrap();
        file.sync_data().unwrap();
        latencies.push(synced.elapsed().as_secs_f64());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Phase {
        rate: latencies.len() as f64 / elapsed,
        latencies,
    }
}

/// `clients` threads send requests for `duration`: back to back (closed
/// loop) when `rate` is `None`, else together `rate` requests per second on
/// a fixed schedule (open loop).
fn load_for(server: &Server, clients: usize, rate: Option<u32>, duration: Duration) -> Phase {
    let url = format!("{}/v1/evaluate", server.base);
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent = agent();
                let interval =
                    rate.map(|rate| Duration::from_secs_f64(clients as f64 / f64::from(rate)));
                let mut latencies = Vec::new();
                let mut next = Instant::now();
                let mut i = client;
                while started.elapsed() < duration {
                    if let Some(interval) = interval {
                        next += interval;
                        if let Some(wait) = next.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                    }
                    latencies.push(request(&agent, &url, &customer(i)));
                    i += clients;
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Phase {
        rate: latencies.len() as f64 / elapsed,
        latencies,
    }
}

/// Runs `phase` for `duration` while a binding change (parameters and
/// module) lands every second, the first half a second in, each early
/// enough to go live within the phase; returns it and the number of
/// changes. An even number of changes leaves the binding as it was.
fn with_swaps(
    dir: &Path,
    modules: &[PathBuf; 2],
    duration: Duration,
    phase: impl FnOnce(Duration) -> Phase,
) -> (Phase, usize) {
    let started = Instant::now();
    let swapper = {
        let (dir, modules) = (dir.to_path_buf(), modules.clone());
        std::thread::spawn(move || {
            let mut swaps = 0;
            loop {
                let at = started + Duration::from_millis(500) + Duration::from_secs(swaps as u64);
                // The watcher's debounce and the reload take about 210 ms.
                if at + Duration::from_millis(400) > started + duration {
                    break swaps;
                }
                if let Some(wait) = at.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                swaps += 1;
                write_staff(&dir, &modules[swaps % 2], 2000 + 100 * (swaps as u32 % 2));
            }
        })
    };
    let result = phase(duration);
    (result, swapper.join().unwrap())
}

/// Times file change -> first response from the new version, `CHANGES`
/// times; answers the sorted times in milliseconds.
fn change_to_serving(server: &Server, dir: &Path, modules: &[PathBuf; 2]) -> Vec<f64> {
    let agent = agent();
    let url = format!("{}/v1/evaluate", server.base);
    let body = customer(7);
    let mut times = Vec::new();
    for change in 0..CHANGES {
        std::thread::sleep(Duration::from_millis(300));
        let limit = 3000 + change as u32;
        let started = Instant::now();
        write_staff(dir, &modules[change % 2], limit);
        loop {
            let mut response = agent.post(&url).send(&body).unwrap();
            let records: Value =
                serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
            let serving = records.as_array().unwrap().iter().any(|r| {
                r["policy"] == "staff-allowance" && r["value"]["limit_usd"] == f64::from(limit)
            });
            if serving {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "change {change} never went live"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("serve: bench");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let modules = staff_modules(dir.path());
    write_bindings(dir.path(), &modules[0], 2000);
    let server = start(dir.path(), &[]);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "verdict serve on {} ({cores} cores, load average before: {}), 3 reference policies, \
         single-customer requests; each comparison in {ROUNDS} interleaved rounds of {ROUND:?} \
         per phase",
        server.base,
        load_average()
    );

    // Warm up: connections, caches, both module versions compiled.
    load_briefly(&server);
    write_staff(dir.path(), &modules[1], 2100);
    std::thread::sleep(Duration::from_millis(500));
    load_briefly(&server);
    write_staff(dir.path(), &modules[0], 2000);
    std::thread::sleep(Duration::from_millis(500));

    if wanted("swaps") {
        swaps(&server, dir.path(), &modules);
    }
    if wanted("log") {
        logged(&server, dir.path());
    }
    if wanted("shadow") {
        shadowed(&server);
    }
    println!();
    println!("load average after: {}", load_average());
}

/// Whether this run measures `section`: every section when none is named
/// (`cargo bench -p verdict --bench serve -- shadow log` runs two).
fn wanted(section: &str) -> bool {
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    named.is_empty() || named.iter().any(|name| name == section)
}

/// Without and with a binding change every second, then the time from a
/// file change to the new version serving.
fn swaps(server: &Server, dir: &Path, modules: &[PathBuf; 2]) {
    let swaps = Cell::new(0);
    let swapping = |clients, rate| {
        let swaps = &swaps;
        move |round| {
            let (phase, changes) = with_swaps(dir, modules, round, |round| {
                load_for(server, clients, rate, round)
            });
            swaps.set(swaps.get() + changes);
            phase
        }
    };
    let [moderate, moderate_swapping] = interleaved([
        &|round| load_for(server, 2, Some(MODERATE_RATE), round),
        &swapping(2, Some(MODERATE_RATE)),
    ]);
    let swaps_a = swaps.replace(0);
    let [saturated, saturated_swapping] = interleaved([
        &|round| load_for(server, CONNECTIONS, None, round),
        &swapping(CONNECTIONS, None),
    ]);
    let swaps_b = swaps.replace(0);
    let changes = change_to_serving(server, dir, modules);

    table("Without and with policy swaps:");
    println!(
        "{}",
        moderate.row(&format!("moderate: {MODERATE_RATE} req/s, 2 clients"))
    );
    println!(
        "{}",
        moderate_swapping.row(&format!("moderate, swap every second ({swaps_a} swaps)"))
    );
    println!(
        "{}",
        saturated.row(&format!("saturated: {CONNECTIONS} clients back to back"))
    );
    println!(
        "{}",
        saturated_swapping.row(&format!("saturated, swap every second ({swaps_b} swaps)"))
    );
    println!();
    println!(
        "throughput during swaps: {:.1}% of without",
        100.0 * saturated_swapping.rate / saturated.rate
    );
    println!(
        "file change -> new version serving ({CHANGES} changes, 200 ms debounce included): \
         median {:.0} ms, max {:.0} ms",
        changes[changes.len() / 2],
        changes.last().unwrap()
    );
}

/// The same service appending every decision to a decision log, durable
/// before each response (requests at the same time share one sync),
/// compared with `server`.
fn logged(server: &Server, dir: &Path) {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("decisions.jsonl");
    let logging = start(dir, &["--log".as_ref(), log.as_os_str()]);
    load_briefly(&logging);
    let request_bytes = usize::try_from(std::fs::metadata(&log).unwrap().len()).unwrap() / WARM_UP;
    let disk = logs.path().join("disk-alone");
    let [plain, logged, disk] = interleaved([
        &|round| load_for(server, 2, Some(MODERATE_RATE), round),
        &|round| load_for(&logging, 2, Some(MODERATE_RATE), round),
        &|round| disk_alone(&disk, request_bytes, MODERATE_RATE, round),
    ]);
    table("Without and with `--log` (no swaps):");
    let moderate = format!("moderate: {MODERATE_RATE} req/s, 2 clients");
    println!("{}", plain.row(&moderate));
    println!("{}", logged.row(&format!("{moderate}, with `--log`")));
    println!(
        "{}",
        disk.row(&format!(
            "the disk alone: `write` + `fdatasync` of {request_bytes} bytes (one request's \
             records), {MODERATE_RATE} a second"
        ))
    );
    let mut ratios = Vec::new();
    for clients in [CONNECTIONS, MANY_CONNECTIONS, SATURATING_CONNECTIONS] {
        let [plain, logged] =
            interleaved([&|round| load_for(server, clients, None, round), &|round| {
                load_for(&logging, clients, None, round)
            }]);
        let load = format!("{clients} clients back to back");
        println!("{}", plain.row(&load));
        println!("{}", logged.row(&format!("{load}, with `--log`")));
        ratios.push(format!(
            "{:.1}% ({clients} clients)",
            100.0 * logged.rate / plain.rate
        ));
    }
    println!();
    println!("throughput with `--log`, of without: {}", ratios.join(", "));
}

/// A service whose three policies each have a shadow challenger (six
/// isolated decisions a request, three answered), compared with `server`.
fn shadowed(server: &Server) {
    let dir = tempfile::tempdir().unwrap();
    support::write_shadowed_bindings(dir.path());
    let shadowing = start(dir.path(), &[]);
    load_briefly(&shadowing);
    let [plain, shadow] = interleaved([
        &|round| load_for(server, 2, Some(MODERATE_RATE), round),
        &|round| load_for(&shadowing, 2, Some(MODERATE_RATE), round),
    ]);
    let [plain_saturated, shadow_saturated] = interleaved([
        &|round| load_for(server, CONNECTIONS, None, round),
        &|round| load_for(&shadowing, CONNECTIONS, None, round),
    ]);
    table("Without and with a shadow challenger on every policy (no swaps, no log):");
    let moderate = format!("moderate: {MODERATE_RATE} req/s, 2 clients");
    println!("{}", plain.row(&moderate));
    println!(
        "{}",
        shadow.row(&format!("{moderate}, shadow on every policy"))
    );
    let saturated = format!("saturated: {CONNECTIONS} clients back to back");
    println!("{}", plain_saturated.row(&saturated));
    println!(
        "{}",
        shadow_saturated.row(&format!("{saturated}, shadow on every policy"))
    );
    println!();
    println!(
        "with shadows, of without: p99 at moderate load {:.2}×, throughput saturated {:.1}%",
        shadow.percentile(0.99) / plain.percentile(0.99),
        100.0 * shadow_saturated.rate / plain_saturated.rate
    );
}

/// Prints a table's title and header.
fn table(title: &str) {
    println!();
    println!("{title}");
    println!();
    println!("| load | requests/s | p50 ms | p99 ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: |");
}

/// The 1-minute load average, when the system tells it: other work on the
/// machine skews latency.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Sends `WARM_UP` requests one after another.
fn load_briefly(server: &Server) {
    let agent = agent();
    let url = format!("{}/v1/evaluate", server.base);
    for i in 0..WARM_UP {
        request(&agent, &url, &customer(i));
    }
}
