//! The SDK's reader of the host's v2 envelope, in the guest: whatever
//! bytes a buggy or future host sends, a plugin built with the SDK answers
//! a decision the host accepts or an error saying the input does not
//! decode; it never traps. Run through the three reference policies
//! exactly as their `verdict_evaluate` export runs them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_engine::Abi;
use verdict_engine::testing::decode_answer;
use verdict_sdk::glue::evaluate_v2;
use verdict_sdk::wire::{self, Answer};
use verdict_sdk::{Decision, Input};

fn answers<P: Default>(envelope: &[u8], policy: fn(&Input, &P) -> Decision) {
    let answer = evaluate_v2(envelope, &P::default(), policy);
    match wire::decode_envelope(envelope) {
        Ok(_) => {
            if let Err(fault) = decode_answer(Abi::V2, &answer) {
                panic!("the host refuses the answer: {fault}");
            }
        }
        Err(_) => assert!(matches!(wire::decode_answer(&answer), Ok(Answer::Error(_)))),
    }
}

fuzz_target!(|envelope: &[u8]| {
    answers(envelope, loan_rates::evaluate);
    answers(envelope, product_ladder::evaluate);
    answers(envelope, staff_allowance::evaluate);
});
