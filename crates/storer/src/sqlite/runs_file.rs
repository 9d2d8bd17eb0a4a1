//! The near-duplicate index's runs in a database file of their own beside
//! the store (`<store>-runs`, attached as `runs`), and how the two files
//! stay consistent (docs/clusters.md).
//!
//! Why apart: in WAL mode a connection drops its whole page cache of a file
//! whenever another connection committed to that file since its last read.
//! The store's file changes with every batch, so a lookup connection read
//! the runs' B-tree (1.2 GB at 1,000,000 records) again from the root after
//! every commit: each range read a descent of several pages, a `pread`
//! each. The runs change only at a flush of held keys, a merge, or when
//! records' keys leave them (a record indexed again, pruning): in a file of
//! their own, the lookup connections keep their cache of it (its inner
//! pages) across the commits of records.
//!
//! A transaction across attached files is atomic per file only (WAL mode),
//! so the index never relies on one. The store's file is the authority:
//! `fingerprints` holds every record indexed, and the watermark
//! (`index_keyed`) says which rows' keys are in runs. Each change commits in
//! an order that keeps *every key in a run belonging to a live
//! `fingerprints` row whose row id the watermark covers*:
//!
//! - a flush commits its run in the runs file first, then moves the
//!   watermark in the store's file; a run above the watermark (a crash or
//!   an error between the two) is an *orphan*: lookups skip it, its rows'
//!   keys are held again, and the next flush drops it before writing its
//!   own (not the open, which may be a command's beside a running daemon
//!   between the two commits);
//! - keys leave their runs (a record indexed again, pruned) in a
//!   transaction of the runs file committed before the store's transaction
//!   that deletes their rows; a crash between leaves a row without keys
//!   until its batch or the prune is done again (both are: the batch's
//!   checkpoint was not committed, and the row is still the oldest);
//! - merges and dropping emptied runs touch the runs file only.
//!
//! At open ([`reconcile`]) the files are matched by an id each holds: a
//! runs file missing, emptied or from another store is emptied and given
//! the store's id, and the watermark moves down to what the runs hold; the
//! keys of the rows above it are then written again from their stored
//! fingerprints, a flush at a time (`Pending::load`). So the runs file can
//! always be rebuilt from the store's; losing it costs time, not entries.

use std::path::{Path, PathBuf};

use newswire_core::sink::StoreError;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::db_err;
use super::runs::{RUNS_FILE_SCHEMA, runs_schema};

/// The runs file of the store at `store`.
pub(super) fn runs_path(store: &Path) -> PathBuf {
    let mut path = store.as_os_str().to_owned();
    path.push("-runs");
    PathBuf::from(path)
}

/// The id of the runs file the store's file was last matched with (one
/// row), in the store's file.
pub(super) const MAIN_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS main.index_runs_file (id INTEGER NOT NULL);";

/// Attach the runs file of the store at `store` to `conn` as `runs` (created
/// when missing), in WAL mode, with `cache_kib` KiB of page cache of its own.
pub(super) fn attach(conn: &Connection, store: &Path, cache_kib: i64) -> Result<(), StoreError> {
    let path = runs_path(store);
    conn.execute("ATTACH DATABASE ?1 AS runs", [path.to_string_lossy()])
        .map_err(|e| db_err(&format!("cannot open {}", path.display()), e))?;
    conn.execute_batch("PRAGMA runs.journal_mode = WAL; PRAGMA runs.synchronous = NORMAL;")
        .and_then(|()| conn.pragma_update(Some("runs"), "cache_size", -cache_kib))
        .map_err(|e| db_err(&format!("cannot configure {}", path.display()), e))
}

/// Move the runs of an index of format 5 (`lsh` and `lsh_runs` in the
/// store's file) into the runs file, keeping every entry: copied and
/// committed in the runs file first, then dropped from the store's file with
/// the two files' id. A crash between leaves the copy unlisted by the
/// store's file: the next open copies again, emptying the runs file first.
pub(super) fn move_from_main(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(&runs_schema("runs"))?;
    tx.execute_batch(RUNS_FILE_SCHEMA)?;
    tx.execute_batch(
        "DELETE FROM runs.lsh; DELETE FROM runs.lsh_runs; DELETE FROM runs.lsh_merge; DELETE FROM runs.runs_file;
         INSERT INTO runs.lsh (run, key, at, rid) SELECT run, key, at, rid FROM main.lsh ORDER BY run, key, at, rid;
         INSERT INTO runs.lsh_runs (run, level, first, last, entries, filter)
             SELECT run, level, first, last, entries, filter FROM main.lsh_runs;
         INSERT INTO runs.runs_file (id) VALUES (random());",
    )?;
    tx.commit()?;
    let tx = conn.transaction()?;
    tx.execute_batch(MAIN_SCHEMA)?;
    tx.execute_batch(
        "DROP TABLE main.lsh; DROP TABLE main.lsh_runs; DELETE FROM main.index_runs_file;
         INSERT INTO main.index_runs_file (id) SELECT id FROM runs.runs_file;",
    )?;
    tx.commit()
}

/// What [`reconcile`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reconciled {
    /// The runs file is the store's and holds every run the watermark lists.
    Matched,
    /// Runs above the watermark (written, never listed): left to the next
    /// flush, which drops them (lookups skip them meanwhile).
    Orphans(usize),
    /// The runs file was missing, empty or another store's: emptied; the
    /// keys of every indexed row are to be written again.
    Rebuilt,
    /// The runs hold the keys of fewer rows than the watermark says (an
    /// older copy of the file): the watermark moved down to them.
    Behind,
}

/// Match the runs file with the store's file at open (see the module
/// docs): empty a file that is not this store's, and move the watermark
/// down to the highest row whose keys the runs hold when rows above it are
/// not in any run. Another process may have the store open (a command
/// beside the daemon), between a flush's two commits or a prune's: so a
/// file that matches is only read, unless rows are missing from its runs,
/// and orphan runs are left to the flush of the process that writes the
/// index.
pub(super) fn reconcile(conn: &mut Connection) -> rusqlite::Result<Reconciled> {
    conn.execute_batch(&runs_schema("runs"))?;
    conn.execute_batch(RUNS_FILE_SCHEMA)?;
    conn.execute_batch(MAIN_SCHEMA)?;
    let main_id: Option<i64> = conn.query_row("SELECT id FROM main.index_runs_file", [], |r| r.get(0)).optional()?;
    let runs_id: Option<i64> = conn.query_row("SELECT id FROM runs.runs_file", [], |r| r.get(0)).optional()?;
    let keyed: i64 = conn.query_row("SELECT keyed FROM main.index_keyed", [], |r| r.get(0))?;
    let mut found = Reconciled::Matched;
    if main_id.is_none() || main_id != runs_id {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "DELETE FROM runs.lsh; DELETE FROM runs.lsh_runs; DELETE FROM runs.lsh_merge; DELETE FROM runs.runs_file;
             INSERT INTO runs.runs_file (id) VALUES (random());",
        )?;
        if let Some(id) = main_id {
            tx.execute("UPDATE runs.runs_file SET id = ?1", [id])?;
        }
        tx.commit()?;
        if main_id.is_none() {
            conn.execute_batch(
                "BEGIN IMMEDIATE; DELETE FROM main.index_runs_file;
                 INSERT INTO main.index_runs_file (id) SELECT id FROM runs.runs_file; COMMIT;",
            )?;
        }
        if keyed > 0 {
            found = Reconciled::Rebuilt;
        }
    } else {
        let orphans: i64 =
            conn.query_row("SELECT COUNT(*) FROM runs.lsh_runs WHERE last > ?1", [keyed], |r| r.get(0))?;
        if orphans > 0 {
            found = Reconciled::Orphans(usize::try_from(orphans).unwrap_or(usize::MAX));
        }
    }
    // Rows at or below the watermark above every listed run: their keys are
    // in no run (an older copy of the runs file, or one emptied above):
    // held again. In one transaction with the watermark it reads.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let keyed: i64 = tx.query_row("SELECT keyed FROM main.index_keyed", [], |r| r.get(0))?;
    let covered: i64 =
        tx.query_row("SELECT coalesce(max(last), 0) FROM runs.lsh_runs WHERE last <= ?1", [keyed], |r| r.get(0))?;
    let rows: i64 =
        tx.query_row("SELECT COUNT(*) FROM main.fingerprints WHERE rid > ?1 AND rid <= ?2", [covered, keyed], |r| {
            r.get(0)
        })?;
    if rows > 0 {
        tx.execute("UPDATE main.index_keyed SET keyed = ?1", [covered])?;
        if found == Reconciled::Matched {
            found = Reconciled::Behind;
        }
    }
    tx.commit()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};
    use newswire_core::fingerprint::Fingerprint;
    use newswire_core::sink::{Sink, StateStore};
    use newswire_core::state::Indexed;

    use super::super::lock;
    use super::super::runs::{self, compact};
    use super::super::sink::SqliteSink;
    use super::super::store::SqliteStore;
    use super::super::tests::checkpoint;
    use super::*;

    fn text(i: usize) -> String {
        (0..60).map(|j| format!("w{i}y{j}")).collect::<Vec<_>>().join(" ")
    }

    fn index(store: &SqliteStore, id: &str, text: &str) {
        let mut cp = checkpoint(&[]);
        let fingerprint = Fingerprint::of(text).expect("fingerprint");
        cp.fingerprints = vec![Indexed { id: id.into(), fingerprint, cluster: None, at: Utc::now() }];
        store.write_blocking(&[], Some(&cp)).expect("index");
    }

    fn flush(store: &SqliteStore) {
        let mut conn = lock(&store.inner.writer);
        lock(&store.inner.pending).flush(&mut conn).expect("flush");
        compact(&mut conn, &store.inner.pending).expect("merge");
    }

    async fn found(store: &SqliteStore, i: usize) -> Option<String> {
        let copy = Fingerprint::of(&format!("From the wire: {}", text(i))).expect("fingerprint");
        let since = Utc::now() - Duration::days(7);
        let found = store.find_similar(&[("copy".to_string(), copy)], since, 0.5).await.expect("lookup");
        found[0].as_ref().map(|m| m.cluster.clone())
    }

    fn keys_of(i: usize) -> i64 {
        Fingerprint::of(&text(i)).expect("fingerprint").keys().len() as i64
    }

    /// (entries in `lsh`, runs, watermark), read on a connection of its own.
    fn state(path: &Path) -> (i64, i64, i64) {
        let conn = Connection::open(path).expect("open");
        attach(&conn, path, 1024).expect("attach");
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).expect(sql);
        (
            count("SELECT COUNT(*) FROM runs.lsh"),
            count("SELECT COUNT(*) FROM runs.lsh_runs"),
            count("SELECT keyed FROM main.index_keyed"),
        )
    }

    /// A store with records 0..n indexed, their keys in runs.
    async fn filled(path: &Path, n: usize) -> SqliteStore {
        let store = SqliteStore::open(path).expect("opens");
        for i in 0..n {
            index(&store, &format!("r{i}"), &text(i));
            flush(&store);
        }
        for i in 0..n {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")));
        }
        store
    }

    /// A copy of the runs file of the store at `path`, written to `to`
    /// (which must not exist) through SQLite, so it holds what the WAL does
    /// whatever the store's checkpointer did.
    fn copy_runs(path: &Path, to: &Path) {
        let conn = Connection::open(path).expect("open");
        attach(&conn, path, 1024).expect("attach");
        conn.execute("VACUUM runs INTO ?1", [to.to_string_lossy()]).expect("copy the runs file");
    }

    /// [`reconcile`] on a connection of its own, as the store's open runs it.
    fn reconciled(path: &Path) -> Reconciled {
        let mut conn = Connection::open(path).expect("open");
        attach(&conn, path, 1024).expect("attach");
        reconcile(&mut conn).expect("reconcile")
    }

    fn remove_runs_file(path: &Path) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = runs_path(path).into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }

    #[tokio::test]
    async fn the_runs_live_in_their_own_file_and_the_store_file_holds_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("apart.db");
        let store = filled(&path, 3).await;
        drop(store);
        let main = Connection::open(&path).expect("open");
        let tables: Vec<String> = main
            .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'lsh%'")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names");
        assert!(tables.is_empty(), "key tables left in the store's file: {tables:?}");
        assert_eq!(state(&path), ((0..3).map(keys_of).sum(), 3, 3));
    }

    #[tokio::test]
    async fn a_missing_runs_file_is_rebuilt_from_the_fingerprints() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("missing.db");
        let records = 6;
        drop(filled(&path, records).await);
        let full = state(&path);
        remove_runs_file(&path);
        assert_eq!(reconciled(&path), Reconciled::Rebuilt);
        assert_eq!(state(&path), (0, 0, 0), "every row's keys to be written again");
        let store = SqliteStore::open(&path).expect("opens without its runs file");
        for i in 0..records {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i} after the rebuild");
        }
        SqliteSink::new(store.clone(), true).close().await.expect("close");
        drop(store);
        let (entries, _, keyed) = state(&path);
        assert_eq!((entries, keyed), (full.0, full.2), "every key written again, once");
    }

    #[tokio::test]
    async fn a_runs_file_of_another_store_is_emptied_and_rebuilt() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ours, theirs) = (dir.path().join("ours.db"), dir.path().join("theirs.db"));
        drop(filled(&ours, 2).await);
        let store = SqliteStore::open(&theirs).expect("opens");
        index(&store, "other", &text(40));
        flush(&store);
        drop(store);
        remove_runs_file(&ours);
        copy_runs(&theirs, &runs_path(&ours));
        assert_eq!(state(&ours).0, keys_of(40), "their keys, before the open");
        assert_eq!(reconciled(&ours), Reconciled::Rebuilt);
        let store = SqliteStore::open(&ours).expect("opens with a foreign runs file");
        assert_eq!(found(&store, 40).await, None, "another store's keys are never found");
        assert_eq!(found(&store, 0).await, Some("r0".to_string()));
        assert_eq!(found(&store, 1).await, Some("r1".to_string()));
        SqliteSink::new(store.clone(), true).close().await.expect("close");
        drop(store);
        assert_eq!(state(&ours).0, keys_of(0) + keys_of(1));
    }

    #[tokio::test]
    async fn a_run_committed_but_never_listed_is_skipped_then_dropped_and_its_keys_written_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("orphan.db");
        drop(filled(&path, 2).await);
        // A crash between a flush's two commits: the run of row 2 is in the
        // runs file, the watermark still says 1.
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute("UPDATE index_keyed SET keyed = 1", []).expect("watermark back");
        }
        assert_eq!(reconciled(&path), Reconciled::Orphans(1));
        let store = SqliteStore::open(&path).expect("opens");
        assert_eq!(state(&path), (keys_of(0) + keys_of(1), 2, 1), "the orphan is left; row 2's keys are held");
        assert_eq!(found(&store, 1).await, Some("r1".to_string()), "through the held keys");
        let cached = lock(&store.inner.pending).cache.cached_runs();
        assert!(!cached.contains(&2), "the orphan run was read: {cached:?}");
        SqliteSink::new(store.clone(), true).close().await.expect("close");
        assert_eq!(found(&store, 1).await, Some("r1".to_string()), "through the new run");
        drop(store);
        assert_eq!(state(&path), (keys_of(0) + keys_of(1), 2, 2), "no key twice");
    }

    #[tokio::test]
    async fn an_orphan_run_is_skipped_by_lookups_and_dropped_by_the_next_flush() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("skipped.db");
        let store = filled(&path, 1).await;
        index(&store, "r1", &text(1));
        {
            // A flush whose second commit failed: its run stays in the runs
            // file, above the watermark, and its keys stay held.
            let mut conn = lock(&store.inner.writer);
            let pending = lock(&store.inner.pending);
            let entries: Vec<(i64, i64, i64)> = {
                let (at, keys) = &pending.rows[&2];
                let mut e: Vec<_> = keys.iter().map(|&k| (k, *at, 2)).collect();
                e.sort_unstable();
                e
            };
            let tx = conn.transaction().expect("begin");
            runs::write_run(&tx, &entries, 2, 2).expect("run");
            tx.commit().expect("commit");
        }
        assert_eq!(state(&path).1, 2, "the orphan is in the runs file");
        assert_eq!(found(&store, 1).await, Some("r1".to_string()), "through the held keys");
        // Run 1's lists may be read; the orphan's never (it has no filter:
        // read, every key's list would be cached under its id).
        let cached = lock(&store.inner.pending).cache.cached_runs();
        assert!(!cached.contains(&2), "the orphan run was read: {cached:?}");
        flush(&store);
        assert_eq!(state(&path), (keys_of(0) + keys_of(1), 2, 2), "dropped, then written once");
        assert_eq!(found(&store, 1).await, Some("r1".to_string()));
    }

    #[tokio::test]
    async fn an_older_copy_of_the_runs_file_moves_the_watermark_down() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("behind.db");
        let store = filled(&path, 1).await;
        drop(store);
        let saved = dir.path().join("saved-runs");
        copy_runs(&path, &saved);
        let store = SqliteStore::open(&path).expect("opens");
        for i in 1..3 {
            index(&store, &format!("r{i}"), &text(i));
            flush(&store);
        }
        drop(store);
        remove_runs_file(&path);
        std::fs::copy(&saved, runs_path(&path)).expect("the older copy restored");
        assert_eq!(reconciled(&path), Reconciled::Behind);
        assert_eq!(state(&path), (keys_of(0), 1, 1), "the watermark down to what the runs hold");
        let store = SqliteStore::open(&path).expect("opens with an older runs file");
        for i in 0..3 {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i}");
        }
        SqliteSink::new(store.clone(), true).close().await.expect("close");
        drop(store);
        assert_eq!(state(&path).0, (0..3).map(keys_of).sum::<i64>());
    }

    #[tokio::test]
    async fn keys_that_left_their_run_before_a_crash_stay_gone_and_the_prune_completes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("prune.db");
        drop(filled(&path, 2).await);
        // A crash between a prune's two commits: row 1's keys left the runs
        // file, its row is still in the store's.
        {
            let conn = Connection::open(&path).expect("open");
            attach(&conn, &path, 1024).expect("attach");
            conn.execute("DELETE FROM runs.lsh WHERE rid = 1", []).expect("keys gone");
        }
        let store = SqliteStore::open(&path).expect("opens");
        assert_eq!(found(&store, 0).await, None, "a row without keys is not found");
        assert_eq!(found(&store, 1).await, Some("r1".to_string()));
        assert_eq!(store.prune_index(Utc::now() + Duration::days(1), 1000).await.expect("prune"), 2);
        drop(store);
        assert_eq!(state(&path).0, 0);
        let conn = Connection::open(&path).expect("open");
        let rows: i64 = conn.query_row("SELECT COUNT(*) FROM fingerprints", [], |r| r.get(0)).expect("count");
        assert_eq!(rows, 0);
    }
}
