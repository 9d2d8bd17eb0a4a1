//! What the pipeline publishes about itself: each sink's health (written by
//! the store stage) and each feed's status (written by the scheduler). The
//! binary's status server reads both for `/readyz` and `/feeds`, and the
//! web console reads them with the scheduler's [`Activity`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use newswire_core::state::Status;
use serde::Serialize;
use tracing::info;

use crate::activity::Activity;

/// How each sink's last write went. Written by the store stage, read by
/// `/readyz`.
#[derive(Debug, Default)]
pub struct SinkHealth {
    failing: Mutex<BTreeMap<String, String>>,
}

impl SinkHealth {
    /// A write to `sink` succeeded.
    pub fn sink_ok(&self, sink: &str) {
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        if failing.remove(sink).is_some() {
            info!(sink, "sink recovered");
        }
    }

    /// A write to `sink` failed and will be retried.
    pub fn sink_failing(&self, sink: &str, error: &str) {
        let mut failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner);
        failing.insert(sink.to_string(), error.to_string());
    }

    /// Failing sinks and their last error.
    pub fn failing(&self) -> BTreeMap<String, String> {
        self.failing.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// One feed as `/feeds` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FeedStatus {
    /// Feed name.
    pub name: String,
    /// Feed URL, redacted.
    pub url: String,
    /// `ok`, `failing`, `disabled`, `never_polled` or `polling`.
    pub status: Status,
    /// When it was last polled.
    pub last_poll: Option<DateTime<Utc>>,
    /// When it last succeeded.
    pub last_success: Option<DateTime<Utc>>,
    /// When it is due next.
    pub next_due: Option<DateTime<Utc>>,
    /// The poll interval, adapted to how often it publishes, in seconds
    /// (None until its first poll).
    pub interval_secs: Option<u64>,
    /// HTTP status of the last poll.
    pub last_status: u16,
    /// Consecutive failures.
    pub error_count: u32,
    /// The last error.
    pub last_error: Option<String>,
    /// Where it moved (301/308), if it did.
    pub moved_to: Option<String>,
}

/// What the scheduler publishes and the server shows.
#[derive(Debug, Default)]
pub struct Board {
    feeds: Mutex<BTreeMap<String, FeedStatus>>,
    running: AtomicBool,
    /// How the sinks are doing.
    pub sinks: Arc<SinkHealth>,
    /// Recent polls and records, for the console.
    pub activity: Activity,
}

impl Board {
    /// A board over the storage's sink health.
    pub fn new(sinks: Arc<SinkHealth>) -> Self {
        Board { feeds: Mutex::default(), running: AtomicBool::new(false), sinks, activity: Activity::default() }
    }

    /// Replace one feed's entry.
    pub fn set_feed(&self, status: FeedStatus) {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner).insert(status.name.clone(), status);
    }

    /// Forget a feed (removed from the config).
    pub fn remove_feed(&self, name: &str) {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
    }

    /// Mark the scheduler as running (or stopping).
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::SeqCst);
    }

    /// Whether the scheduler runs.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// Every feed's entry, by name.
    pub fn snapshot(&self) -> Vec<FeedStatus> {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner).values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_fails_and_recovers() {
        let health = SinkHealth::default();
        health.sink_failing("postgres", "connection refused");
        health.sink_ok("sqlite");
        assert_eq!(
            health.failing().into_iter().collect::<Vec<_>>(),
            [("postgres".into(), "connection refused".into())]
        );
        health.sink_ok("postgres");
        assert!(health.failing().is_empty());
    }
}
