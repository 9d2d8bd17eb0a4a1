//! Extraction throughput on one core: the fixture pages in
//! tests/fixtures/pages, and generated ~100 KB news pages (navigation,
//! mega menus, teasers, comments, scripts around a long article). Prints
//! pages/s and MB/s per set.
//!
//!     cargo bench -p newswire-cleaner --bench extract
//!
//! `EXTRACT_BENCH_SECS` sets the time per round (default 2; best of three).

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use newswire_cleaner::{Cleaner, extract};

/// A generated news page of about `target` bytes.
fn big_page(seed: usize, target: usize) -> String {
    let mut page = String::with_capacity(target + 4096);
    page.push_str("<!DOCTYPE html><html lang=\"en\"><head><title>Story | Daily</title>");
    page.push_str("<meta property=\"og:title\" content=\"Story\"><script type=\"application/ld+json\">");
    page.push_str("{\"@type\":\"NewsArticle\",\"headline\":\"Story\",\"author\":{\"name\":\"A. Writer\"}}</script>");
    page.push_str("<style>body{font-family:serif}.nav{display:flex}</style></head><body>");
    page.push_str("<header class=\"site-header\"><nav class=\"mega-menu\">");
    for i in 0..40 {
        page.push_str(&format!("<div class=\"menu-col\"><a href=\"/s/{i}\">Section {i}</a><ul>"));
        for j in 0..6 {
            page.push_str(&format!("<li><a href=\"/s/{i}/{j}\">Subsection {j}</a></li>"));
        }
        page.push_str("</ul></div>");
    }
    page.push_str("</nav></header><div class=\"cookie-banner\"><p>We use cookies.</p></div><main><article>");
    page.push_str("<h1>Story</h1><div class=\"byline\">By A. Writer</div><div class=\"article-body\">");
    let body_target = target / 3;
    let mut n = 0u32;
    while page.len() < body_target {
        page.push_str(&format!(
            "<p>Paragraph {n} of story {seed}: the council said on Tuesday that the plan, which would cost \
             several million, had been approved, and residents <a href=\"/x\">quoted here</a> welcomed it.</p>"
        ));
        if n % 5 == 4 {
            page.push_str("<div class=\"ad-slot\"><script>loadAd()</script><span>Advertisement</span></div>");
        }
        n += 1;
    }
    page.push_str("</div></article><section class=\"comments\">");
    while page.len() < target * 3 / 4 {
        page.push_str(
            "<div class=\"comment\"><span class=\"user\">reader</span><p>I disagree with this, completely, \
                       and I think the council is wrong.</p></div>",
        );
    }
    page.push_str("</section></main><aside class=\"sidebar\"><ul>");
    while page.len() < target - 200 {
        page.push_str(
            "<li class=\"teaser\"><a href=\"/t\"><img src=\"t.jpg\"><span>Teaser headline here</span></a></li>",
        );
    }
    page.push_str("</ul></aside><footer>© Daily</footer></body></html>");
    page
}

/// A generated page of about `target` bytes of which half is what real news
/// pages carry besides markup: inline state and analytics scripts, styles,
/// and an SVG icon in every menu link.
fn scripted_page(seed: usize, target: usize) -> String {
    let page = big_page(seed, target / 2).replace(
        "\">Section ",
        "\"><svg class=\"icon\" viewBox=\"0 0 24 24\" aria-hidden=\"true\"><path d=\"M12 2L2 7l10 5 10-5-10-5zm0 13l-10-5v6l10 5 10-5v-6l-10 5z\"/></svg>Section ",
    );
    let mut head = String::from("<head>");
    head.push_str("<style>");
    while head.len() < target / 8 {
        head.push_str(".story-body p{margin:0 0 1em;line-height:1.5}.nav a:hover{text-decoration:underline}");
    }
    head.push_str("</style><script>window.__STATE__={\"articles\":[");
    let mut n = 0;
    while head.len() + page.len() < target {
        head.push_str(&format!(
            "{{\"id\":{n},\"title\":\"Teaser {n}\",\"url\":\"/t/{n}\",\"html\":\"<p>Teaser text {n}</p>\"}},"
        ));
        n += 1;
    }
    head.push_str("{}]};dataLayer.push({event:'page'});</script>");
    page.replacen("<head>", &head, 1)
}

fn run(name: &str, pages: &[String], secs: f64) {
    let cleaner = Cleaner::default();
    let bytes: usize = pages.iter().map(String::len).sum();
    let mut best = 0.0f64;
    for _ in 0..3 {
        let start = Instant::now();
        let mut done = 0usize;
        while start.elapsed() < Duration::from_secs_f64(secs) {
            for page in pages {
                black_box(extract(black_box(page), None, &cleaner, None));
            }
            done += 1;
        }
        let rate = (done * pages.len()) as f64 / start.elapsed().as_secs_f64();
        best = best.max(rate);
    }
    let avg = bytes as f64 / pages.len() as f64;
    println!(
        "{name:<22} {:>4} pages, avg {:>6.1} KB: {:>8.0} pages/s {:>7.1} MB/s",
        pages.len(),
        avg / 1024.0,
        best,
        best * avg / 1e6
    );
}

fn main() {
    let secs: f64 = std::env::var("EXTRACT_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pages");
    let mut fixtures = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture pages directory exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    entries.sort();
    for path in entries {
        fixtures.push(std::fs::read_to_string(&path).expect("readable fixture page"));
    }
    run("fixture pages", &fixtures, secs);
    let big: Vec<String> = (0..8).map(|i| big_page(i, 100 * 1024)).collect();
    run("generated 100 KB pages", &big, secs);
    let scripted: Vec<String> = (0..8).map(|i| scripted_page(i, 100 * 1024)).collect();
    run("same, half scripts", &scripted, secs);
    parse_only(&big);
    nested_shapes();
}

#[path = "../tests/support/nested_shapes.rs"]
mod nested;

/// Hostile markup: 1 MiB of each nested or unclosed shape through the
/// extractor (best of three). `NESTED_BENCH_BYTES` changes the size.
fn nested_shapes() {
    let cleaner = Cleaner::default();
    let size = std::env::var("NESTED_BENCH_BYTES").ok().and_then(|v| v.parse().ok()).unwrap_or(nested::SIZE);
    for (name, html) in nested::shapes(size) {
        let mut best = Duration::MAX;
        let mut kept = 0;
        for _ in 0..3 {
            let start = Instant::now();
            let a = extract(black_box(&html), None, &cleaner, None);
            best = best.min(start.elapsed());
            kept = a.paragraphs.iter().map(String::len).sum();
        }
        println!(
            "nested {name:<20} {:>5.2} MB: {:>7.3} s  ({kept} bytes of text kept)",
            html.len() as f64 / 1e6,
            best.as_secs_f64()
        );
    }
}

/// The parser alone on the same pages: the ceiling for any extractor on scraper.
fn parse_only(pages: &[String]) {
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_secs(1) {
        for p in pages {
            black_box(scraper::Html::parse_document(p));
            n += 1;
        }
    }
    println!(
        "{:<22} (html5ever parse alone): {:>8.0} pages/s",
        "generated 100 KB pages",
        f64::from(n) / start.elapsed().as_secs_f64()
    );
}
