//! HTML to paragraphs.
//!
//! One pass over the parsed tree, iterative (so deeply nested markup cannot
//! overflow the stack): block elements end a paragraph, inline text is kept
//! whole, `<br>` joins with a space, scripts, styles, forms and embedded
//! players are dropped, captions are dropped and recorded.

use crate::parse::attr;
use ego_tree::iter::Edge;
use markup5ever::local_name;
use newswire_core::{Embed, Removed, RemovedKind};
use scraper::{Html, Node};

use crate::markup::{Special, classify, frame_embed, post_embed, text_of, too_much_text};
use crate::normalize::normalize_paragraph;

/// Inputs larger than this are cut before parsing: the parser's cost grows
/// faster than linearly on hostile markup, and no article is this long.
pub(crate) const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;

/// Elements whose start and end break paragraphs.
pub(crate) fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "header"
            | "footer"
            | "main"
            | "aside"
            | "nav"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "blockquote"
            | "pre"
            | "table"
            | "thead"
            | "tbody"
            | "tfoot"
            | "tr"
            | "td"
            | "th"
            | "caption"
            | "figure"
            | "hr"
            | "address"
            | "details"
            | "summary"
            | "center"
            | "body"
            | "html"
    )
}

/// Elements dropped with everything inside them, silently.
fn is_dropped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "head"
            | "title"
            | "meta"
            | "link"
            | "object"
            | "embed"
            | "svg"
            | "math"
            | "canvas"
            | "form"
            | "button"
            | "select"
            | "input"
            | "textarea"
            | "audio"
            | "video"
            | "source"
            | "picture"
            | "img"
    )
}

/// Cut `html` to at most `max` bytes on a character boundary.
pub(crate) fn cap(html: &str, max: usize) -> &str {
    if html.len() <= max {
        return html;
    }
    let mut end = max;
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    &html[..end]
}

/// Parse a fragment after capping its size (the tree builder caps its
/// nesting depth).
fn parse(html: &str) -> Html {
    crate::parse::fragment(cap(html, MAX_HTML_BYTES))
}

/// Paragraphs of an HTML fragment, with what the markup says was not
/// article text: embeds, widgets, captions.
pub(crate) struct Extracted {
    pub(crate) paragraphs: Vec<String>,
    /// Removed pieces, each with the number of paragraphs before it.
    pub(crate) removed: Vec<(usize, Removed)>,
    pub(crate) embeds: Vec<(usize, Embed)>,
}

struct Builder {
    paragraphs: Vec<String>,
    current: String,
}

impl Builder {
    fn flush(&mut self) {
        if !self.current.is_empty() {
            let p = normalize_paragraph(&self.current);
            if !p.is_empty() {
                self.paragraphs.push(p);
            }
            self.current.clear();
        }
    }
}

/// Paragraphs of an HTML fragment or document.
pub(crate) fn to_paragraphs(html: &str) -> Extracted {
    walk(html, true)
}

/// Paragraphs only, for feeds with cleaning off: scripts, styles, forms and
/// players still go (they are not text), but embeds, widgets and captions
/// stay as text.
pub(crate) fn structure_only(html: &str) -> Vec<String> {
    walk(html, false).paragraphs
}

fn walk(html: &str, markup_rules: bool) -> Extracted {
    let doc = parse(html);
    let mut out = Builder { paragraphs: Vec::new(), current: String::new() };
    let mut removed = Vec::new();
    let mut embeds = Vec::new();
    // While inside a dropped subtree, the id of its root: everything until
    // its Close edge is skipped.
    let mut skipping: Option<ego_tree::NodeId> = None;
    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) => {
                if skipping.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(t) => out.current.push_str(t),
                    Node::Element(e) => {
                        let name = e.name();
                        if name == "br" {
                            out.current.push(' ');
                            continue;
                        }
                        if is_dropped(name) {
                            skipping = Some(node.id());
                            continue;
                        }
                        let special = if markup_rules {
                            classify(e)
                        } else if name == "iframe" {
                            Some(Special::Frame)
                        } else {
                            None
                        };
                        let Some(special) = special else {
                            if is_block(name) {
                                out.flush();
                            }
                            continue;
                        };
                        // Widgets and captions must be small; a "share"
                        // wrapper around the whole article is not a widget.
                        let guarded = matches!(special, Special::Widget(_) | Special::Caption) && name != "figcaption";
                        if guarded && too_much_text(node) {
                            if is_block(name) {
                                out.flush();
                            }
                            continue;
                        }
                        if is_block(name) {
                            out.flush();
                        }
                        let at = out.paragraphs.len();
                        match special {
                            Special::Post(kind) => {
                                let text = text_of(node);
                                embeds.push((at, post_embed(node, kind)));
                                removed.push((at, Removed { kind: RemovedKind::SocialEmbed, text }));
                            }
                            Special::Frame => {
                                if let Some(embed) = frame_embed(e) {
                                    let kind = match embed.kind.as_str() {
                                        "youtube" | "vimeo" | "media" => RemovedKind::MediaEmbed,
                                        _ => RemovedKind::SocialEmbed,
                                    };
                                    let text = attr(e, local_name!("src")).unwrap_or_default().to_string();
                                    removed.push((at, Removed { kind, text }));
                                    embeds.push((at, embed));
                                }
                            }
                            Special::Widget(kind) => {
                                let text = text_of(node);
                                if !text.is_empty() {
                                    removed.push((at, Removed { kind, text }));
                                }
                            }
                            Special::Caption => {
                                let text = text_of(node);
                                if !text.is_empty() {
                                    removed.push((at, Removed { kind: RemovedKind::Caption, text }));
                                }
                            }
                            Special::MoreLink => {
                                let text = text_of(node);
                                removed.push((at, Removed { kind: RemovedKind::Truncation, text }));
                            }
                        }
                        skipping = Some(node.id());
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if let Some(id) = skipping {
                    if id == node.id() {
                        skipping = None;
                        // A dropped block still separates the text around it.
                        if let Node::Element(e) = node.value()
                            && (is_block(e.name()) || is_dropped_block(e.name()))
                        {
                            out.flush();
                        }
                    }
                    continue;
                }
                if let Node::Element(e) = node.value()
                    && is_block(e.name())
                {
                    out.flush();
                }
            }
        }
    }
    out.flush();
    Extracted { paragraphs: out.paragraphs, removed, embeds }
}

/// Dropped elements that sit between paragraphs rather than inside one.
fn is_dropped_block(name: &str) -> bool {
    matches!(
        name,
        "form" | "figcaption" | "iframe" | "video" | "audio" | "object" | "canvas" | "svg" | "math" | "template"
    )
}

/// Plain text of a short fragment (titles, names): no paragraph breaks.
pub(crate) fn inline_text(html: &str) -> String {
    let doc = parse(html);
    text_of(doc.tree.root())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paras(html: &str) -> Vec<String> {
        to_paragraphs(html).paragraphs
    }

    #[test]
    fn blocks_become_paragraphs_and_inline_text_stays_whole() {
        assert_eq!(
            paras("<p>One <b>bold</b> and <a href='x'>linked</a> word.</p><h2>Head</h2><ul><li>a</li><li>b</li></ul>"),
            ["One bold and linked word.", "Head", "a", "b"]
        );
    }

    #[test]
    fn br_joins_with_a_space() {
        assert_eq!(paras("<p>line one<br>line two<br/>three</p>"), ["line one line two three"]);
    }

    #[test]
    fn drops_scripts_styles_iframes_and_captions() {
        let c = to_paragraphs(
            "<p>Keep.</p><script>var x = 1;</script><style>p{}</style>\
             <figure><img src='a.jpg'><figcaption>Photo: Jane / Agency</figcaption></figure>\
             <iframe src='https://www.youtube.com/embed/xyz?feature=oembed' title='Trailer'></iframe><p>Also keep.</p>",
        );
        assert_eq!(c.paragraphs, ["Keep.", "Also keep."]);
        assert_eq!(c.removed.len(), 2);
        assert_eq!(c.removed[0].1.kind, RemovedKind::Caption);
        assert_eq!(c.removed[0].1.text, "Photo: Jane / Agency");
        assert_eq!(c.removed[1].1.kind, RemovedKind::MediaEmbed);
        assert_eq!(c.embeds[0].1.kind, "youtube");
        assert_eq!(c.embeds[0].1.url.as_deref(), Some("https://www.youtube.com/watch?v=xyz"));
        assert_eq!(c.embeds[0].1.text.as_deref(), Some("Trailer"));
    }

    #[test]
    fn decodes_entities_and_nbsp_paragraphs_vanish() {
        assert_eq!(paras("<p>Rock &amp; roll&#8217;s &nbsp;day</p><p>&nbsp;</p>"), ["Rock & roll’s day"]);
    }

    #[test]
    fn text_outside_blocks_is_a_paragraph() {
        assert_eq!(paras("Loose text <p>Para</p> tail"), ["Loose text", "Para", "tail"]);
    }

    #[test]
    fn inline_drops_do_not_split_a_paragraph() {
        assert_eq!(paras("<p>Before <img src='x.jpg'> after <script>x()</script>end.</p>"), ["Before after end."]);
    }

    #[test]
    fn social_embed_markup_becomes_embeds() {
        let c = to_paragraphs(
            "<p>Lede.</p>\
             <blockquote class=\"twitter-tweet\"><p lang=\"en\">Day 9 in Ext 14. <a href=\"https://t.co/x\">pic.twitter.com/J8pQ</a></p>&mdash; Sipho Ndlovu (@SiphoNdlovu_ZA) <a href=\"https://twitter.com/SiphoNdlovu_ZA/status/185?ref_src=twsrc\">November 12, 2024</a></blockquote>\
             <blockquote class=\"bluesky-embed\" data-bluesky-uri=\"at://did:plc:x/app.bsky.feed.post/3k\"><p>Trams are back.</p>&mdash; Transit Desk (@transit.bsky.social) <a href=\"https://bsky.app/profile/transit.bsky.social/post/3k?ref_src=embed\">March 3, 2024 at 10:21 AM</a></blockquote>\
             <blockquote class=\"text-post-media\" data-text-post-permalink=\"https://www.threads.net/@city/post/C1\"><a href=\"https://www.threads.net/@city/post/C1\">@city</a></blockquote>\
             <blockquote class=\"mastodon-embed\" data-embed-url=\"https://mastodon.social/@news/1/embed\"><p>Service update.</p></blockquote>\
             <iframe class=\"mastodon-embed\" src=\"https://mastodon.social/@news/2/embed\"></iframe>\
             <iframe src=\"https://player.vimeo.com/video/123?h=abc\"></iframe>\
             <div class=\"fb-post\" data-href=\"https://www.facebook.com/city/posts/1\"><blockquote cite=\"https://www.facebook.com/city/posts/1\" class=\"fb-xfbml-parse-ignore\"><p>Boil water.</p>Posted by <a href=\"https://www.facebook.com/city\">City of Marlow, Ohio</a> on&nbsp;<a href=\"https://www.facebook.com/city/posts/1\">Tuesday, March 12, 2024</a></blockquote></div>\
             <p>End.</p>",
        );
        assert_eq!(c.paragraphs, ["Lede.", "End."]);
        let e: Vec<&Embed> = c.embeds.iter().map(|(_, e)| e).collect();
        let kinds: Vec<&str> = e.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["twitter", "bluesky", "threads", "mastodon", "mastodon", "vimeo", "facebook"]);
        assert_eq!(e[0].url.as_deref(), Some("https://twitter.com/SiphoNdlovu_ZA/status/185"));
        assert_eq!(e[0].handle.as_deref(), Some("SiphoNdlovu_ZA"));
        assert_eq!(e[0].author.as_deref(), Some("Sipho Ndlovu"));
        assert_eq!(e[0].posted_at.as_deref(), Some("November 12, 2024"));
        assert_eq!(e[0].text.as_deref(), Some("Day 9 in Ext 14. pic.twitter.com/J8pQ"));
        assert_eq!(e[1].url.as_deref(), Some("https://bsky.app/profile/transit.bsky.social/post/3k"));
        assert_eq!(e[1].handle.as_deref(), Some("transit.bsky.social"));
        assert_eq!(e[2].url.as_deref(), Some("https://www.threads.net/@city/post/C1"));
        assert_eq!(e[2].handle.as_deref(), Some("city"));
        assert_eq!(e[5].url.as_deref(), Some("https://vimeo.com/123"));
        assert_eq!(e[6].author.as_deref(), Some("City of Marlow, Ohio"));
        assert_eq!(e[6].posted_at.as_deref(), Some("Tuesday, March 12, 2024"));
        assert_eq!(e[6].text.as_deref(), Some("Boil water."));
        assert!(c.removed.iter().all(|(_, r)| matches!(r.kind, RemovedKind::SocialEmbed | RemovedKind::MediaEmbed)));
    }

    #[test]
    fn widgets_go_but_a_wrapper_full_of_article_does_not() {
        let c = to_paragraphs(
            "<p>Lede.</p><div class=\"sharedaddy sd-sharing-enabled\"><h3>Share this:</h3><ul><li>Twitter</li></ul></div>\
             <div class='yarpp yarpp-related'><h3>Related posts:</h3><ol><li><a href='/x'>Old story</a></li></ol></div>\
             <div class=\"newsletter-signup\"><h4>Get the Brief</h4><form><input></form></div>\
             <div class=\"ad-container\"><span class=\"ad-label\">Advertisement</span></div>\
             <p class=\"wp-caption-text\">Image: Agency</p>\
             <p><a class=\"more-link\" href=\"/x#more\">Continue reading <span class=\"screen-reader-text\">Story</span> &#8594;</a></p>\
             <p>Heading (loads) of text stays in a <span class=\"header-ad-free\">headline</span>.</p>",
        );
        assert_eq!(c.paragraphs, ["Lede.", "Heading (loads) of text stays in a headline."]);
        let kinds: Vec<RemovedKind> = c.removed.iter().map(|(_, r)| r.kind).collect();
        assert_eq!(
            kinds,
            [
                RemovedKind::Widget,
                RemovedKind::Widget,
                RemovedKind::CallToAction,
                RemovedKind::Advertisement,
                RemovedKind::Caption,
                RemovedKind::Truncation
            ]
        );
        let article = "<p>A long paragraph of the article that goes on and on about the council vote and its consequences for the city.</p>".repeat(30);
        let c = to_paragraphs(&format!("<div class=\"entry-content share-enabled\">{article}</div>"));
        assert_eq!(c.paragraphs.len(), 30);
        assert!(c.removed.is_empty());
    }

    #[test]
    fn structure_only_keeps_embeds_as_text() {
        let html =
            "<p>A.</p><div class=\"ad-slot\">Advertisement</div><iframe src=\"https://youtube.com/embed/x\"></iframe>";
        assert_eq!(structure_only(html), ["A.", "Advertisement"]);
    }

    #[test]
    fn deep_nesting_is_capped_before_parsing() {
        let n = 50_000;
        let html = "<div>".repeat(n) + "deep" + &"</div>".repeat(n) + "<p>after</p>";
        assert_eq!(paras(&html), ["deep", "after"]);
        for (open, close) in [
            ("<b>", "</b>"),
            ("<table><tr><td>", "</td></tr></table>"),
            ("<a href=x>", "</a>"),
            ("<span><p>", "</p></span>"),
        ] {
            let html = open.repeat(20_000) + "text" + &close.repeat(20_000);
            assert_eq!(paras(&html), ["text"], "{open}");
        }
        // Unclosed tags and formatting elements with distinct attributes.
        let html: String = (0..20_000).map(|i| format!("<b id=b{i}><i>")).collect::<String>() + "x";
        assert_eq!(paras(&html), ["x"]);
    }
}
