//! Full articles: pages fetched for teaser feeds (`full_article`), robots.txt,
//! site rules, failures that keep the feed's text, and one fetch per version.
//!
//! The server here serves one teaser feed (tests/fixtures/full-article/) under
//! several prefixes (`/auto/feed.rss`, `/never/feed.rss`, …) so each feed of a
//! test has its own article URLs, and counts every request by path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Workdir, run, stderr, stdout};

const FEED: &str = include_str!("../fixtures/full-article/feed.rss");
const LATE_ITEM: &str = include_str!("../fixtures/full-article/late-item.xml");
const ROBOTS: &str = include_str!("../fixtures/full-article/robots.txt");
const HARBOUR: &str = include_str!("../fixtures/full-article/harbour.html");
const HARBOUR_EXPECTED: &str = include_str!("../fixtures/full-article/harbour.expected.txt");
const INTERVIEW: &str = include_str!("../fixtures/full-article/interview.html");
const FERRY: &str = include_str!("../fixtures/full-article/ferry.html");
const LONGFORM: &str = include_str!("../fixtures/full-article/longform.html");
const RULED: &str = include_str!("../fixtures/full-article/ruled.html");
const RULED_EXPECTED: &str = include_str!("../fixtures/full-article/ruled.expected.txt");

#[derive(Default)]
struct Seen {
    hits: Mutex<HashMap<String, usize>>,
    /// Version of the feed: from 2 on it carries late-item.xml too.
    version: AtomicUsize,
}

impl Seen {
    fn hits(&self, path: &str) -> usize {
        self.hits.lock().expect("lock").get(path).copied().unwrap_or(0)
    }

    /// Requests for article pages (anything but feeds and robots.txt) under a prefix.
    fn page_hits(&self, prefix: &str) -> usize {
        let hits = self.hits.lock().expect("lock");
        hits.iter().filter(|(p, _)| p.starts_with(prefix) && !p.ends_with("/feed.rss")).map(|(_, n)| n).sum()
    }
}

struct PageServer {
    addr: SocketAddr,
    seen: Arc<Seen>,
    _task: tokio::task::JoinHandle<()>,
}

impl PageServer {
    async fn start() -> PageServer {
        let seen = Arc::new(Seen::default());
        seen.version.store(1, Ordering::SeqCst);
        let app = Router::new().fallback(serve).with_state(Arc::clone(&seen));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move { axum::serve(listener, app).await.expect("page server runs") });
        PageServer { addr, seen, _task: task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

async fn serve(State(seen): State<Arc<Seen>>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    *seen.hits.lock().expect("lock").entry(path.clone()).or_default() += 1;
    if path == "/robots.txt" {
        return ([(header::CONTENT_TYPE, "text/plain")], ROBOTS).into_response();
    }
    let Some((prefix, rest)) = path[1..].split_once('/') else { return StatusCode::NOT_FOUND.into_response() };
    let html = |body: &'static str| ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    match rest {
        "feed.rss" => {
            let late = if seen.version.load(Ordering::SeqCst) >= 2 { LATE_ITEM } else { "" };
            // Links point back at this server (the Host header names it),
            // under the feed's own prefix.
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
            let body = FEED.replace("{late}", late).replace("{base}", &format!("http://{host}/{prefix}"));
            ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
        }
        "articles/harbour.html" => html(HARBOUR),
        "articles/ferry.html" => html(FERRY),
        "articles/longform.html" => html(LONGFORM),
        "articles/ruled.html" => html(RULED),
        "private/interview.html" => html(INTERVIEW),
        "articles/council.html" => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        "articles/slow.html" => {
            // Far longer than the tests' timeout.
            tokio::time::sleep(Duration::from_secs(60)).await;
            html(HARBOUR)
        }
        "articles/report.pdf" => ([(header::CONTENT_TYPE, "application/pdf")], "%PDF-1.7\n%binary\n").into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The config: SQLite and JSONL sinks, private addresses allowed (the
/// server is on 127.0.0.1), short timeouts, no retries, and `feeds` as
/// (name, prefix, extra feed lines).
fn config(work: &Workdir, server: &PageServer, feeds: &[(&str, &str, &str)], extra: &str) -> std::path::PathBuf {
    let mut text = format!(
        "[pipeline]\ndata_dir = \"{}\"\nconcurrency = 4\nper_host_concurrency = 8\nper_host_rate = 0\n\n[defaults]\nallow_private = true\ntimeout = \"1s\"\nretries = 0\nfull_article = \"auto\"\n\n[[sink]]\nkind = \"sqlite\"\n\n[[sink]]\nkind = \"jsonl\"\n{extra}\n",
        work.path().join("data").display()
    );
    for (name, prefix, lines) in feeds {
        text.push_str(&format!(
            "\n[[feed]]\nname = \"{name}\"\nurl = \"{}\"\n{lines}\n",
            server.url(&format!("/{prefix}/feed.rss"))
        ));
    }
    let path = work.path().join("newswire.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// (source, body, authors, title) of the record whose URL ends with `path`.
fn record(work: &Workdir, feed: &str, path: &str) -> (String, String, String, String) {
    work.db()
        .query_row(
            "SELECT source, body, authors, title FROM records WHERE feed = ?1 AND url LIKE '%' || ?2",
            [feed, path],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap_or_else(|e| panic!("record {feed} {path}: {e}"))
}

/// Log text without its colours.
fn plain(log: &str) -> String {
    let mut out = String::with_capacity(log.len());
    let mut rest = log;
    while let Some(at) = rest.find('\u{1b}') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find('m').map_or(rest.len(), |m| m + 1);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn paragraphs(expected: &str) -> String {
    expected.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("\n\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_does_not_fetch_and_always_does() {
    let server = PageServer::start().await;
    let work = Workdir::new();
    let config = config(
        &work,
        &server,
        &[("never", "never", "full_article = \"never\""), ("always", "always", "full_article = \"always\"")],
        "",
    );
    let out = run(&["backfill", "-c", config.to_str().expect("utf-8 path")], work.path()).await;
    let (text, err) = (stdout(&out), plain(&stderr(&out)));
    assert_eq!(out.status.code(), Some(0), "page failures are not feed failures\n{text}\n{err}");
    assert!(text.contains("items: 14 new"), "{text}");

    assert_eq!(server.seen.page_hits("/never/"), 0, "never fetches no page");
    let sources = |feed: &str| -> Vec<(String, String)> {
        let db = work.db();
        let mut stmt = db.prepare("SELECT url, source FROM records WHERE feed = ?1 ORDER BY url").expect("prepare");
        let rows = stmt.query_map([feed], |r| Ok((r.get(0)?, r.get(1)?))).expect("query");
        rows.map(|r| r.expect("row")).collect()
    };
    assert!(sources("never").iter().all(|(_, s)| s == "feed"), "{:?}", sources("never"));

    // Always: even the item whose feed carries the full text gets its page
    // fetched; that page (a paywall teaser) is smaller, so the feed's text stays.
    assert_eq!(server.seen.hits("/always/articles/longform.html"), 1);
    let (source, body, authors, _) = record(&work, "always", "/always/articles/longform.html");
    assert_eq!(source, "feed");
    assert!(body.starts_with("The old harbour wall was finished in 1911") && body.split("\n\n").count() == 4, "{body}");
    assert_eq!(authors, r#"["Tomas Berg"]"#);
    assert!(err.contains("reason=\"smaller\""), "{err}");
    let (source, body, _, _) = record(&work, "always", "/always/articles/harbour.html");
    assert_eq!(source, "page");
    assert_eq!(body, paragraphs(HARBOUR_EXPECTED));
    for path in ["harbour.html", "council.html", "slow.html", "report.pdf", "ruled.html"] {
        assert_eq!(server.seen.hits(&format!("/always/articles/{path}")), 1, "{path}");
    }
    assert_eq!(server.seen.hits("/always/private/interview.html"), 0, "robots.txt disallows it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_rules_pick_the_body_feed_rules_first() {
    let server = PageServer::start().await;
    let work = Workdir::new();
    let top = "[[site_rule]]\nhost = \"127.0.0.1\"\nbody = [\"div.kicker-box\"]\n";
    let own = "[[feed.site_rule]]\nbody = [\"div.txt-blk\"]\nremove = [\"p.editor-note\"]\n";
    let config = config(&work, &server, &[("ruled", "ruled", own), ("global", "global", "")], top);
    let out = run(&["backfill", "-c", config.to_str().expect("utf-8 path")], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));

    // The feed's own rule wins over the top-level one, and its remove
    // selector drops the editor's note.
    let (source, body, _, _) = record(&work, "ruled", "/ruled/articles/ruled.html");
    assert_eq!(source, "page");
    assert_eq!(body, paragraphs(RULED_EXPECTED));
    // The top-level rule, for a feed without its own.
    let (source, body, _, _) = record(&work, "global", "/global/articles/ruled.html");
    assert_eq!(source, "page");
    assert!(body.starts_with("From the archive: in 1953") && body.split("\n\n").count() == 2, "{body}");
    // A page the rules' selectors do not match gets the generic extractor.
    let (source, body, _, _) = record(&work, "ruled", "/ruled/articles/harbour.html");
    assert_eq!((source.as_str(), body), ("page", paragraphs(HARBOUR_EXPECTED)));

    // A bad selector is a config error naming the feed, the rule, the field
    // and the selector, with its line.
    let bad = "[[feed.site_rule]]\nbody = [\"div.txt-blk\", \"div[\"]\n";
    let config = self::config(&work, &server, &[("ruled", "ruled", bad)], "");
    let out = run(&["check", "-c", config.to_str().expect("utf-8 path")], work.path()).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("feed[0].site_rule[0].body[1]: feed \"ruled\": invalid CSS selector \"div[\""), "{err}");
    assert!(err.contains("newswire.toml:"), "{err}");
}

/// GET a path from the status server: the body.
async fn get(addr: &str, path: &str) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    Some(text.split_once("\r\n\r\n")?.1.to_string())
}

async fn wait_for<F: FnMut() -> bool>(what: &str, mut check: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of `newswire_page_results_total` for a feed and result.
fn pages_metric(metrics: &str, feed: &str, result: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("newswire_page_results_total{"))
        .find(|l| l.contains(&format!("feed=\"{feed}\"")) && l.contains(&format!("result=\"{result}\"")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_fetches_teaser_pages_once_per_version_honours_robots_and_counts_what_it_keeps() {
    let server = PageServer::start().await;
    let work = Workdir::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let status = format!("127.0.0.1:{port}");
    let config = config(
        &work,
        &server,
        &[("auto", "auto", "interval = \"1s\""), ("trusted", "trusted", "interval = \"1s\"\nignore_robots = true")],
        &format!("[server]\nlisten = \"{status}\"\n"),
    );
    let mut daemon = tokio::process::Command::new(crate::harness::bin())
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the daemon");
    let stored = |feed: &str| -> i64 {
        if !work.path().join("data/newswire.db").exists() {
            return -1;
        }
        work.db().query_row("SELECT COUNT(*) FROM records WHERE feed = ?1", [feed], |r| r.get(0)).unwrap_or(-1)
    };
    wait_for("both feeds stored", || stored("auto") == 7 && stored("trusted") == 7).await;

    // The teaser's page became the body; the feed's title stays, the
    // page's author fills the gap, the date is the feed's.
    let (source, body, authors, title) = record(&work, "auto", "/auto/articles/harbour.html");
    assert_eq!(source, "page");
    assert_eq!(body, paragraphs(HARBOUR_EXPECTED));
    assert_eq!(authors, r#"["Ana Ruiz"]"#);
    assert_eq!(title, "Harbour wall works begin after three-year wait");
    let (words, language, published): (i64, String, String) = work
        .db()
        .query_row(
            "SELECT word_count, language, published_at FROM records WHERE url LIKE '%/auto/articles/harbour.html'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("harbour record");
    assert_eq!(words as usize, body.split_whitespace().count());
    assert_eq!((language.as_str(), published.as_str()), ("en", "2024-03-11T08:00:00Z"));
    let line = work
        .jsonl()
        .into_iter()
        .find(|r| r["url"].as_str().is_some_and(|u| u.ends_with("/auto/articles/harbour.html")))
        .expect("harbour in the JSONL sink");
    assert_eq!(line["source"], "page");

    // A 500, a timeout, a PDF and a page robots.txt disallows: the feed's
    // text is kept and the others are fine.
    for (path, teaser) in [
        ("/auto/articles/council.html", "The council met on Tuesday"),
        ("/auto/articles/slow.html", "Commuters waited up to forty minutes"),
        ("/auto/articles/report.pdf", "The annual report of the port authority is out."),
        ("/auto/private/interview.html", "Forty years on the quays"),
    ] {
        let (source, body, _, _) = record(&work, "auto", path);
        assert_eq!(source, "feed", "{path}");
        assert!(body.starts_with(teaser), "{path}: {body}");
    }
    assert_eq!(server.seen.hits("/auto/private/interview.html"), 0, "robots.txt disallows it");
    // A full text in the feed: auto does not fetch its page.
    assert_eq!(server.seen.hits("/auto/articles/longform.html"), 0);
    assert_eq!(record(&work, "auto", "/auto/articles/longform.html").0, "feed");
    // ignore_robots: the operator may fetch it.
    assert_eq!(server.seen.hits("/trusted/private/interview.html"), 1);
    let (source, body, _, _) = record(&work, "trusted", "/trusted/private/interview.html");
    assert_eq!(source, "page");
    assert!(body.starts_with("Forty years on the quays, and Margaret Olsen"), "{body}");

    // Counted, by closed reason.
    let metrics = get(&status, "/metrics").await.expect("metrics");
    for (feed, result, n) in [
        ("auto", "used", 2.0),
        ("auto", "status", 1.0),
        ("auto", "timeout", 1.0),
        ("auto", "not_html", 1.0),
        ("auto", "robots", 1.0),
        ("trusted", "used", 3.0),
        ("trusted", "robots", 0.0),
    ] {
        assert_eq!(pages_metric(&metrics, feed, result), n, "{feed} {result}\n{metrics}");
    }

    // Polls of the unchanged feed fetch no page again.
    let pages_before = (server.seen.page_hits("/auto/"), server.seen.page_hits("/trusted/"));
    let polls = server.seen.hits("/auto/feed.rss");
    wait_for("two more polls", || server.seen.hits("/auto/feed.rss") >= polls + 2).await;
    // A new item in the feed: its page is fetched, and only its page.
    server.seen.version.store(2, Ordering::SeqCst);
    wait_for("the late item stored", || stored("auto") == 8 && stored("trusted") == 8).await;
    let polls = server.seen.hits("/auto/feed.rss");
    wait_for("two more polls", || server.seen.hits("/auto/feed.rss") >= polls + 2).await;
    assert_eq!(server.seen.hits("/auto/articles/ferry.html"), 1);
    assert_eq!(
        (server.seen.page_hits("/auto/"), server.seen.page_hits("/trusted/")),
        (pages_before.0 + 1, pages_before.1 + 1),
        "only the new item's page was fetched"
    );
    for path in ["harbour.html", "council.html", "slow.html", "report.pdf", "ruled.html"] {
        assert_eq!(server.seen.hits(&format!("/auto/articles/{path}")), 1, "{path} fetched once");
    }
    assert_eq!(record(&work, "auto", "/auto/articles/ferry.html").0, "page");
    // The page-sourced record was not overwritten by the teaser.
    assert_eq!(record(&work, "auto", "/auto/articles/harbour.html").0, "page");
    let versions: i64 = work
        .db()
        .query_row("SELECT COUNT(*) FROM records WHERE feed = 'auto' AND source = 'page'", [], |r| r.get(0))
        .expect("count");
    assert_eq!(versions, 3);
    // robots.txt: once per host for the whole run.
    assert_eq!(server.seen.hits("/robots.txt"), 1);

    let pid = daemon.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let exit = tokio::time::timeout(Duration::from_secs(30), daemon.wait()).await.expect("exits").expect("wait");
    assert_eq!(exit.code(), Some(0));
    let mut err = String::new();
    daemon.stderr.take().expect("stderr").read_to_string(&mut err).await.expect("read");
    let err = plain(&err);
    let warnings: Vec<&str> =
        err.lines().filter(|l| l.contains("article page not used") && l.contains("feed=auto ")).collect();
    assert_eq!(warnings.len(), 4, "one warning per page, never repeated:\n{err}");
    for reason in ["status", "timeout", "not_html", "robots"] {
        assert!(warnings.iter().any(|l| l.contains(&format!("reason=\"{reason}\""))), "{reason}: {err}");
    }
}
