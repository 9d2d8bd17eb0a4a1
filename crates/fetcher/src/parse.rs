//! Feed documents to raw items, through feed-rs.
//!
//! A [`RawItem`] is the item as published: text fields may still hold HTML,
//! nothing is cleaned, nothing is invented (no generated ids, no dates that
//! were not in the document, no placeholder authors).

use chrono::{DateTime, Utc};
use feed_rs::model::{Entry, Feed, FeedType, Text};
use newswire_core::ErrorKind;
use url::Url;

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

fn text(t: &Option<Text>) -> Option<String> {
    t.as_ref().map(|t| t.content.trim().to_string()).filter(|s| !s.is_empty())
}

fn pick_link(entry: &Entry, base: &Url) -> Option<String> {
    let preferred = entry.links.iter().find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate")).or_else(|| {
        entry.links.iter().find(|l| !matches!(l.rel.as_deref(), Some("self" | "enclosure" | "replies" | "edit")))
    });
    let href = preferred?.href.trim();
    if href.is_empty() {
        return None;
    }
    match base.join(href) {
        Ok(u) if matches!(u.scheme(), "http" | "https") || u.scheme() != "file" => Some(u.to_string()),
        _ => Some(href.to_string()),
    }
}

fn map_entry(entry: Entry, base: &Url, rss: bool) -> RawItem {
    let link = pick_link(&entry, base);
    let guid = Some(entry.id.trim().to_string()).filter(|s| !s.is_empty());
    let authors = entry
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_string))
        .collect();
    let content = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let mut summary = text(&entry.summary);
    if summary.is_none() && content.is_none() {
        // YouTube and other media feeds carry the text in media:description.
        summary = entry.media.iter().find_map(|m| text(&m.description));
    }
    RawItem {
        guid,
        link,
        title: text(&entry.title),
        authors,
        published: entry.published,
        // feed-rs fills an RSS item's `updated` from its pubDate; RSS has no
        // update date of its own, so a copy of the publication date is not
        // one.
        updated: entry.updated.filter(|u| !(rss && Some(*u) == entry.published)),
        summary,
        content,
        categories: entry
            .categories
            .iter()
            .map(|c| c.label.clone().unwrap_or_else(|| c.term.clone()))
            .filter(|c| !c.trim().is_empty())
            .collect(),
    }
}

/// Parse a feed document fetched from `base`, keeping at most `max_items`.
pub fn parse_feed(bytes: &[u8], base: &Url, max_items: usize) -> Result<ParsedFeed, ParseError> {
    // feed-rs resolves relative links against its base; a file URL is no
    // base for web links, so those are resolved below instead.
    let web = matches!(base.scheme(), "http" | "https");
    let parser = feed_rs::parser::Builder::new()
        .base_uri(web.then_some(base.as_str()))
        // An empty id marks "none published": we never invent guids.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .build();
    let feed: Feed = parser.parse(bytes).map_err(|e| ParseError { message: describe(&e, bytes) })?;
    let total = feed.entries.len();
    let link = feed.links.iter().find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate")).map(|l| l.href.clone());
    // Relative item links resolve against the document's URL; a document
    // read from disk has no web URL, so its own links stand in (the self
    // link first: it is where the document lives on the web).
    let web_base = if web {
        Some(base.clone())
    } else {
        let own = feed.links.iter().find(|l| l.rel.as_deref() == Some("self")).or_else(|| feed.links.first());
        own.and_then(|l| Url::parse(&l.href).ok()).filter(|u| matches!(u.scheme(), "http" | "https"))
    };
    let base = web_base.as_ref().unwrap_or(base);
    let rss = matches!(feed.feed_type, FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2);
    let items = feed.entries.into_iter().take(max_items).map(|e| map_entry(e, base, rss)).collect();
    Ok(ParsedFeed { title: text(&feed.title), link, items, dropped: total.saturating_sub(max_items) })
}

fn describe(err: &feed_rs::parser::ParseFeedError, bytes: &[u8]) -> String {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
    if head.contains("<html") || head.contains("<!doctype html") {
        return "not a feed: the document is an HTML page".to_string();
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return "not a feed: the document is empty".to_string();
    }
    format!("not a readable feed: {err}")
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
}
