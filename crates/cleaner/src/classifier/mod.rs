//! The block classifier: how likely a block (a paragraph of an item or a
//! page) is site furniture, from its shape rather than its words.
//!
//! A logistic regression over [`features::vectors`], trained offline by
//! `newswire-train` (crates/train; docs/cleaner.md, "Block classifier") on
//! the extraction corpus and the boilerplate cases, shipped as a versioned
//! data file (`model/blocks.bin`) embedded in the crate. Evaluating it is a
//! dot product per block: pure and synchronous.
//!
//! The cleaner runs it after the rules, on what they kept, and removes a
//! block only above a conservative threshold and never one a guard
//! protects (see [`crate::engine`] and docs/cleaner.md). The extractor
//! reads the same scores to trim the article container's edges, and the
//! scores of every block of the page to choose that container.

pub(crate) mod apply;
pub mod features;

use std::sync::LazyLock;

pub use features::{
    BlockMarkup, DENSE, DENSE_NAMES, DIMENSION, FEATURE_VERSION, HASH_BUCKETS, Vector, feature_name, vectors,
};

use crate::Input;
use crate::engine::RuleSet;
use crate::html::{self, MarkupSwitches, ParaFlags};
use crate::normalize::normalize_paragraph;

/// The model file's magic bytes.
const MAGIC: &[u8; 8] = b"NWBLOCKS";
/// The layout of the model file (not of the features: [`FEATURE_VERSION`]).
const FORMAT: u32 = 1;
/// Header: magic, format, feature version, dimension, threshold.
const HEADER: usize = 8 + 4 + 4 + 4 + 4;

/// The shipped model file.
static SHIPPED_BYTES: &[u8] = include_bytes!("../../model/blocks.bin");

/// A model file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Not a model file (wrong magic or too short).
    #[error("not a block-classifier model file")]
    NotAModel,
    /// A layout this build does not read.
    #[error("model file format {0}, this build reads {FORMAT}")]
    Format(u32),
    /// Trained on other features than this build computes.
    #[error(
        "model trained on features version {found} with {dimension} dimensions; this build computes version {FEATURE_VERSION} with {DIMENSION}"
    )]
    Features {
        /// The model's feature version.
        found: u32,
        /// The model's dimension.
        dimension: u32,
    },
    /// The weights are cut short.
    #[error("model file holds {found} bytes of weights, {expected} expected")]
    Truncated {
        /// Bytes found.
        found: usize,
        /// Bytes expected.
        expected: usize,
    },
}

/// A trained model: one weight per feature (the first, `bias`, is the
/// intercept) and the threshold chosen on validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    weights: Vec<f32>,
    threshold: f32,
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

impl Model {
    /// A model from weights (length [`DIMENSION`]) and its threshold.
    pub fn new(weights: Vec<f32>, threshold: f32) -> Option<Model> {
        (weights.len() == DIMENSION).then_some(Model { weights, threshold })
    }

    /// Read a model file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, ModelError> {
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return Err(ModelError::NotAModel);
        }
        let format = u32_at(bytes, 8);
        if format != FORMAT {
            return Err(ModelError::Format(format));
        }
        let (version, dimension) = (u32_at(bytes, 12), u32_at(bytes, 16));
        if version != FEATURE_VERSION || dimension as usize != DIMENSION {
            return Err(ModelError::Features { found: version, dimension });
        }
        let threshold = f32::from_bits(u32_at(bytes, 20));
        let body = &bytes[HEADER..];
        if body.len() != DIMENSION * 4 {
            return Err(ModelError::Truncated { found: body.len(), expected: DIMENSION * 4 });
        }
        let weights = body.chunks_exact(4).map(|c| f32::from_bits(u32_at(c, 0))).collect();
        Ok(Model { weights, threshold })
    }

    /// The model file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.weights.len() * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&FEATURE_VERSION.to_le_bytes());
        out.extend_from_slice(&u32::try_from(DIMENSION).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&self.threshold.to_bits().to_le_bytes());
        for w in &self.weights {
            out.extend_from_slice(&w.to_bits().to_le_bytes());
        }
        out
    }

    /// The model shipped in this build, when its file matches this build's
    /// features (a unit test makes sure it does).
    pub fn shipped() -> Option<&'static Model> {
        static SHIPPED: LazyLock<Option<Model>> = LazyLock::new(|| Model::from_bytes(SHIPPED_BYTES).ok());
        SHIPPED.as_ref()
    }

    /// The threshold chosen when it was trained (docs/cleaner.md).
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The weights, indexed like the features.
    pub fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// The raw score (log-odds of furniture).
    pub fn logit(&self, v: &Vector) -> f32 {
        let mut z: f32 = v.dense.iter().zip(&self.weights).map(|(x, w)| x * w).sum();
        for &h in &v.hashed {
            z += self.weights.get(DENSE + usize::from(h)).copied().unwrap_or(0.0);
        }
        z
    }

    /// The probability that the block is furniture.
    pub fn score(&self, v: &Vector) -> f32 {
        1.0 / (1.0 + (-self.logit(v)).exp())
    }

    /// The `n` features that pushed the score furthest, either way, as
    /// (feature index, contribution to the log-odds).
    pub fn strongest(&self, v: &Vector, n: usize) -> Vec<(usize, f32)> {
        let mut all: Vec<(usize, f32)> =
            v.dense.iter().enumerate().map(|(i, x)| (i, x * self.weights[i])).filter(|(_, c)| *c != 0.0).collect();
        for &h in &v.hashed {
            let i = DENSE + usize::from(h);
            all.push((i, self.weights[i]));
        }
        all.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        all.truncate(n);
        all
    }
}

/// The blocks of an input as the classifier sees them: what the built-in
/// rules kept. The training tool reads pages and cases through this.
pub struct Blocks {
    /// The paragraphs, as the cleaner makes them.
    pub paragraphs: Vec<String>,
    flags: Vec<ParaFlags>,
    markup: Vec<BlockMarkup>,
}

impl Blocks {
    /// The blocks of an input.
    pub fn of(input: Input<'_>) -> Blocks {
        let (paragraphs, flags, markup) = match input {
            Input::Html(h) => {
                let x = html::to_paragraphs(h, MarkupSwitches::default());
                (x.paragraphs, x.flags, x.markup)
            }
            Input::Text(t) => {
                (t.lines().map(normalize_paragraph).filter(|p| !p.is_empty()).collect(), Vec::new(), Vec::new())
            }
        };
        let outcome = RuleSet { disabled: &[], custom: &[] }.apply(paragraphs, &flags);
        let pick = |i: &usize| flags.get(*i).copied().unwrap_or_default();
        Blocks {
            flags: outcome.kept_at.iter().map(pick).collect(),
            markup: if markup.is_empty() {
                Vec::new()
            } else {
                outcome.kept_at.iter().map(|&i| markup.get(i).copied().unwrap_or_default()).collect()
            },
            paragraphs: outcome.kept,
        }
    }

    /// Feature vectors of the blocks in `range` taken as an item of their
    /// own (positions and neighbours counted within it); with `markup`
    /// false, as the lines of a text item.
    pub fn vectors(&self, range: std::ops::Range<usize>, markup: bool) -> Vec<Vector> {
        let paragraphs = &self.paragraphs[range.clone()];
        if markup && !self.markup.is_empty() {
            html_vectors(paragraphs, &self.flags[range.clone()], &self.markup[range], false)
        } else {
            vectors(paragraphs, &[])
        }
    }
}

impl Blocks {
    /// Feature vectors of the blocks at `at` (indexes in order) taken as
    /// an item of their own, as [`Blocks::vectors`] does for a range: the
    /// training tool's items made of a page's edges around its article.
    pub fn vectors_at(&self, at: &[usize], markup: bool) -> Vec<Vector> {
        let paragraphs: Vec<String> = at.iter().map(|&i| self.paragraphs[i].clone()).collect();
        if markup && !self.markup.is_empty() {
            let flags: Vec<ParaFlags> = at.iter().map(|&i| self.flags[i]).collect();
            let markup: Vec<BlockMarkup> = at.iter().map(|&i| self.markup[i]).collect();
            html_vectors(&paragraphs, &flags, &markup, false)
        } else {
            vectors(&paragraphs, &[])
        }
    }
}

/// Vectors of HTML paragraphs, with the flags the walk set.
/// `skip`: see [`features::vectors_of`].
pub(crate) fn html_vectors(
    paragraphs: &[String],
    flags: &[ParaFlags],
    markup: &[BlockMarkup],
    skip: bool,
) -> Vec<Vector> {
    let mut v = features::vectors_of(paragraphs, markup, skip);
    for (x, f) in v.iter_mut().zip(flags) {
        features::set_flags(x, flag_features(*f));
    }
    v
}

/// The flags of a block as features: heading, table cell, quotation,
/// `<pre>` (see [`features::set_flags`]).
fn flag_features(f: ParaFlags) -> [bool; 4] {
    [f.has(ParaFlags::HEADING), f.has(ParaFlags::CELL), f.has(ParaFlags::QUOTE), f.has(ParaFlags::PRE)]
}

/// The score of every block, as [`Model::score`] of its vector (HTML
/// paragraphs with their flags when `markup` is not empty, else the lines
/// of a text item), without building the vectors; a block the classifier
/// may not remove anyway (long, or prose: [`features::vectors_of`]) is not
/// scored and gets 0.
pub(crate) fn scores(model: &Model, paragraphs: &[String], flags: &[ParaFlags], markup: &[BlockMarkup]) -> Vec<f32> {
    scores_of(model, paragraphs, flags, markup, true)
}

/// [`scores`], with `skip` false every block scored, prose too: the
/// extractor weighs a page's paragraphs by their chance of being article
/// text.
pub(crate) fn scores_of(
    model: &Model,
    paragraphs: &[String],
    flags: &[ParaFlags],
    markup: &[BlockMarkup],
    skip: bool,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(paragraphs.len());
    features::visit(paragraphs, markup, skip, |i, f| {
        let flag = (!markup.is_empty()).then(|| flags.get(i).copied().unwrap_or_default());
        out.push(f.map_or(0.0, |f| score_of(model, f, flag)));
    });
    out
}

/// [`Model::score`] of a block's features, without building its vector:
/// `flag`, the walk's flags of an HTML paragraph (None for a line of
/// text).
pub(crate) fn score_of(model: &Model, f: &features::Features<'_>, flag: Option<ParaFlags>) -> f32 {
    let w = model.weights();
    let half = if f.from_markup { 0 } else { features::SHAPE };
    let mut z: f32 = f.shape.iter().zip(&w[half..half + features::SHAPE]).map(|(x, w)| x * w).sum();
    if let Some(flag) = flag {
        let set = flag_features(flag);
        z += set.iter().zip(&w[features::FLAGS..]).filter(|(on, _)| **on).map(|(_, w)| w).sum::<f32>();
    }
    z += f.hashed.iter().map(|&h| w[DENSE + usize::from(h)]).sum::<f32>();
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped weights were trained on the features this build
    /// computes: same version, same dimension. Change the features, bump
    /// FEATURE_VERSION and retrain (docs/cleaner.md).
    #[test]
    fn shipped_model_matches_the_features() {
        let m = Model::from_bytes(SHIPPED_BYTES).expect("the shipped model reads with this build's features");
        assert_eq!(m.weights().len(), DIMENSION);
        assert!(m.threshold() > 0.5 && m.threshold() < 1.0, "threshold {}", m.threshold());
        assert!(SHIPPED_BYTES.len() <= 2 * 1024 * 1024, "model over 2 MB");
        assert_eq!(Model::from_bytes(&m.to_bytes()), Ok(m));
    }

    /// The cleaner's scores (no vectors built, long and prose blocks not
    /// scored) are the shipped model's scores of the vectors the training
    /// tool reads, on every block it scores.
    #[test]
    fn runtime_scores_are_the_scores_of_the_vectors() {
        let model = Model::shipped().expect("shipped model");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
        let mut inputs = Vec::new();
        for set in ["furniture", "safe", "classes"] {
            for entry in std::fs::read_dir(dir.join(set)).expect("cases") {
                let path = entry.expect("entry").path();
                let name = path.to_string_lossy().to_string();
                let text = std::fs::read_to_string(&path).expect("case");
                if name.ends_with(".input.html") {
                    inputs.push((name, text, true));
                } else if name.ends_with(".input.txt") {
                    inputs.push((name, text, false));
                }
            }
        }
        assert!(inputs.len() > 100, "{} inputs", inputs.len());
        let (mut scored, mut skipped) = (0, 0);
        for (name, text, is_html) in &inputs {
            let input = if *is_html { Input::Html(text) } else { Input::Text(text) };
            let blocks = Blocks::of(input);
            let n = blocks.paragraphs.len();
            let vectors = blocks.vectors(0..n, true);
            let fast = scores(model, &blocks.paragraphs, &blocks.flags, &blocks.markup);
            assert_eq!(fast.len(), n, "{name}");
            // Unskipped, every block's score is its vector's.
            let every = scores_of(model, &blocks.paragraphs, &blocks.flags, &blocks.markup, false);
            for (i, (v, s)) in vectors.iter().zip(&every).enumerate() {
                assert!((model.score(v) - s).abs() < 1e-5, "{name} block {i} unskipped");
            }
            for (i, (v, s)) in vectors.iter().zip(&fast).enumerate() {
                let p = &blocks.paragraphs[i];
                let words = p.split_whitespace().count();
                if features::beyond_furniture(p, words) {
                    assert_eq!(*s, 0.0, "{name} block {i} not scored");
                    skipped += 1;
                } else {
                    let slow = model.score(v);
                    assert!((slow - s).abs() < 1e-5, "{name} block {i}: {slow} vs {s}: {p}");
                    scored += 1;
                }
            }
        }
        assert!(scored > 500 && skipped > 10, "{scored} scored, {skipped} skipped");
    }

    #[test]
    fn other_features_are_refused_naming_both_versions() {
        let m = Model::new(vec![0.0; DIMENSION], 0.9).expect("dimension");
        let mut bytes = m.to_bytes();
        bytes[12..16].copy_from_slice(&(FEATURE_VERSION + 1).to_le_bytes());
        let err = Model::from_bytes(&bytes).expect_err("other version");
        assert!(err.to_string().contains(&format!("version {}", FEATURE_VERSION + 1)), "{err}");
        assert_eq!(Model::from_bytes(b"nonsense"), Err(ModelError::NotAModel));
        let short = &m.to_bytes()[..100];
        assert!(matches!(Model::from_bytes(short), Err(ModelError::Truncated { .. })));
    }
}
