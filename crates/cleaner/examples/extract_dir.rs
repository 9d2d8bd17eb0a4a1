//! `extract_dir IN_DIR OUT_DIR`: extract the article of every `*.html` page
//! in IN_DIR into `OUT_DIR/<stem>.txt`, one paragraph per line, in one
//! process: the development loop over a corpus of pages
//! (docs/extraction.md, "Quality"). Pages are read as `newswire extract`
//! reads a file. Prints the number of pages, the time taken and how many
//! articles fell back to other text (`Article::fallback`).

use std::process::ExitCode;
use std::time::Instant;

use newswire_cleaner::{Cleaner, extract};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: extract_dir IN_DIR OUT_DIR");
        return ExitCode::from(2);
    };
    let entries = match std::fs::read_dir(input) {
        Ok(entries) => entries,
        Err(err) => {
            eprintln!("extract_dir: cannot read {input}: {err}");
            return ExitCode::from(1);
        }
    };
    if let Err(err) = std::fs::create_dir_all(output) {
        eprintln!("extract_dir: cannot create {output}: {err}");
        return ExitCode::from(1);
    }
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    paths.sort();
    let cleaner = Cleaner::default();
    let started = Instant::now();
    let mut bytes = 0usize;
    let mut fallbacks = std::collections::BTreeMap::new();
    for path in &paths {
        let Ok(raw) = std::fs::read(path) else {
            eprintln!("extract_dir: cannot read {}", path.display());
            continue;
        };
        bytes += raw.len();
        let html = String::from_utf8_lossy(&raw);
        let article = extract(&html, None, &cleaner, None);
        if let Some(kind) = article.fallback {
            *fallbacks.entry(kind.as_str()).or_insert(0) += 1;
        }
        let mut text = article.paragraphs.join("\n");
        text.push('\n');
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let target = std::path::Path::new(output).join(format!("{stem}.txt"));
        if let Err(err) = std::fs::write(&target, text) {
            eprintln!("extract_dir: cannot write {}: {err}", target.display());
            return ExitCode::from(1);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("{} pages, {:.1} MB in {secs:.2} s; fallbacks {fallbacks:?}", paths.len(), bytes as f64 / 1e6);
    ExitCode::SUCCESS
}
