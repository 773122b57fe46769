//! The WebAssembly engine and the isolated call: every call runs in a fresh
//! instance with a fuel budget and a memory cap, so nothing survives from
//! one evaluation to the next and no plugin can run away with the host.

use std::fmt;

use verdict_sdk::abi;
use wasmtime::{
    Config, Enabled, Engine, Extern, ExternType, Func, Instance, InstanceAllocationStrategy,
    InstancePre, Linker, Memory, Module, ModuleExport, PoolingAllocationConfig, ResourceLimiter,
    Store, Trap, ValRaw, ValType,
};

use crate::error::{EngineError, PluginError};
use crate::module_cache::ModuleCache;

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
            .total_memories(limits.concurrent_instances)
            .total_tables(limits.concurrent_instances)
            .max_memory_size(limits.memory_bytes)
            // Reuse a slot's pages instead of returning them to the kernel,
            // and reset only the pages the last call dirtied.
            .linear_memory_keep_resident(1 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(Enabled::Auto);
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
            .wasm_multi_memory(false)
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
        })
    }

    /// The bounds every call gets.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Prepares a compiled module for fast instantiation. The module must
    /// import nothing: the ABI offers plugins no host functions, so no file
    /// system, network, clock or randomness.
    pub(crate) fn prepare(&self, module: &Module) -> Result<Guest, PluginError> {
        let imports: Vec<String> = module
            .imports()
            .map(|i| format!("{}.{}", i.module(), i.name()))
            .collect();
        if !imports.is_empty() {
            return Err(PluginError::Imports { imports });
        }
        let abi = check_exports(module)?;
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

/// A compiled plugin ready to be instantiated once per call (v1) or once
/// per decision (v2, this module's path).
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
}

impl fmt::Debug for Guest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guest")
            .field("abi", &self.abi)
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
    /// `verdict_evaluate` of ABI v1 (v2 decides through
    /// [`Guest::decide_v2`]).
    Evaluate,
}

/// Per-call store data: the memory cap and whether it was hit.
struct CallState {
    memory_limit: usize,
    hit_memory_limit: bool,
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

/// A fresh instance in its own store, and the memory it exports.
struct Live {
    instance: Instance,
    memory: Memory,
}

impl Guest {
    /// The ABI version the module was built for.
    pub(crate) fn abi(&self) -> Abi {
        self.abi
    }

    /// A store for one instance, with the memory cap.
    fn store(&self) -> Store<CallState> {
        let mut store = Store::new(
            &self.sandbox.engine,
            CallState {
                memory_limit: self.sandbox.limits.memory_bytes,
                hit_memory_limit: false,
            },
        );
        store.limiter(|state| state);
        store
    }

    /// Instantiates the module in `store`, with `fuel` for that and for
    /// whatever runs next until fuel is set again.
    fn instantiate(&self, store: &mut Store<CallState>, fuel: u64) -> wasmtime::Result<Live> {
        store.set_fuel(fuel)?;
        let instance = self.pre.instantiate(&mut *store)?;
        let memory = instance
            .get_module_export(&mut *store, &self.memory)
            .and_then(Extern::into_memory)
            .ok_or_else(|| wasmtime::Error::msg("`memory` is not a memory"))?;
        Ok(Live { instance, memory })
    }

    /// Calls one export in a fresh instance and reads the bytes it
    /// answered in place with `read`. `input` is written into guest memory
    /// first (for every export but the manifest). ABI v1's evaluation and
    /// both versions' manifest and parameter check go through here.
    pub(crate) fn call<R>(
        &self,
        export: Export,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> Result<R, Fault> {
        let mut store = self.store();
        let outcome = (|| {
            let live = self.instantiate(&mut store, self.sandbox.limits.fuel)?;
            let packed = match export {
                Export::Manifest => {
                    let func = live.func(&mut store, &self.manifest)?;
                    let mut raw = [ValRaw::i64(0)];
                    // SAFETY: `check_exports` checked at load that this
                    // export is `() -> i64`; `raw` has room for the result.
                    unsafe { func.call_unchecked(&mut store, &mut raw[..] as *mut [ValRaw])? };
                    raw[0].get_i64() as u64
                }
                Export::CheckParams => live.send(self, &mut store, &self.check_params, input)?,
                Export::Evaluate => live.send(self, &mut store, &self.evaluate, input)?,
            };
            Ok(live.answer(&store, packed).and_then(read))
        })();
        match outcome {
            Ok(answer) => answer,
            Err(error) => Err(classify(&store, &error)),
        }
    }

    /// Decides once through ABI v2 in a fresh instance: instantiate, give
    /// it the parameters (`verdict_init`, with a fuel budget of its own),
    /// then evaluate `input` with the full fuel budget and read the answer
    /// in place with `read`. A decision's fuel use is therefore the same
    /// whatever ran in the instance before it.
    pub(crate) fn decide_v2<R>(
        &self,
        params: &[u8],
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> Result<R, Fault> {
        let mut store = self.store();
        let outcome = (|| {
            let live = self.instantiate(&mut store, self.sandbox.limits.fuel)?;
            if let Err(fault) = live.init(self, &mut store, params)? {
                return Ok(Err(fault));
            }
            live.evaluate_v2(self, &mut store, input, read)
        })();
        match outcome {
            Ok(answer) => answer,
            Err(error) => Err(classify(&store, &error)),
        }
    }
}

impl Live {
    /// The function export `export` of this instance.
    fn func(&self, store: &mut Store<CallState>, export: &ModuleExport) -> wasmtime::Result<Func> {
        self.instance
            .get_module_export(&mut *store, export)
            .and_then(Extern::into_func)
            .ok_or_else(|| wasmtime::Error::msg("export is not a function"))
    }

    /// Writes `input` into a buffer from `verdict_alloc` and calls
    /// `target` with it; returns the packed answer.
    fn send(
        &self,
        guest: &Guest,
        store: &mut Store<CallState>,
        target: &ModuleExport,
        input: &[u8],
    ) -> wasmtime::Result<u64> {
        let len =
            u32::try_from(input.len()).map_err(|_| wasmtime::Error::msg("input too large"))?;
        let alloc = self.func(store, &guest.alloc)?;
        let mut raw = [ValRaw::i32(len as i32)];
        // SAFETY: `check_exports` checked at load that `verdict_alloc` is
        // `(i32) -> i32`; `raw` holds the parameter, then the result.
        unsafe { alloc.call_unchecked(&mut *store, &mut raw[..] as *mut [ValRaw])? };
        let ptr = raw[0].get_i32() as u32;
        self.memory.write(&mut *store, ptr as usize, input)?;
        let func = self.func(store, target)?;
        let mut raw = [ValRaw::i32(ptr as i32), ValRaw::i32(len as i32)];
        // SAFETY: `check_exports` checked at load that every export called
        // here with an input is `(i32, i32) -> i64`; `raw` holds both
        // parameters, then the result.
        unsafe { func.call_unchecked(&mut *store, &mut raw[..] as *mut [ValRaw])? };
        Ok(raw[0].get_i64() as u64)
    }

    /// The bytes a packed answer points at, borrowed from guest memory:
    /// inside memory and within the ABI's cap, or the fault.
    fn answer<'s>(&self, store: &'s Store<CallState>, packed: u64) -> Result<&'s [u8], Fault> {
        let (ptr, len) = abi::unpack(packed);
        let start = ptr as usize;
        let Some(answer) = self.memory.data(store).get(start..start + len as usize) else {
            return Err(Fault::Malformed(
                "the answer lies outside the plugin's memory".into(),
            ));
        };
        if len > abi::MAX_ANSWER_BYTES {
            return Err(Fault::AnswerTooLarge(len));
        }
        Ok(answer)
    }

    /// `verdict_init` with the parameter JSON. An instance whose init
    /// answers an error message cannot decide: that is the fault.
    fn init(
        &self,
        guest: &Guest,
        store: &mut Store<CallState>,
        params: &[u8],
    ) -> wasmtime::Result<Result<(), Fault>> {
        let init = guest
            .init
            .as_ref()
            .ok_or_else(|| wasmtime::Error::msg("not an ABI v2 module"))?;
        let packed = self.send(guest, store, init, params)?;
        Ok(self.answer(store, packed).and_then(|status| {
            if status.is_empty() {
                Ok(())
            } else {
                Err(Fault::Plugin(format!(
                    "verdict_init: {}",
                    String::from_utf8_lossy(&status[..status.len().min(abi::MAX_MESSAGE_BYTES)])
                )))
            }
        }))
    }

    /// One decision in an instance that `verdict_init` set up: the fuel
    /// budget is set here, right before it.
    fn evaluate_v2<R>(
        &self,
        guest: &Guest,
        store: &mut Store<CallState>,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> wasmtime::Result<Result<R, Fault>> {
        store.set_fuel(guest.sandbox.limits.fuel)?;
        let packed = self.send(guest, store, &guest.evaluate, input)?;
        Ok(self.answer(store, packed).and_then(read))
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
