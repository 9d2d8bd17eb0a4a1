//! [`RecordPruner`] over SQLite: batches by row id; versions and
//! full-text entries go with their record through the triggers of
//! `search.rs`.

use newswire_core::sink::{BoxFuture, StoreError};
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::store::SqliteStore;
use super::{blocking, db_err, lock};
use crate::retention::{RecordPruner, Scope};

/// The WHERE clause and arguments of a scope.
fn scope_sql(scope: &Scope) -> (String, Vec<Value>) {
    let stamp = |at: &chrono::DateTime<chrono::Utc>| Value::Text(at.format("%Y-%m-%dT%H:%M:%S").to_string());
    match scope {
        Scope::Feed { feed, before } => {
            ("feed = ? AND fetched_at < ?".to_string(), vec![Value::Text(feed.clone()), stamp(before)])
        }
        Scope::Others { except, before } => {
            let mut sql = "fetched_at < ?".to_string();
            let mut args = vec![stamp(before)];
            if !except.is_empty() {
                sql.push_str(" AND feed NOT IN (");
                sql.push_str(&vec!["?"; except.len()].join(", "));
                sql.push(')');
                args.extend(except.iter().cloned().map(Value::Text));
            }
            (sql, args)
        }
    }
}

impl SqliteStore {
    /// [`RecordPruner::prune`], on the calling thread.
    pub fn prune_blocking(&self, scope: &Scope, limit: usize) -> Result<u64, StoreError> {
        let (clause, mut args) = scope_sql(scope);
        args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        let mut conn = lock(&self.inner.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| db_err("cannot begin transaction", e))?;
        let n = tx
            .execute(
                &format!("DELETE FROM records WHERE rowid IN (SELECT rowid FROM records WHERE {clause} LIMIT ?)"),
                params_from_iter(args),
            )
            .map_err(|e| db_err("cannot prune records", e))?;
        tx.commit().map_err(|e| db_err("cannot commit the prune", e))?;
        Ok(n as u64)
    }

    /// [`RecordPruner::count`], on the calling thread.
    pub fn prune_count_blocking(&self, scope: &Scope) -> Result<u64, StoreError> {
        let (clause, args) = scope_sql(scope);
        let conn = lock(&self.inner.reader);
        conn.query_row(&format!("SELECT COUNT(*) FROM records WHERE {clause}"), params_from_iter(args), |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n.max(0) as u64)
        .map_err(|e| db_err("cannot count records to prune", e))
    }
}

impl RecordPruner for SqliteStore {
    fn prune<'a>(&'a self, scope: &'a Scope, limit: usize) -> BoxFuture<'a, Result<u64, StoreError>> {
        let me = self.clone();
        let scope = scope.clone();
        Box::pin(blocking(move || me.prune_blocking(&scope, limit)))
    }

    fn count<'a>(&'a self, scope: &'a Scope) -> BoxFuture<'a, Result<u64, StoreError>> {
        let me = self.clone();
        let scope = scope.clone();
        Box::pin(blocking(move || me.prune_count_blocking(&scope)))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};

    use super::super::tests::{checkpoint, record};
    use super::*;
    use crate::retention::prune_scope;

    #[tokio::test]
    async fn old_records_go_in_batches_with_their_versions_and_index_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("p.db")).expect("opens");
        let now = Utc::now();
        let mut records = Vec::new();
        for i in 0..7 {
            let mut r = record(&format!("old{i}"), &format!("ancient harbour story {i}"));
            r.fetched_at = now - Duration::days(40);
            records.push(r);
        }
        let mut kept = record("kept", "a fresh harbour story");
        kept.feed = "g".into();
        kept.fetched_at = now - Duration::days(40);
        records.push(kept);
        records.push(record("new", "a new harbour story"));
        let cp = checkpoint(&records.iter().collect::<Vec<_>>());
        store.write_blocking(&records, Some(&cp)).expect("write");
        let mut changed = records[0].clone();
        changed.body = "ancient harbour story, revised".into();
        changed.content_hash = newswire_core::id::content_hash(&changed.body);
        store.write_blocking(&[changed], None).expect("a second version");

        let scope = Scope::Others { except: vec!["g".into()], before: now - Duration::days(30) };
        assert_eq!(store.count(&scope).await.expect("count"), 7);
        assert_eq!(store.prune(&scope, 3).await.expect("one batch"), 3);
        assert_eq!(prune_scope(&store, &scope, 3).await.expect("the rest"), 4);
        assert_eq!(store.count(&scope).await.expect("count"), 0);
        store.settle_search().expect("the index follows the deletes");
        {
            let conn = lock(&store.inner.reader);
            let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).expect("count");
            assert_eq!(count("SELECT COUNT(*) FROM records"), 2, "the other feed's and the new one stay");
            assert_eq!(count("SELECT COUNT(*) FROM record_versions"), 0, "versions went with their record");
            assert_eq!(count("SELECT COUNT(*) FROM records_fts WHERE records_fts MATCH 'ancient'"), 0);
            assert_eq!(count("SELECT COUNT(*) FROM records_fts WHERE records_fts MATCH 'harbour'"), 2);
            assert_eq!(count("SELECT COUNT(*) FROM item_state"), 9, "the checkpoint's memory of items stays");
            assert_eq!(count("SELECT COUNT(*) FROM feed_state"), 1);
        }
        store.check_search().expect("the index matches the records");
        let feed = Scope::Feed { feed: "g".into(), before: now - Duration::days(30) };
        assert_eq!(prune_scope(&store, &feed, 10).await.expect("prune a feed"), 1);
    }
}
