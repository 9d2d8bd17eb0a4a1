//! Repairs of the document text and of field values.
//!
//! Document repairs run before the reader, and only when their cheap test
//! says they are needed: a feed wrapped in an HTML page is cut out of it
//! (unescaped first when the page shows it as text), and an unterminated
//! CDATA section is closed before its element's end tag. Field repairs:
//! entities decoded leniently (HTML names without a DTD, a bare `&` kept as
//! text, custom DTD entities never expanded), double-encoded UTF-8 decoded
//! once more, control characters dropped, lengths capped.

use memchr::memmem;

use markup5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};

/// The longest HTML named reference (`&CounterClockwiseContourIntegral;`) is 31
/// characters: longer names are not looked up.
const MAX_NAME: usize = 31;

/// The text an entity or character reference stands for (`name` without `&`
/// and `;`): one character, or two for a few HTML5 names (`&NotEqualTilde;`).
/// Names come from the HTML5 table html5ever's tokenizer uses (2,125 of them,
/// the HTML 4 set and `&apos;` included), so feeds that use HTML names
/// without declaring them read as a browser would.
pub(crate) fn entity(name: &str) -> Option<(char, Option<char>)> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        // Windows-1252 code points written as references (&#146;) mean the 1252 character.
        let code = match code {
            0x80..=0x9F => cp1252_char(code as u8).map_or(code, u32::from),
            _ => code,
        };
        return char::from_u32(code).filter(|c| *c != '\0').map(|c| (c, None));
    }
    let single = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            if name.is_empty() || name.len() > MAX_NAME {
                return None;
            }
            // The table's keys end with the semicolon.
            let mut key = [0u8; MAX_NAME + 1];
            key[..name.len()].copy_from_slice(name.as_bytes());
            key[name.len()] = b';';
            let key = std::str::from_utf8(&key[..=name.len()]).ok()?;
            // Prefixes of names are in the table too, standing for nothing.
            let &(first, second) = NAMED_ENTITIES.get(key).filter(|(first, _)| *first != 0)?;
            return Some((char::from_u32(first)?, char::from_u32(second).filter(|c| *c != '\0')));
        }
    };
    Some((single, None))
}

/// Decode entity and character references; unknown names and bare `&` stay as written.
pub(crate) fn unescape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[1..].find(|c: char| c == ';' || c == '&' || c == '<' || c.is_whitespace()).map(|e| e + 1);
        match end {
            Some(e) if rest.as_bytes()[e] == b';' && e <= MAX_NAME + 2 => {
                if let Some((c, second)) = entity(&rest[1..e]) {
                    out.push(c);
                    out.extend(second);
                    rest = &rest[e + 1..];
                    continue;
                }
                out.push('&');
                rest = &rest[1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// The windows-1252 character of a byte in 0x80..=0x9F (the HTML spec's table
/// for numeric references to C1 controls, which is windows-1252's).
fn cp1252_char(b: u8) -> Option<char> {
    C1_REPLACEMENTS.get(usize::from(b.checked_sub(0x80)?)).copied().flatten()
}

/// The windows-1252 (or Latin-1) byte of a character above ASCII, if it has one.
fn cp1252_byte(c: char) -> Option<u8> {
    let code = u32::from(c);
    if (0x80..=0xFF).contains(&code) {
        return u8::try_from(code).ok();
    }
    (0x80u8..=0x9F).find(|b| cp1252_char(*b) == Some(c))
}

/// Text that was UTF-8, decoded as windows-1252, and encoded as UTF-8 again ("cafÃ©" for
/// "café"), decoded once more. Runs of non-ASCII characters are repaired only when their
/// 1252 bytes are valid UTF-8, so real Latin-1 text is left alone.
pub(crate) fn fix_mojibake(s: &str) -> Option<String> {
    // A mojibake run starts with "Â" or "Ã" (a two-byte sequence) or a character from "à" to
    // "ï" (three bytes), followed by a character above ASCII: 0xC3 0x82, 0x83 or 0xA0..=0xAF,
    // then a byte above 0x7F. Real text rarely has that, so most fields stop here.
    let b = s.as_bytes();
    let candidate = memchr::memchr_iter(0xC3, b)
        .any(|i| matches!(b.get(i + 1), Some(0x82 | 0x83 | 0xA0..=0xAF)) && b.get(i + 2).is_some_and(|n| *n >= 0x80));
    if !candidate {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut run: Vec<u8> = Vec::new();
    let mut run_text = String::new();
    let flush = |run: &mut Vec<u8>, run_text: &mut String, out: &mut String, changed: &mut bool| {
        if run.len() >= 2
            && let Ok(fixed) = std::str::from_utf8(run)
        {
            out.push_str(fixed);
            *changed = true;
            run.clear();
            run_text.clear();
            return;
        }
        out.push_str(run_text);
        run.clear();
        run_text.clear();
    };
    for c in s.chars() {
        match cp1252_byte(c) {
            Some(b) if !c.is_ascii() => {
                run.push(b);
                run_text.push(c);
            }
            _ => {
                flush(&mut run, &mut run_text, &mut out, &mut changed);
                out.push(c);
            }
        }
    }
    flush(&mut run, &mut run_text, &mut out, &mut changed);
    changed.then_some(out)
}

/// Cut a string to at most `max` bytes, at a character boundary.
pub(crate) fn cap(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

/// Drop control characters other than tab, newline and carriage return (NUL bytes and the
/// like are not text, and PostgreSQL refuses NUL).
pub(crate) fn strip_controls(s: &mut String) {
    // One pass over the bytes for either: a stray control, or 0xEF, the first byte of
    // U+FFFE (and of other characters from U+F000, which the exact pass keeps).
    if any_byte(s.as_bytes(), |b| is_stray_control(b) | (b == 0xEF)) {
        s.retain(|c| !(c.is_ascii() && is_stray_control(c as u8) || c == '\u{FFFE}'));
    }
}

/// A control byte [`strip_controls`] drops (below 0x20, not tab, newline or carriage
/// return): a control character below U+0020 is that byte in UTF-8, and no other
/// character's encoding holds a byte below 0x80. Bitwise, not short-circuit, so that a
/// block's bytes are tested side by side.
#[inline(always)]
fn is_stray_control(b: u8) -> bool {
    (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')
}

/// Whether `bytes` holds a byte `wanted` names. Tested 32 bytes at a time with no early
/// exit inside a block, which the compiler turns into vector compares: a scan a byte at a
/// time, stopping at the first, and a search for U+FFFE after it cost more than reading
/// the feed's XML (docs/performance.md, issue 21 step 11).
#[inline(always)]
fn any_byte(bytes: &[u8], wanted: impl Fn(u8) -> bool) -> bool {
    let mut blocks = bytes.chunks_exact(32);
    blocks.by_ref().any(|block| block.iter().fold(false, |found, &b| found | wanted(b)))
        || blocks.remainder().iter().any(|&b| wanted(b))
}

/// True when the start of a document is an HTML page rather than a feed.
pub(crate) fn looks_like_html(text: &str) -> bool {
    let head = &text[..floor_boundary(text, 1024)];
    let lower = head.trim_start().to_ascii_lowercase();
    lower.starts_with("<!doctype html")
        || lower.starts_with("<html")
        || lower.starts_with("<head")
        || lower.starts_with("<body")
        || (!lower.starts_with("<?xml") && (lower.contains("<html") || lower.contains("<!doctype html")))
}

fn floor_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// A feed document inside an HTML page: shown as text (escaped, often in `<pre>` with markup
/// for highlighting) or inlined as markup. `None` when the page holds no feed.
pub(crate) fn unwrap_html(page: &str) -> Option<String> {
    let lower = page.to_ascii_lowercase();
    // Escaped: &lt;rss ... &lt;/rss&gt;
    for (open, close) in
        [("&lt;rss", "&lt;/rss&gt;"), ("&lt;feed", "&lt;/feed&gt;"), ("&lt;rdf:rdf", "&lt;/rdf:rdf&gt;")]
    {
        if let Some(start) = find_tag(&lower, open) {
            let start = lower[..start].rfind("&lt;?xml").filter(|d| start - d < 200).unwrap_or(start);
            let end = lower[start..].find(close).map_or(page.len(), |e| start + e + close.len());
            let shown = strip_tags(&page[start..end]);
            return Some(unescape(&shown).into_owned());
        }
    }
    // Inline markup: <rss ...> ... </rss>
    for (open, close) in [("<rss", "</rss>"), ("<feed", "</feed>"), ("<rdf:rdf", "</rdf:rdf>")] {
        if let Some(start) = find_tag(&lower, open) {
            let end = lower[start..].find(close).map_or(page.len(), |e| start + e + close.len());
            return Some(page[start..end].to_string());
        }
    }
    None
}

/// Where `open` starts a tag (followed by whitespace, `>` or `/`), not a longer name.
fn find_tag(lower: &str, open: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = lower[from..].find(open) {
        let at = from + i;
        let next = lower[at + open.len()..].chars().next();
        if next.is_some_and(|c| c.is_whitespace() || c == '>' || c == '/' || c == '&') {
            return Some(at);
        }
        from = at + open.len();
    }
    None
}

/// Remove markup tags (the page's own, around text that shows escaped XML).
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Close CDATA sections left open: `]]>` goes before the end tag of the element the section
/// started in. `None` when every section is closed.
pub(crate) fn close_cdata(text: &str) -> Option<String> {
    let opens = memmem::find_iter(text.as_bytes(), b"<![CDATA[").count();
    if opens == 0 || opens == memmem::find_iter(text.as_bytes(), b"]]>").count() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("<![CDATA[") {
        let body = at + "<![CDATA[".len();
        out.push_str(&rest[..body]);
        let after = &rest[body..];
        let close = after.find("]]>");
        // The element the section is in: the start tag just before it.
        let element = rest[..at].trim_end().strip_suffix('>').and_then(|t| {
            let open = t.rfind('<')?;
            let name: String = t[open + 1..].chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
            (!name.is_empty() && !name.starts_with(['/', '!', '?'])).then_some(name)
        });
        let end_tag = element.and_then(|name| after.find(&format!("</{name}>")));
        let next_open = after.find("<![CDATA[");
        let unterminated = match (close, end_tag) {
            (None, _) => true,
            (Some(c), Some(e)) => e < c || next_open.is_some_and(|n| n < c),
            (Some(c), None) => next_open.is_some_and(|n| n < c),
        };
        if unterminated {
            let cut = end_tag.or(next_open).unwrap_or(after.len());
            out.push_str(&after[..cut]);
            out.push_str("]]>");
            rest = &after[cut..];
            changed = true;
        } else {
            let c = close.unwrap_or(after.len());
            out.push_str(&after[..c]);
            rest = &after[c..];
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stray_control_byte_is_found_at_every_place_in_a_block_and_after_the_last() {
        let plain = |bytes: &[u8]| bytes.iter().any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'));
        let text =
            "Caf\u{e9} na\u{ef}ve \u{201c}quoted\u{201d}\tand\r\nlines \u{1F600} \u{FFFE} more text here ".repeat(3);
        let base = text.as_bytes();
        let has_stray_control = |bytes: &[u8]| any_byte(bytes, is_stray_control);
        assert!(!has_stray_control(base) && !plain(base));
        for len in [0, 1, 31, 32, 33, 64, 95, base.len()] {
            let head = &base[..len];
            assert_eq!(has_stray_control(head), plain(head), "{len} bytes");
            for at in 0..len {
                for b in [0u8, 0x01, 0x08, b'\t', b'\n', 0x0b, 0x0c, b'\r', 0x1f, 0x20, 0x7f, 0x80] {
                    let mut v = head.to_vec();
                    v[at] = b;
                    assert_eq!(has_stray_control(&v), plain(&v), "{b:#x} at {at} of {len}");
                }
            }
        }
        for (input, out) in [
            ("a\u{0}b\u{1b}[31mc\td\u{FFFE}e", "ab[31mc\tde"),
            ("only U+FFFE: \u{FFFE}, and \u{FF0C}\u{F8FF} kept", "only U+FFFE: , and \u{FF0C}\u{F8FF} kept"),
            ("a control alone\u{7}", "a control alone"),
            ("\u{FF0C} fullwidth, nothing to drop\r\n", "\u{FF0C} fullwidth, nothing to drop\r\n"),
        ] {
            let mut s = String::from(input);
            strip_controls(&mut s);
            assert_eq!(s, out);
        }
    }

    #[test]
    fn decodes_entities_leniently() {
        assert_eq!(unescape("a &amp; b &nbsp;&eacute;&#233;&#xE9;&#146;"), "a & b \u{a0}ééé\u{2019}");
        assert_eq!(unescape("AT&T &unknown; & co"), "AT&T &unknown; & co");
        // Names are case-sensitive, need their semicolon here, and a prefix
        // of a name is not one.
        assert_eq!(unescape("&Eacute;&EACUTE; &eacute &Eacut;"), "É&EACUTE; &eacute &Eacut;");
        // Too long to be a name: left alone, without a lookup.
        let long = format!("&{};", "a".repeat(40));
        assert_eq!(unescape(&long), long);
    }

    #[test]
    fn every_html4_name_decodes_as_before_and_html5_adds_more() {
        // The HTML 4 names feeds use most, with the characters the old
        // hand-written table gave them.
        for (name, want) in [
            ("nbsp", '\u{a0}'),
            ("copy", '©'),
            ("reg", '®'),
            ("hellip", '…'),
            ("mdash", '—'),
            ("ndash", '–'),
            ("lsquo", '‘'),
            ("rsquo", '’'),
            ("ldquo", '“'),
            ("rdquo", '”'),
            ("laquo", '«'),
            ("raquo", '»'),
            ("euro", '€'),
            ("pound", '£'),
            ("deg", '°'),
            ("times", '×'),
            ("szlig", 'ß'),
            ("AElig", 'Æ'),
            ("OElig", 'Œ'),
            ("Scaron", 'Š'),
            ("thetasym", 'ϑ'),
            ("alefsym", 'ℵ'),
            ("zwnj", '\u{200c}'),
            ("rlm", '\u{200f}'),
            ("apos", '\''),
        ] {
            assert_eq!(entity(name), Some((want, None)), "&{name};");
        }
        // The two HTML 4 names HTML5 changed, as browsers read them now
        // (HTML 4 had the deprecated U+2329 and U+232A).
        assert_eq!(entity("lang"), Some(('\u{27e8}', None)));
        assert_eq!(entity("rang"), Some(('\u{27e9}', None)));
        // HTML5 names HTML 4 did not have, and one that stands for two characters.
        assert_eq!(entity("rightarrow"), Some(('→', None)));
        assert_eq!(entity("NewLine"), Some(('\n', None)));
        assert_eq!(entity("bigstar"), Some(('★', None)));
        assert_eq!(entity("NotEqualTilde"), Some(('\u{2242}', Some('\u{338}'))));
        assert_eq!(unescape("a&NotEqualTilde;b"), "a\u{2242}\u{338}b");
        // Prefixes the tokenizer's table keeps are not names.
        assert_eq!(entity("Eacut"), None);
        assert_eq!(entity(""), None);
    }

    #[test]
    fn repairs_double_encoded_utf8() {
        assert_eq!(fix_mojibake("cafÃ© â€œquotedâ€\u{9d} itâ€™s").as_deref(), Some("café “quoted” it’s"));
        assert_eq!(fix_mojibake("café, naïve, Ãtre"), None, "real Latin-1 text stays");
        assert_eq!(fix_mojibake("plain"), None);
    }

    #[test]
    fn closes_open_cdata() {
        let xml = "<item><description><![CDATA[<p>open</description><title>t</title></item>";
        assert_eq!(
            close_cdata(xml).as_deref(),
            Some("<item><description><![CDATA[<p>open]]></description><title>t</title></item>")
        );
        assert_eq!(close_cdata("<a><![CDATA[x]]></a>"), None);
    }

    #[test]
    fn unwraps_feeds_from_html_pages() {
        let shown = "<html><body><pre>&lt;?xml version=\"1.0\"?&gt;\n&lt;rss version=\"2.0\"&gt;&lt;channel&gt;\
                     &lt;title&gt;A &amp;amp; B&lt;/title&gt;&lt;/channel&gt;&lt;/rss&gt;</pre></body></html>";
        let feed = unwrap_html(shown).expect("escaped feed");
        assert!(feed.starts_with("<?xml"));
        assert!(feed.contains("<title>A &amp; B</title>"));
        assert!(feed.ends_with("</rss>"));
        let inline = "<html><body><rss version=\"2.0\"><channel></channel></rss></body></html>";
        assert_eq!(unwrap_html(inline).as_deref(), Some("<rss version=\"2.0\"><channel></channel></rss>"));
        assert_eq!(unwrap_html("<html><link rel=\"alternate\" type=\"application/rss+xml\"></html>"), None);
    }
}
