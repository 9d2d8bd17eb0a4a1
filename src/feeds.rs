//! `newswire feeds import|export|list`: the config's feed list as OPML, and
//! each feed's status.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use newswire_core::canon::redact;
use newswire_core::state::Status;
use newswire_fetcher::opml::{Outline, read_opml, write_opml};
use toml_edit::{Array, DocumentMut, Item, Table, value};
use url::Url;

use crate::UsageError;
use crate::inspect::slug;
use crate::settings;

/// Add an OPML file's subscriptions to the config file.
pub fn import(config_path: &Path, opml_path: &Path) -> anyhow::Result<u8> {
    let opml = std::fs::read_to_string(opml_path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", opml_path.display())))?;
    let (outlines, refused) = read_opml(&opml).map_err(|e| UsageError(format!("{}: {e}", opml_path.display())))?;
    let text = std::fs::read_to_string(config_path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", config_path.display())))?;
    // The config must be valid before we touch it, and after.
    settings::load(config_path)?;
    let mut doc: DocumentMut = text.parse().map_err(|e| UsageError(format!("{}: {e}", config_path.display())))?;

    let mut names: HashSet<String> = HashSet::new();
    let mut urls: HashSet<String> = HashSet::new();
    if let Some(feeds) = doc.get("feed").and_then(Item::as_array_of_tables) {
        for feed in feeds {
            if let Some(n) = feed.get("name").and_then(Item::as_str) {
                names.insert(n.to_string());
            }
            if let Some(u) = feed.get("url").and_then(Item::as_str) {
                urls.insert(u.to_string());
            }
        }
    }
    let (mut added, mut skipped) = (0, 0);
    let feeds = doc
        .entry("feed")
        .or_insert(Item::ArrayOfTables(toml_edit::ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| UsageError(format!("{}: `feed` is not an array of tables", config_path.display())))?;
    for outline in outlines {
        if urls.contains(&outline.xml_url) {
            skipped += 1;
            continue;
        }
        let Ok(url) = Url::parse(&outline.xml_url) else {
            skipped += 1;
            continue;
        };
        let base = slug(Some(outline.title.as_str()).filter(|t| !t.is_empty()), &url);
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        let mut table = Table::new();
        table.insert("name", value(name.clone()));
        table.insert("url", value(outline.xml_url.clone()));
        if !outline.tags.is_empty() {
            let mut tags = Array::new();
            for tag in &outline.tags {
                tags.push(tag.as_str());
            }
            table.insert("tags", value(tags));
        }
        feeds.push(table);
        names.insert(name);
        urls.insert(outline.xml_url);
        added += 1;
    }
    let new_text = doc.to_string();
    newswire_core::config::parse(&new_text, config_path).context("the imported config would not load")?;
    std::fs::write(config_path, new_text).with_context(|| format!("cannot write {}", config_path.display()))?;
    for url in &refused {
        eprintln!("refused: {}: only http and https feeds are imported", redact(url));
    }
    println!(
        "imported {added} feeds into {}, {skipped} already there, {} refused",
        config_path.display(),
        refused.len()
    );
    Ok(0)
}

/// Print the config's feeds as OPML 2.0.
pub fn export(config_path: &Path) -> anyhow::Result<u8> {
    let settings = settings::load(config_path)?;
    let outlines: Vec<Outline> = settings
        .feeds
        .iter()
        .filter(|f| matches!(f.spec.url.scheme(), "http" | "https"))
        .map(|f| Outline {
            title: f.spec.name.clone(),
            // Credentials never leave in an export.
            xml_url: redact(f.spec.url.as_str()),
            html_url: None,
            tags: f.spec.tags.clone(),
        })
        .collect();
    print!("{}", write_opml("newswire feeds", &outlines));
    Ok(0)
}

/// List the feeds and their status from the state store.
pub async fn list(config_path: &Path) -> anyhow::Result<u8> {
    use newswire_core::sink::StateStore;
    let settings = settings::load(config_path)?;
    let db = settings.config.sqlite_path();
    let states = if db.exists() {
        let store = newswire_storer::SqliteStore::open(&db)?;
        store.load_all().await?
    } else {
        Vec::new()
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "name\tstatus\tlast poll\terrors\turl")?;
    for feed in &settings.feeds {
        let spec = &feed.spec;
        let state = states.iter().find(|s| s.feed == spec.name);
        let status = match state {
            _ if !spec.enabled => Status::Off,
            None => Status::NeverPolled,
            Some(s) => s.status(&spec.url),
        };
        let last = state.and_then(|s| s.last_polled_at).map(|d| d.to_rfc3339()).unwrap_or_else(|| "-".into());
        let errors = state.map_or(0, |s| s.error_count);
        writeln!(out, "{}\t{status}\t{last}\t{errors}\t{}", spec.name, redact(spec.url.as_str()))?;
    }
    Ok(0)
}

/// `newswire clusters`: stories seen more than once, with their copies.
pub fn clusters(config_path: &Path, since: Option<chrono::DateTime<chrono::Utc>>) -> anyhow::Result<u8> {
    let settings = settings::load(config_path)?;
    let db = settings.config.sqlite_path();
    if !db.exists() {
        return Err(UsageError(format!("no SQLite database at {}: run a backfill first", db.display())).into());
    }
    let store = newswire_storer::SqliteStore::open(&db)?;
    let since = since.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)).unwrap_or_default();
    let stories = store.clusters(&since)?;
    let mut out = std::io::stdout().lock();
    for story in &stories {
        writeln!(out, "story {}: {} ({}, {})", story.id, story.title, story.feed, story.url)?;
        for copy in &story.copies {
            writeln!(out, "  {:.2}  {}  {}  {}", copy.similarity, copy.feed, copy.url, copy.title)?;
        }
    }
    eprintln!("{} stories with copies", stories.len());
    Ok(0)
}
