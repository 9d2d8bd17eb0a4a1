//! The store stage: one batch at a time, decide what is new, write every
//! sink, commit the checkpoint, report.
//!
//! Delivery: a feed's checkpoint (validators, item hashes, index entries,
//! sink positions) is committed only after every sink has its records:
//! sinks that do not hold the state are written first, the one that holds
//! it writes records and checkpoint in one transaction last; when none
//! holds it, the state store commits the checkpoint after them. Retryable
//! failures are retried ([`crate::stage::retry_delay`]) until they succeed
//! or the run is aborted; a fatal one stops the pipeline.

use std::sync::Arc;

use newswire_core::sink::{Sink, SinkBatch, StateStore, StoreError};
use newswire_core::state::{Checkpoint, ItemMark};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::PipelineError;
use crate::board::SinkHealth;
use crate::clusters::{Clustering, link_copies};
use crate::job::RecordBatch;
use crate::job::{BatchReport, Outcome};
use crate::stage::{retry_delay, with_retry};

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
}

impl Storage {
    /// Order the sinks so that those holding the state are written last.
    pub fn new(mut sinks: Vec<Box<dyn Sink>>, state: Arc<dyn StateStore>) -> Self {
        sinks.sort_by_key(|s| s.holds_state());
        Storage { sinks, state, health: Arc::default(), clustering: Clustering::default(), index_pruned: None }
    }
}

/// One batch at a time: store it ([`store_one`]), log and count it, and
/// report it. Closes the sinks when its input closes.
pub async fn store_stage(
    mut input: mpsc::Receiver<RecordBatch>,
    mut storage: Storage,
    reports: mpsc::Sender<BatchReport>,
    abort: CancellationToken,
) -> Result<(), PipelineError> {
    loop {
        let batch = tokio::select! {
            _ = abort.cancelled() => break,
            batch = input.recv() => match batch { Some(b) => b, None => break },
        };
        crate::metrics::queue_depth("cleaned", input.len());
        let report = tokio::select! {
            _ = abort.cancelled() => break,
            report = store_one(&mut storage, batch) => report?,
        };
        log_report(&report);
        // The consumer may be gone (a backfill that stopped listening):
        // reports are information, the data is already committed.
        let _ = reports.send(report).await;
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

/// Store one batch: decide what is new, write every sink, commit the
/// checkpoint. Retryable failures are retried (with backoff) until they
/// succeed, so nothing is dropped; a fatal one stops the pipeline.
pub async fn store_one(storage: &mut Storage, batch: RecordBatch) -> Result<BatchReport, StoreError> {
    let health = Arc::clone(&storage.health);
    let RecordBatch { feed, records, mut state, outcome, bytes, older, newest, page, server_wait } = batch;
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let known = with_retry("state", || storage.state.known_hashes(&ids)).await?;
    let (mut new, mut updated, mut unchanged) = (0, 0, 0);
    let mut to_write = Vec::with_capacity(records.len());
    for record in records {
        match known.get(&record.id) {
            None => new += 1,
            Some(hash) if *hash != record.content_hash => updated += 1,
            Some(_) => {
                unchanged += 1;
                continue;
            }
        }
        to_write.push(record);
    }
    // The next poll, now that we know whether this one brought news; a page
    // of history leaves the feed's schedule alone.
    if page.is_none() {
        crate::schedule::schedule_next(&feed.spec, &mut state, &outcome, new + updated > 0, server_wait);
    }
    let linked =
        link_copies(storage.state.as_ref(), storage.clustering, &mut storage.index_pruned, &state.feed, &mut to_write)
            .await?;
    let items = to_write.iter().map(|r| ItemMark { id: r.id.clone(), content_hash: r.content_hash.clone() }).collect();
    if feed.spec.on_duplicate == newswire_core::config::OnDuplicate::Skip {
        // Remembered (items, index) but not written.
        to_write.retain(|r| r.cluster.is_none());
    }
    let mut sink_batch = SinkBatch {
        records: to_write,
        checkpoint: Checkpoint {
            state,
            items,
            fingerprints: linked.entries,
            sketch: linked.sketch,
            positions: Vec::new(),
        },
    };
    let mut committed = false;
    let last = storage.sinks.len().saturating_sub(1);
    for (i, sink) in storage.sinks.iter_mut().enumerate() {
        let name = sink.name().to_string();
        if sink.holds_state() {
            crate::failpoint::hit("before_commit");
        }
        let mut attempt = 0;
        loop {
            let started = std::time::Instant::now();
            let written = sink.write(&sink_batch).await;
            crate::metrics::sink_write(&name, started.elapsed(), written.is_ok());
            match written {
                Ok(()) => {
                    health.sink_ok(&name);
                    break;
                }
                Err(e) if e.retryable => {
                    health.sink_failing(&name, &e.to_string());
                    warn!(sink = %name, feed = %feed.spec.name, error = %e, attempt, "sink write failed; retrying");
                    tokio::time::sleep(retry_delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
        // An append-only sink's position goes into the checkpoint that the
        // sinks after it (or the state store) commit.
        if let Some(position) = sink.position() {
            sink_batch.checkpoint.positions.retain(|(key, _)| *key != position.0);
            sink_batch.checkpoint.positions.push(position);
        }
        committed |= sink.holds_state();
        if i < last {
            crate::failpoint::hit("between_sinks");
        }
    }
    if !committed {
        crate::failpoint::hit("before_commit");
        let cp = &sink_batch.checkpoint;
        with_retry("state", || storage.state.commit(cp)).await?;
    }
    crate::failpoint::hit("after_commit");
    Ok(BatchReport {
        feed,
        state: sink_batch.checkpoint.state,
        outcome,
        new,
        updated,
        unchanged,
        bytes,
        older,
        newest,
        page,
    })
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
        let job = FeedJob::poll(feed(""), FeedState::default());
        let result = document("https://e.com/feed", &rss(items, None), None);
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
        let mut storage = Storage::new(vec![Box::new(SqliteSink::new(db.clone(), true))], Arc::new(db.clone()));
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
            ("https://e.com/copy", "Mon, 04 Mar 2024 11:00:00 GMT", text.as_str()),
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
}
