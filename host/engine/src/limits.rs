//! The resource bounds every call into a plugin gets.

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
