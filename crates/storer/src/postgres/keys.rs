//! Which keys `lsh` may hold, known to this instance without asking the
//! server: a [`KeyFilter`] of every key written to the table, so a lookup
//! reads only the keys it may hold (docs/clusters.md).
//!
//! Most keys of a new record are under no entry. At 1,000,000 records each
//! such key was still an index descent to a leaf page outside the shared
//! buffers (`lsh`'s primary key is about 1 GB there), and a batch of 50
//! records has some 2,000 distinct keys. The filter answers for them in
//! memory; a key it lets through (a present key, or about 0.5% of absent
//! ones) is read from `lsh` as before.
//!
//! Other instances write `lsh` too, so the filter follows the table's log
//! (`lsh_log`, migration 8: a trigger writes each statement's keys with its
//! transaction id). Before each lookup the instance adds the keys of the log
//! rows with a transaction id at or above its *watermark*, and moves the
//! watermark to the oldest transaction still running at that moment
//! (`pg_snapshot_xmin` of the statement's snapshot). A transaction not yet
//! committed then has an id at or above the new watermark, so its rows are
//! read at a later sync, however late it commits; rows already added are
//! skipped by their sequence number. So a lookup's filter holds every key
//! committed before its sync: the lookup sees what reading every key would
//! have seen, as of that moment.
//!
//! Keys removed from `lsh` (pruned, indexed again) stay in the filter: they
//! only let a few more absent keys through. The filter is built again from
//! `lsh` when it holds twice the keys it was sized for, and when this
//! instance has not synced for [`REBUILD_AFTER`] (the log keeps rows for
//! [`LOG_KEPT`]; an instance idle for longer may have missed some).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use newswire_core::sink::StoreError;
use tokio_postgres::IsolationLevel;

use super::pg_err;
use crate::key_filter::{KeyFilter, TABLE_BITS};

/// How long `lsh_log` keeps a row (pruned with the index, see
/// [`prune_log`]). Far above any write transaction's life: the store's
/// queries time out after a minute.
pub(super) const LOG_KEPT: &str = "1 hour";

/// An instance that has not synced for this long builds its filter again
/// from `lsh` rather than trusting the log (which keeps rows for an hour).
pub(super) const REBUILD_AFTER: Duration = Duration::from_secs(30 * 60);

/// The smallest filter built, in keys (1.5 MB).
const MIN_CAPACITY: usize = 1_000_000;

/// Bytes of an `lsh` heap row (tuple header, three 8-byte columns, line
/// pointer): the table's size over this is an upper bound of its rows, to
/// size a filter before reading them.
const ROW_BYTES: i64 = 48;

/// This instance's view of the keys in `lsh`.
#[derive(Default)]
pub(super) struct KnownKeys {
    /// None until the first lookup builds it.
    filter: Option<KeyFilter>,
    /// Keys the filter was sized for.
    capacity: usize,
    /// Keys added since it was built (those of the build included).
    added: usize,
    /// Log rows with a transaction id at or above this are read at the
    /// next sync.
    watermark: i64,
    /// Log rows at or above the watermark already added (sequence number
    /// to transaction id), not to add them twice.
    applied: HashMap<i64, i64>,
    /// When the last sync ran.
    synced: Option<Instant>,
    /// Builds so far (for tests and the bench).
    builds: u64,
}

impl KnownKeys {
    /// Bring the filter up to what is committed now, building it when
    /// missing, stale or full. Run before each lookup.
    pub(super) async fn sync(&mut self, client: &mut deadpool_postgres::Client) -> Result<(), StoreError> {
        let stale = self.synced.is_none_or(|at| at.elapsed() > REBUILD_AFTER);
        if self.filter.is_none() || stale {
            return self.build(client).await;
        }
        let read = client
            .prepare_cached(
                "WITH mark AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin)
                 SELECT mark.xmin, log.seq, log.xid::text::bigint, log.keys FROM mark
                 LEFT JOIN lsh_log log ON log.xid >= $1::bigint::text::xid8 AND log.seq <> ALL($2::bigint[])",
            )
            .await
            .map_err(|e| pg_err("cannot prepare the index log read", e))?;
        let applied: Vec<i64> = self.applied.keys().copied().collect();
        let rows = client
            .query(&read, &[&self.watermark, &applied])
            .await
            .map_err(|e| pg_err("cannot read the index log", e))?;
        let filter = self.filter.as_mut().expect("built above when missing");
        let mut watermark = self.watermark;
        for row in &rows {
            watermark = row.get(0);
            let Some(seq) = row.get::<_, Option<i64>>(1) else { continue };
            let keys: Vec<i64> = row.get(3);
            for key in &keys {
                filter.insert(*key);
            }
            self.added += keys.len();
            self.applied.insert(seq, row.get(2));
        }
        self.watermark = watermark;
        self.applied.retain(|_, xid| *xid >= watermark);
        self.synced = Some(Instant::now());
        if self.added > self.capacity {
            return self.build(client).await;
        }
        Ok(())
    }

    /// Build the filter from every key in `lsh`, in a snapshot whose oldest
    /// running transaction becomes the watermark: what the snapshot does
    /// not show is in the log at or above it.
    async fn build(&mut self, client: &mut deadpool_postgres::Client) -> Result<(), StoreError> {
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(|e| pg_err("cannot begin transaction", e))?;
        let row = tx
            .query_one(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, pg_relation_size('lsh') / $1",
                &[&ROW_BYTES],
            )
            .await
            .map_err(|e| pg_err("cannot read the index size", e))?;
        let watermark: i64 = row.get(0);
        let rows = usize::try_from(row.get::<_, i64>(1)).unwrap_or(0);
        let capacity = (2 * rows).max(MIN_CAPACITY);
        let mut filter = KeyFilter::sized(capacity, TABLE_BITS);
        let mut added = 0usize;
        let stream = tx
            .copy_out("COPY (SELECT key FROM lsh) TO STDOUT")
            .await
            .map_err(|e| pg_err("cannot read the index keys", e))?;
        futures_util::pin_mut!(stream);
        // Text rows, one key a line; a chunk may end inside a line.
        let mut partial: Vec<u8> = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| pg_err("cannot read the index keys", e))?;
            partial.extend_from_slice(&chunk);
            let complete = partial.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            for line in partial[..complete].split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                filter.insert(parse_key(line)?);
                added += 1;
            }
            partial.drain(..complete);
        }
        tx.commit().await.map_err(|e| pg_err("cannot end the index key read", e))?;
        tracing::debug!(keys = added, capacity, bytes = filter.bytes(), "index key filter built");
        // The size bounds the rows from above, so `added` is within the
        // capacity (were it not, the filter would only pass more absent keys).
        *self = KnownKeys {
            filter: Some(filter),
            capacity,
            added,
            watermark,
            applied: HashMap::new(),
            synced: Some(Instant::now()),
            builds: self.builds + 1,
        };
        Ok(())
    }

    /// Whether `lsh` may hold `key` (false: it does not, as of the last
    /// sync). True before the first sync.
    pub(super) fn may_hold(&self, key: i64) -> bool {
        self.filter.as_ref().is_none_or(|f| f.may_hold(key))
    }

    /// Filters built so far.
    pub(super) fn builds(&self) -> u64 {
        self.builds
    }
}

/// A key of `COPY ... TO STDOUT` (text: an optional minus, digits).
fn parse_key(line: &[u8]) -> Result<i64, StoreError> {
    std::str::from_utf8(line).ok().and_then(|s| s.parse().ok()).ok_or_else(|| {
        StoreError::fatal(super::NAME, format!("unexpected index key {:?}", String::from_utf8_lossy(line)))
    })
}

/// Remove log rows older than [`LOG_KEPT`], at most `limit`.
pub(super) async fn prune_log(tx: &deadpool_postgres::Transaction<'_>, limit: i64) -> Result<u64, StoreError> {
    tx.execute(
        &format!(
            "DELETE FROM lsh_log WHERE seq IN (
                 SELECT seq FROM lsh_log WHERE at < now() - interval '{LOG_KEPT}' ORDER BY at LIMIT $1
                 FOR UPDATE SKIP LOCKED)"
        ),
        &[&limit],
    )
    .await
    .map_err(|e| pg_err("cannot prune the index log", e))
}
