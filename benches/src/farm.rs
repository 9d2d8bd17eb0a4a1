//! A synthetic feed farm: N feeds × M items of realistic news, generated
//! from a seed (the same seed gives the same bytes), in RSS 2.0, Atom and
//! JSON Feed, with article bodies that carry the boilerplate the cleaner
//! exists for: flattened and marked-up tweets, captions, share widgets,
//! "Read more" lines, syndication footers. Every tenth feed links a next
//! page (RFC 5005 style).

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

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

fn escape_xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Generate `feeds` feeds of `items` items each.
pub fn generate(feeds: usize, items: usize, seed: u64) -> Farm {
    let mut out = Vec::with_capacity(feeds);
    for f in 0..feeds {
        let mut rng = StdRng::seed_from_u64(seed ^ (f as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let kind = f % 3;
        let paged = f % 10 == 9;
        let site = format!("https://site{f}.example.com");
        let mut entries = Vec::with_capacity(items);
        for i in 0..items {
            let title = sentence(&mut rng, 5, 11);
            let link = format!("{site}/2024/03/story-{i}?utm_source=rss&utm_medium=feed");
            let day = 1 + (i % 28);
            let hour = i % 24;
            entries.push((title, link, day, hour, article_html(&mut rng, f, i), sentence(&mut rng, 12, 20)));
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
        let a = generate(6, 4, 7);
        let b = generate(6, 4, 7);
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
