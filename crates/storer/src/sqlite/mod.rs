//! The SQLite store: records and feed state in one database.
//!
//! One writer connection behind a mutex (SQLite allows one writer at a time
//! anyway) and a separate reader connection for lookups, so reads from the
//! pipeline never wait behind a long write transaction (WAL mode lets them
//! run side by side).
//!
//! - `store.rs`: the database handle, the records and the checkpoint in one
//!   transaction, the [`StateStore`](newswire_core::sink::StateStore) reads.
//! - `schema.rs`: the tables and the migrations of older files.
//! - `index.rs`: the near-duplicate index (held keys, lookup, pruning) and
//!   the stories it made.
//! - `runs.rs`: its key table as sorted runs, written and merged
//!   sequentially.
//! - `runs_file.rs`: the runs in a file of their own, and how it stays
//!   consistent with the store's.
//! - `cache.rs`: what lookups read from the runs and the fingerprints,
//!   kept across commits in a bounded cache.
//! - `search.rs`: the full-text index's log and the kept versions of records.
//! - `indexer.rs`: the full-text index, in a file of its own, and the thread
//!   that keeps it.
//! - `read.rs`: the [`RecordReader`](crate::read::RecordReader) over it.
//! - `retention.rs`: removing records past their age.
//! - `checkpointer.rs`: the thread that keeps the WAL bounded.
//! - `sink.rs`: the store as a [`Sink`](newswire_core::sink::Sink).

use std::sync::Mutex;

use newswire_core::sink::StoreError;

mod cache;
mod checkpointer;
mod index;
mod indexer;
mod read;
mod retention;
mod runs;
mod runs_file;
mod schema;
mod search;
mod sink;
mod store;

pub use index::{Copy, Story};
pub use read::SqliteReader;
pub use sink::SqliteSink;
pub use store::{SqliteStore, memory_used};

const NAME: &str = "sqlite";

fn db_err(context: &str, e: rusqlite::Error) -> StoreError {
    let retryable = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked | rusqlite::ErrorCode::DiskFull)
    );
    StoreError { sink: NAME.into(), message: format!("{context}: {e}"), retryable }
}

fn json_err(context: &str, e: serde_json::Error) -> StoreError {
    StoreError::fatal(NAME, format!("{context}: {e}"))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves the connection usable: SQLite
    // rolls back the open transaction when the Transaction guard drops.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A write transaction taken at once (IMMEDIATE), waiting on the busy
/// timeout: for one that reads before it writes, which begun DEFERRED gets
/// SQLITE_BUSY at once when another connection wrote in between (see
/// `write_many_blocking`).
fn begin_immediate(conn: &mut rusqlite::Connection) -> Result<rusqlite::Transaction<'_>, StoreError> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| db_err("cannot begin transaction", e))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::fatal(NAME, format!("storage task failed: {e}")))?
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::Utc;
    use newswire_core::Record;
    use newswire_core::state::{Checkpoint, FeedState, ItemMark};
    use newswire_core::{Source, record::SCHEMA_VERSION};

    pub(crate) fn record(id: &str, body: &str) -> Record {
        Record {
            schema: SCHEMA_VERSION,
            id: id.into(),
            feed: "f".into(),
            feed_url: "https://example.com/feed".into(),
            guid: Some(id.into()),
            url: Some(format!("https://example.com/{id}")),
            title: Some("T".into()),
            authors: vec!["A".into()],
            published_at: None,
            updated_at: None,
            fetched_at: Utc::now(),
            language: None,
            summary: None,
            body: body.into(),
            word_count: 1,
            categories: vec![],
            content_hash: newswire_core::id::content_hash(body),
            source: Source::Feed,
            embeds: vec![],
            removed: vec![],
            cluster: None,
            similarity: None,
            fingerprint: None,
        }
    }

    pub(crate) fn checkpoint(items: &[&Record]) -> Checkpoint {
        Checkpoint {
            state: FeedState { feed: "f".into(), etag: Some("\"e1\"".into()), ..FeedState::default() },
            items: items.iter().map(|r| ItemMark { id: r.id.clone(), content_hash: r.content_hash.clone() }).collect(),
            fingerprints: Vec::new(),
            sketch: None,
            positions: Vec::new(),
        }
    }
}
