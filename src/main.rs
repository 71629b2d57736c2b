//! The `aadtrace` binary: everything happens in [`aadtrace::cli`].

fn main() {
    let code = aadtrace::cli::main();
    std::process::exit(code as i32);
}

/// mimalloc instead of the system allocator: the analysis makes many small
/// short-lived strings per exchange, and the whole command is about 10 % faster
/// with it (benches/README.md). `--no-default-features` builds without it.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: allocator::MiMalloc = allocator::MiMalloc;

/// The global allocator over mimalloc's C interface.
///
/// The `mimalloc` crate hands every request to `mi_malloc_aligned`, whose
/// alignment checks cost about as much as the allocation itself: 63
/// instructions per allocation on an identity-dense HAR, 650 thousand of them
/// (issue #15). mimalloc's size classes are multiples of a machine word that
/// start word-aligned (its `mi_bin`, `page-queue.c`), so every block of plain
/// `mi_malloc` is aligned to a word; only wider alignments take the aligned
/// calls.
#[cfg(feature = "mimalloc")]
mod allocator {
    use libmimalloc_sys as mi;
    use std::alloc::{GlobalAlloc, Layout};

    /// The alignment every mimalloc block has.
    const WORD: usize = std::mem::size_of::<usize>();

    pub struct MiMalloc;

    // SAFETY: mimalloc returns blocks of at least the requested size, aligned to
    // a word (see above) or to the alignment asked for, or null; `mi_free` takes
    // any of them, and `mi_realloc` keeps a block's word alignment.
    unsafe impl GlobalAlloc for MiMalloc {
        #[inline]
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if layout.align() <= WORD {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }

        #[inline]
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            if layout.align() <= WORD {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }

        #[inline]
        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            mi::mi_free(ptr.cast());
        }

        #[inline]
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr.cast(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
            }
        }
    }

    #[cfg(test)]
    mod tests {
        /// Every size and alignment Rust asks for comes back aligned, growing
        /// and shrinking keeps the contents, and zeroed memory is zero.
        #[test]
        fn blocks_are_aligned_as_asked() {
            use super::*;
            let a = MiMalloc;
            for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
                for size in [1, 3, 8, 12, 24, 40, 56, 100, 1000, 5000, 70_000, 1 << 21] {
                    let layout = Layout::from_size_align(size, align).unwrap();
                    // SAFETY: the layouts have non-zero sizes; each block is
                    // used within its size and freed once.
                    unsafe {
                        let p = a.alloc(layout);
                        assert!(!p.is_null());
                        assert_eq!(p as usize % align, 0, "{size} {align}");
                        std::ptr::write_bytes(p, 0xa5, size);
                        let q = a.realloc(p, layout, size * 3 + 1);
                        assert_eq!(q as usize % align, 0, "{size} {align} grown");
                        assert!((0..size).all(|i| *q.add(i) == 0xa5));
                        let grown = Layout::from_size_align(size * 3 + 1, align).unwrap();
                        let r = a.realloc(q, grown, size.div_ceil(2));
                        assert_eq!(r as usize % align, 0, "{size} {align} shrunk");
                        assert!((0..size.div_ceil(2)).all(|i| *r.add(i) == 0xa5));
                        a.dealloc(r, Layout::from_size_align(size.div_ceil(2), align).unwrap());
                        let z = a.alloc_zeroed(layout);
                        assert_eq!(z as usize % align, 0, "{size} {align} zeroed");
                        assert!((0..size).all(|i| *z.add(i) == 0));
                        a.dealloc(z, layout);
                    }
                }
            }
        }
    }
}
