//! The daemon under load: a hundred SIGHUPs alternating valid and broken
//! configs, SIGTERM at random moments of a busy daemon, and more due feeds
//! than the pipeline's channels hold. A test binary of its own: each test
//! runs a daemon for tens of seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use tokio::io::AsyncBufReadExt;

#[path = "e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

/// Requests per feed path, and an optional delay for every answer.
#[derive(Default)]
struct Farm {
    hits: Mutex<HashMap<String, usize>>,
    delay_ms: u64,
}

impl Farm {
    fn hits(&self, n: &str) -> usize {
        self.hits.lock().expect("lock").get(n).copied().unwrap_or(0)
    }
}

async fn serve(farm: Arc<Farm>) -> std::net::SocketAddr {
    use axum::extract::{Path, State};
    async fn feed(State(farm): State<Arc<Farm>>, Path(n): Path<String>) -> axum::response::Response {
        use axum::response::IntoResponse;
        *farm.hits.lock().expect("lock").entry(n.clone()).or_default() += 1;
        if farm.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(farm.delay_ms)).await;
        }
        let body = format!(
            "<rss version=\"2.0\"><channel><title>Feed {n}</title>\
             <item><title>First of {n}</title><link>https://signals.example.org/{n}/1</link><guid>{n}-1</guid>\
             <description>The first report of feed {n}, about the bridge repairs and the new timetable.</description></item>\
             <item><title>Second of {n}</title><link>https://signals.example.org/{n}/2</link><guid>{n}-2</guid>\
             <description>The second report of feed {n}, about the council vote on the harbour budget.</description></item>\
             </channel></rss>"
        );
        ([(axum::http::header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
    }
    let app = axum::Router::new().route("/f/{n}", axum::routing::get(feed)).with_state(farm);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

fn config_text(work: &harness::Workdir, addr: std::net::SocketAddr, feeds: &[String], grace: &str) -> String {
    config_with(work, addr, feeds, grace, "concurrency = 16")
}

fn config_with(
    work: &harness::Workdir,
    addr: std::net::SocketAddr,
    feeds: &[String],
    grace: &str,
    pipeline: &str,
) -> String {
    let mut text = format!(
        "[pipeline]\ndata_dir = \"{}\"\n{pipeline}\nper_host_concurrency = 16\nper_host_rate = 0\nshutdown_grace = \"{grace}\"\n\n\
         [defaults]\nallow_private = true\ntimeout = \"5s\"\ninterval = \"1s\"\nmin_interval = \"1s\"\nmax_interval = \"1s\"\n\n\
         [[sink]]\nkind = \"sqlite\"\n\n[[sink]]\nkind = \"jsonl\"\n",
        work.path().join("data").display()
    );
    for name in feeds {
        text.push_str(&format!("\n[[feed]]\nname = \"{name}\"\nurl = \"http://{addr}/f/{name}\"\n"));
    }
    text
}

/// Broken configs of the kinds operators write, each one an error with a
/// place in the file.
fn broken(valid: &str, variant: usize) -> String {
    match variant % 5 {
        0 => valid.replacen("[[feed]]\nname", "[[feed]]\nintreval = \"5m\"\nname", 1),
        1 => valid.replacen("interval = \"1s\"", "interval = \"soon\"", 1),
        2 => format!("{valid}\n[[feed]\nname = \"half\"\n"),
        3 => valid.replacen("concurrency = 16", "concurrency = \"many\"", 1),
        _ => valid.replacen("kind = \"jsonl\"", "kind = \"parquet\"", 1),
    }
}

/// `newswire run` on `config`, killed if the test fails before it stops it.
fn daemon(
    work: &harness::Workdir,
    config: &std::path::Path,
    log: &str,
    stderr: std::process::Stdio,
) -> tokio::process::Child {
    tokio::process::Command::new(harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", log)
        .stderr(stderr)
        .spawn()
        .expect("start the daemon")
}

/// The daemon's stderr, collected as it comes.
fn collect(stderr: tokio::process::ChildStderr) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(stderr).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            sink.lock().expect("lock").push(line);
        }
    });
    lines
}

async fn wait_for(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn count_lines(lines: &Mutex<Vec<String>>, needle: &str) -> usize {
    lines.lock().expect("lock").iter().filter(|l| l.contains(needle)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_reloads_alternating_valid_and_broken() {
    let farm = Arc::new(Farm::default());
    let addr = serve(Arc::clone(&farm)).await;
    let work = harness::Workdir::new();
    let base: Vec<String> = (0..20).map(|n| format!("base{n}")).collect();
    let path = work.path().join("newswire.toml");
    std::fs::write(&path, config_text(&work, addr, &base, "10s")).expect("write config");
    let mut child = daemon(&work, &path, "info", std::process::Stdio::piped());
    let lines = collect(child.stderr.take().expect("stderr"));
    wait_for("the base feeds stored", Duration::from_secs(30), || {
        work.try_count("SELECT COUNT(*) FROM records") == Some(40)
    })
    .await;
    let jsonl_before = work.jsonl().len();
    let pid = child.id().expect("pid").to_string();
    let hup = || assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success());

    let (mut applied, mut rejected) = (0, 0);
    let mut slowest = Duration::ZERO;
    for cycle in 0..100 {
        // Every valid config swaps one extra feed for the next.
        let mut feeds = base.clone();
        feeds.push(format!("extra{cycle}"));
        let valid = config_text(&work, addr, &feeds, "10s");
        if cycle % 2 == 0 {
            let reloads = count_lines(&lines, "config reloaded");
            std::fs::write(&path, &valid).expect("write config");
            let sent = Instant::now();
            hup();
            let extra = format!("extra{cycle}");
            wait_for(&format!("reload {cycle} applied and its new feed polled"), Duration::from_secs(10), || {
                count_lines(&lines, "config reloaded") > reloads && farm.hits(&extra) > 0
            })
            .await;
            slowest = slowest.max(sent.elapsed());
            applied += 1;
        } else {
            let rejections = count_lines(&lines, "config reload rejected");
            std::fs::write(&path, broken(&valid, cycle / 2)).expect("write config");
            hup();
            wait_for(&format!("broken config {cycle} rejected"), Duration::from_secs(10), || {
                count_lines(&lines, "config reload rejected") > rejections
            })
            .await;
            let last = lines.lock().expect("lock").iter().rfind(|l| l.contains("config reload rejected")).cloned();
            let last = last.expect("a rejection line");
            assert!(last.contains("newswire.toml:"), "the rejection names the file and line: {last}");
            rejected += 1;
        }
    }
    assert_eq!((applied, rejected), (50, 50));
    // Still alive and polling; removed extras are not polled any more.
    assert!(std::process::Command::new("kill").args(["-0", &pid]).status().expect("kill").success(), "daemon alive");
    let extra0 = farm.hits("extra0");
    let base0 = farm.hits("base0");
    wait_for("base feeds still polled", Duration::from_secs(10), || farm.hits("base0") >= base0 + 2).await;
    assert_eq!(farm.hits("extra0"), extra0, "a feed removed by a reload is not polled");
    // Unchanged feeds were not delivered again: no new versions, no new lines.
    assert_eq!(work.count("SELECT SUM(version) FROM records WHERE feed LIKE 'base%'"), 40);
    let base_lines = work.jsonl().iter().filter(|r| r["feed"].as_str().is_some_and(|f| f.starts_with("base"))).count();
    assert_eq!(base_lines, jsonl_before, "base feeds' records written once");

    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
    assert_eq!(count_lines(&lines, "panicked"), 0, "no panic in the daemon's log");
    eprintln!("100 reloads: 50 applied (slowest {slowest:?} from SIGHUP to the new feed polled), 50 rejected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_exits_0_within_the_grace_period_20_of_20() {
    // Every answer takes 150 ms, so there are always polls in flight.
    let farm = Arc::new(Farm { delay_ms: 150, ..Farm::default() });
    let addr = serve(Arc::clone(&farm)).await;
    let work = harness::Workdir::new();
    let feeds: Vec<String> = (0..200).map(|n| format!("busy{n}")).collect();
    let grace = Duration::from_secs(10);
    let path = work.path().join("newswire.toml");
    std::fs::write(&path, config_text(&work, addr, &feeds, "10s")).expect("write config");
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let mut slowest = Duration::ZERO;
    for trial in 0..20 {
        let child = daemon(&work, &path, "error", std::process::Stdio::null());
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        let pid = child.id().expect("pid").to_string();
        let sent = Instant::now();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
        let out = tokio::time::timeout(grace + Duration::from_secs(20), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("trial {trial}: no exit within {grace:?} and a margin"))
            .expect("wait");
        let took = sent.elapsed();
        slowest = slowest.max(took);
        assert_eq!(out.status.code(), Some(0), "trial {trial}: SIGTERM exits 0");
        assert!(took < grace, "trial {trial}: took {took:?}, longer than the grace period");
    }
    // Everything drained was committed: each feed polled is stored whole.
    let records = work.count("SELECT COUNT(*) FROM records");
    let feeds_with_state = work.count("SELECT COUNT(*) FROM feed_state");
    assert_eq!(records, 2 * feeds_with_state, "a committed feed has both its items");
    eprintln!("20 of 20 SIGTERMs under load exited 0; slowest {slowest:?} (grace {grace:?})");
}

/// More feeds fall due at once than every channel and stage of the
/// pipeline holds together: the scheduler must keep taking reports while it
/// waits for room for the next job, or the full channels wait on each other
/// for ever (they did: the last stage waits for room for its report).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_due_feeds_than_the_pipeline_holds_keep_flowing() {
    let farm = Arc::new(Farm::default());
    let addr = serve(Arc::clone(&farm)).await;
    let work = harness::Workdir::new();
    let feeds: Vec<String> = (0..60).map(|n| format!("many{n}")).collect();
    let path = work.path().join("newswire.toml");
    let tight = "concurrency = 1\nchannel_capacity = 1\nclean_workers = 1";
    std::fs::write(&path, config_with(&work, addr, &feeds, "10s", tight)).expect("write config");
    let mut child = daemon(&work, &path, "error", std::process::Stdio::null());
    wait_for("every feed polled three times", Duration::from_secs(60), || feeds.iter().all(|f| farm.hits(f) >= 3))
        .await;
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 120);
    let pid = child.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
}
