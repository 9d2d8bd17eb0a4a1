//! What HTML elements are: embeds, widgets, captions; whether one may be
//! removed; and the data of an embed's markup.
//!
//! Embeds are recognised by the classes their providers' snippets use
//! (`blockquote.twitter-tweet`, `blockquote.instagram-media`, …) and by
//! iframes. Widgets (share buttons, related posts, newsletter boxes, ad
//! slots) are recognised by the roles their class or id names
//! ([`crate::hints`]: whole interface names such as `sharedaddy`,
//! `jp-relatedposts`, `newsletter-signup`, `ad-slot`; never a junk word
//! inside the site's own name or a generated tag slug).
//!
//! Each recognition is a named [`MarkupRule`] (`markup.share_widget`, …),
//! recorded in `removed` and switchable with `clean_disable` like the text
//! rules. Before anything but an embed goes, [`guard`] looks at the facts
//! of the element ([`Facts`]) and keeps it when it could be article text:
//! it holds a large share of the item's text (alone, or with the elements
//! built like it: a list of cards), it holds a `<pre>` block, it is a
//! heading followed by article text, or it is the attribution of a
//! quotation (a `figcaption` of a `blockquote`).

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

/// Below this many bytes of text an element is never "a large share" of
/// the item: a short item's share bar is still a share bar.
const MIN_SHARE_TEXT: usize = 200;

/// A heading is "followed by article text" when the block after it holds
/// at least this many bytes of text, mostly outside links.
const MIN_FOLLOWING_TEXT: usize = 80;

/// The markup rules: what an element's name, class or id says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MarkupRule {
    /// A social post's embed markup (`blockquote.twitter-tweet`, …).
    SocialEmbed,
    /// An iframe: a player or other embedded media.
    Iframe,
    /// Share buttons and bars.
    ShareWidget,
    /// Related and recommended posts.
    RelatedWidget,
    /// Newsletter and subscription boxes.
    NewsletterBox,
    /// Ad slots.
    AdSlot,
    /// A `figcaption`.
    Figcaption,
    /// An element with a caption or credit class (`wp-caption-text`, …).
    CaptionClass,
    /// WordPress's `a.more-link` and its kin.
    MoreLink,
}

impl MarkupRule {
    /// Every markup rule, in the order `builtin_rules` lists them.
    pub(crate) const ALL: [MarkupRule; 9] = [
        MarkupRule::SocialEmbed,
        MarkupRule::Iframe,
        MarkupRule::ShareWidget,
        MarkupRule::RelatedWidget,
        MarkupRule::NewsletterBox,
        MarkupRule::AdSlot,
        MarkupRule::Figcaption,
        MarkupRule::CaptionClass,
        MarkupRule::MoreLink,
    ];

    /// The stable name, as in `removed` and `clean_disable`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            MarkupRule::SocialEmbed => "markup.social_embed",
            MarkupRule::Iframe => "markup.iframe",
            MarkupRule::ShareWidget => "markup.share_widget",
            MarkupRule::RelatedWidget => "markup.related_widget",
            MarkupRule::NewsletterBox => "markup.newsletter_box",
            MarkupRule::AdSlot => "markup.ad_slot",
            MarkupRule::Figcaption => "markup.figcaption",
            MarkupRule::CaptionClass => "markup.caption_class",
            MarkupRule::MoreLink => "markup.more_link",
        }
    }

    /// What it matches, in words (for `builtin_rules` and the docs).
    pub(crate) fn describes(self) -> &'static str {
        match self {
            MarkupRule::SocialEmbed => {
                "blockquote/div of class twitter-tweet, twitter-video, instagram-media, tiktok-embed, fb-post, fb-video, bluesky-embed, text-post-media, mastodon-embed"
            }
            MarkupRule::Iframe => "iframe (with a src)",
            MarkupRule::ShareWidget => {
                "block whose class or id names share buttons (sharedaddy, addtoany, share-buttons, …)"
            }
            MarkupRule::RelatedWidget => {
                "block whose class or id names related posts (jp-relatedposts, yarpp, related-posts, …)"
            }
            MarkupRule::NewsletterBox => "block whose class or id names a newsletter or subscription box",
            MarkupRule::AdSlot => "block whose class or id names an ad slot (ad-slot, adsbygoogle, div-gpt-ad, …)",
            MarkupRule::Figcaption => "figcaption",
            MarkupRule::CaptionClass => {
                "element of class wp-caption-text, wp-element-caption, caption, photo-credit, …"
            }
            MarkupRule::MoreLink => "a of class more-link, read-more, readmore",
        }
    }

    /// The index of this rule in [`MarkupRule::ALL`] (a bit of a mask).
    pub(crate) fn index(self) -> usize {
        MarkupRule::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }

    /// By name.
    pub(crate) fn from_name(name: &str) -> Option<MarkupRule> {
        MarkupRule::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether [`guard`] may keep what this rule matched: embeds are
    /// recognised by their provider's own markup and recorded as data.
    fn guarded(self) -> bool {
        !matches!(self, MarkupRule::SocialEmbed | MarkupRule::Iframe)
    }
}

/// What [`guard`] reads about an element a markup rule matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Bytes of text in the element.
    pub(crate) text: usize,
    /// Of those, bytes inside links.
    pub(crate) links: usize,
    /// Bytes of text, and of link text, of every element of the item with
    /// the same tag and class that the same rule matched (this one
    /// included): the cards of a card list.
    pub(crate) group_text: usize,
    pub(crate) group_links: usize,
    /// Bytes of text in the whole item.
    pub(crate) item_text: usize,
    /// The element holds a `<pre>` (a code listing, a poem).
    pub(crate) has_pre: bool,
    /// The element is a heading and the block after it is article text.
    pub(crate) heading_before_text: bool,
    /// The element is the caption of a quotation: a `figcaption` in a
    /// `blockquote`, or in a `figure` that holds a blockquote and no image.
    pub(crate) quote_caption: bool,
}

/// Why [`guard`] kept an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// More text than any widget holds.
    TooMuchText,
    /// Half the item's text or more, not a list of links (alone, or with
    /// the elements built like it).
    LargeShare,
    /// Holds a `<pre>` block.
    Preformatted,
    /// A heading followed by article text.
    HeadingBeforeText,
    /// The attribution of a quotation.
    QuoteAttribution,
}

/// Whether an element that `rule` matched may be removed: `None` when it
/// may, or why it is kept.
pub(crate) fn guard(rule: MarkupRule, f: &Facts) -> Option<Keep> {
    if !rule.guarded() {
        return None;
    }
    if f.has_pre {
        return Some(Keep::Preformatted);
    }
    if matches!(rule, MarkupRule::Figcaption | MarkupRule::CaptionClass) && f.quote_caption {
        return Some(Keep::QuoteAttribution);
    }
    if f.heading_before_text {
        return Some(Keep::HeadingBeforeText);
    }
    if f.text > MAX_WIDGET_TEXT {
        return Some(Keep::TooMuchText);
    }
    let large = |text: usize, links: usize| text >= MIN_SHARE_TEXT && text * 2 >= f.item_text && links * 2 < text;
    if large(f.text, f.links) || large(f.group_text, f.group_links) {
        return Some(Keep::LargeShare);
    }
    None
}

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

/// Classify an element by name, class and id: what it is and which rule
/// said so.
pub(crate) fn classify(e: &Element) -> Option<(Special, MarkupRule)> {
    let name = e.name();
    if name == "iframe" {
        return Some((Special::Frame, MarkupRule::Iframe));
    }
    if name == "figcaption" {
        return Some((Special::Caption, MarkupRule::Figcaption));
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
            return Some((Special::Post(kind), MarkupRule::SocialEmbed));
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
            return Some((Special::Caption, MarkupRule::CaptionClass));
        }
    }
    if name == "a" && (has_class(e, "more-link") || has_class(e, "read-more") || has_class(e, "readmore")) {
        return Some((Special::MoreLink, MarkupRule::MoreLink));
    }
    // Widgets are blocks: a class word on an inline element ("header-ad-free"
    // on a <span>) says nothing about the text around it.
    if !crate::html::is_block(name) && name != "ins" {
        return None;
    }
    let roles = hints::roles(e);
    if roles.any(Roles::SHARE) {
        return Some((Special::Widget(RemovedKind::Widget), MarkupRule::ShareWidget));
    }
    if roles.any(Roles::RELATED) {
        return Some((Special::Widget(RemovedKind::Widget), MarkupRule::RelatedWidget));
    }
    if roles.any(Roles::SUBSCRIBE) {
        return Some((Special::Widget(RemovedKind::CallToAction), MarkupRule::NewsletterBox));
    }
    if roles.any(Roles::AD) || (name == "ins" && has_class(e, "adsbygoogle")) {
        return Some((Special::Widget(RemovedKind::Advertisement), MarkupRule::AdSlot));
    }
    None
}

/// The facts [`guard`] reads about `node`, but for the group's and the
/// item's totals, which the caller fills in.
pub(crate) fn facts(node: NodeRef<'_, Node>) -> Facts {
    let (text, links, has_pre) = text_and_links(node);
    let mut f = Facts { text, links, has_pre, ..Facts::default() };
    if let Some(e) = node.value().as_element() {
        if matches!(e.name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
            f.heading_before_text = followed_by_text(node);
        }
        f.quote_caption = e.name() != "a" && is_quote_caption(node);
    }
    f
}

/// Bytes of text in a subtree (scripts and styles left out), of them the
/// bytes inside links, and whether it holds a `<pre>`.
fn text_and_links(node: NodeRef<'_, Node>) -> (usize, usize, bool) {
    let (mut text, mut links, mut has_pre) = (0, 0, false);
    let mut in_link: Option<ego_tree::NodeId> = None;
    let mut skip: Option<ego_tree::NodeId> = None;
    for edge in node.traverse() {
        match edge {
            ego_tree::iter::Edge::Open(n) => {
                if skip.is_some() {
                    continue;
                }
                match n.value() {
                    Node::Text(t) => {
                        let len = t.trim().len();
                        text += len;
                        if in_link.is_some() {
                            links += len;
                        }
                    }
                    Node::Element(e) => match e.name() {
                        "script" | "style" | "noscript" | "template" => skip = Some(n.id()),
                        "pre" => has_pre = true,
                        "a" if in_link.is_none() => in_link = Some(n.id()),
                        _ => {}
                    },
                    _ => {}
                }
            }
            ego_tree::iter::Edge::Close(n) => {
                if skip == Some(n.id()) {
                    skip = None;
                } else if in_link == Some(n.id()) {
                    in_link = None;
                }
            }
        }
    }
    (text, links, has_pre)
}

/// Whether the first block after `node` (a heading) is article text: a
/// block with some text, mostly outside links, that no markup rule matches.
fn followed_by_text(node: NodeRef<'_, Node>) -> bool {
    for sibling in node.next_siblings() {
        match sibling.value() {
            Node::Text(t) if t.trim().is_empty() => continue,
            Node::Comment(_) => continue,
            Node::Text(t) => return t.trim().len() >= MIN_FOLLOWING_TEXT,
            Node::Element(e) => {
                if classify(e).is_some() {
                    return false;
                }
                let (text, links, _) = text_and_links(sibling);
                return text >= MIN_FOLLOWING_TEXT && links * 2 < text;
            }
            _ => return false,
        }
    }
    false
}

/// Whether a caption element belongs to a quotation rather than an image:
/// it sits in a `blockquote`, or in a `figure` that holds a blockquote and
/// no image, video or player.
fn is_quote_caption(node: NodeRef<'_, Node>) -> bool {
    for ancestor in node.ancestors().take(3) {
        let Some(e) = ancestor.value().as_element() else { continue };
        match e.name() {
            "blockquote" => return true,
            "figure" => {
                let mut quote = false;
                for d in ancestor.descendants() {
                    if let Some(de) = d.value().as_element() {
                        match de.name() {
                            "blockquote" | "q" => quote = true,
                            "img" | "picture" | "video" | "iframe" | "svg" | "audio" | "object" | "embed" => {
                                return false;
                            }
                            _ => {}
                        }
                    }
                }
                return quote;
            }
            _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    fn widget(text: usize, links: usize, item_text: usize) -> Facts {
        Facts { text, links, group_text: text, group_links: links, item_text, ..Facts::default() }
    }

    #[test]
    fn the_guard_keeps_what_could_be_the_article() {
        let share = MarkupRule::ShareWidget;
        // A share bar in a long item goes; so does one in a short item.
        assert_eq!(guard(share, &widget(40, 30, 3_000)), None);
        assert_eq!(guard(share, &widget(40, 30, 60)), None);
        // Half the item's text, not links: the article in a "share" wrapper.
        assert_eq!(guard(share, &widget(1_800, 100, 2_400)), Some(Keep::LargeShare));
        // A related list that is most of a short item is still links.
        assert_eq!(guard(MarkupRule::RelatedWidget, &widget(600, 550, 800)), None);
        // Cards: each small, together the article.
        let card =
            Facts { text: 180, links: 10, group_text: 720, group_links: 40, item_text: 1_000, ..Facts::default() };
        assert_eq!(guard(share, &card), Some(Keep::LargeShare));
        // More text than a widget ever holds.
        assert_eq!(guard(MarkupRule::AdSlot, &widget(2_600, 0, 40_000)), Some(Keep::TooMuchText));
        // A code listing, a heading followed by text, a quotation's caption.
        let pre = Facts { has_pre: true, ..widget(100, 0, 5_000) };
        assert_eq!(guard(MarkupRule::NewsletterBox, &pre), Some(Keep::Preformatted));
        let heading = Facts { heading_before_text: true, ..widget(20, 0, 5_000) };
        assert_eq!(guard(MarkupRule::RelatedWidget, &heading), Some(Keep::HeadingBeforeText));
        let quote = Facts { quote_caption: true, ..widget(40, 0, 5_000) };
        assert_eq!(guard(MarkupRule::Figcaption, &quote), Some(Keep::QuoteAttribution));
        // An image's caption goes.
        assert_eq!(guard(MarkupRule::Figcaption, &widget(40, 0, 5_000)), None);
        // Embeds are recognised by their provider's markup: never guarded.
        assert_eq!(guard(MarkupRule::SocialEmbed, &widget(1_800, 0, 2_000)), None);
    }

    fn facts_of(html: &str, name: &str) -> Facts {
        let doc = crate::parse::fragment(html);
        let node = doc
            .tree
            .root()
            .descendants()
            .find(|n| n.value().as_element().is_some_and(|e| e.name() == name))
            .expect("element in the fragment");
        facts(node)
    }

    #[test]
    fn facts_read_from_markup() {
        let f = facts_of("<div class=share><a href=x>Share on X</a> or mail us</div>", "div");
        assert_eq!((f.text, f.links), ("Share on X".len() + "or mail us".len(), "Share on X".len()));
        assert!(facts_of("<div class=ad><pre>code</pre></div>", "div").has_pre);
        let text = "Political scientists have tracked the same wards since 2008 and found a pattern in turnout.";
        let html = format!("<h2 class=related-heading>Related research</h2><p>{text}</p>");
        assert!(facts_of(&html, "h2").heading_before_text);
        let html = "<h2 class=related-heading>Related</h2><ul><li><a href=x>A story whose whole title is a link to it</a></li><li><a href=y>Another story whose title is a link</a></li></ul>";
        assert!(!facts_of(html, "h2").heading_before_text);
        assert!(
            facts_of("<figure><blockquote><p>Q.</p></blockquote><figcaption>— A</figcaption></figure>", "figcaption")
                .quote_caption
        );
        assert!(facts_of("<blockquote><p>Q.</p><figcaption>— A</figcaption></blockquote>", "figcaption").quote_caption);
        assert!(!facts_of("<figure><img src=a><figcaption>Photo: A</figcaption></figure>", "figcaption").quote_caption);
    }

    #[test]
    fn markup_rules_have_stable_names() {
        for rule in MarkupRule::ALL {
            assert_eq!(MarkupRule::from_name(rule.name()), Some(rule));
            assert_eq!(MarkupRule::ALL[rule.index()], rule);
            assert!(rule.name().starts_with("markup."));
        }
    }
}
