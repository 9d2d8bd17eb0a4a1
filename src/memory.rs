//! Giving freed heap back to the system while the pipeline runs.
//!
//! On Linux with glibc the binary allocates from jemalloc (`src/main.rs`),
//! and SQLite from glibc; [`release`] returns both allocators' freed pages.
//! What follows was learned with glibc's allocator alone, and still holds
//! for SQLite's share; jemalloc's arenas keep freed pages for ten seconds
//! unless purged, which [`release`] does.
//!
//! glibc's allocator keeps one arena per thread that allocated in parallel
//! (up to eight per core) and returns an arena's free pages to the system
//! only when they sit at the arena's top. The pipeline's batches are
//! allocated on one thread (the cleaner's workers) and freed on another
//! (the store task), so the arenas fill with free pages between live ones:
//! on the news farm the process held about 150 MB more than its live heap
//! (docs/performance.md, "Peak memory"). `malloc_trim(0)` walks every
//! arena and returns each whole free page; called twice a second it keeps
//! the process near its live heap at no measurable cost in throughput.
//! Elsewhere (musl, macOS) this does nothing.
//!
//! Blocks of [`MMAP_THRESHOLD`] and more (fetched documents, the index's
//! tables) get pages of their own, returned to the system when freed
//! ([`configure`]). glibc does this too, but raises the threshold to the
//! size of every such block freed, up to 32 MB, so after the first large
//! documents were freed the next ones came from the arenas and left holes
//! there: on the news farm, fixing the threshold took peak RSS from 342–350 to
//! 319–332 MB at the same items/s (docs/performance.md, "Peak memory, step 4").

use std::time::Duration;

/// How often freed pages are returned.
pub const RELEASE_EVERY: Duration = Duration::from_millis(500);

/// Blocks of this many bytes or more are mapped on their own (see the
/// module's documentation).
pub const MMAP_THRESHOLD: usize = 128 * 1024;

/// Fix the allocator's threshold for blocks mapped on their own at
/// [`MMAP_THRESHOLD`], unless the environment sets it
/// ([`set_by_environment`]). Call it first thing, before other threads
/// start.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn configure() {
    let tunables = std::env::var("GLIBC_TUNABLES").ok();
    if !set_by_environment(std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some(), tunables.as_deref()) {
        fix_threshold();
    }
}

/// Set the threshold at [`MMAP_THRESHOLD`]; false if glibc refused it (the
/// default, sliding one then stays).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "glibc's mallopt has no safe wrapper; it takes two integers and touches only the allocator's settings"
)]
fn fix_threshold() -> bool {
    let threshold = libc::c_int::try_from(MMAP_THRESHOLD).unwrap_or(libc::c_int::MAX);
    // SAFETY: mallopt only changes a setting of the allocator; it returns 0
    // when the value is refused.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, threshold) != 0 }
}

/// Nothing to configure here.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn configure() {}

/// Whether the operator set glibc's threshold in the environment
/// (`MALLOC_MMAP_THRESHOLD_`, or `glibc.malloc.mmap_threshold` in
/// `GLIBC_TUNABLES`): then it is theirs, and [`configure`] leaves it.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
fn set_by_environment(threshold_variable: bool, tunables: Option<&str>) -> bool {
    threshold_variable
        || tunables.is_some_and(|t| {
            t.split(':')
                .any(|setting| setting.split_once('=').is_some_and(|(name, _)| name == "glibc.malloc.mmap_threshold"))
        })
}

/// Start a thread that returns freed heap pages to the system every
/// `every`, for the life of the process. A thread that cannot be started is
/// logged and the process carries on: only memory is lost.
#[expect(
    clippy::disallowed_methods,
    reason = "the thread is its own and only waits and trims: no task or runtime worker is blocked"
)]
pub fn release_periodically(every: Duration) {
    if !SUPPORTED {
        return;
    }
    let started = std::thread::Builder::new().name("newswire-trim".into()).spawn(move || {
        loop {
            std::thread::sleep(every);
            release();
        }
    });
    if let Err(e) = started {
        tracing::warn!(error = %e, "cannot start the thread that returns freed memory to the system");
    }
}

/// Whether [`release`] does anything on this platform.
pub const SUPPORTED: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// Return freed heap pages to the system now, from both allocators; true
/// if glibc's returned some (jemalloc does not say).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "malloc_trim and jemalloc's mallctl have no safe wrappers; each touches only its allocator"
)]
pub fn release() -> bool {
    // SAFETY: malloc_trim is thread-safe (it locks each arena in turn) and
    // only returns pages that hold no live allocation.
    let trimmed = unsafe { libc::malloc_trim(0) == 1 };
    // SAFETY: "arena.<all>.purge" takes no value and returns none (null
    // pointers and a zero length, as jemalloc's manual gives); it returns
    // every arena's unused dirty pages, locking each arena in turn. In a
    // process whose allocator is not jemalloc its arenas are empty.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            JEMALLOC_PURGE_ALL.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        );
    }
    trimmed
}

/// jemalloc's control name for purging every arena (4096 is its
/// `MALLCTL_ARENAS_ALL`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const JEMALLOC_PURGE_ALL: &std::ffi::CStr = c"arena.4096.purge";

/// Return freed heap pages to the system now: nothing to do here.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release() -> bool {
    false
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    /// Resident pages of this process, in bytes (from /proc/self/statm).
    fn resident() -> u64 {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm is readable");
        let pages: u64 =
            statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("statm has a resident count");
        pages * 4096
    }

    /// Blocks mapped on their own, now (all arenas).
    #[expect(unsafe_code, reason = "mallinfo2 only reads the allocator's counters")]
    fn mapped_blocks() -> usize {
        // SAFETY: mallinfo2 takes no argument and returns a plain struct.
        unsafe { libc::mallinfo2() }.hblks
    }

    #[test]
    fn a_threshold_set_in_the_environment_is_left_to_it() {
        assert!(!set_by_environment(false, None));
        assert!(set_by_environment(true, None));
        assert!(set_by_environment(false, Some("glibc.malloc.mmap_threshold=65536")));
        assert!(set_by_environment(false, Some("glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=1")));
        assert!(!set_by_environment(false, Some("glibc.malloc.arena_max=2")));
        assert!(!set_by_environment(false, Some("glibc.malloc.mmap_threshold_max=1")));
    }

    #[test]
    fn large_blocks_stay_mapped_after_a_larger_one_was_freed() {
        assert!(fix_threshold(), "glibc refused the threshold");
        // Freeing a mapped 8 MB block is what raises glibc's own threshold
        // to 8 MB; with the threshold fixed, blocks of 256 KB are still
        // mapped on their own afterwards.
        let big = vec![1_u8; 8 << 20];
        assert_eq!(big.iter().map(|&b| usize::from(b)).sum::<usize>(), 8 << 20);
        drop(big);
        let before = mapped_blocks();
        let held: Vec<Vec<u8>> = (0..64).map(|i| vec![(i % 251) as u8; 256 * 1024]).collect();
        let during = mapped_blocks();
        assert!(
            during >= before + 48,
            "{before} blocks mapped before, {during} with 64 blocks of 256 KB held: they came from the arenas"
        );
        assert!(held.iter().enumerate().all(|(i, b)| b.len() == 256 * 1024 && b[7] == (i % 251) as u8));
    }

    #[test]
    fn freed_pages_of_another_threads_arena_go_back_to_the_system() {
        // 96 MB in small blocks on a thread of its own (its own arena),
        // one in eight kept until the end, so what is freed lies between
        // live blocks and cannot be returned from the arena's top.
        let (kept, before) = std::thread::spawn(|| {
            let mut blocks: Vec<Vec<u8>> = (0..24_000).map(|i| vec![(i % 251) as u8; 4000]).collect();
            let kept: Vec<Vec<u8>> = blocks.iter_mut().step_by(8).map(std::mem::take).collect();
            let before = resident();
            drop(blocks);
            (kept, before)
        })
        .join()
        .expect("the allocating thread ran");
        let freed = resident();
        assert!(release(), "malloc_trim returned nothing");
        let after = resident();
        assert!(
            after + 48_000_000 < freed,
            "resident {before} with all blocks, {freed} after freeing 84 MB of them, {after} after the release: \
             less than 48 MB went back"
        );
        assert_eq!(kept.len(), 3_000);
        assert!(kept.iter().enumerate().all(|(i, b)| b.len() == 4000 && b[0] == ((8 * i) % 251) as u8));
    }

    /// The binary's allocator is jemalloc (src/main.rs): the release
    /// returns its freed pages too, which it would otherwise keep for ten
    /// seconds. Allocated from jemalloc directly, as this test binary's
    /// allocator is glibc's.
    #[test]
    #[expect(unsafe_code, reason = "GlobalAlloc's methods are unsafe; each block is freed once, with its layout")]
    fn freed_pages_of_jemalloc_go_back_to_the_system() {
        use std::alloc::{GlobalAlloc, Layout};
        let jemalloc = tikv_jemallocator::Jemalloc;
        let layout = Layout::from_size_align(64 * 1024, 8).expect("a layout");
        // SAFETY: the layout's size is not zero; every block is checked
        // for null and written within its size.
        let blocks: Vec<*mut u8> = (0..1_000)
            .map(|i| unsafe {
                let p = jemalloc.alloc(layout);
                assert!(!p.is_null(), "jemalloc gave no block");
                std::ptr::write_bytes(p, (i % 251) as u8, layout.size());
                p
            })
            .collect();
        let before = resident();
        for p in blocks {
            // SAFETY: allocated above by the same allocator with this layout.
            unsafe { jemalloc.dealloc(p, layout) };
        }
        let freed = resident();
        release();
        let after = resident();
        assert!(
            after + 48_000_000 < freed,
            "resident {before} with 64 MB held in jemalloc, {freed} after freeing it, {after} after the release: \
             less than 48 MB went back"
        );
    }
}
