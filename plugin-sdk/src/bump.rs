//! The guest's allocator: a bump pointer that never frees.
//!
//! Every plugin instance serves one call and is then thrown away, so freeing
//! is wasted work. The first `STATIC_HEAP` bytes come from a zeroed static
//! buffer that is part of the module's initial memory, so a typical
//! evaluation never grows memory (growing costs the host a system call);
//! beyond it the allocator grows linear memory.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

const STATIC_HEAP: usize = 256 * 1024;
const PAGE: usize = 65_536;

struct Bump {
    heap: UnsafeCell<[u8; STATIC_HEAP]>,
    /// Next free address; 0 until the first allocation.
    next: UnsafeCell<usize>,
    /// End of the region `next` may grow into.
    end: UnsafeCell<usize>,
}

// SAFETY: wasm32-unknown-unknown plugins run single-threaded.
unsafe impl Sync for Bump {}

#[global_allocator]
static ALLOCATOR: Bump = Bump {
    heap: UnsafeCell::new([0; STATIC_HEAP]),
    next: UnsafeCell::new(0),
    end: UnsafeCell::new(0),
};

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded (see `Sync` above); the cells are only
        // touched here and in `realloc`.
        unsafe {
            let next = &mut *self.next.get();
            let end = &mut *self.end.get();
            if *next == 0 {
                *next = self.heap.get() as usize;
                *end = *next + STATIC_HEAP;
            }
            let start = (*next + layout.align() - 1) & !(layout.align() - 1);
            let Some(stop) = start.checked_add(layout.size()) else {
                return core::ptr::null_mut();
            };
            if stop > *end {
                // Past the static buffer: take fresh pages at the end of
                // memory and continue from there.
                let pages = layout.size().div_ceil(PAGE) + 1;
                let previous = core::arch::wasm32::memory_grow(0, pages);
                if previous == usize::MAX {
                    return core::ptr::null_mut();
                }
                let base = previous * PAGE;
                *end = base + pages * PAGE;
                let start = (base + layout.align() - 1) & !(layout.align() - 1);
                *next = start + layout.size();
                return start as *mut u8;
            }
            *next = stop;
            start as *mut u8
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`. Growing the most recent allocation in place
        // keeps a growing output buffer from copying itself every time.
        unsafe {
            let next = &mut *self.next.get();
            let end = *self.end.get();
            if ptr as usize + layout.size() == *next && ptr as usize + new_size <= end {
                *next = ptr as usize + new_size;
                return ptr;
            }
            let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                return core::ptr::null_mut();
            };
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            }
            new
        }
    }
}
