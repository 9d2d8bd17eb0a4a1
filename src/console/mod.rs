//! The web console: server-rendered HTML pages at `/` on the status server.
//!
//! - `/` [overview]: records per hour, polls per minute, failures, sink
//!   health (the facts of `/readyz`), version and uptime.
//! - `/console/feeds` and `/console/feeds/{name}` [feeds]: every feed's
//!   status, failing first, sortable and filterable; one feed's recent polls,
//!   a week of records per hour and its newest records.
//! - `/console/records` and `/console/records/{id}` [records]: the newest
//!   records with full-text search; one record's clean body beside what the
//!   cleaner removed, by kind, and its embeds.
//! - `/console/stories` and `/console/stories/{id}` [stories]: stories
//!   with their copies, each copy's feed and similarity.
//!
//! Records and stories are read through the read API's reader
//! ([`newswire_storer::read::RecordReader`]): the same queries as
//! `/api/` and `newswire records`.
//!
//! With `[server] token_env` the console needs the API's token too
//! ([`login`]): as `Authorization: Bearer`, or from a cookie that the login
//! form sets (HttpOnly, SameSite=Strict), since a browser sends no bearer
//! token when it follows a link.
//!
//! Pages are HTML from maud templates, which escape every value they are
//! given: feed titles, bodies, errors and URLs are attacker-controlled and
//! only ever reach the page as text. A link to a feed's URL is written only
//! for an `http` or `https` URL. Every response carries a
//! Content-Security-Policy that allows scripts and styles from this server
//! only (`script-src 'self'`, no inline script), so markup that slipped
//! through could still not run. The one script ([`assets`]) sorts and
//! filters tables in place and refreshes the overview; it builds rows with
//! DOM methods, never `innerHTML`. Tables sort and filter on the server
//! too (links and a GET form), so the pages work without JavaScript.
//!
//! Assets are embedded in the binary and served with a content hash in their
//! URL and a year's `Cache-Control: immutable`; pages are `no-store`.

mod assets;
mod chart;
mod feeds;
pub mod login;
mod overview;
mod records;
mod stories;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};
use newswire_core::config::Secret;
use newswire_pipeline::board::Board;
use newswire_storer::read::RecordReader;

/// What the console reads.
#[derive(Clone)]
pub struct Console {
    /// The pipeline's board: feeds, sinks, activity.
    pub board: Arc<Board>,
    /// When the daemon started, for its uptime.
    pub started: Instant,
    /// The store's reader (the read API's), for records and stories.
    pub reader: Option<Arc<dyn RecordReader>>,
    /// The API's token, which the console asks for too.
    pub token: Option<Secret>,
}

/// The console's routes.
pub fn router(console: Console) -> Router {
    let token = console.token.clone();
    let pages = Router::new()
        .route("/", get(overview::show))
        .route("/console/feeds", get(feeds::list))
        .route("/console/feeds/{name}", get(feeds::one))
        .route("/console/records", get(records::list))
        .route("/console/records/{id}", get(records::one))
        .route("/console/stories", get(stories::list))
        .route("/console/stories/{id}", get(stories::one))
        .with_state(console);
    let pages = match token.clone() {
        Some(token) => pages.layer(axum::middleware::from_fn_with_state(Arc::new(token), login::require)),
        None => pages,
    };
    // The assets hold nothing secret, and the login page needs them.
    Router::new()
        .route("/console/assets/{file}", get(assets::serve))
        .route("/console/login", get(login::form).post(login::submit))
        .with_state(token.map(Arc::new))
        .merge(pages)
}

/// `prefix` with `segment` appended, percent-encoded as one path segment.
fn path(prefix: &str, segment: &str) -> String {
    let mut url = url::Url::parse("http://console/").expect("a constant, valid URL");
    url.set_path(prefix);
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push(segment);
    }
    url.path().to_string()
}

/// The Content-Security-Policy of every console page: nothing inline,
/// nothing from elsewhere, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A page response: HTML, the CSP, never cached.
fn page(markup: Markup) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        markup.into_string(),
    )
        .into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    response
}

/// The page around `body`, with the navigation; `current` names the page
/// for the navigation's highlight.
fn layout(title: &str, current: &str, body: Markup) -> Markup {
    let nav = [
        ("Overview", "/"),
        ("Feeds", "/console/feeds"),
        ("Records", "/console/records"),
        ("Stories", "/console/stories"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · newswire" }
                link rel="stylesheet" href=(assets::url("console.css"));
                script src=(assets::url("console.js")) defer {}
            }
            body {
                header {
                    a.brand href="/" { "newswire" }
                    nav {
                        @for (name, href) in nav {
                            a href=(href) aria-current=[(name == current).then_some("page")] { (name) }
                        }
                    }
                }
                main { (body) }
                footer { "newswire " (env!("CARGO_PKG_VERSION")) }
            }
        }
    }
}

/// A time as `<time>`: relative to now in the text, exact in the title.
fn time(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Markup {
    match at {
        None => html! { span.none { "—" } },
        Some(at) => {
            let exact = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let delta = (at - now).num_seconds();
            let text = match delta {
                -1..=1 => "now".to_string(),
                d if d > 0 => format!("in {}", span(d)),
                d => format!("{} ago", span(-d)),
            };
            html! { time datetime=(exact) title=(exact) { (text) } }
        }
    }
}

/// Seconds as a short span: `45s`, `12m`, `3h 5m`, `2d 4h`.
fn span(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// A link to `url` when it is http(s), else the text alone: a feed may put
/// a `javascript:` URL anywhere it can put a link.
fn external(url: &str, text: &str) -> Markup {
    let safe = url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
    html! {
        @if safe { a href=(url) rel="noopener noreferrer nofollow" { (text) } } @else { (text) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_read_short() {
        assert_eq!([span(5), span(125), span(3 * 3600 + 300), span(2 * 86_400 + 7200)], ["5s", "2m", "3h 5m", "2d 2h"]);
    }

    #[test]
    fn only_http_urls_become_links() {
        assert!(
            external("https://e.com/a?b=1&c=2", "x").into_string().contains("href=\"https://e.com/a?b=1&amp;c=2\"")
        );
        let js = external("javascript:alert(1)", "<b>x</b>").into_string();
        assert!(!js.contains("href"), "{js}");
        assert_eq!(js, "&lt;b&gt;x&lt;/b&gt;");
    }
}
