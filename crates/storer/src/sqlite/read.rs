//! [`RecordReader`] over the SQLite store: keyset pages on
//! `records_fetched_id`, full text through `records_fts` (see
//! [`crate::read`]).
//!
//! Times are kept as RFC 3339 text. Bounds compare against the text's whole
//! seconds (`2026-03-01T12:00:00`): `since` includes its second, `until`
//! excludes it. Within one second, the order is the text's order, which is
//! stable but not always the fractions' order.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use newswire_core::Record;
use newswire_core::sink::{BoxFuture, StoreError};
use newswire_core::state::FeedState;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params_from_iter};

use super::indexer::{Indexer, search_path};
use super::search::{add_query_tokenizer, match_expression};
use super::store::SqliteStore;
use super::{NAME, blocking, db_err, json_err, lock};
use crate::read::{
    ClusterCopy, ClusterDetail, ClusterQuery, ClusterSummary, Cursor, FEEDS_SQL, FeedSummary, Page, RecordDetail,
    RecordQuery, RecordReader, TimeField, Version,
};

/// Connections kept open for reuse.
const POOL: usize = 4;
/// Page cache per read connection, KiB.
const CACHE_KIB: i64 = 8 * 1024;

/// Reads the SQLite store ([`RecordReader`]) on read-only connections of
/// its own, so a long export never holds the pipeline's reader. Cheap to
/// clone. Made by [`SqliteStore::reader`] (the store applies the schema
/// first) or [`SqliteReader::open`] on a database newswire made.
#[derive(Clone, Debug)]
pub struct SqliteReader {
    inner: Arc<ReaderInner>,
}

#[derive(Debug)]
struct ReaderInner {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// [`FEW_MATCHES`], [`WALK_BUDGET`] and [`WALK_CHUNK`] (smaller in
    /// tests).
    few_matches: i64,
    walk_budget: usize,
    walk_chunk: usize,
    /// Brings the full-text index up to date before a search (opened with
    /// the first connection, which it makes sure has the index's file).
    indexer: Mutex<Option<Indexer>>,
}

/// A connection taken from the pool, given back when dropped.
struct Lease<'a> {
    conn: Option<Connection>,
    pool: &'a ReaderInner,
}

impl std::ops::Deref for Lease<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = lock(&self.pool.idle);
            if idle.len() < POOL {
                idle.push(conn);
            }
        }
    }
}

impl SqliteStore {
    /// A reader of this store's database.
    pub fn reader(&self) -> SqliteReader {
        SqliteReader::open(self.path())
    }
}

impl SqliteReader {
    /// A reader of the database at `path` (connections open on first use).
    pub fn open(path: &Path) -> SqliteReader {
        SqliteReader::with_limits(path, FEW_MATCHES, WALK_BUDGET, WALK_CHUNK)
    }

    /// A reader choosing its full-text plan with these limits.
    pub(crate) fn with_limits(path: &Path, few_matches: i64, walk_budget: usize, walk_chunk: usize) -> SqliteReader {
        let inner = ReaderInner {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            few_matches,
            walk_budget,
            walk_chunk: walk_chunk.max(1),
            indexer: Mutex::new(None),
        };
        SqliteReader { inner: Arc::new(inner) }
    }

    fn conn(&self) -> Result<Lease<'_>, StoreError> {
        if let Some(conn) = lock(&self.inner.idle).pop() {
            return Ok(Lease { conn: Some(conn), pool: &self.inner });
        }
        let path = &self.inner.path;
        {
            let mut indexer = lock(&self.inner.indexer);
            if indexer.is_none() {
                *indexer = Some(Indexer::open(path)?);
            }
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(|e| db_err(&format!("cannot open {}", path.display()), e))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .and_then(|()| conn.pragma_update(None, "cache_size", -CACHE_KIB))
            .and_then(|()| {
                conn.execute("ATTACH DATABASE ?1 AS search", [search_path(path).to_string_lossy()]).map(drop)
            })
            .and_then(|()| add_query_tokenizer(&conn))
            .map_err(|e| db_err(&format!("cannot configure {}", path.display()), e))?;
        Ok(Lease { conn: Some(conn), pool: &self.inner })
    }

    /// [`RecordReader::records`], on the calling thread.
    ///
    /// A page with full text is read one of two ways, both exact. When the
    /// words match few records (under [`FEW_MATCHES`]), the index gives
    /// them all and they are put in order: cost bounded by the matches.
    /// When they match many, the records are walked in the page's order and
    /// asked of the index a chunk at a time until the page is full: a word
    /// in most records fills a page within a few hundred records, where
    /// ordering every match would read them all (28.7 s for a word in each
    /// of a million records). A walk that examines [`WALK_BUDGET`] records without
    /// filling the page (common words, but none of them recent, or rare
    /// under the other filters) goes back to the first way.
    pub fn records_blocking(&self, query: &RecordQuery) -> Result<Page, StoreError> {
        let conn = self.conn()?;
        let words = query.words();
        if words.is_empty() {
            let (sql, args) = records_sql(query);
            let mut stmt = conn.prepare_cached(&sql).map_err(|e| db_err("cannot read records", e))?;
            let rows = stmt.query(params_from_iter(args)).map_err(|e| db_err("cannot read records", e))?;
            return page_of(rows, query.page_size() as usize);
        }
        // Every record committed before the search began is in the index.
        if let Some(indexer) = lock(&self.inner.indexer).as_mut() {
            indexer.catch_up()?;
        }
        // Words with no token in them (punctuation only) match nothing.
        let Some(expression) = match_expression(&conn, &words).map_err(|e| db_err("cannot search records", e))? else {
            return Ok(Page { records: Vec::new(), next: None });
        };
        let want = query.page_size() as usize + 1;
        let few = conn
            .prepare_cached("SELECT COUNT(*) FROM (SELECT 1 FROM records_fts WHERE records_fts MATCH ?1 LIMIT ?2)")
            .and_then(|mut stmt| {
                stmt.query_row(rusqlite::params![expression, self.inner.few_matches], |r| r.get::<_, i64>(0))
            })
            .map_err(|e| db_err("cannot search records", e))?
            < self.inner.few_matches;
        let limits = (self.inner.walk_budget, self.inner.walk_chunk);
        let walked = if few { None } else { walk(&conn, query, &expression, want, limits)? };
        let rowids = match walked {
            Some(rowids) => rowids,
            None => from_matches(&conn, query, &expression, want)?,
        };
        // The page's records, in its order: a row pruned since the lookup
        // is simply not there.
        let sql = format!(
            "SELECT {RECORD_COLUMNS}, fetched_at FROM records WHERE rowid IN (SELECT value FROM json_each(?1)) {}",
            order(query)
        );
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| db_err("cannot read records", e))?;
        let ids = serde_json::to_string(&rowids).map_err(|e| json_err("cannot list row ids", e))?;
        let rows = stmt.query([ids]).map_err(|e| db_err("cannot read records", e))?;
        page_of(rows, query.page_size() as usize)
    }

    /// [`RecordReader::record`], on the calling thread.
    pub fn record_blocking(&self, id: &str) -> Result<Option<RecordDetail>, StoreError> {
        let conn = self.conn()?;
        let sql = format!("SELECT {RECORD_COLUMNS}, fetched_at, version FROM records WHERE id = ?1");
        let found = conn
            .query_row(&sql, [id], |row| Ok((record_of(row), row.get::<_, u32>(RECORD_COLUMN_COUNT + 1)?)))
            .optional()
            .map_err(|e| db_err("cannot read the record", e))?;
        let Some((record, version)) = found else { return Ok(None) };
        let record = record?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT version, content_hash, title, summary, body, fetched_at FROM record_versions
                 WHERE id = ?1 ORDER BY version",
            )
            .map_err(|e| db_err("cannot read versions", e))?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, String>(5)?)))
            .map_err(|e| db_err("cannot read versions", e))?;
        let mut versions = Vec::new();
        for row in rows {
            let (version, content_hash, title, summary, body, at) =
                row.map_err(|e| db_err("cannot read versions", e))?;
            versions.push(Version { version, content_hash, title, summary, body, fetched_at: time(&at)? });
        }
        Ok(Some(RecordDetail { record, version, versions }))
    }

    /// [`RecordReader::clusters`], on the calling thread.
    pub fn clusters_blocking(&self, query: &ClusterQuery) -> Result<Vec<ClusterSummary>, StoreError> {
        let conn = self.conn()?;
        let limit = query.limit.unwrap_or(crate::read::DEFAULT_PAGE).clamp(1, crate::read::MAX_PAGE);
        if query.recent {
            return recent_clusters(&conn, query.since.map(bound).unwrap_or_default(), limit as usize);
        }
        let mut stmt = conn
            .prepare_cached(
                "SELECT c.cluster, c.n, c.last, r.title, r.feed, r.url FROM (
                    SELECT cluster, COUNT(*) AS n, MAX(fetched_at) AS last FROM records
                    WHERE cluster IS NOT NULL AND cluster > ?1
                    GROUP BY cluster HAVING MAX(fetched_at) >= ?2
                    ORDER BY cluster LIMIT ?3
                 ) c LEFT JOIN records r ON r.id = c.cluster ORDER BY c.cluster",
            )
            .map_err(|e| db_err("cannot read clusters", e))?;
        let since = query.since.map(bound).unwrap_or_default();
        let after = query.after.clone().unwrap_or_default();
        let rows = stmt
            .query_map(rusqlite::params![after, since, limit], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .map_err(|e| db_err("cannot read clusters", e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, copies, last, title, feed, url) = row.map_err(|e| db_err("cannot read clusters", e))?;
            out.push(ClusterSummary {
                id,
                title,
                feed,
                url,
                copies: copies.max(0) as u64,
                last_fetched_at: time(&last)?,
            });
        }
        Ok(out)
    }

    /// [`RecordReader::cluster`], on the calling thread.
    pub fn cluster_blocking(&self, id: &str) -> Result<Option<ClusterDetail>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, feed, url, title, similarity, fetched_at FROM records
                 WHERE cluster = ?1 ORDER BY fetched_at, id",
            )
            .map_err(|e| db_err("cannot read the cluster", e))?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, String>(5)?)))
            .map_err(|e| db_err("cannot read the cluster", e))?;
        let mut copies = Vec::new();
        for row in rows {
            let (id, feed, url, title, similarity, at) = row.map_err(|e| db_err("cannot read the cluster", e))?;
            copies.push(ClusterCopy { id, feed, url, title, similarity, fetched_at: time(&at)? });
        }
        if copies.is_empty() {
            return Ok(None);
        }
        let sql = format!("SELECT {RECORD_COLUMNS} FROM records WHERE id = ?1");
        let first = conn
            .query_row(&sql, [id], |row| Ok(record_of(row)))
            .optional()
            .map_err(|e| db_err("cannot read the cluster", e))?
            .transpose()?;
        Ok(Some(ClusterDetail { first, id: id.to_string(), copies }))
    }

    /// [`RecordReader::feeds`], on the calling thread.
    pub fn feeds_blocking(&self) -> Result<Vec<FeedSummary>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(FEEDS_SQL).map_err(|e| db_err("cannot read feeds", e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?))
            })
            .map_err(|e| db_err("cannot read feeds", e))?;
        let mut out = Vec::new();
        for row in rows {
            let (feed, state, records, last) = row.map_err(|e| db_err("cannot read feeds", e))?;
            let state: Option<FeedState> =
                state.map(|s| serde_json::from_str(&s).map_err(|e| json_err("corrupt feed state", e))).transpose()?;
            let last_fetched_at = last.as_deref().map(time).transpose()?;
            out.push(FeedSummary { feed, state, records: records.max(0) as u64, last_fetched_at });
        }
        Ok(out)
    }
}

/// The `limit` most recently copied stories with a copy fetched at or
/// after `since`: the copies walked newest first (`records_copies_fetched`)
/// until `limit` stories are seen, so the cost follows the page, not the
/// archive.
fn recent_clusters(conn: &Connection, since: String, limit: usize) -> Result<Vec<ClusterSummary>, StoreError> {
    let err = |e| db_err("cannot read clusters", e);
    let mut walk = conn
        .prepare_cached(
            "SELECT cluster, fetched_at FROM records INDEXED BY records_copies_fetched
             WHERE cluster IS NOT NULL AND fetched_at >= ?1 ORDER BY fetched_at DESC",
        )
        .map_err(err)?;
    let mut rows = walk.query([since]).map_err(err)?;
    let mut seen = std::collections::HashSet::new();
    let mut picked = Vec::new();
    while picked.len() < limit
        && let Some(row) = rows.next().map_err(err)?
    {
        let (cluster, at): (String, String) = (row.get(0).map_err(err)?, row.get(1).map_err(err)?);
        if seen.insert(cluster.clone()) {
            picked.push((cluster, at));
        }
    }
    let mut count = conn.prepare_cached("SELECT COUNT(*) FROM records WHERE cluster = ?1").map_err(err)?;
    let mut first = conn.prepare_cached("SELECT title, feed, url FROM records WHERE id = ?1").map_err(err)?;
    let mut out = Vec::with_capacity(picked.len());
    for (id, last) in picked {
        let copies: i64 = count.query_row([&id], |r| r.get(0)).map_err(err)?;
        let (title, feed, url) = first
            .query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(err)?
            .unwrap_or((None, None, None));
        out.push(ClusterSummary { id, title, feed, url, copies: copies.max(0) as u64, last_fetched_at: time(&last)? });
    }
    Ok(out)
}

/// The record columns, in [`record_of`]'s order.
const RECORD_COLUMNS: &str = "id, schema, feed, feed_url, guid, url, title, authors, published_at, updated_at, \
    fetched_at, language, summary, body, word_count, categories, content_hash, source, embeds, removed, cluster, \
    similarity";
const RECORD_COLUMN_COUNT: usize = 22;

/// Below this many matches, a full-text page reads every match from the
/// index and orders them; at or above it, it walks the records in order.
const FEW_MATCHES: i64 = 2_000;
/// Records a full-text walk examines before it gives up for
/// [`from_matches`].
const WALK_BUDGET: usize = 20_000;
/// Records a full-text walk asks the index about at once.
const WALK_CHUNK: usize = 256;

/// The WHERE conditions of `query` but its full text, and their arguments.
fn conditions(query: &RecordQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("1 = 1");
    let mut args: Vec<Value> = Vec::new();
    let column = match query.time_field {
        TimeField::Fetched => "fetched_at",
        TimeField::Published => "published_at",
    };
    if let Some(since) = query.since {
        sql.push_str(&format!(" AND records.{column} >= ?"));
        args.push(Value::Text(bound(since)));
    }
    if let Some(until) = query.until {
        sql.push_str(&format!(" AND records.{column} < ?"));
        args.push(Value::Text(bound(until)));
    }
    if !query.feeds.is_empty() {
        sql.push_str(" AND records.feed IN (");
        for (i, feed) in query.feeds.iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
            args.push(Value::Text(feed.clone()));
        }
        sql.push(')');
    }
    if let Some(tag) = &query.tag {
        sql.push_str(" AND EXISTS (SELECT 1 FROM json_each(records.categories) WHERE json_each.value = ?)");
        args.push(Value::Text(tag.clone()));
    }
    if let Some(lang) = &query.lang {
        sql.push_str(" AND (records.language = ? OR records.language LIKE ? ESCAPE '\\')");
        args.push(Value::Text(lang.clone()));
        args.push(Value::Text(format!("{}-%", lang.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))));
    }
    if let Some(cluster) = &query.cluster {
        sql.push_str(" AND (records.cluster = ? OR records.id = ?)");
        args.push(Value::Text(cluster.clone()));
        args.push(Value::Text(cluster.clone()));
    }
    if let Some(after) = &query.after {
        let cmp = if query.newest_first { "<" } else { ">" };
        sql.push_str(&format!(" AND (records.fetched_at, records.id) {cmp} (?, ?)"));
        args.push(Value::Text(after.at.clone()));
        args.push(Value::Text(after.id.clone()));
    }
    (sql, args)
}

/// The page's order.
fn order(query: &RecordQuery) -> &'static str {
    if query.newest_first {
        "ORDER BY records.fetched_at DESC, records.id DESC"
    } else {
        "ORDER BY records.fetched_at ASC, records.id ASC"
    }
}

/// The SQL and arguments of one page of `query` without full text (one
/// row more than the page, to tell whether there is a next).
fn records_sql(query: &RecordQuery) -> (String, Vec<Value>) {
    let (conditions, mut args) = conditions(query);
    let sql = format!("SELECT {RECORD_COLUMNS}, fetched_at FROM records WHERE {conditions} {} LIMIT ?", order(query));
    args.push(Value::Integer(i64::from(query.page_size()) + 1));
    (sql, args)
}

/// The row ids of the first `want` records of `query` matching
/// `expression`, walking the records in order and asking the index about
/// them `chunk` ([`WALK_CHUNK`]) at a time; `None` when `budget`
/// ([`WALK_BUDGET`]) records were examined first.
///
/// Records are mostly written in the order they are fetched, so a chunk's
/// row ids are usually close together, and the index answers for the
/// whole chunk with one range read (`rowid BETWEEN`). A chunk spread wide
/// (records rewritten much later) is asked about record by record, so a
/// range never reads more of the index than the chunk needs.
fn walk(
    conn: &Connection,
    query: &RecordQuery,
    expression: &str,
    want: usize,
    (budget, size): (usize, usize),
) -> Result<Option<Vec<i64>>, StoreError> {
    let err = |e| db_err("cannot search records", e);
    let (conditions, args) = conditions(query);
    let sql = format!("SELECT records.rowid FROM records WHERE {conditions} {}", order(query));
    let mut keys = conn.prepare_cached(&sql).map_err(err)?;
    let mut range = conn
        .prepare_cached("SELECT rowid FROM records_fts WHERE records_fts MATCH ?1 AND rowid BETWEEN ?2 AND ?3")
        .map_err(err)?;
    let mut probe =
        conn.prepare_cached("SELECT 1 FROM records_fts WHERE records_fts MATCH ?1 AND rowid = ?2").map_err(err)?;
    let mut rows = keys.query(params_from_iter(args)).map_err(err)?;
    let mut found = Vec::with_capacity(want);
    let mut chunk = Vec::with_capacity(size);
    let mut examined = 0;
    loop {
        chunk.clear();
        while chunk.len() < size
            && let Some(row) = rows.next().map_err(err)?
        {
            chunk.push(row.get::<_, i64>(0).map_err(err)?);
        }
        if chunk.is_empty() {
            return Ok(Some(found));
        }
        examined += chunk.len();
        let (low, high) = chunk.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        let matched: std::collections::HashSet<i64> = if high - low < 4 * size as i64 {
            let hits = range.query_map(rusqlite::params![expression, low, high], |r| r.get(0)).map_err(err)?;
            hits.collect::<Result<_, _>>().map_err(err)?
        } else {
            let mut hits = std::collections::HashSet::new();
            for &rowid in &chunk {
                if probe.exists(rusqlite::params![expression, rowid]).map_err(err)? {
                    hits.insert(rowid);
                }
            }
            hits
        };
        for rowid in &chunk {
            if matched.contains(rowid) {
                found.push(*rowid);
                if found.len() == want {
                    return Ok(Some(found));
                }
            }
        }
        if examined >= budget {
            return Ok(None);
        }
    }
}

/// The row ids of the first `want` records of `query` matching
/// `expression`, from every match the index holds, ordered.
fn from_matches(conn: &Connection, query: &RecordQuery, expression: &str, want: usize) -> Result<Vec<i64>, StoreError> {
    let err = |e| db_err("cannot search records", e);
    let (conditions, condition_args) = conditions(query);
    // MATERIALIZED and CROSS JOIN keep the matches the outer loop: the
    // planner would otherwise walk the order's index, the other way.
    let sql = format!(
        "WITH hits(rid) AS MATERIALIZED (SELECT rowid FROM records_fts WHERE records_fts MATCH ?)
         SELECT records.rowid FROM hits CROSS JOIN records ON records.rowid = hits.rid
         WHERE {conditions} {} LIMIT ?",
        order(query)
    );
    let mut args = vec![Value::Text(expression.to_string())];
    args.extend(condition_args);
    args.push(Value::Integer(want as i64));
    let mut stmt = conn.prepare_cached(&sql).map_err(err)?;
    let rows = stmt.query_map(params_from_iter(args), |r| r.get::<_, i64>(0)).map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

/// A page of up to `size` records from rows of [`RECORD_COLUMNS`] and
/// `fetched_at` as stored; a row past `size` says there is a next page.
fn page_of(mut rows: rusqlite::Rows<'_>, size: usize) -> Result<Page, StoreError> {
    let mut records = Vec::with_capacity(size.min(1024));
    let mut last_at = String::new();
    let mut more = false;
    while let Some(row) = rows.next().map_err(|e| db_err("cannot read records", e))? {
        if records.len() == size {
            more = true;
            break;
        }
        last_at = row.get(RECORD_COLUMN_COUNT).map_err(|e| db_err("cannot read records", e))?;
        records.push(record_of(row)?);
    }
    let next = match records.last() {
        Some(last) if more => Some(Cursor::new(last_at, last.id.clone())),
        _ => None,
    };
    Ok(Page { records, next })
}

/// A time as the prefix of the stored text it bounds (whole seconds).
fn bound(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn time(text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| StoreError::fatal(NAME, format!("corrupt time \"{text}\": {e}")))
}

fn json<T: serde::de::DeserializeOwned>(row: &Row<'_>, i: usize, name: &str) -> Result<T, StoreError> {
    let text: String = row.get(i).map_err(|e| db_err(name, e))?;
    serde_json::from_str(&text).map_err(|e| json_err(&format!("corrupt {name}"), e))
}

/// A record from a row of [`RECORD_COLUMNS`].
fn record_of(row: &Row<'_>) -> Result<Record, StoreError> {
    let get_err = |e| db_err("cannot read a record", e);
    let opt_time = |i: usize| -> Result<Option<DateTime<Utc>>, StoreError> {
        row.get::<_, Option<String>>(i).map_err(get_err)?.as_deref().map(time).transpose()
    };
    let source: String = row.get(17).map_err(get_err)?;
    Ok(Record {
        id: row.get(0).map_err(get_err)?,
        schema: row.get(1).map_err(get_err)?,
        feed: row.get(2).map_err(get_err)?,
        feed_url: row.get(3).map_err(get_err)?,
        guid: row.get(4).map_err(get_err)?,
        url: row.get(5).map_err(get_err)?,
        title: row.get(6).map_err(get_err)?,
        authors: json(row, 7, "authors")?,
        published_at: opt_time(8)?,
        updated_at: opt_time(9)?,
        fetched_at: time(&row.get::<_, String>(10).map_err(get_err)?)?,
        language: row.get(11).map_err(get_err)?,
        summary: row.get(12).map_err(get_err)?,
        body: row.get(13).map_err(get_err)?,
        word_count: row.get::<_, i64>(14).map_err(get_err)?.max(0) as u64,
        categories: json(row, 15, "categories")?,
        content_hash: row.get(16).map_err(get_err)?,
        source: serde_json::from_value(serde_json::Value::String(source)).map_err(|e| json_err("corrupt source", e))?,
        embeds: json(row, 18, "embeds")?,
        removed: json(row, 19, "removed")?,
        cluster: row.get(20).map_err(get_err)?,
        similarity: row.get(21).map_err(get_err)?,
        fingerprint: None,
    })
}

impl RecordReader for SqliteReader {
    fn records<'a>(&'a self, query: &'a RecordQuery) -> BoxFuture<'a, Result<Page, StoreError>> {
        let me = self.clone();
        let query = query.clone();
        Box::pin(blocking(move || me.records_blocking(&query)))
    }

    fn record<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RecordDetail>, StoreError>> {
        let me = self.clone();
        let id = id.to_string();
        Box::pin(blocking(move || me.record_blocking(&id)))
    }

    fn clusters<'a>(&'a self, query: &'a ClusterQuery) -> BoxFuture<'a, Result<Vec<ClusterSummary>, StoreError>> {
        let me = self.clone();
        let query = query.clone();
        Box::pin(blocking(move || me.clusters_blocking(&query)))
    }

    fn cluster<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<ClusterDetail>, StoreError>> {
        let me = self.clone();
        let id = id.to_string();
        Box::pin(blocking(move || me.cluster_blocking(&id)))
    }

    fn feeds(&self) -> BoxFuture<'_, Result<Vec<FeedSummary>, StoreError>> {
        let me = self.clone();
        Box::pin(blocking(move || me.feeds_blocking()))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::super::tests::{checkpoint, record};
    use super::*;

    fn store_with(records: &[Record]) -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("r.db")).expect("opens");
        store.write_blocking(records, None).expect("write");
        (dir, store)
    }

    fn ids(page: &Page) -> Vec<&str> {
        page.records.iter().map(|r| r.id.as_str()).collect()
    }

    /// Every page of `query`, following the cursors: the ids in order.
    fn all_pages(reader: &SqliteReader, mut query: RecordQuery) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let page = reader.records_blocking(&query).expect("page");
            seen.extend(ids(&page).iter().map(|s| s.to_string()));
            match page.next {
                Some(next) => query.after = Some(next),
                None => return seen,
            }
        }
    }

    #[test]
    fn full_text_pages_are_the_same_whichever_way_they_are_read() {
        // 300 records, one a second, newest last; with limits of 20 matches
        // and a walk of 100 records, the words below take each way: "every"
        // (all: a walk), "early" (the oldest 40: the newest-first walk
        // gives up, the matches are ordered instead), "late" (the newest
        // 40: the same oldest-first), "rare" (3: ordered matches).
        let t0 = Utc::now() - Duration::hours(1);
        let records: Vec<Record> = (0..300)
            .map(|i| {
                let mut words = vec!["every".to_string(), format!("n{i}")];
                if i < 40 {
                    words.push("early".into());
                }
                if i >= 260 {
                    words.push("late".into());
                }
                if i % 100 == 7 {
                    words.push("rare".into());
                }
                let mut r = record(&format!("r{i:03}"), &words.join(" "));
                r.fetched_at = t0 + Duration::seconds(i);
                r.feed = ["a", "b", "c"][i as usize % 3].into();
                r
            })
            .collect();
        // Written in fetch order (a walk's chunks of 8 are row id ranges),
        // and shuffled (the chunks are spread, asked about one by one).
        let shuffled: Vec<Record> = (0..300).map(|i| records[i * 7 % 300].clone()).collect();
        for written in [&records, &shuffled] {
            let (_dir, store) = store_with(written);
            let reader = SqliteReader::with_limits(store.path(), 20, 100, 8);
            check_every_way(&reader, &records);
        }
    }

    fn check_every_way(reader: &SqliteReader, records: &[Record]) {
        for word in ["every", "early", "late", "rare", "n150", "absent"] {
            for newest_first in [false, true] {
                for feed in [None, Some("b")] {
                    let mut expected: Vec<String> = records
                        .iter()
                        .filter(|r| r.body.split(' ').any(|w| w == word))
                        .filter(|r| feed.is_none_or(|f| r.feed == f))
                        .map(|r| r.id.clone())
                        .collect();
                    if newest_first {
                        expected.reverse();
                    }
                    let query = RecordQuery {
                        text: Some(word.into()),
                        newest_first,
                        feeds: feed.map(|f| vec![f.to_string()]).unwrap_or_default(),
                        limit: Some(7),
                        ..RecordQuery::default()
                    };
                    assert_eq!(
                        all_pages(reader, query),
                        expected,
                        "{word}, newest first {newest_first}, feed {feed:?}"
                    );
                }
            }
        }
        // A page's records read back whole.
        let query = RecordQuery { text: Some("every".into()), limit: Some(1), ..RecordQuery::default() };
        assert_eq!(reader.records_blocking(&query).expect("page").records[0], records[0]);
    }

    /// A word FTS5 splits into several tokens finds the records holding
    /// every token (the index keeps no positions, so it is not a phrase),
    /// one it splits where Rust sees a letter is no error, and a query of
    /// punctuation only is an empty page.
    #[test]
    fn words_of_several_tokens_require_each_token() {
        let (_dir, store) = store_with(&[
            record("a", "The Covid-19 wave, they're not saying."),
            record("b", "19 cases of covid, and they are not re-tested."),
            record("c", "Covid only."),
            record("d", "Ⓐbc and ᦰx in odd scripts."),
        ]);
        let reader = store.reader();
        let found = |q: &str| -> Vec<String> {
            let query = RecordQuery { text: Some(q.into()), ..RecordQuery::default() };
            all_pages(&reader, query)
        };
        assert_eq!(found("covid-19"), ["a", "b"]);
        assert_eq!(found("COVID-19 they're"), ["a", "b"], "covid, 19, they, re: in both");
        assert_eq!(found("they're saying"), ["a"]);
        assert_eq!(found("Ⓐbc"), ["d"], "FTS5 drops the circled letter");
        assert_eq!(found("ᦰx"), ["d"]);
        assert_eq!(found("-- \" *"), Vec::<String>::new());
        assert_eq!(found("covid"), ["a", "b", "c"], "a search after an empty one");
    }

    #[test]
    fn pages_follow_the_cursor_in_a_stable_order() {
        let t0 = Utc::now() - Duration::hours(10);
        let records: Vec<Record> = (0..7)
            .map(|i| {
                let mut r = record(&format!("r{i}"), &format!("body {i}"));
                // Two records per second: ties broken by id.
                r.fetched_at = t0 + Duration::seconds(i / 2);
                r
            })
            .collect();
        let (_dir, store) = store_with(&records);
        let reader = store.reader();
        let mut query = RecordQuery { limit: Some(3), ..RecordQuery::default() };
        let mut seen = Vec::new();
        loop {
            let page = reader.records_blocking(&query).expect("page");
            seen.extend(ids(&page).iter().map(|s| s.to_string()));
            match page.next {
                Some(next) => query.after = Some(Cursor::decode(&next.encode()).expect("cursor")),
                None => break,
            }
        }
        assert_eq!(seen, ["r0", "r1", "r2", "r3", "r4", "r5", "r6"]);
        query = RecordQuery { limit: Some(7), newest_first: true, ..RecordQuery::default() };
        let page = reader.records_blocking(&query).expect("page");
        assert_eq!(ids(&page), ["r6", "r5", "r4", "r3", "r2", "r1", "r0"]);
        assert_eq!(page.next, None, "no next page when the last record is on this one");
        assert_eq!(page.records[0], records[6], "a record reads back as written");
    }

    #[test]
    fn filters_narrow_the_records() {
        let now = Utc::now();
        let mut a = record("a", "the council met on tuesday");
        a.feed = "alpha".into();
        a.language = Some("en-GB".into());
        a.categories = vec!["politics".into()];
        a.published_at = Some(now - Duration::days(3));
        let mut b = record("b", "le conseil");
        b.feed = "beta".into();
        b.language = Some("fr".into());
        b.cluster = Some("a".into());
        b.published_at = Some(now - Duration::days(1));
        let c = record("c", "nothing");
        let (_dir, store) = store_with(&[a, b, c]);
        let reader = store.reader();
        let run = |f: fn(&mut RecordQuery)| {
            let mut q = RecordQuery::default();
            f(&mut q);
            let page = reader.records_blocking(&q).expect("page");
            ids(&page).join(",")
        };
        assert_eq!(run(|_| ()), "a,b,c");
        assert_eq!(run(|q| q.feeds = vec!["beta".into(), "f".into()]), "b,c");
        assert_eq!(run(|q| q.lang = Some("en".into())), "a");
        assert_eq!(run(|q| q.lang = Some("e".into())), "", "a subtag, not a prefix");
        assert_eq!(run(|q| q.tag = Some("politics".into())), "a");
        assert_eq!(run(|q| q.cluster = Some("a".into())), "a,b");
        assert_eq!(run(|q| q.text = Some("Council TUESDAY".into())), "a");
        assert_eq!(
            run(|q| {
                q.time_field = TimeField::Published;
                q.since = Some(Utc::now() - Duration::days(2));
            }),
            "b"
        );
        assert_eq!(
            run(|q| {
                q.time_field = TimeField::Published;
                q.until = Some(Utc::now() - Duration::days(2));
            }),
            "a"
        );
        assert_eq!(run(|q| q.until = Some(Utc::now() - Duration::days(1))), "");
    }

    #[test]
    fn one_record_with_versions_stories_and_feeds() {
        let a = record("a", "first");
        let mut b = record("b", "copy");
        b.cluster = Some("a".into());
        b.similarity = Some(0.9);
        let (_dir, store) = store_with(&[a.clone(), b]);
        store.write_blocking(&[record("a", "second")], Some(&checkpoint(&[]))).expect("update");
        let reader = store.reader();
        let detail = reader.record_blocking("a").expect("read").expect("found");
        assert_eq!((detail.version, detail.record.body.as_str()), (2, "second"));
        assert_eq!(detail.versions.len(), 1);
        assert_eq!((detail.versions[0].version, detail.versions[0].body.as_str()), (1, "first"));
        assert!(reader.record_blocking("zzz").expect("read").is_none());

        let stories = reader.clusters_blocking(&ClusterQuery::default()).expect("clusters");
        assert_eq!(stories.len(), 1);
        assert_eq!((stories[0].id.as_str(), stories[0].copies), ("a", 1));
        let after = ClusterQuery { after: Some("a".into()), ..ClusterQuery::default() };
        assert!(reader.clusters_blocking(&after).expect("clusters").is_empty());
        let story = reader.cluster_blocking("a").expect("cluster").expect("found");
        assert_eq!(story.first.map(|r| r.body), Some("second".into()));
        assert_eq!(story.copies[0].similarity, Some(0.9));
        assert!(reader.cluster_blocking("b").expect("cluster").is_none());

        let feeds = reader.feeds_blocking().expect("feeds");
        assert_eq!(feeds.len(), 1);
        assert_eq!((feeds[0].feed.as_str(), feeds[0].records), ("f", 2));
        assert_eq!(feeds[0].state.as_ref().and_then(|s| s.etag.as_deref()), Some("\"e1\""));
    }
}
