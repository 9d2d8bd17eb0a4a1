//! newswire-bench: how fast newswire is, measured the same way every time.
//!
//! ```text
//! cargo build --release --workspace
//! target/release/newswire-bench all            # every table of docs/performance.md
//! target/release/newswire-bench all --smoke    # tiny sizes, for CI
//! target/release/newswire-bench backfill --feeds 2000 --items 50 --cpus 0
//! target/release/newswire-bench --farm legacy backfill   # the first farm's text
//! target/release/newswire-bench index --sizes 10000,100000,1000000
//! target/release/newswire-bench read --records 1000000 --feeds 10000 --keep /tmp/readstore
//! ```
//!
//! Each measurement generates a farm from a fixed seed, serves it on
//! 127.0.0.1 from this process, runs the newswire binary against it (a
//! separate process, so its CPU time and peak RSS are its own), and prints a
//! Markdown table row. Nothing here asserts a duration: these are
//! measurements, not tests.

mod farm;
mod index;
mod measure;
mod prose;
mod read;
mod server;
mod stages;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::farm::Farm;
use crate::measure::Cost;
use crate::server::FarmServer;

#[derive(Parser)]
#[command(name = "newswire-bench", about = "newswire's benchmarks")]
struct Cli {
    /// The newswire binary to measure.
    #[arg(long, global = true)]
    newswire: Option<PathBuf>,
    /// Seed of the generated farm.
    #[arg(long, global = true, default_value_t = 20261125)]
    seed: u64,
    /// Which text the farm's articles carry: news (Zipf vocabulary, long
    /// articles, outlet templates, syndicated copies) or legacy (the first
    /// farm's 72-word text, for figures taken before issue 21).
    #[arg(long, global = true, value_enum, default_value = "news")]
    farm: farm::Style,
    /// Also write to this sink: "postgres=URL" (feed state in PostgreSQL too)
    /// or "nats=URL". A fresh schema or stream is made and removed.
    #[arg(long, global = true, value_name = "KIND=URL")]
    sink: Option<String>,
    /// Extra environment for the measured process (KEY=VALUE, repeatable),
    /// for experiments like MALLOC_ARENA_MAX=2.
    #[arg(long = "env", global = true, value_name = "KEY=VALUE")]
    env: Vec<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Backfill throughput into SQLite.
    Backfill {
        #[arg(long, default_value_t = 2000)]
        feeds: usize,
        #[arg(long, default_value_t = 50)]
        items: usize,
        /// Pin newswire to these CPUs (taskset list, like "0" or "0,1").
        #[arg(long)]
        cpus: Option<String>,
    },
    /// Steady-state polling: every feed answers 304.
    Poll304 {
        #[arg(long, default_value_t = 20000)]
        feeds: usize,
    },
    /// Parse, clean and sink write, each alone on one thread.
    Stages {
        #[arg(long, default_value_t = 200)]
        feeds: usize,
        #[arg(long, default_value_t = 50)]
        items: usize,
    },
    /// The Python pipeline (feedparser + trafilatura + sqlite3) and newswire
    /// on the same farm.
    Peer {
        #[arg(long, default_value_t = 100)]
        feeds: usize,
        #[arg(long, default_value_t = 50)]
        items: usize,
        /// Python with feedparser and trafilatura (benches/peers/setup.sh prints one).
        #[arg(long)]
        python: PathBuf,
    },
    /// The near-duplicate index (SQLite, or PostgreSQL with --postgres):
    /// insert + lookup per record as the index grows (docs/clusters.md).
    Index {
        /// Index sizes to measure at, ascending.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
        sizes: Vec<usize>,
        /// Records timed at each size.
        #[arg(long, default_value_t = 5000)]
        probes: usize,
        /// Measure PostgreSQL at this URL instead of SQLite, in a scratch
        /// schema the bench creates and drops.
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
    },
    /// The console's pages, the read API and `newswire records` over a
    /// store of this many records from this many feeds (docs/performance.md).
    Read {
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
        #[arg(long, default_value_t = 10_000)]
        feeds: usize,
        /// Requests per page.
        #[arg(long, default_value_t = 21)]
        rounds: usize,
        /// Keep the store in this directory, and reuse one of the same size
        /// found there (writing a million records takes minutes).
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
    /// Everything, at the documented sizes (or tiny ones with --smoke).
    All {
        #[arg(long)]
        smoke: bool,
        /// Python for the peer comparison; skipped when absent.
        #[arg(long)]
        python: Option<PathBuf>,
    },
}

fn default_newswire() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let release = root.join("target/release/newswire");
    if release.exists() { release } else { root.join("target/debug/newswire") }
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// Write a config polling every farm feed, into `dir`.
fn write_config(dir: &Path, server: &FarmServer, farm: &Farm, clean_workers: usize) -> anyhow::Result<PathBuf> {
    let mut text = format!(
        "[pipeline]\ndata_dir = \"{}\"\nconcurrency = 64\nclean_workers = {clean_workers}\nper_host_concurrency = 64\nper_host_rate = 0\n\n[defaults]\nallow_private = true\ntimeout = \"120s\"\n\n[[sink]]\nkind = \"sqlite\"\n",
        dir.join("data").display()
    );
    for (i, feed) in farm.feeds.iter().enumerate() {
        text.push_str(&format!("\n[[feed]]\nname = \"farm-{i}\"\nurl = \"{}\"\n", server.url(&feed.path)));
    }
    let path = dir.join("bench.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// Append the `--sink` sink, if any, to a bench config: (kind, url, tag).
fn add_extra_sink(config: &Path) -> anyhow::Result<Option<(String, String, u32)>> {
    let tag: u32 = rand::Rng::random(&mut rand::rng());
    let Some((kind, url, lines)) = extra_sink(tag) else { return Ok(None) };
    let mut text = std::fs::read_to_string(config)?;
    if kind == "postgres" {
        text = text.replacen("[pipeline]\n", "[pipeline]\nstate = \"postgres\"\n", 1);
    }
    text.push_str(&lines);
    std::fs::write(config, text)?;
    Ok(Some((kind, url, tag)))
}

struct BackfillResult {
    items: usize,
    bytes: usize,
    cost: Cost,
}

/// The farm's text style of `--farm`.
static STYLE: std::sync::OnceLock<farm::Style> = std::sync::OnceLock::new();

fn style() -> farm::Style {
    STYLE.get().copied().unwrap_or(farm::Style::News)
}

static EXTRA_ENV: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();

/// The extra sink of `--sink`, as (kind, url).
static EXTRA_SINK: std::sync::OnceLock<Option<(String, String)>> = std::sync::OnceLock::new();

/// Config lines for the extra sink, and a cleanup to run after.
fn extra_sink(tag: u32) -> Option<(String, String, String)> {
    let (kind, url) = EXTRA_SINK.get()?.clone()?;
    let lines = match kind.as_str() {
        "postgres" => format!("\n[[sink]]\nkind = \"postgres\"\nurl = \"{url}\"\nschema = \"newswire_bench_{tag}\"\n"),
        _ => format!(
            "\n[[sink]]\nkind = \"nats\"\nurl = \"{url}\"\nstream = \"NEWSWIRE_BENCH_{tag}\"\nsubject = \"bench{tag}.{{feed}}\"\n"
        ),
    };
    Some((kind, url, lines))
}

/// Drop what the extra sink created.
async fn cleanup_sink(kind: &str, url: &str, tag: u32) -> anyhow::Result<()> {
    if kind == "postgres" {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS newswire_bench_{tag} CASCADE")).await?;
    } else {
        let js = async_nats::jetstream::new(async_nats::connect(url).await?);
        let _ = js.delete_stream(format!("NEWSWIRE_BENCH_{tag}")).await;
    }
    Ok(())
}

async fn backfill_once(newswire: &Path, farm: &Farm, cpus: Option<&str>) -> anyhow::Result<BackfillResult> {
    let server = FarmServer::start(farm).await?;
    let dir = tempfile::tempdir()?;
    let workers = cpus.map_or(0, |c| c.split(',').count());
    let config = write_config(dir.path(), &server, farm, workers)?;
    let extra = add_extra_sink(&config)?;
    let mut env = vec![("RUST_LOG", "error".to_string())];
    if workers > 0 {
        env.push(("TOKIO_WORKER_THREADS", workers.to_string()));
    }
    for (k, v) in EXTRA_ENV.get().map(Vec::as_slice).unwrap_or_default() {
        env.push((k.as_str(), v.clone()));
    }
    let cfg = config.to_string_lossy().into_owned();
    let measured = measure::run(newswire, &["backfill", "-c", &cfg], dir.path(), &env, cpus).await;
    if let Some((kind, url, tag)) = &extra {
        cleanup_sink(kind, url, *tag).await?;
    }
    let (cost, stdout) = measured?;
    let expected = format!("items: {} new", farm.items());
    anyhow::ensure!(stdout.contains(&expected), "backfill did not write every item: {stdout}");
    Ok(BackfillResult { items: farm.items(), bytes: farm.bytes(), cost })
}

fn backfill_header() {
    println!("| run | feeds × items | items | wall s | items/s | MB/s | CPU s / 1000 items | peak RSS MB |");
    println!("|---|---|---|---|---|---|---|---|");
}

fn backfill_row(label: &str, feeds: usize, per: usize, r: &BackfillResult) {
    let secs = r.cost.wall.as_secs_f64();
    println!(
        "| {label} | {feeds} × {per} | {} | {:.2} | {:.0} | {:.1} | {:.3} | {:.0} |",
        r.items,
        secs,
        r.items as f64 / secs,
        mb(r.bytes) / secs,
        r.cost.cpu.as_secs_f64() * 1000.0 / r.items as f64,
        r.cost.peak_rss as f64 / 1_000_000.0
    );
}

async fn poll304(newswire: &Path, feeds: usize, seed: u64) -> anyhow::Result<()> {
    let farm = farm::generate(feeds, 1, seed, style());
    let server = FarmServer::start(&farm).await?;
    let dir = tempfile::tempdir()?;
    let config = write_config(dir.path(), &server, &farm, 0)?;
    let cfg = config.to_string_lossy().into_owned();
    let env = [("RUST_LOG", "error".to_string())];
    // The first pass stores every feed's ETag; the second is all 304s.
    measure::run(newswire, &["backfill", "-c", &cfg], dir.path(), &env, None).await?;
    let (before, _) = server.counts();
    let (cost, _) = measure::run(newswire, &["backfill", "-c", &cfg], dir.path(), &env, None).await?;
    let (after, not_modified) = server.counts();
    let polls = (after - before) as usize;
    anyhow::ensure!(not_modified as usize >= feeds, "expected {feeds} 304s, the server sent {not_modified}");
    let secs = cost.wall.as_secs_f64();
    println!("| feeds | polls | wall s | polls/s | CPU µs / poll | peak RSS MB |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {feeds} | {polls} | {secs:.2} | {:.0} | {:.0} | {:.0} |",
        polls as f64 / secs,
        cost.cpu.as_secs_f64() * 1e6 / polls as f64,
        cost.peak_rss as f64 / 1_000_000.0
    );
    Ok(())
}

fn stages(feeds: usize, items: usize, seed: u64) -> anyhow::Result<()> {
    let farm = farm::generate(feeds, items, seed, style());
    println!("| stage | items | input MB | s | items/s per core | MB/s per core |");
    println!("|---|---|---|---|---|---|");
    for r in stages::measure(&farm)? {
        let secs = r.elapsed.as_secs_f64();
        println!(
            "| {} | {} | {:.1} | {secs:.3} | {:.0} | {:.1} |",
            r.stage,
            r.items,
            mb(r.bytes),
            r.items as f64 / secs,
            mb(r.bytes) / secs
        );
    }
    Ok(())
}

async fn peer(newswire: &Path, python: &Path, feeds: usize, items: usize, seed: u64) -> anyhow::Result<()> {
    // The measured process runs in a temporary directory: a relative path
    // would be taken relative to it.
    let python = &std::path::absolute(python)?;
    let farm = farm::generate(feeds, items, seed, style());
    let server = FarmServer::start(&farm).await?;
    let dir = tempfile::tempdir()?;
    let urls: Vec<String> = farm.feeds.iter().map(|f| server.url(&f.path)).collect();
    let urls_file = dir.path().join("urls.txt");
    std::fs::write(&urls_file, urls.join("\n"))?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/python_pipeline.py");
    let args = [
        script.to_string_lossy().into_owned(),
        urls_file.to_string_lossy().into_owned(),
        dir.path().join("peer.db").to_string_lossy().into_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (py, out) = measure::run(python, &args, dir.path(), &[], None).await?;
    anyhow::ensure!(
        out.contains(&format!("\"items\": {}", farm.items())),
        "the Python pipeline did not store every item: {out}"
    );
    let ours = backfill_once(newswire, &farm, None).await?;
    let py_rate = farm.items() as f64 / py.wall.as_secs_f64();
    let our_rate = ours.items as f64 / ours.cost.wall.as_secs_f64();
    println!("| pipeline | items | wall s | items/s | CPU s / 1000 items | peak RSS MB |");
    println!("|---|---|---|---|---|---|");
    for (name, cost) in [("Python: feedparser + trafilatura + sqlite3", py), ("newswire", ours.cost)] {
        println!(
            "| {name} | {} | {:.2} | {:.0} | {:.3} | {:.0} |",
            farm.items(),
            cost.wall.as_secs_f64(),
            farm.items() as f64 / cost.wall.as_secs_f64(),
            cost.cpu.as_secs_f64() * 1000.0 / farm.items() as f64,
            cost.peak_rss as f64 / 1_000_000.0
        );
    }
    println!("\nnewswire / Python throughput: {:.1}×", our_rate / py_rate);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let newswire = std::path::absolute(cli.newswire.clone().unwrap_or_else(default_newswire))?;
    anyhow::ensure!(newswire.exists(), "no newswire binary at {} (cargo build --release first)", newswire.display());
    let seed = cli.seed;
    let extra: Vec<(String, String)> =
        cli.env.iter().filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect();
    EXTRA_ENV.get_or_init(|| extra);
    STYLE.get_or_init(|| cli.farm);
    let sink = match &cli.sink {
        Some(spec) => {
            let (kind, url) = spec.split_once('=').ok_or_else(|| anyhow::anyhow!("--sink takes KIND=URL"))?;
            anyhow::ensure!(matches!(kind, "postgres" | "nats"), "--sink kind is postgres or nats");
            Some((kind.to_string(), url.to_string()))
        }
        None => None,
    };
    EXTRA_SINK.get_or_init(|| sink);
    println!("machine: {} cores; binary: {}; farm: {:?}\n", cores(), newswire.display(), cli.farm);
    match cli.command {
        Cmd::Backfill { feeds, items, cpus } => {
            let farm = farm::generate(feeds, items, seed, style());
            backfill_header();
            let r = backfill_once(&newswire, &farm, cpus.as_deref()).await?;
            let label = match (&cli.sink, cpus.as_deref()) {
                (Some(sink), _) => format!("sqlite + {}", sink.split('=').next().unwrap_or_default()),
                (None, Some(_)) => "pinned".to_string(),
                (None, None) => "all cores".to_string(),
            };
            backfill_row(&label, feeds, items, &r);
        }
        Cmd::Poll304 { feeds } => poll304(&newswire, feeds, seed).await?,
        Cmd::Stages { feeds, items } => stages(feeds, items, seed)?,
        Cmd::Peer { feeds, items, python } => peer(&newswire, &python, feeds, items, seed).await?,
        Cmd::Index { sizes, probes, postgres } => {
            anyhow::ensure!(sizes.windows(2).all(|w| w[0] < w[1]), "--sizes must be ascending");
            println!("store: {}\n", if postgres.is_some() { "PostgreSQL (scratch schema)" } else { "SQLite" });
            index::print(&index::measure(&sizes, probes, seed, postgres.as_deref()).await?);
        }
        Cmd::Read { records, feeds, rounds, keep } => {
            read::run(&newswire, &read::Options { records, feeds, rounds, keep, seed }).await?;
        }
        Cmd::All { smoke, python } => {
            let (bf, bi, pf, sf, si, peer_f, peer_i) =
                if smoke { (20, 5, 200, 10, 10, 4, 5) } else { (2000, 50, 20000, 200, 50, 100, 50) };
            println!("## 1. Backfill into SQLite\n");
            let farm = farm::generate(bf, bi, seed, style());
            backfill_header();
            let r = backfill_once(&newswire, &farm, None).await?;
            backfill_row("all cores", bf, bi, &r);
            println!("\n## 2. Polling, every feed 304\n");
            poll304(&newswire, pf, seed).await?;
            println!("\n## 3. Stages alone, one thread\n");
            stages(sf, si, seed)?;
            println!("\n## 4. Scaling\n");
            backfill_header();
            for cpus in ["0", "0,1"] {
                if cpus.split(',').count() > cores() {
                    continue;
                }
                let r = backfill_once(&newswire, &farm, Some(cpus)).await?;
                backfill_row(&format!("{} core(s)", cpus.split(',').count()), bf, bi, &r);
            }
            if let Some(python) = python {
                println!("\n## 5. Side by side with Python\n");
                peer(&newswire, &python, peer_f, peer_i, seed).await?;
            }
            println!("\n## 6. Near-duplicate index (docs/clusters.md)\n");
            let (sizes, probes): (&[usize], usize) =
                if smoke { (&[1000, 5000], 200) } else { (&[10_000, 100_000, 1_000_000], 5000) };
            index::print(&index::measure(sizes, probes, seed, None).await?);
            println!("\n## 7. Reading: the console, the read API and export\n");
            let (records, feeds) = if smoke { (2_000, 50) } else { (1_000_000, 10_000) };
            read::run(&newswire, &read::Options { records, feeds, rounds: 21, keep: None, seed }).await?;
        }
    }
    Ok(())
}
