//! Issue 27: a feed handed back by one daemon while it was being polled
//! was taken by another and polled again at once. This test starts several
//! daemons together over many feeds, several times over, and reads the
//! feed farm's request log: no feed may be requested twice less than half
//! an interval apart, by one daemon or by two.
//!
//! The race is made likely on purpose: the interval equals the lease round
//! (a third of `lease_ttl`), so the feeds polled at start come due again
//! just as the first rebalancing rounds hand feeds back; and the farm
//! answers slowly (200-800 ms), so a poll is still uncommitted when
//! another daemon takes its feed. A test binary of its own: it measures
//! request spacing and must not share the machine with other tests.
//!
//! Knobs for a longer run: `NEWSWIRE_HANDBACK_RUNS` (default 4),
//! `NEWSWIRE_HANDBACK_DAEMONS` (4), `NEWSWIRE_HANDBACK_FEEDS` (400).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;

#[path = "e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::Workdir;

/// The farm's request log: (feed number, user agent = daemon, when).
type Log = Arc<Mutex<Vec<(u32, String, Instant)>>>;

const INTERVAL: Duration = Duration::from_secs(2);

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A farm of RSS feeds at `/f/{n}` that logs each request on arrival and
/// answers after 200-800 ms.
async fn slow_farm(log: Log) -> std::net::SocketAddr {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, header};
    use axum::response::IntoResponse;
    async fn feed(State(log): State<Log>, Path(n): Path<u32>, headers: HeaderMap) -> axum::response::Response {
        let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        log.lock().expect("lock").push((n, ua, Instant::now()));
        let delay = Duration::from_millis(rand::rng().random_range(200..800));
        tokio::time::sleep(delay).await;
        let body = format!(
            "<rss version=\"2.0\"><channel><title>Feed {n}</title><item><title>Item of feed {n}</title><link>https://farm.example.org/{n}</link><guid>farm-{n}</guid></item></channel></rss>"
        );
        ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
    }
    let app = axum::Router::new().route("/f/{n}", axum::routing::get(feed)).with_state(log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

/// Requests of one feed closer than half an interval: (feed, first daemon,
/// second daemon, gap).
fn too_close(log: &[(u32, String, Instant)]) -> Vec<(u32, String, String, Duration)> {
    let mut by_feed: HashMap<u32, Vec<(&str, Instant)>> = HashMap::new();
    for (n, ua, at) in log {
        by_feed.entry(*n).or_default().push((ua.as_str(), *at));
    }
    let mut out = Vec::new();
    for (n, mut seen) in by_feed {
        seen.sort_by_key(|(_, at)| *at);
        for pair in seen.windows(2) {
            let gap = pair[1].1 - pair[0].1;
            if gap < INTERVAL / 2 {
                out.push((n, pair[0].0.to_string(), pair[1].0.to_string(), gap));
            }
        }
    }
    out.sort_by_key(|(n, ..)| *n);
    out
}

/// One run: `daemons` daemons started at once over `feeds` feeds in a fresh
/// schema, polling for `polling`, then stopped. Returns the request log and
/// the daemons' exit codes.
async fn run_once(
    pg_url: &str,
    daemons: usize,
    feeds: usize,
    polling: Duration,
) -> (Vec<(u32, String, Instant)>, Vec<Option<i32>>) {
    let schema = format!("newswire_handback_{}", rand::rng().random::<u32>());
    let log: Log = Arc::default();
    let addr = slow_farm(Arc::clone(&log)).await;
    let work = Workdir::new();
    let mut list = String::new();
    for n in 0..feeds {
        list.push_str(&format!("\n[[feed]]\nname = \"f{n}\"\nurl = \"http://{addr}/f/{n}\"\n"));
    }
    let mut children = Vec::new();
    for d in 0..daemons {
        let name = format!("daemon-{d}");
        let text = format!(
            "[pipeline]\nstate = \"postgres\"\nlease_ttl = \"6s\"\nconcurrency = 256\nper_host_concurrency = 256\nper_host_rate = 0\nuser_agent = \"{name}\"\ndata_dir = \"{}\"\n\n[defaults]\nallow_private = true\ntimeout = \"5s\"\ninterval = \"2s\"\nmin_interval = \"2s\"\nmax_interval = \"2s\"\n\n[[sink]]\nkind = \"postgres\"\nurl = \"{pg_url}\"\nschema = \"{schema}\"\n{list}",
            work.path().join(&name).display()
        );
        let path = work.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write config");
        children.push(
            tokio::process::Command::new(harness::bin())
                .args(["run", "-c", path.to_str().expect("utf-8")])
                .current_dir(work.path())
                .env("RUST_LOG", "error")
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start a daemon"),
        );
    }
    tokio::time::sleep(polling).await;
    for child in &children {
        let pid = child.id().expect("pid").to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    }
    let mut codes = Vec::new();
    for child in &mut children {
        codes.push(child.wait().await.expect("wait").code());
    }
    let (client, connection) = tokio_postgres::connect(pg_url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let _ = client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await;
    let log = log.lock().expect("lock").clone();
    (log, codes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(feature = "postgres"), ignore = "needs the postgres feature (on by default)")]
async fn daemons_started_together_never_poll_a_feed_twice_in_half_an_interval() {
    let Ok(pg_url) = std::env::var("NEWSWIRE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: NEWSWIRE_TEST_POSTGRES_URL is not set");
        return;
    };
    let (runs, daemons, feeds) =
        (knob("NEWSWIRE_HANDBACK_RUNS", 4), knob("NEWSWIRE_HANDBACK_DAEMONS", 4), knob("NEWSWIRE_HANDBACK_FEEDS", 400));
    let mut failures = Vec::new();
    for run in 0..runs {
        let (log, codes) = run_once(&pg_url, daemons, feeds, Duration::from_secs(10)).await;
        assert!(codes.iter().all(|c| *c == Some(0)), "run {run}: every daemon exits 0 on SIGTERM: {codes:?}");
        let polled: std::collections::HashSet<u32> = log.iter().map(|(n, ..)| *n).collect();
        assert_eq!(polled.len(), feeds, "run {run}: every feed polled");
        let by: std::collections::HashSet<&str> = log.iter().map(|(_, ua, _)| ua.as_str()).collect();
        assert_eq!(by.len(), daemons, "run {run}: every daemon polled");
        let close = too_close(&log);
        eprintln!("run {run}: {} requests, {} closer than half an interval", log.len(), close.len());
        failures.extend(close.into_iter().map(|c| (run, c)));
    }
    assert!(
        failures.is_empty(),
        "feeds requested twice within {:?} (run, (feed, first, second, gap)): {failures:?}",
        INTERVAL / 2
    );
}
