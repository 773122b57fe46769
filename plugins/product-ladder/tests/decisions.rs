//! The decisions of product-ladder, byte for byte: every input recorded in
//! `decisions.txt` gets exactly the answer recorded with it, through the
//! same function the wasm `verdict_evaluate` export runs.

use product_ladder::{Params, evaluate};
use verdict_sdk::glue::evaluate_json;

#[test]
fn every_recorded_input_gets_exactly_the_recorded_answer() {
    let mut params = "";
    let mut case = "";
    let mut input = None;
    let mut checked = 0;
    for (index, line) in include_str!("decisions.txt").lines().enumerate() {
        if let Some(json) = line.strip_prefix("params ") {
            params = json;
        } else if let Some(name) = line.strip_prefix("# ") {
            case = name;
        } else if let Some(text) = line.strip_prefix("> ") {
            input = Some(text.replace("$params", params));
        } else if let Some(expected) = line.strip_prefix("< ") {
            let Some(input) = input.take() else {
                unreachable!("line {}: an answer without an input", index + 1);
            };
            let answer = evaluate_json::<Params>(input.as_bytes(), evaluate);
            assert_eq!(
                String::from_utf8_lossy(&answer),
                expected,
                "decisions.txt line {}: {case}",
                index + 1
            );
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} recorded cases");
}
