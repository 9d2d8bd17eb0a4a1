//! The assemble stage: a fetched feed document in, its records and the
//! feed's next state out. On the pipeline's CPU threads ([`crate::cpu`]),
//! at most `workers` at once: hash the body (an unchanged document is not
//! parsed again), parse it, build one record per item ([`crate::record`]),
//! and apply the poll to the feed's state ([`FeedState`]'s transitions). A
//! page of history is assembled by [`crate::archive`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use newswire_core::ErrorKind;
use newswire_core::canon::redact;
use newswire_core::state::{DocumentSeen, FeedState};
use newswire_fetcher::{Document, Fetched};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::cpu::CpuPool;
use crate::fetch::FetchedBatch;
use crate::job::Outcome;
use crate::job::RecordBatch;
use crate::record::{build_records, parse};
use crate::stage::run_stage;

/// Up to `workers` documents parsed and cleaned at once, on `cpu`'s
/// threads.
pub async fn assemble_stage(
    input: mpsc::Receiver<FetchedBatch>,
    out: mpsc::Sender<RecordBatch>,
    cpu: Arc<CpuPool>,
    workers: usize,
    since: Option<DateTime<Utc>>,
    abort: CancellationToken,
) {
    run_stage("clean", Some("fetched"), input, out, workers, abort, move |batch: FetchedBatch| {
        let cpu = Arc::clone(&cpu);
        async move {
            let (feed, state) = (Arc::clone(&batch.job.feed), batch.job.state.clone());
            let cleaned = match cpu.run(move || assemble(batch, since)).await {
                Ok(cleaned) => cleaned,
                // A document that makes the parser or cleaner panic is a
                // failed poll of that feed, reported like any other (the
                // scheduler reschedules it with backoff); its validators were
                // not advanced, so it is read again next time.
                Err(e) => {
                    let message = format!("{}: cleaning the document failed: {e}", redact(feed.spec.url.as_str()));
                    warn!(feed = %feed.spec.name, error = %message, "clean task failed");
                    let mut state = state;
                    let status = state.last_status;
                    state.on_failure(status, message.clone(), false);
                    RecordBatch::new(feed, state, Outcome::Failed { kind: ErrorKind::Parse, message })
                }
            };
            crate::failpoint::hit("after_clean");
            cleaned
        }
    })
    .await;
}

/// Turn a fetched document into records and the feed's next state. Pure
/// CPU work: hashing, parsing, cleaning.
pub fn assemble(batch: FetchedBatch, since: Option<DateTime<Utc>>) -> RecordBatch {
    let FetchedBatch { job, polled_at, result } = batch;
    if let Some(page) = job.page {
        return crate::archive::assemble_page(job.feed, job.state, page, polled_at, result, since);
    }
    let feed = job.feed;
    let spec = &feed.spec;
    let mut state = job.state;
    state.begin_poll(&spec.name, &spec.url, polled_at);
    let fail = |mut state: FeedState, kind: ErrorKind, message: String, status: u16, gone: bool| {
        state.on_failure(status, message.clone(), gone);
        RecordBatch::new(Arc::clone(&feed), state, Outcome::Failed { kind, message })
    };
    // The server's word on when to come back: freshness on success,
    // Retry-After on failure. A lower bound on the next poll.
    let server_wait = match &result {
        Ok(Fetched::NotModified { fresh_for }) => *fresh_for,
        Ok(Fetched::Document(doc)) => doc.fresh_for,
        Err(err) => err.retry_after,
    };
    let mut batch = match result {
        Err(err) => {
            let gone = err.is_gone();
            fail(state, err.kind, err.message, err.status.unwrap_or(0), gone)
        }
        Ok(Fetched::NotModified { .. }) => {
            state.on_not_modified(polled_at);
            RecordBatch::new(Arc::clone(&feed), state, Outcome::NotModified)
        }
        Ok(Fetched::Document(doc)) => {
            let bytes = doc.body.len() as u64;
            let body_hash = newswire_core::id::bytes_hash(&doc.body);
            let status = doc.status;
            if state.body_hash.as_deref() == Some(body_hash.as_str()) {
                accept_document(&mut state, &doc, body_hash, polled_at);
                RecordBatch { bytes, ..RecordBatch::new(Arc::clone(&feed), state, Outcome::Unchanged) }
            } else {
                match parse(&feed, &doc) {
                    Ok(parsed) => {
                        let older = parsed.pages.older().map(str::to_string);
                        let (records, found, newest) = build_records(&feed, parsed, polled_at, since, &mut state);
                        accept_document(&mut state, &doc, body_hash, polled_at);
                        state.on_items(found);
                        RecordBatch {
                            records,
                            bytes,
                            older,
                            newest,
                            ..RecordBatch::new(Arc::clone(&feed), state, Outcome::Items(found))
                        }
                    }
                    Err(message) => RecordBatch { bytes, ..fail(state, ErrorKind::Parse, message, status, false) },
                }
            }
        }
    };
    batch.server_wait = server_wait;
    batch
}

fn accept_document(state: &mut FeedState, doc: &Document, body_hash: String, polled_at: DateTime<Utc>) {
    let seen = DocumentSeen {
        status: doc.status,
        etag: doc.etag.clone(),
        last_modified: doc.last_modified.clone(),
        body_hash,
        moved_to: doc.moved_to.clone(),
    };
    state.on_document(seen, polled_at);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::job::FeedJob;
    use crate::job::tests::feed;
    use newswire_fetcher::FetchError;

    /// An RSS 2.0 document with one item per (link, date, body), an
    /// optional `prev-archive` link.
    pub(crate) fn rss(items: &[(&str, &str, &str)], prev_archive: Option<&str>) -> String {
        let mut out = String::from(
            r#"<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>T</title>"#,
        );
        if let Some(prev) = prev_archive {
            out.push_str(&format!(r#"<atom:link rel="prev-archive" href="{prev}"/>"#));
        }
        for (link, date, body) in items {
            out.push_str(&format!(
                "<item><title>{link}</title><link>{link}</link><pubDate>{date}</pubDate><description>{body}</description></item>"
            ));
        }
        out.push_str("</channel></rss>");
        out
    }

    pub(crate) fn document(url: &str, body: &str, etag: Option<&str>) -> Result<Fetched, FetchError> {
        Ok(Fetched::Document(Box::new(Document {
            body: bytes::Bytes::from(body.to_string()),
            final_url: url::Url::parse(url).expect("url"),
            status: 200,
            etag: etag.map(str::to_string),
            last_modified: None,
            content_type: Some("application/rss+xml".into()),
            moved_to: None,
            fresh_for: None,
        })))
    }

    fn run(job: FeedJob, result: Result<Fetched, FetchError>) -> RecordBatch {
        assemble(FetchedBatch { job, polled_at: Utc::now(), result }, None)
    }

    const ITEMS: &[(&str, &str, &str)] = &[
        ("https://e.com/a", "Mon, 04 Mar 2024 10:00:00 GMT", "First story."),
        ("https://e.com/b", "Tue, 05 Mar 2024 10:00:00 GMT", "Second story."),
    ];

    #[test]
    fn a_document_becomes_records_and_the_state_takes_its_validators() {
        let feed = feed("");
        let body = rss(ITEMS, None);
        let batch = run(
            FeedJob::poll(Arc::clone(&feed), FeedState::default()),
            document("https://e.com/feed", &body, Some("\"v1\"")),
        );
        assert_eq!(batch.outcome, Outcome::Items(2));
        assert_eq!(
            batch.records.iter().map(|r| r.url.as_deref().unwrap_or("")).collect::<Vec<_>>(),
            ["https://e.com/a", "https://e.com/b"]
        );
        assert_eq!(batch.bytes, body.len() as u64);
        assert_eq!(batch.newest.map(|d| d.to_rfc3339()).as_deref(), Some("2024-03-05T10:00:00+00:00"));
        let s = &batch.state;
        assert_eq!(
            (s.feed.as_str(), s.etag.as_deref(), s.last_status, s.last_item_count),
            ("f", Some("\"v1\""), 200, 2)
        );
        assert!(s.body_hash.is_some() && s.last_polled_at.is_some() && s.last_success_at.is_some());

        // The same bytes again are not parsed: unchanged, no records.
        let again = run(
            FeedJob::poll(Arc::clone(&feed), batch.state.clone()),
            document("https://e.com/feed", &body, Some("\"v1\"")),
        );
        assert_eq!(again.outcome, Outcome::Unchanged);
        assert!(again.records.is_empty());

        // Items older than `since` are left out, not counted away.
        let since = "2024-03-05T00:00:00Z".parse().ok();
        let job = FeedJob::poll(Arc::clone(&feed), FeedState::default());
        let batch = assemble(
            FetchedBatch { job, polled_at: Utc::now(), result: document("https://e.com/feed", &body, None) },
            since,
        );
        assert_eq!((batch.outcome, batch.records.len()), (Outcome::Items(2), 1));
    }

    #[test]
    fn a_304_a_failure_and_a_410_change_the_state_by_its_rules() {
        let feed = feed("");
        let polled = run(
            FeedJob::poll(Arc::clone(&feed), FeedState::default()),
            document("https://e.com/feed", &rss(ITEMS, None), Some("\"v1\"")),
        )
        .state;
        let not_modified = Ok(Fetched::NotModified { fresh_for: Some(std::time::Duration::from_secs(300)) });
        let batch = run(FeedJob::poll(Arc::clone(&feed), polled.clone()), not_modified);
        assert_eq!((batch.outcome.clone(), batch.state.last_status), (Outcome::NotModified, 304));
        assert_eq!(batch.server_wait, Some(std::time::Duration::from_secs(300)));

        let unavailable = FetchError {
            kind: ErrorKind::Status,
            status: Some(503),
            message: "https://e.com/feed answered 503".into(),
            retry_after: Some(std::time::Duration::from_secs(120)),
        };
        let batch = run(FeedJob::poll(Arc::clone(&feed), polled.clone()), Err(unavailable));
        assert!(matches!(batch.outcome, Outcome::Failed { kind: ErrorKind::Status, .. }));
        assert_eq!((batch.state.error_count, batch.state.last_status, batch.state.disabled), (1, 503, false));
        assert_eq!(batch.state.etag.as_deref(), Some("\"v1\""), "validators kept for the next try");
        assert_eq!(batch.server_wait, Some(std::time::Duration::from_secs(120)));

        let gone = FetchError { kind: ErrorKind::Status, status: Some(410), message: "gone".into(), retry_after: None };
        let batch = run(FeedJob::poll(Arc::clone(&feed), polled.clone()), Err(gone));
        assert!(batch.state.disabled && batch.state.is_disabled(&feed.spec.url));

        // A document that does not parse is a failed poll with its status;
        // its validators are not taken, so it is read again next time.
        let batch = run(
            FeedJob::poll(Arc::clone(&feed), polled),
            document("https://e.com/feed", "not a feed at all", Some("\"v2\"")),
        );
        assert!(matches!(batch.outcome, Outcome::Failed { kind: ErrorKind::Parse, .. }), "{:?}", batch.outcome);
        assert_eq!(
            (batch.state.error_count, batch.state.last_status, batch.state.etag.as_deref()),
            (1, 200, Some("\"v1\""))
        );
    }
}
