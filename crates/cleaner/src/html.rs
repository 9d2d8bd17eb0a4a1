//! HTML to paragraphs.
//!
//! Two passes over the parsed tree, both iterative (so deeply nested markup
//! cannot overflow the stack). The first finds what the markup rules match
//! and asks [`guard`] whether each may go; the second builds paragraphs:
//! block elements end a paragraph, inline text is kept whole, scripts,
//! styles, forms and embedded players are dropped, embeds, widgets and
//! captions are dropped and recorded with their rule's name.
//!
//! Line breaks are kept: `<br>` ends a line inside its paragraph (a
//! paragraph's lines are joined by a single `\n`; paragraphs are separated
//! by a blank line in the record's body), and a `<pre>` block keeps its
//! lines and their indentation (a blank line in it starts a new paragraph).
//! Paragraphs from a `<pre>` are marked protected: no text rule touches a
//! code listing or a poem.
//!
//! A feed that escaped its HTML twice (`&lt;p&gt;…`) parses to text that is
//! itself markup; when the whole item reads that way it is parsed again.

use std::collections::HashMap;

use ego_tree::NodeRef;
use ego_tree::iter::Edge;
use markup5ever::local_name;
use newswire_core::{Embed, Removed, RemovedKind};
use scraper::{Html, Node};
use unicode_normalization::UnicodeNormalization;

use crate::classifier::BlockMarkup;
use crate::classifier::features::PathTracker;
use crate::markup::classify;
use crate::markup::{self, Facts, MarkupRule, Special, frame_embed, guard, post_embed, text_of};
use crate::normalize::normalize_paragraph;
use crate::parse::attr;

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

/// Where a paragraph's text sat in the markup, as bits: the rule engine's
/// guards read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ParaFlags(u8);

impl ParaFlags {
    /// Inside a `<pre>`: a code listing or a poem, never removed by a text
    /// rule.
    pub(crate) const PRE: ParaFlags = ParaFlags(1 << 0);
    /// A table cell: data, never removed by a text rule.
    pub(crate) const CELL: ParaFlags = ParaFlags(1 << 1);
    /// A heading (`h1`–`h6`).
    pub(crate) const HEADING: ParaFlags = ParaFlags(1 << 2);
    /// Inside a plain `<blockquote>`: quoted text, where only the embed
    /// rules (a tweet whose embed class was stripped) apply.
    pub(crate) const QUOTE: ParaFlags = ParaFlags(1 << 3);

    pub(crate) fn has(self, other: ParaFlags) -> bool {
        self.0 & other.0 != 0
    }
}

/// Paragraphs of an HTML fragment, with what the markup says was not
/// article text: embeds, widgets, captions.
pub(crate) struct Extracted {
    pub(crate) paragraphs: Vec<String>,
    /// Per paragraph: where its text sat.
    pub(crate) flags: Vec<ParaFlags>,
    /// Per paragraph: its markup, as the block classifier reads it.
    pub(crate) markup: Vec<BlockMarkup>,
    /// Removed pieces, each with the number of paragraphs before it.
    pub(crate) removed: Vec<(usize, Removed)>,
    pub(crate) embeds: Vec<(usize, Embed)>,
}

/// How many `<pre>`, table cells, headings and blockquotes are open (the
/// cleaner's walk and the extractor's block scores keep it alike).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Nesting {
    pub(crate) pre: usize,
    pub(crate) cell: usize,
    pub(crate) heading: usize,
    pub(crate) quote: usize,
}

impl Nesting {
    /// An element opened or closed; those that set no flag change nothing.
    pub(crate) fn nest(&mut self, name: &str, open: bool) {
        let counter = match name {
            "pre" => &mut self.pre,
            "td" | "th" => &mut self.cell,
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => &mut self.heading,
            "blockquote" => &mut self.quote,
            _ => return,
        };
        *counter = if open { *counter + 1 } else { counter.saturating_sub(1) };
    }
}

/// A paragraph's text as lines where `<br>`s broke it (`breaks`: byte
/// offsets), each normalised, the empty ones dropped, joined by line
/// breaks. One line, the common case, is normalised in one pass.
pub(crate) fn join_lines(text: &str, breaks: &[usize]) -> String {
    if breaks.is_empty() {
        return normalize_paragraph(text);
    }
    let mut p = String::new();
    let mut from = 0;
    for end in breaks.iter().copied().chain([text.len()]) {
        let line = normalize_paragraph(text.get(from..end).unwrap_or_default());
        from = end;
        if !line.is_empty() {
            if !p.is_empty() {
                p.push('\n');
            }
            p.push_str(&line);
        }
    }
    p
}

/// Builds paragraphs from text, line breaks and block boundaries.
#[derive(Default)]
struct Builder {
    paragraphs: Vec<String>,
    flags: Vec<ParaFlags>,
    current: String,
    /// Where `<br>`s broke the current paragraph's text (byte offsets).
    breaks: Vec<usize>,
    nesting: Nesting,
    /// Where the current paragraph's text sat.
    current_flags: ParaFlags,
    /// The current paragraph's text is preformatted.
    current_pre: bool,
    /// The open elements, for the block classifier.
    path: PathTracker,
    markup: Vec<BlockMarkup>,
    current_markup: BlockMarkup,
}

impl Builder {
    fn text(&mut self, t: &str) {
        let n = self.nesting;
        if n.pre > 0 {
            self.current_pre = true;
        }
        let mut f = self.current_flags.0;
        for (open, flag) in [(n.cell, ParaFlags::CELL), (n.heading, ParaFlags::HEADING), (n.quote, ParaFlags::QUOTE)] {
            if open > 0 && !t.trim().is_empty() {
                f |= flag.0;
            }
        }
        self.current_flags = ParaFlags(f);
        self.path.text(t, self.current.is_empty(), &mut self.current_markup);
        self.current.push_str(t);
    }

    fn line_break(&mut self) {
        if self.nesting.pre > 0 {
            self.current_pre = true;
            self.current.push('\n');
        } else {
            self.breaks.push(self.current.len());
        }
    }

    fn flush(&mut self) {
        if self.current_pre {
            for p in preformatted(&self.current) {
                self.paragraphs.push(p);
                self.flags.push(ParaFlags(self.current_flags.0 | ParaFlags::PRE.0));
                self.markup.push(self.current_markup);
            }
        } else if !self.current.is_empty() {
            let p = join_lines(&self.current, &self.breaks);
            if !p.is_empty() {
                self.paragraphs.push(p);
                self.flags.push(self.current_flags);
                self.markup.push(self.current_markup);
            }
        }
        self.current_markup.clear();
        self.current.clear();
        self.breaks.clear();
        self.current_pre = false;
        self.current_flags = ParaFlags::default();
    }
}

/// The paragraphs of a `<pre>` block's text: its lines with their
/// indentation, trailing whitespace trimmed; a blank line separates
/// paragraphs (the body joins paragraphs with one, so the text reads as
/// written).
fn preformatted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        let line = line.trim_end();
        if line.trim_start().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if !current.is_empty() {
            current.push('\n');
        }
        if line.is_ascii() {
            current.push_str(line);
        } else {
            current.extend(line.chars().filter(|&c| c != '\u{200b}' && c != '\u{feff}').nfc());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Which markup rules are off, by [`MarkupRule::index`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MarkupSwitches {
    pub(crate) disabled: u32,
}

impl MarkupSwitches {
    fn on(self, rule: MarkupRule) -> bool {
        self.disabled & (1 << rule.index()) == 0
    }
}

/// Paragraphs of an HTML fragment or document.
pub(crate) fn to_paragraphs(html: &str, switches: MarkupSwitches) -> Extracted {
    let doc = parse(html);
    let x = walk(&doc, Some(switches));
    if let Some(inner) = escaped_markup(&doc, &x.paragraphs) {
        return walk(&parse(&inner), Some(switches));
    }
    x
}

/// Paragraphs only, for feeds with cleaning off: scripts, styles, forms and
/// players still go (they are not text), but embeds, widgets and captions
/// stay as text.
pub(crate) fn structure_only(html: &str) -> Vec<String> {
    let doc = parse(html);
    let x = walk(&doc, None);
    if let Some(inner) = escaped_markup(&doc, &x.paragraphs) {
        return walk(&parse(&inner), None).paragraphs;
    }
    x.paragraphs
}

/// What the markup rules decided, per element they matched.
struct Plan {
    /// Elements to drop and record, with what they are and the rule.
    drop: HashMap<ego_tree::NodeId, (Special, MarkupRule)>,
}

/// The first pass: every element a markup rule matches, the facts of each,
/// and [`guard`]'s verdict.
fn plan(doc: &Html, switches: MarkupSwitches) -> Plan {
    struct Candidate<'a> {
        node: NodeRef<'a, Node>,
        special: Special,
        rule: MarkupRule,
        facts: Facts,
    }
    let mut candidates: Vec<Candidate<'_>> = Vec::new();
    let mut item_text = 0;
    let mut skipping: Option<ego_tree::NodeId> = None;
    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) => {
                if skipping.is_some() {
                    continue;
                }
                match node.value() {
                    Node::Text(t) => item_text += t.trim().len(),
                    Node::Element(e) => {
                        if is_dropped(e.name()) {
                            skipping = Some(node.id());
                        } else if let Some((special, rule)) = classify(e)
                            && switches.on(rule)
                        {
                            let facts = if rule == MarkupRule::SocialEmbed || rule == MarkupRule::Iframe {
                                Facts::default()
                            } else {
                                markup::facts(node)
                            };
                            candidates.push(Candidate { node, special, rule, facts });
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if skipping == Some(node.id()) {
                    skipping = None;
                }
            }
        }
    }
    // Elements built alike (same tag, same class, same rule) are judged
    // together: one card of a card list is small, the list is the article.
    let mut groups: HashMap<(&str, &str, MarkupRule), (usize, usize)> = HashMap::new();
    fn key<'a>(c: &Candidate<'a>) -> (&'a str, &'a str, MarkupRule) {
        let e = c.node.value().as_element();
        (e.map_or("", |e| e.name()), e.and_then(|e| attr(e, local_name!("class"))).unwrap_or(""), c.rule)
    }
    for c in &candidates {
        let g = groups.entry(key(c)).or_default();
        g.0 += c.facts.text;
        g.1 += c.facts.links;
    }
    let mut drop = HashMap::with_capacity(candidates.len());
    for c in &candidates {
        let (group_text, group_links) = groups.get(&key(c)).copied().unwrap_or_default();
        let facts = Facts { group_text, group_links, item_text, ..c.facts };
        if guard(c.rule, &facts).is_none() {
            drop.insert(c.node.id(), (c.special, c.rule));
        }
    }
    // A short heading right before a dropped widget is the widget's title
    // ("Mehr zum Thema" over a related list), when nothing of the article
    // follows the widget in that heading's section.
    let mut titles = Vec::new();
    for (&id, &(special, rule)) in &drop {
        if !matches!(rule, MarkupRule::ShareWidget | MarkupRule::RelatedWidget | MarkupRule::NewsletterBox) {
            continue;
        }
        let Some(node) = doc.tree.get(id) else { continue };
        if let Some(heading) = widget_title(node, &drop) {
            titles.push((heading, (special, rule)));
        }
    }
    drop.extend(titles);
    Plan { drop }
}

/// Longest heading taken as a widget's title.
const MAX_WIDGET_TITLE: usize = 60;

/// The heading just before `widget` that titles it, if there is one: short,
/// not matched by a rule itself, and with nothing but dropped elements
/// after the widget until the next heading.
fn widget_title(
    widget: NodeRef<'_, Node>,
    drop: &HashMap<ego_tree::NodeId, (Special, MarkupRule)>,
) -> Option<ego_tree::NodeId> {
    let is_heading = |n: &NodeRef<'_, Node>| {
        n.value().as_element().is_some_and(|e| matches!(e.name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6"))
    };
    let heading = widget.prev_siblings().find(|n| match n.value() {
        Node::Text(t) => !t.trim().is_empty(),
        Node::Element(_) => true,
        _ => false,
    })?;
    if !is_heading(&heading) || drop.contains_key(&heading.id()) || text_of(heading).len() > MAX_WIDGET_TITLE {
        return None;
    }
    for after in widget.next_siblings() {
        if is_heading(&after) {
            break;
        }
        let holds_text = match after.value() {
            Node::Text(t) => !t.trim().is_empty(),
            Node::Element(e) => !drop.contains_key(&after.id()) && !is_dropped(e.name()) && !text_of(after).is_empty(),
            _ => false,
        };
        if holds_text {
            return None;
        }
    }
    Some(heading.id())
}

/// The second pass. `switches` is None for structure only (no markup rule
/// runs; iframes still go, silently).
fn walk(doc: &Html, switches: Option<MarkupSwitches>) -> Extracted {
    let plan = switches.map(|s| plan(doc, s));
    let mut out = Builder::default();
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
                    Node::Text(t) => out.text(t),
                    Node::Element(e) => {
                        let name = e.name();
                        if name == "br" {
                            out.line_break();
                            continue;
                        }
                        if is_dropped(name) {
                            skipping = Some(node.id());
                            continue;
                        }
                        let special = match &plan {
                            Some(plan) => plan.drop.get(&node.id()).copied(),
                            None if name == "iframe" => Some((Special::Frame, MarkupRule::Iframe)),
                            None => None,
                        };
                        if is_block(name) {
                            out.flush();
                        }
                        let Some((special, rule)) = special else {
                            out.nesting.nest(name, true);
                            out.path.open(node.id(), e);
                            continue;
                        };
                        let at = out.paragraphs.len();
                        let record = |kind: RemovedKind, text: String| Removed::new(kind, rule.name(), text);
                        match special {
                            Special::Post(kind) if plan.is_some() => {
                                let text = text_of(node);
                                embeds.push((at, post_embed(node, kind)));
                                removed.push((at, record(RemovedKind::SocialEmbed, text)));
                            }
                            Special::Frame if plan.is_some() => {
                                if let Some(embed) = frame_embed(e) {
                                    let kind = match embed.kind.as_str() {
                                        "youtube" | "vimeo" | "media" => RemovedKind::MediaEmbed,
                                        _ => RemovedKind::SocialEmbed,
                                    };
                                    let text = attr(e, local_name!("src")).unwrap_or_default().to_string();
                                    removed.push((at, record(kind, text)));
                                    embeds.push((at, embed));
                                }
                            }
                            Special::Widget(kind) => {
                                let text = text_of(node);
                                if !text.is_empty() {
                                    removed.push((at, record(kind, text)));
                                }
                            }
                            Special::Caption => {
                                let text = text_of(node);
                                if !text.is_empty() {
                                    removed.push((at, record(RemovedKind::Caption, text)));
                                }
                            }
                            Special::MoreLink => {
                                let text = text_of(node);
                                removed.push((at, record(RemovedKind::Truncation, text)));
                            }
                            Special::Post(_) | Special::Frame => {}
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
                if let Node::Element(e) = node.value() {
                    if is_block(e.name()) {
                        out.flush();
                    }
                    out.nesting.nest(e.name(), false);
                    out.path.close(node.id());
                }
            }
        }
    }
    out.flush();
    Extracted { paragraphs: out.paragraphs, flags: out.flags, markup: out.markup, removed, embeds }
}

/// Tags whose escaped form marks an item whose HTML was escaped twice.
const ESCAPED_TAGS: [&str; 24] = [
    "p",
    "a",
    "div",
    "br",
    "img",
    "span",
    "strong",
    "em",
    "b",
    "i",
    "h1",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "li",
    "blockquote",
    "figure",
    "iframe",
    "table",
    "section",
    "article",
    "!--",
];

/// When the text of `doc` is itself HTML (a feed escaped its markup twice),
/// that HTML. The test is strict, so an article *about* HTML keeps its
/// quoted tags as text: the text starts with a tag and ends with one,
/// holds at least two tags and an end tag, and the item has no `<pre>`,
/// `<code>`, `<textarea>` or `<xmp>` where quoted markup lives.
fn escaped_markup(doc: &Html, paragraphs: &[String]) -> Option<String> {
    let first = paragraphs.first()?;
    let opens_with_tag = first.strip_prefix('<').is_some_and(|rest| {
        ESCAPED_TAGS.iter().any(|t| {
            rest.len() > t.len()
                && rest.as_bytes()[..t.len()].eq_ignore_ascii_case(t.as_bytes())
                && (*t == "!--" || matches!(rest.as_bytes()[t.len()], b'>' | b' ' | b'/' | b'\n'))
        })
    });
    let closes_with_tag = paragraphs.last().is_some_and(|p| p.ends_with('>'));
    if !opens_with_tag || !closes_with_tag {
        return None;
    }
    let mut tags = 0;
    let mut end_tags = 0;
    for p in paragraphs {
        for (i, _) in p.match_indices('<') {
            let rest = &p[i + 1..];
            let (end, rest) = match rest.strip_prefix('/') {
                Some(r) => (true, r),
                None => (false, rest),
            };
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            if ESCAPED_TAGS.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
                tags += 1;
                end_tags += usize::from(end);
            }
        }
    }
    if tags < 2 || end_tags == 0 {
        return None;
    }
    let mut text = String::new();
    for node in doc.tree.root().descendants() {
        match node.value() {
            Node::Element(e) if matches!(e.name(), "pre" | "code" | "textarea" | "xmp" | "plaintext") => return None,
            Node::Text(t) => {
                if node.parent().and_then(|p| p.value().as_element()).is_some_and(|e| is_dropped(e.name())) {
                    continue;
                }
                text.push_str(t);
                text.push('\n');
            }
            _ => {}
        }
    }
    Some(text)
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

    fn to_paragraphs_default(html: &str) -> Extracted {
        to_paragraphs(html, MarkupSwitches::default())
    }

    fn paras(html: &str) -> Vec<String> {
        to_paragraphs(html, MarkupSwitches::default()).paragraphs
    }

    #[test]
    fn blocks_become_paragraphs_and_inline_text_stays_whole() {
        assert_eq!(
            paras("<p>One <b>bold</b> and <a href='x'>linked</a> word.</p><h2>Head</h2><ul><li>a</li><li>b</li></ul>"),
            ["One bold and linked word.", "Head", "a", "b"]
        );
    }

    #[test]
    fn br_breaks_a_line_inside_its_paragraph() {
        assert_eq!(paras("<p>line one<br>line two<br/>three</p>"), ["line one\nline two\nthree"]);
        // Source newlines are whitespace; empty lines and edges vanish.
        assert_eq!(
            paras("<p><br>Ann Lee\n  Mill Road<br><br> 4 <b>Leeds</b> <br></p>"),
            ["Ann Lee Mill Road\n4 Leeds"]
        );
    }

    #[test]
    fn pre_keeps_its_lines_and_indentation() {
        let c = to_paragraphs_default(
            "<p>Intro.</p><pre><code>fn main() {\n    println!(\"hi\");  \n}\n\n// © 2024 Example Ltd\n</code></pre><p>After.</p>",
        );
        assert_eq!(
            c.paragraphs,
            ["Intro.", "fn main() {\n    println!(\"hi\");\n}", "// © 2024 Example Ltd", "After."]
        );
        let pre: Vec<bool> = c.flags.iter().map(|f| f.has(ParaFlags::PRE)).collect();
        assert_eq!(pre, [false, true, true, false]);
        // A <br> inside <pre> is a line break too.
        assert_eq!(paras("<pre>a<br>  b</pre>"), ["a\n  b"]);
    }

    #[test]
    fn html_escaped_twice_is_read_as_html() {
        let c = to_paragraphs_default(
            "&lt;p&gt;First &lt;a href=&quot;https://e.example/x&quot;&gt;linked&lt;/a&gt; words.&lt;/p&gt;\n&lt;p&gt;Second &amp;amp; last.&lt;/p&gt;",
        );
        assert_eq!(c.paragraphs, ["First linked words.", "Second & last."]);
        // Wrapped in a real paragraph, with an embed inside.
        let c = to_paragraphs_default(
            "<p>&lt;p&gt;Lede.&lt;/p&gt;&lt;iframe src=&quot;https://www.youtube.com/embed/abc&quot;&gt;&lt;/iframe&gt;&lt;p&gt;End.&lt;/p&gt;</p>",
        );
        assert_eq!(c.paragraphs, ["Lede.", "End."]);
        assert_eq!(c.embeds.len(), 1);
        // An article about HTML keeps the markup it quotes.
        for html in [
            "<p>&lt;p&gt; opens a paragraph and &lt;/p&gt; closes it, the tutorial says.</p>",
            "<p>Use a paragraph:</p><pre><code>&lt;p&gt;Hello&lt;/p&gt;</code></pre>",
            "<p>&lt;br&gt; breaks a line.</p>",
        ] {
            let c = to_paragraphs_default(html);
            assert!(c.paragraphs.iter().any(|p| p.contains('<')), "{html}: {:?}", c.paragraphs);
        }
    }

    #[test]
    fn a_self_closed_script_does_not_swallow_the_item() {
        assert_eq!(
            paras(
                "<p>Before.</p><script type=\"text/javascript\" src=\"https://e.example/w.js\" /><p>After one.</p><p>After two.</p>"
            ),
            ["Before.", "After one.", "After two."]
        );
    }

    #[test]
    fn drops_scripts_styles_iframes_and_captions() {
        let c = to_paragraphs_default(
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
        let c = to_paragraphs_default(
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
        let c = to_paragraphs_default(
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
        let c = to_paragraphs_default(&format!("<div class=\"entry-content share-enabled\">{article}</div>"));
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
