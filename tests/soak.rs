//! The soak: the daemon over a local farm of 10,000 feeds for a long time.
//!
//! Ignored in the ordinary test run (it runs for minutes to hours); run it
//! with
//!
//! ```text
//! NEWSWIRE_SOAK_MINUTES=30 cargo test --release --test soak -- --ignored --nocapture
//! ```
//!
//! (`NEWSWIRE_SOAK_MINUTES=360` for six hours, `NEWSWIRE_SOAK_FEEDS` for
//! another farm size, `NEWSWIRE_SOAK_WRAPPER=heaptrack` to run the daemon
//! under a profiler: the samples then follow the daemon, the wrapper's
//! child). Feeds answer with ETags (most polls are 304s, as in life), one in
//! twenty publishes a new item every minute, and every feed's interval is
//! 60 s. Every 10 s it samples the daemon's resident memory and open file
//! descriptors from /proc, and the scheduler's overdue feeds, poll lag and
//! SQLite's memory from /metrics. It fails on a panic in the log, SQLite
//! holding more than its caches' bound, the rest of resident memory still
//! climbing after warm-up (the second half's peak more than a twentieth and
//! 2 MB above the first half's), the floor of open descriptors rising, or
//! the worst poll lag (to its histogram bucket) above twice the interval; it
//! prints the samples.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

const INTERVAL_S: u64 = 60;
/// SQLite's page caches (32 + 8 + 1 MiB, crates/storer/src/sqlite/store.rs) plus
/// its statements and schema.
const SQLITE_BOUND_MB: u64 = 48;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Farm {
    started: Instant,
    polls: AtomicU64,
}

/// Feed `n` at minute `m`: items up to the minute for one feed in twenty,
/// a fixed pair for the rest. The ETag names the content.
fn document(n: u64, minute: u64) -> (String, String) {
    let newest = if n.is_multiple_of(20) { minute } else { 0 };
    let mut items = String::new();
    for k in newest.saturating_sub(9)..=newest {
        items.push_str(&format!(
            "<item><title>Soak {n} item {k}</title><link>https://soak.example.org/{n}/{k}</link><guid>soak-{n}-{k}</guid>\
             <description>Report {k} of station {n}: the ferry ran on time and the harbour office published the \
             tide tables for the coming week after the storm.</description></item>"
        ));
    }
    (
        format!("\"{n}-{newest}\""),
        format!("<rss version=\"2.0\"><channel><title>Soak {n}</title>{items}</channel></rss>"),
    )
}

async fn serve(farm: Arc<Farm>) -> std::net::SocketAddr {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode, header};
    async fn feed(State(farm): State<Arc<Farm>>, Path(n): Path<u64>, headers: HeaderMap) -> axum::response::Response {
        use axum::response::IntoResponse;
        farm.polls.fetch_add(1, Ordering::Relaxed);
        let (etag, body) = document(n, farm.started.elapsed().as_secs() / 60);
        if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        ([(header::CONTENT_TYPE, "application/rss+xml".to_string()), (header::ETAG, etag)], body).into_response()
    }
    let app = axum::Router::new().route("/f/{n}", axum::routing::get(feed)).with_state(farm);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

async fn metrics(addr: &str) -> String {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else { return String::new() };
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").await;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out).await;
    out
}

/// The sum of a metric's samples whose line holds `label`.
fn value(metrics: &str, name: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a soak runs for minutes to hours: NEWSWIRE_SOAK_MINUTES=30 cargo test --release --test soak -- --ignored"]
async fn ten_thousand_feeds_for_half_an_hour() {
    let minutes = env_number("NEWSWIRE_SOAK_MINUTES", 30);
    let feeds = env_number("NEWSWIRE_SOAK_FEEDS", 10_000);
    let farm = Arc::new(Farm { started: Instant::now(), polls: AtomicU64::new(0) });
    let addr = serve(Arc::clone(&farm)).await;
    let work = harness::Workdir::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let status = format!("127.0.0.1:{port}");
    let mut text = format!(
        "[pipeline]\ndata_dir = \"{}\"\nconcurrency = 64\nper_host_concurrency = 64\nper_host_rate = 0\n\n\
         [defaults]\nallow_private = true\ninterval = \"{INTERVAL_S}s\"\nmin_interval = \"{INTERVAL_S}s\"\nmax_interval = \"{INTERVAL_S}s\"\n\n\
         [[sink]]\nkind = \"sqlite\"\n\n[[sink]]\nkind = \"jsonl\"\n\n[server]\nlisten = \"{status}\"\n",
        work.path().join("data").display()
    );
    for n in 0..feeds {
        text.push_str(&format!("\n[[feed]]\nname = \"soak{n}\"\nurl = \"http://{addr}/f/{n}\"\n"));
    }
    let config = work.path().join("soak.toml");
    std::fs::write(&config, text).expect("write config");
    let log = work.path().join("daemon.log");
    let wrapper = std::env::var("NEWSWIRE_SOAK_WRAPPER").ok().filter(|w| !w.is_empty());
    let mut command = match &wrapper {
        Some(w) => {
            let mut c = tokio::process::Command::new(w);
            c.arg(harness::bin());
            c
        }
        None => tokio::process::Command::new(harness::bin()),
    };
    let mut child = command
        .kill_on_drop(true)
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", "warn")
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("start the daemon");
    let mut pid = child.id().expect("pid");
    if wrapper.is_some() {
        pid = daemon_under(pid).await;
    }

    let mut samples: Vec<Sample> = Vec::new();
    let mut last_buckets: Vec<(f64, f64)> = Vec::new();
    let end = Instant::now() + Duration::from_secs(minutes * 60);
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let m = metrics(&status).await;
        samples.push(Sample {
            minute: farm.started.elapsed().as_secs_f64() / 60.0,
            rss_mb: proc_status_kb(pid, "VmRSS:") / 1024,
            sqlite_mb: (value(&m, "newswire_sqlite_memory_bytes", "") / (1024.0 * 1024.0)) as u64,
            fds: std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0),
            overdue: value(&m, "newswire_scheduler_feeds_overdue", ""),
            lag: {
                let buckets = lag_buckets(&m);
                let lag = worst_lag(&last_buckets, &buckets);
                last_buckets = buckets;
                lag
            },
            polls: farm.polls.load(Ordering::Relaxed),
        });
    }
    assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill").success());
    let exit = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.expect("exits").expect("wait");

    println!(
        "| minute | RSS MB | of which SQLite MB | fds | overdue feeds | worst poll lag s (bucket bound) | polls served |"
    );
    println!("|---|---|---|---|---|---|---|");
    for s in &samples {
        println!(
            "| {:.1} | {} | {} | {} | {} | {} | {} |",
            s.minute, s.rss_mb, s.sqlite_mb, s.fds, s.overdue, s.lag, s.polls
        );
    }
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!log.contains("panicked"), "a panic in the daemon's log");
    assert_eq!(exit.code(), Some(0));
    // Warm-up: the first two intervals (every feed stored once).
    let warm: Vec<&Sample> = samples.iter().filter(|s| s.minute >= 2.0 * INTERVAL_S as f64 / 60.0 + 0.5).collect();
    assert!(warm.len() >= 2, "the soak must run past its warm-up ({minutes} minutes is too short)");
    // SQLite's page caches fill as the archive grows, up to their bound
    // (docs/reliability.md); they may take longer than the run to get there,
    // so they are checked against the bound and the rest of resident memory
    // is checked for growth. The two halves after warm-up are compared: memory
    // that levels off peaks about as high in the second half as in the first,
    // a leak keeps climbing. Descriptors go up and down with the connections
    // in flight, so their floor is compared.
    let sqlite_peak = warm.iter().map(|s| s.sqlite_mb).max().unwrap_or(0);
    assert!(sqlite_peak <= SQLITE_BOUND_MB, "SQLite held {sqlite_peak} MB, above its bound of {SQLITE_BOUND_MB} MB");
    let (early, late) = warm.split_at(warm.len() / 2);
    let peak = |half: &[&Sample], of: fn(&Sample) -> u64| half.iter().map(|s| of(s)).max().unwrap_or(0);
    let rest = |s: &Sample| s.rss_mb.saturating_sub(s.sqlite_mb);
    let rss = |s: &Sample| s.rss_mb;
    let floor = |half: &[&Sample]| half.iter().map(|s| s.fds).min().unwrap_or(0);
    // A twentieth and 2 MB of slack: a leak of 1 MB a minute fails a
    // 30-minute run, and a slower one a longer run.
    assert!(
        peak(late, rest) as f64 <= peak(early, rest) as f64 * 1.05 + 2.0,
        "resident memory besides SQLite's caches kept growing: peak {} MB in the first half after warm-up, {} MB in the second",
        peak(early, rest),
        peak(late, rest)
    );
    assert!(floor(late) <= floor(early) + 8, "open descriptors grew: floor {} then {}", floor(early), floor(late));
    let worst = warm.iter().map(|s| s.lag).fold(0.0, f64::max);
    assert!(
        worst <= 2.0 * INTERVAL_S as f64,
        "poll lag reached the bucket up to {worst} s, past twice the interval ({INTERVAL_S} s)"
    );
    let (first, last) = (warm[0], warm[warm.len() - 1]);
    println!(
        "soak: {feeds} feeds, {minutes} min, {} polls; after warm-up RSS {} MB at first, peaks {} then {} MB by half \
         (besides SQLite: {} then {} MB; SQLite {} MB at first, {} MB at last); descriptor floor {} then {}; \
         worst poll lag {worst:.2} s",
        last.polls,
        first.rss_mb,
        peak(early, rss),
        peak(late, rss),
        peak(early, rest),
        peak(late, rest),
        first.sqlite_mb,
        last.sqlite_mb,
        floor(early),
        floor(late)
    );
}

/// One sample of the daemon, every 10 s.
struct Sample {
    minute: f64,
    rss_mb: u64,
    /// `newswire_sqlite_memory_bytes`, in MB.
    sqlite_mb: u64,
    fds: usize,
    overdue: f64,
    /// The worst poll lag since the sample before, s: the bound of the
    /// histogram bucket that holds it.
    lag: f64,
    polls: u64,
}

/// The daemon's pid under a wrapper: the first process below `root` that
/// runs newswire's binary (waits for the wrapper to start it).
async fn daemon_under(root: u32) -> u32 {
    let exe = std::fs::canonicalize(harness::bin()).expect("binary path");
    for _ in 0..600 {
        let mut queue = vec![root];
        while let Some(p) = queue.pop() {
            if std::fs::read_link(format!("/proc/{p}/exe")).is_ok_and(|e| e == exe) {
                return p;
            }
            let children = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")).unwrap_or_default();
            queue.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no newswire process under the wrapper {root}");
}

/// The poll lag histogram's cumulative buckets: (upper bound, count).
fn lag_buckets(metrics: &str) -> Vec<(f64, f64)> {
    metrics
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("newswire_scheduler_poll_lag_seconds_bucket{le=\"")?;
            let (le, count) = rest.split_once("\"} ")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((le, count.parse().ok()?))
        })
        .collect()
}

/// An upper bound of the worst poll lag between two scrapes: the smallest
/// bucket bound holding every poll started since the earlier one (0 when
/// none started).
fn worst_lag(before: &[(f64, f64)], after: &[(f64, f64)]) -> f64 {
    let count = |buckets: &[(f64, f64)], le: f64| buckets.iter().find(|b| b.0 == le).map_or(0.0, |b| b.1);
    let new = |le: f64| count(after, le) - count(before, le);
    let total = new(f64::INFINITY);
    if total <= 0.0 {
        return 0.0;
    }
    after.iter().map(|b| b.0).find(|&le| new(le) >= total).unwrap_or(f64::INFINITY)
}

#[test]
fn worst_lag_is_the_bucket_holding_every_new_poll() {
    let before = [(1.0, 5.0), (60.0, 8.0), (120.0, 8.0), (f64::INFINITY, 8.0)];
    let after = [(1.0, 9.0), (60.0, 12.0), (120.0, 13.0), (f64::INFINITY, 13.0)];
    assert_eq!(worst_lag(&before, &after), 120.0);
    assert_eq!(worst_lag(&after, &after), 0.0, "no poll since");
    assert_eq!(worst_lag(&[], &before), 60.0);
    let text = "newswire_scheduler_poll_lag_seconds_bucket{le=\"0.5\"} 3\nnewswire_scheduler_poll_lag_seconds_bucket{le=\"+Inf\"} 4\nnewswire_scheduler_poll_lag_seconds_sum 9\n";
    assert_eq!(lag_buckets(text), [(0.5, 3.0), (f64::INFINITY, 4.0)]);
}
