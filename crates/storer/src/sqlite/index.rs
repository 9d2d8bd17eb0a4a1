//! The near-duplicate index in SQLite (see [`crate::index`]): the keys held
//! in memory until a flush, entries written with their checkpoint, the
//! lookup, pruning, and the stories it made.

use std::collections::HashMap;

use newswire_core::FastMap;
use std::sync::{Arc, Mutex};

use newswire_core::fingerprint::Fingerprint;
use newswire_core::sink::StoreError;
use newswire_core::state::{Indexed, Match};
use rusqlite::{Connection, OptionalExtension, params};
use smallvec::SmallVec;

use super::cache::{IndexCache, List, Stored};
use super::runs::{self, KeyFilter, Probe};
use super::store::SqliteStore;
use super::{begin_immediate, db_err, lock};
use crate::index;

/// The near-duplicate index (see [`crate::index`]): each record's
/// fingerprint and story, and its keys. `at` is when the record was indexed,
/// in Unix seconds.
///
/// `lsh` (created with its list of runs by [`runs::runs_schema`], see
/// [`super::runs`]) is keyed (run, key, at, rid): each flush of held keys
/// is a sorted run appended to it, and runs are merged by level. It lives
/// in the runs file, attached as `runs` (see [`super::runs_file`], which
/// also says in what order the two files' transactions commit).
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
pub(super) const INDEX_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS fingerprints (
    rid      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    sig      BLOB NOT NULL,
    cluster  TEXT,
    at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fingerprints_at ON fingerprints(at);
-- Each feed's shingle counts (newswire_core::frequency), written with its
-- batches; added to an existing database by this statement at open.
CREATE TABLE IF NOT EXISTS feed_sketches (
    feed    TEXT PRIMARY KEY,
    sketch  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS index_keyed (keyed INTEGER NOT NULL);
-- Without the table, every row's keys are in lsh (a new or converted index).
INSERT INTO index_keyed (keyed)
    SELECT coalesce(max(rid), 0) FROM fingerprints WHERE NOT EXISTS (SELECT 1 FROM index_keyed);
"#;

/// Records whose keys are held in memory before they are written to `lsh`
/// in one transaction (see [`INDEX_SCHEMA`]): some 300,000 keys on the news
/// farm, about 9 MB of tables ([`HeldKeys`]) kept from one flush to the next.
pub(super) const FLUSH_ROWS: usize = 4096;

/// The keys of the `fingerprints` rows above `keyed`, not yet in `lsh`
/// (see [`INDEX_SCHEMA`]). Changed only under the writer's lock, with the
/// commit of the transaction it mirrors (under its own lock, which a lookup
/// on another connection takes its snapshot under).
///
/// Its tables keep their capacity across flushes: refilled every few
/// thousand records, they were freed and grown again each time, and that
/// churn let resident memory step up at each flush in a soak
/// (docs/reliability.md). The sorted rows a flush writes are not kept: they
/// are one block, mapped on its own and returned whole when freed
/// (`src/memory.rs`).
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Rows above this row id have their keys here, not in `lsh`.
    pub(super) keyed: i64,
    /// key → (at, rid) of those rows.
    held: HeldKeys,
    /// A subset's ([`Pending::subset`]): the held (at, rid) under each of
    /// its lookup's keys.
    by_key: FastMap<i64, SmallVec<[(i64, i64); 1]>>,
    /// rid → (at, keys) of those rows.
    pub(super) rows: FastMap<i64, (i64, Vec<i64>)>,
    /// Each run's filter of the keys it holds (see [`runs::KeyFilter`]):
    /// changed with the runs, under this lock, so a lookup takes the
    /// filters with its snapshot.
    pub(super) filters: HashMap<i64, Arc<KeyFilter>>,
    /// The merge of runs under way, if any (see [`runs::advance`]).
    pub(super) merging: Option<runs::Merging>,
    /// What lookups read from the runs and `fingerprints`, kept across
    /// commits (see [`super::cache`]); shared with every subset.
    pub(super) cache: Arc<IndexCache>,
    /// A subset's: the cache's epoch when it was taken, with the lookup's
    /// snapshot (see [`super::cache`]).
    epoch: u64,
}

/// The held rows' keys, as lists under each key: chained entries of 8
/// bytes, not a list per key. A table of some 300,000 keys, each with a
/// list of (at, rid), was 17 MB at the news farm's peak of memory; this is
/// about half that.
///
/// Keys are 32-bit hashes ([`Fingerprint::keys`]); one that is not (a
/// future format) is not held, so it is found only once it is flushed: a
/// candidate missed, never a wrong one.
#[derive(Debug, Default)]
struct HeldKeys {
    /// key → its newest entry in `entries`.
    heads: FastMap<u32, u32>,
    /// (row, the key's next older entry or [`HeldKeys::END`]).
    entries: Vec<(u32, u32)>,
    /// (rid, at) of each row added since the last flush, in the order
    /// added (the row number `entries` name); a dropped row's rid is
    /// [`HeldKeys::DROPPED`].
    rows: Vec<(i64, i64)>,
}

impl HeldKeys {
    const END: u32 = u32::MAX;
    /// Row ids start at 1.
    const DROPPED: i64 = 0;

    fn add(&mut self, rid: i64, at: i64, keys: &[i64]) {
        let Ok(row) = u32::try_from(self.rows.len()) else { return };
        self.rows.push((rid, at));
        for &key in keys {
            let (Ok(key), Ok(entry)) = (u32::try_from(key), u32::try_from(self.entries.len())) else { continue };
            let head = self.heads.entry(key).or_insert(Self::END);
            self.entries.push((row, *head));
            *head = entry;
        }
    }

    fn drop_row(&mut self, rid: i64) {
        if let Some(row) = self.rows.iter_mut().rev().find(|(r, _)| *r == rid) {
            row.0 = Self::DROPPED;
        }
    }

    /// The (at, rid) held under `key`, newest added first.
    fn under(&self, key: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let mut next = u32::try_from(key).ok().and_then(|k| self.heads.get(&k).copied()).unwrap_or(Self::END);
        std::iter::from_fn(move || {
            while next != Self::END {
                let (row, older) = self.entries[next as usize];
                next = older;
                let (rid, at) = self.rows[row as usize];
                if rid != Self::DROPPED {
                    return Some((at, rid));
                }
            }
            None
        })
    }

    fn clear(&mut self) {
        self.heads.clear();
        self.entries.clear();
        self.rows.clear();
    }
}

/// A change to [`Pending`], applied once its transaction has committed.
pub(super) enum PendingChange {
    Add {
        rid: i64,
        at: i64,
        keys: Vec<i64>,
    },
    Drop {
        rid: i64,
    },
    /// `keys` of a record left `run` (it was indexed again or pruned).
    Evict {
        run: i64,
        keys: Vec<i64>,
    },
}

impl Pending {
    /// The state of the index in `conn`: the watermark, the runs' filters,
    /// and the keys of the rows above the watermark, derived from their
    /// fingerprints. When those rows are [`FLUSH_ROWS`] or more (a runs
    /// file rebuilt, see [`super::runs_file`]; flushes that failed), their
    /// keys are written to runs a flush at a time, in row-id order, and
    /// merged: fewer than [`FLUSH_ROWS`] rows are left held.
    pub(super) fn load(conn: &mut Connection) -> Result<Pending, StoreError> {
        let read_err = |e| db_err("cannot read the index", e);
        let keyed: i64 = conn.query_row("SELECT keyed FROM index_keyed", [], |r| r.get(0)).map_err(read_err)?;
        let filters = runs::load_filters(conn).map_err(read_err)?;
        let merging = runs::resumed(conn).map_err(read_err)?;
        let mut pending = Pending { keyed, filters, merging, ..Pending::default() };
        let mut after = keyed;
        loop {
            after = pending.hold_rows(conn, after, FLUSH_ROWS).map_err(read_err)?;
            if pending.rows.len() < FLUSH_ROWS {
                return Ok(pending);
            }
            pending.flush(conn)?;
            let shared = Mutex::new(pending);
            runs::compact(conn, &shared)?;
            pending = shared.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Hold the keys of up to `limit` rows above row id `after`, in row-id
    /// order; returns the last row id read (`after` when none).
    fn hold_rows(&mut self, conn: &Connection, after: i64, limit: usize) -> rusqlite::Result<i64> {
        let mut stmt =
            conn.prepare_cached("SELECT rid, sig, at FROM fingerprints WHERE rid > ?1 ORDER BY rid LIMIT ?2")?;
        let rows = stmt.query_map(params![after, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, i64>(2)?))
        })?;
        let mut last = after;
        for row in rows {
            let (rid, sig, at) = row?;
            last = rid;
            // A fingerprint of another format has no keys.
            let keys = Fingerprint::from_bytes(&sig).map(|f| f.keys()).unwrap_or_default();
            self.apply(PendingChange::Add { rid, at, keys });
        }
        Ok(last)
    }

    pub(super) fn apply(&mut self, change: PendingChange) {
        match change {
            PendingChange::Add { rid, at, keys } => {
                self.held.add(rid, at, &keys);
                self.rows.insert(rid, (at, keys));
            }
            PendingChange::Evict { run, keys } => self.cache.forget_keys(run, &keys),
            PendingChange::Drop { rid } => {
                if self.rows.remove(&rid).is_some() {
                    self.held.drop_row(rid);
                }
            }
        }
    }

    /// The held keys among `keys` (and the watermark and the runs'
    /// filters), for a lookup of those keys to use without the lock.
    pub(super) fn subset(&self, keys: &[i64]) -> Pending {
        let by_key = keys
            .iter()
            .filter_map(|&k| {
                let held: SmallVec<[(i64, i64); 1]> = self.held.under(k).collect();
                (!held.is_empty()).then_some((k, held))
            })
            .collect();
        Pending {
            keyed: self.keyed,
            by_key,
            filters: self.filters.clone(),
            cache: Arc::clone(&self.cache),
            epoch: self.cache.epoch(),
            ..Pending::default()
        }
    }

    fn keys(&self) -> usize {
        self.rows.values().map(|(_, keys)| keys.len()).sum()
    }

    /// Write every held key to `lsh`, sorted, as a new run (see
    /// [`super::runs`]), and move the watermark past them, in one
    /// transaction; then hold none. Merging runs is left to
    /// [`runs::compact`], which needs no lock of the held keys.
    pub(super) fn flush(&mut self, conn: &mut Connection) -> Result<(), StoreError> {
        let Some(&top) = self.rows.keys().max() else { return Ok(()) };
        let mut entries: Vec<(i64, i64, i64)> = Vec::with_capacity(self.keys());
        for (&rid, (at, keys)) in &self.rows {
            entries.extend(keys.iter().map(|&key| (key, *at, rid)));
        }
        entries.sort_unstable();
        let (run, filter, orphans) = write_keys(conn, &entries, self.keyed, top)?;
        drop(entries);
        if !orphans.is_empty() {
            for orphan in &orphans {
                self.filters.remove(orphan);
            }
            if self.merging.as_ref().is_some_and(|m| orphans.contains(&m.run)) {
                self.merging = None;
            }
            self.cache.forget_runs(&orphans);
        }
        self.filters.insert(run, Arc::new(filter));
        self.keyed = top;
        self.held.clear();
        self.rows.clear();
        Ok(())
    }
}

/// Writes held index rows (the keys of the rows above the watermark `keyed`
/// up to `top`) to `lsh` as a new run, then moves the watermark to `top`:
/// the run committed in the runs file first, the watermark in the store's
/// after (see [`super::runs_file`]). Runs an earlier flush left above the
/// watermark (orphans) are dropped first; returns the new run, its filter
/// and the orphans' ids.
fn write_keys(
    conn: &mut Connection,
    entries: &[(i64, i64, i64)],
    keyed: i64,
    top: i64,
) -> Result<(i64, KeyFilter, Vec<i64>), StoreError> {
    // IMMEDIATE: it reads (the next run id) before it writes.
    let tx = begin_immediate(conn)?;
    let orphans = runs::drop_orphans(&tx, keyed)?;
    let (run, filter) = runs::write_run(&tx, entries, keyed + 1, top)?;
    tx.commit().map_err(|e| db_err("cannot commit the index run", e))?;
    let tx = begin_immediate(conn)?;
    tx.execute("UPDATE main.index_keyed SET keyed = ?1", [top])
        .map_err(|e| db_err("cannot write the index watermark", e))?;
    tx.commit().map_err(|e| db_err("cannot commit the index watermark", e))?;
    Ok((run, filter, orphans))
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

impl SqliteStore {
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
        // The listed runs' keys: not those a merge under way has copied or
        // has still to drop (see `runs::advance`).
        Ok((count("fingerprints")?, count("lsh WHERE run IN (SELECT run FROM lsh_runs)")? + held))
    }

    /// The lookups' cache of the index (see [`super::cache`]): (hits,
    /// misses, bytes held), for tests and tools.
    pub fn index_cache(&self) -> (u64, u64, u64) {
        let cache = Arc::clone(&lock(&self.inner.pending).cache);
        let (hits, misses) = cache.counts();
        (hits, misses, cache.bytes() as u64)
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
}

/// Add (or replace) index entries inside `tx`; their keys are held in
/// [`Pending`] (`changes`, applied once `tx` commits). A record indexed
/// before has its old row and keys removed first and gets a new row; its
/// keys in runs were removed before `tx` by [`forget_indexed_again`]
/// (`gone`: their row ids), and are removed here only for a row that was
/// not there then (written by another connection in between).
pub(super) fn index_in(
    tx: &rusqlite::Transaction<'_>,
    entries: &[Indexed],
    keyed: i64,
    gone: &[i64],
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
            if rid > keyed {
                changes.push(PendingChange::Drop { rid });
            } else if !gone.contains(&rid) {
                forget_keys(tx, rid, &sig, at, keyed, changes)?;
            }
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

/// Store a feed's shingle counts inside `tx`.
pub(super) fn sketch_in(tx: &rusqlite::Transaction<'_>, feed: &str, sketch: &[u8]) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO feed_sketches (feed, sketch) VALUES (?1, ?2)
         ON CONFLICT(feed) DO UPDATE SET sketch = excluded.sketch",
    )
    .and_then(|mut s| s.execute(params![feed, sketch]))
    .map_err(|e| db_err(&format!("cannot write the shingle counts of feed {feed}"), e))?;
    Ok(())
}

/// Remove one record's keys in runs (those of its stored fingerprint
/// `sig`, indexed at `at`, row id `rid`) by primary key, in the run whose
/// range holds `rid`; a row above the watermark `keyed` has its keys held,
/// in no run. The cache's change goes to `changes`, applied once the
/// transaction of the runs file commits.
fn forget_keys(
    conn: &Connection,
    rid: i64,
    sig: &[u8],
    at: i64,
    keyed: i64,
    changes: &mut Vec<PendingChange>,
) -> Result<(), StoreError> {
    if rid > keyed {
        return Ok(());
    }
    // A fingerprint of another format has no keys in this index (the
    // migration dropped them with it).
    let Some(old) = Fingerprint::from_bytes(sig) else { return Ok(()) };
    let Some(run) = runs::run_of(conn, rid).map_err(|e| db_err("cannot read the index runs", e))? else {
        return Ok(());
    };
    let mut delete = conn
        .prepare_cached("DELETE FROM lsh WHERE run = ?1 AND key = ?2 AND at = ?3 AND rid = ?4")
        .map_err(|e| db_err("cannot prepare the index", e))?;
    let keys = old.keys();
    // A merge of its run under way may have copied some of them already.
    let merging = runs::merging_into(conn, rid).map_err(|e| db_err("cannot read the index runs", e))?;
    for run in std::iter::once(run).chain(merging) {
        for &key in &keys {
            delete.execute(params![run, key, at, rid]).map_err(|e| db_err("cannot update the index", e))?;
        }
    }
    changes.push(PendingChange::Evict { run, keys });
    Ok(())
}

/// Remove the keys in runs of the records among `ids` that are indexed
/// already (about to be indexed again), in a transaction of the runs file
/// committed before the store's transaction that replaces their rows (see
/// [`super::runs_file`]): a key in a run always belongs to a live row.
/// Committed under the held keys' lock, with the cache's changes applied.
/// Returns the row ids whose keys left. Nothing is written when no record
/// of `ids` has keys in a run (the usual case: new records).
pub(super) fn forget_indexed_again(
    conn: &mut Connection,
    pending: &Mutex<Pending>,
    ids: &[&str],
    keyed: i64,
) -> Result<Vec<i64>, StoreError> {
    let mut old: Vec<(i64, Vec<u8>, i64)> = Vec::new();
    each_row(conn, "SELECT rid, sig, at FROM fingerprints WHERE id IN (SELECT value FROM json_each(?1))", ids, |r| {
        old.push((r.get(0)?, r.get(1)?, r.get(2)?));
        Ok(())
    })?;
    old.retain(|&(rid, _, _)| rid <= keyed);
    if old.is_empty() {
        return Ok(Vec::new());
    }
    let mut changes = Vec::new();
    let tx = begin_immediate(conn)?;
    for (rid, sig, at) in &old {
        forget_keys(&tx, *rid, sig, *at, keyed, &mut changes)?;
    }
    let mut pending = lock(pending);
    tx.commit().map_err(|e| db_err("cannot commit the index", e))?;
    for change in changes {
        pending.apply(change);
    }
    Ok(old.iter().map(|&(rid, _, _)| rid).collect())
}

/// Each of `distinct` keys' newest entries (at, rid) indexed within the
/// window (`since`): at most [`index::PER_KEY`] of them, held or in a run,
/// unsorted.
fn newest_under(
    conn: &Connection,
    pending: &Pending,
    distinct: &[i64],
    since: i64,
) -> Result<Vec<Vec<(i64, i64)>>, StoreError> {
    let read_err = |e| db_err("cannot read the index", e);
    // A run's newest entries under a key, whatever their age: what the
    // cache keeps (see `super::cache`); the window is applied below. The
    // newest PER_KEY within the window are the newest PER_KEY that are in
    // it, so this finds what a range read from `since` found.
    let mut by_key = conn
        .prepare_cached("SELECT at, rid FROM lsh WHERE run = ?1 AND key = ?2 ORDER BY at DESC LIMIT ?3")
        .map_err(read_err)?;
    let cache = &pending.cache;
    let per_key = usize::try_from(index::PER_KEY).unwrap_or(usize::MAX);
    // Each key's newest entries within the window: the held keys' (the
    // newest of all), then each run's, newest run first, in the runs whose
    // filter may hold the key (a run's range of the key, read in key
    // order). A run's rows were all indexed after those of the runs before
    // it (runs hold ranges of row ids, in order, and a row id is taken when
    // its record is indexed; only a clock set back could make a later
    // row's time earlier, and then "newest" is moot), so once a key has
    // PER_KEY entries no older run can add one of the newest PER_KEY: a
    // common phrase, under entries in every run, is read from the newest
    // runs only.
    let mut newest: Vec<Vec<(i64, i64)>> = distinct
        .iter()
        .map(|key| {
            pending
                .by_key
                .get(key)
                .map_or_else(Vec::new, |held| held.iter().copied().filter(|(at, _)| *at >= since).collect())
        })
        .collect();
    let mut open: Vec<usize> = (0..distinct.len()).filter(|&i| newest[i].len() < per_key).collect();
    let mut open_keys: Vec<i64> = open.iter().map(|&i| distinct[i]).collect();
    // Each key's hashes, the same in every run's filter: computed once.
    let key_probes: Vec<Probe> = distinct.iter().map(|&key| Probe::of(key)).collect();
    let mut open_probes: Vec<Probe> = open.iter().map(|&i| key_probes[i]).collect();
    let mut probe: Vec<usize> = Vec::with_capacity(distinct.len());
    let mut probe_keys: Vec<i64> = Vec::with_capacity(distinct.len());
    let mut read_lists: Vec<(i64, List)> = Vec::new();
    // A run above the watermark is an orphan (see `super::runs_file`): its
    // rows' keys are held.
    let mut runs = runs::runs(conn).map_err(read_err)?;
    runs.retain(|run| run.last <= pending.keyed);
    for run in runs.iter().rev() {
        probe.clear();
        probe_keys.clear();
        match pending.filters.get(&run.run) {
            Some(filter) => filter.passing(&open_probes, |j| {
                probe.push(open[j]);
                probe_keys.push(open_keys[j]);
            }),
            None => {
                probe.extend_from_slice(&open);
                probe_keys.extend_from_slice(&open_keys);
            }
        }
        read_lists.clear();
        let mut complete = false;
        for (&i, cached) in probe.iter().zip(cache.lists(run.run, &probe_keys)) {
            let list = match cached {
                Some(list) => list,
                None => {
                    let mut rows = by_key.query(params![run.run, distinct[i], index::PER_KEY]).map_err(read_err)?;
                    let mut list = Vec::new();
                    while let Some(row) = rows.next().map_err(read_err)? {
                        list.push((row.get(0).map_err(read_err)?, row.get(1).map_err(read_err)?));
                    }
                    let list: List = list.into();
                    read_lists.push((distinct[i], List::clone(&list)));
                    list
                }
            };
            newest[i].extend(list.iter().filter(|(at, _)| *at >= since));
            complete |= newest[i].len() >= per_key;
        }
        cache.keep_lists(pending.epoch, run.run, read_lists.drain(..));
        if complete {
            open.retain(|&i| newest[i].len() < per_key);
            open_keys.clear();
            open_keys.extend(open.iter().map(|&i| distinct[i]));
            open_probes.clear();
            open_probes.extend(open.iter().map(|&i| key_probes[i]));
        }
    }
    Ok(newest)
}

/// The near-duplicate lookup: candidates share a
/// key (two when the record has enough, see [`index::min_shared`]) and were
/// indexed since `since`; the record is compared with the first record of
/// each candidate's story, and the closest story at or above `threshold`
/// wins (see [`crate::index`]).
///
/// The whole batch at once: each distinct key of the batch is read once,
/// in key order (neighbouring keys share the B-tree's inner pages, and
/// copies of one story in a batch, or common phrases, share keys); the
/// records' own rows, the candidates' fingerprints and their stories' first
/// records are then read in one statement each (rows in row-id order), not
/// one per record or candidate.
pub(super) fn find_similar_in(
    conn: &Connection,
    pending: &Pending,
    items: &[(String, Fingerprint)],
    since: i64,
    threshold: f64,
) -> Result<Vec<Option<Match>>, StoreError> {
    let keys: Vec<Vec<i64>> = items.iter().map(|(_, fp)| fp.keys()).collect();
    let mut distinct: Vec<i64> = keys.iter().flatten().copied().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let per_key = usize::try_from(index::PER_KEY).unwrap_or(usize::MAX);
    let newest = newest_under(conn, pending, &distinct, since)?;
    let cache = &pending.cache;
    let mut read: FastMap<i64, Vec<i64>> = FastMap::with_capacity_and_hasher(distinct.len(), Default::default());
    for (&key, mut found) in distinct.iter().zip(newest) {
        if found.is_empty() {
            continue;
        }
        found.sort_unstable_by(|a, b| b.cmp(a));
        found.truncate(per_key);
        read.insert(key, found.iter().map(|&(_, rid)| rid).collect());
    }
    if read.is_empty() {
        return Ok(vec![None; items.len()]);
    }
    // The records themselves, when indexed already (their text changed).
    let ids: Vec<&str> = items.iter().map(|(id, _)| id.as_str()).collect();
    let mut own: HashMap<String, i64> = HashMap::new();
    each_row(conn, "SELECT id, rid FROM fingerprints WHERE id IN (SELECT value FROM json_each(?1))", &ids, |r| {
        own.insert(r.get(0)?, r.get(1)?);
        Ok(())
    })?;
    let mut ranked: Vec<Vec<i64>> = Vec::with_capacity(items.len());
    let mut wanted: Vec<i64> = Vec::new();
    for ((id, _), keys) in items.iter().zip(&keys) {
        let lists: Vec<&[i64]> = keys.iter().filter_map(|k| read.get(k).map(Vec::as_slice)).collect();
        let best = if lists.is_empty() {
            Vec::new()
        } else {
            index::rank(index::weighted(&lists), own.get(id.as_str()), keys.len())
        };
        wanted.extend(&best);
        ranked.push(best);
    }
    wanted.sort_unstable();
    wanted.dedup();
    // The candidates' rows: from the cache (a row never changes), the
    // others read and kept.
    let mut stored: HashMap<i64, Arc<Stored>> = cache.stored(&wanted).into_iter().collect();
    let missing: Vec<i64> = wanted.iter().copied().filter(|rid| !stored.contains_key(rid)).collect();
    let mut read_rows: Vec<(i64, Arc<Stored>)> = Vec::with_capacity(missing.len());
    each_row(
        conn,
        "SELECT rid, id, sig, cluster FROM fingerprints WHERE rid IN (SELECT value FROM json_each(?1)) ORDER BY rid",
        &missing,
        |r| {
            read_rows.push((r.get(0)?, Arc::new(Stored { id: r.get(1)?, sig: r.get(2)?, cluster: r.get(3)? })));
            Ok(())
        },
    )?;
    stored.extend(read_rows.iter().map(|(rid, row)| (*rid, Arc::clone(row))));
    cache.keep_stored(read_rows);
    // The first records of the candidates' stories not among them.
    let found: std::collections::HashSet<&str> = stored.values().map(|row| row.id.as_str()).collect();
    let mut stories: Vec<&str> =
        stored.values().filter_map(|row| row.cluster.as_deref()).filter(|s| !found.contains(s)).collect();
    stories.sort_unstable();
    stories.dedup();
    let mut firsts: HashMap<String, Vec<u8>> = HashMap::with_capacity(stories.len());
    each_row(conn, "SELECT id, sig FROM fingerprints WHERE id IN (SELECT value FROM json_each(?1))", &stories, |r| {
        firsts.insert(r.get(0)?, r.get(1)?);
        Ok(())
    })?;
    let mut out = Vec::with_capacity(items.len());
    for ((_, fp), best) in items.iter().zip(&ranked) {
        let candidates: Vec<index::Candidate<'_>> = best
            .iter()
            .filter_map(|rid| stored.get(rid))
            .map(|row| index::Candidate { id: &row.id, sig: &row.sig, cluster: row.cluster.as_deref() })
            .collect();
        let firsts: Vec<(&str, &[u8])> = index::missing_firsts(&candidates)
            .into_iter()
            .filter_map(|story| firsts.get(story).map(|sig| (story, sig.as_slice())))
            .collect();
        out.push(index::best(fp, &candidates, &firsts, threshold));
    }
    Ok(out)
}

/// Run `sql`, whose one parameter is a JSON array of `values` (read with
/// `json_each`), and hand each row to `each`. Nothing to run for no values.
fn each_row<T: serde::Serialize>(
    conn: &Connection,
    sql: &str,
    values: &[T],
    mut each: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<()>,
) -> Result<(), StoreError> {
    if values.is_empty() {
        return Ok(());
    }
    let list = serde_json::to_string(values)
        .map_err(|e| StoreError::fatal(super::NAME, format!("cannot list index rows to read: {e}")))?;
    let mut stmt = conn.prepare_cached(sql).map_err(|e| db_err("cannot read the index", e))?;
    let mut rows = stmt.query([list]).map_err(|e| db_err("cannot read the index", e))?;
    while let Some(row) = rows.next().map_err(|e| db_err("cannot read the index", e))? {
        each(row).map_err(|e| db_err("cannot read the index", e))?;
    }
    Ok(())
}

/// Remove up to `limit` index entries indexed before `before` (Unix
/// seconds), oldest first; returns how many. Their keys leave the runs in a
/// transaction of the runs file, then their rows the store's, then the runs
/// emptied by it go, each committed in turn (see [`super::runs_file`]).
/// A crash between leaves rows whose keys are gone: still the oldest, they
/// are pruned again next time.
pub(super) fn prune_in(
    conn: &mut Connection,
    pending: &mut Pending,
    before: i64,
    limit: usize,
) -> Result<u64, StoreError> {
    let old: Vec<(i64, Vec<u8>, i64)> = {
        let mut stmt = conn
            .prepare_cached("SELECT rid, sig, at FROM fingerprints WHERE at < ?1 ORDER BY at LIMIT ?2")
            .map_err(|e| db_err("cannot read the index", e))?;
        let rows = stmt
            .query_map(params![before, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(|e| db_err("cannot read the index", e))?;
        rows.collect::<Result<_, _>>().map_err(|e| db_err("cannot read the index", e))?
    };
    if old.is_empty() {
        return Ok(0);
    }
    // IMMEDIATE: it reads before it writes.
    let mut changes = Vec::new();
    let tx = begin_immediate(conn)?;
    for (rid, sig, at) in &old {
        forget_keys(&tx, *rid, sig, *at, pending.keyed, &mut changes)?;
    }
    tx.commit().map_err(|e| db_err("cannot commit", e))?;
    for change in changes {
        pending.apply(change);
    }
    let tx = begin_immediate(conn)?;
    {
        let mut delete = tx
            .prepare_cached("DELETE FROM fingerprints WHERE rid = ?1")
            .map_err(|e| db_err("cannot prepare the index", e))?;
        for (rid, _, _) in &old {
            delete.execute([rid]).map_err(|e| db_err("cannot prune the index", e))?;
        }
    }
    tx.commit().map_err(|e| db_err("cannot commit", e))?;
    for &(rid, _, _) in &old {
        if rid > pending.keyed {
            pending.apply(PendingChange::Drop { rid });
        }
    }
    let tx = begin_immediate(conn)?;
    let emptied = runs::drop_emptied(&tx)?;
    tx.commit().map_err(|e| db_err("cannot commit", e))?;
    for run in &emptied {
        pending.filters.remove(run);
    }
    if !emptied.is_empty() {
        pending.cache.forget_runs(&emptied);
    }
    Ok(old.len() as u64)
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use newswire_core::sink::{Sink, StateStore};

    use super::super::sink::SqliteSink;
    use super::super::tests::checkpoint;
    use super::*;

    #[test]
    fn held_keys_shared_by_records_are_dropped_one_record_at_a_time() {
        let mut pending = Pending::default();
        pending.apply(PendingChange::Add { rid: 1, at: 10, keys: vec![100, 200] });
        pending.apply(PendingChange::Add { rid: 2, at: 20, keys: vec![200, 300] });
        pending.apply(PendingChange::Add { rid: 3, at: 30, keys: vec![200] });
        let under = |p: &Pending, key: i64| {
            let mut held: Vec<(i64, i64)> = p.held.under(key).collect();
            held.sort_unstable();
            assert_eq!(p.subset(&[key]).by_key.get(&key).map(|h| h.to_vec()).unwrap_or_default().len(), held.len());
            held
        };
        assert_eq!(under(&pending, 200), vec![(10, 1), (20, 2), (30, 3)]);
        pending.apply(PendingChange::Drop { rid: 2 });
        assert_eq!(under(&pending, 200), vec![(10, 1), (30, 3)]);
        assert_eq!(under(&pending, 300), vec![], "its only record dropped, the key goes");
        assert_eq!(under(&pending, 100), vec![(10, 1)]);
        pending.apply(PendingChange::Drop { rid: 1 });
        pending.apply(PendingChange::Drop { rid: 3 });
        assert!([100, 200, 300].iter().all(|&k| under(&pending, k).is_empty()) && pending.rows.is_empty());
        assert_eq!(pending.keys(), 0);
        assert!(pending.subset(&[100, 200, 300]).by_key.is_empty());
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
        assert!(pending.held.heads.is_empty() && pending.held.entries.is_empty() && pending.rows.is_empty());
        assert!(pending.held.under(1007).next().is_none(), "nothing held after the flush");
        assert!(
            pending.held.heads.capacity() >= 57
                && pending.held.entries.capacity() >= 100
                && pending.rows.capacity() >= 50,
            "capacity kept"
        );
    }

    #[test]
    fn a_key_complete_in_the_newer_runs_is_not_read_from_the_older() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("newest.db")).expect("opens");
        let mut conn = lock(&store.inner.writer);
        let mut pending = Pending::default();
        // Three runs of `r` records and `h` held, all under key 7, so that
        // the held keys and the newest run hold fewer than PER_KEY of its
        // entries and the two newest runs enough; each record also under a
        // key of its own.
        let per = index::PER_KEY;
        let (r, h) = (per * 5 / 8, per * 5 / 32);
        let total = 3 * r + h;
        assert!(h + r < per && per <= h + 2 * r);
        for rid in 1..=total {
            pending.apply(PendingChange::Add { rid, at: rid, keys: vec![7, 1000 + rid] });
            if rid % r == 0 {
                pending.flush(&mut conn).expect("flush");
            }
        }
        let runs = runs::runs(&conn).expect("runs");
        assert_eq!(runs.len(), 3);
        let look = |keys: &[i64], since: i64| newest_under(&conn, &pending.subset(keys), keys, since).expect("lookup");
        let newest = look(&[7, 1005, 1000 + total], 0);
        let mut common = newest[0].clone();
        common.sort_unstable_by(|a, b| b.cmp(a));
        common.truncate(per as usize);
        let expected: Vec<(i64, i64)> = (total - per + 1..=total).rev().map(|rid| (rid, rid)).collect();
        assert_eq!(common, expected, "the newest PER_KEY under the common key");
        assert_eq!(newest[1], vec![(5, 5)], "a key of the oldest run is still read from it");
        assert_eq!(newest[2], vec![(total, total)], "a held key");
        // Key 7 was read from the two newest runs only (what was read is
        // cached); the oldest run's list of it was never read.
        let cached = |run: i64| pending.cache.lists(run, &[7])[0].is_some();
        assert!(cached(runs[2].run) && cached(runs[1].run), "read from the newer runs");
        assert!(!cached(runs[0].run), "not read from the oldest run");
        // Within a window that leaves fewer than PER_KEY, every run is read.
        assert_eq!(look(&[7], total - per / 2 + 1)[0].len(), (per / 2) as usize);
        let mut all = look(&[7], 2)[0].clone();
        all.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(all[..per as usize], expected[..], "the window applied");
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
}
