//! The WebAssembly engine and the isolated call: every decision runs in a
//! fresh instance, or a reused one restored to the state of a fresh one
//! (`reuse.rs`), with a fuel budget and a memory cap, so nothing survives
//! from one evaluation to the next and no plugin can run away with the
//! host.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use verdict_sdk::abi;
use wasmtime::{
    Config, Enabled, Engine, Extern, ExternType, Func, Instance, InstanceAllocationStrategy,
    InstancePre, Linker, Memory, Module, ModuleExport, PoolingAllocationConfig, ResourceLimiter,
    Store, Trap, ValRaw, ValType,
};

use crate::canary;
use crate::deadline::{Deadline, Shown, Ticker};
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
#[non_exhaustive]
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
    /// The call ran past the sandbox's wall-clock bound (only a sandbox
    /// made with [`Sandbox::with_deadline`] has one).
    Deadline(Duration),
}

impl Fault {
    /// The reason code of [`Fault::Deadline`].
    pub const DEADLINE_CODE: &'static str = "deadline";

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
            Fault::Deadline(_) => Fault::DEADLINE_CODE,
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
            Fault::Deadline(bound) => write!(f, "plugin ran longer than {}", Shown(*bound)),
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
    /// The wall-clock bound per call, and the thread that makes it hold.
    deadline: Option<(Deadline, Arc<Ticker>)>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .field("deadline", &self.deadline.as_ref().map(|(d, _)| d.per_call))
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// An engine tuned for many short, isolated calls, compiling through
    /// `cache`.
    pub fn new(limits: Limits, cache: ModuleCache) -> Result<Sandbox, EngineError> {
        Sandbox::build(limits, cache, None)
    }

    /// [`Sandbox::new`] with a wall-clock bound on every call as well
    /// (`per_call`, more than zero): a call still running after it ends
    /// with [`Fault::Deadline`]. For decisions of unknown cost (replaying a
    /// log that may have been edited); calls that finish use the same fuel
    /// and answer the same bytes as without the bound. The compiled code
    /// checks an epoch counter that a thread of this sandbox advances, so
    /// it differs from [`Sandbox::new`]'s and has its own cache entries.
    pub fn with_deadline(
        limits: Limits,
        cache: ModuleCache,
        per_call: Duration,
    ) -> Result<Sandbox, EngineError> {
        if per_call.is_zero() {
            return Err(EngineError::Setup(wasmtime::Error::msg(
                "the wall-clock bound per call must be more than zero",
            )));
        }
        Sandbox::build(limits, cache, Some(Deadline::new(per_call)))
    }

    fn build(
        limits: Limits,
        cache: ModuleCache,
        deadline: Option<Deadline>,
    ) -> Result<Sandbox, EngineError> {
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
            // which keeps replay exact; an epoch deadline would not, so only
            // `with_deadline` adds one, as a bound beside the fuel.
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
        if deadline.is_some() {
            config.epoch_interruption(true);
        }
        let engine = Engine::new(&config).map_err(EngineError::Setup)?;
        let deadline = match deadline {
            Some(deadline) => {
                let ticker = Ticker::start(&engine, deadline).map_err(|e| {
                    EngineError::Setup(wasmtime::Error::msg(format!(
                        "cannot start the deadline thread: {e}"
                    )))
                })?;
                Some((deadline, Arc::new(ticker)))
            }
            None => None,
        };
        Ok(Sandbox {
            engine,
            limits,
            cache,
            canary: Arc::default(),
            reuse_budget: Budget::new(limits.concurrent_instances / 2),
            deadline,
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
    /// import nothing: the ABI offers plugins no host functions, so no file
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
        let abi = check_exports(module)?;
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
            abi,
            memory: export(abi::MEMORY)?,
            alloc: export(abi::ALLOC)?,
            manifest: export(abi::MANIFEST)?,
            check_params: export(abi::CHECK_PARAMS)?,
            init: match abi {
                Abi::V1 => None,
                Abi::V2 => Some(export(abi::INIT)?),
            },
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

/// The ABI version a module was built for, from its marker export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Abi {
    /// `verdict_abi_v1`: JSON in and out, one instance per call.
    V1,
    /// `verdict_abi_v2`: parameters once per instance (`verdict_init`), a
    /// binary envelope and decision.
    V2,
}

impl Abi {
    /// The version number, as manifests and messages write it.
    #[must_use]
    pub fn number(self) -> u32 {
        match self {
            Abi::V1 => 1,
            Abi::V2 => 2,
        }
    }
}

/// The ABI version of the module's marker, and every export that version
/// requires, with exactly its type (`ABI.md`).
fn check_exports(module: &Module) -> Result<Abi, PluginError> {
    use wasmtime::ValType::{I32, I64};
    let abi = match (
        module.get_export(abi::MARKER_V1).is_some(),
        module.get_export(abi::MARKER_V2).is_some(),
    ) {
        (true, false) => Abi::V1,
        (false, true) => Abi::V2,
        (true, true) => return Err(PluginError::TwoMarkers),
        (false, false) => return Err(PluginError::NoMarker),
    };
    let marker = match abi {
        Abi::V1 => abi::MARKER_V1,
        Abi::V2 => abi::MARKER_V2,
    };
    let common: [(&'static str, &[ValType], &[ValType]); 5] = [
        (marker, &[], &[]),
        (abi::ALLOC, &[I32], &[I32]),
        (abi::MANIFEST, &[], &[I64]),
        (abi::CHECK_PARAMS, &[I32, I32], &[I64]),
        (abi::EVALUATE, &[I32, I32], &[I64]),
    ];
    let v2: &[(&'static str, &[ValType], &[ValType])] = match abi {
        Abi::V1 => &[],
        Abi::V2 => &[(abi::INIT, &[I32, I32], &[I64])],
    };
    for &(name, params, results) in common.iter().chain(v2) {
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
        Some(ExternType::Memory(memory)) if !memory.is_64() && !memory.is_shared() => Ok(abi),
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
/// worker and parameter set on the reused-instance path (`reuse.rs`).
#[derive(Clone)]
pub(crate) struct Guest {
    sandbox: Sandbox,
    pre: InstancePre<CallState>,
    abi: Abi,
    memory: ModuleExport,
    alloc: ModuleExport,
    manifest: ModuleExport,
    check_params: ModuleExport,
    /// v2 only.
    init: Option<ModuleExport>,
    evaluate: ModuleExport,
    /// Idle reusable instances, when the module was instrumented for them.
    reuse: Option<Arc<Pool>>,
}

impl fmt::Debug for Guest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guest")
            .field("abi", &self.abi)
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
    /// `verdict_evaluate` (of an instance a v2 module's `verdict_init`
    /// set up: see [`Guest::ready`]).
    Evaluate,
}

/// Per-call store data: the memory cap and whether it was hit, and the
/// sandbox's wall-clock bound, if it has one.
pub(crate) struct CallState {
    memory_limit: usize,
    pub(crate) hit_memory_limit: bool,
    deadline: Option<Deadline>,
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

/// The exports of one instance, looked up once. They are called without a
/// per-call type check: `check_exports` checked every signature at load.
pub(crate) struct Exports {
    pub(crate) memory: Memory,
    alloc: Func,
    manifest: Func,
    check_params: Func,
    /// v2 only.
    init: Option<Func>,
    evaluate: Func,
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
    /// Calls one export with `fuel` and reads the bytes it answered in
    /// place with `read` (inner `Err`: the call finished but its answer is
    /// unusable), or returns the fault that stopped it (outer `Err`: the
    /// instance must not be reused). `input` is written into guest memory
    /// first (for every export but the manifest).
    pub(crate) fn run<R>(
        &mut self,
        fuel: u64,
        export: Export,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> Result<Result<R, Fault>, Fault> {
        let outcome = (|| {
            self.store.set_fuel(fuel)?;
            start_clock(&mut self.store);
            match export {
                Export::Manifest => {
                    let mut raw = [ValRaw::i64(0)];
                    // SAFETY: `check_exports` checked at load that this
                    // export is `() -> i64`; `raw` has room for the result.
                    unsafe {
                        self.exports
                            .manifest
                            .call_unchecked(&mut self.store, &mut raw[..] as *mut [ValRaw])?;
                    };
                    Ok(raw[0].get_i64() as u64)
                }
                Export::CheckParams => self.send(self.exports.check_params, input),
                Export::Evaluate => self.send(self.exports.evaluate, input),
            }
        })();
        let packed = outcome.map_err(|error| classify(&self.store, &error))?;
        Ok(self.answer(packed).and_then(read))
    }

    /// `verdict_init` of a v2 module with the parameter JSON, on the fuel
    /// (and time) instantiation left (ABI.md: they share one budget). An instance
    /// whose init answers an error message cannot decide: that is the
    /// fault.
    pub(crate) fn init(&mut self, params: &[u8]) -> Result<(), Fault> {
        let init = self
            .exports
            .init
            .ok_or_else(|| Fault::Trap("not an ABI v2 module".into()))?;
        let packed = self
            .send(init, params)
            .map_err(|error| classify(&self.store, &error))?;
        self.answer(packed).and_then(|status| {
            if status.is_empty() {
                Ok(())
            } else {
                Err(Fault::Plugin(format!(
                    "verdict_init: {}",
                    String::from_utf8_lossy(&status[..status.len().min(abi::MAX_MESSAGE_BYTES)])
                )))
            }
        })
    }

    /// Writes `input` into a buffer from `verdict_alloc` and calls
    /// `target` with it; returns the packed answer.
    fn send(&mut self, target: Func, input: &[u8]) -> wasmtime::Result<u64> {
        let len =
            u32::try_from(input.len()).map_err(|_| wasmtime::Error::msg("input too large"))?;
        let mut raw = [ValRaw::i32(len as i32)];
        // SAFETY: `check_exports` checked at load that `verdict_alloc` is
        // `(i32) -> i32`; `raw` holds the parameter, then the result.
        unsafe {
            self.exports
                .alloc
                .call_unchecked(&mut self.store, &mut raw[..] as *mut [ValRaw])?;
        };
        let ptr = raw[0].get_i32() as u32;
        self.input_written = Some((ptr as usize, input.len()));
        self.exports
            .memory
            .write(&mut self.store, ptr as usize, input)?;
        let mut raw = [ValRaw::i32(ptr as i32), ValRaw::i32(len as i32)];
        // SAFETY: `check_exports` checked at load that every export called
        // here with an input is `(i32, i32) -> i64`; `raw` holds both
        // parameters, then the result.
        unsafe { target.call_unchecked(&mut self.store, &mut raw[..] as *mut [ValRaw])? };
        Ok(raw[0].get_i64() as u64)
    }

    /// The bytes a packed answer points at, borrowed from guest memory:
    /// inside memory and within the ABI's cap, or the fault.
    fn answer(&self, packed: u64) -> Result<&[u8], Fault> {
        let (ptr, len) = abi::unpack(packed);
        let start = ptr as usize;
        let Some(answer) = self
            .exports
            .memory
            .data(&self.store)
            .get(start..start + len as usize)
        else {
            return Err(Fault::Malformed(
                "the answer lies outside the plugin's memory".into(),
            ));
        };
        if len > abi::MAX_ANSWER_BYTES {
            return Err(Fault::AnswerTooLarge(len));
        }
        Ok(answer)
    }

    /// Fuel left in the store.
    #[cfg(test)]
    pub(crate) fn fuel_left(&self) -> u64 {
        self.store.get_fuel().unwrap_or(0)
    }
}

impl Guest {
    /// The ABI version the module was built for.
    pub(crate) fn abi(&self) -> Abi {
        self.abi
    }

    /// The sandbox it runs in.
    pub(crate) fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// A new instance in a new store with the sandbox's limits.
    pub(crate) fn instantiate(&self) -> Result<Live, Fault> {
        let limits = self.sandbox.limits;
        let mut store = Store::new(
            &self.sandbox.engine,
            CallState {
                memory_limit: limits.memory_bytes,
                hit_memory_limit: false,
                deadline: self
                    .sandbox
                    .deadline
                    .as_ref()
                    .map(|&(deadline, _)| deadline),
            },
        );
        store.limiter(|state| state);
        let outcome = (|| {
            store.set_fuel(limits.fuel)?;
            start_clock(&mut store);
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
                alloc: func(&mut store, &self.alloc)?,
                manifest: func(&mut store, &self.manifest)?,
                check_params: func(&mut store, &self.check_params)?,
                init: match &self.init {
                    Some(init) => Some(func(&mut store, init)?),
                    None => None,
                },
                evaluate: func(&mut store, &self.evaluate)?,
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

    /// A new instance ready to decide under `params` (the binding's
    /// parameter JSON): a v2 module's `verdict_init` has run with them; a
    /// v1 module gets them with every input instead.
    pub(crate) fn ready(&self, params: &[u8]) -> Result<Live, Fault> {
        let mut live = self.instantiate()?;
        if self.abi == Abi::V2 {
            live.init(params)?;
        }
        Ok(live)
    }

    /// The manifest or the parameter check, in a fresh instance (a v2
    /// module's `verdict_init` is not called first), its answer read in
    /// place with `read`.
    pub(crate) fn call<R>(
        &self,
        export: Export,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> Result<R, Fault> {
        self.instantiate()?
            .run(self.sandbox.limits.fuel, export, input, read)?
    }

    /// One decision under `params` on `input` (encoded for the module's
    /// ABI), its answer read in place with `read`: on a reused instance
    /// when the module was instrumented for it and the sandbox's
    /// self-check passed, otherwise in a fresh instance.
    pub(crate) fn decide<R>(
        &self,
        params: &[u8],
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> Result<R, Fault> {
        if let Some(pool) = &self.reuse
            && self.sandbox.reuse_holds()
        {
            return self.decide_reused(pool, params, input, read);
        }
        self.decide_fresh(params, input, read)
    }

    /// [`Guest::decide`] in a brand-new instance.
    pub(crate) fn decide_fresh<R>(
        &self,
        params: &[u8],
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> Result<R, Fault> {
        self.ready(params)?
            .run(self.sandbox.limits.fuel, Export::Evaluate, input, read)?
    }

    fn decide_reused<R>(
        &self,
        pool: &Pool,
        params: &[u8],
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> Result<R, Fault> {
        let key = self.params_key(params);
        let instance = match pool.take(key) {
            Some(instance) => instance,
            None => match Reusable::new(self, &pool.layout, key) {
                Ok(Some(instance)) => instance,
                // Not restorable, or not even instantiable: what a fresh
                // instance does is the answer.
                Ok(None) | Err(_) => return self.decide_fresh(params, input, read),
            },
        };
        let (answer, kept) = instance.call(self.sandbox.limits.fuel, input, read);
        if let Some(instance) = kept {
            pool.give_back(instance);
        }
        answer
    }

    /// What a reused instance was set up with: the parameters for a v2
    /// module, nothing for v1 (its inputs carry them).
    pub(crate) fn params_key<'p>(&self, params: &'p [u8]) -> &'p [u8] {
        match self.abi {
            Abi::V1 => &[],
            Abi::V2 => params,
        }
    }

    /// The sandbox-wide bound on kept reusable instances.
    pub(crate) fn reuse_budget(&self) -> &Budget {
        &self.sandbox.reuse_budget
    }

    /// See `Plugin::time_restore`.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn time_restore(&self, params: &[u8], input: &[u8]) -> Option<std::time::Duration> {
        let pool = self.reuse.as_deref()?;
        let mut instance = Reusable::new(self, &pool.layout, self.params_key(params)).ok()??;
        instance
            .call_unrestored(self.sandbox.limits.fuel, input, |_| Ok(()))
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

/// Sets the store's epoch deadline a whole bound from now, when the
/// sandbox has a bound (without one the code has no epoch checks).
fn start_clock(store: &mut Store<CallState>) {
    if let Some(deadline) = store.data().deadline {
        store.set_epoch_deadline(deadline.ticks);
    }
}

fn classify(store: &Store<CallState>, error: &wasmtime::Error) -> Fault {
    if store.data().hit_memory_limit {
        return Fault::MemoryLimit(store.data().memory_limit);
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Fault::OutOfFuel,
        Some(Trap::Interrupt) => match store.data().deadline {
            Some(deadline) => Fault::Deadline(deadline.per_call),
            None => Fault::Trap(Trap::Interrupt.to_string()),
        },
        Some(trap) => Fault::Trap(trap.to_string()),
        None => Fault::Trap(format!("{error:#}")),
    }
}
