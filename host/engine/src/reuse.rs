//! The reused-instance path: one live instance of an instrumented module
//! (`instrument.rs`) per worker and parameter set, put back after every
//! decision to exactly the state it had right after instantiation (and,
//! for ABI v2, after `verdict_init` with those parameters).
//!
//! After a call the host copies every granule the dirty map marks (and the
//! input it wrote itself) back from a snapshot taken at instantiation,
//! resets every mutable global, and clears the map: no system call, and only the bytes the call wrote. An
//! instance whose call trapped, ran out of fuel, hit the memory cap or
//! changed its memory's size is dropped instead; the next decision gets a
//! new one. Decisions are the same bytes, with the same fuel, on either
//! path: the fresh path runs the same instrumented module.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use wasmtime::{Extern, Global, Memory, Store, Val};

use crate::fault::Fault;
use crate::instance::{CallState, Export, Live};
use crate::instrument::{DIRTY_MAP_EXPORT, GRANULE_SHIFT, WIDEST_STORE};

/// What the host needs to restore instances of one instrumented module.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Export names of the mutable globals.
    pub(crate) globals: Vec<String>,
    /// Memory the dirty map covers, in bytes.
    pub(crate) covered_bytes: u64,
}

/// One reusable instance with its snapshot.
pub(crate) struct Reusable {
    live: Live,
    /// The parameters it was set up with (`Guest::params_key`).
    params: Box<[u8]>,
    dirty: Memory,
    globals: Vec<(Global, Val)>,
    snapshot: Box<[u8]>,
    /// Runs of marked granules found by the last scan (first, last).
    runs: Vec<(usize, usize)>,
    _held: Held,
    #[cfg(test)]
    pub(crate) sabotage: Sabotage,
}

/// A deliberately broken restore, to prove the canary notices one.
#[cfg(test)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sabotage {
    None,
    KeepMemory,
    KeepGlobals,
}

impl Reusable {
    /// `live`, an instance set up with `params` (see `Guest::ready`) and
    /// counted against the budget by `held`, with its snapshot; or `live`
    /// back, untouched, when its memory is larger than the dirty map covers
    /// (it cannot be restored: it serves as the fresh instance it is).
    pub(crate) fn new(
        mut live: Live,
        held: Held,
        layout: &Layout,
        params: &[u8],
    ) -> Result<Result<Reusable, Box<Live>>, Fault> {
        // The parameters `verdict_init` got are part of the state to come
        // back to, not an input to undo.
        live.input_written = None;
        let store = &mut live.store;
        let dirty = live
            .instance
            .get_export(&mut *store, DIRTY_MAP_EXPORT)
            .and_then(Extern::into_memory);
        let globals: Option<Vec<Global>> = layout
            .globals
            .iter()
            .map(|name| {
                live.instance
                    .get_export(&mut *store, name)
                    .and_then(Extern::into_global)
            })
            .collect();
        let (Some(dirty), Some(globals)) = (dirty, globals) else {
            return Err(Fault::Trap(
                "the instrumented module lacks its restore exports".into(),
            ));
        };
        let size = live.exports.memory.data_size(&*store);
        if size as u64 > layout.covered_bytes {
            return Ok(Err(Box::new(live)));
        }
        // Whatever instantiation (and an init call) wrote is the state to
        // come back to: the map starts clear.
        dirty.data_mut(&mut *store).fill(0);
        let globals = globals
            .into_iter()
            .map(|global| (global, global.get(&mut *store)))
            .collect();
        let snapshot = live.exports.memory.data(&*store).into();
        Ok(Ok(Reusable {
            live,
            params: params.into(),
            dirty,
            globals,
            snapshot,
            runs: Vec::new(),
            _held: held,
            #[cfg(test)]
            sabotage: Sabotage::None,
        }))
    }

    /// Evaluates `input` with `fuel`, reads the answer in place with
    /// `read`, and restores the instance; the instance comes back only if
    /// it can be reused.
    pub(crate) fn call<R>(
        mut self,
        fuel: u64,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> (Result<R, Fault>, Option<Reusable>) {
        match self.call_unrestored(fuel, input, read) {
            Ok(answer) => {
                let kept = self.restore().then_some(self);
                (answer, kept)
            }
            Err(fault) => (Err(fault), None),
        }
    }

    /// The evaluation alone: `Err` when the instance must not be reused.
    pub(crate) fn call_unrestored<R>(
        &mut self,
        fuel: u64,
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> Result<Result<R, Fault>, Fault> {
        self.live.store.data_mut().hit_memory_limit = false;
        self.live.run(fuel, Export::Evaluate, input, read)
    }

    /// Puts the instance back as it was after instantiation; `false` when
    /// it cannot be (its memory changed size).
    pub(crate) fn restore(&mut self) -> bool {
        let store: &mut Store<CallState> = &mut self.live.store;
        let memory = self.live.exports.memory;
        let size = memory.data_size(&*store);
        if size != self.snapshot.len() {
            return false;
        }
        scan(
            &mut self.dirty.data_mut(&mut *store)[..size >> GRANULE_SHIFT],
            &mut self.runs,
        );
        // The input the host wrote, which no instrumented store marked.
        if let Some((start, len)) = self.live.input_written.take()
            && len > 0
        {
            self.runs
                .push((start >> GRANULE_SHIFT, (start + len - 1) >> GRANULE_SHIFT));
        }
        #[cfg(test)]
        if self.sabotage == Sabotage::KeepMemory {
            self.runs.clear();
        }
        let data = memory.data_mut(&mut *store);
        for &(first, last) in &self.runs {
            // A store that starts in the last granule may run past it.
            let start = first << GRANULE_SHIFT;
            let end = (((last + 1) << GRANULE_SHIFT) + WIDEST_STORE - 1).min(size);
            data[start..end].copy_from_slice(&self.snapshot[start..end]);
        }
        #[cfg(test)]
        if self.sabotage == Sabotage::KeepGlobals {
            return true;
        }
        for (global, value) in &self.globals {
            if global.set(&mut *store, *value).is_err() {
                return false;
            }
        }
        true
    }

    /// The live instance (for comparing it with a fresh one).
    #[cfg(test)]
    pub(crate) fn live(&mut self) -> &mut Live {
        &mut self.live
    }
}

/// How many reusable instances a sandbox may keep at once: a share of its
/// instance pool, so that kept instances never starve fresh ones.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    held: Arc<AtomicU32>,
    most: u32,
}

impl Budget {
    pub(crate) fn new(most: u32) -> Budget {
        Budget {
            held: Arc::default(),
            most,
        }
    }

    /// One more kept instance, unless the budget is spent.
    pub(crate) fn hold(&self) -> Option<Held> {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < self.most).then_some(held + 1)
            })
            .ok()?;
        Some(Held(Arc::clone(&self.held)))
    }
}

/// One instance counted against a [`Budget`] until dropped.
pub(crate) struct Held(Arc<AtomicU32>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Collects the runs of marked entries of `map` into `runs` and clears them.
fn scan(map: &mut [u8], runs: &mut Vec<(usize, usize)>) {
    runs.clear();
    let mut open: Option<(usize, usize)> = None;
    for (word_index, word) in map.chunks_mut(8).enumerate() {
        if word.iter().all(|&b| b == 0) {
            continue;
        }
        for (i, byte) in word.iter_mut().enumerate() {
            if *byte == 0 {
                continue;
            }
            *byte = 0;
            let granule = word_index * 8 + i;
            open = match open {
                Some((first, last)) if last + 1 == granule => Some((first, granule)),
                Some(run) => {
                    runs.push(run);
                    Some((granule, granule))
                }
                None => Some((granule, granule)),
            };
        }
    }
    runs.extend(open);
}

/// Idle reusable instances of one module, shared by every worker: a worker
/// takes one set up with its binding's parameters for a decision and gives
/// it back, so each worker in effect keeps its own per binding. They are
/// dropped with the plugin (a policy set swapped out frees them).
pub(crate) struct Pool {
    pub(crate) layout: Layout,
    idle: Mutex<Vec<Reusable>>,
    most_idle: usize,
    /// Parameters whose `verdict_init` grows memory past what the restore
    /// covers: their decisions go straight to fresh instances.
    unrestorable: Mutex<HashSet<Box<[u8]>>>,
}

impl Pool {
    pub(crate) fn new(layout: Layout, most_idle: usize) -> Pool {
        Pool {
            layout,
            idle: Mutex::new(Vec::new()),
            most_idle,
            unrestorable: Mutex::default(),
        }
    }

    /// Whether instances set up with `params` were found unrestorable.
    pub(crate) fn unrestorable(&self, params: &[u8]) -> bool {
        self.unrestorable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(params)
    }

    /// Records that instances set up with `params` cannot be restored.
    pub(crate) fn mark_unrestorable(&self, params: &[u8]) {
        self.unrestorable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(params.into());
    }

    /// An idle instance set up with `params`.
    pub(crate) fn take(&self, params: &[u8]) -> Option<Reusable> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let index = idle.iter().rposition(|r| *r.params == *params)?;
        Some(idle.swap_remove(index))
    }

    pub(crate) fn give_back(&self, instance: Reusable) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.most_idle {
            idle.push(instance);
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::scan;

    #[test]
    fn scan_finds_runs_and_clears_them() {
        let mut map = vec![0u8; 40];
        for i in [0, 1, 2, 7, 8, 20, 39] {
            map[i] = 1;
        }
        let mut runs = Vec::new();
        scan(&mut map, &mut runs);
        assert_eq!(runs, [(0, 2), (7, 8), (20, 20), (39, 39)]);
        assert!(map.iter().all(|&b| b == 0));
        scan(&mut map, &mut runs);
        assert!(runs.is_empty());
    }
}
