//! Archive paging (`backfill --archives`): walking a feed's history one
//! page at a time. RFC 5005 archived feeds (`prev-archive`), paged feeds
//! (`next`, JSON Feed `next_url`) and WordPress-style `?paged=N`.
//!
//! [`assemble_page`] turns a fetched page into records and moves the
//! feed's archive cursor ([`FeedState::advance_archive`]), committed with
//! the page's records, so an interrupted walk resumes where it stopped.
//! [`next_page`] decides, from a committed batch's report, which page comes
//! next, if any.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use newswire_core::ErrorKind;
use newswire_core::canon::redact;
use newswire_core::state::FeedState;
use newswire_fetcher::{FetchError, Fetched};

use crate::assemble::{RecordBatch, build_records, parse};
use crate::job::{BatchReport, FeedContext, FeedJob, Outcome};

/// A page of the feed's history (`backfill --archives`). The feed's
/// validators, error count and schedule are left alone: only the archive
/// cursor advances, committed with the page's records.
pub fn assemble_page(
    feed: Arc<FeedContext>,
    mut state: FeedState,
    page: (url::Url, u32),
    polled_at: DateTime<Utc>,
    result: Result<Fetched, FetchError>,
    since: Option<DateTime<Utc>>,
) -> RecordBatch {
    let (url, number) = page;
    let failed = |state: FeedState, kind: ErrorKind, message: String| RecordBatch {
        page: Some(number),
        ..RecordBatch::new(
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
            return RecordBatch { page: Some(number), ..RecordBatch::new(Arc::clone(&feed), state, Outcome::Items(0)) };
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
    RecordBatch {
        records,
        bytes,
        older,
        newest,
        page: Some(number),
        ..RecordBatch::new(Arc::clone(&feed), state, Outcome::Items(found))
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

/// The next page job after `report`, when the walk goes on: at most
/// `max_pages` pages (the feed itself is page 1), none older than `since`.
pub fn next_page(report: &BatchReport, max_pages: u32, since: Option<DateTime<Utc>>) -> Option<FeedJob> {
    if matches!(report.outcome, Outcome::Failed { .. }) || report.state.archive_done {
        return None;
    }
    let (older, number) = match report.page {
        // The feed itself: resume an interrupted walk, or start one from the
        // history it links, or (linking none, but holding items) as a
        // WordPress-style paged feed.
        None => {
            let paged = || {
                matches!(report.outcome, Outcome::Items(n) if n > 0)
                    .then(|| with_paged(&report.feed.spec.url, 2).to_string())
            };
            (report.state.archive_next.clone().or_else(|| report.older.clone()).or_else(paged), 2)
        }
        Some(n) => {
            // A paged walk (no archive links) ends at a page with nothing new.
            if report.new == 0 && report.updated == 0 {
                return None;
            }
            (report.older.clone(), n + 1)
        }
    };
    if number > max_pages {
        return None;
    }
    if let (Some(since), Some(newest)) = (since, report.newest)
        && newest < since
    {
        return None;
    }
    let url = url::Url::parse(&older?).ok()?;
    Some(FeedJob { feed: Arc::clone(&report.feed), state: report.state.clone(), page: Some((url, number)) })
}
