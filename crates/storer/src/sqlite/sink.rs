//! The SQLite store as a sink.

use newswire_core::sink::{BoxFuture, Sink, SinkBatch, StoreError};

use super::store::SqliteStore;
use super::{NAME, blocking, db_err, lock};

/// The SQLite store as a sink. When it holds the state (the usual case) it
/// commits each batch's checkpoint with the batch's records.
pub struct SqliteSink {
    store: SqliteStore,
    holds_state: bool,
}

impl SqliteSink {
    /// A sink over `store`; `holds_state` when the store is also the
    /// pipeline's state store.
    pub fn new(store: SqliteStore, holds_state: bool) -> Self {
        SqliteSink { store, holds_state }
    }
}

impl Sink for SqliteSink {
    fn name(&self) -> &str {
        NAME
    }

    fn open(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }

    fn write<'a>(&'a mut self, batch: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>> {
        let store = self.store.clone();
        let records = batch.records.clone();
        let checkpoint = self.holds_state.then(|| batch.checkpoint.clone());
        Box::pin(blocking(move || store.write_blocking(&records, checkpoint.as_ref())))
    }

    fn write_all<'a>(&'a mut self, batches: &'a [SinkBatch]) -> BoxFuture<'a, Result<(), StoreError>> {
        let store = self.store.clone();
        let holds_state = self.holds_state;
        let batches: Vec<SinkBatch> = batches.to_vec();
        Box::pin(blocking(move || {
            let each: Vec<(&[newswire_core::Record], Option<&newswire_core::state::Checkpoint>)> =
                batches.iter().map(|b| (b.records.as_slice(), holds_state.then_some(&b.checkpoint))).collect();
            store.write_many_blocking(&each)
        }))
    }

    fn holds_state(&self) -> bool {
        self.holds_state
    }

    fn check(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        let store = self.store.clone();
        Box::pin(blocking(move || {
            let conn = lock(&store.inner.reader);
            conn.query_row("SELECT 1", [], |_| Ok(())).map_err(|e| db_err("database check failed", e))
        }))
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        let store = self.store.clone();
        Box::pin(blocking(move || {
            // Every record searchable before the store closes.
            store.settle_search()?;
            let mut conn = lock(&store.inner.writer);
            // The held index keys, so the file stands alone (they would be
            // derived again on open otherwise).
            lock(&store.inner.pending).flush(&mut conn)?;
            // Each close makes a run: merged as at any flush, so runs do not
            // pile up in an index that rarely fills a flush.
            super::runs::compact(&mut conn, &store.inner.pending)?;
            // Fold the WAL back into the database so the file stands alone.
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(|e| db_err("cannot checkpoint the WAL", e))
        }))
    }
}

#[cfg(test)]
mod tests {
    use newswire_core::sink::StateStore;

    use super::super::tests::{checkpoint, record};
    use super::*;

    #[tokio::test]
    async fn a_sink_that_does_not_hold_state_leaves_it_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("n.db")).expect("opens");
        let mut sink = SqliteSink::new(store.clone(), false);
        let a = record("a", "one");
        sink.write(&SinkBatch { records: vec![a.clone()], checkpoint: checkpoint(&[&a]) }).await.expect("write");
        assert!(store.load_all().await.expect("states").is_empty());
        store.commit(&checkpoint(&[&a])).await.expect("commit");
        assert_eq!(store.load_all().await.expect("states").len(), 1);
        sink.close().await.expect("close");
    }
}
