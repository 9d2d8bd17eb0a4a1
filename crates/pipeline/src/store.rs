//! The store stage: batches from the link stage ([`crate::link`]) in the
//! order they come, several at a time when several are ready: decide each
//! record's story ([`crate::clusters::resolve`]), write every sink, commit
//! the checkpoints, report.
//!
//! Delivery: a feed's checkpoint (validators, item hashes, index entries,
//! shingle counts, sink positions) is committed only after every sink has
//! its records: sinks that do not hold the state are written first, a
//! batch at a time; the one that holds it writes the records and
//! checkpoints of the whole group last, in one transaction where it can
//! ([`Sink::write_all`]); when none holds it, the state store commits the
//! checkpoints after them. Retryable failures are retried
//! ([`crate::stage::retry_delay`]) until they succeed or the run is
//! aborted; a fatal one stops the pipeline.

use std::sync::Arc;

use newswire_core::sink::{Sink, SinkBatch, StateStore, StoreError};
use newswire_core::state::{Checkpoint, ItemMark};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::PipelineError;
use crate::board::SinkHealth;
use crate::clusters::{Clustering, Recent, prune_index, resolve};
use crate::job::RecordBatch;
use crate::job::{BatchReport, Outcome};
use crate::link::{Commits, LinkedBatch, prepare};
use crate::stage::{retry_delay, with_retry};

/// At most this many batches (of different feeds) share one commit, and
/// at most about this many records.
pub(crate) const GROUP_BATCHES: usize = 16;
const GROUP_RECORDS: usize = 1024;

/// Storage: the sinks and the state store.
pub struct Storage {
    /// Sinks, those that hold the state last.
    pub sinks: Vec<Box<dyn Sink>>,
    /// Where feed state is read (and committed when no sink holds it).
    pub state: Arc<dyn StateStore>,
    /// How the sinks are doing, for /readyz.
    pub health: Arc<SinkHealth>,
    /// How copies of one story are linked.
    pub clustering: Clustering,
    /// When the near-duplicate index was last pruned (None: at the next
    /// batch).
    pub index_pruned: Option<std::time::Instant>,
    /// Commit numbers, shared with the link stage.
    pub(crate) commits: Arc<Commits>,
    /// Each site's shingle counts, shared with the link stage.
    pub(crate) sites: Arc<crate::clusters::Sites>,
    /// What recent commits started, for batches whose lookups missed them.
    pub(crate) recent: Recent,
}

impl Storage {
    /// Order the sinks so that those holding the state are written last.
    pub fn new(mut sinks: Vec<Box<dyn Sink>>, state: Arc<dyn StateStore>) -> Self {
        sinks.sort_by_key(|s| s.holds_state());
        Storage {
            sinks,
            state,
            health: Arc::default(),
            clustering: Clustering::default(),
            index_pruned: None,
            commits: Arc::default(),
            sites: Arc::default(),
            recent: Recent::default(),
        }
    }
}

/// Store what the link stage hands on: a batch, with those that are ready
/// behind it (up to [`GROUP_BATCHES`]), as one group ([`store_group`]);
/// log, count and report each, and tell the link stage on `done` which
/// feeds may send their next batch. Closes the sinks when its input
/// closes.
pub async fn store_stage(
    mut input: mpsc::Receiver<Result<LinkedBatch, StoreError>>,
    mut storage: Storage,
    reports: mpsc::Sender<BatchReport>,
    done: mpsc::Sender<String>,
    abort: CancellationToken,
) -> Result<(), PipelineError> {
    loop {
        let first = tokio::select! {
            _ = abort.cancelled() => break,
            batch = input.recv() => match batch { Some(b) => b, None => break },
        };
        let mut group = vec![first?];
        let mut records = group[0].batch.records.len();
        while group.len() < GROUP_BATCHES && records < GROUP_RECORDS {
            let Ok(next) = input.try_recv() else { break };
            let next = next?;
            records += next.batch.records.len();
            group.push(next);
        }
        crate::metrics::queue_depth("linked", input.len());
        let stored = tokio::select! {
            _ = abort.cancelled() => break,
            stored = store_group(&mut storage, group) => stored?,
        };
        for report in stored {
            log_report(&report);
            // The link stage may be done: nothing of that feed is left.
            let _ = done.send(report.feed.spec.name.clone()).await;
            // The consumer may be gone (a backfill that stopped listening):
            // reports are information, the data is already committed.
            let _ = reports.send(report).await;
        }
    }
    for sink in &mut storage.sinks {
        if let Err(e) = sink.close().await {
            warn!(sink = sink.name(), error = %e, "closing sink failed");
        }
    }
    Ok(())
}

fn log_report(r: &BatchReport) {
    let feed = &r.feed.spec.name;
    crate::metrics::poll(feed, r.outcome.label(), r.bytes, !matches!(r.outcome, Outcome::Failed { .. }));
    crate::metrics::items(feed, r.new, r.updated, r.unchanged);
    match &r.outcome {
        Outcome::Failed { kind, message } => {
            warn!(feed = %feed, kind = %kind, error = %message, errors = r.state.error_count, "feed poll failed")
        }
        Outcome::Items(n) => {
            info!(feed = %feed, items = n, new = r.new, updated = r.updated, unchanged = r.unchanged, "feed polled")
        }
        Outcome::NotModified => debug!(feed = %feed, "feed not modified"),
        Outcome::Unchanged => debug!(feed = %feed, "feed document unchanged"),
    }
    if let Some(moved) = &r.state.moved_to {
        warn!(feed = %feed, moved_to = %moved, "feed moved permanently; update its url in the config");
    }
}

/// Store one batch on its own: [`prepare`] it (what is new, the lookups)
/// and [`store_group`] it. For callers without a link stage.
pub async fn store_one(storage: &mut Storage, batch: RecordBatch) -> Result<BatchReport, StoreError> {
    let linked = prepare(storage.state.as_ref(), storage.clustering, &storage.sites, &storage.commits, batch).await?;
    let mut reports = store_group(storage, vec![linked]).await?;
    Ok(reports.remove(0))
}

/// Store a group of linked batches (of different feeds), in order, as one
/// commit: settle each batch ([`settle`]: its stories, its next poll),
/// write every sink, commit the checkpoints. Retryable failures are
/// retried (with backoff) until they succeed, so nothing is dropped; a
/// fatal one stops the pipeline with nothing of the group committed by a
/// sink that holds the state in one transaction.
pub async fn store_group(storage: &mut Storage, group: Vec<LinkedBatch>) -> Result<Vec<BatchReport>, StoreError> {
    let seq = storage.commits.next();
    let mut batches = Vec::with_capacity(group.len());
    let mut settled = Vec::with_capacity(group.len());
    let mut snapshots = Vec::with_capacity(group.len());
    for linked in group {
        snapshots.push(linked.snapshot);
        let (batch, done) = settle(&mut storage.recent, storage.clustering, linked, seq);
        batches.push(batch);
        settled.push(done);
    }
    let indexed = batches.iter().any(|b| !b.checkpoint.fingerprints.is_empty());
    write_group(storage, &mut batches).await?;
    let committed = storage.commits.committed();
    debug_assert_eq!(committed, seq, "one store task numbers the commits");
    for snapshot in snapshots {
        storage.commits.end(snapshot);
    }
    storage.recent.forget_through(storage.commits.seen_by_all());
    if indexed {
        prune_index(storage.state.as_ref(), &mut storage.index_pruned, storage.clustering).await;
    }
    Ok(settled
        .into_iter()
        .zip(batches)
        .map(|(s, b)| BatchReport {
            feed: s.feed,
            state: b.checkpoint.state,
            outcome: s.outcome,
            new: s.new,
            updated: s.updated,
            unchanged: s.unchanged,
            bytes: s.bytes,
            older: s.older,
            newest: s.newest,
            page: s.page,
        })
        .collect())
}

/// A settled batch's report, without its state (in its checkpoint).
struct Settled {
    feed: Arc<crate::job::FeedContext>,
    outcome: Outcome,
    new: usize,
    updated: usize,
    unchanged: usize,
    bytes: u64,
    older: Option<String>,
    newest: Option<chrono::DateTime<chrono::Utc>>,
    page: Option<u32>,
}

/// Make a linked batch ready to write as commit `seq`: an item that a
/// batch committed since its lookup began wrote already (another feed
/// carries it) is unchanged or changed, not new; each record's story is
/// decided ([`resolve`]); the feed's next poll is scheduled. What the batch
/// starts and marks is remembered in `recent` for the batches after it.
fn settle(recent: &mut Recent, clustering: Clustering, linked: LinkedBatch, seq: u64) -> (SinkBatch, Settled) {
    let LinkedBatch { batch, fresh, mut unchanged, lookup, snapshot } = linked;
    let RecordBatch { feed, records, mut state, outcome, bytes, older, newest, page, server_wait } = batch;
    let (mut new, mut updated) = (0, 0);
    let mut to_write = Vec::with_capacity(records.len());
    let mut found = Vec::with_capacity(records.len());
    for ((record, fresh), lookup) in records.into_iter().zip(fresh).zip(lookup.found) {
        match recent.hash_after(snapshot, &record.id) {
            Some(hash) if hash == record.content_hash => {
                unchanged += 1;
                continue;
            }
            Some(_) => updated += 1,
            None if fresh => new += 1,
            None => updated += 1,
        }
        to_write.push(record);
        found.push(lookup);
    }
    // The next poll, now that we know whether this one brought news; a page
    // of history leaves the feed's schedule alone.
    if page.is_none() {
        crate::schedule::schedule_next(&feed.spec, &mut state, &outcome, new + updated > 0, server_wait);
    }
    let entries = resolve(found, &mut to_write, recent, snapshot, clustering.threshold);
    let items: Vec<ItemMark> =
        to_write.iter().map(|r| ItemMark { id: r.id.clone(), content_hash: r.content_hash.clone() }).collect();
    recent.add(seq, &entries, &items);
    if feed.spec.on_duplicate == newswire_core::config::OnDuplicate::Skip {
        // Remembered (items, index) but not written.
        to_write.retain(|r| r.cluster.is_none());
    }
    let batch = SinkBatch {
        records: to_write,
        checkpoint: Checkpoint { state, items, fingerprints: entries, sketch: lookup.sketch, positions: Vec::new() },
    };
    (batch, Settled { feed, outcome, new, updated, unchanged, bytes, older, newest, page })
}

/// Write a group to every sink, then commit its checkpoints: the sinks
/// that do not hold the state a batch at a time (an append-only sink's
/// position after each batch goes into that batch's checkpoint), the one
/// that does all the group at once, last; the state store commits them
/// when no sink does. The crash points are reached once per batch.
async fn write_group(storage: &mut Storage, batches: &mut [SinkBatch]) -> Result<(), StoreError> {
    let health = Arc::clone(&storage.health);
    let mut committed = false;
    let last = storage.sinks.len().saturating_sub(1);
    for (i, sink) in storage.sinks.iter_mut().enumerate() {
        if sink.holds_state() {
            for _ in batches.iter() {
                crate::failpoint::hit("before_commit");
            }
            write_retrying(sink.as_mut(), &health, batches).await?;
            committed = true;
            continue;
        }
        for n in 0..batches.len() {
            write_retrying(sink.as_mut(), &health, &batches[n..=n]).await?;
            // An append-only sink's position goes into the checkpoint that
            // the sinks after it (or the state store) commit.
            if let Some(position) = sink.position() {
                let positions = &mut batches[n].checkpoint.positions;
                positions.retain(|(key, _)| *key != position.0);
                positions.push(position);
            }
            if i < last {
                crate::failpoint::hit("between_sinks");
            }
        }
    }
    if !committed {
        for batch in batches.iter() {
            crate::failpoint::hit("before_commit");
            let cp = &batch.checkpoint;
            with_retry("state", || storage.state.commit(cp)).await?;
        }
    }
    for _ in batches.iter() {
        crate::failpoint::hit("after_commit");
    }
    Ok(())
}

/// Write `batches` to one sink ([`Sink::write_all`]), retrying retryable
/// failures with backoff.
async fn write_retrying(sink: &mut dyn Sink, health: &SinkHealth, batches: &[SinkBatch]) -> Result<(), StoreError> {
    let name = sink.name().to_string();
    let mut attempt = 0;
    loop {
        let started = std::time::Instant::now();
        let written = match batches {
            [one] => sink.write(one).await,
            all => sink.write_all(all).await,
        };
        crate::metrics::sink_write(&name, started.elapsed(), written.is_ok());
        match written {
            Ok(()) => {
                health.sink_ok(&name);
                return Ok(());
            }
            Err(e) if e.retryable => {
                health.sink_failing(&name, &e.to_string());
                let feeds: Vec<&str> = batches.iter().map(|b| b.checkpoint.state.feed.as_str()).collect();
                warn!(sink = %name, feeds = %feeds.join(", "), error = %e, attempt, "sink write failed; retrying");
                tokio::time::sleep(retry_delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    use newswire_core::sink::BoxFuture;
    use newswire_core::state::FeedState;
    use newswire_storer::{SqliteSink, SqliteStore};

    use crate::assemble::tests::{document, rss};
    use crate::fetch::FetchedBatch;
    use crate::job::FeedJob;
    use crate::job::tests::feed;

    /// A store stage writing to `db` alone, which also keeps its state.
    pub(crate) fn sqlite_storage(db: &SqliteStore) -> Storage {
        Storage::new(vec![Box::new(SqliteSink::new(db.clone(), true))], Arc::new(db.clone()))
    }

    /// Feed state and item hashes in memory; records what it was asked.
    #[derive(Default)]
    pub(crate) struct MemoryState {
        pub(crate) hashes: Mutex<HashMap<String, String>>,
        pub(crate) states: Mutex<Vec<FeedState>>,
    }

    impl StateStore for MemoryState {
        fn load_all(&self) -> BoxFuture<'_, Result<Vec<FeedState>, StoreError>> {
            Box::pin(async { Ok(self.states.lock().expect("lock").clone()) })
        }

        fn known_hashes<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<HashMap<String, String>, StoreError>> {
            Box::pin(async move {
                let hashes = self.hashes.lock().expect("lock");
                Ok(ids.iter().filter_map(|id| hashes.get(id).map(|h| (id.clone(), h.clone()))).collect())
            })
        }

        fn commit<'a>(&'a self, cp: &'a Checkpoint) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                let mut hashes = self.hashes.lock().expect("lock");
                for item in &cp.items {
                    hashes.insert(item.id.clone(), item.content_hash.clone());
                }
                self.states.lock().expect("lock").push(cp.state.clone());
                Ok(())
            })
        }
    }

    /// A sink that fails (retryably) its first `failures` writes and keeps
    /// the ids it was given.
    struct Flaky {
        failures: usize,
        written: Arc<Mutex<Vec<String>>>,
    }

    impl Sink for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        fn open(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async { Ok(()) })
        }
        fn write<'a>(&'a mut self, batch: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>> {
            Box::pin(async move {
                if self.failures > 0 {
                    self.failures -= 1;
                    return Err(StoreError::retryable("flaky", "disk full"));
                }
                self.written.lock().expect("lock").extend(batch.records.iter().map(|r| r.id.clone()));
                Ok(())
            })
        }
        fn close(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async { Ok(()) })
        }
    }

    pub(crate) fn polled(items: &[(&str, &str, &str)]) -> RecordBatch {
        polled_from(feed(""), items)
    }

    /// A poll of feed `name` (at https://NAME.example/feed) bringing `items`.
    pub(crate) fn polled_as(name: &str, items: &[(&str, &str, &str)]) -> RecordBatch {
        let url = format!("https://{name}.example/feed");
        polled_from(crate::job::tests::named(name, &url, ""), items)
    }

    fn polled_from(feed: Arc<crate::job::FeedContext>, items: &[(&str, &str, &str)]) -> RecordBatch {
        let url = feed.spec.url.to_string();
        let job = FeedJob::poll(feed, FeedState::default());
        let result = document(&url, &rss(items, None), None);
        crate::assemble::assemble(FetchedBatch { job, polled_at: chrono::Utc::now(), result }, None)
    }

    const ITEMS: &[(&str, &str, &str)] = &[
        ("https://e.com/a", "Mon, 04 Mar 2024 10:00:00 GMT", "First story."),
        ("https://e.com/b", "Tue, 05 Mar 2024 10:00:00 GMT", "Second story."),
    ];

    #[tokio::test]
    async fn new_changed_and_unchanged_records_are_told_apart_and_the_checkpoint_committed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SqliteStore::open(&dir.path().join("n.db")).expect("open");
        let mut storage = sqlite_storage(&db);
        let report = store_one(&mut storage, polled(ITEMS)).await.expect("stored");
        assert_eq!((report.new, report.updated, report.unchanged), (2, 0, 0));
        assert_eq!(db.count_records().expect("count"), 2);
        let state = db.feed_state("f").expect("read").expect("committed with the records");
        assert!(state.next_due_at.is_some() && state.interval().is_some(), "scheduled: {state:?}");
        assert_eq!(state, report.state);

        let report = store_one(&mut storage, polled(ITEMS)).await.expect("stored");
        assert_eq!((report.new, report.updated, report.unchanged), (0, 0, 2));
        let edited = [ITEMS[0], ("https://e.com/b", "Tue, 05 Mar 2024 10:00:00 GMT", "Second story, corrected.")];
        let report = store_one(&mut storage, polled(&edited)).await.expect("stored");
        assert_eq!((report.new, report.updated, report.unchanged), (0, 1, 1));
        assert_eq!(db.count_records().expect("count"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retryable_sink_failure_is_retried_and_the_state_committed_after_every_sink() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(MemoryState::default());
        let sink = Flaky { failures: 2, written: Arc::clone(&written) };
        let mut storage = Storage::new(vec![Box::new(sink)], Arc::clone(&state) as Arc<dyn StateStore>);
        let health = Arc::clone(&storage.health);
        let started = tokio::time::Instant::now();
        let report = store_one(&mut storage, polled(ITEMS)).await.expect("stored in the end");
        assert_eq!(started.elapsed(), std::time::Duration::from_millis(250 + 500), "backed off twice");
        assert_eq!(report.new, 2);
        assert_eq!(written.lock().expect("lock").len(), 2);
        assert_eq!(state.states.lock().expect("lock").len(), 1, "no sink holds the state: the store commits it");
        assert_eq!(state.hashes.lock().expect("lock").len(), 2);
        assert!(health.failing().is_empty(), "recovered");
    }

    #[tokio::test]
    async fn a_fatal_sink_failure_stops_before_the_checkpoint() {
        struct Broken;
        impl Sink for Broken {
            fn name(&self) -> &str {
                "broken"
            }
            fn open(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
                Box::pin(async { Ok(()) })
            }
            fn write<'a>(&'a mut self, _: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>> {
                Box::pin(async { Err(StoreError::fatal("broken", "schema mismatch")) })
            }
            fn close(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
                Box::pin(async { Ok(()) })
            }
        }
        let state = Arc::new(MemoryState::default());
        let mut storage = Storage::new(vec![Box::new(Broken)], Arc::clone(&state) as Arc<dyn StateStore>);
        let err = store_one(&mut storage, polled(ITEMS)).await.expect_err("fatal");
        assert!(!err.retryable);
        assert!(state.states.lock().expect("lock").is_empty(), "nothing committed");
    }

    #[tokio::test]
    async fn copies_are_remembered_but_not_written_when_the_feed_skips_duplicates() {
        let state = Arc::new(MemoryState::default());
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = Flaky { failures: 0, written: Arc::clone(&written) };
        let mut storage = Storage::new(vec![Box::new(sink)], Arc::clone(&state) as Arc<dyn StateStore>);
        let text = crate::clusters::tests::story(0);
        let mut batch = polled(&[
            ("https://e.com/a", "Mon, 04 Mar 2024 10:00:00 GMT", text.as_str()),
            // (On another site: the first two articles of one site
            // sharing text are judged as its wrapper, docs/clusters.md.)
            ("https://other.example/copy", "Mon, 04 Mar 2024 11:00:00 GMT", text.as_str()),
        ]);
        let spec = newswire_core::config::parse(
            "[[feed]]\nname = \"f\"\nurl = \"https://e.com/feed\"\non_duplicate = \"skip\"\n",
            std::path::Path::new("t.toml"),
        )
        .expect("config")
        .feeds()
        .remove(0);
        let skip = crate::job::FeedContext { spec, cleaner: Default::default(), pages: Default::default() };
        batch.feed = Arc::new(skip);
        let report = store_one(&mut storage, batch).await.expect("stored");
        assert_eq!(report.new, 2);
        assert_eq!(
            *written.lock().expect("lock"),
            [newswire_core::id::id_from_url("https://e.com/a")],
            "the copy is not written"
        );
        assert_eq!(state.hashes.lock().expect("lock").len(), 2, "both are remembered");
    }

    const DAY: &str = "Mon, 04 Mar 2024 10:00:00 GMT";

    #[tokio::test]
    async fn copies_in_batches_looked_up_side_by_side_are_linked_whichever_commits_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SqliteStore::open(&dir.path().join("n.db")).expect("open");
        let mut storage = sqlite_storage(&db);
        let story = crate::clusters::tests::story(1);
        let copy = format!("{story} Reporting by the wire desk.");
        let other = crate::clusters::tests::story(3);
        // Both lookups run before either batch is committed: the index
        // shows neither the other.
        let (state, clustering, sites, commits) =
            (Arc::clone(&storage.state), storage.clustering, Arc::clone(&storage.sites), Arc::clone(&storage.commits));
        let a = prepare(
            state.as_ref(),
            clustering,
            &sites,
            &commits,
            polled_as("a", &[("https://a.example/1", DAY, &story)]),
        );
        let b = prepare(
            state.as_ref(),
            clustering,
            &sites,
            &commits,
            polled_as("b", &[("https://b.example/2", DAY, &other), ("https://b.example/1", DAY, &copy)]),
        );
        let (a, b) = tokio::join!(a, b);
        let (a, b) = (a.expect("a"), b.expect("b"));
        assert!(b.lookup.found.iter().all(|f| f.as_ref().is_some_and(|(_, m)| m.is_none())), "the index had nothing");
        // b is committed first, then a: a's story finds its copy.
        let first = store_group(&mut storage, vec![b]).await.expect("b stored");
        assert_eq!(first[0].new, 2);
        store_group(&mut storage, vec![a]).await.expect("a stored");
        let stories = db.clusters("").expect("clusters");
        assert_eq!(stories.len(), 1, "{stories:?}");
        assert_eq!(stories[0].id, newswire_core::id::id_from_url("https://b.example/1"));
        assert_eq!(stories[0].copies[0].url, "https://a.example/1");
        assert!(storage.recent.is_empty(), "nothing in flight: nothing kept");

        // The same in one group, and an item two feeds carry is new once.
        let more = crate::clusters::tests::story(2);
        let c = prepare(
            state.as_ref(),
            clustering,
            &sites,
            &commits,
            polled_as("c", &[("https://c.example/1", DAY, &more)]),
        );
        let again = format!("Updated: {more}");
        let d = prepare(
            state.as_ref(),
            clustering,
            &sites,
            &commits,
            polled_as("d", &[("https://d.example/1", DAY, &again), ("https://c.example/1", DAY, &more)]),
        );
        let (c, d) = tokio::join!(c, d);
        let reports = store_group(&mut storage, vec![c.expect("c"), d.expect("d")]).await.expect("group stored");
        assert_eq!(
            (reports[0].new, reports[1].new, reports[1].unchanged),
            (1, 1, 1),
            "the shared item is not new twice"
        );
        let stories = db.clusters("").expect("clusters");
        let c_story = stories.iter().find(|s| s.id == newswire_core::id::id_from_url("https://c.example/1"));
        assert_eq!(c_story.map(|s| s.copies[0].url.as_str()), Some("https://d.example/1"), "{stories:?}");
        assert_eq!(db.count_records().expect("count"), 5);
    }

    #[tokio::test]
    async fn a_failure_in_a_group_commits_none_of_its_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("n.db");
        let db = SqliteStore::open(&path).expect("open");
        let mut storage = sqlite_storage(&db);
        let boom = newswire_core::id::id_from_url("https://b.example/boom");
        rusqlite::Connection::open(&path)
            .and_then(|c| {
                c.execute_batch(&format!(
                    "CREATE TRIGGER boom BEFORE INSERT ON records WHEN NEW.id = '{boom}' BEGIN SELECT RAISE(ABORT, 'boom'); END"
                ))
            })
            .expect("trigger");
        let state = Arc::clone(&storage.state);
        let mut group = Vec::new();
        for batch in [
            polled_as("a", &[("https://a.example/1", DAY, "First story.")]),
            polled_as("b", &[("https://b.example/ok", DAY, "Fine."), ("https://b.example/boom", DAY, "Breaks.")]),
        ] {
            group.push(
                prepare(state.as_ref(), storage.clustering, &storage.sites, &storage.commits, batch)
                    .await
                    .expect("prepared"),
            );
        }
        let err = store_group(&mut storage, group).await.expect_err("the second batch's record fails");
        assert!(!err.retryable, "{err}");
        assert_eq!(db.count_records().expect("count"), 0, "no record of the group");
        assert_eq!(db.feed_state("a").expect("read"), None, "no checkpoint of the group, not even the first's");
        assert!(storage.state.load_all().await.expect("states").is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_feeds_batches_pass_the_link_stage_one_at_a_time_in_order() {
        let state = Arc::new(MemoryState::default()) as Arc<dyn StateStore>;
        let (tx, rx) = mpsc::channel(8);
        let (out_tx, mut out) = mpsc::channel(8);
        let (done_tx, done_rx) = mpsc::channel(8);
        let stage = tokio::spawn(crate::link::link_stage(
            rx,
            out_tx,
            done_rx,
            state,
            Clustering::default(),
            Arc::default(),
            Arc::default(),
            4,
            8,
            CancellationToken::new(),
        ));
        let one = |feed: &str, url: &str| polled_as(feed, &[(url, DAY, "Some story.")]);
        for batch in [one("a", "https://a.example/1"), one("a", "https://a.example/2"), one("b", "https://b.example/1")]
        {
            tx.send(batch).await.expect("send");
        }
        drop(tx);
        let feed_of =
            |l: &LinkedBatch| (l.batch.feed.spec.name.clone(), l.batch.records[0].url.clone().unwrap_or_default());
        let mut got = vec![
            feed_of(&out.recv().await.expect("one").expect("ok")),
            feed_of(&out.recv().await.expect("two").expect("ok")),
        ];
        got.sort();
        assert_eq!(
            got,
            [("a".to_string(), "https://a.example/1".to_string()), ("b".into(), "https://b.example/1".into())]
        );
        // a's second batch waits until its first is committed.
        let waited = tokio::time::timeout(std::time::Duration::from_secs(3600), out.recv()).await;
        assert!(waited.is_err(), "a's second batch passed before its first was committed");
        done_tx.send("b".into()).await.expect("done");
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(3600), out.recv()).await.is_err(),
            "b's commit frees nothing of a"
        );
        done_tx.send("a".into()).await.expect("done");
        let next = out.recv().await.expect("three").expect("ok");
        assert_eq!(feed_of(&next), ("a".to_string(), "https://a.example/2".to_string()));
        assert!(out.recv().await.is_none(), "the stage ends once its input is closed and every batch handed on");
        stage.await.expect("stage");
    }
}
