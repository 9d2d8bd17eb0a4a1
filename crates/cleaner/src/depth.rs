//! A linear pre-pass that caps the nesting depth of HTML before parsing.
//!
//! html5ever's tree builder checks "is an element in scope" by walking its
//! stack of open elements, so 1 MiB of `<div><div><div>…` costs time
//! quadratic in the depth. This pass tokenises just enough HTML (tags,
//! quoted attributes, comments, raw-text elements) to track a stack of open
//! elements, and drops start tags (and their end tags) beyond
//! [`MAX_DEPTH`]. Their text is kept: only the markup that no real article
//! needs goes.
//!
//! The stack follows the parser where it matters for depth: void elements
//! never open, a new block closes an open `<p>`, `<li>`, `<dt>`/`<dd>`,
//! `<tr>`, `<td>`/`<th>` and `<option>` close their open siblings, and an end
//! tag closes up to its match (searched at most [`MAX_SEARCH`] entries down
//! once the stack is deep, so stray end tags stay cheap).

use std::borrow::Cow;

/// Start tags nested deeper than this are dropped.
pub(crate) const MAX_DEPTH: usize = 256;

/// How far down a deep stack an end tag looks for its start tag.
const MAX_SEARCH: usize = 64;

fn is_void(name: &str) -> bool {
    const VOID: [&str; 16] = [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
        "keygen", "basefont",
    ];
    VOID.iter().any(|v| v.eq_ignore_ascii_case(name))
}

fn is_raw_text(name: &str) -> bool {
    const RAW: [&str; 9] = ["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"];
    RAW.iter().any(|v| v.eq_ignore_ascii_case(name))
}

/// Start tags that close an open `<p>`.
fn closes_p(name: &str) -> bool {
    const BLOCKS: [&str; 31] = [
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
    ];
    BLOCKS.iter().any(|v| v.eq_ignore_ascii_case(name))
        || ["table", "ul", "li", "dd", "dt", "summary", "search"].iter().any(|v| v.eq_ignore_ascii_case(name))
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

struct Open<'a> {
    name: &'a str,
    /// Whether the start tag was kept in the output.
    kept: bool,
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
        let out = self.out.get_or_insert_with(|| String::with_capacity(self.src.len()));
        out.push_str(&self.src[self.copied..start]);
        self.copied = end;
    }
}

/// End of a tag whose name ends at `i`: the index just past its `>`, or the
/// end of input. Attribute values in quotes may hold `>`.
fn tag_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() {
        match b[i] {
            b'>' => return i + 1,
            b'=' => {
                i += 1;
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                    let q = b[i];
                    i += 1;
                    match memchr(q, &b[i..]) {
                        Some(off) => i += off + 1,
                        None => return b.len(),
                    }
                }
            }
            _ => i += 1,
        }
    }
    b.len()
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

/// `html` with start tags deeper than [`MAX_DEPTH`] (and their end tags)
/// removed. Borrowed when nothing was removed.
pub(crate) fn cap_depth(html: &str) -> Cow<'_, str> {
    let b = html.as_bytes();
    let mut out = Out { src: html, out: None, copied: 0 };
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut depth = 0usize; // kept entries on the stack
    let mut i = 0;
    while let Some(off) = memchr(b'<', &b[i..]) {
        let lt = i + off;
        let next = b.get(lt + 1).copied();
        match next {
            Some(b'!') => {
                // Comment, doctype or CDATA: skip to its end.
                i = if html[lt..].starts_with("<!--") {
                    html[lt + 4..].find("-->").map_or(b.len(), |e| lt + 4 + e + 3)
                } else {
                    memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1)
                };
            }
            Some(b'?') => {
                i = memchr(b'>', &b[lt..]).map_or(b.len(), |e| lt + e + 1);
            }
            Some(b'/') if b.get(lt + 2).is_some_and(u8::is_ascii_alphabetic) => {
                let ne = name_end(b, lt + 2);
                let name = &html[lt + 2..ne];
                let end = tag_end(b, ne);
                let limit = if stack.len() > 2 * MAX_DEPTH { MAX_SEARCH } else { stack.len() };
                let found = stack.iter().rev().take(limit).position(|o| o.name.eq_ignore_ascii_case(name));
                match found {
                    Some(k) => {
                        let at = stack.len() - 1 - k;
                        let kept = stack[at].kept;
                        for o in stack.drain(at..) {
                            if o.kept {
                                depth -= 1;
                            }
                        }
                        if !kept {
                            out.cut(lt, end);
                        }
                    }
                    // A stray end tag: the parser ignores most; keep it
                    // unless the stack is deep, where it cannot matter.
                    None if stack.len() > MAX_DEPTH => out.cut(lt, end),
                    None => {}
                }
                i = end;
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let ne = name_end(b, lt + 1);
                let name = &html[lt + 1..ne];
                let end = tag_end(b, ne);
                while let Some(top) = stack.last() {
                    if closes_sibling(name, top.name) {
                        if top.kept {
                            depth -= 1;
                        }
                        stack.pop();
                    } else {
                        break;
                    }
                }
                let raw = is_raw_text(name);
                if is_void(name) {
                    // Never opens; kept (an <img> or <br> deep down is harmless).
                    i = end;
                    continue;
                }
                let keep = depth < MAX_DEPTH;
                if raw {
                    // Raw text: no tags inside until the matching end tag.
                    let close = find_end_tag(html, end, name);
                    let after = close.map_or(b.len(), |c| tag_end(b, name_end(b, c + 2)));
                    if !keep {
                        out.cut(lt, after);
                    }
                    i = after;
                    continue;
                }
                if keep {
                    depth += 1;
                } else {
                    out.cut(lt, end);
                }
                stack.push(Open { name, kept: keep });
                i = end;
            }
            _ => i = lt + 1,
        }
    }
    match out.out {
        None => Cow::Borrowed(html),
        Some(mut s) => {
            s.push_str(&html[out.copied.min(html.len())..]);
            Cow::Owned(s)
        }
    }
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
}
