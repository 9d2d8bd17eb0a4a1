//! What lookups read from the near-duplicate index, kept in memory across
//! commits: each run's list under a key, and candidates' stored
//! fingerprints (docs/clusters.md).
//!
//! A lookup connection's page cache is dropped whenever another connection
//! commits (WAL mode), that is after every batch; at 1,000,000 records a
//! lookup read most of its pages again from the file (a fifth of its CPU in
//! `pread`). What it reads changes far less often than the file does:
//!
//! - a run's rows under a key change only when a record's keys leave the
//!   run (the record indexed again, or pruned), and go when the run is
//!   merged away or emptied; a run is never added to;
//! - a `fingerprints` row never changes: a record indexed again gets a new
//!   row id, and row ids are never reused (AUTOINCREMENT).
//!
//! So a list is kept by (run, key) until one of those changes removes it
//! ([`IndexCache::forget_keys`], [`IndexCache::forget_runs`]), and a
//! fingerprint by row id until evicted. Each change happens after its
//! transaction committed, under the held keys' lock (see `Pending`), and
//! moves the cache's *epoch*; a lookup notes the epoch with its snapshot
//! (under the same lock) and adds what it read only if the epoch has not
//! moved since: a list read from a snapshot older than a change is never
//! kept after the change.
//!
//! Memory is bounded by [`CACHE_BYTES`]: entries are kept in two
//! generations; new and used entries go to the young one, and when it
//! holds half the budget the old generation is dropped and the young one
//! becomes old (an approximation of least-recently-used, constant time).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use super::lock;

/// Bytes the cache holds at most (lists and fingerprints together, as
/// counted by [`list_bytes`] and [`Stored::bytes`]), per store.
pub(super) const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// A run's entries under one key: (at, rid), newest first, at most
/// [`PER_KEY`](crate::index::PER_KEY), whatever their age (a lookup
/// filters them by its window).
pub(super) type List = Arc<[(i64, i64)]>;

/// A candidate's stored row: its id, fingerprint and story.
#[derive(Debug)]
pub(super) struct Stored {
    pub(super) id: String,
    pub(super) sig: Vec<u8>,
    pub(super) cluster: Option<String>,
}

impl Stored {
    fn bytes(&self) -> usize {
        ENTRY_OVERHEAD + self.id.len() + self.sig.len() + self.cluster.as_ref().map_or(0, String::len)
    }
}

/// Bytes counted per entry beyond its data: the map's slot, the Arc's
/// counts, the allocation's header.
const ENTRY_OVERHEAD: usize = 64;

fn list_bytes(list: &[(i64, i64)]) -> usize {
    ENTRY_OVERHEAD + std::mem::size_of_val(list)
}

/// Two generations of one kind of entry (see the module docs).
#[derive(Debug)]
struct Generations<K, V> {
    young: HashMap<K, (V, usize)>,
    old: HashMap<K, (V, usize)>,
    young_bytes: usize,
    old_bytes: usize,
    /// Bytes the young generation may hold before it becomes old.
    half: usize,
}

impl<K: Hash + Eq, V: Clone> Generations<K, V> {
    fn new(budget: usize) -> Self {
        Generations { young: HashMap::new(), old: HashMap::new(), young_bytes: 0, old_bytes: 0, half: budget / 2 }
    }

    fn get(&mut self, key: K) -> Option<V> {
        if let Some((value, _)) = self.young.get(&key) {
            return Some(value.clone());
        }
        let (value, bytes) = self.old.remove(&key)?;
        self.old_bytes -= bytes;
        let out = value.clone();
        self.insert(key, value, bytes);
        Some(out)
    }

    fn insert(&mut self, key: K, value: V, bytes: usize) {
        if self.young_bytes + bytes > self.half {
            self.old = std::mem::take(&mut self.young);
            self.old_bytes = std::mem::replace(&mut self.young_bytes, 0);
        }
        if let Some((_, before)) = self.old.remove(&key) {
            self.old_bytes -= before;
        }
        if let Some((_, before)) = self.young.insert(key, (value, bytes)) {
            self.young_bytes -= before;
        }
        self.young_bytes += bytes;
    }

    fn remove(&mut self, key: &K) {
        if let Some((_, bytes)) = self.young.remove(key) {
            self.young_bytes -= bytes;
        }
        if let Some((_, bytes)) = self.old.remove(key) {
            self.old_bytes -= bytes;
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        for (map, total) in [(&mut self.young, &mut self.young_bytes), (&mut self.old, &mut self.old_bytes)] {
            map.retain(|k, (_, bytes)| {
                let kept = keep(k);
                if !kept {
                    *total -= *bytes;
                }
                kept
            });
        }
    }

    fn bytes(&self) -> usize {
        self.young_bytes + self.old_bytes
    }

    #[cfg(test)]
    fn keys(&self) -> impl Iterator<Item = &K> {
        self.young.keys().chain(self.old.keys())
    }
}

#[derive(Debug)]
struct State {
    /// Moved by every change that removes lists (see the module docs).
    epoch: u64,
    lists: Generations<(i64, i64), List>,
    stored: Generations<i64, Arc<Stored>>,
    hits: u64,
    misses: u64,
}

/// The cache of one store (see the module docs). Shared by the lookups and
/// the writer through `Pending`.
#[derive(Debug)]
pub(super) struct IndexCache {
    state: Mutex<State>,
}

impl Default for IndexCache {
    fn default() -> Self {
        IndexCache::with_budget(CACHE_BYTES)
    }
}

impl IndexCache {
    /// A cache of at most `budget` bytes: half for lists, half for
    /// fingerprints.
    pub(super) fn with_budget(budget: usize) -> IndexCache {
        let state = State {
            epoch: 0,
            lists: Generations::new(budget / 2),
            stored: Generations::new(budget / 2),
            hits: 0,
            misses: 0,
        };
        IndexCache { state: Mutex::new(state) }
    }

    /// The epoch now: noted by a lookup with its snapshot, under the held
    /// keys' lock.
    pub(super) fn epoch(&self) -> u64 {
        lock(&self.state).epoch
    }

    /// The cached lists of `run` under `keys`, by position (None: not
    /// cached).
    pub(super) fn lists(&self, run: i64, keys: &[i64]) -> Vec<Option<List>> {
        let mut state = lock(&self.state);
        let out: Vec<Option<List>> = keys.iter().map(|&key| state.lists.get((run, key))).collect();
        let hits = out.iter().filter(|l| l.is_some()).count() as u64;
        state.hits += hits;
        state.misses += out.len() as u64 - hits;
        out
    }

    /// Keep lists of `run` read from a snapshot taken at `epoch`: only if no
    /// change removed lists since (else they may be stale).
    pub(super) fn keep_lists(&self, epoch: u64, run: i64, lists: impl IntoIterator<Item = (i64, List)>) {
        let mut state = lock(&self.state);
        if state.epoch != epoch {
            return;
        }
        for (key, list) in lists {
            let bytes = list_bytes(&list);
            state.lists.insert((run, key), list, bytes);
        }
    }

    /// The cached rows among `rids`.
    pub(super) fn stored(&self, rids: &[i64]) -> Vec<(i64, Arc<Stored>)> {
        let mut state = lock(&self.state);
        let mut out = Vec::with_capacity(rids.len());
        for &rid in rids {
            match state.stored.get(rid) {
                Some(row) => {
                    state.hits += 1;
                    out.push((rid, row));
                }
                None => state.misses += 1,
            }
        }
        out
    }

    /// Keep rows read from `fingerprints` (a row never changes: no epoch).
    pub(super) fn keep_stored(&self, rows: impl IntoIterator<Item = (i64, Arc<Stored>)>) {
        let mut state = lock(&self.state);
        for (rid, row) in rows {
            let bytes = row.bytes();
            state.stored.insert(rid, row, bytes);
        }
    }

    /// `keys` left `run` (their record was indexed again or pruned): drop
    /// those lists. After the change committed.
    pub(super) fn forget_keys(&self, run: i64, keys: &[i64]) {
        let mut state = lock(&self.state);
        state.epoch += 1;
        for &key in keys {
            state.lists.remove(&(run, key));
        }
    }

    /// `runs` are gone (merged or emptied): drop their lists. After the
    /// change committed.
    pub(super) fn forget_runs(&self, runs: &[i64]) {
        let mut state = lock(&self.state);
        state.epoch += 1;
        state.lists.retain(|(run, _)| !runs.contains(run));
    }

    /// (hits, misses) of lists and rows since the store opened.
    pub(super) fn counts(&self) -> (u64, u64) {
        let state = lock(&self.state);
        (state.hits, state.misses)
    }

    /// Bytes held now.
    pub(super) fn bytes(&self) -> usize {
        let state = lock(&self.state);
        state.lists.bytes() + state.stored.bytes()
    }

    /// The runs that have cached lists (for tests).
    #[cfg(test)]
    pub(super) fn cached_runs(&self) -> Vec<i64> {
        let state = lock(&self.state);
        let mut runs: Vec<i64> = state.lists.keys().map(|(run, _)| *run).collect();
        runs.sort_unstable();
        runs.dedup();
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rids: &[i64]) -> List {
        rids.iter().map(|&rid| (100, rid)).collect()
    }

    #[test]
    fn a_list_read_before_a_change_is_not_kept_after_it() {
        let cache = IndexCache::default();
        let before = cache.epoch();
        cache.keep_lists(before, 1, [(7, list(&[1, 2]))]);
        assert_eq!(cache.lists(1, &[7])[0].as_deref(), Some(&[(100, 1), (100, 2)][..]));
        // Record 2 left run 1: its list goes.
        cache.forget_keys(1, &[7]);
        assert_eq!(cache.lists(1, &[7])[0], None);
        // A lookup that read the list from a snapshot before the change
        // finishes after it: what it read is not kept.
        cache.keep_lists(before, 1, [(7, list(&[1, 2]))]);
        assert_eq!(cache.lists(1, &[7])[0], None, "stale list kept");
        let now = cache.epoch();
        cache.keep_lists(now, 1, [(7, list(&[1]))]);
        assert_eq!(cache.lists(1, &[7])[0].as_deref(), Some(&[(100, 1)][..]));
    }

    #[test]
    fn a_merged_run_leaves_with_all_its_lists() {
        let cache = IndexCache::default();
        let epoch = cache.epoch();
        for run in 1..=5 {
            cache.keep_lists(epoch, run, (0..10).map(|key| (key, list(&[run * 100 + key]))));
        }
        cache.forget_runs(&[1, 2, 3, 4]);
        assert_eq!(cache.cached_runs(), [5]);
        assert!(cache.lists(2, &[3])[0].is_none());
        cache.keep_lists(epoch, 1, [(3, list(&[9]))]);
        assert_eq!(cache.cached_runs(), [5], "a read of a merged run, finished late, is not kept");
    }

    #[test]
    fn the_cache_stays_within_its_budget_and_keeps_what_is_used() {
        let budget = 64 * 1024;
        let cache = IndexCache::with_budget(budget);
        let epoch = cache.epoch();
        let hot = list(&(0..64).collect::<Vec<_>>());
        for key in 0..10_000 {
            cache.keep_lists(epoch, 1, [(key, list(&[key, key + 1]))]);
            // One list used all along stays.
            if key == 0 {
                cache.keep_lists(epoch, 9, [(9, hot.clone())]);
            }
            assert!(cache.lists(9, &[9])[0].is_some(), "the used list evicted at {key}");
            let row = Arc::new(Stored { id: format!("r{key}"), sig: vec![0; 400], cluster: None });
            cache.keep_stored([(key, row)]);
            assert!(cache.bytes() <= budget, "{} bytes held", cache.bytes());
        }
        assert!(cache.bytes() > budget / 4, "and it is used");
        assert_eq!(cache.stored(&[9_999])[0].1.id, "r9999");
        assert!(cache.stored(&[0]).is_empty(), "the oldest evicted");
    }
}
