//! What stops a configuration from loading: a problem at a place in a file,
//! a file that cannot be read, a directory without bindings, a module the
//! engine refuses, a customer given as JSON that fails its checks.

use std::path::PathBuf;

use verdict_engine::{EngineError, InputError};

use crate::diagnostic::Diagnostic;

/// Everything that stops bindings, profiles or test files from loading.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A problem at a place in a file the user wrote.
    #[error("{0}")]
    Diagnostic(Box<Diagnostic>),
    /// A module the engine refused, reported at the `plugin = ...` value
    /// that names it; the engine's error is kept as it was.
    #[error("{diagnostic}")]
    Refused {
        /// Where, and the refusal in words.
        diagnostic: Box<Diagnostic>,
        /// Why the engine refused it.
        error: EngineError,
    },
    /// A file or directory could not be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A policies directory holds no bindings.
    #[error("`{}` holds no policy bindings (*.toml)", dir.display())]
    NoBindings {
        /// The directory.
        dir: PathBuf,
    },
    /// The engine refused something not tied to a place in a file.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A customer given as JSON (an HTTP request body) fails its checks.
    #[error("{0}")]
    Input(InputError),
}

impl ConfigError {
    /// The diagnostic behind this error, when it points into a file.
    #[must_use]
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            ConfigError::Diagnostic(diagnostic) | ConfigError::Refused { diagnostic, .. } => {
                Some(diagnostic)
            }
            _ => None,
        }
    }

    /// The engine's refusal of a module, when that is what this is.
    #[must_use]
    pub fn refusal(&self) -> Option<&EngineError> {
        match self {
            ConfigError::Refused { error, .. } => Some(error),
            _ => None,
        }
    }

    /// A file that could not be read.
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ConfigError {
        let path = path.to_path_buf();
        move |source| ConfigError::Io { path, source }
    }
}
