//! Test case files for policies (`verdict test`), read and checked: each
//! case a customer, an evaluation date, optional parameter overrides and
//! the expected decision; bound to the policy they test, ready to run.
//!
//! ```toml
//! binding = "../loan-rates.toml"   # or: plugin = "path/to/module.wasm"
//! as_of = 2026-11-23               # default date of every case
//!
//! [[case]]
//! name = "minor at 17"
//! customer = { id = "T-1", birth_date = 2008-11-24, loan_request = { type = "car" } }
//! params = { min_age = 18 }        # optional overrides, checked like a binding's
//! expect = { outcome = "deny", codes = ["minor"] }
//! ```
//!
//! The format is described in full in `plugin-sdk/README.md`.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::value::SeqAccessDeserializer;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use toml::Spanned;
use toml::de::DeValue;
use toml::value::Datetime;
use verdict_engine::{EngineError, ParamAt, ParamError, Plugin, Policy, Sandbox, is_kebab_case};
use verdict_sdk::Date;

use crate::binding::{Binding, ParamSite};
use crate::document::{self, Document, Table};
use crate::error::ConfigError;
use crate::profile::TomlProfile;

/// A case file, read and checked; nothing is loaded or run yet.
#[derive(Debug, Clone)]
pub struct CaseFile {
    doc: Document,
    subject: Subject,
    subject_span: Range<usize>,
    /// The cases, in file order.
    pub cases: Vec<Case>,
}

/// What the cases of a file run against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A binding file: its plugin and its parameters.
    Binding(PathBuf),
    /// A plugin module, with the parameter defaults it declares.
    Plugin(PathBuf),
}

/// One test case.
#[derive(Debug, Clone)]
pub struct Case {
    /// What the case is called; unique within its file.
    pub name: String,
    /// Where the case starts, as `file:line:col`.
    pub location: String,
    /// The evaluation date.
    pub as_of: Date,
    /// The customer, checked like an entry of a profiles file.
    pub customer: TomlProfile,
    /// Parameters replacing those of the binding (or the defaults).
    pub overrides: Map<String, Value>,
    /// What the decision must be.
    pub expect: Expect,
    index: usize,
}

/// What a case expects of the decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// The outcome word, exactly.
    pub outcome: String,
    /// The reason codes, exactly and in order, when given.
    pub codes: Option<Vec<String>>,
    /// What to compare the decision's value with, when given.
    pub value: Option<ValueExpect>,
    /// Texts that must each appear in some reason message.
    pub message_contains: Vec<String>,
}

/// How a case checks the decision's value (numbers compare by value, so
/// `2000` matches `2000.0`).
#[derive(Debug, Clone, PartialEq)]
pub enum ValueExpect {
    /// `value`: exactly these keys with these values.
    Exact(Map<String, Value>),
    /// `value_includes`: at least these keys with these values.
    Includes(Map<String, Value>),
}

/// A case file joined to its loaded policy: ready to run.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The case file.
    pub path: PathBuf,
    /// The policy as bound (before any case's overrides).
    pub policy: Arc<Policy>,
    runs: Vec<(Case, Arc<Policy>)>,
}

impl Suite {
    /// Each case with the policy it runs against (the bound policy with the
    /// case's overrides), in file order.
    #[must_use]
    pub fn cases(&self) -> &[(Case, Arc<Policy>)] {
        &self.runs
    }
}

impl CaseFile {
    /// Reads and checks a case file: its format, every customer (as a
    /// profiles file's), dates and expectations. Problems point into it.
    pub fn load(path: &Path) -> Result<CaseFile, ConfigError> {
        CaseFile::parse(Document::read(path)?)
    }

    /// Checks a case file's document.
    pub fn parse(doc: Document) -> Result<CaseFile, ConfigError> {
        let root = doc.parse()?;
        let file: CaseFileToml = doc.deserialize(&root)?;
        let (subject, subject_span) = match (file.binding, file.plugin) {
            (Some(_), Some(plugin)) => {
                return Err(doc.error(plugin.span(), "give `binding` or `plugin`, not both", ""));
            }
            (Some(binding), None) => (
                Subject::Binding(document::resolve(doc.path(), binding.get_ref())),
                binding.span(),
            ),
            (None, Some(plugin)) => (
                Subject::Plugin(document::resolve(doc.path(), plugin.get_ref())),
                plugin.span(),
            ),
            (None, None) => {
                return Err(doc.error(
                    0..0,
                    "a case file names the policy it tests",
                    "add `binding = \"../my-policy.toml\"` (a binding, relative to this file) \
                     or `plugin = \"my_policy.wasm\"` (a module with its default parameters)",
                ));
            }
        };
        let as_of = file.as_of.map(|as_of| date(&doc, &as_of)).transpose()?;
        let Some(entries) = file.case else {
            return Err(doc.error(
                0..0,
                "a case file holds at least one case",
                "add a `[[case]]` table",
            ));
        };
        let mut cases: Vec<Case> = Vec::with_capacity(entries.len());
        for (index, entry) in entries.into_iter().enumerate() {
            let (case, name_span) = parse_case(&doc, root.get_ref(), index, entry, as_of)?;
            if let Some(first) = cases.iter().find(|c| c.name == case.name) {
                return Err(doc.error(
                    name_span,
                    format!("duplicate case name `{}`", case.name),
                    &format!("already used at {}", first.location),
                ));
            }
            cases.push(case);
        }
        Ok(CaseFile {
            subject,
            subject_span,
            cases,
            doc: doc.clone(),
        })
    }

    /// The file the cases came from.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.doc.path()
    }

    /// What the cases run against.
    #[must_use]
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// Loads the binding or plugin and checks every case's overrides;
    /// `plugins` keeps modules already compiled, by path, for the next
    /// file.
    pub fn bind(
        &self,
        sandbox: &Sandbox,
        plugins: &mut HashMap<PathBuf, Plugin>,
    ) -> Result<Suite, ConfigError> {
        let policy = match &self.subject {
            Subject::Binding(path) => {
                if !path.is_file() {
                    return Err(self.doc.error(
                        self.subject_span.clone(),
                        format!("binding `{}` does not exist", path.display()),
                        "a path relative to this file",
                    ));
                }
                let binding = Binding::load(path)?;
                let plugin =
                    load_plugin(sandbox, plugins, &binding.plugin).map_err(
                        |error| match error {
                            LoadError::Missing => binding.plugin_problem(
                                format!("plugin `{}` does not exist", binding.plugin.display()),
                                NOT_BUILT,
                            ),
                            LoadError::Refused(error) => binding.plugin_error(error),
                        },
                    )?;
                binding.with_plugin(plugin)?
            }
            Subject::Plugin(path) => {
                let plugin = load_plugin(sandbox, plugins, path).map_err(|error| match error {
                    LoadError::Missing => self.doc.error(
                        self.subject_span.clone(),
                        format!("plugin `{}` does not exist", path.display()),
                        NOT_BUILT,
                    ),
                    LoadError::Refused(error) => self.doc.refused(self.subject_span.clone(), error),
                })?;
                let site = AtSpan {
                    doc: &self.doc,
                    span: self.subject_span.clone(),
                };
                Policy::with_defaults(plugin, self.path()).map_err(|e| site.param_error(e))?
            }
        };
        let policy = Arc::new(policy);
        let mut runs = Vec::with_capacity(self.cases.len());
        for case in &self.cases {
            let case_policy = if case.overrides.is_empty() {
                Arc::clone(&policy)
            } else {
                let site = CaseParams {
                    doc: &self.doc,
                    index: case.index,
                };
                Arc::new(
                    policy
                        .with_overrides(&case.overrides)
                        .map_err(|e| site.param_error(e))?,
                )
            };
            runs.push((case.clone(), case_policy));
        }
        Ok(Suite {
            path: self.path().to_path_buf(),
            policy,
            runs,
        })
    }
}

const NOT_BUILT: &str = "build it first: `verdict build CRATE_DIR` for a plugin crate, \
                         `cargo plugins` for the reference plugins";

enum LoadError {
    Missing,
    Refused(EngineError),
}

fn load_plugin(
    sandbox: &Sandbox,
    plugins: &mut HashMap<PathBuf, Plugin>,
    path: &Path,
) -> Result<Plugin, LoadError> {
    if let Some(plugin) = plugins.get(path) {
        return Ok(plugin.clone());
    }
    if !path.is_file() {
        return Err(LoadError::Missing);
    }
    let plugin = Plugin::load(sandbox, path).map_err(LoadError::Refused)?;
    plugins.insert(path.to_path_buf(), plugin.clone());
    Ok(plugin)
}

/// A case file as written, checked by serde: no unknown keys anywhere in
/// the schema, and every value of the type it must have. Missing keys are
/// reported by [`CaseFile::parse`] and [`parse_case`], at the table that
/// lacks them, with what to add.
///
/// Customers, parameters and value expectations are free-form TOML: they
/// are only admitted here (as `IgnoredAny`) and read from the parsed tree,
/// where every value keeps its span: `TomlProfile::from_toml` checks a
/// customer there with the checks of a profiles file, `table_to_json` turns
/// dates into strings, and a parameter problem is located by path.
/// Serde's data model keeps neither the spans inside a value nor TOML dates.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFileToml {
    binding: Option<Spanned<String>>,
    plugin: Option<Spanned<String>>,
    as_of: Option<Spanned<Datetime>>,
    case: Option<Vec<Spanned<CaseToml>>>,
}

/// A `[[case]]` table (see [`CaseFileToml`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct CaseToml {
    name: Option<Spanned<String>>,
    as_of: Option<Spanned<Datetime>>,
    #[serde(rename = "customer")]
    _customer: Option<IgnoredAny>,
    #[serde(rename = "params")]
    _params: Option<IgnoredAny>,
    expect: Option<Spanned<ExpectToml>>,
}

/// A case's `expect` table (see [`CaseFileToml`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct ExpectToml {
    outcome: Option<Spanned<String>>,
    codes: Option<Vec<String>>,
    #[serde(rename = "value")]
    _value: Option<IgnoredAny>,
    #[serde(rename = "value_includes")]
    _value_includes: Option<IgnoredAny>,
    message_contains: Option<Texts>,
}

/// `message_contains`: one text, or a list of them.
#[derive(Debug)]
struct Texts(Vec<String>);

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Texts, D::Error> {
        struct OneOrMany;
        impl<'de> Visitor<'de> for OneOrMany {
            type Value = Texts;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a string or a list of strings")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Texts, E> {
                Ok(Texts(vec![text.to_owned()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, texts: A) -> Result<Texts, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(texts)).map(Texts)
            }
        }
        deserializer.deserialize_any(OneOrMany)
    }
}

/// A free-form value of case `index` (see [`CaseFileToml`]): `path` under
/// its table, such as `customer` or `expect.value`.
fn free<'a, 'de>(
    root: &'a Table<'de>,
    index: usize,
    path: &str,
) -> Option<&'a Spanned<DeValue<'de>>> {
    document::lookup(root, &format!("case[{index}].{path}"))
}

fn date(doc: &Document, value: &Spanned<Datetime>) -> Result<Date, ConfigError> {
    document::local_date_of(value.get_ref()).ok_or_else(|| {
        doc.error(
            value.span(),
            "`as_of` must be a date such as 2026-11-23",
            &format!("found {}", value.get_ref()),
        )
    })
}

fn table<'a, 'de>(
    doc: &Document,
    value: &'a Spanned<DeValue<'de>>,
    key: &str,
) -> Result<&'a Table<'de>, ConfigError> {
    value.get_ref().as_table().ok_or_else(|| {
        doc.error(
            value.span(),
            format!("`{key}` must be a table"),
            &format!("found {}", value.get_ref().type_str()),
        )
    })
}

/// A case, checked; with the span of its name.
fn parse_case(
    doc: &Document,
    root: &Table<'_>,
    index: usize,
    entry: Spanned<CaseToml>,
    file_as_of: Option<Date>,
) -> Result<(Case, Range<usize>), ConfigError> {
    let span = entry.span();
    let (line, col) = doc.line_col(span.start);
    let location = format!("{}:{line}:{col}", doc.path().display());
    let case = entry.into_inner();
    let missing =
        |key: &str, hint: &str| doc.error(span.clone(), format!("case lacks `{key}`"), hint);
    let name = case
        .name
        .ok_or_else(|| missing("name", "add `name = \"what this case shows\"`"))?;
    if name.get_ref().trim().is_empty() {
        return Err(doc.error(name.span(), "`name` must not be empty", ""));
    }
    let as_of = match case.as_of {
        Some(value) => date(doc, &value)?,
        None => file_as_of.ok_or_else(|| {
            missing(
                "as_of",
                "add `as_of = 2026-11-23` to the case, or once at the top of the file",
            )
        })?,
    };
    let customer_value = free(root, index, "customer").ok_or_else(|| {
        missing(
            "customer",
            "add `customer = { id = \"T-1\", birth_date = 1990-01-01 }`",
        )
    })?;
    let customer = TomlProfile::from_toml(doc, customer_value)?;
    customer.check_born_by(doc, as_of)?;
    let overrides = match free(root, index, "params") {
        Some(value) => document::table_to_json(table(doc, value, "params")?)
            .map_err(|problem| doc.no_json(problem))?,
        None => Map::new(),
    };
    let expect = case.expect.ok_or_else(|| {
        missing(
            "expect",
            "add `expect = { outcome = \"approve\" }` or an `[case.expect]` table",
        )
    })?;
    let expect = parse_expect(doc, root, index, expect)?;
    let (name_span, name) = (name.span(), name.into_inner());
    Ok((
        Case {
            name,
            location,
            as_of,
            customer,
            overrides,
            expect,
            index,
        },
        name_span,
    ))
}

/// The expectation of case `index`, checked.
fn parse_expect(
    doc: &Document,
    root: &Table<'_>,
    index: usize,
    expect: Spanned<ExpectToml>,
) -> Result<Expect, ConfigError> {
    let span = expect.span();
    let expect = expect.into_inner();
    let outcome = expect.outcome.ok_or_else(|| {
        doc.error(
            span,
            "`expect` lacks `outcome`",
            "add `outcome = \"approve\"` (the outcome word the policy must give)",
        )
    })?;
    if !is_kebab_case(outcome.get_ref()) {
        return Err(doc.error(
            outcome.span(),
            "`outcome` must be a kebab-case word such as `approve` or `not-applicable`",
            "",
        ));
    }
    let value = match (
        free(root, index, "expect.value"),
        free(root, index, "expect.value_includes"),
    ) {
        (Some(_), Some(includes)) => {
            return Err(doc.error(
                includes.span(),
                "give `value` (exact) or `value_includes` (a subset), not both",
                "",
            ));
        }
        (Some(exact), None) => Some(ValueExpect::Exact(json_table(doc, exact, "value")?)),
        (None, Some(includes)) => Some(ValueExpect::Includes(json_table(
            doc,
            includes,
            "value_includes",
        )?)),
        (None, None) => None,
    };
    Ok(Expect {
        outcome: outcome.into_inner(),
        codes: expect.codes,
        value,
        message_contains: expect
            .message_contains
            .map_or_else(Vec::new, |texts| texts.0),
    })
}

/// A value expectation: a table, or a string holding a JSON object for
/// values TOML cannot write (`null`).
fn json_table(
    doc: &Document,
    value: &Spanned<DeValue<'_>>,
    key: &str,
) -> Result<Map<String, Value>, ConfigError> {
    if let Some(json) = value.get_ref().as_str() {
        return serde_json::from_str(json).map_err(|e| {
            doc.error(
                value.span(),
                format!("`{key}` is neither a table nor a JSON object: {e}"),
                "such as '{\"stage\": null}'",
            )
        });
    }
    let table = value.get_ref().as_table().ok_or_else(|| {
        doc.error(
            value.span(),
            format!("`{key}` must be a table, or a JSON object in a string"),
            &format!("found {}", value.get_ref().type_str()),
        )
    })?;
    document::table_to_json(table).map_err(|problem| doc.no_json(problem))
}

/// A case's `params` table, where its overrides' problems are reported.
struct CaseParams<'a> {
    doc: &'a Document,
    index: usize,
}

impl CaseParams<'_> {
    fn span(&self, path: &str, key_only: bool) -> Range<usize> {
        let Ok(root) = self.doc.parse() else {
            return 0..0;
        };
        let Some(params) = free(root.get_ref(), self.index, "params") else {
            let case = document::lookup(root.get_ref(), &format!("case[{}]", self.index));
            return case.map_or(0..0, Spanned::span);
        };
        if key_only {
            return params
                .get_ref()
                .as_table()
                .and_then(|t| document::key_span(t, path))
                .unwrap_or_else(|| params.span());
        }
        document::locate(params, path)
    }
}

impl ParamSite for CaseParams<'_> {
    fn param_error(&self, error: ParamError) -> ConfigError {
        let span = match &error.at {
            ParamAt::Key(name) => self.span(name, true),
            ParamAt::Value(path) => self.span(path, false),
            // The whole set, or a place this version does not know.
            _ => self.span("", false),
        };
        self.doc.error(span, error.message, &error.hint)
    }
}

/// Reports every parameter problem at one place (the `plugin = ...` line
/// of a case file whose module's own defaults fail its check).
struct AtSpan<'a> {
    doc: &'a Document,
    span: Range<usize>,
}

impl ParamSite for AtSpan<'_> {
    fn param_error(&self, error: ParamError) -> ConfigError {
        self.doc
            .error(self.span.clone(), error.message, &error.hint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CaseFile, ConfigError> {
        CaseFile::parse(Document::from_text(Path::new("cases.toml"), text))
    }

    fn problem(text: &str) -> String {
        match parse(text) {
            Ok(_) => String::from("(parsed)"),
            Err(error) => error.to_string(),
        }
    }

    const CASE: &str = r#"
binding = "../loan-rates.toml"
as_of = 2026-11-23

[[case]]
name = "minor"
customer = { id = "T-1", birth_date = 2008-11-24, loan_request = { type = "car" } }
params = { min_age = 17 }
expect = { outcome = "deny", codes = ["minor"], message_contains = "18" }

[[case]]
name = "quote"
as_of = 2027-01-01
[case.customer]
id = "T-2"
birth_date = 1990-01-01
[case.expect]
outcome = "quote"
value_includes = { age_band = "35-49" }

[[case]]
name = "json"
customer = { id = "T-3", birth_date = 1990-01-01 }
expect = { outcome = "none", value = '{"stage": null, "products": []}' }
"#;

    #[test]
    fn parses_cases() {
        let file = parse(CASE).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            file.subject(),
            &Subject::Binding(PathBuf::from("../loan-rates.toml"))
        );
        assert_eq!(file.cases.len(), 3);
        let minor = &file.cases[0];
        assert_eq!(minor.name, "minor");
        assert_eq!(minor.location, "cases.toml:5:1");
        assert_eq!(minor.as_of.to_string(), "2026-11-23");
        assert_eq!(minor.overrides.get("min_age"), Some(&Value::from(17)));
        assert_eq!(minor.expect.codes, Some(vec!["minor".to_owned()]));
        assert_eq!(minor.expect.message_contains, vec!["18".to_owned()]);
        let quote = &file.cases[1];
        assert_eq!(quote.as_of.to_string(), "2027-01-01");
        assert_eq!(quote.customer.profile.id(), "T-2");
        assert!(matches!(quote.expect.value, Some(ValueExpect::Includes(_))));
        let json = serde_json::json!({"stage": null, "products": []});
        assert_eq!(
            file.cases[2].expect.value,
            Some(ValueExpect::Exact(
                json.as_object().cloned().unwrap_or_default()
            ))
        );
    }

    #[test]
    fn refuses_bad_files_at_their_line() {
        let cases = [
            ("[[case]]\nname = \"x\"\n", "names the policy it tests"),
            ("plugin = \"a.wasm\"\n", "at least one case"),
            (
                "plugin = \"a.wasm\"\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\nexpect = { outcome = \"ok\" }\n",
                "cases.toml:2:1: case lacks `as_of`",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = \"2000-01-01\" }\nexpect = { outcome = \"ok\" }\n",
                "cases.toml:5:37: `birth_date` in customer must be a date",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2021-01-01 }\nexpect = { outcome = \"ok\" }\n",
                "after the evaluation date",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\nexpect = { outcome = \"ok\", valeu = {} }\n",
                "cases.toml:6:28: `case[0].expect`: unknown field `valeu`, expected one of \
                 `outcome`, `codes`, `value`, `value_includes`, `message_contains`",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = 3\n",
                "cases.toml:4:8: `case[0].name`: invalid type: integer `3`, expected a string",
            ),
            (
                "plugin = \"a.wasm\"\ncase = [1]\n",
                "cases.toml:2:9: `case[0]`: invalid type: integer `1`, expected a table",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = \"2020-01-01\"\n[[case]]\nname = \"x\"\n",
                "cases.toml:2:9: `as_of`: invalid type: string \"2020-01-01\", expected a TOML datetime",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01T10:00:00\n[[case]]\nname = \"x\"\n",
                "cases.toml:2:9: `as_of` must be a date such as 2026-11-23",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\n[case.expect]\noutcome = \"ok\"\nmessage_contains = [\"a\", 3]\n",
                "cases.toml:8:26: `case[0].expect.message_contains[1]`: invalid type: integer `3`, expected a string",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\nexpect = { outcome = \"ok\", message_contains = 3 }\n",
                "cases.toml:6:47: `case[0].expect.message_contains`: invalid type: integer `3`, \
                 expected a string or a list of strings",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\nexpect = { codes = [\"c\"] }\n",
                "cases.toml:6:10: `expect` lacks `outcome`",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\nexpect = { outcome = \"ok\" }\n[[case]]\nname = \"y\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\n",
                "cases.toml:7:1: case lacks `expect`",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\nparams = 3\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\nexpect = { outcome = \"ok\" }\n",
                "cases.toml:5:10: `params` must be a table",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\nexpect = { outcome = \"ok\", value = {}, value_includes = {} }\n",
                "cases.toml:6:57: give `value` (exact) or `value_includes` (a subset), not both",
            ),
            (
                "plugin = \"a.wasm\"\nas_of = 2020-01-01\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\nexpect = { outcome = \"ok\" }\n[[case]]\nname = \"x\"\ncustomer = { id = \"a\", birth_date = 2000-01-01 }\nexpect = { outcome = \"ok\" }\n",
                "cases.toml:8:8: duplicate case name `x`",
            ),
        ];
        for (text, wanted) in cases {
            let problem = problem(text);
            assert!(problem.contains(wanted), "{problem:?} lacks {wanted:?}");
        }
    }
}
