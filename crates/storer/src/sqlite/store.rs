//! The database handle: records and a checkpoint in one transaction, and
//! the state store's reads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use newswire_core::Record;
use newswire_core::fingerprint::Fingerprint;
use newswire_core::sink::{BoxFuture, StateStore, StoreError};
use newswire_core::state::{Checkpoint, FeedState, Match};
use rusqlite::{Connection, OptionalExtension, params};

use super::checkpointer::checkpointer;
use super::index::{
    FLUSH_ROWS, Pending, PendingChange, find_similar_in, forget_indexed_again, index_in, prune_in, sketch_in,
};
use super::indexer::{Indexer, indexer_thread, search_path};
use super::runs::advance;
use super::runs_file::{self, Reconciled, runs_path};
use super::schema::{SCHEMA, migrate};
use super::{NAME, blocking, db_err, json_err, lock};

/// The SQLite database: the state store, and the sink behind [`SqliteSink`](super::SqliteSink).
/// A cheap handle: clones share the connections.
#[derive(Clone)]
pub struct SqliteStore {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    path: PathBuf,
    pub(super) writer: Mutex<Connection>,
    /// Index keys not yet in `lsh`. Locked after `writer` (or a lookup
    /// connection), never before.
    pub(super) pending: Mutex<Pending>,
    pub(super) reader: Mutex<Connection>,
    /// Connections for near-duplicate lookups, so that several run beside
    /// each other and beside the writer.
    lookups: Vec<Mutex<Connection>>,
    /// Nudges the checkpointer after each commit. Dropping it (with the
    /// store) ends the checkpointer thread.
    wrote: std::sync::mpsc::SyncSender<()>,
    /// The full-text indexer (`indexer.rs`), shared with its thread.
    pub(super) indexer: Arc<Mutex<Indexer>>,
    /// The last log entry it applied, for the writer to trim the log by.
    pub(super) search_applied: Arc<AtomicI64>,
    /// What the writer trimmed the log to.
    trimmed: AtomicI64,
    /// Nudges the indexer after each commit; dropping it ends its thread,
    /// which the store then joins (see `Drop`).
    indexed: Option<std::sync::mpsc::SyncSender<()>>,
    indexer_thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Inner {
    /// The indexer's thread ends within one step once its sender is gone:
    /// wait for it, so a store opened again on the file (a restart, a
    /// command after the daemon) never meets it.
    fn drop(&mut self) {
        drop(self.indexed.take());
        if let Some(thread) = self.indexer_thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.path).finish()
    }
}

/// Bytes SQLite holds now, in every connection of the process: page caches,
/// prepared statements, schema. The page caches are bounded by the
/// `cache_size` of each connection and file (see [`WRITER_CACHE_KIB`] and
/// below: 78 MiB per store), so this rises
/// while an archive is young and levels off; exported as
/// `newswire_sqlite_memory_bytes`.
#[expect(unsafe_code, reason = "rusqlite has no safe wrapper for sqlite3_memory_used; the call takes no arguments")]
pub fn memory_used() -> u64 {
    // SAFETY: sqlite3_memory_used takes no arguments and only reads SQLite's
    // global counter under its own mutex; it is callable from any thread at
    // any time, before or after any connection is opened.
    let used = unsafe { rusqlite::ffi::sqlite3_memory_used() };
    u64::try_from(used).unwrap_or(0)
}

/// Page cache per connection, KiB. The writer's keeps the id and index
/// B-trees in memory; the reader serves state loads and lookups; the
/// checkpointer copies WAL frames and needs next to none. Each cache fills
/// as the database grows (three 32 MiB caches were a soak's slow climb of
/// resident memory), so the sum, 41 MiB (and the runs file's caches,
/// below), is part of the memory bound.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
const READER_CACHE_KIB: i64 = 8 * 1024;
const CHECKPOINTER_CACHE_KIB: i64 = 1024;
/// Lookup connections and the page cache of each, KiB. A connection's cache
/// is dropped whenever another one wrote (WAL mode), so after every commit:
/// it only serves one lookup's repeated reads.
const LOOKUPS: usize = 2;
const LOOKUP_CACHE_KIB: i64 = 2 * 1024;
/// Page cache of the runs file (`runs_file.rs`) per connection, KiB. A
/// lookup connection's is kept across the commits of records (the runs
/// file changes only at a flush, a merge, or when keys leave a run), so it
/// holds the runs' inner B-tree pages (some 7 MB at 1,000,000 records,
/// estimated) and a range read costs about one leaf page read. 8 MiB:
/// lookups at 1,000,000 records cost the same as with 16 (80 µs each,
/// `newswire-bench index`), and the news farm's backfill peaks 12 MB lower
/// (docs/performance.md). The writer's serves merges (sequential) and
/// removals; the reader's and the checkpointer's next to nothing.
const LOOKUP_RUNS_CACHE_KIB: i64 = 8 * 1024;
const WRITER_RUNS_CACHE_KIB: i64 = 4 * 1024;
const READER_RUNS_CACHE_KIB: i64 = 1024;
const CHECKPOINTER_RUNS_CACHE_KIB: i64 = 256;

fn open_conn(path: &Path, cache_kib: i64) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| db_err(&format!("cannot open {}", path.display()), e))?;
    conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(|e| db_err("cannot set busy timeout", e))?;
    // WAL lets readers run beside the writer; NORMAL sync in WAL mode keeps
    // every committed transaction across a process crash (power loss may
    // lose the last ones, see docs/ARCHITECTURE.md). Checkpoints (which copy
    // the WAL into the database file and sync it) are not run by the writer:
    // the checkpointer thread runs them beside it, see [`checkpointer`].
    // They were half of the write stage's wall time.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
         PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY;",
    )
    .and_then(|()| conn.pragma_update(None, "cache_size", -cache_kib))
    .map_err(|e| db_err(&format!("cannot configure {}", path.display()), e))?;
    Ok(conn)
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and apply the schema.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::fatal(NAME, format!("cannot create directory {}: {e}", dir.display())))?;
        }
        let mut writer = open_conn(path, WRITER_CACHE_KIB)?;
        writer.execute_batch(SCHEMA).map_err(|e| db_err(&format!("cannot create tables in {}", path.display()), e))?;
        runs_file::attach(&writer, path, WRITER_RUNS_CACHE_KIB)?;
        migrate(&mut writer).map_err(|e| db_err(&format!("cannot migrate {}", path.display()), e))?;
        super::search::migrate(&mut writer)
            .map_err(|e| db_err(&format!("cannot create the full-text index in {}", path.display()), e))?;
        let runs = runs_path(path);
        match runs_file::reconcile(&mut writer)
            .map_err(|e| db_err(&format!("cannot match {} with {}", runs.display(), path.display()), e))?
        {
            Reconciled::Matched => {}
            Reconciled::Orphans(n) => {
                tracing::info!(runs = n, file = %runs.display(), "near-duplicate index runs a flush left unlisted: skipped, dropped at the next flush");
            }
            Reconciled::Rebuilt => tracing::warn!(
                file = %runs.display(),
                "the near-duplicate index's runs file is missing or not this store's: writing its keys again from the stored fingerprints"
            ),
            Reconciled::Behind => tracing::warn!(
                file = %runs.display(),
                "the near-duplicate index's runs file is older than the store: writing the missing keys again from the stored fingerprints"
            ),
        }
        let reader = open_conn(path, READER_CACHE_KIB)?;
        runs_file::attach(&reader, path, READER_RUNS_CACHE_KIB)?;
        let indexer = Arc::new(Mutex::new(Indexer::open(path)?));
        let search = search_path(path);
        reader
            .execute("ATTACH DATABASE ?1 AS search", [search.to_string_lossy()])
            .map_err(|e| db_err(&format!("cannot open {}", search.display()), e))?;
        let search_applied = Arc::new(AtomicI64::new(lock(&indexer).applied()?));
        let (indexed, index_nudges) = std::sync::mpsc::sync_channel(1);
        let indexer_thread = std::thread::Builder::new()
            .name("sqlite-search".into())
            .spawn({
                let (indexer, applied) = (indexer.clone(), search_applied.clone());
                move || indexer_thread(indexer, applied, index_nudges)
            })
            .map_err(|e| StoreError::fatal(NAME, format!("cannot start the full-text indexer thread: {e}")))?;
        let lookups = (0..LOOKUPS)
            .map(|_| {
                let conn = open_conn(path, LOOKUP_CACHE_KIB)?;
                runs_file::attach(&conn, path, LOOKUP_RUNS_CACHE_KIB)?;
                Ok(Mutex::new(conn))
            })
            .collect::<Result<_, StoreError>>()?;
        let checkpoints = open_conn(path, CHECKPOINTER_CACHE_KIB)?;
        runs_file::attach(&checkpoints, path, CHECKPOINTER_RUNS_CACHE_KIB)?;
        let (wrote, nudges) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn({
                let wal = |file: &Path| {
                    let mut wal = file.as_os_str().to_owned();
                    wal.push("-wal");
                    PathBuf::from(wal)
                };
                let wals = vec![wal(path), wal(&runs)];
                move || checkpointer(checkpoints, wals, nudges)
            })
            .map_err(|e| StoreError::fatal(NAME, format!("cannot start the checkpoint thread: {e}")))?;
        let pending = Pending::load(&mut writer)?;
        let inner = Inner {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            pending: Mutex::new(pending),
            reader: Mutex::new(reader),
            lookups,
            wrote,
            indexer,
            search_applied,
            trimmed: AtomicI64::new(0),
            indexed: Some(indexed),
            indexer_thread: Some(indexer_thread),
        };
        Ok(SqliteStore { inner: Arc::new(inner) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Write records and (optionally) a checkpoint in one transaction.
    pub fn write_blocking(&self, records: &[Record], checkpoint: Option<&Checkpoint>) -> Result<(), StoreError> {
        self.write_many_blocking(&[(records, checkpoint)])
    }

    /// Write several batches of records, each with (optionally) its
    /// checkpoint, in order, in one transaction: all or none.
    pub fn write_many_blocking(&self, batches: &[(&[Record], Option<&Checkpoint>)]) -> Result<(), StoreError> {
        let mut conn = lock(&self.inner.writer);
        // Only the writer moves the watermark (in a flush, under its lock).
        let keyed = lock(&self.inner.pending).keyed;
        // Records indexed again: their keys leave the runs first, committed
        // in the runs file before this transaction (see `runs_file.rs`).
        let ids: Vec<&str> = batches
            .iter()
            .filter_map(|(_, cp)| *cp)
            .flat_map(|cp| cp.fingerprints.iter().map(|entry| entry.id.as_str()))
            .collect();
        let gone = if ids.is_empty() {
            Vec::new()
        } else {
            forget_indexed_again(&mut conn, &self.inner.pending, &ids, keyed)?
        };
        let mut changes = Vec::new();
        // IMMEDIATE: take the write lock up front, waiting on the busy
        // timeout. A deferred transaction that reads first and then writes
        // gets SQLITE_BUSY at once, without waiting, when another
        // connection (a closing store's last checkpoint, `newswire
        // reindex`) wrote in between.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| db_err("cannot begin transaction", e))?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO records (id, schema, feed, feed_url, guid, url, title, authors, published_at, updated_at,
                        fetched_at, language, summary, body, word_count, categories, content_hash, source, embeds, removed,
                        cluster, similarity)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)
                     ON CONFLICT(id) DO UPDATE SET
                        schema = excluded.schema, feed = excluded.feed, feed_url = excluded.feed_url,
                        guid = excluded.guid, url = excluded.url, title = excluded.title, authors = excluded.authors,
                        published_at = excluded.published_at, updated_at = excluded.updated_at,
                        fetched_at = excluded.fetched_at, language = excluded.language, summary = excluded.summary,
                        body = excluded.body, word_count = excluded.word_count, categories = excluded.categories,
                        content_hash = excluded.content_hash, source = excluded.source, embeds = excluded.embeds,
                        removed = excluded.removed, cluster = excluded.cluster, similarity = excluded.similarity,
                        version = records.version + (records.content_hash <> excluded.content_hash)",
                )
                .map_err(|e| db_err("cannot prepare record upsert", e))?;
            for r in batches.iter().flat_map(|(records, _)| records.iter()) {
                upsert
                    .execute(params![
                        r.id,
                        r.schema,
                        r.feed,
                        r.feed_url,
                        r.guid,
                        r.url,
                        r.title,
                        serde_json::to_string(&r.authors).map_err(|e| json_err("authors", e))?,
                        r.published_at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
                        r.updated_at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
                        r.fetched_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                        r.language,
                        r.summary,
                        r.body,
                        r.word_count as i64,
                        serde_json::to_string(&r.categories).map_err(|e| json_err("categories", e))?,
                        r.content_hash,
                        r.source.as_str(),
                        serde_json::to_string(&r.embeds).map_err(|e| json_err("embeds", e))?,
                        serde_json::to_string(&r.removed).map_err(|e| json_err("removed", e))?,
                        r.cluster,
                        r.similarity,
                    ])
                    .map_err(|e| db_err(&format!("cannot write record {}", r.id), e))?;
            }
        }
        for cp in batches.iter().filter_map(|(_, cp)| *cp) {
            commit_in(&tx, cp, keyed, &gone, &mut changes)?;
        }
        // The full-text log up to what the indexer has applied.
        let applied = self.inner.search_applied.load(Ordering::Acquire);
        if applied > self.inner.trimmed.load(Ordering::Relaxed) {
            tx.execute("DELETE FROM search_log WHERE seq <= ?1", [applied])
                .map_err(|e| db_err("cannot trim the full-text log", e))?;
        }
        // The held keys change with the commit, under their lock: a lookup
        // on another connection takes its snapshot under it too, and so
        // sees both or neither (see `find_similar`).
        let mut pending = lock(&self.inner.pending);
        tx.commit().map_err(|e| db_err("cannot commit", e))?;
        for change in changes {
            pending.apply(change);
        }
        let flushed = if pending.rows.len() >= FLUSH_ROWS {
            // The batch is committed; its keys stay held until a flush
            // succeeds (derived again from the fingerprints after a crash).
            Some(pending.flush(&mut conn))
        } else {
            None
        };
        let merging = pending.merging.is_some();
        drop(pending);
        // Merging runs changes no held key: lookups go on meanwhile. A
        // slice of a merge at a time, paced by the rows this call indexed
        // (see `runs::advance`).
        let merged = match flushed {
            Some(Err(e)) => Err(e),
            Some(Ok(())) => advance(&mut conn, &self.inner.pending, Some(ids.len())),
            None if merging => advance(&mut conn, &self.inner.pending, Some(ids.len())),
            None => Ok(()),
        };
        if let Err(e) = merged {
            tracing::warn!(error = %e, "cannot write the near-duplicate index keys; will retry");
        }
        self.inner.trimmed.fetch_max(applied, Ordering::Relaxed);
        // Full means a nudge is already pending, which is all we need.
        let _ = self.inner.wrote.try_send(());
        if let Some(indexed) = &self.inner.indexed {
            let _ = indexed.try_send(());
        }
        Ok(())
    }

    /// Every record, ordered by feed and id (for tests and tools).
    pub fn count_records(&self) -> Result<u64, StoreError> {
        let conn = lock(&self.inner.reader);
        conn.query_row("SELECT COUNT(*) FROM records", [], |row| row.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| db_err("cannot count records", e))
    }

    fn load_all_blocking(&self) -> Result<Vec<FeedState>, StoreError> {
        let conn = lock(&self.inner.reader);
        let mut stmt = conn
            .prepare_cached("SELECT state FROM feed_state ORDER BY feed")
            .map_err(|e| db_err("cannot read feed state", e))?;
        let rows =
            stmt.query_map([], |row| row.get::<_, String>(0)).map_err(|e| db_err("cannot read feed state", e))?;
        let mut out = Vec::new();
        for row in rows {
            let text = row.map_err(|e| db_err("cannot read feed state", e))?;
            out.push(serde_json::from_str(&text).map_err(|e| json_err("corrupt feed state", e))?);
        }
        Ok(out)
    }

    fn commit_positions_blocking(&self, positions: &[(String, String)]) -> Result<(), StoreError> {
        let mut conn = lock(&self.inner.writer);
        let tx = conn.transaction().map_err(|e| db_err("cannot begin transaction", e))?;
        positions_in(&tx, positions)?;
        tx.commit().map_err(|e| db_err("cannot commit sink positions", e))
    }

    fn positions_blocking(&self) -> Result<HashMap<String, String>, StoreError> {
        let conn = lock(&self.inner.reader);
        let mut stmt = conn
            .prepare_cached("SELECT sink, position FROM sink_positions")
            .map_err(|e| db_err("cannot read sink positions", e))?;
        let rows = stmt
            .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))
            .map_err(|e| db_err("cannot read sink positions", e))?;
        rows.collect::<rusqlite::Result<_>>().map_err(|e| db_err("cannot read sink positions", e))
    }

    fn known_hashes_blocking(&self, ids: &[String]) -> Result<HashMap<String, String>, StoreError> {
        let conn = lock(&self.inner.reader);
        let mut stmt = conn
            .prepare_cached("SELECT content_hash FROM item_state WHERE id = ?1")
            .map_err(|e| db_err("cannot read item state", e))?;
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            let hash: Option<String> =
                stmt.query_row([id], |row| row.get(0)).optional().map_err(|e| db_err("cannot read item state", e))?;
            if let Some(hash) = hash {
                out.insert(id.clone(), hash);
            }
        }
        Ok(out)
    }

    /// A free lookup connection, or the first one when all are busy.
    fn lookup_connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.inner.lookups.iter().find_map(|c| c.try_lock().ok()).unwrap_or_else(|| lock(&self.inner.lookups[0]))
    }

    /// The state of one feed, if known.
    pub fn feed_state(&self, feed: &str) -> Result<Option<FeedState>, StoreError> {
        let conn = lock(&self.inner.reader);
        let text: Option<String> = conn
            .query_row("SELECT state FROM feed_state WHERE feed = ?1", [feed], |row| row.get(0))
            .optional()
            .map_err(|e| db_err("cannot read feed state", e))?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| json_err("corrupt feed state", e))).transpose()
    }
}

fn commit_in(
    tx: &rusqlite::Transaction<'_>,
    cp: &Checkpoint,
    keyed: i64,
    gone: &[i64],
    changes: &mut Vec<PendingChange>,
) -> Result<(), StoreError> {
    let state = serde_json::to_string(&cp.state).map_err(|e| json_err("feed state", e))?;
    tx.prepare_cached(
        "INSERT INTO feed_state (feed, state) VALUES (?1, ?2) ON CONFLICT(feed) DO UPDATE SET state = excluded.state",
    )
    .and_then(|mut s| s.execute(params![cp.state.feed, state]))
    .map_err(|e| db_err(&format!("cannot write state of feed {}", cp.state.feed), e))?;
    let mut mark = tx
        .prepare_cached(
            "INSERT INTO item_state (id, feed, content_hash) VALUES (?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET feed = excluded.feed, content_hash = excluded.content_hash",
        )
        .map_err(|e| db_err("cannot prepare item state", e))?;
    for item in &cp.items {
        mark.execute(params![item.id, cp.state.feed, item.content_hash])
            .map_err(|e| db_err("cannot write item state", e))?;
    }
    positions_in(tx, &cp.positions)?;
    if !cp.fingerprints.is_empty() {
        index_in(tx, &cp.fingerprints, keyed, gone, changes)?;
    }
    if let Some(sketch) = &cp.sketch {
        sketch_in(tx, &cp.state.feed, sketch)?;
    }
    Ok(())
}

/// Write sink positions inside `tx`.
fn positions_in(tx: &rusqlite::Transaction<'_>, positions: &[(String, String)]) -> Result<(), StoreError> {
    for (sink, position) in positions {
        tx.prepare_cached(
            "INSERT INTO sink_positions (sink, position) VALUES (?1, ?2)
             ON CONFLICT(sink) DO UPDATE SET position = excluded.position",
        )
        .and_then(|mut s| s.execute(params![sink, position]))
        .map_err(|e| db_err("cannot write a sink position", e))?;
    }
    Ok(())
}

impl StateStore for SqliteStore {
    fn load_all(&self) -> BoxFuture<'_, Result<Vec<FeedState>, StoreError>> {
        let me = self.clone();
        Box::pin(blocking(move || me.load_all_blocking()))
    }

    fn known_hashes<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<HashMap<String, String>, StoreError>> {
        let me = self.clone();
        let ids = ids.to_vec();
        Box::pin(blocking(move || me.known_hashes_blocking(&ids)))
    }

    fn commit<'a>(&'a self, checkpoint: &'a Checkpoint) -> BoxFuture<'a, Result<(), StoreError>> {
        let me = self.clone();
        let cp = checkpoint.clone();
        Box::pin(blocking(move || me.write_blocking(&[], Some(&cp))))
    }

    fn positions(&self) -> BoxFuture<'_, Result<HashMap<String, String>, StoreError>> {
        let me = self.clone();
        Box::pin(blocking(move || me.positions_blocking()))
    }

    fn commit_positions<'a>(&'a self, positions: &'a [(String, String)]) -> BoxFuture<'a, Result<(), StoreError>> {
        let me = self.clone();
        let positions = positions.to_vec();
        Box::pin(blocking(move || me.commit_positions_blocking(&positions)))
    }

    fn find_similar<'a>(
        &'a self,
        items: &'a [(String, Fingerprint)],
        since: chrono::DateTime<chrono::Utc>,
        threshold: f64,
    ) -> BoxFuture<'a, Result<Vec<Option<Match>>, StoreError>> {
        let me = self.clone();
        let items = items.to_vec();
        Box::pin(blocking(move || {
            // On a lookup connection, in one read transaction, beside the
            // writer and the other lookups. The held keys and the rows
            // they belong to must agree: the snapshot is taken under the
            // held keys' lock (a commit changes both under it), and the
            // held keys of this lookup copied then.
            let mut conn = me.lookup_connection();
            let tx = conn.transaction().map_err(|e| db_err("cannot begin transaction", e))?;
            let held = {
                let pending = lock(&me.inner.pending);
                // Both files' snapshots: a read of each starts it.
                tx.query_row("SELECT keyed FROM main.index_keyed", [], |r| r.get::<_, i64>(0))
                    .and_then(|_| tx.query_row("SELECT count(*) FROM runs.lsh_runs", [], |r| r.get::<_, i64>(0)))
                    .map_err(|e| db_err("cannot read the index", e))?;
                let mut keys: Vec<i64> = items.iter().flat_map(|(_, fp)| fp.keys()).collect();
                keys.sort_unstable();
                keys.dedup();
                pending.subset(&keys)
            };
            let found = find_similar_in(&tx, &held, &items, since.timestamp(), threshold)?;
            tx.commit().map_err(|e| db_err("cannot end the lookup", e))?;
            Ok(found)
        }))
    }

    fn feed_sketch<'a>(&'a self, feed: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let me = self.clone();
        let feed = feed.to_string();
        Box::pin(blocking(move || {
            let conn = lock(&me.inner.reader);
            conn.query_row("SELECT sketch FROM feed_sketches WHERE feed = ?1", [&feed], |r| r.get(0))
                .optional()
                .map_err(|e| db_err("cannot read the shingle counts", e))
        }))
    }

    fn prune_index(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> BoxFuture<'_, Result<u64, StoreError>> {
        let me = self.clone();
        Box::pin(blocking(move || {
            let mut conn = lock(&me.inner.writer);
            let mut pending = lock(&me.inner.pending);
            prune_in(&mut conn, &mut pending, before.timestamp(), limit)
        }))
    }
}

#[cfg(test)]
mod tests {
    use newswire_core::sink::{Sink, SinkBatch};

    use super::super::sink::SqliteSink;
    use super::super::tests::{checkpoint, record};
    use super::*;

    #[tokio::test]
    async fn writes_records_and_checkpoint_together_and_upserts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("sub/n.db")).expect("opens");
        let mut sink = SqliteSink::new(store.clone(), true);
        let a = record("a", "one");
        let b = record("b", "two");
        sink.write(&SinkBatch { records: vec![a.clone(), b.clone()], checkpoint: checkpoint(&[&a, &b]) })
            .await
            .expect("write");
        // The same batch again duplicates nothing.
        sink.write(&SinkBatch { records: vec![a.clone(), b.clone()], checkpoint: checkpoint(&[&a, &b]) })
            .await
            .expect("rewrite");
        assert_eq!(store.count_records().expect("count"), 2);
        // A changed body updates in place and bumps the version.
        let a2 = record("a", "one, revised");
        sink.write(&SinkBatch { records: vec![a2.clone()], checkpoint: checkpoint(&[&a2]) }).await.expect("update");
        assert_eq!(store.count_records().expect("count"), 2);
        let (body, version): (String, i64) = lock(&store.inner.reader)
            .query_row("SELECT body, version FROM records WHERE id = 'a'", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("row");
        assert_eq!((body.as_str(), version), ("one, revised", 2));
        let known = store.known_hashes(&["a".into(), "b".into(), "zzz".into()]).await.expect("known");
        assert_eq!(known.len(), 2);
        assert_eq!(known["a"], a2.content_hash);
        let states = store.load_all().await.expect("states");
        assert_eq!(states.len(), 1);
        assert_eq!(states[0].etag.as_deref(), Some("\"e1\""));
    }

    #[test]
    fn memory_used_counts_an_open_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("memory.db")).expect("opens");
        // The schema and the prepared statements of three connections are in
        // SQLite's heap, whatever other tests run beside this one.
        assert!(memory_used() > 64 * 1024, "{}", memory_used());
        drop(store);
    }
}
