//! A blocked Bloom filter of index keys: which keys a set of `lsh` entries
//! may hold. The SQLite store keeps one per run (`sqlite/runs.rs`), stored
//! with the run; the PostgreSQL store keeps one per instance of the keys in
//! its `lsh` table, kept up to date from the table's log (`postgres/keys.rs`).
//! Either way a lookup reads a key's entries only when the filter may hold
//! it: a key in no entry, most of a new record's keys, costs no index
//! descent.

/// Bits per entry of a run's [`KeyFilter`]: a key not in the run passes
/// about 0.5% of the time (measured in the tests below; the filter of
/// format 5, 8 bits and three hashes anywhere in it, passed 3%, and at
/// 1,000,000 records, seven runs, that was as many range reads that found
/// nothing as reads that found something).
const FILTER_BITS_PER_ENTRY: u64 = 12;
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
/// for every key. 1.5 bytes per entry, kept in memory for every run (some
/// 40 MB at 1,000,000 records) and stored in `lsh_runs.filter`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyFilter {
    words: Vec<u64>,
}

impl KeyFilter {
    /// A filter of the keys `keys` (a run of `entries` entries).
    pub(crate) fn of(keys: impl Iterator<Item = i64>, entries: usize) -> KeyFilter {
        let mut filter = KeyFilter::sized(entries);
        for key in keys {
            filter.insert(key);
        }
        filter
    }

    /// An empty filter for up to `entries` entries (more make it pass more
    /// absent keys, never fewer present ones).
    pub(crate) fn sized(entries: usize) -> KeyFilter {
        let blocks = (entries as u64 * FILTER_BITS_PER_ENTRY).div_ceil(64 * BLOCK_WORDS as u64).max(1);
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
        let blocks = (self.words.len() / BLOCK_WORDS) as u64;
        let h = mix(key as u64);
        let block = ((u128::from(h) * u128::from(blocks)) >> 64) as usize * BLOCK_WORDS;
        // Six bits of a second mix per word.
        let g = mix(h ^ 0x9E37_79B9_7F4A_7C15);
        let mut bits = [0u64; BLOCK_WORDS];
        for (i, bit) in bits.iter_mut().enumerate() {
            *bit = 1 << ((g >> (6 * i)) & 63);
        }
        (block, bits)
    }

    /// Whether the run may hold `key` (false: it does not).
    pub(crate) fn may_hold(&self, key: i64) -> bool {
        let (block, bits) = self.place(key);
        self.words[block..block + BLOCK_WORDS].iter().zip(bits).all(|(word, bit)| word & bit != 0)
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
        assert!(passed < 700, "{passed} of 100,000 other keys pass");
        assert_eq!(KeyFilter::from_bytes(&filter.to_bytes()), Some(filter));
        assert_eq!(KeyFilter::from_bytes(&[1, 2, 3]), None);
        assert_eq!(KeyFilter::from_bytes(&[0; 64]), None, "a filter of format 5 is built again");
    }
}
