//! The extractor on a sample of real pages: every tenth page of the
//! extraction corpus (`../shared/corpus/extraction`, Dragnet, Readability and
//! CleanEval pages with their gold text; AGPL and research data, so read
//! from ../shared, never copied into the repository), scored with the Article
//! Extraction Benchmark's metric as `score-extractor` scores it. The test
//! says it skipped when the corpus (or `tar` with xz) is absent.
//!
//! The whole corpus, side by side with trafilatura, is
//! `benches/peers/extraction.sh` (docs/extraction.md, "Quality").

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use newswire_cleaner::{Cleaner, extract};

/// The sample's F1 must stay above this (it measured 0.945 when set).
const MIN_F1: f64 = 0.93;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/extraction")
}

/// The corpus's pages, unpacked once under the target directory.
fn pages(archive: &Path) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("extraction-corpus");
    let done = dir.join(".complete");
    if !done.exists() {
        std::fs::create_dir_all(&dir).ok()?;
        let status = Command::new("tar").arg("-xJf").arg(archive).arg("-C").arg(&dir).status().ok()?;
        if !status.success() {
            return None;
        }
        std::fs::write(&done, "").ok()?;
    }
    Some(dir.join("pages"))
}

/// The benchmark's tokens: runs of word characters, case kept.
fn tokens(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|t| !t.is_empty()).collect()
}

/// Bag of 4-token shingles (a text of 1 to 3 tokens is one shorter one).
fn shingles(text: &str) -> HashMap<Vec<&str>, usize> {
    let t = tokens(text);
    let mut bag = HashMap::new();
    if t.is_empty() {
        return bag;
    }
    if t.len() < 4 {
        bag.insert(t, 1);
        return bag;
    }
    for w in t.windows(4) {
        *bag.entry(w.to_vec()).or_insert(0) += 1;
    }
    bag
}

#[test]
fn a_sample_of_real_pages_scores_above_the_floor() {
    let dir = corpus();
    let (archive, truth) = (dir.join("pages.tar.xz"), dir.join("truth.json"));
    if !archive.exists() || !truth.exists() {
        eprintln!("skipped: no extraction corpus at {}", dir.display());
        return;
    }
    let Some(pages) = pages(&archive) else {
        eprintln!("skipped: could not unpack {} (tar with xz)", archive.display());
        return;
    };
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&truth).expect("readable truth.json"))
        .expect("truth.json is JSON");
    let truth = truth.as_object().expect("truth.json is an object");
    let mut ids: Vec<&String> = truth.keys().collect();
    ids.sort();
    let cleaner = Cleaner::default();
    let (mut precisions, mut recalls, mut empty, mut nearly_empty) = (Vec::new(), Vec::new(), 0, Vec::new());
    for id in ids.iter().step_by(10) {
        let gold = truth[id.as_str()]["articleBody"].as_str().unwrap_or_default();
        let Ok(bytes) = std::fs::read(pages.join(format!("{id}.html"))) else { continue };
        let article = extract(&String::from_utf8_lossy(&bytes), None, &cleaner, None);
        let text = article.paragraphs.join("\n");
        let (g, p) = (shingles(gold), shingles(&text));
        let tp: usize = p.iter().map(|(k, n)| (*n).min(g.get(k).copied().unwrap_or(0))).sum();
        let (np, ng): (usize, usize) = (p.values().sum(), g.values().sum());
        if np == 0 {
            empty += 1;
        } else {
            precisions.push(tp as f64 / np as f64);
        }
        recalls.push(if ng == 0 { 1.0 } else { tp as f64 / ng as f64 });
        if tokens(gold).len() >= 50 && tokens(&text).len() < 10 {
            nearly_empty.push(id.as_str());
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let (precision, recall) = (mean(&precisions), mean(&recalls));
    let f1 = 2.0 * precision * recall / (precision + recall);
    println!(
        "{} pages: precision {precision:.4} recall {recall:.4} F1 {f1:.4}; empty {empty}; under ten words {nearly_empty:?}",
        recalls.len()
    );
    assert!(recalls.len() >= 150, "only {} pages read", recalls.len());
    assert!(f1 >= MIN_F1, "F1 {f1:.4} fell below {MIN_F1}");
    assert!(nearly_empty.is_empty(), "pages with prose came out (almost) empty: {nearly_empty:?}");
}
