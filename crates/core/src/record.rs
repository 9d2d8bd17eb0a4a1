//! The normalised article record, schema 1.
//!
//! One [`Record`] per article: a JSON object in JSON Lines files, a row in
//! SQL, a message on NATS. Field names are stable; [`SCHEMA_VERSION`] is
//! bumped on any breaking change, and new fields are only ever added.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The record schema version written in every record's `schema` field.
pub const SCHEMA_VERSION: u32 = 1;

/// One normalised article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Record {
    /// Always [`SCHEMA_VERSION`].
    pub schema: u32,
    /// Stable id: see [`crate::id`].
    pub id: String,
    /// Feed name from the config.
    pub feed: String,
    /// The feed's URL (credentials redacted).
    pub feed_url: String,
    /// The item's guid or id as published; null when the feed gave none.
    pub guid: Option<String>,
    /// Canonical article URL, tracking parameters removed.
    pub url: Option<String>,
    /// Plain-text title.
    pub title: Option<String>,
    /// Author names, as published, without invented placeholders.
    pub authors: Vec<String>,
    /// Publication time, RFC 3339 UTC; null when the feed gave none.
    pub published_at: Option<DateTime<Utc>>,
    /// Last update time, RFC 3339 UTC; null when the feed gave none.
    pub updated_at: Option<DateTime<Utc>>,
    /// When newswire fetched the document the record came from.
    pub fetched_at: DateTime<Utc>,
    /// BCP 47 language code detected from the body, or null.
    pub language: Option<String>,
    /// Plain-text summary, boilerplate removed.
    pub summary: Option<String>,
    /// Clean article text, paragraphs separated by "\n\n".
    pub body: String,
    /// Words in `body`.
    pub word_count: u64,
    /// Categories and tags of the item.
    pub categories: Vec<String>,
    /// Hash of `body`: equal hashes mean an unchanged article. For a record
    /// whose article page was wanted, a hash derived from the item's feed
    /// version instead, so the page is fetched once per version.
    pub content_hash: String,
    /// Where the body came from.
    pub source: Source,
    /// Social posts and media the article embedded, as data.
    pub embeds: Vec<Embed>,
    /// What the cleaner dropped, for audit.
    pub removed: Vec<Removed>,
    /// Id of the earliest record of the same story (a syndicated copy seen
    /// before), or null when the story is new.
    #[serde(default)]
    pub cluster: Option<String>,
    /// How much this record is that story, 0 to 1, or null.
    #[serde(default)]
    pub similarity: Option<f64>,
    /// The near-duplicate fingerprint of `body` (not part of the record:
    /// it travels to the store stage, which indexes it).
    #[serde(skip)]
    pub fingerprint: Option<crate::fingerprint::Fingerprint>,
}

/// Where a record's body came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The feed item's own content or description.
    Feed,
    /// The article page, fetched because the feed carried only a summary.
    Page,
}

impl Source {
    /// The stable name, as written in the record.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Feed => "feed",
            Source::Page => "page",
        }
    }
}

/// A social post or media item the article embedded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Embed {
    /// "twitter", "instagram", "facebook", "tiktok", "youtube", "vimeo",
    /// "bluesky", "threads", "mastodon" or "media".
    pub kind: String,
    /// Link to the post or media, when known.
    pub url: Option<String>,
    /// Display name of the author, when known.
    pub author: Option<String>,
    /// The author's handle without the leading "@", when known.
    pub handle: Option<String>,
    /// The text of the post, when it had any.
    pub text: Option<String>,
    /// When it was posted, as published (a date string), when known.
    pub posted_at: Option<String>,
}

/// A piece of text the cleaner removed, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Removed {
    /// The class of boilerplate.
    pub kind: RemovedKind,
    /// The name of the rule that removed it: a built-in rule
    /// (`copyright.notice`, `markup.share_widget`, …; what `clean_disable`
    /// takes), or a custom rule's name from the config. Empty in records
    /// stored before rules were named.
    #[serde(default)]
    pub rule: String,
    /// The text removed (markup removed).
    pub text: String,
    /// For a removal by the block classifier (rule `classifier`): its
    /// score, the probability that the block is furniture, in thousandths
    /// (serialised as a number from 0 to 1). None for rules.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "score_serde")]
    pub score: Option<u16>,
}

impl Removed {
    /// A removal by the rule `rule`.
    pub fn new(kind: RemovedKind, rule: impl Into<String>, text: impl Into<String>) -> Removed {
        Removed { kind, rule: rule.into(), text: text.into(), score: None }
    }

    /// A removal by the block classifier, with its score (0 to 1).
    pub fn scored(kind: RemovedKind, rule: impl Into<String>, text: impl Into<String>, score: f32) -> Removed {
        let permille = (score.clamp(0.0, 1.0) * 1000.0).round() as u16;
        Removed { kind, rule: rule.into(), text: text.into(), score: Some(permille) }
    }
}

/// A score in thousandths, as a number from 0 to 1 in JSON.
mod score_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(p) => s.serialize_f64(f64::from(*p) / 1000.0),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
        let v: Option<f64> = Option::deserialize(d)?;
        Ok(v.map(|x| (x.clamp(0.0, 1.0) * 1000.0).round() as u16))
    }
}

/// Classes of removed content. A closed set: it is also a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RemovedKind {
    /// A social post embedded in the article (markup or flattened text).
    SocialEmbed,
    /// A video or other media player embedded in the article.
    MediaEmbed,
    /// "This article has been adapted from its original source" and kin.
    Syndication,
    /// Wire and agency credits: "(Reporting by …; Editing by …)".
    WireCredit,
    /// Copyright and redistribution lines.
    Copyright,
    /// Newsletter sign-ups, "Follow us", "Read more", "Share this".
    CallToAction,
    /// Advertisement labels and slots.
    Advertisement,
    /// Image captions and photo credits.
    Caption,
    /// Share buttons, related-post lists and other page widgets.
    Widget,
    /// Feed truncation markers: "[…]", "Continue reading".
    Truncation,
    /// A rule the operator added in the config.
    Custom,
    /// A paragraph the feed repeats in many of its items: its template
    /// (learned per feed, not named by any rule).
    Template,
    /// Cookie and consent walls standing in for an embed: "This content is
    /// blocked until you accept cookies", "External content".
    Consent,
    /// Comment counters and calls to comment: "12 comments", "Leave a comment".
    Comments,
    /// The publisher's own promotion: "Join our WhatsApp channel", "Support
    /// our journalism", subscription offers, app downloads.
    Promotion,
    /// Republication and origin notes: "A version of this story first ran
    /// in …", an editor's note about a partnership.
    OriginNote,
    /// Contributor lines: "Jane Doe contributed to this report."
    Contributor,
    /// Share-button labels left as text: "Tweet", "Email", "Share" in a run.
    ShareLabels,
    /// Sponsor reads and sponsorship notes: "This episode is brought to you by …".
    Sponsor,
    /// CMS shortcodes left as text: `[gallery ids="1,2"]`.
    Shortcode,
    /// Feed and blog footers: "Tags: …", "Posted in …", "submitted by /u/… [link] [comments]".
    FeedFooter,
    /// Site furniture no rule names, found by its shape by the block
    /// classifier (rule `classifier`): breadcrumbs, reading times, pager
    /// and tool rows, menus.
    Furniture,
}

impl RemovedKind {
    /// Every kind, for metrics and docs.
    pub const ALL: [RemovedKind; 22] = [
        RemovedKind::SocialEmbed,
        RemovedKind::MediaEmbed,
        RemovedKind::Syndication,
        RemovedKind::WireCredit,
        RemovedKind::Copyright,
        RemovedKind::CallToAction,
        RemovedKind::Advertisement,
        RemovedKind::Caption,
        RemovedKind::Widget,
        RemovedKind::Truncation,
        RemovedKind::Custom,
        RemovedKind::Template,
        RemovedKind::Consent,
        RemovedKind::Comments,
        RemovedKind::Promotion,
        RemovedKind::OriginNote,
        RemovedKind::Contributor,
        RemovedKind::ShareLabels,
        RemovedKind::Sponsor,
        RemovedKind::Shortcode,
        RemovedKind::FeedFooter,
        RemovedKind::Furniture,
    ];

    /// The stable snake_case name, as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovedKind::SocialEmbed => "social_embed",
            RemovedKind::MediaEmbed => "media_embed",
            RemovedKind::Syndication => "syndication",
            RemovedKind::WireCredit => "wire_credit",
            RemovedKind::Copyright => "copyright",
            RemovedKind::CallToAction => "call_to_action",
            RemovedKind::Advertisement => "advertisement",
            RemovedKind::Caption => "caption",
            RemovedKind::Widget => "widget",
            RemovedKind::Truncation => "truncation",
            RemovedKind::Custom => "custom",
            RemovedKind::Template => "template",
            RemovedKind::Consent => "consent",
            RemovedKind::Comments => "comments",
            RemovedKind::Promotion => "promotion",
            RemovedKind::OriginNote => "origin_note",
            RemovedKind::Contributor => "contributor",
            RemovedKind::ShareLabels => "share_labels",
            RemovedKind::Sponsor => "sponsor",
            RemovedKind::Shortcode => "shortcode",
            RemovedKind::FeedFooter => "feed_footer",
            RemovedKind::Furniture => "furniture",
        }
    }

    /// Parse a kind from its snake_case name.
    pub fn from_name(name: &str) -> Option<RemovedKind> {
        RemovedKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// How [`word_count`] reads each byte: `WORD` is part of a word (ASCII or
/// any byte of a character that cannot be whitespace), `SPACE` is ASCII
/// whitespace, `MAYBE` starts a character that may be Unicode whitespace.
/// Unicode's whitespace beyond ASCII is U+0085 and U+00A0 (first byte
/// 0xC2), U+1680 (0xE1), U+2000–U+205F (0xE2) and U+3000 (0xE3): every
/// other character, whatever its bytes, is part of a word.
const WORD: u8 = 0;
const SPACE: u8 = 1;
const MAYBE: u8 = 2;
static WORD_BYTES: [u8; 256] = {
    let mut t = [WORD; 256];
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[0x0b] = SPACE;
    t[0x0c] = SPACE;
    t[0xc2] = MAYBE;
    t[0xe1] = MAYBE;
    t[0xe2] = MAYBE;
    t[0xe3] = MAYBE;
    t
};

/// Words in a text: runs of characters separated by whitespace.
pub fn word_count(text: &str) -> u64 {
    // split_whitespace's count: a word starts where a word byte follows
    // whitespace or the start. Eight ASCII bytes at a time (most of any
    // body) as one u64; any other byte through the table, where only a
    // byte that may begin Unicode whitespace is decoded and the other
    // bytes of a character are word bytes like its first.
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let bytes = text.as_bytes();
    let mut words = 0;
    let mut in_word = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if let Some(chunk) = bytes.get(i..i + 8) {
            let mut eight = [0u8; 8];
            eight.copy_from_slice(chunk);
            let x = u64::from_le_bytes(eight);
            if x & HIGH == 0 {
                // Per byte, in its high bit (no carry crosses a byte: each
                // is below 0x80): whether it is a space, or 0x09..=0x0d
                // (tab, LF, VT, FF, CR).
                let t = x ^ 0x2020_2020_2020_2020;
                let not_space = ((t & LOW7) + LOW7) | t;
                let at_least_9 = x + 0x7777_7777_7777_7777;
                let at_least_14 = x + 0x7272_7272_7272_7272;
                let space = ((!not_space) | (at_least_9 & !at_least_14)) & HIGH;
                // Whether the byte before each was whitespace: the one
                // before the first is the state so far.
                let after_space = (space << 8) | if in_word { 0 } else { 0x80 };
                words += u64::from((!space & after_space & HIGH).count_ones());
                in_word = space >> 63 == 0;
                i += 8;
                continue;
            }
        }
        let space = match WORD_BYTES[usize::from(b)] {
            WORD => {
                i += 1;
                false
            }
            SPACE => {
                i += 1;
                true
            }
            _ => {
                // A lead byte, so `i` is on a character boundary.
                let c = text[i..].chars().next().unwrap_or(' ');
                i += c.len_utf8();
                c.is_whitespace()
            }
        };
        words += u64::from(!space & !in_word);
        in_word = !space;
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn sample() -> Record {
        Record {
            schema: SCHEMA_VERSION,
            id: "abc".into(),
            feed: "f".into(),
            feed_url: "https://example.com/feed".into(),
            guid: None,
            url: Some("https://example.com/a".into()),
            title: Some("T".into()),
            authors: vec![],
            published_at: None,
            updated_at: None,
            fetched_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("valid date"),
            language: None,
            summary: None,
            body: "one two\n\nthree".into(),
            word_count: 3,
            categories: vec![],
            content_hash: "h".into(),
            source: Source::Feed,
            embeds: vec![],
            removed: vec![Removed::new(RemovedKind::SocialEmbed, "embed.post_attribution", "x")],
            cluster: None,
            similarity: None,
            fingerprint: None,
        }
    }

    #[test]
    fn serialises_every_field_with_stable_names() {
        let value = serde_json::to_value(sample()).expect("record serialises");
        let obj = value.as_object().expect("an object");
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "authors",
                "body",
                "categories",
                "cluster",
                "content_hash",
                "embeds",
                "feed",
                "feed_url",
                "fetched_at",
                "guid",
                "id",
                "language",
                "published_at",
                "removed",
                "schema",
                "similarity",
                "source",
                "summary",
                "title",
                "updated_at",
                "url",
                "word_count"
            ]
        );
        assert_eq!(obj["fetched_at"], "2026-01-02T03:04:05Z");
        assert_eq!(obj["published_at"], serde_json::Value::Null);
        assert_eq!(obj["source"], "feed");
        assert_eq!(obj["removed"][0]["kind"], "social_embed");
    }

    #[test]
    fn removed_names_its_rule_and_old_records_still_read() {
        let value = serde_json::to_value(sample()).expect("record serialises");
        assert_eq!(value["removed"][0]["rule"], "embed.post_attribution");
        // A record stored before rules were named has no `rule`.
        let old = r#"{"kind":"copyright","text":"© 2024 Paper"}"#;
        let removed: Removed = serde_json::from_str(old).expect("old removal reads");
        assert_eq!(removed, Removed::new(RemovedKind::Copyright, "", "© 2024 Paper"));
        let back: Record = serde_json::from_value(value).expect("record reads back");
        assert_eq!(back, sample());
    }

    #[test]
    fn removed_kind_names_round_trip() {
        for kind in RemovedKind::ALL {
            assert_eq!(RemovedKind::from_name(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).expect("serialises");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn counts_words() {
        assert_eq!(word_count("one two\n\nthree  four"), 4);
        assert_eq!(word_count(""), 0);
        // The ASCII path counts as split_whitespace does, vertical tab and
        // form feed included; so does the other path.
        for text in ["  a\tb\x0bc\x0cd\r\ne  ", "x", " ", "naïve café\u{2003}au lait", "a\u{a0}b"] {
            assert_eq!(word_count(text), text.split_whitespace().count() as u64, "{text:?}");
        }
        // Every ASCII byte at every place in an eight-byte chunk, beside
        // words and whitespace of both kinds.
        for b in 0u8..128 {
            let c = char::from(b);
            for at in 0..10 {
                for text in [format!("{}{c}xy z\u{a0}w", "a".repeat(at)), format!("{} {c}  é\tq{c}", " ".repeat(at))] {
                    assert_eq!(word_count(&text), text.split_whitespace().count() as u64, "{text:?}");
                }
            }
        }
        // Every character whose first byte may start Unicode whitespace
        // (spaces and the letters, marks and symbols that share a first
        // byte with them), between and beside words.
        for c in ('\u{80}'..='\u{7ff}').chain('\u{1000}'..='\u{3fff}') {
            for text in [format!("a{c}b"), format!("{c}"), format!(" {c} x{c}")] {
                assert_eq!(word_count(&text), text.split_whitespace().count() as u64, "{text:?}");
            }
        }
    }
}
