//! HTML to paragraphs.
//!
//! One pass over the parsed tree, iterative (so deeply nested markup cannot
//! overflow the stack): block elements end a paragraph, inline text is kept
//! whole, `<br>` joins with a space, scripts, styles, forms and embedded
//! players are dropped, captions are dropped and recorded.

use ego_tree::iter::Edge;
use newswire_core::{Removed, RemovedKind};
use scraper::{Html, Node};

use crate::Cleaned;
use crate::normalize::normalize_paragraph;

/// Inputs larger than this are cut before parsing: the parser's cost grows
/// faster than linearly on hostile markup, and no article is this long.
pub(crate) const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;

/// Elements whose start and end break paragraphs.
fn is_block(name: &str) -> bool {
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

/// Text of a subtree, inline (no paragraph breaks), normalised.
fn subtree_text(node: ego_tree::NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    for n in node.descendants() {
        match n.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) if e.name() == "br" => out.push(' '),
            Node::Element(e) if is_block(e.name()) => out.push(' '),
            _ => {}
        }
    }
    normalize_paragraph(&out)
}

/// Paragraphs of an HTML fragment or document.
pub(crate) fn to_paragraphs(html: &str) -> Cleaned {
    let doc = Html::parse_fragment(cap(html, MAX_HTML_BYTES));
    let mut out = Builder { paragraphs: Vec::new(), current: String::new() };
    let mut removed = Vec::new();
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
                        } else if is_dropped(name) {
                            skipping = Some(node.id());
                        } else if name == "iframe" {
                            if let Some(src) = e.attr("src") {
                                removed.push(Removed { kind: RemovedKind::MediaEmbed, text: src.to_string() });
                            }
                            skipping = Some(node.id());
                        } else if name == "figcaption" {
                            let text = subtree_text(node);
                            if !text.is_empty() {
                                removed.push(Removed { kind: RemovedKind::Caption, text });
                            }
                            skipping = Some(node.id());
                        } else if is_block(name) {
                            out.flush();
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if let Some(id) = skipping {
                    if id == node.id() {
                        skipping = None;
                        // A dropped block still separates the text around it.
                        out.flush();
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
    Cleaned { paragraphs: out.paragraphs, removed, embeds: Vec::new() }
}

/// Plain text of a short fragment (titles, names): no paragraph breaks.
pub(crate) fn inline_text(html: &str) -> String {
    let doc = Html::parse_fragment(cap(html, MAX_HTML_BYTES));
    subtree_text(doc.tree.root())
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
             <iframe src='https://www.youtube.com/embed/xyz'></iframe><p>Also keep.</p>",
        );
        assert_eq!(c.paragraphs, ["Keep.", "Also keep."]);
        assert_eq!(c.removed.len(), 2);
        assert_eq!(c.removed[0].kind, RemovedKind::Caption);
        assert_eq!(c.removed[0].text, "Photo: Jane / Agency");
        assert_eq!(c.removed[1].kind, RemovedKind::MediaEmbed);
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
    fn deep_nesting_does_not_overflow() {
        let html = "<div>".repeat(3_000) + "deep" + &"</div>".repeat(3_000);
        assert_eq!(paras(&html), ["deep"]);
    }
}
