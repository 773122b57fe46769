//! A compiled plugin prepared for its sandbox: the ABI exports found once,
//! and the calls a plugin gets — the manifest and parameter check in a
//! fresh instance, decisions in a fresh instance or a reused one.

use std::fmt;
use std::sync::Arc;

use verdict_sdk::abi;
use wasmtime::{InstancePre, Linker, Module};

use crate::error::PluginError;
use crate::exports::{Abi, check_exports};
use crate::fault::Fault;
use crate::instance::{CallState, Export, ExportIndices, Live};
use crate::reuse::{Layout, Pool, Reusable};
use crate::sandbox::Sandbox;

/// What [`Guest::reusable`] could make.
pub(crate) enum Reuse {
    /// An instance to keep, restored after each decision.
    Kept(Box<Reusable>),
    /// A set-up instance whose memory the restore does not cover.
    Unrestorable(Box<Live>),
    /// The budget of kept instances is spent.
    Spent,
}

/// A compiled plugin ready to be instantiated: once per call, or once per
/// worker and parameter set on the reused-instance path (`reuse.rs`).
#[derive(Clone)]
pub(crate) struct Guest {
    sandbox: Sandbox,
    pre: InstancePre<CallState>,
    abi: Abi,
    exports: ExportIndices,
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

impl Guest {
    /// Prepares a compiled module for fast instantiation. The module must
    /// import nothing: the ABI offers plugins no host functions, so no file
    /// system, network, clock or randomness.
    /// With `reuse`, the module was instrumented (`instrument.rs`) and its
    /// evaluations may run on reused instances (`reuse.rs`).
    pub(crate) fn prepare(
        sandbox: &Sandbox,
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
        let linker = Linker::new(sandbox.engine());
        let pre = linker
            .instantiate_pre(module)
            .map_err(PluginError::Prepare)?;
        Ok(Guest {
            sandbox: sandbox.clone(),
            pre,
            abi,
            exports: ExportIndices {
                memory: export(abi::MEMORY)?,
                alloc: export(abi::ALLOC)?,
                manifest: export(abi::MANIFEST)?,
                check_params: export(abi::CHECK_PARAMS)?,
                init: match abi {
                    Abi::V1 => None,
                    Abi::V2 => Some(export(abi::INIT)?),
                },
                evaluate: export(abi::EVALUATE)?,
            },
            reuse: reuse.map(|layout| {
                // Each worker keeps one; a few more may wait idle.
                let most_idle = (sandbox.limits().concurrent_instances as usize / 8).max(1);
                Arc::new(Pool::new(layout, most_idle))
            }),
        })
    }

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
        Live::new(
            self.sandbox.engine(),
            &self.pre,
            &self.exports,
            self.sandbox.limits(),
            self.sandbox.deadline(),
        )
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
            .run(self.sandbox.limits().fuel, export, input, read)?
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
            .run(self.sandbox.limits().fuel, Export::Evaluate, input, read)?
    }

    fn decide_reused<R>(
        &self,
        pool: &Pool,
        params: &[u8],
        input: &[u8],
        read: impl FnOnce(&[u8]) -> Result<R, Fault>,
    ) -> Result<R, Fault> {
        let key = self.params_key(params);
        let fuel = self.sandbox.limits().fuel;
        let instance = match pool.take(key) {
            Some(instance) => instance,
            None if pool.unrestorable(key) => return self.decide_fresh(params, input, read),
            None => match self.reusable(&pool.layout, key)? {
                Reuse::Kept(instance) => *instance,
                // Set up already, and no more than a fresh instance: it
                // decides this once (init is not run twice), and later
                // decisions under these parameters go straight to fresh
                // instances.
                Reuse::Unrestorable(mut live) => {
                    pool.mark_unrestorable(key);
                    return live.run(fuel, Export::Evaluate, input, read)?;
                }
                Reuse::Spent => return self.decide_fresh(params, input, read),
            },
        };
        let (answer, kept) = instance.call(fuel, input, read);
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

    /// A new reusable instance set up with `params` (see
    /// [`Guest::params_key`]) and its snapshot; or the freshly set-up
    /// instance itself when its memory is not restorable; or nothing when
    /// the sandbox-wide budget of kept instances is spent.
    pub(crate) fn reusable(&self, layout: &Layout, params: &[u8]) -> Result<Reuse, Fault> {
        let Some(held) = self.sandbox.reuse_budget().hold() else {
            return Ok(Reuse::Spent);
        };
        Ok(
            match Reusable::new(self.ready(params)?, held, layout, params)? {
                Ok(instance) => Reuse::Kept(Box::new(instance)),
                Err(live) => Reuse::Unrestorable(live),
            },
        )
    }

    /// See `Plugin::time_restore`.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn time_restore(&self, params: &[u8], input: &[u8]) -> Option<std::time::Duration> {
        let pool = self.reuse.as_deref()?;
        let Ok(Reuse::Kept(mut instance)) = self.reusable(&pool.layout, self.params_key(params))
        else {
            return None;
        };
        instance
            .call_unrestored(self.sandbox.limits().fuel, input, |_| Ok(()))
            .ok()?
            .ok()?;
        let start = std::time::Instant::now();
        let restored = instance.restore();
        let took = start.elapsed();
        restored.then_some(took)
    }

    /// When instances set up with `params` cannot be restored: the memory
    /// `verdict_init` leaves and what the restore covers. A restorable
    /// instance made to find out is kept for the next decision.
    pub(crate) fn unrestorable_under(&self, params: &[u8]) -> Option<(u64, u64)> {
        let pool = self.reuse.as_deref()?;
        let key = self.params_key(params);
        match self.reusable(&pool.layout, key) {
            Ok(Reuse::Kept(instance)) => {
                pool.give_back(*instance);
                None
            }
            Ok(Reuse::Unrestorable(live)) => {
                pool.mark_unrestorable(key);
                Some((live.memory_bytes(), pool.layout.covered_bytes))
            }
            Ok(Reuse::Spent) | Err(_) => None,
        }
    }

    /// The reuse pool, when the module was instrumented for it.
    pub(crate) fn pool(&self) -> Option<&Pool> {
        self.reuse.as_deref()
    }
}
