//! The pipeline: fetch → clean → pages → store, joined by bounded channels.
//!
//! ```text
//! jobs ──▶ fetch stage ──FetchedBatch──▶ clean stage ──CleanBatch──▶ page stage ──CleanBatch──▶ store stage ──BatchReport──▶ reports
//!          (async I/O,     mpsc(cap)      (blocking pool:  mpsc(cap)  (article pages, mpsc(cap)  (sinks, then
//!           N at once)                     hash, parse,                src/pages.rs)              checkpoint)
//!                                          clean)
//! ```
//!
//! The unit that flows is one polled feed: its items plus its new state.
//! Every channel is bounded, so a slow stage slows the one before it instead
//! of growing memory. The daemon and the backfill run this same pipeline and
//! differ only in the stream of jobs: endless from the scheduler, or a
//! finite list that closes.
//!
//! Shutdown: whoever feeds `jobs` stops and drops its sender; each stage
//! ends when its input closes and it has passed on what it holds, so every
//! batch in flight reaches the sinks. The `abort` token stops every stage at
//! once; what was not committed is fetched again next time.
//!
//! Delivery: a feed's checkpoint (validators, item hashes) is committed only
//! after every sink has its records: sinks that do not hold the state are
//! written first, the one that holds it writes records and checkpoint in one
//! transaction last.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use newswire_cleaner::Cleaner;
use newswire_core::ErrorKind;
use newswire_core::Record;
use newswire_core::canon::redact;
use newswire_core::config::FeedSpec;
use newswire_core::fingerprint::Fingerprint;
use newswire_core::sink::{Sink, SinkBatch, StateStore, StoreError};
use newswire_core::state::{Checkpoint, DocumentSeen, FeedState, Indexed, ItemMark};
use newswire_fetcher::{Document, FetchError, FetchRequest, Fetched, Fetcher};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::assemble::build_record;

/// A feed as the pipeline sees it: its settings and its compiled cleaner.
#[derive(Debug)]
pub struct FeedContext {
    /// Settings, defaults applied.
    pub spec: FeedSpec,
    /// Cleaner with the feed's rules.
    pub cleaner: Cleaner,
    /// Site rules for its article pages, compiled.
    pub pages: crate::pages::PageRules,
}

/// One poll to make: the feed and what is remembered about it.
#[derive(Debug, Clone)]
pub struct FeedJob {
    /// The feed.
    pub feed: Arc<FeedContext>,
    /// Its state before this poll.
    pub state: FeedState,
    /// An older page of the feed's history to fetch instead of the feed
    /// itself (`backfill --archives`), and its number (2 for the first
    /// page after the feed). Fetched unconditionally; the feed's validators
    /// are left alone and the archive cursor advances instead.
    pub page: Option<(url::Url, u32)>,
}

impl FeedJob {
    /// A poll of the feed itself.
    pub fn poll(feed: Arc<FeedContext>, state: FeedState) -> Self {
        FeedJob { feed, state, page: None }
    }
}

/// What the fetch stage hands on.
#[derive(Debug)]
pub struct FetchedBatch {
    job: FeedJob,
    polled_at: DateTime<Utc>,
    result: Result<Fetched, FetchError>,
}

/// How a poll ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A document was read; this many items were in it.
    Items(usize),
    /// The server answered 304.
    NotModified,
    /// The document was byte-for-byte the one parsed last time.
    Unchanged,
    /// The poll failed.
    Failed {
        /// Coarse kind.
        kind: ErrorKind,
        /// Message naming the feed's URL and the cause.
        message: String,
    },
}

/// What the clean stage hands on.
#[derive(Debug)]
pub struct CleanBatch {
    pub(crate) feed: Arc<FeedContext>,
    pub(crate) records: Vec<Record>,
    state: FeedState,
    outcome: Outcome,
    /// Body bytes fetched (0 for a 304 or a failure).
    bytes: u64,
    /// The next older page of history the document links (or, for a
    /// WordPress-style paged feed, the next `paged=N`).
    older: Option<String>,
    /// The newest publication date among the document's items.
    newest: Option<DateTime<Utc>>,
    /// Whether this batch was a page of history.
    page: Option<u32>,
    /// How long the server asked us to wait (freshness, Retry-After).
    server_wait: Option<Duration>,
}

impl CleanBatch {
    fn new(feed: Arc<FeedContext>, state: FeedState, outcome: Outcome) -> Self {
        CleanBatch {
            feed,
            records: Vec::new(),
            state,
            outcome,
            bytes: 0,
            older: None,
            newest: None,
            page: None,
            server_wait: None,
        }
    }
}

/// What the store stage reports for each committed batch.
#[derive(Debug, Clone)]
pub struct BatchReport {
    /// The feed.
    pub feed: Arc<FeedContext>,
    /// Its state as committed.
    pub state: FeedState,
    /// How the poll ended.
    pub outcome: Outcome,
    /// Records written for the first time.
    pub new: usize,
    /// Records written again because their content changed.
    pub updated: usize,
    /// Items seen before with the same content, not written.
    pub unchanged: usize,
    /// Body bytes fetched.
    pub bytes: u64,
    /// The next older page of history, if the document links one.
    pub older: Option<String>,
    /// The newest publication date among the document's items.
    pub newest: Option<DateTime<Utc>>,
    /// The page number, for a page of history.
    pub page: Option<u32>,
}

impl Outcome {
    /// The outcome as a metric label: `items`, `not_modified`, `unchanged`
    /// or the error kind.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Items(_) => "items",
            Outcome::NotModified => "not_modified",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed { kind, .. } => kind.as_str(),
        }
    }
}

/// Knobs of one pipeline run.
#[derive(Debug, Clone, Copy)]
pub struct PipelineOptions {
    /// Feeds fetched at once.
    pub fetch_concurrency: usize,
    /// Batches cleaned at once (threads of the blocking pool in use).
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

/// Storage: the sinks and the state store.
pub struct Storage {
    /// Sinks, those that hold the state last.
    pub sinks: Vec<Box<dyn Sink>>,
    /// Where feed state is read (and committed when no sink holds it).
    pub state: Arc<dyn StateStore>,
    /// How the sinks are doing, for /readyz.
    pub health: Arc<crate::status::SinkHealth>,
    /// How copies of one story are linked.
    pub clustering: Clustering,
    /// When the near-duplicate index was last pruned (None: at the next
    /// batch).
    pub index_pruned: Option<std::time::Instant>,
}

/// Near-duplicate linking settings (`[pipeline] cluster_threshold`,
/// `cluster_window`).
#[derive(Debug, Clone, Copy)]
pub struct Clustering {
    /// Least similarity to link a record to an earlier story.
    pub threshold: f64,
    /// How far back to look.
    pub window: Duration,
}

impl Default for Clustering {
    fn default() -> Self {
        Clustering { threshold: 0.5, window: Duration::from_secs(7 * 24 * 3600) }
    }
}

impl Storage {
    /// Order the sinks so that those holding the state are written last.
    pub fn new(mut sinks: Vec<Box<dyn Sink>>, state: Arc<dyn StateStore>) -> Self {
        sinks.sort_by_key(|s| s.holds_state());
        Storage { sinks, state, health: Arc::default(), clustering: Clustering::default(), index_pruned: None }
    }
}

/// Run the three stages until `jobs` closes and everything in flight is
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
    // fetch → clean: fetched documents waiting for a CPU.
    let (fetched_tx, fetched_rx) = mpsc::channel::<FetchedBatch>(capacity);
    // clean → pages: records waiting for their article pages (src/pages.rs).
    let (clean_tx, clean_rx) = mpsc::channel::<CleanBatch>(capacity);
    // pages → store: records waiting for the sinks.
    let (paged_tx, paged_rx) = mpsc::channel::<CleanBatch>(capacity);
    let pages = crate::pages::Pages::new(
        fetcher.clone(),
        Arc::clone(&storage.state),
        options.fetch_concurrency,
        options.clean_workers,
    );

    let mut stages = JoinSet::new();
    stages.spawn(fetch_stage(jobs, fetcher, fetched_tx, options.fetch_concurrency.max(1), abort.clone()));
    stages.spawn(clean_stage(fetched_rx, clean_tx, options.clean_workers.max(1), options.since, abort.clone()));
    stages.spawn(crate::pages::page_stage(clean_rx, paged_tx, Arc::new(pages), capacity, abort.clone()));
    let store = tokio::spawn(store_stage(paged_rx, storage, reports, abort.clone()));
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

/// The loop every concurrent stage shares; the stage itself is `work`, one
/// item at a time. Take an item, wait for one of `concurrency` slots, run
/// `work` on it in a task of its own, and hand the result on. The slot is
/// held until the result is handed on, not just while it is worked on: a
/// result waiting for room downstream still counts against the stage, so a
/// slow stage downstream stops this one instead of piling results up. Sends
/// reserve first, since a cancelled `send()` would lose the result. Ends
/// when the input closes and its tasks are done, or at `abort`. `stage`
/// names it in the blocked-time metric, `queue` (if any) its input queue in
/// the depth metric.
pub(crate) async fn run_stage<I, O, F, Fut>(
    stage: &'static str,
    queue: Option<&'static str>,
    mut input: mpsc::Receiver<I>,
    out: mpsc::Sender<O>,
    concurrency: usize,
    abort: CancellationToken,
    work: F,
) where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = O> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let work = Arc::new(work);
    let mut tasks = JoinSet::new();
    loop {
        let item = tokio::select! {
            _ = abort.cancelled() => break,
            item = input.recv() => match item { Some(item) => item, None => break },
        };
        if let Some(queue) = queue {
            crate::metrics::queue_depth(queue, input.len());
        }
        let permit = tokio::select! {
            _ = abort.cancelled() => break,
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (work, out, abort) = (Arc::clone(&work), out.clone(), abort.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let result = tokio::select! {
                _ = abort.cancelled() => return,
                result = work(item) => result,
            };
            let waiting = std::time::Instant::now();
            tokio::select! {
                _ = abort.cancelled() => {}
                slot = out.reserve() => if let Ok(slot) = slot { slot.send(result) },
            }
            crate::metrics::blocked(stage, waiting.elapsed());
        });
        // Reap finished tasks so the set does not grow with the item count.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// Up to `concurrency` polls at once.
async fn fetch_stage(
    jobs: mpsc::Receiver<FeedJob>,
    fetcher: Fetcher,
    out: mpsc::Sender<FetchedBatch>,
    concurrency: usize,
    abort: CancellationToken,
) {
    run_stage("fetch", None, jobs, out, concurrency, abort, move |job| {
        let fetcher = fetcher.clone();
        async move {
            let batch = fetch_one(&fetcher, job).await;
            crate::failpoint::hit("after_fetch");
            batch
        }
    })
    .await;
}

/// Poll one feed.
pub async fn fetch_one(fetcher: &Fetcher, job: FeedJob) -> FetchedBatch {
    let spec = &job.feed.spec;
    // Validators belong to the URL they came from: after a config change of
    // URL, or for a page of history, ask unconditionally.
    let same_url = job.page.is_none() && job.state.validators_for(&spec.url);
    let url = job.page.as_ref().map_or(&spec.url, |(page, _)| page);
    let request = FetchRequest {
        url,
        etag: job.state.etag.as_deref().filter(|_| same_url),
        last_modified: job.state.last_modified.as_deref().filter(|_| same_url),
        allow_private: spec.allow_private,
        allow_file: spec.allow_file,
        timeout: spec.timeout,
        max_body: spec.max_body,
        retries: spec.retries,
        headers: &spec.headers,
        basic_auth: spec.basic_auth.as_ref().map(|(user, password)| (user.as_str(), password.expose())),
        proxy: spec.proxy.as_deref(),
    };
    let polled_at = Utc::now();
    let result = fetcher.fetch(&request).await;
    FetchedBatch { job, polled_at, result }
}

/// Up to `workers` documents parsed and cleaned at once, on the blocking
/// pool.
async fn clean_stage(
    input: mpsc::Receiver<FetchedBatch>,
    out: mpsc::Sender<CleanBatch>,
    workers: usize,
    since: Option<DateTime<Utc>>,
    abort: CancellationToken,
) {
    run_stage("clean", Some("fetched"), input, out, workers, abort, move |batch: FetchedBatch| async move {
        let (feed, state) = (Arc::clone(&batch.job.feed), batch.job.state.clone());
        let cleaned = match tokio::task::spawn_blocking(move || clean_one(batch, since)).await {
            Ok(cleaned) => cleaned,
            // A document that makes the parser or cleaner panic is a
            // failed poll of that feed, reported like any other (the
            // scheduler reschedules it with backoff); its validators were
            // not advanced, so it is read again next time.
            Err(e) => {
                let message = format!("{}: cleaning the document failed: {e}", redact(feed.spec.url.as_str()));
                warn!(feed = %feed.spec.name, error = %message, "clean task failed");
                let mut state = state;
                let status = state.last_status;
                state.on_failure(status, message.clone(), false);
                CleanBatch::new(feed, state, Outcome::Failed { kind: ErrorKind::Parse, message })
            }
        };
        crate::failpoint::hit("after_clean");
        cleaned
    })
    .await;
}

/// Turn a fetched document into records and the feed's next state. Pure
/// CPU work: hashing, parsing, cleaning.
pub fn clean_one(batch: FetchedBatch, since: Option<DateTime<Utc>>) -> CleanBatch {
    let FetchedBatch { job, polled_at, result } = batch;
    if let Some(page) = job.page {
        return clean_page(job.feed, job.state, page, polled_at, result, since);
    }
    let feed = job.feed;
    let spec = &feed.spec;
    let mut state = job.state;
    state.begin_poll(&spec.name, &spec.url, polled_at);
    let fail = |mut state: FeedState, kind: ErrorKind, message: String, status: u16, gone: bool| {
        state.on_failure(status, message.clone(), gone);
        CleanBatch::new(Arc::clone(&feed), state, Outcome::Failed { kind, message })
    };
    // The server's word on when to come back: freshness on success,
    // Retry-After on failure. A lower bound on the next poll.
    let server_wait = match &result {
        Ok(Fetched::NotModified { fresh_for }) => *fresh_for,
        Ok(Fetched::Document(doc)) => doc.fresh_for,
        Err(err) => err.retry_after,
    };
    let mut batch = match result {
        Err(err) => {
            let gone = err.is_gone();
            fail(state, err.kind, err.message, err.status.unwrap_or(0), gone)
        }
        Ok(Fetched::NotModified { .. }) => {
            state.on_not_modified(polled_at);
            CleanBatch::new(Arc::clone(&feed), state, Outcome::NotModified)
        }
        Ok(Fetched::Document(doc)) => {
            let bytes = doc.body.len() as u64;
            let body_hash = newswire_core::id::bytes_hash(&doc.body);
            let status = doc.status;
            if state.body_hash.as_deref() == Some(body_hash.as_str()) {
                accept_document(&mut state, &doc, body_hash, polled_at);
                CleanBatch { bytes, ..CleanBatch::new(Arc::clone(&feed), state, Outcome::Unchanged) }
            } else {
                match parse(&feed, &doc) {
                    Ok(parsed) => {
                        let older = parsed.pages.older().map(str::to_string);
                        let (records, found, newest) = build_records(&feed, parsed, polled_at, since);
                        accept_document(&mut state, &doc, body_hash, polled_at);
                        state.on_items(found);
                        CleanBatch {
                            records,
                            bytes,
                            older,
                            newest,
                            ..CleanBatch::new(Arc::clone(&feed), state, Outcome::Items(found))
                        }
                    }
                    Err(message) => CleanBatch { bytes, ..fail(state, ErrorKind::Parse, message, status, false) },
                }
            }
        }
    };
    batch.server_wait = server_wait;
    batch
}

/// A page of the feed's history (`backfill --archives`). The feed's
/// validators, error count and schedule are left alone: only the archive
/// cursor advances, committed with the page's records.
fn clean_page(
    feed: Arc<FeedContext>,
    mut state: FeedState,
    page: (url::Url, u32),
    polled_at: DateTime<Utc>,
    result: Result<Fetched, FetchError>,
    since: Option<DateTime<Utc>>,
) -> CleanBatch {
    let (url, number) = page;
    let failed = |state: FeedState, kind: ErrorKind, message: String| CleanBatch {
        page: Some(number),
        ..CleanBatch::new(
            Arc::clone(&feed),
            state,
            Outcome::Failed { kind, message: format!("page {number}: {message}") },
        )
    };
    let paged = url.query_pairs().any(|(k, _)| k == "paged");
    let doc = match result {
        Ok(Fetched::Document(doc)) => doc,
        // A paged feed answers 404 (WordPress) or 410 past its last page:
        // that is the end of its history, not a failure.
        Err(err) if paged && matches!(err.status, Some(404 | 410)) => {
            state.end_archive();
            return CleanBatch { page: Some(number), ..CleanBatch::new(Arc::clone(&feed), state, Outcome::Items(0)) };
        }
        Ok(Fetched::NotModified { .. }) => {
            return failed(
                state,
                ErrorKind::Status,
                format!("{} answered 304 to an unconditional request", redact(url.as_str())),
            );
        }
        Err(err) => return failed(state, err.kind, err.message),
    };
    let parsed = match parse(&feed, &doc) {
        Ok(parsed) => parsed,
        Err(message) => return failed(state, ErrorKind::Parse, message),
    };
    // Where to go next: the older page the document links, or, in a
    // WordPress-style paged walk (the URL carries `paged`), the next
    // `paged=N` while pages still hold items. An archive document without a
    // `prev-archive` link is the oldest: the walk ends there. The backfill
    // stops a paged walk at a page with nothing new.
    let older = parsed
        .pages
        .older()
        .map(str::to_string)
        .or_else(|| (paged && !parsed.items.is_empty()).then(|| with_paged(&url, number + 1).to_string()));
    let bytes = doc.body.len() as u64;
    let (records, found, newest) = build_records(&feed, parsed, polled_at, since);
    state.advance_archive(number, older.as_deref());
    CleanBatch {
        records,
        bytes,
        older,
        newest,
        page: Some(number),
        ..CleanBatch::new(Arc::clone(&feed), state, Outcome::Items(found))
    }
}

/// `url` with its `paged` query parameter set to `n`, other parameters kept.
pub fn with_paged(url: &url::Url, n: u32) -> url::Url {
    let mut next = url.clone();
    let kept: Vec<(String, String)> =
        url.query_pairs().filter(|(k, _)| k != "paged").map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    next.query_pairs_mut().clear().extend_pairs(kept).append_pair("paged", &n.to_string());
    next
}

fn parse(feed: &FeedContext, doc: &Document) -> Result<newswire_fetcher::ParsedFeed, String> {
    newswire_fetcher::parse_feed_with(&doc.body, &doc.final_url, feed.spec.max_items, doc.content_type.as_deref())
        .map_err(|e| format!("{}: {}", redact(doc.final_url.as_str()), e.message))
}

/// Records of a parsed document: (records, items found, newest date).
/// Items published before `since` are left out; undated ones are kept.
fn build_records(
    feed: &FeedContext,
    parsed: newswire_fetcher::ParsedFeed,
    polled_at: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
) -> (Vec<Record>, usize, Option<DateTime<Utc>>) {
    let spec = &feed.spec;
    for warning in &parsed.warnings {
        warn!(feed = %spec.name, warning = %warning, "feed document needed repair");
    }
    if parsed.dropped > 0 {
        warn!(feed = %spec.name, kept = parsed.items.len(), dropped = parsed.dropped, "feed has more items than max_items");
    }
    if parsed.items.is_empty() && parsed.warnings.is_empty() {
        warn!(feed = %spec.name, "feed document has no items");
    }
    let found = parsed.items.len();
    let newest = parsed.items.iter().filter_map(|i| i.published.or(i.updated)).max();
    let mut records = Vec::with_capacity(found);
    let mut ids = HashSet::with_capacity(found);
    for item in parsed.items {
        if let (Some(since), Some(date)) = (since, item.published.or(item.updated))
            && date < since
        {
            continue;
        }
        if let Some(record) = build_record(spec, &feed.cleaner, item, polled_at)
            // The first of two items with one id wins: feeds list
            // the newest version first.
            && ids.insert(record.id.clone())
        {
            records.push(record);
        }
    }
    for record in &records {
        for removed in &record.removed {
            crate::metrics::removed(removed.kind);
        }
    }
    (records, found, newest)
}

fn accept_document(state: &mut FeedState, doc: &Document, body_hash: String, polled_at: DateTime<Utc>) {
    let seen = DocumentSeen {
        status: doc.status,
        etag: doc.etag.clone(),
        last_modified: doc.last_modified.clone(),
        body_hash,
        moved_to: doc.moved_to.clone(),
    };
    state.on_document(seen, polled_at);
}

async fn store_stage(
    mut input: mpsc::Receiver<CleanBatch>,
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

/// How long to wait before retrying a failed write, doubling up to a minute.
fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(8))).min(Duration::from_secs(60))
}

/// Store one batch: decide what is new, write every sink, commit the
/// checkpoint. Retryable failures are retried (with backoff) until they
/// succeed, so nothing is dropped; a fatal one stops the pipeline.
pub async fn store_one(storage: &mut Storage, batch: CleanBatch) -> Result<BatchReport, StoreError> {
    let health = Arc::clone(&storage.health);
    let CleanBatch { feed, records, mut state, outcome, bytes, older, newest, page, server_wait } = batch;
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
        schedule_next(&feed.spec, &mut state, &outcome, new + updated > 0, server_wait);
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

/// Link each record to the story it is a copy of, and return the index
/// entries to commit with the batch (docs/clusters.md). A record's story is
/// that of its most similar earlier record at or above the threshold: one
/// found through the state store's near-duplicate index (within the window),
/// or one earlier in this same batch (not in the index yet: a feed can carry
/// a teaser and the full text of one story). Also prunes the index now and
/// then, see [`prune_index`].
async fn link_copies(storage: &mut Storage, records: &mut [Record]) -> Result<Vec<Indexed>, StoreError> {
    let clustering = storage.clustering;
    let lookups: Vec<(String, Fingerprint)> =
        records.iter().filter_map(|r| r.fingerprint.clone().map(|f| (r.id.clone(), f))).collect();
    if lookups.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let window = chrono::Duration::from_std(clustering.window).unwrap_or(chrono::Duration::days(7));
    let since = now - window;
    let state = &storage.state;
    let matches = with_retry("state", || state.find_similar(&lookups, since, clustering.threshold)).await?;
    let mut found = matches.into_iter();
    let mut entries: Vec<Indexed> = Vec::with_capacity(lookups.len());
    // This batch's entries so far, by index key.
    let mut by_key: std::collections::HashMap<i64, Vec<usize>> = std::collections::HashMap::new();
    for record in records.iter_mut() {
        let Some(fingerprint) = record.fingerprint.take() else { continue };
        let mut best = found.next().flatten().map(|m| (m.cluster, m.similarity));
        let mut seen = Vec::new();
        for key in fingerprint.keys() {
            for &i in by_key.get(&key).into_iter().flatten() {
                if seen.contains(&i) || entries[i].id == record.id {
                    continue;
                }
                seen.push(i);
                let sim = newswire_core::fingerprint::similarity(&fingerprint, &entries[i].fingerprint);
                if sim >= clustering.threshold && best.as_ref().is_none_or(|(_, b)| sim > *b) {
                    let story = entries[i].cluster.clone().unwrap_or_else(|| entries[i].id.clone());
                    best = Some((story, sim));
                }
            }
        }
        if let Some((story, sim)) = best {
            record.cluster = Some(story);
            // Two decimals: an estimate, not a measurement.
            record.similarity = Some((sim * 100.0).round() / 100.0);
        }
        for key in fingerprint.keys() {
            by_key.entry(key).or_default().push(entries.len());
        }
        entries.push(Indexed { id: record.id.clone(), fingerprint, cluster: record.cluster.clone(), at: now });
    }
    prune_index(storage, now - window).await;
    Ok(entries)
}

/// How often the store stage prunes the near-duplicate index, and how many
/// entries at most each time.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
const PRUNE_LIMIT: usize = 10_000;

/// Remove index entries indexed before `before` (outside the window, never
/// found again): at most [`PRUNE_LIMIT`] every [`PRUNE_EVERY`], or at the
/// next batch while more remain. Housekeeping: a failure is logged and
/// tried again next time, never stops the batch.
async fn prune_index(storage: &mut Storage, before: chrono::DateTime<Utc>) {
    if storage.index_pruned.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
        return;
    }
    match storage.state.prune_index(before, PRUNE_LIMIT).await {
        Ok(pruned) => {
            debug!(pruned, "near-duplicate index pruned");
            // A full helping means more remain: again at the next batch.
            storage.index_pruned = (pruned < PRUNE_LIMIT as u64).then(std::time::Instant::now);
        }
        Err(e) => {
            warn!(error = %e, "near-duplicate index pruning failed");
            storage.index_pruned = Some(std::time::Instant::now());
        }
    }
}

/// Adapt the feed's interval to this poll and set its next due time.
fn schedule_next(
    spec: &FeedSpec,
    state: &mut FeedState,
    outcome: &Outcome,
    brought_news: bool,
    server_wait: Option<Duration>,
) {
    let current = state.interval().unwrap_or(spec.interval).clamp(spec.min_interval, spec.max_interval);
    let interval = if matches!(outcome, Outcome::Failed { .. }) {
        current
    } else {
        crate::schedule::adapt(current, brought_news, spec.min_interval, spec.max_interval)
    };
    let wait = crate::schedule::next_wait(interval, state.error_count, server_wait);
    state.schedule(interval, wait, Utc::now());
}

async fn with_retry<'a, T, F>(what: &str, mut op: impl FnMut() -> F) -> Result<T, StoreError>
where
    F: std::future::Future<Output = Result<T, StoreError>> + 'a,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.retryable => {
                warn!(store = what, error = %e, attempt, "state store failed; retrying");
                tokio::time::sleep(retry_delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
