//! The classifier's step in the cleaner: after the rules, on what they
//! kept. A block goes only when its score reaches the threshold and no
//! guard protects it; the guards are those of the rules (a `<pre>`, a table
//! cell, a quotation, a heading followed by article text, reported speech,
//! quoted speech) and its own: prose (two sentences and twenty-five words
//! or more, or over 400 bytes) and a sentence of twenty-five words or more
//! are never furniture (those blocks are not even scored: the pre-filter),
//! and the classifier never takes more than a third of the text it scores,
//! nor all of it.
//!
//! Blocks built alike go together: a run of consecutive kept blocks with
//! the same tag path (the items of a menu, the lines of a list) is scored
//! by its mean and goes whole or stays whole, so a list in the article
//! never loses its first or last line for sitting at an edge. A text item
//! has no tags: there a run of list lines (at most [`LIST_LINE_WORDS`]
//! words, no sentence end: a label and its entries, a list of headlines)
//! is one run.
//!
//! At the item's edges the bar is lower: the runs from the first and from
//! the last block go from a mean of [`EDGE_SCORE`] on, up to the first run
//! that does not (or that a guard protects); furniture sits at the edges
//! (sign-in rows, reading times, tool rows, "back to top"). The lower bar
//! takes no sentence (four words or more ending with `.`, `!`, `?`, `…`):
//! those need the threshold; nor, in a text item, a lone line (not in a
//! run of list lines) without a word of furniture's labels. An item of fewer than [`EDGE_MIN_BLOCKS`]
//! blocks has no edges.

use newswire_core::{Removed, RemovedKind};

use crate::CLASSIFIER_RULE;
use crate::classifier::features::{
    MAX_FURNITURE_BYTES, ends_sentence, interface_words, is_prose_of, is_sentence_of, vectors_of,
};
use crate::classifier::{BlockMarkup, Model, Vector, html_vectors, scores};
use crate::engine::Outcome;
use crate::guards::reports_speech;
use crate::html::ParaFlags;

/// A heading before a paragraph of this many bytes titles article text.
const TEXT_AFTER_HEADING: usize = 80;
/// Runs of blocks at an edge of the item go from this score on.
const EDGE_SCORE: f32 = 0.82;
/// A block of this many words ending a sentence is a sentence: the lower
/// bar at the edges does not take it.
const EDGE_SENTENCE_WORDS: usize = 4;
/// Words of a list line at most ([`is_list_line`]).
const LIST_LINE_WORDS: usize = 12;
/// Blocks an item needs for its edges to have the lower bar.
const EDGE_MIN_BLOCKS: usize = 4;
/// At most this share of the kept text goes to the classifier.
const MAX_SHARE: f64 = 1.0 / 3.0;

/// Why the classifier keeps a block whatever its score.
pub(crate) fn protected(paragraphs: &[String], flags: &[ParaFlags], i: usize) -> Option<&'static str> {
    let p = &paragraphs[i];
    let f = flags.get(i).copied().unwrap_or_default();
    if f.has(ParaFlags::PRE) {
        return Some("preformatted");
    }
    if f.has(ParaFlags::CELL) {
        return Some("table cell");
    }
    if f.has(ParaFlags::QUOTE) {
        return Some("quotation");
    }
    if f.has(ParaFlags::HEADING)
        && paragraphs.get(i + 1).is_some_and(|next| next.len() >= TEXT_AFTER_HEADING)
        && !flags.get(i + 1).copied().unwrap_or_default().has(ParaFlags::HEADING)
    {
        return Some("heading before text");
    }
    if p.len() > MAX_FURNITURE_BYTES {
        return Some("long");
    }
    let words = p.split_whitespace().count();
    if is_prose_of(p, words) {
        return Some("prose");
    }
    if is_sentence_of(p, words) {
        return Some("sentence");
    }
    if quotes(p) {
        return Some("quoted speech");
    }
    let one_line = p.replace('\n', " ");
    if reports_speech(&one_line) {
        return Some("reported speech");
    }
    None
}

/// Quotation marks: straight or curly double quotes, or guillemets that
/// open and close (a lone `»` ends a pager's "Next page »", a lone `«` a
/// back link; neither quotes anyone).
fn quotes(p: &str) -> bool {
    p.contains(['"', '“', '”', '„']) || (p.contains('«') && p.contains('»'))
}

/// A sentence of [`EDGE_SENTENCE_WORDS`] words or more (ending with `.`,
/// `!`, `?` or `…`, after any closing quotes or brackets).
fn is_short_sentence(p: &str) -> bool {
    p.split_whitespace().nth(EDGE_SENTENCE_WORDS - 1).is_some() && ends_sentence(p)
}

/// Whether a block holds a word of furniture's labels (`lang.rs`): a
/// lone line of a text item at its edge ("Follow the money", a last
/// subhead) takes the lower bar only with one.
fn has_interface_word(p: &str) -> bool {
    let mut lower = String::new();
    interface_words(p.split_whitespace(), &mut lower).0 > 0
}

/// A line of a list in a text item: at most [`LIST_LINE_WORDS`] words and
/// no sentence end (a label, an entry, a headline).
fn is_list_line(p: &str) -> bool {
    p.split_whitespace().nth(LIST_LINE_WORDS).is_none() && !ends_sentence(p)
}

/// One block's last score, for `--explain`.
pub(crate) struct Scored {
    pub(crate) score: f32,
    pub(crate) vector: Vector,
}

/// One round of the classifier on what is kept (`outcome`): scores the
/// kept blocks as an item of their own and removes the furniture
/// (recorded in `outcome.removed` with its score). With `threshold` None
/// nothing is removed (scores only, for `--explain`). Each block's score
/// goes into `last` (by input index) when it is not empty. Whether
/// anything was removed.
pub(crate) fn round(
    model: &Model,
    threshold: Option<f32>,
    outcome: &mut Outcome,
    flags: &[ParaFlags],
    markup: &[BlockMarkup],
    last: &mut [Option<Scored>],
) -> bool {
    let (sub_flags, sub_markup) = of_kept(outcome, flags, markup);
    let scores = if last.is_empty() {
        // Blocks the guards keep for their length or prose need no score
        // (0: not furniture).
        scores(model, &outcome.kept, &sub_flags, &sub_markup)
    } else {
        // `--explain` shows every score, and the features behind it.
        let vectors = if sub_markup.is_empty() {
            vectors_of(&outcome.kept, &[], false)
        } else {
            html_vectors(&outcome.kept, &sub_flags, &sub_markup, false)
        };
        let scores: Vec<f32> = vectors.iter().map(|v| model.score(v)).collect();
        for ((&i, v), s) in outcome.kept_at.iter().zip(vectors).zip(&scores) {
            if let Some(slot) = last.get_mut(i) {
                *slot = Some(Scored { score: *s, vector: v });
            }
        }
        scores
    };
    let gone = match threshold {
        Some(t) => removals(t, &outcome.kept, &sub_flags, &sub_markup, &scores),
        None => Vec::new(),
    };
    for &k in gone.iter().rev() {
        let at = outcome.kept_at.remove(k);
        let text = outcome.kept.remove(k);
        outcome.removed.push((at, Removed::scored(RemovedKind::Furniture, CLASSIFIER_RULE, text, scores[k])));
    }
    outcome.removed.sort_by_key(|(at, _)| *at);
    !gone.is_empty()
}

/// The flags and the markup of the blocks `outcome` kept, in order (no
/// markup for a text item).
fn of_kept(outcome: &Outcome, flags: &[ParaFlags], markup: &[BlockMarkup]) -> (Vec<ParaFlags>, Vec<BlockMarkup>) {
    let sub_flags = outcome.kept_at.iter().map(|&i| flags.get(i).copied().unwrap_or_default()).collect();
    let sub_markup = if markup.is_empty() {
        Vec::new()
    } else {
        outcome.kept_at.iter().map(|&i| markup.get(i).copied().unwrap_or_default()).collect()
    };
    (sub_flags, sub_markup)
}

/// The score of every block `outcome` kept (0 for one not scored: long,
/// prose, a sentence) and whether a guard protects it.
pub(crate) fn kept_scores(
    model: &Model,
    outcome: &Outcome,
    flags: &[ParaFlags],
    markup: &[BlockMarkup],
) -> Vec<(f32, bool)> {
    let (sub_flags, sub_markup) = of_kept(outcome, flags, markup);
    let s = scores(model, &outcome.kept, &sub_flags, &sub_markup);
    s.into_iter().enumerate().map(|(k, s)| (s, protected(&outcome.kept, &sub_flags, k).is_some())).collect()
}

/// The blocks (indexes into `paragraphs`, in order) that go this round.
fn removals(
    threshold: f32,
    paragraphs: &[String],
    flags: &[ParaFlags],
    markup: &[BlockMarkup],
    scores: &[f32],
) -> Vec<usize> {
    let path = |k: usize| markup.get(k).map(BlockMarkup::path);
    // Runs of blocks built alike: (start, end, mean score, free of guards).
    let mut runs: Vec<(usize, usize, f32, bool)> = Vec::new();
    let mut k = 0;
    while k < paragraphs.len() {
        let mut end = k + 1;
        if path(k).is_some() {
            while end < paragraphs.len() && path(end) == path(k) {
                end += 1;
            }
        } else if markup.is_empty() && is_list_line(&paragraphs[k]) {
            // A text item's lists have no tags: a run of list lines (a
            // label and its items, a list of headlines) is one.
            while end < paragraphs.len() && is_list_line(&paragraphs[end]) {
                end += 1;
            }
        }
        let mean = scores[k..end].iter().sum::<f32>() / (end - k) as f32;
        runs.push((k, end, mean, (k..end).all(|j| protected(paragraphs, flags, j).is_none())));
        k = end;
    }
    let mut gone = vec![false; runs.len()];
    for (r, &(_, _, mean, free)) in runs.iter().enumerate() {
        gone[r] = free && mean >= threshold;
    }
    // From each edge, runs go from the lower edge score on, up to the first
    // that does not.
    let edge = threshold.min(EDGE_SCORE);
    // A short item has no edges: what is left of it is the text.
    // The lower bar takes no sentence: furniture is labels, not sentences.
    let goes = |r: usize| {
        let (start, end, mean, free) = runs[r];
        paragraphs.len() >= EDGE_MIN_BLOCKS
            && free
            && mean >= edge
            && (mean >= threshold || !paragraphs[start..end].iter().any(|p| is_short_sentence(p)))
            && (mean >= threshold || !markup.is_empty() || end - start > 1 || has_interface_word(&paragraphs[start]))
    };
    let mut r = 0;
    while r < runs.len() && goes(r) {
        gone[r] = true;
        r += 1;
    }
    let mut r = runs.len();
    while r > 0 && goes(r - 1) {
        gone[r - 1] = true;
        r -= 1;
    }
    let mut out: Vec<usize> = Vec::new();
    for (r, &(start, end, _, _)) in runs.iter().enumerate() {
        if gone[r] {
            out.extend(start..end);
        }
    }
    let kept_bytes: usize = paragraphs.iter().map(String::len).sum();
    let taken: usize = out.iter().map(|&k| paragraphs[k].len()).sum();
    if taken as f64 > kept_bytes as f64 * MAX_SHARE || out.len() >= paragraphs.len() {
        // Too much of the item looks like furniture: a list, a poem, an
        // index page. Keep it all rather than guess.
        out.clear();
    }
    out
}
