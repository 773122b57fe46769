//! Inputs shared by the benchmarks: synthetic customer profiles.

use std::fmt::Write;

/// A profiles file of `n` customers spread over every age band, rung and
/// outcome of the reference policies, deterministic for a given `n`.
pub fn generate_profiles(n: usize) -> String {
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
