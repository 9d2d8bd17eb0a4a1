//! Giving freed heap back to the system while the pipeline runs.
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

use std::time::Duration;

/// How often freed pages are returned.
pub const RELEASE_EVERY: Duration = Duration::from_millis(500);

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

/// Return freed heap pages to the system now; true if some were.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(
    unsafe_code,
    reason = "glibc's malloc_trim has no safe wrapper; it takes a size and touches only the allocator"
)]
pub fn release() -> bool {
    // SAFETY: malloc_trim is thread-safe (it locks each arena in turn) and
    // only returns pages that hold no live allocation.
    unsafe { libc::malloc_trim(0) == 1 }
}

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
}
