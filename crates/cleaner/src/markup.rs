//! What HTML elements are: embeds, widgets, captions. And the data of an
//! embed's markup.
//!
//! Embeds are recognised by the classes their providers' snippets use
//! (`blockquote.twitter-tweet`, `blockquote.instagram-media`, …) and by
//! iframes. Widgets (share buttons, related posts, newsletter boxes, ad
//! slots) are recognised by the roles their class or id names
//! ([`crate::hints`]: whole interface names such as `sharedaddy`,
//! `jp-relatedposts`, `newsletter-signup`, `ad-slot`; never a junk word
//! inside the site's own name or a generated tag slug).
//! A widget that holds a lot of text is not a widget: the article must
//! never be dropped because its wrapper's class mentions "share".

use crate::parse::attr;
use ego_tree::NodeRef;
use markup5ever::local_name;
use newswire_core::{Embed, RemovedKind};
use scraper::Node;
use scraper::node::Element;

use crate::engine::kind_of_url;
use crate::hints::{self, Roles};
use crate::normalize::normalize_paragraph;

/// A subtree with more text than this is never dropped as a widget.
const MAX_WIDGET_TEXT: usize = 2_500;

/// What a special element is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    /// A social post's embed markup, with its `Embed::kind`.
    Post(&'static str),
    /// An iframe: a video player or other embedded media.
    Frame,
    /// Page furniture, dropped and recorded under this kind.
    Widget(RemovedKind),
    /// An image caption or credit.
    Caption,
    /// WordPress's "Continue reading →" link.
    MoreLink,
}

fn has_class(e: &Element, class: &str) -> bool {
    e.classes().any(|c| c.eq_ignore_ascii_case(class))
}

/// Classify an element by name, class and id.
pub(crate) fn classify(e: &Element) -> Option<Special> {
    let name = e.name();
    if name == "iframe" {
        return Some(Special::Frame);
    }
    if name == "figcaption" {
        return Some(Special::Caption);
    }
    if attr(e, local_name!("class")).is_none() && e.id().is_none() {
        return None;
    }
    for (class, kind) in [
        ("twitter-tweet", "twitter"),
        ("twitter-video", "twitter"),
        ("instagram-media", "instagram"),
        ("tiktok-embed", "tiktok"),
        ("fb-post", "facebook"),
        ("fb-video", "facebook"),
        ("fb-xfbml-parse-ignore", "facebook"),
        ("bluesky-embed", "bluesky"),
        ("text-post-media", "threads"),
        ("mastodon-embed", "mastodon"),
    ] {
        if has_class(e, class) {
            return Some(Special::Post(kind));
        }
    }
    for class in [
        "wp-caption-text",
        "wp-element-caption",
        "caption",
        "image-caption",
        "photo-caption",
        "img-caption",
        "figure-caption",
        "media-caption",
        "caption-text",
        "photo-credit",
        "image-credit",
        "media-credit",
        "wp-caption-dd",
    ] {
        if has_class(e, class) {
            return Some(Special::Caption);
        }
    }
    if name == "a" && (has_class(e, "more-link") || has_class(e, "read-more") || has_class(e, "readmore")) {
        return Some(Special::MoreLink);
    }
    // Widgets are blocks: a class word on an inline element ("header-ad-free"
    // on a <span>) says nothing about the text around it.
    if !crate::html::is_block(name) && name != "ins" {
        return None;
    }
    let roles = hints::roles(e);
    if roles.any(Roles::SHARE | Roles::RELATED) {
        return Some(Special::Widget(RemovedKind::Widget));
    }
    if roles.any(Roles::SUBSCRIBE) {
        return Some(Special::Widget(RemovedKind::CallToAction));
    }
    if roles.any(Roles::AD) {
        return Some(Special::Widget(RemovedKind::Advertisement));
    }
    if name == "ins" && has_class(e, "adsbygoogle") {
        return Some(Special::Widget(RemovedKind::Advertisement));
    }
    None
}

/// Whether the subtree holds more text than a widget would.
pub(crate) fn too_much_text(node: NodeRef<'_, Node>) -> bool {
    let mut total = 0;
    for n in node.descendants() {
        if let Node::Text(t) = n.value() {
            total += t.len();
            if total > MAX_WIDGET_TEXT {
                return true;
            }
        }
    }
    false
}

/// Text of a subtree, inline (no paragraph breaks), normalised.
pub(crate) fn text_of(node: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    let mut skip: Option<ego_tree::NodeId> = None;
    for edge in node.traverse() {
        match edge {
            ego_tree::iter::Edge::Open(n) => {
                if skip.is_some() {
                    continue;
                }
                match n.value() {
                    Node::Text(t) => out.push_str(t),
                    Node::Element(e) if matches!(e.name(), "script" | "style" | "noscript" | "template") => {
                        skip = Some(n.id());
                    }
                    Node::Element(e) if e.name() == "br" || crate::html::is_block(e.name()) => out.push(' '),
                    _ => {}
                }
            }
            ego_tree::iter::Edge::Close(n) => {
                if skip == Some(n.id()) {
                    skip = None;
                } else if let Node::Element(e) = n.value()
                    && crate::html::is_block(e.name())
                {
                    out.push(' ');
                }
            }
        }
    }
    normalize_paragraph(&out)
}

fn elements<'a>(node: NodeRef<'a, Node>, name: &'a str) -> impl Iterator<Item = NodeRef<'a, Node>> + 'a {
    node.descendants().filter(move |n| n.value().as_element().is_some_and(|e| e.name() == name))
}

fn links(node: NodeRef<'_, Node>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in elements(node, "a") {
        if let Some(href) = a.value().as_element().and_then(|e| attr(e, local_name!("href"))) {
            out.push((href.to_string(), text_of(a)));
        }
    }
    out
}

fn strip_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

/// Split "— Name (@handle) date" (the tail of a tweet or Bluesky embed).
fn attribution(tail: &str) -> (Option<String>, Option<String>) {
    let t = tail.trim_start_matches(['—', '–', '-', ' ']);
    let Some(open) = t.find("(@") else { return (None, None) };
    let author = non_empty(t[..open].trim().to_string());
    let rest = &t[open + 2..];
    let handle = rest.find(')').map(|c| rest[..c].to_string()).and_then(non_empty);
    (author, handle)
}

/// The data of a social post's embed markup.
pub(crate) fn post_embed(node: NodeRef<'_, Node>, kind: &'static str) -> Embed {
    let e = node.value().as_element();
    let attr = |name: &str| e.and_then(|e| e.attr(name)).map(str::to_string);
    let all = text_of(node);
    let first_p = elements(node, "p").next().map(text_of).unwrap_or_default();
    let tail = all.strip_prefix(first_p.as_str()).unwrap_or(&all).trim().to_string();
    let links = links(node);
    let mut embed = Embed { kind: kind.to_string(), ..Embed::default() };
    match kind {
        "twitter" | "bluesky" => {
            let marker = if kind == "twitter" { "/status/" } else { "/post/" };
            if let Some((href, text)) = links.iter().rev().find(|(h, _)| h.contains(marker)) {
                embed.url = Some(strip_query(href));
                embed.posted_at = non_empty(text.clone());
            }
            if embed.url.is_none() && kind == "bluesky" {
                embed.url = attr("data-bluesky-uri");
            }
            (embed.author, embed.handle) = attribution(&tail);
            embed.text = non_empty(first_p);
        }
        "instagram" => {
            embed.url = attr("data-instgrm-permalink")
                .or_else(|| links.iter().find(|(h, _)| h.contains("instagram.com/")).map(|(h, _)| h.clone()))
                .map(|u| strip_query(&u));
            let closer = crate::engine::builtin_regex("embed.instagram_shared_by");
            for p in elements(node, "p") {
                let text = text_of(p);
                if let Some(c) = closer.and_then(|r| r.captures(&text)) {
                    embed.author = c.name("author").map(|m| m.as_str().trim().to_string()).and_then(non_empty);
                    embed.handle = c.name("handle").map(|m| m.as_str().to_string());
                    embed.posted_at = c.name("date").map(|m| m.as_str().to_string());
                } else if !text.is_empty() && embed.text.is_none() {
                    embed.text = Some(text);
                }
            }
        }
        "tiktok" => {
            embed.url = attr("cite").map(|u| strip_query(&u));
            let sound = crate::engine::builtin_regex("embed.tiktok_sound");
            if let Some(c) = sound.and_then(|r| r.captures(&all)) {
                embed.handle = c.name("handle").map(|m| m.as_str().to_string());
                embed.text = c.name("text").map(|m| m.as_str().to_string()).and_then(non_empty);
            } else {
                embed.text = non_empty(all.clone());
            }
            if embed.handle.is_none() {
                embed.handle = links.iter().find_map(|(_, t)| t.strip_prefix('@').map(str::to_string));
            }
        }
        "facebook" => {
            embed.url = attr("data-href").or_else(|| attr("cite")).or_else(|| {
                elements(node, "blockquote").find_map(|b| b.value().as_element()?.attr("cite").map(str::to_string))
            });
            embed.text = non_empty(first_p);
            let posted = crate::engine::builtin_regex("embed.facebook_posted_by");
            if let Some(c) = posted.and_then(|r| r.captures(&tail)) {
                embed.author = c.name("author").map(|m| m.as_str().to_string());
                embed.posted_at = c.name("date").map(|m| m.as_str().to_string());
            }
        }
        _ => {
            embed.url = attr("data-text-post-permalink")
                .or_else(|| attr("data-embed-url"))
                .or_else(|| attr("cite"))
                .or_else(|| links.first().map(|(h, _)| h.clone()));
            embed.handle = links.iter().find_map(|(_, t)| t.strip_prefix('@').map(str::to_string));
            embed.text = non_empty(first_p);
        }
    }
    embed
}

/// The data of an iframe.
pub(crate) fn frame_embed(e: &Element) -> Option<Embed> {
    let src = attr(e, local_name!("src")).or_else(|| e.attr("data-src"))?;
    let src = if let Some(rest) = src.strip_prefix("//") { format!("https://{rest}") } else { src.to_string() };
    let kind = kind_of_url(&src);
    let url = match kind {
        "youtube" => src
            .split("/embed/")
            .nth(1)
            .map(|id| id.split(['?', '&', '#', '/']).next().unwrap_or(id))
            .filter(|id| !id.is_empty() && *id != "videoseries")
            .map(|id| format!("https://www.youtube.com/watch?v={id}"))
            .unwrap_or_else(|| src.clone()),
        "vimeo" => src
            .split("/video/")
            .nth(1)
            .map(|id| id.split(['?', '&', '#', '/']).next().unwrap_or(id))
            .map(|id| format!("https://vimeo.com/{id}"))
            .unwrap_or_else(|| src.clone()),
        _ => src.clone(),
    };
    Some(Embed {
        kind: kind.to_string(),
        url: Some(url),
        text: attr(e, local_name!("title")).map(normalize_paragraph).and_then(non_empty),
        ..Embed::default()
    })
}
