//! Feed discovery: which feeds a site page points to.
//!
//! Two sources, in order: the page's `<link rel="alternate">` elements with
//! a feed media type, and a short list of common feed paths on the page's
//! host. Every candidate is fetched (through the same guard as any feed) and
//! kept only if it parses as a feed with items or a title.

use std::time::Duration;

use url::Url;

use crate::fetch::{FetchError, FetchRequest, Fetched, Fetcher};
use crate::parse::parse_feed_with;

/// Paths tried on the page's host when the page links no feed.
const COMMON_PATHS: &[&str] =
    &["/feed", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/feed.json", "/feeds/posts/default"];

/// Media types of feeds in `<link type=…>`.
const FEED_TYPES: &[&str] = &[
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
];

/// A feed found on a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The feed's URL.
    pub url: Url,
    /// The feed's title, when it has one.
    pub title: Option<String>,
    /// The format read ("rss", "atom", "json", …).
    pub format: String,
    /// Items in it now.
    pub items: usize,
}

/// Attributes of one tag, names lowercased.
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let bytes = tag.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'=' && bytes[i] != b'/' {
            i += 1;
        }
        if start == i {
            i += 1;
            continue;
        }
        let name = tag[start..i].to_ascii_lowercase();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() || bytes[i] != b'=' {
            out.push((name, String::new()));
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => {
                let end = tag[i + 1..].find(q as char).map_or(tag.len(), |e| i + 1 + e);
                let v = &tag[i + 1..end];
                i = end + 1;
                v
            }
            _ => {
                let s = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                &tag[s..i]
            }
        };
        out.push((name, value.replace("&amp;", "&")));
    }
    out
}

/// Feed links a page declares, resolved against the page URL, in order.
pub fn feed_links(html: &str, page: &Url) -> Vec<Url> {
    let lower = html.to_ascii_lowercase();
    let mut out: Vec<Url> = Vec::new();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("<link") {
        let start = from + pos + 5;
        let Some(end) = lower[start..].find('>').map(|e| start + e) else { break };
        from = end;
        let attrs = attributes(&html[start..end]);
        let get = |n: &str| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim());
        let rel_alternate =
            get("rel").is_some_and(|r| r.split_whitespace().any(|t| t.eq_ignore_ascii_case("alternate")));
        let feed_type = get("type").is_some_and(|t| FEED_TYPES.iter().any(|f| t.to_ascii_lowercase().starts_with(f)));
        if let (true, true, Some(href)) = (rel_alternate, feed_type, get("href"))
            && let Ok(url) = page.join(href)
            && matches!(url.scheme(), "http" | "https")
            && !out.contains(&url)
        {
            out.push(url);
        }
    }
    out
}

/// Fetch a candidate and keep it if it reads as a feed.
async fn probe(fetcher: &Fetcher, url: &Url, allow_private: bool) -> Option<Discovered> {
    let request =
        FetchRequest { allow_private, ..FetchRequest::simple(url, Duration::from_secs(20), 16 * 1024 * 1024) };
    let Ok(Fetched::Document(doc)) = fetcher.fetch(&request).await else { return None };
    let feed = parse_feed_with(&doc.body, &doc.final_url, usize::MAX, doc.content_type.as_deref()).ok()?;
    if feed.items.is_empty() && feed.title.is_none() {
        return None;
    }
    Some(Discovered { url: url.clone(), title: feed.title, format: feed.format.to_string(), items: feed.items.len() })
}

/// The feeds a site page points to: its declared feeds if any read as
/// feeds, else whichever common paths do. Refused addresses fail like any
/// fetch: `allow_private` opens them.
pub async fn discover(fetcher: &Fetcher, page: &Url, allow_private: bool) -> Result<Vec<Discovered>, FetchError> {
    let request =
        FetchRequest { allow_private, ..FetchRequest::simple(page, Duration::from_secs(20), 16 * 1024 * 1024) };
    let (body, base, content_type) = match fetcher.fetch(&request).await? {
        Fetched::Document(doc) => (doc.body, doc.final_url, doc.content_type),
        Fetched::NotModified { .. } => (bytes::Bytes::new(), page.clone(), None),
    };
    // The page may itself be a feed.
    if let Ok(feed) = parse_feed_with(&body, &base, usize::MAX, content_type.as_deref())
        && !feed.items.is_empty()
    {
        return Ok(vec![Discovered {
            url: base,
            title: feed.title,
            format: feed.format.to_string(),
            items: feed.items.len(),
        }]);
    }
    let html = String::from_utf8_lossy(&body);
    let mut found = Vec::new();
    for url in feed_links(&html, &base) {
        if let Some(d) = probe(fetcher, &url, allow_private).await {
            found.push(d);
        }
    }
    if found.is_empty() {
        for path in COMMON_PATHS {
            if let Ok(url) = base.join(path)
                && let Some(d) = probe(fetcher, &url, allow_private).await
                && !found.iter().any(|f: &Discovered| f.url == d.url)
            {
                found.push(d);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_declared_feeds_and_ignores_other_links() {
        let page = Url::parse("https://news.example.com/section/").expect("url");
        let html = r#"<html><head>
<link rel="stylesheet" href="/s.css">
<LINK REL="alternate" TYPE="application/rss+xml" TITLE="All" HREF="/rss.xml">
<link rel='alternate' type='application/atom+xml' href='atom.xml?a=1&amp;b=2'/>
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
<link rel="alternate" type="application/feed+json" href="https://cdn.example.com/feed.json">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="application/rss+xml" href="/rss.xml">
</head></html>"#;
        let links: Vec<String> = feed_links(html, &page).iter().map(Url::to_string).collect();
        assert_eq!(
            links,
            [
                "https://news.example.com/rss.xml",
                "https://news.example.com/section/atom.xml?a=1&b=2",
                "https://cdn.example.com/feed.json"
            ]
        );
    }

    #[test]
    fn attribute_parser_handles_quotes_and_bare_values() {
        let attrs = attributes(r#" rel=alternate type="application/rss+xml" href='/a b' disabled"#);
        assert_eq!(
            attrs,
            [
                ("rel".to_string(), "alternate".to_string()),
                ("type".to_string(), "application/rss+xml".to_string()),
                ("href".to_string(), "/a b".to_string()),
                ("disabled".to_string(), String::new()),
            ]
        );
    }
}
