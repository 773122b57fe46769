//! The decisions of loan-rates, byte for byte: every input recorded in
//! `decisions.txt` gets exactly the answer recorded with it, through the
//! same function the wasm `verdict_evaluate` export runs.

use loan_rates::{Params, evaluate};
use verdict_sdk::testing::assert_recorded;

#[test]
fn every_recorded_input_gets_exactly_the_recorded_answer() {
    // Every recorded answer matches, and there are enough of them; a
    // failure shows the first difference.
    assert_recorded::<Params>(include_str!("decisions.txt"), evaluate, 80);
}
