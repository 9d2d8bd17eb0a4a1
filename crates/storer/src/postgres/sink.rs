//! The PostgreSQL store as a sink.

use newswire_core::sink::{BoxFuture, Sink, SinkBatch, StoreError};

use super::NAME;
use super::store::PostgresStore;

/// The PostgreSQL store as a sink. When it holds the state it commits each
/// batch's checkpoint with the batch's records, in one transaction.
#[derive(Debug)]
pub struct PostgresSink {
    store: PostgresStore,
    holds_state: bool,
}

impl PostgresSink {
    /// A sink over `store`; `holds_state` when the store is also the
    /// pipeline's state store.
    pub fn new(store: PostgresStore, holds_state: bool) -> Self {
        PostgresSink { store, holds_state }
    }
}

impl Sink for PostgresSink {
    fn name(&self) -> &str {
        NAME
    }

    fn open(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        // The migrations ran at connect.
        Box::pin(async { Ok(()) })
    }

    fn write<'a>(&'a mut self, batch: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>> {
        let checkpoint = self.holds_state.then_some(&batch.checkpoint);
        Box::pin(self.store.write(&batch.records, checkpoint))
    }

    fn holds_state(&self) -> bool {
        self.holds_state
    }

    fn check(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(self.store.check())
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        // Every write is committed before it returns: nothing to flush. The
        // pool stays open for the state store, which may share it.
        Box::pin(async { Ok(()) })
    }
}
