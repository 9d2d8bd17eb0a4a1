//! Near-duplicate fingerprints: which records are the same story.
//!
//! A [`Fingerprint`] holds two MinHash signatures of a clean body: one over
//! all its word 5-shingles, one over the shingles of its lead (the first
//! [`LEAD_WORDS`] words). Two copies of one story share most shingles
//! whatever their headline or wrapper; a truncated copy (a teaser) shares
//! its lead with the full article even though it holds a small part of its
//! shingles. A translation or another writer's story on the same topic
//! shares almost none.
//!
//! [`similarity`] is the estimated *containment* of the smaller text in the
//! larger (shared shingles / shingles of the smaller), so a teaser of a story
//! is similar to the story, or the leads' resemblance when that is higher.
//! [`Fingerprint::bands`] gives the LSH keys an index looks candidates up
//! by: records sharing any band key are compared, others never are.
//!
//! Signatures are stable: the same text gives the same signature in every
//! version and on every platform (fixed seeds, XXH3), so stored fingerprints
//! stay comparable.

use xxhash_rust::xxh3::xxh3_64;

/// Hash functions per signature.
pub const SIGNATURE_LEN: usize = 64;
/// Words per shingle.
pub const SHINGLE_WORDS: usize = 5;
/// Words of the lead.
pub const LEAD_WORDS: usize = 50;
/// LSH bands per signature, of `SIGNATURE_LEN / BANDS` rows each: two texts
/// whose resemblance is 0.5 share a band with probability about 0.65, at 0.7
/// about 0.98, at 0.2 about 0.025.
pub const BANDS: usize = 16;

/// The near-duplicate fingerprint of one clean body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// MinHash of all shingles.
    pub full: Vec<u32>,
    /// Distinct shingles of the body.
    pub shingles: u32,
    /// MinHash of the lead's shingles.
    pub lead: Vec<u32>,
    /// Distinct shingles of the lead.
    pub lead_shingles: u32,
}

/// The permutation constants: (odd multiplier, addend) per hash function,
/// from SplitMix64 with a fixed seed.
fn constants() -> &'static [(u64, u64); SIGNATURE_LEN] {
    static CONSTANTS: std::sync::OnceLock<[(u64, u64); SIGNATURE_LEN]> = std::sync::OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let mut state: u64 = 0x6e65_7773_7769_7265; // "newswire"
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut out = [(0u64, 0u64); SIGNATURE_LEN];
        for slot in &mut out {
            *slot = (next() | 1, next());
        }
        out
    })
}

/// Lowercased alphanumeric words of a text.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(char::to_lowercase).collect())
        .collect()
}

/// Signature and distinct shingle count of a word list.
fn signature(words: &[String]) -> (Vec<u32>, u32) {
    let mut hashes: Vec<u64> = if words.len() < SHINGLE_WORDS {
        // Too short to shingle: the whole text is one shingle.
        if words.is_empty() { Vec::new() } else { vec![xxh3_64(words.join(" ").as_bytes())] }
    } else {
        words.windows(SHINGLE_WORDS).map(|w| xxh3_64(w.join(" ").as_bytes())).collect()
    };
    hashes.sort_unstable();
    hashes.dedup();
    let mut sig = vec![u32::MAX; SIGNATURE_LEN];
    for h in &hashes {
        for (slot, (a, b)) in sig.iter_mut().zip(constants()) {
            let v = (h.wrapping_mul(*a).wrapping_add(*b) >> 32) as u32;
            if v < *slot {
                *slot = v;
            }
        }
    }
    (sig, u32::try_from(hashes.len()).unwrap_or(u32::MAX))
}

impl Fingerprint {
    /// The fingerprint of a clean body; None when it has no words.
    pub fn of(body: &str) -> Option<Fingerprint> {
        let all = words(body);
        if all.is_empty() {
            return None;
        }
        let (full, shingles) = signature(&all);
        let (lead, lead_shingles) = signature(&all[..all.len().min(LEAD_WORDS)]);
        Some(Fingerprint { full, shingles, lead, lead_shingles })
    }

    /// LSH keys: one per band of each signature. Records sharing a key are
    /// candidates.
    pub fn bands(&self) -> Vec<i64> {
        let rows = SIGNATURE_LEN / BANDS;
        let mut out = Vec::with_capacity(2 * BANDS);
        for (kind, sig) in [(0u8, &self.full), (1u8, &self.lead)] {
            for (band, chunk) in sig.chunks(rows).enumerate() {
                let mut bytes = Vec::with_capacity(2 + rows * 4);
                bytes.push(kind);
                bytes.push(band as u8);
                for v in chunk {
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
                out.push(xxh3_64(&bytes) as i64);
            }
        }
        out
    }

    /// The signatures as bytes, for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + 8 * SIGNATURE_LEN);
        out.extend_from_slice(&self.shingles.to_le_bytes());
        out.extend_from_slice(&self.lead_shingles.to_le_bytes());
        for v in self.full.iter().chain(&self.lead) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Read what [`Fingerprint::to_bytes`] wrote.
    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        if bytes.len() != 8 + 8 * SIGNATURE_LEN {
            return None;
        }
        let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let values: Vec<u32> = (0..2 * SIGNATURE_LEN).map(|i| word(8 + 4 * i)).collect();
        Some(Fingerprint {
            shingles: word(0),
            lead_shingles: word(4),
            full: values[..SIGNATURE_LEN].to_vec(),
            lead: values[SIGNATURE_LEN..].to_vec(),
        })
    }
}

/// Estimated resemblance (Jaccard) of two signatures.
fn resemblance(a: &[u32], b: &[u32]) -> f64 {
    let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
    same as f64 / a.len().max(1) as f64
}

/// Estimated containment of the smaller set in the larger, from their
/// resemblance and sizes: |A∩B| = J(|A|+|B|)/(1+J).
fn containment(j: f64, a: u32, b: u32) -> f64 {
    let (a, b) = (f64::from(a), f64::from(b));
    let small = a.min(b);
    if small == 0.0 {
        return 0.0;
    }
    (j * (a + b) / (1.0 + j) / small).min(1.0)
}

/// How much two texts are the same story, 0 to 1: the estimated containment
/// of the smaller body in the larger, or the resemblance of their leads when
/// that is higher (a teaser and its article).
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    let full = containment(resemblance(&a.full, &b.full), a.shingles, b.shingles);
    let lead = resemblance(&a.lead, &b.lead);
    full.max(lead)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "The regional council voted on Tuesday to extend the harbour tunnel project by two years, after engineers reported that the rock under the old quay was softer than the surveys had shown. The extension will cost an estimated 48 million euros, which the council said would come from the national infrastructure fund rather than local taxes. Residents of the waterfront district, who have lived with the construction noise since 2021, greeted the decision with dismay. A spokesperson for the residents association said the council had promised the works would end this year. The council leader said the delay was regrettable but that safety could not be compromised, and that night work would be reduced from next month.";

    #[test]
    fn copies_match_and_other_stories_do_not() {
        let original = Fingerprint::of(STORY).expect("fingerprint");
        let wrapped = Fingerprint::of(&format!(
            "Breaking news from our partners. {STORY} This article first appeared on the Harbour Times."
        ))
        .expect("fingerprint");
        assert!(similarity(&original, &wrapped) > 0.85, "{}", similarity(&original, &wrapped));

        let edited = STORY.replace("dismay", "anger").replace("48 million", "50 million");
        let edited = Fingerprint::of(&edited).expect("fingerprint");
        assert!(similarity(&original, &edited) > 0.6, "{}", similarity(&original, &edited));

        let teaser: String = STORY.split_whitespace().take(45).collect::<Vec<_>>().join(" ");
        let teaser = Fingerprint::of(&teaser).expect("fingerprint");
        assert!(similarity(&original, &teaser) > 0.6, "{}", similarity(&original, &teaser));

        let other = Fingerprint::of("The harbour tunnel project will take two more years, the regional council decided on Tuesday. Engineers found softer rock than expected beneath the quay. The added cost, put at 48 million euros, is to be met by national funds. Waterfront residents, tired of years of noise, were unhappy, and their association recalled an earlier promise that the works would be finished in 2024.").expect("fingerprint");
        assert!(similarity(&original, &other) < 0.3, "same topic, another writer: {}", similarity(&original, &other));

        let french = Fingerprint::of("Le conseil régional a voté mardi la prolongation de deux ans du projet de tunnel du port, après que les ingénieurs ont constaté que la roche sous l'ancien quai était plus tendre que prévu.").expect("fingerprint");
        assert!(similarity(&original, &french) < 0.1, "a translation: {}", similarity(&original, &french));
    }

    #[test]
    fn bands_collide_for_copies_and_round_trip_through_bytes() {
        let a = Fingerprint::of(STORY).expect("fingerprint");
        let b = Fingerprint::of(&format!("{STORY} Reporting by the harbour desk.")).expect("fingerprint");
        let shared = a.bands().iter().filter(|k| b.bands().contains(k)).count();
        assert!(shared >= 2, "copies share bands: {shared}");
        assert_eq!(Fingerprint::from_bytes(&a.to_bytes()), Some(a.clone()));
        assert_eq!(a.bands().len(), 2 * BANDS);
        assert!(Fingerprint::of("  ...  ").is_none());
        // Pinned, so stored fingerprints stay comparable across versions.
        assert_eq!(Fingerprint::of("one two three four five six").expect("fp").full[..2], [1421974766, 40449237]);
    }
}
