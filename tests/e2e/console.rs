//! The web console in a real browser: the daemon runs on the fixture feeds
//! (one failing on purpose, one hostile), and a headless Chromium opens the
//! console's pages through WebDriver (see `browser.rs`; skipped, saying so,
//! without Chromium unless `NEWSWIRE_TEST_BROWSER=required`).

use axum::Router;
use axum::http::header;
use axum::routing::get;
use fantoccini::Locator;
use serde_json::json;

use crate::browser::{Browser, screenshot_dir};
use crate::daemon::{free_port, get as http_get, wait_for};
use crate::harness::Workdir;
use crate::server::FixtureServer;

/// What any script injected through a feed would do: set this marker.
const MARKER: &str = "window.__newswire_pwned";

/// The read API's token, which the console asks for too.
const TOKEN: &str = "console-test-token";

/// A feed whose title, item title and body carry script and markup.
const HOSTILE_RSS: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel>
<title>&lt;script&gt;window.__newswire_pwned = 1&lt;/script&gt;Hostile Gazette</title>
<link>https://hostile.example.com/</link>
<item><title>&lt;img src=x onerror="window.__newswire_pwned = 2"&gt;Harbour &lt;b&gt;bold&lt;/b&gt; claims</title>
<link>https://hostile.example.com/harbour</link><guid>hostile-1</guid>
<description><![CDATA[<p>The harbour master denied every claim made at the meeting on Tuesday evening.</p><script>window.__newswire_pwned = 3</script><p>Residents said <img src=x onerror="window.__newswire_pwned = 4">they would keep asking questions about the dredging plan.</p>]]></description></item>
</channel></rss>"#;

/// A story, and a partner's wrapped copy of it (a cluster on the stories
/// page; the wrapping lines are what the cleaner removes).
const STORY: &str = "<p>The county board approved on Monday a plan to rebuild the old lighthouse on the northern pier, after inspectors found deep cracks in the tower's foundations during the winter storms.</p><p>The work will cost an estimated 12 million euros and take three years, the board said, with most of the money coming from the coastal heritage fund rather than from local rates.</p><p>Fishermen who use the northern harbour welcomed the decision, saying the light had been unreliable since January and that two boats had nearly run aground on the rocks below the pier.</p><p>The board chair said the tower would stay lit with a temporary beacon during the rebuilding, and that the keeper's cottage would open as a small museum once the work was finished.</p>";

fn rss(items: &[(&str, &str, String)]) -> String {
    let items: String = items
        .iter()
        .map(|(guid, title, html)| {
            format!(
                "<item><title>{title}</title><link>https://{guid}.example.org/story</link><guid>{guid}</guid><description><![CDATA[{html}]]></description></item>"
            )
        })
        .collect();
    format!("<rss version=\"2.0\"><channel><title>F</title><link>https://f.example.org/</link>{items}</channel></rss>")
}

/// A feed name an OPML import could bring: markup and a script.
const HOSTILE_NAME: &str = "<img src=x onerror='window.__newswire_pwned = 5'>hostile";

/// The hostile feed, the wire's story and the partner's copy: their URLs.
async fn story_server() -> [String; 3] {
    let wire = rss(&[("wire-light", "Lighthouse to be rebuilt", STORY.to_string())]);
    let partner = rss(&[(
        "partner-light",
        "Pier lighthouse gets three-year rebuild",
        format!(
            "<p>Our partners at the Coastal Courier report:</p>{STORY}<p>This article first appeared on the Coastal Courier and is republished with permission.</p>"
        ),
    )]);
    let xml = || [(header::CONTENT_TYPE, "application/rss+xml")];
    let app = Router::new()
        .route("/hostile.xml", get(move || async move { (xml(), HOSTILE_RSS) }))
        .route("/wire.xml", get(move || async move { (xml(), wire) }))
        .route("/partner.xml", get(move || async move { (xml(), partner) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    ["hostile", "wire", "partner"].map(|p| format!("http://{addr}/{p}.xml"))
}

/// The feeds table's rows as (name, status), in page order, visible only.
async fn rows(browser: &Browser) -> Vec<(String, String)> {
    let value = browser
        .eval(
            "return Array.from(document.querySelectorAll('#feeds tbody tr'))
               .filter(r => !r.hidden).map(r => [r.dataset.name, r.dataset.status]);",
        )
        .await;
    serde_json::from_value(value).expect("rows as pairs")
}

async fn names(browser: &Browser) -> Vec<String> {
    rows(browser).await.into_iter().map(|(n, _)| n).collect()
}

/// The status line and headers of a GET, lowercased.
async fn response_head(addr: &str, path: &str, token: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let auth = if token { format!("Authorization: Bearer {TOKEN}\r\n") } else { String::new() };
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n").as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).to_lowercase();
    text.split_once("\r\n\r\n").map_or(text.clone(), |(head, _)| head.to_string())
}

async fn assert_no_script_ran(browser: &Browser, page: &str) {
    let marker = browser.eval(&format!("return typeof {MARKER} === 'undefined' ? null : {MARKER};")).await;
    assert_eq!(marker, json!(null), "a feed's script ran on the {page} page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser() {
    let Some(browser) = Browser::open("the_console_in_a_browser").await else { return };
    let server = FixtureServer::start().await;
    let [hostile, wire, partner] = story_server().await;
    let work = Workdir::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let feeds = [
        ("world", server.url("/rss.xml")),
        ("tech", server.url("/atom.xml")),
        ("science", server.url("/feed.json")),
        ("broken", server.url("/error")),
        (HOSTILE_NAME, hostile),
        ("wire", wire),
        ("partner", partner),
    ];
    let config = work.config(&feeds, "interval = \"1h\"");
    let mut text = std::fs::read_to_string(&config).expect("read config");
    text.push_str(&format!("\n[server]\nlisten = \"127.0.0.1:{port}\"\ntoken_env = \"NEWSWIRE_CONSOLE_TEST_TOKEN\"\n"));
    std::fs::write(&config, text).expect("write config");
    let mut daemon = tokio::process::Command::new(crate::harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", "warn")
        .env("NEWSWIRE_CONSOLE_TEST_TOKEN", TOKEN)
        .spawn()
        .expect("start the daemon");
    let addr = format!("127.0.0.1:{port}");
    wait_for("every feed polled once", || async {
        let Some((200, body)) = http_get(&addr, "/feeds").await else { return false };
        let feeds: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap_or_default();
        feeds.len() == 7 && feeds.iter().all(|f| f["status"] == "ok" || f["status"] == "failing")
    })
    .await;

    // The console asks for the API's token. A wrong one gets the form
    // again, saying so, and opens nothing.
    browser.goto(&format!("{base}/console/feeds")).await;
    assert!(browser.client.current_url().await.expect("url").path().starts_with("/console/login"));
    browser
        .client
        .find(Locator::Css("#token"))
        .await
        .expect("token box")
        .send_keys("not-the-token")
        .await
        .expect("type");
    browser.client.find(Locator::Css("form.login button")).await.expect("button").click().await.expect("click");
    browser.wait_until("the wrong token refused", "return document.querySelector('#login-error') !== null;").await;
    assert_eq!(browser.client.current_url().await.expect("url").path(), "/console/login");
    assert!(browser.text("#login-error").await.contains("not the token"));
    // The right one sets the cookie and returns to the page asked for.
    browser.goto(&format!("{base}/console/feeds")).await;
    assert!(browser.client.current_url().await.expect("url").path().starts_with("/console/login"));
    browser.client.find(Locator::Css("#token")).await.expect("token box").send_keys(TOKEN).await.expect("type");
    browser.client.find(Locator::Css("form.login button")).await.expect("button").click().await.expect("click");
    // The click returns before the redirect is followed: wait for it.
    browser.wait_until("signed in", "return location.pathname === '/console/feeds';").await;
    assert_eq!(browser.client.current_url().await.expect("url").path(), "/console/feeds");
    let (code, _) = http_get(&addr, "/console/feeds").await.expect("answer");
    assert_eq!(code, 303, "without the token or the cookie, the console sends to the login form");

    // Feeds: every feed with its status, the failing one first.
    let listed = rows(&browser).await;
    assert_eq!(listed.len(), 7, "{listed:?}");
    assert_eq!(listed[0], ("broken".to_string(), "failing".to_string()), "failing first: {listed:?}");
    for (name, _) in &feeds[..3] {
        assert!(listed.contains(&(name.to_string(), "ok".to_string())), "{name} ok: {listed:?}");
    }
    assert!(listed.contains(&(HOSTILE_NAME.to_string(), "ok".to_string())), "{listed:?}");
    // The hostile name is text in its cell, not an element.
    let cell = browser.text("#feeds tbody tr[data-status=ok] td a").await;
    assert!(!cell.is_empty());
    let imgs = browser.eval("return document.querySelectorAll('#feeds img').length;").await;
    assert_eq!(imgs, json!(0), "the feed name's markup became an element");
    let _ = cell;
    let shown =
        browser.eval("return Array.from(document.querySelectorAll('#feeds td a')).map(a => a.textContent);").await;
    assert!(shown.as_array().expect("names").iter().any(|n| n == HOSTILE_NAME), "{shown}");
    let error = browser.text("#feeds tbody tr[data-status=failing] td.error").await;
    assert!(error.contains("500"), "the last error is shown: {error}");
    assert_no_script_ran(&browser, "feeds").await;
    browser.screenshot("feeds").await;

    // Sorting: by name, then the other way, in place (the script).
    browser.client.find(Locator::Css("th[data-key=name] a")).await.expect("name heading").click().await.expect("click");
    let mut sorted: Vec<String> = feeds.iter().map(|(n, _)| n.to_string()).collect();
    sorted.sort();
    assert_eq!(names(&browser).await, sorted);
    browser.client.find(Locator::Css("th[data-key=name] a")).await.expect("name heading").click().await.expect("click");
    sorted.reverse();
    assert_eq!(names(&browser).await, sorted);
    let aria = browser.eval("return document.querySelector('th[data-key=name]').getAttribute('aria-sort');").await;
    assert_eq!(aria, json!("descending"));
    // The same order from the server alone (what a browser without
    // JavaScript gets from the heading's link).
    browser.goto(&format!("{base}/console/feeds?sort=name&order=desc")).await;
    assert_eq!(names(&browser).await, sorted);

    // Filtering: as one types, and from the server.
    let filter = browser.client.find(Locator::Css("#filter")).await.expect("filter box");
    filter.send_keys("tech").await.expect("type");
    browser
        .wait_until(
            "the filter to apply",
            "return document.querySelectorAll('#feeds tbody tr:not([hidden])').length === 1;",
        )
        .await;
    assert_eq!(names(&browser).await, ["tech"]);
    browser.goto(&format!("{base}/console/feeds?status=failing")).await;
    assert_eq!(names(&browser).await, ["broken"]);

    // A feed's page: its status, error and polls.
    browser.client.find(Locator::LinkText("broken")).await.expect("link to broken").click().await.expect("click");
    assert_eq!(browser.text("#status").await, "failing");
    let polls = browser.eval("return document.querySelectorAll('#polls tbody tr.failed').length;").await;
    assert!(polls.as_u64().is_some_and(|n| n >= 1), "{polls}");
    browser.screenshot("feed").await;
    browser.goto(&format!("{base}/console/feeds/world")).await;
    assert!(browser.eval("return document.querySelector('svg.spark polyline') !== null;").await == json!(true));

    // Overview: health, version and the charts.
    browser.goto(&format!("{base}/")).await;
    assert_eq!(browser.text("#health").await, "ready");
    assert_eq!(browser.text("#version").await, env!("CARGO_PKG_VERSION"));
    let records: u64 = browser.text("#records-day").await.parse().expect("a number");
    assert!(records >= 5, "records in the last day: {records}");
    let bars = browser.eval("return document.querySelectorAll('figure.chart rect.bar').length;").await;
    assert_eq!(bars, json!(7 * 24 + 60 + 60));
    assert_no_script_ran(&browser, "overview").await;
    let overview = browser.screenshot("overview").await;
    if std::env::var("NEWSWIRE_UPDATE_DOCS_SCREENSHOT").is_ok() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console-overview.png");
        std::fs::copy(&overview, docs).expect("copy the overview screenshot to docs/");
    }

    // Records: the newest, and search finds one by a word of its body.
    browser.goto(&format!("{base}/console/records")).await;
    let listed = browser.eval("return document.querySelectorAll('#records tbody tr').length;").await;
    assert!(listed.as_u64().is_some_and(|n| n >= 9), "{listed}");
    browser.client.find(Locator::Css("#search")).await.expect("search box").send_keys("dredging").await.expect("type");
    browser.client.find(Locator::Css("form.filter button")).await.expect("button").click().await.expect("click");
    browser
        .wait_until(
            "the search to answer",
            "return location.search.includes('q=dredging') && document.readyState === 'complete';",
        )
        .await;
    let titles = browser
        .eval("return Array.from(document.querySelectorAll('#records td.title')).map(td => td.textContent);")
        .await;
    let titles: Vec<String> = serde_json::from_value(titles).expect("titles");
    assert_eq!(titles.len(), 1, "{titles:?}");
    // The pipeline keeps titles as plain text; whatever is left is text here.
    assert!(titles[0].contains("Harbour") && titles[0].contains("claims"), "{titles:?}");
    assert_no_script_ran(&browser, "search").await;
    browser.screenshot("records").await;

    // The hostile record: title and body are text, nothing ran.
    browser.client.find(Locator::Css("#records td.title a")).await.expect("a record").click().await.expect("click");
    assert!(browser.text("#title").await.contains("Harbour"), "{}", browser.text("#title").await);
    let body = browser.text("#body").await;
    assert!(body.contains("The harbour master denied every claim"), "{body}");
    let elements = browser.eval("return document.querySelectorAll('main img, main script, main b').length;").await;
    assert_eq!(elements, json!(0), "feed markup became elements");
    assert_no_script_ran(&browser, "record").await;

    // The partner's copy: its clean body beside what was removed, by kind,
    // and a link to its source.
    browser.goto(&format!("{base}/console/feeds/partner")).await;
    browser
        .client
        .find(Locator::Css("#records td.title a"))
        .await
        .expect("partner's record")
        .click()
        .await
        .expect("click");
    let body = browser.text("#body").await;
    assert!(body.contains("rebuild the old lighthouse") && !body.contains("first appeared"), "{body}");
    let removed = browser.text("#removed").await;
    assert!(removed.contains("first appeared on the Coastal Courier"), "{removed}");
    let kinds =
        browser.eval("return Array.from(document.querySelectorAll('#removed h3')).map(h => h.dataset.kind);").await;
    assert!(kinds.as_array().is_some_and(|k| !k.is_empty()), "{kinds}");
    let source = browser.eval("return document.querySelector('#source a').getAttribute('href');").await;
    assert_eq!(source, json!("https://partner-light.example.org/story"));
    browser.screenshot("record").await;

    // Stories: the wire's story with the partner's copy.
    browser.goto(&format!("{base}/console/stories")).await;
    let copies = browser
        .eval("return Array.from(document.querySelectorAll('article.story table.copies tbody tr')).map(r => r.dataset.feed);")
        .await;
    // Whichever of the two feeds was stored first holds the story.
    assert!(copies == json!(["partner"]) || copies == json!(["wire"]), "one story with one copy: {copies}");
    let similarity = browser.text("article.story table.copies td.num").await;
    assert!(similarity.parse::<f64>().is_ok_and(|s| s > 0.5), "{similarity}");
    assert!(browser.text("article.story h2").await.contains("ighthouse"));
    browser.screenshot("stories").await;

    // Every page forbids inline scripts and is not cached; assets are.
    for path in ["/", "/console/feeds", "/console/feeds/broken", "/console/records", "/console/stories"] {
        let head = response_head(&addr, path, true).await;
        assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self';"), "{path}: {head}");
        assert!(head.contains("cache-control: no-store"), "{path}: {head}");
    }
    let script = browser.eval("return document.querySelector('script[src]').getAttribute('src');").await;
    let head = response_head(&addr, script.as_str().expect("a src"), false).await;
    assert!(head.contains("cache-control: public, max-age=31536000, immutable"), "{head}");
    eprintln!("console screenshots in {}", screenshot_dir().display());
    browser.close().await;
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &daemon.id().expect("pid").to_string()])
            .status()
            .expect("kill")
            .success()
    );
    assert_eq!(daemon.wait().await.expect("wait").code(), Some(0));
}
