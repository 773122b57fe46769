//! Names and version of the guest/host ABI: the one stability boundary
//! between plugins and the host. `ABI.md` describes each item.

/// The ABI version this SDK implements.
pub const VERSION: u32 = 1;
/// Marker export: a module without it was not built for ABI v1.
pub const MARKER: &str = "verdict_abi_v1";
/// Exported linear memory holding inputs and outputs.
pub const MEMORY: &str = "memory";
/// `(len: i32) -> i32`: reserve `len` bytes for an input, return its address.
pub const ALLOC: &str = "verdict_alloc";
/// `() -> i64`: the plugin's manifest as JSON, returned as a packed slice.
pub const MANIFEST: &str = "verdict_manifest";
/// `(ptr: i32, len: i32) -> i64`: check a parameter set, return JSON errors.
pub const CHECK_PARAMS: &str = "verdict_check_params";
/// `(ptr: i32, len: i32) -> i64`: evaluate one input, return a JSON decision.
pub const EVALUATE: &str = "verdict_evaluate";

/// The largest answer an export may give, in bytes: a bigger one makes an
/// `error` decision (and refuses a manifest), so a plugin cannot make the
/// host hold unbounded output per decision.
pub const MAX_ANSWER_BYTES: u32 = 64 << 10;
/// The largest reason message a decision may carry, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4 << 10;

/// Packs a guest slice into the `i64` every returning export gives back:
/// address in the high 32 bits, length in the low 32 bits.
#[must_use]
pub const fn pack(ptr: u32, len: u32) -> u64 {
    ((ptr as u64) << 32) | len as u64
}

/// Splits a packed slice into `(address, length)`.
#[must_use]
pub const fn unpack(packed: u64) -> (u32, u32) {
    ((packed >> 32) as u32, packed as u32)
}
