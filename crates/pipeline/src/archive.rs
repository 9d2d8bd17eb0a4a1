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

use crate::job::{BatchReport, FeedContext, FeedJob, Outcome, RecordBatch};
use crate::record::{build_records, parse};

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
    let (records, found, newest) = build_records(&feed, parsed, polled_at, since, &mut state);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assemble::tests::{document, rss};
    use crate::job::tests::feed;

    const ITEMS: &[(&str, &str, &str)] = &[("https://e.com/old", "Mon, 04 Mar 2024 10:00:00 GMT", "An old story.")];

    fn page(url: &str, number: u32, result: Result<Fetched, FetchError>) -> RecordBatch {
        let url = url::Url::parse(url).expect("url");
        assemble_page(feed(""), FeedState::default(), (url, number), Utc::now(), result, None)
    }

    fn report(batch: RecordBatch, new: usize) -> BatchReport {
        BatchReport {
            feed: batch.feed,
            state: batch.state,
            outcome: batch.outcome,
            new,
            updated: 0,
            unchanged: 0,
            bytes: batch.bytes,
            older: batch.older,
            newest: batch.newest,
            page: batch.page,
        }
    }

    #[test]
    fn paged_urls_keep_their_other_parameters() {
        let url = url::Url::parse("https://e.com/feed?cat=3&paged=2").expect("url");
        assert_eq!(with_paged(&url, 5).as_str(), "https://e.com/feed?cat=3&paged=5");
    }

    #[test]
    fn an_archive_page_moves_the_cursor_to_the_page_it_links() {
        let body = rss(ITEMS, Some("https://e.com/archive/2024-02.xml"));
        let batch =
            page("https://e.com/archive/2024-03.xml", 2, document("https://e.com/archive/2024-03.xml", &body, None));
        assert_eq!((batch.outcome.clone(), batch.records.len(), batch.page), (Outcome::Items(1), 1, Some(2)));
        let s = &batch.state;
        assert_eq!(
            (s.archive_pages, s.archive_next.as_deref(), s.archive_done),
            (1, Some("https://e.com/archive/2024-02.xml"), false)
        );
        assert_eq!(s.error_count, 0, "the feed's own poll state is left alone");
        // The oldest archive document links nothing: the walk is done.
        let batch = page(
            "https://e.com/archive/2024-02.xml",
            3,
            document("https://e.com/archive/2024-02.xml", &rss(ITEMS, None), None),
        );
        assert!(batch.state.archive_done && batch.older.is_none());
    }

    #[test]
    fn a_paged_walk_goes_on_while_pages_hold_items_and_ends_at_a_404() {
        let batch =
            page("https://e.com/feed?paged=2", 2, document("https://e.com/feed?paged=2", &rss(ITEMS, None), None));
        assert_eq!(batch.older.as_deref(), Some("https://e.com/feed?paged=3"));
        let past = FetchError { kind: ErrorKind::Status, status: Some(404), message: "404".into(), retry_after: None };
        let batch = page("https://e.com/feed?paged=3", 3, Err(past.clone()));
        assert_eq!(batch.outcome, Outcome::Items(0), "the end of the history, not a failure");
        assert!(batch.state.archive_done);
        // Not a paged URL: a 404 is a failure.
        let batch = page("https://e.com/archive/x.xml", 3, Err(past));
        assert!(matches!(&batch.outcome, Outcome::Failed { message, .. } if message.starts_with("page 3: ")));
        let batch = page("https://e.com/archive/x.xml", 3, Ok(Fetched::NotModified { fresh_for: None }));
        assert!(matches!(batch.outcome, Outcome::Failed { kind: ErrorKind::Status, .. }));
    }

    #[test]
    fn the_next_page_follows_the_cursor_within_the_limits() {
        // The feed itself, linking its archive: page 2 is that link.
        let feed_poll = crate::assemble::assemble(
            crate::fetch::FetchedBatch {
                job: FeedJob::poll(feed(""), FeedState::default()),
                polled_at: Utc::now(),
                result: document("https://e.com/feed", &rss(ITEMS, Some("https://e.com/archive/1.xml")), None),
            },
            None,
        );
        let first = report(feed_poll, 1);
        let job = next_page(&first, 10, None).expect("a walk starts");
        assert_eq!(job.page.as_ref().map(|(u, n)| (u.as_str(), *n)), Some(("https://e.com/archive/1.xml", 2)));
        assert!(next_page(&first, 1, None).is_none(), "max_pages counts the feed itself");
        let since = "2025-01-01T00:00:00Z".parse().ok();
        assert!(next_page(&first, 10, since).is_none(), "nothing on the page is as new as --since");

        // A page with nothing new ends the walk; a failed one too.
        let paged =
            page("https://e.com/feed?paged=2", 2, document("https://e.com/feed?paged=2", &rss(ITEMS, None), None));
        assert!(next_page(&report(paged, 0), 10, None).is_none());
        let paged =
            page("https://e.com/feed?paged=2", 2, document("https://e.com/feed?paged=2", &rss(ITEMS, None), None));
        assert_eq!(next_page(&report(paged, 1), 10, None).and_then(|j| j.page).map(|(_, n)| n), Some(3));
        let failed = page("https://e.com/archive/x.xml", 2, Ok(Fetched::NotModified { fresh_for: None }));
        assert!(next_page(&report(failed, 0), 10, None).is_none());
    }
}
