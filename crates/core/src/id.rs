//! Stable ids and content hashes.
//!
//! A record id must not change between runs, or every restart would write
//! every article again. It is derived from the canonical article URL when the
//! item has a usable (http or https) link, because the same story reached
//! through two feeds then has one id. Otherwise it is derived from the feed
//! name and the item's guid, and as a last resort from the feed name, title
//! and publication date.
//!
//! Ids use SHA-256 (short inputs, and an id must never collide by design).
//! Content and document hashes only tell "same bytes" from "changed", on
//! every item of every poll: they use XXH3-128, a non-cryptographic hash
//! with a fixed specification (stable across versions and platforms) that
//! is about twenty times faster than SHA-256 here (docs/performance.md).

use sha2::{Digest, Sha256};

/// Length in hex characters of ids and hashes: 128 bits.
const HEX_LEN: usize = 32;

fn digest_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            // A separator that cannot occur in the parts keeps ("ab","c")
            // and ("a","bc") apart.
            hasher.update([0u8]);
        }
        hasher.update(part.as_bytes());
    }
    let mut out = hex::encode(hasher.finalize());
    out.truncate(HEX_LEN);
    out
}

/// Id of a record whose canonical URL is known.
pub fn id_from_url(canonical_url: &str) -> String {
    digest_hex(&["url", canonical_url])
}

/// Id of a record with no usable link: the feed name and the item's guid.
pub fn id_from_guid(feed: &str, guid: &str) -> String {
    digest_hex(&["guid", feed, guid])
}

/// Id of a record with neither link nor guid: feed, title and date.
pub fn id_from_content(feed: &str, title: &str, published: &str) -> String {
    digest_hex(&["content", feed, title, published])
}

/// Hash of a clean body, to tell an update from a repeat.
pub fn content_hash(body: &str) -> String {
    bytes_hash(body.as_bytes())
}

/// Hash of a fetched document, to skip parsing when it has not changed.
pub fn bytes_hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = id_from_url("https://example.com/a");
        assert_eq!(a, id_from_url("https://example.com/a"));
        assert_eq!(a.len(), HEX_LEN);
        assert_ne!(a, id_from_url("https://example.com/b"));
        assert_ne!(id_from_guid("f", "ab"), id_from_guid("fa", "b"));
        // Pinned value, so an accidental change of the scheme is caught: ids
        // written by earlier versions must keep matching.
        assert_eq!(a, "578f46f81842f4bea07e92ed42e4b929");
    }

    #[test]
    fn content_hash_tells_bodies_apart() {
        assert_eq!(content_hash("x"), content_hash("x"));
        assert_ne!(content_hash("x"), content_hash("y"));
        assert_eq!(content_hash("x").len(), HEX_LEN);
        // Pinned: stored hashes must keep matching across versions.
        assert_eq!(bytes_hash(b""), "99aa06d3014798d86001c324468d497f");
    }
}
