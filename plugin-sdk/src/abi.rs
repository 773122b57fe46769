//! Names and versions of the guest/host ABI: the one stability boundary
//! between plugins and the host. `ABI.md` describes each item.

/// The ABI version the [`policy!`](crate::policy) macro builds plugins for.
/// (The host also runs ABI v1 modules; the SDK's JSON glue still speaks it.)
pub const VERSION: u32 = 2;
/// Marker export of an ABI v1 module.
pub const MARKER_V1: &str = "verdict_abi_v1";
/// Marker export of an ABI v2 module.
pub const MARKER_V2: &str = "verdict_abi_v2";
/// Exported linear memory holding inputs and outputs.
pub const MEMORY: &str = "memory";
/// `(len: i32) -> i32`: reserve `len` bytes for an input, return its address.
pub const ALLOC: &str = "verdict_alloc";
/// `() -> i64`: the plugin's manifest as JSON, returned as a packed slice.
pub const MANIFEST: &str = "verdict_manifest";
/// `(ptr: i32, len: i32) -> i64`: check a parameter set, return JSON errors.
pub const CHECK_PARAMS: &str = "verdict_check_params";
/// v2 only, `(ptr: i32, len: i32) -> i64`: take the parameter set (JSON)
/// once per instance; answer an empty status, or an error message.
pub const INIT: &str = "verdict_init";
/// `(ptr: i32, len: i32) -> i64`: evaluate one input, return a decision
/// (JSON in v1, the binary layout of `ABI.md` in v2).
pub const EVALUATE: &str = "verdict_evaluate";

/// The largest answer an export may give, in bytes: a bigger one makes an
/// `error` decision (and refuses a manifest), so a plugin cannot make the
/// host hold unbounded output per decision.
pub const MAX_ANSWER_BYTES: u32 = 64 << 10;
/// The largest reason message a decision may carry, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4 << 10;
/// The largest profile the host sends a plugin, in bytes of its JSON: a
/// bigger one is refused before any plugin runs.
pub const MAX_PROFILE_BYTES: usize = 1 << 20;

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
