//! The block classifier's features: one function, [`vectors`], used by the
//! runtime (the cleaner) and by the training tool (`newswire-train`), so
//! the two can never read a block differently.
//!
//! A block is a paragraph as the cleaner's HTML walk makes it (or a line
//! of a text item). Its features are a dense part (shape numbers, named in
//! [`DENSE_NAMES`]) and a hashed part (binary: tag path, whole class/id
//! tokens and their words, the words of short blocks), hashed into
//! [`HASH_BUCKETS`] buckets.

use ego_tree::NodeId;
use markup5ever::local_name;
use scraper::node::Element;

use crate::hints::{self, Roles};
use crate::lang::{function_language, is_function_word, is_interface_word};
use crate::parse::attr;

/// Bumped whenever [`vectors`] changes what a feature means; the shipped
/// model must carry the same number (a test checks).
pub const FEATURE_VERSION: u32 = 4;

/// Bits of the hashed part.
const HASH_BITS: u32 = 12;
/// Buckets of the hashed part.
pub const HASH_BUCKETS: usize = 1 << HASH_BITS;

/// Hashed tokens kept per block (path, class and id tokens, their words).
const MAX_TOKENS: usize = 24;
/// Ancestors whose class and id tokens a block carries.
const TOKEN_DEPTH: usize = 4;
/// Blocks of at most this many words carry their words as features.
const SHORT_WORDS: usize = 6;
/// Blocks of at most this many words are read for interface words.
const INTERFACE_WORDS: usize = 12;
/// A list line of at most this many words heads the lines under it.
const LABEL_WORDS: usize = 4;

/// The names of the dense features of one half (see [`DENSE`]), in order.
pub const DENSE_NAMES: [&str; SHAPE] = [
    "bias",
    "chars (log)",
    "words (log)",
    "link density",
    "punctuation ratio",
    "ends a sentence",
    "sentence ends per word",
    "function words",
    "digit ratio",
    "time of day",
    "duration",
    "date",
    "capitalised words",
    "all capitals",
    "starts lowercase",
    "separators per word",
    "ends with colon",
    "question",
    "at most 3 words",
    "position",
    "text before",
    "first block",
    "last block",
    "among first/last 3",
    "blocks (log)",
    "heading",
    "table cell",
    "blockquote",
    "pre",
    "list item",
    "in nav/header/footer/aside",
    "from markup",
    "all link",
    "line breaks",
    "quotation marks",
    "mean word length",
    "prev: chars (log)",
    "prev: link density",
    "prev: ends a sentence",
    "prev: function words",
    "prev: same path",
    "prev: exists",
    "next: chars (log)",
    "next: link density",
    "next: ends a sentence",
    "next: function words",
    "next: same path",
    "next: exists",
    "short lines around",
    "length / longest",
    "language known",
    "short, no sentence end",
    "short, no sentence end, at an edge",
    "url, handle or hashtag",
    "mostly digits",
    "role: share/social",
    "role: related/promo",
    "role: nav/header/footer",
    "role: sidebar/widget",
    "role: comments",
    "role: ad/subscribe/consent/popup",
    "role: byline/meta/tags",
    "role: content",
    "long prose (40+ words, sentences)",
    "before the first prose block",
    "after the last prose block",
    "blocks to the prose (log)",
    "short, outside the prose",
    "short, inside the prose",
    "prose block",
    "short, prose follows",
    "after a short label",
    "interface words",
    "only interface words",
    "interface words, outside the prose",
    "under a label of interface words",
];

/// Shape features of a block.
pub(crate) const SHAPE: usize = 76;

/// Dense features: the shape features twice, the first half set for a
/// block from markup, the second for a line of a text item (the two read
/// differently: a short line of text has no tag to explain it), each half
/// with its own bias.
pub const DENSE: usize = 2 * SHAPE;

/// The model's dimension: dense features then hashed buckets.
pub const DIMENSION: usize = DENSE + HASH_BUCKETS;

/// What the markup says about a block, collected by the HTML walk: where
/// its first text sat (tag path, class/id tokens, roles of the ancestors)
/// and how much of its text is link text. Empty for a line of text input.
#[derive(Debug, Clone, Copy)]
pub struct BlockMarkup {
    /// The block came from markup (not a line of a text item).
    pub(crate) from_markup: bool,
    /// The path was taken (at the block's first text).
    started: bool,
    /// Bytes of text inside links.
    pub(crate) link_bytes: u32,
    /// Hash of the tag path (innermost three elements).
    path: u32,
    /// Inside a list item, a `nav`/`header`/`footer`/`aside`/`menu`.
    list: bool,
    chrome: bool,
    /// Roles the ancestors' classes and ids name.
    roles: Roles,
    /// Hashed tokens (bucket indexes).
    tokens: [u16; MAX_TOKENS],
    len: u8,
}

impl Default for BlockMarkup {
    fn default() -> BlockMarkup {
        BlockMarkup {
            from_markup: false,
            started: false,
            link_bytes: 0,
            path: 0,
            list: false,
            chrome: false,
            roles: Roles::NONE,
            tokens: [0; MAX_TOKENS],
            len: 0,
        }
    }
}

impl BlockMarkup {
    pub(crate) fn clear(&mut self) {
        *self = BlockMarkup::default();
    }

    fn push(&mut self, token: u16) {
        if usize::from(self.len) < MAX_TOKENS {
            self.tokens[usize::from(self.len)] = token;
            self.len += 1;
        }
    }

    /// The hash of its tag path (0 for a line of text).
    pub(crate) fn path(&self) -> u32 {
        self.path
    }

    fn tokens(&self) -> &[u16] {
        &self.tokens[..usize::from(self.len)]
    }
}

/// FNV-1a, 32 bits: stable across builds and platforms (the model's
/// buckets depend on it).
fn fnv(prefix: u8, bytes: impl IntoIterator<Item = u8>) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in std::iter::once(prefix).chain(bytes) {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn bucket(h: u32) -> u16 {
    // HASH_BITS ≤ 16: the bucket fits.
    (h >> (32 - HASH_BITS)) as u16
}

/// One open element, as the classifier sees it.
struct Frame {
    id: NodeId,
    tag: u32,
    /// Where this element's tokens start in `PathTracker::tokens`.
    tokens: usize,
    roles: Roles,
    list: bool,
    chrome: bool,
}

/// The open elements during the HTML walk.
#[derive(Default)]
pub(crate) struct PathTracker {
    frames: Vec<Frame>,
    tokens: Vec<u16>,
    links: usize,
}

impl PathTracker {
    pub(crate) fn open(&mut self, id: NodeId, e: &Element) {
        self.open_with(id, e, None);
    }

    /// [`PathTracker::open`], with the element's roles when the caller
    /// has read them already (`hints::roles` of it, as the extractor's
    /// junk walk reads every element's).
    pub(crate) fn open_with(&mut self, id: NodeId, e: &Element, known: Option<Roles>) {
        let name = e.name();
        if name == "a" {
            self.links += 1;
        }
        let start = self.tokens.len();
        let mut add = |value: &str| {
            let lower = value.bytes().map(|b| b.to_ascii_lowercase());
            self.tokens.push(bucket(fnv(b'c', lower.clone())));
            for part in value.split(['-', '_']).filter(|p| p.len() >= 3 && !p.bytes().all(|b| b.is_ascii_digit())) {
                self.tokens.push(bucket(fnv(b'k', part.bytes().map(|b| b.to_ascii_lowercase()))));
            }
        };
        if let Some(class) = attr(e, local_name!("class")) {
            for token in class.split_ascii_whitespace().take(4) {
                add(token);
            }
        }
        if let Some(id) = e.id()
            && !matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
        {
            add(id);
        }
        let roles = match known {
            _ if self.tokens.len() == start => Roles::NONE,
            Some(roles) => {
                debug_assert_eq!(roles, hints::roles(e), "the roles given are the element's");
                roles
            }
            None => hints::roles(e),
        };
        let list = matches!(name, "li" | "dd" | "dt");
        let chrome = matches!(name, "nav" | "header" | "footer" | "aside" | "menu");
        self.frames.push(Frame { id, tag: fnv(b't', name.bytes()), tokens: start, roles, list, chrome });
    }

    pub(crate) fn close(&mut self, id: NodeId) {
        if self.frames.last().is_some_and(|f| f.id == id)
            && let Some(f) = self.frames.pop()
        {
            self.tokens.truncate(f.tokens);
            if f.tag == fnv(b't', *b"a") {
                self.links = self.links.saturating_sub(1);
            }
        }
    }

    /// Text of the current paragraph: the first text takes the path.
    pub(crate) fn text(&mut self, t: &str, _first: bool, m: &mut BlockMarkup) {
        let trimmed = t.trim();
        if trimmed.is_empty() {
            return;
        }
        if self.links > 0 {
            m.link_bytes += u32::try_from(trimmed.len()).unwrap_or(u32::MAX);
        }
        if m.started {
            return;
        }
        m.started = true;
        m.from_markup = true;
        let n = self.frames.len();
        let tags: Vec<u32> = self.frames[n.saturating_sub(3)..].iter().map(|f| f.tag).collect();
        let mut path = 0u32;
        for (depth, &tag) in tags.iter().rev().enumerate() {
            path = path.rotate_left(7) ^ tag;
            m.push(bucket(fnv(b'p' + depth as u8, path.to_le_bytes())));
        }
        m.path = path;
        for f in &self.frames {
            m.list |= f.list;
            m.chrome |= f.chrome;
            m.roles.add(f.roles);
        }
        let from = self.frames.get(n.saturating_sub(TOKEN_DEPTH)).map_or(self.tokens.len(), |f| f.tokens);
        for &tok in self.tokens[from..].iter().rev() {
            m.push(tok);
        }
    }
}

/// A block's feature vector: the dense part and the hashed buckets set.
#[derive(Debug, Clone, PartialEq)]
pub struct Vector {
    /// The dense features, as named in [`DENSE_NAMES`].
    pub dense: [f32; DENSE],
    /// Hashed buckets (indexes into the hashed part), each worth 1.
    pub hashed: Vec<u16>,
}

/// Shape numbers of one block, also read by its neighbours.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    chars: f32,
    words: usize,
    link_density: f32,
    ends_sentence: bool,
    function_words: f32,
    path: u32,
    short_line: bool,
    /// At most [`INTERFACE_WORDS`] words and no sentence end: a line of a
    /// list, a label, a headline.
    list_line: bool,
    /// Share of interface words among its words ([`interface_words`]; 0
    /// for a block of more than [`INTERFACE_WORDS`] words).
    interface: f32,
    /// Every word an interface, function word or number, one at least.
    interface_only: bool,
    /// At least twelve words ending a sentence: article prose.
    prose: bool,
}

pub(crate) fn ends_sentence(p: &str) -> bool {
    let t = p.trim_end_matches(['"', '”', '’', '\'', '»', ')', ']', ' ']);
    t.ends_with(['.', '!', '?', '…', '。', '！', '？'])
}

fn is_separator(c: char) -> bool {
    matches!(c, '|' | '›' | '»' | '·' | '•' | '/' | '>' | '←' | '→' | '«' | '‹' | '–' | '—')
}

/// hh:mm, h.mm am/pm, 5am, 14h30.
fn has_time(p: &str) -> bool {
    let b = p.as_bytes();
    for i in 0..b.len() {
        if b[i].is_ascii_digit() {
            let next = b.get(i + 1).copied();
            if (next == Some(b':') || next == Some(b'h'))
                && b.get(i + 2).is_some_and(u8::is_ascii_digit)
                && b.get(i + 3).is_some_and(u8::is_ascii_digit)
            {
                return true;
            }
            // The byte after an ASCII digit starts a character.
            let rest = p[i + 1..].trim_start().as_bytes();
            let starts = |word: &[u8]| rest.get(..word.len()).is_some_and(|r| r.eq_ignore_ascii_case(word));
            if starts(b"am") || starts(b"pm") || starts(b"a.m") || starts(b"p.m") {
                return true;
            }
        }
    }
    false
}

/// A number followed by a unit of time ("4 min", "3 Min.", "2 hours",
/// "5 Minuten", "10 s"), or m:ss.
fn has_duration(words: &[&str]) -> bool {
    const UNITS: [&str; 20] = [
        "min", "mins", "minute", "minutes", "minuten", "minutos", "minuti", "mn", "h", "hr", "hrs", "hour", "hours",
        "sec", "secs", "seconds", "s", "std", "stunden", "horas",
    ];
    for pair in words.windows(2) {
        if pair[0].chars().all(|c| c.is_ascii_digit()) && !pair[0].is_empty() {
            // The units are ASCII: no other letter lowercases to one of
            // theirs but the Kelvin sign, which none holds.
            let unit = pair[1].trim_end_matches(['.', ',', ')']);
            if UNITS.iter().any(|u| u.eq_ignore_ascii_case(unit)) {
                return true;
            }
        }
    }
    // m:ss holds a colon: the other words need no trimming.
    words.iter().filter(|w| w.contains(':')).any(|w| {
        let w = w.trim_matches(|c: char| !c.is_ascii_digit());
        let mut parts = w.split(':');
        matches!((parts.next(), parts.next(), parts.next()), (Some(m), Some(s), None)
            if !m.is_empty() && m.len() <= 2 && s.len() == 2 && m.bytes().chain(s.bytes()).all(|b| b.is_ascii_digit()))
    })
}

/// dd/mm/yyyy, d.m.yyyy, yyyy-mm-dd.
fn has_date(p: &str) -> bool {
    let b = p.as_bytes();
    let mut digits = 0;
    let mut groups = 0;
    for &c in b {
        if c.is_ascii_digit() {
            digits += 1;
        } else if matches!(c, b'/' | b'.' | b'-') && digits > 0 {
            groups += 1;
            digits = 0;
            if groups >= 2 {
                return true;
            }
            continue;
        } else {
            digits = 0;
            groups = 0;
        }
        if digits == 0 {
            groups = 0;
        }
    }
    false
}

fn word_bucket(w: &str) -> u16 {
    bucket(fnv(b'w', w.bytes()))
}

/// Words of a block whose function words are counted (the ratio of a long
/// paragraph is read from its start).
const FUNCTION_WORDS_READ: usize = 40;

/// Function words among the first [`FUNCTION_WORDS_READ`] words of `p`,
/// per word read. `lower`: a buffer for lowercasing.
fn function_word_ratio(p: &str, lang: Option<usize>, lower: &mut String) -> f32 {
    let (mut words, mut fw) = (0usize, 0usize);
    for w in p.split_whitespace().take(FUNCTION_WORDS_READ) {
        words += 1;
        let w = w.trim_matches(|c: char| !c.is_alphabetic());
        if w.is_empty() || w.len() > 10 {
            continue;
        }
        let key = if w.chars().any(char::is_uppercase) {
            lower.clear();
            lower.extend(w.chars().flat_map(char::to_lowercase));
            lower.as_str()
        } else {
            w
        };
        fw += usize::from(is_function_word(key, lang));
    }
    fw as f32 / words.max(1) as f32
}

/// Interface words ([`is_interface_word`]) among `words`, and the other
/// words that are neither those nor function words of any of the six
/// languages (numbers and symbols count as neither). `lower`: a buffer.
pub(crate) fn interface_words<'a>(words: impl Iterator<Item = &'a str>, lower: &mut String) -> (usize, usize) {
    let (mut interface, mut other) = (0, 0);
    for w in words {
        let w = w.trim_matches(|c: char| !c.is_alphabetic());
        if w.is_empty() {
            continue;
        }
        lower.clear();
        lower.extend(w.chars().flat_map(char::to_lowercase));
        if is_interface_word(lower) {
            interface += 1;
        } else if !is_function_word(lower, None) {
            other += 1;
        }
    }
    (interface, other)
}

/// Feature vectors of a list of blocks: `paragraphs` as the cleaner made
/// them, `markup` per paragraph (empty for text input).
pub fn vectors(paragraphs: &[String], markup: &[BlockMarkup]) -> Vec<Vector> {
    vectors_of(paragraphs, markup, false)
}

/// One block's features as [`visit`] hands them over: valid for the call.
pub(crate) struct Features<'a> {
    /// The shape features: one half of the dense part.
    pub(crate) shape: &'a [f32; SHAPE],
    /// Which half they go in: the first for a block from markup.
    pub(crate) from_markup: bool,
    /// The hashed buckets set, sorted, each once.
    pub(crate) hashed: &'a [u16],
}

impl Features<'_> {
    fn to_vector(&self) -> Vector {
        let mut dense = [0f32; DENSE];
        let half = if self.from_markup { 0 } else { SHAPE };
        dense[half..half + SHAPE].copy_from_slice(self.shape);
        Vector { dense, hashed: self.hashed.to_vec() }
    }
}

/// [`vectors`]; with `skip`, the vector of every block the classifier may
/// not remove anyway ([`beyond_furniture`]) is left empty (all zero).
pub(crate) fn vectors_of(paragraphs: &[String], markup: &[BlockMarkup], skip: bool) -> Vec<Vector> {
    let mut out = Vec::with_capacity(paragraphs.len());
    visit(paragraphs, markup, skip, |_, f| {
        out.push(f.map_or_else(|| Vector { dense: [0f32; DENSE], hashed: Vec::new() }, Features::to_vector));
    });
    out
}

/// Bytes after which a paragraph is never furniture to the classifier.
pub(crate) const MAX_FURNITURE_BYTES: usize = 400;
/// A paragraph of at least this many words and two sentences is prose.
const PROSE_WORDS: usize = 25;

/// Prose: at least twenty-five words (`words`: its count of them, or any
/// smaller count of at least twenty-five) in two sentences or more.
pub(crate) fn is_prose_of(p: &str, words: usize) -> bool {
    p.len() >= PROSE_WORDS * 2
        && words >= PROSE_WORDS
        && p.split_inclusive(['.', '!', '?']).filter(|s| s.trim().chars().count() > 1).nth(1).is_some()
}

/// A block of at least this many words that ends a sentence is article
/// text to the classifier: the pre-filter (docs/cleaner.md, "Block
/// classifier", for its measured effect).
pub(crate) const SENTENCE_WORDS: usize = 25;

/// A sentence: at least [`SENTENCE_WORDS`] words (`words`: its count of
/// them, or any smaller count of at least that many), ending a sentence.
pub(crate) fn is_sentence_of(p: &str, words: usize) -> bool {
    words >= SENTENCE_WORDS && ends_sentence(p)
}

/// Blocks the classifier never removes for their length, their prose or
/// their sentence, whatever the rest: no need to score them. `words` as
/// for [`is_prose_of`].
pub(crate) fn beyond_furniture(p: &str, words: usize) -> bool {
    p.len() > MAX_FURNITURE_BYTES || is_sentence_of(p, words) || is_prose_of(p, words)
}

/// Words a shape needs counted at most: [`Shape::prose`] reads twelve,
/// [`beyond_furniture`] twenty-five for a block that is not long.
const SHAPE_WORDS_LONG: usize = 12;

/// Words of a block that the shapes of the others read at most: whether
/// it has at most [`INTERFACE_WORDS`] (twelve), at least eight or twelve.
const SHAPE_WORDS_READ: usize = INTERFACE_WORDS + 1;

/// The features of every block of a list, handed to `each` in order with
/// the block's index: `None` for a block `skip` leaves out (see
/// [`vectors_of`]; its shape still counts for its neighbours). Buffers are
/// reused from block to block, and the words of a block are only looked
/// up as function or interface words when it or a neighbour is scored.
pub(crate) fn visit(
    paragraphs: &[String],
    markup: &[BlockMarkup],
    skip: bool,
    mut each: impl FnMut(usize, Option<&Features<'_>>),
) {
    let (mut page, scored) = Page::new(paragraphs, markup, skip);
    let mut words: Vec<&str> = Vec::new();
    for (i, &scored) in scored.iter().enumerate() {
        if scored {
            page.features(paragraphs, markup, i, &mut words, |f| each(i, Some(f)));
        } else {
            each(i, None);
        }
    }
}

/// The blocks of a list ready to be read for their features one at a
/// time, in any order: [`visit`] reads them all in order, the extractor
/// only those whose scores it needs. What every block's features read of
/// the others (their lengths, sentence ends, the prose's first and last
/// block, the page's language) is taken up front in one cheap pass; what
/// only a block and its neighbours read (function and interface words:
/// lowercasing and lookups) is taken on first need, so a block never
/// scored costs a count of its characters and words.
pub(crate) struct Page {
    shapes: Vec<Shape>,
    /// Per block: whether its shape's `function_words`, and its
    /// `interface` and `interface_only`, have been read.
    function_read: Vec<bool>,
    interface_read: Vec<bool>,
    lang: Option<usize>,
    longest: f32,
    total_chars: f32,
    first_prose: Option<usize>,
    last_prose: Option<usize>,
    /// Per block: the characters of the blocks before it.
    before: Vec<f32>,
    lower: String,
    hashed: Vec<u16>,
}

impl Page {
    /// The shapes of `paragraphs` (with `markup`, empty for text input),
    /// and per block whether it is to be scored (all but those `skip`
    /// leaves out, see [`vectors_of`]).
    pub(crate) fn new(paragraphs: &[String], markup: &[BlockMarkup], skip: bool) -> (Page, Vec<bool>) {
        let n = paragraphs.len();
        let none = BlockMarkup::default();
        let mut shapes: Vec<Shape> = Vec::with_capacity(n);
        let mut scored: Vec<bool> = Vec::with_capacity(n);
        let mut before = Vec::with_capacity(n);
        let mut chars_before = 0.0f32;
        for (i, p) in paragraphs.iter().enumerate() {
            let m = markup.get(i).unwrap_or(&none);
            let chars = if p.is_ascii() { p.len() } else { p.chars().count() } as f32;
            // A long block left out needs no more words counted than its
            // shape reads; without `skip`, no block needs more than its
            // neighbours read (a block read for its features counts them
            // all then).
            let words = if skip && p.len() > MAX_FURNITURE_BYTES {
                p.split_whitespace().take(SHAPE_WORDS_LONG).count()
            } else if skip {
                p.split_whitespace().count()
            } else {
                p.split_whitespace().take(SHAPE_WORDS_READ).count()
            };
            let ends = ends_sentence(p);
            shapes.push(Shape {
                list_line: words <= INTERFACE_WORDS && !ends,
                interface: 0.0,
                interface_only: false,
                chars,
                words,
                link_density: (m.link_bytes as f32 / p.len().max(1) as f32).min(1.0),
                ends_sentence: ends,
                function_words: 0.0,
                path: m.path,
                short_line: words < 8 && !ends,
                prose: words >= SHAPE_WORDS_LONG && ends,
            });
            scored.push(!(skip && beyond_furniture(p, words)));
            before.push(chars_before);
            chars_before += chars;
        }
        let mut page = Page {
            function_read: vec![false; n],
            interface_read: vec![false; n],
            lang: None,
            longest: 1.0,
            total_chars: 1.0,
            first_prose: None,
            last_prose: None,
            before,
            lower: String::new(),
            hashed: Vec::new(),
            shapes,
        };
        if !scored.contains(&true) {
            return (page, scored);
        }
        let mut sample = String::new();
        for (p, s) in paragraphs.iter().zip(&page.shapes) {
            if sample.len() > 2_000 {
                break;
            }
            if s.words >= 8 {
                sample.push_str(p);
                sample.push(' ');
            }
        }
        page.lang = function_language(&sample);
        page.longest = page.shapes.iter().map(|s| s.chars).fold(1.0f32, f32::max);
        page.total_chars = page.shapes.iter().map(|s| s.chars).sum::<f32>().max(1.0);
        page.first_prose = page.shapes.iter().position(|s| s.prose);
        page.last_prose = page.shapes.iter().rposition(|s| s.prose);
        (page, scored)
    }

    /// Read the function words of block `i` if not yet done.
    fn read_function_words(&mut self, paragraphs: &[String], i: usize) {
        if let (Some(false), Some(p)) = (self.function_read.get(i).copied(), paragraphs.get(i)) {
            self.shapes[i].function_words = function_word_ratio(p, self.lang, &mut self.lower);
            self.function_read[i] = true;
        }
    }

    /// Read the interface words of block `i` (of at most
    /// [`INTERFACE_WORDS`] words) if not yet done.
    fn read_interface_words(&mut self, paragraphs: &[String], i: usize) {
        if let (Some(false), Some(p)) = (self.interface_read.get(i).copied(), paragraphs.get(i)) {
            let s = &mut self.shapes[i];
            if s.words <= INTERFACE_WORDS {
                let (interface, other) = interface_words(p.split_whitespace(), &mut self.lower);
                s.interface = interface as f32 / (interface + other).max(1) as f32;
                s.interface_only = interface > 0 && other == 0;
            }
            self.interface_read[i] = true;
        }
    }

    /// The features of block `i` of `paragraphs` (the list the page was
    /// made of), handed to `each`. `words`: a buffer.
    pub(crate) fn features<'p>(
        &mut self,
        paragraphs: &'p [String],
        markup: &[BlockMarkup],
        i: usize,
        words: &mut Vec<&'p str>,
        each: impl FnOnce(&Features<'_>),
    ) {
        let n = paragraphs.len();
        let none = BlockMarkup::default();
        let m = markup.get(i).unwrap_or(&none);
        let p = paragraphs[i].as_str();
        // Read by the block itself and by its neighbours.
        for j in i.saturating_sub(1)..(i + 2).min(n) {
            self.read_function_words(paragraphs, j);
        }
        self.read_interface_words(paragraphs, i);
        words.clear();
        words.extend(p.split_whitespace());
        let mut s = self.shapes[i];
        if s.words >= SHAPE_WORDS_READ {
            s.words = words.len();
        }
        let shapes = &self.shapes;
        let mut d = [0f32; SHAPE];
        let nw = words.len().max(1) as f32;
        let chars = s.chars.max(1.0);
        let (mut punct, mut digits, mut seps, mut ends, mut letters_len) = (0usize, 0usize, 0usize, 0usize, 0usize);
        let (mut letters, mut lowercase) = (0usize, 0usize);
        let mut prev_end = false;
        for c in p.chars() {
            if c.is_ascii_punctuation() || matches!(c, '“' | '”' | '‘' | '’' | '«' | '»' | '…' | '–' | '—')
            {
                punct += 1;
            }
            if c.is_ascii_digit() {
                digits += 1;
            }
            if is_separator(c) {
                seps += 1;
            }
            if c.is_alphanumeric() {
                letters_len += 1;
            }
            if c.is_alphabetic() {
                letters += 1;
                lowercase += usize::from(c.is_lowercase());
            }
            if matches!(c, '.' | '!' | '?') {
                prev_end = true;
            } else if prev_end {
                if c.is_whitespace() {
                    ends += 1;
                }
                prev_end = false;
            }
        }
        if prev_end {
            ends += 1;
        }
        let caps = words.iter().filter(|w| w.chars().next().is_some_and(char::is_uppercase)).count();
        let all_caps = letters >= 3 && lowercase == 0;
        let first_lower = p.chars().find(|c| c.is_alphanumeric()).is_some_and(char::is_lowercase);
        let edge = i < 3 || i + 3 >= n;
        let role = |r: Roles| f32::from(u8::from(m.roles.any(r)));
        d[0] = 1.0;
        d[1] = (1.0 + s.chars).ln();
        d[2] = (1.0 + s.words as f32).ln();
        d[3] = s.link_density;
        d[4] = punct as f32 / chars;
        d[5] = f32::from(u8::from(s.ends_sentence));
        d[6] = (ends as f32 / nw).min(1.0);
        d[7] = s.function_words;
        d[8] = digits as f32 / chars;
        d[9] = f32::from(u8::from(has_time(p)));
        d[10] = f32::from(u8::from(has_duration(words)));
        d[11] = f32::from(u8::from(has_date(p)));
        d[12] = caps as f32 / nw;
        d[13] = f32::from(u8::from(all_caps));
        d[14] = f32::from(u8::from(first_lower));
        d[15] = (seps as f32 / nw).min(1.0);
        d[16] = f32::from(u8::from(p.trim_end().ends_with(':')));
        d[17] = f32::from(u8::from(p.trim_end().ends_with('?')));
        d[18] = f32::from(u8::from(s.words <= 3));
        d[19] = if n > 1 { i as f32 / (n - 1) as f32 } else { 0.5 };
        d[20] = self.before[i] / self.total_chars;
        d[21] = f32::from(u8::from(i == 0));
        d[22] = f32::from(u8::from(i + 1 == n));
        d[23] = f32::from(u8::from(edge));
        d[24] = (1.0 + n as f32).ln();
        d[29] = f32::from(u8::from(m.list));
        d[30] = f32::from(u8::from(m.chrome));
        d[31] = f32::from(u8::from(m.from_markup));
        d[32] = f32::from(u8::from(s.link_density >= 0.9));
        d[33] = f32::from(u8::from(p.contains('\n')));
        d[34] = f32::from(u8::from(p.contains(['"', '“', '”', '«', '»', '„'])));
        d[35] = letters_len as f32 / nw / 10.0;
        for (base, j) in [(36, i.checked_sub(1)), (42, (i + 1 < n).then_some(i + 1))] {
            if let Some(j) = j {
                let o = shapes[j];
                d[base] = (1.0 + o.chars).ln();
                d[base + 1] = o.link_density;
                d[base + 2] = f32::from(u8::from(o.ends_sentence));
                d[base + 3] = o.function_words;
                d[base + 4] = f32::from(u8::from(m.from_markup && o.path == s.path));
                d[base + 5] = 1.0;
            }
        }
        let (from, to) = (i.saturating_sub(3), (i + 4).min(n));
        let short_around = (from..to).filter(|&j| j != i && shapes[j].short_line).count();
        d[48] = short_around as f32 / (to - from - 1).max(1) as f32;
        d[49] = s.chars / self.longest;
        d[50] = f32::from(u8::from(self.lang.is_some()));
        d[51] = f32::from(u8::from(s.short_line));
        d[52] = f32::from(u8::from(s.short_line && edge));
        d[53] = f32::from(u8::from(
            p.contains("http") || p.contains("www.") || words.iter().any(|w| w.len() > 1 && w.starts_with(['@', '#'])),
        ));
        d[54] = f32::from(u8::from(digits * 2 > letters_len));
        d[55] = role(Roles::SHARE.union(Roles::SOCIAL));
        d[56] = role(Roles::RELATED.union(Roles::PROMO));
        d[57] = role(Roles::NAV.union(Roles::HEADER).union(Roles::FOOTER));
        d[58] = role(Roles::SIDEBAR.union(Roles::WIDGET));
        d[59] = role(Roles::COMMENTS);
        d[60] = role(Roles::AD.union(Roles::SUBSCRIBE).union(Roles::CONSENT).union(Roles::POPUP));
        d[61] = role(Roles::BYLINE.union(Roles::META).union(Roles::TAGS));
        d[62] = role(Roles::CONTENT);
        d[63] = f32::from(u8::from(s.words >= 40 && ends >= 2));
        let (first_prose, last_prose) = (self.first_prose, self.last_prose);
        let before_prose = first_prose.is_none_or(|f| i < f);
        let after_prose = last_prose.is_none_or(|l| i > l);
        let distance = match (first_prose, last_prose) {
            (Some(f), _) if i < f => f - i,
            (_, Some(l)) if i > l => i - l,
            (None, _) => n,
            _ => 0,
        };
        let outside = before_prose || after_prose;
        d[64] = f32::from(u8::from(before_prose));
        d[65] = f32::from(u8::from(after_prose));
        d[66] = (1.0 + distance as f32).ln();
        d[67] = f32::from(u8::from(s.short_line && outside));
        d[68] = f32::from(u8::from(s.short_line && !outside));
        d[69] = f32::from(u8::from(s.prose));
        d[70] = f32::from(u8::from(s.short_line && shapes.get(i + 1).is_some_and(|o| o.prose)));
        d[71] = f32::from(u8::from(i > 0 && shapes[i - 1].short_line && shapes[i - 1].words <= 3));
        d[72] = s.interface;
        d[73] = f32::from(u8::from(s.interface_only));
        d[74] = if outside { s.interface } else { 0.0 };
        // The label a list hangs from: the first line of the run of list
        // lines this one is in, when it is short ("Most read", "Les plus
        // lus" over headlines; "Ingredients" over a recipe's).
        if s.list_line {
            let mut j = i;
            while j > 0 && shapes[j - 1].list_line {
                j -= 1;
            }
            if j < i && shapes[j].words <= LABEL_WORDS {
                self.read_interface_words(paragraphs, j);
                d[75] = self.shapes[j].interface;
            }
        }

        let hashed = &mut self.hashed;
        let lower = &mut self.lower;
        hashed.clear();
        hashed.extend_from_slice(m.tokens());
        if s.words <= SHORT_WORDS {
            for w in words.iter() {
                let w = w.trim_matches(|c: char| !c.is_alphanumeric());
                if w.is_empty() {
                    continue;
                }
                lower.clear();
                lower.extend(w.chars().flat_map(char::to_lowercase));
                if lower.chars().all(|c| c.is_ascii_digit()) {
                    lower.clear();
                    lower.push('0');
                }
                hashed.push(word_bucket(lower));
            }
        }
        hashed.sort_unstable();
        hashed.dedup();
        each(&Features { shape: &d, from_markup: m.from_markup, hashed });
    }
}

/// Where the flags the walk knows (heading, cell, quote, pre) sit in the
/// dense part: in the first half, whichever half the block's shape is in.
pub(crate) const FLAGS: usize = 25;

/// Set the flags the walk knows (heading, cell, quote, pre) on a vector.
pub(crate) fn set_flags(v: &mut Vector, flags: [bool; 4]) {
    for (x, on) in v.dense[FLAGS..FLAGS + 4].iter_mut().zip(flags) {
        *x = f32::from(u8::from(on));
    }
}

/// A readable name of feature `index`: a dense name (`text: …` for the
/// text half), or `token #n` for a hashed bucket.
pub fn feature_name(index: usize) -> String {
    if index < SHAPE {
        DENSE_NAMES[index].to_string()
    } else if index < DENSE {
        format!("text: {}", DENSE_NAMES[index - SHAPE])
    } else {
        format!("token #{}", index - DENSE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_read_times_durations_and_dates() {
        assert!(has_time("Updated 14:32 BST"));
        assert!(has_time("at 5am"));
        assert!(!has_time("In 2024 the council"));
        let w: Vec<&str> = "Listen · 2:41".split_whitespace().collect();
        assert!(has_duration(&w));
        let w: Vec<&str> = "4 min read".split_whitespace().collect();
        assert!(has_duration(&w));
        let w: Vec<&str> = "3 medium courgettes".split_whitespace().collect();
        assert!(!has_duration(&w));
        assert!(has_date("12/03/2024"));
        assert!(has_date("2024-03-12"));
        assert!(!has_date("3.5 per cent"));
    }

    #[test]
    fn interface_words_and_the_label_of_a_list_are_read() {
        let paragraphs: Vec<String> = [
            "The council said on Tuesday that the bridge would open in the spring after a year of repairs.",
            "Most read",
            "Bakery to close after 90 years",
            "Man charged after crash on ring road",
            "Imprimer",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let v = vectors(&paragraphs, &[]);
        let at = |i: usize, f: usize| v[i].dense[SHAPE + f];
        assert_eq!(at(1, 72), 0.5, "read, of most read");
        assert_eq!(at(0, 72), 0.0, "prose");
        assert_eq!(at(4, 73), 1.0, "only interface words");
        assert_eq!(at(2, 75), 0.5, "under the label");
        assert_eq!(at(3, 75), 0.5, "under the label, second entry");
        assert_eq!(at(1, 75), 0.0, "the label itself");
    }

    #[test]
    fn every_block_gets_a_vector_of_the_declared_shape() {
        let paragraphs: Vec<String> =
            ["Home › News", "The council said on Tuesday that the bridge would open.", "Next article"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let v = vectors(&paragraphs, &[]);
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].dense.len(), DENSE);
        assert!(v.iter().all(|x| x.hashed.iter().all(|&h| usize::from(h) < HASH_BUCKETS)));
        // Text input: the second half.
        assert_eq!(v[0].dense[SHAPE], 1.0, "bias");
        assert_eq!(v[0].dense[0], 0.0, "markup half empty");
        assert_eq!(v[0].dense[SHAPE + 21], 1.0);
        assert_eq!(v[2].dense[SHAPE + 22], 1.0);
        assert_eq!(v[1].dense[SHAPE + 5], 1.0);
        assert!(v[0].dense[SHAPE + 15] > 0.0, "separator");
    }
}
