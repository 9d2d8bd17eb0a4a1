//! The near-duplicate index, as both SQL stores keep it (docs/clusters.md).
//!
//! Two tables: `fingerprints` (one row per record: its fingerprint, its
//! story, when it was indexed) and `lsh`, an inverted index from each of
//! the record's [keys](newswire_core::fingerprint::Fingerprint::keys) to the
//! record, with primary key (key, at, id). A lookup reads, for each key of
//! the new record, the newest [`PER_KEY`] records indexed under it within
//! the window (an index range scan: common keys never make a lookup read a
//! long list), ranks the candidates by the rarity of the keys they share,
//! and compares the record with the first record of the stories of the
//! best [`CANDIDATES`] (never with the member that found it: no chaining).
//! Nothing scans all records. Entries are removed by primary key, from the keys of the stored
//! fingerprint: when a record is indexed again, and when it falls out of the
//! window ([`prune`](newswire_core::sink::StateStore::prune_index)).

use std::collections::HashMap;

use newswire_core::fingerprint::{Fingerprint, similarity};
use newswire_core::state::Match;

/// Records read per key and lookup, newest first. 16, as many as
/// [`CANDIDATES`]: a key under more records of the window counts at most
/// 1/16 for each (see [`rank`]), against about 1 for a story's own keys,
/// so its older entries only bring candidates that lose the ranking; and
/// reading them was what grew most with the index (a key shared by a few
/// records at 10,000 is shared by dozens at 1,000,000, in every run). With
/// 64, lookups at 1,000,000 records cost 20-23% more (docs/clusters.md).
pub const PER_KEY: i64 = 16;
/// At most this many candidates are compared per record (K): those sharing
/// the rarest keys first. A copy shares most of its story's keys, and
/// those of a story's own text are rare; so the story is among the first
/// few, however large the index.
pub const CANDIDATES: usize = 16;
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

/// Candidate ids by the rarity of the keys they share with the record
/// looked up, at most [`CANDIDATES`], only those sharing [`min_shared`] keys
/// of the record's `keys`, without the record itself (`own`). `hits` holds
/// (id, how many records the lookup found under that key) once per key the
/// id was found under: a key shared with few records counts for much (1 /
/// that number), a common one for little, so a common phrase never crowds
/// out the story. Ties go by shared keys, then id (deterministic).
pub fn rank<I: std::hash::Hash + Ord>(
    hits: impl IntoIterator<Item = (I, usize)>,
    own: Option<&I>,
    keys: usize,
) -> Vec<I> {
    let mut scores: HashMap<I, (f64, usize)> = HashMap::new();
    for (id, listed) in hits {
        if Some(&id) != own {
            let entry = scores.entry(id).or_default();
            entry.0 += 1.0 / listed.max(1) as f64;
            entry.1 += 1;
        }
    }
    let least = min_shared(keys);
    let mut ranked: Vec<(I, (f64, usize))> = scores.into_iter().filter(|(_, (_, n))| *n >= least).collect();
    ranked.sort_unstable_by(|a, b| b.1.0.total_cmp(&a.1.0).then(b.1.1.cmp(&a.1.1)).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(CANDIDATES);
    ranked.into_iter().map(|(id, _)| id).collect()
}

/// `hits` per key (the ids found under each key, in key order) as the
/// (id, list length) pairs [`rank`] takes.
pub fn weighted<I: Clone>(lists: &[&[I]]) -> Vec<(I, usize)> {
    let mut out = Vec::with_capacity(lists.iter().map(|l| l.len()).sum());
    for list in lists {
        out.extend(list.iter().map(|id| (id.clone(), list.len())));
    }
    out
}

/// One compared candidate: a record found through the index.
pub struct Candidate<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its stored fingerprint.
    pub sig: &'a [u8],
    /// Its story (None: it started one).
    pub cluster: Option<&'a str>,
}

impl Candidate<'_> {
    /// The story it belongs to: its cluster, or itself.
    pub fn story(&self) -> &str {
        self.cluster.unwrap_or(self.id)
    }
}

/// The stories of `candidates` whose first record is not among them, to
/// be read: a record is compared with each story's first record, not with
/// the member that found it (no chaining, docs/clusters.md).
pub fn missing_firsts<'a>(candidates: &[Candidate<'a>]) -> Vec<&'a str> {
    let mut out: Vec<&'a str> = Vec::new();
    for c in candidates {
        if let Some(story) = c.cluster
            && !candidates.iter().any(|o| o.id == story)
            && !out.contains(&story)
        {
            out.push(story);
        }
    }
    out
}

/// The story the record is a copy of: for each story among the candidates,
/// the similarity to its first record (from `candidates` or `firsts`, (id,
/// stored fingerprint)); when that record has left the index (pruned), to
/// the candidate of that story that was found. The closest story at or
/// above `threshold` wins. A fingerprint of another format is skipped.
pub fn best(
    fingerprint: &Fingerprint,
    candidates: &[Candidate<'_>],
    firsts: &[(&str, &[u8])],
    threshold: f64,
) -> Option<Match> {
    let mut best: Option<Match> = None;
    let mut judged: Vec<&str> = Vec::new();
    for c in candidates {
        let story = c.story();
        if judged.contains(&story) {
            continue;
        }
        judged.push(story);
        let first = candidates
            .iter()
            .find(|o| o.id == story)
            .map(|o| o.sig)
            .or_else(|| firsts.iter().find(|(id, _)| *id == story).map(|(_, sig)| *sig))
            .unwrap_or(c.sig);
        let Some(other) = Fingerprint::from_bytes(first) else { continue };
        let sim = similarity(fingerprint, &other);
        if sim >= threshold && best.as_ref().is_none_or(|b| sim > b.similarity) {
            best = Some(Match { cluster: story.to_string(), similarity: sim });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_are_ranked_by_shared_rare_keys_without_the_record_itself() {
        let one = |ids: &[&str]| ids.iter().map(|i| (i.to_string(), 1)).collect::<Vec<_>>();
        let hits = one(&["b", "c", "b", "self", "d", "c", "b"]);
        assert_eq!(rank(hits.clone(), Some(&"self".to_string()), 3), ["b", "c", "d"]);
        let many = (0..200).map(|i| (format!("r{i:03}"), 1));
        assert_eq!(rank(many, None, 1).len(), CANDIDATES);
        // With enough keys, a candidate sharing one is a coincidence.
        assert_eq!(rank(hits, Some(&"self".to_string()), TWO_KEYS_FROM), ["b", "c"]);
        assert_eq!(rank([(7, 1), (7, 1), (9, 1)], None, 40), [7]);
        // Two rare keys beat three common ones.
        let lists: [&[i32]; 5] = [&[1, 2], &[1], &[2, 3, 4, 5, 6, 7], &[2, 3, 4, 5, 6, 7], &[2, 3, 4, 5, 6, 7]];
        assert_eq!(rank(weighted(&lists), None, 3)[0], 1);
    }

    fn sig(text: &str) -> Vec<u8> {
        Fingerprint::of(text).expect("fingerprint").to_bytes()
    }

    const TEXT: &str = "The council voted on Tuesday to close the old swimming baths on Mill Lane after engineers found the roof unsafe, and said a new pool would open in two years.";

    #[test]
    fn the_best_candidate_gives_its_story() {
        let fp = Fingerprint::of(TEXT).expect("fingerprint");
        let copy = sig(&format!("From our partners: {TEXT}"));
        let other = sig(
            "A new bakery has opened on the high street, selling bread made with flour from a mill in the hills above the town.",
        );
        let c = |id, sig: &'static [u8], cluster| Candidate { id, sig, cluster };
        let (copy, other): (&'static [u8], &'static [u8]) = (copy.leak(), other.leak());
        let first = sig(TEXT);
        let found = best(&fp, &[c("other", other, None), c("copy", copy, Some("story"))], &[("story", &first)], 0.5);
        assert_eq!(found.map(|m| m.cluster), Some("story".to_string()));
        let found = best(&fp, &[c("copy", copy, None)], &[], 0.5);
        assert_eq!(found.map(|m| m.cluster), Some("copy".to_string()), "a story's first record is its story");
        assert_eq!(best(&fp, &[c("old", &[1u8, 2, 3], None)], &[], 0.0), None, "another format is skipped");
        // First record gone from the index: the member that was found.
        let found = best(&fp, &[c("copy", copy, Some("gone"))], &[], 0.5);
        assert_eq!(found.map(|m| m.cluster), Some("gone".to_string()));
    }

    #[test]
    fn a_record_is_judged_against_the_first_record_not_the_member_that_found_it() {
        // The member holds the record's text, but the story's first record
        // is another text: no chaining through the member.
        let fp = Fingerprint::of(TEXT).expect("fingerprint");
        let member: &'static [u8] = sig(&format!("{TEXT} Also: the bakery story.")).leak();
        let first = sig(
            "A new bakery has opened on the high street, selling bread made with flour from a mill in the hills above the town.",
        );
        let candidates = [Candidate { id: "member", sig: member, cluster: Some("bakery") }];
        assert_eq!(missing_firsts(&candidates), ["bakery"]);
        assert_eq!(best(&fp, &candidates, &[("bakery", &first)], 0.5), None);
    }
}
