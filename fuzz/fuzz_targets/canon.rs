//! URL canonicalisation and redaction on arbitrary text: `canonical_url` is
//! idempotent, drops the fragment and the tracking parameters, and its
//! output parses back to itself; `redact` never panics and replaces the
//! password of any URL that has one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newswire_core::canon::{canonical_url, redact};
use url::Url;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let redacted = redact(text);
    let Ok(url) = Url::parse(text) else { return };
    if url.password().is_some() {
        // The credentials are hidden (the same text may still occur
        // elsewhere in the URL, say in the query: that is not a password).
        let again = Url::parse(&redacted).expect("a redacted URL parses");
        assert_eq!(again.password(), Some("***"), "password left in {redacted}");
    }
    let canon = canonical_url(&url);
    assert_eq!(canon.fragment(), None);
    assert_eq!(canonical_url(&canon), canon, "not idempotent for {text:?}");
    if matches!(canon.scheme(), "http" | "https") {
        for (k, _) in canon.query_pairs() {
            let k = k.to_ascii_lowercase();
            assert!(!k.starts_with("utm_") && k != "fbclid" && k != "gclid", "tracking parameter {k} kept");
        }
        let again = Url::parse(canon.as_str()).expect("a canonical URL parses");
        assert_eq!(again, canon, "canonical URL does not round-trip");
    }
});
