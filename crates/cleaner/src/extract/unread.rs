//! A linear pass before the parse that cuts out the elements the extractor
//! never reads: scripts (but JSON-LD), styles, `noscript`, `template`,
//! inline SVG and MathML, `textarea`.
//!
//! The extractor treats them as holding no text (`content::is_non_text`)
//! and never serialises them, yet left in the tree they sway its structure
//! rules (a tracker `<script>` after each paragraph kept one fixture's
//! headline in its article), and on real pages they are most of the bytes,
//! which the 4 MiB cap would count against the article. Cut first, a page
//! reads as if they were not there: `tests` below checks every fixture page
//! gives the same article with and without the pass, and with scripts,
//! styles and icons added. It is not a speed-up: html5ever reads script
//! bodies about as fast as this pass skips them (docs/extraction.md).
//!
//! The pass follows the tokenizer far enough not to cut what is not an
//! element: a `<script` inside a comment, an attribute value, or the text
//! of a `<title>` or another raw-text element is left alone. An element
//! whose end tag is missing is left for the parser.

use std::borrow::Cow;

/// Elements cut with their contents.
const UNREAD: &[&str] = &["script", "style", "noscript", "template", "svg", "math", "textarea"];
/// Elements whose contents the tokenizer reads as text: copied through whole.
const RAW_TEXT: &[&str] = &["title", "iframe", "xmp", "noembed", "noframes"];

/// The tag name starting at `at` (just after `<`), and where it ends.
fn tag_name(bytes: &[u8], at: usize) -> (&[u8], usize) {
    let mut end = at;
    while end < bytes.len() && bytes[end].is_ascii_alphanumeric() {
        end += 1;
    }
    (&bytes[at..end], end)
}

/// The member of `set` that `name` is, ignoring case.
fn one_of(name: &[u8], set: &[&'static str]) -> Option<&'static str> {
    set.iter().copied().find(|s| s.as_bytes().eq_ignore_ascii_case(name))
}

/// The index just past the `>` closing the tag whose attributes start at
/// `at`, honouring quoted attribute values; None when the tag never ends.
fn tag_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    while at < bytes.len() {
        match bytes[at] {
            b'>' => return Some(at + 1),
            b'=' => {
                at += 1;
                while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                    at += 1;
                }
                if let Some(&q) = bytes.get(at)
                    && (q == b'"' || q == b'\'')
                {
                    at += 1 + bytes[at + 1..].iter().position(|&b| b == q)?;
                }
                at += 1;
            }
            _ => at += 1,
        }
    }
    None
}

/// The index just past `</name ...>` at or after `from`, matched without
/// regard to case; None when there is none.
fn end_tag_after(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut at = from;
    loop {
        let lt = at + bytes[at..].iter().position(|&b| b == b'<')?;
        let rest = &bytes[lt..];
        if rest.len() > name.len() + 2
            && rest[1] == b'/'
            && rest[2..2 + name.len()].eq_ignore_ascii_case(name.as_bytes())
            && !rest[2 + name.len()].is_ascii_alphanumeric()
        {
            return tag_end(bytes, lt + 2 + name.len());
        }
        at = lt + 1;
    }
}

/// `html` without the elements the extractor never reads.
pub fn strip_unread(html: &str) -> Cow<'_, str> {
    let bytes = html.as_bytes();
    let mut out: Option<String> = None;
    // Everything before `copied` is in `out` (or, while nothing was cut,
    // still only in `html`).
    let mut copied = 0;
    let mut at = 0;
    while let Some(found) = bytes[at..].iter().position(|&b| b == b'<') {
        let lt = at + found;
        let rest = &bytes[lt + 1..];
        if rest.starts_with(b"!--") {
            // A comment: to its end, or to the end of the page.
            let Some(close) = html[lt + 4..].find("-->") else { break };
            at = lt + 4 + close + 3;
            continue;
        }
        if rest.first().is_some_and(|b| *b == b'!' || *b == b'?' || *b == b'/') {
            at = lt + 1;
            continue;
        }
        let (name, after_name) = tag_name(bytes, lt + 1);
        if name.is_empty() {
            at = lt + 1;
            continue;
        }
        let Some(start_end) = tag_end(bytes, after_name) else { break };
        if let Some(raw) = one_of(name, RAW_TEXT) {
            match end_tag_after(bytes, start_end, raw) {
                Some(end) => at = end,
                None => break,
            }
            continue;
        }
        if name.eq_ignore_ascii_case(b"plaintext") {
            break;
        }
        let Some(name) = one_of(name, UNREAD) else {
            at = start_end;
            continue;
        };
        let attributes = &html[after_name..start_end];
        if name == "script" && attributes.to_ascii_lowercase().contains("ld+json") {
            at = end_tag_after(bytes, start_end, name).unwrap_or(start_end);
            continue;
        }
        let self_closed = attributes.trim_end_matches('>').trim_end().ends_with('/');
        // `<svg/>` (foreign content may self-close) has no contents.
        let end = if self_closed && (name == "svg" || name == "math") {
            Some(start_end)
        } else {
            end_tag_after(bytes, start_end, name)
        };
        let Some(end) = end else {
            // No end tag: the parser decides what it holds.
            at = start_end;
            continue;
        };
        let buf = out.get_or_insert_with(|| String::with_capacity(html.len() / 2));
        buf.push_str(&html[copied..lt]);
        copied = end;
        at = end;
    }
    match out {
        None => Cow::Borrowed(html),
        Some(mut buf) => {
            buf.push_str(&html[copied..]);
            Cow::Owned(buf)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strip_unread;

    #[test]
    fn scripts_styles_and_icons_go_and_json_ld_stays() {
        let page = "<head><title>T</title><script>var a = '<p>x</p>';</script><STYLE>p{}</STYLE>\
                    <script type=\"application/ld+json\">{\"headline\":\"H\"}</script></head>\
                    <body><p>One<svg viewBox=\"0 0 1 1\"><path d=\"M0\"/></svg> two.</p><noscript><img src=x></noscript>\
                    <template><p>later</p></template><math><mi>x</mi></math><svg/><p>Three.</p></body>";
        assert_eq!(
            strip_unread(page),
            "<head><title>T</title><script type=\"application/ld+json\">{\"headline\":\"H\"}</script></head>\
             <body><p>One two.</p><p>Three.</p></body>"
        );
    }

    #[test]
    fn what_is_not_an_element_is_left_alone() {
        for page in [
            "<p>a</p><!-- <script>hidden</script> --><p>b</p>",
            "<title>How <script> tags work</title><p>Body text.</p><script>x</script>",
            "<a title=\"<script>\" href=\"/\">link</a><p>Body.</p>",
            "<iframe><script></iframe><p>after</p>",
            "<p>no end</p><script>var x = 1;",
            "<p>plain page</p>",
        ] {
            let out = strip_unread(page);
            for keep in ["<p>a</p>", "<p>b</p>", "Body text.", "Body.", "<p>after</p>", "var x = 1;", "plain page"] {
                if page.contains(keep) {
                    assert!(out.contains(keep), "{keep:?} lost from {page:?}: {out:?}");
                }
            }
        }
        assert_eq!(
            strip_unread("<title>How <script> tags work</title><script>x</script>"),
            "<title>How <script> tags work</title>"
        );
        assert!(matches!(strip_unread("<p>plain</p>"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn multibyte_text_around_cuts_stays_whole() {
        assert_eq!(strip_unread("<p>Größe</p><script>é</script><p>日本</p>"), "<p>Größe</p><p>日本</p>");
    }
}
