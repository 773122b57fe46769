//! Unit and property tests of staff-allowance, run natively.

use proptest::prelude::*;
use verdict_sdk::domain::hotel::Stay;
use verdict_sdk::domain::money::Cents;
use verdict_sdk::serde_json::json;
use verdict_sdk::testing::{
    assert_english_fallback, assert_shipped_defaults, check, check_params, date, decide_in_each,
    in_lang, message, problem_paths, values,
};
use verdict_sdk::{Customer, Date, Decision, Input, Lang, Params as _};

use super::{Params, evaluate};

fn as_of() -> Date {
    date(2026, 11, 23)
}

fn customer() -> Customer {
    Customer::new("C-TEST", date(1985, 6, 14))
}

/// A guest whose staff spent `spent`, asking for `requested` now.
fn guest(spent: f64, requested: Option<f64>, by: &str) -> Input {
    let mut stay = Stay::new()
        .with_recovery_spent_usd(spent)
        .with_requested_by(by);
    stay.requested_recovery_usd = requested;
    Input::new(as_of(), customer().with_stay(stay))
}

/// The languages the messages are translated into; any other is English.
const TRANSLATED: [Lang; 6] = [Lang::En, Lang::Pt, Lang::Fr, Lang::Sv, Lang::Hu, Lang::Id];

fn decide(input: &Input) -> Decision {
    evaluate(input, &Params::default())
}

#[track_caller]
fn check_figures(decision: &Decision, limit: f64, total: f64, remaining: f64) {
    let expected = json!({ "limit_usd": limit, "total_usd": total, "remaining_usd": remaining });
    assert_eq!(values(decision), expected);
}

#[test]
fn no_stay_is_not_applicable() {
    let decision = decide(&Input::new(as_of(), customer()));
    check(&decision, "not-applicable", "no-recovery-request");
    assert!(decision.value.is_empty());
    assert_eq!(
        message(&decision),
        "No service-recovery spend was requested for this guest."
    );
}

#[test]
fn stay_without_request_is_not_applicable() {
    let decision = decide(&guest(1800.0, None, "staff"));
    check(&decision, "not-applicable", "no-recovery-request");
    assert!(decision.value.is_empty());
}

#[test]
fn hotel_guest_over_the_staff_limit_is_referred_to_a_manager() {
    let decision = decide(&guest(1800.0, Some(350.0), "staff"));
    check(&decision, "refer", "over-allowance");
    check_figures(&decision, 2000.0, 2150.0, 0.0);
    assert_eq!(
        message(&decision),
        "The total of US$2,150.00 (US$1,800.00 already spent plus US$350.00 requested) exceeds \
         the staff limit of US$2,000.00 by US$150.00; the request goes to a manager."
    );
}

#[test]
fn staff_exactly_at_the_limit_is_approved() {
    let decision = decide(&guest(1650.0, Some(350.0), "staff"));
    check(&decision, "approve", "within-allowance");
    check_figures(&decision, 2000.0, 2000.0, 0.0);
}

#[test]
fn one_cent_over_the_limit_is_referred() {
    let decision = decide(&guest(1650.01, Some(350.0), "staff"));
    check(&decision, "refer", "over-allowance");
    check_figures(&decision, 2000.0, 2000.01, 0.0);
}

#[test]
fn first_request_within_the_limit_is_approved() {
    let mut input = guest(0.0, Some(120.5), "staff");
    // `recovery_spent_usd` defaults to 0 and `requested_by` to staff.
    input.customer.stay = Some(Stay::new().with_requested_recovery_usd(120.5));
    let decision = decide(&input);
    check(&decision, "approve", "within-allowance");
    check_figures(&decision, 2000.0, 120.5, 1879.5);
    assert_eq!(
        message(&decision),
        "The total of US$120.50 (US$0.00 already spent plus US$120.50 requested) is within the \
         staff limit of US$2,000.00; US$1,879.50 remains."
    );
}

#[test]
fn manager_request_uses_the_manager_limit() {
    let decision = decide(&guest(1800.0, Some(350.0), "manager"));
    check(&decision, "approve", "within-allowance");
    check_figures(&decision, 5000.0, 2150.0, 2850.0);
    assert!(
        message(&decision).contains("manager limit of US$5,000.00"),
        "{decision:?}"
    );
}

#[test]
fn manager_over_the_limit_goes_to_the_general_manager() {
    let decision = decide(&guest(4900.0, Some(200.0), "manager"));
    check(&decision, "refer", "over-allowance");
    check_figures(&decision, 5000.0, 5100.0, 0.0);
    assert!(
        message(&decision).ends_with("by US$100.00; the request goes to the general manager."),
        "{decision:?}"
    );
}

#[test]
fn zero_or_negative_requests_are_invalid() {
    for requested in [0.0, -0.01, -350.0] {
        let decision = decide(&guest(0.0, Some(requested), "staff"));
        check(&decision, "deny", "invalid-amount");
        assert!(decision.value.is_empty());
    }
    let decision = decide(&guest(0.0, Some(-350.0), "staff"));
    assert_eq!(
        message(&decision),
        "The requested amount must be more than zero, but it is -US$350.00."
    );
}

#[test]
fn negative_spend_is_invalid() {
    let decision = decide(&guest(-10.0, Some(350.0), "staff"));
    check(&decision, "deny", "invalid-amount");
    assert!(decision.value.is_empty());
    assert_eq!(
        message(&decision),
        "The amount already spent cannot be negative, but it is -US$10.00."
    );
}

#[test]
fn fractions_of_a_cent_are_invalid() {
    let decision = decide(&guest(0.0, Some(350.005), "staff"));
    check(&decision, "deny", "invalid-amount");
    assert_eq!(
        message(&decision),
        "The requested amount (350.005) is not a valid amount in US dollars with at most two \
         decimals."
    );
    let decision = decide(&guest(10.001, Some(350.0), "staff"));
    check(&decision, "deny", "invalid-amount");
    assert!(
        message(&decision).starts_with("The amount already spent (10.001)"),
        "{decision:?}"
    );
}

#[test]
fn unknown_role_is_denied() {
    let decision = decide(&guest(0.0, Some(50.0), "intern"));
    check(&decision, "deny", "unknown-role");
    assert!(decision.value.is_empty());
    assert_eq!(
        message(&decision),
        "A request can only come from staff or a manager; the role \"intern\" is unknown."
    );
}

#[test]
fn amounts_are_checked_before_the_role() {
    let decision = decide(&guest(0.0, Some(0.0), "intern"));
    check(&decision, "deny", "invalid-amount");
}

#[test]
fn each_language_is_picked_and_others_fall_back_to_english() {
    let cases = [
        (
            "pt",
            "excede em US$150.00 o limite de US$2,000.00 para funcionários",
        ),
        ("pt-BR", "a solicitação vai para um gerente"),
        ("fr", "la demande est transmise à un responsable"),
        ("sv", "begäran går vidare till en chef"),
        ("hu", "a kérés egy vezetőhöz kerül"),
        ("id", "permintaan diteruskan ke seorang manajer"),
        ("de", "the request goes to a manager"),
        ("", "the request goes to a manager"),
    ];
    for (tag, expected) in cases {
        let decision = decide(&in_lang(guest(1800.0, Some(350.0), "staff"), tag));
        check(&decision, "refer", "over-allowance");
        assert!(message(&decision).contains(expected), "{tag}: {decision:?}");
        assert!(
            message(&decision).contains("US$2,150.00"),
            "{tag}: {decision:?}"
        );
    }
}

#[test]
fn a_language_not_translated_here_gets_the_english_messages() {
    let input = guest(1800.0, Some(350.0), "staff");
    // Languages the SDK recognizes but this plugin does not translate (none
    // today), then tags the SDK does not recognize.
    assert_english_fallback(&TRANSLATED, &input, decide);
}

#[test]
fn every_message_exists_in_every_language_and_quotes_its_figures() {
    let inputs = [
        (Input::new(as_of(), customer()), None),
        (guest(0.0, Some(0.0), "staff"), Some("US$0.00")),
        (guest(-5.0, Some(1.0), "staff"), Some("-US$5.00")),
        (guest(0.0, Some(1.001), "staff"), Some("1.001")),
        (guest(0.0, Some(1.0), "chef"), Some("chef")),
        (guest(100.0, Some(50.0), "staff"), Some("US$1,850.00")),
        (guest(100.0, Some(50.0), "manager"), Some("US$4,850.00")),
        (guest(1800.0, Some(350.0), "staff"), Some("US$150.00")),
        (guest(4900.0, Some(350.0), "manager"), Some("US$250.00")),
    ];
    for (input, figure) in inputs {
        decide_in_each(&TRANSLATED, &input, figure, decide);
    }
}

#[test]
fn custom_limits_apply() {
    let params = Params {
        staff_limit_usd: 100.0,
        manager_limit_usd: 150.25,
    };
    let decision = evaluate(&guest(0.0, Some(100.01), "staff"), &params);
    check(&decision, "refer", "over-allowance");
    let decision = evaluate(&guest(0.0, Some(100.01), "manager"), &params);
    check(&decision, "approve", "within-allowance");
    check_figures(&decision, 150.25, 100.01, 50.24);
}

#[test]
fn defaults_are_the_shipped_ones_and_valid() {
    assert_shipped_defaults::<Params>(&json!({
        "staff_limit_usd": 2000.0, "manager_limit_usd": 5000.0
    }));
    let names: Vec<String> = Params::schema().into_iter().map(|spec| spec.name).collect();
    assert_eq!(names, ["staff_limit_usd", "manager_limit_usd"]);
    assert!(Params::schema().iter().all(|spec| spec.min == Some(0.0)));
}

#[test]
fn limits_need_whole_cents_and_no_sign() {
    let params = Params {
        staff_limit_usd: 2000.005,
        manager_limit_usd: -1.0,
    };
    assert_eq!(
        problem_paths(&params),
        ["staff_limit_usd", "manager_limit_usd"]
    );
}

#[test]
fn params_decode_strictly_with_defaults_for_missing_keys() {
    let check = check_params::<Params>;
    assert_eq!(check(r#"{"staff_limit_usd": 2500}"#), []);
    assert_eq!(
        check(r#"{"staff_limit_usd": 2000, "manager_limit_usd": 5000}"#),
        []
    );
    let problems = check(r#"{"staff_limit": 2000}"#);
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].message.contains("unknown field"),
        "{problems:?}"
    );
    let problems = check(r#"{"manager_limit_usd": 12.345}"#);
    assert_eq!(
        problems.iter().map(|p| p.path.as_str()).collect::<Vec<_>>(),
        ["manager_limit_usd"]
    );
}

fn cents() -> impl Strategy<Value = i64> {
    0i64..1_000_000
}

proptest! {
    /// Approve exactly when spent + requested fits the limit of whoever
    /// asks, all in cents; the figures are exact.
    #[test]
    fn approves_iff_the_total_fits(
        spent in cents(),
        requested in 1i64..1_000_000,
        staff_limit in cents(),
        manager_limit in cents(),
        manager in any::<bool>(),
    ) {
        let params = Params {
            staff_limit_usd: Cents(staff_limit).to_usd(),
            manager_limit_usd: Cents(manager_limit).to_usd(),
        };
        prop_assert_eq!(params.validate(), Ok(()));
        let role = if manager { "manager" } else { "staff" };
        let input = guest(Cents(spent).to_usd(), Some(Cents(requested).to_usd()), role);
        let decision = evaluate(&input, &params);
        let limit = if manager { manager_limit } else { staff_limit };
        let total = spent + requested;
        if total <= limit {
            prop_assert_eq!(decision.outcome.as_str(), "approve");
            prop_assert_eq!(decision.codes(), ["within-allowance"]);
        } else {
            prop_assert_eq!(decision.outcome.as_str(), "refer");
            prop_assert_eq!(decision.codes(), ["over-allowance"]);
        }
        let usd = |cents: i64| json!(Cents(cents).to_usd());
        prop_assert_eq!(decision.value.get("limit_usd"), Some(&usd(limit)));
        prop_assert_eq!(decision.value.get("total_usd"), Some(&usd(total)));
        prop_assert_eq!(decision.value.get("remaining_usd"), Some(&usd((limit - total).max(0))));
    }
}
