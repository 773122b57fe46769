//! Unit and property tests of loan-rates, run natively.

use proptest::prelude::*;
use verdict_sdk::domain::lending::LoanRequest;
use verdict_sdk::serde_json::json;
use verdict_sdk::testing::{
    assert_english_fallback, assert_shipped_defaults, birthday, check, check_params, date,
    decide_in_each, in_lang, message, problem_paths, values,
};
use verdict_sdk::{Customer, Date, Decision, Input, Lang, ParamError, Params as _};

use super::{Params, SurchargeBand, evaluate};

fn as_of() -> Date {
    date(2026, 11, 23)
}

/// Someone born on `born` asking for a loan of `kind` (none if `None`).
fn applicant_born(born: Date, kind: Option<&str>) -> Input {
    let mut customer = Customer::new("C-TEST", born);
    customer.loan_request = kind.map(|kind| LoanRequest::new(kind).with_amount_usd(10_000.0));
    Input::new(as_of(), customer)
}

/// Someone whose birthday is today: `age` exactly.
fn applicant(age: u32, kind: &str) -> Input {
    applicant_born(birthday(as_of(), age), Some(kind))
}

/// The languages the messages are translated into; any other is English.
const TRANSLATED: [Lang; 6] = [Lang::En, Lang::Pt, Lang::Fr, Lang::Sv, Lang::Hu, Lang::Id];

fn decide(input: &Input) -> Decision {
    evaluate(input, &Params::default())
}

#[track_caller]
fn check_quote(decision: &Decision, rate: f64, band: &str) {
    check(decision, "quote", "rate-quoted");
    let expected = json!({ "annual_rate_pct": rate, "age_band": band });
    assert_eq!(values(decision), expected);
}

#[test]
fn no_loan_request_is_not_applicable() {
    let decision = decide(&applicant_born(date(1990, 1, 1), None));
    check(&decision, "not-applicable", "no-loan-request");
    assert!(decision.value.is_empty());
    assert_eq!(message(&decision), "The customer has not requested a loan.");
}

#[test]
fn seventeen_is_a_minor_eighteen_is_not() {
    let decision = decide(&applicant(17, "car"));
    check(&decision, "deny", "minor");
    assert!(decision.value.is_empty());
    assert_eq!(
        message(&decision),
        "Loans are available from age 18; the customer is 17."
    );
    check_quote(&decide(&applicant(18, "car")), 5.4, "18-24");
}

#[test]
fn the_day_before_the_eighteenth_birthday_is_still_a_minor() {
    let decision = decide(&applicant_born(date(2008, 11, 24), Some("student")));
    check(&decision, "deny", "minor");
}

#[test]
fn leap_day_birthday_turns_eighteen_on_the_first_of_march() {
    let mut input = applicant_born(date(2008, 2, 29), Some("student"));
    input.as_of = date(2026, 2, 28);
    check(&decide(&input), "deny", "minor");
    input.as_of = date(2026, 3, 1);
    check_quote(&decide(&input), 2.9, "18-24");
}

#[test]
fn minor_is_checked_before_the_loan_type() {
    check(&decide(&applicant(16, "boat")), "deny", "minor");
}

#[test]
fn unknown_loan_type_is_denied() {
    let decision = decide(&applicant(40, "boat"));
    check(&decision, "deny", "unknown-loan-type");
    assert!(decision.value.is_empty());
    assert_eq!(
        message(&decision),
        "\"boat\" is not a loan type we offer; we offer: car, mortgage, personal, student."
    );
}

#[test]
fn band_edges() {
    let cases = [
        (24, 5.4, "18-24"),
        (25, 5.65, "25-34"),
        (34, 5.65, "25-34"),
        (35, 6.15, "35-49"),
        (49, 6.15, "35-49"),
        (50, 6.9, "50-64"),
        (64, 6.9, "50-64"),
        (65, 7.9, "65+"),
        (120, 7.9, "65+"),
    ];
    for (age, rate, band) in cases {
        check_quote(&decide(&applicant(age, "car")), rate, band);
    }
}

#[test]
fn student_loans_stop_after_twenty_nine() {
    check_quote(&decide(&applicant(29, "student")), 3.15, "25-34");
    let decision = decide(&applicant(30, "student"));
    check(&decision, "deny", "not-eligible");
    assert!(decision.value.is_empty());
    assert_eq!(
        message(&decision),
        "A student loan is available only up to age 29; the customer is 30."
    );
}

#[test]
fn mortgages_stop_after_sixty_nine() {
    check_quote(&decide(&applicant(69, "mortgage")), 6.6, "65+");
    let decision = decide(&applicant(70, "mortgage"));
    check(&decision, "deny", "not-eligible");
    assert_eq!(
        message(&decision),
        "A mortgage is available only up to age 69; the customer is 70."
    );
}

#[test]
fn each_type_is_quoted() {
    check_quote(&decide(&applicant(22, "student")), 2.9, "18-24");
    check_quote(&decide(&applicant(30, "car")), 5.65, "25-34");
    check_quote(&decide(&applicant(41, "mortgage")), 4.85, "35-49");
    check_quote(&decide(&applicant(58, "personal")), 8.4, "50-64");
    let decision = decide(&applicant(41, "mortgage"));
    assert_eq!(
        message(&decision),
        "The annual rate for this mortgage is 4.85%: a base rate of 4.10% plus a surcharge of \
         0.75% for the 35-49 age band."
    );
}

#[test]
fn a_type_added_by_the_operators_is_quoted_by_name() {
    let mut params = Params::default();
    params.base_rates_pct.insert("boat".to_owned(), 7.05);
    assert_eq!(params.validate(), Ok(()));
    let decision = evaluate(&applicant(70, "boat"), &params);
    check_quote(&decision, 9.55, "65+");
    assert!(message(&decision).starts_with("The annual rate for this \"boat\" loan is 9.55%"));
}

#[test]
fn each_language_is_picked_and_others_fall_back_to_english() {
    let cases = [
        (
            "pt",
            "A taxa anual deste financiamento de veículo é de 5,65%",
        ),
        ("fr", "Le taux annuel de ce prêt auto est de 5,65\u{a0}%"),
        ("sv", "Årsräntan för detta billån är 5,65\u{a0}%"),
        ("hu", "Az éves kamat 5,65% (autóhitel)"),
        (
            "id",
            "Suku bunga tahunan untuk kredit kendaraan ini adalah 5,65%",
        ),
        ("de", "The annual rate for this car loan is 5.65%"),
        ("en-GB", "The annual rate for this car loan is 5.65%"),
    ];
    for (tag, expected) in cases {
        let decision = decide(&in_lang(applicant(30, "car"), tag));
        check_quote(&decision, 5.65, "25-34");
        assert!(
            message(&decision).starts_with(expected),
            "{tag}: {decision:?}"
        );
    }
}

#[test]
fn a_language_not_translated_here_gets_the_english_messages() {
    let input = applicant(40, "car");
    // Languages the SDK recognizes but this plugin does not translate (none
    // today), then tags the SDK does not recognize.
    assert_english_fallback(&TRANSLATED, &input, decide);
}

#[test]
fn every_message_exists_in_every_language() {
    let mut no_band = Params::default();
    no_band.surcharge_bands.truncate(2);
    let cases = [
        (
            applicant_born(date(1990, 1, 1), None),
            Params::default(),
            "not-applicable",
            None,
        ),
        (applicant(17, "car"), Params::default(), "deny", Some("17")),
        (
            applicant(40, "boat"),
            Params::default(),
            "deny",
            Some("boat"),
        ),
        (
            applicant(30, "student"),
            Params::default(),
            "deny",
            Some("29"),
        ),
        (
            applicant(70, "mortgage"),
            Params::default(),
            "deny",
            Some("69"),
        ),
        (applicant(40, "car"), no_band, "deny", Some("40")),
        (
            applicant(40, "personal"),
            Params::default(),
            "quote",
            Some("35-49"),
        ),
    ];
    for (input, params, outcome, figure) in cases {
        let decide = |input: &Input| evaluate(input, &params);
        for decision in decide_in_each(&TRANSLATED, &input, figure, decide) {
            assert_eq!(decision.outcome, outcome, "{decision:?}");
        }
    }
}

#[test]
fn defaults_are_the_shipped_ones_and_valid() {
    assert_shipped_defaults::<Params>(&json!({
            "base_rates_pct": { "car": 5.4, "mortgage": 4.1, "personal": 6.9, "student": 2.9 },
            "min_age": 18,
            "surcharge_bands": [
                { "min_age": 18, "max_age": 24, "surcharge_pct": 0.0 },
                { "min_age": 25, "max_age": 34, "surcharge_pct": 0.25 },
                { "min_age": 35, "max_age": 49, "surcharge_pct": 0.75 },
                { "min_age": 50, "max_age": 64, "surcharge_pct": 1.5 },
                { "min_age": 65, "surcharge_pct": 2.5 },
            ],
            "student_max_age": 29,
            "mortgage_max_age": 69,
    }));
    let names: Vec<String> = Params::schema().into_iter().map(|spec| spec.name).collect();
    assert_eq!(
        names,
        [
            "base_rates_pct",
            "min_age",
            "surcharge_bands",
            "student_max_age",
            "mortgage_max_age"
        ]
    );
}

/// The paths `validate` reports for the default params changed by `change`.
fn problems(change: impl FnOnce(&mut Params)) -> Vec<String> {
    let mut params = Params::default();
    change(&mut params);
    problem_paths(&params)
}

fn band(min_age: u32, max_age: Option<u32>, surcharge_pct: f64) -> SurchargeBand {
    SurchargeBand {
        min_age,
        max_age,
        surcharge_pct,
    }
}

#[test]
fn a_gap_between_bands_is_refused() {
    assert_eq!(
        problems(|p| p.surcharge_bands[2].min_age = 36),
        ["surcharge_bands[2].min_age"]
    );
}

#[test]
fn overlapping_bands_are_refused() {
    assert_eq!(
        problems(|p| p.surcharge_bands[1].max_age = Some(40)),
        ["surcharge_bands[2].min_age"]
    );
    let mut params = Params::default();
    params.surcharge_bands[3].min_age = 45;
    let errors = params.validate().err().unwrap_or_default();
    assert_eq!(
        errors,
        [ParamError::new(
            "surcharge_bands[3].min_age",
            "overlaps after the band ending at 49: must be 50, not 45"
        )]
    );
}

#[test]
fn the_first_band_starts_at_min_age() {
    assert_eq!(problems(|p| p.min_age = 16), ["surcharge_bands[0].min_age"]);
    assert_eq!(
        problems(|p| p.surcharge_bands[0].min_age = 19),
        ["surcharge_bands[0].min_age"]
    );
}

#[test]
fn a_band_ends_after_it_starts() {
    assert_eq!(
        problems(|p| p.surcharge_bands[1] = band(25, Some(20), 0.25)),
        ["surcharge_bands[1].max_age", "surcharge_bands[2].min_age"]
    );
}

#[test]
fn only_the_last_band_is_open_ended_and_it_must_be() {
    assert_eq!(
        problems(|p| p.surcharge_bands[4].max_age = Some(99)),
        ["surcharge_bands[4].max_age"]
    );
    assert_eq!(
        problems(|p| p.surcharge_bands[3].max_age = None),
        ["surcharge_bands[3].max_age"]
    );
    assert_eq!(problems(|p| p.surcharge_bands.clear()), ["surcharge_bands"]);
}

#[test]
fn negative_or_sub_basis_point_rates_are_refused() {
    assert_eq!(
        problems(|p| p.surcharge_bands[2].surcharge_pct = -0.25),
        ["surcharge_bands[2].surcharge_pct"]
    );
    assert_eq!(
        problems(|p| p.surcharge_bands[0].surcharge_pct = 0.125),
        ["surcharge_bands[0].surcharge_pct"]
    );
    assert_eq!(
        problems(|p| {
            p.base_rates_pct.insert("car".to_owned(), -1.0);
            p.base_rates_pct.insert("student".to_owned(), 2.905);
        }),
        ["base_rates_pct.car", "base_rates_pct.student"]
    );
}

#[test]
fn params_decode_strictly() {
    let check = check_params::<Params>;
    assert_eq!(check(r#"{"min_age": 18}"#), []);
    let problems = check(r#"{"surcharge_bands": [{"min_age": 18, "surcharge": 0}]}"#);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains("unknown field"),
        "{problems:?}"
    );
    let problems = check(
        r#"{"surcharge_bands": [{"min_age": 18, "max_age": 30, "surcharge_pct": 0},
                                {"min_age": 30, "surcharge_pct": 1}]}"#,
    );
    assert_eq!(
        problems.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
        ["surcharge_bands[1].min_age"]
    );
}

/// The default rate card, written out independently of `Params::default`.
fn expected_bp(kind: &str, age: u32) -> (i64, &'static str) {
    let base = match kind {
        "student" => 290,
        "car" => 540,
        "mortgage" => 410,
        _ => 690,
    };
    let (surcharge, band) = match age {
        18..=24 => (0, "18-24"),
        25..=34 => (25, "25-34"),
        35..=49 => (75, "35-49"),
        50..=64 => (150, "50-64"),
        _ => (250, "65+"),
    };
    (base + surcharge, band)
}

proptest! {
    /// For any birth date giving an age of 18 to 120, the quote is base plus
    /// band surcharge, or `not-eligible` past the age limit of the type.
    #[test]
    fn rate_is_base_plus_band_surcharge(
        age in 18u32..=120,
        kind in prop::sample::select(vec!["student", "car", "mortgage", "personal"]),
        month in 1u8..=12,
        day in 1u8..=28,
    ) {
        // Born on (month, day) and `age` on 2026-11-23.
        let year = 2026 - i32::try_from(age).unwrap_or(0) - i32::from((month, day) > (11, 23));
        let input = applicant_born(date(year, month, day), Some(kind));
        prop_assert_eq!(input.age(), age);
        let decision = decide(&input);
        let too_old = (kind == "student" && age > 29) || (kind == "mortgage" && age > 69);
        if too_old {
            prop_assert_eq!(decision.outcome.as_str(), "deny");
            prop_assert_eq!(decision.codes(), ["not-eligible"]);
        } else {
            let (bp, band) = expected_bp(kind, age);
            prop_assert_eq!(decision.outcome.as_str(), "quote");
            prop_assert_eq!(decision.codes(), ["rate-quoted"]);
            prop_assert_eq!(decision.value.get("annual_rate_pct"), Some(&json!(bp as f64 / 100.0)));
            prop_assert_eq!(decision.value.get("age_band"), Some(&json!(band)));
            let rate = format!("{}.{:02}%", bp / 100, bp % 100);
            prop_assert!(message(&decision).contains(&rate), "{}", message(&decision));
        }
    }
}
