//! Commands that look at one thing: `check`, `clean`, `parse`.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use newswire_cleaner::{Cleaner, Input};
use newswire_core::canon::redact;
use newswire_fetcher::page::decode_html;
use newswire_fetcher::{FetchRequest, Fetched, FetcherOptions, parse_feed_with};
use serde_json::json;
use url::Url;

use crate::UsageError;
use crate::settings;

/// `newswire check`: validate the config, say where it was found and where
/// its data goes, and list the feeds.
pub fn check(found: &settings::Located) -> anyhow::Result<u8> {
    let path = &found.path;
    let settings = settings::load(path)?;
    let mut out = std::io::stdout().lock();
    let sinks: Vec<&str> = settings.config.sinks().iter().map(|s| s.kind()).collect();
    writeln!(out, "{}: ok, {} feeds, sinks: {}", path.display(), settings.feeds.len(), sinks.join(", "))?;
    writeln!(out, "config: {} (from {})", shown(path), found.source)?;
    writeln!(
        out,
        "data_dir: {} (relative paths in the config are taken from its directory, {})",
        shown(&settings.config.pipeline.data_dir),
        shown(&settings.config.base_dir)
    )?;
    for feed in &settings.feeds {
        let spec = &feed.spec;
        writeln!(
            out,
            "{}\t{}\t{}{}",
            spec.name,
            redact(spec.url.as_str()),
            humantime::format_duration(spec.interval),
            if spec.enabled { "" } else { "\tdisabled" }
        )?;
    }
    Ok(0)
}

/// A path as the operator should read it: absolute, and without `..` where
/// it exists already.
fn shown(path: &Path) -> String {
    let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn read_input(input: &str) -> anyhow::Result<String> {
    if input == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read standard input")?;
        return Ok(text);
    }
    let bytes = std::fs::read(input).map_err(|e| UsageError(format!("cannot read {input}: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A page from a file or standard input, decoded as the page stage decodes
/// a fetched page (byte-order mark, `<meta charset>`, else detection):
/// Windows-1252 and UTF-16 pages read as what they say.
fn read_page(input: &str) -> anyhow::Result<String> {
    let bytes = if input == "-" {
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).context("cannot read standard input")?;
        bytes
    } else {
        std::fs::read(input).map_err(|e| UsageError(format!("cannot read {input}: {e}")))?
    };
    Ok(decode_html(&bytes, None).into_owned())
}

/// The block classifier as `newswire clean` was asked to run it.
#[derive(Debug, Clone, Copy)]
pub struct ClassifierChoice {
    /// Whether it runs.
    pub enabled: bool,
    /// Its threshold; None for the shipped model's.
    pub threshold: Option<f32>,
}

/// `newswire clean`: print the clean body of one input.
pub fn clean(
    input: &str,
    html: bool,
    text: bool,
    as_json: bool,
    explain: bool,
    classifier: ClassifierChoice,
) -> anyhow::Result<u8> {
    if let Some(t) = classifier.threshold
        && !(0.0..=1.0).contains(&t)
    {
        return Err(UsageError(format!("--threshold {t}: must be between 0 and 1")).into());
    }
    let content = read_input(input)?;
    let lower = input.to_ascii_lowercase();
    let kind = if html || (!text && (lower.ends_with(".html") || lower.ends_with(".htm"))) {
        Input::Html(&content)
    } else if text || lower.ends_with(".txt") {
        Input::Text(&content)
    } else {
        Input::detect(&content)
    };
    let cleaner = Cleaner::default().with_classifier(classifier.enabled, classifier.threshold);
    let mut out = std::io::stdout().lock();
    if explain {
        match cleaner.classifier_threshold() {
            Some(t) => writeln!(out, "# block classifier threshold {t:.2}")?,
            None => writeln!(out, "# block classifier off (scores shown, nothing removed by it)")?,
        }
        for (i, p) in cleaner.explain(kind).iter().enumerate() {
            let verdict = match (&p.removed_by, p.protected) {
                (Some(rule), _) => format!("removed by {rule}"),
                (None, Some(guard)) => format!("kept (protected: {guard})"),
                (None, None) => "kept".to_string(),
            };
            let score = p.score.map_or_else(|| "  -  ".to_string(), |s| format!("{s:.3}"));
            writeln!(out, "{:>3}  {score}  {verdict}", i + 1)?;
            writeln!(out, "     {}", p.text.replace('\n', " "))?;
            let features: Vec<String> = p.strongest.iter().map(|(name, c)| format!("{name} {c:+.2}")).collect();
            writeln!(out, "     {}", features.join(", "))?;
        }
        return Ok(0);
    }
    let cleaned = cleaner.clean(kind);
    if as_json {
        let value = json!({
            "paragraphs": cleaned.paragraphs,
            "embeds": cleaned.embeds,
            "removed": cleaned.removed,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        // One paragraph per line: a paragraph's own lines (`<br>`, `<pre>`)
        // are joined with a space here; the record and `--json` keep them.
        for p in &cleaned.paragraphs {
            writeln!(out, "{}", p.replace('\n', " "))?;
        }
    }
    Ok(0)
}

/// `newswire parse`: what the pipeline reads from one feed document.
pub async fn parse(input: &str, as_json: bool, allow_private: bool) -> anyhow::Result<u8> {
    let (bytes, base, content_type) = if input.starts_with("http://") || input.starts_with("https://") {
        let url = Url::parse(input).map_err(|e| UsageError(format!("invalid URL {}: {e}", redact(input))))?;
        let fetcher = newswire_fetcher::Fetcher::new(&FetcherOptions::default())?;
        let request =
            FetchRequest { allow_private, ..FetchRequest::simple(&url, Duration::from_secs(30), 16 * 1024 * 1024) };
        match fetcher.fetch(&request).await? {
            Fetched::Document(doc) => (doc.body.to_vec(), doc.final_url, doc.content_type),
            Fetched::NotModified { .. } => anyhow::bail!("{} answered 304 to an unconditional request", redact(input)),
        }
    } else {
        let path = std::path::absolute(input).map_err(|e| UsageError(format!("cannot read {input}: {e}")))?;
        let bytes = std::fs::read(&path).map_err(|e| UsageError(format!("cannot read {input}: {e}")))?;
        let url =
            Url::from_file_path(&path).map_err(|()| UsageError(format!("cannot read {input}: not a file path")))?;
        (bytes, url, None)
    };
    let feed = parse_feed_with(&bytes, &base, usize::MAX, content_type.as_deref())
        .with_context(|| format!("cannot parse {}", redact(input)))?;
    for warning in &feed.warnings {
        eprintln!("warning: {warning}");
    }
    let mut out = std::io::stdout().lock();
    if as_json {
        for item in &feed.items {
            let value = json!({
                "id": item.guid,
                "link": item.link,
                "title": item.title,
                "published": item.published,
                "updated": item.updated,
                "authors": item.authors,
                "summary": item.summary,
                "content": item.content,
                "categories": item.categories,
            });
            writeln!(out, "{value}")?;
        }
    } else {
        writeln!(out, "feed: {}", feed.title.as_deref().unwrap_or("(untitled)"))?;
        writeln!(out, "link: {}", feed.link.as_deref().unwrap_or("(none)"))?;
        writeln!(out, "items: {}", feed.items.len())?;
        for item in &feed.items {
            writeln!(out)?;
            writeln!(out, "  title:     {}", item.title.as_deref().unwrap_or(""))?;
            writeln!(out, "  id:        {}", item.guid.as_deref().unwrap_or(""))?;
            writeln!(out, "  link:      {}", item.link.as_deref().unwrap_or(""))?;
            writeln!(out, "  published: {}", item.published.map(|d| d.to_rfc3339()).unwrap_or_default())?;
            writeln!(out, "  authors:   {}", item.authors.join(", "))?;
        }
    }
    Ok(0)
}

/// `newswire extract`: the main article text of one page.
pub async fn extract(input: &str, as_json: bool, allow_private: bool) -> anyhow::Result<u8> {
    let (html, page_url) = if input.starts_with("http://") || input.starts_with("https://") {
        let url = Url::parse(input).map_err(|e| UsageError(format!("invalid URL {}: {e}", redact(input))))?;
        let fetcher = newswire_fetcher::Fetcher::new(&FetcherOptions::default())?;
        let request =
            FetchRequest { allow_private, ..FetchRequest::simple(&url, Duration::from_secs(30), 16 * 1024 * 1024) };
        match fetcher.fetch(&request).await? {
            Fetched::Document(doc) => {
                (decode_html(&doc.body, doc.content_type.as_deref()).into_owned(), Some(doc.final_url.to_string()))
            }
            Fetched::NotModified { .. } => anyhow::bail!("{} answered 304 to an unconditional request", redact(input)),
        }
    } else {
        (read_page(input)?, None)
    };
    let article = newswire_cleaner::extract(&html, page_url.as_deref(), &Cleaner::default(), None);
    let mut out = std::io::stdout().lock();
    if as_json {
        writeln!(out, "{}", serde_json::to_string_pretty(&article)?)?;
    } else {
        for p in &article.paragraphs {
            writeln!(out, "{p}")?;
        }
    }
    Ok(0)
}

/// A config-friendly name for a discovered feed: its title, or its host and
/// path, lowercased with runs of other characters turned into dashes.
pub fn slug(title: Option<&str>, url: &Url) -> String {
    let source = match title {
        Some(t) if !t.trim().is_empty() => t.to_string(),
        _ => format!("{}{}", url.host_str().unwrap_or("feed"), url.path()),
    };
    let mut out = String::new();
    for c in source.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').chars().take(60).collect::<String>();
    if out.is_empty() { "feed".to_string() } else { out }
}

/// `newswire feeds discover`: print config entries for a site's feeds.
pub async fn discover(input: &str, allow_private: bool) -> anyhow::Result<u8> {
    let url = Url::parse(input)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or_else(|| UsageError(format!("not an http(s) URL: {}", redact(input))))?;
    let fetcher = newswire_fetcher::Fetcher::new(&FetcherOptions::default())?;
    let found = newswire_fetcher::discover::discover(&fetcher, &url, allow_private).await?;
    if found.is_empty() {
        anyhow::bail!("no feed found at {}", redact(input));
    }
    let mut out = std::io::stdout().lock();
    for feed in &found {
        writeln!(out, "[[feed]]")?;
        writeln!(out, "name = {}", toml_string(&slug(feed.title.as_deref(), &feed.url)))?;
        writeln!(out, "url = {}", toml_string(feed.url.as_str()))?;
        writeln!(
            out,
            "# {}, {} items{}",
            feed.format,
            feed.items,
            feed.title.as_deref().map(|t| format!(": {t}")).unwrap_or_default()
        )?;
        writeln!(out)?;
    }
    Ok(0)
}

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_toml_strings() {
        let url = Url::parse("https://news.example.com/world/rss.xml").expect("url");
        assert_eq!(slug(Some("Harbour Gazette — World!"), &url), "harbour-gazette-world");
        assert_eq!(slug(None, &url), "news-example-com-world-rss-xml");
        assert_eq!(toml_string("a \"q\" \\ b"), "\"a \\\"q\\\" \\\\ b\"");
    }
}
