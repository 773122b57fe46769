//! The WebAssembly engine every plugin is compiled and run with: its
//! configuration (fuel, memory and stack bounds, the instance pool, the
//! WebAssembly features ABI.md allows), the compiled-module cache and the
//! optional wall-clock bound. A compiled module becomes a `Guest`
//! (`guest.rs`); each call runs in an instance (`instance.rs`), fresh or
//! reused and restored (`reuse.rs`), so nothing survives from one
//! evaluation to the next and no plugin can run away with the host.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, Module, PoolingAllocationConfig,
    WasmFeatures,
};

use crate::deadline::{Deadline, Ticker};
use crate::error::{EngineError, PluginError};
use crate::limits::Limits;
use crate::module_cache::ModuleCache;
use crate::reuse::Budget;

/// The engine every plugin is compiled and run with.
#[derive(Clone)]
pub struct Sandbox {
    engine: Engine,
    limits: Limits,
    cache: ModuleCache,
    /// The reused-instance self-check (`canary.rs`), run once on first
    /// use: `None` when it held, else why the fast path is refused.
    pub(crate) canary: Arc<OnceLock<Option<String>>>,
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
    /// with [`Fault::Deadline`](crate::Fault::Deadline). For decisions of unknown cost (replaying a
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
            // Built without wasmtime's `gc` and `threads` features, which
            // carry their own switches; still on by default otherwise.
            .wasm_features(
                WasmFeatures::FUNCTION_REFERENCES
                    | WasmFeatures::EXCEPTIONS
                    | WasmFeatures::THREADS,
                false,
            )
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

    /// The bounds every call gets.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The wasmtime engine.
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The wall-clock bound per call, if the sandbox has one.
    pub(crate) fn deadline(&self) -> Option<Deadline> {
        self.deadline.as_ref().map(|&(deadline, _)| deadline)
    }

    /// The sandbox-wide bound on kept reusable instances.
    pub(crate) fn reuse_budget(&self) -> &Budget {
        &self.reuse_budget
    }

    /// Compiles module bytes (binary or WebAssembly text), through the
    /// compiled-module cache.
    pub(crate) fn compile(&self, bytes: &[u8]) -> Result<Module, PluginError> {
        self.cache
            .compile(&self.engine, bytes)
            .map_err(PluginError::Invalid)
    }
}
