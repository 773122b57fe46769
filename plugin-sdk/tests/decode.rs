//! What a policy sees of its input, byte for byte: a policy that reports
//! the customer it decoded (serialized again), its age and language gets
//! exactly the answers recorded in `decode.txt`, decode errors included.

use serde::{Deserialize, Serialize};
use verdict_sdk::glue::evaluate_json;
use verdict_sdk::{Decision, Input, ParamSpec, Params};

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoParams {}

impl Params for NoParams {
    fn schema() -> Vec<ParamSpec> {
        Vec::new()
    }
}

fn mirror(input: &Input, _: &NoParams) -> Decision {
    Decision::new("mirror")
        .with("as_of", input.as_of.to_string())
        .with("age", input.age())
        .with("lang", input.lang().code())
        .with(
            "customer",
            serde_json::to_value(&input.customer).unwrap_or_default(),
        )
}

#[test]
fn every_recorded_input_decodes_to_exactly_the_recorded_customer() {
    let mut case = "";
    let mut input = None;
    let mut checked = 0;
    for (index, line) in include_str!("decode.txt").lines().enumerate() {
        if let Some(name) = line.strip_prefix("# ") {
            case = name;
        } else if let Some(text) = line.strip_prefix("> ") {
            input = Some(text);
        } else if let Some(expected) = line.strip_prefix("< ") {
            let Some(input) = input.take() else {
                unreachable!("line {}: an answer without an input", index + 1);
            };
            let answer = evaluate_json::<NoParams>(input.as_bytes(), mirror);
            assert_eq!(
                String::from_utf8_lossy(&answer),
                expected,
                "decode.txt line {}: {case}",
                index + 1
            );
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} recorded cases");
}
