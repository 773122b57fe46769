//! Why a call into a plugin produced no usable answer, and the reason code
//! an `error` decision carries for it.

use std::fmt;
use std::time::Duration;

use verdict_sdk::abi;

use crate::deadline::Shown;

/// Why a call into a plugin produced no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The call used its whole fuel budget (an endless or too-long loop).
    OutOfFuel,
    /// The instance asked for more memory than allowed.
    MemoryLimit(usize),
    /// The plugin trapped (a panic, `unreachable`, a bad memory access...).
    Trap(String),
    /// The plugin answered, but not in the form the ABI requires.
    Malformed(String),
    /// The plugin decoded its input and refused it.
    Plugin(String),
    /// The answer is longer than the ABI allows (its length in bytes).
    AnswerTooLarge(u32),
    /// The call ran past the sandbox's wall-clock bound (only a sandbox
    /// made with [`Sandbox::with_deadline`](crate::Sandbox::with_deadline) has one).
    Deadline(Duration),
}

impl Fault {
    /// The reason code of [`Fault::Deadline`].
    pub const DEADLINE_CODE: &'static str = "deadline";

    /// The stable reason code an `error` decision carries for this fault.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Fault::OutOfFuel => "out-of-fuel",
            Fault::MemoryLimit(_) => "memory-limit",
            Fault::Trap(_) => "trap",
            Fault::Malformed(_) => "malformed-output",
            Fault::Plugin(_) => "plugin-error",
            Fault::AnswerTooLarge(_) => "answer-too-large",
            Fault::Deadline(_) => Fault::DEADLINE_CODE,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::OutOfFuel => f.write_str("plugin ran out of fuel (CPU budget exhausted)"),
            Fault::MemoryLimit(limit) => {
                write!(
                    f,
                    "plugin tried to use more than {} MiB of memory",
                    limit >> 20
                )
            }
            Fault::Trap(message) => write!(f, "plugin trapped: {message}"),
            Fault::Malformed(message) => write!(f, "plugin returned malformed output: {message}"),
            Fault::Plugin(message) => write!(f, "plugin refused the input: {message}"),
            Fault::AnswerTooLarge(len) => write!(
                f,
                "plugin answered {len} bytes, more than the {} bytes the ABI allows",
                abi::MAX_ANSWER_BYTES
            ),
            Fault::Deadline(bound) => write!(f, "plugin ran longer than {}", Shown(*bound)),
        }
    }
}
