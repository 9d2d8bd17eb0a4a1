//! Near-duplicate fingerprints: which records are the same story.
//!
//! A syndicated copy holds most of its story's text, whatever its headline,
//! intro line or wrapper; a teaser or a truncated copy holds a part of it.
//! So the question is one of *containment*: how much of the smaller text is
//! in the larger. Another writer's article on the same news, or a
//! translation, shares almost none of its word sequences.
//!
//! The method (docs/clusters.md):
//!
//! 1. **Words**, normalised the way copy desks differ: lowercased, split on
//!    anything not alphanumeric, number words to digits ("fourteen" and
//!    "14"), "%" and "per cent" to "percent", currency words dropped
//!    ("85 million euros" and "€85 million").
//! 2. **Shingles**: every run of [`SHINGLE_WORDS`] consecutive words, hashed
//!    (XXH3) to 32 bits.
//! 3. **Consistent sampling**: the body keeps the shingle hashes divisible
//!    by [`SAMPLE_EVERY`], about a quarter of them. Two texts keep the same
//!    sample of the shingles they share, so the sampled intersection
//!    estimates the containment directly, however different their sizes
//!    (MinHash estimates it poorly for a teaser against its article). The
//!    lead (the first [`LEAD_WORDS`] words) keeps every shingle: a teaser is
//!    usually the lead, and then the comparison is exact.
//! 4. **Index keys** ([`Fingerprint::keys`]): the sampled hashes divisible by
//!    [`KEY_EVERY`] (one shingle in sixteen) and the lead's hashes divisible
//!    by [`SAMPLE_EVERY`]. A copy shares keys with its story wherever the
//!    shared text sits, so an index lookup by key finds it; records sharing
//!    no key are never compared.
//!
//! Fingerprints are stable: the same text gives the same fingerprint in
//! every version and on every platform (XXH3, fixed rules), so stored ones
//! stay comparable; [`Fingerprint::to_bytes`] starts with a format version,
//! and a stored fingerprint of another version reads as None.

use xxhash_rust::xxh3::xxh3_64;

/// Words per shingle.
pub const SHINGLE_WORDS: usize = 4;
/// Words of the lead, whose shingles are all kept.
pub const LEAD_WORDS: usize = 50;
/// A body keeps the shingle hashes divisible by this (1 in 4).
pub const SAMPLE_EVERY: u32 = 4;
/// Index keys are the sampled hashes divisible by this (1 in 16).
pub const KEY_EVERY: u32 = 16;
/// At most this many sampled hashes per body (the smallest): a very long
/// body is compared on a consistent part of it.
pub const MAX_SAMPLES: usize = 1024;
/// Fewer words than this give no fingerprint: too little text to tell a
/// copy from a coincidence.
pub const MIN_WORDS: usize = 12;
/// The least number of sampled (or lead) hashes a comparison rests on;
/// below it, two texts are not called the same story.
const MIN_EVIDENCE: usize = 3;
/// The stored format's version (first byte of [`Fingerprint::to_bytes`]).
const FORMAT: u8 = 2;

/// The near-duplicate fingerprint of one clean body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// Distinct shingles of the body.
    pub shingles: u32,
    /// The sampled shingle hashes, sorted, distinct.
    pub sample: Vec<u32>,
    /// Every shingle hash of the lead, sorted, distinct.
    pub lead: Vec<u32>,
}

/// Number words as digits, so "fourteen-hour" and "14-hour" agree.
fn number_word(word: &str) -> Option<&'static str> {
    Some(match word {
        "zero" => "0",
        "one" => "1",
        "two" => "2",
        "three" => "3",
        "four" => "4",
        "five" => "5",
        "six" => "6",
        "seven" => "7",
        "eight" => "8",
        "nine" => "9",
        "ten" => "10",
        "eleven" => "11",
        "twelve" => "12",
        "thirteen" => "13",
        "fourteen" => "14",
        "fifteen" => "15",
        "sixteen" => "16",
        "seventeen" => "17",
        "eighteen" => "18",
        "nineteen" => "19",
        "twenty" => "20",
        "thirty" => "30",
        "forty" => "40",
        "fifty" => "50",
        "sixty" => "60",
        "seventy" => "70",
        "eighty" => "80",
        "ninety" => "90",
        _ => return None,
    })
}

/// Currency words, dropped: "$210 million" and "210 million dollars" agree
/// (the symbol is not a word).
fn currency_word(word: &str) -> bool {
    matches!(word, "euro" | "euros" | "dollar" | "dollars" | "usd" | "eur")
}

/// The normalised words of a text (step 1 of the method), as one string of
/// words joined by single spaces and each word's byte range in it. The
/// shingle of words `i..i + 4` is then the slice from the start of word `i`
/// to the end of word `i + 3`: exactly the bytes of those words joined by
/// spaces, which is what the stored hashes were made from (pinned by a
/// test), without a string per word or per shingle.
#[derive(Default)]
struct Words {
    /// The words, separated by single spaces.
    text: String,
    /// Byte range (start, end) of each word in `text`.
    spans: Vec<(usize, usize)>,
}

impl Words {
    fn len(&self) -> usize {
        self.spans.len()
    }

    fn last(&self) -> Option<&str> {
        self.spans.last().map(|&(s, e)| &self.text[s..e])
    }

    /// Words `from..to` joined by spaces (`from < to <= len`).
    fn run(&self, from: usize, to: usize) -> &str {
        &self.text[self.spans[from].0..self.spans[to - 1].1]
    }

    /// Append the word held in `word`, normalised as [`Words::end_word`]
    /// normalises it.
    fn push(&mut self, word: &str) {
        let open = self.begin_word();
        self.text.push_str(word);
        self.end_word(open);
    }

    /// Start a word written straight into `text` (after a space, unless
    /// it is the first): where it starts, and whether a space went first.
    fn begin_word(&mut self) -> (usize, bool) {
        let space = !self.text.is_empty();
        if space {
            self.text.push(' ');
        }
        (self.text.len(), space)
    }

    /// End the word [`Words::begin_word`] started, normalised: currency
    /// dropped, number words to digits, "per cent" to "percent".
    fn end_word(&mut self, (start, space): (usize, bool)) {
        let word = &self.text[start..];
        if currency_word(word) {
            self.text.truncate(start - usize::from(space));
        } else if word == "cent" && self.last() == Some("per") {
            self.text.truncate(start - usize::from(space));
            self.pop();
            self.push("percent");
        } else {
            if let Some(digits) = number_word(word) {
                self.text.truncate(start);
                self.text.push_str(digits);
            }
            self.spans.push((start, self.text.len()));
        }
    }

    fn pop(&mut self) {
        if let Some((start, _)) = self.spans.pop() {
            // Drop the word and the space before it, if any.
            self.text.truncate(start.saturating_sub(1));
        }
    }
}

/// Each ASCII letter or digit's lowercase form; 0 for every other byte.
static ASCII_WORD: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        if (b as u8).is_ascii_alphanumeric() {
            t[b] = (b as u8).to_ascii_lowercase();
        }
        b += 1;
    }
    t
};

/// The normalised words of a text (step 1 of the method). Each word is
/// written straight into the result, lowercased, and normalised in place
/// when it ends ([`Words::end_word`]); an ASCII letter or digit (most of
/// any text) costs a table look-up and a push.
fn words(text: &str) -> Words {
    let mut out = Words { text: String::with_capacity(text.len()), spans: Vec::with_capacity(text.len() / 5) };
    // Where the word being read starts in `out.text`, and whether a space
    // was written before it.
    let mut open: Option<(usize, bool)> = None;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let lower = ASCII_WORD[usize::from(b)];
        let c = if lower != 0 {
            i += 1;
            if open.is_none() {
                open = Some(out.begin_word());
            }
            out.text.push(char::from(lower));
            continue;
        } else if b.is_ascii() {
            i += 1;
            char::from(b)
        } else {
            // The first byte of a character: step over all of it.
            let Some(c) = text[i..].chars().next() else { break };
            i += c.len_utf8();
            if c.is_alphanumeric() {
                if open.is_none() {
                    open = Some(out.begin_word());
                }
                out.text.extend(c.to_lowercase());
                continue;
            }
            c
        };
        if let Some(word) = open.take() {
            out.end_word(word);
        }
        if c == '%' {
            out.push("percent");
        }
    }
    if let Some(word) = open.take() {
        out.end_word(word);
    }
    out
}

/// The hash of each shingle of `words[..upto]`, in text order (one hash of
/// the whole run when it is shorter than a shingle).
fn shingle_hashes_into(words: &Words, upto: usize, out: &mut Vec<u32>) {
    out.clear();
    if upto == 0 {
        return;
    }
    if upto < SHINGLE_WORDS {
        out.push(xxh3_64(words.run(0, upto).as_bytes()) as u32);
        return;
    }
    out.reserve(upto + 1 - SHINGLE_WORDS);
    for i in 0..=upto - SHINGLE_WORDS {
        out.push(xxh3_64(words.run(i, i + SHINGLE_WORDS).as_bytes()) as u32);
    }
}

/// How many values two sorted, distinct lists share.
fn shared(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// The share of the smaller list found in the larger, or 0 when the
/// smaller is too small to rest a judgement on.
fn contained(a: &[u32], b: &[u32]) -> f64 {
    let small = a.len().min(b.len());
    if small < MIN_EVIDENCE {
        return 0.0;
    }
    shared(a, b) as f64 / small as f64
}

/// How many distinct values `hashes` holds, through an open-addressing set
/// indexed by the value's own low bits (shingle hashes are uniform), at
/// most half full.
fn distinct(hashes: &[u32]) -> usize {
    let size = (hashes.len() * 2).next_power_of_two().max(16);
    let mask = size - 1;
    // 0 marks an empty slot; the value 0 is counted apart.
    let mut table = vec![0u32; size];
    let (mut count, mut zero) = (0, false);
    for &h in hashes {
        if h == 0 {
            zero = true;
            continue;
        }
        let mut i = h as usize & mask;
        loop {
            match table[i] {
                0 => {
                    table[i] = h;
                    count += 1;
                    break;
                }
                v if v == h => break,
                _ => i = (i + 1) & mask,
            }
        }
    }
    count + usize::from(zero)
}

impl Fingerprint {
    /// The fingerprint of a clean body; None when it has fewer than
    /// [`MIN_WORDS`] words.
    pub fn of(body: &str) -> Option<Fingerprint> {
        let all = words(body);
        if all.len() < MIN_WORDS {
            return None;
        }
        let mut hashes = Vec::new();
        shingle_hashes_into(&all, all.len(), &mut hashes);
        // The lead's shingles are the first ones of the body (MIN_WORDS is
        // more than a shingle, so the lead has at least one whole shingle).
        let lead_words = all.len().min(LEAD_WORDS);
        let mut lead = hashes[..=lead_words - SHINGLE_WORDS].to_vec();
        lead.sort_unstable();
        lead.dedup();
        // Only the sample is sorted: a quarter of the hashes (sorting them
        // all, to count them, was a fifth of this function's cost).
        let mut sample: Vec<u32> = hashes.iter().copied().filter(|h| h % SAMPLE_EVERY == 0).collect();
        sample.sort_unstable();
        sample.dedup();
        sample.truncate(MAX_SAMPLES);
        let shingles = distinct(&hashes);
        Some(Fingerprint { shingles: u32::try_from(shingles).unwrap_or(u32::MAX), sample, lead })
    }

    /// Index keys: the sampled hashes divisible by [`KEY_EVERY`] and the
    /// lead's hashes divisible by [`SAMPLE_EVERY`], distinct. Records
    /// sharing a key are candidates.
    pub fn keys(&self) -> Vec<i64> {
        let mut out: Vec<i64> = self
            .sample
            .iter()
            .filter(|h| *h % KEY_EVERY == 0)
            .chain(self.lead.iter().filter(|h| *h % SAMPLE_EVERY == 0))
            .map(|h| i64::from(*h))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// How many hashes the fingerprint holds, the lead's that are also in
    /// the sample counted twice: at least what [`Fingerprint::hashes`]
    /// yields.
    pub fn hash_count(&self) -> usize {
        self.sample.len() + self.lead.len()
    }

    /// Every distinct hash of the fingerprint: the sample's, then the
    /// lead's not in the sample.
    pub fn hashes(&self) -> impl Iterator<Item = u32> + '_ {
        self.sample.iter().copied().chain(self.lead.iter().copied().filter(|h| self.sample.binary_search(h).is_err()))
    }

    /// The fingerprint without the hashes `drop` names (the frequency
    /// discount, [`crate::frequency`]): both texts of a comparison lose the
    /// same shingles, so the sampling stays consistent.
    pub fn without(&self, drop: impl Fn(u32) -> bool) -> Fingerprint {
        Fingerprint {
            shingles: self.shingles,
            sample: self.sample.iter().copied().filter(|h| !drop(*h)).collect(),
            lead: self.lead.iter().copied().filter(|h| !drop(*h)).collect(),
        }
    }

    /// The fingerprint as bytes, for storage: the format version, then
    /// little-endian u32s: shingles, sample length, lead length, the
    /// sample, the lead.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + 4 * (self.sample.len() + self.lead.len()));
        out.push(FORMAT);
        out.extend_from_slice(&self.shingles.to_le_bytes());
        for n in [self.sample.len(), self.lead.len()] {
            out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
        for v in self.sample.iter().chain(&self.lead) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Read what [`Fingerprint::to_bytes`] wrote; None for anything else
    /// (another format version, a truncated value).
    pub fn from_bytes(bytes: &[u8]) -> Option<Fingerprint> {
        let (&format, rest) = bytes.split_first()?;
        if format != FORMAT || rest.len() < 12 || rest.len() % 4 != 0 {
            return None;
        }
        let values: Vec<u32> = rest.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let (shingles, samples, leads) = (values[0], values[1] as usize, values[2] as usize);
        if values.len() != 3 + samples.checked_add(leads)? {
            return None;
        }
        Some(Fingerprint { shingles, sample: values[3..3 + samples].to_vec(), lead: values[3 + samples..].to_vec() })
    }
}

/// How much two texts are the same story, 0 to 1: the share of the smaller
/// text's sampled shingles found in the larger's, or the same over their
/// leads when that is higher (a teaser and its article).
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    contained(&a.sample, &b.sample).max(contained(&a.lead, &b.lead))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORY: &str = "The regional council voted on Tuesday to extend the harbour tunnel project by two years, after engineers reported that the rock under the old quay was softer than the surveys had shown. The extension will cost an estimated 48 million euros, which the council said would come from the national infrastructure fund rather than local taxes. Residents of the waterfront district, who have lived with the construction noise since 2021, greeted the decision with dismay. A spokesperson for the residents association said the council had promised the works would end this year. The council leader said the delay was regrettable but that safety could not be compromised, and that night work would be reduced from next month.";

    fn fp(text: &str) -> Fingerprint {
        Fingerprint::of(text).expect("enough words for a fingerprint")
    }

    #[test]
    fn copies_match_and_other_stories_do_not() {
        let original = fp(STORY);
        let wrapped =
            fp(&format!("Breaking news from our partners. {STORY} This article first appeared on the Harbour Times."));
        assert!(similarity(&original, &wrapped) > 0.85, "{}", similarity(&original, &wrapped));

        let edited = STORY.replace("dismay", "anger").replace("48 million euros", "€50 million");
        let edited = fp(&edited);
        assert!(similarity(&original, &edited) > 0.6, "{}", similarity(&original, &edited));

        let teaser: String = STORY.split_whitespace().take(45).collect::<Vec<_>>().join(" ");
        let teaser = fp(&teaser);
        assert!(similarity(&original, &teaser) > 0.9, "{}", similarity(&original, &teaser));
        // Symmetric: the smaller text decides.
        assert_eq!(similarity(&original, &teaser), similarity(&teaser, &original));

        let other = fp(
            "The harbour tunnel project will take two more years, the regional council decided on Tuesday. Engineers found softer rock than expected beneath the quay. The added cost, put at 48 million euros, is to be met by national funds. Waterfront residents, tired of years of noise, were unhappy, and their association recalled an earlier promise that the works would be finished in 2024.",
        );
        assert!(similarity(&original, &other) < 0.3, "same topic, another writer: {}", similarity(&original, &other));

        let french = fp(
            "Le conseil régional a voté mardi la prolongation de deux ans du projet de tunnel du port, après que les ingénieurs ont constaté que la roche sous l'ancien quai était plus tendre que prévu.",
        );
        assert!(similarity(&original, &french) < 0.1, "a translation: {}", similarity(&original, &french));
    }

    /// The plain version of [`words`], a character at a time, as it was
    /// first written: fingerprints are stored, so the faster one must give
    /// the same words for every text.
    fn words_reference(text: &str) -> String {
        let mut out = Words::default();
        let mut current = String::new();
        for c in text.chars() {
            if c.is_alphanumeric() {
                current.extend(c.to_lowercase());
                continue;
            }
            if !current.is_empty() {
                out.push(&current);
                current.clear();
            }
            if c == '%' {
                out.push("percent");
            }
        }
        if !current.is_empty() {
            out.push(&current);
        }
        out.text
    }

    #[test]
    fn words_match_the_plain_version_on_mixed_text() {
        // Pieces that meet at every kind of boundary: ASCII and non-ASCII
        // letters and digits inside one word, the normalised words, "%",
        // Unicode spaces and punctuation.
        const PIECES: &[&str] = &[
            "a", "Z", "7", "é", "É", "ß", "İ", "Σ", "٣", "½", "Ⅻ", "中", " ", "\u{a0}", "\u{2009}", "-", "’", "%", ".",
            "per", "cent", "euros", "Fourteen", "twenty", "USD", "Caf", "naïve", "x2", "\n",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5000 {
            let mut text = String::new();
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            for _ in 0..(seed >> 59) + 1 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                text.push_str(PIECES[(seed >> 33) as usize % PIECES.len()]);
            }
            assert_eq!(words(&text).text, words_reference(&text), "{text:?}");
        }
    }

    #[test]
    fn words_agree_across_house_styles() {
        let words = |t: &str| words(t).text;
        assert_eq!(words("a fourteen-hour rescue"), words("a 14-hour rescue"));
        assert_eq!(words("rose 3.4% in May"), words("rose 3.4 per cent in May"));
        assert_eq!(words("rose 3.4% in May"), words("rose 3.4 percent in May"));
        assert_eq!(words("raised $210 million"), words("raised 210 million dollars"));
        assert_eq!(words("costs €4.2 billion"), words("costs 4.2 billion euros"));
        assert_eq!(words("Ünïcode CAFÉ"), "ünïcode café");
        assert_eq!(words("per cent per cent"), "percent percent");
    }

    #[test]
    fn copies_share_keys_wherever_the_shared_text_is() {
        let a = fp(STORY);
        let b = fp(&format!(
            "Editor's note: this story comes from our partners on the coast, who cover the harbour works every week. {STORY}"
        ));
        let shared = a.keys().iter().filter(|k| b.keys().contains(k)).count();
        assert!(shared >= 2, "copies share keys: {shared}");
        // The middle of the story, cut out: found through its sampled keys.
        let middle: String = STORY.split_whitespace().skip(40).take(60).collect::<Vec<_>>().join(" ");
        let middle = fp(&middle);
        assert!(middle.keys().iter().any(|k| a.keys().contains(k)));
        assert!(similarity(&a, &middle) > 0.9, "{}", similarity(&a, &middle));
    }

    #[test]
    fn round_trips_through_bytes_and_refuses_other_formats() {
        let a = fp(STORY);
        assert_eq!(Fingerprint::from_bytes(&a.to_bytes()), Some(a.clone()));
        let mut other = a.to_bytes();
        other[0] = 1;
        assert_eq!(Fingerprint::from_bytes(&other), None);
        assert_eq!(Fingerprint::from_bytes(&a.to_bytes()[..20]), None);
        assert_eq!(Fingerprint::from_bytes(&[]), None);
        // The 128-byte signatures of the first version are not read as this one.
        assert_eq!(Fingerprint::from_bytes(&[0u8; 520]), None);
        assert!(Fingerprint::of("  ...  ").is_none());
        assert!(Fingerprint::of("Read more on our website.").is_none(), "too short to judge");
    }

    #[test]
    fn distinct_counts_as_a_sort_and_dedup_does() {
        let mut state = 0x9e37_79b9_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        for len in [0usize, 1, 2, 15, 16, 17, 100, 1_000, 5_000] {
            // Repeats, zeros and values sharing their low bits.
            let mut values: Vec<u32> = (0..len).map(|_| next()).collect();
            for k in 0..len / 3 {
                values[k] = values[(k * 7) % len.max(1)];
            }
            for k in (0..len).step_by(11) {
                values[k] = if k % 2 == 0 { 0 } else { (k as u32) << 20 };
            }
            let mut sorted = values.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(distinct(&values), sorted.len(), "{len} values");
        }
    }

    #[test]
    fn fingerprints_are_pinned() {
        // Stored fingerprints stay comparable across versions: changing the
        // words, shingles or hash changes these and needs a new FORMAT.
        let a = fp("one two three four five six seven eight nine ten eleven twelve thirteen");
        assert_eq!(a.shingles, 10);
        assert_eq!(a.lead.len(), 10);
        assert!(a.lead.contains(&(xxh3_64(b"1 2 3 4") as u32)));
        assert_eq!(a.lead[..3], [860899468, 1218823828, 1290639407]);
    }
}
