//! [`RecordPruner`] over PostgreSQL: one statement per batch removes the
//! records and their kept versions; the `search` column goes with its row.

use newswire_core::sink::{BoxFuture, StoreError};

use super::store::PostgresStore;
use super::{pg_err, pool_err, timed};
use crate::retention::{RecordPruner, Scope};

/// The WHERE clause of a scope: `$1` the time, `$2` the feed or feeds.
fn clause(scope: &Scope) -> &'static str {
    match scope {
        Scope::Feed { .. } => "feed = $2 AND fetched_at < $1",
        Scope::Others { .. } => "feed <> ALL($2) AND fetched_at < $1",
    }
}

impl PostgresStore {
    async fn prune_inner(&self, scope: &Scope, limit: usize) -> Result<u64, StoreError> {
        let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let sql = format!(
            "WITH gone AS (
                DELETE FROM records WHERE id IN (SELECT id FROM records WHERE {} LIMIT $3) RETURNING id
             ), versions AS (
                DELETE FROM record_versions WHERE id IN (SELECT id FROM gone)
             )
             SELECT COUNT(*) FROM gone",
            clause(scope)
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let row = match scope {
            Scope::Feed { feed, before } => client.query_one(&sql, &[before, feed, &limit]).await,
            Scope::Others { except, before } => client.query_one(&sql, &[before, except, &limit]).await,
        }
        .map_err(|e| pg_err("cannot prune records", e))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }

    async fn count_inner(&self, scope: &Scope) -> Result<u64, StoreError> {
        let client = self.pool.get().await.map_err(|e| pool_err("cannot connect", e))?;
        let sql = format!("SELECT COUNT(*) FROM records WHERE {}", clause(scope));
        let row = match scope {
            Scope::Feed { feed, before } => client.query_one(&sql, &[before, feed]).await,
            Scope::Others { except, before } => client.query_one(&sql, &[before, except]).await,
        }
        .map_err(|e| pg_err("cannot count records to prune", e))?;
        Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
    }
}

impl RecordPruner for PostgresStore {
    fn prune<'a>(&'a self, scope: &'a Scope, limit: usize) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(timed("prune timed out", self.prune_inner(scope, limit)))
    }

    fn count<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(timed("count timed out", self.count_inner(scope)))
    }
}
