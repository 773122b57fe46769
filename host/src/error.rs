//! The host library's error type.

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;

/// Everything that stops the host from loading or evaluating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A problem at a place in a file the user wrote (profiles, bindings).
    #[error("{0}")]
    Diagnostic(Box<Diagnostic>),
    /// A file could not be read.
    #[error("cannot read `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A plugin module is unusable: not wasm, wrong ABI, forbidden imports.
    #[error("plugin `{}`: {message}", path.display())]
    Plugin {
        /// The module file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The WebAssembly engine could not be set up.
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
    /// A policies directory holds no bindings, or names a policy twice.
    #[error("{0}")]
    Config(String),
}

impl Error {
    /// The diagnostic behind this error, when it points into a file.
    #[must_use]
    pub fn diagnostic(&self) -> Option<&Diagnostic> {
        match self {
            Error::Diagnostic(diagnostic) => Some(diagnostic),
            _ => None,
        }
    }
}
