//! Champion and challenger through the binary: which customer is in which
//! arm (recomputed here from the documented rule, not through Verdict's
//! code), both arms in the log, replay, verify catching an edited arm,
//! promote under load, and the bad experiments a binding may hold.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};
use sha2::Digest;

use crate::audit::{read_lines, reseal, verify, write_lines};
use crate::service::{Service, TOKEN, bearer};
use crate::util::{Scratch, assert_points_at, json_lines, run};

/// The staff-allowance challenger: a US$2,500 staff limit instead of
/// US$2,000.
const CHALLENGER_PARAMS: &str = "\n[challenger.params]\nstaff_limit_usd = 2500\n";

/// The shipped bindings, staff-allowance with a `[challenger]` table of
/// `lines` and [`CHALLENGER_PARAMS`].
fn with_challenger(lines: &str) -> Scratch {
    let scratch = Scratch::shipped();
    let binding = scratch.dir.path().join("staff-allowance.toml");
    let mut text = std::fs::read_to_string(&binding).unwrap();
    text.push_str(&format!("\n[challenger]\n{lines}{CHALLENGER_PARAMS}"));
    std::fs::write(&binding, text).unwrap();
    scratch
}

/// Whether the challenger answers `customer`, by the rule as docs/
/// operations.md states it: SHA-256 of id, 0, salt, 0, customer; the
/// first 8 bytes big-endian below `percent`% of 2^64.
fn in_challenger_arm(
    experiment: &str,
    salt: &str,
    percent_millionths: u128,
    customer: &str,
) -> bool {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(experiment.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(salt.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(customer.as_bytes());
    let digest = sha2::Sha256::digest(&bytes);
    let h = u128::from(u64::from_be_bytes(digest[..8].try_into().unwrap()));
    h * 1_000_000 < percent_millionths << 64
}

/// A hotel guest whose staff spent `spent` and ask for US$350 more.
fn guest(id: &str, spent: u32) -> Value {
    json!({
        "id": id,
        "birth_date": "1980-05-01",
        "stay": {
            "recovery_spent_usd": spent,
            "requested_recovery_usd": 350,
            "requested_by": "staff",
        },
    })
}

fn field<'a>(record: &'a Value, key: &str) -> &'a Value {
    record.get(key).unwrap_or(&Value::Null)
}

#[test]
fn a_ten_percent_split_over_10000_customers_follows_the_hash_rule_and_replays() {
    let scratch = with_challenger(
        "id = \"allowance-2027\"\nmode = \"split\"\npercent = 10\nsalt = \"2027-01\"\n\
         shadow_other = true\n",
    );
    let log = scratch.dir.path().join("decisions.jsonl");
    let service = Service::start(
        scratch.dir.path(),
        false,
        &["--log", &log.display().to_string()],
    );
    let ids: Vec<String> = (1..=10_000).map(|i| format!("G-{i:05}")).collect();
    let expected: BTreeMap<&str, bool> = ids
        .iter()
        .map(|id| {
            (
                id.as_str(),
                in_challenger_arm("allowance-2027", "2027-01", 100_000, id),
            )
        })
        .collect();
    let challengers = expected.values().filter(|&&c| c).count();
    assert!((800..1200).contains(&challengers), "{challengers}");
    for batch in ids.chunks(1000) {
        let customers: Vec<Value> = batch.iter().map(|id| guest(id, 1800)).collect();
        let answered = service.evaluate(&json!({
            "customers": customers,
            "policies": ["staff-allowance"],
            "as_of": "2026-11-23",
        }));
        // One answer per customer: its arm's, never the other arm's.
        assert_eq!(answered.len(), batch.len());
        for (record, id) in answered.iter().zip(batch) {
            let challenger = expected[id.as_str()];
            assert_eq!(field(record, "customer"), id.as_str());
            assert_eq!(field(record, "experiment"), "allowance-2027");
            assert_eq!(
                field(record, "arm"),
                if challenger { "challenger" } else { "champion" }
            );
            assert_eq!(field(record, "answered"), true);
            // US$2,150 in all: over the champion's limit, within the
            // challenger's.
            let (outcome, limit) = if challenger {
                ("approve", 2500.0)
            } else {
                ("refer", 2000.0)
            };
            assert_eq!(field(record, "outcome"), outcome, "{record}");
            assert_eq!(record["value"]["limit_usd"], limit, "{record}");
        }
    }
    let served = service.metric(
        "verdict_decisions_total{policy=\"staff-allowance\",arm=\"challenger\",outcome=\"approve\"}",
    );
    assert_eq!(served, 10_000.0, "both arms decide everyone");
    drop(service);

    // Both arms of every customer are logged, champion first, with the
    // rule the verifier needs.
    let lines = read_lines(&log);
    assert_eq!(lines.len(), 20_000);
    for (pair, id) in lines.chunks(2).zip(&ids) {
        let challenger = expected[id.as_str()];
        for (line, arm) in pair.iter().zip(["champion", "challenger"]) {
            let entry: Value = serde_json::from_str(line).unwrap();
            assert_eq!(entry["split"], json!({"percent": 10, "salt": "2027-01"}));
            let decision = &entry["decision"];
            assert_eq!(field(decision, "customer"), id.as_str());
            assert_eq!(field(decision, "arm"), arm);
            assert_eq!(
                field(decision, "answered"),
                (arm == "challenger") == challenger,
                "{line}"
            );
        }
    }
    let checked = verify(&log);
    assert_eq!(checked.code, 0, "{}{}", checked.stdout, checked.stderr);
    assert_report_counts(&log, &lines);
    let replayed = run(&["replay", &log.display().to_string()]);
    assert_eq!(replayed.code, 0, "{}{}", replayed.stdout, replayed.stderr);
    assert!(
        replayed
            .stdout
            .contains("replayed 20000: 20000 identical, 0 mismatched"),
        "{}",
        replayed.stdout
    );
}

#[test]
fn verify_names_the_line_of_a_record_whose_arm_was_edited_even_when_resealed() {
    let scratch = with_challenger("id = \"allowance-shadow\"\nmode = \"shadow\"\n");
    let log = scratch.dir.path().join("decisions.jsonl");
    let profiles = crate::util::root().join("policies/profiles/customers.toml");
    let out = scratch.eval(
        &profiles,
        &["--format", "jsonl", "--log", &log.display().to_string()],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = json_lines(&out.stdout);
    // Shadow: the champion answers, the challenger is recorded beside it.
    let staff: Vec<&Value> = records
        .iter()
        .filter(|r| r["policy"] == "staff-allowance")
        .collect();
    assert_eq!(staff.len(), 30);
    for pair in staff.chunks(2) {
        assert_eq!(
            (&pair[0]["arm"], &pair[0]["answered"]),
            (&json!("champion"), &json!(true))
        );
        assert_eq!(
            (&pair[1]["arm"], &pair[1]["answered"]),
            (&json!("challenger"), &json!(false))
        );
    }
    let mut lines = read_lines(&log);
    let at = lines
        .iter()
        .position(|line| line.contains("\"arm\":\"challenger\",\"answered\":false"))
        .unwrap();
    lines[at] = lines[at].replace("\"answered\":false", "\"answered\":true");
    write_lines(&log, &lines);
    let edited = verify(&log);
    assert_eq!(edited.code, 1, "{}", edited.stdout);
    assert!(
        edited.stdout.contains(&format!("line {}: edited", at + 1)),
        "{}",
        edited.stdout
    );
    // A forger who rewrites the whole chain is caught by the rule.
    reseal(&mut lines);
    write_lines(&log, &lines);
    let resealed = verify(&log);
    assert_eq!(resealed.code, 1, "{}", resealed.stdout);
    assert!(
        resealed.stdout.contains(&format!(
            "line {}: wrong-arm: the decision says it is the challenger arm of experiment \
             `allowance-shadow` and was answered, but under the experiment's rule (shadow: the \
             champion answers) the champion arm answers this customer",
            at + 1
        )),
        "{}",
        resealed.stdout
    );
}

#[test]
fn eval_refuses_bad_experiments_at_their_place() {
    let split = "id = \"x\"\nmode = \"split\"\nsalt = \"s\"\n";
    // (the [challenger] lines, what stderr says, the line:col it points at)
    let cases = [
        (
            format!("{split}percent = 150\n"),
            "`challenger.percent`: 150 is not a percentage from 0 to 100",
            "12:11",
        ),
        (
            format!("{split}percent = \"ten\"\n"),
            "`challenger.percent`: invalid type: string \"ten\", expected f64",
            "12:11",
        ),
        (
            "id = \"x\"\nmode = \"split\"\npercent = 10\n".to_owned(),
            "a split needs a `salt`",
            "8:2",
        ),
        (
            "id = \"x\"\nmode = \"shadow\"\nversion = \"^2\"\n".to_owned(),
            "plugin `staff-allowance` is version 1.0.0, outside the accepted range `^2`",
            "11:11",
        ),
        (
            "id = \"x\"\nmode = \"shadow\"\n\n[challenger.params]\nstaff_limit_usd = -5\n"
                .to_owned(),
            "staff_limit_usd",
            "13:19",
        ),
    ];
    let profiles = crate::util::root().join("policies/profiles/customers.toml");
    for (lines, message, at) in cases {
        let scratch = Scratch::shipped();
        let binding = scratch.dir.path().join("staff-allowance.toml");
        let mut text = std::fs::read_to_string(&binding).unwrap();
        text.push_str(&format!("\n[challenger]\n{lines}"));
        std::fs::write(&binding, &text).unwrap();
        let out = scratch.eval(&profiles, &[]);
        assert_eq!(out.code, 2, "{lines}\n{}", out.stderr);
        assert!(out.stdout.is_empty(), "nothing decided: {}", out.stdout);
        assert!(out.stderr.contains(message), "{lines}\n{}", out.stderr);
        assert_points_at(&out.stderr, &binding, at);
    }
}

#[test]
fn two_experiments_with_one_id_are_refused_and_a_challenger_like_its_champion_warned() {
    let scratch = with_challenger("id = \"same\"\nmode = \"shadow\"\n");
    let loan = scratch.dir.path().join("loan-rates.toml");
    let mut text = std::fs::read_to_string(&loan).unwrap();
    text.push_str("\n[challenger]\nid = \"same\"\nmode = \"shadow\"\n");
    std::fs::write(&loan, text).unwrap();
    let profiles = crate::util::root().join("policies/profiles/customers.toml");
    let out = scratch.eval(&profiles, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("experiment `same` is already run by policy `loan-rates`"),
        "{}",
        out.stderr
    );
    let binding = scratch.dir.path().join("staff-allowance.toml");
    assert_points_at(&out.stderr, &binding, "9:6");

    // loan-rates' challenger is its champion exactly: allowed, with a
    // warning, and both arms agree on every customer.
    let text = std::fs::read_to_string(&binding).unwrap();
    std::fs::write(&binding, text.replace("\"same\"", "\"other\"")).unwrap();
    let out = scratch.eval(&profiles, &["--format", "jsonl"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("the challenger is the champion's module with the champion's parameters"),
        "{}",
        out.stderr
    );
    let loans: Vec<Value> = json_lines(&out.stdout)
        .into_iter()
        .filter(|r| r["policy"] == "loan-rates")
        .collect();
    for pair in loans.chunks(2) {
        assert_eq!(pair[0]["outcome"], pair[1]["outcome"]);
        assert_eq!(pair[0]["value"], pair[1]["value"]);
    }
}

/// Evaluates three guests at US$2,150 each; returns the staff-allowance
/// records of the answer.
fn three_guests(service: &Service) -> Result<Vec<Value>, String> {
    let body = json!({
        "customers": [guest("L-1", 1800), guest("L-2", 1800), guest("L-3", 1800)],
        "policies": ["staff-allowance"],
        "as_of": "2026-11-23",
    });
    let (status, answer) = service.post("/v1/evaluate", &body, None);
    if status != 200 {
        return Err(format!("{status}: {answer}"));
    }
    Ok(answer.as_array().cloned().unwrap_or_default())
}

#[test]
fn a_shadow_under_load_answers_only_the_champion_and_promote_swaps_atomically() {
    let scratch = with_challenger("id = \"allowance-shadow\"\nmode = \"shadow\"\n");
    let log = scratch.dir.path().join("decisions.jsonl");
    let service = Service::start(
        scratch.dir.path(),
        true,
        &["--log", &log.display().to_string()],
    );
    let policies = service.get_json("/v1/policies");
    let staff = policies["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "staff-allowance")
        .unwrap()
        .clone();
    assert_eq!(staff["experiment"]["id"], "allowance-shadow");
    assert_eq!(staff["experiment"]["mode"], "shadow");
    assert_eq!(
        staff["experiment"]["challenger_params"]["staff_limit_usd"],
        2500
    );

    let stop = AtomicBool::new(false);
    let answered = AtomicUsize::new(0);
    // Each client's answers: the limits of one response, in order.
    let seen: Vec<Vec<Vec<f64>>> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut seen = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let records = three_guests(&service).unwrap();
                        for record in &records {
                            assert_ne!(record["arm"], "challenger", "{record}");
                            assert_ne!(record["answered"], false, "{record}");
                        }
                        seen.push(
                            records
                                .iter()
                                .map(|r| r["value"]["limit_usd"].as_f64().unwrap())
                                .collect(),
                        );
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    seen
                })
            })
            .collect();
        service.wait_for("requests before the promotion", || {
            answered.load(Ordering::Relaxed) >= 40
        });
        let (status, promoted) = service.post(
            "/v1/policies/staff-allowance/promote",
            &json!({}),
            Some(&bearer(TOKEN)),
        );
        assert_eq!(status, 200, "{promoted}");
        assert_eq!(promoted["experiment"], "allowance-shadow");
        assert_eq!(promoted["to"]["params"]["staff_limit_usd"], 2500);
        let at_promotion = answered.load(Ordering::Relaxed);
        service.wait_for("requests after the promotion", || {
            answered.load(Ordering::Relaxed) >= at_promotion + 40
        });
        stop.store(true, Ordering::Relaxed);
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for client in &seen {
        // Every response is one version whole; once a client saw the
        // challenger answer, it never sees the champion again.
        let mut promoted = false;
        for limits in client {
            assert_eq!(limits.len(), 3);
            assert!(limits.iter().all(|l| *l == limits[0]), "mixed: {limits:?}");
            match limits[0] {
                2000.0 => assert!(!promoted, "the champion answered after the promotion"),
                2500.0 => promoted = true,
                other => panic!("limit {other}"),
            }
        }
        assert!(promoted, "{client:?}");
    }
    assert!(service.metric("verdict_promotions_total") == 1.0);
    assert!(
        service.metric(
            "verdict_experiment_agreement{policy=\"staff-allowance\",experiment=\"allowance-shadow\"}"
        ) == 0.0,
        "the arms disagree on every guest here"
    );
    assert!(
        service
            .log()
            .contains("challenger promoted, experiment ended")
    );
    // The experiment is over: no challenger decides now.
    let after = three_guests(&service).unwrap();
    assert!(
        after.iter().all(|r| r.get("experiment").is_none()),
        "{after:?}"
    );

    // A rollback brings the experiment back.
    let (status, back) = service.post(
        "/v1/policies/staff-allowance/rollback",
        &json!({}),
        Some(&bearer(TOKEN)),
    );
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["to"]["experiment"], "allowance-shadow");
    let again = three_guests(&service).unwrap();
    assert!(again.iter().all(|r| r["arm"] == "champion"), "{again:?}");
    // Without an experiment there is nothing to promote.
    let (status, refused) = service.post(
        "/v1/policies/loan-rates/promote",
        &json!({}),
        Some(&bearer(TOKEN)),
    );
    assert_eq!(status, 409, "{refused}");
    let (status, _) = service.post("/v1/policies/staff-allowance/promote", &json!({}), None);
    assert_eq!(status, 401);
    drop(service);
    let checked = verify(&log);
    assert_eq!(checked.code, 0, "{}", checked.stdout);
}

#[test]
fn a_decisions_file_carries_the_arms_and_replays() {
    let scratch =
        with_challenger("id = \"allowance-2027\"\nmode = \"split\"\npercent = 50\nsalt = \"s\"\n");
    let profiles = crate::util::root().join("policies/profiles/customers.toml");
    let output = scratch.dir.path().join("decisions.parquet");
    let out = scratch.eval(&profiles, &["--output", &output.display().to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let replayed = run(&["replay", &output.display().to_string()]);
    assert_eq!(replayed.code, 0, "{}{}", replayed.stdout, replayed.stderr);
    assert!(
        replayed.stdout.contains("45 identical, 0 mismatched"),
        "{}",
        replayed.stdout
    );
    assert_columns(&output);
}

/// The decisions file holds the arm columns, one row per answered
/// staff-allowance decision (no other arm decides in this split).
fn assert_columns(path: &Path) {
    use arrow_array::Array as _;
    use arrow_array::cast::AsArray;
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut arms = BTreeMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        let policy = batch.column_by_name("policy").unwrap().as_string::<i32>();
        let arm = batch.column_by_name("arm").unwrap().as_string::<i32>();
        let experiment = batch
            .column_by_name("experiment")
            .unwrap()
            .as_string::<i32>();
        let answered = batch.column_by_name("answered").unwrap().as_boolean();
        for i in 0..batch.num_rows() {
            assert!(answered.value(i));
            if policy.value(i) == "staff-allowance" {
                assert_eq!(experiment.value(i), "allowance-2027");
                *arms.entry(arm.value(i).to_owned()).or_insert(0) += 1;
            } else {
                assert!(arm.is_null(i) && experiment.is_null(i));
            }
        }
    }
    let total: i32 = arms.values().sum();
    assert_eq!(total, 15, "{arms:?}");
}

/// `verdict report`'s counts equal the ones counted here from the log's
/// lines.
fn assert_report_counts(log: &Path, lines: &[String]) {
    let mut decided: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut answered: BTreeMap<String, usize> = BTreeMap::new();
    let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
    let decisions: Vec<Value> = lines
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["decision"].clone())
        .collect();
    for decision in &decisions {
        let arm = decision["arm"].as_str().unwrap().to_owned();
        let outcome = decision["outcome"].as_str().unwrap().to_owned();
        *decided.entry((arm.clone(), outcome)).or_default() += 1;
        if decision["answered"] == true {
            *answered.entry(arm).or_default() += 1;
        }
    }
    for pair in decisions.chunks(2) {
        let key = (
            pair[0]["outcome"].as_str().unwrap().to_owned(),
            pair[1]["outcome"].as_str().unwrap().to_owned(),
        );
        *pairs.entry(key).or_default() += 1;
    }
    let out = run(&["report", &log.display().to_string(), "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let policy = &report["policies"][0];
    assert_eq!(policy["policy"], "staff-allowance");
    assert_eq!(policy["experiments"], json!(["allowance-2027"]));
    for arm in policy["arms"].as_array().unwrap() {
        let name = arm["arm"].as_str().unwrap();
        assert_eq!(arm["answered"], answered[name], "{arm}");
        for outcome in arm["outcomes"].as_array().unwrap() {
            let key = (
                name.to_owned(),
                outcome["outcome"].as_str().unwrap().to_owned(),
            );
            assert_eq!(outcome["count"], decided[&key], "{outcome}");
        }
        let counted: usize = decided
            .iter()
            .filter(|((a, _), _)| a == name)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(arm["decided"], counted);
    }
    assert_eq!(policy["compared"], 10_000);
    for transition in policy["transitions"].as_array().unwrap() {
        let key = (
            transition["from"].as_str().unwrap().to_owned(),
            transition["to"].as_str().unwrap().to_owned(),
        );
        assert_eq!(transition["count"], pairs[&key], "{transition}");
    }
    assert_eq!(policy["changed"].as_array().unwrap().len(), 10_000);
}

#[test]
fn report_joins_later_outcomes_and_shadows_past_decisions_with_a_challenger() {
    use arrow_array::{BooleanArray, RecordBatch, StringArray};
    let scratch = Scratch::shipped();
    let log = scratch.dir.path().join("decisions.jsonl");
    let profiles = crate::util::root().join("policies/profiles/customers.toml");
    let out = scratch.eval(&profiles, &["--log", &log.display().to_string()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // A candidate binding with a higher staff limit, never deployed.
    let candidate = scratch.write(
        "candidates/staff-allowance.toml",
        &std::fs::read_to_string(scratch.dir.path().join("staff-allowance.toml"))
            .unwrap()
            .replace("staff_limit_usd = 2000", "staff_limit_usd = 3000"),
    );
    let ids: Vec<String> = (1..=15).map(|i| format!("C-{i:04}")).collect();
    let defaulted: Vec<bool> = (1..=15).map(|i| i % 3 == 0).collect();
    let batch = RecordBatch::try_from_iter([
        (
            "id",
            std::sync::Arc::new(StringArray::from(ids.clone())) as arrow_array::ArrayRef,
        ),
        (
            "defaulted",
            std::sync::Arc::new(BooleanArray::from(defaulted)) as arrow_array::ArrayRef,
        ),
    ])
    .unwrap();
    let outcomes = scratch.dir.path().join("outcomes.parquet");
    let mut writer = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&outcomes).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let log_arg = log.display().to_string();
    let outcomes_arg = outcomes.display().to_string();
    let missing = run(&["report", &log_arg, "--join", &outcomes_arg]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains(
            "column `customer`: no such column to join on (the file's columns: id, defaulted)"
        ),
        "{}",
        missing.stderr
    );
    let candidate_arg = candidate.display().to_string();
    let out = run(&[
        "report",
        &log_arg,
        "--join",
        &outcomes_arg,
        "--on",
        "id",
        "--challenger",
        &candidate_arg,
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    let policies = report["policies"].as_array().unwrap();
    assert_eq!(policies.len(), 1, "only the challenger's policy");
    let policy = &policies[0];
    assert_eq!(policy["experiments"], json!(["retro-shadow"]));
    assert_eq!(policy["compared"], 15);
    // C-0002: US$2,150 is referred under US$2,000, approved under US$3,000.
    let changed = policy["changed"].as_array().unwrap();
    let c2 = changed.iter().find(|c| c["customer"] == "C-0002").unwrap();
    assert_eq!(
        (&c2["from"], &c2["to"]),
        (&json!("refer"), &json!("approve"))
    );
    // Every customer defaulted or not: the champion's 15 answers carry 5
    // defaults.
    let champion = &policy["arms"][0];
    let all = champion["joined"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["outcome"].is_null())
        .unwrap();
    assert_eq!(all["count"], 15);
    assert!(
        (all["mean"].as_f64().unwrap() - 5.0 / 15.0).abs() < 1e-12,
        "{all}"
    );
    let table = run(&["report", &log_arg, "--challenger", &candidate_arg]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("refer -> approve: 1"),
        "{}",
        table.stdout
    );
}
