//! The main-content extractor on an arbitrary page, with and without site
//! rules.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use newswire_cleaner::{Cleaner, SiteRules, extract};

fn rules() -> &'static SiteRules {
    static RULES: OnceLock<SiteRules> = OnceLock::new();
    RULES.get_or_init(|| {
        SiteRules::new(&["article .body".into(), "#story".into()], &[".related".into(), "aside".into()])
            .expect("site rules compile")
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(html) = std::str::from_utf8(rest) else { return };
    let cleaner = Cleaner::default();
    let site = (selector & 1 == 1).then(rules);
    let url = (selector & 2 == 2).then_some("https://example.com/news/2024/story.html");
    let article = extract(html, url, &cleaner, site);
    for p in &article.paragraphs {
        assert!(!p.is_empty(), "empty paragraph");
    }
    let _ = article.text();
});
