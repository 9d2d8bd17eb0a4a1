//! Parse throughput on well-formed feeds: `parse_feed` against feed-rs alone.
//!
//! `cargo run --release -p newswire-fetcher --example parse_bench [-- FILE...]`: with no files,
//! generated RSS 2.0 and Atom documents of 500 items (about 1 MB each) are used.

use std::time::{Duration, Instant};

use newswire_fetcher::parse_feed;
use url::Url;

fn rss(items: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" \
         xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
         <channel><title>Bench</title><link>https://example.com/</link><description>d</description>\n",
    );
    for i in 0..items {
        s.push_str(&format!(
            "<item><title>Item {i}: a headline of a typical length &amp; more</title>\
             <link>https://example.com/news/2024/01/{i}/a-story-slug</link>\
             <guid isPermaLink=\"false\">urn:example:{i}</guid><pubDate>Tue, 14 Sep 2021 10:{m:02}:00 GMT</pubDate>\
             <dc:creator>Jane Doe</dc:creator><category>World</category><category>Politics</category>\
             <description>A short teaser for item {i}, with &lt;b&gt;markup&lt;/b&gt; escaped.</description>\
             <content:encoded><![CDATA[<p>{body}</p><p>{body}</p>]]></content:encoded></item>\n",
            m = i % 60,
            body =
                "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt. ".repeat(8)
        ));
    }
    s.push_str("</channel></rss>\n");
    s.into_bytes()
}

fn atom(entries: usize) -> Vec<u8> {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>Bench</title><id>urn:bench</id><updated>2024-01-02T00:00:00Z</updated>\
         <link rel=\"alternate\" href=\"https://example.com/\"/>\n",
    );
    for i in 0..entries {
        s.push_str(&format!(
            "<entry><title type=\"html\">Entry {i} &amp;lt;em&amp;gt;with&amp;lt;/em&amp;gt; markup</title>\
             <id>tag:example.com,2024:{i}</id><link rel=\"alternate\" type=\"text/html\" href=\"https://example.com/e/{i}\"/>\
             <published>2024-01-02T10:00:00Z</published><updated>2024-01-03T10:00:00+01:00</updated>\
             <author><name>Ann Author</name><email>ann@example.com</email></author><category term=\"tech\"/>\
             <summary>Summary of entry {i}.</summary><content type=\"html\">&lt;p&gt;{body}&lt;/p&gt;</content></entry>\n",
            body = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt. ".repeat(8)
        ));
    }
    s.push_str("</feed>\n");
    s.into_bytes()
}

fn rate(bytes: &[u8], mut f: impl FnMut(&[u8]) -> usize) -> (f64, usize) {
    // Warm up, then run for at least a second.
    let items = f(bytes);
    let start = Instant::now();
    let mut runs = 0u32;
    while start.elapsed() < Duration::from_secs(1) || runs < 5 {
        std::hint::black_box(f(bytes));
        runs += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    (bytes.len() as f64 * f64::from(runs) / secs / 1e6, items)
}

fn main() {
    let base = Url::parse("https://example.com/feed.xml").expect("base url");
    let files: Vec<String> = std::env::args().skip(1).collect();
    let docs: Vec<(String, Vec<u8>)> = if files.is_empty() {
        vec![
            ("rss2 (generated, 500 items)".to_string(), rss(500)),
            ("atom (generated, 500 entries)".to_string(), atom(500)),
        ]
    } else {
        files.iter().filter_map(|f| std::fs::read(f).ok().map(|b| (f.clone(), b))).collect()
    };
    println!("{:<34} {:>9} {:>16} {:>16} {:>7}", "document", "size", "parse_feed MB/s", "feed-rs MB/s", "ratio");
    for (name, bytes) in &docs {
        let (ours, n1) = rate(bytes, |b| parse_feed(b, &base, usize::MAX).map(|f| f.items.len()).unwrap_or(0));
        let (theirs, n2) = rate(bytes, |b| feed_rs::parser::parse(b).map(|f| f.entries.len()).unwrap_or(0));
        println!(
            "{:<34} {:>8}K {:>16.1} {:>16.1} {:>6.2}x   (items {n1} / {n2})",
            name,
            bytes.len() / 1024,
            ours,
            theirs,
            ours / theirs
        );
    }
}
