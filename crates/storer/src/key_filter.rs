//! A blocked Bloom filter of index keys: which keys a set of `lsh` entries
//! may hold. The SQLite store keeps one per run (`sqlite/runs.rs`), stored
//! with the run; the PostgreSQL store keeps one per instance of the keys in
//! its `lsh` table, kept up to date from the table's log (`postgres/keys.rs`).
//! Either way a lookup reads a key's entries only when the filter may hold
//! it: a key in no entry, most of a new record's keys, costs no index
//! descent.

/// Bits per entry of a run's [`KeyFilter`] (SQLite): a key not in the run
/// passes about 0.1% of the time (measured in the tests below). With 12
/// bits it was 0.4-0.5%, and at 1,000,000 records, 14 runs, that made one
/// range read in seven a read that found nothing (22,900 of 158,400 over
/// 20,000 probes of `newswire-bench index`; with 16, 4,900 of 140,500, the
/// same entries found). The filter of format 5 (8 bits, three hashes
/// anywhere in it) passed 3%.
pub(crate) const RUN_BITS: u64 = 16;
/// Bits per key of the PostgreSQL store's one filter of its whole `lsh`
/// table (`postgres/keys.rs`), sized at twice the keys the table holds when
/// built: some 75 MB at 1,000,000 records, and its false passes below
/// 0.5% until the table doubles.
#[cfg_attr(
    all(not(feature = "postgres"), not(test)),
    expect(dead_code, reason = "only the PostgreSQL store keeps a filter of its whole table")
)]
pub(crate) const TABLE_BITS: u64 = 12;
/// Words per block: a key's bits all lie in one block of 512 bits, one
/// cache line, one bit in each word.
const BLOCK_WORDS: usize = 8;
/// The first byte of a stored filter of this kind (a stored filter of
/// format 5 is only words, a multiple of 8 bytes: it is built again).
const FILTER_FORMAT: u8 = 2;

/// The keys a run may hold: a blocked Bloom filter (no false negatives; a
/// key it does not hold passes now and then, and then costs one range read
/// that finds nothing). A key's bits are in one 64-byte block, so a probe
/// costs one cache miss, not one per bit: lookups probe every run's filter
/// for every key, many keys at once ([`KeyFilter::passing`]). A run's is
/// 2 bytes per entry ([`RUN_BITS`]), kept in memory for every run (some 53
/// MB at 1,000,000 records) and stored in `lsh_runs.filter` (a run written
/// with 12 bits keeps its filter until it is merged).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyFilter {
    words: Vec<u64>,
}

impl KeyFilter {
    /// A run's filter of the keys `keys` (a run of `entries` entries,
    /// [`RUN_BITS`] each).
    pub(crate) fn of(keys: impl Iterator<Item = i64>, entries: usize) -> KeyFilter {
        let mut filter = KeyFilter::sized(entries, RUN_BITS);
        for key in keys {
            filter.insert(key);
        }
        filter
    }

    /// An empty filter for up to `entries` entries of `bits` bits each
    /// ([`RUN_BITS`] or [`TABLE_BITS`]; more entries make it pass more
    /// absent keys, never fewer present ones).
    pub(crate) fn sized(entries: usize, bits: u64) -> KeyFilter {
        let blocks = (entries as u64 * bits).div_ceil(64 * BLOCK_WORDS as u64).max(1);
        KeyFilter { words: vec![0; blocks as usize * BLOCK_WORDS] }
    }

    /// Add `key`.
    pub(crate) fn insert(&mut self, key: i64) {
        let (block, bits) = self.place(key);
        for (word, bit) in self.words[block..block + BLOCK_WORDS].iter_mut().zip(bits) {
            *word |= bit;
        }
    }

    /// Bytes held in memory (logged by the PostgreSQL store's filter).
    #[cfg_attr(
        not(feature = "postgres"),
        expect(dead_code, reason = "only the PostgreSQL store logs its filter's size")
    )]
    pub(crate) fn bytes(&self) -> usize {
        self.words.len() * 8
    }

    /// Where `key` lies: its block's first word, and its bit in each word.
    fn place(&self, key: i64) -> (usize, [u64; BLOCK_WORDS]) {
        let probe = Probe::of(key);
        (self.block(&probe), std::array::from_fn(|i| probe.bit(i)))
    }

    /// Whether the run may hold `key` (false: it does not).
    #[cfg_attr(
        all(not(feature = "postgres"), not(test)),
        expect(dead_code, reason = "the SQLite store probes many keys at once, with `passing`")
    )]
    pub(crate) fn may_hold(&self, key: i64) -> bool {
        let probe = Probe::of(key);
        self.holds(&probe, self.block(&probe))
    }

    /// Each of `probes` the filter may hold, by its place in `probes`, in
    /// order. For many keys at once (a lookup probes every key of a batch
    /// in every run's filter, and at 1,000,000 records the filters, some
    /// 53 MB, are far larger than the processor's caches, so nearly every
    /// probe is a cache miss): the block of the key [`AHEAD`] places on is
    /// asked for while this one is tested, so the misses overlap instead of
    /// coming one after the other, and each test reads all eight words
    /// with no early exit (the first word alone passes half the absent
    /// keys, a branch no predictor learns; each wrong guess dropped the
    /// loads begun for the next keys). Side by side on 14 filters of a
    /// 1,000,000-record index, a probe cost a third of what one
    /// [`KeyFilter::may_hold`] of the earlier kind did.
    pub(crate) fn passing(&self, probes: &[Probe], mut pass: impl FnMut(usize)) {
        for (i, probe) in probes.iter().enumerate() {
            if let Some(ahead) = probes.get(i + AHEAD) {
                prefetch(&self.words[self.block(ahead)..]);
            }
            if self.holds(probe, self.block(probe)) {
                pass(i);
            }
        }
    }

    /// The first word of `probe`'s block.
    fn block(&self, probe: &Probe) -> usize {
        let blocks = (self.words.len() / BLOCK_WORDS) as u64;
        ((u128::from(probe.h) * u128::from(blocks)) >> 64) as usize * BLOCK_WORDS
    }

    /// Whether every bit of `probe` is set in the block at `block`.
    fn holds(&self, probe: &Probe, block: usize) -> bool {
        let words: &[u64; BLOCK_WORDS] =
            self.words[block..block + BLOCK_WORDS].try_into().expect("a block is BLOCK_WORDS words");
        let mut missing = 0u64;
        for (i, word) in words.iter().enumerate() {
            missing |= !word & probe.bit(i);
        }
        missing == 0
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + self.words.len() * 8);
        out.push(FILTER_FORMAT);
        out.extend(self.words.iter().flat_map(|w| w.to_le_bytes()));
        out
    }

    /// None for a blob that is not one (empty, cut, or of format 5).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<KeyFilter> {
        let (&format, words) = bytes.split_first()?;
        if format != FILTER_FORMAT || words.is_empty() || !words.len().is_multiple_of(8 * BLOCK_WORDS) {
            return None;
        }
        let words = words.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
        Some(KeyFilter { words })
    }
}

/// How many keys on [`KeyFilter::passing`] asks for a block before testing
/// it: enough for the block to arrive from memory meanwhile (a probe costs
/// some 15 ns when its block is in the cache, a miss some 100), few enough
/// that it is still in the cache when tested. 8 to 16 measured the same.
const AHEAD: usize = 12;

/// A key's two hashes, the same in every filter: computed once for a key
/// that probes many filters ([`KeyFilter::passing`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    /// Picks the block (scaled to the filter's number of blocks).
    h: u64,
    /// Six bits per word: the key's bit in each word of the block.
    g: u64,
}

impl Probe {
    pub(crate) fn of(key: i64) -> Probe {
        let h = mix(key as u64);
        Probe { h, g: mix(h ^ 0x9E37_79B9_7F4A_7C15) }
    }

    /// The key's bit in word `i` of its block.
    fn bit(&self, i: usize) -> u64 {
        1 << ((self.g >> (6 * i)) & 63)
    }
}

/// Ask the processor to bring the cache line at the start of `words` in. A
/// hint: it changes no value the program computes, only when a later read
/// of those words waits for memory.
#[cfg(target_arch = "x86_64")]
#[expect(unsafe_code, reason = "the prefetch intrinsic is unsafe to call; it reads nothing and cannot fault")]
fn prefetch(words: &[u64]) {
    // SAFETY: a prefetch is a hint that loads a cache line and never faults,
    // whatever the address; and the pointer is that of a live slice.
    unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(words.as_ptr().cast()) }
}

/// Elsewhere no hint: the probes are the same, only slower.
#[cfg(not(target_arch = "x86_64"))]
fn prefetch(_words: &[u64]) {}

/// A 64-bit mix (the keys are 32-bit shingle hashes; their bits are spread
/// over the whole word).
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^= h >> 33;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_filter_holds_its_keys_and_few_others() {
        let keys: Vec<i64> = (0..10_000).map(|i| i * 7919).collect();
        let filter = KeyFilter::of(keys.iter().copied(), keys.len());
        assert!(keys.iter().all(|&k| filter.may_hold(k)), "no false negatives");
        let passed = (0..100_000).map(|i| i * 7919 + 1).filter(|&k| filter.may_hold(k)).count();
        assert!(passed < 250, "{passed} of 100,000 other keys pass");
        // PostgreSQL's filter, at the 12 bits a key it is sized with.
        let mut table = KeyFilter::sized(keys.len(), TABLE_BITS);
        keys.iter().for_each(|&k| table.insert(k));
        assert!(keys.iter().all(|&k| table.may_hold(k)), "no false negatives");
        let passed = (0..100_000).map(|i| i * 7919 + 1).filter(|&k| table.may_hold(k)).count();
        assert!(passed < 700, "{passed} of 100,000 other keys pass at {TABLE_BITS} bits");
        assert_eq!(KeyFilter::from_bytes(&filter.to_bytes()), Some(filter));
        assert_eq!(KeyFilter::from_bytes(&[1, 2, 3]), None);
        assert_eq!(KeyFilter::from_bytes(&[0; 64]), None, "a filter of format 5 is built again");
    }

    #[test]
    fn passing_names_the_keys_may_hold_passes() {
        let keys: Vec<i64> = (0..5_000).map(|i| i * 104_729).collect();
        let filter = KeyFilter::of(keys.iter().copied(), keys.len());
        // Present keys among absent ones, in lists of every length around
        // AHEAD (the prefetch distance) and well past it.
        for len in [0, 1, AHEAD - 1, AHEAD, AHEAD + 1, 3 * AHEAD + 5, 20_000] {
            let asked: Vec<i64> = (0..len as i64)
                .map(|i| if i % 3 == 0 { keys[(i as usize * 7) % keys.len()] } else { i * 13 + 1 })
                .collect();
            let probes: Vec<Probe> = asked.iter().map(|&k| Probe::of(k)).collect();
            let mut passed = Vec::new();
            filter.passing(&probes, |i| passed.push(i));
            // The plain test, bit by bit, where `insert` sets them.
            let plain = |key: i64| {
                let (block, bits) = filter.place(key);
                filter.words[block..block + BLOCK_WORDS].iter().zip(bits).all(|(word, bit)| word & bit != 0)
            };
            let expected: Vec<usize> = (0..len).filter(|&i| plain(asked[i])).collect();
            assert!((0..len).all(|i| filter.may_hold(asked[i]) == plain(asked[i])));
            assert_eq!(passed, expected, "{len} keys");
            assert!((0..len).step_by(3).all(|i| passed.binary_search(&i).is_ok()), "every present key passes");
        }
    }
}
