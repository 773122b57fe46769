//! End-to-end tests: the real `verdict` binary against the real plugins
//! (built to wasm) and the hand-written WAT plugins in `tests/plugins/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod util;

mod audit;
mod author;
mod eval;
mod hostile;
mod inspect;
mod serve;
mod serve_ops;
