//! `lsh` as sorted runs: where the near-duplicate index's keys are written,
//! and how they are merged, so that writing a record's keys costs the same
//! however large the index is (docs/clusters.md).
//!
//! A B-tree keyed by (key, at, rid) takes each record's keys at random
//! places: once it outgrows the page cache, every flush of held keys dirtied
//! most of its pages (at 1,000,000 records, some 270 MB of WAL per flush of
//! 4,096 records), so the cost per record grew with the index. Here `lsh`
//! is keyed (run, key, at, rid): each flush of held keys becomes a new
//! *run*, a run id above every other, so its sorted rows are appended at the
//! right edge of the B-tree, page after page; a run is never written again.
//! Runs are merged in the way of a log-structured merge tree (size-tiered):
//! a flush makes a run of level 0, and when [`MERGE_AT`] runs share a level
//! they are merged, in key order, into one run of the next level (again
//! appended), and dropped. So a key is written once per level, and the
//! levels grow as log(records / [`FLUSH_ROWS`](super::index::FLUSH_ROWS)):
//! at 1,000,000 records each key is written about 3 times, sequentially.
//! A lookup reads a key's range in a run only when the run's [`KeyFilter`]
//! (a Bloom filter of its keys, kept in memory and stored with the run)
//! says it may hold the key: most keys of a record are in no run or in one,
//! so a lookup costs about one range read per key whatever the number of
//! runs (at most `MERGE_AT - 1` per level).
//!
//! `lsh_runs` lists the runs: the row ids (`first` to `last`, of
//! `fingerprints`) whose keys each holds. Runs hold disjoint, contiguous
//! ranges of row ids, all at or below the held keys' watermark
//! (`index_keyed`); merged runs are neighbours, so their merge is a range
//! too. The run of a record's keys is found from its row id, to remove them
//! by primary key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use newswire_core::sink::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

use super::index::{FLUSH_ROWS, Pending};
use super::{begin_immediate, db_err, lock};
pub(super) use crate::key_filter::{KeyFilter, Probe, RUN_BITS};

/// Runs of one level merged into one of the next (the tiering factor).
/// 8 rather than 4: a merge holds up the store's commits while it runs
/// (docs/performance.md, "Where the second core goes idle"), and with 8 a
/// key is merged about two thirds as often. Side by side on the news
/// farm's backfill, 4–7% more items/s; lookups at 1,000,000 records cost
/// the same within the noise (`newswire-bench index`: 104 and 125 µs
/// against 107 and 112 with 4).
pub(super) const MERGE_AT: usize = 8;

/// Entries per key slice when merging: a merge copies its runs one slice of
/// the key space at a time, each in a transaction of its own (sorted in
/// memory, well under a MB; some 15 ms of the writer's time), so it never
/// sorts a whole level at once nor holds up the store's commits for long.
const SLICE_ENTRIES: i64 = 16_384;

/// The key table and its list of runs, in database `db` (`runs`, the runs
/// file, see [`super::runs_file`]; `main` only while an index of format 4
/// is converted, before it moves to the runs file).
pub(super) fn runs_schema(db: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {db}.lsh (
            run  INTEGER NOT NULL,
            key  INTEGER NOT NULL,
            at   INTEGER NOT NULL,
            rid  INTEGER NOT NULL,
            PRIMARY KEY (run, key, at, rid)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS {db}.lsh_runs (
            run      INTEGER PRIMARY KEY,
            level    INTEGER NOT NULL,
            first    INTEGER NOT NULL,
            last     INTEGER NOT NULL,
            entries  INTEGER NOT NULL,
            filter   BLOB
        );"
    )
}

/// The runs file's id (one row), matched with the store's at open (see
/// [`super::runs_file`]); and the merge under way, if any (one row, see
/// [`advance`]).
pub(super) const RUNS_FILE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS runs.runs_file (id INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS runs.lsh_merge (
        run      INTEGER PRIMARY KEY,
        inputs   TEXT NOT NULL,
        level    INTEGER NOT NULL,
        first    INTEGER NOT NULL,
        last     INTEGER NOT NULL,
        entries  INTEGER NOT NULL,
        slice    INTEGER NOT NULL,
        slices   INTEGER NOT NULL
    );";

/// The filters of the runs, by run id: those stored with them, and for a
/// run without one (converted from a single key table), one built from its
/// keys and stored.
pub(super) fn load_filters(conn: &Connection) -> rusqlite::Result<HashMap<i64, Arc<KeyFilter>>> {
    let mut out = HashMap::new();
    let stored: Vec<(i64, Option<Vec<u8>>, i64)> = {
        let mut stmt = conn.prepare("SELECT run, filter, entries FROM lsh_runs")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (run, blob, entries) in stored {
        let filter = match blob.as_deref().and_then(KeyFilter::from_bytes) {
            Some(filter) => filter,
            None => {
                let filter = filter_of_run(conn, run, entries)?;
                conn.execute("UPDATE lsh_runs SET filter = ?2 WHERE run = ?1", params![run, filter.to_bytes()])?;
                filter
            }
        };
        out.insert(run, Arc::new(filter));
    }
    Ok(out)
}

/// A filter of the keys `run` holds, read from `lsh` and added as they are
/// read, sized for `entries` (the run's count when written, which
/// removals never lower). Reading them into a list first held some 17 MB at
/// the largest merge of the news farm's backfill, at its peak of memory.
fn filter_of_run(conn: &Connection, run: i64, entries: i64) -> rusqlite::Result<KeyFilter> {
    let mut stmt = conn.prepare_cached("SELECT key FROM lsh WHERE run = ?1")?;
    let mut filter = KeyFilter::sized(usize::try_from(entries).unwrap_or(0), RUN_BITS);
    let mut rows = stmt.query([run])?;
    while let Some(row) = rows.next()? {
        filter.insert(row.get(0)?);
    }
    Ok(filter)
}

/// One run of `lsh`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Run {
    pub(super) run: i64,
    pub(super) level: i64,
    pub(super) first: i64,
    pub(super) last: i64,
    /// Entries when it was written (removals do not lower it): sizes the
    /// merge's slices.
    pub(super) entries: i64,
}

/// The runs, in row-id order (oldest records first).
pub(super) fn runs(conn: &Connection) -> rusqlite::Result<Vec<Run>> {
    let mut stmt = conn.prepare_cached("SELECT run, level, first, last, entries FROM lsh_runs ORDER BY first")?;
    let rows = stmt.query_map([], |r| {
        Ok(Run { run: r.get(0)?, level: r.get(1)?, first: r.get(2)?, last: r.get(3)?, entries: r.get(4)? })
    })?;
    rows.collect()
}

/// The run holding the keys of row `rid`, if any (none: its keys are held,
/// or it has none).
pub(super) fn run_of(conn: &Connection, rid: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT run FROM lsh_runs WHERE first <= ?1 AND last >= ?1")?
        .query_row([rid], |r| r.get(0))
        .optional()
}

/// Write `entries` (sorted by key, at, rid), the keys of rows `first` to
/// `last`, as a new run of level 0: appended after every other run.
pub(super) fn write_run(
    tx: &rusqlite::Transaction<'_>,
    entries: &[(i64, i64, i64)],
    first: i64,
    last: i64,
) -> Result<(i64, KeyFilter), StoreError> {
    let write_err = |e| db_err("cannot write the index", e);
    let run = next_run(tx).map_err(write_err)?;
    insert_rows(tx, run, entries).map_err(write_err)?;
    let filter = KeyFilter::of(entries.iter().map(|&(key, _, _)| key), entries.len());
    tx.execute(
        "INSERT INTO lsh_runs (run, level, first, last, entries, filter) VALUES (?1, 0, ?2, ?3, ?4, ?5)",
        params![run, first, last, i64::try_from(entries.len()).unwrap_or(i64::MAX), filter.to_bytes()],
    )
    .map_err(write_err)?;
    Ok((run, filter))
}

/// Append `entries` (sorted by key, at, rid) to `lsh` as rows of `run`.
fn insert_rows(tx: &rusqlite::Transaction<'_>, run: i64, entries: &[(i64, i64, i64)]) -> rusqlite::Result<()> {
    // ROWS_PER_INSERT rows a statement: one statement a row spent more on
    // running the statement (cursor opened, program started) than on the
    // row (docs/performance.md).
    let mut many = tx.prepare_cached(&INSERT_MANY)?;
    let mut chunks = entries.chunks_exact(ROWS_PER_INSERT);
    for chunk in &mut chunks {
        for (j, &(key, at, rid)) in chunk.iter().enumerate() {
            for (k, value) in [run, key, at, rid].into_iter().enumerate() {
                many.raw_bind_parameter(4 * j + k + 1, value)?;
            }
        }
        many.raw_execute()?;
    }
    let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO lsh (run, key, at, rid) VALUES (?1, ?2, ?3, ?4)")?;
    for &(key, at, rid) in chunks.remainder() {
        insert.execute(params![run, key, at, rid])?;
    }
    Ok(())
}

/// Rows of `lsh` written by one statement of [`write_run`].
const ROWS_PER_INSERT: usize = 64;

/// The statement that writes [`ROWS_PER_INSERT`] rows of `lsh`.
static INSERT_MANY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("INSERT OR IGNORE INTO lsh (run, key, at, rid) VALUES {}", vec!["(?, ?, ?, ?)"; ROWS_PER_INSERT].join(", "))
});

/// An id above every listed run's and the merge under way's.
fn next_run(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT max(coalesce((SELECT max(run) FROM lsh_runs), 0), coalesce((SELECT max(run) FROM lsh_merge), 0)) + 1",
        [],
        |r| r.get(0),
    )
}

/// Drop the runs above the watermark `keyed` (orphans: written by a flush
/// whose watermark never committed, see [`super::runs_file`]); their rows'
/// keys are held. A merge of some of them is given up. Inside `tx`; returns
/// their ids, and the given-up merge's new run.
pub(super) fn drop_orphans(tx: &rusqlite::Transaction<'_>, keyed: i64) -> Result<Vec<i64>, StoreError> {
    let write_err = |e| db_err("cannot drop unlisted index runs", e);
    let given_up = give_up(tx, keyed).map_err(write_err)?;
    let mut orphans: Vec<i64> = {
        let mut stmt = tx
            .prepare_cached("SELECT run FROM lsh_runs WHERE last > ?1")
            .map_err(|e| db_err("cannot prepare the index runs", e))?;
        let rows = stmt.query_map([keyed], |r| r.get(0)).map_err(write_err)?;
        rows.collect::<Result<_, _>>().map_err(write_err)?
    };
    for &run in &orphans {
        tx.execute("DELETE FROM lsh WHERE run = ?1", [run]).map_err(write_err)?;
        tx.execute("DELETE FROM lsh_runs WHERE run = ?1", [run]).map_err(write_err)?;
    }
    orphans.extend(given_up);
    Ok(orphans)
}

/// The runs to merge next: the [`MERGE_AT`] or more runs of the lowest
/// level that has that many (neighbours in row-id order, as every level's
/// runs are newer than the higher levels'), or none.
pub(super) fn due(runs: &[Run]) -> Option<Vec<Run>> {
    let mut levels: Vec<i64> = runs.iter().map(|r| r.level).collect();
    levels.sort_unstable();
    levels.dedup();
    for level in levels {
        let group: Vec<Run> = runs.iter().filter(|r| r.level == level).copied().collect();
        if group.len() >= MERGE_AT {
            return Some(group);
        }
    }
    None
}

/// A merge is paced to end by the time this many rows have been indexed
/// since it began (see [`advance`]): half a level 0's worth of flushes, so
/// no level gathers more than half again [`MERGE_AT`] runs while a merge
/// above it runs.
const PACE_ROWS: usize = FLUSH_ROWS * MERGE_AT / 2;

/// The merge under way as this process knows it: its new run, and that
/// run's filter as far as its slices are copied (none when the merge was
/// begun by an earlier process: built from the run's keys at the end).
#[derive(Debug)]
pub(super) struct Merging {
    pub(super) run: i64,
    filter: Option<KeyFilter>,
}

/// A merge under way, as `lsh_merge` records it: runs `inputs` (one level,
/// neighbours in row-id order) into the run `run`, unlisted until it lists
/// it, for rows `first` to `last`, at level `level`; `slice` of its
/// [`Merge::steps`] are done.
#[derive(Debug, Clone, PartialEq)]
struct Merge {
    run: i64,
    inputs: Vec<i64>,
    level: i64,
    first: i64,
    last: i64,
    entries: i64,
    slice: i64,
    slices: i64,
}

impl Merge {
    /// A merge's steps, each a transaction: its slices copied (`0..slices`),
    /// the new run listed in place of the old ones (`slices`), the old runs'
    /// rows dropped a slice at a time (to `2 * slices`); `slice` counts
    /// those done. Dropping 2,300,000 entries at once held up the store's
    /// commits for half a second.
    fn steps(&self) -> i64 {
        2 * self.slices + 1
    }

    /// The keys of slice `slice`: equal parts of [0, 2^32) (keys are 32-bit
    /// hashes, so the parts hold about equal numbers of entries), the first
    /// and last reaching past it, so no entry is left behind whatever its key.
    fn bounds(&self, slice: i64) -> (i64, i64) {
        let width = (1i64 << 32) / self.slices + 1;
        let low = if slice == 0 { i64::MIN } else { slice * width };
        let high = if slice == self.slices - 1 { i64::MAX } else { (slice + 1) * width - 1 };
        (low, high)
    }
}

/// The merge under way, if any.
fn under_way(conn: &Connection) -> rusqlite::Result<Option<Merge>> {
    conn.prepare_cached("SELECT run, inputs, level, first, last, entries, slice, slices FROM lsh_merge")?
        .query_row([], |r| {
            let inputs: String = r.get(1)?;
            Ok(Merge {
                run: r.get(0)?,
                inputs: serde_json::from_str(&inputs).unwrap_or_default(),
                level: r.get(2)?,
                first: r.get(3)?,
                last: r.get(4)?,
                entries: r.get(5)?,
                slice: r.get(6)?,
                slices: r.get(7)?,
            })
        })
        .optional()
}

/// The merge under way in `conn`, as a process that did not begin it
/// knows it (at open).
pub(super) fn resumed(conn: &Connection) -> rusqlite::Result<Option<Merging>> {
    Ok(under_way(conn)?.map(|merge| Merging { run: merge.run, filter: None }))
}

/// The new run of the merge under way whose rows' range holds `rid`, if
/// any: a key removed from an input run must leave it too, as its slice
/// may be copied already.
pub(super) fn merging_into(conn: &Connection, rid: i64) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT run FROM lsh_merge WHERE first <= ?1 AND last >= ?1")?
        .query_row([rid], |r| r.get(0))
        .optional()
}

/// Give up the merge under way when it reaches above the watermark
/// `keyed` (some of its inputs are orphans, see [`drop_orphans`]): its new
/// run's rows and its record go. Inside `tx`; returns the run given up.
fn give_up(tx: &rusqlite::Transaction<'_>, keyed: i64) -> rusqlite::Result<Option<i64>> {
    let Some(merge) = under_way(tx)? else { return Ok(None) };
    if merge.last <= keyed {
        return Ok(None);
    }
    if merge.slice > merge.slices {
        // Listed already (an orphan run now, dropped as one): what is left
        // is its old runs' rows.
        for &old in &merge.inputs {
            tx.execute("DELETE FROM lsh WHERE run = ?1", [old])?;
        }
        tx.execute("DELETE FROM lsh_merge WHERE run = ?1", [merge.run])?;
        return Ok(None);
    }
    tx.execute("DELETE FROM lsh WHERE run = ?1", [merge.run])?;
    tx.execute("DELETE FROM lsh_merge WHERE run = ?1", [merge.run])?;
    Ok(Some(merge.run))
}

/// Merge runs while some level has [`MERGE_AT`] of them, to the end: at a
/// close, at open, and in tests.
pub(super) fn compact(conn: &mut Connection, pending: &Mutex<Pending>) -> Result<(), StoreError> {
    advance(conn, pending, None)
}

/// Merge runs as a writer does between its batches: with `rows` indexed
/// by the batch, the merge under way (or the one due, begun) moves on by
/// its share of [`PACE_ROWS`], and at least a slice; `None`: every merge
/// due, to the end.
///
/// A merge is copied a slice of the key space at a time, each slice in a
/// transaction of its own into a run that no lookup reads until the last
/// transaction lists it and drops the runs it replaces; where it stands is
/// in `lsh_merge`, so a merge cut short goes on after a restart. So a
/// merge never holds up the store's commits for longer than its share (in
/// one transaction it held them for 1-6 s at 50,000 records, depending on
/// the machine, tens of seconds at 1,000,000: docs/performance.md). Meanwhile: lookups read the old runs;
/// a key removed from one of them leaves the new run too
/// ([`merging_into`]); flushes make runs with ids above the new one; a
/// merge whose inputs turn out to be orphans is given up.
pub(super) fn advance(conn: &mut Connection, pending: &Mutex<Pending>, rows: Option<usize>) -> Result<(), StoreError> {
    advance_by(conn, pending, rows, SLICE_ENTRIES)
}

/// [`advance`], a merge begun here cut in slices of `slice_entries`.
fn advance_by(
    conn: &mut Connection,
    pending: &Mutex<Pending>,
    rows: Option<usize>,
    slice_entries: i64,
) -> Result<(), StoreError> {
    let read_err = |e| db_err("cannot read the index runs", e);
    let write_err = |e| db_err("cannot merge the index", e);
    loop {
        let keyed = lock(pending).keyed;
        let merge = match under_way(conn).map_err(read_err)? {
            Some(merge) if merge.last > keyed => {
                let tx = begin_immediate(conn)?;
                give_up(&tx, keyed).map_err(write_err)?;
                tx.commit().map_err(|e| db_err("cannot commit the index merge", e))?;
                lock(pending).merging = None;
                continue;
            }
            Some(merge) => merge,
            None => {
                // Orphans (see `drop_orphans`) wait for the next flush.
                let mut all = runs(conn).map_err(read_err)?;
                all.retain(|run| run.last <= keyed);
                let Some(group) = due(&all) else { return Ok(()) };
                let tx = begin_immediate(conn)?;
                let merge = begin_merge(&tx, &group, slice_entries).map_err(write_err)?;
                tx.commit().map_err(|e| db_err("cannot commit the index merge", e))?;
                let filter = KeyFilter::sized(usize::try_from(merge.entries).unwrap_or(0), RUN_BITS);
                lock(pending).merging = Some(Merging { run: merge.run, filter: Some(filter) });
                merge
            }
        };
        let left = merge.steps() - merge.slice;
        let todo = match rows {
            None => left,
            Some(rows) => {
                let share = (merge.steps() as u128 * rows as u128).div_ceil(PACE_ROWS as u128);
                i64::try_from(share).unwrap_or(i64::MAX).clamp(1, left)
            }
        };
        let started = std::time::Instant::now();
        let mut keys: Vec<i64> = Vec::new();
        for step in merge.slice..merge.slice + todo {
            if step < merge.slices {
                let tx = begin_immediate(conn)?;
                keys.clear();
                copy_slice(&tx, &merge, step, &mut keys).map_err(write_err)?;
                tx.commit().map_err(|e| db_err("cannot commit the index merge", e))?;
                let mut pending = lock(pending);
                match &mut pending.merging {
                    Some(Merging { run, filter: Some(filter) }) if *run == merge.run => {
                        keys.iter().for_each(|&key| filter.insert(key));
                    }
                    // Begun by an earlier process, or by one that lost track.
                    _ => pending.merging = Some(Merging { run: merge.run, filter: None }),
                }
            } else if step == merge.slices {
                list(conn, pending, &merge)?;
            } else {
                let tx = begin_immediate(conn)?;
                drop_slice(&tx, &merge, step - merge.slices - 1).map_err(write_err)?;
                tx.commit().map_err(|e| db_err("cannot commit the index merge", e))?;
            }
        }
        tracing::trace!(
            run = merge.run,
            steps = todo,
            ms = started.elapsed().as_millis() as u64,
            "index merge moved on"
        );
        if merge.slice + todo < merge.steps() {
            return Ok(());
        }
        lock(pending).merging = None;
        if rows.is_some() {
            return Ok(());
        }
    }
}

/// Record a merge of `group` (runs of one level, neighbours in row-id
/// order) into a new run of the next level, in slices of about
/// `slice_entries`, none of it copied. Inside `tx`.
fn begin_merge(tx: &rusqlite::Transaction<'_>, group: &[Run], slice_entries: i64) -> rusqlite::Result<Merge> {
    let entries: i64 = group.iter().map(|r| r.entries).sum();
    let merge = Merge {
        run: next_run(tx)?,
        inputs: group.iter().map(|r| r.run).collect(),
        level: group.iter().map(|r| r.level).max().unwrap_or(0) + 1,
        first: group.iter().map(|r| r.first).min().unwrap_or(0),
        last: group.iter().map(|r| r.last).max().unwrap_or(0),
        entries,
        slice: 0,
        slices: (entries / slice_entries.max(1)).clamp(1, 1 << 16),
    };
    let inputs = serde_json::to_string(&merge.inputs).unwrap_or_else(|_| "[]".to_string());
    tx.execute(
        "INSERT INTO lsh_merge (run, inputs, level, first, last, entries, slice, slices)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)",
        params![merge.run, inputs, merge.level, merge.first, merge.last, merge.entries, merge.slices],
    )?;
    Ok(merge)
}

/// Copy slice `slice` of `merge`'s inputs into its new run, in key order
/// (appended), and count it copied; the keys copied go to `keys`. Inside
/// `tx`.
fn copy_slice(tx: &rusqlite::Transaction<'_>, merge: &Merge, slice: i64, keys: &mut Vec<i64>) -> rusqlite::Result<()> {
    let (low, high) = merge.bounds(slice);
    let inputs = serde_json::to_string(&merge.inputs).unwrap_or_else(|_| "[]".to_string());
    let rows: Vec<(i64, i64, i64)> = {
        let mut read = tx.prepare_cached(
            "SELECT key, at, rid FROM lsh
             WHERE run IN (SELECT value FROM json_each(?1)) AND key >= ?2 AND key <= ?3
             ORDER BY key, at, rid",
        )?;
        let rows = read.query_map(params![inputs, low, high], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    insert_rows(tx, merge.run, &rows)?;
    keys.extend(rows.iter().map(|&(key, _, _)| key));
    tx.execute("UPDATE lsh_merge SET slice = ?2 WHERE run = ?1", params![merge.run, slice + 1])?;
    Ok(())
}

/// Drop the rows of slice `slice` of `merge`'s old runs (unlisted), and
/// count it done; after the last, the merge is over. Inside `tx`.
fn drop_slice(tx: &rusqlite::Transaction<'_>, merge: &Merge, slice: i64) -> rusqlite::Result<()> {
    let (low, high) = merge.bounds(slice);
    let mut delete = tx.prepare_cached("DELETE FROM lsh WHERE run = ?1 AND key >= ?2 AND key <= ?3")?;
    for &old in &merge.inputs {
        delete.execute(params![old, low, high])?;
    }
    if slice + 1 == merge.slices {
        tx.execute("DELETE FROM lsh_merge WHERE run = ?1", [merge.run])?;
    } else {
        tx.execute("UPDATE lsh_merge SET slice = ?2 WHERE run = ?1", params![merge.run, merge.slices + slice + 2])?;
    }
    Ok(())
}

/// A merge's copy done: its new run listed with its filter, the runs it
/// replaces unlisted (their rows dropped in the steps after), in one
/// transaction; then the filters and the cache follow.
fn list(conn: &mut Connection, pending: &Mutex<Pending>, merge: &Merge) -> Result<(), StoreError> {
    let write_err = |e| db_err("cannot merge the index", e);
    let started = std::time::Instant::now();
    let built = {
        let mut pending = lock(pending);
        match pending.merging.take() {
            Some(Merging { run, filter }) if run == merge.run => filter,
            _ => None,
        }
    };
    let tx = begin_immediate(conn)?;
    let filter = match built {
        Some(filter) => filter,
        None => filter_of_run(&tx, merge.run, merge.entries).map_err(write_err)?,
    };
    for &old in &merge.inputs {
        tx.execute("DELETE FROM lsh_runs WHERE run = ?1", [old]).map_err(write_err)?;
    }
    tx.execute(
        "INSERT INTO lsh_runs (run, level, first, last, entries, filter) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![merge.run, merge.level, merge.first, merge.last, merge.entries, filter.to_bytes()],
    )
    .map_err(write_err)?;
    tx.execute("UPDATE lsh_merge SET slice = ?2 WHERE run = ?1", params![merge.run, merge.slices + 1])
        .map_err(write_err)?;
    tx.commit().map_err(|e| db_err("cannot commit the index merge", e))?;
    // A lookup whose snapshot has the new run but finds no filter for it
    // reads the run for every key: slower, never wrong. The merged runs'
    // cached lists go with them (a lookup still reading them from its
    // snapshot keeps nothing: the epoch moves).
    let mut pending = lock(pending);
    for old in &merge.inputs {
        pending.filters.remove(old);
    }
    pending.filters.insert(merge.run, Arc::new(filter));
    pending.cache.forget_runs(&merge.inputs);
    // Still under way: the old rows are to drop.
    pending.merging = Some(Merging { run: merge.run, filter: None });
    drop(pending);
    tracing::debug!(
        runs = merge.inputs.len(),
        level = merge.level,
        entries = merge.entries,
        slices = merge.slices,
        ms = started.elapsed().as_millis() as u64,
        "near-duplicate index runs merged"
    );
    Ok(())
}

/// Drop the runs whose records have all left the index (pruned: their keys
/// went with them), so lookups do not read their empty ranges. Inside `tx`.
pub(super) fn drop_emptied(tx: &rusqlite::Transaction<'_>) -> Result<Vec<i64>, StoreError> {
    let write_err = |e| db_err("cannot update the index runs", e);
    let oldest: Option<i64> = tx.query_row("SELECT min(rid) FROM fingerprints", [], |r| r.get(0)).map_err(write_err)?;
    let gone: Vec<i64> = {
        let mut stmt = tx
            .prepare_cached("SELECT run FROM lsh_runs WHERE last < ?1")
            .map_err(|e| db_err("cannot prepare the index runs", e))?;
        let rows = stmt.query_map([oldest.unwrap_or(i64::MAX)], |r| r.get(0)).map_err(write_err)?;
        rows.collect::<Result<_, _>>().map_err(write_err)?
    };
    for &run in &gone {
        // Empty by the invariant; a delete that finds nothing is cheap.
        tx.execute("DELETE FROM lsh WHERE run = ?1", [run]).map_err(write_err)?;
        tx.execute("DELETE FROM lsh_runs WHERE run = ?1", [run]).map_err(write_err)?;
    }
    Ok(gone)
}

/// The level of a run of `records` records' keys, as if it had been built
/// by flushes of `flush_rows` and merges (for an index converted from a
/// single key table).
pub(super) fn level_for(records: i64, flush_rows: i64) -> i64 {
    let mut level = 0;
    let mut size = flush_rows.max(1) * MERGE_AT as i64;
    while records >= size {
        level += 1;
        size = size.saturating_mul(MERGE_AT as i64);
    }
    level
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(run: i64, level: i64, first: i64, last: i64) -> Run {
        Run { run, level, first, last, entries: last - first + 1 }
    }

    #[test]
    fn the_lowest_full_level_is_merged_first() {
        let m = MERGE_AT as i64;
        // A full level 2 and 1 would be merged too, but level 0 goes first.
        let mut runs: Vec<Run> = (0..m).map(|i| run(1 + i, 2, 1 + 100 * i, 100 + 100 * i)).collect();
        runs.extend((0..m).map(|i| run(100 + i, 1, 10_000 + 10 * i, 10_009 + 10 * i)));
        runs.extend((0..m - 1).map(|i| run(200 + i, 0, 20_000 + i, 20_000 + i)));
        let level_0: Vec<i64> = (0..m).map(|i| 200 + i).collect();
        assert_eq!(due(&runs).map(|g| g[0].level), Some(1), "level 0 is one short");
        runs.push(run(200 + m - 1, 0, 20_000 + m - 1, 20_000 + m - 1));
        assert_eq!(due(&runs).map(|g| g.iter().map(|r| r.run).collect::<Vec<_>>()), Some(level_0));
        runs.retain(|r| r.level == 0);
        runs.pop();
        assert_eq!(due(&runs), None);
        assert_eq!(level_for(10 * m, 10), 1);
        assert_eq!(level_for(10 * m - 1, 10), 0);
        assert_eq!(level_for(10 * m * m, 10), 2);
    }
}

#[cfg(test)]
mod store_tests {
    use chrono::{Duration, Utc};
    use newswire_core::fingerprint::Fingerprint;
    use newswire_core::sink::{Sink, StateStore};
    use newswire_core::state::Indexed;

    use super::super::lock;
    use super::super::sink::SqliteSink;
    use super::super::store::SqliteStore;
    use super::super::tests::checkpoint;
    use super::*;

    fn text(i: usize) -> String {
        (0..60).map(|j| format!("w{i}x{j}")).collect::<Vec<_>>().join(" ")
    }

    fn index(store: &SqliteStore, id: &str, text: &str, at: chrono::DateTime<Utc>) {
        let mut cp = checkpoint(&[]);
        let fingerprint = Fingerprint::of(text).expect("fingerprint");
        cp.fingerprints = vec![Indexed { id: id.into(), fingerprint, cluster: None, at }];
        store.write_blocking(&[], Some(&cp)).expect("index");
    }

    /// Flush the held keys as a run, and merge.
    fn flush(store: &SqliteStore) {
        flush_only(store);
        merge_all(store);
    }

    /// Every merge due, to the end.
    fn merge_all(store: &SqliteStore) {
        let mut conn = lock(&store.inner.writer);
        compact(&mut conn, &store.inner.pending).expect("merge");
    }

    fn levels(store: &SqliteStore) -> Vec<i64> {
        runs(&lock(&store.inner.reader)).expect("runs").iter().map(|r| r.level).collect()
    }

    fn in_lsh(store: &SqliteStore) -> i64 {
        lock(&store.inner.reader).query_row("SELECT COUNT(*) FROM lsh", [], |r| r.get(0)).expect("count")
    }

    async fn found(store: &SqliteStore, i: usize) -> Option<String> {
        let copy = Fingerprint::of(&format!("From the wire: {}", text(i))).expect("fingerprint");
        let since = Utc::now() - Duration::days(7);
        let found = store.find_similar(&[("copy".to_string(), copy)], since, 0.5).await.expect("lookup");
        found[0].as_ref().map(|m| m.cluster.clone())
    }

    #[tokio::test]
    async fn keys_in_merged_runs_are_found_removed_and_pruned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("runs.db")).expect("opens");
        let records = MERGE_AT * MERGE_AT + 1;
        let keys = |i: usize| Fingerprint::of(&text(i)).expect("fingerprint").keys().len() as i64;
        for i in 0..records {
            index(&store, &format!("r{i}"), &text(i), Utc::now());
            flush(&store);
        }
        // 16 flushes: four merges into level 1, one into level 2; then one more.
        assert_eq!(levels(&store), [2, 0]);
        assert_eq!(in_lsh(&store), (0..records).map(keys).sum::<i64>(), "every key once");
        for i in 0..records {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i} through the merged runs");
        }

        // Indexed again with another text: the old keys leave their run.
        index(&store, "r3", &text(100), Utc::now());
        assert_eq!(found(&store, 3).await, None);
        flush(&store);
        assert_eq!(found(&store, 100).await, Some("r3".to_string()));
        let expected = (0..records).filter(|&i| i != 3).map(keys).sum::<i64>() + keys(100);
        assert_eq!(in_lsh(&store), expected, "no stale keys");

        // Pruned to nothing: the keys go, and the emptied runs with them.
        assert_eq!(store.prune_index(Utc::now() + Duration::days(1), 1000).await.expect("prune"), records as u64);
        assert_eq!((in_lsh(&store), levels(&store)), (0, vec![]));

        // Closing flushes and merges: runs do not pile up.
        for i in 0..MERGE_AT {
            index(&store, &format!("late{i}"), &text(200 + i), Utc::now());
            SqliteSink::new(store.clone(), true).close().await.expect("close");
        }
        assert_eq!(levels(&store), [1]);
        assert_eq!(found(&store, 201).await, Some("late1".to_string()));
    }

    /// Flush the held keys as a run, merging nothing.
    fn flush_only(store: &SqliteStore) {
        let mut conn = lock(&store.inner.writer);
        lock(&store.inner.pending).flush(&mut conn).expect("flush");
    }

    fn merge(store: &SqliteStore) -> Option<Merge> {
        under_way(&lock(&store.inner.reader)).expect("merge")
    }

    /// Begin a merge of MERGE_AT runs of one record each, in slices of one
    /// entry, and copy `slices` of them.
    fn begin_with(store: &SqliteStore, slices: usize) -> Merge {
        for i in 0..MERGE_AT {
            index(store, &format!("r{i}"), &text(i), Utc::now());
            flush_only(store);
        }
        let mut conn = lock(&store.inner.writer);
        // Rows paced so that each call copies one slice.
        for _ in 0..slices {
            advance_by(&mut conn, &store.inner.pending, Some(1), 1).expect("a slice");
        }
        drop(conn);
        merge(store).expect("a merge under way")
    }

    fn keys_of(i: usize) -> i64 {
        Fingerprint::of(&text(i)).expect("fingerprint").keys().len() as i64
    }

    #[tokio::test]
    async fn a_merge_goes_a_slice_at_a_time_and_lookups_read_the_old_runs_meanwhile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("slices.db")).expect("opens");
        let under_way = begin_with(&store, 3);
        assert_eq!(under_way.slice, 3, "one slice a call");
        assert!(under_way.slices > 100, "slices of one entry: {}", under_way.slices);
        assert_eq!(levels(&store), vec![0; MERGE_AT], "the new run is not listed");
        let all: i64 = (0..MERGE_AT).map(keys_of).sum();
        assert!(in_lsh(&store) > all, "copied rows beside the old runs' ({} of {all})", in_lsh(&store));
        assert_eq!(store.index_size().expect("size").1, all as u64, "the index counts the listed runs' keys");
        for i in 0..MERGE_AT {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i} through the old runs");
        }
        // A write moves it on by a slice at least.
        index(&store, "other", &text(40), Utc::now());
        assert_eq!(merge(&store).map(|m| m.slice), Some(4));
        // To the end: one run of level 1, every key once, all found.
        merge_all(&store);
        assert_eq!((levels(&store), merge(&store)), (vec![1], None));
        assert_eq!(in_lsh(&store), all, "every key once");
        let run = runs(&lock(&store.inner.reader)).expect("runs")[0].run;
        assert_eq!(run, under_way.run);
        let from_rows = filter_of_run(&lock(&store.inner.reader), run, under_way.entries).expect("filter");
        assert_eq!(lock(&store.inner.pending).filters[&run].to_bytes(), from_rows.to_bytes(), "built as copied");
        for i in 0..MERGE_AT {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i} through the merged run");
        }
        assert_eq!(found(&store, 40).await, Some("other".to_string()), "held");
    }

    #[tokio::test]
    async fn a_record_indexed_again_during_a_merge_leaves_no_key_in_the_merged_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("again.db")).expect("opens");
        let under_way = begin_with(&store, 1);
        // Every slice but the last copied: r3's keys are in the new run.
        {
            let mut conn = lock(&store.inner.writer);
            for _ in 2..under_way.slices {
                advance_by(&mut conn, &store.inner.pending, Some(1), 1).expect("a slice");
            }
        }
        assert_eq!(merge(&store).map(|m| m.slices - m.slice), Some(1));
        index(&store, "r3", &text(100), Utc::now());
        assert_eq!(merge(&store).map(|m| m.slice), Some(under_way.slices), "that write copied the last slice");
        assert_eq!(levels(&store), vec![0; MERGE_AT], "not listed yet");
        merge_all(&store);
        assert_eq!((levels(&store), merge(&store)), (vec![1], None));
        assert_eq!(found(&store, 3).await, None, "r3's old text");
        assert_eq!(found(&store, 100).await, Some("r3".to_string()));
        let live: i64 = (0..MERGE_AT).filter(|&i| i != 3).map(keys_of).sum();
        assert_eq!(in_lsh(&store), live, "no key of r3's old text in the merged run");
    }

    #[tokio::test]
    async fn a_merge_cut_short_goes_on_after_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("restart.db");
        let store = SqliteStore::open(&path).expect("opens");
        let under_way = begin_with(&store, 5);
        // No close: as if the process died.
        drop(store);
        let store = SqliteStore::open(&path).expect("opens again");
        assert_eq!(merge(&store).map(|m| m.slice), Some(5), "where it stood");
        assert_eq!(lock(&store.inner.pending).merging.as_ref().map(|m| m.run), Some(under_way.run));
        for i in 0..MERGE_AT {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i} through the old runs");
        }
        // A flush makes a run with an id of its own, above the new run's.
        index(&store, "late", &text(50), Utc::now());
        flush_only(&store);
        merge_all(&store);
        let all = runs(&lock(&store.inner.reader)).expect("runs");
        assert_eq!(
            all.iter().map(|r| (r.run, r.level)).collect::<Vec<_>>(),
            [(under_way.run, 1), (under_way.run + 1, 0)]
        );
        assert_eq!(in_lsh(&store), (0..MERGE_AT).map(keys_of).sum::<i64>() + keys_of(50), "every key once");
        for i in (0..MERGE_AT).chain([50]) {
            assert!(found(&store, i).await.is_some(), "record {i} after the merge");
        }
    }

    #[tokio::test]
    async fn the_old_runs_rows_go_a_slice_at_a_time_once_the_new_run_is_listed_even_across_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("drop.db");
        let store = SqliteStore::open(&path).expect("opens");
        let under_way = begin_with(&store, 1);
        {
            let mut conn = lock(&store.inner.writer);
            // The rest copied, the new run listed, two slices of the old dropped.
            for _ in 1..under_way.slices + 3 {
                advance_by(&mut conn, &store.inner.pending, Some(1), 1).expect("a step");
            }
        }
        assert_eq!(merge(&store).map(|m| m.slice), Some(under_way.slices + 3));
        assert_eq!(levels(&store), vec![1], "listed in place of the old runs");
        let all: i64 = (0..MERGE_AT).map(keys_of).sum();
        assert!(in_lsh(&store) > all, "old rows left to drop ({} of {all})", in_lsh(&store));
        for i in 0..MERGE_AT {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i} through the new run");
        }
        drop(store);
        let store = SqliteStore::open(&path).expect("opens again");
        assert!(lock(&store.inner.pending).merging.is_some(), "still under way");
        index(&store, "late", &text(50), Utc::now());
        assert_eq!(merge(&store).map(|m| m.slice), Some(under_way.slices + 4), "a write drops a slice");
        merge_all(&store);
        assert_eq!(merge(&store), None);
        assert!(lock(&store.inner.pending).merging.is_none());
        assert_eq!(in_lsh(&store), all, "no old row left");
        for i in 0..MERGE_AT {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i}");
        }
    }

    #[tokio::test]
    async fn a_merge_of_runs_found_orphaned_is_given_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("orphans.db");
        let store = SqliteStore::open(&path).expect("opens");
        let under_way = begin_with(&store, 2);
        // The watermark as an older copy of the store's file would have it:
        // the last runs' rows above it, their keys held again at open.
        let below = under_way.last - 2;
        lock(&store.inner.writer).execute("UPDATE main.index_keyed SET keyed = ?1", [below]).expect("watermark");
        drop(store);
        let store = SqliteStore::open(&path).expect("opens again");
        assert!(merge(&store).is_some(), "left to the next flush or slice");
        index(&store, "late", &text(50), Utc::now());
        assert_eq!(merge(&store), None, "given up");
        flush_only(&store);
        for i in 0..MERGE_AT {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i}");
        }
        assert_eq!(in_lsh(&store), (0..MERGE_AT).map(keys_of).sum::<i64>() + keys_of(50), "every key once");
    }

    fn cache_hits(store: &SqliteStore) -> u64 {
        store.index_cache().0
    }

    #[tokio::test]
    async fn cached_lists_of_merged_runs_go_and_the_merged_run_is_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("cache.db")).expect("opens");
        for i in 0..MERGE_AT {
            index(&store, &format!("r{i}"), &text(i), Utc::now());
            flush(&store);
            if i + 1 < MERGE_AT {
                // Read through the run just written, twice: the second
                // lookup is served from the cache.
                assert_eq!(found(&store, i).await, Some(format!("r{i}")));
                let hits = cache_hits(&store);
                assert_eq!(found(&store, i).await, Some(format!("r{i}")));
                assert!(cache_hits(&store) > hits, "the second lookup of record {i} hit the cache");
            }
        }
        let cache = Arc::clone(&lock(&store.inner.pending).cache);
        let merged: Vec<i64> = runs(&lock(&store.inner.reader)).expect("runs").iter().map(|r| r.run).collect();
        assert_eq!(merged.len(), 1, "MERGE_AT runs merged into one");
        assert!(cache.cached_runs().iter().all(|run| merged.contains(run)), "lists of merged runs left the cache");
        for i in 0..MERGE_AT {
            assert_eq!(found(&store, i).await, Some(format!("r{i}")), "record {i} through the merged run");
        }
        assert_eq!(cache.cached_runs(), merged);
    }

    #[tokio::test]
    async fn a_run_id_used_again_never_serves_the_lists_of_the_run_it_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("reuse.db")).expect("opens");
        index(&store, "a", &text(1), Utc::now());
        flush(&store);
        let first = runs(&lock(&store.inner.reader)).expect("runs")[0].run;
        assert_eq!(found(&store, 1).await, Some("a".to_string()));
        assert_eq!(found(&store, 1).await, Some("a".to_string()), "from the cache: run {first}'s lists, a's row");
        // Everything pruned: the run goes; the next flush makes a run with
        // the same id, holding the same keys for another record.
        assert_eq!(store.prune_index(Utc::now() + Duration::days(1), 1000).await.expect("prune"), 1);
        index(&store, "b", &text(1), Utc::now());
        flush(&store);
        assert_eq!(runs(&lock(&store.inner.reader)).expect("runs")[0].run, first, "the run id is used again");
        assert_eq!(found(&store, 1).await, Some("b".to_string()), "a's lists or row served after it was pruned");
        assert_eq!(found(&store, 1).await, Some("b".to_string()));
    }

    #[tokio::test]
    async fn a_record_indexed_again_is_never_found_by_its_old_text_from_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("again.db")).expect("opens");
        for i in 0..3 {
            index(&store, &format!("r{i}"), &text(i), Utc::now());
        }
        flush(&store);
        assert_eq!(found(&store, 1).await, Some("r1".to_string()));
        let hits = cache_hits(&store);
        assert_eq!(found(&store, 1).await, Some("r1".to_string()));
        assert!(cache_hits(&store) > hits, "r1's lists and row cached");
        // r1 gets another text: its old keys leave the run (and the cache),
        // its new row has a new row id.
        index(&store, "r1", &text(50), Utc::now());
        assert_eq!(found(&store, 1).await, None, "r1's old text served from the cache");
        assert_eq!(found(&store, 50).await, Some("r1".to_string()), "its new text, held");
        flush(&store);
        assert_eq!(found(&store, 1).await, None);
        assert_eq!(found(&store, 50).await, Some("r1".to_string()), "and in a run");
        assert_eq!(found(&store, 50).await, Some("r1".to_string()));
        assert_eq!(found(&store, 2).await, Some("r2".to_string()), "the other records' lists unharmed");
    }

    #[tokio::test]
    async fn an_index_of_one_key_table_becomes_its_first_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("v4.db");
        let fp = Fingerprint::of(&text(1)).expect("fingerprint");
        {
            let conn = rusqlite::Connection::open(&path).expect("open");
            conn.execute_batch(
                "CREATE TABLE fingerprints (rid INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                     sig BLOB NOT NULL, cluster TEXT, at INTEGER NOT NULL);
                 CREATE TABLE lsh (key INTEGER NOT NULL, at INTEGER NOT NULL, rid INTEGER NOT NULL,
                     PRIMARY KEY (key, at, rid)) WITHOUT ROWID;
                 CREATE TABLE index_keyed (keyed INTEGER NOT NULL);
                 PRAGMA user_version = 4;",
            )
            .expect("an index of format 4");
            let at = Utc::now().timestamp();
            for (id, text) in [("a", text(1)), ("b", text(2))] {
                let sig = Fingerprint::of(&text).expect("fingerprint").to_bytes();
                conn.execute(
                    "INSERT INTO fingerprints (id, sig, at) VALUES (?1, ?2, ?3)",
                    rusqlite::params![id, sig, at],
                )
                .expect("fingerprint");
            }
            // Row 1's keys are in lsh; row 2's are held (above the watermark).
            conn.execute("INSERT INTO index_keyed VALUES (1)", []).expect("watermark");
            for key in fp.keys() {
                conn.execute("INSERT INTO lsh VALUES (?1, ?2, 1)", rusqlite::params![key, at]).expect("key");
            }
        }
        let store = SqliteStore::open(&path).expect("opens and converts");
        let all = runs(&lock(&store.inner.reader)).expect("runs");
        assert_eq!(all, [Run { run: 1, level: 0, first: 0, last: 1, entries: fp.keys().len() as i64 }]);
        let filters = load_filters(&lock(&store.inner.reader)).expect("filters");
        assert!(fp.keys().iter().all(|&k| filters[&1].may_hold(k)), "a filter built for the converted run");
        assert_eq!(in_lsh(&store), fp.keys().len() as i64, "every entry kept");
        assert_eq!(found(&store, 1).await, Some("a".to_string()), "found in the run");
        assert_eq!(found(&store, 2).await, Some("b".to_string()), "and the held keys");
        drop(store);
        let store = SqliteStore::open(&path).expect("opens again");
        assert_eq!(runs(&lock(&store.inner.reader)).expect("runs").len(), 1);
    }
}
