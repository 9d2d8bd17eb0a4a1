//! Each feed's template, learned: paragraphs a feed repeats across many of
//! its items are its furniture (promotion, sign-offs, footers), whatever
//! their words, and no rule list has to name them.
//!
//! A [`TemplateTable`] is kept per feed. For every item it *observes* the
//! item's kept paragraphs: each is normalised (case and whitespace folded,
//! digits, dates and the names of months and weekdays of six languages
//! folded, punctuation dropped) and hashed to a fingerprint, and the table
//! counts the distinct items each fingerprint was seen in. Then it
//! *applies* what it knows: a paragraph whose fingerprint was seen in at
//! least `min_items` distinct items is removed as kind `template`, rule
//! `template.learned`.
//!
//! The table is bounded (`capacity` fingerprints): when it is full, the
//! entry seen in the fewest items, and of those the one seen longest ago,
//! makes room, so one-off paragraphs churn and the template stays. Its
//! state ([`TemplateState`]) is stored with the feed's state, so it
//! survives restarts and is committed with the checkpoint.
//!
//! Guards: never a paragraph equal to the item's title, never the lead (a
//! first paragraph of [`LEAD_BYTES`] or more), never a paragraph with line
//! breaks (a `<pre>` listing, a poem), never one of fewer than
//! `min_words` words, and never when it would leave the body empty.

use std::collections::HashMap;

use newswire_core::template::{TemplateEntry, TemplateState};
use newswire_core::{Removed, RemovedKind};

use crate::Cleaned;

/// The rule name template removals carry (and `clean_disable` takes).
pub const TEMPLATE_RULE: &str = "template.learned";

/// A first paragraph this long is the item's lead: never removed.
pub const LEAD_BYTES: usize = 200;

/// Paragraphs longer than this are never fingerprinted.
const MAX_BYTES: usize = 1_200;

/// How a feed's template is learned and used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateSettings {
    /// Whether the table learns and removes at all.
    pub enabled: bool,
    /// A paragraph seen in at least this many distinct items is removed.
    pub min_items: u32,
    /// Fingerprints kept per feed.
    pub capacity: usize,
    /// Paragraphs of fewer words are never template (a recurring subhead).
    pub min_words: usize,
}

impl Default for TemplateSettings {
    /// On; 4 items; 256 fingerprints; 2 words. Measured on the project's
    /// syndication corpus wrapped in its outlets' paragraphs
    /// (tests/template.rs, docs/cleaner.md): 3 items removed syndicated
    /// article paragraphs from an aggregator feed, 4 none, and within one
    /// document every threshold finds the whole template.
    fn default() -> TemplateSettings {
        TemplateSettings { enabled: true, min_items: 4, capacity: 256, min_words: 2 }
    }
}

/// One feed's learned template.
#[derive(Debug, Clone, Default)]
pub struct TemplateTable {
    state: TemplateState,
    /// Fingerprint to position in `state.entries`.
    index: HashMap<u64, usize>,
    /// Each entry's eviction order ([`evict_key`]), by position in
    /// `state.entries`: the victim is found in a scan of 8-byte keys, not
    /// of the entries themselves (a new paragraph of a full table scans
    /// them all, and that scan was most of observing).
    keys: Vec<u64>,
    settings: TemplateSettings,
}

/// An entry's eviction order: by count, then by when it was last seen
/// (the least of both goes first).
fn evict_key(e: &TemplateEntry) -> u64 {
    (u64::from(e.count) << 32) | u64::from(e.last)
}

impl TemplateTable {
    /// An empty table.
    pub fn new(settings: TemplateSettings) -> TemplateTable {
        TemplateTable { settings, ..TemplateTable::default() }
    }

    /// A table from what was stored (entries beyond the capacity dropped).
    pub fn from_state(mut state: TemplateState, settings: TemplateSettings) -> TemplateTable {
        if state.entries.len() > settings.capacity {
            state.entries.sort_by_key(|e| std::cmp::Reverse((e.count, e.last)));
            state.entries.truncate(settings.capacity);
        }
        let index = state.entries.iter().enumerate().map(|(i, e)| (e.fingerprint, i)).collect();
        let keys = state.entries.iter().map(evict_key).collect();
        TemplateTable { state, index, keys, settings }
    }

    /// What to store.
    pub fn state(&self) -> &TemplateState {
        &self.state
    }

    /// What to store, consuming the table: the entries seen in two items
    /// or more, and those of the last item observed (the one most likely
    /// to recur next). One-off paragraphs of older items are dropped, so a
    /// feed's stored template stays a few entries however long its
    /// articles (it is held in memory with every feed's state).
    pub fn into_state(mut self) -> TemplateState {
        let tick = self.state.tick;
        self.state.entries.retain(|e| e.count >= 2 || e.last == tick);
        self.state
    }

    /// The settings in force.
    pub fn settings(&self) -> TemplateSettings {
        self.settings
    }

    /// Count the paragraphs of one item (`item` is its stable key: the
    /// record id). An item observed twice counts once.
    pub fn observe(&mut self, item: &str, paragraphs: &[String]) {
        let prints = self.prints(paragraphs);
        self.observe_prints(item, &prints);
    }

    /// Each paragraph's fingerprint under these settings (None: never
    /// template), for [`TemplateTable::observe_prints`] and
    /// [`TemplateTable::apply_prints`], so an item observed and then
    /// cleaned is fingerprinted once.
    pub fn prints(&self, paragraphs: &[String]) -> Vec<Option<u64>> {
        if !self.settings.enabled {
            return vec![None; paragraphs.len()];
        }
        paragraphs.iter().map(|p| fingerprint(p, self.settings.min_words)).collect()
    }

    /// [`TemplateTable::observe`] with the paragraphs' fingerprints
    /// ([`TemplateTable::prints`]).
    pub fn observe_prints(&mut self, item: &str, prints: &[Option<u64>]) {
        if !self.settings.enabled || self.settings.capacity == 0 {
            return;
        }
        let item = fnv(item.as_bytes()) as u32;
        self.state.tick = self.state.tick.wrapping_add(1);
        let tick = self.state.tick;
        let mut seen = Vec::with_capacity(prints.len());
        for &fp in prints {
            let Some(fp) = fp else { continue };
            if seen.contains(&fp) {
                continue;
            }
            seen.push(fp);
            match self.index.get(&fp) {
                Some(&i) => {
                    let e = &mut self.state.entries[i];
                    e.last = tick;
                    if !e.items.contains(&item) {
                        if e.items.len() < self.settings.min_items as usize {
                            e.items.push(item);
                        }
                        e.count = e.count.saturating_add(1);
                    }
                    self.keys[i] = evict_key(e);
                }
                None => {
                    if self.state.entries.len() >= self.settings.capacity {
                        self.evict();
                    }
                    self.index.insert(fp, self.state.entries.len());
                    let entry = TemplateEntry { fingerprint: fp, count: 1, last: tick, items: vec![item] };
                    self.keys.push(evict_key(&entry));
                    self.state.entries.push(entry);
                }
            }
        }
    }

    /// Make room: the entry seen in the fewest items, the oldest of those.
    fn evict(&mut self) {
        // The first of the least, as a scan of the entries by (count, last)
        // finds it.
        let Some(&least) = self.keys.iter().min() else { return };
        let Some(victim) = self.keys.iter().position(|&k| k == least) else { return };
        self.keys.swap_remove(victim);
        let removed = self.state.entries.swap_remove(victim);
        self.index.remove(&removed.fingerprint);
        if let Some(moved) = self.state.entries.get(victim) {
            self.index.insert(moved.fingerprint, victim);
        }
    }

    /// In how many distinct items a paragraph was seen.
    pub fn count(&self, paragraph: &str) -> u32 {
        fingerprint(paragraph, self.settings.min_words)
            .and_then(|fp| self.index.get(&fp))
            .map_or(0, |&i| self.state.entries[i].count)
    }

    /// Remove the template's paragraphs from one cleaned item, recording
    /// each as kind `template`. Returns how many went.
    pub fn apply(&self, cleaned: &mut Cleaned, title: Option<&str>) -> usize {
        let prints = self.prints(&cleaned.paragraphs);
        self.apply_prints(cleaned, title, &prints)
    }

    /// [`TemplateTable::apply`] with the paragraphs' fingerprints
    /// ([`TemplateTable::prints`] of `cleaned.paragraphs`).
    pub fn apply_prints(&self, cleaned: &mut Cleaned, title: Option<&str>, prints: &[Option<u64>]) -> usize {
        if !self.settings.enabled || self.state.entries.is_empty() || prints.len() != cleaned.paragraphs.len() {
            return 0;
        }
        // A fingerprint does not depend on `min_words` (only whether there
        // is one does), so the title's, taken with 1, compares with any.
        let title = title.and_then(|t| fingerprint(t, 1));
        let mut remove = vec![false; cleaned.paragraphs.len()];
        for (i, (p, &fp)) in cleaned.paragraphs.iter().zip(prints).enumerate() {
            if i == 0 && p.len() >= LEAD_BYTES {
                continue;
            }
            let Some(fp) = fp else { continue };
            if Some(fp) == title {
                continue;
            }
            if self.index.get(&fp).is_some_and(|&e| self.state.entries[e].count >= self.settings.min_items) {
                remove[i] = true;
            }
        }
        let n = remove.iter().filter(|r| **r).count();
        if n == 0 || n == cleaned.paragraphs.len() {
            return 0;
        }
        let mut kept = Vec::with_capacity(cleaned.paragraphs.len() - n);
        for (p, r) in std::mem::take(&mut cleaned.paragraphs).into_iter().zip(remove) {
            if r {
                cleaned.removed.push(Removed::new(RemovedKind::Template, TEMPLATE_RULE, p));
            } else {
                kept.push(p);
            }
        }
        cleaned.paragraphs = kept;
        n
    }
}

/// The fingerprint of a paragraph, or None when it is never template: too
/// long, broken into lines, or of fewer than `min_words` words.
///
/// The paragraph's words (runs of alphanumeric characters), lowercased,
/// each followed by a space, hashed with FNV-1a; a run of digits is one
/// `0`, a word of digits alone is `0`, and a month's or a weekday's name is
/// `#m`. One pass over the characters: a word of ASCII letters alone (most
/// words) is hashed as it is read ([`ascii_word`]); any other goes into
/// the hash a byte at a time, and a word that turns out to be digits or a
/// calendar name is taken back (the hash as it was before the word) and
/// written as its token. Fingerprints are stored, so this must hash
/// exactly what the plain version in the tests (`reference`) hashes.
pub fn fingerprint(p: &str, min_words: usize) -> Option<u64> {
    if p.len() > MAX_BYTES || p.contains('\n') {
        return None;
    }
    let mut h = Fnv::new();
    let mut words = 0;
    let mut word = Word::default();
    let bytes = p.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_alphabetic() && !word.open {
            // Most words are ASCII letters alone: such a word is hashed
            // as it is read, with no state kept for it. A word that goes
            // on with a digit or another letter is read again below.
            if let Some(end) = ascii_word(p, i, &mut h, &mut words) {
                i = end;
                continue;
            }
        }
        if b.is_ascii() {
            i += 1;
            if b.is_ascii_alphabetic() {
                // A run of ASCII letters (most of any text) in one go.
                let start = i - 1;
                while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
                    i += 1;
                }
                word.letters_run(&mut h, &bytes[start..i]);
            } else if b.is_ascii_digit() {
                word.digit(&mut h);
            } else {
                words += word.end(&mut h);
            }
            continue;
        }
        // `i` is on a character boundary: ASCII steps one byte, this a
        // whole character.
        let Some(c) = p[i..].chars().next() else { break };
        i += c.len_utf8();
        if c.is_numeric() {
            word.digit(&mut h);
        } else if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                let mut utf8 = [0; 4];
                for &b in l.encode_utf8(&mut utf8).as_bytes() {
                    word.letter(&mut h, b);
                }
            }
        } else {
            words += word.end(&mut h);
        }
    }
    words += word.end(&mut h);
    if words < min_words.max(1) {
        return None;
    }
    Some(h.0)
}

/// [`fingerprint`]'s step for a word that begins at `start` with an ASCII
/// letter: when the word is ASCII letters alone (what follows is no
/// letter, digit or other alphanumeric character), hash it into `h` as
/// [`Word`] would, count it, and return where it ends; otherwise None,
/// `h` and `words` untouched.
fn ascii_word(p: &str, start: usize, h: &mut Fnv, words: &mut usize) -> Option<usize> {
    let bytes = p.as_bytes();
    let mut g = Fnv(h.0);
    let mut end = start;
    while let Some(&b) = bytes.get(end) {
        if !b.is_ascii_alphabetic() {
            break;
        }
        g.byte(b | 0x20);
        end += 1;
    }
    // The word goes on: a digit, or a letter or digit beyond ASCII.
    let goes_on = match bytes.get(end) {
        None => false,
        Some(b) if b.is_ascii() => b.is_ascii_digit(),
        Some(_) => p[end..].chars().next().is_none_or(char::is_alphanumeric),
    };
    if goes_on {
        return None;
    }
    let run = &bytes[start..end];
    // The shape is tested on the word as it stands (its first letter
    // lowercased), so most words are ruled out before they are copied
    // lowercase for the look-up.
    let calendar =
        (3..=12).contains(&run.len()) && CALENDAR_SHAPES[usize::from(run[0] | 0x20)] & (1 << run.len()) != 0 && {
            let mut lower = [0u8; 12];
            for (l, &b) in lower.iter_mut().zip(run) {
                *l = b | 0x20;
            }
            is_calendar_bytes(&lower[..run.len()])
        };
    if calendar {
        h.write(b"#m ");
    } else {
        g.byte(b' ');
        *h = g;
        *words += 1;
    }
    Some(end)
}

/// The word [`fingerprint`] is in the middle of.
#[derive(Default)]
struct Word {
    /// Whether a word has begun.
    open: bool,
    /// The paragraph's hash before the word began.
    before: u64,
    /// Its lowercased bytes so far (the first 16: calendar names are
    /// shorter) and how many there are.
    bytes: [u8; 16],
    len: usize,
    /// Whether the last character was a digit, and whether any was a
    /// letter.
    digit: bool,
    letters: bool,
}

impl Word {
    fn begin(&mut self, h: &Fnv) {
        if !self.open {
            *self = Word { open: true, before: h.0, ..Word::default() };
        }
    }

    fn push(&mut self, h: &mut Fnv, b: u8) {
        h.byte(b);
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = b;
        }
        self.len += 1;
    }

    fn digit(&mut self, h: &mut Fnv) {
        self.begin(h);
        if !self.digit {
            self.push(h, b'0');
        }
        self.digit = true;
    }

    fn letter(&mut self, h: &mut Fnv, b: u8) {
        self.begin(h);
        self.letters = true;
        self.digit = false;
        self.push(h, b);
    }

    /// [`Word::letter`] for each of a run of ASCII letters, lowercased.
    fn letters_run(&mut self, h: &mut Fnv, run: &[u8]) {
        self.begin(h);
        self.letters = true;
        self.digit = false;
        for &b in run {
            // ASCII letters only: setting bit 5 lowercases them.
            h.byte(b | 0x20);
        }
        if let Some(free) = self.bytes.get_mut(self.len..) {
            for (slot, &b) in free.iter_mut().zip(run) {
                *slot = b | 0x20;
            }
        }
        self.len += run.len();
    }

    /// End the word, if one began: 1 when it counts as a word.
    fn end(&mut self, h: &mut Fnv) -> usize {
        if !std::mem::take(&mut self.open) {
            return 0;
        }
        let calendar = || (3..=12).contains(&self.len) && is_calendar_bytes(&self.bytes[..self.len]);
        if !self.letters {
            h.0 = self.before;
            h.write(b"0 ");
            0
        } else if calendar() {
            h.0 = self.before;
            h.write(b"#m ");
            0
        } else {
            h.write(b" ");
            1
        }
    }
}

/// FNV-1a, 64 bits, written to in pieces (stable across processes and
/// releases: fingerprints are stored).
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    #[inline]
    fn byte(&mut self, b: u8) {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
    }
}

/// FNV-1a, 64 bits: stable across processes and releases (stored).
fn fnv(bytes: &[u8]) -> u64 {
    let mut h = Fnv::new();
    h.write(bytes);
    h.0
}

/// Names of months and weekdays (and their usual abbreviations) in the six
/// languages: "Posted on 3 June" and "Posted on 9 July" are one paragraph.
/// Every word of every paragraph that passes [`CALENDAR_SHAPES`] is looked
/// up (a third of a news text: "the" has the shape of "thu"), so the set
/// is an open-addressed table of the words' bytes packed in one number
/// ([`packed`]): a look-up is one multiply and a compare or two, where the
/// sorted list of FNV hashes it replaces cost a hash and a binary search
/// (some 150 instructions a word).
static CALENDAR: std::sync::LazyLock<Box<[u128; CALENDAR_SLOTS]>> = std::sync::LazyLock::new(|| {
    let mut table = Box::new([0u128; CALENDAR_SLOTS]);
    for w in CALENDAR_WORDS {
        let key = packed(w.as_bytes()).expect("calendar words are at most 16 bytes");
        let mut i = calendar_slot(key);
        while table[i] != 0 && table[i] != key {
            i = (i + 1) % CALENDAR_SLOTS;
        }
        table[i] = key;
    }
    table
});

/// [`CALENDAR`]'s size: a power of two, some four times the words.
const CALENDAR_SLOTS: usize = 512;

/// A word of at most 16 bytes, zero-padded, as one number (None when
/// longer). No word holds a zero byte, so two words pack alike only when
/// they are the same.
fn packed(word: &[u8]) -> Option<u128> {
    let mut buf = [0u8; 16];
    buf.get_mut(..word.len())?.copy_from_slice(word);
    Some(u128::from_le_bytes(buf))
}

/// Where [`CALENDAR`]'s probe for `key` starts.
fn calendar_slot(key: u128) -> usize {
    // Both halves folded, then a multiplicative hash's top bits.
    let x = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - CALENDAR_SLOTS.trailing_zeros())) as usize
}

/// For each first byte, the lengths (bit n: n bytes) of the calendar words
/// that begin with it: most words are ruled out without hashing.
static CALENDAR_SHAPES: std::sync::LazyLock<[u32; 256]> = std::sync::LazyLock::new(|| {
    let mut shapes = [0u32; 256];
    for w in CALENDAR_WORDS {
        shapes[usize::from(w.as_bytes()[0])] |= 1 << w.len().min(31);
    }
    shapes
});

/// Whether `word` (lowercase) names a month or a weekday.
#[cfg(test)]
fn is_calendar(word: &str) -> bool {
    is_calendar_bytes(word.as_bytes())
}

/// [`is_calendar`] on a word's bytes (lowercase; any bytes: what is not
/// UTF-8 is no calendar word), so a word needs no UTF-8 check first.
fn is_calendar_bytes(word: &[u8]) -> bool {
    let Some(&first) = word.first() else { return false };
    if CALENDAR_SHAPES[usize::from(first)] & (1 << word.len().min(31)) == 0 {
        return false;
    }
    let Some(key) = packed(word) else { return false };
    let mut i = calendar_slot(key);
    loop {
        match CALENDAR[i] {
            k if k == key => return true,
            0 => return false,
            _ => i = (i + 1) % CALENDAR_SLOTS,
        }
    }
}

const CALENDAR_WORDS: &[&str] = &[
    // en
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thur",
    "thurs",
    "fri",
    "sat",
    "sun",
    // fr
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
    "janv",
    "févr",
    "avr",
    "juil",
    "déc",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    // es
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "setiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "ene",
    "abr",
    "ago",
    "dic",
    "lunes",
    "martes",
    "miércoles",
    "jueves",
    "viernes",
    "sábado",
    "domingo",
    // de
    "januar",
    "februar",
    "märz",
    "juni",
    "juli",
    "oktober",
    "dezember",
    "jänner",
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "okt",
    "dez",
    "mär",
    // pt
    "janeiro",
    "fevereiro",
    "março",
    "maio",
    "junho",
    "julho",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
    "fev",
    "mai",
    "out",
    "segunda",
    "terça",
    "quarta",
    "quinta",
    "sexta",
    "feira",
    // it
    "gennaio",
    "febbraio",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "settembre",
    "ottobre",
    "dicembre",
    "gen",
    "giu",
    "lug",
    "ott",
    "lunedì",
    "martedì",
    "mercoledì",
    "giovedì",
    "venerdì",
    "sabato",
    "domenica",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(paragraphs: &[&str]) -> Cleaned {
        Cleaned { paragraphs: paragraphs.iter().map(|p| p.to_string()).collect(), ..Cleaned::default() }
    }

    const PROMO: &str = "Get the Harbour Times in your inbox: our free briefing lands at 7 a.m. every weekday.";

    /// Items differ in words (digits fold: "story 1" and "story 2" are one
    /// paragraph to the table).
    fn item(n: u32) -> Vec<String> {
        let w = ["ferry", "silo", "crane", "pier", "tug", "quay", "buoy", "dock", "lock", "mole"][n as usize % 10];
        vec![
            format!("The {w} story is about something that happened in the harbour this week, with details."),
            format!("A second paragraph about the {w}, different in every item."),
            PROMO.to_string(),
        ]
    }

    #[test]
    fn a_paragraph_in_enough_items_is_template() {
        let mut t = TemplateTable::new(TemplateSettings::default());
        for n in 0..3 {
            t.observe(&format!("item-{n}"), &item(n));
        }
        let mut c = cleaned(&item(9).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(t.apply(&mut c, None), 0, "seen in three items only");
        t.observe("item-3", &item(3));
        assert_eq!(t.count(PROMO), 4);
        assert_eq!(t.apply(&mut c, None), 1);
        assert_eq!(c.paragraphs.len(), 2);
        assert_eq!(c.removed, [Removed::new(RemovedKind::Template, TEMPLATE_RULE, PROMO)]);
    }

    #[test]
    fn an_item_counts_once() {
        let mut t = TemplateTable::new(TemplateSettings::default());
        for _ in 0..5 {
            t.observe("same-item", &[PROMO.to_string(), PROMO.to_string()]);
        }
        assert_eq!(t.count(PROMO), 1);
    }

    /// The plain version of [`fingerprint`], as it was first written: its
    /// hashes are stored, so the one-pass version must agree with it.
    /// The fingerprint of a paragraph, or None when it is never template: too
    /// long, broken into lines, or of fewer than `min_words` words.
    fn reference(p: &str, min_words: usize) -> Option<u64> {
        if p.len() > MAX_BYTES || p.contains('\n') {
            return None;
        }
        let mut h = Fnv::new();
        let mut words = 0;
        let mut word = String::with_capacity(32);
        for raw in p.split(|c: char| !c.is_alphanumeric()) {
            if raw.is_empty() {
                continue;
            }
            word.clear();
            let mut digit = false;
            let mut letters = false;
            if raw.is_ascii() {
                for b in raw.bytes() {
                    if b.is_ascii_digit() {
                        if !digit {
                            word.push('0');
                        }
                        digit = true;
                    } else {
                        letters = true;
                        digit = false;
                        word.push(char::from(b.to_ascii_lowercase()));
                    }
                }
            } else {
                for c in raw.chars() {
                    if c.is_numeric() {
                        if !digit {
                            word.push('0');
                        }
                        digit = true;
                    } else {
                        letters = true;
                        digit = false;
                        word.extend(c.to_lowercase());
                    }
                }
            }
            // Calendar words are 3 to 10 letters (bytes: up to 12 with accents).
            if !letters {
                h.write(b"0 ");
            } else if (3..=12).contains(&word.len()) && is_calendar(&word) {
                h.write(b"#m ");
            } else {
                words += 1;
                h.write(word.as_bytes());
                h.write(b" ");
            }
        }
        if words < min_words.max(1) {
            return None;
        }
        Some(h.0)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, ..Default::default() })]
        #[test]
        fn fingerprint_hashes_what_the_plain_version_hashes(
            p in "([a-zA-Z0-9 ,.:;'’\"!?-]|[éÉçßİıΣσ٣½²ⅫÅ]|June|lundi|Mai|TUE|Sept|mayor|2024|  ){0,80}",
            min_words in 0usize..4,
        ) {
            proptest::prop_assert_eq!(fingerprint(&p, min_words), reference(&p, min_words), "{:?}", p);
        }
    }

    #[test]
    fn fingerprint_folds_every_calendar_word_as_the_plain_version_does() {
        for w in CALENDAR_WORDS {
            for p in [format!("Posted on 3 {w} 2024"), format!("{} edition", w.to_uppercase()), format!("{w}x day")] {
                assert_eq!(fingerprint(&p, 1), reference(&p, 1), "{p}");
            }
        }
    }

    #[test]
    fn every_calendar_word_is_found_and_no_other() {
        for w in CALENDAR_WORDS {
            assert!(is_calendar(w), "{w}");
        }
        for w in ["harbour", "mayor", "marché", "junk", "monday1", "sunda"] {
            assert!(!is_calendar(w), "{w}");
        }
    }

    #[test]
    fn dates_digits_case_and_punctuation_fold() {
        let a = fingerprint("Posted on 3 June 2024 — 14:05", 2);
        assert_eq!(a, fingerprint("posted on 19 july 2025 - 9:41", 2));
        assert_eq!(a, fingerprint("Posted  on 1 Dec. 2023, 7:00", 2));
        assert_ne!(a, fingerprint("Posted in Harbour news", 2));
        assert_eq!(fingerprint("Publié le 3 juin", 2), fingerprint("Publié le 12 mars", 2));
        // Too short, broken into lines: never template.
        assert_eq!(fingerprint("Background", 2), None);
        assert_eq!(fingerprint("line one\nline two", 2), None);
    }

    #[test]
    fn guards_keep_the_title_the_lead_and_a_body() {
        let lead = "The harbour authority approved the silo plan on Tuesday after a two-year review, the longest planning process in the port's history, and work on the flats, the library and the roof park starts next spring.";
        let mut t = TemplateTable::new(TemplateSettings::default());
        for n in 0..4 {
            t.observe(&format!("i{n}"), &[lead.to_string(), PROMO.to_string(), "Silo plan approved".to_string()]);
        }
        // The lead and the title's copy stay; the promotion goes.
        let mut c = cleaned(&[lead, "Silo plan approved", "New words.", PROMO]);
        assert_eq!(t.apply(&mut c, Some("Silo plan approved")), 1);
        assert_eq!(c.paragraphs, [lead, "Silo plan approved", "New words."]);
        // Everything would go: nothing does.
        let mut c = cleaned(&[PROMO]);
        assert_eq!(t.apply(&mut c, None), 0);
        assert_eq!(c.paragraphs, [PROMO]);
        // Off: nothing learned, nothing removed.
        let mut off = TemplateTable::new(TemplateSettings { enabled: false, ..TemplateSettings::default() });
        off.observe("x", &[PROMO.to_string()]);
        assert!(off.state().is_empty());
    }

    /// A distinct word for every number (digits would fold).
    fn word(mut n: u32) -> String {
        let mut w = String::new();
        loop {
            w.push(char::from(b'a' + (n % 26) as u8));
            n /= 26;
            if n == 0 {
                return w;
            }
        }
    }

    #[test]
    fn the_table_is_bounded_and_keeps_the_template() {
        let settings = TemplateSettings { capacity: 16, ..TemplateSettings::default() };
        let mut t = TemplateTable::new(settings);
        for n in 0..200u32 {
            let mut ps = vec![PROMO.to_string()];
            ps.extend((0..5).map(|k| format!("Unique paragraph of item {} with words.", word(n * 5 + k))));
            t.observe(&format!("item-{n}"), &ps);
            assert!(t.state().entries.len() <= 16);
        }
        assert_eq!(t.count(PROMO), 200);
    }

    #[test]
    fn eviction_takes_the_first_least_seen_as_a_scan_of_the_entries_does() {
        // Paragraphs recurring in some items and not others, seen again by
        // the same item, in a table of 8: every eviction is checked
        // against a scan of the entries by (count, last).
        let settings = TemplateSettings { capacity: 8, ..TemplateSettings::default() };
        let mut t = TemplateTable::new(settings);
        let mut evicted = 0;
        for n in 0..300u32 {
            let ps: Vec<String> = (0..4)
                .map(|k| format!("Paragraph number {} of the feed.", word((n * 7 + k * 13) % (5 + n % 11))))
                .chain([format!("Unique text of item {} here.", word(n))])
                .collect();
            let prints = t.prints(&ps);
            for (i, fp) in prints.iter().enumerate() {
                let Some(fp) = fp else { continue };
                if t.state.entries.len() < settings.capacity || t.index.contains_key(fp) {
                    continue;
                }
                // The first new fingerprint of a full table evicts the first
                // least entry as it stands then: after the item's earlier
                // paragraphs (all in the table) were counted, at the
                // item's tick.
                let mut before = t.clone();
                before.observe_prints(&format!("item-{n}"), &prints[..i]);
                let expected = before.state.entries.iter().min_by_key(|e| (e.count, e.last)).map(|e| e.fingerprint);
                let mut after = t.clone();
                after.observe_prints(&format!("item-{n}"), &prints[..=i]);
                let gone: Vec<u64> =
                    t.state.entries.iter().map(|e| e.fingerprint).filter(|f| !after.index.contains_key(f)).collect();
                assert_eq!(gone, expected.into_iter().collect::<Vec<_>>(), "item {n}");
                evicted += 1;
                break;
            }
            t.observe_prints(&format!("item-{n}"), &prints);
            t.observe_prints(&format!("item-{n}"), &prints[..2]);
            assert_eq!(
                t.keys,
                t.state.entries.iter().map(evict_key).collect::<Vec<_>>(),
                "the keys follow the entries"
            );
        }
        assert!(evicted > 50, "{evicted} evictions checked");
    }

    #[test]
    fn stored_state_round_trips() {
        let mut t = TemplateTable::new(TemplateSettings::default());
        for n in 0..3 {
            t.observe(&format!("item-{n}"), &item(n));
        }
        let stored = t.into_state();
        // The promotion (three items) and the last item's own paragraphs.
        assert_eq!(stored.entries.len(), 3);
        let json = serde_json::to_string(&stored).expect("serialises");
        let back = TemplateTable::from_state(serde_json::from_str(&json).expect("reads"), TemplateSettings::default());
        assert_eq!(back.count(PROMO), 3);
        // A smaller capacity keeps the most-seen entries.
        let small = TemplateTable::from_state(stored, TemplateSettings { capacity: 1, ..TemplateSettings::default() });
        assert_eq!(small.count(PROMO), 3);
        assert_eq!(small.state().entries.len(), 1);
    }
}
