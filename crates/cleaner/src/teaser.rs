//! Teaser detection: whether a feed carries only the start of an article,
//! so its page is worth fetching (`full_article = "auto"`).
//!
//! A judgment on text alone, so it lives with the cleaner: pure, no I/O.

use newswire_core::{Record, RemovedKind};

/// A feed body with fewer words than this is a teaser to `auto`.
pub const SHORT_WORDS: u64 = 150;

/// Endings of a body cut short by the feed ("…", "Read more", …), matched
/// case-insensitively after trailing punctuation and arrows are trimmed.
const TRUNCATION_ENDINGS: &[&str] = &[
    "…",
    "...",
    "[…]",
    "[...]",
    "read more",
    "continue reading",
    "keep reading",
    "read the full story",
    "read the full article",
    "read the rest",
    "full story",
    "more",
    "lire la suite",
    "weiterlesen",
    "mehr lesen",
    "leer más",
    "seguir leyendo",
    "continua a leggere",
    "leggi tutto",
    "leia mais",
    "continue lendo",
];

/// Whether the feed's text for a record looks like a teaser: a short body
/// (under [`SHORT_WORDS`] words), one the cleaner found a truncation marker
/// in ("Continue reading", "[…]"), one that ends like a cut ("…", "Read
/// more"), or one that is a cut-short prefix of the item's summary.
pub fn looks_like_teaser(record: &Record) -> bool {
    if record.word_count < SHORT_WORDS || record.removed.iter().any(|r| r.kind == RemovedKind::Truncation) {
        return true;
    }
    let body = record.body.trim_end();
    if ends_truncated(body) {
        return true;
    }
    record.summary.as_deref().is_some_and(|summary| summary.len() > body.len() && summary.starts_with(body))
}

fn ends_truncated(body: &str) -> bool {
    let tail: String = {
        let start = body.char_indices().rev().nth(40).map_or(0, |(i, _)| i);
        body[start..].to_lowercase()
    };
    if tail.ends_with('…') || tail.ends_with("...") {
        return true;
    }
    // As written ("[…]"), and without trailing arrows and punctuation
    // ("Continue reading →", "Read more.").
    let trimmed = tail.trim_end_matches(|c: char| c.is_whitespace() || "→»›>.:!)]".contains(c));
    if trimmed.ends_with('…') {
        return true;
    }
    [tail.as_str(), trimmed].iter().any(|tail| {
        TRUNCATION_ENDINGS.iter().any(|ending| {
            tail.strip_suffix(ending)
                .is_some_and(|before| before.is_empty() || !before.ends_with(char::is_alphanumeric))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use newswire_core::record::word_count;
    use newswire_core::{Removed, Source};

    fn record(body: &str, summary: Option<&str>) -> Record {
        Record {
            schema: 1,
            id: "id".into(),
            feed: "f".into(),
            feed_url: "https://e.com/feed".into(),
            guid: None,
            url: Some("https://e.com/a".into()),
            title: None,
            authors: Vec::new(),
            published_at: None,
            updated_at: None,
            fetched_at: Utc::now(),
            language: None,
            summary: summary.map(str::to_string),
            word_count: word_count(body),
            content_hash: newswire_core::id::content_hash(body),
            body: body.to_string(),
            categories: Vec::new(),
            source: Source::Feed,
            embeds: Vec::new(),
            removed: Vec::new(),
            cluster: None,
            similarity: None,
            fingerprint: None,
        }
    }

    fn long(words: usize) -> String {
        (0..words).map(|i| format!("word{i}")).collect::<Vec<_>>().join(" ") + "."
    }

    #[test]
    fn short_and_truncated_bodies_are_teasers() {
        assert!(looks_like_teaser(&record("A short teaser.", None)));
        let full = long(400);
        assert!(!looks_like_teaser(&record(&full, None)));
        for ending in [" …", "...", " [...]", " Read more", " Continue reading →", " Lire la suite »", " (more…)"]
        {
            assert!(looks_like_teaser(&record(&format!("{}{ending}", long(400)), None)), "{ending}");
        }
        // "more" must be a word of its own.
        assert!(!looks_like_teaser(&record(&format!("{} and then evermore", long(400)), None)));
        let mut cut = record(&full, None);
        cut.removed.push(Removed::new(RemovedKind::Truncation, "truncation.continue_reading", "Continue reading"));
        assert!(looks_like_teaser(&cut));
        // The body is the summary cut short.
        let summary = format!("{full} And a last sentence.");
        assert!(looks_like_teaser(&record(&full, Some(&summary))));
        assert!(!looks_like_teaser(&record(&full, Some(&full))));
    }
}
