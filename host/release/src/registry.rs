//! The OCI distribution API, as much of it as releases use: manifests and
//! blobs read with a byte bound and checked against their digest as they
//! arrive, blobs uploaded in one piece, manifests put by tag or digest, and
//! the registry's Basic or Bearer-token challenge answered.

use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use ureq::http::{self, Method, StatusCode};
use verdict_engine::Sha256;

use crate::credentials::{self, Credentials};
use crate::error::ReleaseError;
use crate::reference::Reference;

/// How to reach a registry.
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    /// Plain HTTP to a registry that is not on this machine.
    pub insecure: bool,
    /// The longest one request (with its body) may take.
    pub timeout: Duration,
}

impl Default for Connection {
    fn default() -> Connection {
        Connection {
            insecure: false,
            timeout: Duration::from_secs(60),
        }
    }
}

/// One repository of one registry.
#[derive(Debug)]
pub struct Registry {
    agent: ureq::Agent,
    host: String,
    repository: String,
    base: String,
    credentials: Option<Credentials>,
    /// The `Authorization` header the last challenge was answered with.
    authorization: Mutex<Option<String>>,
}

/// What a request sends.
enum Body<'a> {
    None,
    Bytes(&'a [u8]),
}

impl Registry {
    /// A client for the repository `reference` names: HTTPS, or plain HTTP
    /// for a loopback registry or when `connection.insecure` says so;
    /// credentials from the usual file (see `credentials`).
    pub fn connect(
        reference: &Reference,
        connection: Connection,
    ) -> Result<Registry, ReleaseError> {
        let scheme = if reference.is_loopback() || connection.insecure {
            "http"
        } else {
            "https"
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(connection.timeout))
            .max_redirects(5)
            .build()
            .into();
        Ok(Registry {
            agent,
            host: reference.host().to_owned(),
            repository: reference.repository().to_owned(),
            base: format!(
                "{scheme}://{}/v2/{}",
                reference.host(),
                reference.repository()
            ),
            credentials: credentials::for_host(reference.host())?,
            authorization: Mutex::new(None),
        })
    }

    /// The registry's host.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The manifest at `target` (a tag, or `sha256:HEX`) with its digest,
    /// or `None` when there is none; at most `limit` bytes. A manifest
    /// asked for by digest must have that digest.
    pub(crate) fn manifest(
        &self,
        target: &str,
        accept: &str,
        limit: u64,
    ) -> Result<Option<(Vec<u8>, Sha256)>, ReleaseError> {
        let what = format!("manifest {target}");
        let url = format!("{}/manifests/{target}", self.base);
        let mut response = self.send(Method::GET, &url, &[("Accept", accept)], Body::None)?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        self.expect_success(&mut response, &what)?;
        let bytes = self.read_body(&mut response, &what, limit)?;
        let digest = Sha256::of(&bytes);
        if let Some(expected) = target.strip_prefix("sha256:") {
            self.check_digest(&what, expected, digest)?;
        }
        Ok(Some((bytes, digest)))
    }

    /// The blob `digest`, at most `limit` bytes, checked against its digest.
    pub(crate) fn blob(
        &self,
        digest: Sha256,
        what: &str,
        limit: u64,
    ) -> Result<Vec<u8>, ReleaseError> {
        let url = format!("{}/blobs/sha256:{digest}", self.base);
        let mut response = self.send(Method::GET, &url, &[], Body::None)?;
        self.expect_success(&mut response, what)?;
        let bytes = self.read_body(&mut response, what, limit)?;
        self.check_digest(what, &digest.to_string(), Sha256::of(&bytes))?;
        Ok(bytes)
    }

    /// Uploads `bytes` as a blob unless the registry has it; its digest.
    pub(crate) fn put_blob(&self, bytes: &[u8], what: &str) -> Result<Sha256, ReleaseError> {
        let digest = Sha256::of(bytes);
        let url = format!("{}/blobs/sha256:{digest}", self.base);
        let response = self.send(Method::HEAD, &url, &[], Body::None)?;
        if response.status().is_success() {
            return Ok(digest);
        }
        let mut started = self.send(
            Method::POST,
            &format!("{}/blobs/uploads/", self.base),
            &[("Content-Length", "0")],
            Body::None,
        )?;
        self.expect_success(&mut started, &format!("upload of {what}"))?;
        let location = started
            .headers()
            .get("Location")
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| self.problem(format!("the upload of {what} got no Location")))?;
        let location = self.absolute(location);
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest=sha256:{digest}");
        let mut done = self.send(
            Method::PUT,
            &url,
            &[("Content-Type", "application/octet-stream")],
            Body::Bytes(bytes),
        )?;
        self.expect_success(&mut done, &format!("upload of {what}"))?;
        Ok(digest)
    }

    /// Puts a manifest at `target` (a tag or its own digest); its digest.
    pub(crate) fn put_manifest(
        &self,
        target: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Sha256, ReleaseError> {
        let url = format!("{}/manifests/{target}", self.base);
        let mut response = self.send(
            Method::PUT,
            &url,
            &[("Content-Type", media_type)],
            Body::Bytes(bytes),
        )?;
        self.expect_success(&mut response, &format!("manifest {target}"))?;
        Ok(Sha256::of(bytes))
    }

    /// Sends a request, answering one authentication challenge.
    fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<http::Response<ureq::Body>, ReleaseError> {
        let authorization = self.current_authorization();
        let response = self.send_once(&method, url, headers, &body, authorization.as_deref())?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = response
            .headers()
            .get("WWW-Authenticate")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let answer = self.answer(&challenge, &method)?;
        let response = self.send_once(&method, url, headers, &body, Some(&answer))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(self.problem(self.refused_credentials()));
        }
        if let Ok(mut kept) = self.authorization.lock() {
            *kept = Some(answer);
        }
        Ok(response)
    }

    fn current_authorization(&self) -> Option<String> {
        self.authorization.lock().ok().and_then(|kept| kept.clone())
    }

    fn send_once(
        &self,
        method: &Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body<'_>,
        authorization: Option<&str>,
    ) -> Result<http::Response<ureq::Body>, ReleaseError> {
        let mut request = http::Request::builder().method(method.clone()).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(authorization) = authorization {
            request = request.header("Authorization", authorization);
        }
        let sent = match body {
            Body::None => request
                .body(())
                .map_err(|e| self.problem(format!("bad request {url}: {e}")))
                .map(|request| self.agent.run(request))?,
            Body::Bytes(bytes) => request
                .body(*bytes)
                .map_err(|e| self.problem(format!("bad request {url}: {e}")))
                .map(|request| self.agent.run(request))?,
        };
        sent.map_err(|error| self.unreachable(&error))
    }

    /// The `Authorization` header that answers `challenge`.
    fn answer(&self, challenge: &str, method: &Method) -> Result<String, ReleaseError> {
        let challenges = http_auth::parse_challenges(challenge).map_err(|e| {
            self.problem(format!(
                "asks for authentication in a form not understood ({e}): {challenge}"
            ))
        })?;
        let param = |challenge: &http_auth::ChallengeRef<'_>, name: &str| {
            challenge
                .params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.to_unescaped())
        };
        if let Some(bearer) = challenges
            .iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        {
            let realm = param(bearer, "realm")
                .ok_or_else(|| self.problem("asks for a Bearer token but names no realm".into()))?;
            let access = if matches!(*method, Method::GET | Method::HEAD) {
                "pull"
            } else {
                "pull,push"
            };
            let scope = param(bearer, "scope")
                .unwrap_or_else(|| format!("repository:{}:{access}", self.repository));
            let mut query = vec![("scope", scope)];
            if let Some(service) = param(bearer, "service") {
                query.push(("service", service));
            }
            return self
                .token(&realm, &query)
                .map(|token| format!("Bearer {token}"));
        }
        if challenges
            .iter()
            .any(|c| c.scheme.eq_ignore_ascii_case("basic"))
        {
            return match &self.credentials {
                Some(credentials) => Ok(credentials.header()),
                None => Err(self.problem(self.refused_credentials())),
            };
        }
        Err(self.problem(format!(
            "asks for authentication this client does not speak: {challenge}"
        )))
    }

    /// A Bearer token from the registry's token service.
    fn token(&self, realm: &str, query: &[(&str, String)]) -> Result<String, ReleaseError> {
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let mut request = self
            .agent
            .get(realm)
            .query_pairs(query.iter().map(|(key, value)| (*key, value.as_str())));
        if let Some(credentials) = &self.credentials {
            request = request.header("Authorization", &credentials.header());
        }
        let mut response = request.call().map_err(|e| self.unreachable(&e))?;
        if !response.status().is_success() {
            return Err(self.problem(format!(
                "its token service refused ({}): {}",
                response.status(),
                self.refused_credentials()
            )));
        }
        let bytes = self.read_body(&mut response, "token", 1 << 20)?;
        let token: Token = serde_json::from_slice(&bytes)
            .map_err(|e| self.problem(format!("its token service answered no token: {e}")))?;
        token
            .token
            .or(token.access_token)
            .ok_or_else(|| self.problem("its token service answered no token".into()))
    }

    fn refused_credentials(&self) -> String {
        let stored = if self.credentials.is_some() {
            "the stored credentials were refused"
        } else {
            "no credentials are stored for it"
        };
        format!(
            "access denied: {stored} (log in with `docker login {}` or `skopeo login`, or set REGISTRY_AUTH_FILE)",
            self.host
        )
    }

    /// Fails unless the response is a success, with the registry's message.
    fn expect_success(
        &self,
        response: &mut http::Response<ureq::Body>,
        what: &str,
    ) -> Result<(), ReleaseError> {
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = self
            .read_body(response, what, 64 * 1024)
            .map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .trim()
                    .chars()
                    .take(300)
                    .collect::<String>()
            })
            .unwrap_or_default();
        let detail = if text.is_empty() {
            String::new()
        } else {
            format!(": {text}")
        };
        Err(self.problem(format!("{what}: answered {status}{detail}")))
    }

    /// The body, refused once it passes `limit` bytes (by its declared
    /// length before anything is read, and again as it arrives).
    fn read_body(
        &self,
        response: &mut http::Response<ureq::Body>,
        what: &str,
        limit: u64,
    ) -> Result<Vec<u8>, ReleaseError> {
        let too_large = || ReleaseError::TooLarge {
            host: self.host.clone(),
            what: what.to_owned(),
            limit,
        };
        if response
            .body()
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(too_large());
        }
        match response.body_mut().with_config().limit(limit).read_to_vec() {
            Ok(bytes) => Ok(bytes),
            Err(ureq::Error::BodyExceedsLimit(_)) => Err(too_large()),
            Err(error) => Err(self.unreachable(&error)),
        }
    }

    fn check_digest(&self, what: &str, expected: &str, actual: Sha256) -> Result<(), ReleaseError> {
        let expected = expected.trim_start_matches("sha256:");
        if actual.to_string() == expected {
            return Ok(());
        }
        Err(ReleaseError::Digest {
            host: self.host.clone(),
            what: what.to_owned(),
            expected: expected.to_owned(),
            actual: actual.to_string(),
        })
    }

    /// A Location header as a full URL.
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            return location.to_owned();
        }
        let origin_end = self.base.find("/v2/").unwrap_or(self.base.len());
        format!("{}{location}", &self.base[..origin_end])
    }

    fn problem(&self, problem: String) -> ReleaseError {
        ReleaseError::Registry {
            host: self.host.clone(),
            problem,
        }
    }

    fn unreachable(&self, error: &ureq::Error) -> ReleaseError {
        let problem = match error {
            ureq::Error::Timeout(_) => "did not answer in time (see --timeout)".to_owned(),
            other => format!("cannot be reached: {other}"),
        };
        ReleaseError::Unreachable {
            host: self.host.clone(),
            problem,
        }
    }
}
