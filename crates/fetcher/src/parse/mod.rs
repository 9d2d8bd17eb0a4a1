//! Feed documents to raw items: a lenient reader for what real feeds are.
//!
//! A [`RawItem`] is the item as published: text fields may still hold HTML,
//! nothing is cleaned, nothing is invented (no generated ids, no dates that
//! were not in the document, no placeholder authors).
//!
//! The path of a document (docs/feed-parsing.md has the classes and figures):
//!
//! 1. [`charset`]: bytes to UTF-8, trusting valid UTF-8 over a declaration
//!    that lies, then the HTTP charset, the XML declaration, an HTML meta
//!    tag, and chardetng; invalid bytes replaced, never fatal.
//! 2. JSON Feed ([`json`]) or XML. XML is repaired only where a cheap test
//!    says so ([`repair`]): a feed inside an HTML page is cut out, open CDATA
//!    sections are closed.
//! 3. [`reader`]: one lenient pass of quick-xml over the text, keeping the
//!    elements a feed reader needs; [`items`] maps them to items whatever the
//!    format (RSS 0.9x/1.0/2.0, Atom 1.0/0.3, mixed namespaces). When it
//!    finds no feed or no items, feed-rs ([`feedrs`]) gets the document too.
//! 4. Field repairs: double-encoded UTF-8, control characters, length caps.
//!
//! Problems that were repaired, and a document with no items, are reported
//! in [`ParsedFeed::warnings`], never silently.

pub(crate) mod charset;
mod feedrs;
mod items;
mod json;
mod people;
mod reader;
mod repair;

use chrono::{DateTime, Utc};
use newswire_core::ErrorKind;
use url::Url;

/// Longest title kept, in bytes; longer ones are cut at a character boundary.
pub const MAX_TITLE_BYTES: usize = 4 * 1024;
/// Longest summary or content kept, in bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Longest guid, link, author name or category kept, in bytes.
pub const MAX_SHORT_BYTES: usize = 8 * 1024;

/// An item as the feed published it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawItem {
    /// guid / id as published; None when the feed gave none.
    pub guid: Option<String>,
    /// The article link, resolved against the feed URL.
    pub link: Option<String>,
    /// Title, possibly with markup.
    pub title: Option<String>,
    /// Author names.
    pub authors: Vec<String>,
    /// Publication time.
    pub published: Option<DateTime<Utc>>,
    /// Update time.
    pub updated: Option<DateTime<Utc>>,
    /// Summary or description, possibly HTML.
    pub summary: Option<String>,
    /// Full content (content:encoded, Atom content, JSON content_html), possibly HTML.
    pub content: Option<String>,
    /// Category terms.
    pub categories: Vec<String>,
}

/// What a feed document holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedFeed {
    /// Feed title.
    pub title: Option<String>,
    /// Feed home page.
    pub link: Option<String>,
    /// Items, at most `max_items`, in document order.
    pub items: Vec<RawItem>,
    /// Items beyond `max_items` that were dropped.
    pub dropped: usize,
    /// What was wrong with the document and was repaired or worked around, and "0 items" when
    /// the document holds none: for the log, one line each.
    pub warnings: Vec<String>,
    /// The format read: "rss", "rdf", "atom" or "json".
    pub format: &'static str,
    /// Links to more of the feed's history (RFC 5005 and JSON Feed paging).
    pub pages: FeedPages,
}

/// Where more of a feed's history lives: RFC 5005 archived feeds
/// (`prev-archive`) and paged feeds (`next`, `previous`; JSON Feed
/// `next_url`), resolved to absolute URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedPages {
    /// `rel="next"`, or JSON Feed's `next_url`: the next (older) page.
    pub next: Option<String>,
    /// `rel="previous"` / `rel="prev"`.
    pub previous: Option<String>,
    /// `rel="prev-archive"`: the archive document before this one.
    pub prev_archive: Option<String>,
}

impl FeedPages {
    /// The page that leads further back in time: the previous archive
    /// document, else the next page of a paged feed.
    pub fn older(&self) -> Option<&str> {
        self.prev_archive.as_deref().or(self.next.as_deref())
    }
}

/// A document that is not a feed we can read.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// What is wrong with the document.
    pub message: String,
}

impl ParseError {
    /// Always [`ErrorKind::Parse`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Parse
    }
}

/// Parse a feed document fetched from `base`, keeping at most `max_items`.
///
/// The same as [`parse_feed_with`] without an HTTP Content-Type.
pub fn parse_feed(bytes: &[u8], base: &Url, max_items: usize) -> Result<ParsedFeed, ParseError> {
    parse_feed_with(bytes, base, max_items, None)
}

/// Parse a feed document fetched from `base`, keeping at most `max_items`; `content_type` is
/// the HTTP `Content-Type` header the document came with (its charset is evidence of the
/// document's character set).
pub fn parse_feed_with(
    bytes: &[u8],
    base: &Url,
    max_items: usize,
    content_type: Option<&str>,
) -> Result<ParsedFeed, ParseError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace() || *b == 0) {
        return Err(ParseError { message: "not a feed: the document is empty".to_string() });
    }
    let decoded = charset::decode(bytes, content_type);
    let mut warnings: Vec<String> = decoded.warning.into_iter().collect();
    let text: &str = &decoded.text;
    let body = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '\0');
    let mut feed = if body.starts_with(['{', '[']) {
        json::read(body, base, max_items)?
    } else {
        read_xml(body, base, max_items, &mut warnings)?
    };
    finish(&mut feed, &mut warnings);
    feed.warnings = warnings;
    Ok(feed)
}

fn read_xml(text: &str, base: &Url, max_items: usize, warnings: &mut Vec<String>) -> Result<ParsedFeed, ParseError> {
    let mut text = std::borrow::Cow::Borrowed(text);
    if repair::looks_like_html(&text) {
        match repair::unwrap_html(&text) {
            Some(inner) => {
                warnings.push("feed extracted from an HTML page".to_string());
                text = std::borrow::Cow::Owned(inner);
            }
            None => return Err(ParseError { message: "not a feed: the document is an HTML page".to_string() }),
        }
    }
    if let Some(fixed) = repair::close_cdata(&text) {
        warnings.push("repaired unterminated CDATA section".to_string());
        text = std::borrow::Cow::Owned(fixed);
    }
    let doc = reader::read(&text);
    let ours = items::map(&doc, base, max_items);
    if doc.truncated {
        warnings.push("document is malformed: reading stopped at the error, items before it kept".to_string());
    }
    match ours {
        Ok(feed) if !feed.items.is_empty() => Ok(feed),
        ours => match feedrs::read(&text, base, max_items) {
            Some(theirs) if !theirs.items.is_empty() => {
                warnings.push("read by feed-rs: the lenient reader found no items".to_string());
                Ok(theirs)
            }
            _ => ours,
        },
    }
}

/// Field repairs shared by every format: double-encoded UTF-8, control characters, caps.
fn finish(feed: &mut ParsedFeed, warnings: &mut Vec<String>) {
    let mut mojibake = 0;
    let mut capped = 0;
    let mut fix = |s: &mut String, max: usize| {
        if let Some(fixed) = repair::fix_mojibake(s) {
            *s = fixed;
            mojibake += 1;
        }
        repair::strip_controls(s);
        if repair::cap(s, max) {
            capped += 1;
        }
    };
    if let Some(t) = feed.title.as_mut() {
        fix(t, MAX_TITLE_BYTES);
    }
    for item in &mut feed.items {
        for (field, max) in [
            (&mut item.title, MAX_TITLE_BYTES),
            (&mut item.summary, MAX_BODY_BYTES),
            (&mut item.content, MAX_BODY_BYTES),
            (&mut item.guid, MAX_SHORT_BYTES),
            (&mut item.link, MAX_SHORT_BYTES),
        ] {
            if let Some(s) = field.as_mut() {
                fix(s, max);
            }
        }
        for s in item.authors.iter_mut().chain(item.categories.iter_mut()) {
            fix(s, MAX_SHORT_BYTES);
        }
    }
    if mojibake > 0 {
        warnings.push(format!("repaired double-encoded utf-8 in {mojibake} fields"));
    }
    if capped > 0 {
        warnings.push(format!("cut {capped} over-long fields"));
    }
    if feed.items.is_empty() {
        warnings.push("0 items".to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://example.com/feeds/news.xml").expect("base url")
    }

    #[test]
    fn reads_rss2_items_as_published() {
        let xml = br#"<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>News</title><link>https://example.com/</link>
<item><title>First &amp; best</title><link>/a/1?utm_source=rss</link><guid isPermaLink="false">id-1</guid>
<pubDate>Tue, 14 Sep 2021 10:00:00 GMT</pubDate><dc:creator>Jane Doe</dc:creator><category>World</category>
<description>Teaser</description><content:encoded><![CDATA[<p>Full text.</p>]]></content:encoded></item>
<item><title>No date, no guid</title><description>Only a description.</description></item>
</channel></rss>"#;
        let feed = parse_feed(xml, &base(), 100).expect("parses");
        assert_eq!(feed.title.as_deref(), Some("News"));
        assert_eq!(feed.items.len(), 2);
        let a = &feed.items[0];
        assert_eq!(a.guid.as_deref(), Some("id-1"));
        assert_eq!(a.link.as_deref(), Some("https://example.com/a/1?utm_source=rss"));
        assert_eq!(a.title.as_deref(), Some("First & best"));
        assert_eq!(a.authors, ["Jane Doe"]);
        assert_eq!(a.categories, ["World"]);
        assert_eq!(a.summary.as_deref(), Some("Teaser"));
        assert_eq!(a.content.as_deref(), Some("<p>Full text.</p>"));
        assert_eq!(a.published.map(|d| d.to_rfc3339()), Some("2021-09-14T10:00:00+00:00".into()));
        assert_eq!(a.updated, None, "RSS has no update date");
        let b = &feed.items[1];
        assert_eq!(b.guid, None, "no guid is invented");
        assert_eq!(b.published, None, "no date is invented");
        assert_eq!(b.link, None);
    }

    #[test]
    fn reads_atom_and_json_feed() {
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2024-01-02T00:00:00Z</updated>
<entry><title type="html">&lt;b&gt;Hi&lt;/b&gt;</title><id>urn:e1</id><link rel="alternate" href="https://example.com/e1"/>
<updated>2024-01-02T00:00:00Z</updated><author><name>Ann</name></author><content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>"#;
        let feed = parse_feed(atom, &base(), 100).expect("atom parses");
        assert_eq!(feed.items[0].guid.as_deref(), Some("urn:e1"));
        assert_eq!(feed.items[0].authors, ["Ann"]);
        assert_eq!(feed.items[0].published, None);
        assert!(feed.items[0].updated.is_some());
        assert_eq!(feed.items[0].content.as_deref(), Some("<p>Body</p>"));

        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[
{"id":"7","url":"https://example.com/j/7","title":"Seven","content_html":"<p>Seven.</p>","date_published":"2024-03-01T12:00:00Z","tags":["x"]}]}"#;
        let feed = parse_feed(json, &base(), 100).expect("json parses");
        assert_eq!(feed.items[0].guid.as_deref(), Some("7"));
        assert_eq!(feed.items[0].link.as_deref(), Some("https://example.com/j/7"));
        assert_eq!(feed.items[0].content.as_deref(), Some("<p>Seven.</p>"));
        assert_eq!(feed.items[0].categories, ["x"]);
    }

    #[test]
    fn caps_items_and_names_html_pages() {
        let mut xml = String::from("<rss version=\"2.0\"><channel><title>t</title>");
        for i in 0..5 {
            xml.push_str(&format!("<item><title>{i}</title><link>https://e.com/{i}</link></item>"));
        }
        xml.push_str("</channel></rss>");
        let feed = parse_feed(xml.as_bytes(), &base(), 3).expect("parses");
        assert_eq!(feed.items.len(), 3);
        assert_eq!(feed.dropped, 2);

        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>
<link rel="self" href="https://example.org/feed.atom"/><entry><title>E</title><id>urn:e</id><link href="/posts/e"/></entry></feed>"#;
        let from_disk = Url::parse("file:///srv/feeds/a.atom").expect("file url");
        let feed = parse_feed(atom, &from_disk, 10).expect("parses");
        assert_eq!(feed.items[0].link.as_deref(), Some("https://example.org/posts/e"));

        let err = parse_feed(b"<!DOCTYPE html><html><body>Hi</body></html>", &base(), 10).expect_err("html page");
        assert_eq!(err.message, "not a feed: the document is an HTML page");
    }

    #[test]
    fn paging_links_in_every_format() {
        let base = Url::parse("https://example.com/feeds/news.xml").expect("base");
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id>
<link rel="self" href="/feeds/news.xml"/><link rel="prev-archive" href="/feeds/2024-02.xml"/>
<entry><title>E</title><id>urn:e</id></entry></feed>"#;
        let feed = parse_feed(atom, &base, 10).expect("atom");
        assert_eq!(feed.pages.prev_archive.as_deref(), Some("https://example.com/feeds/2024-02.xml"));
        assert_eq!(feed.pages.older(), Some("https://example.com/feeds/2024-02.xml"));

        let rss = br#"<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>R</title>
<atom:link rel="next" href="https://example.com/feed?paged=2"/><atom:link rel="previous" href="https://example.com/feed"/>
<item><title>I</title></item></channel></rss>"#;
        let feed = parse_feed(rss, &base, 10).expect("rss");
        assert_eq!(feed.pages.next.as_deref(), Some("https://example.com/feed?paged=2"));
        assert_eq!(feed.pages.previous.as_deref(), Some("https://example.com/feed"));
        assert_eq!(feed.pages.older(), Some("https://example.com/feed?paged=2"));

        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"J","next_url":"page2.json","items":[{"id":"1","title":"x"}]}"#;
        let feed = parse_feed(json, &base, 10).expect("json");
        assert_eq!(feed.pages.next.as_deref(), Some("https://example.com/feeds/page2.json"));

        let plain = br#"<rss version="2.0"><channel><title>P</title><item><title>I</title></item></channel></rss>"#;
        assert_eq!(parse_feed(plain, &base, 10).expect("rss").pages, FeedPages::default());
    }

    /// Deep nesting and stray end tags cost time in proportion to the
    /// document, not its square: 200,000 levels once took minutes.
    #[test]
    fn deep_nesting_and_stray_end_tags_stay_linear() {
        let base = Url::parse("https://example.com/feed").expect("base");
        let depth = 200_000;
        let doc = format!(
            "<rss version=\"2.0\"><channel><title>T</title><item><title>kept</title><link>https://e.com/a</link></item>{}deep{}<item><title>after</title><link>https://e.com/b</link></item></channel></rss>",
            "<x>".repeat(depth),
            "</x>".repeat(depth)
        );
        let feed = parse_feed(doc.as_bytes(), &base, 10).expect("parses");
        let titles: Vec<_> = feed.items.iter().filter_map(|i| i.title.as_deref()).collect();
        assert_eq!(titles, ["kept", "after"]);
        let stray = format!(
            "<rss version=\"2.0\"><channel><title>T</title><item><title>kept</title></item>{}{}</channel></rss>",
            "<a>".repeat(100_000),
            "</b>".repeat(100_000)
        );
        let feed = parse_feed(stray.as_bytes(), &base, 10).expect("parses");
        assert_eq!(feed.items.len(), 1);
    }
}
