//! A feed's checkpoint: what newswire remembers about a feed between polls.
//!
//! The checkpoint travels with the batch of items fetched from the feed and
//! is committed only after every item before it is durable in every sink, in
//! the same transaction as the records where the sink allows. So a crash
//! anywhere loses nothing: at worst the batch is fetched again, and sinks
//! upsert by record id.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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
    /// The poll interval adapted to how often the feed publishes, in
    /// seconds; None until the first poll.
    pub interval_secs: Option<u64>,
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
