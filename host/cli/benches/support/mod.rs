//! What the benchmarks share: synthetic customer profiles, and running the
//! `verdict` binary with its time and peak memory measured.

#![allow(dead_code, reason = "each bench uses a part of it")]

use std::fmt::Write;
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
