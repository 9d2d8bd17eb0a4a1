//! The lenient XML feed reader, on quick-xml.
//!
//! One pass over the document builds a small tree of the elements a feed
//! reader cares about (channel, item, entry, title, link, dates, authors,
//! ...); every other element is only tracked so its text and markup stay
//! inside the element around it. It reads what strict parsers refuse:
//!
//! - any `<rss>` version or none, RSS 0.90 and 1.0 (RDF), Atom 1.0 and 0.3,
//!   and RSS under a default namespace: names are matched by local name,
//!   and a namespace only decides between core elements and extensions;
//! - extension namespaces by URI with their known variants (Dublin Core
//!   with or without the trailing slash), or by their usual prefix when the
//!   prefix is undeclared;
//! - mismatched and missing end tags (an end tag closes the nearest open
//!   element of its name; an unknown one is ignored), unescaped HTML inside
//!   elements, undeclared HTML entities and bare `&`;
//! - DTDs are skipped: no external entity is fetched and no custom entity
//!   is expanded, so entity bombs cost nothing (`&lol9;` stays as written).
//!
//! Errors in the middle of a document end the reading there: the items read
//! before the error are kept.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use super::repair::{entity, unescape};

/// The namespace family of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// No namespace, an RSS namespace, or an unknown default namespace.
    Core,
    /// Atom 1.0 or 0.3.
    Atom,
    Dc,
    DcTerms,
    Content,
    Media,
    Itunes,
    Rdf,
    /// Any other namespace.
    Other,
}

/// The elements the mapping looks at, by local name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    Rss,
    Rdf,
    Feed,
    Channel,
    Item,
    Entry,
    Title,
    Link,
    Guid,
    Id,
    Description,
    Summary,
    Content,
    Encoded,
    Author,
    Creator,
    Name,
    PubDate,
    Published,
    Updated,
    Modified,
    Issued,
    Date,
    LastBuildDate,
    Category,
    Subject,
    Group,
}

/// An element of interest.
#[derive(Debug)]
pub(crate) struct Node {
    pub ns: Ns,
    pub tag: Tag,
    pub parent: Option<usize>,
    /// Attributes, names lowercased with their prefix (`rdf:about`, `xml:base`), values decoded.
    pub attrs: Vec<(String, String)>,
    /// Text and CDATA directly inside, entities decoded.
    pub text: String,
    /// Byte range of the element's content in the document.
    pub inner: (usize, usize),
    /// Whether other elements are nested inside (markup, or child elements).
    pub has_elements: bool,
    pub children: Vec<usize>,
}

impl Node {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A document read into the elements of interest.
pub(crate) struct Doc<'a> {
    pub src: &'a str,
    pub nodes: Vec<Node>,
    /// Whether reading stopped at an error before the end of the document.
    pub truncated: bool,
}

/// How far up the open elements an end tag looks for its start.
const END_TAG_REACH: usize = 64;

/// Text longer than this is not kept while reading (fields are capped later, lower).
const MAX_TEXT: usize = 8 * 1024 * 1024;

struct Open {
    node: Option<usize>,
    /// This element's node, else the nearest open ancestor's: kept on the
    /// stack so finding a parent costs the same at any depth (a scan of
    /// the stack made deep documents quadratic).
    nearest: Option<usize>,
    name_hash: u64,
    scope_len: usize,
}

pub(crate) fn read(src: &str) -> Doc<'_> {
    let mut reader = Reader::from_str(src);
    {
        let config = reader.config_mut();
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.allow_dangling_amp = true;
        config.check_comments = false;
        config.expand_empty_elements = false;
        config.trim_text(false);
    }
    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // Namespace declarations in scope: (prefix, family); "" is the default namespace.
    let mut scope: Vec<(String, Ns)> = Vec::new();
    let mut truncated = false;
    let mut errors = 0;
    loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(_) => {
                errors += 1;
                let now = reader.buffer_position() as usize;
                if now <= before || errors > 1000 || now >= src.len() {
                    truncated = now < src.len() || !stack.is_empty();
                    break;
                }
                continue;
            }
        };
        match event {
            Event::Start(e) => {
                let at = reader.buffer_position() as usize;
                // Declarations this element makes stay in scope until it ends.
                let mark = scope.len();
                let node = start(&e, &mut nodes, &stack, &mut scope, at);
                let nearest = node.or_else(|| stack.last().and_then(|o| o.nearest));
                stack.push(Open { node, nearest, name_hash: hash(e.name().0), scope_len: mark });
            }
            Event::Empty(e) => {
                let at = reader.buffer_position() as usize;
                let mark = scope.len();
                start(&e, &mut nodes, &stack, &mut scope, at);
                scope.truncate(mark);
            }
            Event::End(e) => {
                let h = hash(e.name().0);
                // An end tag closes the nearest open element of its name
                // within a short reach; one that matches nothing that close
                // is ignored (a scan of the whole stack made documents full
                // of stray end tags quadratic).
                let reach = stack.len().saturating_sub(END_TAG_REACH);
                if let Some(pos) = stack[reach..].iter().rposition(|o| o.name_hash == h).map(|p| p + reach) {
                    while stack.len() > pos {
                        if let Some(open) = stack.pop() {
                            if let Some(n) = open.node {
                                nodes[n].inner.1 = before;
                            }
                            scope.truncate(open.scope_len);
                        }
                    }
                }
            }
            Event::Text(t) => push_text(&mut nodes, &stack, &t),
            Event::CData(t) => push_text(&mut nodes, &stack, &t),
            Event::GeneralRef(r) => {
                let name: &str = &r;
                match entity(name) {
                    Some((c, None)) => push_text(&mut nodes, &stack, c.encode_utf8(&mut [0; 4])),
                    Some((c, Some(second))) => push_text(&mut nodes, &stack, &format!("{c}{second}")),
                    // Not expanded: custom DTD entities stay as written.
                    None => push_text(&mut nodes, &stack, &format!("&{name};")),
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    // Elements left open at the end run to the end of the document.
    for open in stack {
        if let Some(n) = open.node {
            nodes[n].inner.1 = src.len();
        }
    }
    Doc { src, nodes, truncated }
}

fn hash(name: &str) -> u64 {
    // FNV-1a: end tags are matched to start tags by name.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn push_text(nodes: &mut [Node], stack: &[Open], text: &str) {
    if let Some(Some(n)) = stack.last().map(|o| o.node) {
        let node = &mut nodes[n];
        let room = MAX_TEXT.saturating_sub(node.text.len());
        if text.len() <= room {
            node.text.push_str(text);
        } else {
            let mut end = room;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            node.text.push_str(&text[..end]);
        }
    }
}

fn start(
    e: &BytesStart<'_>,
    nodes: &mut Vec<Node>,
    stack: &[Open],
    scope: &mut Vec<(String, Ns)>,
    at: usize,
) -> Option<usize> {
    let qname = e.name().0;
    let (prefix, local) = match qname.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", qname),
    };
    // The innermost open element of interest, and that the parent now has element content.
    let parent = stack.last().and_then(|o| o.nearest);
    if let Some(Some(p)) = stack.last().map(|o| o.node) {
        nodes[p].has_elements = true;
    } else if let Some(p) = parent {
        nodes[p].has_elements = true;
    }
    let tag = tag_of(local);
    let mut attrs = Vec::new();
    let has_attrs = e.attributes_raw().contains('=');
    if has_attrs {
        let mut iter = e.html_attributes();
        iter.with_checks(false);
        for attr in iter.flatten() {
            let key = attr.key.0;
            if key == "xmlns" {
                scope.push((String::new(), ns_of_uri(&attr.value, "")));
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                scope.push((p.to_string(), ns_of_uri(&attr.value, p)));
            } else if tag.is_some() {
                attrs.push((key.to_ascii_lowercase(), unescape(&attr.value).trim().to_string()));
            }
        }
    }
    let tag = tag?;
    let ns = match scope.iter().rev().find(|(p, _)| p == prefix) {
        Some((_, ns)) => *ns,
        None if prefix.is_empty() => Ns::Core,
        None => ns_of_prefix(prefix),
    };
    let index = nodes.len();
    nodes.push(Node {
        ns,
        tag,
        parent,
        attrs,
        text: String::new(),
        inner: (at, at),
        has_elements: false,
        children: Vec::new(),
    });
    if let Some(p) = parent {
        nodes[p].children.push(index);
    }
    Some(index)
}

fn tag_of(local: &str) -> Option<Tag> {
    let eq = |s: &str| local.eq_ignore_ascii_case(s);
    Some(match local.len() {
        2 if eq("id") => Tag::Id,
        3 if eq("rss") => Tag::Rss,
        3 if eq("rdf") => Tag::Rdf,
        4 if eq("feed") => Tag::Feed,
        4 if eq("item") => Tag::Item,
        4 if eq("link") => Tag::Link,
        4 if eq("guid") => Tag::Guid,
        4 if eq("name") => Tag::Name,
        4 if eq("date") => Tag::Date,
        5 if eq("entry") => Tag::Entry,
        5 if eq("title") => Tag::Title,
        5 if eq("group") => Tag::Group,
        6 if eq("author") => Tag::Author,
        6 if eq("issued") => Tag::Issued,
        7 if eq("channel") => Tag::Channel,
        7 if eq("summary") => Tag::Summary,
        7 if eq("content") => Tag::Content,
        7 if eq("encoded") => Tag::Encoded,
        7 if eq("creator") => Tag::Creator,
        7 if eq("pubdate") => Tag::PubDate,
        7 if eq("updated") => Tag::Updated,
        7 if eq("subject") => Tag::Subject,
        8 if eq("modified") => Tag::Modified,
        8 if eq("category") => Tag::Category,
        9 if eq("published") => Tag::Published,
        11 if eq("description") => Tag::Description,
        13 if eq("lastbuilddate") => Tag::LastBuildDate,
        _ => return None,
    })
}

fn ns_of_uri(uri: &str, prefix: &str) -> Ns {
    let uri = uri.trim().to_ascii_lowercase();
    let uri = uri.strip_prefix("https://").or_else(|| uri.strip_prefix("http://")).unwrap_or(&uri);
    let uri = uri.strip_prefix("www.").unwrap_or(uri);
    if uri.starts_with("w3.org/2005/atom") || uri.starts_with("purl.org/atom/ns") {
        Ns::Atom
    } else if uri.starts_with("purl.org/dc/elements/1.1") {
        Ns::Dc
    } else if uri.starts_with("purl.org/dc/terms") {
        Ns::DcTerms
    } else if uri.starts_with("purl.org/rss/1.0/modules/content") {
        Ns::Content
    } else if uri.starts_with("search.yahoo.com/mrss") {
        Ns::Media
    } else if uri.starts_with("itunes.com/dtds/podcast") || uri.starts_with("itunes.apple.com/dtds/podcast") {
        Ns::Itunes
    } else if uri.starts_with("w3.org/1999/02/22-rdf-syntax-ns") {
        Ns::Rdf
    } else if uri.starts_with("purl.org/rss/1.0")
        || uri.starts_with("my.netscape.com/rdf/simple")
        || uri.starts_with("backend.userland.com/rss")
        || uri.starts_with("blogs.law.harvard.edu/tech/rss")
    {
        Ns::Core
    } else if prefix.is_empty() {
        // An unknown default namespace: still the feed's own elements (RSS 2.0 with a made-up
        // xmlns, XHTML inside content where only markup matters).
        Ns::Core
    } else {
        match ns_of_prefix(prefix) {
            Ns::Core | Ns::Atom => Ns::Other,
            ns => ns,
        }
    }
}

/// The family of an undeclared prefix, by its usual name.
fn ns_of_prefix(prefix: &str) -> Ns {
    match prefix.to_ascii_lowercase().as_str() {
        "atom" | "atom10" | "atom03" => Ns::Atom,
        "dc" => Ns::Dc,
        "dcterms" => Ns::DcTerms,
        "content" => Ns::Content,
        "media" => Ns::Media,
        "itunes" => Ns::Itunes,
        "rdf" => Ns::Rdf,
        "rss" => Ns::Core,
        _ => Ns::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_of_interest_leniently() {
        let doc = read(
            "<rss xmlns:dc=\"http://purl.org/dc/elements/1.1\"><channel><item><title>A &amp; B&nbsp;&lol; & c</title>\
             <description>x<p>y<br>z</description><dc:creator>Ann</dc:creator></item></channel></rss>",
        );
        let title = doc.nodes.iter().find(|n| n.tag == Tag::Title).expect("title");
        assert_eq!(title.text, "A & B\u{a0}&lol; & c");
        let desc = doc.nodes.iter().find(|n| n.tag == Tag::Description).expect("description");
        assert!(desc.has_elements);
        assert_eq!(&doc.src[desc.inner.0..desc.inner.1], "x<p>y<br>z");
        let creator = doc.nodes.iter().find(|n| n.tag == Tag::Creator).expect("creator");
        assert_eq!(creator.ns, Ns::Dc);
        assert_eq!(creator.text, "Ann");
    }
}
