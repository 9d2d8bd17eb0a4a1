//! `clean [--html|--text] [--json] FILE|-`: print the clean body of one
//! input, one paragraph per line (with `--json`, the paragraphs, embeds and
//! removed pieces as one JSON object).
//!
//! HTML is detected from the file extension (.html, .htm, .xhtml) or, for
//! other files and standard input, from the content.

use std::io::{Read, Write};
use std::process::ExitCode;

use newswire_cleaner::{Cleaned, Input, looks_like_html};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Detect,
    Html,
    Text,
}

fn usage() -> ExitCode {
    eprintln!("usage: clean [--html|--text] [--json] FILE|-");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut mode = Mode::Detect;
    let mut json = false;
    let mut path = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--html" => mode = Mode::Html,
            "--text" => mode = Mode::Text,
            "--json" => json = true,
            "-h" | "--help" => {
                println!("usage: clean [--html|--text] [--json] FILE|-");
                return ExitCode::SUCCESS;
            }
            a if a.starts_with("--") => return usage(),
            _ if path.is_some() => return usage(),
            _ => path = Some(arg),
        }
    }
    let Some(path) = path else { return usage() };
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)).map(|_| ())
    };
    if let Err(e) = read {
        eprintln!("clean: cannot read {path}: {e}");
        return ExitCode::from(1);
    }
    let text = String::from_utf8_lossy(&bytes);
    let lower = path.to_ascii_lowercase();
    let by_extension = [".html", ".htm", ".xhtml"].iter().any(|ext| lower.ends_with(ext));
    let input = match mode {
        Mode::Html => Input::Html(&text),
        Mode::Text => Input::Text(&text),
        Mode::Detect if by_extension || looks_like_html(&text) => Input::Html(&text),
        Mode::Detect => Input::Text(&text),
    };
    let cleaned = newswire_cleaner::clean(input);
    let mut out = std::io::stdout().lock();
    let written = if json { write_json(&mut out, &cleaned) } else { write_lines(&mut out, &cleaned) };
    match written.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clean: cannot write output: {e}");
            ExitCode::from(1)
        }
    }
}

/// One paragraph per line: the lines of a paragraph (its `<br>` breaks,
/// a `<pre>` block's lines) are joined with a space here; `--json` keeps
/// them.
fn write_lines(out: &mut impl Write, cleaned: &Cleaned) -> std::io::Result<()> {
    for p in &cleaned.paragraphs {
        writeln!(out, "{}", p.replace('\n', " "))?;
    }
    Ok(())
}

fn write_json(out: &mut impl Write, cleaned: &Cleaned) -> std::io::Result<()> {
    let value = serde_json::json!({
        "paragraphs": cleaned.paragraphs,
        "embeds": cleaned.embeds,
        "removed": cleaned.removed,
    });
    serde_json::to_writer_pretty(&mut *out, &value)?;
    writeln!(out)
}
