//! Registry credentials from the file container tools keep them in:
//! `REGISTRY_AUTH_FILE`, else `$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`, its `auths` entry for the registry's host.
//! Credentials are never taken from a command-line flag.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use serde::Deserialize;

use crate::error::ReleaseError;

/// The largest credentials file read.
const MAX_AUTH_FILE_BYTES: u64 = 1 << 20;

/// A user name and password for HTTP Basic, or to ask for a token with.
#[derive(Clone)]
pub(crate) struct Credentials {
    /// `base64(user:password)`, as the `Authorization: Basic` header sends it.
    basic: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(…)")
    }
}

impl Credentials {
    /// The `Authorization` header value.
    pub(crate) fn header(&self) -> String {
        format!("Basic {}", self.basic)
    }
}

#[derive(Deserialize)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, Auth>,
}

#[derive(Deserialize)]
struct Auth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// The credentials file in use, if there is one.
fn auth_file() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|f| !f.is_empty()) {
        return Some(PathBuf::from(file));
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The credentials stored for `host`, if any. A file that exists but cannot
/// be read or is not such a file is an error (credentials silently ignored
/// would show up later as a puzzling refusal).
pub(crate) fn for_host(host: &str) -> Result<Option<Credentials>, ReleaseError> {
    let Some(path) = auth_file() else {
        return Ok(None);
    };
    let bytes = match verdict_engine::read_bounded(
        &path,
        verdict_engine::Links::Follow,
        MAX_AUTH_FILE_BYTES,
    ) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(ReleaseError::io(&path)(error)),
    };
    let file: AuthFile = serde_json::from_slice(&bytes).map_err(|error| ReleaseError::File {
        path: path.clone(),
        problem: format!("not a registry credentials file: {error}"),
    })?;
    let entry = file.auths.iter().find(|(key, _)| {
        let key = key
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        key.split('/').next() == Some(host)
    });
    let Some((_, auth)) = entry else {
        return Ok(None);
    };
    let basic = match (&auth.auth, &auth.username, &auth.password) {
        (Some(auth), _, _) if !auth.is_empty() => auth.clone(),
        (_, Some(user), Some(password)) => {
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        }
        _ => return Ok(None),
    };
    Ok(Some(Credentials { basic }))
}
