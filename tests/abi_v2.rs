//! ABI v2 through the binary: the hand-written v2 plugin, the v1 and v2
//! builds of one policy deciding alike, a log of a v1 module replaying,
//! data a policy ignores, and the profile size bound.

use std::fmt::Write as _;

use proptest::prelude::*;
use serde_json::Value;

use crate::util::{REFERENCE, Scratch, json_lines, plugin_wasm, retarget, root, run, wat};

/// The records of a `verdict eval` that decided everything.
fn eval_jsonl(scratch: &Scratch, profiles: &std::path::Path) -> Vec<Value> {
    let out = scratch.eval_jsonl(profiles);
    assert_eq!(out.code, 0, "{}", out.stderr);
    json_lines(&out.stdout)
}

#[test]
fn the_hand_written_v2_plugin_gets_its_parameters_once_and_the_binary_envelope() {
    let scratch = Scratch::new();
    scratch.bind("minimal", &wat("minimal-v2"), "");
    let profiles = scratch.write(
        "profiles/p.toml",
        "as_of = 2031-05-06\n[[customer]]\nid = \"X\"\nbirth_date = 1990-01-01\ntier = \"gold\"\n",
    );
    let records = eval_jsonl(&scratch, &profiles);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["outcome"], "checked");
    // The year came from the binary envelope; `{}` is the parameter JSON
    // `verdict_init` got.
    assert_eq!(
        record["value"],
        serde_json::json!({"as_of_year": 2031, "params_bytes": 2})
    );
    assert_eq!(record["reasons"][0]["code"], "hand-written");
}

/// A profile the loan-rates policy reads in every part: ages across every
/// band, every loan type and some it does not know, amounts with cents,
/// languages, unknown keys at every level.
fn customer() -> impl Strategy<Value = String> {
    (
        (1925i32..2012, 1u32..13, 1u32..29),
        proptest::option::of((
            prop_oneof![
                Just("student"),
                Just("personal"),
                Just("car"),
                Just("mortgage"),
                Just("boat"),
            ],
            proptest::option::of(0u32..200_000_000),
        )),
        proptest::option::of(prop_oneof![
            Just("en"),
            Just("pt"),
            Just("sv"),
            Just("id"),
            Just("pt-BR"),
            Just("xx")
        ]),
        proptest::collection::vec(
            prop_oneof![Just("pension"), Just("credit-card"), Just("mortgage")],
            0..3,
        ),
        any::<bool>(),
    )
        .prop_map(|((year, month, day), loan, language, products, extra)| {
            let mut text = format!("birth_date = {year:04}-{month:02}-{day:02}\n");
            if let Some(language) = language {
                writeln!(text, "language = {language:?}").unwrap();
            }
            writeln!(text, "products = {products:?}").unwrap();
            if extra {
                text.push_str("tier = { level = \"gold\", since = 2001-02-03 }\n");
            }
            if let Some((kind, amount)) = loan {
                text.push_str("[customer.loan_request]\n");
                writeln!(text, "type = {kind:?}").unwrap();
                if let Some(cents) = amount {
                    writeln!(text, "amount_usd = {}.{:02}", cents / 100, cents % 100).unwrap();
                }
                if extra {
                    text.push_str("term = { months = 48 }\n");
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// The loan-rates module built for ABI v1 before v2 existed (kept in
    /// `tests/plugins/`) and today's v2 build decide every customer the
    /// same, to the byte of the record but for the module's digest.
    #[test]
    fn v1_and_v2_builds_of_a_policy_make_identical_decisions(
        customers in proptest::collection::vec(customer(), 150),
    ) {
        let scratch = Scratch::new();
        let binding = std::fs::read_to_string(root().join("policies/loan-rates.toml")).unwrap();
        let v1 = root().join("tests/plugins/loan-rates-v1.wasm");
        scratch.write("rates-v1.toml", &retarget(&binding, &v1));
        scratch.write("rates-v2.toml", &retarget(&binding, &plugin_wasm("loan-rates")));
        let mut text = String::from("as_of = 2026-11-23\n");
        for (index, customer) in customers.iter().enumerate() {
            write!(text, "[[customer]]\nid = \"C-{index}\"\n{customer}").unwrap();
        }
        let profiles = scratch.write("profiles/p.toml", &text);
        let records = eval_jsonl(&scratch, &profiles);
        prop_assert_eq!(records.len(), 2 * customers.len());
        let mut decided = 0;
        for pair in records.chunks(2) {
            let [v1, v2] = pair else { unreachable!() };
            prop_assert_eq!(&v1["policy"], "rates-v1");
            prop_assert_eq!(&v2["policy"], "rates-v2");
            prop_assert_ne!(&v1["module_sha256"], &v2["module_sha256"]);
            let same = |record: &Value| {
                let mut record = record.clone();
                let fields = record.as_object_mut().unwrap();
                fields.remove("policy");
                fields.remove("module_sha256");
                serde_json::to_string(&record).unwrap()
            };
            prop_assert_eq!(same(v1), same(v2));
            decided += usize::from(v1["outcome"] != "error");
        }
        // Not a comparison of errors: nearly every customer is decided.
        prop_assert!(decided > customers.len() * 9 / 10, "{} decided", decided);
    }
}

#[test]
fn a_customer_with_8000_accounts_decides_on_every_reference_policy() {
    let scratch = Scratch::shipped();
    let mut text = String::from(
        "as_of = 2026-11-23\n[[customer]]\nid = \"RICH\"\nbirth_date = 1969-03-02\n\
         language = \"sv\"\nproducts = [\"pension\"]\naccounts = [\n",
    );
    for n in 0..8000 {
        writeln!(
            text,
            "  {{ number = \"ACC-{n:05}\", balance_usd = {n}.25, opened = 2001-02-03, tags = [\"a\", \"b\"] }},"
        )
        .unwrap();
    }
    text.push_str(
        "]\n[customer.stay]\nrecovery_spent_usd = 1800.0\nrequested_recovery_usd = 350.0\n",
    );
    text.push_str("[customer.loan_request]\ntype = \"mortgage\"\namount_usd = 320000\n");
    let profiles = scratch.write("profiles/rich.toml", &text);
    let records = eval_jsonl(&scratch, &profiles);
    let mut policies: Vec<&str> = records
        .iter()
        .map(|record| record["policy"].as_str().unwrap())
        .collect();
    policies.sort_unstable();
    let mut expected = REFERENCE.to_vec();
    expected.sort_unstable();
    assert_eq!(policies, expected);
    for record in &records {
        assert_ne!(record["outcome"], "error", "{record}");
        assert!(!record["outcome"].as_str().unwrap().is_empty());
    }
}

#[test]
fn a_profile_over_the_size_bound_is_refused_before_any_plugin_runs() {
    let scratch = Scratch::shipped();
    let notes = "x".repeat((1 << 20) + 1);
    let profiles = scratch.write(
        "profiles/big.toml",
        &format!(
            "as_of = 2026-11-23\n[[customer]]\nid = \"SMALL\"\nbirth_date = 1990-01-01\n\
             [[customer]]\nid = \"BIG\"\nbirth_date = 1990-01-01\nnotes = \"{notes}\"\n"
        ),
    );
    let out = scratch.eval(&profiles, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "customer `BIG` is 1048626 bytes of profile JSON, more than the 1024 KiB a profile may have"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("big.toml:5:1"), "{}", out.stderr);
    assert_eq!(out.stdout, "", "nothing is decided");
}

/// A decision log made with a module built for ABI v1 replays identically
/// on this host once the module and its binding are gone: the archive
/// keeps the v1 bytes and they decide exactly as when logged.
#[test]
fn a_log_made_by_a_v1_module_replays_identically() {
    let scratch = Scratch::new();
    let module = scratch.dir.path().join("plugins/loan-rates-v1.wasm");
    std::fs::create_dir_all(module.parent().unwrap()).unwrap();
    std::fs::copy(root().join("tests/plugins/loan-rates-v1.wasm"), &module).unwrap();
    let binding = std::fs::read_to_string(root().join("policies/loan-rates.toml")).unwrap();
    let policies = scratch.dir.path().join("policies");
    scratch.write("policies/loan-rates.toml", &retarget(&binding, &module));
    let log = scratch.dir.path().join("audit/decisions.jsonl");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let samples = root().join("policies/profiles/customers.toml");
    let out = run(&[
        "eval",
        "--policies",
        &policies.display().to_string(),
        "--profiles",
        &samples.display().to_string(),
        "--format",
        "jsonl",
        "--log",
        &log.display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let decisions = json_lines(&out.stdout).len();
    assert!(decisions > 10, "{decisions} decisions");
    std::fs::remove_dir_all(scratch.dir.path().join("plugins")).unwrap();
    std::fs::remove_dir_all(&policies).unwrap();
    let replayed = run(&["replay", &log.display().to_string()]);
    assert_eq!(replayed.code, 0, "{}{}", replayed.stdout, replayed.stderr);
    assert_eq!(
        replayed.stdout,
        format!("replayed {decisions}: {decisions} identical, 0 mismatched\n")
    );
}
