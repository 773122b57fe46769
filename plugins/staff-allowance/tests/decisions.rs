//! The decisions of staff-allowance, byte for byte: every input recorded in
//! `decisions.txt` gets exactly the answer recorded with it, through the
//! same function the wasm `verdict_evaluate` export runs.

use staff_allowance::{Params, evaluate};
use verdict_sdk::glue::check_recorded;

#[test]
fn every_recorded_input_gets_exactly_the_recorded_answer() {
    // Ok(true): every recorded answer matched, and there are enough of
    // them; an Err shows the first difference, in words.
    let checked = check_recorded::<Params>(include_str!("decisions.txt"), evaluate);
    assert_eq!(
        checked.map(|n| n >= 80).map_err(|error| error.to_string()),
        Ok(true)
    );
}
