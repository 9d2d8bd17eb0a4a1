//! Paragraph normalisation: Unicode NFC, whitespace collapsed, typography
//! kept (curly quotes, dashes and non-Latin scripts pass through unchanged).

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Collapse every run of Unicode whitespace (including no-break spaces) to
/// one ASCII space, trim, and compose to NFC.
pub fn normalize_paragraph(text: &str) -> String {
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
    }
}
