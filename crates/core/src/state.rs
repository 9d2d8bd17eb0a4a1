//! A feed's checkpoint: what newswire remembers about a feed between polls,
//! and the rules by which a poll changes it.
//!
//! The checkpoint travels with the batch of items fetched from the feed and
//! is committed only after every item before it is durable in every sink, in
//! the same transaction as the records where the sink allows. So a crash
//! anywhere loses nothing: at worst the batch is fetched again, and sinks
//! upsert by record id.
//!
//! [`FeedState`]'s transitions are its methods, so every stage that polls,
//! schedules or reports a feed applies the same rules: a poll begins
//! ([`begin_poll`](FeedState::begin_poll), which resets what belonged to an
//! old URL), then ends in one of [`on_document`](FeedState::on_document),
//! [`on_not_modified`](FeedState::on_not_modified) or
//! [`on_failure`](FeedState::on_failure); a page of history moves the
//! archive cursor ([`advance_archive`](FeedState::advance_archive)). Its
//! [`status`](FeedState::status) is the one vocabulary (`ok`, `failing`,
//! `disabled`, …) that `/feeds`, `newswire feeds list` and the gauges use.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::canon::redact;

/// What is remembered about one feed, keyed by the feed's name. Fields
/// added later default when an older state is read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeedState {
    /// Feed name from the config.
    pub feed: String,
    /// The URL last polled (redacted).
    pub url: String,
    /// ETag of the last 200 response, sent back as If-None-Match.
    pub etag: Option<String>,
    /// Last-Modified of the last 200 response, sent back as If-Modified-Since.
    pub last_modified: Option<String>,
    /// Hash of the last document parsed: an unchanged body is not re-parsed.
    pub body_hash: Option<String>,
    /// When the feed was last polled, successfully or not.
    pub last_polled_at: Option<DateTime<Utc>>,
    /// When the feed last answered with a document or a 304.
    pub last_success_at: Option<DateTime<Utc>>,
    /// When the feed is due next (the scheduler's choice, kept across restarts).
    pub next_due_at: Option<DateTime<Utc>>,
    /// The poll interval adapted to how often the feed publishes, in whole
    /// seconds; None until the first poll. Written for readers older than
    /// `interval_ms`, which is read first.
    pub interval_secs: Option<u64>,
    /// The adapted interval in milliseconds: below a few seconds, whole
    /// seconds could not grow by a quarter (1 s × 1.25 is 1 s again).
    pub interval_ms: Option<u64>,
    /// HTTP status of the last poll (0 for a failure before any response,
    /// 200 for a `file://` read).
    pub last_status: u16,
    /// Consecutive failed polls; reset by a success.
    pub error_count: u32,
    /// The last error, as a message (redacted).
    pub last_error: Option<String>,
    /// Set when the feed answered 410 Gone: it is not polled again until the
    /// operator changes its URL.
    pub disabled: bool,
    /// Where a permanent redirect (301/308) pointed, so the operator can
    /// update the config.
    pub moved_to: Option<String>,
    /// Items found in the last document parsed.
    pub last_item_count: u32,
    /// `backfill --archives`: the next older page to fetch, committed with
    /// the records of the page before it, so an interrupted walk resumes
    /// where it stopped.
    pub archive_next: Option<String>,
    /// `backfill --archives`: pages of history fetched so far.
    pub archive_pages: u32,
    /// `backfill --archives`: the walk reached the oldest page.
    pub archive_done: bool,
    /// The paragraphs this feed repeats across its items, as the cleaner
    /// learned them (docs/cleaner.md, Template); committed with the
    /// checkpoint like everything here.
    #[serde(skip_serializing_if = "crate::template::TemplateState::is_empty")]
    pub template: crate::template::TemplateState,
}

/// A feed's status, in the one vocabulary the status server, `newswire
/// feeds list` and the scheduler's gauges share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Polled, and the last poll succeeded.
    Ok,
    /// The last poll (or several) failed; it is retried with backoff.
    Failing,
    /// It answered 410 Gone at its configured URL: not polled until the URL
    /// changes.
    Disabled,
    /// Never polled yet.
    NeverPolled,
    /// Being polled now (the scheduler's view).
    Polling,
    /// Turned off in the config (`enabled = false`).
    Off,
}

impl Status {
    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Failing => "failing",
            Status::Disabled => "disabled",
            Status::NeverPolled => "never_polled",
            Status::Polling => "polling",
            Status::Off => "off",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a server's answer with a document leaves in the state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentSeen {
    /// HTTP status (200 for a `file://` read).
    pub status: u16,
    /// Its ETag.
    pub etag: Option<String>,
    /// Its Last-Modified.
    pub last_modified: Option<String>,
    /// Hash of its body.
    pub body_hash: String,
    /// Where a permanent redirect on the way pointed.
    pub moved_to: Option<Url>,
}

impl FeedState {
    /// A poll of the feed `name` at `url` begins at `at`. A URL other than
    /// the one last polled gets a fresh start ([`reset_for_url`](Self::reset_for_url)).
    pub fn begin_poll(&mut self, name: &str, url: &Url, at: DateTime<Utc>) {
        name.clone_into(&mut self.feed);
        self.reset_for_url(url);
        self.last_polled_at = Some(at);
    }

    /// Point the state at `url`. When it differs from the URL last polled,
    /// forget what belonged to the old one: a 410 or validators of the old
    /// URL say nothing about the new. Returns whether it changed.
    pub fn reset_for_url(&mut self, url: &Url) -> bool {
        let shown = redact(url.as_str());
        if self.url == shown {
            return false;
        }
        self.url = shown;
        self.disabled = false;
        self.etag = None;
        self.last_modified = None;
        self.body_hash = None;
        self.moved_to = None;
        true
    }

    /// Whether the validators belong to `url` (conditional requests may use
    /// them).
    pub fn validators_for(&self, url: &Url) -> bool {
        self.url == redact(url.as_str())
    }

    /// The poll read a document: keep its validators and body hash, and
    /// clear the failures.
    pub fn on_document(&mut self, doc: DocumentSeen, at: DateTime<Utc>) {
        self.etag = doc.etag;
        self.last_modified = doc.last_modified;
        self.body_hash = Some(doc.body_hash);
        self.last_status = doc.status;
        self.last_success_at = Some(at);
        self.error_count = 0;
        self.last_error = None;
        self.moved_to = doc.moved_to.map(|u| redact(u.as_str()));
    }

    /// The document held `found` items.
    pub fn on_items(&mut self, found: usize) {
        self.last_item_count = u32::try_from(found).unwrap_or(u32::MAX);
    }

    /// The server answered 304: a cheap, successful poll.
    pub fn on_not_modified(&mut self, at: DateTime<Utc>) {
        self.last_status = 304;
        self.last_success_at = Some(at);
        self.error_count = 0;
        self.last_error = None;
    }

    /// The poll failed with HTTP `status` (0 before any response). `gone`
    /// (410) disables the feed until its URL changes.
    pub fn on_failure(&mut self, status: u16, message: String, gone: bool) {
        self.last_status = status;
        self.error_count += 1;
        self.last_error = Some(message);
        if gone {
            self.disabled = true;
        }
    }

    /// Whether the feed is disabled at `url` (410 there; a new URL is
    /// polled again).
    pub fn is_disabled(&self, url: &Url) -> bool {
        self.disabled && self.validators_for(url)
    }

    /// The feed's status at `url`, as far as its state tells (the scheduler
    /// knows [`Status::Polling`], the config [`Status::Off`]).
    pub fn status(&self, url: &Url) -> Status {
        if self.is_disabled(url) {
            Status::Disabled
        } else if self.last_polled_at.is_none() {
            Status::NeverPolled
        } else if self.error_count > 0 {
            Status::Failing
        } else {
            Status::Ok
        }
    }

    /// The adapted poll interval, once there is one.
    pub fn interval(&self) -> Option<Duration> {
        self.interval_ms.map(Duration::from_millis).or_else(|| self.interval_secs.map(Duration::from_secs))
    }

    /// Keep `interval` as the adapted interval and make the feed due `wait`
    /// after its last poll (or after `now`, never polled).
    pub fn schedule(&mut self, interval: Duration, wait: Duration, now: DateTime<Utc>) {
        let interval = interval.max(Duration::from_secs(1));
        self.interval_ms = Some(u64::try_from(interval.as_millis()).unwrap_or(u64::MAX));
        self.interval_secs = Some(interval.as_secs());
        let from = self.last_polled_at.unwrap_or(now);
        self.next_due_at = chrono::Duration::from_std(wait).ok().map(|w| from + w);
    }

    /// Forget the validators and body hash, so the next poll reads the
    /// document whatever the server would say (an archive walk starts from
    /// the feed's own links).
    pub fn forget_validators(&mut self) {
        self.etag = None;
        self.last_modified = None;
        self.body_hash = None;
    }

    /// Page `page` of history was read (the feed itself is page 1); the
    /// next older one is `older`, or none: the walk is done.
    pub fn advance_archive(&mut self, page: u32, older: Option<&str>) {
        self.archive_pages = self.archive_pages.max(page.saturating_sub(1));
        self.archive_next = older.map(str::to_string);
        self.archive_done = older.is_none();
    }

    /// The history ended before this page (a paged feed answered 404 or
    /// 410 past its last page): the walk is done, the page not counted.
    pub fn end_archive(&mut self) {
        self.archive_next = None;
        self.archive_done = true;
    }
}

/// A record written in a batch and its content hash: committed with the
/// checkpoint so the next poll knows the item is not new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemMark {
    /// Record id.
    pub id: String,
    /// Content hash of the version written.
    pub content_hash: String,
}

/// What a batch commits: the feed's new state and the items it wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The feed's state after this poll.
    pub state: FeedState,
    /// Items written by this batch (new or updated versions).
    pub items: Vec<ItemMark>,
    /// Fingerprints of the records written, for the near-duplicate index.
    #[serde(skip)]
    pub fingerprints: Vec<Indexed>,
    /// The feed's shingle counts with this batch's records added
    /// ([`FeedSketch::to_bytes`](crate::frequency::FeedSketch::to_bytes)),
    /// stored with the index in the same transaction; None leaves them.
    #[serde(skip)]
    pub sketch: Option<Vec<u8>>,
    /// Where each append-only sink stood once it had this batch: (the
    /// sink's [key](crate::sink::Sink::position), its position). Committed
    /// with the checkpoint, so after a crash such a sink can cut away what
    /// it wrote past the last commit ([`rewind`](crate::sink::Sink::rewind))
    /// and the replay writes it once.
    #[serde(default)]
    pub positions: Vec<(String, String)>,
}

/// A record's entry in the near-duplicate index.
#[derive(Debug, Clone, PartialEq)]
pub struct Indexed {
    /// Record id.
    pub id: String,
    /// Its fingerprint.
    pub fingerprint: crate::fingerprint::Fingerprint,
    /// The story it belongs to (the earliest record's id), or None when it
    /// is the first of its story.
    pub cluster: Option<String>,
    /// When it was seen, for the index's time window.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The closest earlier record of the same story.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    /// The story: the earliest record's id.
    pub cluster: String,
    /// How similar, 0 to 1.
    pub similarity: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    fn polled(at: DateTime<Utc>) -> FeedState {
        let mut state = FeedState::default();
        state.begin_poll("f", &url("https://user:pw@e.com/feed"), at);
        state
    }

    #[test]
    fn a_poll_begins_at_a_redacted_url_and_a_new_url_starts_afresh() {
        let at = Utc::now();
        let mut state = polled(at);
        assert_eq!((state.feed.as_str(), state.url.as_str()), ("f", "https://***:***@e.com/feed"));
        assert_eq!(state.last_polled_at, Some(at));
        state.on_document(
            DocumentSeen { status: 200, etag: Some("e".into()), body_hash: "h".into(), ..DocumentSeen::default() },
            at,
        );
        state.on_failure(410, "gone".into(), true);
        assert!(state.is_disabled(&url("https://user:pw@e.com/feed")));
        assert_eq!(state.status(&url("https://user:pw@e.com/feed")), Status::Disabled);
        // The same URL again keeps everything.
        assert!(!state.reset_for_url(&url("https://user:pw@e.com/feed")));
        assert!(state.disabled && state.etag.is_some());
        // Another URL: not disabled there, and the old validators are gone.
        assert!(!state.is_disabled(&url("https://e.com/new")));
        state.begin_poll("f", &url("https://e.com/new"), at);
        assert!(!state.disabled);
        assert_eq!((state.etag.as_deref(), state.body_hash.as_deref(), state.moved_to.as_deref()), (None, None, None));
        assert_eq!(state.error_count, 1, "failures are counted across the change");
    }

    #[test]
    fn success_clears_failures_and_failure_counts_them() {
        let at = Utc::now();
        let mut state = polled(at);
        state.on_failure(0, "timed out".into(), false);
        state.on_failure(503, "unavailable".into(), false);
        assert_eq!((state.error_count, state.last_status), (2, 503));
        assert_eq!(state.status(&url("https://e.com/feed")), Status::Failing);
        assert!(!state.disabled);
        state.on_not_modified(at);
        assert_eq!((state.error_count, state.last_status, state.last_error.as_deref()), (0, 304, None));
        assert_eq!(state.last_success_at, Some(at));
        state.on_failure(500, "boom".into(), false);
        let moved = url("https://user:pw@e.com/moved");
        state.on_document(
            DocumentSeen {
                status: 200,
                etag: Some("e".into()),
                last_modified: Some("lm".into()),
                body_hash: "h".into(),
                moved_to: Some(moved),
            },
            at,
        );
        assert_eq!((state.error_count, state.last_status), (0, 200));
        assert_eq!(state.moved_to.as_deref(), Some("https://***:***@e.com/moved"), "redacted");
        assert_eq!((state.etag.as_deref(), state.last_modified.as_deref()), (Some("e"), Some("lm")));
        assert_eq!(state.status(&url("https://e.com/feed")), Status::Ok);
        state.on_items(usize::MAX);
        assert_eq!(state.last_item_count, u32::MAX);
        assert_eq!(FeedState::default().status(&url("https://e.com/feed")), Status::NeverPolled);
    }

    #[test]
    fn the_archive_cursor_advances_and_ends() {
        let mut state = FeedState::default();
        state.advance_archive(2, Some("https://e.com/feed?page=3"));
        assert_eq!(
            (state.archive_pages, state.archive_next.as_deref(), state.archive_done),
            (1, Some("https://e.com/feed?page=3"), false)
        );
        state.advance_archive(3, None);
        assert_eq!((state.archive_pages, state.archive_next.as_deref(), state.archive_done), (2, None, true));
        // An earlier page read again never moves the count back.
        state.advance_archive(2, Some("x"));
        assert_eq!(state.archive_pages, 2);
        state.end_archive();
        assert_eq!((state.archive_pages, state.archive_next.as_deref(), state.archive_done), (2, None, true));
    }

    #[test]
    fn scheduling_counts_from_the_last_poll() {
        let now = Utc::now();
        let mut state = FeedState::default();
        state.schedule(Duration::from_millis(10), Duration::from_secs(60), now);
        assert_eq!(state.interval(), Some(Duration::from_secs(1)), "at least a second");
        // Below a few seconds the interval keeps its fraction, so a quiet
        // poll can lengthen it (1 s, 1.25 s, 1.5625 s …).
        state.schedule(Duration::from_millis(1250), Duration::from_secs(60), now);
        assert_eq!((state.interval(), state.interval_secs), (Some(Duration::from_millis(1250)), Some(1)));
        // A state written before interval_ms is read in whole seconds.
        let old: FeedState = serde_json::from_str(r#"{"feed":"f","interval_secs":900}"#).expect("old state");
        assert_eq!(old.interval(), Some(Duration::from_secs(900)));
        assert_eq!(state.next_due_at, Some(now + chrono::Duration::seconds(60)), "never polled: from now");
        let polled = now - chrono::Duration::seconds(30);
        state.last_polled_at = Some(polled);
        state.schedule(Duration::from_secs(900), Duration::from_secs(60), now);
        assert_eq!(state.next_due_at, Some(polled + chrono::Duration::seconds(60)));
        state.etag = Some("e".into());
        state.body_hash = Some("h".into());
        state.forget_validators();
        assert_eq!((state.etag.as_deref(), state.body_hash.as_deref()), (None, None));
    }

    #[test]
    fn statuses_have_one_vocabulary() {
        let all = [Status::Ok, Status::Failing, Status::Disabled, Status::NeverPolled, Status::Polling, Status::Off];
        let names: Vec<&str> = all.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["ok", "failing", "disabled", "never_polled", "polling", "off"]);
        for s in all {
            assert_eq!(serde_json::to_value(s).expect("json"), serde_json::Value::String(s.to_string()));
        }
    }
}
