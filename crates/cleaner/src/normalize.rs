//! Paragraph normalisation: Unicode NFC, whitespace collapsed, typography
//! kept (curly quotes, dashes and non-Latin scripts pass through unchanged).

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Collapse every run of Unicode whitespace (including no-break spaces) to
/// one ASCII space, trim, and compose to NFC.
pub fn normalize_paragraph(text: &str) -> String {
    if text.is_ascii() {
        return normalize_ascii(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    if is_nfc_quick(out.chars()) == IsNormalized::Yes { out } else { out.nfc().collect() }
}

/// The common case: ASCII is already NFC, and its only whitespace is ASCII
/// whitespace, so a byte loop does the whole job.
fn normalize_ascii(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut pending_space = false;
    for &b in text.as_bytes() {
        // Unicode's White_Space in ASCII, as char::is_whitespace has it:
        // tab, LF, VT, FF, CR and space.
        if matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ') {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(b' ');
                pending_space = false;
            }
            out.push(b);
        }
    }
    // Only ASCII bytes were copied.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_whitespace_and_composes() {
        assert_eq!(normalize_paragraph(" a \t b\u{a0}\u{2009}c\n"), "a b c");
        assert_eq!(normalize_paragraph("Cafe\u{301}"), "Café");
        assert_eq!(normalize_paragraph("“Quoted” — dash"), "“Quoted” — dash");
        assert_eq!(normalize_paragraph("東京 の ニュース"), "東京 の ニュース");
        assert_eq!(normalize_paragraph("\u{200b}"), "");
        assert_eq!(normalize_paragraph("\x0b a\x0cb \r\n"), "a b");
    }

    #[test]
    fn ascii_fast_path_agrees_with_the_general_path() {
        for sample in ["", " ", "plain words", "  lead and trail  ", "a\t\tb\n\nc", "x\x1cy\x1d\x1ez\x1fw", "\x0b\x0c"]
        {
            let general: String = {
                let mut out = String::new();
                let mut pending = false;
                for c in sample.chars() {
                    if c.is_whitespace() {
                        pending = !out.is_empty();
                    } else {
                        if pending {
                            out.push(' ');
                            pending = false;
                        }
                        out.push(c);
                    }
                }
                out
            };
            assert_eq!(normalize_ascii(sample), general, "{sample:?}");
        }
    }
}
