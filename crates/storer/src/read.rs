//! The read layer: records, stories and feeds as the stores hold them, for
//! `newswire records`, the HTTP API and the web console.
//!
//! One trait, [`RecordReader`], implemented by
//! [`SqliteReader`](crate::sqlite::SqliteReader) (from
//! [`SqliteStore::reader`](crate::SqliteStore::reader)) and, with the
//! `postgres` feature, by [`PostgresStore`](crate::PostgresStore). Readers
//! never write: they can run beside the pipeline on the same database.
//!
//! # Pages, order and cursors
//!
//! [`RecordReader::records`] answers one [`Page`] of at most
//! [`RecordQuery::limit`] records (capped at [`MAX_PAGE`]), in a stable
//! total order: by `(fetched_at, id)`, oldest first, or newest first with
//! [`RecordQuery::newest_first`]. [`Page::next`] is a [`Cursor`] when more
//! records match; set it as [`RecordQuery::after`] (same filters) to read
//! the next page. Pages are keyset reads (`(fetched_at, id) > cursor`), so
//! reading page 10,000 costs what page 1 does, records written meanwhile
//! never shift a page, and a reader holds no more than one page: that is how
//! [`for_each_record`] streams an archive of any size in constant memory.
//!
//! A cursor is opaque text ([`Cursor::encode`], [`Cursor::decode`]): safe in
//! a URL query, valid for the store that made it.
//!
//! # Filters
//!
//! Every set field of [`RecordQuery`] narrows the result (AND):
//! `since` (inclusive) and `until` (exclusive) on `fetched_at` or
//! `published_at` ([`TimeField`]); `feeds` (any of); `tag` (one of the
//! record's `categories`, exactly); `lang` (the record's `language`, or a
//! subtag of it: `en` matches `en-GB`); `cluster` (a story: its first record
//! and every copy); `text` (full text over title, summary and body, every
//! word must match; see below).
//!
//! # Full-text search
//!
//! `text` is split into words on white space; each word must appear in the
//! title, summary or body (no query syntax: quotes, `OR`, `*` are plain
//! characters, so no input is a syntax error). SQLite: an FTS5 index with
//! the `unicode61` tokenizer and `remove_diacritics 2` (case and accents
//! folded in every script: "resume" finds "Résumé"; no stemming, which
//! would be right for one language and wrong for the others in a
//! multilingual archive). PostgreSQL: a generated `tsvector` column with the
//! `simple` configuration (case folded, no stemming, accents kept) and a GIN
//! index. Only what a record keeps is indexed: text the cleaner removed
//! (the `removed` list) is never found.
//!
//! # Limits
//!
//! [`MAX_PAGE`] records per page, [`MAX_QUERY_CHARS`] characters of `text`
//! and [`MAX_QUERY_WORDS`] words; [`RecordQuery::check`] names the field
//! that is out of bounds ([`QueryError`]).

use chrono::{DateTime, Utc};
use newswire_core::Record;
use newswire_core::sink::{BoxFuture, StoreError};
use newswire_core::state::FeedState;
use serde::Serialize;

/// Records per page at most.
pub const MAX_PAGE: u32 = 1000;
/// Records per page when [`RecordQuery::limit`] is unset.
pub const DEFAULT_PAGE: u32 = 100;
/// Characters of a full-text query at most.
pub const MAX_QUERY_CHARS: usize = 256;
/// Words of a full-text query at most.
pub const MAX_QUERY_WORDS: usize = 16;

/// Which time `since` and `until` bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeField {
    /// When newswire fetched the record (always set).
    #[default]
    Fetched,
    /// When the feed says it was published (records without one never match
    /// a bound on it).
    Published,
}

/// Which records to read, and which page. `Default` reads everything,
/// oldest first, [`DEFAULT_PAGE`] at a time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordQuery {
    /// At or after this time (of [`RecordQuery::time_field`]).
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
    /// Which time `since` and `until` bound.
    pub time_field: TimeField,
    /// Records of any of these feeds; empty means every feed.
    pub feeds: Vec<String>,
    /// Records with this category.
    pub tag: Option<String>,
    /// Records in this language (or a subtag of it).
    pub lang: Option<String>,
    /// Records of this story: the record with this id and its copies.
    pub cluster: Option<String>,
    /// Full-text query: every word in title, summary or body.
    pub text: Option<String>,
    /// Records per page; unset means [`DEFAULT_PAGE`], at most [`MAX_PAGE`].
    pub limit: Option<u32>,
    /// Newest first (descending `(fetched_at, id)`) instead of oldest first.
    pub newest_first: bool,
    /// Start after this record (the [`Page::next`] of the page before).
    pub after: Option<Cursor>,
}

/// A query out of bounds, naming its field ([`RecordQuery::check`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    /// The field (and the command-line option or API parameter of the same
    /// name): `limit`, `q`, `since`, `cursor`, …
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl RecordQuery {
    /// The page size this query reads.
    pub fn page_size(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
    }

    /// The words of [`RecordQuery::text`], if it has any.
    pub fn words(&self) -> Vec<&str> {
        self.text.as_deref().map(|t| t.split_whitespace().collect()).unwrap_or_default()
    }

    /// Refuse a query out of bounds: a page size of 0 or over [`MAX_PAGE`],
    /// a full-text query too long or without words, `until` before `since`.
    pub fn check(&self) -> Result<(), QueryError> {
        if let Some(limit) = self.limit
            && !(1..=MAX_PAGE).contains(&limit)
        {
            return Err(QueryError { field: "limit", message: format!("must be 1 to {MAX_PAGE}, not {limit}") });
        }
        if let Some(text) = &self.text {
            if text.chars().count() > MAX_QUERY_CHARS {
                return Err(QueryError { field: "q", message: format!("longer than {MAX_QUERY_CHARS} characters") });
            }
            let words = self.words().len();
            if words == 0 {
                return Err(QueryError { field: "q", message: "has no words".into() });
            }
            if words > MAX_QUERY_WORDS {
                return Err(QueryError { field: "q", message: format!("more than {MAX_QUERY_WORDS} words") });
            }
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && until < since
        {
            return Err(QueryError { field: "until", message: "is before since".into() });
        }
        Ok(())
    }
}

/// Where a page ended: the sort key `(fetched_at, id)` of its last record.
/// Opaque to callers: pass [`Cursor::encode`]'s text around and
/// [`Cursor::decode`] it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// `fetched_at` of the last record, as the store keeps it.
    pub(crate) at: String,
    /// Its id.
    pub(crate) id: String,
}

impl Cursor {
    pub(crate) fn new(at: String, id: String) -> Cursor {
        Cursor { at, id }
    }

    /// The cursor as URL-safe text (lowercase hex).
    pub fn encode(&self) -> String {
        let mut text = String::with_capacity((self.at.len() + self.id.len() + 1) * 2);
        for b in self.at.bytes().chain(std::iter::once(b'\n')).chain(self.id.bytes()) {
            text.push(char::from(HEX[usize::from(b >> 4)]));
            text.push(char::from(HEX[usize::from(b & 15)]));
        }
        text
    }

    /// Read a cursor made by [`Cursor::encode`].
    pub fn decode(text: &str) -> Result<Cursor, QueryError> {
        let bad = || QueryError { field: "cursor", message: "is not a cursor this server gave".into() };
        if !text.len().is_multiple_of(2) || text.len() > 1024 {
            return Err(bad());
        }
        let mut bytes = Vec::with_capacity(text.len() / 2);
        for pair in text.as_bytes().chunks(2) {
            let digit = |c: u8| HEX.iter().position(|h| *h == c).ok_or_else(bad);
            bytes.push(u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).map_err(|_| bad())?);
        }
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, id) = text.split_once('\n').ok_or_else(bad)?;
        if at.is_empty() || id.is_empty() {
            return Err(bad());
        }
        Ok(Cursor { at: at.to_string(), id: id.to_string() })
    }
}

/// Every feed known to the state or the records, with its state, record
/// count and last fetch: the same SQL in SQLite and PostgreSQL.
pub(crate) const FEEDS_SQL: &str = "WITH c AS MATERIALIZED
    (SELECT feed, COUNT(*) AS n, MAX(fetched_at) AS last FROM records GROUP BY feed)
 SELECT f.feed, s.state, coalesce(c.n, 0), c.last FROM
    (SELECT feed FROM feed_state UNION SELECT feed FROM c) f
 LEFT JOIN feed_state s ON s.feed = f.feed
 LEFT JOIN c ON c.feed = f.feed
 ORDER BY f.feed";

const HEX: &[u8; 16] = b"0123456789abcdef";

/// One page of records.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records, in the query's order.
    pub records: Vec<Record>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// One record with its history.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordDetail {
    /// The record as it is now.
    pub record: Record,
    /// Its version: 1 when first written, one more each time its content
    /// hash changed.
    pub version: u32,
    /// The earlier versions, oldest first (as kept: retention removes them
    /// with their record).
    pub versions: Vec<Version>,
}

/// An earlier version of a record: what it was before its content changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Version {
    /// Its version number.
    pub version: u32,
    /// Its content hash.
    pub content_hash: String,
    /// Title then.
    pub title: Option<String>,
    /// Summary then.
    pub summary: Option<String>,
    /// Body then.
    pub body: String,
    /// When that version was fetched.
    pub fetched_at: DateTime<Utc>,
}

/// Which stories to list ([`RecordReader::clusters`]): those with a copy
/// fetched at or after `since`, by id, `limit` at a time after `after`;
/// or, with `recent`, the `limit` most recently copied, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterQuery {
    /// Only stories with a copy fetched at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Stories per page; unset means [`DEFAULT_PAGE`], at most [`MAX_PAGE`].
    pub limit: Option<u32>,
    /// Start after this story id (the last of the page before). Not with
    /// `recent`, which lists one page.
    pub after: Option<String>,
    /// The most recently copied stories first, instead of by id.
    pub recent: bool,
}

/// A story seen more than once: its first record and how many copies.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterSummary {
    /// The first record's id (the copies' `cluster`).
    pub id: String,
    /// Its title, when the first record is still stored.
    pub title: Option<String>,
    /// Its feed, when the first record is still stored.
    pub feed: Option<String>,
    /// Its url, when the first record is still stored.
    pub url: Option<String>,
    /// Copies stored (records naming it as their cluster).
    pub copies: u64,
    /// When the newest copy was fetched.
    pub last_fetched_at: DateTime<Utc>,
}

/// A story with its copies ([`RecordReader::cluster`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterDetail {
    /// The first record, when still stored.
    pub first: Option<Record>,
    /// The story id.
    pub id: String,
    /// Every copy, oldest first.
    pub copies: Vec<ClusterCopy>,
}

/// One copy of a story.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClusterCopy {
    /// The copy's record id.
    pub id: String,
    /// Its feed.
    pub feed: String,
    /// Its url.
    pub url: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// How much it is the story, 0 to 1.
    pub similarity: Option<f64>,
    /// When it was fetched.
    pub fetched_at: DateTime<Utc>,
}

/// A feed as the store knows it: its state and what it wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedSummary {
    /// The feed name.
    pub feed: String,
    /// Its state (last poll, last error, …), when it was ever polled.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub state: Option<FeedState>,
    /// Records stored for it.
    pub records: u64,
    /// When its newest record was fetched.
    pub last_fetched_at: Option<DateTime<Utc>>,
}

/// Reads records, stories and feeds from a store. See the [module
/// docs](self) for order, cursors, filters and search.
pub trait RecordReader: Send + Sync {
    /// One page of the records `query` matches. Call
    /// [`RecordQuery::check`] first: out-of-bounds values are clamped here.
    fn records<'a>(&'a self, query: &'a RecordQuery) -> BoxFuture<'a, Result<Page, StoreError>>;

    /// One record and its earlier versions, if stored.
    fn record<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<RecordDetail>, StoreError>>;

    /// A page of stories with copies, by story id.
    fn clusters<'a>(&'a self, query: &'a ClusterQuery) -> BoxFuture<'a, Result<Vec<ClusterSummary>, StoreError>>;

    /// One story and its copies, if any record names it.
    fn cluster<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<ClusterDetail>, StoreError>>;

    /// Every feed that has a state or records, by name.
    fn feeds(&self) -> BoxFuture<'_, Result<Vec<FeedSummary>, StoreError>>;
}

/// Stream every record `query` matches, a page at a time, starting at its
/// cursor, calling `each` on each in order; at most `total` records when
/// given. Holds one page in memory. Returns where it stopped: `None` when it
/// reached the end, else the cursor to resume from.
pub async fn for_each_record<E: From<StoreError>>(
    reader: &dyn RecordReader,
    query: &RecordQuery,
    total: Option<u64>,
    mut each: impl FnMut(&Record) -> Result<(), E>,
) -> Result<Option<Cursor>, E> {
    let mut query = query.clone();
    let page_size = query.page_size();
    let mut left = total;
    loop {
        if let Some(left) = left {
            if left == 0 {
                return Ok(query.after);
            }
            // Below page_size, so it fits.
            query.limit = Some(u32::try_from(left.min(u64::from(page_size))).unwrap_or(page_size));
        }
        let page = reader.records(&query).await?;
        for record in &page.records {
            each(record)?;
        }
        if let Some(left) = &mut left {
            *left = left.saturating_sub(page.records.len() as u64);
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor::new("2026-01-01T00:00:00Z".into(), "abc".into());
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        for bad in ["", "zz", "abc", "00", &"0".repeat(2000)] {
            assert_eq!(Cursor::decode(bad).map_err(|e| e.field), Err("cursor"), "{bad}");
        }
    }

    #[test]
    fn checks_name_the_field() {
        let q = |f: fn(&mut RecordQuery)| {
            let mut q = RecordQuery::default();
            f(&mut q);
            q.check().map_err(|e| e.field)
        };
        assert_eq!(q(|_| ()), Ok(()));
        assert_eq!(q(|q| q.limit = Some(0)), Err("limit"));
        assert_eq!(q(|q| q.limit = Some(MAX_PAGE + 1)), Err("limit"));
        assert_eq!(q(|q| q.text = Some("   ".into())), Err("q"));
        assert_eq!(q(|q| q.text = Some("a".repeat(MAX_QUERY_CHARS + 1))), Err("q"));
        assert_eq!(q(|q| q.text = Some("a ".repeat(MAX_QUERY_WORDS + 1))), Err("q"));
        assert_eq!(
            q(|q| {
                q.since = Some(Utc::now());
                q.until = Some(Utc::now() - chrono::Duration::days(1));
            }),
            Err("until")
        );
    }
}
