//! Every metric newswire exports, in one place (the binary adds none: it
//! calls [`build_info`] and [`reload`] here).
//!
//! Names follow `newswire_<stage>_<noun>_<unit>[_total]`, in base units
//! (seconds, bytes), as Prometheus asks. [`ALL`] lists each with its type and
//! help text: [`describe`] gives them to the recorder, so every family on
//! `/metrics` has `# HELP` and `# TYPE`, and [`HISTOGRAM_BUCKETS`] gives each
//! duration its buckets, so durations are histograms, never summaries.
//! Label values come
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
/// Time a stage spent waiting for room downstream, by stage: one
/// observation per batch handed on. Its `_sum` is the total time blocked
/// (this was `newswire_pipeline_blocked_microseconds_total`, a counter in
/// microseconds, before seconds everywhere).
pub const BLOCKED: &str = "newswire_pipeline_blocked_seconds";
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

/// Always 1, labelled with the version and the sink features compiled in.
pub const BUILD_INFO: &str = "newswire_build_info";
/// When each feed was last polled successfully (a document, a 304 or an
/// unchanged one), Unix time, by feed; without feed labels, the latest of
/// any feed.
pub const FEED_LAST_SUCCESS: &str = "newswire_feed_last_success_timestamp_seconds";
/// 1 if the last config load (the start, or a SIGHUP reload) was applied, 0
/// if it was rejected.
pub const RELOAD_OK: &str = "newswire_config_last_reload_successful";
/// When the config was last loaded and applied, Unix time.
pub const RELOAD_TIME: &str = "newswire_config_last_reload_success_timestamp_seconds";
/// SIGHUP reloads, by result (`applied`, `rejected`).
pub const RELOADS: &str = "newswire_config_reloads_total";

/// A metric's Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up; the name ends in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets, with `_sum` and `_count`.
    Histogram,
}

impl Kind {
    /// The name in a `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Every metric: name, type, help text (the `# HELP` line).
pub const ALL: &[(&str, Kind, &str)] = &[
    (POLLS, Kind::Counter, "Feed polls by outcome: items, not_modified, unchanged, or the error kind."),
    (BODY_BYTES, Kind::Counter, "Bytes of feed documents fetched, after decompression."),
    (ITEMS, Kind::Counter, "Items stored by result: new, updated, unchanged."),
    (REMOVED, Kind::Counter, "Pieces the cleaner removed, by kind and by the rule that removed them."),
    (PAGES, Kind::Counter, "Article pages wanted by full_article, by result: used, or why the feed's text was kept."),
    (PAGE_FALLBACKS, Kind::Counter, "Article pages used whose text came from a fallback, by kind."),
    (SINK_WRITE, Kind::Histogram, "Time one sink took to write one batch, in seconds."),
    (SINK_ERRORS, Kind::Counter, "Failed sink writes; each is retried."),
    (QUEUE_DEPTH, Kind::Gauge, "Batches waiting in a channel between stages, by queue."),
    (BLOCKED, Kind::Histogram, "Time a stage waited for room downstream per batch, in seconds."),
    (FEEDS, Kind::Gauge, "Feeds the scheduler knows, by state."),
    (OVERDUE, Kind::Gauge, "Feeds past their due time and not yet being polled."),
    (POLL_LAG, Kind::Histogram, "How late polls start after their due time, in seconds."),
    (SQLITE_MEMORY, Kind::Gauge, "Bytes SQLite holds in this process (page caches, statements), read at each scrape."),
    (BUILD_INFO, Kind::Gauge, "Always 1: the version and the sink features of this build, as labels."),
    (
        FEED_LAST_SUCCESS,
        Kind::Gauge,
        "Unix time of the last successful poll, by feed (without feed labels: of any feed).",
    ),
    (RELOAD_OK, Kind::Gauge, "1 if the last config load (start or SIGHUP) was applied, 0 if it was rejected."),
    (RELOAD_TIME, Kind::Gauge, "Unix time the config was last loaded and applied."),
    (RELOADS, Kind::Counter, "Config reloads on SIGHUP, by result: applied, rejected."),
];

/// The bucket bounds of each histogram, in seconds.
pub const HISTOGRAM_BUCKETS: &[(&str, &[f64])] = &[
    (SINK_WRITE, &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
    (BLOCKED, &[0.0001, 0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0]),
    (POLL_LAG, &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0]),
];

/// Give the installed recorder every metric's help text (call once, after
/// installing it).
pub fn describe() {
    for &(name, kind, help) in ALL {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
}

/// Seconds since the Unix epoch, as a gauge's value.
fn now_seconds() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// `newswire_build_info`: the version and the sink features ("nats,postgres",
/// or "none").
pub fn build_info(version: &'static str, features: &'static str) {
    gauge!(BUILD_INFO, "version" => version, "features" => features).set(1.0);
}

/// A config load: the start (always applied) or a SIGHUP reload.
pub fn reload(applied: bool, on_sighup: bool) {
    gauge!(RELOAD_OK).set(if applied { 1.0 } else { 0.0 });
    if applied {
        gauge!(RELOAD_TIME).set(now_seconds());
    }
    if on_sighup {
        counter!(RELOADS, "result" => if applied { "applied" } else { "rejected" }).increment(1);
    }
}

static FEED_LABELS: AtomicBool = AtomicBool::new(true);

/// Whether the per-feed counters carry a `feed` label from now on.
pub fn set_feed_labels(on: bool) {
    FEED_LABELS.store(on, Ordering::Relaxed);
}

fn feed_labels() -> bool {
    FEED_LABELS.load(Ordering::Relaxed)
}

/// One poll's outcome; `ok` when it succeeded (a document, 304 or unchanged).
pub fn poll(feed: &str, outcome: &'static str, bytes: u64, ok: bool) {
    if ok {
        if feed_labels() {
            gauge!(FEED_LAST_SUCCESS, "feed" => feed.to_string()).set(now_seconds());
        } else {
            gauge!(FEED_LAST_SUCCESS).set(now_seconds());
        }
    }
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
    histogram!(BLOCKED, "stage" => stage).record(took.as_secs_f64());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_listed_once_in_base_units_with_help() {
        let names: Vec<&str> = ALL.iter().map(|m| m.0).collect();
        for (i, (name, kind, help)) in ALL.iter().enumerate() {
            assert!(!names[..i].contains(name), "{name} twice");
            assert!(name.starts_with("newswire_"), "{name}");
            assert!(!help.trim().is_empty(), "{name} has help");
            assert_eq!(
                *kind == Kind::Counter,
                name.ends_with("_total"),
                "{name}: counters and only counters end in _total"
            );
            for unit in ["micro", "milli", "nano", "_ms", "_us", "minutes", "hours", "kilo", "mega"] {
                assert!(!name.contains(unit), "{name}: base units only");
            }
            let has_buckets = HISTOGRAM_BUCKETS.iter().any(|(h, _)| h == name);
            assert_eq!(*kind == Kind::Histogram, has_buckets, "{name}: histograms and only histograms have buckets");
        }
        for (name, buckets) in HISTOGRAM_BUCKETS {
            assert!(name.ends_with("_seconds"), "{name}: durations are in seconds");
            assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{name}: bounds ascend");
        }
    }
}
