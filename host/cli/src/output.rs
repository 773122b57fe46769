//! Everything the binary shows: decision tables and JSON on stdout, errors
//! and progress on stderr.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use verdict_config::ConfigError;
use verdict_engine::{DecisionRecord, Job, Policy};

use crate::cli::Format;
use crate::exit::PartWay;

/// Width the table fits in.
const TABLE_WIDTH: usize = 80;
/// Runs with fewer decisions than this finish too fast to need a bar.
const PROGRESS_THRESHOLD: u64 = 20_000;

/// Writes decision records in the chosen format as they are made.
pub(crate) struct RecordWriter<W: Write> {
    format: Format,
    out: W,
    written: usize,
    table: Table,
}

/// Column widths and running counts for the table format.
struct Table {
    customer: usize,
    policy: usize,
    outcome: usize,
    last_customer: Option<String>,
    customers: usize,
    /// Outcomes of the answered decisions.
    outcomes: BTreeMap<String, usize>,
    /// Decisions made in experiments and not answered, by experiment.
    shadowed: BTreeMap<String, usize>,
}

impl<W: Write> RecordWriter<W> {
    /// A writer for decisions about `work` under `policies`.
    pub(crate) fn new(format: Format, out: W, work: &[Job<'_>], policies: &[Arc<Policy>]) -> Self {
        let widest = |lengths: &mut dyn Iterator<Item = usize>, header: &str, cap: usize| {
            lengths.chain([header.len()]).max().unwrap_or(0).min(cap)
        };
        let table = Table {
            customer: widest(
                &mut work.iter().map(|job| job.profile.id().chars().count()),
                "CUSTOMER",
                14,
            ),
            policy: widest(&mut policies.iter().map(|p| p.name().len()), "POLICY", 20),
            outcome: "not-applicable".len(),
            last_customer: None,
            customers: 0,
            outcomes: BTreeMap::new(),
            shadowed: BTreeMap::new(),
        };
        RecordWriter {
            format,
            out,
            written: 0,
            table,
        }
    }

    /// Writes a batch of records. `encoded`, unless empty, holds each
    /// record's JSON as `serde_json` writes it (encoded in parallel, and the
    /// very bytes the decision log stores); otherwise records are encoded
    /// here.
    pub(crate) fn write(
        &mut self,
        records: &[DecisionRecord],
        encoded: &[String],
    ) -> std::io::Result<()> {
        for (i, record) in records.iter().enumerate() {
            let json = |out: &mut W| match encoded.get(i) {
                Some(json) => out.write_all(json.as_bytes()),
                None => Ok(serde_json::to_writer(out, record)?),
            };
            match self.format {
                Format::Jsonl => {
                    json(&mut self.out)?;
                    self.out.write_all(b"\n")?;
                }
                Format::Json => {
                    self.out.write_all(if self.written == 0 {
                        b"[\n  "
                    } else {
                        b",\n  "
                    })?;
                    json(&mut self.out)?;
                }
                Format::Table => {
                    if self.written == 0 {
                        self.table.header(&mut self.out)?;
                    }
                    self.table.row(&mut self.out, record)?;
                }
            }
            self.written += 1;
        }
        Ok(())
    }

    /// Closes the output (the JSON array, the table's summary) and flushes.
    pub(crate) fn finish(mut self) -> std::io::Result<()> {
        match self.format {
            Format::Jsonl => {}
            Format::Json if self.written == 0 => self.out.write_all(b"[]\n")?,
            Format::Json => self.out.write_all(b"\n]\n")?,
            Format::Table => self.table.summary(&mut self.out, self.written)?,
        }
        self.out.flush()
    }
}

impl Table {
    fn header(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "{:cw$}  {:pw$}  {:ow$}  DETAIL",
            "CUSTOMER",
            "POLICY",
            "OUTCOME",
            cw = self.customer,
            pw = self.policy,
            ow = self.outcome
        )
    }

    fn row(&mut self, out: &mut impl Write, record: &DecisionRecord) -> std::io::Result<()> {
        let customer = if self.last_customer.as_deref() == Some(record.customer()) {
            String::new()
        } else {
            self.customers += 1;
            self.last_customer = Some(record.customer().to_owned());
            fit(record.customer(), self.customer)
        };
        match record.experiment() {
            Some(experiment) if !record.answered() => {
                *self.shadowed.entry(experiment.to_owned()).or_default() += 1;
            }
            _ => {
                *self
                    .outcomes
                    .entry(record.outcome().to_string())
                    .or_default() += 1;
            }
        }
        let detail_width = TABLE_WIDTH
            .saturating_sub(self.customer + self.policy + self.outcome + 6)
            .max(20);
        let indent = self.customer + self.policy + self.outcome + 6;
        let mut lines = wrap(&detail(record), detail_width).into_iter();
        writeln!(
            out,
            "{customer:cw$}  {:pw$}  {:ow$}  {}",
            fit(record.policy(), self.policy),
            fit(record.outcome().as_str(), self.outcome),
            lines.next().unwrap_or_default(),
            cw = self.customer,
            pw = self.policy,
            ow = self.outcome
        )?;
        for line in lines {
            writeln!(out, "{:indent$}{line}", "")?;
        }
        Ok(())
    }

    fn summary(&self, out: &mut impl Write, decisions: usize) -> std::io::Result<()> {
        let counts: Vec<String> = self
            .outcomes
            .iter()
            .map(|(outcome, n)| format!("{outcome} {n}"))
            .collect();
        writeln!(out)?;
        writeln!(
            out,
            "{decisions} decisions for {} customers",
            self.customers
        )?;
        if !counts.is_empty() {
            writeln!(out, "{}", counts.join(", "))?;
        }
        for (experiment, n) in &self.shadowed {
            writeln!(
                out,
                "{n} decided in experiment {experiment} but not answered (not counted above)"
            )?;
        }
        Ok(())
    }
}

/// The arm in an experiment (`[challenger]`, `[champion, not answered]`),
/// reason codes, then the values as `key=value`: the gist of a decision.
fn detail(record: &DecisionRecord) -> String {
    let arm = record.arm().map(|arm| {
        if record.answered() {
            format!("[{arm}]")
        } else {
            format!("[{arm}, not answered]")
        }
    });
    let mut parts: Vec<String> = arm.into_iter().collect();
    parts.extend(record.reasons().iter().map(|r| r.code.clone()));
    parts.extend(
        record
            .value()
            .iter()
            .map(|(k, v)| format!("{k}={}", compact(v))),
    );
    parts.join(" ")
}

fn compact(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        Value::Array(items) if items.is_empty() => "[]".to_owned(),
        Value::Array(items) => items.iter().map(compact).collect::<Vec<_>>().join(","),
        // 2000.0 reads as 2000; other numbers as JSON writes them.
        Value::Number(n) => match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.0}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Greedy word wrap to `width` columns; a word longer than a line is cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if !line.is_empty() && needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.into_iter().map(|l| fit(&l, width)).collect()
}

/// The Unicode bidirectional formatting characters: marks, embeddings,
/// overrides and isolates.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Cuts `text` to `width` characters, marking the cut with `…`.
fn fit(text: &str, width: usize) -> String {
    // Ids and plugin strings are not trusted to be printable: a control
    // character (an escape sequence, a carriage return) or a bidirectional
    // override (which reorders what follows it on screen) is shown escaped
    // rather than sent to the terminal.
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || is_bidi_control(c) {
            clean.extend(c.escape_default());
        } else {
            clean.push(c);
        }
    }
    let text = clean;
    if text.chars().count() <= width {
        return text;
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A progress bar on stderr, shown only for long runs on a terminal.
pub(crate) fn progress_bar(decisions: u64) -> ProgressBar {
    if decisions < PROGRESS_THRESHOLD || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(decisions), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} decisions, {per_sec}, eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// Whether the error is stdout closing under us (`verdict eval | head`),
/// anywhere in its chain of causes.
pub(crate) fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            .or_else(|| {
                cause
                    .downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
            == Some(std::io::ErrorKind::BrokenPipe)
    })
}

/// Prints an error on stderr: diagnostics that point into a file with the
/// offending line, everything else as `error: ...` with its causes.
#[expect(clippy::print_stderr, reason = "the binary reports errors on stderr")]
pub(crate) fn report_error(error: &anyhow::Error) {
    let diagnostic = error.chain().find_map(|cause| {
        cause
            .downcast_ref::<ConfigError>()
            .and_then(ConfigError::diagnostic)
    });
    match diagnostic {
        Some(diagnostic) => eprintln!("{}", diagnostic.render(std::io::stderr().is_terminal())),
        None => {
            // `PartWay` is the outermost context when present; the note
            // below says it in full.
            let causes: Vec<String> = error
                .chain()
                .skip(usize::from(error.is::<PartWay>()))
                .map(ToString::to_string)
                .collect();
            eprintln!("error: {}", causes.join(": "));
        }
    }
    if error.is::<PartWay>() {
        eprintln!("note: decisions reported before this error stand; the rest were not made");
    }
}
