//! `verdict test`: run TOML test cases against policies, like a test
//! runner: a line per case, what differed for a failed one, a tally.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use verdict::testcase;
use verdict_config::CaseFile;
use verdict_engine::Limits;

use crate::cli::TestArgs;
use crate::commands;
use crate::exit::Status;

/// Runs `verdict test`.
pub(crate) fn run(args: &TestArgs) -> anyhow::Result<Status> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from("policies")]
    } else {
        args.paths.clone()
    };
    let files = testcase::case_files(&paths)?;
    // Every file is read, and every policy and override checked, before any
    // case runs: bad input runs nothing.
    let cases = files
        .iter()
        .map(|path| CaseFile::load(path))
        .collect::<Result<Vec<_>, _>>()?;
    let sandbox = commands::sandbox(Limits::default())?;
    let mut plugins = HashMap::new();
    let suites = cases
        .iter()
        .map(|file| file.bind(&sandbox, &mut plugins))
        .collect::<Result<Vec<_>, _>>()?;

    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed) = (0usize, 0usize);
    for suite in &suites {
        let results = testcase::run(suite, args.filter.as_deref().unwrap_or(""));
        writeln!(
            out,
            "{}: {} {} against {} {}",
            suite.path.display(),
            results.len(),
            if results.len() == 1 { "case" } else { "cases" },
            suite.policy.name(),
            suite.policy.plugin().version()
        )?;
        for result in &results {
            if result.passed() {
                passed += 1;
                writeln!(out, "ok      {}", result.name)?;
            } else {
                failed += 1;
                writeln!(out, "FAILED  {}", result.name)?;
                write!(out, "{}", result.explain())?;
            }
        }
        writeln!(out)?;
    }
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok(if failed > 0 {
        Status::Failure
    } else {
        Status::Success
    })
}
