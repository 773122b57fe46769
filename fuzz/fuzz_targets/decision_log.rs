//! A decision log and its archive as `verdict log verify` and `verdict
//! replay` read them: any bytes as a log give a report (verify) and
//! records or an error naming a line (replay's reader), never a panic; a
//! log verify calls intact is one replay can read whole; every input
//! replay reads is laid out for both ABIs or refused. Archive entries read
//! back exactly what was stored, and a changed entry is found out.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use verdict_audit::testing::read_log;
use verdict_audit::verify::verify;
use verdict_audit::{Archive, AuditError, Kind};
use verdict_engine::testing::encode_for;
use verdict_engine::{Abi, Profile};

/// A directory of this process's own for the log and the archive.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("verdict-fuzz-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        dir
    })
}

fuzz_target!(|log: &[u8]| {
    let path = dir().join("decisions.log");
    std::fs::write(&path, log).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let report = verify(&path, None, None).unwrap_or_else(|e| panic!("verify: {e}"));
    let mut buffer = Vec::new();
    let read = read_log(&path, |record| {
        let profile = Profile::new(record.customer.clone(), record.input.as_ref().into());
        for abi in [Abi::V1, Abi::V2] {
            let _ = encode_for(abi, &mut buffer, record.as_of, "{}", &profile);
        }
    });
    match read {
        Ok(()) => {}
        Err(AuditError::Record { .. }) => {
            assert!(!report.intact(), "verify: intact, replay: {read:?}")
        }
        Err(other) => panic!("replay's reader: {other}"),
    }

    let archive = Archive::new(dir().join("archive"));
    let sha256 = archive
        .store(Kind::Params, log)
        .unwrap_or_else(|e| panic!("store: {e}"));
    assert_eq!(
        archive.read(Kind::Params, sha256).ok().as_deref(),
        Some(log)
    );
    let mut changed = log.to_vec();
    changed.push(b'\n');
    let entry = archive.path(Kind::Params, sha256);
    std::fs::write(&entry, &changed).unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
    assert!(archive.read(Kind::Params, sha256).is_err());
    let _ = std::fs::remove_file(&entry);
});
