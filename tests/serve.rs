//! `verdict serve` and `verdict rollback`, driven over loopback HTTP: the
//! evaluate endpoint against `verdict eval`, bad requests, the token, file
//! watching, refused plugins, rollback, metrics, graceful shutdown, and a
//! load test that swaps policies under concurrent requests.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::service::{PATIENCE, Service, TOKEN, bearer};
use crate::util::{
    Scratch, decided, decisions_for, plugin_wasm, retarget, root, run, run_command, sha256_file,
    verdict, wat,
};

impl Service {
    /// Sends only the head of a POST that declares a `length`-byte body and
    /// asks for `100 Continue` first, as curl does for large bodies;
    /// answers the status and the JSON body of the response.
    fn post_head_only(&self, path: &str, length: usize) -> (u16, Value) {
        let address = self.addr();
        let mut stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {length}\r\nExpect: 100-continue\r\n\r\n"
        )
        .unwrap();
        // The answer closes the connection, so it ends at end of stream.
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (
            status,
            serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {response}")),
        )
    }

    /// Replaces the binding `name` of `policy` in `dir` and reloads. The
    /// watcher may have swapped the change in first (the reload then
    /// changes nothing): either way it is exactly one swap, of `policy`
    /// only, and live when this returns.
    #[track_caller]
    fn replace_and_reload(&self, dir: &Scratch, name: &str, text: &str, policy: &str) {
        let swaps = self.metric("verdict_swaps_total");
        replace(dir, name, text);
        let answer = self.reload();
        assert!(
            answer["changed"] == json!([policy]) || answer["changed"] == json!([]),
            "{answer}"
        );
        assert_eq!(
            self.metric("verdict_swaps_total"),
            swaps + 1.0,
            "one swap for one change: {answer}\n{}",
            self.log()
        );
    }
}

/// Replaces `name` in `dir` in one step (write aside, then rename), as a
/// deployment tool would: the watcher never sees half a file.
fn replace(dir: &Scratch, name: &str, text: &str) {
    let aside = dir.write(&format!(".{name}.tmp"), text);
    std::fs::rename(aside, dir.dir.path().join(name)).unwrap();
}

/// A staff-allowance binding with `staff_limit_usd = limit`.
fn staff_binding(limit: u32) -> String {
    let shipped = std::fs::read_to_string(root().join("policies/staff-allowance.toml")).unwrap();
    retarget(&shipped, &plugin_wasm("staff-allowance")).replace(
        "staff_limit_usd = 2000",
        &format!("staff_limit_usd = {limit}"),
    )
}

/// Two versions of the hand-written `hello` plugin, 1.0.0 and 1.1.0, as
/// module files under `dir/modules/` (returns their paths). Same-length
/// text edit, so the manifest's length constant stays right.
fn hello_versions(dir: &Scratch) -> [PathBuf; 2] {
    let text = std::fs::read_to_string(wat("hello")).unwrap();
    assert_eq!(text.matches("1.0.0").count(), 1);
    [
        dir.write("modules/hello-1.0.0.wat", &text),
        dir.write("modules/hello-1.1.0.wat", &text.replace("1.0.0", "1.1.0")),
    ]
}

fn hello_binding(module: &Path) -> String {
    format!(
        "plugin = {:?}\nversion = \"^1.0\"\n",
        module.display().to_string()
    )
}

/// A customer whose staff request is within every limit used here, so
/// staff-allowance reports the staff limit in `limit_usd`.
fn staff_customer(id: &str) -> Value {
    json!({
        "id": id,
        "birth_date": "1980-02-29",
        "stay": {"recovery_spent_usd": 100.0, "requested_recovery_usd": 50.0, "requested_by": "staff"},
    })
}

fn limit_of(records: &[Value]) -> f64 {
    records
        .iter()
        .find(|r| r["policy"] == "staff-allowance")
        .unwrap()["value"]["limit_usd"]
        .as_f64()
        .unwrap()
}

/// Hello (two versions) and staff-allowance (limit 2000) in a scratch dir.
fn swap_scratch() -> (Scratch, [PathBuf; 2]) {
    let dir = Scratch::new();
    let modules = hello_versions(&dir);
    dir.write("hello.toml", &hello_binding(&modules[0]));
    dir.write("staff-allowance.toml", &staff_binding(2000));
    (dir, modules)
}

#[test]
fn evaluate_answers_exactly_what_eval_prints() {
    let dir = Scratch::shipped();
    let profiles = dir.write(
        "profiles/some.toml",
        r#"
[[customer]]
id = "A-1"
name = "Ana"
birth_date = 2013-05-04
language = "pt"
products = ["live-cash-account"]
nickname = "an extra key reaches the plugins"

[[customer]]
id = "A-2"
birth_date = 1978-09-12
language = "fr"
[customer.stay]
recovery_spent_usd = 1800.0
requested_recovery_usd = 350.0
requested_by = "staff"
[customer.loan_request]
type = "mortgage"
amount_usd = 320000

[[customer]]
id = "A-3"
birth_date = 2001-07-15
[customer.loan_request]
type = "boat"
"#,
    );
    let customers = json!([
        {"id": "A-1", "name": "Ana", "birth_date": "2013-05-04", "language": "pt",
         "products": ["live-cash-account"], "nickname": "an extra key reaches the plugins"},
        {"id": "A-2", "birth_date": "1978-09-12", "language": "fr",
         "stay": {"recovery_spent_usd": 1800.0, "requested_recovery_usd": 350.0, "requested_by": "staff"},
         "loan_request": {"type": "mortgage", "amount_usd": 320000}},
        {"id": "A-3", "birth_date": "2001-07-15", "loan_request": {"type": "boat"}},
    ]);
    let eval = run_command(verdict().args([
        "eval",
        "--policies",
        &dir.path(),
        "--profiles",
        &profiles.display().to_string(),
        "--as-of",
        "2026-11-23",
        "--format",
        "json",
    ]));
    assert_eq!(eval.code, 0, "{}", eval.stderr);
    let expected: Value = serde_json::from_str(&eval.stdout).unwrap();

    let service = Service::start(dir.dir.path(), false, &[]);
    let batch = service.evaluate(&json!({"customers": customers, "as_of": "2026-11-23"}));
    assert_eq!(Value::Array(batch), expected);

    let one = service.evaluate(&json!({"customer": customers[1], "as_of": "2026-11-23"}));
    assert_eq!(one.as_slice(), &expected.as_array().unwrap()[3..6]);

    let some = service.evaluate(&json!({
        "customers": customers, "as_of": "2026-11-23", "policies": ["loan-rates"],
    }));
    assert_eq!(some.len(), 3);
    assert!(some.iter().all(|r| r["policy"] == "loan-rates"));

    // Without `as_of`, today (UTC) is the evaluation date.
    assert_eq!(
        service.evaluate(&json!({"customer": customers[0]})).len(),
        3
    );

    let health = service.get_json("/healthz");
    assert_eq!(health["status"], "ok");
    let listed = service.get_json("/v1/policies");
    let names: Vec<&str> = listed["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["loan-rates", "product-ladder", "staff-allowance"]);
    let staff = &listed["policies"][2];
    assert_eq!(
        staff["module_sha256"],
        sha256_file(&plugin_wasm("staff-allowance"))
    );
    assert_eq!(staff["params"]["staff_limit_usd"], 2000);
    assert_eq!(staff["history"], 1);
    assert!(
        staff["binding"]
            .as_str()
            .unwrap()
            .ends_with("staff-allowance.toml")
    );
}

#[test]
fn bad_requests_get_a_json_error_naming_the_problem() {
    let dir = Scratch::shipped();
    let service = Service::start(dir.dir.path(), false, &[]);
    let good = json!({"id": "B-1", "birth_date": "1990-01-01"});
    let check = |body: &[u8], status: u16, needle: &str| -> Value {
        let (got, answer) = service.post_raw("/v1/evaluate", body, None);
        assert_eq!(got, status, "{answer}");
        assert_eq!(answer["status"], status);
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        answer
    };
    let json = |value: Value| value.to_string().into_bytes();

    check(b"{\"customer\": ", 400, "line 1 column");
    check(b"\"hello\"", 400, "not an evaluate request");
    check(
        &json(json!({"customer": good, "extra": 1})),
        400,
        "unknown field `extra`",
    );
    check(&json(json!({})), 400, "give `customer`");
    check(
        &json(json!({"customer": good, "customers": [good]})),
        400,
        "not both",
    );
    check(&json(json!({"customers": []})), 400, "`customers` is empty");
    let huge = json!({"id": "HUGE", "birth_date": "1990-01-01", "notes": "x".repeat(1 << 20)});
    let answer = check(
        &json(json!({"customers": [good, huge]})),
        400,
        "customer `HUGE` is 1048626 bytes of profile JSON, more than the 1024 KiB a profile may have",
    );
    // Customers count from 1, as rows and lines do.
    assert_eq!(answer["customer"], 2);
    check(
        &json(json!({"customer": good, "as_of": "2026-02-30"})),
        400,
        "`as_of` must be a date",
    );
    check(
        &json(json!({"customer": good, "policies": ["nope"]})),
        400,
        "no policy named `nope`",
    );

    let answer = check(
        &json(json!({"customers": [good, {"id": "B-2"}]})),
        400,
        "customer is missing required key `birth_date`",
    );
    assert_eq!(answer["customer"], 2);
    assert_eq!(answer["field"], "birth_date");
    let answer = check(
        &json(json!({"customers": [good, {"id": "B-2", "birth_date": 1990}]})),
        400,
        "`birth_date` in customer must be a date string",
    );
    assert_eq!(answer["customer"], 2);
    let answer = check(
        &json(
            json!({"customer": {"id": "B-3", "birth_date": "1990-01-01", "stay": {"requested_by": 7}}}),
        ),
        400,
        "`requested_by` in customer.stay must be a string",
    );
    assert_eq!(answer["field"], "stay.requested_by");
    // A key given twice is refused where it is, never read as its last
    // value.
    let answer = check(
        br#"{"customers": [{"id": "B-1", "birth_date": "1990-01-01"}, {"id": "B-2",
            "birth_date": "1990-01-01", "stay": {"requested_by": "staff", "requested_by": "x"}}]}"#,
        400,
        "customer 2, field `stay.requested_by`: duplicate key `requested_by` in `stay`",
    );
    assert_eq!(answer["customer"], 2);
    assert_eq!(answer["field"], "stay.requested_by");
    let answer = check(
        br#"{"customer": {"id": "B-1", "birth_date": "1990-01-01", "id": "B-2"}}"#,
        400,
        "customer 1, field `id`: duplicate key `id`",
    );
    assert_eq!(answer["field"], "id");
    check(
        &json(json!({"customers": [good, good]})),
        400,
        "duplicate customer id `B-1` (also customer 1)",
    );
    check(
        &json(json!({"customer": {"id": " ", "birth_date": "1990-01-01"}})),
        400,
        "`id` must not be empty",
    );
    check(
        &json(json!({"customers": ["B-1"]})),
        400,
        "must be a JSON object",
    );
    let answer = check(
        &json(json!({"customer": good, "as_of": "1989-12-31"})),
        400,
        "after the evaluation date 1989-12-31",
    );
    assert_eq!(answer["field"], "birth_date");

    let (status, answer) = service.post_head_only("/v1/evaluate", 5 << 20);
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("5242880 bytes; at most"),
        "{answer}"
    );

    let (status, body) = service.get("/v1/evaluate");
    assert_eq!(status, 405, "{body}");
    let (status, body) = service.get("/v2/nothing");
    assert_eq!(status, 404);
    assert!(body.contains("no such endpoint"), "{body}");

    // The service still answers after all that.
    assert_eq!(service.evaluate(&json!({"customer": good})).len(), 3);
}

#[test]
fn changes_need_the_token_and_reads_do_not() {
    let dir = Scratch::shipped();
    let service = Service::start(dir.dir.path(), true, &[]);
    let (status, answer) = service.post("/v1/reload", &json!({}), None);
    assert_eq!(status, 401, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("Authorization: Bearer")
    );
    let (status, _) = service.post("/v1/reload", &json!({}), Some(&bearer("wrong-token")));
    assert_eq!(status, 401);
    let (status, _) = service.post("/v1/policies/staff-allowance/rollback", &json!({}), None);
    assert_eq!(status, 401);
    let answer = service.reload();
    assert_eq!(answer["swapped"], false);
    assert_eq!(service.get("/v1/policies").0, 200);
    assert_eq!(service.get("/metrics").0, 200);
    assert_eq!(service.get("/healthz").0, 200);

    let out = run_command(
        verdict()
            .args(["rollback", "staff-allowance", "--server", &service.base])
            .env_remove("VERDICT_TOKEN"),
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("needs the service's token"),
        "{}",
        out.stderr
    );
    let out = run_command(
        verdict()
            .args(["rollback", "staff-allowance", "--server", &service.base])
            .env("VERDICT_TOKEN", "wrong"),
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("401"), "{}", out.stderr);

    // A service started without a token refuses every change.
    let shipped = Scratch::shipped();
    let tokenless = Service::start(shipped.dir.path(), false, &[]);
    let (status, answer) = tokenless.post("/v1/reload", &json!({}), Some(&bearer(TOKEN)));
    assert_eq!(status, 401);
    assert!(
        answer["error"].as_str().unwrap().contains("no token"),
        "{answer}"
    );
}

#[test]
fn file_changes_go_live_and_broken_plugins_are_refused() {
    let (dir, modules) = swap_scratch();
    let service = Service::start(dir.dir.path(), false, &[]);
    let body = json!({"customer": staff_customer("W-1")});
    assert_eq!(limit_of(&service.evaluate(&body)), 2000.0);

    // A parameter change, picked up by the watcher alone.
    replace(&dir, "staff-allowance.toml", &staff_binding(2400));
    service.wait_for("the new limit", || {
        limit_of(&service.evaluate(&body)) == 2400.0
    });
    // A new plugin version.
    replace(&dir, "hello.toml", &hello_binding(&modules[1]));
    service.wait_for("hello 1.1.0", || {
        service
            .evaluate(&body)
            .iter()
            .any(|r| r["policy"] == "hello" && r["plugin_version"] == "1.1.0")
    });
    assert_eq!(service.metric("verdict_rejected_swaps_total"), 0.0);
    let swaps = service.metric("verdict_swaps_total");
    assert!(swaps >= 2.0, "{swaps}");

    // A plugin that imports WASI is refused; the old set keeps answering.
    dir.write("broken.toml", &hello_binding(&wat("wasi-import")));
    service.wait_for("the refusal", || {
        service.metric("verdict_rejected_swaps_total") >= 1.0
    });
    let log = service.log();
    assert!(
        log.contains("reload rejected, the previous policies keep serving"),
        "{log}"
    );
    assert!(
        log.contains("broken.toml:1:10"),
        "the log names the place: {log}"
    );
    assert!(log.contains("wasi_snapshot_preview1"), "{log}");
    let records = service.evaluate(&body);
    assert_eq!(records.len(), 2);
    assert_eq!(limit_of(&records), 2400.0);
    assert_eq!(service.metric("verdict_swaps_total"), swaps);

    // Removing it is a reload that changes nothing; then a version outside
    // the binding's range is refused too.
    std::fs::remove_file(dir.dir.path().join("broken.toml")).unwrap();
    replace(
        &dir,
        "hello.toml",
        &hello_binding(&modules[0]).replace("^1.0", "^2.0"),
    );
    service.wait_for("the second refusal", || {
        service.metric("verdict_rejected_swaps_total") >= 2.0
    });
    assert!(
        service.log().contains("outside the accepted range `^2.0`"),
        "{}",
        service.log()
    );
    assert!(
        service
            .evaluate(&body)
            .iter()
            .any(|r| r["policy"] == "hello" && r["plugin_version"] == "1.1.0")
    );

    // Fixed, and a new policy added and one removed in the same change.
    replace(&dir, "hello.toml", &hello_binding(&modules[0]));
    std::fs::remove_file(dir.dir.path().join("staff-allowance.toml")).unwrap();
    dir.write(
        "ladder.toml",
        &retarget(
            &std::fs::read_to_string(root().join("policies/product-ladder.toml")).unwrap(),
            &plugin_wasm("product-ladder"),
        ),
    );
    service.wait_for("the fixed set", || {
        let records = service.evaluate(&body);
        records.len() == 2
            && records.iter().any(|r| r["policy"] == "ladder")
            && records
                .iter()
                .any(|r| r["plugin_version"] == "1.0.0" && r["policy"] == "hello")
    });
}

#[test]
fn rollback_restores_the_previous_version_until_the_files_change() {
    let (dir, modules) = swap_scratch();
    let service = Service::start(dir.dir.path(), true, &[]);
    let body = json!({"customer": staff_customer("R-1")});
    let rollback = |policy: &str| {
        run_command(
            verdict()
                .args(["rollback", policy, "--server", &service.base])
                .env("VERDICT_TOKEN", TOKEN),
        )
    };

    let out = rollback("staff-allowance");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("409") && out.stderr.contains("no earlier version"),
        "{}",
        out.stderr
    );
    let out = rollback("no-such-policy");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("404"), "{}", out.stderr);

    service.replace_and_reload(
        &dir,
        "staff-allowance.toml",
        &staff_binding(2500),
        "staff-allowance",
    );
    assert_eq!(limit_of(&service.evaluate(&body)), 2500.0);
    assert_eq!(
        service.get_json("/v1/policies")["policies"][1]["history"],
        2
    );

    let out = rollback("staff-allowance");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("staff-allowance: rolled back from 1.0.0"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\"staff_limit_usd\":2000"),
        "{}",
        out.stdout
    );
    assert_eq!(limit_of(&service.evaluate(&body)), 2000.0);
    let listed = service.get_json("/v1/policies");
    assert_eq!(listed["policies"][1]["history"], 1);
    assert_eq!(listed["policies"][1]["params"]["staff_limit_usd"], 2000);
    assert_eq!(service.metric("verdict_rollbacks_total"), 1.0);
    assert!(service.log().contains("rolled back"));

    // A change to another policy leaves the rollback in place...
    service.replace_and_reload(&dir, "hello.toml", &hello_binding(&modules[1]), "hello");
    let records = service.evaluate(&body);
    assert_eq!(limit_of(&records), 2000.0);
    assert!(records.iter().any(|r| r["plugin_version"] == "1.1.0"));
    // ...and rolling the module back works the same way.
    assert_eq!(rollback("hello").code, 0);
    assert!(
        service
            .evaluate(&body)
            .iter()
            .any(|r| r["policy"] == "hello" && r["plugin_version"] == "1.0.0")
    );

    // The next change to the policy's own files goes live.
    service.replace_and_reload(
        &dir,
        "staff-allowance.toml",
        &staff_binding(3000),
        "staff-allowance",
    );
    assert_eq!(limit_of(&service.evaluate(&body)), 3000.0);
}

#[test]
fn metrics_count_decisions_latency_swaps_and_requests_in_flight() {
    let (dir, modules) = swap_scratch();
    let service = Service::start(dir.dir.path(), true, &[]);
    for i in 0..3 {
        service.evaluate(&json!({"customers": [staff_customer(&format!("M-{i}")), {"id": "M-x", "birth_date": "2000-01-01"}]}));
    }
    replace(&dir, "hello.toml", &hello_binding(&modules[1]));
    service.reload();
    let (status, _) = service.post("/v1/reload", &json!({}), None);
    assert_eq!(status, 401);

    let response = service.agent.get(&service.url("/metrics")).call().unwrap();
    let content_type = response
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let (_, text) = service.get("/metrics");
    for line in [
        "verdict_decisions_total{policy=\"staff-allowance\",arm=\"champion\",outcome=\"approve\"} 3",
        "verdict_decisions_total{policy=\"staff-allowance\",arm=\"champion\",outcome=\"not-applicable\"} 3",
        "verdict_decisions_total{policy=\"hello\",arm=\"champion\",outcome=\"checked\"} 6",
        "verdict_requests_total{route=\"evaluate\",status=\"200\"} 3",
        "verdict_requests_total{route=\"reload\",status=\"401\"} 1",
        "verdict_request_duration_seconds_count{route=\"evaluate\"} 3",
        "verdict_request_duration_seconds_bucket{le=\"+Inf\",route=\"evaluate\"} 3",
        "verdict_swaps_total 1",
        "verdict_rejected_swaps_total 0",
        "verdict_rollbacks_total 0",
        "verdict_in_flight_requests 1",
        "verdict_policy_set_generation 1",
        "# TYPE verdict_request_duration_seconds histogram",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
    let sha = sha256_file(&modules[1]);
    assert!(
        text.contains(&format!(
            "verdict_policy_active{{policy=\"hello\",version=\"1.1.0\",sha256=\"{sha}\"}} 1"
        )),
        "{text}"
    );
    let old = sha256_file(&modules[0]);
    assert!(
        !text.contains(&format!("sha256=\"{old}\"")),
        "the old version is no longer listed: {text}"
    );
}

#[test]
fn sigterm_finishes_the_requests_in_flight() {
    let dir = Scratch::new();
    dir.bind("spin", &wat("spin"), "");
    let mut service = Service::start(dir.dir.path(), false, &[]);
    // Every decision spins until its fuel runs out. The request is held in
    // flight by sending its head and only part of its body; the rest goes
    // out once the service has begun shutting down.
    let customers: Vec<Value> = (0..4)
        .map(|i| json!({"id": format!("S-{i}"), "birth_date": "1990-01-01"}))
        .collect();
    let body = json!({"customers": customers}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let address = service.addr().to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    write!(
        stream,
        "POST /v1/evaluate HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    // In flight: the held request plus this scrape.
    service.wait_for("the held request", || {
        service.metric("verdict_in_flight_requests") >= 2.0
    });
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &service.pid()])
        .status()
        .unwrap();
    assert!(kill.success());
    service.wait_for("the shutdown to begin", || {
        service
            .log()
            .contains("shutting down: finishing the requests in flight")
    });
    stream.write_all(rest.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, answer) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 "), "{response}");
    let records: Vec<Value> =
        serde_json::from_str(answer).unwrap_or_else(|_| panic!("not JSON: {response}"));
    assert_eq!(
        decided(&records),
        decisions_for(
            (0..4).map(|i| format!("S-{i}")),
            &[("spin", "error", "out-of-fuel")]
        )
    );
    service.assert_stops_cleanly();
}

/// What one client request saw: the version of each policy in its records.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Seen {
    hello: (String, String),
    staff_limit: u64,
}

/// Reads a response's versions, failing on any mix within it.
fn seen(records: &[Value], customers: usize) -> Result<Seen, String> {
    if records.len() != customers * 2 {
        return Err(format!(
            "{} records for {customers} customers",
            records.len()
        ));
    }
    let hello: BTreeSet<(String, String)> = records
        .iter()
        .filter(|r| r["policy"] == "hello")
        .map(|r| {
            (
                r["plugin_version"].as_str().unwrap().to_owned(),
                r["module_sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let limits: BTreeSet<u64> = records
        .iter()
        .filter(|r| r["policy"] == "staff-allowance")
        .map(|r| r["value"]["limit_usd"].as_f64().unwrap() as u64)
        .collect();
    if hello.len() != 1 || limits.len() != 1 {
        return Err(format!(
            "mixed versions in one response: {hello:?} {limits:?}"
        ));
    }
    Ok(Seen {
        hello: hello.into_iter().next().unwrap(),
        staff_limit: limits.into_iter().next().unwrap(),
    })
}

/// Sets a flag when dropped: stops the load test's clients however the
/// test ends.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "shows what the load test saw with --nocapture"
)]
fn load_test_swaps_under_concurrent_requests_without_failures_or_mixed_versions() {
    const CLIENTS: usize = 4;
    const SWAPS: usize = 24;
    const CUSTOMERS: usize = 8;
    let (dir, modules) = swap_scratch();
    let shas = [sha256_file(&modules[0]), sha256_file(&modules[1])];
    let versions = [
        ("1.0.0".to_owned(), shas[0].clone()),
        ("1.1.0".to_owned(), shas[1].clone()),
    ];
    let limits: [u32; 2] = [2000, 2500];
    let staff_sha = sha256_file(&plugin_wasm("staff-allowance"));
    let service = Arc::new(Service::start(dir.dir.path(), true, &[]));
    let body = Arc::new(json!({
        "customers": (0..CUSTOMERS).map(|i| staff_customer(&format!("L-{i}"))).collect::<Vec<_>>(),
        "as_of": "2026-11-23",
    }));

    // Every state any client was served so far, for the swapper to wait on.
    let served: Arc<Mutex<BTreeSet<Seen>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_clients = StopOnDrop(Arc::clone(&stop));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (service, body, stop, served, staff_sha) = (
                Arc::clone(&service),
                Arc::clone(&body),
                Arc::clone(&stop),
                Arc::clone(&served),
                staff_sha.clone(),
            );
            std::thread::spawn(move || {
                let mut seen_all: BTreeMap<Seen, usize> = BTreeMap::new();
                let mut failures: Vec<String> = Vec::new();
                let mut requests = 0;
                while !stop.load(Ordering::Relaxed) {
                    requests += 1;
                    let response = service
                        .agent
                        .post(&service.url("/v1/evaluate"))
                        .send(body.to_string().as_bytes());
                    let mut response = match response {
                        Ok(response) => response,
                        Err(error) => {
                            failures.push(format!("transport: {error}"));
                            continue;
                        }
                    };
                    let status = response.status().as_u16();
                    let text = response.body_mut().read_to_string().unwrap_or_default();
                    if status != 200 {
                        failures.push(format!("{status}: {text}"));
                        continue;
                    }
                    let records: Vec<Value> = serde_json::from_str(&text).unwrap();
                    if records.iter().any(|r| {
                        r["policy"] == "staff-allowance" && r["module_sha256"] != staff_sha.as_str()
                    }) {
                        failures.push("staff-allowance from another module".to_owned());
                    }
                    match seen(&records, CUSTOMERS) {
                        Ok(seen) => {
                            served.lock().unwrap().insert(seen.clone());
                            *seen_all.entry(seen).or_default() += 1;
                        }
                        Err(problem) => failures.push(problem),
                    }
                }
                (requests, seen_all, failures)
            })
        })
        .collect();

    // Each swap changes both policies: hello's module (1.0.0 <-> 1.1.0) and
    // staff-allowance's parameters (2000 <-> 2500). `active` collects
    // every combination that was ever live. After each swap the swapper
    // waits until a client was served the new state, so every state serves
    // traffic however fast or slow the machine is.
    let mut active: BTreeSet<Seen> = BTreeSet::new();
    let state = |i: usize| Seen {
        hello: versions[i % 2].clone(),
        staff_limit: u64::from(limits[i % 2]),
    };
    let served_state = |i: usize| {
        service.wait_for(&format!("a response from state {i}"), || {
            served.lock().unwrap().contains(&state(i))
        });
    };
    active.insert(state(0));
    served_state(0);
    let started = Instant::now();
    for swap in 1..=SWAPS {
        replace(&dir, "hello.toml", &hello_binding(&modules[swap % 2]));
        replace(
            &dir,
            "staff-allowance.toml",
            &staff_binding(limits[swap % 2]),
        );
        let answer = service.reload();
        let changed = answer["changed"].as_array().unwrap().len();
        if changed != 2 {
            // The watcher swapped part of this change first: that
            // in-between state was live too.
            active.insert(Seen {
                hello: versions[swap % 2].clone(),
                staff_limit: u64::from(limits[(swap + 1) % 2]),
            });
            active.insert(Seen {
                hello: versions[(swap + 1) % 2].clone(),
                staff_limit: u64::from(limits[swap % 2]),
            });
        }
        active.insert(state(swap));
        served_state(swap);
    }
    let swapping = started.elapsed();
    drop(stop_clients);

    let mut total = 0;
    let mut seen_all: BTreeMap<Seen, usize> = BTreeMap::new();
    for client in clients {
        let (requests, seen, failures) = client.join().unwrap();
        assert!(
            failures.is_empty(),
            "{} failed requests, first: {:?}",
            failures.len(),
            &failures[..failures.len().min(3)]
        );
        total += requests;
        for (state, n) in seen {
            *seen_all.entry(state).or_default() += n;
        }
    }
    for state in seen_all.keys() {
        assert!(
            active.contains(state),
            "{state:?} was never active; active: {active:?}"
        );
    }
    // Both versions of both policies served traffic.
    assert!(
        seen_all.contains_key(&state(0)) && seen_all.contains_key(&state(1)),
        "{seen_all:?}"
    );
    let swaps = service.metric("verdict_swaps_total");
    assert!(swaps >= SWAPS as f64, "{swaps} swaps");
    assert_eq!(service.metric("verdict_rejected_swaps_total"), 0.0);
    eprintln!(
        "load test: {total} requests, {swaps} swaps in {swapping:?}, states served: {seen_all:?}"
    );
}

#[test]
fn decisions_are_logged_before_they_are_answered() {
    let (dir, modules) = swap_scratch();
    let logs = Scratch::new();
    let log = log_in(&logs);
    let service = Service::start(dir.dir.path(), true, &["--log", &log]);
    let lines = || std::fs::read_to_string(&log).unwrap().lines().count();
    let customers: Vec<Value> = (0..3).map(|i| staff_customer(&format!("D-{i}"))).collect();
    assert_eq!(
        service
            .evaluate(&json!({"customers": customers, "as_of": "2026-11-23"}))
            .len(),
        6
    );
    assert_eq!(
        lines(),
        6,
        "every decision is in the log when the response arrives"
    );
    replace(&dir, "hello.toml", &hello_binding(&modules[1]));
    service.reload();
    assert_eq!(
        service.evaluate(&json!({"customer": customers[0]})).len(),
        2
    );
    assert_eq!(lines(), 8);
    // Refused requests log nothing.
    let (status, _) = service.post("/v1/evaluate", &json!({"customer": {"id": "D-x"}}), None);
    assert_eq!(status, 400);
    assert_eq!(lines(), 8);

    // A second service cannot share the log.
    let mut second = verdict()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--policies",
            &dir.path(),
            "--log",
            &log,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            second.kill().unwrap();
            panic!("a second service started on the same log");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.contains("give every running service its own decision log"),
        "{stderr}"
    );

    drop(service);
    let verify = run_command(verdict().args(["log", "verify", &log]));
    assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
    let replay = run_command(verdict().args(["replay", &log]));
    assert_eq!(replay.code, 0, "{}{}", replay.stdout, replay.stderr);
}

#[test]
fn a_request_whose_decisions_pass_the_response_bound_is_refused_whole_and_the_service_stays_up() {
    let dir = Scratch::new();
    dir.bind("near-cap-answer", &wat("near-cap-answer"), "");
    let logs = Scratch::new();
    let log = log_in(&logs);
    let service = Service::start(dir.dir.path(), true, &["--log", &log]);
    let lines = || std::fs::read_to_string(&log).unwrap().lines().count();
    // Each decision is about 60 KB of JSON, within every bound per
    // decision: 600 of them pass the 32 MiB a response may hold.
    let customers: Vec<Value> = (0..600)
        .map(|i| json!({"id": format!("B-{i}"), "birth_date": "1990-01-01"}))
        .collect();
    let (status, answer) = service.post(
        "/v1/evaluate",
        &json!({"customers": customers, "as_of": "2026-11-23"}),
        None,
    );
    assert_eq!(
        (status, answer),
        (
            413,
            json!({
                "error": "the decisions of this request take more than 32 MiB of JSON, the most \
                          one response may hold; none is answered or logged: split the batch",
                "status": 413,
            })
        )
    );
    assert_eq!(lines(), 0, "nothing of the refused request is logged");
    // The service is still up, and a request within the bound decides.
    let records = service.evaluate(&json!({"customers": customers[..3], "as_of": "2026-11-23"}));
    let ids: Vec<&str> = records
        .iter()
        .map(|r| r["customer"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["B-0", "B-1", "B-2"]);
    for record in &records {
        assert_eq!(record["outcome"], "checked");
        let reasons = record["reasons"].as_array().unwrap();
        assert_eq!(reasons.len(), 15);
        assert_eq!(reasons[14]["message"].as_str().unwrap(), "x".repeat(4000));
    }
    assert_eq!(lines(), 3);
}

/// Every record of `log`, parsed.
/// Where a test's decision log goes: `decisions.jsonl` in `logs`.
fn log_in(logs: &Scratch) -> String {
    logs.dir
        .path()
        .join("decisions.jsonl")
        .display()
        .to_string()
}

fn log_records(log: &str) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn concurrent_requests_with_the_log_each_get_their_own_logged_decisions() {
    const CLIENTS: usize = 8;
    const REQUESTS: usize = 20;
    let dir = Scratch::shipped();
    let logs = Scratch::new();
    let log = log_in(&logs);
    let service = Service::start(dir.dir.path(), true, &["--log", &log]);
    // Requests arrive at once from several clients, so appends are
    // committed in groups; each client checks that its answer is about
    // its own customer.
    let answered: Vec<Value> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let service = &service;
                scope.spawn(move || {
                    let mut answered = Vec::new();
                    for request in 0..REQUESTS {
                        let id = format!("G-{client}-{request}");
                        let records = service.evaluate(
                            &json!({"customer": staff_customer(&id), "as_of": "2026-11-23"}),
                        );
                        assert_eq!(records.len(), 3, "{records:?}");
                        assert!(records.iter().all(|r| r["customer"] == id.as_str()));
                        answered.extend(records);
                    }
                    answered
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|client| client.join().unwrap())
            .collect()
    });
    // The log holds exactly the decisions answered, each once, with the
    // input it was made for, and its chain is whole.
    let mut logged: Vec<(String, String)> = log_records(&log)
        .iter()
        .map(|record| {
            assert_eq!(record["input"]["id"], record["decision"]["customer"]);
            (
                record["decision"]["customer"].as_str().unwrap().to_owned(),
                record["decision"].to_string(),
            )
        })
        .collect();
    let mut expected: Vec<(String, String)> = answered
        .iter()
        .map(|record| {
            (
                record["customer"].as_str().unwrap().to_owned(),
                record.to_string(),
            )
        })
        .collect();
    logged.sort();
    expected.sort();
    assert_eq!(logged.len(), CLIENTS * REQUESTS * 3);
    assert_eq!(logged, expected);
    let verified = run(&["log", "verify", &log]);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
    assert!(
        verified
            .stdout
            .contains(&format!("records  {}\n", CLIENTS * REQUESTS * 3)),
        "{}",
        verified.stdout
    );
}

/// Whether `/healthz` answers 503 with a reason naming `path` and why it
/// cannot be written there, and the answer.
fn unready_naming(service: &Service, path: &Path) -> (bool, String) {
    let (status, body) = service.get("/healthz");
    let named = serde_json::from_str::<Value>(&body)
        .ok()
        .is_some_and(|body| {
            body["error"].as_str().is_some_and(|why| {
                why.starts_with("decisions cannot be logged, so evaluations are refused: cannot ")
                    && why.contains(&format!("`{}", path.display()))
                    && why.ends_with("Not a directory (os error 20)")
                    && !why.contains('\n')
            })
        });
    (status == 503 && named, body)
}

#[test]
fn an_archive_that_cannot_be_written_makes_the_service_unready_naming_it() {
    // The archive's place is taken by a regular file, so nothing can be
    // written under it (whoever runs the tests, root included).
    let dir = Scratch::shipped();
    let logs = Scratch::new();
    let log = log_in(&logs);
    let archive = logs.dir.path().join("decisions.archive");
    std::fs::write(&archive, "not a directory").unwrap();
    let service = Service::start(dir.dir.path(), true, &["--log", &log]);
    let one = |id: &str| json!({"customer": staff_customer(id), "as_of": "2026-11-23"});

    // Unready from the start, before any request fails on it.
    let (unready, body) = unready_naming(&service, &archive);
    assert!(unready, "{body}");
    let (status, answer) = service.post("/v1/evaluate", &one("S-1"), None);
    assert_eq!(status, 503, "{answer}");
    assert!(log_records(&log).is_empty());

    // The archive can be written again: the next request is logged, with
    // its entries, and the service is ready.
    std::fs::remove_file(&archive).unwrap();
    assert_eq!(service.evaluate(&one("S-2")).len(), 3);
    assert_eq!(service.get("/healthz").0, 200);

    // The archive is replaced after its entries were written: the next
    // append looks for them, cannot write them again, and fails.
    let moved = logs.dir.path().join("moved.archive");
    std::fs::rename(&archive, &moved).unwrap();
    std::fs::write(&archive, "not a directory").unwrap();
    let (status, answer) = service.post("/v1/evaluate", &one("S-3"), None);
    assert_eq!(status, 503, "{answer}");
    let (unready, body) = unready_naming(&service, &archive);
    assert!(unready, "{body}");

    // Put back: logged again, ready, and every record's entries are there.
    std::fs::remove_file(&archive).unwrap();
    std::fs::rename(&moved, &archive).unwrap();
    assert_eq!(service.evaluate(&one("S-4")).len(), 3);
    assert_eq!(service.get("/healthz").0, 200);
    let ids: Vec<String> = log_records(&log)
        .iter()
        .map(|r| r["input"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["S-2", "S-2", "S-2", "S-4", "S-4", "S-4"]);
    let verified = run(&["log", "verify", &log]);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
}

#[test]
fn a_log_that_cannot_grow_makes_the_service_unready_until_an_append_succeeds() {
    let dir = Scratch::shipped();
    let logs = Scratch::new();
    let log = log_in(&logs);
    // Files of the service may not grow past 1 MiB: the archived modules
    // (under 200 KB each) and a request of one customer fit, the records
    // of 1,000 customers (about 3 MB) do not. SIGXFSZ is ignored, so the
    // write fails with EFBIG instead of killing the process.
    let service = Service::start_configured(dir.dir.path(), true, &["--log", &log], |command| {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 1 << 20,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0
                    || libc::signal(libc::SIGXFSZ, libc::SIG_IGN) == libc::SIG_ERR
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let one = |id: &str| json!({"customer": staff_customer(id), "as_of": "2026-11-23"});
    let many: Vec<Value> = (0..1_000)
        .map(|i| staff_customer(&format!("B-{i}")))
        .collect();
    let many = json!({"customers": many, "as_of": "2026-11-23"});
    let health = || {
        let (status, body) = service.get("/healthz");
        (status, serde_json::from_str::<Value>(&body).unwrap())
    };
    let transitions = |text: &str| service.log().matches(text).count();
    const BROKEN: &str = "decisions cannot be logged, so none is answered until an append succeeds";
    const RECOVERED: &str = "decisions are logged again";

    assert_eq!(service.evaluate(&one("S-1")).len(), 3);
    assert_eq!(health().0, 200);
    assert_eq!(service.metric("verdict_log_healthy"), 1.0);
    assert_eq!(service.metric("verdict_log_append_failures_total"), 0.0);

    // Too large to log: refused, not-ready, counted, said once.
    for failures in 1..=2 {
        let (status, answer) = service.post("/v1/evaluate", &many, None);
        assert_eq!(status, 503, "{answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(
            error.starts_with(
                "the decisions could not be logged, so none is reported: cannot append to `"
            ) && error.ends_with("File too large (os error 27)"),
            "{error}"
        );
        let (status, body) = health();
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["status"], "unavailable");
        let why = body["error"].as_str().unwrap();
        assert!(
            why.starts_with(
                "decisions cannot be logged, so evaluations are refused: cannot append to `"
            ) && why.ends_with("File too large (os error 27)"),
            "{why}"
        );
        assert_eq!(service.metric("verdict_log_healthy"), 0.0);
        assert_eq!(
            service.metric("verdict_log_append_failures_total"),
            f64::from(failures)
        );
    }
    assert_eq!(transitions(BROKEN), 1, "{}", service.log());
    assert_eq!(transitions(RECOVERED), 0, "{}", service.log());
    // The failed appends left the log as it was.
    assert_eq!(log_records(&log).len(), 3);

    // A request that fits is logged and answered: ready again.
    assert_eq!(service.evaluate(&one("S-2")).len(), 3);
    assert_eq!(health().0, 200);
    assert_eq!(health().1["status"], "ok");
    assert_eq!(service.metric("verdict_log_healthy"), 1.0);
    assert_eq!(transitions(RECOVERED), 1, "{}", service.log());

    // Room is made (the limit lifted): the large request is logged now.
    let lifted = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    let pid = libc::pid_t::try_from(service.child.id()).unwrap();
    // SAFETY: plain system call on the service's process with valid pointers.
    let lifted = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &lifted, std::ptr::null_mut()) };
    assert_eq!(lifted, 0, "{}", std::io::Error::last_os_error());
    assert_eq!(service.evaluate(&many).len(), 3_000);
    let ids: Vec<String> = log_records(&log)
        .iter()
        .map(|r| r["input"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3 + 3 + 3_000);
    assert!(ids[..3].iter().all(|id| id == "S-1"));
    assert!(ids[3..6].iter().all(|id| id == "S-2"));
    assert_eq!(ids[6], "B-0");
    assert_eq!(ids[3_005], "B-999");
    let verified = run(&["log", "verify", &log]);
    assert_eq!(verified.code, 0, "{}", verified.stdout);
    assert_eq!(health().0, 200);
    assert_eq!(transitions(BROKEN), 1, "{}", service.log());
}
