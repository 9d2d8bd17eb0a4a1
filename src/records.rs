//! `newswire records`: export records from the store as JSON Lines, CSV or
//! a table, and `newswire reindex`: rebuild the full-text index.
//!
//! Reads through newswire-storer's [`RecordReader`] a page at a time
//! (constant memory whatever the archive's size), from the store that holds
//! the state: SQLite, or PostgreSQL with `[pipeline] state = "postgres"`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use newswire_core::Record;
use newswire_core::config::{Config, StateKind};
use newswire_storer::read::{Cursor, MAX_PAGE, RecordQuery, RecordReader, for_each_record};

use crate::UsageError;
use crate::cli::{RecordFormat, RecordsArgs};
use crate::settings;

/// The reader of the store that holds the state.
pub async fn reader(config: &Config) -> anyhow::Result<Arc<dyn RecordReader>> {
    match config.pipeline.state {
        StateKind::Sqlite => {
            let path = config.sqlite_path();
            if !path.exists() {
                return Err(
                    UsageError(format!("no SQLite database at {}: run a backfill first", path.display())).into()
                );
            }
            let store = newswire_storer::SqliteStore::open(&path)
                .with_context(|| format!("cannot open the store {}", path.display()))?;
            Ok(Arc::new(store.reader()))
        }
        #[cfg(feature = "postgres")]
        StateKind::Postgres => {
            let (url, schema) =
                config.postgres_url().ok_or_else(|| UsageError("the config has no postgres sink to read".into()))?;
            let store = newswire_storer::PostgresStore::connect(url.expose(), schema.as_deref())
                .await
                .context("cannot open the postgres store")?;
            Ok(Arc::new(store))
        }
        #[cfg(not(feature = "postgres"))]
        StateKind::Postgres => Err(UsageError(crate::settings::not_compiled("postgres")).into()),
    }
}

/// The reader the daemon's API serves from: the store that holds the
/// state, which the daemon opened (and migrated) already.
pub async fn api_reader(config: &Config) -> anyhow::Result<Arc<dyn RecordReader>> {
    match config.pipeline.state {
        StateKind::Sqlite => Ok(Arc::new(newswire_storer::SqliteReader::open(&config.sqlite_path()))),
        StateKind::Postgres => reader(config).await,
    }
}

/// The query the command's options describe.
pub fn query(args: &RecordsArgs) -> Result<RecordQuery, UsageError> {
    let query = RecordQuery {
        since: args.since,
        until: args.until,
        time_field: args.by.into(),
        feeds: args.feeds.clone(),
        tag: args.tag.clone(),
        lang: args.lang.clone(),
        cluster: args.cluster.clone(),
        text: args.query.clone(),
        // The command streams: pages of the largest size, whatever --limit.
        limit: Some(MAX_PAGE),
        newest_first: args.newest_first,
        after: args.cursor.as_deref().map(Cursor::decode).transpose().map_err(|e| UsageError(format!("--{e}")))?,
    };
    query.check().map_err(|e| {
        let option = if e.field == "q" { "query" } else { e.field };
        UsageError(format!("--{option}: {}", e.message))
    })?;
    Ok(query)
}

/// `newswire records`.
pub async fn run(config_path: &Path, args: &RecordsArgs) -> anyhow::Result<u8> {
    let settings = settings::load(config_path)?;
    let query = query(args)?;
    let reader = reader(&settings.config).await?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let format = args.format;
    match format {
        RecordFormat::Csv => writeln!(out, "{}", CSV_COLUMNS.join(","))?,
        RecordFormat::Table => writeln!(out, "fetched_at\tfeed\tlang\tid\ttitle")?,
        RecordFormat::Jsonl => {}
    }
    let mut count = 0u64;
    let next = for_each_record::<anyhow::Error>(reader.as_ref(), &query, args.limit, |record| {
        count += 1;
        write_record(&mut out, format, record)
    })
    .await?;
    out.flush()?;
    if let Some(next) = next {
        eprintln!("{count} records; more remain: resume with --cursor {}", next.encode());
    } else {
        eprintln!("{count} records");
    }
    Ok(0)
}

/// The columns of `--format csv` (lists as `;`-separated text).
const CSV_COLUMNS: &[&str] = &[
    "id",
    "feed",
    "fetched_at",
    "published_at",
    "language",
    "url",
    "title",
    "authors",
    "categories",
    "cluster",
    "word_count",
    "summary",
    "body",
];

fn write_record(out: &mut impl Write, format: RecordFormat, r: &Record) -> anyhow::Result<()> {
    match format {
        RecordFormat::Jsonl => {
            serde_json::to_writer(&mut *out, r)?;
            out.write_all(b"\n")?;
        }
        RecordFormat::Csv => {
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
            let fields = [
                r.id.clone(),
                r.feed.clone(),
                r.fetched_at.to_rfc3339(),
                time(r.published_at),
                r.language.clone().unwrap_or_default(),
                r.url.clone().unwrap_or_default(),
                r.title.clone().unwrap_or_default(),
                r.authors.join("; "),
                r.categories.join("; "),
                r.cluster.clone().unwrap_or_default(),
                r.word_count.to_string(),
                r.summary.clone().unwrap_or_default(),
                r.body.clone(),
            ];
            for (i, field) in fields.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_csv_field(out, field)?;
            }
            out.write_all(b"\r\n")?;
        }
        RecordFormat::Table => {
            // Tabs and line breaks in feed text would break the columns.
            let title: String = r
                .title
                .as_deref()
                .unwrap_or("")
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(80)
                .collect();
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}",
                r.fetched_at.format("%Y-%m-%d %H:%M:%S"),
                r.feed,
                r.language.as_deref().unwrap_or("-"),
                r.id,
                title
            )?;
        }
    }
    Ok(())
}

/// One RFC 4180 field: quoted when it holds a comma, quote or line break,
/// inner quotes doubled. A field starting with `=`, `+`, `-` or `@` gets a
/// leading `'` so a spreadsheet does not run feed text as a formula.
fn write_csv_field(out: &mut impl Write, field: &str) -> std::io::Result<()> {
    let guarded = field.starts_with(['=', '+', '-', '@']);
    if guarded || field.contains([',', '"', '\n', '\r']) {
        out.write_all(b"\"")?;
        if guarded {
            out.write_all(b"'")?;
        }
        out.write_all(field.replace('"', "\"\"").as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(field.as_bytes())
    }
}

/// `newswire reindex`: rebuild the SQLite full-text index from the records.
pub fn reindex(config_path: &Path) -> anyhow::Result<u8> {
    let settings = settings::load(config_path)?;
    if settings.config.pipeline.state == StateKind::Postgres {
        println!("PostgreSQL keeps its search column itself: nothing to rebuild");
        return Ok(0);
    }
    let path = settings.config.sqlite_path();
    if !path.exists() {
        return Err(UsageError(format!("no SQLite database at {}", path.display())).into());
    }
    let store = newswire_storer::SqliteStore::open(&path)?;
    let n = store.rebuild_search()?;
    store.check_search()?;
    println!("full-text index rebuilt: {n} records");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_disarmed() {
        let mut out = Vec::new();
        for field in ["plain", "a,b", "say \"hi\"", "two\nlines", "=SUM(A1)", "-3"] {
            write_csv_field(&mut out, field).expect("write");
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).expect("utf-8"),
            "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"two\nlines\"|\"'=SUM(A1)\"|\"'-3\"|"
        );
    }
}
