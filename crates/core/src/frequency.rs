//! How common a shingle is in one feed's records: the frequency discount of
//! the near-duplicate index (docs/clusters.md).
//!
//! An outlet puts the same promotion, subscription and origin paragraphs
//! around every item it publishes. Their shingles are in all its records,
//! so they say nothing about which story a record is, and two unrelated
//! stories of one outlet share them word for word. A shingle seen in
//! [`FEED_COMMON`] or more other records of the same feed is such
//! furniture, whatever its words (in a feed's first poll, with fewer
//! records than that, a shingle in all of at least three: see
//! `newswire_pipeline::clusters`): it is dropped from the record's
//! fingerprint before the index is searched and before similarity is
//! measured, and from the fingerprint the index keeps.
//!
//! The counts are a count-min sketch per feed ([`FeedSketch`]): a fixed
//! [`DEPTH`] × [`WIDTH`] table of saturating byte counters, with
//! conservative update (only the smallest counters of a hash grow), so it
//! never under-counts and seldom over-counts. Each record adds each of its
//! distinct sampled hashes once. The counts age: every [`AGE_EVERY`]
//! records of the feed they are halved, so they describe the feed's recent
//! records (a wrapper the outlet dropped stops counting, a new one starts)
//! and the table's load stays bounded: at most about `2 × AGE_EVERY`
//! records' hashes, a few tens of thousands in 16,384 columns. The sketch
//! is stored with the index (one row per feed), written in the same
//! transaction as the batch that changed it.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::FastMap;
use crate::fingerprint::Fingerprint;

/// Rows of the sketch (independent hashes).
pub const DEPTH: usize = 3;
/// Counters per row.
pub const WIDTH: usize = 16_384;
/// The counts are halved after this many records of the feed.
pub const AGE_EVERY: u32 = 32;
/// A shingle in at least this many other records of the feed is the
/// feed's furniture. Two versions of one story in one feed (an update)
/// share their text with each other only, so they stay linked; an outlet's
/// wrapper is in every record.
pub const FEED_COMMON: u32 = 3;
/// The stored format's version (first byte of [`FeedSketch::to_bytes`]).
const FORMAT: u8 = 1;

/// Per-feed shingle counts (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSketch {
    /// DEPTH rows of WIDTH counters.
    counts: Vec<u8>,
    /// Records added since the counts were last halved.
    since_aged: u32,
}

impl Default for FeedSketch {
    fn default() -> Self {
        FeedSketch { counts: vec![0; DEPTH * WIDTH], since_aged: 0 }
    }
}

/// The counter of `hash` in row `row`.
fn slot(row: usize, hash: u32) -> usize {
    let h = xxh3_64_with_seed(&hash.to_le_bytes(), row as u64 + 1);
    row * WIDTH + (h as usize % WIDTH)
}

impl FeedSketch {
    /// How many of the feed's recent records hold `hash` (an estimate,
    /// never below the truth until aged).
    pub fn count(&self, hash: u32) -> u32 {
        (0..DEPTH).map(|row| u32::from(self.counts[slot(row, hash)])).min().unwrap_or(0)
    }

    /// Count one record: each of its distinct hashes once
    /// ([`Fingerprint::hashes`]).
    pub fn add(&mut self, fingerprint: &Fingerprint) {
        for hash in fingerprint.hashes() {
            let slots: [usize; DEPTH] = std::array::from_fn(|row| slot(row, hash));
            let least = slots.iter().map(|&s| self.counts[s]).min().unwrap_or(0);
            if least == u8::MAX {
                continue;
            }
            for s in slots {
                if self.counts[s] == least {
                    self.counts[s] = least + 1;
                }
            }
        }
        self.since_aged += 1;
        if self.since_aged >= AGE_EVERY {
            for c in &mut self.counts {
                *c /= 2;
            }
            self.since_aged = 0;
        }
    }

    /// The sketch as bytes, for storage: the format version, the records
    /// since aged (u32, little-endian), then the counters.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(5 + self.counts.len());
        out.push(FORMAT);
        out.extend_from_slice(&self.since_aged.to_le_bytes());
        out.extend_from_slice(&self.counts);
        out
    }

    /// Read what [`FeedSketch::to_bytes`] wrote; None for anything else (a
    /// sketch of another format or size starts afresh).
    pub fn from_bytes(bytes: &[u8]) -> Option<FeedSketch> {
        let (&format, rest) = bytes.split_first()?;
        if format != FORMAT || rest.len() != 4 + DEPTH * WIDTH {
            return None;
        }
        let since_aged = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
        Some(FeedSketch { counts: rest[4..].to_vec(), since_aged })
    }
}

/// One batch of a feed's records against its sketch: which hashes are the
/// feed's furniture for each record. A batch is counted before its records
/// are judged, so the first poll of a feed (often its whole history)
/// already knows its wrapper.
pub struct Discount<'a> {
    sketch: &'a FeedSketch,
    /// Each hash the batch's records hold, with how many of them hold it:
    /// a map sized once for the whole batch, hashed by foldhash. A sort and
    /// a binary search cost twice the instructions (docs/performance.md,
    /// issue 21 step 10), and a SipHash map grown entry by entry more
    /// again. Its hasher is seeded per process, so text made to collide in
    /// it cannot slow it down (shingle hashes have a fixed seed).
    batch: FastMap<u32, u32>,
    /// Other records that must hold a hash for it to be furniture.
    bar: u32,
}

impl<'a> Discount<'a> {
    /// The discount for a batch of `fingerprints` of the feed whose
    /// committed counts are `sketch`.
    pub fn new<'f>(sketch: &'a FeedSketch, fingerprints: impl IntoIterator<Item = &'f Fingerprint>) -> Discount<'a> {
        let fingerprints: Vec<&Fingerprint> = fingerprints.into_iter().collect();
        let most: usize = fingerprints.iter().map(|fp| fp.hash_count()).sum();
        let mut batch: FastMap<u32, u32> = FastMap::with_capacity_and_hasher(most, Default::default());
        for hash in fingerprints.iter().flat_map(|fp| fp.hashes()) {
            *batch.entry(hash).or_insert(0) += 1;
        }
        Discount { sketch, batch, bar: FEED_COMMON }
    }

    /// The same discount with another bar: a hash is furniture when `bar`
    /// or more other records hold it.
    pub fn with_bar(self, bar: u32) -> Discount<'a> {
        Discount { bar, ..self }
    }

    /// Whether `hash`, held by a record of the batch, is in at least the
    /// bar's number ([`FEED_COMMON`] unless [`Discount::with_bar`] set
    /// another) of other records of the feed (committed or in the batch).
    pub fn common(&self, hash: u32) -> bool {
        let in_batch = self.batch.get(&hash).copied().unwrap_or(1);
        self.sketch.count(hash) + in_batch.saturating_sub(1) >= self.bar
    }

    /// `fingerprint` without the feed's furniture.
    pub fn apply(&self, fingerprint: &Fingerprint) -> Fingerprint {
        fingerprint.without(|h| self.common(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> Fingerprint {
        Fingerprint::of(text).expect("enough words")
    }

    const WRAPPER: &str = "You are reading the Valley Courier, the free morning letter for the towns of the valley. Join our messaging group to get the three biggest stories at lunchtime every day.";

    fn stories() -> Vec<String> {
        (0..6)
            .map(|i| {
                format!(
                    "{WRAPPER} Story number {i} begins here with words of its own about item {i}, a market stall {i} selling lamps, \
                     a bridge {i} repaired by volunteers {i}, and a choir {i} that sang on the square {i} until late."
                )
            })
            .collect()
    }

    #[test]
    fn a_wrapper_in_every_record_of_a_feed_is_discounted_and_the_stories_are_not() {
        let texts = stories();
        let fps: Vec<Fingerprint> = texts.iter().map(|t| fp(t)).collect();
        let sketch = FeedSketch::default();
        let discount = Discount::new(&sketch, &fps);
        let wrapper = fp(WRAPPER);
        assert!(wrapper.hashes().all(|h| discount.common(h)), "in all six records");
        let kept = discount.apply(&fps[0]);
        assert!(kept.hashes().all(|h| !wrapper.hashes().any(|w| w == h)));
        assert!(kept.lead.len() >= 10, "the story's own lead is kept: {}", kept.lead.len());
        // Two records of the feed: the wrapper alone no longer joins them.
        let other = discount.apply(&fps[1]);
        assert!(crate::fingerprint::similarity(&kept, &other) < 0.2);
    }

    #[test]
    fn two_versions_of_a_story_in_one_feed_are_not_furniture() {
        let text = &stories()[0];
        let a = fp(text);
        let b = fp(&format!("{text} Updated with a correction."));
        let sketch = FeedSketch::default();
        let discount = Discount::new(&sketch, [&a, &b]);
        assert_eq!(discount.apply(&a), a);
    }

    #[test]
    fn a_hash_is_common_when_the_sketch_and_the_other_records_of_the_batch_hold_it_bar_times() {
        // Records sharing phrases in several proportions, some counted
        // already: each hash's verdict against a count made record by
        // record.
        let texts: Vec<String> = (0..12)
            .map(|i| {
                let shared = ["the harbour wall was rebuilt by the council", "a storm closed the coast road"];
                format!(
                    "{} Item {i} tells of lamp {i}, stall {i} and choir {i} on the square {i}. {}",
                    shared[i % 2],
                    if i % 3 == 0 { "Readers can sign up for the morning letter of the valley." } else { "" }
                )
            })
            .collect();
        let fps: Vec<Fingerprint> = texts.iter().map(|t| fp(t)).collect();
        let mut sketch = FeedSketch::default();
        sketch.add(&fps[0]);
        for bar in [1, 2, 3, 5] {
            let discount = Discount::new(&sketch, &fps).with_bar(bar);
            let (mut common, mut rare) = (0, 0);
            for f in &fps {
                for h in f.hashes() {
                    let holding = fps.iter().filter(|g| g.hashes().any(|x| x == h)).count() as u32;
                    let expected = sketch.count(h) + (holding - 1) >= bar;
                    assert_eq!(discount.common(h), expected, "bar {bar}");
                    if expected { common += 1 } else { rare += 1 }
                }
            }
            assert!(common > 0 && rare > 0, "bar {bar}: both verdicts met ({common}, {rare})");
        }
        // A hash no record of the batch holds counts by the sketch alone.
        let outside = fp("Nothing here is shared with the batch at all, not one phrase of it anywhere.");
        let discount = Discount::new(&sketch, &fps[1..]);
        for h in outside.hashes() {
            assert_eq!(discount.common(h), sketch.count(h) >= FEED_COMMON);
        }
    }

    #[test]
    fn counts_persist_age_and_refuse_other_formats() {
        let mut sketch = FeedSketch::default();
        let a = fp(&stories()[0]);
        let h = a.hashes().next().expect("a hash");
        for _ in 0..5 {
            sketch.add(&a);
        }
        assert_eq!(sketch.count(h), 5);
        let back = FeedSketch::from_bytes(&sketch.to_bytes()).expect("round trip");
        assert_eq!(back, sketch);
        // Committed counts discount a later batch of one record.
        let discount = Discount::new(&back, [&a]);
        assert!(discount.common(h));
        for _ in 5..AGE_EVERY {
            sketch.add(&a);
        }
        assert_eq!(sketch.count(h), AGE_EVERY / 2, "halved every AGE_EVERY records");
        assert_eq!(FeedSketch::from_bytes(&[2, 0, 0, 0, 0]), None);
        assert_eq!(FeedSketch::from_bytes(&sketch.to_bytes()[..100]), None);
        assert_eq!(FeedSketch::default().count(h), 0);
    }
}
