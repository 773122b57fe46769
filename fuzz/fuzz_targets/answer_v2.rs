//! The host's reader of an ABI v2 answer (`verdict_evaluate`'s binary
//! layout): any bytes a plugin leaves in its memory give a checked decision
//! or a `malformed-output` fault, never a panic, and never more memory than
//! a bounded multiple of the answer, which the host caps at 64 KiB.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_engine::testing::decode_answer;
use verdict_engine::{Abi, Fault};
use verdict_fuzz::{check_accepted, peak_during};
use verdict_sdk::{abi, wire};

fuzz_target!(|answer: &[u8]| {
    // The host refuses a longer answer before reading it.
    if answer.len() > abi::MAX_ANSWER_BYTES as usize {
        return;
    }
    let (read, peak) = peak_during(|| decode_answer(Abi::V2, answer));
    assert!(
        peak <= 128 * answer.len() + (64 << 10),
        "{peak} bytes to read a {}-byte answer",
        answer.len()
    );
    match read {
        Ok(decision) => {
            check_accepted(&decision);
            // What was read is what was sent: written again, it reads the
            // same.
            let mut again = Vec::new();
            wire::encode_decision(&decision, &mut again);
            assert_eq!(decode_answer(Abi::V2, &again).ok(), Some(decision));
        }
        Err(Fault::Malformed(_) | Fault::Plugin(_)) => {}
        Err(other) => panic!("reading an answer gave {other:?}"),
    }
});
