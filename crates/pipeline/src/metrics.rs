//! Every metric newswire exports, in one place (the binary adds none).
//!
//! Names follow `newswire_<stage>_<noun>_<unit>[_total]`. Label values come
//! from closed sets (outcome, result, removal kind, sink kind, queue) or
//! from feed names, which the operator chose in the config; never from URLs
//! or titles. Each stage keeps received = sent + dropped + errored: every
//! poll ends in exactly one `newswire_fetch_polls_total` outcome.
//!
//! Without a recorder installed (a backfill without `[server]`), recording
//! is a no-op.
//!
//! The `feed` label is off for large configs ([`set_feed_labels`],
//! `[server] feed_labels`): at 10,000 feeds the per-feed series were 60,000
//! lines per scrape, and each scrape's 17 MB snapshot, freed again, was what
//! let a soak's resident memory climb (docs/reliability.md).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use newswire_core::Removed;

/// Polls, by feed and outcome (`items`, `not_modified`, `unchanged`, or the
/// error kind: `timeout`, `connect`, `status`, `too_large`, `forbidden`,
/// `redirect`, `parse`, `io`).
pub const POLLS: &str = "newswire_fetch_polls_total";
/// Body bytes fetched, by feed.
pub const BODY_BYTES: &str = "newswire_fetch_body_bytes_total";
/// Items stored, by feed and result (`new`, `updated`, `unchanged`).
pub const ITEMS: &str = "newswire_store_items_total";
/// Pieces the cleaner removed, by kind and rule (a built-in rule's name, or
/// the name the operator gave a custom rule in the config: a closed set
/// either way).
pub const REMOVED: &str = "newswire_clean_removed_total";
/// Article pages wanted (`full_article`), by feed and result: `used`, or why
/// the feed's text was kept (`robots`, `timeout`, `status`, `too_large`,
/// `forbidden`, `fetch_failed`, `not_html`, `smaller`, `no_url`, `failed`).
pub const PAGES: &str = "newswire_page_results_total";
/// Article pages used whose text came from a fallback, by kind (`json_ld`,
/// `densest_prose`, `page_text`: `newswire_cleaner::Fallback`).
pub const PAGE_FALLBACKS: &str = "newswire_page_fallbacks_total";
/// Time one sink took to write one batch, by sink.
pub const SINK_WRITE: &str = "newswire_sink_write_duration_seconds";
/// Failed sink writes (each retried), by sink.
pub const SINK_ERRORS: &str = "newswire_sink_write_errors_total";
/// Batches waiting in a channel between stages, by queue (`fetched`, `pages`
/// (cleaned, waiting for their article pages), `cleaned` (waiting for the
/// sinks)).
pub const QUEUE_DEPTH: &str = "newswire_pipeline_queue_depth";
/// Time a stage spent waiting for room downstream, by stage.
pub const BLOCKED: &str = "newswire_pipeline_blocked_microseconds_total";
/// Feeds the scheduler knows, by state (`scheduled`, `in_flight`, `failing`, `disabled`).
pub const FEEDS: &str = "newswire_scheduler_feeds";
/// Feeds whose due time has passed and that are not yet being polled.
pub const OVERDUE: &str = "newswire_scheduler_feeds_overdue";
/// How late polls start after their due time.
pub const POLL_LAG: &str = "newswire_scheduler_poll_lag_seconds";
/// Bytes SQLite holds in this process (page caches, statements), read at
/// every scrape: it rises while the archive is young and levels off at the
/// caches' bound (docs/reliability.md, Soak).
pub const SQLITE_MEMORY: &str = "newswire_sqlite_memory_bytes";

static FEED_LABELS: AtomicBool = AtomicBool::new(true);

/// Whether the per-feed counters carry a `feed` label from now on.
pub fn set_feed_labels(on: bool) {
    FEED_LABELS.store(on, Ordering::Relaxed);
}

fn feed_labels() -> bool {
    FEED_LABELS.load(Ordering::Relaxed)
}

/// One poll's outcome.
pub fn poll(feed: &str, outcome: &'static str, bytes: u64) {
    if feed_labels() {
        counter!(POLLS, "feed" => feed.to_string(), "outcome" => outcome).increment(1);
        if bytes > 0 {
            counter!(BODY_BYTES, "feed" => feed.to_string()).increment(bytes);
        }
    } else {
        counter!(POLLS, "outcome" => outcome).increment(1);
        if bytes > 0 {
            counter!(BODY_BYTES).increment(bytes);
        }
    }
}

/// Items stored for one feed.
pub fn items(feed: &str, new: usize, updated: usize, unchanged: usize) {
    for (result, n) in [("new", new), ("updated", updated), ("unchanged", unchanged)] {
        if n > 0 {
            if feed_labels() {
                counter!(ITEMS, "feed" => feed.to_string(), "result" => result).increment(n as u64);
            } else {
                counter!(ITEMS, "result" => result).increment(n as u64);
            }
        }
    }
}

/// One article page's result, by its name ([`crate::pages::PageResult::as_str`]).
pub fn page(feed: &str, result: &'static str) {
    if feed_labels() {
        counter!(PAGES, "feed" => feed.to_string(), "result" => result).increment(1);
    } else {
        counter!(PAGES, "result" => result).increment(1);
    }
}

/// One article page used whose text came from a fallback.
pub fn page_fallback(kind: newswire_cleaner::Fallback) {
    counter!(PAGE_FALLBACKS, "kind" => kind.as_str()).increment(1);
}

/// One removal by the cleaner.
pub fn removed(removed: &Removed) {
    counter!(REMOVED, "kind" => removed.kind.as_str(), "rule" => removed.rule.clone()).increment(1);
}

/// One sink write and how long it took.
pub fn sink_write(sink: &str, took: Duration, ok: bool) {
    histogram!(SINK_WRITE, "sink" => sink.to_string()).record(took.as_secs_f64());
    if !ok {
        counter!(SINK_ERRORS, "sink" => sink.to_string()).increment(1);
    }
}

/// Depth of a queue between stages.
pub fn queue_depth(queue: &'static str, depth: usize) {
    gauge!(QUEUE_DEPTH, "queue" => queue).set(depth as f64);
}

/// Time a stage waited for room downstream.
pub fn blocked(stage: &'static str, took: Duration) {
    counter!(BLOCKED, "stage" => stage).increment(took.as_micros() as u64);
}

/// The scheduler's view, refreshed after every change.
pub fn feeds(scheduled: usize, in_flight: usize, failing: usize, disabled: usize, overdue: usize) {
    for (state, n) in [("scheduled", scheduled), ("in_flight", in_flight), ("failing", failing), ("disabled", disabled)]
    {
        gauge!(FEEDS, "state" => state).set(n as f64);
    }
    gauge!(OVERDUE).set(overdue as f64);
}

/// How late a poll started.
pub fn poll_lag(lag: Duration) {
    histogram!(POLL_LAG).record(lag.as_secs_f64());
}

/// SQLite's memory now; called just before each scrape is rendered.
pub fn sqlite_memory() {
    gauge!(SQLITE_MEMORY).set(newswire_storer::sqlite::memory_used() as f64);
}
