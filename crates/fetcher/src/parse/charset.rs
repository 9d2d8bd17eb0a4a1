//! Bytes to UTF-8: which character set a feed document is really in.
//!
//! Evidence, strongest first: a byte-order mark; bytes that are valid UTF-8
//! (text in another encoding almost never is, so a declaration that says
//! otherwise is a lie: windows-1252 or utf-16 declared on UTF-8 bytes); the
//! HTTP `Content-Type` charset; the XML declaration; an HTML `<meta>`
//! charset; and last, detection with chardetng. Decoding is encoding_rs:
//! invalid bytes become U+FFFD, never an error.

use std::borrow::Cow;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// A document decoded to UTF-8.
pub(crate) struct Decoded<'a> {
    /// The text; borrowed when the bytes were already clean UTF-8.
    pub text: Cow<'a, str>,
    /// What was repaired, for the feed's warnings.
    pub warning: Option<String>,
}

/// Decode a feed document; `content_type` is the HTTP header, when there was one.
pub(crate) fn decode<'a>(bytes: &'a [u8], content_type: Option<&str>) -> Decoded<'a> {
    if let Some((enc, bom)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
        return Decoded { text: rewrite_declaration(text), warning: None };
    }
    // UTF-16 without a BOM: '<' or '{' next to a NUL byte.
    if bytes.len() >= 4 {
        let enc = match bytes[..2] {
            [0, b'<' | b'{'] => Some(UTF_16BE),
            [b'<' | b'{', 0] => Some(UTF_16LE),
            _ => None,
        };
        if let Some(enc) = enc {
            let (text, _) = enc.decode_without_bom_handling(bytes);
            return Decoded { text: rewrite_declaration(text), warning: None };
        }
    }
    let head = &bytes[..bytes.len().min(4096)];
    let declared = content_type
        .and_then(http_charset)
        .or_else(|| xml_declared(head))
        .or_else(|| meta_charset(head))
        .and_then(|label| Encoding::for_label(label.trim().as_bytes()).map(|e| (label, e)));

    if let Ok(text) = std::str::from_utf8(bytes) {
        let mut warning = None;
        if let Some((label, enc)) = declared {
            let lies = if enc == UTF_16LE || enc == UTF_16BE { true } else { enc != UTF_8 && !text.is_ascii() };
            if lies {
                warning = Some(format!("repaired encoding: declared {}, decoded as utf-8", label.trim()));
            }
        }
        let text = if declared.is_some_and(|(_, e)| e != UTF_8) {
            rewrite_declaration(Cow::Borrowed(text))
        } else {
            Cow::Borrowed(text)
        };
        return Decoded { text, warning };
    }

    match declared {
        Some((_, enc)) if enc != UTF_8 && enc != UTF_16LE && enc != UTF_16BE => {
            let (text, _) = enc.decode_without_bom_handling(bytes);
            Decoded { text: rewrite_declaration(text), warning: None }
        }
        _ => {
            let said = declared.map(|(l, _)| l.trim().to_ascii_lowercase()).unwrap_or_else(|| "nothing".to_string());
            if mostly_utf8(bytes) {
                let text = String::from_utf8_lossy(bytes).into_owned();
                let warning = format!("repaired encoding: declared {said}, invalid utf-8 bytes replaced");
                return Decoded { text: rewrite_declaration(Cow::Owned(text)), warning: Some(warning) };
            }
            let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
            detector.feed(bytes, true);
            let enc = detector.guess(None, Utf8Detection::Deny);
            let (text, _) = enc.decode_without_bom_handling(bytes);
            let warning = format!("repaired encoding: declared {said}, decoded as {}", enc.name().to_ascii_lowercase());
            Decoded { text: rewrite_declaration(text), warning: Some(warning) }
        }
    }
}

/// True when the bytes hold far more valid multi-byte UTF-8 sequences than invalid bytes: a
/// UTF-8 document with a few stray bytes, not a document in a legacy encoding.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let mut valid = 0usize;
    let mut invalid = 0usize;
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                valid += s.bytes().filter(|b| *b >= 0xC0).count();
                break;
            }
            Err(e) => {
                let (good, after) = rest.split_at(e.valid_up_to());
                valid += good.iter().filter(|b| **b >= 0xC0).count();
                invalid += 1;
                let skip = e.error_len().unwrap_or(after.len()).max(1);
                rest = &after[skip.min(after.len())..];
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    valid >= 4 * invalid && valid > 0
}

/// The charset parameter of an HTTP Content-Type.
fn http_charset(content_type: &str) -> Option<&str> {
    let lower = content_type.to_ascii_lowercase();
    let at = lower.find("charset=")? + "charset=".len();
    let value = content_type[at..].split(';').next()?.trim().trim_matches(|c| c == '"' || c == '\'');
    (!value.is_empty()).then_some(value)
}

/// The encoding in an XML declaration at the start of the document.
fn xml_declared(head: &[u8]) -> Option<&str> {
    let start = head.iter().position(|b| !b.is_ascii_whitespace())?;
    let head = &head[start..];
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = memchr::memmem::find(head, b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    attr_in(decl, "encoding")
}

/// The charset of an HTML `<meta charset>` or `<meta http-equiv content>`.
fn meta_charset(head: &[u8]) -> Option<&str> {
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
    };
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<meta") {
        let at = from + i;
        let end = lower[at..].find('>').map_or(lower.len(), |e| at + e);
        let tag = &text[at..end];
        if let Some(c) = attr_in(tag, "charset") {
            return Some(c);
        }
        if let Some(c) = attr_in(tag, "content").and_then(http_charset) {
            return Some(c);
        }
        from = end;
    }
    None
}

/// The value of `name="..."` (or single-quoted, or bare) inside a tag's text.
fn attr_in<'t>(tag: &'t str, name: &str) -> Option<&'t str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        let before_ok =
            at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric() && lower.as_bytes()[at - 1] != b'-';
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_at = tag.len() - rest.len() + 1;
        let value = tag[value_at..].trim_start();
        let offset = tag.len() - value.len();
        return match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].find(q).map(|e| &tag[offset + 1..offset + 1 + e]),
            Some(_) => {
                let e = value.find(|c: char| c.is_whitespace() || c == '>' || c == '/' || c == ';' || c == '?');
                Some(&value[..e.unwrap_or(value.len())])
            }
            None => None,
        };
    }
    None
}

/// Rewrite the XML declaration's encoding to utf-8: the text is UTF-8 now.
fn rewrite_declaration(text: Cow<'_, str>) -> Cow<'_, str> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with("<?xml") {
        return text;
    }
    let lead = text.len() - trimmed.len();
    let Some(end) = trimmed.find("?>") else { return text };
    let decl = &trimmed[..end];
    let Some(value) = attr_in(decl, "encoding") else { return text };
    if value.eq_ignore_ascii_case("utf-8") {
        return text;
    }
    let at = lead + (value.as_ptr() as usize - decl.as_ptr() as usize);
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..at]);
    out.push_str("utf-8");
    out.push_str(&text[at + value.len()..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_declared_and_lying_charsets() {
        let latin = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><t>caf\xe9</t></rss>";
        let d = decode(latin, None);
        assert!(d.text.contains("caf\u{e9}"));
        assert!(d.text.contains("encoding=\"utf-8\""));
        assert_eq!(d.warning, None);

        let utf8_declared_1252 = "<?xml version=\"1.0\" encoding=\"windows-1252\"?><rss><t>café</t></rss>";
        let d = decode(utf8_declared_1252.as_bytes(), None);
        assert!(d.text.contains("café"));
        assert_eq!(d.warning.as_deref(), Some("repaired encoding: declared windows-1252, decoded as utf-8"));

        let d = decode(b"<?xml version=\"1.0\" encoding=\"utf-16\"?><rss/>", None);
        assert!(d.warning.is_some_and(|w| w.contains("declared utf-16")));

        let cp1252_declared_utf8 =
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss><t>caf\xe9 cr\xe8me \x93quoted\x94 na\xefve</t></rss>";
        let d = decode(cp1252_declared_utf8, None);
        assert!(d.text.contains("café crème \u{201c}quoted\u{201d} naïve"), "{}", d.text);
        assert!(d.warning.is_some_and(|w| w.contains("declared utf-8")));

        let d = decode(b"<rss><t>caf\xe9</t></rss>", Some("text/xml; charset=\"iso-8859-1\""));
        assert!(d.text.contains("café"));

        let mut utf16 = vec![0xFF, 0xFE];
        for u in "<rss><t>é</t></rss>".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&utf16, None).text, "<rss><t>é</t></rss>");

        let html = b"<html><head><meta charset=\"windows-1251\"></head><body>\xcf\xf0\xe8</body></html>";
        assert!(decode(html, None).text.contains("При"));
    }
}
