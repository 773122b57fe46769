//! How a policy declares its parameters: types, ranges, descriptions.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A policy's parameter set.
///
/// `Default` gives the shipped defaults; [`Params::schema`] declares each
/// top-level parameter so the host can check a binding before it is used;
/// [`Params::validate`] checks what a schema cannot say (for example that
/// age bands have no gaps). Deriving `Deserialize` with
/// `#[serde(deny_unknown_fields)]` is recommended.
pub trait Params: Serialize + DeserializeOwned + Default {
    /// One entry per top-level parameter.
    fn schema() -> Vec<ParamSpec>;

    /// Checks rules across values; every problem names the path of the
    /// value at fault, such as `surcharge_bands[2].min_age`.
    fn validate(&self) -> Result<(), Vec<ParamError>> {
        Ok(())
    }
}

/// The type of a parameter's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamKind {
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// Text.
    String,
    /// `true` or `false`.
    Bool,
    /// A table (JSON object); its entries are checked by `validate`.
    Table,
    /// A list (JSON array); its items are checked by `validate`.
    List,
}

impl ParamKind {
    /// Whether a JSON value is of this kind.
    #[must_use]
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            ParamKind::Number => value.is_number(),
            ParamKind::Integer => value.is_i64() || value.is_u64(),
            ParamKind::String => value.is_string(),
            ParamKind::Bool => value.is_boolean(),
            ParamKind::Table => value.is_object(),
            ParamKind::List => value.is_array(),
        }
    }

    /// The word for this kind, as written in schemas.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ParamKind::Number => "number",
            ParamKind::Integer => "integer",
            ParamKind::String => "string",
            ParamKind::Bool => "bool",
            ParamKind::Table => "table",
            ParamKind::List => "list",
        }
    }
}

/// The declaration of one top-level parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    /// The key in a binding's `[params]` table.
    pub name: String,
    /// The type of its value.
    #[serde(rename = "type")]
    pub kind: ParamKind,
    /// What it means, for `verdict inspect` and error messages.
    pub description: String,
    /// Smallest allowed value (numbers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest allowed value (numbers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The shipped default; filled in from the `Default` of the parameters.
    #[serde(default)]
    pub default: Value,
}

impl ParamSpec {
    /// A parameter of any kind.
    #[must_use]
    pub fn new(name: &str, kind: ParamKind, description: &str) -> ParamSpec {
        ParamSpec {
            name: name.to_owned(),
            kind,
            description: description.to_owned(),
            min: None,
            max: None,
            default: Value::Null,
        }
    }

    /// A number parameter.
    #[must_use]
    pub fn number(name: &str, description: &str) -> ParamSpec {
        ParamSpec::new(name, ParamKind::Number, description)
    }

    /// A whole-number parameter.
    #[must_use]
    pub fn integer(name: &str, description: &str) -> ParamSpec {
        ParamSpec::new(name, ParamKind::Integer, description)
    }

    /// A table parameter.
    #[must_use]
    pub fn table(name: &str, description: &str) -> ParamSpec {
        ParamSpec::new(name, ParamKind::Table, description)
    }

    /// A list parameter.
    #[must_use]
    pub fn list(name: &str, description: &str) -> ParamSpec {
        ParamSpec::new(name, ParamKind::List, description)
    }

    /// Sets the smallest allowed value.
    #[must_use]
    pub fn min(mut self, min: f64) -> ParamSpec {
        self.min = Some(min);
        self
    }

    /// Sets the largest allowed value.
    #[must_use]
    pub fn max(mut self, max: f64) -> ParamSpec {
        self.max = Some(max);
        self
    }

    /// Checks one value against this declaration: its kind and range.
    pub fn check(&self, value: &Value) -> Result<(), ParamValueError> {
        if !self.kind.accepts(value) {
            let found = match value {
                Value::Null => "null".to_owned(),
                Value::Bool(_) => "a boolean".to_owned(),
                Value::Number(number) => number.to_string(),
                Value::String(_) => "a string".to_owned(),
                Value::Array(_) => "a list".to_owned(),
                Value::Object(_) => "a table".to_owned(),
            };
            return Err(ParamValueError::WrongKind {
                name: self.name.clone(),
                expected: self.kind,
                found,
            });
        }
        if let Some(value) = value.as_f64() {
            if let Some(min) = self.min.filter(|min| value < *min) {
                return Err(ParamValueError::BelowMin {
                    name: self.name.clone(),
                    min,
                    value,
                });
            }
            if let Some(max) = self.max.filter(|max| value > *max) {
                return Err(ParamValueError::AboveMax {
                    name: self.name.clone(),
                    max,
                    value,
                });
            }
        }
        Ok(())
    }
}

/// Why a value does not fit its [`ParamSpec`]; displays as the message the
/// host reports, such as ``"`min_age` must be at least 0, not -1"``.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ParamValueError {
    /// The value is not of the declared kind.
    WrongKind {
        /// The parameter.
        name: String,
        /// The kind it is declared with.
        expected: ParamKind,
        /// What the value is, in words (`null`, `a string`, `a table`), or
        /// the number itself.
        found: String,
    },
    /// A number below the declared minimum.
    BelowMin {
        /// The parameter.
        name: String,
        /// The smallest allowed value.
        min: f64,
        /// The value given.
        value: f64,
    },
    /// A number above the declared maximum.
    AboveMax {
        /// The parameter.
        name: String,
        /// The largest allowed value.
        max: f64,
        /// The value given.
        value: f64,
    },
}

impl fmt::Display for ParamValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValueError::WrongKind {
                name,
                expected,
                found,
            } => {
                let expected = match expected {
                    ParamKind::Integer => "an integer",
                    ParamKind::Number => "a number",
                    ParamKind::String => "a string",
                    ParamKind::Bool => "a boolean (true or false)",
                    ParamKind::Table => "a table",
                    ParamKind::List => "a list",
                };
                write!(f, "`{name}` must be {expected}, not {found}")
            }
            ParamValueError::BelowMin { name, min, value } => {
                write!(f, "`{name}` must be at least {min}, not {value}")
            }
            ParamValueError::AboveMax { name, max, value } => {
                write!(f, "`{name}` must be at most {max}, not {value}")
            }
        }
    }
}

impl std::error::Error for ParamValueError {}

/// One problem with a parameter value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamError {
    /// Where: a parameter name, then `.field` and `[index]` steps.
    pub path: String,
    /// What is wrong, and what was expected.
    pub message: String,
}

impl ParamError {
    /// A problem at `path`.
    #[must_use]
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ParamError {
        ParamError {
            path: path.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn check_says_what_was_expected_and_found() {
        let age = ParamSpec::integer("min_age", "youngest age").min(0.0);
        assert_eq!(age.check(&json!(18)).map_err(|e| e.to_string()), Ok(()));
        assert_eq!(
            age.check(&json!("18")).map_err(|e| e.to_string()),
            Err("`min_age` must be an integer, not a string".to_owned())
        );
        assert_eq!(
            age.check(&json!(17.5)).map_err(|e| e.to_string()),
            Err("`min_age` must be an integer, not 17.5".to_owned())
        );
        assert_eq!(
            age.check(&json!(-1)).map_err(|e| e.to_string()),
            Err("`min_age` must be at least 0, not -1".to_owned())
        );
        assert_eq!(
            age.check(&json!(-1)),
            Err(ParamValueError::BelowMin {
                name: "min_age".to_owned(),
                min: 0.0,
                value: -1.0,
            })
        );
        let limit = ParamSpec::number("limit_usd", "limit").max(10.0);
        assert_eq!(
            limit.check(&json!(10.5)).map_err(|e| e.to_string()),
            Err("`limit_usd` must be at most 10, not 10.5".to_owned())
        );
        assert_eq!(
            ParamSpec::list("bands", "bands")
                .check(&json!({}))
                .map_err(|e| e.to_string()),
            Err("`bands` must be a list, not a table".to_owned())
        );
    }
}
