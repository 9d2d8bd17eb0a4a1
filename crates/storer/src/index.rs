//! The near-duplicate index, as both SQL stores keep it (docs/clusters.md).
//!
//! Two tables: `fingerprints` (one row per record: its fingerprint, its
//! story, when it was indexed) and `lsh`, an inverted index from each of
//! the record's [keys](newswire_core::fingerprint::Fingerprint::keys) to the
//! record, with primary key (key, at, id). A lookup reads, for each key of
//! the new record, the newest [`PER_KEY`] records indexed under it within
//! the window (an index range scan: common keys never make a lookup read a
//! long list), ranks the candidates by how many keys they share, and
//! compares the fingerprints of the best [`CANDIDATES`]. Nothing scans all
//! records. Entries are removed by primary key, from the keys of the stored
//! fingerprint: when a record is indexed again, and when it falls out of the
//! window ([`prune`](newswire_core::sink::StateStore::prune_index)).

use std::collections::HashMap;

use newswire_core::fingerprint::{Fingerprint, similarity};
use newswire_core::state::Match;

/// Records read per key and lookup, newest first.
pub const PER_KEY: i64 = 64;
/// Candidates compared per lookup, those sharing the most keys first.
pub const CANDIDATES: usize = 64;
/// A record with at least this many keys compares only candidates sharing
/// two or more of them. Two unrelated articles share a key now and then by
/// chance (a common phrase: "said in a statement", a dateline, a wire
/// credit), rarely two; a copy shares most of its story's keys (a teaser of
/// 30 words its lead's six or so). Below this many keys (a short teaser) one
/// shared key is enough, as before.
pub const TWO_KEYS_FROM: usize = 6;

/// How many keys a candidate must share with a record of `keys` keys to be
/// compared.
pub fn min_shared(keys: usize) -> usize {
    if keys >= TWO_KEYS_FROM { 2 } else { 1 }
}

/// Candidate ids by how many keys they share with the record looked up,
/// most first (ties by id, so lookups are deterministic), at most
/// [`CANDIDATES`], only those sharing [`min_shared`] keys of the record's
/// `keys`, without the record itself (`own`). `hits` holds one id per key
/// it was found under.
pub fn rank<I: std::hash::Hash + Ord>(hits: impl IntoIterator<Item = I>, own: Option<&I>, keys: usize) -> Vec<I> {
    let mut counts: HashMap<I, usize> = HashMap::new();
    for id in hits {
        if Some(&id) != own {
            *counts.entry(id).or_default() += 1;
        }
    }
    let least = min_shared(keys);
    let mut ranked: Vec<(I, usize)> = counts.into_iter().filter(|(_, n)| *n >= least).collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(CANDIDATES);
    ranked.into_iter().map(|(id, _)| id).collect()
}

/// The most similar candidate at or above `threshold`, as a match to its
/// story: its own story when it is a copy, else itself. Candidates are
/// (id, stored fingerprint, story); a fingerprint of another format is
/// skipped.
pub fn best<'a>(
    fingerprint: &Fingerprint,
    candidates: impl IntoIterator<Item = (&'a str, &'a [u8], Option<&'a str>)>,
    threshold: f64,
) -> Option<Match> {
    let mut best: Option<Match> = None;
    for (id, sig, cluster) in candidates {
        let Some(other) = Fingerprint::from_bytes(sig) else { continue };
        let sim = similarity(fingerprint, &other);
        if sim >= threshold && best.as_ref().is_none_or(|b| sim > b.similarity) {
            best = Some(Match { cluster: cluster.unwrap_or(id).to_string(), similarity: sim });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_ranked_by_shared_keys_without_the_record_itself() {
        let hits = ["b", "c", "b", "self", "d", "c", "b"].map(String::from);
        assert_eq!(rank(hits.clone(), Some(&"self".to_string()), 3), ["b", "c", "d"]);
        let many = (0..200).map(|i| format!("r{i:03}"));
        assert_eq!(rank(many, None, 1).len(), CANDIDATES);
        // With enough keys, a candidate sharing one is a coincidence.
        assert_eq!(rank(hits, Some(&"self".to_string()), TWO_KEYS_FROM), ["b", "c"]);
        assert_eq!(rank([7, 7, 9], None, 40), [7]);
    }

    #[test]
    fn the_best_candidate_gives_its_story() {
        let text = "The council voted on Tuesday to close the old swimming baths on Mill Lane after engineers found the roof unsafe, and said a new pool would open in two years.";
        let fp = Fingerprint::of(text).expect("fingerprint");
        let copy = Fingerprint::of(&format!("From our partners: {text}")).expect("fingerprint").to_bytes();
        let other = Fingerprint::of("A new bakery has opened on the high street, selling bread made with flour from a mill in the hills above the town.").expect("fingerprint").to_bytes();
        let found = best(&fp, [("other", &other[..], None), ("copy", &copy[..], Some("story"))], 0.5);
        assert_eq!(found.map(|m| m.cluster), Some("story".to_string()));
        let found = best(&fp, [("copy", &copy[..], None)], 0.5);
        assert_eq!(found.map(|m| m.cluster), Some("copy".to_string()), "a story's first record is its story");
        assert_eq!(best(&fp, [("old", &[1u8, 2, 3][..], None)], 0.0), None, "another format is skipped");
    }
}
