//! Running test cases for policies (`verdict test`): finding the case
//! files, deciding each case (read and bound by `verdict_config`'s
//! `CaseFile`) and explaining every difference from what it expects.
//!
//! The format is described in full in `plugin-sdk/README.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use verdict_config::{Expect, Suite, ValueExpect};
use verdict_engine::{DecisionRecord, Job};

/// Where `verdict test` looks for case files inside a directory, in order:
/// a plugin crate's `policies/tests`, a policies directory's `tests`.
const CASE_DIRS: [&str; 2] = ["policies/tests", "tests"];

/// What one case did.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Where the case starts, as `file:line:col`.
    pub location: String,
    /// The decision the policy made.
    pub record: DecisionRecord,
    /// Every way the decision differs from the expectation (none: passed).
    pub mismatches: Vec<Mismatch>,
}

/// One way a decision differs from what its case expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// Another outcome.
    Outcome {
        /// Expected.
        expected: String,
        /// Made.
        actual: String,
    },
    /// Other reason codes.
    Codes {
        /// Expected.
        expected: Vec<String>,
        /// Made.
        actual: Vec<String>,
    },
    /// Other values: one line per differing key.
    Value {
        /// Whether the expectation was exact (`value`) or a subset.
        exact: bool,
        /// The differences, in key order.
        lines: Vec<ValueLine>,
    },
    /// No reason message contains this text.
    Message(String),
}

/// One key of a value difference: what was expected and what came out
/// (`None`: the key is absent on that side).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueLine {
    /// The key.
    pub key: String,
    /// The expected value.
    pub expected: Option<Value>,
    /// The value the policy gave.
    pub actual: Option<Value>,
}

/// Runs the cases of `suite` whose name contains `filter` (every case when
/// it is empty), in file order.
#[must_use]
pub fn run(suite: &Suite, filter: &str) -> Vec<CaseResult> {
    suite
        .cases()
        .iter()
        .filter(|(case, _)| case.name.contains(filter))
        .map(|(case, policy)| {
            let record = policy.decide(Job {
                as_of: case.as_of,
                profile: &case.customer.profile,
            });
            CaseResult {
                name: case.name.clone(),
                location: case.location.clone(),
                mismatches: compare(&case.expect, &record),
                record,
            }
        })
        .collect()
}

impl CaseResult {
    /// Whether the decision is the one expected.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }

    /// Why the case failed, for people: where it is, each difference, and
    /// the reasons the policy gave. Lines end with a newline.
    #[must_use]
    pub fn explain(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "  --> {}", self.location);
        for mismatch in &self.mismatches {
            // Writing to a String cannot fail.
            let _ = match mismatch {
                Mismatch::Outcome { expected, actual } => {
                    writeln!(text, "  outcome: expected `{expected}`, got `{actual}`")
                }
                Mismatch::Codes { expected, actual } => writeln!(
                    text,
                    "  codes: expected [{}], got [{}]",
                    expected.join(", "),
                    actual.join(", ")
                ),
                Mismatch::Value { exact, lines } => {
                    let what = if *exact { "value" } else { "value_includes" };
                    let _ = writeln!(text, "  {what} (- expected, + actual):");
                    for line in lines {
                        for (sign, side) in [('-', &line.expected), ('+', &line.actual)] {
                            let _ = match side {
                                Some(value) => {
                                    writeln!(text, "    {sign} {} = {value}", line.key)
                                }
                                None => writeln!(text, "    {sign} {} (absent)", line.key),
                            };
                        }
                    }
                    Ok(())
                }
                Mismatch::Message(wanted) => writeln!(
                    text,
                    "  message_contains: no reason message contains {wanted:?}"
                ),
            };
        }
        if self.record.reasons().is_empty() {
            let _ = writeln!(text, "  reasons: (none)");
        } else {
            let _ = writeln!(text, "  reasons:");
            for reason in self.record.reasons() {
                let _ = writeln!(text, "    {}: {}", reason.code, reason.message);
            }
        }
        text
    }
}

/// Every difference between what `expect` says and the decision made.
#[must_use]
pub fn compare(expect: &Expect, record: &DecisionRecord) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    if expect.outcome != record.outcome().as_str() {
        mismatches.push(Mismatch::Outcome {
            expected: expect.outcome.clone(),
            actual: record.outcome().to_string(),
        });
    }
    let codes: Vec<String> = record.reasons().iter().map(|r| r.code.clone()).collect();
    if let Some(expected) = expect.codes.as_ref().filter(|e| **e != codes) {
        mismatches.push(Mismatch::Codes {
            expected: expected.clone(),
            actual: codes,
        });
    }
    if let Some(value) = &expect.value {
        let (expected, exact) = match value {
            ValueExpect::Exact(map) => (map, true),
            ValueExpect::Includes(map) => (map, false),
        };
        let mut keys: Vec<&String> = expected.keys().collect();
        if exact {
            keys.extend(record.value().keys().filter(|k| !expected.contains_key(*k)));
        }
        keys.sort();
        let lines: Vec<ValueLine> = keys
            .into_iter()
            .filter_map(|key| {
                let want = expected.get(key);
                let got = record.value().get(key);
                let same = match (want, got) {
                    (Some(want), Some(got)) => same_value(want, got),
                    _ => false,
                };
                (!same).then(|| ValueLine {
                    key: key.clone(),
                    expected: want.cloned(),
                    actual: got.cloned(),
                })
            })
            .collect();
        if !lines.is_empty() {
            mismatches.push(Mismatch::Value { exact, lines });
        }
    }
    for wanted in &expect.message_contains {
        if !record
            .reasons()
            .iter()
            .any(|r| r.message.contains(wanted.as_str()))
        {
            mismatches.push(Mismatch::Message(wanted.clone()));
        }
    }
    mismatches
}

/// JSON equality where numbers compare by value (`2000` = `2000.0`).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| same_value(x, y)))
        }
        _ => a == b,
    }
}

/// Why the case files to run could not be found.
#[derive(Debug, thiserror::Error)]
pub enum CaseFilesError {
    /// A path that does not exist.
    #[error("`{}` is neither a case file nor a directory", path.display())]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// A directory without case files.
    #[error("no case files (*.toml) in `{}`", dir.display())]
    Empty {
        /// The directory searched.
        dir: PathBuf,
    },
    /// A directory could not be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The case files `verdict test` runs for `paths`: a file is itself; a
/// directory holds them in `policies/tests/` (a plugin crate), `tests/` (a
/// policies directory), or else anywhere below it. Sorted, no repeats.
pub fn case_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CaseFilesError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
            continue;
        }
        if !path.is_dir() {
            return Err(CaseFilesError::NotFound { path: path.clone() });
        }
        let dir = CASE_DIRS
            .iter()
            .map(|sub| path.join(sub))
            .find(|dir| dir.is_dir())
            .unwrap_or_else(|| path.clone());
        let mut found = Vec::new();
        toml_files_under(&dir, &mut found)?;
        if found.is_empty() {
            return Err(CaseFilesError::Empty { dir });
        }
        found.sort();
        files.extend(found);
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|file| seen.insert(file.clone()));
    Ok(files)
}

/// Every `*.toml` below `dir`, skipping hidden folders and `target`.
fn toml_files_under(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), CaseFilesError> {
    let io = |source| CaseFilesError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let skip = name
            .as_deref()
            .is_none_or(|n| n.starts_with('.') || n == "target");
        if skip {
            continue;
        }
        if path.is_dir() {
            toml_files_under(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(outcome: &str, value: Value, codes: &[&str]) -> DecisionRecord {
        DecisionRecord::stored(
            "T-1".to_owned(),
            "p".into(),
            "1.0.0".into(),
            verdict_engine::Sha256::of(b""),
            verdict_sdk::Decision {
                outcome: outcome.to_owned(),
                value: value.as_object().cloned().unwrap_or_default(),
                reasons: codes
                    .iter()
                    .map(|code| verdict_sdk::Reason {
                        code: (*code).to_owned(),
                        message: format!("because {code}"),
                    })
                    .collect(),
            },
        )
    }

    fn expect(value: Option<ValueExpect>) -> Expect {
        Expect {
            outcome: "quote".to_owned(),
            codes: Some(vec!["rate-quoted".to_owned()]),
            value,
            message_contains: Vec::new(),
        }
    }

    #[test]
    fn numbers_compare_by_value_and_subsets_ignore_other_keys() {
        let actual = record(
            "quote",
            serde_json::json!({"limit_usd": 2000.0, "band": "18-24"}),
            &["rate-quoted"],
        );
        let includes = serde_json::json!({"limit_usd": 2000});
        let map = includes.as_object().cloned().unwrap_or_default();
        assert!(compare(&expect(Some(ValueExpect::Includes(map.clone()))), &actual).is_empty());
        let exact = compare(&expect(Some(ValueExpect::Exact(map))), &actual);
        assert_eq!(
            exact,
            vec![Mismatch::Value {
                exact: true,
                lines: vec![ValueLine {
                    key: "band".to_owned(),
                    expected: None,
                    actual: Some(Value::from("18-24")),
                }],
            }]
        );
    }

    #[test]
    fn a_failure_explains_every_difference() {
        let actual = record("deny", serde_json::json!({"rate": 3.15}), &["minor"]);
        let mut wanted = expect(Some(ValueExpect::Exact(
            serde_json::json!({"rate": 3.4})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        )));
        wanted.message_contains = vec!["zzz".to_owned()];
        let result = CaseResult {
            name: "x".to_owned(),
            location: "cases.toml:3:1".to_owned(),
            mismatches: compare(&wanted, &actual),
            record: actual,
        };
        assert!(!result.passed());
        assert_eq!(
            result.explain(),
            "  --> cases.toml:3:1\n\
             \x20 outcome: expected `quote`, got `deny`\n\
             \x20 codes: expected [rate-quoted], got [minor]\n\
             \x20 value (- expected, + actual):\n\
             \x20   - rate = 3.4\n\
             \x20   + rate = 3.15\n\
             \x20 message_contains: no reason message contains \"zzz\"\n\
             \x20 reasons:\n\
             \x20   minor: because minor\n"
        );
    }
}
