//! Arrow record batches to profiles, as `verdict eval` and the Python
//! package convert them: any schema and values (built with `arbitrary`)
//! give profiles or a row or column error, never a panic; a batch whose
//! string columns are dictionary-encoded gives exactly the profiles of the
//! same batch with plain strings; the same batch read as a decisions file
//! (for replay) is read or refused, never a panic.
#![no_main]

use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use verdict_batch::{profiles_from_batch, recorded_from_batch};
use verdict_fuzz::arrow::Columns;
use verdict_sdk::Date;

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(columns) = Columns::arbitrary_batch(&mut u) else {
        return;
    };
    let as_of = Date::new(2026, 11, 23).unwrap_or_else(|e| panic!("{e}"));
    let plain = columns.batch(false);
    let dictionary = columns.batch(true);
    let (Some(plain), Some(dictionary)) = (plain, dictionary) else {
        return;
    };
    let from_plain = profiles_from_batch(&plain, as_of, 1);
    let from_dictionary = profiles_from_batch(&dictionary, as_of, 1);
    match (&from_plain, &from_dictionary) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        _ => panic!("plain: {from_plain:?}\ndictionary: {from_dictionary:?}"),
    }
    let _ = recorded_from_batch(&plain, 1);
    let _ = recorded_from_batch(&dictionary, 1);
});
