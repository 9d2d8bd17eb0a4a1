//! The storage boundary: [`Sink`] and [`StateStore`].
//!
//! The pipeline drives sinks through these traits and never knows which
//! database is behind them. Methods return [`BoxFuture`]s so the traits are
//! object safe (the pipeline holds `Box<dyn Sink>`) without tying this crate
//! to an async runtime.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use crate::error::ErrorKind;
use crate::fingerprint::Fingerprint;
use crate::record::Record;
use crate::state::{Checkpoint, FeedState, Match};

/// A boxed, sendable future, as returned by the storage traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[error("{sink}: {message}")]
pub struct StoreError {
    /// Which sink or store failed ("sqlite", "jsonl", …).
    pub sink: String,
    /// What went wrong, naming the thing.
    pub message: String,
    /// Whether the same write may succeed later (connection lost, disk
    /// momentarily full) rather than never (schema mismatch).
    pub retryable: bool,
}

impl StoreError {
    /// A failure that may go away if the write is tried again.
    pub fn retryable(sink: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError { sink: sink.into(), message: message.into(), retryable: true }
    }

    /// A failure that trying again will not fix.
    pub fn fatal(sink: impl Into<String>, message: impl Into<String>) -> Self {
        StoreError { sink: sink.into(), message: message.into(), retryable: false }
    }

    /// Always [`ErrorKind::Storage`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Storage
    }
}

/// What a sink is asked to write: the records of one fetched feed (new and
/// updated versions only) and the checkpoint that follows them.
#[derive(Debug, Clone, Default)]
pub struct SinkBatch {
    /// Records to upsert by id.
    pub records: Vec<Record>,
    /// The feed's checkpoint after these records.
    pub checkpoint: Checkpoint,
}

/// A destination for records.
///
/// Protocol: `open` once, then `write` any number of batches, then `close`.
/// When `write` returns `Ok`, every record of the batch is durable (a crash
/// after it loses none of them). Writes are idempotent by record id: writing
/// a record again replaces the earlier version, so a batch replayed after a
/// crash duplicates nothing.
pub trait Sink: Send {
    /// Short name for logs and metrics ("sqlite", "jsonl", …).
    fn name(&self) -> &str;

    /// Prepare the sink (create tables, files, streams).
    fn open(&mut self) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Write a batch durably. A sink that [holds the state](Sink::holds_state)
    /// also commits the batch's checkpoint, in the same transaction.
    fn write<'a>(&'a mut self, batch: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Write several batches (of different feeds) durably, in order. A sink
    /// that holds the state commits their checkpoints with them; one that
    /// can does it all in one transaction, so that a failure leaves none of
    /// them committed. By default, [`write`](Sink::write) each in turn: a
    /// failure then leaves a prefix written (each batch with its
    /// checkpoint), and writing them all again duplicates nothing.
    fn write_all<'a>(&'a mut self, batches: &'a [SinkBatch]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            for batch in batches {
                self.write(batch).await?;
            }
            Ok(())
        })
    }

    /// Whether this sink commits checkpoints together with its records. The
    /// pipeline writes such a sink last, so the checkpoint lands only after
    /// every other sink has the records; when no sink holds the state the
    /// pipeline commits through the [`StateStore`] instead.
    fn holds_state(&self) -> bool {
        false
    }

    /// For an append-only sink, which cannot overwrite by id: its key (unique
    /// to this sink on this machine) and where it stands after its last
    /// successful write. The pipeline commits it with the batch's
    /// checkpoint. Sinks that upsert or deduplicate return None.
    fn position(&self) -> Option<(String, String)> {
        None
    }

    /// Called once after `open` with every committed position: an
    /// append-only sink discards what it wrote past its own (a batch whose
    /// checkpoint never committed is written again, so keeping its lines
    /// would duplicate them).
    fn rewind<'a>(&'a mut self, committed: &'a HashMap<String, String>) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = committed;
        Box::pin(async { Ok(()) })
    }

    /// Whether the sink can take writes now (for readiness checks).
    fn check(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    /// Flush and release resources.
    fn close(&mut self) -> BoxFuture<'_, Result<(), StoreError>>;
}

/// Where feed state lives between runs.
pub trait StateStore: Send + Sync {
    /// The state of every feed known to the store.
    fn load_all(&self) -> BoxFuture<'_, Result<Vec<FeedState>, StoreError>>;

    /// The content hashes last written for these record ids (ids never seen
    /// are absent from the map).
    fn known_hashes<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<HashMap<String, String>, StoreError>>;

    /// The sink positions committed with the checkpoints (see
    /// [`Checkpoint::positions`]): key to position.
    fn positions(&self) -> BoxFuture<'_, Result<HashMap<String, String>, StoreError>> {
        Box::pin(async { Ok(HashMap::new()) })
    }

    /// Commit sink positions on their own: where an append-only sink with
    /// no committed position stands at start, so that what it writes
    /// before its first checkpoint can be cut away too. A store that keeps
    /// no positions ignores them.
    fn commit_positions<'a>(&'a self, positions: &'a [(String, String)]) -> BoxFuture<'a, Result<(), StoreError>> {
        let _ = positions;
        Box::pin(async { Ok(()) })
    }

    /// Commit a checkpoint on its own (used when no sink holds the state).
    fn commit<'a>(&'a self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<(), StoreError>>;

    /// For each (record id, fingerprint), the most similar earlier record of
    /// another id indexed since `since` whose similarity is at least
    /// `threshold`, through the near-duplicate index (never a scan of all
    /// records). A store without an index finds nothing.
    fn find_similar<'a>(
        &'a self,
        items: &'a [(String, Fingerprint)],
        since: chrono::DateTime<chrono::Utc>,
        threshold: f64,
    ) -> BoxFuture<'a, Result<Vec<Option<Match>>, StoreError>> {
        let _ = (since, threshold);
        Box::pin(async move { Ok(vec![None; items.len()]) })
    }

    /// The stored shingle counts of `feed`
    /// ([`FeedSketch::to_bytes`](crate::frequency::FeedSketch::to_bytes)),
    /// written with its last batch's checkpoint; None when there are none (a
    /// new feed, or a store without an index).
    fn feed_sketch<'a>(&'a self, feed: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let _ = feed;
        Box::pin(async { Ok(None) })
    }

    /// Remove up to `limit` near-duplicate index entries indexed before
    /// `before` (outside the window, so never found again), oldest first;
    /// returns how many. Cheap: it reads the oldest entries by time and
    /// deletes their keys by primary key. A store without an index has
    /// nothing to prune.
    fn prune_index(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> BoxFuture<'_, Result<u64, StoreError>> {
        let _ = (before, limit);
        Box::pin(async { Ok(0) })
    }
}
