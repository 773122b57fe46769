//! The cost of one decision: each reference policy through wasm (a fresh,
//! isolated instance per decision, JSON in and out) against the same policy
//! function called natively, with and without the JSON encoding; and the
//! floor, a hand-written WAT plugin that does almost nothing, isolated the
//! same way. For the reused-instance path, the same module instrumented:
//! on a reused, restored instance (`wasm-reused`), in a fresh instance per
//! decision (`wasm-instrumented-fresh`), and the restore after a decision
//! alone (`restore`).
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
use verdict_engine::{Limits, ModuleCache, Plugin, Policy, Sandbox, encode_input};
use verdict_sdk::glue::evaluate_json;
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
    input: &[u8],
    f: fn(&Input, &P) -> Decision,
) {
    let envelope: serde_json::Value = serde_json::from_slice(input).unwrap();
    let typed_input: Input = serde_json::from_value(envelope.clone()).unwrap();
    let params: P = serde_json::from_str(&policy.params_json).unwrap();
    c.bench_function(&format!("{name}/native-typed"), |b| {
        b.iter(|| f(std::hint::black_box(&typed_input), &params))
    });
    c.bench_function(&format!("{name}/native-json"), |b| {
        b.iter(|| evaluate_json::<P>(std::hint::black_box(input), f))
    });
}

/// The reused-instance path for one module: reused, fresh, restore alone.
fn reused(c: &mut Criterion, name: &str, sandbox: &Sandbox, plugin: &Plugin, input: &[u8]) {
    let instrumented =
        Plugin::from_bytes_reused(sandbox, &plugin.path, plugin.bytes.clone()).unwrap();
    assert_eq!(
        instrumented.evaluate(input),
        instrumented.evaluate_fresh(input),
        "{name}: both paths decide alike"
    );
    c.bench_function(&format!("{name}/wasm-reused"), |b| {
        b.iter(|| instrumented.evaluate(std::hint::black_box(input)))
    });
    c.bench_function(&format!("{name}/wasm-instrumented-fresh"), |b| {
        b.iter(|| instrumented.evaluate_fresh(std::hint::black_box(input)))
    });
    c.bench_function(&format!("{name}/restore"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| instrumented.time_restore(input).unwrap())
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
    let floor = Plugin::load(&sandbox, &root.join("tests/plugins/hello.wat")).unwrap();
    let mut input = Vec::new();
    encode_input(&mut input, as_of, "{}", &customer.json);
    c.bench_function("floor/wasm-isolated", |b| {
        b.iter(|| floor.evaluate(std::hint::black_box(&input)))
    });
    reused(c, "floor", &sandbox, &floor, &input);
    for policy in set.policies() {
        let policy: &Arc<Policy> = policy;
        let mut input = Vec::new();
        encode_input(&mut input, as_of, &policy.params_json, &customer.json);
        c.bench_function(&format!("{}/wasm-isolated", policy.name), |b| {
            b.iter(|| policy.plugin.evaluate(std::hint::black_box(&input)))
        });
        reused(c, &policy.name, &sandbox, &policy.plugin, &input);
        match policy.name.as_str() {
            "staff-allowance" => native(c, &policy.name, policy, &input, staff_allowance::evaluate),
            "loan-rates" => native(c, &policy.name, policy, &input, loan_rates::evaluate),
            "product-ladder" => native(c, &policy.name, policy, &input, product_ladder::evaluate),
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
