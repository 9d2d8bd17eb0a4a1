//! The cleaner on arbitrary content, as HTML and as text: `Cleaner::clean`
//! (built-in rules), the passthrough used by `clean = false` feeds, and the
//! short-field helpers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswire_cleaner::{Cleaner, Input, html_to_text, looks_like_html};

fn check(paragraphs: &[String]) {
    for p in paragraphs {
        assert!(!p.is_empty(), "empty paragraph");
        assert_eq!(p.trim(), p, "paragraph not trimmed");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let cleaner = Cleaner::default();
    for input in [Input::Html(text), Input::Text(text), Input::detect(text)] {
        let c = cleaner.clean(input);
        check(&c.paragraphs);
        check(&Cleaner::passthrough(input).paragraphs);
    }
    let _ = looks_like_html(text);
    let short = html_to_text(text);
    assert_eq!(short.trim(), short);
});
