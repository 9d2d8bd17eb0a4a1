//! The WAL checkpointer: a thread of its own, beside the writer.

use std::path::PathBuf;

use rusqlite::Connection;

/// The WAL size past which the checkpointer empties it (see
/// [`checkpointer`]).
const WAL_LIMIT: u64 = 256 * 1024 * 1024;

/// Runs PASSIVE checkpoints on its own connection, at most every 250 ms
/// while writes come in and once a second otherwise. A PASSIVE checkpoint
/// copies what it can without blocking the writer; when it catches up the
/// writer starts the WAL over from the beginning, so the WAL stays bounded.
/// Ends when the store (holding the sender) is dropped.
///
/// Under sustained writes (a large backfill: the near-duplicate index's
/// keys land on random pages) PASSIVE checkpoints fall behind and the WAL
/// would grow without bound; past [`WAL_LIMIT`] a TRUNCATE checkpoint runs
/// instead, which makes the writer wait (on its busy timeout) while it
/// copies the WAL back and empties it.
///
/// `conn` has every file of the store attached (the runs file, see
/// `runs_file.rs`): a checkpoint without a schema name covers them all, and
/// `wals` are their WAL files.
pub(super) fn checkpointer(conn: Connection, wals: Vec<PathBuf>, nudges: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::{Duration, Instant};
    crate::priority::lower_priority(crate::priority::BACKGROUND_NICE);
    let mut last = Instant::now();
    loop {
        match nudges.recv_timeout(Duration::from_secs(1)) {
            Ok(()) if last.elapsed() < Duration::from_millis(250) => continue,
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let full = wals.iter().any(|wal| std::fs::metadata(wal).is_ok_and(|m| m.len() > WAL_LIMIT));
        let pragma = if full { "PRAGMA wal_checkpoint(TRUNCATE)" } else { "PRAGMA wal_checkpoint(PASSIVE)" };
        if let Err(e) = conn.query_row(pragma, [], |_| Ok(())) {
            tracing::warn!(error = %e, "sqlite checkpoint failed");
        }
        last = Instant::now();
    }
    // A last full checkpoint folds the WAL back so the file stands alone.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}
