//! The binary layout of ABI v2 (`ABI.md`, "Encoding, v2"): the evaluation
//! envelope the host writes and the decision the plugin answers.
//!
//! Both sides live here so they cannot drift: the host encodes envelopes
//! with [`encode_envelope`] and [`encode_customer`] and decodes answers with
//! [`decode_answer`]; the SDK's glue decodes envelopes with [`Decode`] and
//! encodes answers with [`encode_decision`] and [`encode_failure`].
//!
//! Integers are little-endian; a text is a `u32` byte length and UTF-8
//! bytes; a date is a `u16` year, a `u8` month and a `u8` day.

use std::fmt;

use serde_json::{Map, Number, Value};

use crate::shape::{Field, Shape};
use crate::{Customer, Date, Decision, Input, Reason};

/// Answer tag: a decision follows.
pub const ANSWER_DECISION: u8 = 0;
/// Answer tag: an error message follows.
pub const ANSWER_ERROR: u8 = 1;

/// Value tags of a decision's values.
const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const UNSIGNED: u8 = 3;
const SIGNED: u8 = 4;
const FLOAT: u8 = 5;
const TEXT: u8 = 6;
const ARRAY: u8 = 7;
const OBJECT: u8 = 8;

/// How deep arrays and objects may nest in a decision's values (as deep as
/// `serde_json` reads JSON): a hostile answer cannot exhaust the host's stack.
pub const MAX_DEPTH: usize = 128;

/// Why bytes are not the layout they should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

impl WireError {
    /// A required field is absent (the words serde uses for JSON).
    pub(crate) fn missing(key: &str) -> WireError {
        WireError(format!("missing field `{key}`"))
    }
}

/// Appends the pieces of the layout to a byte buffer.
#[derive(Debug)]
pub struct Writer<'a>(pub &'a mut Vec<u8>);

impl Writer<'_> {
    /// One byte.
    pub fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    /// A `u32`, little-endian.
    pub fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    /// A length or count, which the layout holds in a `u32`. Nothing the
    /// host or a plugin encodes comes near 4 GiB (answers are capped far
    /// below); a larger one saturates and fails to decode.
    pub fn len(&mut self, len: usize) {
        self.u32(u32::try_from(len).unwrap_or(u32::MAX));
    }

    /// An `f64`, little-endian IEEE 754.
    pub fn f64(&mut self, value: f64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.len(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    /// A text.
    pub fn text(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    /// A date.
    pub fn date(&mut self, date: Date) {
        // Years are 1..=9999 (`Date::new`), so they fit a u16.
        self.0
            .extend_from_slice(&(date.year() as u16).to_le_bytes());
        self.0.push(date.month());
        self.0.push(date.day());
    }
}

/// Reads the pieces of the layout from bytes, front to back.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn error(&self, what: &str) -> WireError {
        WireError(format!("{what} at byte {}", self.at))
    }

    fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], WireError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| self.error(&format!("{what} runs past the end")))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], WireError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>("a byte")?[0])
    }

    /// A `u32`.
    pub fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array("a u32")?))
    }

    /// An `f64`.
    pub fn f64(&mut self) -> Result<f64, WireError> {
        Ok(f64::from_le_bytes(self.array("an f64")?))
    }

    /// Length-prefixed bytes, borrowed.
    pub fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.u32()? as usize;
        self.take(len, "a length-prefixed field")
    }

    /// A text, borrowed.
    pub fn text(&mut self) -> Result<&'a str, WireError> {
        let at = self.at;
        let bytes = self.bytes()?;
        std::str::from_utf8(bytes).map_err(|_| WireError(format!("text at byte {at} is not UTF-8")))
    }

    /// A date.
    pub fn date(&mut self) -> Result<Date, WireError> {
        let at = self.at;
        let [y0, y1, month, day] = self.array("a date")?;
        Date::new(i32::from(u16::from_le_bytes([y0, y1])), month, day)
            .map_err(|why| WireError(format!("date at byte {at}: {why}")))
    }

    /// A presence byte: whether the field it precedes is there.
    pub fn present(&mut self) -> Result<bool, WireError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError(format!(
                "presence byte at byte {} is neither 0 nor 1",
                self.at - 1
            ))),
        }
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), WireError> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(self.error("unexpected bytes after the end"))
        }
    }
}

/// A type the SDK reads from the v2 envelope. Known fields decode with
/// their [`Shape`]'s layout; tables are generated with their schema.
pub trait Decode: Sized {
    /// Reads one value.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, WireError>;
}

impl Decode for String {
    fn decode(reader: &mut Reader<'_>) -> Result<String, WireError> {
        reader.text().map(str::to_owned)
    }
}

impl Decode for f64 {
    fn decode(reader: &mut Reader<'_>) -> Result<f64, WireError> {
        reader.f64()
    }
}

impl Decode for Date {
    fn decode(reader: &mut Reader<'_>) -> Result<Date, WireError> {
        reader.date()
    }
}

impl Decode for Vec<String> {
    fn decode(reader: &mut Reader<'_>) -> Result<Vec<String>, WireError> {
        let count = reader.u32()?;
        // No capacity from the count: it is not trusted before it is read.
        (0..count).map(|_| String::decode(reader)).collect()
    }
}

impl<T: Decode> Decode for Option<T> {
    /// A present optional field: `Some` of its value.
    fn decode(reader: &mut Reader<'_>) -> Result<Option<T>, WireError> {
        T::decode(reader).map(Some)
    }
}

/// The envelope of `verdict_evaluate` in v2: the date, then the customer
/// (already laid out by [`encode_customer`], once per profile).
pub fn encode_envelope(out: &mut Vec<u8>, as_of: Date, customer: &[u8]) {
    out.clear();
    Writer(out).date(as_of);
    out.extend_from_slice(customer);
}

/// Reads a v2 envelope; every byte must belong to it.
pub fn decode_envelope(bytes: &[u8]) -> Result<Input, WireError> {
    let mut reader = Reader::new(bytes);
    let as_of = reader.date()?;
    let customer = Customer::decode(&mut reader)?;
    reader.finish()?;
    Ok(Input::new(as_of, customer))
}

/// Lays out a profile (a JSON object) as the customer table of the v2
/// envelope: its known fields typed, in [`crate::schema::CUSTOMER`] order,
/// each after a presence byte; then the other keys as one JSON object.
///
/// The host validated the profile against the schema; a known field of
/// another shape is an error here, as it would be for the plugin.
pub fn encode_customer(profile: &Map<String, Value>, out: &mut Vec<u8>) -> Result<(), WireError> {
    encode_table(crate::schema::CUSTOMER, profile, &mut Writer(out), "")
}

fn encode_table(
    fields: &[Field],
    table: &Map<String, Value>,
    out: &mut Writer<'_>,
    path: &str,
) -> Result<(), WireError> {
    for field in fields {
        match table.get(field.key) {
            None => out.u8(0),
            Some(value) => {
                out.u8(1);
                encode_field(field, value, out, path)?;
            }
        }
    }
    let mut rest = table
        .iter()
        .filter(|(key, _)| !fields.iter().any(|field| field.key == key.as_str()))
        .peekable();
    if rest.peek().is_none() {
        out.len(0);
    } else {
        let rest: Map<String, Value> = rest.map(|(k, v)| (k.clone(), v.clone())).collect();
        // A map of JSON values always serializes.
        out.bytes(&serde_json::to_vec(&rest).unwrap_or_default());
    }
    Ok(())
}

fn encode_field(
    field: &Field,
    value: &Value,
    out: &mut Writer<'_>,
    path: &str,
) -> Result<(), WireError> {
    let wrong = || {
        WireError(format!(
            "field `{path}{}` does not have the shape `{}`",
            field.key,
            field.shape.name()
        ))
    };
    match (field.shape, value) {
        (Shape::Text, Value::String(text)) => out.text(text),
        (Shape::Number, Value::Number(number)) => out.f64(number.as_f64().ok_or_else(wrong)?),
        (Shape::Date, Value::String(text)) => out.date(text.parse().map_err(|_| wrong())?),
        (Shape::TextList, Value::Array(items)) => {
            out.len(items.len());
            for item in items {
                out.text(item.as_str().ok_or_else(wrong)?);
            }
        }
        (Shape::Table(fields), Value::Object(table)) => {
            encode_table(fields, table, out, &format!("{path}{}.", field.key))?;
        }
        _ => return Err(wrong()),
    }
    Ok(())
}

/// A plugin's decision, as `verdict_evaluate` answers it in v2.
pub fn encode_decision(decision: &Decision, out: &mut Vec<u8>) {
    let mut out = Writer(out);
    out.u8(ANSWER_DECISION);
    out.text(&decision.outcome);
    encode_entries(&decision.value, &mut out);
    out.len(decision.reasons.len());
    for reason in &decision.reasons {
        out.text(&reason.code);
        out.text(&reason.message);
    }
}

/// A plugin's refusal to decide, as `verdict_evaluate` answers it in v2.
pub fn encode_failure(message: &str, out: &mut Vec<u8>) {
    let mut out = Writer(out);
    out.u8(ANSWER_ERROR);
    out.text(message);
}

fn encode_entries(map: &Map<String, Value>, out: &mut Writer<'_>) {
    out.len(map.len());
    for (key, value) in map {
        out.text(key);
        encode_value(value, out);
    }
}

fn encode_value(value: &Value, out: &mut Writer<'_>) {
    match value {
        Value::Null => out.u8(NULL),
        Value::Bool(false) => out.u8(FALSE),
        Value::Bool(true) => out.u8(TRUE),
        Value::Number(number) => {
            if let Some(unsigned) = number.as_u64() {
                out.u8(UNSIGNED);
                out.0.extend_from_slice(&unsigned.to_le_bytes());
            } else if let Some(signed) = number.as_i64() {
                out.u8(SIGNED);
                out.0.extend_from_slice(&signed.to_le_bytes());
            } else {
                out.u8(FLOAT);
                out.f64(number.as_f64().unwrap_or(0.0));
            }
        }
        Value::String(text) => {
            out.u8(TEXT);
            out.text(text);
        }
        Value::Array(items) => {
            out.u8(ARRAY);
            out.len(items.len());
            for item in items {
                encode_value(item, out);
            }
        }
        Value::Object(map) => {
            out.u8(OBJECT);
            encode_entries(map, out);
        }
    }
}

/// What a plugin answered `verdict_evaluate` in v2.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A decision (not yet checked against the ABI's rules on words and
    /// sizes: the host does that for v1 and v2 alike).
    Decision(Decision),
    /// The plugin could not decide, and says why.
    Error(String),
}

/// Reads a v2 answer; every byte must belong to it.
pub fn decode_answer(bytes: &[u8]) -> Result<Answer, WireError> {
    let mut reader = Reader::new(bytes);
    let answer = match reader.u8()? {
        ANSWER_DECISION => {
            let outcome = reader.text()?.to_owned();
            let value = decode_entries(&mut reader, 0)?;
            let count = reader.u32()?;
            let reasons = (0..count)
                .map(|_| {
                    Ok(Reason {
                        code: reader.text()?.to_owned(),
                        message: reader.text()?.to_owned(),
                    })
                })
                .collect::<Result<_, WireError>>()?;
            Answer::Decision(Decision {
                outcome,
                value,
                reasons,
            })
        }
        ANSWER_ERROR => Answer::Error(reader.text()?.to_owned()),
        tag => return Err(WireError(format!("answer tag {tag} is neither 0 nor 1"))),
    };
    reader.finish()?;
    Ok(answer)
}

fn decode_entries(reader: &mut Reader<'_>, depth: usize) -> Result<Map<String, Value>, WireError> {
    let count = reader.u32()?;
    let mut map = Map::new();
    for _ in 0..count {
        let key = reader.text()?.to_owned();
        let value = decode_value(reader, depth)?;
        map.insert(key, value);
    }
    Ok(map)
}

fn decode_value(reader: &mut Reader<'_>, depth: usize) -> Result<Value, WireError> {
    if depth >= MAX_DEPTH {
        return Err(reader.error(&format!("values nest deeper than {MAX_DEPTH}")));
    }
    let at = reader.at;
    Ok(match reader.u8()? {
        NULL => Value::Null,
        FALSE => Value::Bool(false),
        TRUE => Value::Bool(true),
        UNSIGNED => Value::from(u64::from_le_bytes(reader.array("a u64")?)),
        SIGNED => Value::from(i64::from_le_bytes(reader.array("an i64")?)),
        FLOAT => {
            let float = reader.f64()?;
            Value::Number(
                Number::from_f64(float)
                    .ok_or_else(|| WireError(format!("number at byte {at} is not finite")))?,
            )
        }
        TEXT => Value::String(reader.text()?.to_owned()),
        ARRAY => {
            let count = reader.u32()?;
            Value::Array(
                (0..count)
                    .map(|_| decode_value(reader, depth + 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        OBJECT => Value::Object(decode_entries(reader, depth + 1)?),
        tag => {
            return Err(WireError(format!(
                "value tag {tag} at byte {at} is unknown"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn laid_out(profile: &Value, as_of: &str) -> Vec<u8> {
        let mut customer = Vec::new();
        encode_customer(profile.as_object().unwrap(), &mut customer).unwrap();
        let mut out = Vec::new();
        encode_envelope(&mut out, as_of.parse().unwrap(), &customer);
        out
    }

    #[test]
    fn the_example_of_abi_md_is_these_bytes() {
        let bytes = laid_out(
            &json!({"id": "C-1", "birth_date": "1990-02-28", "tier": "gold"}),
            "2026-11-23",
        );
        let mut expected = vec![0xea, 0x07, 0x0b, 0x17, 1, 3, 0, 0, 0, b'C', b'-', b'1', 0];
        expected.extend([1, 0xc6, 0x07, 0x02, 0x1c, 0, 0, 0, 0, 15, 0, 0, 0]);
        expected.extend(br#"{"tier":"gold"}"#);
        assert_eq!(bytes, expected);
        let abi = include_str!("../ABI.md");
        assert!(abi.contains("ea 07 0b 17 "), "ABI.md's example moved");
    }

    #[test]
    fn an_envelope_decodes_to_the_customer_json_decodes_to() {
        let profile = json!({
            "id": "C-1", "birth_date": "1990-02-28", "name": "Ana", "language": "pt",
            "products": ["card", "pension"], "tier": "gold", "accounts": [{"n": 1}],
            "stay": {"recovery_spent_usd": 12.5, "room": 812},
            "loan_request": {"type": "car", "amount_usd": 9000, "term": {"months": 48}},
        });
        let input = decode_envelope(&laid_out(&profile, "2026-11-23")).unwrap();
        let from_json: Customer = serde_json::from_value(profile).unwrap();
        assert_eq!(input.customer, from_json);
        assert_eq!(input.as_of, "2026-11-23".parse().unwrap());
        assert_eq!(input.customer.extra["accounts"], json!([{"n": 1}]));
    }

    #[test]
    fn a_missing_required_field_or_a_cut_envelope_is_an_error() {
        let bytes = laid_out(
            &json!({"id": "C-1", "birth_date": "1990-02-28"}),
            "2026-11-23",
        );
        let mut no_birth = bytes.clone();
        no_birth[13] = 0;
        no_birth.drain(14..18);
        assert_eq!(
            decode_envelope(&no_birth).unwrap_err().to_string(),
            "missing field `birth_date`"
        );
        for cut in 0..bytes.len() {
            assert!(decode_envelope(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            decode_envelope(&longer).unwrap_err().to_string(),
            format!("unexpected bytes after the end at byte {}", bytes.len())
        );
        let wrong = json!({"id": 7, "birth_date": "1990-02-28"});
        let error = encode_customer(wrong.as_object().unwrap(), &mut Vec::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "field `id` does not have the shape `text`"
        );
    }

    #[test]
    fn answers_decode_as_encoded_and_bad_ones_are_errors() {
        let decision = Decision::new("refer")
            .with("limit_usd", 2000.0)
            .with("count", 3)
            .with("delta", -2)
            .with("tags", json!(["a", null, true, false, {"x": 1.5}]))
            .because("over-allowance", "trop");
        let mut bytes = Vec::new();
        encode_decision(&decision, &mut bytes);
        assert_eq!(
            decode_answer(&bytes).unwrap(),
            Answer::Decision(decision.clone())
        );
        // Kinds of numbers survive: JSON prints them as a v1 answer would.
        let Answer::Decision(back) = decode_answer(&bytes).unwrap() else {
            unreachable!()
        };
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&decision).unwrap()
        );
        for cut in 0..bytes.len() {
            assert!(decode_answer(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut failure = Vec::new();
        encode_failure("no", &mut failure);
        assert_eq!(decode_answer(&failure).unwrap(), Answer::Error("no".into()));
        assert_eq!(
            decode_answer(&[2]).unwrap_err().to_string(),
            "answer tag 2 is neither 0 nor 1"
        );
        // An array nested past the bound is refused, not recursed into.
        let mut deep = vec![0, 1, 0, 0, 0, b'x', 1, 0, 0, 0, 1, 0, 0, 0, b'v'];
        deep.extend(std::iter::repeat_n([7, 1, 0, 0, 0], 200).flatten());
        assert!(
            decode_answer(&deep)
                .unwrap_err()
                .to_string()
                .contains("values nest deeper than 128")
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,6}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn every_value_comes_back_the_same_json(
            values in prop::collection::btree_map("[a-z_]{1,8}", json_value(), 0..6),
        ) {
            let mut decision = Decision::new("checked");
            decision.value = values.into_iter().collect();
            let mut bytes = Vec::new();
            encode_decision(&decision, &mut bytes);
            let back = decode_answer(&bytes).unwrap();
            prop_assert_eq!(&back, &Answer::Decision(decision.clone()));
            let Answer::Decision(back) = back else { unreachable!() };
            prop_assert_eq!(
                serde_json::to_string(&back).unwrap(),
                serde_json::to_string(&decision).unwrap()
            );
        }
    }
}
