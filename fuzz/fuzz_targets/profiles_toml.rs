//! The profiles parser, differential: a file read in parts, in parallel,
//! gives exactly the customers (and positions) the one-piece parse gives,
//! or the very problem it reports. Parts of a third of the file and of one
//! byte (every customer its own part) are both tried.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use verdict_config::Document;
use verdict_config::testing::parse_profiles;

fuzz_target!(|data: &[u8]| {
    // Files are read as UTF-8: other bytes are refused before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let doc = Document::from_text(Path::new("customers.toml"), text);
    let whole = parse_profiles(doc.clone(), usize::MAX).map_err(|e| e.to_string());
    for part_bytes in [text.len() / 3 + 1, 1] {
        let in_parts = parse_profiles(doc.clone(), part_bytes).map_err(|e| e.to_string());
        assert_eq!(in_parts, whole, "parts of {part_bytes} bytes");
    }
});
