//! The page stage: article pages for records whose feed carries a teaser.
//!
//! ```text
//! clean stage ──RecordBatch──▶ page stage ──RecordBatch──▶ store stage
//!                mpsc(cap)    (async fetches,  mpsc(cap)
//!                              extraction on
//!                              the CPU threads)
//! ```
//!
//! For each record of a feed with `full_article = "always"`, or `"auto"`
//! when the feed's body [looks like a teaser](newswire_cleaner::teaser), the stage
//! fetches the record's URL through the pipeline's [`Fetcher`] (so per-host
//! concurrency and rate limits are shared with feed polls, and the address
//! guard, body cap and timeout apply; `file:` URLs never), after asking the
//! origin's robots.txt ([`RobotsCache`]) unless the feed sets
//! `ignore_robots`. The page is extracted with the feed's cleaner and site
//! rules on the pipeline's CPU threads ([`crate::cpu`]); when it holds more
//! words than the feed's body, it becomes the record's body (`source =
//! "page"`), and the page's metadata fills title, authors and publication
//! date where the feed gave none. Otherwise the feed's text stays and the
//! reason is logged and counted ([`PageResult`]). A failed page is a
//! per-record result: the batch and its other records go on.
//!
//! **Once per version.** A record that wants its page gets a content hash
//! derived from its feed version ([`page_version`]), not from the page's
//! text, and the page is fetched only when the state store does not
//! already hold that hash for the record's id. So an item unchanged in the
//! feed is not fetched again on the next poll (whether its page was used or
//! not), and an item whose feed text changes is fetched once more.
//!
//! Batches pass through in whatever order their pages complete; the stage
//! holds at most `batches` at once, so a slow site slows the stage before
//! it instead of growing memory. Only `abort` is watched: on a graceful
//! stop the stage ends when its input closes and it has handed on what it
//! holds.

use std::collections::HashMap;
use std::sync::Arc;

use newswire_cleaner::{Article, detect_language, looks_like_teaser};
use newswire_core::config::FullArticle;
use newswire_core::fingerprint::Fingerprint;
use newswire_core::record::word_count;
use newswire_core::sink::StateStore;
use newswire_core::{ErrorKind, Record, Source};
use newswire_fetcher::page::{ACCEPT_HTML, decode_html, is_html};
use newswire_fetcher::robots::{Access, RobotsCache, Verdict};
use newswire_fetcher::{Fetched, Fetcher};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use url::Url;

use crate::cpu::CpuPool;
use crate::job::FeedContext;
use crate::job::RecordBatch;
use crate::stage::{run_stage, with_retry};

/// How one record's page ended: the metric label and log field. A closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageResult {
    /// The page's text became the body.
    Used,
    /// The record has no http(s) URL to fetch.
    NoUrl,
    /// robots.txt disallows the page, or could not be read.
    Robots,
    /// The request timed out.
    Timeout,
    /// The server answered an error status.
    Status,
    /// The page was larger than the body cap.
    TooLarge,
    /// The address guard refused the page (or a redirect from it).
    Forbidden,
    /// Any other fetch failure (connection, redirects).
    FetchFailed,
    /// The response was not an HTML page.
    NotHtml,
    /// The page yielded no more text than the feed.
    Smaller,
    /// Extraction failed (its task panicked).
    Failed,
}

impl PageResult {
    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            PageResult::Used => "used",
            PageResult::NoUrl => "no_url",
            PageResult::Robots => "robots",
            PageResult::Timeout => "timeout",
            PageResult::Status => "status",
            PageResult::TooLarge => "too_large",
            PageResult::Forbidden => "forbidden",
            PageResult::FetchFailed => "fetch_failed",
            PageResult::NotHtml => "not_html",
            PageResult::Smaller => "smaller",
            PageResult::Failed => "failed",
        }
    }

    fn of_fetch(kind: ErrorKind) -> PageResult {
        match kind {
            ErrorKind::Timeout => PageResult::Timeout,
            ErrorKind::Status => PageResult::Status,
            ErrorKind::TooLarge => PageResult::TooLarge,
            ErrorKind::Forbidden => PageResult::Forbidden,
            _ => PageResult::FetchFailed,
        }
    }
}

/// Whether a record's page is wanted in this mode.
pub fn wants_page(mode: FullArticle, record: &Record) -> bool {
    match mode {
        FullArticle::Never => false,
        FullArticle::Always => true,
        FullArticle::Auto => looks_like_teaser(record),
    }
}

/// The content hash of a record whose page was wanted: derived from the
/// hash of its feed version, so it stays the same across polls while the
/// item does, whatever the page held (or whether it could be fetched).
pub fn page_version(feed_hash: &str) -> String {
    newswire_core::id::content_hash(&format!("page\u{0}{feed_hash}"))
}

/// The page's text, ready to go into a record (built on the CPU threads).
#[derive(Debug)]
pub struct PageText {
    /// The extracted article (its paragraphs already joined into `body`).
    pub article: Article,
    /// Its body.
    pub body: String,
    /// Words in `body`.
    pub word_count: u64,
    /// Language detected from `body`, else the page's own.
    pub language: Option<String>,
    /// Near-duplicate fingerprint of `body`.
    pub fingerprint: Option<Fingerprint>,
}

/// Extract a page and decide whether it beats the feed's `feed_words`.
/// Pure CPU work: run it on the pipeline's CPU threads.
pub fn extract_page(
    html: &[u8],
    content_type: Option<&str>,
    page_url: &Url,
    feed: &FeedContext,
    feed_words: u64,
) -> Result<PageText, PageResult> {
    let text = decode_html(html, content_type);
    let site = page_url.host_str().and_then(|host| feed.pages.for_host(host));
    let article = newswire_cleaner::extract(&text, Some(page_url.as_str()), &feed.cleaner, site);
    let body = article.text();
    let words = word_count(&body);
    if words <= feed_words {
        return Err(PageResult::Smaller);
    }
    let language = detect_language(&body).or_else(|| article.language.clone());
    let fingerprint = Fingerprint::of(&body);
    Ok(PageText { article, body, word_count: words, language, fingerprint })
}

/// Put a page's text into a record: body and what derives from it replaced,
/// metadata only where the feed gave none. The content hash is left alone
/// (see [`page_version`]).
pub fn apply(record: &mut Record, page: PageText) {
    let PageText { article, body, word_count, language, fingerprint } = page;
    record.body = body;
    record.word_count = word_count;
    record.language = language;
    record.fingerprint = fingerprint;
    record.embeds = article.embeds;
    record.removed = article.removed;
    record.source = Source::Page;
    if record.title.is_none() {
        record.title = article.title;
    }
    if record.authors.is_empty() {
        record.authors = article.authors;
    }
    if record.published_at.is_none() {
        record.published_at = article.published;
    }
}

/// What the page stage shares between its tasks.
pub struct Pages {
    fetcher: Fetcher,
    robots: RobotsCache,
    state: Arc<dyn StateStore>,
    /// Pages in flight at once (fetched or being extracted), over all
    /// batches.
    fetches: Arc<Semaphore>,
    /// Extractions running at once, on `cpu`'s threads.
    extractions: Arc<Semaphore>,
    cpu: Arc<CpuPool>,
}

impl Pages {
    /// The stage's shared parts: the pipeline's fetcher, the state store
    /// (for the known hashes), and its limits.
    pub fn new(
        fetcher: Fetcher,
        state: Arc<dyn StateStore>,
        cpu: Arc<CpuPool>,
        fetches: usize,
        extractions: usize,
    ) -> Self {
        Pages {
            robots: RobotsCache::new(fetcher.clone()),
            fetcher,
            state,
            cpu,
            fetches: Arc::new(Semaphore::new(fetches.max(1))),
            extractions: Arc::new(Semaphore::new(extractions.max(1))),
        }
    }
}

/// Run the stage until `input` closes (or `abort`), at most `batches`
/// batches in it at once.
pub async fn page_stage(
    input: mpsc::Receiver<RecordBatch>,
    out: mpsc::Sender<RecordBatch>,
    pages: Arc<Pages>,
    batches: usize,
    abort: CancellationToken,
) {
    run_stage("pages", Some("pages"), input, out, batches, abort, move |batch| {
        let pages = Arc::clone(&pages);
        async move { complete(&pages, batch).await }
    })
    .await;
}

/// Fetch the pages one batch wants and put them into its records.
pub async fn complete(pages: &Arc<Pages>, mut batch: RecordBatch) -> RecordBatch {
    let feed = Arc::clone(&batch.feed);
    let mode = feed.spec.full_article;
    if mode == FullArticle::Never || batch.records.is_empty() {
        return batch;
    }
    let mut wanted = Vec::new();
    for (i, record) in batch.records.iter_mut().enumerate() {
        if wants_page(mode, record) {
            record.content_hash = page_version(&record.content_hash);
            wanted.push(i);
        }
    }
    if wanted.is_empty() {
        return batch;
    }
    // New or changed versions only: the rest were tried on an earlier poll.
    let ids: Vec<String> = wanted.iter().map(|&i| batch.records[i].id.clone()).collect();
    let known = known_hashes(&pages.state, &ids).await;
    wanted.retain(|&i| known.get(&batch.records[i].id) != Some(&batch.records[i].content_hash));

    // One task per page in flight: a task exists only once it holds one of
    // the stage's fetch permits, and keeps it through extraction, so the
    // pages held in memory are bounded however many a batch wants.
    let mut tasks = JoinSet::new();
    let mut done = Vec::new();
    for i in wanted {
        let record = &batch.records[i];
        let Some(url) = record.url.as_deref().and_then(|u| Url::parse(u).ok()) else {
            report(&feed, None, PageResult::NoUrl, None);
            continue;
        };
        let turn = Arc::clone(&pages.fetches).acquire_owned().await.expect("the semaphore is never closed");
        let (pages, feed, words) = (Arc::clone(pages), Arc::clone(&feed), record.word_count);
        tasks.spawn(async move {
            let _turn = turn;
            (i, page_of(&pages, &feed, &url, words).await)
        });
        while let Some(joined) = tasks.try_join_next() {
            done.extend(joined.ok());
        }
    }
    while let Some(joined) = tasks.join_next().await {
        done.extend(joined.ok());
    }
    for (i, result) in done {
        if let Ok(text) = result {
            for removed in &text.article.removed {
                crate::metrics::removed(removed);
            }
            apply(&mut batch.records[i], text);
        }
    }
    batch
}

/// The state store's hashes for `ids`, retrying while it says it may work
/// later. A store that cannot answer at all gets every page fetched: the
/// store stage will stop the pipeline on the same store anyway.
async fn known_hashes(state: &Arc<dyn StateStore>, ids: &[String]) -> HashMap<String, String> {
    match with_retry("state", || state.known_hashes(ids)).await {
        Ok(known) => known,
        Err(e) => {
            warn!(store = "state", error = %e, "state store failed; fetching the pages anyway");
            HashMap::new()
        }
    }
}

/// One record's page: robots, fetch, extract. Logged and counted. The
/// caller holds a fetch permit throughout.
async fn page_of(pages: &Pages, feed: &Arc<FeedContext>, url: &Url, feed_words: u64) -> Result<PageText, PageResult> {
    let fetched = fetch_page(pages, &feed.spec, url).await;
    let (body, final_url, content_type) = match fetched {
        Ok(doc) => doc,
        Err((result, error)) => {
            report(feed, Some(url), result, error.as_deref());
            return Err(result);
        }
    };
    let extracted = {
        let _turn = pages.extractions.acquire().await.expect("the semaphore is never closed");
        let feed = Arc::clone(feed);
        pages.cpu.run(move || extract_page(&body, content_type.as_deref(), &final_url, &feed, feed_words)).await
    };
    let result = extracted.unwrap_or(Err(PageResult::Failed));
    match &result {
        Ok(page) => {
            crate::metrics::page(&feed.spec.name, PageResult::Used.as_str());
            debug!(feed = %feed.spec.name, url = %url, words = page.word_count, feed_words, "article page used");
            if let Some(kind) = page.article.fallback {
                crate::metrics::page_fallback(kind);
                warn!(
                    feed = %feed.spec.name,
                    url = %url,
                    fallback = kind.as_str(),
                    words = page.word_count,
                    "article page read from fallback text"
                );
            }
        }
        Err(reason) => report(feed, Some(url), *reason, None),
    }
    result
}

type PageBody = (bytes::Bytes, Url, Option<String>);

async fn fetch_page(
    pages: &Pages,
    spec: &newswire_core::config::FeedSpec,
    url: &Url,
) -> Result<PageBody, (PageResult, Option<String>)> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err((PageResult::Forbidden, None));
    }
    if !spec.ignore_robots {
        let access = Access { allow_private: spec.allow_private, proxy: spec.proxy.as_deref(), timeout: spec.timeout };
        match pages.robots.check(url, access).await {
            Verdict::Allowed => {}
            Verdict::Disallowed => return Err((PageResult::Robots, Some("disallowed by robots.txt".into()))),
            Verdict::Unreachable => return Err((PageResult::Robots, Some("robots.txt unreachable".into()))),
        }
    }
    // The feed's extra headers and credentials belong to the feed's origin:
    // a page elsewhere is asked without them.
    let same_origin = url.origin() == spec.url.origin();
    let mut headers = vec![("Accept".to_string(), ACCEPT_HTML.to_string())];
    if same_origin {
        headers.extend(spec.headers.iter().cloned());
    }
    let request = crate::fetch::request(spec, url, &headers, same_origin);
    match pages.fetcher.fetch(&request).await {
        Ok(Fetched::Document(doc)) => {
            if !is_html(doc.content_type.as_deref(), &doc.body) {
                let error = format!("content type {}", doc.content_type.as_deref().unwrap_or("unknown"));
                return Err((PageResult::NotHtml, Some(error)));
            }
            Ok((doc.body, doc.final_url, doc.content_type))
        }
        Ok(Fetched::NotModified { .. }) => {
            Err((PageResult::FetchFailed, Some("answered 304 to an unconditional request".into())))
        }
        Err(err) => Err((PageResult::of_fetch(err.kind), Some(err.message))),
    }
}

/// Log and count a page that was not used.
fn report(feed: &FeedContext, url: Option<&Url>, result: PageResult, error: Option<&str>) {
    crate::metrics::page(&feed.spec.name, result.as_str());
    let url = url.map(|u| newswire_core::canon::redact(u.as_str())).unwrap_or_default();
    warn!(
        feed = %feed.spec.name,
        url = %url,
        reason = result.as_str(),
        error = error.unwrap_or(""),
        "article page not used; keeping the feed text"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(body: &str, summary: Option<&str>) -> Record {
        Record {
            schema: 1,
            id: "id".into(),
            feed: "f".into(),
            feed_url: "https://e.com/feed".into(),
            guid: None,
            url: Some("https://e.com/a".into()),
            title: None,
            authors: Vec::new(),
            published_at: None,
            updated_at: None,
            fetched_at: chrono::Utc::now(),
            language: None,
            summary: summary.map(str::to_string),
            word_count: word_count(body),
            content_hash: newswire_core::id::content_hash(body),
            body: body.to_string(),
            categories: Vec::new(),
            source: Source::Feed,
            embeds: Vec::new(),
            removed: Vec::new(),
            cluster: None,
            similarity: None,
            fingerprint: None,
        }
    }

    fn long(words: usize) -> String {
        (0..words).map(|i| format!("word{i}")).collect::<Vec<_>>().join(" ") + "."
    }

    #[test]
    fn modes() {
        let teaser = record("A short teaser.", None);
        let full = record(&long(400), None);
        assert!(!wants_page(FullArticle::Never, &teaser));
        assert!(wants_page(FullArticle::Auto, &teaser) && !wants_page(FullArticle::Auto, &full));
        assert!(wants_page(FullArticle::Always, &full));
    }

    #[test]
    fn page_version_is_stable_and_differs_from_the_feed_hash() {
        let h = newswire_core::id::content_hash("teaser");
        assert_eq!(page_version(&h), page_version(&h));
        assert_ne!(page_version(&h), h);
        assert_ne!(page_version(&h), page_version(&newswire_core::id::content_hash("teaser, edited")));
    }

    fn feed(rules: &str) -> Arc<FeedContext> {
        crate::job::tests::feed(rules)
    }

    const PAGE: &str = r#"<html lang="en"><head><title>Harbour works</title>
<script type="application/ld+json">{"@type":"NewsArticle","headline":"Harbour works begin","author":{"@type":"Person","name":"Ana Ruiz"},"datePublished":"2024-03-11T08:00:00Z"}</script>
</head><body><nav><a href="/">Home</a></nav>
<div class="promo"><p>Subscribe to our newsletter for the best of the week in your inbox.</p></div>
<article><h1>Harbour works begin</h1>
<p>Work on the new harbour wall began on Monday, three years after the storm that broke the old one, and the council expects it to last a century.</p>
<p>The wall will be built from granite blocks quarried twenty miles inland, carried by rail to the coast and set by a floating crane.</p>
<p>Fishermen say the temporary closure of the inner basin will cost them a season, and the council has offered them berths in the next town.</p>
</article>
<div class="sidebar"><p>The editor picks the sidebar notes for the week, with a long sentence of their own to read.</p></div>
</body></html>"#;

    #[test]
    fn page_text_replaces_the_body_and_fills_only_missing_metadata() {
        let feed = feed("");
        let url = Url::parse("https://e.com/a").expect("url");
        let page = extract_page(PAGE.as_bytes(), Some("text/html"), &url, &feed, 3).expect("page beats 3 words");
        let mut r = record("Work began on Monday.", None);
        r.title = Some("Feed title".into());
        let hash = r.content_hash.clone();
        apply(&mut r, page);
        assert_eq!(r.source, Source::Page);
        assert!(r.body.starts_with("Work on the new harbour wall"), "{}", r.body);
        assert_eq!(r.body.split("\n\n").count(), 3, "{}", r.body);
        assert_eq!(r.word_count, word_count(&r.body));
        assert_eq!(r.title.as_deref(), Some("Feed title"), "the feed's title is kept");
        assert_eq!(r.authors, ["Ana Ruiz"], "missing authors come from the page");
        assert_eq!(r.published_at.map(|d| d.to_rfc3339()).as_deref(), Some("2024-03-11T08:00:00+00:00"));
        assert_eq!(r.language.as_deref(), Some("en"));
        assert!(r.fingerprint.is_some() || r.word_count < 20);
        assert_eq!(r.content_hash, hash, "the hash is the pipeline's to set");

        // Not more text than the feed: kept out.
        let err = extract_page(PAGE.as_bytes(), None, &url, &feed, 10_000).expect_err("smaller");
        assert_eq!(err, PageResult::Smaller);
    }

    #[test]
    fn site_rules_pick_the_body_and_match_by_host() {
        let feed = feed("[[feed.site_rule]]\nhost = \"e.com\"\nbody = [\"div.sidebar\"]\n");
        let url = Url::parse("https://www.e.com/a").expect("url");
        let page = extract_page(PAGE.as_bytes(), None, &url, &feed, 1).expect("page");
        assert!(page.body.starts_with("The editor picks"), "{}", page.body);
        let other = Url::parse("https://elsewhere.org/a").expect("url");
        let page = extract_page(PAGE.as_bytes(), None, &other, &feed, 1).expect("page");
        assert!(page.body.starts_with("Work on the new harbour wall"), "{}", page.body);
    }
}
