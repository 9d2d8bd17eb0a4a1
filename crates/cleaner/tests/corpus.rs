//! Labelled cases in the format of shared/corpus/boilerplate, scored the
//! way `score-cleaner` scores `newswire clean`: article recall (expected
//! paragraphs that came out), precision (output paragraphs that were
//! expected) and exact cases. The suite fails below each set's bar.
//!
//! - `tests/corpus/`: a copy of the shared corpus (36 cases).
//! - `tests/cases/safe/`: hard negatives (issue 18): prose and markup that
//!   look like boilerplate and must come out whole, with some real
//!   boilerplate around them.
//! - `tests/cases/classes/`: the wider classes of issue 19, with hard
//!   negatives.
//!
//! A paragraph's own lines (`<br>`, `<pre>`) are joined with a space, as
//! the one-paragraph-per-line output of `newswire clean` prints them.

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

/// Scores of one folder of cases.
struct Score {
    cases: usize,
    recall: f64,
    precision: f64,
    exact: usize,
    /// Lost and leaked paragraphs, per case that is not exact.
    report: Vec<String>,
}

impl Score {
    fn summary(&self) -> String {
        format!(
            "{} cases: recall {:.4} precision {:.4} exact {}/{}\n{}",
            self.cases,
            self.recall,
            self.precision,
            self.exact,
            self.cases,
            self.report.join("\n")
        )
    }
}

fn score(folder: &str) -> Score {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(folder);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("cases folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".expected.txt").map(str::to_string))
        .collect();
    names.sort();
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
        let lines: Vec<String> = output.iter().map(|p| p.replace('\n', " ")).collect();
        let output = paragraphs(&lines.join("\n"));
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
    Score {
        cases: names.len(),
        recall: hits as f64 / expected_total.max(1) as f64,
        precision: hits as f64 / output_total.max(1) as f64,
        exact,
        report,
    }
}

#[test]
fn shared_corpus_comes_out_exactly() {
    let s = score("tests/corpus");
    println!("{}", s.summary());
    assert_eq!(s.cases, 36, "corpus cases");
    assert!(s.exact == 36, "below the bar: {}", s.summary());
}

#[test]
fn hard_negatives_keep_every_article_paragraph() {
    let s = score("tests/cases/safe");
    println!("{}", s.summary());
    assert!(s.cases >= 40, "hard negatives: {} cases", s.cases);
    assert!(s.recall == 1.0 && s.precision >= 0.98, "below the bar: {}", s.summary());
}

/// The wider classes (issue 19): consent walls, comment counters and
/// calls, the publisher's promotion, origin notes, contributor lines,
/// share labels, sponsor notes, shortcodes, feed footers and embed residue
/// in six languages, and hard negatives (articles whose prose mentions
/// subscriptions, cookies, comments, sponsors or "first appeared").
#[test]
fn wider_classes_meet_the_bar() {
    let s = score("tests/cases/classes");
    println!("{}", s.summary());
    assert!(s.cases >= 60, "class cases: {}", s.cases);
    assert!(s.recall >= 0.995 && s.precision >= 0.99, "below the bar: {}", s.summary());
}

/// Site furniture of kinds no rule names (issue 26): breadcrumbs, reading
/// times, "most read" and login rows, pagers, menus, tool rows, in six
/// languages, with hard negatives (ingredient lists, results, timetables,
/// subheads, a poem). Written before the block classifier existed and
/// never trained on; rules alone scored recall 1.000 precision 0.662
/// exact 12/42, the classifier at 0.90 0.701 12/42, with the lower bar at
/// the item's edges 0.775 15/42; features v4 (interface words, the label a
/// list hangs from), items made of a page's edges in training and text
/// lists scored as runs 0.919 30/42. The classifier must keep every
/// article paragraph.
#[test]
fn unseen_furniture_goes_without_losing_article_text() {
    let s = score("tests/cases/furniture");
    println!("{}", s.summary());
    assert_eq!(s.cases, 42, "furniture cases");
    assert!(s.recall == 1.0 && s.precision >= 0.91, "below the bar: {}", s.summary());
}
