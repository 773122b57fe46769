//! A `verdict serve` process for the tests that drive the service: started
//! on a free loopback port, talked to over HTTP, killed when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::util::verdict;

/// The token a service started with `token` accepts.
pub(crate) const TOKEN: &str = "test-token-5f2c";

/// How long any condition, response or connection is waited for.
pub(crate) const PATIENCE: Duration = Duration::from_secs(60);

/// A `verdict serve` process on a free loopback port; killed when dropped.
pub(crate) struct Service {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub agent: ureq::Agent,
    /// Holds the service's stderr.
    logs: TempDir,
}

impl Service {
    /// Serves `policies` with `args`; with [`TOKEN`] in `VERDICT_TOKEN`
    /// when `token`.
    pub(crate) fn start(policies: &Path, token: bool, args: &[&str]) -> Service {
        Service::start_configured(policies, token, args, |_| {})
    }

    /// As [`Service::start`], the command set up further by `configure`
    /// before it starts.
    pub(crate) fn start_configured(
        policies: &Path,
        token: bool,
        args: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Service {
        let logs = tempfile::tempdir().unwrap();
        let stderr = logs.path().join("stderr");
        let mut command = verdict();
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--policies"])
            .arg(policies)
            .args(args)
            .env_remove("VERDICT_TOKEN")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        if token {
            command.env("VERDICT_TOKEN", TOKEN);
        }
        configure(&mut command);
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(base) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no address on stdout: {line:?}\n{}",
                std::fs::read_to_string(&stderr).unwrap()
            );
        };
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(PATIENCE))
            .build()
            .into();
        Service {
            base: base.to_owned(),
            child,
            agent,
            logs,
        }
    }

    /// `127.0.0.1:PORT`.
    pub(crate) fn addr(&self) -> &str {
        self.base.strip_prefix("http://").unwrap()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the service logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.logs.path().join("stderr")).unwrap()
    }

    /// The status and body of a GET.
    pub(crate) fn get(&self, path: &str) -> (u16, String) {
        let mut response = self.agent.get(&self.url(path)).call().unwrap();
        (
            response.status().as_u16(),
            response.body_mut().read_to_string().unwrap(),
        )
    }

    /// The JSON body of a GET, which must succeed.
    pub(crate) fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// POSTs raw bytes (with the `authorization` header if given): the
    /// status and the body as JSON.
    pub(crate) fn post_raw(
        &self,
        path: &str,
        body: &[u8],
        authorization: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .agent
            .post(&self.url(path))
            .header("content-type", "application/json");
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        let mut response = request.send(body).unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")),
        )
    }

    /// POSTs JSON (with the `authorization` header if given): the status
    /// and the body as JSON.
    pub(crate) fn post(
        &self,
        path: &str,
        body: &Value,
        authorization: Option<&str>,
    ) -> (u16, Value) {
        self.post_raw(path, body.to_string().as_bytes(), authorization)
    }

    /// Evaluates and expects success.
    pub(crate) fn evaluate(&self, body: &Value) -> Vec<Value> {
        let (status, answer) = self.post("/v1/evaluate", body, None);
        assert_eq!(status, 200, "{answer}");
        answer.as_array().unwrap().clone()
    }

    /// Reloads with [`TOKEN`] and expects success.
    pub(crate) fn reload(&self) -> Value {
        let (status, answer) = self.post("/v1/reload", &json!({}), Some(&bearer(TOKEN)));
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// The value of one sample of `/metrics` (the line starting `series `),
    /// which must be there.
    #[track_caller]
    pub(crate) fn metric(&self, series: &str) -> f64 {
        let (status, text) = self.get("/metrics");
        assert_eq!(status, 200, "{text}");
        text.lines()
            .find_map(|line| {
                line.strip_prefix(series)
                    .and_then(|rest| rest.strip_prefix(' '))
            })
            .unwrap_or_else(|| panic!("no `{series}` in /metrics:\n{text}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// Waits until `ready` holds, at most [`PATIENCE`].
    #[track_caller]
    pub(crate) fn wait_for(&self, what: &str, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !ready() {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits, at most [`PATIENCE`], for the service to exit, and expects
    /// a clean exit.
    #[track_caller]
    pub(crate) fn assert_stops_cleanly(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the service did not stop");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{status:?}\n{}", self.log());
    }

    pub(crate) fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `authorization` header value for `token`.
pub(crate) fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
