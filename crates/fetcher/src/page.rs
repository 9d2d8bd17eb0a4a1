//! Article pages: whether a fetched document is an HTML page, and its text.
//!
//! The request itself is an ordinary [`Fetcher::fetch`](crate::Fetcher::fetch)
//! (so the address guard, per-host limits, body cap and timeout apply) with
//! [`ACCEPT_HTML`] as its Accept header; robots.txt is consulted first
//! through [`RobotsCache`](crate::robots::RobotsCache).

use std::borrow::Cow;

use crate::parse::charset;

/// The Accept header of a page request.
pub const ACCEPT_HTML: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1";

/// Whether a response is an HTML page: its Content-Type says `text/html` or
/// `application/xhtml+xml`, or, when it names no type, its first bytes look
/// like HTML. A PDF, an image or a feed is not.
pub fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if let Some(ct) = content_type {
        let mime = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if !mime.is_empty() {
            return mime == "text/html" || mime == "application/xhtml+xml";
        }
    }
    let head = &body[..body.len().min(1024)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with("<!doctype html") || text.starts_with("<html") || text.contains("<body")
}

/// The page's text: the charset from a byte-order mark, the Content-Type,
/// or a `<meta charset>`, else detected; invalid bytes become U+FFFD.
pub fn decode_html<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    charset::decode(body, content_type).text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_by_type_or_by_sniffing() {
        assert!(is_html(Some("text/html; charset=utf-8"), b""));
        assert!(is_html(Some("application/xhtml+xml"), b""));
        assert!(!is_html(Some("application/pdf"), b"<html>"));
        assert!(!is_html(Some("application/rss+xml"), b"<rss>"));
        assert!(is_html(None, b"  <!DOCTYPE html><html>"));
        assert!(!is_html(None, b"%PDF-1.7"));
    }

    #[test]
    fn decodes_the_declared_charset() {
        let latin1 = b"<html><head><meta charset=\"iso-8859-1\"></head><body>caf\xe9</body></html>";
        assert!(decode_html(latin1, None).contains("café"));
        assert!(decode_html("<p>naïve</p>".as_bytes(), Some("text/html; charset=utf-8")).contains("naïve"));
    }
}
