//! feed-rs, as the second reader: asked when the lenient reader finds no
//! feed or no items, so a document one of the two can read is never lost.
//! Its model is mapped to ours with the same rules: no invented ids (its id
//! generator is disabled), no RSS `updated` copied from pubDate, names out of
//! RSS author strings, links kept as published where they were absolute.

use feed_rs::model::{Entry, Feed, FeedType, Text};
use url::Url;

use super::items::resolve;
use super::people::plain_name;
use super::{ParsedFeed, RawItem};
use newswire_core::dates::parse_date;

fn text(t: &Option<Text>) -> Option<String> {
    t.as_ref().map(|t| t.content.trim().to_string()).filter(|s| !s.is_empty())
}

fn pick_link(entry: &Entry, base: Option<&Url>) -> Option<String> {
    let preferred = entry.links.iter().find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))?;
    let href = preferred.href.trim();
    (!href.is_empty()).then(|| resolve(href, base))
}

fn map_entry(entry: Entry, base: Option<&Url>, rss: bool) -> RawItem {
    let link = pick_link(&entry, base);
    let guid = Some(entry.id.trim().to_string()).filter(|s| !s.is_empty());
    let mut authors: Vec<String> = Vec::new();
    for p in &entry.authors {
        let name = p.name.as_deref().and_then(plain_name);
        if let Some(n) = name.map(|n| n.trim_start_matches('(').trim_end_matches(')').trim().to_string())
            && !n.is_empty()
            && !n.contains('@')
            && !authors.contains(&n)
        {
            authors.push(n);
        }
    }
    let content = entry
        .content
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let mut summary = text(&entry.summary);
    if summary.is_none() && content.is_none() {
        summary = entry.media.iter().find_map(|m| text(&m.description));
    }
    RawItem {
        guid,
        link,
        title: text(&entry.title),
        authors,
        published: entry.published,
        // feed-rs fills an RSS item's `updated` from its pubDate; RSS has no update date of its
        // own, so a copy of the publication date is not one.
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

/// Read a UTF-8 document with feed-rs; `None` when it cannot.
pub(crate) fn read(doc: &str, base: &Url, max_items: usize) -> Option<ParsedFeed> {
    let web = matches!(base.scheme(), "http" | "https");
    let parser = feed_rs::parser::Builder::new()
        // Relative links are resolved here, as published links are kept as written.
        .base_uri(None::<&str>)
        // An empty id marks "none published": we never invent guids.
        .id_generator(|_, _, _| String::new())
        .timestamp_parser(parse_date)
        .sanitize_content(false)
        .build();
    let feed: Feed = parser.parse(doc.as_bytes()).ok()?;
    let total = feed.entries.len();
    let link = feed.links.iter().find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate")).map(|l| l.href.clone());
    let web_base = if web {
        Some(base.clone())
    } else {
        let own = feed.links.iter().find(|l| l.rel.as_deref() == Some("self")).or_else(|| feed.links.first());
        own.and_then(|l| Url::parse(&l.href).ok()).filter(|u| matches!(u.scheme(), "http" | "https"))
    };
    let rss = matches!(feed.feed_type, FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2);
    let format = match feed.feed_type {
        FeedType::Atom => "atom",
        FeedType::JSON => "json",
        FeedType::RSS1 => "rdf",
        _ => "rss",
    };
    let items = feed.entries.into_iter().take(max_items).map(|e| map_entry(e, web_base.as_ref(), rss)).collect();
    let rel_href = |want: &[&str]| {
        feed.links
            .iter()
            .find(|l| l.rel.as_deref().is_some_and(|r| want.iter().any(|w| r.eq_ignore_ascii_case(w))))
            .map(|l| l.href.clone())
            .filter(|h| h.starts_with("http://") || h.starts_with("https://"))
    };
    let pages = super::FeedPages {
        next: rel_href(&["next"]),
        previous: rel_href(&["previous", "prev"]),
        prev_archive: rel_href(&["prev-archive"]),
    };
    Some(ParsedFeed {
        pages,
        title: text(&feed.title),
        link,
        items,
        dropped: total.saturating_sub(max_items),
        warnings: Vec::new(),
        format,
    })
}
