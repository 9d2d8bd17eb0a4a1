//! Author names out of what feeds write in author elements.
//!
//! RSS `<author>` is specified as an email address, optionally followed by a
//! name in parentheses ("jane@example.com (Jane Doe)"); feeds also write
//! "Jane Doe <jane@example.com>", bare names, and bare addresses. The name is
//! what a record keeps; an address alone is not a name, so it gives none (no
//! invented names, and no addresses published as names).

/// The person's name in an RSS-style author string, `None` when there is none.
pub(crate) fn person_name(raw: &str) -> Option<String> {
    let mut text = raw.trim().to_string();
    if let Some((start, end)) = find_email(&text) {
        let mut head = start;
        // "mailto:" belongs to the address.
        if text[..head].to_ascii_lowercase().ends_with("mailto:") {
            head -= "mailto:".len();
        }
        text.replace_range(head..end, "");
        for pair in ["()", "<>", "[]", "&lt;&gt;"] {
            text = text.replace(pair, "");
        }
    }
    let mut name = text.trim();
    name = name.strip_prefix('(').unwrap_or(name);
    name = name.strip_suffix(')').unwrap_or(name);
    let name = name.trim().trim_matches(|c: char| c == ',' || c == ';' || c == '-').trim();
    (!name.is_empty()).then(|| collapse(name))
}

/// A name as written in a name element (Atom `<name>`, `dc:creator`, JSON `name`).
pub(crate) fn plain_name(raw: &str) -> Option<String> {
    let name = raw.trim();
    if name.is_empty() {
        return None;
    }
    // dc:creator and itunes:author sometimes carry an RSS-style author string.
    if name.contains('@') { person_name(name) } else { Some(collapse(name)) }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Byte range of the first email address in `s`.
fn find_email(s: &str) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    let at = s.find('@')?;
    let is_local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let is_domain = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b);
    let mut start = at;
    while start > 0 && is_local(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = at + 1;
    while end < bytes.len() && is_domain(bytes[end]) {
        end += 1;
    }
    while end > at + 1 && bytes[end - 1] == b'.' {
        end -= 1;
    }
    let domain = &s[at + 1..end];
    (start < at && domain.contains('.')).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_out_of_author_strings() {
        assert_eq!(person_name("jane@example.com (Jane Doe)").as_deref(), Some("Jane Doe"));
        assert_eq!(person_name("Jane Doe <jane@example.com>").as_deref(), Some("Jane Doe"));
        assert_eq!(person_name("Jane Doe (jane@example.com)").as_deref(), Some("Jane Doe"));
        assert_eq!(person_name("mailto:jane@example.com (Jane  Doe)").as_deref(), Some("Jane Doe"));
        assert_eq!(person_name("Jane Doe").as_deref(), Some("Jane Doe"));
        assert_eq!(person_name("jane@example.com"), None, "an address is not a name");
        assert_eq!(person_name("  "), None);
        assert_eq!(plain_name("Jane Doe").as_deref(), Some("Jane Doe"));
        assert_eq!(plain_name("nobody@example.com (Nobody)").as_deref(), Some("Nobody"));
        assert_eq!(plain_name("@handle").as_deref(), Some("@handle"));
    }
}
