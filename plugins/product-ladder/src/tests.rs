//! Unit and property tests of product-ladder, run natively.

use proptest::prelude::*;
use verdict_sdk::serde_json::{Value, json};
use verdict_sdk::testing::{
    self, assert_english_fallback, assert_shipped_defaults, birthday, check_params, date,
    decide_in_each, in_lang, message, problem_paths, values,
};
use verdict_sdk::{Customer, Date, Decision, Input, Lang, ParamError, Params as _};

use super::{Params, Rung, evaluate};

/// A customer born on `born` holding `products`, evaluated on 2026-11-23.
fn customer_born(born: Date, products: &[&str]) -> Input {
    let mut customer = Customer::new("C-TEST", born);
    customer.products = products.iter().map(|p| (*p).to_owned()).collect();
    Input::new(date(2026, 11, 23), customer)
}

/// A customer whose birthday is today: `age` exactly.
fn customer(age: u32, products: &[&str]) -> Input {
    customer_born(birthday(date(2026, 11, 23), age), products)
}

/// The languages the messages are translated into; any other is English.
const TRANSLATED: [Lang; 6] = [Lang::En, Lang::Pt, Lang::Fr, Lang::Sv, Lang::Hu, Lang::Id];

fn decide(input: &Input) -> Decision {
    evaluate(input, &Params::default())
}

#[track_caller]
fn check(decision: &Decision, outcome: &str, code: &str, value: Value) {
    testing::check(decision, outcome, code);
    assert_eq!(values(decision), value, "{decision:?}");
}

#[test]
fn ten_is_too_young() {
    let decision = decide(&customer(10, &[]));
    check(
        &decision,
        "none",
        "too-young",
        json!({ "stage": null, "products": [] }),
    );
    assert_eq!(
        message(&decision),
        "Our products start at age 11; the customer is 10."
    );
}

#[test]
fn the_day_before_the_eleventh_birthday_is_too_young() {
    let decision = decide(&customer_born(date(2015, 11, 24), &[]));
    check(
        &decision,
        "none",
        "too-young",
        json!({ "stage": null, "products": [] }),
    );
}

#[test]
fn rung_edges() {
    let cases = [
        (11, "youth", json!(["live-cash-account"])),
        (15, "youth", json!(["live-cash-account"])),
        (16, "student", json!(["student-account", "student-loan"])),
        (24, "student", json!(["student-account", "student-loan"])),
        (25, "starter", json!(["credit-card", "personal-loan"])),
        (34, "starter", json!(["credit-card", "personal-loan"])),
        (35, "family", json!(["mortgage", "savings-account"])),
        (54, "family", json!(["mortgage", "savings-account"])),
        (55, "retirement", json!(["pension", "wealth-management"])),
        (104, "retirement", json!(["pension", "wealth-management"])),
    ];
    for (age, stage, products) in cases {
        let decision = decide(&customer(age, &[]));
        check(
            &decision,
            "offer",
            "next-products",
            json!({ "stage": stage, "products": products }),
        );
    }
}

#[test]
fn a_thirteen_year_old_with_a_cash_account_has_completed_the_youth_rung() {
    let decision = decide(&customer(13, &["live-cash-account"]));
    check(
        &decision,
        "none",
        "ladder-complete",
        json!({ "stage": "youth", "products": [] }),
    );
    assert_eq!(
        message(&decision),
        "At 13, the customer is in the \"youth\" stage and already holds all of its products."
    );
}

#[test]
fn held_products_are_left_out_and_the_order_kept() {
    let decision = decide(&customer(40, &["savings-account", "credit-card"]));
    check(
        &decision,
        "offer",
        "next-products",
        json!({ "stage": "family", "products": ["mortgage"] }),
    );
    let decision = decide(&customer(20, &["student-loan", "live-cash-account"]));
    check(
        &decision,
        "offer",
        "next-products",
        json!({ "stage": "student", "products": ["student-account"] }),
    );
    assert_eq!(
        message(&decision),
        "At 20, the customer is in the \"student\" stage; we offer: student-account."
    );
}

#[test]
fn products_of_earlier_rungs_do_not_count() {
    // Holding a student loan does not complete the starter rung.
    let decision = decide(&customer(25, &["student-account", "student-loan"]));
    check(
        &decision,
        "offer",
        "next-products",
        json!({ "stage": "starter", "products": ["credit-card", "personal-loan"] }),
    );
}

#[test]
fn each_language_is_picked_and_others_fall_back_to_english() {
    let cases = [
        (
            "pt",
            "Aos 30 anos, o cliente está na fase \"starter\"; oferecemos: credit-card, personal-loan.",
        ),
        (
            "fr",
            "À 30 ans, le client est à l'étape « starter » ; nous proposons : credit-card, personal-loan.",
        ),
        (
            "sv",
            "Vid 30 års ålder är kunden i steget ”starter”; vi erbjuder: credit-card, personal-loan.",
        ),
        (
            "hu",
            "Az ügyfél 30 éves, így ebben a szakaszban van: „starter”; ajánlatunk: credit-card, personal-loan.",
        ),
        (
            "id",
            "Pada usia 30 tahun, nasabah berada di tahap \"starter\"; kami menawarkan: credit-card, personal-loan.",
        ),
        (
            "de",
            "At 30, the customer is in the \"starter\" stage; we offer: credit-card, personal-loan.",
        ),
    ];
    for (tag, expected) in cases {
        let decision = decide(&in_lang(customer(30, &[]), tag));
        assert_eq!(message(&decision), expected, "{tag}");
    }
}

#[test]
fn a_language_not_translated_here_gets_the_english_messages() {
    let input = customer(60, &["pension"]);
    // Languages the SDK recognizes but this plugin does not translate (none
    // today), then tags the SDK does not recognize.
    assert_english_fallback(&TRANSLATED, &input, decide);
}

#[test]
fn every_message_exists_in_every_language() {
    let inputs = [
        (customer(9, &[]), "9"),
        (customer(13, &["live-cash-account"]), "youth"),
        (customer(60, &["pension"]), "wealth-management"),
    ];
    for (input, figure) in inputs {
        decide_in_each(&TRANSLATED, &input, Some(figure), decide);
    }
}

#[test]
fn defaults_are_the_shipped_ones_and_valid() {
    assert_shipped_defaults::<Params>(&json!({ "rungs": [
            { "stage": "youth", "min_age": 11, "max_age": 15, "products": ["live-cash-account"] },
            { "stage": "student", "min_age": 16, "max_age": 24,
              "products": ["student-account", "student-loan"] },
            { "stage": "starter", "min_age": 25, "max_age": 34,
              "products": ["credit-card", "personal-loan"] },
            { "stage": "family", "min_age": 35, "max_age": 54,
              "products": ["mortgage", "savings-account"] },
            { "stage": "retirement", "min_age": 55, "products": ["pension", "wealth-management"] },
    ]}));
    let names: Vec<String> = Params::schema().into_iter().map(|spec| spec.name).collect();
    assert_eq!(names, ["rungs"]);
}

/// The paths `validate` reports for the default params changed by `change`.
fn problems(change: impl FnOnce(&mut Vec<Rung>)) -> Vec<String> {
    let mut params = Params::default();
    change(&mut params.rungs);
    problem_paths(&params)
}

#[test]
fn gaps_and_overlaps_are_refused() {
    assert_eq!(problems(|r| r[2].min_age = 26), ["rungs[2].min_age"]);
    assert_eq!(problems(|r| r[0].max_age = Some(16)), ["rungs[1].min_age"]);
    let mut params = Params::default();
    params.rungs[4].min_age = 57;
    assert_eq!(
        params.validate(),
        Err(vec![ParamError::new(
            "rungs[4].min_age",
            "leaves a gap after the rung ending at 54: must be 55, not 57"
        )])
    );
}

#[test]
fn open_ends_and_reversed_rungs_are_refused() {
    assert_eq!(problems(|r| r[4].max_age = Some(120)), ["rungs[4].max_age"]);
    assert_eq!(problems(|r| r[1].max_age = None), ["rungs[1].max_age"]);
    assert_eq!(
        problems(|r| r[3].max_age = Some(30)),
        ["rungs[3].max_age", "rungs[4].min_age"]
    );
}

#[test]
fn stages_and_products_are_named_and_unique() {
    assert_eq!(
        problems(|r| r[3].stage = " ".to_owned()),
        ["rungs[3].stage"]
    );
    assert_eq!(
        problems(|r| r[3].stage = "student".to_owned()),
        ["rungs[3].stage"]
    );
    assert_eq!(problems(|r| r[2].products.clear()), ["rungs[2].products"]);
    assert_eq!(
        problems(|r| r[1].products[1] = String::new()),
        ["rungs[1].products[1]"]
    );
    assert_eq!(
        problems(|r| r[1].products.push("student-account".to_owned())),
        ["rungs[1].products[2]"]
    );
    assert_eq!(problems(Vec::clear), ["rungs"]);
}

#[test]
fn params_decode_strictly() {
    let check = check_params::<Params>;
    assert_eq!(
        check(r#"{"rungs": [{"stage": "all", "min_age": 0, "products": ["x"]}]}"#),
        []
    );
    let problems = check(r#"{"rungs": [{"stage": "all", "min_age": 0, "product": ["x"]}]}"#);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].message.contains("unknown field"),
        "{problems:?}"
    );
}

/// The default ladder, written out independently of `Params::default`.
fn expected_rung(age: u32) -> Option<(&'static str, &'static [&'static str])> {
    match age {
        0..=10 => None,
        11..=15 => Some(("youth", &["live-cash-account"])),
        16..=24 => Some(("student", &["student-account", "student-loan"])),
        25..=34 => Some(("starter", &["credit-card", "personal-loan"])),
        35..=54 => Some(("family", &["mortgage", "savings-account"])),
        _ => Some(("retirement", &["pension", "wealth-management"])),
    }
}

const EVERY_PRODUCT: [&str; 11] = [
    "live-cash-account",
    "student-account",
    "student-loan",
    "credit-card",
    "personal-loan",
    "mortgage",
    "savings-account",
    "pension",
    "wealth-management",
    "gold-card",
    "travel-insurance",
];

proptest! {
    /// The offer is exactly the rung's products not held, in rung order,
    /// whatever else the customer holds and in whatever order.
    #[test]
    fn offer_is_the_rung_products_not_held(
        age in 0u32..=110,
        held in prop::sample::subsequence(EVERY_PRODUCT.to_vec(), 0..=EVERY_PRODUCT.len())
            .prop_shuffle(),
    ) {
        let decision = decide(&customer(age, &held));
        match expected_rung(age) {
            None => {
                prop_assert_eq!(decision.outcome.as_str(), "none");
                prop_assert_eq!(decision.codes(), ["too-young"]);
                prop_assert_eq!(Value::Object(decision.value), json!({"stage": null, "products": []}));
            }
            Some((stage, products)) => {
                let offer: Vec<&str> =
                    products.iter().copied().filter(|p| !held.contains(p)).collect();
                let (outcome, code) =
                    if offer.is_empty() { ("none", "ladder-complete") } else { ("offer", "next-products") };
                prop_assert_eq!(decision.outcome.as_str(), outcome);
                prop_assert_eq!(decision.codes(), [code]);
                prop_assert_eq!(
                    Value::Object(decision.value),
                    json!({ "stage": stage, "products": offer })
                );
            }
        }
    }
}
