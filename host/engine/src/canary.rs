//! The reused-instance self-check: before the first decision on a reused
//! instance, a built-in canary plugin (`canary.wat`) tries to carry state
//! from one call to the next through everything the restore must undo —
//! mutable globals, data, stores of every width and across granules,
//! `memory.fill`, `memory.copy`, the last byte of memory, the allocator's
//! position. If any call sees a trace of an earlier one, the restore does
//! not hold on this machine and the sandbox refuses reuse.

use crate::guest::{Guest, Reuse};
use crate::instrument::instrument;
use crate::reuse::{Layout, Reusable};
use crate::sandbox::Sandbox;

const CANARY: &str = include_str!("canary.wat");

/// Calls made on one reused canary instance.
const CALLS: usize = 4;

impl Sandbox {
    /// Why this sandbox refuses the reused-instance path, if it does: the
    /// self-check (a canary plugin that tries to carry state from one call
    /// to the next) found state surviving a restore. Runs the check on
    /// first use; modules instrumented for reuse then run in fresh
    /// instances of the same instrumented code, so decisions do not change.
    #[must_use]
    pub fn reuse_refused(&self) -> Option<&str> {
        self.canary
            .get_or_init(|| {
                let refusal = check(self);
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
}

/// `None` when isolation held over every call, else why not.
pub(crate) fn check(sandbox: &Sandbox) -> Option<String> {
    check_with(sandbox, |_| {})
}

/// [`check`], with `before_call` run on the instance before each call (a
/// test breaks the restore with it).
fn check_with(sandbox: &Sandbox, before_call: impl Fn(&mut Reusable)) -> Option<String> {
    let instrumented = match instrument(CANARY.as_bytes()) {
        Ok(instrumented) => instrumented,
        Err(refusal) => return Some(format!("the canary cannot be instrumented: {refusal}")),
    };
    let layout = Layout {
        globals: instrumented.globals,
        covered_bytes: instrumented.covered_bytes,
    };
    let guest = match sandbox
        .compile(&instrumented.bytes)
        .and_then(|module| Guest::prepare(sandbox, &module, Some(layout.clone())))
    {
        Ok(guest) => guest,
        Err(error) => return Some(format!("the canary cannot be loaded: {error}")),
    };
    let mut instance = match guest.reusable(&layout, &[]) {
        Ok(Reuse::Kept(instance)) => *instance,
        Ok(Reuse::Unrestorable(_)) => {
            return Some("the canary's memory cannot be restored".to_owned());
        }
        Ok(Reuse::Spent) => return Some("no reusable instance is left for the canary".to_owned()),
        Err(fault) => return Some(format!("the canary cannot be instantiated: {fault}")),
    };
    for call in 1..=CALLS {
        before_call(&mut instance);
        let (answer, kept) = instance.call(sandbox.limits().fuel, &[], |answer| Ok(answer == b"1"));
        match answer {
            Ok(true) => {}
            Ok(false) => return Some(format!("state survived into the canary's call {call}")),
            Err(fault) => return Some(format!("the canary's call {call} failed: {fault}")),
        }
        let Some(next) = kept else {
            return Some(format!(
                "the canary's instance was not reusable after call {call}"
            ));
        };
        instance = next;
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::module_cache::ModuleCache;
    use crate::reuse::Sabotage;

    fn sandbox() -> Sandbox {
        Sandbox::new(Limits::default(), ModuleCache::disabled()).expect("sandbox")
    }

    #[test]
    fn isolation_holds_with_the_real_restore() {
        assert_eq!(check(&sandbox()), None);
        assert_eq!(sandbox().reuse_refused(), None);
    }

    #[test]
    fn a_restore_that_keeps_memory_is_caught() {
        let why = check_with(&sandbox(), |i| i.sabotage = Sabotage::KeepMemory);
        assert_eq!(
            why.as_deref(),
            Some("state survived into the canary's call 2")
        );
    }

    #[test]
    fn a_restore_that_keeps_globals_is_caught() {
        let why = check_with(&sandbox(), |i| i.sabotage = Sabotage::KeepGlobals);
        assert_eq!(
            why.as_deref(),
            Some("state survived into the canary's call 2")
        );
    }
}
