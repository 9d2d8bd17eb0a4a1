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
use crate::assemble::RecordBatch;
use crate::board::SinkHealth;
use crate::clusters::{Clustering, link_copies};
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
    crate::metrics::poll(feed, r.outcome.label(), r.bytes);
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
    let fingerprints = link_copies(storage, &mut to_write).await?;
    let items = to_write.iter().map(|r| ItemMark { id: r.id.clone(), content_hash: r.content_hash.clone() }).collect();
    if feed.spec.on_duplicate == newswire_core::config::OnDuplicate::Skip {
        // Remembered (items, index) but not written.
        to_write.retain(|r| r.cluster.is_none());
    }
    let mut sink_batch =
        SinkBatch { records: to_write, checkpoint: Checkpoint { state, items, fingerprints, positions: Vec::new() } };
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
