//! The SQLite store: records and feed state in one database.
//!
//! One writer connection behind a mutex (SQLite allows one writer at a time
//! anyway) and a separate reader connection for lookups, so reads from the
//! pipeline never wait behind a long write transaction (WAL mode lets them
//! run side by side).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use newswire_core::Record;
use newswire_core::fingerprint::Fingerprint;
use newswire_core::sink::{BoxFuture, Sink, SinkBatch, StateStore, StoreError};
use newswire_core::state::{Checkpoint, FeedState, Indexed, Match};

use crate::index;
use rusqlite::{Connection, OptionalExtension, params};
use smallvec::SmallVec;

const NAME: &str = "sqlite";

/// The WAL size past which the checkpointer empties it (see
/// [`checkpointer`]).
const WAL_LIMIT: u64 = 256 * 1024 * 1024;

/// Schema, applied at open. Versioned through `PRAGMA user_version`.
const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS records (
    id            TEXT PRIMARY KEY,
    schema        INTEGER NOT NULL,
    feed          TEXT NOT NULL,
    feed_url      TEXT NOT NULL,
    guid          TEXT,
    url           TEXT,
    title         TEXT,
    authors       TEXT NOT NULL,
    published_at  TEXT,
    updated_at    TEXT,
    fetched_at    TEXT NOT NULL,
    language      TEXT,
    summary       TEXT,
    body          TEXT NOT NULL,
    word_count    INTEGER NOT NULL,
    categories    TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    source        TEXT NOT NULL,
    embeds        TEXT NOT NULL,
    removed       TEXT NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS records_feed_published ON records(feed, published_at);
CREATE INDEX IF NOT EXISTS records_content_hash ON records(content_hash);

CREATE TABLE IF NOT EXISTS feed_state (
    feed   TEXT PRIMARY KEY,
    state  TEXT NOT NULL
);

-- Where each append-only sink (JSONL) stood at the last commit.
CREATE TABLE IF NOT EXISTS sink_positions (
    sink      TEXT PRIMARY KEY,
    position  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS item_state (
    id            TEXT PRIMARY KEY,
    feed          TEXT NOT NULL,
    content_hash  TEXT NOT NULL
);

"#;

/// The near-duplicate index (see [`crate::index`]): each record's
/// fingerprint and story, and its keys. `at` is when the record was indexed,
/// in Unix seconds.
///
/// `lsh` names records by `rid`, the integer row id of their `fingerprints`
/// row, not by their 32-character id: a key entry is three integers (about
/// 15 bytes on disk instead of 50), so a lookup's range scans touch a third
/// of the pages and ranking hashes integers. Invariant: every `lsh` entry
/// (key, at, rid) belongs to the live `fingerprints` row `rid` indexed at
/// `at`; entries are added and removed (from the stored fingerprint's keys)
/// in the transaction that writes or deletes that row; row ids only grow
/// (AUTOINCREMENT), and a record indexed again gets a new row.
///
/// Keys reach `lsh` in bulk, not with each batch: `index_keyed` holds the
/// highest row id whose keys are in `lsh`; the keys of the rows above it
/// (at most [`FLUSH_ROWS`] records) are held in memory ([`Pending`]) and
/// written, sorted, in one transaction once there are enough of them, or
/// when the sink closes. A batch's keys land on random pages of `lsh`, so
/// writing them with each batch dirtied about one page per key (40 pages,
/// 160 KB of WAL, per record: the store stage's largest cost); in bulk,
/// each page is written once for all the keys it receives. Nothing is lost
/// to a crash: the fingerprints are committed with their batch, and the
/// keys of the rows above `index_keyed` are derived from them again on open.
const INDEX_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS fingerprints (
    rid      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    sig      BLOB NOT NULL,
    cluster  TEXT,
    at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fingerprints_at ON fingerprints(at);
CREATE TABLE IF NOT EXISTS lsh (
    key  INTEGER NOT NULL,
    at   INTEGER NOT NULL,
    rid  INTEGER NOT NULL,
    PRIMARY KEY (key, at, rid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS index_keyed (keyed INTEGER NOT NULL);
-- Without the table, every row's keys are in lsh (a new or converted index).
INSERT INTO index_keyed (keyed)
    SELECT coalesce(max(rid), 0) FROM fingerprints WHERE NOT EXISTS (SELECT 1 FROM index_keyed);
"#;

/// Records whose keys are held in memory before they are written to `lsh`
/// in one transaction (see [`INDEX_SCHEMA`]): about 160,000 keys, some
/// 15 MB of tables that are kept from one flush to the next.
const FLUSH_ROWS: usize = 4096;

/// `PRAGMA user_version` of the current schema: 3 keyed `lsh` by text ids,
/// 4 by `fingerprints` row ids.
const SCHEMA_VERSION: i64 = 4;

/// Rewrite an index of the second format (`lsh` keyed (key, at, id) with
/// text ids) into the current one, keeping every entry. One transaction.
const INDEX_FROM_TEXT_IDS: &str = r#"
DROP INDEX IF EXISTS fingerprints_at;
ALTER TABLE fingerprints RENAME TO fingerprints_v3;
ALTER TABLE lsh RENAME TO lsh_v3;
CREATE TABLE fingerprints (
    rid      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    sig      BLOB NOT NULL,
    cluster  TEXT,
    at       INTEGER NOT NULL
);
CREATE INDEX fingerprints_at ON fingerprints(at);
CREATE TABLE lsh (
    key  INTEGER NOT NULL,
    at   INTEGER NOT NULL,
    rid  INTEGER NOT NULL,
    PRIMARY KEY (key, at, rid)
) WITHOUT ROWID;
INSERT INTO fingerprints (id, sig, cluster, at) SELECT id, sig, cluster, at FROM fingerprints_v3 ORDER BY at;
INSERT INTO lsh (key, at, rid) SELECT l.key, l.at, f.rid FROM lsh_v3 l JOIN fingerprints f ON f.id = l.id;
DROP TABLE lsh_v3;
DROP TABLE fingerprints_v3;
"#;

/// The keys of the `fingerprints` rows above `keyed`, not yet in `lsh`
/// (see [`INDEX_SCHEMA`]). Changed only under the writer's lock, after the
/// transaction it mirrors has committed.
///
/// Its tables keep their capacity across flushes: refilled every few
/// thousand records, they were freed and grown again each time, and that
/// churn of some 20 MB (a table of 160,000 keys, a list per key) let
/// resident memory step up at each flush in a soak (docs/reliability.md).
/// Most keys belong to one held record, so a key's list is inline until a
/// second record shares it.
#[derive(Debug, Default)]
struct Pending {
    /// Rows above this row id have their keys here, not in `lsh`.
    keyed: i64,
    /// key → (at, rid) of those rows.
    by_key: HashMap<i64, SmallVec<[(i64, i64); 1]>>,
    /// rid → (at, keys) of those rows.
    rows: HashMap<i64, (i64, Vec<i64>)>,
    /// The sorted (key, at, rid) rows of a flush, kept for the next.
    flushing: Vec<(i64, i64, i64)>,
}

/// A change to [`Pending`], applied once its transaction has committed.
enum PendingChange {
    Add { rid: i64, at: i64, keys: Vec<i64> },
    Drop { rid: i64 },
}

impl Pending {
    /// The state of the index in `conn`: the watermark, and the keys of the
    /// rows above it, derived from their fingerprints.
    fn load(conn: &Connection) -> rusqlite::Result<Pending> {
        let keyed: i64 = conn.query_row("SELECT keyed FROM index_keyed", [], |r| r.get(0))?;
        let mut pending = Pending { keyed, ..Pending::default() };
        let mut stmt = conn.prepare("SELECT rid, sig, at FROM fingerprints WHERE rid > ?1")?;
        let rows =
            stmt.query_map([keyed], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?)))?;
        for row in rows {
            let (rid, sig, at) = row?;
            // A fingerprint of another format has no keys.
            let keys = Fingerprint::from_bytes(&sig).map(|f| f.keys()).unwrap_or_default();
            pending.apply(PendingChange::Add { rid, at, keys });
        }
        Ok(pending)
    }

    fn apply(&mut self, change: PendingChange) {
        match change {
            PendingChange::Add { rid, at, keys } => {
                for &key in &keys {
                    self.by_key.entry(key).or_default().push((at, rid));
                }
                self.rows.insert(rid, (at, keys));
            }
            PendingChange::Drop { rid } => {
                let Some((_, keys)) = self.rows.remove(&rid) else { return };
                for key in keys {
                    if let Some(list) = self.by_key.get_mut(&key) {
                        list.retain(|&mut (_, r)| r != rid);
                        if list.is_empty() {
                            self.by_key.remove(&key);
                        }
                    }
                }
            }
        }
    }

    fn keys(&self) -> usize {
        self.rows.values().map(|(_, keys)| keys.len()).sum()
    }

    /// Write every held key to `lsh`, sorted, and move the watermark past
    /// them, in one transaction; then hold none.
    fn flush(&mut self, conn: &mut Connection) -> Result<(), StoreError> {
        let Some(&top) = self.rows.keys().max() else { return Ok(()) };
        let mut entries = std::mem::take(&mut self.flushing);
        entries.clear();
        for (&rid, (at, keys)) in &self.rows {
            entries.extend(keys.iter().map(|&key| (key, *at, rid)));
        }
        entries.sort_unstable();
        let written = write_keys(conn, &entries, top);
        self.flushing = entries;
        written?;
        self.keyed = top;
        self.by_key.clear();
        self.rows.clear();
        Ok(())
    }
}

/// Writes held index rows to `lsh` and moves the watermark to `top`, in one
/// transaction.
fn write_keys(conn: &mut Connection, entries: &[(i64, i64, i64)], top: i64) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(|e| db_err("cannot begin transaction", e))?;
    {
        let mut band = tx
            .prepare_cached("INSERT OR IGNORE INTO lsh (key, at, rid) VALUES (?1, ?2, ?3)")
            .map_err(|e| db_err("cannot prepare the index", e))?;
        for &(key, at, rid) in entries {
            band.execute(params![key, at, rid]).map_err(|e| db_err("cannot write the index", e))?;
        }
    }
    tx.execute("UPDATE index_keyed SET keyed = ?1", [top]).map_err(|e| db_err("cannot write the index", e))?;
    tx.commit().map_err(|e| db_err("cannot commit the index", e))
}

/// Columns added after the first schema: (column, definition).
const ADDED_RECORD_COLUMNS: &[(&str, &str)] = &[("cluster", "TEXT"), ("similarity", "REAL")];

/// Bring a database made by an earlier version up to date: add the record
/// columns it lacks, replace a near-duplicate index of the first format
/// (MinHash bands keyed (key, id), whose entries could only be removed by a
/// scan), and rewrite one of the second (text ids in `lsh`) with row ids.
/// Idempotent.
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version < 3 {
        // Its fingerprints are unreadable by this version: records keep their
        // `cluster`, new ones are compared with the records indexed from now.
        conn.execute_batch("DROP TABLE IF EXISTS lsh; DROP TABLE IF EXISTS fingerprints;")?;
    } else if version == 3 {
        // Same fingerprints, other key table: converted, nothing lost.
        let tx = conn.transaction()?;
        tx.execute_batch(INDEX_FROM_TEXT_IDS)?;
        tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))?;
        tx.commit()?;
    }
    conn.execute_batch(INDEX_SCHEMA)?;
    let mut have = Vec::new();
    {
        let mut stmt = conn.prepare("PRAGMA table_info(records)")?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(1))?;
        for row in rows {
            have.push(row?);
        }
    }
    for (column, definition) in ADDED_RECORD_COLUMNS {
        if !have.iter().any(|c| c == column) {
            conn.execute_batch(&format!("ALTER TABLE records ADD COLUMN {column} {definition};"))?;
        }
    }
    conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};"))
}

fn db_err(context: &str, e: rusqlite::Error) -> StoreError {
    let retryable = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked | rusqlite::ErrorCode::DiskFull)
    );
    StoreError { sink: NAME.into(), message: format!("{context}: {e}"), retryable }
}

fn json_err(context: &str, e: serde_json::Error) -> StoreError {
    StoreError::fatal(NAME, format!("{context}: {e}"))
}

/// A story seen more than once: its first record and the copies.
#[derive(Debug, Clone, PartialEq)]
pub struct Story {
    /// The first record's id (the copies' `cluster`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its feed.
    pub feed: String,
    /// Its url.
    pub url: String,
    /// The copies, oldest first.
    pub copies: Vec<Copy>,
}

/// One copy of a story.
#[derive(Debug, Clone, PartialEq)]
pub struct Copy {
    /// Its feed.
    pub feed: String,
    /// Its url.
    pub url: String,
    /// Its title.
    pub title: String,
    /// How similar to the story's first record.
    pub similarity: f64,
}

/// The SQLite database: the state store, and the sink behind [`SqliteSink`].
/// A cheap handle: clones share the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Index keys not yet in `lsh`. Locked after `writer`, never alone.
    pending: Mutex<Pending>,
    reader: Mutex<Connection>,
    /// Nudges the checkpointer after each commit. Dropping it (with the
    /// store) ends the checkpointer thread.
    wrote: std::sync::mpsc::SyncSender<()>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.path).finish()
    }
}

/// Bytes SQLite holds now, in every connection of the process: page caches,
/// prepared statements, schema. The page caches are bounded by the
/// `cache_size` of each connection (32 + 8 + 1 MiB per store), so this rises
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
/// resident memory), so the sum, 41 MiB, is part of the memory bound.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
const READER_CACHE_KIB: i64 = 8 * 1024;
const CHECKPOINTER_CACHE_KIB: i64 = 1024;

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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves the connection usable: SQLite
    // rolls back the open transaction when the Transaction guard drops.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
        migrate(&mut writer).map_err(|e| db_err(&format!("cannot migrate {}", path.display()), e))?;
        let reader = open_conn(path, READER_CACHE_KIB)?;
        let checkpoints = open_conn(path, CHECKPOINTER_CACHE_KIB)?;
        let (wrote, nudges) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn({
                let mut wal = path.as_os_str().to_owned();
                wal.push("-wal");
                let wal = PathBuf::from(wal);
                move || checkpointer(checkpoints, wal, nudges)
            })
            .map_err(|e| StoreError::fatal(NAME, format!("cannot start the checkpoint thread: {e}")))?;
        let pending =
            Pending::load(&writer).map_err(|e| db_err(&format!("cannot read the index in {}", path.display()), e))?;
        let inner = Inner {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            pending: Mutex::new(pending),
            reader: Mutex::new(reader),
            wrote,
        };
        Ok(SqliteStore { inner: Arc::new(inner) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Write records and (optionally) a checkpoint in one transaction.
    pub fn write_blocking(&self, records: &[Record], checkpoint: Option<&Checkpoint>) -> Result<(), StoreError> {
        let mut conn = lock(&self.inner.writer);
        let mut pending = lock(&self.inner.pending);
        let mut changes = Vec::new();
        let tx = conn.transaction().map_err(|e| db_err("cannot begin transaction", e))?;
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
            for r in records {
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
        if let Some(cp) = checkpoint {
            commit_in(&tx, cp, pending.keyed, &mut changes)?;
        }
        tx.commit().map_err(|e| db_err("cannot commit", e))?;
        for change in changes {
            pending.apply(change);
        }
        if pending.rows.len() >= FLUSH_ROWS {
            // The batch is committed; its keys stay held until a flush
            // succeeds (derived again from the fingerprints after a crash).
            if let Err(e) = pending.flush(&mut conn) {
                tracing::warn!(error = %e, "cannot write the near-duplicate index keys; will retry");
            }
        }
        // Full means a nudge is already pending, which is all we need.
        let _ = self.inner.wrote.try_send(());
        Ok(())
    }

    /// Rows of the near-duplicate index: (fingerprints, keys), for tests and
    /// tools.
    pub fn index_size(&self) -> Result<(u64, u64), StoreError> {
        let conn = lock(&self.inner.reader);
        let count = |table: &str| {
            conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(|e| db_err("cannot count the index", e))
        };
        let held = lock(&self.inner.pending).keys() as u64;
        Ok((count("fingerprints")?, count("lsh")? + held))
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

    /// Stories with copies: each record that others name as their cluster,
    /// with those copies fetched since `since` (RFC 3339; "" for all).
    pub fn clusters(&self, since: &str) -> Result<Vec<Story>, StoreError> {
        let conn = lock(&self.inner.reader);
        let mut stmt = conn
            .prepare(
                "SELECT c.cluster, coalesce(r.title, ''), coalesce(r.feed, ''), coalesce(r.url, ''),
                        c.feed, coalesce(c.url, ''), coalesce(c.title, ''), coalesce(c.similarity, 0)
                 FROM records c LEFT JOIN records r ON r.id = c.cluster
                 WHERE c.cluster IS NOT NULL AND c.fetched_at >= ?1
                 ORDER BY c.cluster, c.fetched_at",
            )
            .map_err(|e| db_err("cannot read clusters", e))?;
        let rows = stmt
            .query_map([since], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    Copy { feed: r.get(4)?, url: r.get(5)?, title: r.get(6)?, similarity: r.get(7)? },
                ))
            })
            .map_err(|e| db_err("cannot read clusters", e))?;
        let mut out: Vec<Story> = Vec::new();
        for row in rows {
            let (id, title, feed, url, copy) = row.map_err(|e| db_err("cannot read clusters", e))?;
            match out.last_mut() {
                Some(story) if story.id == id => story.copies.push(copy),
                _ => out.push(Story { id, title, feed, url, copies: vec![copy] }),
            }
        }
        Ok(out)
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

/// Runs PASSIVE checkpoints on its own connection, at most every 250 ms
/// while writes come in and once a second otherwise. A PASSIVE checkpoint
/// copies what it can without blocking the writer; when it catches up the
/// writer starts the WAL over from the beginning, so the WAL stays bounded.
/// Ends when the store (holding the sender) is dropped.
///
/// Under sustained writes (a large backfill: the near-duplicate index's
/// keys land on random pages) PASSIVE checkpoints fall behind and the WAL
/// would grow without bound; past [`WAL_LIMIT`] a TRUNCATE checkpoint runs
/// instead, which makes the writer wait (on its busy timeout) while it
/// copies the WAL back and empties it.
fn checkpointer(conn: Connection, wal: PathBuf, nudges: std::sync::mpsc::Receiver<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    use std::time::{Duration, Instant};
    let mut last = Instant::now();
    loop {
        match nudges.recv_timeout(Duration::from_secs(1)) {
            Ok(()) if last.elapsed() < Duration::from_millis(250) => continue,
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let full = std::fs::metadata(&wal).is_ok_and(|m| m.len() > WAL_LIMIT);
        let pragma = if full { "PRAGMA wal_checkpoint(TRUNCATE)" } else { "PRAGMA wal_checkpoint(PASSIVE)" };
        if let Err(e) = conn.query_row(pragma, [], |_| Ok(())) {
            tracing::warn!(error = %e, "sqlite checkpoint failed");
        }
        last = Instant::now();
    }
    // A last full checkpoint folds the WAL back so the file stands alone.
    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
}

fn commit_in(
    tx: &rusqlite::Transaction<'_>,
    cp: &Checkpoint,
    keyed: i64,
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
        index_in(tx, &cp.fingerprints, keyed, changes)?;
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

/// Add (or replace) index entries inside `tx`; their keys are held in
/// [`Pending`] (`changes`, applied once `tx` commits). A record indexed
/// before has its old row and keys removed first and gets a new row.
fn index_in(
    tx: &rusqlite::Transaction<'_>,
    entries: &[Indexed],
    keyed: i64,
    changes: &mut Vec<PendingChange>,
) -> Result<(), StoreError> {
    let mut previous = tx
        .prepare_cached("SELECT rid, sig, at FROM fingerprints WHERE id = ?1")
        .map_err(|e| db_err("cannot prepare the index", e))?;
    let mut delete = tx
        .prepare_cached("DELETE FROM fingerprints WHERE rid = ?1")
        .map_err(|e| db_err("cannot prepare the index", e))?;
    let mut insert = tx
        .prepare_cached("INSERT INTO fingerprints (id, sig, cluster, at) VALUES (?1, ?2, ?3, ?4)")
        .map_err(|e| db_err("cannot prepare the index", e))?;
    for entry in entries {
        let old: Option<(i64, Vec<u8>, i64)> = previous
            .query_row([&entry.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(|e| db_err("cannot read the index", e))?;
        if let Some((rid, sig, at)) = old {
            forget(tx, rid, &sig, at, keyed, changes)?;
            delete.execute([rid]).map_err(|e| db_err("cannot write a fingerprint", e))?;
        }
        let at = entry.at.timestamp();
        insert
            .execute(params![entry.id, entry.fingerprint.to_bytes(), entry.cluster, at])
            .map_err(|e| db_err("cannot write a fingerprint", e))?;
        changes.push(PendingChange::Add { rid: tx.last_insert_rowid(), at, keys: entry.fingerprint.keys() });
    }
    Ok(())
}

/// Remove one record's keys (those of its stored fingerprint `sig`,
/// indexed at `at`, row id `rid`): held ones from [`Pending`], through
/// `changes`; those in `lsh` by primary key. A held row's keys are looked
/// for in `lsh` too (none by the invariant, but a hand-edited index can
/// hold them, and a delete that finds nothing is cheap): removal is never
/// left to the invariant.
fn forget(
    tx: &rusqlite::Transaction<'_>,
    rid: i64,
    sig: &[u8],
    at: i64,
    keyed: i64,
    changes: &mut Vec<PendingChange>,
) -> Result<(), StoreError> {
    if rid > keyed {
        changes.push(PendingChange::Drop { rid });
    }
    // A fingerprint of another format has no keys in this index (the
    // migration dropped them with it).
    let Some(old) = Fingerprint::from_bytes(sig) else { return Ok(()) };
    let mut delete = tx
        .prepare_cached("DELETE FROM lsh WHERE key = ?1 AND at = ?2 AND rid = ?3")
        .map_err(|e| db_err("cannot prepare the index", e))?;
    for key in old.keys() {
        delete.execute(params![key, at, rid]).map_err(|e| db_err("cannot update the index", e))?;
    }
    Ok(())
}

/// The near-duplicate lookup: candidates share a
/// key (two when the record has enough, see [`index::min_shared`]) and were
/// indexed since `since`; the most similar one at or above `threshold` wins
/// (see [`crate::index`]). Each distinct key of the batch is read once:
/// copies of one story in a batch, and common phrases, share keys.
fn find_similar_in(
    conn: &Connection,
    pending: &Pending,
    items: &[(String, Fingerprint)],
    since: i64,
    threshold: f64,
) -> Result<Vec<Option<Match>>, StoreError> {
    let mut by_key = conn
        .prepare_cached("SELECT at, rid FROM lsh WHERE key = ?1 AND at >= ?2 ORDER BY at DESC LIMIT ?3")
        .map_err(|e| db_err("cannot read the index", e))?;
    let mut own = conn
        .prepare_cached("SELECT rid FROM fingerprints WHERE id = ?1")
        .map_err(|e| db_err("cannot read the index", e))?;
    let mut fingerprint = conn
        .prepare_cached("SELECT id, sig, cluster FROM fingerprints WHERE rid = ?1")
        .map_err(|e| db_err("cannot read the index", e))?;
    let mut read: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut out = Vec::with_capacity(items.len());
    for (id, fp) in items {
        let keys = fp.keys();
        let mut hits: Vec<i64> = Vec::new();
        for &key in &keys {
            if let Some(rids) = read.get(&key) {
                hits.extend_from_slice(rids);
                continue;
            }
            let rows = by_key
                .query_map(params![key, since, index::PER_KEY], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
                .map_err(|e| db_err("cannot read the index", e))?;
            let mut newest =
                rows.collect::<Result<Vec<(i64, i64)>, _>>().map_err(|e| db_err("cannot read the index", e))?;
            // With the held keys: the newest PER_KEY of both, within the window.
            if let Some(held) = pending.by_key.get(&key) {
                newest.extend(held.iter().filter(|(at, _)| *at >= since));
                newest.sort_unstable_by(|a, b| b.cmp(a));
                newest.truncate(usize::try_from(index::PER_KEY).unwrap_or(usize::MAX));
            }
            let rids: Vec<i64> = newest.into_iter().map(|(_, rid)| rid).collect();
            hits.extend_from_slice(&rids);
            read.insert(key, rids);
        }
        if hits.is_empty() {
            out.push(None);
            continue;
        }
        // The record itself, when it is indexed already (its text changed).
        let own_rid: Option<i64> =
            own.query_row([id], |r| r.get(0)).optional().map_err(|e| db_err("cannot read the index", e))?;
        let mut candidates: Vec<(String, Vec<u8>, Option<String>)> = Vec::new();
        for rid in index::rank(hits, own_rid.as_ref(), keys.len()) {
            let found: Option<(String, Vec<u8>, Option<String>)> = fingerprint
                .query_row([rid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
                .map_err(|e| db_err("cannot read the index", e))?;
            candidates.extend(found);
        }
        let candidates = candidates.iter().map(|(id, sig, cluster)| (id.as_str(), sig.as_slice(), cluster.as_deref()));
        out.push(index::best(fp, candidates, threshold));
    }
    Ok(out)
}

/// Remove up to `limit` index entries indexed before `before` (Unix
/// seconds), oldest first, in one transaction; returns how many.
fn prune_in(conn: &mut Connection, pending: &mut Pending, before: i64, limit: usize) -> Result<u64, StoreError> {
    let mut changes = Vec::new();
    let tx = conn.transaction().map_err(|e| db_err("cannot begin transaction", e))?;
    let old: Vec<(i64, Vec<u8>, i64)> = {
        let mut stmt = tx
            .prepare_cached("SELECT rid, sig, at FROM fingerprints WHERE at < ?1 ORDER BY at LIMIT ?2")
            .map_err(|e| db_err("cannot read the index", e))?;
        let rows = stmt
            .query_map(params![before, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| db_err("cannot read the index", e))?;
        rows.collect::<Result<_, _>>().map_err(|e| db_err("cannot read the index", e))?
    };
    {
        let mut delete = tx
            .prepare_cached("DELETE FROM fingerprints WHERE rid = ?1")
            .map_err(|e| db_err("cannot prepare the index", e))?;
        for (rid, sig, at) in &old {
            forget(&tx, *rid, sig, *at, pending.keyed, &mut changes)?;
            delete.execute([rid]).map_err(|e| db_err("cannot prune the index", e))?;
        }
    }
    tx.commit().map_err(|e| db_err("cannot commit", e))?;
    for change in changes {
        pending.apply(change);
    }
    Ok(old.len() as u64)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| StoreError::fatal(NAME, format!("storage task failed: {e}")))?
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
            // On the writer's connection, in one read transaction. In WAL mode
            // a connection drops its whole page cache when it starts a read
            // transaction after another connection wrote, so the reader's
            // cache was gone at every statement after each batch's commit
            // and every index page was read from the file again (a quarter
            // of the store stage's time). The writer's cache survives its own
            // writes. Nothing waits on this: the store stage, which makes the
            // lookups, is also the only writer of the index.
            let mut conn = lock(&me.inner.writer);
            let pending = lock(&me.inner.pending);
            let tx = conn.transaction().map_err(|e| db_err("cannot begin transaction", e))?;
            let found = find_similar_in(&tx, &pending, &items, since.timestamp(), threshold)?;
            tx.commit().map_err(|e| db_err("cannot end the lookup", e))?;
            Ok(found)
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
            let mut conn = lock(&store.inner.writer);
            // The held index keys, so the file stands alone (they would be
            // derived again on open otherwise).
            lock(&store.inner.pending).flush(&mut conn)?;
            // Fold the WAL back into the database so the file stands alone.
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").map_err(|e| db_err("cannot checkpoint the WAL", e))
        }))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::Utc;
    use newswire_core::state::ItemMark;
    use newswire_core::{Source, record::SCHEMA_VERSION};

    pub(crate) fn record(id: &str, body: &str) -> Record {
        Record {
            schema: SCHEMA_VERSION,
            id: id.into(),
            feed: "f".into(),
            feed_url: "https://example.com/feed".into(),
            guid: Some(id.into()),
            url: Some(format!("https://example.com/{id}")),
            title: Some("T".into()),
            authors: vec!["A".into()],
            published_at: None,
            updated_at: None,
            fetched_at: Utc::now(),
            language: None,
            summary: None,
            body: body.into(),
            word_count: 1,
            categories: vec![],
            content_hash: newswire_core::id::content_hash(body),
            source: Source::Feed,
            embeds: vec![],
            removed: vec![],
            cluster: None,
            similarity: None,
            fingerprint: None,
        }
    }

    fn checkpoint(items: &[&Record]) -> Checkpoint {
        Checkpoint {
            state: FeedState { feed: "f".into(), etag: Some("\"e1\"".into()), ..FeedState::default() },
            items: items.iter().map(|r| ItemMark { id: r.id.clone(), content_hash: r.content_hash.clone() }).collect(),
            fingerprints: Vec::new(),
            positions: Vec::new(),
        }
    }

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
    fn an_index_of_the_first_format_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        Connection::open(&path)
            .expect("open")
            .execute_batch(
                "CREATE TABLE fingerprints (id TEXT PRIMARY KEY, sig BLOB NOT NULL, cluster TEXT, at INTEGER NOT NULL);
                 CREATE TABLE lsh (key INTEGER NOT NULL, id TEXT NOT NULL, at INTEGER NOT NULL,
                     PRIMARY KEY (key, id)) WITHOUT ROWID;
                 INSERT INTO fingerprints VALUES ('a', x'00', NULL, 0);
                 INSERT INTO lsh VALUES (1, 'a', 0);
                 PRAGMA user_version = 2;",
            )
            .expect("an index of the first format");
        let store = SqliteStore::open(&path).expect("opens and migrates");
        assert_eq!(store.index_size().expect("size"), (0, 0), "unreadable entries are gone");
        let columns: Vec<String> = {
            let conn = lock(&store.inner.reader);
            let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('lsh') ORDER BY pk").expect("prepare");
            stmt.query_map([], |r| r.get(0)).expect("query").map(|c| c.expect("column")).collect()
        };
        assert_eq!(columns, ["key", "at", "rid"]);
        drop(store);
        // Opening again keeps what the new index holds.
        let store = SqliteStore::open(&path).expect("opens again");
        let entry = Indexed {
            id: "b".into(),
            fingerprint: Fingerprint::of("one two three four five six seven eight nine ten eleven twelve")
                .expect("fingerprint"),
            cluster: None,
            at: Utc::now(),
        };
        let mut cp = checkpoint(&[]);
        cp.fingerprints = vec![entry];
        store.write_blocking(&[], Some(&cp)).expect("index");
        drop(store);
        let store = SqliteStore::open(&path).expect("opens a third time");
        assert_eq!(store.index_size().expect("size").0, 1);
    }

    #[tokio::test]
    async fn an_index_of_the_second_format_is_converted_to_row_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v3.db");
        let text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen";
        let fp = Fingerprint::of(text).expect("fingerprint");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(
                "CREATE TABLE fingerprints (id TEXT PRIMARY KEY, sig BLOB NOT NULL, cluster TEXT, at INTEGER NOT NULL);
                 CREATE INDEX fingerprints_at ON fingerprints(at);
                 CREATE TABLE lsh (key INTEGER NOT NULL, at INTEGER NOT NULL, id TEXT NOT NULL,
                     PRIMARY KEY (key, at, id)) WITHOUT ROWID;
                 PRAGMA user_version = 3;",
            )
            .expect("an index of the second format");
            let at = Utc::now().timestamp();
            conn.execute("INSERT INTO fingerprints VALUES ('a', ?1, 'story', ?2)", params![fp.to_bytes(), at])
                .expect("fingerprint");
            for key in fp.keys() {
                conn.execute("INSERT INTO lsh VALUES (?1, ?2, 'a')", params![key, at]).expect("key");
            }
        }
        let store = SqliteStore::open(&path).expect("opens and converts");
        assert_eq!(store.index_size().expect("size"), (1, fp.keys().len() as u64), "every entry kept");
        let found = store
            .find_similar(&[("b".to_string(), fp.clone())], Utc::now() - chrono::Duration::days(1), 0.5)
            .await
            .expect("lookup");
        assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("story"), "found through the converted keys");
        drop(store);
        let store = SqliteStore::open(&path).expect("opens again");
        assert_eq!(store.index_size().expect("size"), (1, fp.keys().len() as u64));
    }

    #[test]
    fn held_keys_shared_by_records_are_dropped_one_record_at_a_time() {
        let mut pending = Pending::default();
        pending.apply(PendingChange::Add { rid: 1, at: 10, keys: vec![100, 200] });
        pending.apply(PendingChange::Add { rid: 2, at: 20, keys: vec![200, 300] });
        pending.apply(PendingChange::Add { rid: 3, at: 30, keys: vec![200] });
        let under = |p: &Pending, key: i64| p.by_key.get(&key).map(|h| h.to_vec()).unwrap_or_default();
        assert_eq!(under(&pending, 200), vec![(10, 1), (20, 2), (30, 3)]);
        pending.apply(PendingChange::Drop { rid: 2 });
        assert_eq!(under(&pending, 200), vec![(10, 1), (30, 3)]);
        assert_eq!(under(&pending, 300), vec![], "its only record dropped, the key goes");
        assert_eq!(under(&pending, 100), vec![(10, 1)]);
        pending.apply(PendingChange::Drop { rid: 1 });
        pending.apply(PendingChange::Drop { rid: 3 });
        assert!(pending.by_key.is_empty() && pending.rows.is_empty());
        assert_eq!(pending.keys(), 0);
    }

    #[test]
    fn a_flush_writes_the_held_keys_and_keeps_the_tables_for_the_next() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("flush.db")).expect("opens");
        let mut conn = lock(&store.inner.writer);
        let mut pending = Pending::default();
        for rid in 1..=50 {
            pending.apply(PendingChange::Add { rid, at: rid * 10, keys: vec![rid, 1000 + rid % 7] });
        }
        pending.flush(&mut conn).expect("flush");
        let lsh: i64 = conn.query_row("SELECT COUNT(*) FROM lsh", [], |r| r.get(0)).expect("count");
        let keyed: i64 = conn.query_row("SELECT keyed FROM index_keyed", [], |r| r.get(0)).expect("keyed");
        assert_eq!((lsh, keyed, pending.keyed), (100, 50, 50));
        assert!(pending.by_key.is_empty() && pending.rows.is_empty());
        assert!(pending.by_key.capacity() >= 57 && pending.rows.capacity() >= 50, "capacity kept");
        assert!(pending.flushing.capacity() >= 100);
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

    #[tokio::test]
    async fn held_index_keys_survive_a_crash_and_reach_lsh_on_close() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("held.db");
        let text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen";
        let fp = Fingerprint::of(text).expect("fingerprint");
        let store = SqliteStore::open(&path).expect("opens");
        let mut cp = checkpoint(&[]);
        cp.fingerprints = vec![Indexed { id: "a".into(), fingerprint: fp.clone(), cluster: None, at: Utc::now() }];
        store.write_blocking(&[], Some(&cp)).expect("index");
        let in_lsh = |store: &SqliteStore| {
            lock(&store.inner.reader).query_row("SELECT COUNT(*) FROM lsh", [], |r| r.get::<_, i64>(0)).expect("count")
        };
        assert_eq!(in_lsh(&store), 0, "held, not written with the batch");
        assert_eq!(store.index_size().expect("size"), (1, fp.keys().len() as u64));
        // No close: the keys are derived again from the fingerprint on open.
        drop(store);
        let store = SqliteStore::open(&path).expect("opens again");
        let since = Utc::now() - chrono::Duration::days(1);
        let found = store.find_similar(&[("b".to_string(), fp.clone())], since, 0.5).await.expect("lookup");
        assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("a"));
        SqliteSink::new(store.clone(), true).close().await.expect("close");
        assert_eq!(in_lsh(&store), fp.keys().len() as i64, "written on close");
        let found = store.find_similar(&[("b".to_string(), fp.clone())], since, 0.5).await.expect("lookup");
        assert_eq!(found[0].as_ref().map(|m| m.cluster.as_str()), Some("a"), "and found there");
    }

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
