//! What the fuzz targets share: record batches built from fuzz bytes
//! ([`arrow`]), and a global allocator that counts the bytes
//! live at once, so a target can bound the memory a parser takes for any
//! input (libFuzzer's own `-malloc_limit_mb` needs a sanitizer's hooks).

pub mod arrow;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting: every target's allocator.
#[derive(Debug)]
struct Counting;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to the system allocator unchanged; the counters
// are only read.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size >= layout.size() {
            grew(new_size - layout.size());
        } else {
            LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn grew(by: usize) {
    let live = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

/// Runs `f` and returns what it gave and the most bytes it had allocated
/// at once beyond what was live before it.
pub fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = f();
    (result, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

/// What the host accepts as a decision holds to the ABI's rules: a
/// kebab-case outcome other than `error`, kebab-case reason codes, and
/// messages within the ABI's bound.
pub fn check_accepted(decision: &verdict_sdk::Decision) {
    assert!(verdict_engine::is_kebab_case(&decision.outcome));
    assert_ne!(decision.outcome, verdict_engine::Outcome::ERROR);
    for reason in &decision.reasons {
        assert!(verdict_engine::is_kebab_case(&reason.code));
        assert!(reason.message.len() <= verdict_sdk::abi::MAX_MESSAGE_BYTES);
    }
}
