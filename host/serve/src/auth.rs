//! The token that guards state-changing endpoints (reload, rollback), and
//! its constant-time check.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The environment variable a token may come from instead of a file.
pub const TOKEN_ENV: &str = "VERDICT_TOKEN";

/// A shared secret. Never printed: its `Debug` form is redacted.
#[derive(Clone)]
pub struct Token {
    secret: Box<str>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Why a token could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token file could not be read.
    #[error("cannot read the token file `{}`", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The token file holds only whitespace.
    #[error("token file `{}` is empty", path.display())]
    Empty {
        /// The file.
        path: std::path::PathBuf,
    },
}

impl Token {
    /// A token from its text; surrounding whitespace (a file's final
    /// newline) is not part of it. `None` when nothing is left.
    #[must_use]
    pub fn new(text: &str) -> Option<Token> {
        let secret = text.trim();
        (!secret.is_empty()).then(|| Token {
            secret: secret.into(),
        })
    }

    /// The token in a file (its whole text, trimmed). Logs a warning when
    /// the file is open to its group or to other users.
    pub fn from_file(path: &Path) -> Result<Token, TokenError> {
        let io = |source| TokenError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io)?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io)?;
        warn_if_shared(path, &file);
        Token::new(&text).ok_or_else(|| TokenError::Empty {
            path: path.to_path_buf(),
        })
    }

    /// The token from `file` when given, else from `VERDICT_TOKEN`, else
    /// none. A token is never taken from the command line, where other
    /// users of the machine could read it.
    pub fn from_file_or_env(file: Option<&Path>) -> Result<Option<Token>, TokenError> {
        match file {
            Some(path) => Token::from_file(path).map(Some),
            None => Ok(std::env::var(TOKEN_ENV)
                .ok()
                .and_then(|text| Token::new(&text))),
        }
    }

    /// The secret, to send as `Authorization: Bearer ...`.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether an `Authorization` header value carries this token. The
    /// comparison takes the same time whatever the given text: both sides
    /// are hashed first (so lengths leak nothing) and the digests compared
    /// without an early exit.
    #[must_use]
    pub fn accepts(&self, authorization: &str) -> bool {
        // `Bearer TOKEN`; the scheme's name is case-insensitive (RFC 9110).
        let Some((scheme, given)) = authorization.trim_start().split_once([' ', '\t']) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return false;
        }
        let expected = Sha256::digest(self.secret.as_bytes());
        let given = Sha256::digest(given.trim().as_bytes());
        let difference = expected
            .iter()
            .zip(given.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

/// Warns when the token file's mode lets its group or other users read
/// or change it: anyone who can read the token can change the policies
/// being served. The mode is that of the file just read (the link's target
/// when `path` is a link).
#[cfg(unix)]
fn warn_if_shared(path: &Path, file: &File) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = file.metadata() else {
        return;
    };
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o066 != 0 {
        tracing::warn!(
            "the token file `{}` has mode {mode:04o}: its group or other users can read or \
             change it; make it private (chmod 600)",
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path, _file: &File) {}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::Token;

    #[test]
    fn accepts_only_the_bearer_token() {
        let token = Token::new("s3cret\n").unwrap();
        assert!(token.accepts("Bearer s3cret"));
        assert!(token.accepts("bearer s3cret"));
        assert!(token.accepts("BEARER  s3cret "));
        assert!(!token.accepts("Bearers3cret"));
        assert!(!token.accepts("Bearer"));
        assert!(!token.accepts("Bearer s3cre"));
        assert!(!token.accepts("Bearer s3crets"));
        assert!(!token.accepts("s3cret"));
        assert!(!token.accepts("Basic s3cret"));
        assert!(Token::new(" \n").is_none());
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }
}
