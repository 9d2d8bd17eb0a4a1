//! The read side at scale: the web console's pages and the read API
//! answering over a store of a million records from ten thousand feeds,
//! and `newswire records` exporting all of it.
//!
//! The store is written directly through the SQLite store's own write path
//! (the records, their full-text entries and versions, as the pipeline
//! writes them), from the news farm's vocabulary, so full-text queries meet
//! realistic word frequencies: `the` is in every record, a word of rank 300
//! in a few percent, and each `markerN` word in ten records. One record in
//! ten is a copy of the story three records before it. Then the daemon runs
//! on that store with the feeds in its config (each a `file:` feed with no
//! items; a few missing on purpose, so failing), and each page is asked for
//! `rounds` times, one request at a time; the table gives the median, the
//! 90th percentile and the slowest.
//!
//! Writing a million records takes minutes: `--keep DIR` keeps the store in
//! DIR and a later run with the same sizes reads it again.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;
use newswire_core::Record;
use newswire_core::record::{Removed, RemovedKind, SCHEMA_VERSION, Source};
use newswire_storer::sqlite::SqliteStore;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::measure;
use crate::prose::Vocabulary;

/// What to build and how often to ask.
pub struct Options {
    /// Records in the store.
    pub records: usize,
    /// Feeds in the config (and records spread over them).
    pub feeds: usize,
    /// Requests per page.
    pub rounds: usize,
    /// Keep (or reuse) the store in this directory.
    pub keep: Option<PathBuf>,
    /// Seed of the records' text.
    pub seed: u64,
}

/// Records written per transaction while filling.
const BATCH: usize = 2_000;
/// Feeds whose URL names a missing file: failing on purpose.
const FAILING: usize = 10;
/// Records sharing each `markerN` word.
const PER_MARKER: usize = 10;

pub async fn run(newswire: &Path, opts: &Options) -> anyhow::Result<()> {
    let temp;
    let dir = match &opts.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            std::path::absolute(dir)?
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let db = dir.join("data").join("newswire.db");
    let have = count(&db);
    if have == Some(opts.records) {
        println!("store: {} records, reused from {}\n", opts.records, db.display());
    } else {
        let _ = std::fs::remove_dir_all(dir.join("data"));
        std::fs::create_dir_all(dir.join("data"))?;
        let started = Instant::now();
        fill(&db, opts)?;
        let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        println!(
            "store: {} records from {} feeds written in {:.0} s, {:.0} MB\n",
            opts.records,
            opts.feeds,
            started.elapsed().as_secs_f64(),
            size as f64 / 1e6
        );
    }
    let (config, port) = write_config(&dir, opts.feeds)?;
    let samples = sample(&db)?;
    let mut daemon = tokio::process::Command::new(newswire)
        .args(["run", "-c", &config.to_string_lossy()])
        .current_dir(&dir)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let timed = async {
        settle(port, opts.feeds).await?;
        pages(port, &samples, opts.rounds).await
    }
    .await;
    if let Some(pid) = daemon.id() {
        let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
    }
    let _ = tokio::time::timeout(Duration::from_secs(30), daemon.wait()).await;
    timed?;
    export(newswire, &dir, &config, opts.records).await
}

/// Records in the store at `db`, if it is one.
fn count(db: &Path) -> Option<usize> {
    if !db.exists() {
        return None;
    }
    let conn = rusqlite::Connection::open(db).ok()?;
    conn.query_row("SELECT COUNT(*) FROM records", [], |r| r.get::<_, i64>(0)).ok().map(|n| n as usize)
}

fn fill(db: &Path, opts: &Options) -> anyhow::Result<()> {
    let store = SqliteStore::open(db)?;
    let vocabulary = Vocabulary::news();
    let mut rng = StdRng::seed_from_u64(opts.seed);
    // The last month of records, oldest first, as an archive fills.
    let start = Utc::now() - chrono::Duration::days(30);
    let step = Duration::from_secs(30 * 86_400).as_millis() as i64 / opts.records.max(1) as i64;
    let mut batch = Vec::with_capacity(BATCH);
    for n in 0..opts.records {
        let feed = n % opts.feeds;
        let fetched_at = start + chrono::Duration::milliseconds(step * n as i64);
        let words = rng.random_range(120..400);
        let mut paragraphs = vocabulary.article(&mut rng, words);
        paragraphs.push(format!("marker{}", n / PER_MARKER));
        let body = paragraphs.join("\n\n");
        let title = vocabulary.sentence(&mut rng, 6, 12);
        let copy = n % 10 == 9;
        let removed = if n % 3 == 0 {
            vec![Removed::new(RemovedKind::CallToAction, "cta.newsletter", "Sign up for our daily newsletter.")]
        } else {
            Vec::new()
        };
        batch.push(Record {
            schema: SCHEMA_VERSION,
            id: format!("r{n:08}"),
            feed: format!("farm-{feed}"),
            feed_url: format!("https://farm.example/{feed}.xml"),
            guid: Some(format!("https://farm.example/{feed}/{n}")),
            url: Some(format!("https://farm.example/{feed}/{n}")),
            title: Some(title.trim_end_matches('.').to_string()),
            authors: vec![],
            published_at: Some(fetched_at - chrono::Duration::minutes(5)),
            updated_at: None,
            fetched_at,
            language: Some("en".into()),
            summary: paragraphs.first().and_then(|p| p.split_inclusive(". ").next()).map(str::to_string),
            word_count: body.split_whitespace().count() as u64,
            body,
            categories: vec!["news".into()],
            content_hash: format!("{:016x}", rng.random::<u64>()),
            source: Source::Feed,
            embeds: vec![],
            removed,
            cluster: copy.then(|| format!("r{:08}", n - 3)),
            similarity: copy.then_some(0.91),
            fingerprint: None,
        });
        if batch.len() == BATCH || n + 1 == opts.records {
            store.write_blocking(&batch, None)?;
            batch.clear();
            if (n + 1) % 100_000 == 0 {
                eprintln!("  {} records written", n + 1);
            }
        }
    }
    Ok(())
}

/// Ids the pages ask for: the newest record, the newest story, a feed.
struct Samples {
    record: String,
    story: String,
    feed: String,
    rare: String,
    /// A content word in a few percent of the records.
    mid: String,
}

fn sample(db: &Path) -> anyhow::Result<Samples> {
    let conn = rusqlite::Connection::open(db)?;
    let record: String = conn.query_row("SELECT id FROM records ORDER BY rowid DESC LIMIT 1", [], |r| r.get(0))?;
    let story: String =
        conn.query_row("SELECT cluster FROM records WHERE cluster IS NOT NULL ORDER BY rowid DESC LIMIT 1", [], |r| {
            r.get(0)
        })?;
    let feed: String = conn.query_row("SELECT feed FROM records WHERE id = ?1", [&record], |r| r.get(0))?;
    let n: usize = record.trim_start_matches('r').parse()?;
    Ok(Samples {
        record,
        story,
        feed,
        rare: format!("marker{}", n / PER_MARKER / 2),
        mid: Vocabulary::news().ranked(300).to_string(),
    })
}

fn write_config(dir: &Path, feeds: usize) -> anyhow::Result<(PathBuf, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let empty = dir.join("empty.xml");
    std::fs::write(
        &empty,
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Farm</title>\
         <link>https://farm.example/</link><description>no items</description></channel></rss>",
    )?;
    let mut text = format!(
        "[pipeline]\ndata_dir = \"{}\"\nconcurrency = 64\n\n[server]\nlisten = \"127.0.0.1:{port}\"\n\n\
         [defaults]\ninterval = \"6h\"\n\n[[sink]]\nkind = \"sqlite\"\n",
        dir.join("data").display()
    );
    for i in 0..feeds {
        let file = if i < FAILING { dir.join(format!("missing-{i}.xml")) } else { empty.clone() };
        let url = url::Url::from_file_path(&file).map_err(|()| anyhow::anyhow!("not a path: {}", file.display()))?;
        text.push_str(&format!("\n[[feed]]\nname = \"farm-{i}\"\nurl = \"{url}\"\n"));
    }
    let path = dir.join("read.toml");
    std::fs::write(&path, text)?;
    Ok((path, port))
}

/// One GET on 127.0.0.1:`port`: (status, body).
async fn get(port: u16, path: &str) -> anyhow::Result<(u16, Vec<u8>)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..head_end]);
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, response.split_off((head_end + 4).min(response.len()))))
}

/// Wait until the daemon answers and has polled every feed once.
async fn settle(port: u16, feeds: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "the daemon did not poll every feed in 10 min");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let Ok((200, body)) = get(port, "/feeds").await else { continue };
        let Ok(list) = serde_json::from_slice::<Vec<serde_json::Value>>(&body) else { continue };
        let waiting = list.iter().filter(|f| matches!(f["status"].as_str(), Some("never_polled" | "polling"))).count();
        if list.len() == feeds && waiting == 0 {
            println!("daemon: {feeds} feeds polled after {:.0} s\n", started.elapsed().as_secs_f64());
            return Ok(());
        }
    }
}

async fn pages(port: u16, s: &Samples, rounds: usize) -> anyhow::Result<()> {
    let list = [
        ("console: overview", "/".to_string()),
        ("console: feeds table (failing first)", "/console/feeds".to_string()),
        ("console: feeds table sorted by name", "/console/feeds?sort=name&order=desc".to_string()),
        ("console: one feed", format!("/console/feeds/{}", s.feed)),
        ("console: records", "/console/records".to_string()),
        ("console: records, search `the` (every record)", "/console/records?q=the".to_string()),
        ("console: records, search a word in a few %", format!("/console/records?q={}", s.mid)),
        ("console: records, search a rare word", format!("/console/records?q={}", s.rare)),
        ("console: one record", format!("/console/records/{}", s.record)),
        ("console: stories", "/console/stories".to_string()),
        ("console: one story", format!("/console/stories/{}", s.story)),
        ("api: /api/search?q=the", "/api/search?q=the".to_string()),
        ("api: /api/search, two common words", "/api/search?q=the+of".to_string()),
        ("api: /api/search, a word in a few %", format!("/api/search?q={}", s.mid)),
        ("api: /api/search, a rare word", format!("/api/search?q={}", s.rare)),
        ("api: /api/search, a word in no record", "/api/search?q=zzzznothing".to_string()),
        ("api: /api/records", "/api/records".to_string()),
        ("api: /api/records?feed=", format!("/api/records?feed={}", s.feed)),
        ("api: /api/records/{id}", format!("/api/records/{}", s.record)),
        ("api: /api/clusters", "/api/clusters".to_string()),
        ("api: /api/feeds (counts per feed)", "/api/feeds".to_string()),
    ];
    println!("| page | bytes | median ms | p90 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (label, path) in list {
        let (status, body) = get(port, &path).await?; // warm-up
        let bytes = body.len();
        anyhow::ensure!(status == 200, "{path} answered {status}");
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let started = Instant::now();
            let (status, _) = get(port, &path).await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(status == 200, "{path} answered {status}");
        }
        times.sort_by(f64::total_cmp);
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!("| {label} | {bytes} | {:.1} | {:.1} | {:.1} |", at(0.5), at(0.9), at(1.0));
        std::io::stdout().flush()?;
    }
    Ok(())
}

/// `newswire records` writing every record as JSON Lines to a file: its
/// time and peak RSS, and that every record came out.
async fn export(newswire: &Path, dir: &Path, config: &Path, records: usize) -> anyhow::Result<()> {
    let out = dir.join("export.jsonl");
    let file = std::fs::File::create(&out)?;
    let cfg = config.to_string_lossy().into_owned();
    let env = [("RUST_LOG", "error".to_string())];
    let cost = measure::run_to(newswire, &["records", "-c", &cfg], dir, &env, file).await?;
    let mut lines = 0usize;
    let mut reader = BufReader::new(std::fs::File::open(&out)?);
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 {
        lines += 1;
        line.clear();
    }
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    std::fs::remove_file(&out)?;
    anyhow::ensure!(lines == records, "newswire records wrote {lines} lines for {records} records");
    println!("\n| export | records | MB out | wall s | records/s | peak RSS MB |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| newswire records (jsonl) | {records} | {:.0} | {:.1} | {:.0} | {:.0} |",
        bytes as f64 / 1e6,
        cost.wall.as_secs_f64(),
        records as f64 / cost.wall.as_secs_f64(),
        cost.peak_rss as f64 / 1e6
    );
    Ok(())
}
