//! Threads that can wait, below the store's writer.
//!
//! A pipeline's commits are its one serial step: while the writer waits
//! for a core, every record waits. So the threads whose work can wait a
//! moment run at a lower scheduling priority than the writer: the
//! full-text indexer and the WAL checkpointer here, and the pipeline's
//! parsing and cleaning (`newswire_pipeline::cpu`). The kernel still runs
//! them on any core the writer leaves free, so nothing is slower when
//! cores are idle. Measured on a backfill on two cores (docs/performance.md,
//! step 13): the writer spent as long waiting for a core as running, and
//! the whole run waited on it. The cost: on a machine whose other
//! processes keep every core busy, these threads get less of it than
//! before (at nice 10, about a ninth of what a normal thread gets).
//!
//! A lowered thread never gets its priority back (raising it again takes a
//! privilege), so only threads that do nothing else are lowered.

/// How far such threads are lowered, in Linux nice levels (0 normal, 19
/// lowest). At 10 the scheduler gives a normal thread about nine times a
/// lowered one's share of a contended core (at 5, three times, and four
/// lowered threads together still outweighed the writer). Measured side
/// by side on a backfill on two cores, 10 and 19 both ran ahead of 5
/// (docs/performance.md, step 13); 10 rather than 19 so that the cleaning
/// and the full-text index still keep up on a machine whose other
/// processes keep its cores busy.
pub const BACKGROUND_NICE: i32 = 10;

/// Lower the calling thread's scheduling priority by `by` nice levels from
/// where it stands (a process started under `nice` keeps its background
/// work below its writer too), to 19 at most. Linux keeps a nice value per
/// thread, and `setpriority` given a thread's id changes that thread
/// alone; elsewhere this does nothing. Failure is logged and harmless: the
/// thread runs at its old priority.
pub fn lower_priority(by: i32) {
    #[cfg(target_os = "linux")]
    {
        let lowered = thread_nice().and_then(|now| {
            Ok(rustix::process::setpriority_process(Some(rustix::thread::gettid()), (now + by).min(19))?)
        });
        if let Err(e) = lowered {
            tracing::debug!(error = %e, "cannot lower a thread's priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = by;
}

/// The calling thread's nice value.
#[cfg(target_os = "linux")]
pub fn thread_nice() -> std::io::Result<i32> {
    Ok(rustix::process::getpriority_process(Some(rustix::thread::gettid()))?)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn lowers_the_calling_thread_only() {
        let here = thread_nice().expect("reads its own priority");
        let (lowered, again) = std::thread::spawn(|| {
            let before = thread_nice().expect("reads its own priority");
            lower_priority(BACKGROUND_NICE);
            let lowered = thread_nice().expect("reads its own priority");
            lower_priority(BACKGROUND_NICE);
            (lowered - before, thread_nice().expect("reads its own priority") - before)
        })
        .join()
        .expect("joins");
        assert_eq!(thread_nice().expect("reads its own priority"), here, "the caller's thread is left alone");
        // From where it stood, to 19 at most (a test run under `nice` may
        // start high).
        assert_eq!(lowered, BACKGROUND_NICE.min(19 - here));
        assert_eq!(again, (2 * BACKGROUND_NICE).min(19 - here));
    }
}
