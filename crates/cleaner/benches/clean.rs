//! Throughput of the cleaner on one core, over a generated corpus of feed
//! items: plain text and HTML, with the boilerplate classes of the shared
//! corpus mixed in. Prints items/s and MB/s per input kind.
//!
//!     cargo bench -p newswire-cleaner
//!
//! Set `CLEAN_BENCH_ITEMS` to change the number of items per kind (default
//! 10,000) and `CLEAN_BENCH_ROUNDS` the rounds (default 3; the best counts).

use std::hint::black_box;
use std::time::{Duration, Instant};

use newswire_cleaner::{Cleaner, Input, TemplateSettings, TemplateTable};

/// A small deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "council",
    "residents",
    "said",
    "on",
    "Tuesday",
    "the",
    "plan",
    "would",
    "cost",
    "million",
    "and",
    "that",
    "officials",
    "expected",
    "a",
    "decision",
    "by",
    "March",
    "after",
    "months",
    "of",
    "talks",
    "with",
    "unions",
    "over",
    "wages",
    "while",
    "critics",
    "argued",
    "budget",
    "was",
    "too",
    "small",
    "to",
    "cover",
    "repairs",
    "in",
    "northern",
    "districts",
    "where",
    "flooding",
    "damaged",
    "roads",
    "bridges",
    "schools",
    "last",
    "year",
    "le",
    "conseil",
    "a",
    "voté",
    "mardi",
    "für",
    "die",
    "Stadt",
    "según",
    "el",
    "alcalde",
    "prefeitura",
    "comune",
    "“quoted”",
    "—",
    "2024",
    "40,000",
];

const BOILER_TEXT: &[&str] = &[
    "Advertisement",
    "Photo: Jane Mwangi / Lakeside Tribune",
    "READ MORE: Council approves new bus lanes",
    "Gutted for the skipper. Get well soon 💙 https://t.co/8hJvNc2WqP\n— Harwick Town FC (@HarwickTownFC) 14 September 2024",
    "View this post on Instagram\nDay 6 of the campaign. Thank you! #VaccinesWork\nA post shared by Kano Health Watch (@kanohealthwatch)",
    "Sign up for The Morning Brief, our free daily newsletter.",
    "(Reporting by Achieng Otieno; Editing by Grace Wambui)",
    "© 2024 Rift Valley Courier. All rights reserved.",
    "Follow us on Facebook, X and Instagram for more news.",
    "Lire aussi : Le budget 2025 adopté",
];

const BOILER_HTML: &[&str] = &[
    "<div class=\"ad-container\"><span class=\"ad-label\">Advertisement</span><div id=\"div-gpt-ad-1\"></div></div>",
    "<figure class=\"wp-block-image\"><img src=\"https://example.org/a.jpg\" alt=\"\"/><figcaption>Photo: Jane Mwangi / Tribune</figcaption></figure>",
    "<figure class=\"wp-block-embed is-provider-twitter\"><div class=\"wp-block-embed__wrapper\"><blockquote class=\"twitter-tweet\"><p lang=\"en\" dir=\"ltr\">Day 9. The tanker came at 2am. <a href=\"https://t.co/J8pQrLw3Xe\">pic.twitter.com/J8pQrLw3Xe</a></p>&mdash; Sipho Ndlovu (@SiphoNdlovu_ZA) <a href=\"https://twitter.com/SiphoNdlovu_ZA/status/1856123456789012345?ref_src=twsrc%5Etfw\">November 12, 2024</a></blockquote><script async src=\"https://platform.twitter.com/widgets.js\" charset=\"utf-8\"></script></div></figure>",
    "<figure class=\"wp-block-embed is-type-video is-provider-youtube\"><div class=\"wp-block-embed__wrapper\"><iframe title=\"Trailer\" width=\"640\" height=\"360\" src=\"https://www.youtube.com/embed/Ln8cZ2pQy4M?feature=oembed\" frameborder=\"0\" allowfullscreen></iframe></div></figure>",
    "<div class=\"sharedaddy sd-sharing-enabled\"><div class=\"robots-nocontent sd-block sd-social\"><h3 class=\"sd-title\">Share this:</h3><div class=\"sd-content\"><ul><li class=\"share-twitter\"><a class=\"share-twitter sd-button\" href=\"https://example.org/?share=twitter\" title=\"Click to share on Twitter\"><span>Twitter</span></a></li><li class=\"share-facebook\"><a href=\"https://example.org/?share=facebook\"><span>Facebook</span></a></li></ul></div></div></div>",
    "<p><strong>Read more:</strong> <a href=\"https://example.org/x\">Regulator tightens data rules</a></p>",
];

fn paragraph(rng: &mut Rng) -> String {
    let n = 25 + rng.below(45);
    let mut p = String::from("The");
    for _ in 0..n {
        p.push(' ');
        p.push_str(rng.pick(WORDS));
    }
    p.push('.');
    p
}

fn text_item(rng: &mut Rng) -> String {
    let mut lines = Vec::new();
    for _ in 0..6 + rng.below(10) {
        lines.push(paragraph(rng));
        if rng.below(4) == 0 {
            lines.push(rng.pick(BOILER_TEXT).to_string());
        }
    }
    lines.push("The post Council backs tram plan appeared first on Metro Ledger.".to_string());
    lines.join("\n")
}

fn html_item(rng: &mut Rng) -> String {
    let mut html = String::new();
    for i in 0..6 + rng.below(10) {
        if i == 3 {
            html.push_str("<h2>What happens next</h2>\n<ul><li>First step &amp; more</li><li>Second step</li></ul>\n");
        }
        html.push_str("<p>");
        html.push_str(
            &paragraph(rng)
                .replace("said", "<a href=\"https://example.org/\">said</a>")
                .replace("plan", "<em>plan</em>"),
        );
        html.push_str("</p>\n");
        if rng.below(3) == 0 {
            html.push_str(rng.pick(BOILER_HTML));
            html.push('\n');
        }
    }
    html.push_str("<p>The post <a rel=\"nofollow\" href=\"https://example.org/x\">Council backs tram plan</a> appeared first on <a href=\"https://example.org\">Metro Ledger</a>.</p>");
    html
}

fn measure(label: &str, items: &[String], rounds: usize, clean: impl Fn(&str) -> usize) {
    let bytes: usize = items.iter().map(String::len).sum();
    let mut best = Duration::MAX;
    let mut kept = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        kept = 0;
        for item in items {
            kept += clean(black_box(item));
        }
        best = best.min(start.elapsed());
    }
    let secs = best.as_secs_f64();
    println!(
        "{label:<6} {:>6} items {:>7.2} MB  {:>8.3} s  {:>9.0} items/s  {:>7.1} MB/s  ({kept} paragraphs kept)",
        items.len(),
        bytes as f64 / 1e6,
        secs,
        items.len() as f64 / secs,
        bytes as f64 / 1e6 / secs,
    );
}

/// HTML items in feeds of 25, each feed's template learned and applied as
/// the pipeline does it (clean every item, observe the document, apply):
/// the cleaner's throughput with the template table on.
fn measure_template(cleaner: &Cleaner, items: &[String], rounds: usize) {
    const PROMO: &str = "<p>Love local news? Tell a friend about the Metro Ledger and we will post you a tote bag.</p>";
    let items: Vec<String> = items.iter().map(|i| format!("{i}{PROMO}")).collect();
    let bytes: usize = items.iter().map(String::len).sum();
    let mut best = Duration::MAX;
    let mut kept = 0;
    let mut removed = 0;
    for _ in 0..rounds {
        let start = Instant::now();
        (kept, removed) = (0, 0);
        for (f, feed) in items.chunks(25).enumerate() {
            let mut table = TemplateTable::new(TemplateSettings::default());
            let mut cleaned: Vec<_> = feed.iter().map(|i| cleaner.clean(Input::Html(black_box(i)))).collect();
            for (i, c) in cleaned.iter().enumerate() {
                table.observe(&format!("{f}-{i}"), &c.paragraphs);
            }
            for c in &mut cleaned {
                removed += table.apply(c, None);
                kept += c.paragraphs.len();
            }
            black_box(table.into_state());
        }
        best = best.min(start.elapsed());
    }
    let secs = best.as_secs_f64();
    println!(
        "html+template {:>6} items {:>7.2} MB  {:>8.3} s  {:>9.0} items/s  {:>7.1} MB/s  ({kept} paragraphs kept, {removed} template)",
        items.len(),
        bytes as f64 / 1e6,
        secs,
        items.len() as f64 / secs,
        bytes as f64 / 1e6 / secs,
    );
}

fn main() {
    // `cargo bench` passes "--bench"; `cargo test --benches` runs this too,
    // so keep that run short.
    let quick = std::env::args().any(|a| a == "--test" || a == "--list") || !std::env::args().any(|a| a == "--bench");
    let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let n = if quick { 200 } else { env("CLEAN_BENCH_ITEMS", 10_000) };
    let rounds = if quick { 1 } else { env("CLEAN_BENCH_ROUNDS", 3) };
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let text: Vec<String> = (0..n).map(|_| text_item(&mut rng)).collect();
    let html: Vec<String> = (0..n).map(|_| html_item(&mut rng)).collect();
    let cleaner = Cleaner::default();
    // The block classifier's cost, side by side: the same items with it off.
    let rules = Cleaner::default().with_classifier(false, None);
    measure("text", &text, rounds, |s| cleaner.clean(Input::Text(s)).paragraphs.len());
    measure("text-rules", &text, rounds, |s| rules.clean(Input::Text(s)).paragraphs.len());
    measure("html", &html, rounds, |s| cleaner.clean(Input::Html(s)).paragraphs.len());
    measure("html-rules", &html, rounds, |s| rules.clean(Input::Html(s)).paragraphs.len());
    measure_template(&cleaner, &html, rounds);

    nested_shapes(&cleaner, quick);
}

#[path = "../tests/support/nested_shapes.rs"]
mod nested;
#[path = "../tests/support/widget_shapes.rs"]
mod widgets;

/// Hostile markup: 1 MiB of each nested or unclosed shape must clean in
/// well under a second (best of three rounds; one in the quick run).
fn nested_shapes(cleaner: &Cleaner, quick: bool) {
    let env_size = std::env::var("NESTED_BENCH_BYTES").ok().and_then(|v| v.parse().ok());
    let size = env_size.unwrap_or(if quick { nested::SIZE / 16 } else { nested::SIZE });
    let only = std::env::var("NESTED_BENCH_ONLY").unwrap_or_default();
    let shapes = nested::shapes(size).into_iter().chain(widgets::widget_shapes(size));
    for (name, html) in shapes.filter(|(name, _)| name.contains(only.as_str())) {
        let mut best = Duration::MAX;
        let mut kept = 0;
        for _ in 0..if quick { 1 } else { 3 } {
            let start = Instant::now();
            let c = cleaner.clean(Input::Html(black_box(&html)));
            best = best.min(start.elapsed());
            kept = c.paragraphs.iter().map(String::len).sum();
        }
        println!(
            "nested {name:<20} {:>5.2} MB: {:>7.3} s  ({kept} bytes of text kept)",
            html.len() as f64 / 1e6,
            best.as_secs_f64()
        );
    }
}
