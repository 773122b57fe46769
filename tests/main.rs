//! End-to-end tests: the real `verdict` binary against the real plugins
//! (built to wasm) and the hand-written WAT plugins in `tests/plugins/`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail loudly"
)]

mod service;
mod util;

mod abi_v2;
mod audit;
mod author;
mod bad_input;
mod batch;
mod eval;
mod exit;
mod experiment;
mod hostile;
mod inspect;
mod journal;
mod load_checks;
mod outputs;
mod planted;
mod release;
mod serve;
mod serve_ops;
