//! `verdict eval` on the shipped samples and policies: every outcome and
//! code, output order and formats, exit statuses, and bad input.

use std::collections::BTreeSet;
use std::path::Path;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::util::{
    Filters, Scratch, assert_points_at, json_lines, plugin_wasm, root, run, verdict_snapshot,
};

/// The records of `verdict eval --format jsonl` with more arguments, which
/// must succeed.
fn eval_records(args: &[&str]) -> Vec<Value> {
    let out = run(&[&["eval", "--format", "jsonl"], args].concat());
    assert_eq!(out.code, 0, "{}", out.stderr);
    json_lines(&out.stdout)
}

fn sample_records() -> Vec<Value> {
    eval_records(&[])
}

fn find<'a>(records: &'a [Value], customer: &str, policy: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["customer"] == customer && r["policy"] == policy)
        .unwrap_or_else(|| panic!("no decision for {customer} / {policy}"))
}

#[test]
fn samples_hit_every_outcome_and_code_of_every_policy() {
    let records = sample_records();
    let seen: BTreeSet<(String, String, String)> = records
        .iter()
        .flat_map(|r| {
            r["reasons"].as_array().unwrap().iter().map(move |reason| {
                (
                    r["policy"].as_str().unwrap().to_owned(),
                    r["outcome"].as_str().unwrap().to_owned(),
                    reason["code"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect();
    let expected = [
        ("staff-allowance", "not-applicable", "no-recovery-request"),
        ("staff-allowance", "deny", "invalid-amount"),
        ("staff-allowance", "deny", "unknown-role"),
        ("staff-allowance", "approve", "within-allowance"),
        ("staff-allowance", "refer", "over-allowance"),
        ("loan-rates", "not-applicable", "no-loan-request"),
        ("loan-rates", "deny", "minor"),
        ("loan-rates", "deny", "unknown-loan-type"),
        ("loan-rates", "deny", "not-eligible"),
        ("loan-rates", "quote", "rate-quoted"),
        ("product-ladder", "none", "too-young"),
        ("product-ladder", "none", "ladder-complete"),
        ("product-ladder", "offer", "next-products"),
    ];
    for (policy, outcome, code) in expected {
        assert!(
            seen.contains(&(policy.to_owned(), outcome.to_owned(), code.to_owned())),
            "no sample gives {policy} {outcome} {code}"
        );
    }
}

#[test]
fn records_come_in_customer_then_policy_name_order() {
    let records = sample_records();
    let text = std::fs::read_to_string(root().join("policies/profiles/customers.toml")).unwrap();
    let ids: Vec<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("id = \""))
        .map(|rest| rest.trim_end_matches('"').to_owned())
        .collect();
    let expected: Vec<(String, &str)> = ids
        .iter()
        .flat_map(|id| ["loan-rates", "product-ladder", "staff-allowance"].map(|p| (id.clone(), p)))
        .collect();
    let actual: Vec<(String, &str)> = records
        .iter()
        .map(|r| {
            (
                r["customer"].as_str().unwrap().to_owned(),
                r["policy"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn hotel_guest_over_the_staff_allowance_is_referred() {
    let records = sample_records();
    let guest = find(&records, "C-0002", "staff-allowance");
    assert_eq!(guest["outcome"], "refer");
    assert_eq!(
        guest["value"],
        json!({"limit_usd": 2000.0, "total_usd": 2150.0, "remaining_usd": 0.0})
    );
    assert_eq!(guest["reasons"][0]["code"], "over-allowance");
    assert_eq!(guest["plugin_version"], "1.0.0");
    let sha = crate::util::sha256_file(&plugin_wasm("staff-allowance"));
    assert_eq!(guest["module_sha256"], sha.as_str());
}

#[test]
fn thirteen_year_old_with_a_cash_account_has_completed_the_youth_rung() {
    let records = sample_records();
    let young = find(&records, "C-0001", "product-ladder");
    assert_eq!(young["outcome"], "none");
    assert_eq!(young["value"], json!({"stage": "youth", "products": []}));
    assert_eq!(young["reasons"][0]["code"], "ladder-complete");
}

#[test]
fn messages_follow_the_customer_language_with_english_fallback() {
    let records = sample_records();
    let english = find(&records, "C-0015", "staff-allowance")["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let german = find(&records, "C-0006", "loan-rates")["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    let french = find(&records, "C-0002", "staff-allowance")["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(english.is_ascii(), "{english}");
    // `de` is not supported: English.
    assert!(
        german.contains("mortgage") || german.contains("Mortgage"),
        "{german}"
    );
    assert_ne!(french, english);
    assert!(french.contains("US$2,150.00"), "{french}");
}

#[test]
fn json_format_is_the_same_records_as_jsonl() {
    let out = run(&["eval", "--format", "json"]);
    assert_eq!(out.code, 0);
    let array: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(array, sample_records());
}

#[test]
fn table_fits_in_eighty_columns_and_summarizes() {
    let out = run(&["eval"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in out.stdout.lines() {
        assert!(line.chars().count() <= 80, "too wide: {line}");
    }
    verdict_snapshot!("sample_table", out, Filters::new());
}

#[test]
fn policy_filter_and_as_of_override() {
    let records = eval_records(&["--policy", "loan-rates", "--as-of", "2030-01-01"]);
    assert!(records.iter().all(|r| r["policy"] == "loan-rates"));
    assert_eq!(records.len(), 15);
    // C-0008, born 2009-06-30, is a minor in 2026 but 20 on 2030-01-01.
    assert_eq!(find(&records, "C-0008", "loan-rates")["outcome"], "quote");

    let unknown = run(&["eval", "--policy", "no-such-policy"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no policy named `no-such-policy`"),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stdout.is_empty());
}

/// Bad profile files: exit 2, nothing evaluated, and the message names the
/// file, line, column and problem.
#[track_caller]
fn check_bad_profile(text: &str, location: &str, problem: &str) {
    let scratch = Scratch::new();
    let path = scratch.write("bad.toml", text);
    let out = run(&[
        "eval",
        "--profiles",
        &path.display().to_string(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "nothing may be evaluated: {}",
        out.stdout
    );
    assert_problem(&out.stderr, &path, location, problem);
}

/// Asserts `stderr` is one error, `error: PROBLEM` in full, pointing at
/// `file:location`.
#[track_caller]
fn assert_problem(stderr: &str, file: &std::path::Path, location: &str, problem: &str) {
    assert_eq!(
        stderr.lines().next(),
        Some(format!("error: {problem}").as_str()),
        "in:\n{stderr}"
    );
    assert_eq!(stderr.matches("error: ").count(), 1, "one error:\n{stderr}");
    assert_points_at(stderr, file, location);
}

const GOOD: &str = "as_of = 2026-11-23\n[[customer]]\nid = \"A\"\nbirth_date = 1990-01-01\n";

#[test]
fn missing_id_is_refused() {
    check_bad_profile(
        &format!("{GOOD}\n[[customer]]\nname = \"No Id\"\nbirth_date = 1990-01-01\n"),
        "6:1",
        "customer is missing required key `id`",
    );
}

#[test]
fn duplicate_id_is_refused() {
    check_bad_profile(
        &format!("{GOOD}\n[[customer]]\nid = \"A\"\nbirth_date = 1991-01-01\n"),
        "7:6",
        "duplicate customer id `A`",
    );
}

#[test]
fn birth_date_that_is_not_a_date_is_refused() {
    check_bad_profile(
        "[[customer]]\nid = \"A\"\nbirth_date = \"1990-01-01\"\n",
        "3:14",
        "`birth_date` in customer must be a date such as 2012-05-04 (no quotes, no time)",
    );
    check_bad_profile(
        "[[customer]]\nid = \"A\"\nbirth_date = 1990-02-30\n",
        "3:14",
        "invalid date, expected day between 01 and 28",
    );
}

#[test]
fn birth_date_after_as_of_is_refused() {
    check_bad_profile(
        "as_of = 2026-11-23\n[[customer]]\nid = \"A\"\nbirth_date = 2026-11-24\n",
        "4:14",
        "customer `A` has birth_date 2026-11-24 after the evaluation date 2026-11-23",
    );
}

#[test]
fn syntax_errors_and_wrong_types_are_refused() {
    check_bad_profile(
        "[[customer]\nid = \"A\"\n",
        "1:12",
        "unclosed array table, expected `]`",
    );
    check_bad_profile(
        &format!("{GOOD}products = \"credit-card\"\n"),
        "5:12",
        "`products` in customer must be a list of strings",
    );
    check_bad_profile(
        &format!("{GOOD}[customer.loan_request]\namount_usd = 10\n"),
        "5:1",
        "customer.loan_request is missing required key `type`",
    );
    check_bad_profile(
        &format!("{GOOD}[customers]\n"),
        "5:2",
        "unknown key `customers` in a profiles file",
    );
}

#[test]
fn missing_profiles_file_is_bad_input() {
    let out = run(&["eval", "--profiles", "no/such/file.toml"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no/such/file.toml"), "{}", out.stderr);
}

/// Bad bindings: exit 2 with the binding's file:line:col.
#[track_caller]
fn check_bad_binding(binding: &str, location: &str, problem: &str) {
    let scratch = Scratch::shipped();
    let path = scratch.write("staff-allowance.toml", binding);
    let out = scratch.eval(Path::new("policies/profiles/customers.toml"), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stdout.is_empty(),
        "nothing may be evaluated: {}",
        out.stdout
    );
    assert_points_at(&out.stderr, &path, location);
    assert!(
        out.stderr.contains(problem),
        "expected `{problem}` in:\n{}",
        out.stderr
    );
}

fn staff_binding(version: &str, extra: &str, params: &str) -> String {
    format!(
        "plugin = {:?}\nversion = \"{version}\"\n{extra}\n[params]\n{params}\n",
        plugin_wasm("staff-allowance").display().to_string()
    )
}

#[test]
fn version_outside_the_range_is_refused() {
    check_bad_binding(
        &staff_binding("^2.0", "", ""),
        "2:11",
        "is version 1.0.0, outside the accepted range",
    );
    check_bad_binding(&staff_binding("one", "", ""), "2:11", "not a semver range");
}

#[test]
fn sha256_pin_mismatch_is_refused_and_a_match_accepted() {
    let wrong = format!("sha256 = \"{}\"", "0".repeat(64));
    check_bad_binding(
        &staff_binding("^1.0", &wrong, ""),
        "3:10",
        "not the pinned one",
    );

    let scratch = Scratch::shipped();
    let right = format!(
        "sha256 = \"{}\"",
        crate::util::sha256_file(&plugin_wasm("staff-allowance"))
    );
    scratch.write("staff-allowance.toml", &staff_binding("^1.0", &right, ""));
    let out = scratch.eval(Path::new("policies/profiles/customers.toml"), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn bad_parameters_are_refused_at_load() {
    check_bad_binding(
        &staff_binding("^1.0", "", "staff_limit = 10"),
        "5:1",
        "declares no parameter `staff_limit`",
    );
    check_bad_binding(
        &staff_binding("^1.0", "", "staff_limit_usd = \"lots\""),
        "5:19",
        "must be a number",
    );
    check_bad_binding(
        &staff_binding("^1.0", "", "staff_limit_usd = -5"),
        "5:19",
        "must be at least 0",
    );
}

#[test]
fn missing_plugin_module_points_at_the_binding() {
    check_bad_binding(
        "plugin = \"nowhere.wasm\"\nversion = \"^1\"\n",
        "1:10",
        "cannot read plugin",
    );
}

#[test]
fn unknown_profile_keys_reach_the_plugin_unchanged() {
    let scratch = Scratch::new();
    scratch.bind("hello", &crate::util::wat("hello"), "");
    let profiles = scratch.write(
        "profiles/p.toml",
        "as_of = 2026-11-23\n[[customer]]\nid = \"X\"\nbirth_date = 1990-01-01\nloyalty = { tier = \"gold\", since = 2001-02-03 }\n",
    );
    let out = scratch.eval_jsonl(&profiles);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let envelope = r#"{"as_of":"2026-11-23","params":{},"customer":{"birth_date":"1990-01-01","id":"X","loyalty":{"since":"2001-02-03","tier":"gold"}}}"#;
    assert_eq!(
        json_lines(&out.stdout)[0]["value"]["input_bytes"],
        envelope.len()
    );
}

/// Ages counted the slow way: anniversaries passed, a 29 February one
/// falling on 1 March in common years.
fn age_by_anniversaries(born: (i32, u32, u32), on: (i32, u32, u32)) -> u32 {
    let leap = |y: i32| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mut age = 0;
    for year in born.0 + 1..=on.0 {
        let anniversary = if (born.1, born.2) == (2, 29) && !leap(year) {
            (year, 3, 1)
        } else {
            (year, born.1, born.2)
        };
        if anniversary <= on {
            age += 1;
        }
    }
    age
}

fn band(age: u32) -> &'static str {
    match age {
        18..=24 => "18-24",
        25..=34 => "25-34",
        35..=49 => "35-49",
        50..=64 => "50-64",
        _ => "65+",
    }
}

fn date() -> impl Strategy<Value = (i32, u32, u32)> {
    (1930i32..2026, 1u32..=12, 1u32..=31).prop_filter("real date", |&(y, m, d)| {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        d <= days
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// The age the real plugins use, through the real binary, matches an
    /// independent count for many birth dates, leap days included.
    #[test]
    fn age_bands_match_an_independent_age_count(
        births in proptest::collection::vec(prop_oneof![date(), (1932i32..2008).prop_map(|y| (y - y % 4, 2, 29))], 40),
        on in date(),
    ) {
        let on = (on.0.max(2000), on.1, on.2);
        let scratch = Scratch::new();
        let mut text = format!("as_of = {:04}-{:02}-{:02}\n", on.0, on.1, on.2);
        let mut expected = Vec::new();
        for (i, born) in births.iter().enumerate() {
            if *born > on {
                continue;
            }
            text.push_str(&format!(
                "\n[[customer]]\nid = \"P-{i}\"\nbirth_date = {:04}-{:02}-{:02}\nloan_request = {{ type = \"car\" }}\n",
                born.0, born.1, born.2
            ));
            expected.push(age_by_anniversaries(*born, on));
        }
        let path = scratch.write("p.toml", &text);
        let out = run(&["eval", "--policy", "loan-rates", "--profiles", &path.display().to_string(), "--format", "jsonl"]);
        prop_assert_eq!(out.code, 0, "{}", out.stderr);
        let records = json_lines(&out.stdout);
        prop_assert_eq!(records.len(), expected.len());
        for (record, age) in records.iter().zip(expected) {
            if age < 18 {
                prop_assert_eq!(&record["outcome"], "deny");
            } else {
                prop_assert_eq!(&record["value"]["age_band"], band(age), "age {}", age);
            }
        }
    }
}

/// A profiles file of `n` customers (5 lines each after a 1-line header),
/// large enough to be parsed in parallel parts.
fn many_customers(n: usize) -> String {
    let mut text = String::from("as_of = 2026-11-23\n");
    for i in 0..n {
        text.push_str(&format!(
            "[[customer]]\nid = \"M-{i}\"\nbirth_date = 19{:02}-06-15\nproducts = []\n\n",
            i % 90 + 10
        ));
    }
    text
}

#[test]
fn a_large_file_is_decided_whole_and_in_order() {
    let text = many_customers(8_000);
    assert!(text.len() > 512 << 10, "too small to be read in parts");
    let scratch = Scratch::new();
    let path = scratch.write("many.toml", &text);
    let records = eval_records(&[
        "--profiles",
        &path.display().to_string(),
        "--policy",
        "product-ladder",
    ]);
    assert_eq!(records.len(), 8_000);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record["customer"], format!("M-{i}"));
    }
}

#[test]
fn a_problem_deep_in_a_large_file_names_its_line() {
    // Customer i starts on line 2 + 5 i; its birth_date is 2 lines lower.
    let year = 1900 + 7000 % 90 + 10;
    let text = many_customers(8_000).replace(
        &format!("id = \"M-7000\"\nbirth_date = {year}-06-15"),
        &format!("id = \"M-7000\"\nbirth_date = {year}-06-31"),
    );
    check_bad_profile(
        &text,
        "35004:14",
        "invalid date, expected day between 01 and 30",
    );
    let text = many_customers(8_000).replace("\"M-7500\"", "\"M-12\"");
    check_bad_profile(&text, "37503:6", "duplicate customer id `M-12`");
}
