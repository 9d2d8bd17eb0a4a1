//! URL canonicalisation and redaction.
//!
//! [`canonical_url`] turns an article link into the form that identifies the
//! article: fragment dropped, tracking parameters removed, scheme and host
//! lowercased, default port dropped. Everything else (path, remaining query
//! parameters and their order) is kept as published: a canonical URL must
//! still lead to the article.
//!
//! [`redact`] hides credentials before a URL reaches a log, an error message,
//! a metric or a record.

use url::Url;

/// Query parameters that only track the visitor, matched exactly
/// (case-insensitively).
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "msclkid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "igshid",
    "yclid",
    "twclid",
    "ncid",
    "cmpid",
    "ocid",
    "sr_share",
    "soc_src",
    "soc_trk",
    "wt.mc_id",
    "__twitter_impression",
    "smid",
    "smtyp",
    "rss",
    "ito",
    "cmp",
    "ns_mchannel",
    "ns_source",
    "ns_campaign",
    "ns_linkname",
    "ns_fee",
    "at_medium",
    "at_campaign",
    "at_custom1",
    "at_custom2",
    "at_custom3",
    "at_custom4",
];

/// Query parameter prefixes that only track the visitor.
const TRACKING_PREFIXES: &[&str] = &["utm_", "pk_", "mtm_", "hsa_", "oly_"];

/// Query parameters whose values are secrets, hidden by [`redact`].
const SECRET_PARAMS: &[&str] =
    &["token", "access_token", "api_key", "apikey", "key", "password", "passwd", "secret", "sig", "signature", "auth"];

fn is_tracking(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    TRACKING_PARAMS.contains(&lower.as_str()) || TRACKING_PREFIXES.iter().any(|p| lower.starts_with(p))
}

/// The canonical form of an http(s) article URL. Other schemes come back
/// unchanged apart from the fragment.
pub fn canonical_url(url: &Url) -> Url {
    let mut out = url.clone();
    out.set_fragment(None);
    if !matches!(out.scheme(), "http" | "https") {
        return out;
    }
    if out.query().is_some() {
        let kept: Vec<(String, String)> =
            out.query_pairs().filter(|(k, _)| !is_tracking(k)).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        if kept.is_empty() {
            out.set_query(None);
        } else if kept.len() != out.query_pairs().count() {
            out.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    out
}

/// A URL with user name, password and secret-looking query values replaced
/// by `***`, for logs and errors. Text that is not a URL comes back as is.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return redact_unparsed(url);
    };
    let mut changed = false;
    if !parsed.username().is_empty() {
        // Setting fails only for URLs that cannot have credentials, which
        // have none to hide.
        let _ = parsed.set_username("***");
        changed = true;
    }
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
        changed = true;
    }
    if parsed.query().is_some()
        && parsed.query_pairs().any(|(k, _)| SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str()))
    {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let hidden = SECRET_PARAMS.contains(&k.to_ascii_lowercase().as_str());
                (k.into_owned(), if hidden { "***".to_string() } else { v.into_owned() })
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
        changed = true;
    }
    if changed { parsed.to_string() } else { url.to_string() }
}

/// Hide a `user:password@` part in text that did not parse as a URL.
fn redact_unparsed(text: &str) -> String {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return text.to_string();
    };
    let authority_end = text[start..].find(['/', '?', '#']).map_or(text.len(), |i| start + i);
    match text[start..authority_end].rfind('@') {
        Some(at) => format!("{}***@{}", &text[..start], &text[start + at + 1..]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical_url(&Url::parse(s).expect("test URL parses")).to_string()
    }

    #[test]
    fn removes_tracking_and_fragment_keeps_the_rest() {
        assert_eq!(
            canon("HTTPS://Example.COM:443/a/b?id=7&utm_source=rss&utm_medium=feed&fbclid=x#top"),
            "https://example.com/a/b?id=7"
        );
        assert_eq!(canon("https://example.com/a?utm_source=rss"), "https://example.com/a");
        assert_eq!(canon("https://example.com/a?b=2&a=1"), "https://example.com/a?b=2&a=1");
        assert_eq!(canon("https://example.com/a/"), "https://example.com/a/");
        assert_eq!(canon("http://example.com:8080/x"), "http://example.com:8080/x");
    }

    #[test]
    fn redacts_credentials_and_secret_params() {
        assert_eq!(redact("https://user:pw@example.com/feed"), "https://***:***@example.com/feed");
        assert_eq!(redact("https://example.com/feed?token=abc&x=1"), "https://example.com/feed?token=***&x=1");
        assert_eq!(redact("https://example.com/feed?x=1"), "https://example.com/feed?x=1");
        assert_eq!(redact("not a url"), "not a url");
        assert_eq!(redact("https://user:pw@/broken"), "https://***@/broken");
    }
}
