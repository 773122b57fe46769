//! One live instance and the per-call protocol with it: fuel, the memory
//! cap and the wall-clock bound set for each call, the input written into
//! guest memory, the export called, the answer read in place, and a trap
//! turned into a [`Fault`].

use verdict_sdk::abi;
use wasmtime::{
    Engine, Extern, Func, Instance, InstancePre, Memory, ModuleExport, ResourceLimiter, Store,
    Trap, ValRaw,
};

use crate::deadline::Deadline;
use crate::fault::Fault;
use crate::limits::Limits;

/// Which ABI export a call goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Export {
    /// `verdict_manifest`, no input.
    Manifest,
    /// `verdict_check_params`.
    CheckParams,
    /// `verdict_evaluate` (of an instance a v2 module's `verdict_init`
    /// set up: see `Guest::ready`).
    Evaluate,
}

/// Per-call store data: the memory cap and whether it was hit, and the
/// sandbox's wall-clock bound, if it has one.
pub(crate) struct CallState {
    memory_limit: usize,
    pub(crate) hit_memory_limit: bool,
    deadline: Option<Deadline>,
}

/// Where a module's ABI exports are, looked up once when it is prepared.
#[derive(Clone)]
pub(crate) struct ExportIndices {
    pub(crate) memory: ModuleExport,
    pub(crate) alloc: ModuleExport,
    pub(crate) manifest: ModuleExport,
    pub(crate) check_params: ModuleExport,
    /// v2 only.
    pub(crate) init: Option<ModuleExport>,
    pub(crate) evaluate: ModuleExport,
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
/// `TypedFunc` would need no `unsafe`, but measured 13–19% slower per
/// reused-instance decision (docs/design.md, "Unchecked calls into the
/// exports").
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
    /// A new instance of `pre` in a new store with `limits` (and the
    /// wall-clock bound, if there is one), its exports at `indices`
    /// looked up.
    pub(crate) fn new(
        engine: &Engine,
        pre: &InstancePre<CallState>,
        indices: &ExportIndices,
        limits: Limits,
        deadline: Option<Deadline>,
    ) -> Result<Live, Fault> {
        let mut store = Store::new(
            engine,
            CallState {
                memory_limit: limits.memory_bytes,
                hit_memory_limit: false,
                deadline,
            },
        );
        store.limiter(|state| state);
        let outcome = (|| {
            store.set_fuel(limits.fuel)?;
            start_clock(&mut store);
            let instance = pre.instantiate(&mut store)?;
            let func = |store: &mut Store<CallState>, export: &ModuleExport| {
                instance
                    .get_module_export(store, export)
                    .and_then(Extern::into_func)
                    .ok_or_else(|| wasmtime::Error::msg("export is not a function"))
            };
            let memory = instance
                .get_module_export(&mut store, &indices.memory)
                .and_then(Extern::into_memory)
                .ok_or_else(|| wasmtime::Error::msg("`memory` is not a memory"))?;
            let exports = Exports {
                memory,
                alloc: func(&mut store, &indices.alloc)?,
                manifest: func(&mut store, &indices.manifest)?,
                check_params: func(&mut store, &indices.check_params)?,
                init: match &indices.init {
                    Some(init) => Some(func(&mut store, init)?),
                    None => None,
                },
                evaluate: func(&mut store, &indices.evaluate)?,
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

    /// The size of the instance's memory, in bytes.
    pub(crate) fn memory_bytes(&self) -> u64 {
        self.exports.memory.data_size(&self.store) as u64
    }

    /// Fuel left in the store.
    #[cfg(test)]
    pub(crate) fn fuel_left(&self) -> u64 {
        self.store.get_fuel().unwrap_or(0)
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
