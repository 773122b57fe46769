//! The WebAssembly engine and the isolated call: every call runs in a fresh
//! instance with a fuel budget and a memory cap, so nothing survives from
//! one evaluation to the next and no plugin can run away with the host.

use std::fmt;
use std::sync::{Arc, OnceLock};

use verdict_sdk::abi;
use wasmtime::{
    Config, Enabled, Engine, Extern, ExternType, Instance, InstanceAllocationStrategy, InstancePre,
    Linker, Memory, Module, ModuleExport, PoolingAllocationConfig, ResourceLimiter, Store, Trap,
    TypedFunc, ValType,
};

use crate::canary;
use crate::error::{EngineError, PluginError};
use crate::module_cache::ModuleCache;
use crate::reuse::{Budget, Layout, Pool, Reusable};

/// Resource bounds for one call into a plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel (roughly, WebAssembly instructions) one call may use.
    pub fuel: u64,
    /// Largest linear memory one instance may have, in bytes.
    pub memory_bytes: usize,
    /// Largest native stack the guest may use, in bytes.
    pub stack_bytes: usize,
    /// Instances that may be alive at once (one per worker thread or
    /// in-flight request); sizes the instance pool.
    pub concurrent_instances: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // The reference policies use well under 100,000 per decision.
            fuel: 20_000_000,
            memory_bytes: 32 << 20,
            stack_bytes: 512 << 10,
            concurrent_instances: 256,
        }
    }
}

/// Why a call into a plugin produced no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The call used its whole fuel budget (an endless or too-long loop).
    OutOfFuel,
    /// The instance asked for more memory than allowed.
    MemoryLimit(usize),
    /// The plugin trapped (a panic, `unreachable`, a bad memory access...).
    Trap(String),
    /// The plugin answered, but not in the form the ABI requires.
    Malformed(String),
    /// The plugin decoded its input and refused it.
    Plugin(String),
    /// The answer is longer than the ABI allows (its length in bytes).
    AnswerTooLarge(u32),
}

impl Fault {
    /// The stable reason code an `error` decision carries for this fault.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Fault::OutOfFuel => "out-of-fuel",
            Fault::MemoryLimit(_) => "memory-limit",
            Fault::Trap(_) => "trap",
            Fault::Malformed(_) => "malformed-output",
            Fault::Plugin(_) => "plugin-error",
            Fault::AnswerTooLarge(_) => "answer-too-large",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::OutOfFuel => f.write_str("plugin ran out of fuel (CPU budget exhausted)"),
            Fault::MemoryLimit(limit) => {
                write!(
                    f,
                    "plugin tried to use more than {} MiB of memory",
                    limit >> 20
                )
            }
            Fault::Trap(message) => write!(f, "plugin trapped: {message}"),
            Fault::Malformed(message) => write!(f, "plugin returned malformed output: {message}"),
            Fault::Plugin(message) => write!(f, "plugin refused the input: {message}"),
            Fault::AnswerTooLarge(len) => write!(
                f,
                "plugin answered {len} bytes, more than the {} bytes the ABI allows",
                abi::MAX_ANSWER_BYTES
            ),
        }
    }
}

/// The engine every plugin is compiled and run with.
#[derive(Clone)]
pub struct Sandbox {
    engine: Engine,
    limits: Limits,
    cache: ModuleCache,
    /// The reused-instance self-check, run once on first use: `None` when
    /// it held, else why the fast path is refused.
    canary: Arc<OnceLock<Option<String>>>,
    /// Reusable instances kept at once, across all plugins: half the pool.
    reuse_budget: Budget,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// An engine tuned for many short, isolated calls, compiling through
    /// `cache`.
    pub fn new(limits: Limits, cache: ModuleCache) -> Result<Sandbox, EngineError> {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_core_instances(limits.concurrent_instances)
            .total_tables(limits.concurrent_instances)
            .max_memory_size(limits.memory_bytes)
            // Reuse a slot's pages instead of returning them to the kernel,
            // and reset only the pages the last call dirtied.
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(Enabled::Auto)
            // A module instrumented for reuse has a second memory, its
            // dirty map; every instance may be one.
            .max_memories_per_module(2)
            .total_memories(2 * limits.concurrent_instances);
        let mut config = Config::new();
        config
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .memory_init_cow(true)
            // Fuel stops a runaway plugin at the same instruction every time,
            // which keeps replay exact; an epoch deadline would not.
            .consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            // Exactly the features ABI.md lists: relaxed SIMD is not
            // deterministic, and proposals it does not list are refused
            // when a module is loaded rather than half supported.
            .wasm_relaxed_simd(false)
            .wasm_tail_call(false)
            .wasm_extended_const(false)
            // Only for the dirty map of a module instrumented for reuse:
            // `prepare` refuses a plugin's own second memory.
            .wasm_multi_memory(true)
            .wasm_memory64(false)
            .wasm_gc(false)
            .wasm_wide_arithmetic(false)
            .wasm_custom_page_sizes(false)
            .wasm_stack_switching(false)
            .max_wasm_stack(limits.stack_bytes);
        let engine = Engine::new(&config).map_err(EngineError::Setup)?;
        Ok(Sandbox {
            engine,
            limits,
            cache,
            canary: Arc::default(),
            reuse_budget: Budget::new(limits.concurrent_instances / 2),
        })
    }

    /// Why this sandbox refuses the reused-instance path, if it does: the
    /// self-check (a canary plugin that tries to carry state from one call
    /// to the next) found state surviving a restore. Runs the check on
    /// first use; modules instrumented for reuse then run in fresh
    /// instances of the same instrumented code, so decisions do not change.
    #[must_use]
    pub fn reuse_refused(&self) -> Option<&str> {
        self.canary
            .get_or_init(|| {
                let refusal = canary::check(self);
                if let Some(why) = &refusal {
                    tracing::warn!(
                        "reused instances refused, every decision gets a fresh instance: {why}"
                    );
                }
                refusal
            })
            .as_deref()
    }

    /// Records a failed self-check, as if the canary had found a leak.
    #[cfg(test)]
    pub(crate) fn refuse_reuse_for_test(&self, why: &str) {
        assert!(self.canary.set(Some(why.to_owned())).is_ok());
    }

    pub(crate) fn reuse_holds(&self) -> bool {
        self.reuse_refused().is_none()
    }

    /// The bounds every call gets.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Prepares a compiled module for fast instantiation. The module must
    /// import nothing: ABI v1 offers plugins no host functions, so no file
    /// system, network, clock or randomness.
    /// With `reuse`, the module was instrumented (`instrument.rs`) and its
    /// evaluations may run on reused instances (`reuse.rs`).
    pub(crate) fn prepare(
        &self,
        module: &Module,
        reuse: Option<Layout>,
    ) -> Result<Guest, PluginError> {
        let imports: Vec<String> = module
            .imports()
            .map(|i| format!("{}.{}", i.module(), i.name()))
            .collect();
        if !imports.is_empty() {
            return Err(PluginError::Imports { imports });
        }
        check_exports(module)?;
        let memories = module.resources_required().num_memories;
        let allowed = if reuse.is_some() { 2 } else { 1 };
        if memories > allowed {
            return Err(PluginError::Memories { count: memories });
        }
        let export = |name: &'static str| {
            module
                .get_export_index(name)
                .ok_or(PluginError::MissingExport { name })
        };
        let linker = Linker::new(&self.engine);
        let pre = linker
            .instantiate_pre(module)
            .map_err(PluginError::Prepare)?;
        Ok(Guest {
            sandbox: self.clone(),
            pre,
            memory: export(abi::MEMORY)?,
            alloc: export(abi::ALLOC)?,
            evaluate: export(abi::EVALUATE)?,
            reuse: reuse.map(|layout| {
                // Each worker keeps one; a few more may wait idle.
                let most_idle = (self.limits.concurrent_instances as usize / 8).max(1);
                Arc::new(Pool::new(layout, most_idle))
            }),
        })
    }

    /// Compiles module bytes (binary or WebAssembly text), through the
    /// compiled-module cache.
    pub(crate) fn compile(&self, bytes: &[u8]) -> Result<Module, PluginError> {
        self.cache
            .compile(&self.engine, bytes)
            .map_err(PluginError::Invalid)
    }
}

/// Every export the ABI requires, with exactly its type (`ABI.md`).
fn check_exports(module: &Module) -> Result<(), PluginError> {
    use wasmtime::ValType::{I32, I64};
    let functions: [(&'static str, &[ValType], &[ValType]); 5] = [
        (abi::MARKER, &[], &[]),
        (abi::ALLOC, &[I32], &[I32]),
        (abi::MANIFEST, &[], &[I64]),
        (abi::CHECK_PARAMS, &[I32, I32], &[I64]),
        (abi::EVALUATE, &[I32, I32], &[I64]),
    ];
    for (name, params, results) in functions {
        let ty = module
            .get_export(name)
            .ok_or(PluginError::MissingExport { name })?;
        let matches = ty.func().is_some_and(|func| {
            same_types(func.params(), params) && same_types(func.results(), results)
        });
        if !matches {
            return Err(PluginError::ExportType {
                name,
                expected: signature(params, results),
            });
        }
    }
    match module.get_export(abi::MEMORY) {
        Some(ExternType::Memory(memory)) if !memory.is_64() && !memory.is_shared() => Ok(()),
        Some(_) => Err(PluginError::ExportType {
            name: abi::MEMORY,
            expected: "a 32-bit, unshared memory".to_owned(),
        }),
        None => Err(PluginError::MissingExport { name: abi::MEMORY }),
    }
}

fn same_types(actual: impl ExactSizeIterator<Item = ValType>, expected: &[ValType]) -> bool {
    actual.len() == expected.len() && actual.zip(expected).all(|(a, b)| ValType::eq(&a, b))
}

/// `(i32, i32) -> i64`, as ABI.md writes a signature.
fn signature(params: &[ValType], results: &[ValType]) -> String {
    let list = |types: &[ValType]| {
        types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match results {
        [] => format!("a function ({}) -> ()", list(params)),
        [one] => format!("a function ({}) -> {one}", list(params)),
        many => format!("a function ({}) -> ({})", list(params), list(many)),
    }
}

/// A compiled plugin ready to be instantiated: once per call, or once per
/// worker on the reused-instance path (`reuse.rs`).
#[derive(Clone)]
pub(crate) struct Guest {
    sandbox: Sandbox,
    pre: InstancePre<CallState>,
    memory: ModuleExport,
    alloc: ModuleExport,
    evaluate: ModuleExport,
    /// Idle reusable instances, when the module was instrumented for them.
    reuse: Option<Arc<Pool>>,
}

impl fmt::Debug for Guest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guest")
            .field("reuse", &self.reuse)
            .finish_non_exhaustive()
    }
}

/// Which ABI export a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Export {
    /// `verdict_manifest`, no input.
    Manifest,
    /// `verdict_check_params`.
    CheckParams,
    /// `verdict_evaluate`.
    Evaluate,
}

/// Per-call store data: the memory cap and whether it was hit.
pub(crate) struct CallState {
    memory_limit: usize,
    pub(crate) hit_memory_limit: bool,
}

impl ResourceLimiter for CallState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.hit_memory_limit = true;
            return Err(wasmtime::Error::msg("memory limit reached"));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The exports every evaluation uses, looked up and typed once per
/// instance (the manifest and the parameter check, called once per load,
/// are looked up when called).
pub(crate) struct Exports {
    pub(crate) memory: Memory,
    alloc: TypedFunc<u32, u32>,
    evaluate: TypedFunc<(u32, u32), u64>,
}

/// A live instance in its own store.
pub(crate) struct Live {
    pub(crate) store: Store<CallState>,
    pub(crate) instance: Instance,
    pub(crate) exports: Exports,
    /// Where the host last wrote an input into guest memory (start,
    /// length): host writes bypass the dirty map.
    pub(crate) input_written: Option<(usize, usize)>,
}

impl Live {
    /// Calls one export with `fuel` and returns the bytes it answered
    /// (inner `Err`: the call finished but its answer is unusable), or the
    /// fault that stopped it (outer `Err`). `input` is written into guest
    /// memory first (for every export but the manifest).
    pub(crate) fn run(
        &mut self,
        fuel: u64,
        export: Export,
        input: &[u8],
    ) -> Result<Result<Vec<u8>, Fault>, Fault> {
        let store = &mut self.store;
        let exports = &self.exports;
        let instance = self.instance;
        let input_written = &mut self.input_written;
        let outcome = (|| {
            store.set_fuel(fuel)?;
            let packed = match export {
                Export::Manifest => instance
                    .get_typed_func::<(), u64>(&mut *store, abi::MANIFEST)?
                    .call(&mut *store, ())?,
                Export::CheckParams | Export::Evaluate => {
                    let len = u32::try_from(input.len())
                        .map_err(|_| wasmtime::Error::msg("input too large"))?;
                    let ptr = exports.alloc.call(&mut *store, len)?;
                    *input_written = Some((ptr as usize, input.len()));
                    exports.memory.write(&mut *store, ptr as usize, input)?;
                    if export == Export::Evaluate {
                        exports.evaluate.call(&mut *store, (ptr, len))?
                    } else {
                        instance
                            .get_typed_func::<(u32, u32), u64>(&mut *store, abi::CHECK_PARAMS)?
                            .call(&mut *store, (ptr, len))?
                    }
                }
            };
            Ok(packed)
        })();
        let packed = outcome.map_err(|error| classify(store, &error))?;
        let (ptr, len) = abi::unpack(packed);
        let start = ptr as usize;
        let Some(answer) = exports
            .memory
            .data(&*store)
            .get(start..start + len as usize)
        else {
            return Ok(Err(Fault::Malformed(
                "the answer lies outside the plugin's memory".into(),
            )));
        };
        if len > abi::MAX_ANSWER_BYTES {
            return Ok(Err(Fault::AnswerTooLarge(len)));
        }
        Ok(Ok(answer.to_vec()))
    }

    /// Fuel left in the store.
    #[cfg(test)]
    pub(crate) fn fuel_left(&self) -> u64 {
        self.store.get_fuel().unwrap_or(0)
    }
}

impl Guest {
    /// A new instance in a new store with the sandbox's limits.
    pub(crate) fn instantiate(&self) -> Result<Live, Fault> {
        let limits = self.sandbox.limits;
        let mut store = Store::new(
            &self.sandbox.engine,
            CallState {
                memory_limit: limits.memory_bytes,
                hit_memory_limit: false,
            },
        );
        store.limiter(|state| state);
        let outcome = (|| {
            store.set_fuel(limits.fuel)?;
            let instance = self.pre.instantiate(&mut store)?;
            let func = |store: &mut Store<CallState>, export: &ModuleExport| {
                instance
                    .get_module_export(store, export)
                    .and_then(Extern::into_func)
                    .ok_or_else(|| wasmtime::Error::msg("export is not a function"))
            };
            let memory = instance
                .get_module_export(&mut store, &self.memory)
                .and_then(Extern::into_memory)
                .ok_or_else(|| wasmtime::Error::msg("`memory` is not a memory"))?;
            let exports = Exports {
                memory,
                alloc: func(&mut store, &self.alloc)?.typed(&store)?,
                evaluate: func(&mut store, &self.evaluate)?.typed(&store)?,
            };
            Ok((instance, exports))
        })();
        match outcome {
            Ok((instance, exports)) => Ok(Live {
                store,
                instance,
                exports,
                input_written: None,
            }),
            Err(error) => Err(classify(&store, &error)),
        }
    }

    /// Calls one export and returns the bytes it answered: an evaluation
    /// on a reused instance when the module was instrumented for it and
    /// the sandbox's self-check passed, otherwise in a fresh instance.
    pub(crate) fn call(&self, export: Export, input: &[u8]) -> Result<Vec<u8>, Fault> {
        if export == Export::Evaluate
            && let Some(pool) = &self.reuse
            && self.sandbox.reuse_holds()
        {
            return self.call_reused(pool, input);
        }
        self.call_fresh(export, input)
    }

    /// Calls one export in a brand-new instance.
    pub(crate) fn call_fresh(&self, export: Export, input: &[u8]) -> Result<Vec<u8>, Fault> {
        self.instantiate()?
            .run(self.sandbox.limits.fuel, export, input)?
    }

    fn call_reused(&self, pool: &Pool, input: &[u8]) -> Result<Vec<u8>, Fault> {
        let instance = match pool.take() {
            Some(instance) => instance,
            None => match Reusable::new(self, &pool.layout) {
                Ok(Some(instance)) => instance,
                // Not restorable, or not even instantiable: what a fresh
                // instance does is the answer.
                Ok(None) | Err(_) => return self.call_fresh(Export::Evaluate, input),
            },
        };
        let (answer, kept) = instance.call(self.sandbox.limits.fuel, Export::Evaluate, input);
        if let Some(instance) = kept {
            pool.give_back(instance);
        }
        answer
    }

    /// The sandbox-wide bound on kept reusable instances.
    pub(crate) fn reuse_budget(&self) -> &Budget {
        &self.sandbox.reuse_budget
    }

    /// See `Plugin::time_restore`.
    pub(crate) fn time_restore(&self, input: &[u8]) -> Option<std::time::Duration> {
        let pool = self.reuse.as_deref()?;
        let mut instance = Reusable::new(self, &pool.layout).ok()??;
        instance
            .call_unrestored(self.sandbox.limits.fuel, Export::Evaluate, input)
            .ok()?
            .ok()?;
        let start = std::time::Instant::now();
        let restored = instance.restore();
        let took = start.elapsed();
        restored.then_some(took)
    }

    /// The reuse pool, when the module was instrumented for it.
    pub(crate) fn pool(&self) -> Option<&Pool> {
        self.reuse.as_deref()
    }
}

fn classify(store: &Store<CallState>, error: &wasmtime::Error) -> Fault {
    if store.data().hit_memory_limit {
        return Fault::MemoryLimit(store.data().memory_limit);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Fault::OutOfFuel,
        Some(trap) => Fault::Trap(trap.to_string()),
        None => Fault::Trap(format!("{error:#}")),
    }
}
