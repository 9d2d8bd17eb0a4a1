//! From a feed document to records: parsing it ([`parse`]), and each of its
//! raw items to a record ([`build_record`]: id, canonical URL, cleaned
//! text, language, fingerprint), the newest first of two with one id; then
//! the feed's learned template applied to the document's records
//! ([`apply_template`]).
//!
//! Pure and synchronous: the assemble stage runs it on the CPU threads.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use newswire_cleaner::{Cleaned, Cleaner, Input, TemplateSettings, TemplateTable, detect_language, html_to_text};
use newswire_core::canon::{canonical_url, redact};
use newswire_core::config::FeedSpec;
use newswire_core::id;
use newswire_core::record::{SCHEMA_VERSION, word_count};
use newswire_core::state::FeedState;
use newswire_core::template::TemplateState;
use newswire_core::{Record, Source};
use newswire_fetcher::{Document, ParsedFeed, RawItem};
use tracing::warn;

use crate::job::FeedContext;
use url::Url;

/// The record for one item, or None when the item has nothing to identify
/// it by (no link, no guid, no title).
pub fn build_record(feed: &FeedSpec, cleaner: &Cleaner, item: RawItem, fetched_at: DateTime<Utc>) -> Option<Record> {
    let mut record = build_unfinished(feed, cleaner, item, fetched_at)?;
    finish(&mut record);
    Some(record)
}

/// What the body decides: language, word count, content hash and
/// fingerprint. Computed once per record, after the template had its say
/// ([`build_records`]): they cost more than the rest of a record together.
fn finish(record: &mut Record) {
    record.language = detect_language(&record.body);
    record.word_count = word_count(&record.body);
    record.content_hash = id::content_hash(&record.body);
    record.fingerprint = newswire_core::fingerprint::Fingerprint::of(&record.body);
}

/// [`build_record`] without what [`finish`] computes from the body.
fn build_unfinished(feed: &FeedSpec, cleaner: &Cleaner, item: RawItem, fetched_at: DateTime<Utc>) -> Option<Record> {
    let url = item
        .link
        .as_deref()
        .and_then(|l| Url::parse(l).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| canonical_url(&u).to_string());
    let title = item.title.as_deref().map(html_to_text).filter(|t| !t.is_empty());
    let record_id = match (&url, &item.guid, &title) {
        (Some(u), _, _) => id::id_from_url(u),
        (None, Some(guid), _) => id::id_from_guid(&feed.name, guid),
        (None, None, Some(t)) => {
            let date = item.published.or(item.updated).map(|d| d.to_rfc3339()).unwrap_or_default();
            id::id_from_content(&feed.name, t, &date)
        }
        (None, None, None) => return None,
    };

    // The body comes from the fullest text the item carries.
    let body_source = item.content.as_deref().or(item.summary.as_deref()).unwrap_or("");
    let cleaned = if feed.clean {
        cleaner.clean(Input::detect(body_source))
    } else {
        Cleaner::passthrough(Input::detect(body_source))
    };
    let body = cleaned.body();
    let summary = item
        .summary
        .as_deref()
        .map(|s| {
            let c = if feed.clean { cleaner.clean(Input::detect(s)) } else { Cleaner::passthrough(Input::detect(s)) };
            c.paragraphs.join("\n\n")
        })
        .filter(|s| !s.is_empty());

    let mut seen = HashSet::new();
    let authors =
        item.authors.iter().map(|a| html_to_text(a)).filter(|a| !a.is_empty() && seen.insert(a.clone())).collect();
    let mut seen = HashSet::new();
    let categories =
        item.categories.iter().map(|c| html_to_text(c)).filter(|c| !c.is_empty() && seen.insert(c.clone())).collect();

    Some(Record {
        schema: SCHEMA_VERSION,
        id: record_id,
        feed: feed.name.clone(),
        feed_url: redact(feed.url.as_str()),
        guid: item.guid,
        url,
        title,
        authors,
        published_at: item.published,
        updated_at: item.updated,
        fetched_at,
        language: None,
        summary,
        word_count: 0,
        content_hash: String::new(),
        fingerprint: Default::default(),
        body,
        categories,
        source: Source::Feed,
        embeds: cleaned.embeds,
        removed: cleaned.removed,
        cluster: None,
        similarity: None,
    })
}

/// Parse a fetched document with the feed's item cap; the error names the
/// document's URL (redacted).
pub fn parse(feed: &FeedContext, doc: &Document) -> Result<ParsedFeed, String> {
    newswire_fetcher::parse_feed_with(&doc.body, &doc.final_url, feed.spec.max_items, doc.content_type.as_deref())
        .map_err(|e| format!("{}: {}", redact(doc.final_url.as_str()), e.message))
}

/// Records of a parsed document: (records, items found, newest date).
/// Items published before `since` are left out; undated ones are kept. The
/// feed's template is learned from them and applied to them (its state in
/// `state.template`, committed with the checkpoint).
pub fn build_records(
    feed: &FeedContext,
    parsed: ParsedFeed,
    polled_at: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
    state: &mut FeedState,
) -> (Vec<Record>, usize, Option<DateTime<Utc>>) {
    let spec = &feed.spec;
    for warning in &parsed.warnings {
        warn!(feed = %spec.name, warning = %warning, "feed document needed repair");
    }
    if parsed.dropped > 0 {
        warn!(feed = %spec.name, kept = parsed.items.len(), dropped = parsed.dropped, "feed has more items than max_items");
    }
    if parsed.items.is_empty() && parsed.warnings.is_empty() {
        warn!(feed = %spec.name, "feed document has no items");
    }
    let found = parsed.items.len();
    let newest = parsed.items.iter().filter_map(|i| i.published.or(i.updated)).max();
    let mut records = Vec::with_capacity(found);
    let mut ids = HashSet::with_capacity(found);
    for item in parsed.items {
        if let (Some(since), Some(date)) = (since, item.published.or(item.updated))
            && date < since
        {
            continue;
        }
        if let Some(record) = build_unfinished(spec, &feed.cleaner, item, polled_at)
            // The first of two items with one id wins: feeds list
            // the newest version first.
            && ids.insert(record.id.clone())
        {
            records.push(record);
        }
    }
    apply_template(spec, &feed.cleaner, &mut state.template, &mut records);
    for record in &mut records {
        finish(record);
        for removed in &record.removed {
            crate::metrics::removed(removed);
        }
    }
    (records, found, newest)
}

/// The feed's template (docs/cleaner.md, Template), learned from and
/// applied to one document's records: every record's paragraphs are
/// observed first, so a paragraph the document repeats in enough items goes
/// from all of them, including the first; then each record loses the
/// paragraphs seen in `template_min_items` distinct items, recorded as kind
/// `template`. `template` is the feed's stored state, updated in place and
/// committed with the checkpoint. Nothing happens when the feed is not
/// cleaned, its template is off, or `template.learned` is disabled. Only
/// the body changes: what is derived from it is the caller's
/// ([`build_records`] derives it after this).
fn apply_template(feed: &FeedSpec, cleaner: &Cleaner, template: &mut TemplateState, records: &mut [Record]) {
    if !feed.clean || !feed.template || !cleaner.template_enabled() || records.is_empty() {
        return;
    }
    let settings = TemplateSettings {
        enabled: true,
        min_items: feed.template_min_items,
        capacity: feed.template_capacity,
        ..TemplateSettings::default()
    };
    let mut table = TemplateTable::from_state(std::mem::take(template), settings);
    let bodies: Vec<Vec<String>> =
        records.iter().map(|r| Cleaned::paragraphs_of(&r.body).map(str::to_string).collect()).collect();
    let prints: Vec<Vec<Option<u64>>> = bodies.iter().map(|paragraphs| table.prints(paragraphs)).collect();
    for (record, prints) in records.iter().zip(&prints) {
        table.observe_prints(&record.id, prints);
    }
    for ((record, paragraphs), prints) in records.iter_mut().zip(bodies).zip(&prints) {
        let mut cleaned = Cleaned { paragraphs, removed: std::mem::take(&mut record.removed), embeds: Vec::new() };
        if table.apply_prints(&mut cleaned, record.title.as_deref(), prints) > 0 {
            record.body = cleaned.body();
        }
        record.removed = cleaned.removed;
    }
    *template = table.into_state();
}

#[cfg(test)]
mod tests {
    use super::*;
    use newswire_core::config::Config;

    fn spec() -> FeedSpec {
        let config: Config = newswire_core::config::parse(
            "[[feed]]\nname = \"wire\"\nurl = \"https://example.com/feed.xml\"\n",
            std::path::Path::new("t.toml"),
        )
        .expect("config parses");
        config.feeds().remove(0)
    }

    fn item() -> RawItem {
        RawItem {
            guid: Some("g-1".into()),
            link: Some("https://Example.com/story?utm_source=rss#top".into()),
            title: Some("Markets &amp; <i>more</i>".into()),
            authors: vec!["Jane".into(), "Jane".into(), " ".into()],
            summary: Some("<p>Short teaser.</p>".into()),
            content: Some("<p>First paragraph.</p><script>x()</script><p>Second paragraph.</p>".into()),
            categories: vec!["Business".into(), "Business".into()],
            ..RawItem::default()
        }
    }

    #[test]
    fn builds_a_normalised_record() {
        let now = Utc::now();
        let r = build_record(&spec(), &Cleaner::default(), item(), now).expect("record");
        assert_eq!(r.url.as_deref(), Some("https://example.com/story"));
        assert_eq!(r.id, id::id_from_url("https://example.com/story"));
        assert_eq!(r.title.as_deref(), Some("Markets & more"));
        assert_eq!(r.authors, ["Jane"]);
        assert_eq!(r.categories, ["Business"]);
        assert_eq!(r.body, "First paragraph.\n\nSecond paragraph.");
        assert_eq!(r.word_count, 4);
        assert_eq!(r.summary.as_deref(), Some("Short teaser."));
        assert_eq!(r.published_at, None);
        assert_eq!(r.content_hash, id::content_hash(&r.body));
        assert_eq!(r.fetched_at, now);
        assert_eq!(r.source, Source::Feed);
    }

    #[test]
    fn id_falls_back_to_guid_then_title() {
        let mut i = item();
        i.link = None;
        let r = build_record(&spec(), &Cleaner::default(), i.clone(), Utc::now()).expect("record");
        assert_eq!(r.id, id::id_from_guid("wire", "g-1"));
        assert_eq!(r.url, None);
        i.guid = None;
        let r = build_record(&spec(), &Cleaner::default(), i.clone(), Utc::now()).expect("record");
        assert_eq!(r.id, id::id_from_content("wire", "Markets & more", ""));
        i.title = None;
        assert!(build_record(&spec(), &Cleaner::default(), i, Utc::now()).is_none());
    }

    fn items(words: &[&str], promo: &str) -> Vec<RawItem> {
        words
            .iter()
            .map(|w| RawItem {
                guid: Some(format!("g-{w}")),
                link: Some(format!("https://example.com/{w}")),
                title: Some(format!("The {w} story")),
                content: Some(format!(
                    "<p>The {w} story opens here, with a paragraph about the {w} only.</p><p>{promo}</p>"
                )),
                ..RawItem::default()
            })
            .collect()
    }

    const PROMO: &str = "Love the Harbour Times? Tell a friend and get a tote bag.";

    /// What a record derives from its body is derived from the body the
    /// template left, once (build_records derives after the template).
    #[test]
    fn a_record_is_derived_from_the_body_the_template_left() {
        let feed = FeedContext { spec: spec(), cleaner: Cleaner::default(), pages: Default::default() };
        let parsed = ParsedFeed { items: items(&["pier", "tug", "quay", "lock"], PROMO), ..ParsedFeed::default() };
        let mut state = FeedState::default();
        let (records, found, _) = build_records(&feed, parsed, Utc::now(), None, &mut state);
        assert_eq!((records.len(), found), (4, 4));
        for r in &records {
            assert!(!r.body.contains(PROMO) && !r.body.is_empty(), "{}", r.body);
            assert_eq!(r.content_hash, id::content_hash(&r.body));
            assert_eq!(r.word_count, word_count(&r.body));
            assert_eq!(r.fingerprint, newswire_core::fingerprint::Fingerprint::of(&r.body));
            assert_eq!(r.language, detect_language(&r.body));
        }
    }

    #[test]
    fn the_template_is_learned_across_documents_and_kept_in_the_state() {
        let feed = spec();
        let cleaner = Cleaner::default();
        let mut state = TemplateState::default();
        let build = |words: &[&str]| -> Vec<Record> {
            items(words, PROMO).into_iter().filter_map(|i| build_record(&feed, &cleaner, i, Utc::now())).collect()
        };
        // Three items: seen three times, kept (the default needs four).
        let mut first = build(&["ferry", "silo", "mole"]);
        apply_template(&feed, &cleaner, &mut state, &mut first);
        assert!(first.iter().all(|r| r.body.contains(PROMO)));
        // A third item, in the next document (the state as committed): now
        // it is the feed's template.
        let mut state = state.clone();
        let mut second = build(&["crane"]);
        apply_template(&feed, &cleaner, &mut state, &mut second);
        let r = &second[0];
        assert!(!r.body.contains(PROMO), "{}", r.body);
        assert_eq!(
            r.removed.last().map(|x| (x.kind, x.rule.as_str())),
            Some((newswire_core::RemovedKind::Template, "template.learned"))
        );
        // Within one document, four items are enough at once.
        let mut state = TemplateState::default();
        let mut one = build(&["pier", "tug", "quay", "lock"]);
        apply_template(&feed, &cleaner, &mut state, &mut one);
        assert!(one.iter().all(|r| !r.body.contains(PROMO)));
        // Switched off per feed, or by `clean_disable = ["template.learned"]`.
        let mut off = feed.clone();
        off.template = false;
        let mut state = TemplateState::default();
        let mut recs = build(&["pier", "tug", "quay", "lock"]);
        apply_template(&off, &cleaner, &mut state, &mut recs);
        assert!(recs.iter().all(|r| r.body.contains(PROMO)) && state.is_empty());
        let disabled = Cleaner::new(&[], &["template.learned".to_string()]).expect("known rule");
        let mut recs = build(&["pier", "tug", "quay", "lock"]);
        apply_template(&feed, &disabled, &mut state, &mut recs);
        assert!(recs.iter().all(|r| r.body.contains(PROMO)));
    }
}
