//! Customer profiles in TOML: a profiles file, or a test case's customer,
//! validated by the engine's format-free checks (`check_customer`, the
//! same that JSON customers get), every problem at its file position; and
//! the JSON each plugin receives for a customer.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;
use toml::Spanned;
use toml::de::DeValue;
use verdict_engine::{
    CustomerValue, Profile, born_after_message, check_customer, duplicate_message, too_large,
};
use verdict_sdk::Date;

use crate::document::{self, Document};
use crate::error::ConfigError;

/// A profiles file, validated: every customer has a unique `id` and a real
/// `birth_date`, and every field the SDK knows has the right type.
#[derive(Debug, Clone)]
pub struct Profiles {
    doc: Document,
    /// The file's own evaluation date, if it gives one.
    pub as_of: Option<Date>,
    /// The customers, in file order.
    pub customers: Vec<Profile>,
    /// Where each customer's checked fields are in the file.
    spans: Vec<ProfileSpans>,
}

/// A customer read from a TOML document (an entry of a profiles file, or a
/// test case's `customer`), with where its checked fields are.
#[derive(Debug, Clone)]
pub struct TomlProfile {
    /// The evaluation input.
    pub profile: Profile,
    spans: ProfileSpans,
}

/// Where a customer's `id` and `birth_date` are in its document, and the
/// birth date (checked against the evaluation date once it is known).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProfileSpans {
    id: Range<usize>,
    birth_date: Range<usize>,
    born: Date,
}

impl ProfileSpans {
    /// Moves the spans by `offset` bytes: from a part of a file to the file.
    fn shift(&mut self, offset: usize) {
        for span in [&mut self.id, &mut self.birth_date] {
            *span = span.start + offset..span.end + offset;
        }
    }
}

impl Profiles {
    /// Reads and validates a profiles file.
    pub fn load(path: &Path) -> Result<Profiles, ConfigError> {
        Profiles::parse(Document::read(path)?)
    }

    /// Validates a profiles document. A large file is parsed in parts, in
    /// parallel (see `split_at_customers`); if any part fails, or the
    /// first part defines `customer` other than by `[[customer]]` headers
    /// (the parts would then not be one document), the whole file is
    /// parsed again in one piece, so the verdict and every problem are
    /// exactly those of a one-piece parse.
    pub fn parse(doc: Document) -> Result<Profiles, ConfigError> {
        Profiles::parse_in_parts(doc, PART_BYTES)
    }

    /// [`parse`](Profiles::parse) with parts of about `part_bytes`
    /// (`usize::MAX`: in one piece).
    pub(crate) fn parse_in_parts(
        doc: Document,
        part_bytes: usize,
    ) -> Result<Profiles, ConfigError> {
        let parts = split_at_customers(doc.text(), part_bytes);
        let in_parts = (parts.len() > 1)
            .then(|| {
                parts
                    .par_iter()
                    .map(|range| {
                        let part = Document::from_text(doc.path(), &doc.text()[range.clone()]);
                        let mut read = read_customers(&part)?;
                        for customer in &mut read.customers {
                            customer.spans.shift(range.start);
                        }
                        Ok(read)
                    })
                    .collect::<Result<Vec<_>, ConfigError>>()
                    .ok()
            })
            .flatten()
            // Every part but the first starts with a `[[customer]]` header,
            // so theirs is an array of tables; the parts join into the
            // file's array only if the first part's is one too (`customer =
            // [...]` there and `[[customer]]` later is a duplicate key).
            .filter(|parts| parts[0].by_headers);
        let (as_of, customers) = match in_parts {
            // Only the first part can hold the file's `as_of`: every other
            // starts inside a `[[customer]]` table.
            Some(parts) => (
                parts[0].as_of,
                parts.into_iter().flat_map(|read| read.customers).collect(),
            ),
            None => {
                let read = read_customers(&doc)?;
                (read.as_of, read.customers)
            }
        };
        let mut first_seen: HashMap<&str, &Range<usize>> = HashMap::with_capacity(customers.len());
        for customer in &customers {
            let id = customer.profile.id();
            if let Some(first) = first_seen.insert(id, &customer.spans.id) {
                let (line, _) = doc.line_col(first.start);
                return Err(doc.error(
                    customer.spans.id.clone(),
                    duplicate_message(id),
                    &format!("already used on line {line}"),
                ));
            }
        }
        let (customers, spans) = customers
            .into_iter()
            .map(|customer| (customer.profile, customer.spans))
            .unzip();
        Ok(Profiles {
            doc,
            as_of,
            customers,
            spans,
        })
    }

    /// Where each customer's `id` and `birth_date` are, and the birth date.
    #[cfg(feature = "testing")]
    pub(crate) fn spans(&self) -> Vec<(Range<usize>, Range<usize>, Date)> {
        self.spans
            .iter()
            .map(|spans| (spans.id.clone(), spans.birth_date.clone(), spans.born))
            .collect()
    }

    /// The file the profiles came from.
    #[must_use]
    pub fn path(&self) -> &Path {
        self.doc.path()
    }

    /// Refuses the file when a customer is born after the evaluation date.
    pub fn check_born_by(&self, as_of: Date) -> Result<(), ConfigError> {
        match self
            .customers
            .iter()
            .zip(&self.spans)
            .find(|(_, spans)| spans.born > as_of)
        {
            Some((customer, spans)) => Err(self.doc.error(
                spans.birth_date.clone(),
                born_after_message(customer.id(), spans.born, as_of),
                "after the evaluation date",
            )),
            None => Ok(()),
        }
    }
}

impl TomlProfile {
    /// Validates one customer table of a TOML document (an entry of a
    /// profiles file, or a test case's `customer`) with the checks of a
    /// profiles file; a problem points at its place in the document.
    pub(crate) fn from_toml(
        doc: &Document,
        customer: &Spanned<DeValue<'_>>,
    ) -> Result<TomlProfile, ConfigError> {
        if !customer.get_ref().is_table() {
            return Err(doc.error(customer.span(), "a customer must be a table", ""));
        }
        let checked = check_customer(Toml(customer)).map_err(|problem| {
            let span = problem.at.map_or(customer.span(), |at| at.0.span());
            doc.error(span, problem.message, &problem.label)
        })?;
        let json = document::to_json(customer).map_err(|problem| doc.no_json(problem))?;
        let json = json.to_string();
        if let Some(message) = too_large(checked.id_text, &json) {
            return Err(doc.error(customer.span(), message, "this customer"));
        }
        Ok(TomlProfile {
            profile: Profile::new(checked.id_text.to_owned(), json.into()),
            spans: ProfileSpans {
                id: Toml(customer)
                    .field("id")
                    .map_or(customer.span(), |id| id.0.span()),
                birth_date: checked.birth.0.span(),
                born: checked.birth_date,
            },
        })
    }

    /// Refuses the customer when born after the evaluation date; `doc` is
    /// the document it was read from.
    pub fn check_born_by(&self, doc: &Document, as_of: Date) -> Result<(), ConfigError> {
        if self.spans.born > as_of {
            return Err(doc.error(
                self.spans.birth_date.clone(),
                born_after_message(self.profile.id(), self.spans.born, as_of),
                "after the evaluation date",
            ));
        }
        Ok(())
    }
}

/// Bytes of a profiles file below which it is parsed in one piece; larger
/// files are parsed in parts of about this size. Parsing is a third of
/// `verdict eval`'s time on one core (see `docs/design.md`, "Parallel parsing").
const PART_BYTES: usize = 256 << 10;

/// What [`read_customers`] found in a profiles document.
struct Read {
    as_of: Option<Date>,
    customers: Vec<TomlProfile>,
    /// `customer` is absent or an array of tables made by `[[customer]]`
    /// headers (not `customer = [...]`).
    by_headers: bool,
}

/// Reads the evaluation date and the customers of a profiles document (a
/// whole file, or a part of one), without the duplicate-id check.
fn read_customers(doc: &Document) -> Result<Read, ConfigError> {
    let root = doc.parse()?;
    let root = root.get_ref();
    doc.deny_unknown_keys(root, &["as_of", "customer"], "a profiles file")?;
    let as_of = match root.get("as_of") {
        Some(value) => Some(document::local_date(value.get_ref()).ok_or_else(|| {
            doc.error(
                value.span(),
                "`as_of` must be a date such as 2026-11-23",
                "not a date",
            )
        })?),
        None => None,
    };
    let Some(entries) = root.get("customer") else {
        return Ok(Read {
            as_of,
            customers: Vec::new(),
            by_headers: true,
        });
    };
    // An array of tables is spanned by its first header; a static array
    // by its value, which starts `[` then anything but a second `[` (an
    // array of arrays, whose entries are refused below).
    let by_headers = doc.text()[entries.span()].starts_with("[[");
    let entries = entries.get_ref().as_array().ok_or_else(|| {
        doc.error(
            entries.span(),
            "`customer` must be an array of tables: write `[[customer]]`",
            "",
        )
    })?;
    let customers = entries
        .iter()
        .map(|entry| {
            if entry.get_ref().is_table() {
                TomlProfile::from_toml(doc, entry)
            } else {
                Err(doc.error(entry.span(), "each `customer` must be a table", ""))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Read {
        as_of,
        customers,
        by_headers,
    })
}

/// Cuts `text` into parts of about `part_bytes` each, every part but the
/// first starting at a line that begins with `[[customer]]`. Each part of a
/// valid file is a valid TOML document holding whole customers: a header
/// line cannot sit inside a value of a valid file except in a multi-line
/// string, and a cut there leaves that string unterminated, so the part
/// fails to parse and the caller parses the whole file instead.
fn split_at_customers(text: &str, part_bytes: usize) -> Vec<Range<usize>> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if offset - start >= part_bytes && line.trim_start().starts_with("[[customer]]") {
            parts.push(start..offset);
            start = offset;
        }
        offset += line.len();
    }
    parts.push(start..text.len());
    parts
}

/// A TOML value with its span, as the customer checks see it.
#[derive(Clone, Copy)]
struct Toml<'n, 'de>(&'n Spanned<DeValue<'de>>);

impl<'n> CustomerValue<'n> for Toml<'n, '_> {
    const DATE: &'static str = "a date such as 2012-05-04 (no quotes, no time)";
    const TABLE: &'static str = "a table";

    fn field(self, key: &str) -> Option<Self> {
        self.0.get_ref().as_table()?.get(key).map(Toml)
    }

    fn is_table(self) -> bool {
        self.0.get_ref().is_table()
    }

    fn as_text(self) -> Option<&'n str> {
        self.0.get_ref().as_str()
    }

    fn is_number(self) -> bool {
        self.0.get_ref().is_integer() || self.0.get_ref().is_float()
    }

    fn is_text_list(self) -> bool {
        self.0
            .get_ref()
            .as_array()
            .is_some_and(|items| items.iter().all(|item| item.get_ref().is_str()))
    }

    fn list_len(self) -> Option<usize> {
        self.0.get_ref().as_array().map(|items| items.len())
    }

    /// A TOML local date (no time, no offset).
    fn as_date(self) -> Option<Date> {
        document::local_date(self.0.get_ref())
    }

    fn type_name(self) -> &'static str {
        self.0.get_ref().type_str()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

    use std::fmt::Write as _;

    use super::*;

    /// A profiles file of `n` customers, several parts long; `edit` may
    /// change the text of customer `i`.
    fn big_file(n: usize, edit: impl Fn(usize, &mut String)) -> Document {
        let mut text = String::from("as_of = 2026-11-23\n\n");
        for i in 0..n {
            let mut customer = String::new();
            write!(
                customer,
                "[[customer]]\nid = \"C-{i}\"\nname = \"Customer {i}\"\nbirth_date = 19{:02}-0{}-1{}\n\
                 products = [\"cash-account\"]\n[customer.stay]\nrecovery_spent_usd = {}.5\n\n",
                i % 100,
                1 + i % 9,
                i % 10,
                i % 2000
            )
            .unwrap();
            edit(i, &mut customer);
            text.push_str(&customer);
        }
        assert!(text.len() > 4 * PART_BYTES, "not several parts");
        Document::from_text(Path::new("big.toml"), text)
    }

    /// The error's rendering: position, message and label.
    fn error_text<T>(result: Result<T, ConfigError>) -> String {
        match result {
            Err(ConfigError::Diagnostic(diagnostic)) => diagnostic.render(false),
            Err(other) => panic!("not a diagnostic: {other}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn parts_cover_the_text_and_start_at_customers() {
        let doc = big_file(12_000, |_, _| {});
        let parts = split_at_customers(doc.text(), PART_BYTES);
        assert!(parts.len() >= 4, "{}", parts.len());
        assert_eq!(parts[0].start, 0);
        assert_eq!(parts.last().unwrap().end, doc.text().len());
        for pair in parts.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
            assert!(doc.text()[pair[1].clone()].starts_with("[[customer]]\n"));
            assert!(pair[0].len() >= PART_BYTES);
        }
        assert_eq!(split_at_customers("as_of = 2026-01-01\n", 10), vec![0..19]);
    }

    #[test]
    fn a_file_read_in_parts_equals_the_file_read_whole() {
        let doc = big_file(12_000, |_, _| {});
        let parsed = Profiles::parse(doc.clone()).unwrap();
        let Read {
            as_of,
            customers: whole,
            ..
        } = read_customers(&doc).unwrap();
        assert_eq!(parsed.as_of, as_of);
        assert_eq!(parsed.customers.len(), whole.len());
        let whole_profiles: Vec<&Profile> = whole.iter().map(|c| &c.profile).collect();
        let whole_spans: Vec<&ProfileSpans> = whole.iter().map(|c| &c.spans).collect();
        assert_eq!(parsed.customers.iter().collect::<Vec<_>>(), whole_profiles);
        assert_eq!(parsed.spans.iter().collect::<Vec<_>>(), whole_spans);
    }

    #[test]
    fn problems_deep_in_a_large_file_name_their_line() {
        // Customer i starts on line 3 + 8 i.
        let bad_type = big_file(12_000, |i, c| {
            if i == 9_000 {
                *c = c.replace("name = \"Customer 9000\"", "name = 9000");
            }
        });
        let message = error_text(Profiles::parse(bad_type));
        assert!(message.contains("big.toml:72005:8"), "{message}");

        let duplicate = big_file(12_000, |i, c| {
            if i == 11_000 {
                *c = c.replace("\"C-11000\"", "\"C-7\"");
            }
        });
        let message = error_text(Profiles::parse(duplicate));
        assert!(message.contains("big.toml:88004:6"), "{message}");
        assert!(message.contains("already used on line 60"), "{message}");

        let young = big_file(12_000, |i, c| {
            if i == 10_000 {
                *c = c.replace("birth_date = 1900-02-10", "birth_date = 2030-01-01");
            }
        });
        let profiles = Profiles::parse(young).unwrap();
        let as_of = profiles.as_of.unwrap();
        let message = error_text(profiles.check_born_by(as_of));
        assert!(message.contains("big.toml:80006:14"), "{message}");
    }

    #[test]
    fn a_header_inside_a_multi_line_string_is_not_a_cut() {
        // Each customer keeps a long note ending in a whole customer written
        // as text, so some cuts fall inside a note; the file still holds
        // exactly its real customers.
        let note = format!(
            "note = '''\n{}\n[[customer]]\nid = \"fake\"\nbirth_date = 2000-01-01\n'''\nproducts",
            "x".repeat(2_000)
        );
        let doc = big_file(2_000, |_, c| *c = c.replacen("products", &note, 1));
        let parts = split_at_customers(doc.text(), PART_BYTES);
        assert!(
            parts
                .iter()
                .any(|part| doc.text()[part.clone()].starts_with("[[customer]]\nid = \"fake\"")),
            "no cut inside a note"
        );
        let profiles = Profiles::parse(doc).unwrap();
        assert_eq!(profiles.customers.len(), 2_000);
        assert!(profiles.customers.iter().all(|c| c.id() != "fake"));
        assert!(profiles.customers[1_500].json().contains("[[customer]]"));
    }

    /// A one-piece parse's result, to compare with a parse in parts.
    fn outcome(result: Result<Profiles, ConfigError>) -> Result<String, String> {
        match result {
            Ok(profiles) => Ok(format!(
                "{:?} {:?} {:?}",
                profiles.as_of, profiles.customers, profiles.spans
            )),
            Err(ConfigError::Diagnostic(diagnostic)) => Err(diagnostic.render(false)),
            Err(other) => Err(other.to_string()),
        }
    }

    /// Lines a profiles file may be made of, valid or not, including every
    /// way to define `customer` and keys or tables that may be repeated
    /// across a cut.
    const PIECES: &[&str] = &[
        "[[customer]]\nid = \"C-{n}\"\nbirth_date = 1980-01-0{d}\n",
        "[[customer]]\nid = \"C-{n}\"\nbirth_date = 1980-01-0{d}\n[customer.stay]\nrecovery_spent_usd = {n}\n",
        "[[customer]]\nid = \"C-1\"\nbirth_date = 1980-01-01\n",
        "[customer.stay]\nrequested_recovery_usd = 5\n",
        "customer = [{ id = \"S-{n}\", birth_date = 1990-02-0{d} }]\n",
        "customer = []\n",
        "customer = { id = \"T-{n}\" }\n",
        "[customer]\nid = \"U-{n}\"\n",
        "as_of = 2026-11-23\n",
        "as_of = \"soon\"\n",
        "[as_of]\n",
        "[other]\nx = 1\n",
        "note = \'\'\'\n[[customer]]\nid = \"fake\"\n\'\'\'\n",
        "name = \"N-{n}\"\n",
        "[[customer.accounts]]\nkind = \"cash\"\n",
        "# a comment\n\n",
        "birth_date = 2030-01-01\n",
    ];

    /// How a generated file begins: nothing, its date, or `customer`
    /// defined as a value (legal alone, a duplicate key before any
    /// `[[customer]]`).
    const HEADS: &[&str] = &[
        "",
        "as_of = 2026-11-23\n",
        "customer = [{ id = \"S-0\", birth_date = 1990-02-01 }]\n",
        "as_of = 2026-11-23\ncustomer = []\n",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        #[test]
        fn parts_give_the_verdict_of_one_piece(
            head in 0..HEADS.len(),
            // Mostly whole customers (the first two pieces), so that many
            // files are valid or have a single flaw.
            pieces in proptest::collection::vec(
                (proptest::prop_oneof![8 => 0..2usize, 1 => 0..PIECES.len()], 1..9usize),
                0..24,
            ),
            part_bytes in 1..200usize,
        ) {
            let mut text = HEADS[head].to_owned();
            for (i, (piece, d)) in pieces.iter().enumerate() {
                text.push_str(
                    &PIECES[*piece].replace("{n}", &i.to_string()).replace("{d}", &d.to_string()),
                );
            }
            let doc = Document::from_text(Path::new("p.toml"), text);
            let whole = outcome(Profiles::parse_in_parts(doc.clone(), usize::MAX));
            let parts = outcome(Profiles::parse_in_parts(doc, part_bytes));
            proptest::prop_assert_eq!(parts, whole);
        }
    }

    #[test]
    fn a_static_customer_array_then_headers_in_another_part_is_a_duplicate_key() {
        let text = "customer = [{ id = \"S-1\", birth_date = 1990-02-01 }]\n\
                    [[customer]]\nid = \"C-1\"\nbirth_date = 1980-01-01\n";
        let doc = Document::from_text(Path::new("p.toml"), text.to_owned());
        assert_eq!(split_at_customers(doc.text(), 10).len(), 2);
        let message = error_text(Profiles::parse_in_parts(doc.clone(), 10));
        assert!(message.contains("duplicate key"), "{message}");
        assert!(message.contains("p.toml:2:3"), "{message}");
        assert_eq!(
            message,
            error_text(Profiles::parse_in_parts(doc, usize::MAX))
        );
    }
}
