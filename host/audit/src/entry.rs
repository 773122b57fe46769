//! The log record: one decision and everything that made it, as one JSON
//! line sealed into the hash chain. `host/audit/LOG.md` is the reference.
//!
//! A line is written member by member in a fixed order, `hash` last:
//!
//! ```text
//! {"v":1,"seq":1,"time":"…","host":"1.0.0","limits":{…},"as_of":"2026-11-23",
//!  "policy":"…","plugin_version":"…","module_sha256":"…","params_sha256":"…",
//!  ["release":"…",] ["split":{"percent":…,"salt":"…"},] "input":{…},
//!  "decision":{…},"prev":"…","hash":"…"}
//! ```
//!
//! `hash` is the SHA-256 of the line's own bytes with the `,"hash":"…"`
//! member cut out, so checking a line needs no JSON re-encoding (which
//! could change a number's spelling): only a suffix cut and one digest.

use std::borrow::Cow;
use std::io::Write;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::Digest;
use verdict_sdk::Date;

use verdict_engine::{Arm, ArmTag, DecisionRecord, Limits, Sha256, Split, shown_id};

use crate::problem::{ProblemKind, RecordError};

/// The `prev` of the first record: 64 zeros.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The record format version, the `v` of every record.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// How every line ends: `,"hash":"` + 64 hex digits + `"}`.
const HASH_MEMBER_START: &[u8] = b",\"hash\":\"";
const PREV_MEMBER_START: &[u8] = b",\"prev\":\"";
const HASH_SUFFIX_LEN: usize = HASH_MEMBER_START.len() + 64 + 2;

/// The sandbox bounds a decision was made under: fuel, memory and stack
/// decide whether a plugin runs out of them, so they are part of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggedLimits {
    /// Fuel per call.
    pub fuel: u64,
    /// Largest linear memory, in bytes.
    pub memory_bytes: usize,
    /// Largest guest stack, in bytes.
    pub stack_bytes: usize,
}

impl LoggedLimits {
    /// The decision-relevant part of a sandbox's limits.
    #[must_use]
    pub fn of(limits: Limits) -> LoggedLimits {
        LoggedLimits {
            fuel: limits.fuel,
            memory_bytes: limits.memory_bytes,
            stack_bytes: limits.stack_bytes,
        }
    }

    /// Sandbox limits that decide as these did (instance count is a
    /// capacity setting, not part of a decision).
    #[must_use]
    pub fn to_limits(self) -> Limits {
        Limits {
            fuel: self.fuel,
            memory_bytes: self.memory_bytes,
            stack_bytes: self.stack_bytes,
            ..Limits::default()
        }
    }
}

/// What one record says, before it is sealed into the chain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    /// Position in the log, counting from 1.
    pub seq: u64,
    /// When the decision was logged (RFC 3339, UTC).
    pub time: &'a str,
    /// The host version that decided.
    pub host: &'a str,
    /// The sandbox bounds.
    pub limits: LoggedLimits,
    /// The evaluation date.
    pub as_of: Date,
    /// The policy name.
    pub policy: &'a str,
    /// The plugin's version.
    pub plugin_version: &'a str,
    /// SHA-256 of the module bytes.
    pub module_sha256: Sha256,
    /// SHA-256 of the parameter JSON the plugin received.
    pub params_sha256: Sha256,
    /// The digest of the signed release the policy came in, if any.
    pub release: Option<Sha256>,
    /// The rule of the split experiment the decision was part of, if any.
    pub split: Option<&'a Split>,
    /// The customer profile as given, a JSON object.
    pub input: &'a str,
    /// The decision as reported.
    pub decision: &'a DecisionRecord,
    /// `decision` as `serde_json` encodes it, when the caller already has
    /// it (the bytes it printed): written as is instead of encoded again.
    pub decision_json: Option<&'a str>,
}

/// Appends one sealed record line (ending in a newline) to `out`, chained
/// to the record whose hash is `prev`, and returns its hash in hex. The
/// line is encoded in place and hashed as it stands, so a batch of records
/// costs one buffer and no copies.
pub(crate) fn write_record(
    out: &mut Vec<u8>,
    fields: &Fields<'_>,
    prev: &str,
) -> serde_json::Result<String> {
    let start = out.len();
    if let Err(error) = write_canonical(out, fields, prev) {
        out.truncate(start);
        return Err(error);
    }
    Ok(seal(out, start))
}

/// Seals the line that starts at `out[start..]`, a JSON object written up
/// to its last member without the closing `}`: appends `,"hash":"…"}` and
/// a newline, and returns the hash in hex — the SHA-256 of the line as
/// [`content_hash`] reads it back. Decision records and journal entries
/// alike.
pub(crate) fn seal(out: &mut Vec<u8>, start: usize) -> String {
    let mut digest = sha2::Sha256::new_with_prefix(&out[start..]);
    digest.update(b"}");
    let mut hash = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(digest.finalize(), &mut hash);
    out.extend_from_slice(HASH_MEMBER_START);
    out.extend_from_slice(&hash);
    out.extend_from_slice(b"\"}\n");
    String::from_utf8_lossy(&hash).into_owned()
}

/// The canonical bytes without their closing `}`: every member up to and
/// including `prev`.
fn write_canonical(out: &mut Vec<u8>, fields: &Fields<'_>, prev: &str) -> serde_json::Result<()> {
    // Writing to a Vec cannot fail; strings go through serde_json so they
    // are escaped.
    let _ = write!(
        out,
        "{{\"v\":{FORMAT_VERSION},\"seq\":{},\"time\":",
        fields.seq
    );
    serde_json::to_writer(&mut *out, fields.time)?;
    out.extend_from_slice(b",\"host\":");
    serde_json::to_writer(&mut *out, fields.host)?;
    out.extend_from_slice(b",\"limits\":");
    serde_json::to_writer(&mut *out, &fields.limits)?;
    let _ = write!(out, ",\"as_of\":\"{}\",\"policy\":", fields.as_of);
    serde_json::to_writer(&mut *out, fields.policy)?;
    out.extend_from_slice(b",\"plugin_version\":");
    serde_json::to_writer(&mut *out, fields.plugin_version)?;
    // Digests are hex: nothing to escape.
    let _ = write!(
        out,
        ",\"module_sha256\":\"{}\",\"params_sha256\":\"{}\"",
        fields.module_sha256, fields.params_sha256
    );
    if let Some(release) = fields.release {
        let _ = write!(out, ",\"release\":\"{release}\"");
    }
    if let Some(split) = fields.split {
        out.extend_from_slice(b",\"split\":");
        serde_json::to_writer(&mut *out, split)?;
    }
    out.extend_from_slice(b",\"input\":");
    out.extend_from_slice(fields.input.as_bytes());
    out.extend_from_slice(b",\"decision\":");
    match fields.decision_json {
        Some(json) => out.extend_from_slice(json.as_bytes()),
        None => serde_json::to_writer(&mut *out, fields.decision)?,
    }
    out.extend_from_slice(PREV_MEMBER_START);
    out.extend_from_slice(prev.as_bytes());
    out.push(b'"');
    Ok(())
}

/// A record as read back from a log line. Text fields borrow from the line
/// where they hold no escapes; `input` and `decision` are the exact bytes
/// that were written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Record<'a> {
    /// The record format version.
    pub v: u32,
    /// Position in the log, counting from 1.
    pub seq: u64,
    /// When the decision was logged.
    #[serde(borrow)]
    #[expect(
        dead_code,
        reason = "checked to be present and a string when a record is read; no tool reads it yet"
    )]
    pub time: Cow<'a, str>,
    /// The host version that decided.
    #[serde(borrow)]
    #[expect(
        dead_code,
        reason = "checked to be present and a string when a record is read; no tool reads it yet"
    )]
    pub host: Cow<'a, str>,
    /// The sandbox bounds.
    pub limits: LoggedLimits,
    /// The evaluation date, `YYYY-MM-DD`.
    #[serde(borrow)]
    pub as_of: Cow<'a, str>,
    /// The policy name.
    #[serde(borrow)]
    pub policy: Cow<'a, str>,
    /// The plugin's version.
    #[serde(borrow)]
    pub plugin_version: Cow<'a, str>,
    /// SHA-256 of the module bytes.
    #[serde(borrow)]
    pub module_sha256: Cow<'a, str>,
    /// SHA-256 of the parameter JSON.
    #[serde(borrow)]
    pub params_sha256: Cow<'a, str>,
    /// The digest of the signed release the policy came in (absent when
    /// it came in none, and in logs written before releases).
    #[serde(borrow, default)]
    pub release: Option<Cow<'a, str>>,
    /// The rule of the split experiment the decision was part of (absent
    /// outside one, and in a shadow experiment).
    #[serde(default)]
    pub split: Option<Split>,
    /// The customer profile as given.
    #[serde(borrow)]
    pub input: &'a RawValue,
    /// The decision as reported.
    #[serde(borrow)]
    pub decision: &'a RawValue,
    /// The previous record's hash (64 zeros for the first).
    #[serde(borrow)]
    pub prev: Cow<'a, str>,
    /// This record's hash.
    #[serde(borrow)]
    pub hash: Cow<'a, str>,
}

impl Record<'_> {
    /// The evaluation date.
    pub(crate) fn as_of(&self) -> Result<Date, RecordError> {
        self.as_of
            .parse()
            .map_err(|e: verdict_sdk::DateError| RecordError::AsOf(e.to_string()))
    }

    /// The customer's `id`, from the input.
    pub(crate) fn customer(&self) -> Result<String, RecordError> {
        #[derive(Deserialize)]
        struct Id<'a> {
            #[serde(borrow)]
            id: Cow<'a, str>,
        }
        serde_json::from_str::<Id<'_>>(self.input.get())
            .map(|input| input.id.into_owned())
            .map_err(|e| RecordError::NoCustomer(e.to_string()))
    }
}

/// What the decision a record holds says of itself: the members it
/// repeats from the record.
#[derive(Debug, Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    customer: Cow<'a, str>,
    #[serde(borrow)]
    policy: Cow<'a, str>,
    #[serde(borrow)]
    plugin_version: Cow<'a, str>,
    #[serde(borrow)]
    module_sha256: Cow<'a, str>,
    #[serde(borrow, default)]
    release: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    experiment: Option<Cow<'a, str>>,
    #[serde(default)]
    arm: Option<Arm>,
    #[serde(default)]
    answered: Option<bool>,
}

impl Record<'_> {
    /// The first member the decision repeats differently from the record
    /// (`customer`, `policy`, `plugin_version`, `module_sha256`,
    /// `release`), if any,
    /// as [`ProblemKind::Inconsistent`]: a decision a record did not make,
    /// or a record edited without its decision.
    pub(crate) fn disagreement(&self) -> Result<Option<ProblemKind>, RecordError> {
        let named: Named<'_> = serde_json::from_str(self.decision.get())
            .map_err(|e| RecordError::Decision(e.to_string()))?;
        let customer = self.customer()?;
        let pairs: [(&'static str, &str, &str); 5] = [
            ("customer", &customer, &named.customer),
            ("policy", &self.policy, &named.policy),
            (
                "plugin_version",
                &self.plugin_version,
                &named.plugin_version,
            ),
            ("module_sha256", &self.module_sha256, &named.module_sha256),
            (
                "release",
                self.release.as_deref().unwrap_or("none"),
                named.release.as_deref().unwrap_or("none"),
            ),
        ];
        if let Some((member, record, decision)) = pairs
            .into_iter()
            .find(|(_, record, decision)| record != decision)
        {
            return Ok(Some(ProblemKind::Inconsistent {
                member,
                record: record.to_owned(),
                decision: decision.to_owned(),
            }));
        }
        let tag = tag_of(named.experiment.as_deref(), named.arm, named.answered)?;
        Ok(self.wrong_arm(tag, &customer))
    }

    /// How the decision's experiment, arm and `answered` contradict the
    /// experiment's rule for `customer`, if they do: in a split, the rule
    /// the record states; otherwise (shadow) the champion answers.
    fn wrong_arm(&self, tag: Option<ArmTag>, customer: &str) -> Option<ProblemKind> {
        let Some(tag) = tag else {
            return self.split.is_some().then(|| ProblemKind::Inconsistent {
                member: "split",
                record: "a split experiment".to_owned(),
                decision: "none".to_owned(),
            });
        };
        let (answering, rule) = match &self.split {
            Some(split) => (
                split.arm(&tag.experiment, customer),
                format!(
                    "the challenger answers {}% of customers, salt `{}`",
                    split.percent,
                    shown_id(&split.salt)
                ),
            ),
            None => (Arm::Champion, "shadow: the champion answers".to_owned()),
        };
        (tag.answered != (tag.arm == answering)).then(|| ProblemKind::WrongArm {
            experiment: tag.experiment.to_string(),
            arm: tag.arm,
            answered: tag.answered,
            answering,
            rule,
        })
    }
}

/// The experiment, arm and answer a decision's JSON names, if any.
pub(crate) fn tag(decision: &str) -> Result<Option<ArmTag>, RecordError> {
    let named: Named<'_> =
        serde_json::from_str(decision).map_err(|e| RecordError::Decision(e.to_string()))?;
    tag_of(named.experiment.as_deref(), named.arm, named.answered)
}

/// A decision's `experiment`, `arm` and `answered` as a tag: all three or
/// none.
fn tag_of(
    experiment: Option<&str>,
    arm: Option<Arm>,
    answered: Option<bool>,
) -> Result<Option<ArmTag>, RecordError> {
    match (experiment, arm, answered) {
        (Some(experiment), Some(arm), Some(answered)) => Ok(Some(ArmTag {
            experiment: experiment.into(),
            arm,
            answered,
        })),
        (None, None, None) => Ok(None),
        _ => Err(RecordError::Decision(
            "a decision of an experiment names its `experiment`, `arm` and `answered` together"
                .to_owned(),
        )),
    }
}

/// A line read back: the record, its digests, and whether its content
/// matches its hash.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    /// The record.
    pub record: Record<'a>,
    /// Its `module_sha256`.
    pub module_sha256: Sha256,
    /// Its `params_sha256`.
    pub params_sha256: Sha256,
    /// Its `release`, if it names one.
    pub release: Option<Sha256>,
    /// Whether the line's bytes hash to its `hash`.
    pub intact: bool,
}

/// `text` as a digest, if it is one written as the log writes them (64
/// lowercase hex digits).
fn logged_digest(name: &'static str, text: &str) -> Result<Sha256, RecordError> {
    match text.parse::<Sha256>() {
        Ok(digest) if !text.bytes().any(|b| b.is_ascii_uppercase()) => Ok(digest),
        _ => Err(RecordError::NotDigest(name)),
    }
}

/// Reads one line (without its newline). An error says why the line is not
/// a record of this format at all.
pub(crate) fn parse(line: &[u8]) -> Result<Parsed<'_>, RecordError> {
    if line.is_empty() {
        return Err(RecordError::Empty);
    }
    let record: Record<'_> =
        serde_json::from_slice(line).map_err(|e| RecordError::NotRecord(e.to_string()))?;
    if record.v != FORMAT_VERSION {
        return Err(RecordError::Version {
            found: record.v,
            reads: FORMAT_VERSION,
        });
    }
    logged_digest("hash", &record.hash)?;
    logged_digest("prev", &record.prev)?;
    let module_sha256 = logged_digest("module_sha256", &record.module_sha256)?;
    let params_sha256 = logged_digest("params_sha256", &record.params_sha256)?;
    let release = record
        .release
        .as_deref()
        .map(|text| logged_digest("release", text))
        .transpose()?;
    let intact = content_hash(line).is_some_and(|hash| hash == record.hash);
    Ok(Parsed {
        record,
        module_sha256,
        params_sha256,
        release,
        intact,
    })
}

/// The SHA-256 (hex) of a line's canonical bytes: the line without its
/// final `,"hash":"…"` member. `None` when the line does not end with one.
#[must_use]
pub(crate) fn content_hash(line: &[u8]) -> Option<String> {
    let cut = line.len().checked_sub(HASH_SUFFIX_LEN)?;
    let suffix = &line[cut..];
    if !suffix.starts_with(HASH_MEMBER_START) || !suffix.ends_with(b"\"}") {
        return None;
    }
    let mut digest = sha2::Sha256::new_with_prefix(&line[..cut]);
    digest.update(b"}");
    Some(hex::encode(digest.finalize()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use serde_json::Map;

    use super::*;

    fn decision() -> DecisionRecord {
        DecisionRecord::stored(
            "C-1".into(),
            "p".into(),
            "1.0.0".into(),
            "a".repeat(64).parse().unwrap(),
            verdict_sdk::Decision {
                outcome: "approve".into(),
                value: Map::new(),
                reasons: Vec::new(),
            },
        )
    }

    fn line(prev: &str) -> (Vec<u8>, String) {
        line_of(prev, &decision(), None)
    }

    /// The line of `decision`, its record naming `release`.
    fn line_of(
        prev: &str,
        decision: &DecisionRecord,
        release: Option<Sha256>,
    ) -> (Vec<u8>, String) {
        let module: Sha256 = "a".repeat(64).parse().unwrap();
        let params: Sha256 = "b".repeat(64).parse().unwrap();
        let fields = Fields {
            seq: 1,
            time: "2026-01-01T00:00:00.000000Z",
            host: "1.0.0",
            limits: LoggedLimits::of(Limits::default()),
            as_of: Date::new(2026, 11, 23).unwrap(),
            policy: "p",
            plugin_version: "1.0.0",
            module_sha256: module,
            params_sha256: params,
            release,
            split: None,
            input: r#"{"id":"C-1","x":1.5}"#,
            decision,
            decision_json: None,
        };
        let mut out = b"earlier bytes stay\n".to_vec();
        let hash = write_record(&mut out, &fields, prev).unwrap();
        (out[19..].to_vec(), hash)
    }

    #[test]
    fn a_sealed_line_reads_back_intact() {
        let (out, hash) = line(GENESIS);
        assert_eq!(out.last(), Some(&b'\n'));
        let text = &out[..out.len() - 1];
        let parsed = parse(text).unwrap();
        assert!(parsed.intact);
        assert_eq!(parsed.record.hash, hash);
        assert_eq!(parsed.record.prev, GENESIS);
        assert_eq!(parsed.record.input.get(), r#"{"id":"C-1","x":1.5}"#);
        assert_eq!(parsed.record.customer().unwrap(), "C-1");
        assert_eq!(
            parsed.record.decision.get(),
            serde_json::to_string(&decision()).unwrap()
        );
        // The documented recipe: cut the hash member, hash the rest.
        let canonical = String::from_utf8(text.to_vec())
            .unwrap()
            .replace(&format!(",\"hash\":\"{hash}\""), "");
        assert_eq!(Sha256::of(canonical.as_bytes()).to_string(), hash);
    }

    #[test]
    fn an_edited_byte_breaks_the_hash() {
        let (mut out, _) = line(GENESIS);
        out.pop();
        let at = out.windows(3).position(|w| w == b"1.5").unwrap();
        out[at + 2] = b'6';
        assert!(!parse(&out).unwrap().intact);
    }

    #[test]
    fn a_release_is_an_optional_member_the_decision_must_repeat() {
        let (plain, _) = line(GENESIS);
        assert!(parse(&plain[..plain.len() - 1]).unwrap().release.is_none());

        let release: Sha256 = "c".repeat(64).parse().unwrap();
        let decided = |text: &str| -> DecisionRecord { serde_json::from_str(text).unwrap() };
        let with = serde_json::to_string(&decision()).unwrap().replace(
            ",\"outcome\"",
            &format!(",\"release\":\"{release}\",\"outcome\""),
        );
        let (out, _) = line_of(GENESIS, &decided(&with), Some(release));
        let text = String::from_utf8(out[..out.len() - 1].to_vec()).unwrap();
        assert!(
            text.contains(&format!(
                "\"params_sha256\":\"{}\",\"release\":\"{release}\",\"input\"",
                "b".repeat(64)
            )),
            "{text}"
        );
        let parsed = parse(text.as_bytes()).unwrap();
        assert!(parsed.intact);
        assert_eq!(parsed.release, Some(release));
        assert_eq!(parsed.record.disagreement().unwrap(), None);

        // A record naming a release its decision does not (or the other
        // way round) is inconsistent.
        let (out, _) = line_of(GENESIS, &decision(), Some(release));
        let parsed = parse(&out[..out.len() - 1]).unwrap();
        assert!(matches!(
            parsed.record.disagreement().unwrap(),
            Some(ProblemKind::Inconsistent {
                member: "release",
                ..
            })
        ));
        let (out, _) = line_of(GENESIS, &decided(&with), None);
        let parsed = parse(&out[..out.len() - 1]).unwrap();
        assert!(matches!(
            parsed.record.disagreement().unwrap(),
            Some(ProblemKind::Inconsistent {
                member: "release",
                ..
            })
        ));
    }

    #[test]
    fn prev_is_part_of_the_hash() {
        let (_, a) = line(GENESIS);
        let (_, b) = line(&"1".repeat(64));
        assert_ne!(a, b);
    }
}
