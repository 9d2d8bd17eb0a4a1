//! A real HTTP server on 127.0.0.1 (ephemeral port) serving the fixture
//! feeds, with the behaviours the tests need: validators and 304s, errors,
//! a stall, an HTML page, and a feed whose content changes on demand.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub const WORLD_RSS: &str = include_str!("../fixtures/feeds/world.rss");
pub const TECH_ATOM: &str = include_str!("../fixtures/feeds/tech.atom");
pub const SCIENCE_JSON: &str = include_str!("../fixtures/feeds/science.json");
pub const SYNDICATED_RSS: &str = include_str!("../fixtures/feeds/syndicated.rss");
pub const NOT_A_FEED: &str = include_str!("../fixtures/pages/not-a-feed.html");

const ATOM_MODIFIED: &str = "Tue, 12 Mar 2024 09:00:00 GMT";

/// What the server saw, shared with the test.
#[derive(Default)]
pub struct Seen {
    /// Requests per path.
    pub hits: Mutex<HashMap<String, usize>>,
    /// Conditional headers per path, in request order.
    pub conditional: Mutex<Vec<(String, String)>>,
    /// Version served by /versioned.xml.
    pub version: AtomicUsize,
}

impl Seen {
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().expect("lock").get(path).copied().unwrap_or(0)
    }

    pub fn conditional(&self) -> Vec<(String, String)> {
        self.conditional.lock().expect("lock").clone()
    }
}

pub struct FixtureServer {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    _task: tokio::task::JoinHandle<()>,
}

impl FixtureServer {
    pub async fn start() -> FixtureServer {
        let seen = Arc::new(Seen::default());
        seen.version.store(1, Ordering::SeqCst);
        let app = Router::new()
            .route("/rss.xml", get(rss))
            .route("/atom.xml", get(atom))
            .route("/feed.json", get(|| async { ([(header::CONTENT_TYPE, "application/feed+json")], SCIENCE_JSON) }))
            .route("/seed.xml", get(|| async { ([(header::CONTENT_TYPE, "application/rss+xml")], SYNDICATED_RSS) }))
            .route("/error", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
            .route("/gone", get(|| async { (StatusCode::GONE, "gone") }))
            .route("/slow", get(slow))
            .route("/page.html", get(|| async { ([(header::CONTENT_TYPE, "text/html")], NOT_A_FEED) }))
            .route("/versioned.xml", get(versioned))
            .route("/promo.xml", get(promo))
            .layer(axum::middleware::from_fn_with_state(Arc::clone(&seen), record))
            .with_state(Arc::clone(&seen));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fixture server runs");
        });
        FixtureServer { addr, seen, _task: task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

async fn record(
    State(seen): State<Arc<Seen>>,
    uri: Uri,
    headers: HeaderMap,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = uri.path().to_string();
    *seen.hits.lock().expect("lock").entry(path.clone()).or_default() += 1;
    for name in [header::IF_NONE_MATCH, header::IF_MODIFIED_SINCE] {
        if let Some(v) = headers.get(&name).and_then(|v| v.to_str().ok()) {
            seen.conditional.lock().expect("lock").push((path.clone(), format!("{name}: {v}")));
        }
    }
    next.run(req).await
}

async fn rss(headers: HeaderMap) -> Response {
    let etag = "\"world-v1\"";
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    ([(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8"), (header::ETAG, etag)], WORLD_RSS).into_response()
}

async fn atom(headers: HeaderMap) -> Response {
    if headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()) == Some(ATOM_MODIFIED) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    ([(header::CONTENT_TYPE, "application/atom+xml"), (header::LAST_MODIFIED, ATOM_MODIFIED)], TECH_ATOM)
        .into_response()
}

async fn slow() -> Response {
    // Far longer than any test's feed timeout.
    tokio::time::sleep(Duration::from_secs(60)).await;
    (StatusCode::OK, "too late").into_response()
}

async fn versioned(State(seen): State<Arc<Seen>>) -> Response {
    let v = seen.version.load(Ordering::SeqCst);
    let second = if v == 1 {
        "The original report said the bridge would reopen in May."
    } else {
        "The revised report says the bridge will reopen in June, a month later."
    };
    let body = format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Versioned</title><link>https://versioned.example.com/</link>
<item><title>Steady story</title><link>https://versioned.example.com/steady</link><guid>steady</guid><description>This story never changes.</description></item>
<item><title>Bridge repairs</title><link>https://versioned.example.com/bridge</link><guid>bridge</guid><description>{second}</description></item>
</channel></rss>"#
    );
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}

/// The outlet's own promotion, which no built-in rule names: the feed's
/// template must learn it.
pub const PROMO: &str = "Our tote bag is back: tell a friend about the Harbour Times this week and we post you one.";

/// A feed whose items all end with [`PROMO`]: three items in version 1, a
/// fourth added in version 2.
async fn promo(State(seen): State<Arc<Seen>>) -> Response {
    let v = seen.version.load(Ordering::SeqCst);
    let stories = [
        ("ferry", "The night ferry made its last crossing on Sunday after forty years on the route."),
        ("silo", "The harbour authority approved the plan to turn the grain silo into flats and a library."),
        ("crane", "The old harbour crane will be restored and lit at night, the council decided on Monday."),
        ("regatta", "Forty boats entered the autumn regatta, the largest field since the race began in 1962."),
    ];
    let mut items = String::new();
    for (slug, text) in stories.iter().take(if v == 1 { 3 } else { 4 }) {
        items.push_str(&format!(
            "<item><title>The {slug} story</title><link>https://harbour.example.com/{slug}</link><guid>{slug}</guid>\
             <description><![CDATA[<p>{text}</p><p>More on the {slug} follows in the print edition on Saturday.</p><p>{PROMO}</p>]]></description></item>"
        ));
    }
    let body = format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Times</title><link>https://harbour.example.com/</link>{items}</channel></rss>"#
    );
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}
