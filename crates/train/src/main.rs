//! `newswire-train`: builds the block classifier's dataset, trains it, and
//! writes the cleaner's model file (docs/cleaner.md, "Block classifier").
//!
//!     cargo run --release -p newswire-train -- [--shared DIR] [--out FILE]
//!         [--seed N] [--epochs N] [--threshold T] [--dry-run]
//!
//! Reads `DIR/corpus/extraction` (pages and gold; unpacked once into the
//! system's temporary directory, never into the repository),
//! `DIR/corpus/boilerplate/cases` and the cleaner's own case sets
//! (`crates/cleaner/tests/cases/{safe,classes}`); splits by site with a
//! fixed seed (one site in five held out); trains on the rest; prints the
//! validation figures (per set and language, and the curve over
//! thresholds); writes nothing but the model file (`--dry-run`: not even
//! that). The furniture cases (`tests/cases/furniture`) are never trained
//! on: they are reported apart, as unseen furniture.

mod data;
mod fit;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use newswire_cleaner::classifier::Model;

use crate::data::{Dataset, held_out};
use crate::fit::{Settings, train};

/// One site in this many is held out for validation.
const FOLDS: u64 = 5;

struct Args {
    shared: PathBuf,
    out: PathBuf,
    seed: u64,
    epochs: usize,
    threshold: Option<f32>,
    dry_run: bool,
    /// Where to list the held-out pages (for scoring the extractor on them).
    held_out_list: Option<PathBuf>,
}

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        shared: here().join("../../../shared"),
        out: here().join("../cleaner/model/blocks.bin"),
        seed: 26,
        epochs: 6,
        threshold: None,
        dry_run: false,
        held_out_list: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--shared" => args.shared = PathBuf::from(value("--shared")?),
            "--out" => args.out = PathBuf::from(value("--out")?),
            "--seed" => args.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--epochs" => args.epochs = value("--epochs")?.parse().map_err(|e| format!("--epochs: {e}"))?,
            "--threshold" => {
                args.threshold = Some(value("--threshold")?.parse().map_err(|e| format!("--threshold: {e}"))?);
            }
            "--dry-run" => args.dry_run = true,
            "--held-out-list" => args.held_out_list = Some(PathBuf::from(value("--held-out-list")?)),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn run(args: &Args) -> anyhow::Result<()> {
    let mut ds = Dataset::default();
    let scratch = std::env::temp_dir().join("newswire-train-pages");
    let pages = ds.add_pages(&args.shared.join("corpus/extraction"), &scratch)?;
    let cases = here().join("../cleaner/tests/cases");
    let mut n_cases = ds.add_cases(&args.shared.join("corpus/boilerplate/cases"), "shared-cases")?;
    n_cases += ds.add_cases(&cases.join("safe"), "safe")?;
    n_cases += ds.add_cases(&cases.join("classes"), "classes")?;
    let unseen = ds.add_cases(&cases.join("furniture"), "furniture")?;
    eprintln!(
        "newswire-train: {pages} pages, {n_cases} cases, {unseen} unseen-furniture cases: {} blocks ({} ambiguous left out)",
        ds.examples.len(),
        ds.ambiguous
    );
    let split = |r: &usize| {
        let g = &ds.groups[ds.examples[*r].group as usize];
        (g.set != "furniture", held_out(&g.site, args.seed, FOLDS))
    };
    let rows: Vec<usize> = (0..ds.examples.len()).collect();
    let training: Vec<usize> = rows.iter().copied().filter(|r| split(r) == (true, false)).collect();
    let validation: Vec<usize> = rows.iter().copied().filter(|r| split(r) == (true, true)).collect();
    let furniture: Vec<usize> = rows.iter().copied().filter(|r| !split(r).0).collect();
    eprintln!(
        "newswire-train: training {} blocks, validation {} blocks (held-out sites), unseen furniture {} blocks",
        training.len(),
        validation.len(),
        furniture.len()
    );
    let settings = Settings {
        epochs: args.epochs,
        rate: 0.05,
        l2_dense: 1e-6,
        l2_hashed: 1e-5,
        content_weight: 2.0,
        seed: args.seed,
    };
    let weights = train(&ds.examples, &training, &settings);
    let provisional = Model::new(weights.clone(), 0.5).context("weights of the wrong dimension")?;
    // The threshold is chosen on the held-out pages and their crops around
    // the article (the sets it was first chosen on); the items made of a
    // page's edges are reported beside them.
    let choosing: Vec<usize> = validation
        .iter()
        .copied()
        .filter(|&r| !ds.groups[ds.examples[r].group as usize].set.contains("/edges"))
        .collect();
    let threshold = args.threshold.unwrap_or_else(|| report::choose(&provisional, &ds, &choosing));
    let model = Model::new(weights, threshold).context("weights of the wrong dimension")?;
    report::print(&model, &ds, &validation, &furniture);
    report::peel_figures(&model, &ds, &validation);
    report::prefilter_figures(&model, &ds, &validation, "held-out sites");
    report::prefilter_figures(&model, &ds, &furniture, "unseen furniture cases");
    if let Some(path) = &args.held_out_list {
        let mut names: Vec<&str> = ds
            .groups
            .iter()
            .filter(|g| !g.set.contains('/') && g.set != "furniture" && held_out(&g.site, args.seed, FOLDS))
            .map(|g| g.name.as_str())
            .collect();
        names.dedup();
        std::fs::write(path, names.join("\n") + "\n").with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !args.dry_run {
        std::fs::write(&args.out, model.to_bytes()).with_context(|| format!("cannot write {}", args.out.display()))?;
        eprintln!("newswire-train: wrote {} (threshold {threshold:.2})", args.out.display());
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("newswire-train: {e}");
            }
            eprintln!(
                "usage: newswire-train [--shared DIR] [--out FILE] [--seed N] [--epochs N] [--threshold T] [--dry-run] [--held-out-list FILE]"
            );
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("newswire-train: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use newswire_cleaner::Input;
    use newswire_cleaner::classifier::{Blocks, DENSE, DIMENSION, FEATURE_VERSION, HASH_BUCKETS, Model};

    /// The dataset builder's vectors and the shipped weights agree: the
    /// model loads (same feature version and dimension as this build's
    /// features) and every vector the builder makes fits it. Changing the
    /// features without retraining fails here.
    #[test]
    fn the_builders_features_fit_the_shipped_weights() {
        let model = Model::shipped().expect("the shipped model reads with this build's features");
        assert_eq!(model.weights().len(), DIMENSION, "features version {FEATURE_VERSION}");
        let page = "<nav><ul class=\"menu\"><li><a href=\"/\">Home</a></li><li><a href=\"/n\">News</a></li></ul></nav>\
                    <article><h1>Bridge reopens</h1><p>The bridge reopened on Tuesday after a year of repairs, the council said.</p></article>";
        let blocks = Blocks::of(Input::Html(page));
        let n = blocks.paragraphs.len();
        assert!(n >= 3, "{:?}", blocks.paragraphs);
        for markup in [true, false] {
            let vectors = blocks.vectors(0..n, markup);
            assert_eq!(vectors.len(), n);
            for v in &vectors {
                assert_eq!(DENSE + HASH_BUCKETS, DIMENSION);
                assert!(v.hashed.iter().all(|&h| usize::from(h) < HASH_BUCKETS));
                let s = model.score(v);
                assert!((0.0..=1.0).contains(&s), "{s}");
            }
        }
    }
}
