//! What a receiver checks: the batch's idempotency key and the request's
//! signature.
//!
//! - `Idempotency-Key`: the lowercase hex SHA-256 of the lines
//!   `"{id}:{content_hash}\n"`, one per record in the order of the body. The
//!   same records give the same key in every retry and every replay; a new
//!   version of an article (a new content hash) gives a new one.
//! - `X-Newswire-Signature: t={unix seconds},v1={hex}`, where `hex` is the
//!   lowercase hex HMAC-SHA256, keyed with the secret, of the bytes
//!   `"{t}."` followed by the exact body. The timestamp is in the signed
//!   text, so a receiver that refuses old timestamps refuses replays.

use hmac::{Hmac, Mac};
use newswire_core::Record;
use newswire_core::config::Secret;
use sha2::{Digest, Sha256};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-newswire-signature";

/// The header carrying the batch's key.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The idempotency key of a request carrying `records` (see the module docs).
pub fn idempotency_key(records: &[Record]) -> String {
    let mut hash = Sha256::new();
    for record in records {
        hash.update(record.id.as_bytes());
        hash.update(b":");
        hash.update(record.content_hash.as_bytes());
        hash.update(b"\n");
    }
    hex::encode(hash.finalize())
}

/// The hex HMAC-SHA256 of `"{timestamp}.{body}"` under `secret`.
pub fn signature(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The value of [`SIGNATURE_HEADER`]: `t={timestamp},v1={signature}`.
pub fn signature_header(secret: &Secret, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature(secret, timestamp, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hmac_is_rfc_4231s() {
        // RFC 4231, test case 2: the primitive the signature is built on.
        let secret = Secret("Jefe".into());
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("any key length");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_signature_matches_one_computed_elsewhere() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test",
        //   b"1700000000.{\"records\":[]}", hashlib.sha256).hexdigest())'
        let secret = Secret("whsec_test".into());
        let body = br#"{"records":[]}"#;
        assert_eq!(
            signature_header(&secret, 1_700_000_000, body),
            "t=1700000000,v1=039a25bfba8a9a26e45079bf46ae189a835a82359dd7ab71e0f84728e9e127d9"
        );
        assert_ne!(signature(&secret, 1_700_000_001, body), signature(&secret, 1_700_000_000, body), "time is signed");
        assert_ne!(signature(&Secret("other".into()), 1_700_000_000, body), signature(&secret, 1_700_000_000, body));
    }

    #[test]
    fn the_key_hashes_ids_and_content_hashes_in_order() {
        let record = |id: &str, hash: &str| {
            let mut r = crate::webhook::tests::record(id);
            r.content_hash = hash.into();
            r
        };
        let (a, b) = (record("a", "h1"), record("b", "h2"));
        // python3 -c 'import hashlib; print(hashlib.sha256(b"a:h1\nb:h2\n").hexdigest())'
        assert_eq!(
            idempotency_key(&[a.clone(), b.clone()]),
            "c6dcb1b809c38c481df3e90e262774389f464e2cdb25a4537fd1d886746d0edb"
        );
        assert_ne!(idempotency_key(&[b.clone(), a.clone()]), idempotency_key(&[a.clone(), b.clone()]));
        assert_ne!(idempotency_key(&[a, record("b", "h3")]), idempotency_key(&[record("a", "h1"), b]));
    }
}
