//! newswire-pipeline: the stages between the feeds and the sinks, one file
//! each, on one runner; the scheduler, the lease plan and archive paging.
//!
//! ```text
//! jobs ──▶ fetch ──FetchedBatch──▶ assemble ──RecordBatch──▶ pages ──RecordBatch──▶ link ──LinkedBatch──▶ store ──BatchReport──▶ reports
//!          (async I/O,  mpsc(cap)   (CPU threads:    mpsc(cap)   (article   mpsc(cap)   (what is new,  mpsc(cap)  (groups: stories,
//!           N at once)               hash, parse,                 pages)                 index lookups,           sinks, then
//!                                    build records)                                      2-4 at once)  ◀──done──  checkpoints)
//! ```
//!
//! The unit that flows is one polled feed: its items plus its new state.
//! Every channel is bounded, so a slow stage slows the one before it instead
//! of growing memory. The daemon and the backfill run this same pipeline
//! ([`run`]) and differ only in the stream of jobs: endless from the
//! [scheduler](scheduler::Scheduler), or a finite list that closes.
//!
//! Shutdown: whoever feeds `jobs` stops and drops its sender; each stage
//! ends when its input closes and it has passed on what it holds, so every
//! batch in flight reaches the sinks. The `abort` token stops every stage at
//! once; what was not committed is fetched again next time.
//!
//! Files, one concern each:
//!
//! - [`job`]: what flows in ([`FeedJob`]) and out ([`BatchReport`]).
//! - [`stage`]: the runner every stage shares, and the one retry policy.
//! - [`fetch`]: the fetch stage, and the one builder of a request from a
//!   feed's settings.
//! - [`assemble`]: a fetched document to records and the feed's next
//!   state; [`record`]: parsing a document, one item to one record;
//!   [`cpu`]: the threads that work, at a lower priority than the store.
//! - [`pages`]: article pages for feeds that carry teasers.
//! - [`link`]: what is new in a batch and its near-duplicate lookups,
//!   several batches at once; [`store`]: stories, sinks, then the
//!   checkpoints; [`clusters`]: linking copies of one story, pruning the
//!   index.
//! - [`schedule`]: when a feed is due next; [`scheduler`]: the daemon's
//!   book of due feeds; [`lease`]: sharing feeds between daemons.
//! - [`archive`]: walking a feed's history (`backfill --archives`).
//! - [`board`]: feed status and sink health for the status server;
//!   [`activity`]: recent polls and records per hour for the console;
//!   [`metrics`]: every metric; [`failpoint`]: crash points for the crash
//!   test.
//!
//! What it does not do: read the config file, handle signals, talk to
//! systemd or serve HTTP (the binary does); parse, clean or store anything
//! itself (the fetcher, cleaner and storer crates do). Feed-state rules are
//! methods of [`FeedState`](newswire_core::state::FeedState) in core.
//!
//! Imports between the files form no cycle: `job`, `board` (with
//! `activity`), `metrics`, `cpu`,
//! `failpoint` and `lease` import none of the others; the stages import
//! those and the stages before them, never the stages after.
//!
//! Everything here is unit-tested without a process: stages as plain
//! functions, the scheduler and leases on tokio's paused clock.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use newswire_core::sink::StoreError;
use newswire_fetcher::Fetcher;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub mod activity;
pub mod archive;
pub mod assemble;
pub mod board;
pub mod clusters;
pub mod cpu;
pub mod failpoint;
pub mod fetch;
pub mod job;
pub mod lease;
pub mod link;
pub mod metrics;
pub mod pages;
pub mod record;
pub mod schedule;
pub mod scheduler;
pub mod stage;
pub mod store;

use crate::fetch::FetchedBatch;
use crate::job::RecordBatch;
pub use crate::job::{BatchReport, FeedContext, FeedJob, Outcome};
pub use crate::store::Storage;

/// Knobs of one pipeline run.
#[derive(Debug, Clone, Copy)]
pub struct PipelineOptions {
    /// Feeds fetched at once.
    pub fetch_concurrency: usize,
    /// Batches cleaned at once: the pipeline's CPU threads ([`cpu`]).
    pub clean_workers: usize,
    /// Capacity of each channel between stages.
    pub channel_capacity: usize,
    /// Items published before this are not stored (`backfill --since`);
    /// items without a date are kept.
    pub since: Option<DateTime<Utc>>,
}

/// A failure that stops the pipeline (as opposed to a failed feed, which is
/// data: it is reported and the others carry on).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// A sink or the state store failed in a way retrying cannot fix.
    #[error("storage failed")]
    Storage(#[from] StoreError),
}

/// Run the stages until `jobs` closes and everything in flight is
/// stored, or until `abort`. Reports go to `reports` (dropped if it closes).
pub async fn run(
    options: PipelineOptions,
    fetcher: Fetcher,
    storage: Storage,
    jobs: mpsc::Receiver<FeedJob>,
    reports: mpsc::Sender<BatchReport>,
    abort: CancellationToken,
) -> Result<(), PipelineError> {
    let capacity = options.channel_capacity.max(1);
    // fetch → assemble: fetched documents waiting for a CPU.
    let (fetched_tx, fetched_rx) = mpsc::channel::<FetchedBatch>(capacity);
    // assemble → pages: records waiting for their article pages.
    let (clean_tx, clean_rx) = mpsc::channel::<RecordBatch>(capacity);
    // pages → store: records waiting for the sinks.
    let (paged_tx, paged_rx) = mpsc::channel::<RecordBatch>(capacity);
    // Parsing, cleaning and page extraction, below the store's writer.
    let cpu = Arc::new(cpu::CpuPool::new(options.clean_workers, newswire_storer::priority::BACKGROUND_NICE));
    let pages = pages::Pages::new(
        fetcher.clone(),
        Arc::clone(&storage.state),
        Arc::clone(&cpu),
        options.fetch_concurrency,
        options.clean_workers,
    );

    let mut stages = JoinSet::new();
    stages.spawn(fetch::fetch_stage(jobs, fetcher, fetched_tx, options.fetch_concurrency.max(1), abort.clone()));
    stages.spawn(assemble::assemble_stage(
        fetched_rx,
        clean_tx,
        cpu,
        options.clean_workers.max(1),
        options.since,
        abort.clone(),
    ));
    stages.spawn(pages::page_stage(clean_rx, paged_tx, Arc::new(pages), capacity, abort.clone()));
    // pages → link → store: a feed's batches one at a time, the lookups of
    // several feeds at once; the store task says when a feed's batch is in.
    let (linked_tx, linked_rx) = mpsc::channel(capacity);
    // One message per feed with a batch between the link stage's workers
    // and its commit: never more than this many at once.
    let linking = options.clean_workers.clamp(2, 4);
    let (done_tx, done_rx) = mpsc::channel(linking + capacity + store::GROUP_BATCHES);
    stages.spawn(link::link_stage(
        paged_rx,
        linked_tx,
        done_rx,
        Arc::clone(&storage.state),
        storage.clustering,
        Arc::clone(&storage.sites),
        Arc::clone(&storage.commits),
        linking,
        capacity,
        abort.clone(),
    ));
    let store = tokio::spawn(store::store_stage(linked_rx, storage, reports, done_tx, abort.clone()));
    while let Some(joined) = stages.join_next().await {
        if let Err(e) = joined
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }
    match store.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Ok(()),
    }
}
