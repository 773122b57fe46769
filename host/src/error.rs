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
    /// A problem in input given as JSON rather than in a file (an HTTP
    /// request body): names the customer and field instead of a position.
    #[error("{0}")]
    Input(InputError),
}

/// A problem in JSON input, located by customer index and field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The index of the customer in the request, when it is about one.
    pub customer: Option<usize>,
    /// The field's dotted path (`birth_date`, `stay.requested_by`), when
    /// it is about one field.
    pub field: Option<String>,
    /// The problem.
    pub message: String,
}

impl std::fmt::Display for InputError {
    /// `customer 2, field `birth_date`: problem`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.customer, &self.field) {
            (Some(index), Some(field)) => write!(f, "customer {index}, field `{field}`: ")?,
            (Some(index), None) => write!(f, "customer {index}: ")?,
            (None, Some(field)) => write!(f, "field `{field}`: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
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
