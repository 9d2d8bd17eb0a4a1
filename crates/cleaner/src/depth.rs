//! A linear pre-pass that bounds what html5ever's tree builder must track.
//!
//! The tree builder checks "is an element in scope" by walking its stack of
//! open elements, and re-opens every "active formatting element" (`<b>`,
//! `<i>`, `<a>`, `<font>`, …) that a block end tag closed at the next text,
//! so hostile markup costs time quadratic in its size: 1 MiB of
//! `<div><div>…`, of `<p><b id=1>x</p><p><b id=2>x</p>…` (every paragraph
//! re-opens every earlier `<b>`), of `<b><div>x</b>` (the adoption agency
//! leaves each `<div>` open), or one tag with 100,000 attributes (each
//! checked against the earlier ones for duplicates).
//!
//! This pass tokenises just enough HTML (tags and their attributes, comments,
//! raw-text elements) to follow a model of the parser's stack and of its
//! list of active formatting elements, and removes markup that no real
//! article needs:
//!
//! - start tags nested deeper than [`MAX_DEPTH`], with their end tags;
//! - formatting start tags while [`MAX_FORMATTING`] formatting elements are
//!   active (open, or closed by a block and waiting to be re-opened);
//! - attributes of one tag beyond [`MAX_ATTRIBUTES`].
//!
//! Text is always kept. The model errs on the side of depth: where it cannot
//! tell what the parser does with an end tag it assumes the parser closed
//! nothing (the parser ignores end tags that would cross a block it did not
//! open, a table or a cell, and the adoption agency keeps blocks open), so a
//! misnested document can only make it drop more markup, not let more
//! through. Start tags the parser ignores (a second `<body>`, `<td>` outside
//! a table, most tags inside `<select>`) are not counted as opening anything.

use std::borrow::Cow;

/// Start tags nested deeper than this are dropped.
pub(crate) const MAX_DEPTH: usize = 256;

/// Formatting start tags are dropped while this many formatting elements are
/// active: each of them may be re-opened at every text, so the cost of a
/// document grows with this number times its length.
pub(crate) const MAX_FORMATTING: usize = 12;

/// Attributes of one tag beyond this are dropped: the tokenizer checks each
/// attribute against the earlier ones of its tag.
pub(crate) const MAX_ATTRIBUTES: usize = 128;

/// How far down a deep stack an end tag looks for its start tag.
const MAX_SEARCH: usize = 64;

/// The adoption agency gives up after this many blocks.
const ADOPTION_LOOPS: usize = 8;

fn one_of(name: &str, set: &[&str]) -> bool {
    set.iter().any(|v| v.eq_ignore_ascii_case(name))
}

fn is_void(name: &str) -> bool {
    one_of(
        name,
        &[
            "area", "base", "br", "col", "embed", "hr", "img", "image", "input", "link", "meta", "param", "source",
            "track", "wbr", "keygen", "basefont", "bgsound", "frame",
        ],
    )
}

/// Start tags the parser never opens a second element for (the document's
/// own `<html>`, `<head>`, `<body>` are created for it anyway).
fn is_root(name: &str) -> bool {
    one_of(name, &["html", "head", "body", "frameset"])
}

fn is_raw_text(name: &str) -> bool {
    one_of(name, &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"])
}

/// The parser's formatting elements: kept in the list of active formatting
/// elements and re-opened after a block closes them.
fn is_formatting(name: &str) -> bool {
    one_of(name, &["a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u"])
}

/// Table structure: opened only inside a table.
fn is_table_part(name: &str) -> bool {
    one_of(name, &["caption", "colgroup", "tbody", "thead", "tfoot", "tr", "td", "th"])
}

/// The parser's "special" elements: an end tag for an ordinary element never
/// closes one of these, and the adoption agency keeps them open.
fn is_special(name: &str) -> bool {
    one_of(
        name,
        &[
            "address",
            "applet",
            "area",
            "article",
            "aside",
            "base",
            "basefont",
            "bgsound",
            "blockquote",
            "body",
            "br",
            "button",
            "caption",
            "center",
            "col",
            "colgroup",
            "dd",
            "details",
            "dialog",
            "dir",
            "div",
            "dl",
            "dt",
            "embed",
            "fieldset",
            "figcaption",
            "figure",
            "footer",
            "form",
            "frame",
            "frameset",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "head",
            "header",
            "hgroup",
            "hr",
            "html",
            "iframe",
            "img",
            "input",
            "keygen",
            "li",
            "link",
            "listing",
            "main",
            "marquee",
            "menu",
            "meta",
            "nav",
            "noembed",
            "noframes",
            "noscript",
            "object",
            "ol",
            "p",
            "param",
            "plaintext",
            "pre",
            "script",
            "search",
            "section",
            "select",
            "source",
            "style",
            "summary",
            "table",
            "tbody",
            "td",
            "template",
            "textarea",
            "tfoot",
            "th",
            "thead",
            "title",
            "tr",
            "track",
            "ul",
            "wbr",
            "xmp",
            // SVG and MathML integration points.
            "foreignobject",
            "desc",
            "mi",
            "mo",
            "mn",
            "ms",
            "mtext",
            "annotation-xml",
        ],
    )
}

/// End tags that close everything above their element (when it is in
/// scope), blocks included.
fn pops_until(name: &str) -> bool {
    one_of(
        name,
        &[
            "address",
            "article",
            "aside",
            "blockquote",
            "button",
            "center",
            "details",
            "dialog",
            "dir",
            "div",
            "dl",
            "fieldset",
            "figcaption",
            "figure",
            "footer",
            "header",
            "hgroup",
            "listing",
            "main",
            "menu",
            "nav",
            "ol",
            "pre",
            "search",
            "section",
            "summary",
            "ul",
            "p",
            "li",
            "dd",
            "dt",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "applet",
            "marquee",
            "object",
            "template",
            "table",
            "caption",
            "colgroup",
            "tbody",
            "thead",
            "tfoot",
            "tr",
            "td",
            "th",
        ],
    )
}

/// Whether an open `open` element hides an element below it from an end tag
/// `name` (the parser's scopes).
fn is_boundary(name: &str, open: &str) -> bool {
    if is_table_part(name) || name.eq_ignore_ascii_case("table") {
        return one_of(open, &["html", "table", "template"]);
    }
    one_of(
        open,
        &[
            "applet",
            "caption",
            "html",
            "table",
            "td",
            "th",
            "marquee",
            "object",
            "template",
            "foreignobject",
            "desc",
            "title",
            "mi",
            "mo",
            "mn",
            "ms",
            "mtext",
            "annotation-xml",
        ],
    ) || (name.eq_ignore_ascii_case("p") && open.eq_ignore_ascii_case("button"))
        || (name.eq_ignore_ascii_case("li") && one_of(open, &["ol", "ul"]))
}

/// HTML start tags that end foreign (SVG, MathML) content.
fn breaks_out(name: &str, attrs: &str) -> bool {
    one_of(
        name,
        &[
            "b",
            "big",
            "blockquote",
            "body",
            "br",
            "center",
            "code",
            "dd",
            "div",
            "dl",
            "dt",
            "em",
            "embed",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "head",
            "hr",
            "i",
            "img",
            "li",
            "listing",
            "menu",
            "meta",
            "nobr",
            "ol",
            "p",
            "pre",
            "ruby",
            "s",
            "small",
            "span",
            "strong",
            "strike",
            "sub",
            "sup",
            "table",
            "tt",
            "u",
            "ul",
            "var",
        ],
    ) || (name.eq_ignore_ascii_case("font") && {
        let a = attrs.to_ascii_lowercase();
        a.contains("color") || a.contains("face") || a.contains("size")
    })
}

/// Foreign elements whose content is HTML again.
fn integrates(name: &str, attrs: &str) -> bool {
    one_of(name, &["foreignobject", "desc", "title", "mi", "mo", "mn", "ms", "mtext"])
        || (name.eq_ignore_ascii_case("annotation-xml") && {
            let a = attrs.to_ascii_lowercase();
            a.contains("text/html") || a.contains("application/xhtml+xml")
        })
}

/// Start tags that close an open `<p>`.
fn closes_p(name: &str) -> bool {
    one_of(
        name,
        &[
            "address",
            "article",
            "aside",
            "blockquote",
            "center",
            "details",
            "dialog",
            "dir",
            "div",
            "dl",
            "fieldset",
            "figcaption",
            "figure",
            "footer",
            "form",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hgroup",
            "hr",
            "main",
            "menu",
            "nav",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "ul",
            "li",
            "dd",
            "dt",
            "summary",
            "search",
        ],
    )
}

/// For a start tag, the open siblings it implicitly closes.
fn closes_sibling(name: &str, open: &str) -> bool {
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    (eq(open, "p") && closes_p(name))
        || (eq(name, "li") && eq(open, "li"))
        || ((eq(name, "dt") || eq(name, "dd")) && (eq(open, "dt") || eq(open, "dd")))
        || (eq(name, "tr") && (eq(open, "tr") || eq(open, "td") || eq(open, "th")))
        || ((eq(name, "td") || eq(name, "th")) && (eq(open, "td") || eq(open, "th")))
        || ((eq(name, "option") || eq(name, "optgroup")) && eq(open, "option"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Its start tag is in the output: the parser has it open.
    Kept,
    /// Its start tag was cut: the parser never saw it.
    Dropped,
    /// Closed out of order (the adoption agency, `</form>`): no longer open.
    Gone,
}

struct Open<'a> {
    name: &'a str,
    state: State,
    /// Its entry in the formatting list, for formatting elements.
    fmt: Option<u32>,
    /// An SVG or MathML element.
    foreign: bool,
    /// Whether its content is foreign: SVG or MathML, not an integration point.
    foreign_content: bool,
    /// Whether the content below it was foreign when it was pushed.
    below: bool,
}

/// An entry of the list of active formatting elements.
struct Fmt<'a> {
    id: u32,
    name: &'a str,
    /// The tag's attributes as written, for the "Noah's Ark" rule (at most
    /// three identical entries).
    attrs: &'a str,
    /// Whether it is on the stack (otherwise the next text re-opens it).
    open: bool,
}

/// Output under construction: borrowed until the first cut.
struct Out<'a> {
    src: &'a str,
    out: Option<String>,
    /// Bytes of `src` before this are accounted for.
    copied: usize,
}

impl Out<'_> {
    /// Leave `src[start..end]` out of the output.
    fn cut(&mut self, start: usize, end: usize) {
        if end <= start {
            return;
        }
        let out = self.out.get_or_insert_with(|| String::with_capacity(self.src.len()));
        out.push_str(&self.src[self.copied..start]);
        self.copied = end;
    }
}

/// A tag after its name: where it ends, whether it is self-closing, where
/// its attributes start, and the range of attributes beyond
/// [`MAX_ATTRIBUTES`].
struct TagRest {
    end: usize,
    self_closing: bool,
    /// Attributes beyond the cap: from the first such to the tag's end.
    excess: Option<(usize, usize)>,
}

/// Scan the attributes of a tag whose name ends at `i`, the way the
/// tokenizer does (quoted and unquoted values, `/` between attributes).
fn scan_tag(b: &[u8], mut i: usize) -> TagRest {
    let mut count = 0usize;
    let mut excess_from = None;
    let mut self_closing = false;
    let done = |i: usize, excess_from: Option<usize>, self_closing: bool, end: usize| TagRest {
        end,
        self_closing,
        excess: excess_from.map(|s| (s, i)),
    };
    loop {
        // Before an attribute name.
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            self_closing = b[i] == b'/' && b.get(i + 1) == Some(&b'>');
            i += 1;
        }
        if i >= b.len() {
            return done(i, excess_from, false, b.len());
        }
        if b[i] == b'>' {
            let cut_to = if self_closing { i - 1 } else { i };
            return done(cut_to, excess_from, self_closing, i + 1);
        }
        self_closing = false;
        // An attribute name (a leading '=' belongs to it).
        let start = i;
        i += 1;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        count += 1;
        if count == MAX_ATTRIBUTES + 1 {
            excess_from = Some(start);
        }
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q) if q == b'"' || q == b'\'' => match memchr(q, &b[i + 1..]) {
                    Some(off) => i += off + 2,
                    None => return done(b.len(), excess_from, false, b.len()),
                },
                Some(b'>') | None => {}
                Some(_) => {
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                }
            }
        }
    }
}

/// End of a tag whose name ends at `i`: the index just past its `>`, or the
/// end of input.
fn tag_end(b: &[u8], i: usize) -> usize {
    scan_tag(b, i).end
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&c| c == needle)
}

fn name_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'/' && b[i] != b'>' {
        i += 1;
    }
    i
}

/// Find `</name` (any case) at or after `from`; the index of its `<`.
fn find_end_tag(src: &str, from: usize, name: &str) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = from;
    while let Some(off) = memchr(b'<', &b[i..]) {
        let at = i + off;
        let rest = &b[at + 1..];
        if rest.first() == Some(&b'/')
            && rest.len() > name.len()
            && rest[1..=name.len()].eq_ignore_ascii_case(name.as_bytes())
            && rest.get(name.len() + 1).is_none_or(|c| c.is_ascii_whitespace() || *c == b'>' || *c == b'/')
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// The end of a comment that starts at `lt` (`<!--`): after `-->` or
/// `--!>`, or the abrupt `<!-->` and `<!--->`; the end of input when open.
fn comment_end(html: &str, lt: usize) -> usize {
    let body = lt + 4;
    let rest = &html[body..];
    if rest.starts_with('>') {
        return body + 1;
    }
    if rest.starts_with("->") {
        return body + 2;
    }
    let close = rest.find("-->").map(|e| e + 3);
    let bang = rest.find("--!>").map(|e| e + 4);
    match (close, bang) {
        (Some(a), Some(b)) => body + a.min(b),
        (Some(a), None) | (None, Some(a)) => body + a,
        (None, None) => html.len(),
    }
}

/// The model of the tree builder's stack and formatting list.
struct Model<'a> {
    stack: Vec<Open<'a>>,
    /// Kept entries on the stack.
    depth: usize,
    afe: Vec<Fmt<'a>>,
    next_id: u32,
    /// Kept `<table>`s on the stack.
    tables: usize,
    /// Kept `<select>`s on the stack.
    selects: usize,
}

impl<'a> Model<'a> {
    /// Whether the parser's current node has foreign content.
    fn foreign(&self) -> bool {
        self.stack.last().is_some_and(|o| if o.state == State::Kept { o.foreign_content } else { o.below })
    }

    /// Pop `stack[at..]`.
    fn drain(&mut self, at: usize) {
        for o in self.stack.drain(at..) {
            if o.state != State::Kept {
                continue;
            }
            self.depth -= 1;
            if o.name.eq_ignore_ascii_case("table") {
                self.tables -= 1;
            } else if o.name.eq_ignore_ascii_case("select") {
                self.selects -= 1;
            }
            if let Some(id) = o.fmt
                && let Some(f) = self.afe.iter_mut().find(|f| f.id == id)
            {
                f.open = false;
            }
        }
    }

    /// Mark a kept entry closed out of order.
    fn close_one(&mut self, at: usize) {
        let o = &mut self.stack[at];
        if o.state == State::Kept {
            o.state = State::Gone;
            self.depth -= 1;
            if o.name.eq_ignore_ascii_case("table") {
                self.tables -= 1;
            } else if o.name.eq_ignore_ascii_case("select") {
                self.selects -= 1;
            }
            if let Some(id) = o.fmt {
                self.afe.retain(|f| f.id != id);
            }
        }
    }

    fn push(&mut self, name: &'a str, state: State, fmt: Option<u32>, foreign: bool, foreign_content: bool) {
        if state == State::Kept {
            self.depth += 1;
            if name.eq_ignore_ascii_case("table") {
                self.tables += 1;
            } else if name.eq_ignore_ascii_case("select") {
                self.selects += 1;
            }
        }
        let below = self.foreign();
        self.stack.push(Open { name, state, fmt, foreign, foreign_content, below });
    }

    /// Re-open the formatting elements a block closed, as the parser does
    /// before text and most start tags.
    fn reconstruct(&mut self) {
        let from = self.afe.iter().rposition(|f| f.open).map_or(0, |p| p + 1);
        for k in from..self.afe.len() {
            self.afe[k].open = true;
            let (name, id) = (self.afe[k].name, self.afe[k].id);
            self.push(name, State::Kept, Some(id), false, false);
        }
    }

    /// The stack index of an open formatting entry, if within reach.
    fn position_of(&self, id: u32) -> Option<usize> {
        let limit = if self.stack.len() > 2 * MAX_DEPTH { MAX_SEARCH } else { self.stack.len() };
        self.stack.iter().rev().take(limit).position(|o| o.fmt == Some(id)).map(|k| self.stack.len() - 1 - k)
    }

    /// Kept entries above `at`.
    fn above(&self, at: usize) -> impl Iterator<Item = &Open<'a>> {
        self.stack[at + 1..].iter().filter(|o| o.state == State::Kept)
    }

    /// An end tag for a formatting element: the adoption agency. Returns
    /// false when no formatting entry has this name.
    fn adoption(&mut self, name: &str) -> bool {
        let Some(k) = self.afe.iter().rposition(|f| f.name.eq_ignore_ascii_case(name)) else {
            return false;
        };
        if !self.afe[k].open {
            // Closed by a block already: the parser forgets it.
            self.afe.remove(k);
            return true;
        }
        let Some(at) = self.position_of(self.afe[k].id) else {
            return true; // out of reach: assume nothing closes
        };
        if self.above(at).any(|o| is_boundary(name, o.name)) {
            return true; // not in scope: ignored
        }
        let blocks = self.above(at).filter(|o| is_special(o.name)).count();
        if blocks == 0 {
            self.afe.remove(k);
            self.drain(at);
        } else if blocks < ADOPTION_LOOPS {
            // The blocks stay open; the formatting element goes.
            self.close_one(at);
        }
        true
    }

    /// An end tag not handled by the adoption agency. Returns whether to cut it.
    fn end_tag(&mut self, name: &str) -> bool {
        let limit = if self.stack.len() > 2 * MAX_DEPTH { MAX_SEARCH } else { self.stack.len() };
        let found = self
            .stack
            .iter()
            .rev()
            .take(limit)
            .position(|o| o.state != State::Gone && o.name.eq_ignore_ascii_case(name))
            .map(|k| self.stack.len() - 1 - k);
        let Some(at) = found else {
            // A stray end tag: the parser ignores most; keep it unless the
            // stack is deep, where it cannot matter.
            return self.stack.len() > MAX_DEPTH;
        };
        if self.stack[at].state == State::Dropped {
            // The parser never saw the start tag: cut the end tag too.
            if self.above(at).next().is_none() {
                self.drain(at);
            } else {
                self.stack[at].state = State::Gone;
            }
            return true;
        }
        let top_foreign = self.foreign();
        if self.stack[at].foreign && top_foreign {
            // Foreign content: the end tag closes its element across any
            // foreign elements, but not across HTML ones.
            if self.above(at).all(|o| o.foreign) {
                self.drain(at);
            }
            return false;
        }
        if self.stack[at].foreign {
            return false; // HTML end tags do not close SVG or MathML elements
        }
        if name.eq_ignore_ascii_case("form") {
            self.close_one(at);
            return false;
        }
        if name.eq_ignore_ascii_case("select") {
            self.drain(at);
            return false;
        }
        let crosses = if pops_until(name) {
            self.above(at).any(|o| is_boundary(name, o.name))
        } else {
            self.above(at).any(|o| is_special(o.name))
        };
        if !crosses {
            self.drain(at);
        }
        false
    }
}

/// `html` with start tags deeper than [`MAX_DEPTH`] (and their end tags),
/// formatting start tags beyond [`MAX_FORMATTING`] and attributes beyond
/// [`MAX_ATTRIBUTES`] removed. Borrowed when nothing was removed.
pub(crate) fn cap_depth(html: &str) -> Cow<'_, str> {
    let b = html.as_bytes();
    let mut out = Out { src: html, out: None, copied: 0 };
    let mut m = Model { stack: Vec::new(), depth: 0, afe: Vec::new(), next_id: 0, tables: 0, selects: 0 };
    let mut i = 0;
    // Text before the next tag re-opens closed formatting elements.
    let mut text_from = 0;
    while let Some(off) = memchr(b'<', &b[i..]) {
        let lt = i + off;
        if lt > text_from && !m.foreign() {
            m.reconstruct();
        }
        let next = b.get(lt + 1).copied();
        match next {
            Some(b'!') => {
                i = if html[lt..].starts_with("<!--") {
                    comment_end(html, lt)
                } else if m.foreign() && html[lt..].starts_with("<![CDATA[") {
                    html[lt + 9..].find("]]>").map_or(b.len(), |e| lt + 9 + e + 3)
                } else {
                    // Doctype or bogus comment.
                    memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1)
                };
            }
            Some(b'?') => {
                i = memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1);
            }
            Some(b'/') if b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic) => {
                let ne = name_end(b, lt + 2);
                let name = &html[lt + 2..ne];
                let rest = scan_tag(b, ne);
                let end = rest.end;
                if let Some((from, to)) = rest.excess {
                    out.cut(from, to);
                }
                // </html>, </head>, </body> close nothing; </br> is a <br>; a
                // formatting end tag goes to the adoption agency.
                let handled = one_of(name, &["html", "head", "body", "br"])
                    || (is_formatting(name) && !m.foreign() && m.adoption(name));
                let cut = !handled && m.end_tag(name);
                if cut {
                    out.cut(lt, end);
                }
                i = end;
            }
            Some(b'/') => {
                // `</` and no letter: a bogus comment up to the next `>`.
                i = memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1);
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let ne = name_end(b, lt + 1);
                let name = &html[lt + 1..ne];
                let rest = scan_tag(b, ne);
                let end = rest.end;
                let attrs = &html[ne..end.max(ne)];
                if let Some((from, to)) = rest.excess {
                    out.cut(from, to);
                }
                i = end;
                start_tag(&mut m, &mut out, html, name, attrs, lt, end, rest.self_closing, &mut i);
            }
            _ => {
                i = lt + 1;
                text_from = lt;
                continue;
            }
        }
        text_from = i;
    }
    if b.len() > text_from && !m.foreign() {
        m.reconstruct();
    }
    match out.out {
        None => Cow::Borrowed(html),
        Some(mut s) => {
            s.push_str(&html[out.copied.min(html.len())..]);
            Cow::Owned(s)
        }
    }
}

/// A start tag `html[lt..end]` named `name`. Moves `i` past raw text.
#[allow(clippy::too_many_arguments)]
fn start_tag<'a>(
    m: &mut Model<'a>,
    out: &mut Out<'a>,
    html: &'a str,
    name: &'a str,
    attrs: &'a str,
    lt: usize,
    end: usize,
    self_closing: bool,
    i: &mut usize,
) {
    let b = html.as_bytes();
    let foreign = m.foreign();
    if foreign && !breaks_out(name, attrs) {
        // SVG or MathML: `/>` closes, raw-text names are ordinary elements.
        if self_closing {
            return;
        }
        let content = !integrates(name, attrs);
        let keep = m.depth < MAX_DEPTH;
        if !keep {
            out.cut(lt, end);
        }
        m.push(name, if keep { State::Kept } else { State::Dropped }, None, true, content);
        return;
    }
    if is_root(name) {
        return;
    }
    if m.selects > 0 {
        // Inside <select> the parser opens options and little else.
        if one_of(name, &["select", "input", "keygen", "textarea"]) || is_table_part(name) {
            if let Some(at) =
                m.stack.iter().rposition(|o| o.state == State::Kept && o.name.eq_ignore_ascii_case("select"))
            {
                m.drain(at);
            }
            if name.eq_ignore_ascii_case("select") {
                return;
            }
        } else if !one_of(name, &["option", "optgroup", "script", "template", "hr", "svg", "math"]) {
            return;
        }
    }
    if is_table_part(name) && m.tables == 0 {
        return; // ignored outside a table
    }
    while let Some(top) = m.stack.last() {
        if closes_sibling(name, top.name) {
            let at = m.stack.len() - 1;
            m.drain(at);
        } else {
            break;
        }
    }
    if is_void(name) {
        return;
    }
    let svg = one_of(name, &["svg", "math"]);
    if svg && self_closing {
        return;
    }
    if !closes_p(name) && !is_table_part(name) && !name.eq_ignore_ascii_case("table") && !svg {
        m.reconstruct();
    }
    let mut keep = m.depth < MAX_DEPTH;
    if is_raw_text(name) && !svg {
        // Raw text: no tags inside until the matching end tag.
        let close = find_end_tag(html, end, name);
        let after = close.map_or(b.len(), |c| tag_end(b, name_end(b, c + 2)));
        if !keep {
            out.cut(lt, after);
        }
        *i = after;
        return;
    }
    let mut fmt = None;
    if is_formatting(name) {
        if one_of(name, &["a", "nobr"])
            && let Some(k) = m.afe.iter().rposition(|f| f.name.eq_ignore_ascii_case(name))
        {
            // A second <a> closes the first.
            let id = m.afe[k].id;
            m.adoption(name);
            if let Some(at) = m.position_of(id) {
                m.close_one(at);
            }
            m.afe.retain(|f| f.id != id);
        }
        // Noah's Ark: the parser keeps at most three identical entries.
        let same: Vec<usize> =
            (0..m.afe.len()).filter(|&k| m.afe[k].name.eq_ignore_ascii_case(name) && m.afe[k].attrs == attrs).collect();
        if same.len() >= 3 {
            m.afe.remove(same[0]);
        }
        if m.afe.len() >= MAX_FORMATTING {
            keep = false;
        } else if keep {
            let id = m.next_id;
            m.next_id += 1;
            m.afe.push(Fmt { id, name, attrs, open: true });
            fmt = Some(id);
        }
    }
    if !keep {
        out.cut(lt, end);
    }
    m.push(name, if keep { State::Kept } else { State::Dropped }, fmt, svg, svg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_html_is_borrowed_unchanged() {
        let html = "<div><p>a <b>b</b></p><script>if (a<b) x='<div>'</script><!-- <div> --></div>";
        assert!(matches!(cap_depth(html), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_tags_are_dropped_and_text_kept() {
        let n = 1_000;
        let html = "<div>".repeat(n) + "deep" + &"</div>".repeat(n) + "<p>after</p>";
        let capped = cap_depth(&html);
        assert_eq!(capped.matches("<div>").count(), MAX_DEPTH);
        assert_eq!(capped.matches("</div>").count(), MAX_DEPTH);
        assert!(capped.contains("deep"));
        assert!(capped.ends_with("<p>after</p>"));
    }

    #[test]
    fn implied_ends_do_not_count_as_depth() {
        let html = "<p>x".repeat(2_000) + &"<li>y".repeat(2_000);
        assert!(matches!(cap_depth(&html), Cow::Borrowed(_)));
    }

    #[test]
    fn quoted_gt_in_attributes_and_unclosed_tags() {
        let html = "<a title='a > b' href=\"x\">link</a><div";
        assert!(matches!(cap_depth(html), Cow::Borrowed(_)));
    }

    #[test]
    fn formatting_elements_reopened_by_paragraphs_are_capped() {
        // Every <p> re-opens every earlier <b>: the parser would hold 2,000.
        let html: String = (0..2_000).map(|i| format!("<p><b id=\"b{i}\">x{i}</p>")).collect();
        let capped = cap_depth(&html);
        assert!(capped.matches("<b ").count() <= MAX_FORMATTING, "{}", capped.matches("<b ").count());
        assert_eq!(capped.matches("<p>").count(), 2_000);
        assert!(capped.contains("x1999"));
        // Closed properly, nothing is dropped.
        let html: String = (0..2_000).map(|i| format!("<p><b id=\"b{i}\">x{i}</b></p>")).collect();
        assert!(matches!(cap_depth(&html), Cow::Borrowed(_)));
        // Identical ones are kept three at a time by the parser itself.
        let html = "<p><b>x</p>".repeat(2_000);
        assert!(matches!(cap_depth(&html), Cow::Borrowed(_)));
    }

    #[test]
    fn blocks_left_open_by_misnesting_count_as_depth() {
        for unit in ["<b><div>x</b>", "<span><div>x</span>", "<div><table>x</div>"] {
            let html = unit.repeat(2_000);
            let capped = cap_depth(&html);
            let kept = capped.matches("<div>").count();
            assert!(kept <= MAX_DEPTH + 1, "{unit}: {kept} divs kept");
            assert_eq!(capped.matches('x').count(), 2_000, "{unit}");
        }
    }

    #[test]
    fn ignored_closers_do_not_reset_depth() {
        // </body>, </td> outside a table, a fake <body>: the parser ignores them.
        for unit in ["<body><div><div></body>", "<td><div><div></td>", "<form><div><div></form>"] {
            let html = unit.repeat(1_000);
            let kept = cap_depth(&html).matches("<div>").count();
            assert!(kept <= MAX_DEPTH + 2, "{unit}: {kept} divs kept");
        }
    }

    #[test]
    fn attributes_beyond_the_cap_are_dropped() {
        let attrs: String = (0..1_000).map(|i| format!(" a{i}=\"v\"")).collect();
        let html = format!("<p{attrs}>text</p>");
        let capped = cap_depth(&html);
        assert!(capped.contains(" a127=\"v\""));
        assert!(!capped.contains(" a128="));
        assert!(capped.ends_with(">text</p>"), "{}", &capped[capped.len() - 20..]);
        let few = "<img src=x alt='a > b' />";
        assert!(matches!(cap_depth(few), Cow::Borrowed(_)));
    }

    #[test]
    fn comments_end_where_the_parser_ends_them() {
        let html = "<!-- a --!>".to_string() + &"<div>".repeat(1_000) + "-->";
        assert_eq!(cap_depth(&html).matches("<div>").count(), MAX_DEPTH);
        let html = "</ x>".to_string() + &"<div>".repeat(1_000);
        assert_eq!(cap_depth(&html).matches("<div>").count(), MAX_DEPTH);
    }

    #[test]
    fn unquoted_values_do_not_hide_tags() {
        let html = "<p a=x=\"".to_string() + &"<div>".repeat(1_000) + "\">";
        assert!(cap_depth(&html).matches("<div>").count() <= MAX_DEPTH + 1);
    }
}
