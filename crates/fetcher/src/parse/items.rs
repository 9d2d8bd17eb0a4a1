//! The read XML document to a feed and its items.
//!
//! RSS (all versions), RDF and Atom (1.0 and 0.3) are mapped by the meaning
//! of their elements, not by format, because real feeds mix them (Atom links
//! in RSS items, Dublin Core everywhere). What each field comes from, first
//! match wins:
//!
//! - guid: `<guid>`, Atom `<id>`, RDF `rdf:about`
//! - link: RSS `<link>` text, else an alternate `<link href>` (no rel, or
//!   `rel="alternate"`, of an HTML type), else a guid that is a permalink
//!   (`isPermaLink` absent or true, and an http(s) URL); relative links
//!   resolve against `xml:base` and the document's URL
//! - title: `<title>`, else `dc:title`
//! - authors: RSS `<author>`, Atom `<author><name>`, `dc:creator`,
//!   `itunes:author`, in document order, without duplicates
//! - published: `<pubDate>`, `<published>`, `<issued>`, `dcterms:issued`
//! - updated: `<updated>`, `<modified>`, `dcterms:modified`, `dc:date`
//! - summary: `<description>`, `<summary>`, `itunes:summary`, `dc:description`,
//!   and `media:description` when the item has no other summary
//! - content: `content:encoded`, Atom `<content>`, else a second summary-like
//!   element (a podcast's `itunes:summary` beside its description)

use url::Url;

use super::people::{person_name, plain_name};
use super::reader::{Doc, Node, Ns, Tag};
use super::{ParseError, ParsedFeed, RawItem};
use newswire_core::dates::parse_date;

fn core(n: &Node) -> bool {
    matches!(n.ns, Ns::Core | Ns::Atom)
}

/// The text of a field element: its text, or for elements holding markup the markup as written
/// (XHTML content without its wrapping `<div>`).
fn value(doc: &Doc<'_>, n: &Node) -> Option<String> {
    let kind = n.attr("type").unwrap_or("").to_ascii_lowercase();
    let raw = || {
        let s = doc.src.get(n.inner.0..n.inner.1).unwrap_or("");
        if s.contains("<![CDATA[") { s.replace("<![CDATA[", "").replace("]]>", "") } else { s.to_string() }
    };
    let out = if kind.contains("xhtml") && n.has_elements {
        strip_div(&raw())
    } else if n.has_elements {
        raw()
    } else {
        n.text.clone()
    };
    let out = if n.attr("mode").is_some_and(|m| m.eq_ignore_ascii_case("base64")) {
        decode_base64(&out).unwrap_or(out)
    } else {
        out
    };
    let trimmed = out.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == out.len() {
        Some(out)
    } else {
        Some(trimmed.to_string())
    }
}

fn strip_div(s: &str) -> String {
    let t = s.trim();
    // Compare bytes: byte 4 need not be a character boundary (`<diˆ`).
    if t.len() >= 5
        && t.as_bytes()[..4].eq_ignore_ascii_case(b"<div")
        && let (Some(open_end), Some(close)) = (t.find('>'), t.rfind("</"))
        && open_end < close
        && t[close..].to_ascii_lowercase().contains("div")
    {
        return t[open_end + 1..close].to_string();
    }
    t.to_string()
}

fn decode_base64(s: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8(out).ok()
}

/// Whether an element is an alternate link to an HTML page (Atom-style, with `href`).
fn alternate_href(n: &Node) -> Option<&str> {
    let href = n.attr("href").filter(|h| !h.is_empty())?;
    let rel = n.attr("rel").unwrap_or("alternate");
    let html = n.attr("type").is_none_or(|t| t.is_empty() || t.contains("html"));
    (rel.eq_ignore_ascii_case("alternate") && html).then_some(href)
}

/// A link as published when absolute; resolved against the base when relative.
pub(crate) fn resolve(href: &str, base: Option<&Url>) -> String {
    let href = href.trim();
    if has_scheme(href) {
        return href.to_string();
    }
    match base.and_then(|b| b.join(href).ok()) {
        Some(u) => u.to_string(),
        None => href.to_string(),
    }
}

fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) if i > 0 => {
            let scheme = &s[..i];
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        _ => false,
    }
}

fn looks_like_web_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    (lower.starts_with("http://") || lower.starts_with("https://")) && !s.contains(char::is_whitespace)
}

/// The base for relative links inside `node`: `xml:base` attributes on it and its ancestors,
/// resolved outward-in against the document's base.
fn base_for(doc: &Doc<'_>, node: usize, doc_base: Option<&Url>) -> Option<Url> {
    let mut chain = Vec::new();
    let mut at = Some(node);
    while let Some(i) = at {
        if let Some(b) = doc.nodes[i].attr("xml:base") {
            chain.push(b);
        }
        at = doc.nodes[i].parent;
    }
    let mut base = doc_base.cloned();
    for b in chain.iter().rev() {
        base = match &base {
            Some(cur) => cur.join(b).ok().or(base),
            None => Url::parse(b).ok(),
        };
    }
    base
}

/// Map a read document to a feed. `base` is the document's URL.
pub(crate) fn map(doc: &Doc<'_>, base: &Url, max_items: usize) -> Result<ParsedFeed, ParseError> {
    let Some(root) = doc.nodes.iter().position(|n| {
        matches!((n.tag, n.ns), (Tag::Rss | Tag::Channel, Ns::Core) | (Tag::Feed, Ns::Core | Ns::Atom) | (Tag::Rdf, _))
    }) else {
        return Err(ParseError {
            message: "not a readable feed: no rss, RDF or Atom feed element in the document".to_string(),
        });
    };
    let root_node = &doc.nodes[root];
    let format = match root_node.tag {
        Tag::Feed => "atom",
        Tag::Rdf => "rdf",
        _ => "rss",
    };
    let channel = root_node
        .children
        .iter()
        .copied()
        .find(|c| doc.nodes[*c].tag == Tag::Channel && doc.nodes[*c].ns == Ns::Core)
        .unwrap_or(root);
    let channel_node = &doc.nodes[channel];

    let mut title = None;
    let mut link = None;
    let mut self_link = None;
    // (rel, href) of the paging links, resolved once the base is known.
    let mut paging: Vec<(String, String)> = Vec::new();
    for &c in &channel_node.children {
        let n = &doc.nodes[c];
        match n.tag {
            Tag::Title if core(n) && title.is_none() => title = value(doc, n),
            Tag::Title if n.ns == Ns::Dc && title.is_none() => title = value(doc, n),
            Tag::Link if core(n) => {
                if n.attr("href").is_some() {
                    if let Some(href) = alternate_href(n) {
                        link = link.or(Some((c, href.to_string())));
                    } else if n.attr("rel").is_some_and(|r| r.eq_ignore_ascii_case("self")) {
                        self_link = self_link.or(n.attr("href").map(str::to_string));
                    } else if let (Some(rel), Some(href)) = (n.attr("rel"), n.attr("href")) {
                        let rel = rel.to_ascii_lowercase();
                        if matches!(rel.as_str(), "next" | "previous" | "prev" | "prev-archive") {
                            paging.push((rel, href.to_string()));
                        }
                    }
                } else if let Some(text) = value(doc, n) {
                    link = link.or(Some((c, text)));
                }
            }
            _ => {}
        }
    }
    // Relative links resolve against the document's URL; a document read from disk has no web
    // URL, so its own links stand in (the self link first: it is where the document lives).
    let web = matches!(base.scheme(), "http" | "https");
    let doc_base = if web {
        Some(base.clone())
    } else {
        self_link
            .iter()
            .chain(link.as_ref().map(|(_, l)| l))
            .filter_map(|l| Url::parse(l).ok())
            .find(|u| matches!(u.scheme(), "http" | "https"))
    };
    let feed_link = link.map(|(node, href)| resolve(&href, base_for(doc, node, doc_base.as_ref()).as_ref()));
    let mut pages = super::FeedPages::default();
    for (rel, href) in paging {
        let url =
            Some(resolve(&href, doc_base.as_ref())).filter(|u| u.starts_with("http://") || u.starts_with("https://"));
        let slot = match rel.as_str() {
            "next" => &mut pages.next,
            "prev-archive" => &mut pages.prev_archive,
            _ => &mut pages.previous,
        };
        if slot.is_none() {
            *slot = url;
        }
    }

    let mut items = Vec::new();
    let mut total: usize = 0;
    for (i, n) in doc.nodes.iter().enumerate() {
        let is_item = match n.tag {
            Tag::Item => matches!(n.ns, Ns::Core | Ns::Rdf),
            Tag::Entry => core(n),
            _ => false,
        };
        if !is_item || inside_item(doc, i) {
            continue;
        }
        total += 1;
        if items.len() < max_items {
            items.push(map_item(doc, i, doc_base.as_ref()));
        }
    }
    Ok(ParsedFeed {
        title: title.map(|t| t.trim().to_string()),
        link: feed_link,
        items,
        dropped: total.saturating_sub(max_items),
        warnings: Vec::new(),
        format,
        pages,
    })
}

fn inside_item(doc: &Doc<'_>, i: usize) -> bool {
    let mut at = doc.nodes[i].parent;
    while let Some(p) = at {
        if matches!(doc.nodes[p].tag, Tag::Item | Tag::Entry) {
            return true;
        }
        at = doc.nodes[p].parent;
    }
    false
}

fn map_item(doc: &Doc<'_>, item: usize, doc_base: Option<&Url>) -> RawItem {
    let node = &doc.nodes[item];
    let mut raw = RawItem::default();
    let mut rss_link: Option<(usize, String)> = None;
    let mut alt_link: Option<(usize, String)> = None;
    let mut permalink: Option<(usize, String)> = None;
    let mut dc_title = None;
    let mut dc_description = None;
    let mut second_summary = None;
    for &c in &node.children {
        let n = &doc.nodes[c];
        match (n.tag, n.ns) {
            (Tag::Title, Ns::Core | Ns::Atom) if raw.title.is_none() => raw.title = value(doc, n),
            (Tag::Title, Ns::Dc) if dc_title.is_none() => dc_title = value(doc, n),
            (Tag::Link, Ns::Core | Ns::Atom) => {
                if n.attr("href").is_some() {
                    if alt_link.is_none() {
                        alt_link = alternate_href(n).map(|h| (c, h.to_string()));
                    }
                } else if rss_link.is_none() {
                    rss_link = value(doc, n).map(|t| (c, t));
                }
            }
            (Tag::Guid | Tag::Id, Ns::Core | Ns::Atom) if raw.guid.is_none() => {
                raw.guid = value(doc, n);
                let permanent = n.attr("ispermalink").is_none_or(|p| p.eq_ignore_ascii_case("true"));
                if let Some(g) = raw.guid.as_ref().filter(|g| permanent && looks_like_web_url(g)) {
                    permalink = Some((c, g.clone()));
                }
            }
            // The first summary-like element is the summary; a second one (a podcast's
            // itunes:summary next to its description) is the item's body when it has no other,
            // as feedparser reads it.
            (Tag::Description, Ns::Core) | (Tag::Summary, Ns::Core | Ns::Atom | Ns::Itunes) => {
                if let Some(v) = value(doc, n) {
                    if raw.summary.is_none() {
                        raw.summary = Some(v);
                    } else if second_summary.is_none() {
                        second_summary = Some(v);
                    }
                }
            }
            (Tag::Description, Ns::Dc) if dc_description.is_none() => dc_description = value(doc, n),
            (Tag::Encoded, Ns::Content) if raw.content.is_none() => raw.content = value(doc, n),
            (Tag::Content, Ns::Core | Ns::Atom) if raw.content.is_none() && n.attr("src").is_none() => {
                raw.content = value(doc, n);
            }
            (Tag::Author, Ns::Core | Ns::Atom) => {
                let name = if n.has_elements {
                    // An Atom person: its name, and no name when it has none (an email address
                    // or a URI is not a name).
                    n.children
                        .iter()
                        .map(|&k| &doc.nodes[k])
                        .find(|k| k.tag == Tag::Name && core(k))
                        .and_then(|k| value(doc, k))
                        .and_then(|v| plain_name(&v))
                } else {
                    value(doc, n).and_then(|v| person_name(&v))
                };
                push_author(&mut raw.authors, name);
            }
            (Tag::Creator, Ns::Dc) | (Tag::Author, Ns::Itunes | Ns::Dc) => {
                push_author(&mut raw.authors, value(doc, n).and_then(|v| plain_name(&v)));
            }
            (Tag::PubDate | Tag::Published | Tag::Issued, Ns::Core | Ns::Atom) | (Tag::Issued, Ns::DcTerms)
                if raw.published.is_none() =>
            {
                raw.published = value(doc, n).and_then(|v| parse_date(&v));
            }
            (Tag::Updated | Tag::Modified | Tag::LastBuildDate, Ns::Core | Ns::Atom)
            | (Tag::Modified, Ns::DcTerms)
            | (Tag::Date, Ns::Dc)
                if raw.updated.is_none() =>
            {
                raw.updated = value(doc, n).and_then(|v| parse_date(&v));
            }
            (Tag::Category, Ns::Core | Ns::Atom) => {
                let term = n.attr("label").or(n.attr("term")).filter(|t| !t.is_empty()).map(str::to_string);
                if let Some(t) = term.or_else(|| value(doc, n)) {
                    raw.categories.push(t);
                }
            }
            (Tag::Subject, Ns::Dc) => raw.categories.extend(value(doc, n)),
            _ => {}
        }
    }
    if raw.title.is_none() {
        raw.title = dc_title;
    }
    if raw.content.is_none() {
        raw.content = second_summary;
    }
    if raw.summary.is_none() {
        raw.summary = dc_description;
    }
    if raw.summary.is_none() {
        // YouTube and other media feeds carry the text in media:description.
        raw.summary = media_description(doc, item);
    }
    if raw.guid.is_none() {
        raw.guid = node.attr("rdf:about").filter(|a| !a.is_empty()).map(str::to_string);
    }
    let chosen = rss_link.or(alt_link).or(permalink);
    raw.link = chosen.map(
        |(n, href)| {
            if has_scheme(&href) { href } else { resolve(&href, base_for(doc, n, doc_base).as_ref()) }
        },
    );
    raw
}

fn push_author(authors: &mut Vec<String>, name: Option<String>) {
    if let Some(name) = name
        && !authors.contains(&name)
    {
        authors.push(name);
    }
}

fn media_description(doc: &Doc<'_>, item: usize) -> Option<String> {
    let mut pending: Vec<usize> = doc.nodes[item].children.clone();
    while let Some(i) = pending.pop() {
        let n = &doc.nodes[i];
        if n.ns == Ns::Media {
            if n.tag == Tag::Description
                && let Some(v) = value(doc, n)
            {
                return Some(v);
            }
            pending.extend(n.children.iter().rev());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (fuzz/parse_feed): an XHTML Atom content whose
    /// fourth byte is inside a multi-byte character panicked on a slice.
    #[test]
    fn xhtml_content_with_a_multibyte_character_in_the_div_tag() {
        assert_eq!(strip_div("<di\u{2c6} x>a</div>"), "<di\u{2c6} x>a</div>");
        assert_eq!(strip_div(" <div xmlns=\"x\"><p>a</p></div> "), "<p>a</p>");
        let feed = "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>e</id><title>T</title>\
            <content type=\"xhtml\"><di\u{2c6} xmlns=\"http://www.w3.org/1999/xhtml\"><p>Body.</p></div></content></entry></feed>";
        let base = url::Url::parse("https://example.com/feed").expect("base");
        let parsed = crate::parse::parse_feed(feed.as_bytes(), &base, 10).expect("parses");
        assert_eq!(parsed.items.len(), 1);
    }
}
