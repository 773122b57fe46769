//! The vocabulary of known fields: a [`Shape`], a [`Field`], and the
//! `known_fields!` declaration a table type makes of its own fields.
//!
//! A leaf: the types that declare their fields ([`Customer`](crate::Customer)
//! in `input`, the tables of [`domain`](crate::domain)) use it, and
//! [`schema`](crate::schema) gathers their lists and re-exports these types
//! without either side importing the other.

use serde_json::Value;

use crate::Date;

/// The shape a known field's value must have.
///
/// Not `#[non_exhaustive]` on purpose: a new shape needs new checking code
/// wherever profiles are validated, which a wildcard arm would skip
/// silently. New fields, the usual change, use the shapes below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A string. Decoded as `String`.
    Text,
    /// A number, whole or not. Decoded as `f64`.
    Number,
    /// A calendar date `YYYY-MM-DD` that exists: in TOML a local date (no
    /// time, no offset), in JSON a string. Decoded as [`Date`].
    Date,
    /// A list of strings. Decoded as `Vec<String>`.
    TextList,
    /// A table (a JSON object) with its own known fields; its other keys are
    /// kept unchecked. Decoded as a struct with an `extra` map.
    Table(&'static [Field]),
}

impl Shape {
    /// Whether a JSON value has this shape. For a table this checks only
    /// that it is an object: its fields are checked against the table's
    /// own list.
    #[must_use]
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            Shape::Text => value.is_string(),
            Shape::Number => value.is_number(),
            Shape::Date => value
                .as_str()
                .is_some_and(|text| text.parse::<Date>().is_ok()),
            Shape::TextList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
            Shape::Table(_) => value.is_object(),
        }
    }

    /// The shape in words, as `ABI.md` writes it: `text`, `number`, `date`,
    /// `list of text` or `table`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Shape::Text => "text",
            Shape::Number => "number",
            Shape::Date => "date",
            Shape::TextList => "list of text",
            Shape::Table(_) => "table",
        }
    }
}

/// One known field of a table.
///
/// `#[non_exhaustive]`: read its fields; the SDK may add more (such as a
/// description) without breaking code that reads these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Field {
    /// The key, as written in a profile (`birth_date`, `type`).
    pub key: &'static str,
    /// The shape its value must have.
    pub shape: Shape,
    /// Whether a profile (or the table holding it) must have it. An absent
    /// optional field decodes to its type's "nothing": `None`, an empty
    /// list, or the default its type documents.
    pub required: bool,
}

impl Field {
    pub(crate) const fn new(key: &'static str, shape: Shape, required: bool) -> Field {
        Field {
            key,
            shape,
            required,
        }
    }
}

/// Declares the known fields of a table type once, and generates from that
/// one list its schema (a `&[Field]` constant, in the order given), its
/// `Deserialize` impl (ABI v1's JSON) and its [`Decode`](crate::wire::Decode)
/// impl (ABI v2's layout, the fields in the same order).
///
/// ```text
/// known_fields! {
///     /// docs of the constant
///     pub(crate) const FIELDS for Type {
///         rust_field: "key" as Shape::Text;                 // required
///         other_field: "other" as Shape::Number, or 0.0;    // optional: 0.0 when absent
///     }
/// }
/// ```
///
/// A field without `or <value when absent>` is required: absent, decoding
/// fails with serde's "missing field" error. The type must have exactly the
/// listed fields plus `extra: Extra` (a JSON map), which receives every other
/// key unchanged (the struct literal the impl builds fails to compile
/// otherwise).
///
/// The decoder is written out instead of derived with serde's `flatten`:
/// `flatten` buffers the whole object before reading it, which made a native
/// `loan-rates` decision through JSON take 7.2 µs instead of 4.2 µs (see
/// `docs/design.md`, "No serde `flatten` in the guest").
macro_rules! known_fields {
    (@required) => {
        true
    };
    (@required $missing:expr) => {
        false
    };
    (@missing $key:literal) => {
        return Err(::serde::de::Error::missing_field($key))
    };
    (@missing $key:literal $missing:expr) => {
        $missing
    };
    (@absent $key:literal) => {
        return Err($crate::wire::WireError::missing($key))
    };
    (@absent $key:literal $missing:expr) => {
        $missing
    };
    (
        $(#[$meta:meta])*
        $vis:vis const $fields:ident for $name:ident {
            $($field:ident: $key:literal as $shape:expr $(, or $missing:expr)?;)*
        }
    ) => {
        $(#[$meta])*
        $vis const $fields: &[$crate::shape::Field] = &[
            $($crate::shape::Field::new(
                $key,
                $shape,
                $crate::shape::known_fields!(@required $($missing)?),
            ),)*
        ];

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<$name, D::Error> {
                struct Fields;

                impl<'de> ::serde::de::Visitor<'de> for Fields {
                    type Value = $name;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($name), " table"))
                    }

                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$name, A::Error> {
                        $(let mut $field = None;)*
                        let mut extra = ::serde_json::Map::new();
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $($key => $field = Some(map.next_value()?),)*
                                _ => {
                                    let value = map.next_value()?;
                                    extra.insert(key, value);
                                }
                            }
                        }
                        Ok($name {
                            $($field: match $field {
                                Some(value) => value,
                                None => $crate::shape::known_fields!(@missing $key $($missing)?),
                            },)*
                            extra: extra.into(),
                        })
                    }
                }

                deserializer.deserialize_map(Fields)
            }
        }

        impl $crate::wire::Decode for $name {
            fn decode(
                reader: &mut $crate::wire::Reader<'_>,
            ) -> Result<$name, $crate::wire::WireError> {
                $(let $field = if reader.present()? {
                    Some($crate::wire::Decode::decode(reader)?)
                } else {
                    None
                };)*
                let extra = $crate::extra::Extra::from_json(reader.bytes()?);
                Ok($name {
                    $($field: match $field {
                        Some(value) => value,
                        None => $crate::shape::known_fields!(@absent $key $($missing)?),
                    },)*
                    extra,
                })
            }
        }
    };
}

pub(crate) use known_fields;
