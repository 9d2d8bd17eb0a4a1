//! JSON Feed, read leniently: any version string (an http:// version URL, 1.0,
//! 1.1, or none when the document has `items`), a missing title, ids given as
//! numbers, tags given as one string, `author` (1.0) and `authors` (1.1) as
//! objects or strings. Dates go through the same lenient date reader as XML.

use serde_json::{Map, Value};
use url::Url;

use super::items::resolve;
use super::people::plain_name;
use super::{ParseError, ParsedFeed, RawItem};
use newswire_core::dates::parse_date;

pub(crate) fn read(text: &str, base: &Url, max_items: usize) -> Result<ParsedFeed, ParseError> {
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| ParseError { message: format!("not a readable feed: invalid JSON: {e}") })?;
    let Value::Object(feed) = value else {
        return Err(ParseError { message: "not a feed: the JSON document is not a JSON Feed object".to_string() });
    };
    let version = string(feed.get("version")).unwrap_or_default();
    let Some(items) = feed.get("items").and_then(Value::as_array).or_else(|| {
        // A JSON Feed with no items array yet is still a feed.
        version.contains("jsonfeed").then_some(&EMPTY)
    }) else {
        return Err(ParseError { message: "not a feed: the JSON document is not a JSON Feed (no items)".to_string() });
    };
    let home = string(feed.get("home_page_url"));
    let web = matches!(base.scheme(), "http" | "https");
    let doc_base = if web {
        Some(base.clone())
    } else {
        string(feed.get("feed_url"))
            .or_else(|| home.clone())
            .and_then(|u| Url::parse(&u).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    };
    let mut out = Vec::new();
    for item in items.iter().take(max_items) {
        let Value::Object(item) = item else { continue };
        out.push(map_item(item, doc_base.as_ref()));
    }
    Ok(ParsedFeed {
        title: string(feed.get("title")),
        link: home.map(|h| resolve(&h, doc_base.as_ref())),
        dropped: items.len().saturating_sub(max_items),
        items: out,
        warnings: Vec::new(),
        format: "json",
        pages: super::FeedPages {
            next: string(feed.get("next_url"))
                .map(|u| resolve(&u, doc_base.as_ref()))
                .filter(|u| u.starts_with("http://") || u.starts_with("https://")),
            ..super::FeedPages::default()
        },
    })
}

static EMPTY: Vec<Value> = Vec::new();

/// A non-empty string, or a number as a string.
fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn person(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => plain_name(s),
        Value::Object(o) => string(o.get("name")).and_then(|n| plain_name(&n)),
        _ => None,
    }
}

fn map_item(item: &Map<String, Value>, base: Option<&Url>) -> RawItem {
    let mut authors = Vec::new();
    let mut add = |name: Option<String>| {
        if let Some(n) = name
            && !authors.contains(&n)
        {
            authors.push(n);
        }
    };
    match item.get("authors") {
        Some(Value::Array(list)) => list.iter().for_each(|a| add(person(a))),
        Some(other) => add(person(other)),
        None => {}
    }
    if let Some(a) = item.get("author") {
        add(person(a));
    }
    let categories = match item.get("tags") {
        Some(Value::Array(tags)) => tags.iter().filter_map(|t| string(Some(t))).collect(),
        Some(Value::String(s)) => s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let link = string(item.get("url")).or_else(|| string(item.get("external_url")));
    RawItem {
        guid: string(item.get("id")),
        link: link.map(|l| resolve(&l, base)),
        title: string(item.get("title")),
        authors,
        published: string(item.get("date_published")).and_then(|d| parse_date(&d)),
        updated: string(item.get("date_modified")).and_then(|d| parse_date(&d)),
        summary: string(item.get("summary")),
        content: string(item.get("content_html")).or_else(|| string(item.get("content_text"))),
        categories,
    }
}
