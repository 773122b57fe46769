//! What a plugin's native tests share: dates and inputs to decide on,
//! checks of a decision, the language checks every translated plugin makes,
//! the parameter problems as the host sees them, the shipped defaults, and
//! the recorded decisions of `tests/decisions.txt`.
//!
//! Behind the `testing` feature, which a plugin enables for its tests only:
//!
//! ```toml
//! [dev-dependencies]
//! verdict-sdk = { workspace = true, features = ["testing"] }
//! ```
//!
//! The helpers panic (with the decision at fault) instead of returning
//! errors: they are for `#[test]` functions.
//!
//! ```
//! use verdict_sdk::testing::{birthday, check, date, in_lang, message};
//! use verdict_sdk::{Customer, Decision, Input};
//!
//! fn evaluate(input: &Input, _: &()) -> Decision {
//!     Decision::new("allow").because("adult", format!("{} years.", input.age()))
//! }
//!
//! let as_of = date(2026, 11, 23);
//! let input = Input::new(as_of, Customer::new("C-1", birthday(as_of, 18)));
//! let decision = evaluate(&in_lang(input, "pt"), &());
//! check(&decision, "allow", "adult");
//! assert_eq!(message(&decision), "18 years.");
//! ```
#![allow(
    clippy::panic,
    reason = "test helpers fail the test that calls them, by panicking"
)]

use serde_json::Value;

use crate::{Date, Decision, Input, Lang, ParamError, Params, glue};

/// A date known to exist; panics on one that does not.
#[must_use]
#[track_caller]
pub fn date(year: i32, month: u8, day: u8) -> Date {
    Date::new(year, month, day).unwrap_or_else(|error| panic!("{error}"))
}

/// The birth date of someone who turns `age` on `as_of` itself: exactly
/// `age` on that day, one less the day before. Panics when `as_of` is a
/// 29 February whose year `age` years back has none.
#[must_use]
#[track_caller]
pub fn birthday(as_of: Date, age: u32) -> Date {
    let years = i32::try_from(age).unwrap_or(i32::MAX);
    date(
        as_of.year().saturating_sub(years),
        as_of.month(),
        as_of.day(),
    )
}

/// `input` with the customer's `language` tag set to `tag`.
#[must_use]
pub fn in_lang(mut input: Input, tag: &str) -> Input {
    input.customer.language = Some(tag.to_owned());
    input
}

/// Checks a decision's outcome and that it gives exactly one reason, with
/// this code.
#[track_caller]
pub fn check(decision: &Decision, outcome: &str, code: &str) {
    assert_eq!(decision.outcome, outcome, "{decision:?}");
    assert_eq!(decision.codes(), [code], "{decision:?}");
}

/// The message of the decision's first reason; empty when it has none.
#[must_use]
pub fn message(decision: &Decision) -> &str {
    decision.reasons.first().map_or("", |r| r.message.as_str())
}

/// The decision's values, as the JSON object a decision record holds (to
/// compare with `json!({...})`).
#[must_use]
pub fn values(decision: &Decision) -> Value {
    Value::Object(decision.value.clone())
}

/// Checks that every language the SDK recognizes but the plugin does not
/// translate (those not in `translated`), and tags the SDK does not
/// recognize at all, get exactly the English decision on `input`.
#[track_caller]
pub fn assert_english_fallback(
    translated: &[Lang],
    input: &Input,
    decide: impl Fn(&Input) -> Decision,
) {
    let english = decide(&in_lang(input.clone(), "en"));
    let others = Lang::ALL.iter().filter(|lang| !translated.contains(lang));
    for tag in others.map(|lang| lang.code()).chain(["de", "zh-Hant", ""]) {
        assert_eq!(decide(&in_lang(input.clone(), tag)), english, "{tag}");
    }
}

/// Decides `input` in each language of `translated` and checks that every
/// decision has one reason, whose message is a sentence (it ends with a
/// full stop), quotes `figure` when given, and differs from the message in
/// every other language (none is left untranslated). Returns the
/// decisions, in the order of `translated`, for further checks.
#[track_caller]
pub fn decide_in_each(
    translated: &[Lang],
    input: &Input,
    figure: Option<&str>,
    decide: impl Fn(&Input) -> Decision,
) -> Vec<Decision> {
    let mut seen: Vec<String> = Vec::new();
    let mut decisions = Vec::new();
    for lang in translated {
        let decision = decide(&in_lang(input.clone(), lang.code()));
        assert_eq!(decision.reasons.len(), 1, "{lang:?}: {decision:?}");
        let text = message(&decision).to_owned();
        assert!(text.ends_with('.'), "{lang:?}: {text}");
        if let Some(figure) = figure {
            assert!(text.contains(figure), "{lang:?}: {text}");
        }
        assert!(
            !seen.contains(&text),
            "{lang:?} repeats another language: {text}"
        );
        seen.push(text);
        decisions.push(decision);
    }
    decisions
}

/// The problems `verdict_check_params` answers for a parameter set in
/// JSON, as the host reads them: empty when the set is good.
#[must_use]
pub fn check_params<P: Params>(json: &str) -> Vec<ParamError> {
    let answer = glue::check_params_json::<P>(json.as_bytes());
    serde_json::from_slice(&answer).unwrap_or_else(|error| panic!("{error}"))
}

/// Checks the shipped parameters, `P::default()`: they are valid, encode
/// to `expected`, and every top-level key of theirs is declared in
/// [`Params::schema`] with a description, and nothing else is.
#[track_caller]
pub fn assert_shipped_defaults<P: Params>(expected: &Value) {
    let params = P::default();
    assert_eq!(params.validate(), Ok(()));
    let encoded = serde_json::to_value(&params).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(&encoded, expected);
    let mut declared: Vec<String> = P::schema().into_iter().map(|spec| spec.name).collect();
    declared.sort();
    let keys: Vec<&String> = encoded
        .as_object()
        .map(|map| map.keys().collect())
        .unwrap_or_default();
    assert_eq!(
        declared.iter().collect::<Vec<_>>(),
        keys,
        "declared parameters"
    );
    assert!(
        P::schema().iter().all(|spec| !spec.description.is_empty()),
        "every parameter is described"
    );
}

/// Checks every answer of a recorded-decisions file with
/// [`glue::check_recorded`], and that there are at least `at_least` of
/// them; the first difference fails the test in words.
#[track_caller]
pub fn assert_recorded<P: Params>(
    recorded: &str,
    policy: fn(&Input, &P) -> Decision,
    at_least: usize,
) {
    match glue::check_recorded::<P>(recorded, policy) {
        Ok(checked) => assert!(
            checked >= at_least,
            "only {checked} recorded answers, fewer than {at_least}"
        ),
        Err(error) => panic!("{error}"),
    }
}

/// The paths of the problems [`Params::validate`] finds, in its order.
#[must_use]
pub fn problem_paths<P: Params>(params: &P) -> Vec<String> {
    let problems = params.validate().err().unwrap_or_default();
    problems.into_iter().map(|problem| problem.path).collect()
}
