//! The full-text indexer: keeps `records_fts` in step with `records`, in a
//! database file of its own beside the store (`<store>-search`), on a
//! thread of its own.
//!
//! Why apart: tokenising and merging the index was a third of a backfill's
//! CPU, and SQLite lets one connection write a file at a time, so inside
//! the store's transaction it ran on the one serial step of the pipeline
//! (docs/performance.md). In a file of its own it runs beside the writer,
//! on the other core.
//!
//! How it stays exact: triggers on `records` append the row id of every
//! record inserted, changed (title, summary or body) or deleted to
//! `search_log` in the store, in the transaction that changes the record,
//! so a crash never loses one. The indexer reads the log past the sequence
//! number it has applied, makes each logged record's index entry match the
//! record as it is now (deleted, or deleted and inserted again: applying an
//! entry twice is harmless), and commits the entries with the new applied
//! number in the search file. The writer trims the log up to the applied
//! number. A search first applies what the log holds past it
//! ([`Indexer::catch_up`]), so it sees every record committed before it
//! began.
//!
//! A search file that does not match the store (missing, from another
//! store, or older than the log's oldest entry) is emptied and built again
//! from the records, a step at a time, in row-id order; searches meanwhile
//! see the part built so far.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params};

use super::{db_err, lock};
use newswire_core::sink::StoreError;

/// The full-text index's tokenizer (see `search.rs`), a literal for `concat!`.
macro_rules! tokenizer {
    () => {
        "unicode61 remove_diacritics 2"
    };
}
pub(super) use tokenizer;

/// The search file's tables. `records_fts` is contentless (the text stays
/// in the store; a search needs the row ids only) with deletes by row id,
/// and keeps which records hold a token, not where (`detail = none`): a
/// search asks for records holding every token, in any column, and never
/// for a phrase, a column or a rank. Positions were most of the index's
/// size, and writing and merging them most of its cost: without them the
/// indexer's share of a backfill fell by half (docs/performance.md).
const SEARCH_SCHEMA: &str = concat!(
    "
CREATE VIRTUAL TABLE IF NOT EXISTS records_fts USING fts5(
    title, summary, body,
    content = '', contentless_delete = 1, detail = none,
    tokenize = '",
    tokenizer!(),
    "'
);
-- applied: the last log entry applied; max_rid: no row id above it is
-- indexed; built: while a build runs, the last row id it indexed;
-- build_to: the last row id it indexes (the rest come from the log).
CREATE TABLE IF NOT EXISTS search_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"
);

/// FTS5 merges a level's segments into one when it holds this many (its
/// own default is 4). Every transaction of the indexer writes a segment;
/// with 4, a segment was merged again each time four met at a level, and merging
/// was most of the index's cost in a backfill (it grows with the index).
/// With 8 there are two thirds as many levels to pass through, at the price of up
/// to 7 segments a level for a search to read: measured side by side, the
/// indexer's share of a backfill fell by a sixth and searches were no
/// slower (docs/performance.md). Kept in the index's config table; set at
/// an open that finds another value, so an older search file takes it too.
const AUTOMERGE: i64 = 8;

/// Log entries (or, in a build, records) applied per transaction.
const STEP: i64 = 500;

/// The search file of the store at `store`.
pub(super) fn search_path(store: &Path) -> PathBuf {
    let mut path = store.as_os_str().to_owned();
    path.push("-search");
    PathBuf::from(path)
}

/// One indexer's connections: the store, read only, and the search file.
pub(super) struct Indexer {
    store: Connection,
    search: Connection,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexer").field("store", &self.store.path()).field("search", &self.search.path()).finish()
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Nothing left to apply.
    Done,
    /// Applied log entries up to this sequence number.
    Applied(i64),
    /// Reset the index or built part of it; more to do.
    Built,
}

impl Indexer {
    /// Open the search file of the store at `store` (creating it).
    pub(super) fn open(store: &Path) -> Result<Indexer, StoreError> {
        let path = search_path(store);
        let search = Connection::open(&path).map_err(|e| db_err(&format!("cannot open {}", path.display()), e))?;
        search
            .busy_timeout(Duration::from_secs(30))
            .and_then(|()| {
                search
                    .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -8192;")
            })
            .and_then(|()| drop_older_format(&search))
            .and_then(|()| search.execute_batch(SEARCH_SCHEMA))
            .and_then(|()| {
                // Written only when it differs: an open is not a write.
                let set: Option<i64> = search
                    .query_row("SELECT v FROM records_fts_config WHERE k = 'automerge'", [], |r| r.get(0))
                    .optional()?;
                if set == Some(AUTOMERGE) {
                    Ok(())
                } else {
                    search
                        .execute("INSERT INTO records_fts (records_fts, rank) VALUES ('automerge', ?1)", [AUTOMERGE])
                        .map(drop)
                }
            })
            .map_err(|e| db_err(&format!("cannot create the full-text index in {}", path.display()), e))?;
        let store_conn = Connection::open_with_flags(
            store,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| db_err(&format!("cannot open {}", store.display()), e))?;
        store_conn
            .busy_timeout(Duration::from_secs(30))
            .and_then(|()| store_conn.execute_batch("PRAGMA cache_size = -4096;"))
            .map_err(|e| db_err(&format!("cannot configure {}", store.display()), e))?;
        Ok(Indexer { store: store_conn, search })
    }

    /// Apply the log up to what it held when this began, finishing a
    /// build in progress first. Returns the applied sequence number.
    pub(super) fn catch_up(&mut self) -> Result<i64, StoreError> {
        let target = self.store_sequence()?;
        // Up to date (the usual case for a search): no write transaction.
        // (Past the log's end is a file of another store: the step resets.)
        if self.state("applied")? == Some(target) && self.state("built")?.is_none() {
            return Ok(target);
        }
        loop {
            match self.step()? {
                Step::Built => {}
                Step::Applied(at) if at < target => {}
                Step::Done | Step::Applied(_) => return self.applied(),
            }
        }
    }

    /// Whether a build is in progress.
    pub(super) fn building(&self) -> Result<bool, StoreError> {
        Ok(self.state("built")?.is_some())
    }

    /// The last log entry applied.
    pub(super) fn applied(&self) -> Result<i64, StoreError> {
        Ok(self.state("applied")?.unwrap_or_default())
    }

    /// One of the search file's state values (none before it is set up).
    fn state(&self, key: &str) -> Result<Option<i64>, StoreError> {
        self.search
            .query_row("SELECT value FROM search_state WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| db_err("cannot read the full-text index's state", e))
    }

    /// Empty the index and build it again from the records (a step at a
    /// time, by [`Indexer::catch_up`]).
    pub(super) fn reset(&mut self) -> Result<(), StoreError> {
        let Indexer { store, search } = self;
        let tx = begin(search)?;
        let store = store.transaction().map_err(|e| db_err("cannot read the store", e))?;
        reset_in(&tx, &store)?;
        drop(store);
        tx.commit().map_err(|e| db_err("cannot commit the full-text index", e))
    }

    /// The number of records the index holds.
    pub(super) fn count(&self) -> Result<i64, StoreError> {
        self.search
            .query_row("SELECT COUNT(*) FROM records_fts", [], |r| r.get(0))
            .map_err(|e| db_err("cannot count the full-text index", e))
    }

    /// FTS5's own check of the index's structure.
    pub(super) fn check(&self) -> Result<(), StoreError> {
        self.search
            .execute_batch("INSERT INTO records_fts (records_fts, rank) VALUES ('integrity-check', 0);")
            .map_err(|e| db_err("the full-text index is damaged", e))
    }

    /// The log's last sequence number (0 before the first entry).
    fn store_sequence(&self) -> Result<i64, StoreError> {
        sequence(&self.store).map_err(|e| db_err("cannot read the full-text log", e))
    }

    /// One transaction of work.
    fn step(&mut self) -> Result<Step, StoreError> {
        let Indexer { store, search } = self;
        let tx = begin(search)?;
        // One read snapshot of the store for the whole step.
        let store = store.transaction().map_err(|e| db_err("cannot read the store", e))?;
        let state = |key: &str| -> rusqlite::Result<Option<i64>> {
            tx.query_row("SELECT value FROM search_state WHERE key = ?1", [key], |r| r.get(0)).optional()
        };
        let err = |e| db_err("cannot apply the full-text log", e);
        let (applied, max_rid, built) = (state("applied"), state("max_rid"), state("built"));
        let (applied, max_rid, built) =
            (applied.map_err(err)?, max_rid.map_err(err)?.unwrap_or(0), built.map_err(err)?);
        // A log that cannot be read now is an error to retry, not a reason
        // to build the index again.
        let holds = match applied {
            Some(applied) => log_holds_after(&store, applied).map_err(err)?,
            None => false,
        };
        let Some(applied) = applied.filter(|_| holds) else {
            if let Some(applied) = applied {
                tracing::info!(
                    applied,
                    "the full-text index is not this store's or fell behind its log; building it again"
                );
            }
            reset_in(&tx, &store)?;
            drop(store);
            tx.commit().map_err(|e| db_err("cannot commit the full-text index", e))?;
            return Ok(Step::Built);
        };
        if let Some(built) = built {
            // A build begun by an earlier version has no bound: to the end.
            let to = state("build_to").map_err(err)?.unwrap_or(i64::MAX);
            let last = build_in(&tx, &store, built, to).map_err(err)?;
            match last {
                Some(last) => set(&tx, "built", last).and_then(|()| set(&tx, "max_rid", last.max(max_rid))),
                None => tx.execute("DELETE FROM search_state WHERE key IN ('built', 'build_to')", []).map(drop),
            }
            .map_err(err)?;
            drop(store);
            tx.commit().map_err(|e| db_err("cannot commit the full-text index", e))?;
            return Ok(if last.is_some() { Step::Built } else { Step::Applied(applied) });
        }
        let entries: Vec<(i64, i64)> = {
            let mut stmt = store
                .prepare_cached("SELECT seq, rid FROM search_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")
                .map_err(err)?;
            stmt.query_map(params![applied, STEP], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(Iterator::collect)
                .map_err(err)?
        };
        let Some(&(last, _)) = entries.last() else { return Ok(Step::Done) };
        let mut rids: Vec<i64> = entries.iter().map(|&(_, rid)| rid).collect();
        rids.sort_unstable();
        rids.dedup();
        let mut top = max_rid;
        {
            let mut read =
                store.prepare_cached("SELECT title, summary, body FROM records WHERE rowid = ?1").map_err(err)?;
            let mut delete = tx.prepare_cached("DELETE FROM records_fts WHERE rowid = ?1").map_err(err)?;
            let mut insert = tx
                .prepare_cached("INSERT INTO records_fts (rowid, title, summary, body) VALUES (?1, ?2, ?3, ?4)")
                .map_err(err)?;
            for rid in rids {
                if rid <= max_rid {
                    delete.execute([rid]).map_err(err)?;
                }
                let text: Option<(Option<String>, Option<String>, String)> =
                    read.query_row([rid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional().map_err(err)?;
                if let Some((title, summary, body)) = text {
                    let summary = summary_to_index(summary.as_deref(), &body);
                    insert.execute(params![rid, title, summary, body]).map_err(err)?;
                    top = top.max(rid);
                }
            }
        }
        set(&tx, "applied", last).and_then(|()| set(&tx, "max_rid", top)).map_err(err)?;
        drop(store);
        tx.commit().map_err(|e| db_err("cannot commit the full-text index", e))?;
        Ok(Step::Applied(last))
    }
}

/// Drop an index made by a version that kept positions (before `detail =
/// none`): FTS5 cannot change a table's detail, and the index is derived
/// data. Its state goes with it, so the indexer's next step builds the new
/// index from the records, in the background, as for a missing file.
fn drop_older_format(search: &Connection) -> rusqlite::Result<()> {
    let sql: Option<String> = search
        .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'records_fts'", [], |r| r.get(0))
        .optional()?;
    match sql {
        Some(sql) if !sql.contains("detail = none") => {
            tracing::info!("the full-text index keeps word positions no search uses; building it again without them");
            let tx = Transaction::new_unchecked(search, TransactionBehavior::Immediate)?;
            tx.execute_batch("DROP TABLE records_fts; DROP TABLE IF EXISTS search_state;")?;
            tx.commit()
        }
        _ => Ok(()),
    }
}

/// A write transaction on the search file, taken at once (two indexers,
/// in one process or two, take turns).
fn begin(search: &mut Connection) -> Result<Transaction<'_>, StoreError> {
    search
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db_err("cannot begin a full-text index transaction", e))
}

fn set(tx: &Transaction<'_>, key: &str, value: i64) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO search_state (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map(drop)
}

/// The log's last sequence number, on `conn` (the store).
pub(super) fn sequence(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'search_log'", [], |r| r.get(0))
        .optional()
        .map(Option::unwrap_or_default)
}

/// Whether the store's log holds every entry after `applied`: the index
/// belongs to this store and nothing it needs was trimmed.
fn log_holds_after(store: &Connection, applied: i64) -> rusqlite::Result<bool> {
    let last = sequence(store)?;
    let first: Option<i64> = store.query_row("SELECT MIN(seq) FROM search_log", [], |r| r.get(0))?;
    Ok(applied <= last && first.map_or(applied == last, |first| first <= applied + 1))
}

/// Empty the index and start a build: every record now in the store is
/// indexed by the build, everything after by the log.
fn reset_in(tx: &Transaction<'_>, store: &Transaction<'_>) -> Result<(), StoreError> {
    let err = |e| db_err("cannot reset the full-text index", e);
    let at = sequence(store).map_err(err)?;
    // The build covers the records of this snapshot, whose log entries are
    // at `at` or before; records written after it are logged after `at`,
    // and indexed from the log. A build that ran on to them indexed each
    // twice, the second time over a delete: at the first step of a new
    // store, while a backfill wrote, that left thousands of deletes whose
    // tombstones made every merge of the index slow (one backfill in five
    // took three times as long).
    let to: i64 = store.query_row("SELECT coalesce(max(rowid), 0) FROM records", [], |r| r.get(0)).map_err(err)?;
    tx.execute_batch("INSERT INTO records_fts (records_fts) VALUES ('delete-all'); DELETE FROM search_state;")
        .map_err(err)?;
    set(tx, "applied", at)
        .and_then(|()| set(tx, "max_rid", 0))
        .and_then(|()| set(tx, "built", 0))
        .and_then(|()| set(tx, "build_to", to))
        .map_err(err)
}

/// The summary as the index takes it: None when the body holds it word for
/// word, between whitespace (a feed's description is often the article's
/// first paragraph). Its words are then indexed with the body's, and a
/// search matches any column, so the record matches the same searches for
/// less tokenising. "Between whitespace": a summary found inside longer
/// words ("art" in "start") is indexed as it is.
pub(super) fn summary_to_index<'a>(summary: Option<&'a str>, body: &str) -> Option<&'a str> {
    let summary = summary?;
    let apart = |c: Option<char>| c.is_none_or(char::is_whitespace);
    let held = !summary.is_empty()
        && body
            .match_indices(summary)
            .any(|(at, _)| apart(body[..at].chars().next_back()) && apart(body[at + summary.len()..].chars().next()));
    if held { None } else { Some(summary) }
}

/// Index the next records after row id `after`, up to row id `to`: the
/// last one indexed, or None when there were none left.
fn build_in(tx: &Transaction<'_>, store: &Transaction<'_>, after: i64, to: i64) -> rusqlite::Result<Option<i64>> {
    let mut read = store.prepare_cached(
        "SELECT rowid, title, summary, body FROM records WHERE rowid > ?1 AND rowid <= ?3 ORDER BY rowid LIMIT ?2",
    )?;
    let mut insert =
        tx.prepare_cached("INSERT INTO records_fts (rowid, title, summary, body) VALUES (?1, ?2, ?3, ?4)")?;
    let mut rows = read.query(params![after, STEP, to])?;
    let mut last = None;
    while let Some(row) = rows.next()? {
        let rid: i64 = row.get(0)?;
        let (summary, body) = (row.get::<_, Option<String>>(2)?, row.get::<_, String>(3)?);
        insert.execute(params![
            rid,
            row.get::<_, Option<String>>(1)?,
            summary_to_index(summary.as_deref(), &body),
            body
        ])?;
        last = Some(rid);
    }
    Ok(last)
}

/// The indexer's thread: after each nudge (a commit) or every second,
/// apply the log (building first when a build is due) a step at a time,
/// and publish the applied number for the writer to trim the log by. Ends
/// when the store (holding the sender) is dropped, within one step (the
/// store joins it); what is left is applied by the next search or open.
pub(super) fn indexer_thread(indexer: Arc<Mutex<Indexer>>, applied: Arc<AtomicI64>, nudges: Receiver<()>) {
    // The index may lag the records a moment; the writer may not.
    crate::priority::lower_priority(crate::priority::BACKGROUND_NICE);
    let mut building = lock(&indexer).building().unwrap_or(false);
    if building {
        tracing::info!("building the full-text index from the records; a search waits for it");
    }
    loop {
        match nudges.recv_timeout(Duration::from_secs(1)) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        loop {
            let more = {
                let mut indexer = lock(&indexer);
                let step = indexer.step();
                if let Ok(at) = indexer.applied() {
                    applied.fetch_max(at, Ordering::AcqRel);
                }
                if building && !indexer.building().unwrap_or(true) {
                    building = false;
                    tracing::info!("the full-text index is built");
                }
                match step {
                    Ok(step) => step != Step::Done,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot update the full-text index; will retry");
                        false
                    }
                }
            };
            if !more || matches!(nudges.try_recv(), Err(std::sync::mpsc::TryRecvError::Disconnected)) {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::SqliteStore;
    use super::super::tests::record;
    use super::*;

    /// A build covers the records its reset saw; those written after it
    /// come from the log, each indexed once, none deleted first.
    #[test]
    fn a_build_stops_at_the_records_its_reset_saw_and_the_log_brings_the_rest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let store = SqliteStore::open(&path).expect("opens");
        store.write_blocking(&[record("a", "one"), record("b", "two"), record("c", "three")], None).expect("write");
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let mut file = search_path(&path).into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(&file);
        }
        let mut indexer = Indexer::open(&path).expect("a new search file");
        assert!(matches!(indexer.step().expect("reset"), Step::Built));
        // Written after the reset (as a backfill writes while the indexer
        // starts): logged after what the reset took as applied.
        let conn = Connection::open(&path).expect("the store");
        conn.execute_batch(
            "CREATE TEMP TABLE copy AS SELECT * FROM records WHERE id = 'c';
             UPDATE copy SET id = 'd', body = 'four';
             INSERT INTO records SELECT * FROM copy;
             UPDATE copy SET id = 'e', body = 'five';
             INSERT INTO records SELECT * FROM copy;",
        )
        .expect("two more records");
        assert!(matches!(indexer.step().expect("build"), Step::Built));
        assert_eq!(indexer.count().expect("count"), 3, "the build stops at the records the reset saw");
        assert_eq!(indexer.catch_up().expect("caught up"), sequence(&conn).expect("log"));
        assert_eq!(indexer.count().expect("count"), 5);
        let max_rid: i64 = indexer
            .search
            .query_row("SELECT value FROM search_state WHERE key = 'max_rid'", [], |r| r.get(0))
            .expect("max_rid");
        assert_eq!(max_rid, 5);
        assert!(!indexer.building().expect("state"), "the build is over");
        indexer.check().expect("sound");
    }
}
