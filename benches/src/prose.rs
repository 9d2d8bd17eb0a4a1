//! Prose that looks like news to the parts of newswire that care about
//! words: the cleaner's rules, language detection, and above all the
//! near-duplicate fingerprints, whose cost and candidate lists depend on
//! how often shingles repeat across records.
//!
//! The old farm drew every word uniformly from 72, so any four words in a
//! row recurred across thousands of records and every index key was
//! common. Real text has a vocabulary of many thousands of words with
//! Zipf-like frequencies: a few function words make up a large share of
//! the running text, and most content words are rare. Here:
//!
//! - 120 English function words and common verbs take the top ranks, in
//!   their real order;
//! - 6,000 content words follow, made up from syllables (deterministic
//!   from a fixed seed, so every run and machine has the same vocabulary);
//! - a word of rank r is drawn with probability proportional to
//!   1 / (r + 2.7)^1.07 (the Zipf–Mandelbrot law fitted to English news);
//! - sentences are 8 to 32 words, paragraphs 2 to 5 sentences.

use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Content words made up from syllables, after the function words.
const CONTENT_WORDS: usize = 6_000;

const FUNCTION_WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "a",
    "in",
    "that",
    "is",
    "was",
    "for",
    "on",
    "it",
    "with",
    "as",
    "he",
    "said",
    "by",
    "at",
    "from",
    "his",
    "be",
    "have",
    "has",
    "an",
    "are",
    "but",
    "not",
    "they",
    "this",
    "had",
    "were",
    "who",
    "which",
    "their",
    "been",
    "would",
    "will",
    "she",
    "its",
    "more",
    "after",
    "than",
    "her",
    "one",
    "also",
    "new",
    "there",
    "two",
    "about",
    "year",
    "we",
    "or",
    "can",
    "people",
    "when",
    "last",
    "first",
    "up",
    "out",
    "could",
    "other",
    "all",
    "into",
    "some",
    "over",
    "years",
    "time",
    "what",
    "if",
    "no",
    "them",
    "told",
    "so",
    "most",
    "government",
    "week",
    "may",
    "percent",
    "before",
    "since",
    "city",
    "three",
    "only",
    "million",
    "state",
    "while",
    "under",
    "our",
    "because",
    "those",
    "against",
    "during",
    "says",
    "did",
    "where",
    "should",
    "police",
    "any",
    "then",
    "how",
    "many",
    "made",
    "him",
    "between",
    "officials",
    "company",
    "these",
    "such",
    "both",
    "still",
    "each",
    "country",
    "until",
    "back",
    "being",
    "public",
    "minister",
    "report",
];

const ONSETS: &[&str] = &[
    "b", "br", "c", "ch", "cl", "cr", "d", "dr", "f", "fl", "fr", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pl",
    "pr", "r", "s", "sh", "sl", "sp", "st", "str", "t", "th", "tr", "v", "w", "z",
];
const NUCLEI: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou", "io", "ee"];
const CODAS: &[&str] = &["", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "rk", "ng"];

/// The vocabulary, by rank, and the cumulative weights to draw from it.
pub struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    /// The one vocabulary every farm uses (fixed seed).
    pub fn news() -> Vocabulary {
        let mut rng = StdRng::seed_from_u64(0x6e65_7773);
        let mut words: Vec<String> = FUNCTION_WORDS.iter().map(|w| (*w).to_string()).collect();
        let mut seen: std::collections::HashSet<String> = words.iter().cloned().collect();
        while words.len() < FUNCTION_WORDS.len() + CONTENT_WORDS {
            let syllables = match rng.random_range(0..10) {
                0..=2 => 1,
                3..=6 => 2,
                7..=8 => 3,
                _ => 4,
            };
            let mut w = String::new();
            for _ in 0..syllables {
                w.push_str(ONSETS[rng.random_range(0..ONSETS.len())]);
                w.push_str(NUCLEI[rng.random_range(0..NUCLEI.len())]);
                w.push_str(CODAS[rng.random_range(0..CODAS.len())]);
            }
            if w.len() >= 3 && seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut cumulative = Vec::with_capacity(words.len());
        let mut total = 0.0;
        for rank in 0..words.len() {
            total += 1.0 / (rank as f64 + 1.0 + 2.7).powf(1.07);
            cumulative.push(total);
        }
        Vocabulary { words, cumulative }
    }

    /// The word of `rank` (0 is the most frequent), for queries of a known
    /// frequency.
    pub fn ranked(&self, rank: usize) -> &str {
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// One word, drawn by its frequency.
    pub fn word(&self, rng: &mut StdRng) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.random::<f64>() * total;
        let i = self.cumulative.partition_point(|&c| c < x).min(self.words.len() - 1);
        &self.words[i]
    }

    /// A sentence of `min..=max` words, capitalised, ending in a full stop;
    /// now and then with a comma, a number or a quotation.
    pub fn sentence(&self, rng: &mut StdRng, min: usize, max: usize) -> String {
        let n = rng.random_range(min..=max);
        let quoted = rng.random_bool(0.08);
        let mut s = String::with_capacity(n * 7);
        if quoted {
            s.push('“');
        }
        for i in 0..n {
            if i > 0 {
                if rng.random_bool(0.07) {
                    s.push(',');
                }
                s.push(' ');
            }
            if i > 0 && rng.random_bool(0.03) {
                s.push_str(&rng.random_range(2..2_000).to_string());
                continue;
            }
            let w = self.word(rng);
            if i == 0 {
                let mut c = w.chars();
                if let Some(f) = c.next() {
                    s.extend(f.to_uppercase());
                    s.push_str(c.as_str());
                }
            } else {
                s.push_str(w);
            }
        }
        s.push('.');
        if quoted {
            s.push_str("” ");
            s.push_str(if rng.random_bool(0.5) { "she said." } else { "he said." });
        }
        s
    }

    /// A paragraph of 2 to 5 sentences.
    pub fn paragraph(&self, rng: &mut StdRng) -> String {
        let n = rng.random_range(2..=5);
        let mut p = String::new();
        for i in 0..n {
            if i > 0 {
                p.push(' ');
            }
            p.push_str(&self.sentence(rng, 8, 32));
        }
        p
    }

    /// An article of about `words` words, as paragraphs.
    pub fn article(&self, rng: &mut StdRng, words: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut count = 0;
        while count < words {
            let p = self.paragraph(rng);
            count += p.split_whitespace().count();
            out.push(p);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_fall_like_news_text() {
        let v = Vocabulary::news();
        assert_eq!(v.words.len(), FUNCTION_WORDS.len() + CONTENT_WORDS);
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let n = 200_000;
        for _ in 0..n {
            *counts.entry(v.word(&mut rng).to_string()).or_default() += 1;
        }
        // "the" is a few percent of running text, as in English news; many
        // thousands of distinct words occur; most of them rarely.
        let the = counts["the"] as f64 / n as f64;
        assert!((0.03..0.12).contains(&the), "share of 'the': {the}");
        assert!(counts.len() > 4_000, "distinct words: {}", counts.len());
        let rare = counts.values().filter(|&&c| c < 20).count();
        assert!(rare * 2 > counts.len(), "most words are rare: {rare} of {}", counts.len());
    }

    #[test]
    fn the_vocabulary_is_the_same_every_time() {
        let (a, b) = (Vocabulary::news(), Vocabulary::news());
        let mut r1 = StdRng::seed_from_u64(9);
        let mut r2 = StdRng::seed_from_u64(9);
        assert_eq!(a.article(&mut r1, 300), b.article(&mut r2, 300));
    }
}
