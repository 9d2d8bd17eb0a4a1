//! The extractor against the synthetic pages in tests/fixtures/pages: each
//! `NAME.html` has a `NAME.expected.txt` (the article text, one paragraph a
//! line). Scored per page with token precision/recall/F1 and with the
//! word 4-gram precision/recall of the Article Extraction Benchmark; the
//! mean F1 must not fall below the level reached (see docs/extraction.md).

use std::collections::HashMap;
use std::path::PathBuf;

use newswire_cleaner::{Cleaner, SiteRules, extract};

/// Mean token F1 over the fixture pages must stay above this.
const MIN_MEAN_TOKEN_F1: f64 = 0.98;
/// Mean 4-gram F1 over the fixture pages must stay above this.
const MIN_MEAN_NGRAM_F1: f64 = 0.98;

fn pages_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pages")
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// Lowercase words; CJK characters are a token each.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[derive(Debug, Clone, Copy, Default)]
struct Prf {
    precision: f64,
    recall: f64,
}

impl Prf {
    fn f1(&self) -> f64 {
        if self.precision + self.recall == 0.0 {
            0.0
        } else {
            2.0 * self.precision * self.recall / (self.precision + self.recall)
        }
    }
}

/// Precision and recall of two bags of items.
fn bag_prf<T: std::hash::Hash + Eq>(got: Vec<T>, want: Vec<T>) -> Prf {
    let (ng, nw) = (got.len(), want.len());
    if ng == 0 || nw == 0 {
        let same = ng == nw;
        return Prf { precision: if same { 1.0 } else { 0.0 }, recall: if same { 1.0 } else { 0.0 } };
    }
    let mut counts: HashMap<T, i64> = HashMap::new();
    for w in want {
        *counts.entry(w).or_default() += 1;
    }
    let mut hit = 0usize;
    for g in got {
        if let Some(c) = counts.get_mut(&g)
            && *c > 0
        {
            *c -= 1;
            hit += 1;
        }
    }
    Prf { precision: hit as f64 / ng as f64, recall: hit as f64 / nw as f64 }
}

fn ngrams(t: &[String], n: usize) -> Vec<Vec<String>> {
    if t.len() < n { vec![t.to_vec()] } else { t.windows(n).map(<[String]>::to_vec).collect() }
}

struct Score {
    name: String,
    token: Prf,
    ngram: Prf,
}

fn score_all() -> Vec<Score> {
    let cleaner = Cleaner::default();
    let mut names: Vec<PathBuf> = std::fs::read_dir(pages_dir())
        .expect("fixture pages directory exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".expected.txt"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for expected_path in names {
        let path = expected_path.to_string_lossy();
        let html_path = PathBuf::from(path.replace(".expected.txt", ".html"));
        let html = std::fs::read_to_string(&html_path).expect("page next to its expected text");
        let expected = std::fs::read_to_string(&expected_path).expect("expected text");
        let article = extract(&html, Some("https://news.example/section/story.html"), &cleaner, None);
        let got = tokens(&article.paragraphs.join("\n"));
        let want = tokens(&expected);
        let name = html_path.file_stem().expect("file name").to_string_lossy().into_owned();
        out.push(Score {
            name,
            token: bag_prf(got.clone(), want.clone()),
            ngram: bag_prf(ngrams(&got, 4), ngrams(&want, 4)),
        });
    }
    out
}

#[test]
fn fixture_pages_score_above_the_floor() {
    let scores = score_all();
    assert!(scores.len() >= 25, "expected at least 25 fixture pages, found {}", scores.len());
    let mut sum_token = 0.0;
    let mut sum_ngram = (0.0, 0.0, 0.0);
    println!(
        "{:<34} {:>6} {:>6} {:>6}   {:>6} {:>6} {:>6}",
        "page", "tok-P", "tok-R", "tok-F1", "4g-P", "4g-R", "4g-F1"
    );
    for s in &scores {
        println!(
            "{:<34} {:>6.3} {:>6.3} {:>6.3}   {:>6.3} {:>6.3} {:>6.3}",
            s.name,
            s.token.precision,
            s.token.recall,
            s.token.f1(),
            s.ngram.precision,
            s.ngram.recall,
            s.ngram.f1()
        );
        sum_token += s.token.f1();
        sum_ngram.0 += s.ngram.precision;
        sum_ngram.1 += s.ngram.recall;
        sum_ngram.2 += s.ngram.f1();
    }
    let n = scores.len() as f64;
    let mean_token = sum_token / n;
    let mean_ngram = sum_ngram.2 / n;
    println!(
        "mean token F1 {mean_token:.4}; 4-gram precision {:.4} recall {:.4} F1 {mean_ngram:.4} over {} pages",
        sum_ngram.0 / n,
        sum_ngram.1 / n,
        scores.len()
    );
    assert!(mean_token >= MIN_MEAN_TOKEN_F1, "mean token F1 {mean_token:.4} fell below {MIN_MEAN_TOKEN_F1}");
    assert!(mean_ngram >= MIN_MEAN_NGRAM_F1, "mean 4-gram F1 {mean_ngram:.4} fell below {MIN_MEAN_NGRAM_F1}");
}

#[test]
fn metadata_comes_from_json_ld_opengraph_and_meta_tags() {
    let cleaner = Cleaner::default();
    let read = |name: &str| std::fs::read_to_string(pages_dir().join(name)).expect("fixture page");
    let a = extract(&read("17-wire-graph.html"), None, &cleaner, None);
    assert_eq!(a.title.as_deref(), Some("Oil rises on signs of extended output cuts"));
    assert_eq!(a.authors, ["Ana Souza", "Li Wei"]);
    assert_eq!(a.published.map(|d| d.to_rfc3339()).as_deref(), Some("2024-04-02T20:10:00+00:00"));
    assert_eq!(a.lead_image.as_deref(), Some("https://img.example/oil.jpg"));
    assert_eq!(a.site_name.as_deref(), Some("Wire Service"));
    assert_eq!(a.language.as_deref(), Some("en"));
    assert!(!a.paragraphs.iter().any(|p| p.starts_with("By Ana Souza")), "byline left in: {:?}", a.paragraphs);

    let a = extract(&read("15-italian-og-credits.html"), None, &cleaner, None);
    assert_eq!(a.title.as_deref(), Some("Ponte sullo stretto, via libera al progetto"));
    assert_eq!(a.published.map(|d| d.to_rfc3339()).as_deref(), Some("2024-07-20T16:45:00+00:00"));
    assert_eq!(a.language.as_deref(), Some("it"));

    let a = extract(&read("06-french-tweet-aside.html"), None, &cleaner, None);
    assert_eq!(a.authors, ["Claire Martin"]);
    assert_eq!(a.site_name.as_deref(), Some("Le Quotidien"));
    assert_eq!(a.embeds.len(), 1);
    assert_eq!(a.embeds[0].kind, "twitter");

    let a = extract(&read("02-jsonld-paywall.html"), None, &cleaner, None);
    assert_eq!(a.paragraphs.len(), 5, "{:?}", a.paragraphs);
}

#[test]
fn site_rules_take_precedence() {
    let html = "<html><body><div class=\"story\"><p>Generic extractors would pick this long paragraph, \
                which goes on, and on, with many commas, clauses, and words.</p></div>\
                <div id=\"real\"><p>The real body.</p><p class=\"promo\">Buy now.</p></div></body></html>";
    let rules = SiteRules::new(&["#real".to_string()], &["p.promo".to_string()]).expect("valid selectors");
    let a = extract(html, None, &Cleaner::default(), Some(&rules));
    assert_eq!(a.paragraphs, ["The real body."]);
    assert_eq!(rules.body().collect::<Vec<_>>(), ["#real"]);

    let err = SiteRules::new(&["div[".to_string()], &[]).expect_err("bad selector");
    assert_eq!(err.to_string(), "invalid CSS selector \"div[\"");
}

#[test]
fn hostile_input_is_bounded() {
    let n = 50_000;
    let html = "<div>".repeat(n) + "deep text" + &"</div>".repeat(n);
    let a = extract(&html, None, &Cleaner::default(), None);
    assert_eq!(a.paragraphs, ["deep text"]);
    let a = extract("", None, &Cleaner::default(), None);
    assert!(a.paragraphs.is_empty() && a.title.is_none());
    let a = extract("just some text, no markup", None, &Cleaner::default(), None);
    assert_eq!(a.paragraphs, ["just some text, no markup"]);
}

/// Sentences of prose, numbered so each page's text is its own.
fn prose(tag: &str, sentences: usize) -> String {
    (0..sentences)
        .map(|i| {
            format!(
                "The {tag} council met on day {i}, and the members, who had argued for weeks, agreed at last on a plan for the river crossing."
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn text_of(html: &str) -> String {
    extract(html, None, &Cleaner::default(), None).paragraphs.join("\n")
}

/// A blog platform wraps the post in a `widget`; the sidebar's "About me"
/// is longer than the post and sits in a region named `sidebar`; comments
/// follow the post. The post comes out, and only the post.
#[test]
fn the_post_in_a_widget_wrapper_beats_a_denser_sidebar() {
    let post = prose("harbour", 6).replace(". ", ".<br><br>");
    let bio = prose("biography", 12);
    let html = format!(
        "<html><body><div class=\"main section\"><div class=\"widget Blog\" id=\"Blog1\">\
         <div class=\"post hentry\"><h3>Title</h3><div class=\"post-body entry-content\">{post}</div></div>\
         <div class=\"comments\" id=\"comments\"><dl><dd class=\"comment-body\"><p>{}</p></dd></dl></div></div></div>\
         <div class=\"sidebar section\" id=\"sidebar\"><div class=\"widget Profile\"><dl><dd class=\"profile-textblock\">{bio}</dd></dl></div></div>\
         </body></html>",
        prose("comment", 8)
    );
    let text = text_of(&html);
    assert!(text.contains("The harbour council met on day 5"), "{text}");
    assert!(!text.contains("biography") && !text.contains("comment council"), "{text}");
}

/// A theme names the article's column `has-sidebar`; the post is a list of
/// links with a little prose (link density above a menu's): it is the
/// article all the same.
#[test]
fn a_link_roundup_in_a_misleadingly_named_column_is_the_article() {
    let links: String = (0..12)
        .map(|i| format!("<li><a href=\"/story/{i}\">Story number {i} about the river crossing plan</a></li>"))
        .collect();
    let html = format!(
        "<html><body><nav><a href=/>Home</a></nav><div id=\"main-content\" class=\"has-sidebar\">\
         <div class=\"post\"><p>{}</p><ul>{links}</ul></div></div>\
         <div class=\"sidebar\"><ul><li><a href=/a>Archive</a></li><li><a href=/b>About</a></li></ul></div></body></html>",
        prose("roundup", 2)
    );
    let text = text_of(&html);
    assert!(text.contains("The roundup council met on day 1"), "{text}");
    assert!(text.contains("Story number 11 about the river crossing plan"), "{text}");
    assert!(!text.contains("Archive"), "{text}");
}

/// The article's own container is named like furniture the cleaner drops
/// (a gallery's `caption` box), or the page is wrapped in a `<form>`
/// (ASP.NET): its text still comes out.
#[test]
fn the_articles_container_is_not_taken_for_furniture_by_its_name() {
    let html = format!(
        "<html><body><form id=\"aspnetForm\"><div class=\"gallery\"><div id=\"slide\" class=\"caption\"><p>{}</p></div></div>\
         <div class=\"footer\"><a href=/x>Contact</a></div></form></body></html>",
        prose("gallery", 3)
    );
    let text = text_of(&html);
    assert!(text.contains("The gallery council met on day 2"), "{text}");
}

/// Text set with `<br>`s beside blocks, without `<p>`, scores as the
/// paragraphs it would be, and a second copy of the article (a print
/// version) comes out once.
#[test]
fn bare_text_counts_and_a_repeated_copy_comes_out_once() {
    let body = prose("ferry", 8).replace(". ", ".<br><br>");
    let html = format!(
        "<html><body><div class=\"teasers\"><div><p>{}</p></div><div><p>{}</p></div></div>\
         <div id=\"story\"><h2>Headline</h2>{body}<div class=\"ad-slot\">Ad</div></div>\
         <div class=\"print-copy\">{body}</div></body></html>",
        prose("teaser one", 1),
        prose("teaser two", 1)
    );
    let text = text_of(&html);
    assert_eq!(text.matches("The ferry council met on day 7").count(), 1, "{text}");
    assert!(text.contains("The ferry council met on day 0"), "{text}");
    assert!(!text.contains("teaser"), "{text}");
}

/// A page whose chosen markup gives nothing falls back to the densest prose
/// (and says so); a paywall page to its JSON-LD `articleBody`.
#[test]
fn an_empty_choice_falls_back_and_says_so() {
    let html = format!(
        "<html><body><div id=\"story\"><script>render()</script></div><div class=\"wrap\"><p>{}</p><p>{}</p></div></body></html>",
        prose("fallback", 3),
        prose("second", 2)
    );
    let rules = SiteRules::new(&["#story".to_string()], &[]).expect("valid selector");
    let a = extract(&html, None, &Cleaner::default(), Some(&rules));
    assert_eq!(a.fallback, Some(newswire_cleaner::Fallback::DensestProse), "{:?}", a.paragraphs);
    assert!(a.text().contains("The fallback council met on day 2"), "{:?}", a.paragraphs);
    assert_eq!(extract(&format!("<p>{}</p>", prose("plain", 2)), None, &Cleaner::default(), None).fallback, None);

    let read = |name: &str| std::fs::read_to_string(pages_dir().join(name)).expect("fixture page");
    let a = extract(&read("02-jsonld-paywall.html"), None, &Cleaner::default(), None);
    assert_eq!(a.fallback, Some(newswire_cleaner::Fallback::JsonLd));
}
