//! One module per subcommand; each returns the exit status to use.

pub mod eval;
pub mod inspect;
