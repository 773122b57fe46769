//! Exit statuses of the `verdict` binary.

use std::process::ExitCode;

/// What the exit status of a command means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: everything asked for was done (every decision was made, whatever
    /// its outcome; every check passed).
    Success = 0,
    /// 1: the command ran, but some decision is `error` or some check failed.
    Failure = 1,
    /// 2: bad input or configuration; nothing was evaluated.
    BadInput = 2,
    /// 3: the command failed after it began (a decision log that could not
    /// be written, say); what it printed before the error stands.
    PartWay = 3,
}

impl Status {
    /// The status of a run that made `errors` error decisions.
    #[must_use]
    pub fn of_errors(errors: usize) -> Status {
        if errors > 0 {
            Status::Failure
        } else {
            Status::Success
        }
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status as u8)
    }
}

/// Marks an error that stopped a command after it began its output (a
/// decision log that could not be written, stdout closed): what it printed
/// before stands, so the exit status is [`Status::PartWay`], not
/// [`Status::BadInput`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct PartWay;

impl std::fmt::Display for PartWay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped part way; what was printed before stands")
    }
}
