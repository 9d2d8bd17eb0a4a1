//! Paragraph normalisation: Unicode NFC, whitespace collapsed, typography
//! kept (curly quotes, dashes and non-Latin scripts pass through unchanged).

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// How [`normalize_paragraph`] reads a byte.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Byte {
    /// Copied as it is: ASCII other than whitespace, a continuation byte,
    /// or the first byte of U+00C0..U+02FF (none of which is whitespace or
    /// can change under NFC).
    Keep,
    /// ASCII whitespace: tab, LF, VT, FF, CR, space (char::is_whitespace).
    Space,
    /// The first byte of a character that may be whitespace (U+0085,
    /// U+00A0, U+1680, U+2000..U+205F, U+3000) or a zero-width space or
    /// no-break (U+200B, U+FEFF): decoded.
    Decode,
    /// The first byte of any other character from U+0300 on: it may
    /// combine with its neighbours, so the text gets the full NFC check.
    Compose,
}

static BYTES: [Byte; 256] = {
    let mut t = [Byte::Keep; 256];
    t[b'\t' as usize] = Byte::Space;
    t[b'\n' as usize] = Byte::Space;
    t[0x0b] = Byte::Space;
    t[0x0c] = Byte::Space;
    t[b'\r' as usize] = Byte::Space;
    t[b' ' as usize] = Byte::Space;
    let mut b = 0xcc;
    while b <= 0xf4 {
        t[b] = Byte::Compose;
        b += 1;
    }
    t[0xc2] = Byte::Decode;
    t[0xe1] = Byte::Decode;
    t[0xe2] = Byte::Decode;
    t[0xe3] = Byte::Decode;
    t[0xef] = Byte::Decode;
    t
};

/// Whether a character that is not whitespace leaves NFC as it is
/// whatever surrounds it: below U+0300 (no combining marks, no
/// decompositions, no second half of a composition) and General
/// Punctuation from U+2002 (curly quotes, dashes, ellipsis: the same holds;
/// U+2000 and U+2001, which decompose, are whitespace). Checked against
/// the full NFC test by the tests.
fn stays_composed(c: char) -> bool {
    c < '\u{300}' || ('\u{2002}'..='\u{206f}').contains(&c)
}

/// Collapse every run of Unicode whitespace (including no-break spaces) to
/// one ASCII space, trim, and compose to NFC.
///
/// A byte at a time through a table, copying the runs between whitespace
/// whole (a single space between two words is part of a run, so most
/// paragraphs are one run): only a byte that may begin whitespace is
/// decoded, and the NFC check runs only on text holding a character that
/// may combine (most news text, curly quotes and dashes included, holds
/// none).
pub fn normalize_paragraph(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut compose = false;
    // The run of text since the last whitespace not kept: `run..i`.
    let mut run = 0;
    let mut i = 0;
    let flush = |out: &mut String, piece: &str| {
        if !piece.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(piece);
        }
    };
    while let Some(&b) = bytes.get(i) {
        let width = match BYTES[usize::from(b)] {
            Byte::Keep => {
                i += 1;
                continue;
            }
            Byte::Compose => {
                compose = true;
                i += 1;
                continue;
            }
            Byte::Space => {
                // One space between two words, most whitespace, stays in
                // the run: copied with its words, not written again.
                let next = bytes.get(i + 1).map(|&n| BYTES[usize::from(n)]);
                if b == b' ' && i > run && matches!(next, Some(Byte::Keep | Byte::Compose)) {
                    i += 1;
                    continue;
                }
                1
            }
            Byte::Decode => {
                // A first byte, so `i` is on a character boundary.
                let Some(c) = text[i..].chars().next() else { break };
                if !(c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}') {
                    compose |= !stays_composed(c);
                    i += c.len_utf8();
                    continue;
                }
                c.len_utf8()
            }
        };
        flush(&mut out, &text[run..i]);
        i += width;
        run = i;
    }
    flush(&mut out, &text[run..]);
    if !compose || is_nfc_quick(out.chars()) == IsNormalized::Yes { out } else { out.nfc().collect() }
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

    /// The plain version, a character at a time with the full NFC check.
    fn reference(text: &str) -> String {
        let mut out = String::new();
        let mut pending = false;
        for c in text.chars() {
            if c.is_whitespace() || c == '\u{200b}' || c == '\u{feff}' {
                pending = !out.is_empty();
            } else {
                if pending {
                    out.push(' ');
                    pending = false;
                }
                out.push(c);
            }
        }
        out.nfc().collect()
    }

    #[test]
    fn agrees_with_the_plain_version() {
        for sample in [
            "",
            " ",
            "plain words",
            "  lead and trail  ",
            "a\t\tb\n\nc",
            "x\x1cy\x1d\x1ez\x1fw",
            "\x0b\x0c",
            "one two  three \tfour five ",
            "a b\u{a0}c d\u{200b} e \u{2003}f",
            "a \u{301}b c\u{301} d",
            "trailing words \n",
        ] {
            assert_eq!(normalize_paragraph(sample), reference(sample), "{sample:?}");
        }
        // Every character up to U+3100 and the specials, beside letters,
        // spaces and a combining mark: the table's classes, the decoded
        // whitespace and what `stays_composed` lets skip the NFC check.
        let specials =
            ['\u{feff}', '\u{fb01}', '\u{ff21}', '\u{1f600}', '\u{ac00}', '\u{1161}', '\u{11a8}', '\u{f900}'];
        for c in ('\u{0}'..='\u{3100}').chain(specials) {
            for text in [
                format!("a{c}b"),
                format!(" {c} "),
                format!("e{c}\u{301}x"),
                format!("{c}\u{301}"),
                format!("\u{1100}{c}"),
            ] {
                assert_eq!(normalize_paragraph(&text), reference(&text), "{:?}", text.escape_unicode().to_string());
            }
        }
    }
}
