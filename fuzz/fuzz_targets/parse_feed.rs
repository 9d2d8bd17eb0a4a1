//! The feed parse path: bytes as fetched (any charset, RSS/RDF/Atom/JSON,
//! HTML-wrapped, broken) through `parse_feed_with`, the fetcher's public
//! entry point. The first byte picks the HTTP Content-Type and `max_items`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswire_fetcher::parse::{MAX_BODY_BYTES, MAX_SHORT_BYTES, MAX_TITLE_BYTES};
use newswire_fetcher::parse_feed_with;
use url::Url;

const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("application/rss+xml"),
    Some("application/atom+xml; charset=utf-8"),
    Some("text/xml; charset=iso-8859-1"),
    Some("text/xml; charset=windows-1252"),
    Some("application/xml; charset=utf-16"),
    Some("application/feed+json; charset=utf-8"),
    Some("text/html; charset=shift_jis"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, doc)) = data.split_first() else { return };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let max_items = if selector & 0x80 == 0 { 100 } else { 2 };
    let base = Url::parse("https://example.com/feeds/news.xml").expect("base URL");
    let Ok(feed) = parse_feed_with(doc, &base, max_items, content_type) else { return };
    assert!(feed.items.len() <= max_items, "{} items kept, max {max_items}", feed.items.len());
    if let Some(t) = &feed.title {
        assert!(t.len() <= MAX_TITLE_BYTES);
    }
    for item in &feed.items {
        for (field, max) in [
            (&item.title, MAX_TITLE_BYTES),
            (&item.summary, MAX_BODY_BYTES),
            (&item.content, MAX_BODY_BYTES),
            (&item.guid, MAX_SHORT_BYTES),
            (&item.link, MAX_SHORT_BYTES),
        ] {
            if let Some(s) = field {
                assert!(s.len() <= max, "field of {} bytes, max {max}", s.len());
            }
        }
        for s in item.authors.iter().chain(&item.categories) {
            assert!(s.len() <= MAX_SHORT_BYTES);
        }
    }
});
