//! Retention: removing records past their age, a bounded batch at a time.
//!
//! A [`Scope`] is a set of records by age: one feed's, or every other
//! feed's. [`RecordPruner::prune`] removes at most `limit` of them in one
//! transaction, with their kept versions and full-text entries (SQLite: the
//! triggers on `records`; PostgreSQL: the same statement), and
//! [`RecordPruner::count`] says how many there are (`newswire prune
//! --dry-run`). [`prune_scope`] runs batches until none is left.
//!
//! What a checkpoint needs is never touched: feed state, sink positions and
//! `item_state` (each item's id and content hash, which keeps a pruned
//! article from being fetched and written again while its feed still lists
//! it). The near-duplicate index has its own window (`cluster_window`) and
//! is pruned by the pipeline.

use chrono::{DateTime, Utc};
use newswire_core::sink::{BoxFuture, StoreError};

/// Which records a prune removes: those fetched before `before`, of one
/// feed or of every feed but some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// The records of this feed.
    Feed {
        /// The feed name.
        feed: String,
        /// Records fetched before this time.
        before: DateTime<Utc>,
    },
    /// The records of every feed not listed (those have their own age).
    Others {
        /// Feeds left out.
        except: Vec<String>,
        /// Records fetched before this time.
        before: DateTime<Utc>,
    },
}

/// Removes records past their age (see the module docs).
pub trait RecordPruner: Send + Sync {
    /// Remove at most `limit` records of `scope` in one transaction;
    /// returns how many went.
    fn prune<'a>(&'a self, scope: &'a Scope, limit: usize) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// How many records `scope` holds now.
    fn count<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Result<u64, StoreError>>;
}

/// Prune `scope` in batches of `limit` until a batch finds fewer; returns
/// the records removed. Each batch is its own transaction, so writers wait
/// at most one batch.
pub async fn prune_scope(pruner: &dyn RecordPruner, scope: &Scope, limit: usize) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let n = pruner.prune(scope, limit).await?;
        total += n;
        if (n as usize) < limit {
            return Ok(total);
        }
        // Let the pipeline's writes in between batches.
        tokio::task::yield_now().await;
    }
}
