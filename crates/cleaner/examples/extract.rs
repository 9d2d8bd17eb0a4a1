//! `extract [--json] [--url URL] [--threshold T | --no-classifier] FILE|-`:
//! print the article of one HTML page, one paragraph per line (with
//! `--json`, the article with its metadata as one JSON object); the block
//! classifier at threshold T, or off.

use std::io::{Read, Write};
use std::process::ExitCode;

use newswire_cleaner::{Cleaner, extract};

fn usage() -> ExitCode {
    eprintln!("usage: extract [--json] [--url URL] [--threshold T | --no-classifier] FILE|-");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut json = false;
    let mut url = None;
    let mut path = None;
    let mut classifier = (true, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--url" => match args.next() {
                Some(u) => url = Some(u),
                None => return usage(),
            },
            "--no-classifier" => classifier.0 = false,
            "--threshold" => match args.next().and_then(|t| t.parse::<f32>().ok()) {
                Some(t) => classifier.1 = Some(t),
                None => return usage(),
            },
            "-h" | "--help" => return usage(),
            _ if path.is_none() => path = Some(arg),
            _ => return usage(),
        }
    }
    let Some(path) = path else { return usage() };
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(&path).map(|b| bytes = b)
    };
    if let Err(err) = read {
        eprintln!("extract: cannot read {path}: {err}");
        return ExitCode::from(1);
    }
    let html = String::from_utf8_lossy(&bytes);
    let cleaner = Cleaner::default().with_classifier(classifier.0, classifier.1);
    let article = extract(&html, url.as_deref(), &cleaner, None);
    let mut out = std::io::stdout().lock();
    let written = if json {
        match serde_json::to_string_pretty(&article) {
            Ok(s) => writeln!(out, "{s}"),
            Err(err) => {
                eprintln!("extract: {err}");
                return ExitCode::from(1);
            }
        }
    } else {
        article.paragraphs.iter().try_for_each(|p| writeln!(out, "{p}"))
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}
