//! The reused-instance path against a brand-new instance, decision by
//! decision: for generated inputs, every reference plugin (builds for ABI
//! v2 and a v1 build of one of them, kept in `tests/plugins`) and every
//! hostile WAT plugin in `tests/plugins` give the
//! same answer bytes (or fault), use the same fuel and leave byte-identical
//! memory and globals on both paths; after each restore the reused
//! instance equals a newly instantiated one.
//!
//! And a sandbox with a wall-clock bound against one without: the same
//! answers and fuel for every call that finishes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use verdict_sdk::{Date, wire};
use wasmtime::{Extern, Val};

use crate::exports::Abi;
use crate::fault::Fault;
use crate::guest::{Guest, Reuse};
use crate::instance::{Export, Live};
use crate::limits::Limits;
use crate::module_cache::ModuleCache;
use crate::plugin::{Isolation, Plugin};
use crate::policy::Policy;
use crate::profile::customer_wire;
use crate::sandbox::Sandbox;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A reference plugin's module: the build of it kept in `tests/plugins`
/// (`cargo plugins` output, frozen so that this crate's tests need no
/// build step; any build of the SDK's must pass them).
fn reference_module(crate_name: &str) -> Vec<u8> {
    test_module(&format!("{}-v2.wasm", crate_name.replace('_', "-")))
}

/// A module of `tests/plugins` (`name` with its extension).
fn test_module(name: &str) -> Vec<u8> {
    let path = root().join("tests/plugins").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A hostile WAT plugin of `tests/plugins`.
fn hostile_module(name: &str) -> Vec<u8> {
    test_module(&format!("{name}.wat"))
}

fn sandbox(limits: Limits) -> Sandbox {
    Sandbox::new(limits, ModuleCache::disabled()).expect("sandbox")
}

/// A small memory cap, so that some decisions hit it half way.
fn tight() -> Limits {
    Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    }
}

/// A small fuel budget per decision (loading still gets the default), so
/// that some decisions run out of fuel half way.
const TIGHT_FUEL: u64 = 40_000;

fn load(sandbox: &Sandbox, name: &str, bytes: Vec<u8>) -> Plugin {
    Plugin::from_bytes_reused(sandbox, Path::new(name), Arc::from(bytes))
        .unwrap_or_else(|e| panic!("{name}: {}", crate::error::chain_text(&e)))
}

/// A global's value as comparable bits.
fn bits(value: &Val) -> String {
    match value {
        Val::I32(v) => format!("i32 {v}"),
        Val::I64(v) => format!("i64 {v}"),
        Val::F32(v) => format!("f32 {v:#x}"),
        Val::F64(v) => format!("f64 {v:#x}"),
        Val::V128(v) => format!("v128 {:#x}", v.as_u128()),
        other => format!("{other:?}"),
    }
}

/// Everything a plugin could carry: its memory and every mutable global.
#[derive(Debug, PartialEq, Eq)]
struct State {
    memory: Vec<u8>,
    globals: Vec<String>,
}

fn state(live: &mut Live, guest: &Guest) -> State {
    let layout = &guest.pool().expect("instrumented").layout;
    let globals = layout
        .globals
        .iter()
        .map(|name| {
            let global = live
                .instance
                .get_export(&mut live.store, name)
                .and_then(Extern::into_global)
                .expect("exported global");
            bits(&global.get(&mut live.store))
        })
        .collect();
    State {
        memory: live.exports.memory.data(&live.store).to_vec(),
        globals,
    }
}

/// What one call did: its answer, fuel used, and the state it left.
#[derive(Debug, PartialEq, Eq)]
struct Effect {
    answer: Result<Result<Vec<u8>, Fault>, Fault>,
    fuel_used: u64,
    state: State,
}

fn effect(
    live: &mut Live,
    guest: &Guest,
    fuel: u64,
    answer: Result<Result<Vec<u8>, Fault>, Fault>,
) -> Effect {
    Effect {
        answer,
        fuel_used: fuel - live.fuel_left(),
        state: state(live, guest),
    }
}

/// An answer read by copying it out.
fn copy(answer: &[u8]) -> Result<Vec<u8>, Fault> {
    Ok(answer.to_vec())
}

/// Runs `inputs` through one reused instance set up with `params` and each
/// through a brand-new one, asserting both paths agree at every step;
/// returns the answers.
fn differential(
    plugin: &Plugin,
    params: &str,
    fuel: u64,
    inputs: &[Vec<u8>],
) -> Vec<Result<Vec<u8>, Fault>> {
    let guest = plugin.guest();
    let layout = &guest.pool().expect("instrumented").layout;
    let params = params.as_bytes();
    let new_reusable = || match guest
        .reusable(layout, guest.params_key(params))
        .expect("instantiates")
    {
        Reuse::Kept(instance) => *instance,
        _ => panic!("{}: not restorable", plugin.path().display()),
    };
    let pristine = state(&mut guest.ready(params).expect("instantiates"), guest);
    let mut reused = new_reusable();
    let mut answers = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let mut fresh = guest.ready(params).expect("instantiates");
        let answer = fresh.run(fuel, Export::Evaluate, input, copy);
        let expected = effect(&mut fresh, guest, fuel, answer);
        let answer = reused.call_unrestored(fuel, input, copy);
        let got = effect(reused.live(), guest, fuel, answer);
        assert_eq!(got.answer, expected.answer, "answer of call {i}");
        assert_eq!(got.fuel_used, expected.fuel_used, "fuel of call {i}");
        assert!(
            got.state == expected.state,
            "{}: state after call {i} differs",
            plugin.path().display()
        );
        answers.push(got.answer.clone().and_then(|inner| inner));
        if got.answer.is_ok() && reused.restore() {
            assert!(
                state(reused.live(), guest) == pristine,
                "{}: restored state after call {i} differs from a new instance's",
                plugin.path().display()
            );
        } else {
            // A fault, or memory that changed size: never reused.
            reused = new_reusable();
        }
    }
    answers
}

/// The envelope of `abi` around a generated customer.
fn envelope(abi: Abi, params: &str, as_of: (u16, u8, u8), customer: &str) -> Vec<u8> {
    let (y, m, d) = as_of;
    match abi {
        Abi::V1 => format!(
            "{{\"as_of\":\"{y:04}-{m:02}-{d:02}\",\"params\":{params},\"customer\":{customer}}}"
        )
        .into_bytes(),
        Abi::V2 => {
            let date = Date::new(i32::from(y), m, d).expect("a real date");
            let mut out = Vec::new();
            wire::encode_envelope(&mut out, date, &customer_wire(customer).expect("lays out"));
            out
        }
    }
}

fn customer() -> impl Strategy<Value = String> {
    let date = (1930u16..2025, 1u8..13, 1u8..29);
    let stay = prop::option::of((
        0u32..5000,
        0u32..3000,
        prop::sample::select(vec!["guest", "staff", "manager"]),
    ));
    let loan = prop::option::of((
        prop::sample::select(vec!["mortgage", "car", "personal", "boat"]),
        0u32..900_000,
    ));
    let products = prop::sample::subsequence(
        vec!["pension", "savings", "mortgage", "card", "insurance"],
        0..4,
    );
    let language = prop::sample::select(vec!["en", "sv", "de", "fr", "xx"]);
    (date, language, products, stay, loan).prop_map(|((y, m, d), language, products, stay, loan)| {
        let mut json = format!(
            "{{\"id\":\"G-1\",\"birth_date\":\"{y:04}-{m:02}-{d:02}\",\"language\":\"{language}\",\"products\":{}",
            serde_json::to_string(&products).expect("json")
        );
        if let Some((spent, requested, by)) = stay {
            json.push_str(&format!(
                ",\"stay\":{{\"recovery_spent_usd\":{spent}.5,\"requested_recovery_usd\":{requested},\"requested_by\":\"{by}\"}}"
            ));
        }
        if let Some((kind, amount)) = loan {
            json.push_str(&format!(",\"loan_request\":{{\"type\":\"{kind}\",\"amount_usd\":{amount}}}"));
        }
        json.push('}');
        json
    })
}

/// One generated input for a reference plugin.
#[derive(Debug, Clone)]
enum Input {
    /// A real envelope: evaluation date and customer.
    Envelope((u16, u8, u8), String),
    /// Bytes that are no envelope at all.
    Raw(Vec<u8>),
    /// A customer without its envelope.
    Bare(String),
}

impl Input {
    fn bytes(&self, abi: Abi, params: &str) -> Vec<u8> {
        match (self, abi) {
            (Input::Envelope(as_of, customer), _) => envelope(abi, params, *as_of, customer),
            (Input::Raw(bytes), _) => bytes.clone(),
            (Input::Bare(customer), Abi::V1) => customer.clone().into_bytes(),
            (Input::Bare(customer), Abi::V2) => customer_wire(customer).expect("lays out"),
        }
    }
}

/// Inputs for a reference plugin: mostly real envelopes, some broken ones.
fn reference_inputs() -> impl Strategy<Value = Vec<Input>> {
    let input = prop_oneof![
        6 => ((2000u16..2030, 1u8..13, 1u8..29), customer())
            .prop_map(|(as_of, c)| Input::Envelope(as_of, c)),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Input::Raw),
        1 => customer().prop_map(Input::Bare),
    ];
    prop::collection::vec(input, 1..8)
}

/// A reference plugin with its default parameters, and its fuel budget.
struct Reference {
    name: &'static str,
    plugin: Plugin,
    params: String,
    fuel: u64,
}

impl Reference {
    /// `inputs` encoded for this plugin's ABI.
    fn inputs(&self, inputs: &[Input]) -> Vec<Vec<u8>> {
        inputs
            .iter()
            .map(|i| i.bytes(self.plugin.abi(), &self.params))
            .collect()
    }
}

/// The reference plugins under both the default limits and tight ones,
/// compiled once for every case.
static REFERENCE: std::sync::LazyLock<Vec<Reference>> = std::sync::LazyLock::new(|| {
    let mut plugins = Vec::new();
    for limits in [Limits::default(), tight()] {
        let sandbox = sandbox(limits);
        let modules = [
            ("loan_rates", reference_module("loan_rates")),
            ("product_ladder", reference_module("product_ladder")),
            ("staff_allowance", reference_module("staff_allowance")),
            ("loan_rates_v1", test_module("loan-rates-v1.wasm")),
        ];
        for (name, bytes) in modules {
            let plugin = load(&sandbox, name, bytes);
            let policy = Policy::with_defaults(plugin.clone(), Path::new(name)).expect("defaults");
            plugins.push(Reference {
                name,
                plugin,
                params: policy.params_json().to_string(),
                fuel: if limits == tight() {
                    TIGHT_FUEL
                } else {
                    limits.fuel
                },
            });
        }
    }
    plugins
});

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn reference_plugins_agree_on_both_paths(inputs in reference_inputs()) {
        for reference in REFERENCE.iter() {
            let bytes = reference.inputs(&inputs);
            let answers = differential(&reference.plugin, &reference.params, reference.fuel, &bytes);
            prop_assert_eq!(answers.len(), bytes.len(), "{}", reference.name);
        }
    }
}

/// The generated inputs reach real decisions and every kind of answer, so
/// the differential test above compares more than error paths.
#[test]
fn reference_inputs_reach_decisions_and_faults() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut decided = 0;
    let mut refused = 0;
    let mut out_of_fuel = 0;
    for _ in 0..8 {
        let inputs = reference_inputs()
            .new_tree(&mut runner)
            .expect("inputs")
            .current();
        for reference in REFERENCE.iter() {
            let bytes = reference.inputs(&inputs);
            let decode = reference.plugin.decoder();
            for answer in differential(&reference.plugin, &reference.params, reference.fuel, &bytes)
            {
                match answer.and_then(|a| decode(&a)) {
                    Ok(_) => decided += 1,
                    Err(Fault::Plugin(_)) => refused += 1,
                    Err(Fault::OutOfFuel) => out_of_fuel += 1,
                    Err(_) => {}
                }
            }
        }
    }
    assert!(decided > 10, "{decided} decisions");
    assert!(refused > 0, "{refused} refusals");
    assert!(out_of_fuel > 0, "{out_of_fuel} out of fuel");
}

/// Every hostile plugin that the rewrite accepts, on inputs of many
/// lengths: both paths agree, and no evaluation that finished saw a trace
/// of an earlier one.
#[test]
fn hostile_plugins_agree_and_leave_no_trace() {
    let hostile = [
        "counter",
        "hello",
        "trap",
        "spin",
        "memory-bomb",
        "stack-scribble",
        "bulk-writes",
        "trap-halfway",
        "grow-and-write",
        "globals",
        "fuel-halfway",
    ];
    let lengths = [
        0, 1, 2, 3, 4, 5, 6, 9, 17, 255, 256, 257, 1000, 4095, 9000, 30000, 70000,
    ];
    let inputs: Vec<Vec<u8>> = lengths
        .iter()
        .map(|&n| (0..n).map(|i| (i % 251) as u8).collect())
        .collect();
    for limits in [Limits::default(), tight()] {
        let sandbox = sandbox(limits);
        for name in hostile {
            let plugin = load(&sandbox, name, hostile_module(name));
            let fuel = if limits == tight() {
                TIGHT_FUEL
            } else {
                limits.fuel
            };
            let answers = differential(&plugin, "{}", fuel, &inputs);
            for (n, answer) in lengths.iter().zip(&answers) {
                if let Ok(bytes) = answer {
                    let text = String::from_utf8_lossy(bytes);
                    assert!(
                        !text.contains("leaked"),
                        "{name}, input of {n} bytes: {text}"
                    );
                }
            }
        }
    }
}

/// The hostile plugins fault where they should, so the test above covers
/// traps, fuel and memory faults, not only clean calls.
#[test]
fn hostile_plugins_fault_half_way() {
    let sandbox = sandbox(tight());
    let cases: [(&str, usize, Fault); 4] = [
        (
            "trap-halfway",
            3,
            Fault::Trap("wasm trap: wasm `unreachable` instruction executed".into()),
        ),
        ("fuel-halfway", 1000, Fault::OutOfFuel),
        ("spin", 0, Fault::OutOfFuel),
        ("memory-bomb", 0, Fault::MemoryLimit(4 << 20)),
    ];
    for (name, len, fault) in cases {
        let plugin = load(&sandbox, name, hostile_module(name));
        let answers = differential(&plugin, "{}", TIGHT_FUEL, &[vec![b'x'; len], vec![b'x'; 2]]);
        assert_eq!(answers[0], Err(fault), "{name}");
    }
}

/// A module that changes its table is not rewritten: asked for reuse it is
/// refused, and loaded normally it runs in fresh instances and never leaks.
#[test]
fn table_changing_module_gets_fresh_instances() {
    let sandbox = sandbox(Limits::default());
    let bytes: Arc<[u8]> = hostile_module("table-set").into();
    let refused = Plugin::from_bytes_reused(&sandbox, Path::new("table-set"), bytes.clone())
        .expect_err("refused");
    assert!(
        crate::error::chain_text(&refused)
            .contains("cannot run on reused instances: it uses `table.set`"),
        "{}",
        crate::error::chain_text(&refused)
    );
    let plugin = Plugin::from_bytes(&sandbox, Path::new("table-set"), bytes).expect("loads");
    assert!(!plugin.reuses_instances());
    assert_eq!(plugin.isolation(), Isolation::Fresh(crate::WhyFresh::NotV2));
    for _ in 0..3 {
        assert_eq!(
            plugin.evaluate("{}", b"{}").expect("decides").outcome,
            "fresh"
        );
    }
}

/// Through the public API: a plugin on reused instances decides exactly as
/// fresh instances of it do, and keeps its instance between decisions.
#[test]
fn evaluate_reuses_and_matches_fresh() {
    let sandbox = sandbox(Limits::default());
    let plugin = load(&sandbox, "counter", hostile_module("counter"));
    assert!(plugin.reuses_instances());
    for _ in 0..5 {
        assert_eq!(
            plugin.evaluate("{}", b"{}"),
            plugin.evaluate_fresh("{}", b"{}")
        );
        assert_eq!(
            plugin.evaluate("{}", b"{}").expect("decides").outcome,
            "fresh"
        );
    }
    let pool = plugin.guest().pool().expect("pool");
    assert!(
        pool.take(b"").is_some(),
        "the instance was kept for the next decision"
    );
    assert!(plugin.time_restore("{}", b"{}").is_some());
}

/// When the self-check refused reuse, instrumented plugins still decide,
/// each time in a fresh instance, and none is kept.
#[test]
fn a_refused_self_check_means_fresh_instances() {
    let sandbox = sandbox(Limits::default());
    sandbox.refuse_reuse_for_test("injected");
    assert_eq!(sandbox.reuse_refused(), Some("injected"));
    let plugin = load(&sandbox, "counter", hostile_module("counter"));
    assert_eq!(
        plugin.isolation(),
        Isolation::Fresh(crate::WhyFresh::SelfCheck("injected".to_owned()))
    );
    for _ in 0..3 {
        assert_eq!(
            plugin.evaluate("{}", b"{}").expect("decides").outcome,
            "fresh"
        );
    }
    assert!(plugin.guest().pool().expect("pool").take(b"").is_none());
}

/// Two bindings of one v2 module with different parameters: each decision
/// runs on an instance `verdict_init` set up with its own binding's
/// parameters, interleaved as workers would, exactly as fresh instances.
#[test]
fn bindings_with_different_parameters_never_share_an_instance() {
    let sandbox = sandbox(Limits::default());
    let plugin = Plugin::from_bytes(
        &sandbox,
        Path::new("staff_allowance"),
        Arc::from(reference_module("staff_allowance")),
    )
    .expect("loads");
    assert_eq!(plugin.isolation(), Isolation::Reused);
    let generous = r#"{"manager_limit_usd":5000.0,"staff_limit_usd":2000.0}"#;
    let strict = r#"{"manager_limit_usd":200.0,"staff_limit_usd":100.0}"#;
    let customer = r#"{"id":"G-1","birth_date":"1980-01-01","stay":{"recovery_spent_usd":0,"requested_recovery_usd":350,"requested_by":"staff"}}"#;
    let input = envelope(Abi::V2, "", (2026, 11, 23), customer);
    let mut outcomes = Vec::new();
    for params in [generous, strict, generous, strict, strict, generous] {
        let decision = plugin.evaluate(params, &input).expect("decides");
        assert_eq!(
            Ok(&decision),
            plugin.evaluate_fresh(params, &input).as_ref()
        );
        outcomes.push(decision.outcome);
    }
    assert_eq!(
        outcomes,
        ["approve", "refer", "approve", "refer", "refer", "approve"]
    );
    let pool = plugin.guest().pool().expect("pool");
    assert!(pool.take(generous.as_bytes()).is_some());
    assert!(pool.take(strict.as_bytes()).is_some());
}

/// Every reference plugin and hostile WAT plugin decides the same with a
/// wall-clock bound as without: the same answer bytes or fault and the
/// same fuel in a fresh instance, the same decision through the public
/// path (reused instances where the plugin has them).
#[test]
fn a_deadline_changes_no_call_that_finishes() {
    let limits = Limits::default();
    let plain = sandbox(limits);
    let bounded = Sandbox::with_deadline(limits, ModuleCache::disabled(), Duration::from_secs(120))
        .expect("sandbox");
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let generated: Vec<Input> = (0..4)
        .flat_map(|_| {
            reference_inputs()
                .new_tree(&mut runner)
                .expect("inputs")
                .current()
        })
        .collect();
    let mut modules: Vec<(String, Vec<u8>, bool)> =
        ["loan_rates", "product_ladder", "staff_allowance"]
            .iter()
            .map(|name| (name.to_string(), reference_module(name), true))
            .collect();
    modules.push((
        "loan_rates_v1".into(),
        test_module("loan-rates-v1.wasm"),
        true,
    ));
    for name in [
        "counter",
        "hello",
        "trap",
        "spin",
        "memory-bomb",
        "fuel-halfway",
        "minimal-v2",
    ] {
        modules.push((name.into(), hostile_module(name), false));
    }
    let mut decided = 0;
    for (name, bytes, reference) in modules {
        let bytes: Arc<[u8]> = bytes.into();
        let plain_plugin =
            Plugin::from_bytes(&plain, Path::new(&name), bytes.clone()).expect("loads");
        let bounded_plugin = Plugin::from_bytes(&bounded, Path::new(&name), bytes).expect("loads");
        let params = if reference {
            Policy::with_defaults(plain_plugin.clone(), Path::new(&name))
                .expect("defaults")
                .params_json()
                .to_string()
        } else {
            "{}".to_owned()
        };
        let inputs: Vec<Vec<u8>> = if reference {
            generated
                .iter()
                .map(|i| i.bytes(plain_plugin.abi(), &params))
                .collect()
        } else {
            vec![Vec::new(), b"x".to_vec(), vec![7; 1000]]
        };
        for (i, input) in inputs.iter().enumerate() {
            let run = |plugin: &Plugin| {
                let mut live = plugin
                    .guest()
                    .ready(params.as_bytes())
                    .expect("instantiates");
                let answer = live.run(limits.fuel, Export::Evaluate, input, copy);
                (answer, limits.fuel - live.fuel_left())
            };
            assert_eq!(
                run(&bounded_plugin),
                run(&plain_plugin),
                "{name}, input {i}"
            );
            let decision = plain_plugin.evaluate(&params, input);
            assert_eq!(
                bounded_plugin.evaluate(&params, input),
                decision,
                "{name}, input {i}"
            );
            decided += usize::from(decision.is_ok());
        }
    }
    assert!(decided > 20, "{decided} decisions");
}

/// A call that would run for ages (spin, with fuel for hours) ends at the
/// bound, as a `deadline` fault, on fresh and reused instances alike.
#[test]
fn a_deadline_cuts_a_call_that_does_not_end() {
    let limits = Limits {
        fuel: u64::MAX / 2,
        ..Limits::default()
    };
    let bound = Duration::from_millis(50);
    let sandbox = Sandbox::with_deadline(limits, ModuleCache::disabled(), bound).expect("sandbox");
    let plugin = load(&sandbox, "spin", hostile_module("spin"));
    for _ in 0..2 {
        assert_eq!(plugin.evaluate("{}", b"{}"), Err(Fault::Deadline(bound)));
        assert_eq!(
            plugin.evaluate_fresh("{}", b"{}"),
            Err(Fault::Deadline(bound))
        );
    }
    let fault = Fault::Deadline(bound);
    assert_eq!(
        (fault.code(), fault.to_string().as_str()),
        ("deadline", "plugin ran longer than 50 ms")
    );
    // The bound is per call: a plugin that finishes still decides after.
    let hello = load(&sandbox, "hello", hostile_module("hello"));
    assert!(hello.evaluate("{}", b"{}").is_ok());
}
