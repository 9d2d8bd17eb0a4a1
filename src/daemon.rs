//! `newswire run`: the daemon. A scheduler hands due feeds to the pipeline
//! and reschedules each when its batch is committed.
//!
//! The scheduler keeps one next-due time per feed in a priority queue (not a
//! timer or task per feed) and at most one poll of a feed in flight. A
//! feed's next due time is chosen when its report comes back: its interval
//! from now, with jitter (±10%) so feeds do not poll in lockstep, and longer
//! after failures (exponential backoff up to 16 intervals). The due time is
//! part of the committed state, so it survives restarts.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use newswire_core::canon::redact;
use newswire_core::state::FeedState;
use rand::Rng;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::pipeline::{self, BatchReport, FeedContext, FeedJob, Outcome};
use crate::settings::Settings;
use crate::wiring;

struct Entry {
    feed: Arc<FeedContext>,
    state: FeedState,
    in_flight: bool,
}

/// Run the daemon until `shutdown`, then drain; `abort` stops at once.
pub async fn run(settings: &Settings, shutdown: CancellationToken, abort: CancellationToken) -> anyhow::Result<()> {
    let fetcher = wiring::fetcher(&settings.config)?;
    let (storage, _store) = wiring::storage(&settings.config).await?;
    let mut states: HashMap<String, FeedState> =
        storage.state.load_all().await?.into_iter().map(|s| (s.feed.clone(), s)).collect();
    let options = wiring::pipeline_options(&settings.config);
    let (jobs_tx, jobs_rx) = mpsc::channel::<FeedJob>(options.channel_capacity);
    let (reports_tx, mut reports_rx) = mpsc::channel::<BatchReport>(options.channel_capacity);
    let runner = tokio::spawn(pipeline::run(options, fetcher, storage, jobs_rx, reports_tx, abort.clone()));

    let now = Instant::now();
    let wall_now = Utc::now();
    let mut entries: Vec<Entry> = Vec::new();
    let mut queue: BinaryHeap<Reverse<(Instant, usize)>> = BinaryHeap::new();
    for feed in settings.feeds.iter().filter(|f| f.spec.enabled) {
        let state = states.remove(&feed.spec.name).unwrap_or_default();
        if state.disabled && state.url == redact(feed.spec.url.as_str()) {
            warn!(feed = %feed.spec.name, "feed is disabled after HTTP 410; change its url to poll it again");
            continue;
        }
        // Due now, or when the last run said, spread over a short window so
        // a restart does not poll every overdue feed in the same instant.
        let wait = state.next_due_at.and_then(|due| (due - wall_now).to_std().ok()).unwrap_or_default();
        let spread = Duration::from_millis(rand::rng().random_range(0..=200));
        queue.push(Reverse((now + wait + spread, entries.len())));
        entries.push(Entry { feed: Arc::clone(feed), state, in_flight: false });
    }
    info!(feeds = entries.len(), "daemon started");

    loop {
        let next_due = queue.peek().map(|Reverse((due, _))| *due);
        tokio::select! {
            _ = shutdown.cancelled() => break,
            report = reports_rx.recv() => {
                let Some(report) = report else { break };
                reschedule(&mut entries, &mut queue, report);
            }
            _ = sleep_until(next_due) => {
                let Some(Reverse((_, idx))) = queue.pop() else { continue };
                let entry = &mut entries[idx];
                entry.in_flight = true;
                let job = FeedJob { feed: Arc::clone(&entry.feed), state: entry.state.clone() };
                // Reserve first so a shutdown while the pipeline is full does
                // not lose track of the job.
                let permit = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    permit = jobs_tx.reserve() => match permit { Ok(p) => p, Err(_) => break },
                };
                permit.send(job);
            }
        }
    }
    info!("shutting down: draining in-flight feeds");
    // Closing the job channel lets each stage finish what it holds and end.
    drop(jobs_tx);
    while let Some(report) = reports_rx.recv().await {
        reschedule(&mut entries, &mut queue, report);
    }
    runner.await??;
    info!("daemon stopped");
    Ok(())
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

fn reschedule(entries: &mut [Entry], queue: &mut BinaryHeap<Reverse<(Instant, usize)>>, report: BatchReport) {
    let Some(idx) = entries.iter().position(|e| Arc::ptr_eq(&e.feed, &report.feed)) else { return };
    let entry = &mut entries[idx];
    entry.in_flight = false;
    entry.state = report.state;
    if entry.state.disabled {
        warn!(feed = %entry.feed.spec.name, "feed disabled after HTTP 410");
        return;
    }
    let wait = entry
        .state
        .next_due_at
        .and_then(|due| (due - Utc::now()).to_std().ok())
        .unwrap_or_else(|| crate::schedule::next_interval(entry.feed.spec.interval, entry.state.error_count));
    if matches!(report.outcome, Outcome::Failed { .. }) {
        warn!(feed = %entry.feed.spec.name, retry_in_s = wait.as_secs(), "feed will be retried");
    }
    queue.push(Reverse((Instant::now() + wait, idx)));
}
