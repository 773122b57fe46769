//! The cost of one decision: each reference policy through wasm, isolated
//! (ABI v2 as the SDK builds it: on a reused, restored instance, the fast
//! path, and in a fresh instance per decision; `loan-rates` also as the ABI
//! v1 module kept in the tests, fresh), against the same policy function
//! called natively, typed, through v1's JSON and through v2's binary
//! encoding; the restore after a decision alone; and the floor,
//! hand-written WAT plugins (v1 and v2) that do almost nothing, isolated the
//! same ways.
//!
//! Needs the plugins built: `cargo plugins`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a bench fails loudly"
)]

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use verdict_config::{Document, Profiles, load_policies};
use verdict_engine::testing;
use verdict_engine::{Limits, ModuleCache, Plugin, Policy, Profile, Sandbox};
use verdict_sdk::glue::{evaluate_json, evaluate_v2, init_json};
use verdict_sdk::{Date, Decision, Input, Params};

/// A customer that exercises the full path of all three policies.
const PROFILE: &str = r#"
[[customer]]
id = "B-1"
name = "Erik Lindqvist"
birth_date = 1969-03-02
language = "sv"
products = ["pension"]
[customer.stay]
recovery_spent_usd = 1800.00
requested_recovery_usd = 350.00
requested_by = "manager"
[customer.loan_request]
type = "mortgage"
amount_usd = 320000
"#;

fn native<P: Params>(
    c: &mut Criterion,
    name: &str,
    policy: &Policy,
    inputs: &Inputs,
    f: fn(&Input, &P) -> Decision,
) {
    let envelope: serde_json::Value = serde_json::from_slice(&inputs.json).unwrap();
    let typed_input: Input = serde_json::from_value(envelope.clone()).unwrap();
    let params: P = serde_json::from_str(policy.params_json()).unwrap();
    c.bench_function(&format!("{name}/native-typed"), |b| {
        b.iter(|| f(std::hint::black_box(&typed_input), &params))
    });
    c.bench_function(&format!("{name}/native-json"), |b| {
        b.iter(|| evaluate_json::<P>(std::hint::black_box(&inputs.json), f))
    });
    let params: P = init_json(policy.params_json().as_bytes()).unwrap();
    c.bench_function(&format!("{name}/native-v2"), |b| {
        b.iter(|| evaluate_v2::<P>(std::hint::black_box(&inputs.v2), &params, f))
    });
}

/// One customer's `verdict_evaluate` input in both encodings.
struct Inputs {
    json: Vec<u8>,
    v2: Vec<u8>,
}

fn inputs(as_of: Date, params_json: &str, customer: &Profile) -> Inputs {
    let mut json = Vec::new();
    testing::encode_input(&mut json, as_of, params_json, customer.json());
    let mut v2 = Vec::new();
    testing::encode_for(
        verdict_engine::Abi::V2,
        &mut v2,
        as_of,
        params_json,
        customer,
    )
    .unwrap();
    Inputs { json, v2 }
}

/// The ABI v2 paths of one plugin: on a reused instance (the fast path),
/// in a fresh instance per decision, and the restore after a decision alone.
fn v2_paths(c: &mut Criterion, name: &str, plugin: &Plugin, params: &str, input: &[u8]) {
    assert!(plugin.reuses_instances(), "{name}: takes the fast path");
    assert_eq!(
        testing::evaluate(plugin, params, input),
        testing::evaluate_fresh(plugin, params, input),
        "{name}: both paths decide alike"
    );
    c.bench_function(&format!("{name}/wasm-v2-fast"), |b| {
        b.iter(|| testing::evaluate(plugin, params, std::hint::black_box(input)))
    });
    c.bench_function(&format!("{name}/wasm-v2-fresh"), |b| {
        b.iter(|| testing::evaluate_fresh(plugin, params, std::hint::black_box(input)))
    });
    c.bench_function(&format!("{name}/restore"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| testing::time_restore(plugin, params, input).unwrap())
                .sum()
        })
    });
}

fn decisions(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sandbox = Sandbox::new(Limits::default(), ModuleCache::disabled()).unwrap();
    let set =
        load_policies(&sandbox, &root.join("policies"), &[]).expect("run `cargo plugins` first");
    let profiles = Profiles::parse(Document::from_text(Path::new("bench.toml"), PROFILE)).unwrap();
    let as_of: Date = "2026-11-23".parse().unwrap();
    let customer = &profiles.customers[0];
    let floor_inputs = inputs(as_of, "{}", customer);
    let floor = Plugin::load(&sandbox, &root.join("tests/plugins/hello.wat")).unwrap();
    c.bench_function("floor/wasm-v1-fresh", |b| {
        b.iter(|| testing::evaluate(&floor, "{}", std::hint::black_box(&floor_inputs.json)))
    });
    let floor = Plugin::load(&sandbox, &root.join("tests/plugins/minimal-v2.wat")).unwrap();
    v2_paths(c, "floor", &floor, "{}", &floor_inputs.v2);
    for policy in set.policies() {
        let policy: &Arc<Policy> = policy;
        let inputs = inputs(as_of, policy.params_json(), customer);
        let params = &policy.params_json();
        v2_paths(c, policy.name(), policy.plugin(), params, &inputs.v2);
        match policy.name() {
            "staff-allowance" => {
                native(c, policy.name(), policy, &inputs, staff_allowance::evaluate)
            }
            "loan-rates" => {
                let v1 =
                    Plugin::load(&sandbox, &root.join("tests/plugins/loan-rates-v1.wasm")).unwrap();
                c.bench_function("loan-rates/wasm-v1-fresh", |b| {
                    b.iter(|| testing::evaluate(&v1, params, std::hint::black_box(&inputs.json)))
                });
                native(c, policy.name(), policy, &inputs, loan_rates::evaluate)
            }
            "product-ladder" => native(c, policy.name(), policy, &inputs, product_ladder::evaluate),
            _ => {}
        }
    }
}
criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = decisions
}
criterion_main!(benches);
