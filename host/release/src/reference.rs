//! Release references: `HOST[:PORT]/REPO:TAG` or `HOST[:PORT]/REPO@sha256:HEX`.

use std::fmt;
use std::str::FromStr;

use verdict_engine::Sha256;

use crate::error::ReleaseError;

/// Where a release is in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    host: String,
    repository: String,
    target: Target,
}

/// A tag, which may move, or a digest, which never does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// A tag such as `v7` or `prod`.
    Tag(String),
    /// A manifest digest.
    Digest(Sha256),
}

impl Reference {
    /// The registry's host, with its port when one was given.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The repository inside the registry.
    #[must_use]
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag or digest.
    #[must_use]
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// `HOST/REPO`, as a signature's identity names it.
    #[must_use]
    pub fn repository_path(&self) -> String {
        format!("{}/{}", self.host, self.repository)
    }

    /// The same repository at `digest`.
    #[must_use]
    pub fn at(&self, digest: Sha256) -> Reference {
        Reference {
            host: self.host.clone(),
            repository: self.repository.clone(),
            target: Target::Digest(digest),
        }
    }

    /// Whether the registry is on this machine (`localhost`, `127.*`,
    /// `[::1]`), where plain HTTP is allowed as container tools allow it.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        let name = match self.host.strip_prefix('[') {
            Some(rest) => rest.split(']').next().unwrap_or(rest),
            None => self.host.split(':').next().unwrap_or(&self.host),
        };
        name == "localhost"
            || name == "::1"
            || name
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::Tag(tag) => write!(f, "{}/{}:{tag}", self.host, self.repository),
            Target::Digest(digest) => {
                write!(f, "{}/{}@sha256:{digest}", self.host, self.repository)
            }
        }
    }
}

impl FromStr for Reference {
    type Err = ReleaseError;

    fn from_str(text: &str) -> Result<Reference, ReleaseError> {
        let refuse = |problem: &str| ReleaseError::Reference {
            text: text.chars().take(200).collect(),
            problem: problem.to_owned(),
        };
        let (host, rest) = text
            .split_once('/')
            .ok_or_else(|| refuse("it names no registry host"))?;
        if host.is_empty()
            || !(host.contains('.') || host.contains(':') || host == "localhost")
            || !host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        {
            return Err(refuse(
                "it must start with a registry host such as registry.example.com or 127.0.0.1:5000",
            ));
        }
        let (repository, target) = if let Some((repository, digest)) = rest.split_once('@') {
            let hex = digest
                .strip_prefix("sha256:")
                .ok_or_else(|| refuse("a digest must be sha256:HEX"))?;
            let digest = hex
                .parse::<Sha256>()
                .map_err(|_| refuse("a digest must be sha256: and 64 hex digits"))?;
            (repository, Target::Digest(digest))
        } else {
            let last = rest.rfind('/').map_or(0, |slash| slash + 1);
            let (repository, tag) = match rest[last..].rfind(':') {
                Some(colon) => (&rest[..last + colon], &rest[last + colon + 1..]),
                None => return Err(refuse("it names no tag or digest")),
            };
            if !is_tag(tag) {
                return Err(refuse(
                    "a tag is up to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`",
                ));
            }
            (repository, Target::Tag(tag.to_owned()))
        };
        if !repository.split('/').all(is_path_component) {
            return Err(refuse(
                "a repository is lowercase letters and digits, parts joined by `.`, `_`, `-` or `/`",
            ));
        }
        Ok(Reference {
            host: host.to_owned(),
            repository: repository.to_owned(),
            target,
        })
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`, the distribution spec's tag.
fn is_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, one part of a repository name.
fn is_path_component(part: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = part.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    if !alnum(first) || !alnum(last) {
        return false;
    }
    let mut separators = String::new();
    for &b in bytes {
        if alnum(b) {
            if !(separators.is_empty()
                || separators == "."
                || separators == "_"
                || separators == "__"
                || separators.bytes().all(|s| s == b'-'))
            {
                return false;
            }
            separators.clear();
        } else if b"._-".contains(&b) {
            separators.push(char::from(b));
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn references_read_and_print_back() {
        for text in [
            "127.0.0.1:5000/verdict/policies:v1",
            "registry.example.com/a/b_c/d--e:prod-2",
            "localhost/x:latest",
            "[::1]:5000/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            let reference: Reference = text.parse().unwrap();
            assert_eq!(reference.to_string(), text);
        }
        let reference: Reference = "127.0.0.1:5000/verdict/policies:v1".parse().unwrap();
        assert_eq!(reference.host(), "127.0.0.1:5000");
        assert_eq!(reference.repository(), "verdict/policies");
        assert_eq!(reference.target(), &Target::Tag("v1".into()));
    }

    #[test]
    fn loopback_is_told_apart() {
        let loopback = |text: &str| text.parse::<Reference>().unwrap().is_loopback();
        assert!(loopback("127.0.0.1:5000/x:a"));
        assert!(loopback("127.8.9.1/x:a"));
        assert!(loopback("localhost:5000/x:a"));
        assert!(loopback("[::1]:5000/x:a"));
        assert!(!loopback("registry.example.com/x:a"));
        assert!(!loopback("10.0.0.1:5000/x:a"));
        assert!(!loopback("localhost.example.com/x:a"));
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        for (text, problem) in [
            ("policies:v1", "names no registry host"),
            ("verdict/policies:v1", "must start with a registry host"),
            ("127.0.0.1:5000/policies", "names no tag or digest"),
            ("127.0.0.1:5000/Policies:v1", "a repository is lowercase"),
            ("127.0.0.1:5000/a//b:v1", "a repository is lowercase"),
            ("127.0.0.1:5000/a:-v1", "a tag is up to 128"),
            ("127.0.0.1:5000/a@sha256:12", "64 hex digits"),
            ("127.0.0.1:5000/a@md5:12", "a digest must be sha256:HEX"),
        ] {
            let error = text.parse::<Reference>().unwrap_err().to_string();
            assert!(error.contains(problem), "{text}: {error}");
        }
    }
}
