//! The host's readers of a plugin's JSON answers: a v1 decision, a
//! manifest (v1 or v2) with its parameter declarations, and the answer of
//! `verdict_check_params`. The first byte picks the reader, the rest is
//! the answer. Any bytes give a checked value or an error, never a panic;
//! what is accepted holds to the rules and reads the same written again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_engine::testing::{decode_answer, read_manifest, read_param_problems};
use verdict_engine::{Abi, Fault, is_kebab_case};
use verdict_fuzz::check_accepted;
use verdict_sdk::abi;

fuzz_target!(|data: &[u8]| {
    let Some((&which, answer)) = data.split_first() else {
        return;
    };
    if answer.len() > abi::MAX_ANSWER_BYTES as usize {
        return;
    }
    match which % 4 {
        0 => match decode_answer(Abi::V1, answer) {
            Ok(decision) => {
                check_accepted(&decision);
                let again = serde_json::to_vec(&decision).unwrap_or_default();
                assert_eq!(decode_answer(Abi::V1, &again).ok(), Some(decision));
            }
            Err(Fault::Malformed(_) | Fault::Plugin(_)) => {}
            Err(other) => panic!("reading an answer gave {other:?}"),
        },
        1 | 2 => {
            let abi = if which % 4 == 1 { Abi::V1 } else { Abi::V2 };
            if let Ok((manifest, _)) = read_manifest(abi, answer) {
                assert_eq!(manifest.abi, abi.number());
                assert!(is_kebab_case(&manifest.name));
                for (i, spec) in manifest.params.iter().enumerate() {
                    assert!(spec.check(&spec.default).is_ok(), "{spec:?}");
                    assert!(manifest.params[..i].iter().all(|s| s.name != spec.name));
                }
                let again = serde_json::to_vec(&manifest).unwrap_or_default();
                assert_eq!(
                    read_manifest(abi, &again).ok().map(|(m, _)| m),
                    Some(manifest)
                );
            }
        }
        _ => match read_param_problems(answer) {
            Ok(_) | Err(Fault::Malformed(_)) => {}
            Err(other) => panic!("reading a parameter check gave {other:?}"),
        },
    }
});
