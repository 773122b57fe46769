//! `verdict serve` as operations run it: policies published by switching a
//! link or replacing the directory, connection timeouts and the bound on
//! open connections, graceful shutdown with kept-alive clients, and the
//! token's scheme and file mode. Each drives the real binary over
//! loopback, with raw sockets where the test is about connections.
//!
//! Nothing here asserts how fast something happens: conditions are polled
//! with a generous deadline. Where a test checks that something does not
//! happen (a waiting connection is not served), it looks for a while; a
//! correct service passes whatever the timing.

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::service::{PATIENCE, Service, TOKEN};
use crate::util::{Scratch, plugin_wasm, retarget, root, wat};

impl Service {
    /// The staff limit the service applies now.
    fn staff_limit(&self) -> u64 {
        let records = self.evaluate(&json!({"customer": staff_customer()}));
        records
            .iter()
            .find(|r| r["policy"] == "staff-allowance")
            .unwrap()["value"]["limit_usd"]
            .as_f64()
            .unwrap() as u64
    }

    /// Waits until the staff limit is `limit`, failing at once if it is
    /// ever `never`.
    #[track_caller]
    fn wait_for_limit(&self, limit: u64, never: u64) {
        self.wait_for(&format!("staff limit {limit}"), || {
            let now = self.staff_limit();
            assert_ne!(now, never, "a release no longer published went live");
            now == limit
        });
    }

    fn connect(&self) -> Conn {
        Conn::open(self.addr())
    }
}

/// One response read off a raw connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A raw HTTP/1.1 connection, kept alive between requests.
struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    fn send(&mut self, text: &str) {
        self.reader.get_mut().write_all(text.as_bytes()).unwrap();
    }

    /// Sends a GET.
    fn send_get(&mut self, path: &str) {
        self.send(&format!("GET {path} HTTP/1.1\r\nHost: verdict\r\n\r\n"));
    }

    /// Reads one response (its body has a `Content-Length`).
    fn answer(&mut self) -> Answer {
        self.try_answer().unwrap()
    }

    /// Reads one response, or the error that ended the connection first
    /// (an end of stream before the response is `UnexpectedEof`).
    fn try_answer(&mut self) -> std::io::Result<Answer> {
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        let status = status_line
            .split(' ')
            .nth(1)
            .unwrap_or_else(|| panic!("not a status line: {status_line:?}"))
            .parse()
            .unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(Answer {
            status,
            headers,
            body: String::from_utf8(body).unwrap(),
        })
    }

    fn get(&mut self, path: &str) -> Answer {
        self.send_get(path);
        self.answer()
    }

    /// Whether something arrives within `wait` (without consuming it).
    fn anything_within(&mut self, wait: Duration) -> bool {
        self.reader.get_ref().set_read_timeout(Some(wait)).unwrap();
        let arrived = match self.reader.fill_buf() {
            Ok(bytes) => !bytes.is_empty(),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                false
            }
            Err(error) => panic!("the connection failed: {error}"),
        };
        self.reader
            .get_ref()
            .set_read_timeout(Some(PATIENCE))
            .unwrap();
        arrived
    }

    /// Asserts the server closes the connection (end of stream, or a reset)
    /// within [`PATIENCE`], sending nothing more.
    #[track_caller]
    fn assert_closed_by_server(&mut self, why: &str) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty(),
                "{why}: unexpected bytes before the close: {:?}",
                String::from_utf8_lossy(&rest)
            ),
            Err(error) if error.kind() == ErrorKind::ConnectionReset => {}
            Err(error) => panic!("{why}: the server did not close the connection: {error}"),
        }
    }
}

/// A customer whose staff request is within every limit used here, so
/// staff-allowance reports the staff limit in `limit_usd`.
fn staff_customer() -> Value {
    json!({
        "id": "O-1",
        "birth_date": "1980-02-29",
        "stay": {"recovery_spent_usd": 100.0, "requested_recovery_usd": 50.0, "requested_by": "staff"},
    })
}

/// A staff-allowance binding with `staff_limit_usd = limit`.
fn staff_binding(limit: u64) -> String {
    let shipped = std::fs::read_to_string(root().join("policies/staff-allowance.toml")).unwrap();
    retarget(&shipped, &plugin_wasm("staff-allowance")).replace(
        "staff_limit_usd = 2000",
        &format!("staff_limit_usd = {limit}"),
    )
}

/// Writes the staff-allowance binding into `dir` in one step (aside, then
/// renamed), as a deployment tool would.
fn publish_binding(dir: &Path, limit: u64) {
    let aside = dir.join(".staff-allowance.toml.tmp");
    std::fs::write(&aside, staff_binding(limit)).unwrap();
    std::fs::rename(aside, dir.join("staff-allowance.toml")).unwrap();
}

/// A release directory `base/name` holding the staff-allowance binding.
fn release(base: &Path, name: &str, limit: u64) -> PathBuf {
    let dir = base.join(name);
    std::fs::create_dir(&dir).unwrap();
    publish_binding(&dir, limit);
    dir
}

/// Points the link `base/current` at `target` in one step, the way
/// `ln -sfn TARGET current.tmp && mv -T current.tmp current` does.
fn switch_link(base: &Path, target: &str) {
    let aside = base.join("current.tmp");
    std::os::unix::fs::symlink(target, &aside).unwrap();
    std::fs::rename(aside, base.join("current")).unwrap();
}

/// Releases `rel1` (limit 2000) and `rel2` (2500), `current -> rel1`.
fn releases() -> TempDir {
    let base = tempfile::tempdir().unwrap();
    release(base.path(), "rel1", 2000);
    release(base.path(), "rel2", 2500);
    std::os::unix::fs::symlink("rel1", base.path().join("current")).unwrap();
    base
}

#[test]
fn a_switched_link_is_followed_by_the_watcher_and_the_old_release_is_no_longer_read() {
    let base = releases();
    let service = Service::start(&base.path().join("current"), true, &[]);
    assert_eq!(service.staff_limit(), 2000);

    switch_link(base.path(), "rel2");
    service.wait_for_limit(2500, 0);
    assert!(
        service
            .log()
            .contains("the policies path leads to another directory now"),
        "{}",
        service.log()
    );

    // The old release is no longer read, the new one is watched: of these
    // two changes only the second goes live.
    publish_binding(&base.path().join("rel1"), 1000);
    publish_binding(&base.path().join("rel2"), 2600);
    service.wait_for_limit(2600, 1000);
    let answer = service.reload();
    assert_eq!(answer["swapped"], false, "{answer}");
    assert!(
        answer["dir"].as_str().unwrap().ends_with("rel2"),
        "{answer}"
    );
    assert_eq!(service.staff_limit(), 2600);

    // Switching back reads rel1 as it is now.
    switch_link(base.path(), "rel1");
    service.wait_for_limit(1000, 0);
}

#[test]
fn a_reload_request_follows_a_switched_link() {
    let base = releases();
    // Not watched: only the reload request can see the switch.
    let service = Service::start(&base.path().join("current"), true, &["--no-watch"]);
    assert_eq!(service.staff_limit(), 2000);

    switch_link(base.path(), "rel2");
    let answer = service.reload();
    assert_eq!(answer["swapped"], true, "{answer}");
    assert_eq!(answer["changed"], json!(["staff-allowance"]), "{answer}");
    assert!(
        answer["dir"].as_str().unwrap().ends_with("rel2"),
        "{answer}"
    );
    assert_eq!(service.staff_limit(), 2500);
    let listed = service.get_json("/v1/policies");
    let binding = Path::new(listed["policies"][0]["binding"].as_str().unwrap());
    assert_eq!(
        binding.parent().unwrap().file_name().unwrap(),
        "rel2",
        "{listed}"
    );

    // A change to the release that was switched away from stays out.
    publish_binding(&base.path().join("rel1"), 1000);
    let answer = service.reload();
    assert_eq!(answer["swapped"], false, "{answer}");
    assert_eq!(service.staff_limit(), 2500);

    // A release with the same policies: nothing changes but where they
    // are read from.
    std::fs::create_dir(base.path().join("rel3")).unwrap();
    publish_binding(&base.path().join("rel3"), 2500);
    switch_link(base.path(), "rel3");
    let answer = service.reload();
    assert_eq!(answer["swapped"], false, "{answer}");
    assert!(
        answer["dir"].as_str().unwrap().ends_with("rel3"),
        "{answer}"
    );
    let listed = service.get_json("/v1/policies");
    assert!(
        listed["policies"][0]["binding"]
            .as_str()
            .unwrap()
            .contains("rel3"),
        "{listed}"
    );
}

#[test]
fn a_replaced_directory_is_watched_again() {
    let base = tempfile::tempdir().unwrap();
    let policies = release(base.path(), "policies", 2000);
    let service = Service::start(&policies, false, &[]);
    assert_eq!(service.staff_limit(), 2000);

    // Removed and made again.
    std::fs::remove_dir_all(&policies).unwrap();
    std::fs::create_dir(&policies).unwrap();
    publish_binding(&policies, 2500);
    service.wait_for_limit(2500, 0);
    // The new directory is watched: a change inside it goes live.
    publish_binding(&policies, 2600);
    service.wait_for_limit(2600, 0);

    // Another directory moved in its place.
    let next = release(base.path(), "next", 2700);
    std::fs::rename(&policies, base.path().join("old")).unwrap();
    std::fs::rename(&next, &policies).unwrap();
    service.wait_for_limit(2700, 0);
    publish_binding(&base.path().join("old"), 1000);
    publish_binding(&policies, 2800);
    service.wait_for_limit(2800, 1000);
}

/// Publishes a binding as Kubernetes does in a ConfigMap volume: the files
/// in a new timestamped directory, the `..data` link switched to it in one
/// rename, the previous directory removed. `mount/staff-allowance.toml` is
/// a link through `..data`.
fn publish_config_map(mount: &Path, version: &str, limit: u64) {
    let data = format!("..{version}");
    std::fs::create_dir(mount.join(&data)).unwrap();
    std::fs::write(
        mount.join(&data).join("staff-allowance.toml"),
        staff_binding(limit),
    )
    .unwrap();
    let previous = std::fs::read_link(mount.join("..data")).ok();
    std::os::unix::fs::symlink(&data, mount.join("..data_tmp")).unwrap();
    std::fs::rename(mount.join("..data_tmp"), mount.join("..data")).unwrap();
    if !mount.join("staff-allowance.toml").exists() {
        std::os::unix::fs::symlink(
            "..data/staff-allowance.toml",
            mount.join("staff-allowance.toml"),
        )
        .unwrap();
    }
    if let Some(previous) = previous {
        std::fs::remove_dir_all(mount.join(previous)).unwrap();
    }
}

#[test]
fn a_config_map_update_is_followed() {
    let mount = tempfile::tempdir().unwrap();
    publish_config_map(mount.path(), "2026_01_01_a", 2000);
    let service = Service::start(mount.path(), false, &[]);
    assert_eq!(service.staff_limit(), 2000);
    publish_config_map(mount.path(), "2026_01_02_b", 2500);
    service.wait_for_limit(2500, 0);
    publish_config_map(mount.path(), "2026_01_03_c", 2600);
    service.wait_for_limit(2600, 0);
}

#[test]
fn a_partial_request_head_is_closed_at_the_header_timeout() {
    let dir = Scratch::shipped();
    let service = Service::start(dir.dir.path(), false, &["--header-timeout", "1s"]);

    let mut partial = service.connect();
    partial.send("GET /healthz HTTP/1.1\r\nHost: verdict\r\n");
    partial.assert_closed_by_server("half a request head");

    let mut silent = service.connect();
    silent.assert_closed_by_server("a connection that sends nothing");

    let metrics = service.connect().get("/metrics").body;
    assert!(
        metrics.contains("verdict_connection_timeouts_total{timeout=\"header\"} 2"),
        "{metrics}"
    );
}

#[test]
fn a_trickled_request_body_is_answered_408_and_closed_at_the_body_timeout() {
    let dir = Scratch::shipped();
    let service = Service::start(dir.dir.path(), false, &["--body-timeout", "500ms"]);
    let mut slow = service.connect();
    // The head, and then a first part of the body, which never ends.
    slow.send(
        "POST /v1/evaluate HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\n\
         Content-Length: 200\r\n\r\n{\"customer\": {\"id\": ",
    );
    let answer = slow.answer();
    assert_eq!(answer.status, 408, "{}", answer.body);
    assert_eq!(answer.header("connection"), Some("close"));
    let body: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(
        body["error"], "the request body did not arrive within 500 ms",
        "{body}"
    );
    slow.assert_closed_by_server("a request whose body stopped");

    // A whole body within the time is served as usual.
    let records = service.evaluate(&json!({"customer": staff_customer(), "as_of": "2026-11-23"}));
    assert_eq!(records.len(), 3);
    let metrics = service.connect().get("/metrics").body;
    assert!(
        metrics.contains("verdict_connection_timeouts_total{timeout=\"body\"} 1"),
        "{metrics}"
    );
}

#[test]
fn an_idle_connection_is_closed_at_the_idle_timeout_not_the_header_timeout() {
    let dir = Scratch::shipped();
    let service = Service::start(dir.dir.path(), false, &["--idle-timeout", "1s"]);
    let mut idle = service.connect();
    assert_eq!(idle.get("/healthz").status, 200);
    idle.assert_closed_by_server("an idle connection");

    // A header timeout shorter than the time between two requests does
    // not close a kept-alive connection: idle time is not header time.
    let service = Service::start(
        dir.dir.path(),
        false,
        &["--header-timeout", "1s", "--idle-timeout", "10m"],
    );
    let mut kept = service.connect();
    assert_eq!(kept.get("/healthz").status, 200);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(kept.get("/healthz").status, 200);
}

#[test]
fn connections_beyond_the_bound_wait_until_one_closes() {
    let dir = Scratch::shipped();
    let service = Service::start(
        dir.dir.path(),
        false,
        &[
            "--max-connections",
            "2",
            "--idle-timeout",
            "10m",
            "--header-timeout",
            "10m",
        ],
    );
    // Both places taken, by connections that have been served.
    let mut first = service.connect();
    assert_eq!(first.get("/healthz").status, 200);
    let mut second = service.connect();
    assert_eq!(second.get("/healthz").status, 200);

    // A third connects (the kernel queues it) and asks; it is not served
    // while the other two stay open.
    let mut third = service.connect();
    third.send_get("/healthz");
    assert!(
        !third.anything_within(Duration::from_secs(2)),
        "a connection beyond --max-connections was served"
    );
    let metrics = first.get("/metrics").body;
    assert!(metrics.contains("verdict_open_connections 2"), "{metrics}");

    // One closes: the waiting one is served.
    drop(second);
    let answer = third.answer();
    assert_eq!(answer.status, 200, "{}", answer.body);
    let metrics = first.get("/metrics").body;
    assert!(metrics.contains("verdict_open_connections 2"), "{metrics}");
}

#[test]
fn sigterm_closes_idle_connections_and_answers_the_one_in_flight_with_connection_close() {
    let dir = Scratch::new();
    dir.bind("spin", &wat("spin"), "");
    let mut service = Service::start(dir.dir.path(), false, &[]);

    // Every decision spins until its fuel runs out: a slow request.
    let customers: Vec<Value> = (0..60)
        .map(|i| json!({"id": format!("S-{i}"), "birth_date": "1990-01-01"}))
        .collect();
    let body = json!({"customers": customers}).to_string();
    let mut slow = service.connect();
    slow.send(&format!(
        "POST /v1/evaluate HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    let mut idle = service.connect();
    service.wait_for("the slow request", || {
        let metrics = idle.get("/metrics").body;
        // The slow request and this scrape.
        metrics.contains("verdict_in_flight_requests 2")
    });

    let kill = std::process::Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // The idle connection is closed, cleanly, after the drain time; the slow request
    // is answered whole, telling the client not to reuse the connection.
    idle.assert_closed_by_server("an idle connection at shutdown");
    let answer = slow.answer();
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        serde_json::from_str::<Value>(&answer.body)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        60
    );
    assert_eq!(answer.header("connection"), Some("close"), "{answer:?}");
    slow.assert_closed_by_server("the answered connection at shutdown");

    service.assert_stops_cleanly();
}

/// How one kept-alive client fared while the service stopped.
#[derive(Debug, Default, PartialEq, Eq)]
struct Fared {
    answered: usize,
    /// Requests sent whose connection ended without an answer.
    lost: Vec<String>,
    /// Whether the client ended on a refused connection.
    refused: bool,
}

/// Sends requests back to back on one kept-alive connection, opening a new
/// one when an answer says `Connection: close`, until a connection is
/// refused. `sent` counts the answered requests of every client.
fn keep_alive_client(addr: &str, sent: &std::sync::atomic::AtomicUsize) -> Fared {
    use std::sync::atomic::Ordering;
    let body = json!({"customer": {"id": "K-1", "birth_date": "1990-01-01"}}).to_string();
    let request = format!(
        "POST /v1/evaluate HTTP/1.1\r\nHost: verdict\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut fared = Fared::default();
    loop {
        let stream = match TcpStream::connect(addr) {
            Ok(stream) => stream,
            Err(error) if error.kind() == ErrorKind::ConnectionRefused => {
                fared.refused = true;
                return fared;
            }
            Err(error) => panic!("cannot connect: {error}"),
        };
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut conn = Conn {
            reader: BufReader::new(stream),
        };
        loop {
            let answer = conn
                .reader
                .get_mut()
                .write_all(request.as_bytes())
                .and_then(|()| conn.try_answer());
            match answer {
                Ok(answer) => {
                    assert_eq!(answer.status, 200, "{}", answer.body);
                    fared.answered += 1;
                    sent.fetch_add(1, Ordering::Relaxed);
                    if answer.header("connection") == Some("close") {
                        break;
                    }
                }
                Err(error) => {
                    fared.lost.push(error.to_string());
                    break;
                }
            }
        }
    }
}

#[test]
fn sigterm_answers_every_request_kept_alive_clients_send_while_it_stops() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = Scratch::shipped();
    // Idle connections stay open while stopping for longer than any client
    // here takes between two requests.
    let mut service = Service::start(dir.dir.path(), false, &["--drain-timeout", "1m"]);
    let addr = service.addr().to_owned();
    let sent = AtomicUsize::new(0);
    let fared: Vec<Fared> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| keep_alive_client(&addr, &sent)))
            .collect();
        service.wait_for("the clients to get going", || {
            sent.load(Ordering::Relaxed) >= 400
        });
        let kill = std::process::Command::new("kill")
            .args(["-TERM", &service.pid()])
            .status()
            .unwrap();
        assert!(kill.success());
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for client in &fared {
        assert!(client.lost.is_empty(), "requests lost: {fared:?}");
        assert!(client.refused && client.answered > 0, "{fared:?}");
    }
    service.assert_stops_cleanly();
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let dir = Scratch::shipped();
    let service = Service::start(dir.dir.path(), true, &[]);
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let (status, answer) =
            service.post("/v1/reload", &json!({}), Some(&format!("{scheme} {TOKEN}")));
        assert_eq!(status, 200, "{scheme}: {answer}");
    }
    let (status, _) = service.post("/v1/reload", &json!({}), Some("bearer wrong"));
    assert_eq!(status, 401);
    let (status, _) = service.post("/v1/reload", &json!({}), Some(&format!("Basic {TOKEN}")));
    assert_eq!(status, 401);
}

#[test]
fn a_token_file_open_to_other_users_is_warned_about_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let dir = Scratch::shipped();
    let secrets = tempfile::tempdir().unwrap();
    let token = secrets.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let token_arg = token.display().to_string();

    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let service = Service::start(dir.dir.path(), false, &["--token-file", &token_arg]);
    let log = service.log();
    assert!(
        log.contains(&format!("the token file `{token_arg}` has mode 0644")),
        "{log}"
    );
    // The token still works.
    let (status, _) = service.post("/v1/reload", &json!({}), Some(&format!("Bearer {TOKEN}")));
    assert_eq!(status, 200);
    drop(service);

    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let service = Service::start(dir.dir.path(), false, &["--token-file", &token_arg]);
    assert!(!service.log().contains("token file"), "{}", service.log());
}

#[test]
fn an_empty_policies_list_is_refused_and_no_list_means_every_policy() {
    let dir = Scratch::shipped();
    let service = Service::start(dir.dir.path(), false, &[]);
    let customer = json!({"id": "P-1", "birth_date": "1990-01-01"});
    let (status, answer) = service.post(
        "/v1/evaluate",
        &json!({"customer": customer, "policies": []}),
        None,
    );
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"].as_str().unwrap();
    assert!(
        message.contains("`policies` must name at least one policy; omit it"),
        "{message}"
    );
    assert_eq!(service.evaluate(&json!({"customer": customer})).len(), 3);
    assert_eq!(
        service
            .evaluate(&json!({"customer": customer, "policies": ["loan-rates"]}))
            .len(),
        1
    );
}
