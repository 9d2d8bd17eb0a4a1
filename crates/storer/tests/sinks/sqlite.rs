//! The SQL sink contract against the SQLite store.

use newswire_core::sink::{Sink, StateStore};
use newswire_storer::{SqliteSink, SqliteStore};

use crate::contract::{self, Subject};

struct Sqlite {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl Subject for Sqlite {
    fn sink(&self, holds_state: bool) -> Box<dyn Sink> {
        Box::new(SqliteSink::new(self.store.clone(), holds_state))
    }

    fn state(&self) -> &dyn StateStore {
        &self.store
    }

    async fn count(&self) -> u64 {
        self.store.count_records().expect("count")
    }

    async fn body_and_version(&self, id: &str) -> Option<(String, i64)> {
        let conn = rusqlite::Connection::open(self.store.path()).expect("open sqlite");
        let mut stmt = conn.prepare("SELECT body, version FROM records WHERE id = ?1").expect("prepare");
        let mut rows = stmt.query([id]).expect("query");
        rows.next().expect("row").map(|r| (r.get(0).expect("body"), r.get(1).expect("version")))
    }
}

#[tokio::test]
async fn sqlite_keeps_the_sink_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("n.db")).expect("open");
    contract::run(&Sqlite { store, _dir: dir }).await;
}

#[tokio::test]
async fn sqlite_keeps_the_index_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("n.db")).expect("open");
    let mut sink = SqliteSink::new(store.clone(), true);
    crate::index::run(&mut sink, &store, || async { store.index_size().expect("index size") }).await;
}

#[tokio::test]
async fn sqlite_keeps_the_read_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("n.db")).expect("open");
    let mut sink = SqliteSink::new(store.clone(), true);
    crate::read::run(&mut sink, &store.reader()).await;
    crate::read::prune(&store, &store.reader()).await;
}
