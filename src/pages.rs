//! The page stage: article pages for records whose feed carries a teaser.
//!
//! ```text
//! clean stage ──CleanBatch──▶ page stage ──CleanBatch──▶ store stage
//!                mpsc(cap)    (async fetches,  mpsc(cap)
//!                              extraction on
//!                              the blocking pool)
//! ```
//!
//! For each record of a feed with `full_article = "always"`, or `"auto"`
//! when the feed's body [looks like a teaser](looks_like_teaser), the stage
//! fetches the record's URL through the pipeline's [`Fetcher`] (so per-host
//! concurrency and rate limits are shared with feed polls, and the address
//! guard, body cap and timeout apply; `file:` URLs never), after asking the
//! origin's robots.txt ([`RobotsCache`]) unless the feed sets
//! `ignore_robots`. The page is extracted with the feed's cleaner and site
//! rules on the blocking pool; when it holds more words than the feed's
//! body, it becomes the record's body (`source = "page"`), and the page's
//! metadata fills title, authors and publication date where the feed gave
//! none. Otherwise the feed's text stays and the reason is logged and
//! counted ([`PageResult`]). A failed page is a per-record result: the batch
//! and its other records go on.
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
use std::time::Duration;

use chrono::{DateTime, Utc};
use newswire_cleaner::extract::SiteRuleError;
use newswire_cleaner::{Article, SiteRules, detect_language};
use newswire_core::config::{FullArticle, SiteRuleConfig};
use newswire_core::fingerprint::Fingerprint;
use newswire_core::record::word_count;
use newswire_core::sink::StateStore;
use newswire_core::{ErrorKind, Record, RemovedKind, Source};
use newswire_fetcher::page::{ACCEPT_HTML, decode_html, is_html};
use newswire_fetcher::robots::{Access, RobotsCache, Verdict};
use newswire_fetcher::{FetchRequest, Fetched, Fetcher};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use url::Url;

use crate::pipeline::{CleanBatch, FeedContext};

/// A feed body with fewer words than this is a teaser to `auto`.
pub const SHORT_WORDS: u64 = 150;

/// Endings of a body cut short by the feed ("…", "Read more", …), matched
/// case-insensitively after trailing punctuation and arrows are trimmed.
const TRUNCATION_ENDINGS: &[&str] = &[
    "…",
    "...",
    "[…]",
    "[...]",
    "read more",
    "continue reading",
    "keep reading",
    "read the full story",
    "read the full article",
    "read the rest",
    "full story",
    "more",
    "lire la suite",
    "weiterlesen",
    "mehr lesen",
    "leer más",
    "seguir leyendo",
    "continua a leggere",
    "leggi tutto",
    "leia mais",
    "continue lendo",
];

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

/// A site rule compiled, with the host it applies to.
#[derive(Debug)]
pub struct CompiledRule {
    config: SiteRuleConfig,
    rules: SiteRules,
}

/// A site rule whose selector does not parse: which rule, which list
/// (`body` or `remove`) and index, and the error.
#[derive(Debug)]
pub struct BadRule {
    /// Index of the rule in its list.
    pub rule: usize,
    /// `body[2]` or `remove[0]`.
    pub field: String,
    /// Byte span of the selector in the config text.
    pub span: std::ops::Range<usize>,
    /// The error, naming the selector.
    pub error: SiteRuleError,
}

/// Compile a list of site rules, once, at config load.
pub fn compile(rules: &[SiteRuleConfig]) -> Result<Vec<CompiledRule>, BadRule> {
    let mut out = Vec::with_capacity(rules.len());
    for (i, rule) in rules.iter().enumerate() {
        let body: Vec<String> = rule.body.iter().map(|s| s.get_ref().clone()).collect();
        let remove: Vec<String> = rule.remove.iter().map(|s| s.get_ref().clone()).collect();
        match SiteRules::new(&body, &remove) {
            Ok(rules) => out.push(CompiledRule { config: rule.clone(), rules }),
            Err(error) => {
                let SiteRuleError::BadSelector(bad) = &error;
                let found = rule
                    .body
                    .iter()
                    .enumerate()
                    .map(|(j, s)| (format!("body[{j}]"), s))
                    .chain(rule.remove.iter().enumerate().map(|(j, s)| (format!("remove[{j}]"), s)))
                    .find(|(_, s)| s.get_ref() == bad);
                let (field, span) = found.map_or((String::new(), 0..0), |(f, s)| (f, s.span()));
                return Err(BadRule { rule: i, field, span, error });
            }
        }
    }
    Ok(out)
}

/// The site rules for one feed's pages: its own, then the shared top-level
/// ones, tried in that order; the first whose host matches the page wins.
#[derive(Debug, Default)]
pub struct PageRules {
    own: Vec<CompiledRule>,
    shared: Arc<Vec<CompiledRule>>,
}

impl PageRules {
    /// A feed's own compiled rules and the shared top-level ones.
    pub fn new(own: Vec<CompiledRule>, shared: Arc<Vec<CompiledRule>>) -> Self {
        PageRules { own, shared }
    }

    /// The rules for a page on `host`, if any applies.
    pub fn for_host(&self, host: &str) -> Option<&SiteRules> {
        self.own.iter().chain(self.shared.iter()).find(|r| r.config.matches(host)).map(|r| &r.rules)
    }
}

/// Whether the feed's text for a record looks like a teaser: a short body
/// (under [`SHORT_WORDS`] words), one the cleaner found a truncation marker
/// in ("Continue reading", "[…]"), one that ends like a cut ("…", "Read
/// more"), or one that is a cut-short prefix of the item's summary.
pub fn looks_like_teaser(record: &Record) -> bool {
    if record.word_count < SHORT_WORDS || record.removed.iter().any(|r| r.kind == RemovedKind::Truncation) {
        return true;
    }
    let body = record.body.trim_end();
    if ends_truncated(body) {
        return true;
    }
    record.summary.as_deref().is_some_and(|summary| summary.len() > body.len() && summary.starts_with(body))
}

fn ends_truncated(body: &str) -> bool {
    let tail: String = {
        let start = body.char_indices().rev().nth(40).map_or(0, |(i, _)| i);
        body[start..].to_lowercase()
    };
    if tail.ends_with('…') || tail.ends_with("...") {
        return true;
    }
    // As written ("[…]"), and without trailing arrows and punctuation
    // ("Continue reading →", "Read more.").
    let trimmed = tail.trim_end_matches(|c: char| c.is_whitespace() || "→»›>.:!)]".contains(c));
    if trimmed.ends_with('…') {
        return true;
    }
    [tail.as_str(), trimmed].iter().any(|tail| {
        TRUNCATION_ENDINGS.iter().any(|ending| {
            tail.strip_suffix(ending)
                .is_some_and(|before| before.is_empty() || !before.ends_with(char::is_alphanumeric))
        })
    })
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

/// The page's text, ready to go into a record (built on the blocking pool).
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
/// Pure CPU work: run it on the blocking pool.
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
        record.published_at = article
            .published
            .as_deref()
            .and_then(|p| DateTime::parse_from_rfc3339(p).ok())
            .map(|d| d.with_timezone(&Utc));
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
    /// Extractions running at once on the blocking pool.
    extractions: Arc<Semaphore>,
}

impl Pages {
    /// The stage's shared parts: the pipeline's fetcher, the state store
    /// (for the known hashes), and its limits.
    pub fn new(fetcher: Fetcher, state: Arc<dyn StateStore>, fetches: usize, extractions: usize) -> Self {
        Pages {
            robots: RobotsCache::new(fetcher.clone()),
            fetcher,
            state,
            fetches: Arc::new(Semaphore::new(fetches.max(1))),
            extractions: Arc::new(Semaphore::new(extractions.max(1))),
        }
    }
}

/// Run the stage until `input` closes (or `abort`), at most `batches`
/// batches in it at once.
pub async fn page_stage(
    input: mpsc::Receiver<CleanBatch>,
    out: mpsc::Sender<CleanBatch>,
    pages: Arc<Pages>,
    batches: usize,
    abort: CancellationToken,
) {
    crate::pipeline::run_stage("pages", Some("pages"), input, out, batches, abort, move |batch| {
        let pages = Arc::clone(&pages);
        async move { complete(&pages, batch).await }
    })
    .await;
}

/// Fetch the pages one batch wants and put them into its records.
pub async fn complete(pages: &Arc<Pages>, mut batch: CleanBatch) -> CleanBatch {
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
                crate::metrics::removed(removed.kind);
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
    let mut attempt = 0u32;
    loop {
        match state.known_hashes(ids).await {
            Ok(known) => return known,
            Err(e) if e.retryable => {
                warn!(store = "state", error = %e, attempt, "state store failed; retrying");
                let wait = Duration::from_millis(250u64.saturating_mul(1 << attempt.min(8)));
                tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
                attempt += 1;
            }
            Err(e) => {
                warn!(store = "state", error = %e, "state store failed; fetching the pages anyway");
                return HashMap::new();
            }
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
        tokio::task::spawn_blocking(move || extract_page(&body, content_type.as_deref(), &final_url, &feed, feed_words))
            .await
    };
    let result = extracted.unwrap_or(Err(PageResult::Failed));
    match &result {
        Ok(page) => {
            crate::metrics::page(&feed.spec.name, PageResult::Used);
            debug!(feed = %feed.spec.name, url = %url, words = page.word_count, feed_words, "article page used");
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
    let request = FetchRequest {
        url,
        etag: None,
        last_modified: None,
        allow_private: spec.allow_private,
        allow_file: false,
        timeout: spec.timeout,
        max_body: spec.max_body,
        retries: spec.retries,
        headers: &headers,
        basic_auth: spec
            .basic_auth
            .as_ref()
            .filter(|_| same_origin)
            .map(|(user, password)| (user.as_str(), password.expose())),
        proxy: spec.proxy.as_deref(),
    };
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
    crate::metrics::page(&feed.spec.name, result);
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
    use newswire_cleaner::Cleaner;
    use newswire_core::Removed;

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
            fetched_at: Utc::now(),
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
    fn auto_wants_short_and_truncated_bodies_only() {
        assert!(looks_like_teaser(&record("A short teaser.", None)));
        let full = long(400);
        assert!(!looks_like_teaser(&record(&full, None)));
        for ending in [" …", "...", " [...]", " Read more", " Continue reading →", " Lire la suite »", " (more…)"]
        {
            assert!(looks_like_teaser(&record(&format!("{}{ending}", long(400)), None)), "{ending}");
        }
        // "more" must be a word of its own.
        assert!(!looks_like_teaser(&record(&format!("{} and then evermore", long(400)), None)));
        let mut cut = record(&full, None);
        cut.removed.push(Removed { kind: RemovedKind::Truncation, text: "Continue reading".into() });
        assert!(looks_like_teaser(&cut));
        // The body is the summary cut short.
        let summary = format!("{full} And a last sentence.");
        assert!(looks_like_teaser(&record(&full, Some(&summary))));
        assert!(!looks_like_teaser(&record(&full, Some(&full))));
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

    fn feed(rules: &str) -> FeedContext {
        let text = format!("[[feed]]\nname = \"f\"\nurl = \"https://e.com/feed\"\n{rules}");
        let config = newswire_core::config::parse(&text, std::path::Path::new("t.toml")).expect("config");
        let spec = config.feeds().remove(0);
        let own = compile(&spec.site_rules).expect("rules compile");
        FeedContext { spec, cleaner: Cleaner::default(), pages: PageRules::new(own, Arc::default()) }
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

    #[test]
    fn bad_selectors_name_the_rule_field_and_selector() {
        let text = "[[feed]]\nname = \"f\"\nurl = \"https://e.com/feed\"\n[[feed.site_rule]]\nbody = [\"p\"]\nremove = [\"aside\", \"div[\"]\n";
        let config = newswire_core::config::parse(text, std::path::Path::new("t.toml")).expect("config");
        let bad = compile(&config.feeds()[0].site_rules).expect_err("bad selector");
        assert_eq!((bad.rule, bad.field.as_str()), (0, "remove[1]"));
        assert_eq!(bad.error.to_string(), "invalid CSS selector \"div[\"");
        assert_eq!(&text[bad.span.clone()], "\"div[\"");
    }
}
