//! The labelled boilerplate corpus (a copy of shared/corpus/boilerplate),
//! scored the way `score-cleaner` scores it: article recall, precision and
//! exact cases. The suite fails below the quality bar.

use std::collections::HashMap;
use std::path::Path;

use newswire_cleaner::{Input, clean};

/// Paragraphs as the scorer sees them: lines, whitespace collapsed, blank
/// lines dropped.
fn paragraphs(text: &str) -> Vec<String> {
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect()
}

fn overlap(a: &[String], b: &[String]) -> usize {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for p in a {
        *counts.entry(p).or_default() += 1;
    }
    let mut hit = 0;
    for p in b {
        if let Some(c) = counts.get_mut(p.as_str())
            && *c > 0
        {
            *c -= 1;
            hit += 1;
        }
    }
    hit
}

#[test]
fn corpus_meets_the_quality_bar() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("corpus folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".expected.txt").map(str::to_string))
        .collect();
    names.sort();
    assert_eq!(names.len(), 36, "corpus cases");
    let (mut expected_total, mut output_total, mut hits, mut exact) = (0, 0, 0, 0);
    let mut report = Vec::new();
    for name in &names {
        let expected =
            paragraphs(&std::fs::read_to_string(dir.join(format!("{name}.expected.txt"))).expect("expected"));
        let html = dir.join(format!("{name}.input.html"));
        let output = if html.exists() {
            clean(Input::Html(&std::fs::read_to_string(&html).expect("input"))).paragraphs
        } else {
            clean(Input::Text(&std::fs::read_to_string(dir.join(format!("{name}.input.txt"))).expect("input")))
                .paragraphs
        };
        let output = paragraphs(&output.join("\n"));
        let hit = overlap(&expected, &output);
        expected_total += expected.len();
        output_total += output.len();
        hits += hit;
        if output == expected {
            exact += 1;
        } else {
            report.push(format!("{name}:"));
            for p in expected.iter().filter(|p| !output.contains(p)) {
                report.push(format!("  lost:   {p}"));
            }
            for p in output.iter().filter(|p| !expected.contains(p)) {
                report.push(format!("  leaked: {p}"));
            }
        }
    }
    let recall = hits as f64 / expected_total as f64;
    let precision = hits as f64 / output_total as f64;
    let summary = format!("recall {recall:.4} precision {precision:.4} exact {exact}/{}", names.len());
    println!("{summary}\n{}", report.join("\n"));
    assert!(recall >= 0.995 && precision >= 0.98 && exact >= 34, "below the bar: {summary}\n{}", report.join("\n"));
}
