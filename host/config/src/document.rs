//! TOML files the user wrote, parsed with byte spans so every problem can be
//! reported at its file, line and column; and the conversion of TOML values
//! to the JSON the plugins read.

use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Number, Value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};
use toml::value::Datetime;
use verdict_engine::{EngineError, chain_text};
use verdict_sdk::Date;

use crate::diagnostic::Diagnostic;
use crate::error::ConfigError;

/// A TOML file's path and text.
#[derive(Debug, Clone)]
pub struct Document {
    path: PathBuf,
    text: Arc<str>,
}

/// A parsed TOML table whose keys and values carry their spans.
pub(crate) type Table<'a> = DeTable<'a>;

impl Document {
    /// Reads a file. A UTF-8 byte order mark at its start is dropped (it
    /// is no text, and would shift every column of line 1); bytes that are
    /// not UTF-8 are refused at the line and column of the first of them.
    pub fn read(path: &Path) -> Result<Document, ConfigError> {
        let bytes = std::fs::read(path).map_err(ConfigError::io(path))?;
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Document::from_text(path, text)),
            Err(error) => {
                // The valid part, with the first bad bytes replaced, to
                // point into: the offsets of the valid part are unchanged.
                let at = error.valid_up_to();
                let bad = bytes.get(at).copied().unwrap_or_default();
                let text = String::from_utf8_lossy(bytes);
                let shown = Document::from_text(path, text.as_ref());
                Err(shown.error(
                    at..at + char::REPLACEMENT_CHARACTER.len_utf8(),
                    "the file is not UTF-8 text: save it as UTF-8",
                    &format!("byte 0x{bad:02X} is not UTF-8 here"),
                ))
            }
        }
    }

    /// A document from text already in memory (`path` names it in errors).
    #[must_use]
    pub fn from_text(path: &Path, text: impl Into<Arc<str>>) -> Document {
        Document {
            path: path.to_path_buf(),
            text: text.into(),
        }
    }

    /// Where the document came from.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The document's text.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// One-based line and column of byte `offset`.
    #[must_use]
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        crate::diagnostic::line_col(&self.text, offset)
    }

    /// Parses the whole document as a table.
    pub(crate) fn parse(&self) -> Result<Spanned<Table<'_>>, ConfigError> {
        DeTable::parse(&self.text).map_err(|error| {
            let span = error.span().unwrap_or(0..0);
            self.error(span, error.message().trim_end().to_owned(), "")
        })
    }

    /// Reads `root`, this document as [`parse`](Document::parse)d, into
    /// the serde schema `T` (structs with `#[serde(deny_unknown_fields)]`
    /// whose values are [`Spanned`] where a later check points at them).
    /// A problem serde finds, an unknown key or a value of the wrong type,
    /// is reported at its place and prefixed with the path (as in
    /// [`locate`]) of the value, or of the table holding the key, such as
    /// `` `case[1].expect`: unknown field `outcom`, expected one of ... ``.
    /// Reading the tree rather than the text parses the file once, and
    /// leaves the tree for what a schema cannot hold: free-form values
    /// (customers, parameters), whose inner spans and TOML dates serde's
    /// data model drops.
    pub(crate) fn deserialize<'de, T: Deserialize<'de>>(
        &self,
        root: &Spanned<Table<'de>>,
    ) -> Result<T, ConfigError> {
        T::deserialize(toml::Deserializer::from(root.clone())).map_err(|error| {
            let span = error.span().unwrap_or(0..0);
            let message = error.message().trim_end();
            let message = match path_at(root.get_ref(), &span, "") {
                Some(path) if !path.is_empty() => format!("`{path}`: {message}"),
                _ => message.to_owned(),
            };
            self.error(span, message, "")
        })
    }

    /// The engine's refusal of the module named at `span` (the location
    /// already names the file, so the message leaves the path out).
    pub(crate) fn refused(&self, span: Range<usize>, error: EngineError) -> ConfigError {
        let message = match &error {
            EngineError::Plugin { problem, .. } => {
                format!("plugin refused: {}", chain_text(problem))
            }
            other => chain_text(other),
        };
        let ConfigError::Diagnostic(diagnostic) = self.error(span, message, "") else {
            return ConfigError::Engine(error);
        };
        ConfigError::Refused { diagnostic, error }
    }

    /// A problem at `span` of this document.
    #[must_use]
    pub fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        label: &str,
    ) -> ConfigError {
        ConfigError::Diagnostic(Box::new(Diagnostic::new(
            &self.path,
            Arc::clone(&self.text),
            span,
            message,
            label,
        )))
    }

    /// Rejects any key of `table` not in `known`, naming the known ones.
    pub(crate) fn deny_unknown_keys(
        &self,
        table: &Table<'_>,
        known: &[&str],
        what: &str,
    ) -> Result<(), ConfigError> {
        match table
            .iter()
            .find(|(key, _)| !known.contains(&key.get_ref().as_ref()))
        {
            Some((key, _)) => Err(self.error(
                key.span(),
                format!("unknown key `{}` in {what}", key.get_ref()),
                &format!("expected one of: {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

/// The span of a key (for "unknown key" style errors) in a table.
#[must_use]
pub(crate) fn key_span(table: &Table<'_>, key: &str) -> Option<Range<usize>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(k, _)| k.span())
}

/// The path `written` in the file at `file`: relative paths are taken from
/// the file's directory, and `.` and `..` steps are resolved lexically
/// (symbolic links untouched), so messages show a clean path.
#[must_use]
pub(crate) fn resolve(file: &Path, written: &str) -> PathBuf {
    let base = file.parent().unwrap_or(Path::new(""));
    normalize(&base.join(written))
}

/// `path` with `.` and `..` steps resolved lexically (symbolic links
/// untouched); a `..` that would climb above a relative path's start stays.
#[must_use]
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// A TOML local date (no time, no offset), such as `2026-11-23`.
#[must_use]
pub(crate) fn local_date(value: &DeValue<'_>) -> Option<Date> {
    value.as_datetime().and_then(local_date_of)
}

/// The date of a TOML date-time that is a local date (no time, no
/// offset), such as `2026-11-23`: what a schema's [`Datetime`] field holds.
#[must_use]
pub(crate) fn local_date_of(datetime: &Datetime) -> Option<Date> {
    match (datetime.date, datetime.time, datetime.offset) {
        (Some(date), None, None) => Date::new(i32::from(date.year), date.month, date.day).ok(),
        _ => None,
    }
}

/// The span of the value at `path` under `value` (`name`, then `.field`
/// and `[index]` steps, as in `surcharge_bands[2].min_age`): as deep as the
/// path leads, so a path that goes nowhere still points at `value`.
#[must_use]
pub(crate) fn locate(value: &Spanned<DeValue<'_>>, path: &str) -> Range<usize> {
    let mut current = value;
    for step in path_steps(path) {
        match step.of(current) {
            Some(value) => current = value,
            None => break,
        }
    }
    current.span()
}

/// The value at `path` (as in [`locate`], such as `case[2].customer`) in
/// `table`, when the path leads to one.
#[must_use]
pub(crate) fn lookup<'a, 'de>(
    table: &'a Table<'de>,
    path: &str,
) -> Option<&'a Spanned<DeValue<'de>>> {
    let mut steps = path_steps(path).into_iter();
    let Some(Step::Key(first)) = steps.next() else {
        return None;
    };
    steps.try_fold(table.get(first)?, |value, step| step.of(value))
}

/// Where `span` is under `table`, whose path is `prefix`: the path (as in
/// [`locate`]) of the value with that span, or of the table holding the key
/// with that span (`""`: the root table); `None` when nothing has it.
fn path_at(table: &Table<'_>, span: &Range<usize>, prefix: &str) -> Option<String> {
    table.iter().find_map(|(key, value)| {
        if key.span() == *span {
            return Some(prefix.to_owned());
        }
        let path = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        value_path_at(value, span, path)
    })
}

/// [`path_at`] for a value whose path is `path`.
fn value_path_at(
    value: &Spanned<DeValue<'_>>,
    span: &Range<usize>,
    path: String,
) -> Option<String> {
    if value.span() == *span {
        return Some(path);
    }
    match value.get_ref() {
        DeValue::Table(table) => path_at(table, span, &path),
        DeValue::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| value_path_at(item, span, format!("{path}[{index}]"))),
        _ => None,
    }
}

enum Step<'p> {
    Key(&'p str),
    Index(usize),
}

impl Step<'_> {
    /// The value this step leads to from `value`.
    fn of<'a, 'de>(&self, value: &'a Spanned<DeValue<'de>>) -> Option<&'a Spanned<DeValue<'de>>> {
        match *self {
            Step::Key(key) => value.get_ref().as_table()?.get(key),
            Step::Index(index) => value.get_ref().as_array()?.get(index),
        }
    }
}

/// Splits `bands[2].min_age` into `bands`, `2`, `min_age`.
fn path_steps(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
            steps.push(Step::Key(key));
        }
        steps.extend(
            pieces
                .filter_map(|p| p.trim_end_matches(']').parse().ok())
                .map(Step::Index),
        );
    }
    steps
}

/// A TOML value with no JSON form, and where it is.
#[derive(Debug)]
pub(crate) struct NoJson {
    /// The value's span.
    pub(crate) span: Range<usize>,
    /// Why it has none.
    pub(crate) message: String,
}

impl Document {
    /// The problem of a value with no JSON form, at its place.
    pub(crate) fn no_json(&self, problem: NoJson) -> ConfigError {
        self.error(problem.span, problem.message, "")
    }
}

/// Converts a TOML value to JSON: local dates become `"YYYY-MM-DD"`, other
/// date-times their RFC 3339 text; non-finite floats have no JSON form and
/// are refused with the span of the offending value.
pub(crate) fn to_json(value: &Spanned<DeValue<'_>>) -> Result<Value, NoJson> {
    Ok(match value.get_ref() {
        DeValue::String(text) => Value::String(text.to_string()),
        DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix())
            .map(Value::from)
            .map_err(|_| NoJson {
                span: value.span(),
                message: "integer does not fit in 64 bits".to_owned(),
            })?,
        DeValue::Float(float) => float
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| NoJson {
                span: value.span(),
                message: format!("`{float}` has no JSON form; use a finite number"),
            })?,
        DeValue::Boolean(flag) => Value::Bool(*flag),
        DeValue::Datetime(datetime) => Value::String(datetime.to_string()),
        DeValue::Array(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        DeValue::Table(table) => Value::Object(table_to_json(table)?),
    })
}

/// Converts a TOML table to a JSON object (see `to_json`).
pub(crate) fn table_to_json(table: &Table<'_>) -> Result<Map<String, Value>, NoJson> {
    table
        .iter()
        .map(|(key, value)| Ok((key.get_ref().to_string(), to_json(value)?)))
        .collect()
}
