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
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status as u8)
    }
}
