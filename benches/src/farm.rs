//! A synthetic feed farm: N feeds × M items of news, generated from a seed
//! (the same seed gives the same bytes), in RSS 2.0, Atom and JSON Feed,
//! with article bodies that carry the boilerplate the cleaner exists for:
//! flattened and marked-up tweets, captions, share widgets, "Read more"
//! lines, syndication footers. Every tenth feed links a next page (RFC 5005
//! style).
//!
//! Two kinds of text ([`Style`]):
//!
//! - **news** (the default since issue 21): prose from a Zipf-distributed
//!   vocabulary of 6,120 words ([`crate::prose`]), articles of 400 to 1,500
//!   words, every outlet's own template paragraphs around each item, and
//!   one item in ten a syndicated copy of another feed's item, edited
//!   (paragraphs dropped, cut short, words changed), so the near-duplicate
//!   index sees realistic candidate lists and real clusters;
//! - **legacy**: the first farm, byte for byte: 6 to 11 paragraphs drawn
//!   uniformly from 72 words. Kept so figures taken on it stay comparable.

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::prose::Vocabulary;

/// Which text the farm's articles carry (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Style {
    /// Zipf vocabulary, long articles, outlet templates, syndicated copies.
    News,
    /// The first farm's 72-word text, unchanged.
    Legacy,
}

/// One feed document and how to serve it.
pub struct FarmFeed {
    /// Path on the farm server ("/f/17.xml").
    pub path: String,
    /// The document.
    pub body: Bytes,
    /// Its ETag.
    pub etag: String,
    /// Its Content-Type.
    pub content_type: &'static str,
    /// Items in it.
    pub items: usize,
}

/// The whole farm.
pub struct Farm {
    /// Feeds, in order.
    pub feeds: Vec<FarmFeed>,
}

impl Farm {
    /// Total bytes of all feed documents.
    pub fn bytes(&self) -> usize {
        self.feeds.iter().map(|f| f.body.len()).sum()
    }

    /// Total items.
    pub fn items(&self) -> usize {
        self.feeds.iter().map(|f| f.items).sum()
    }
}

const WORDS: &[&str] = &[
    "council",
    "minister",
    "budget",
    "harbour",
    "inflation",
    "election",
    "reported",
    "officials",
    "said",
    "would",
    "market",
    "season",
    "water",
    "energy",
    "project",
    "residents",
    "prices",
    "research",
    "team",
    "study",
    "percent",
    "million",
    "during",
    "against",
    "government",
    "police",
    "court",
    "rail",
    "schools",
    "hospital",
    "workers",
    "union",
    "agreement",
    "plan",
    "region",
    "coast",
    "storm",
    "farmers",
    "exports",
    "shares",
    "company",
    "quarter",
    "growth",
    "city",
    "river",
    "bridge",
    "the",
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "for",
    "on",
    "with",
    "after",
    "that",
    "was",
    "by",
    "from",
    "at",
    "as",
    "its",
    "new",
    "their",
    "last",
    "week",
    "year",
    "more",
    "than",
    "about",
];

fn sentence(rng: &mut StdRng, min: usize, max: usize) -> String {
    let n = rng.random_range(min..=max);
    let mut s = String::with_capacity(n * 8);
    for i in 0..n {
        let w = WORDS[rng.random_range(0..WORDS.len())];
        if i == 0 {
            let mut c = w.chars();
            if let Some(f) = c.next() {
                s.extend(f.to_uppercase());
                s.push_str(c.as_str());
            }
        } else {
            s.push(' ');
            s.push_str(w);
        }
    }
    s.push('.');
    s
}

fn paragraph(rng: &mut StdRng) -> String {
    let n = rng.random_range(2..=4);
    let mut p = String::new();
    for i in 0..n {
        if i > 0 {
            p.push(' ');
        }
        p.push_str(&sentence(rng, 10, 22));
    }
    p
}

/// The HTML body of one article, with boilerplate mixed in.
fn article_html(rng: &mut StdRng, feed: usize, item: usize) -> String {
    let mut html = String::with_capacity(4096);
    let paragraphs = rng.random_range(6..=11);
    if rng.random_bool(0.3) {
        html.push_str("<figure><img src=\"https://img.example.com/a.jpg\" alt=\"\"><figcaption>Photo: Staff photographer / Agency</figcaption></figure>");
    }
    for i in 0..paragraphs {
        html.push_str("<p>");
        html.push_str(&paragraph(rng));
        html.push_str("</p>\n");
        if i == 2 && rng.random_bool(0.35) {
            html.push_str(&format!(
                "<blockquote class=\"twitter-tweet\"><p lang=\"en\" dir=\"ltr\">{} <a href=\"https://t.co/x{feed}y{item}\">pic.twitter.com/x{feed}y{item}</a></p>&mdash; City Desk (@citydesk{feed}) <a href=\"https://twitter.com/citydesk/status/{feed}{item}\">March 11, 2024</a></blockquote><script async src=\"https://platform.twitter.com/widgets.js\"></script>\n",
                sentence(rng, 6, 12)
            ));
        }
        if i == 4 && rng.random_bool(0.3) {
            html.push_str(&format!(
                "<p>{}<br>pic.twitter.com/ab{feed}c{item}</p><p>— Reporter Name (@reporter{item}) March 11, 2024</p>\n",
                sentence(rng, 6, 12)
            ));
        }
        if i == 3 && rng.random_bool(0.25) {
            html.push_str("<p><strong>Read more:</strong> <a href=\"https://news.example.com/related\">Related coverage from our archive</a></p>\n");
        }
        if i == 5 && rng.random_bool(0.2) {
            html.push_str("<iframe width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/abc123\" allowfullscreen></iframe>\n");
        }
    }
    if rng.random_bool(0.4) {
        html.push_str("<div class=\"sharedaddy sd-sharing-enabled\"><h3 class=\"sd-title\">Share this:</h3><ul><li><a href=\"#\">Twitter</a></li><li><a href=\"#\">Facebook</a></li></ul></div>");
    }
    if rng.random_bool(0.5) {
        html.push_str(&format!(
            "<p>The post <a href=\"https://site{feed}.example.com/{item}\">Story {item}</a> appeared first on <a href=\"https://site{feed}.example.com\">Site {feed}</a>.</p>"
        ));
    }
    html
}

/// A seed for one item's own text, independent of the order in which
/// feeds and items are generated (a copy regenerates its source from it).
fn item_seed(seed: u64, feed: usize, item: usize) -> u64 {
    let mut x = seed ^ 0x5bd1_e995;
    for v in [feed as u64, item as u64] {
        x = (x ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 29;
    }
    x
}

/// The paragraphs of item `item` of feed `feed` as its outlet wrote it.
fn news_text(vocab: &Vocabulary, seed: u64, feed: usize, item: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(item_seed(seed, feed, item));
    let words = rng.random_range(400..=1500);
    vocab.article(&mut rng, words)
}

/// The story an item carries: its own, or (one item in ten, in every feed
/// but the first) a copy of an item of an earlier feed, edited the way
/// partners edit wire copy.
fn news_story(vocab: &Vocabulary, seed: u64, feed: usize, item: usize, rng: &mut StdRng) -> Vec<String> {
    if feed == 0 || !item_seed(seed, feed, item).is_multiple_of(10) {
        return news_text(vocab, seed, feed, item);
    }
    let source_feed = (item_seed(seed, item, feed) as usize) % feed;
    let mut text = news_text(vocab, seed, source_feed, item);
    // Drop a paragraph or two, cut the end off, change a few words.
    for _ in 0..rng.random_range(0..=2) {
        if text.len() > 3 {
            let at = rng.random_range(1..text.len());
            text.remove(at);
        }
    }
    if rng.random_bool(0.4) {
        let keep = (text.len() * rng.random_range(60..=90) / 100).max(1);
        text.truncate(keep);
    }
    for p in &mut text {
        if rng.random_bool(0.3) {
            let replacement = vocab.word(rng).to_string();
            if let Some(pos) = p.find(" the ") {
                p.replace_range(pos + 1..pos + 4, &replacement);
            }
        }
    }
    text
}

/// An outlet's own paragraphs, put after every item it publishes.
fn outlet_template(vocab: &Vocabulary, seed: u64, feed: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(item_seed(seed, feed, usize::MAX));
    (0..rng.random_range(1..=3)).map(|_| vocab.sentence(&mut rng, 12, 30)).collect()
}

/// The HTML body of a news article: its story, boilerplate, the outlet's
/// template.
fn news_html(rng: &mut StdRng, feed: usize, item: usize, story: &[String], template: &[String]) -> String {
    let mut html = String::with_capacity(9000);
    if rng.random_bool(0.3) {
        html.push_str("<figure><img src=\"https://img.example.com/a.jpg\" alt=\"\"><figcaption>Photo: Staff photographer / Agency</figcaption></figure>");
    }
    for (i, p) in story.iter().enumerate() {
        html.push_str("<p>");
        html.push_str(p);
        html.push_str("</p>\n");
        if i == 2 && rng.random_bool(0.35) {
            html.push_str(&format!(
                "<blockquote class=\"twitter-tweet\"><p lang=\"en\" dir=\"ltr\">Live from the scene, more soon <a href=\"https://t.co/x{feed}y{item}\">pic.twitter.com/x{feed}y{item}</a></p>&mdash; City Desk (@citydesk{feed}) <a href=\"https://twitter.com/citydesk/status/{feed}{item}\">March 11, 2024</a></blockquote><script async src=\"https://platform.twitter.com/widgets.js\"></script>\n"
            ));
        }
        if i == 3 && rng.random_bool(0.25) {
            html.push_str("<p><strong>Read more:</strong> <a href=\"https://news.example.com/related\">Related coverage from our archive</a></p>\n");
        }
        if i == 5 && rng.random_bool(0.2) {
            html.push_str("<iframe width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/abc123\" allowfullscreen></iframe>\n");
        }
    }
    for p in template {
        html.push_str("<p>");
        html.push_str(p);
        html.push_str("</p>\n");
    }
    if rng.random_bool(0.4) {
        html.push_str("<div class=\"sharedaddy sd-sharing-enabled\"><h3 class=\"sd-title\">Share this:</h3><ul><li><a href=\"#\">Twitter</a></li><li><a href=\"#\">Facebook</a></li></ul></div>");
    }
    if rng.random_bool(0.5) {
        html.push_str(&format!(
            "<p>The post <a href=\"https://site{feed}.example.com/{item}\">Story {item}</a> appeared first on <a href=\"https://site{feed}.example.com\">Site {feed}</a>.</p>"
        ));
    }
    html
}

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Generate `feeds` feeds of `items` items each.
pub fn generate(feeds: usize, items: usize, seed: u64, style: Style) -> Farm {
    let vocab = (style == Style::News).then(Vocabulary::news);
    let mut out = Vec::with_capacity(feeds);
    for f in 0..feeds {
        let template = vocab.as_ref().map(|v| outlet_template(v, seed, f)).unwrap_or_default();
        let mut rng = StdRng::seed_from_u64(seed ^ (f as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let kind = f % 3;
        let paged = f % 10 == 9;
        let site = format!("https://site{f}.example.com");
        let mut entries = Vec::with_capacity(items);
        for i in 0..items {
            let link = format!("{site}/2024/03/story-{i}?utm_source=rss&utm_medium=feed");
            let day = 1 + (i % 28);
            let hour = i % 24;
            let entry = match &vocab {
                None => {
                    let title = sentence(&mut rng, 5, 11);
                    let html = article_html(&mut rng, f, i);
                    (title, link, day, hour, html, sentence(&mut rng, 12, 20))
                }
                Some(v) => {
                    let title = v.sentence(&mut rng, 5, 11);
                    let story = news_story(v, seed, f, i, &mut rng);
                    let summary = story.first().cloned().unwrap_or_default();
                    (title, link, day, hour, news_html(&mut rng, f, i, &story, &template), summary)
                }
            };
            entries.push(entry);
        }
        let (body, content_type, path) = match kind {
            0 => {
                let mut x = String::with_capacity(items * 5000);
                x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>");
                x.push_str(&format!(
                    "<title>Site {f}</title><link>{site}/</link><description>News from site {f}</description>"
                ));
                if paged {
                    x.push_str(&format!("<atom:link rel=\"next\" href=\"{site}/feed?paged=2\"/>"));
                }
                for (i, (title, link, day, hour, html, summary)) in entries.iter().enumerate() {
                    x.push_str(&format!(
                        "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">site{f}-{i}</guid><pubDate>{:02} Mar 2024 {:02}:00:00 +0000</pubDate><dc:creator>Writer {}</dc:creator><category>News</category><description>{}</description><content:encoded><![CDATA[{}]]></content:encoded></item>\n",
                        escape_xml(title), escape_xml(link), day, hour, i % 7, escape_xml(summary), html
                    ));
                }
                x.push_str("</channel></rss>\n");
                (x, "application/rss+xml; charset=utf-8", format!("/f/{f}.rss"))
            }
            1 => {
                let mut x = String::with_capacity(items * 5000);
                x.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">");
                x.push_str(&format!("<title>Site {f}</title><id>tag:site{f}.example.com,2024:feed</id><updated>2024-03-28T00:00:00Z</updated><link rel=\"alternate\" href=\"{site}/\"/>"));
                if paged {
                    x.push_str(&format!("<link rel=\"next\" href=\"{site}/feed.atom?page=2\"/>"));
                }
                for (i, (title, link, day, hour, html, summary)) in entries.iter().enumerate() {
                    x.push_str(&format!(
                        "<entry><title>{}</title><id>tag:site{f}.example.com,2024:{i}</id><link rel=\"alternate\" href=\"{}\"/><published>2024-03-{:02}T{:02}:00:00Z</published><updated>2024-03-{:02}T{:02}:30:00Z</updated><author><name>Writer {}</name></author><summary>{}</summary><content type=\"html\">{}</content></entry>\n",
                        escape_xml(title), escape_xml(link), day, hour, day, hour, i % 7, escape_xml(summary), escape_xml(html)
                    ));
                }
                x.push_str("</feed>\n");
                (x, "application/atom+xml", format!("/f/{f}.atom"))
            }
            _ => {
                let mut x = String::with_capacity(items * 5000);
                x.push_str(&format!("{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"Site {f}\",\"home_page_url\":\"{site}/\","));
                if paged {
                    x.push_str(&format!("\"next_url\":\"{site}/feed.json?page=2\","));
                }
                x.push_str("\"items\":[");
                for (i, (title, link, day, hour, html, summary)) in entries.iter().enumerate() {
                    if i > 0 {
                        x.push(',');
                    }
                    x.push_str(&format!(
                        "{{\"id\":\"site{f}-{i}\",\"url\":{},\"title\":{},\"summary\":{},\"content_html\":{},\"date_published\":\"2024-03-{:02}T{:02}:00:00Z\",\"authors\":[{{\"name\":\"Writer {}\"}}],\"tags\":[\"news\"]}}",
                        json_str(link), json_str(title), json_str(summary), json_str(html), day, hour, i % 7
                    ));
                }
                x.push_str("]}\n");
                (x, "application/feed+json", format!("/f/{f}.json"))
            }
        };
        out.push(FarmFeed { etag: format!("\"farm-{seed}-{f}\""), path, body: Bytes::from(body), content_type, items });
    }
    Farm { feeds: out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_deterministic_and_parses_in_every_format() {
        for style in [Style::News, Style::Legacy] {
            let a = generate(6, 4, 7, style);
            let b = generate(6, 4, 7, style);
            assert_eq!(a.bytes(), b.bytes());
            assert_eq!(a.items(), 24);
            let base = url::Url::parse("https://site.example.com/feed").expect("url");
            for feed in &a.feeds {
                let parsed = newswire_fetcher::parse_feed(&feed.body, &base, 100).expect("farm feeds parse");
                assert_eq!(parsed.items.len(), 4, "{}", feed.path);
                assert!(parsed.items[0].content.as_deref().is_some_and(|c| c.contains("<p>")), "{}", feed.path);
            }
        }
    }

    #[test]
    fn news_items_are_long_and_one_in_ten_is_a_copy_of_another_feed() {
        let farm = generate(30, 20, 7, Style::News);
        let per_item = farm.bytes() / farm.items();
        assert!((4_000..12_000).contains(&per_item), "bytes per item: {per_item}");
        // A copy shares its source's long word runs: count items whose first
        // paragraph appears in another feed.
        let vocab = Vocabulary::news();
        let mut copies = 0;
        for f in 1..30 {
            let doc = String::from_utf8_lossy(&farm.feeds[f].body).into_owned();
            for i in 0..20 {
                if !item_seed(7, f, i).is_multiple_of(10) {
                    continue;
                }
                copies += 1;
                // The source's lead is in the copy (an edit changes at most
                // one word of it, so its head or its tail is intact).
                let source = (item_seed(7, i, f) as usize) % f;
                let lead = &news_text(&vocab, 7, source, i)[0];
                let chars: Vec<char> = lead.chars().collect();
                let head: String = chars[..40].iter().collect();
                let tail: String = chars[chars.len() - 40..].iter().collect();
                let found = [head, tail].iter().any(|piece| {
                    doc.contains(piece.as_str())
                        || doc.contains(&escape_xml(piece))
                        || doc.contains(json_str(piece).trim_matches('"'))
                });
                assert!(found, "feed {f} item {i} carries the lead of feed {source}'s item");
            }
        }
        assert!((20..=100).contains(&copies), "copies: {copies} of 580");
    }

    const LEGACY_BYTES: usize = 21_758;
    const LEGACY_DIGEST: u64 = 808_293_512_089_784_983;

    #[test]
    fn legacy_farm_is_unchanged() {
        // The first farm's bytes, pinned so old figures stay comparable.
        let farm = generate(3, 2, 20261125, Style::Legacy);
        let digest = farm
            .feeds
            .iter()
            .fold(0u64, |h, f| f.body.iter().fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)));
        assert_eq!((farm.bytes(), digest), (LEGACY_BYTES, LEGACY_DIGEST));
    }
}
