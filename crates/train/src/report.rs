//! Validation figures: block-level precision and recall of furniture on
//! held-out sites, per set and language, and the curve over thresholds.

use std::collections::BTreeMap;

use newswire_cleaner::classifier::Model;

use crate::data::Dataset;

/// Thresholds of the curve.
const GRID: [f32; 12] = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.96, 0.97, 0.98, 0.99];

/// Furniture precision the chosen threshold must reach on validation:
/// the share of flagged blocks that really are furniture.
const MIN_PRECISION: f64 = 0.985;

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fneg: usize,
    content: usize,
}

impl Counts {
    fn add(&mut self, furniture: bool, flagged: bool) {
        match (furniture, flagged) {
            (true, true) => self.tp += 1,
            (false, true) => self.fp += 1,
            (true, false) => self.fneg += 1,
            (false, false) => {}
        }
        if !furniture {
            self.content += 1;
        }
    }

    fn precision(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fp).max(1) as f64
    }

    fn recall(&self) -> f64 {
        self.tp as f64 / (self.tp + self.fneg).max(1) as f64
    }

    /// Content blocks flagged, as a share of content blocks.
    fn content_lost(&self) -> f64 {
        self.fp as f64 / self.content.max(1) as f64
    }
}

fn scores(model: &Model, ds: &Dataset, rows: &[usize]) -> Vec<(usize, f32)> {
    rows.iter().map(|&r| (r, model.score(&ds.examples[r].vector))).collect()
}

fn count(ds: &Dataset, scored: &[(usize, f32)], t: f32) -> Counts {
    let mut c = Counts::default();
    for &(r, s) in scored {
        c.add(ds.examples[r].furniture, s >= t);
    }
    c
}

/// The lowest threshold of the grid whose validation precision reaches
/// [`MIN_PRECISION`] (the highest when none does).
pub fn choose(model: &Model, ds: &Dataset, validation: &[usize]) -> f32 {
    let scored = scores(model, ds, validation);
    GRID.iter().copied().find(|&t| count(ds, &scored, t).precision() >= MIN_PRECISION).unwrap_or(GRID[GRID.len() - 1])
}

/// Print the curve, the per-set and per-language figures at the model's
/// threshold, and the unseen furniture cases' figures.
pub fn print(model: &Model, ds: &Dataset, validation: &[usize], furniture: &[usize]) {
    let scored = scores(model, ds, validation);
    let unseen = scores(model, ds, furniture);
    println!("Validation on held-out sites: furniture blocks, block level");
    println!();
    println!("| threshold | precision | recall | content blocks flagged | unseen furniture P | R |");
    println!("|---|---|---|---|---|---|");
    for t in GRID {
        let c = count(ds, &scored, t);
        let u = count(ds, &unseen, t);
        let mark = if (t - model.threshold()).abs() < 1e-6 { " (chosen)" } else { "" };
        println!(
            "| {t:.2}{mark} | {:.4} | {:.4} | {:.2}% | {:.4} | {:.4} |",
            c.precision(),
            c.recall(),
            100.0 * c.content_lost(),
            u.precision(),
            u.recall()
        );
    }
    println!();
    println!("At the chosen threshold {:.2}:", model.threshold());
    println!();
    println!("| set | language | blocks | furniture | precision | recall |");
    println!("|---|---|---|---|---|---|");
    let mut by: BTreeMap<(String, String), (usize, usize, Counts)> = BTreeMap::new();
    for &(r, s) in scored.iter().chain(&unseen) {
        let ex = &ds.examples[r];
        let g = &ds.groups[ex.group as usize];
        let lang = if ["en", "fr", "es", "de", "pt", "it"].contains(&g.lang.as_str()) {
            g.lang.clone()
        } else {
            "other".into()
        };
        for key in [(g.set.clone(), lang.clone()), (g.set.clone(), "all".into())] {
            let e = by.entry(key).or_default();
            e.0 += 1;
            e.1 += usize::from(ex.furniture);
            e.2.add(ex.furniture, s >= model.threshold());
        }
    }
    for ((set, lang), (n, f, c)) in by {
        println!("| {set} | {lang} | {n} | {f} | {:.4} | {:.4} |", c.precision(), c.recall());
    }
}

/// A block's word count, whether it ends a sentence, and whether the
/// runtime's other guards of length (over 400 characters: over 400
/// bytes) and prose (25 words, two sentence ends) already keep it, read
/// back from its vector.
fn words_and_end(v: &newswire_cleaner::classifier::Vector) -> (usize, bool, bool) {
    let half = newswire_cleaner::classifier::DENSE / 2;
    let at = |name: &str| newswire_cleaner::classifier::DENSE_NAMES.iter().position(|n| *n == name).unwrap_or(0);
    let base = if v.dense[0] > 0.0 { 0 } else { half };
    let words = (v.dense[base + at("words (log)")].exp() - 1.0).round() as usize;
    let chars = (v.dense[base + at("chars (log)")].exp() - 1.0).round() as usize;
    let ends = (v.dense[base + at("sentence ends per word")] * words as f32).round() as usize;
    let guarded = chars > 400 || (words >= 25 && ends >= 2);
    (words, v.dense[base + at("ends a sentence")] > 0.0, guarded)
}

/// What the runtime's pre-filter (a block of N words or more that ends a
/// sentence is not scored) costs and saves at the model's threshold, on
/// `rows`: furniture blocks it keeps that the model flags, content blocks
/// it keeps that the model flags, for N around the chosen one.
pub fn prefilter_figures(model: &Model, ds: &Dataset, rows: &[usize], label: &str) {
    println!();
    println!(
        "Pre-filter on {label} at threshold {:.2}: N words + sentence end not scored (beyond the length and prose guards)",
        model.threshold()
    );
    println!();
    println!("| N | blocks skipped | flagged furniture kept (recall lost) | flagged content kept |");
    println!("|---|---|---|---|");
    let scored = scores(model, ds, rows);
    let all = count(ds, &scored, model.threshold());
    for n in [8usize, 12, 16, 20, 25, 30] {
        let (mut skipped, mut furniture, mut content) = (0, 0, 0);
        for &(r, s) in &scored {
            let ex = &ds.examples[r];
            let (words, ends, guarded) = words_and_end(&ex.vector);
            if words >= n && ends && !guarded {
                skipped += 1;
                if s >= model.threshold() {
                    if ex.furniture {
                        furniture += 1;
                    } else {
                        content += 1;
                    }
                }
            }
        }
        println!(
            "| {n} | {skipped} of {} | {furniture} of {} ({:.4}) | {content} of {} |",
            scored.len(),
            all.tp,
            furniture as f64 / (all.tp + all.fneg).max(1) as f64,
            all.fp
        );
    }
}

/// Whether a vector is a prose block (the `prose block` feature of either
/// half).
fn is_prose(v: &newswire_cleaner::classifier::Vector) -> bool {
    let half = newswire_cleaner::classifier::DENSE / 2;
    let at = newswire_cleaner::classifier::DENSE_NAMES.iter().position(|n| *n == "prose block").unwrap_or(0);
    v.dense[at] > 0.0 || v.dense[half + at] > 0.0
}

/// Block-level figures of threshold `t` plus peeling from the edges at
/// `peel` (consecutive non-prose blocks from an edge scoring at least
/// `peel`), on the item crops of `rows`.
pub fn peel_figures(model: &Model, ds: &Dataset, rows: &[usize]) {
    println!();
    println!("Edge peeling on held-out item and text crops (threshold, peel): precision recall content-flagged");
    let mut by_group: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &r in rows {
        let g = ds.examples[r].group;
        if ds.groups[g as usize].set.contains('/') {
            by_group.entry(g).or_default().push(r);
        }
    }
    for t in [0.8f32, 0.85, 0.9] {
        for peel in [1.1f32, 0.75, 0.6, 0.5, 0.4, 0.3] {
            let mut c = Counts::default();
            for rs in by_group.values() {
                let s: Vec<f32> = rs.iter().map(|&r| model.score(&ds.examples[r].vector)).collect();
                let mut flag: Vec<bool> = s.iter().map(|&x| x >= t).collect();
                let mut j = 0;
                while j < rs.len() && !is_prose(&ds.examples[rs[j]].vector) && (s[j] >= peel || flag[j]) {
                    flag[j] = true;
                    j += 1;
                }
                let mut j = rs.len();
                while j > 0 && !is_prose(&ds.examples[rs[j - 1]].vector) && (s[j - 1] >= peel || flag[j - 1]) {
                    flag[j - 1] = true;
                    j -= 1;
                }
                for (k, &r) in rs.iter().enumerate() {
                    c.add(ds.examples[r].furniture, flag[k]);
                }
            }
            println!(
                "  t {t:.2} peel {peel:.2}: P {:.4} R {:.4} content flagged {:.2}%",
                c.precision(),
                c.recall(),
                100.0 * c.content_lost()
            );
        }
    }
}
