//! Print what `parse_feed_with` reads from feed documents, one JSON object per item (the shape of
//! `newswire parse --json`), for the differential comparison with feedparser
//! (tests/compare/compare.py).
//!
//! `cargo run -p newswire-fetcher --example parse_json -- FILE...`: for each file, a line
//! `{"file": ..., "error": ..., "warnings": [...], "items": [...]}`.

use newswire_fetcher::parse_feed_with;
use serde_json::json;
use url::Url;

fn main() {
    for path in std::env::args().skip(1) {
        let line = match std::fs::read(&path) {
            Err(e) => json!({ "file": path, "error": e.to_string() }),
            Ok(bytes) => {
                let abs = std::path::absolute(&path).unwrap_or_else(|_| path.clone().into());
                let base = Url::from_file_path(&abs).unwrap_or_else(|()| Url::parse("file:///").expect("file url"));
                match parse_feed_with(&bytes, &base, usize::MAX, None) {
                    Err(e) => json!({ "file": path, "error": e.message }),
                    Ok(feed) => {
                        let items: Vec<_> = feed
                            .items
                            .iter()
                            .map(|item| {
                                json!({
                                    "id": item.guid,
                                    "link": item.link,
                                    "title": item.title,
                                    "published": item.published,
                                    "updated": item.updated,
                                    "authors": item.authors,
                                    "summary": item.summary,
                                    "content": item.content,
                                    "categories": item.categories,
                                })
                            })
                            .collect();
                        json!({ "file": path, "title": feed.title, "link": feed.link, "format": feed.format,
                                "warnings": feed.warnings, "items": items })
                    }
                }
            }
        };
        println!("{line}");
    }
}
