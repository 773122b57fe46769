//! What the benchmarks share: synthetic customer profiles, the shipped
//! bindings pointed at the built plugins (with or without a shadow
//! challenger), and running the `verdict` binary with its time and peak
//! memory measured.

#![allow(dead_code, reason = "each bench uses a part of it")]

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// A profiles file of `n` customers spread over every age band, rung and
/// outcome of the reference policies, deterministic for a given `n`.
pub(crate) fn generate_profiles(n: usize) -> String {
    const LANGUAGES: [&str; 7] = ["en", "pt", "fr", "sv", "hu", "id", "de"];
    const LOANS: [&str; 5] = ["student", "personal", "car", "mortgage", "boat"];
    const PRODUCTS: [&str; 4] = [
        "live-cash-account",
        "student-account",
        "credit-card",
        "mortgage",
    ];
    let mut out = String::with_capacity(n * 260);
    out.push_str("as_of = 2026-11-23\n");
    // A small linear congruential generator keeps the file reproducible
    // without a dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |bound: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % bound
    };
    for i in 0..n {
        let year = 1926 + next(90);
        let month = 1 + next(12);
        let day = 1 + next(28);
        let _ = write!(
            out,
            "\n[[customer]]\nid = \"C-{i:07}\"\nname = \"Customer {i}\"\nbirth_date = {year}-{month:02}-{day:02}\nlanguage = \"{}\"\nproducts = [\"{}\"]\n",
            LANGUAGES[next(7) as usize],
            PRODUCTS[next(4) as usize],
        );
        if next(2) == 0 {
            let _ = write!(
                out,
                "[customer.stay]\nrecovery_spent_usd = {}.{:02}\nrequested_recovery_usd = {}.00\nrequested_by = \"{}\"\n",
                next(2500),
                next(100),
                1 + next(900),
                if next(4) == 0 { "manager" } else { "staff" },
            );
        }
        if next(3) != 0 {
            let _ = write!(
                out,
                "[customer.loan_request]\ntype = \"{}\"\namount_usd = {}\n",
                LOANS[next(5) as usize],
                1000 + next(500_000),
            );
        }
    }
    out
}

/// One measured run of a command.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measured {
    /// Wall-clock time, in seconds.
    pub seconds: f64,
    /// The process's peak resident memory, in MiB.
    pub peak_mib: f64,
}

/// Runs `command` (stdout discarded) to its end and measures it: its own
/// peak memory, not that of earlier runs. Panics when it fails (an exit
/// code above 1: `verdict eval` exits 1 when a decision is an error).
pub(crate) fn run_measured(command: &mut Command) -> Measured {
    let started = Instant::now();
    #[allow(clippy::zombie_processes, reason = "reaped by wait4 below")]
    let child = command.stdout(Stdio::null()).spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `pid` is this process's child, not yet waited for; wait4
    // fills `status` and `usage` when it returns `pid`.
    let usage = unsafe {
        assert_eq!(libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()), pid);
        usage.assume_init()
    };
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) <= 1,
        "{command:?} failed: status {status:#x}"
    );
    Measured {
        seconds,
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// The repository root.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The built reference plugin `name` (`loan_rates`...).
pub(crate) fn module(name: &str) -> PathBuf {
    let path = root()
        .join("target/wasm32-unknown-unknown/plugin")
        .join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo plugins` first",
        path.display()
    );
    path
}

/// The binding text `binding` with its `plugin` line pointing at `plugin`.
pub(crate) fn retarget(binding: &str, plugin: &Path) -> String {
    binding
        .lines()
        .map(|line| {
            if line.starts_with("plugin") {
                format!("plugin = {:?}", plugin.display().to_string())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each shipped policy and the one parameter its shadow challenger changes.
const SHADOW_CHANGES: [(&str, &str, &str); 3] = [
    ("loan-rates", "car = 5.4", "car = 5.6"),
    (
        "product-ladder",
        "products = [\"credit-card\", \"personal-loan\"]",
        "products = [\"credit-card\"]",
    ),
    (
        "staff-allowance",
        "staff_limit_usd = 2000",
        "staff_limit_usd = 2500",
    ),
];

/// Writes the three shipped bindings into `dir`, pointed at the built
/// plugins, each with a shadow challenger (experiment `NAME-shadow`): the
/// same module with one parameter changed, so every request costs six
/// isolated decisions and some of the challengers' outcomes differ.
pub(crate) fn write_shadowed_bindings(dir: &Path) {
    for (name, from, to) in SHADOW_CHANGES {
        let text =
            std::fs::read_to_string(root().join("policies").join(format!("{name}.toml"))).unwrap();
        let text = retarget(&text, &module(&name.replace('-', "_")));
        let params: Vec<String> = text
            .lines()
            .skip_while(|line| !line.starts_with("[params") && !line.starts_with("[[params"))
            // `[params...]` and `[[params...]]` alike.
            .map(|line| line.replacen("[params", "[challenger.params", 1))
            .collect();
        let params = params.join("\n");
        assert!(params.contains(from), "{name}: `{from}` not in its params");
        let shadowed = format!(
            "{text}\n\n[challenger]\nid = \"{name}-shadow\"\nmode = \"shadow\"\n\n{}\n",
            params.replacen(from, to, 1)
        );
        std::fs::write(dir.join(format!("{name}.toml")), shadowed).unwrap();
    }
}
