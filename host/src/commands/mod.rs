//! One module per subcommand; each returns the exit status to use.

pub mod build;
pub mod diff;
pub mod eval;
pub mod inspect;
pub mod log;
pub mod new;
pub mod replay;
pub mod rollback;
pub mod serve;
pub mod test;
