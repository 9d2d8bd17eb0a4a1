//! What flows in and out of the pipeline: a [`FeedJob`] (one poll of one
//! feed, or one page of its history) in, a [`RecordBatch`] from the
//! assemble stage on through the pages to the store, a [`BatchReport`] per
//! committed batch out, with the poll's [`Outcome`].

use std::sync::Arc;

use std::time::Duration;

use chrono::{DateTime, Utc};
use newswire_cleaner::Cleaner;
use newswire_cleaner::extract::site::PageRules;
use newswire_core::config::FeedSpec;
use newswire_core::state::FeedState;
use newswire_core::{ErrorKind, Record};

/// A feed as the pipeline sees it: its settings and its compiled cleaner.
#[derive(Debug)]
pub struct FeedContext {
    /// Settings, defaults applied.
    pub spec: FeedSpec,
    /// Cleaner with the feed's rules.
    pub cleaner: Cleaner,
    /// Site rules for its article pages, compiled.
    pub pages: PageRules,
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

/// What the assemble stage hands on: a polled feed's records and its next
/// state.
#[derive(Debug)]
pub struct RecordBatch {
    pub(crate) feed: Arc<FeedContext>,
    pub(crate) records: Vec<Record>,
    pub(crate) state: FeedState,
    pub(crate) outcome: Outcome,
    /// Body bytes fetched (0 for a 304 or a failure).
    pub(crate) bytes: u64,
    /// The next older page of history the document links (or, for a
    /// WordPress-style paged feed, the next `paged=N`).
    pub(crate) older: Option<String>,
    /// The newest publication date among the document's items.
    pub(crate) newest: Option<DateTime<Utc>>,
    /// Whether this batch was a page of history.
    pub(crate) page: Option<u32>,
    /// How long the server asked us to wait (freshness, Retry-After).
    pub(crate) server_wait: Option<Duration>,
}

impl RecordBatch {
    pub(crate) fn new(feed: Arc<FeedContext>, state: FeedState, outcome: Outcome) -> Self {
        RecordBatch {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A feed `f` at `https://e.com/feed` with `extra` lines in its
    /// `[[feed]]` table (its own site rules compiled, no shared ones).
    pub(crate) fn feed(extra: &str) -> Arc<FeedContext> {
        feed_at("https://e.com/feed", extra)
    }

    /// A feed `f` at `url` with `extra` lines in its `[[feed]]` table.
    pub(crate) fn feed_at(url: &str, extra: &str) -> Arc<FeedContext> {
        named("f", url, extra)
    }

    /// A feed `name` at `url` with `extra` lines in its `[[feed]]` table.
    pub(crate) fn named(name: &str, url: &str, extra: &str) -> Arc<FeedContext> {
        let text = format!("[[feed]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}");
        let config = newswire_core::config::parse(&text, std::path::Path::new("t.toml")).expect("config");
        let spec = config.feeds().remove(0);
        let own = newswire_cleaner::extract::site::compile(&spec.site_rules).expect("rules compile");
        let pages = PageRules::new(own, Arc::default());
        Arc::new(FeedContext { spec, cleaner: Cleaner::default(), pages })
    }

    #[test]
    fn outcomes_are_metric_labels() {
        let failed = Outcome::Failed { kind: ErrorKind::Timeout, message: "m".into() };
        let labels: Vec<&str> =
            [Outcome::Items(3), Outcome::NotModified, Outcome::Unchanged, failed].iter().map(Outcome::label).collect();
        assert_eq!(labels, ["items", "not_modified", "unchanged", "timeout"]);
    }
}
