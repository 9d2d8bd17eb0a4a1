//! Faults around a running daemon: the disk fills up, the NATS server goes
//! away, the wall clock is set back. Each time the daemon says so (`/readyz`,
//! metrics), loses nothing, doubles nothing, and recovers by itself.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::daemon::{free_port, get, sample, wait_for};
use crate::harness::Workdir;
use crate::server::FixtureServer;

/// A small tmpfs mounted over a directory, unmounted on drop.
struct Tmpfs {
    dir: std::path::PathBuf,
}

impl Tmpfs {
    /// None (and a line saying the test skipped) where mounting is not
    /// allowed, as for a user who is not root.
    fn mount(dir: &std::path::Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).expect("mount point");
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .ok()?;
        if !out.status.success() {
            eprintln!(
                "skipped: cannot mount a tmpfs here (needs root): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return None;
        }
        Some(Tmpfs { dir: dir.to_path_buf() })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fill the file system holding `path` until a write fails.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("ballast");
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.sync_all();
}

fn daemon(work: &Workdir, config: &std::path::Path) -> tokio::process::Child {
    tokio::process::Command::new(crate::harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", "error")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the daemon")
}

async fn stop(child: &mut tokio::process::Child) {
    let pid = child.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0), "a graceful stop after the fault exits 0");
}

/// Every JSONL line is whole JSON, and no record version is there twice.
fn assert_jsonl_once(work: &Workdir) {
    let lines = work.jsonl();
    let mut seen = std::collections::HashSet::new();
    for line in &lines {
        let key =
            (line["id"].as_str().unwrap_or("").to_string(), line["content_hash"].as_str().unwrap_or("").to_string());
        assert!(seen.insert(key.clone()), "jsonl holds {key:?} twice");
    }
}

/// A feed of one story that grows: version 2 is 40 KB of new text, more
/// than the slack in any page the files already hold.
async fn growing_feed(version: std::sync::Arc<std::sync::atomic::AtomicU32>) -> String {
    use axum::extract::State;
    async fn feed(State(version): State<std::sync::Arc<std::sync::atomic::AtomicU32>>) -> axum::response::Response {
        use axum::response::IntoResponse;
        let v = version.load(Ordering::SeqCst);
        let paragraph = format!(
            "<p>Update {v}: the river authority said the flood barrier held overnight, and engineers will inspect \
             the eastern embankment again at first light before the roads are reopened to traffic.</p>"
        );
        let body = paragraph.repeat(if v == 1 { 2 } else { 200 });
        let rss = format!(
            "<rss version=\"2.0\"><channel><title>River</title><item><title>Flood barrier</title>\
             <link>https://river.example.org/barrier</link><guid>barrier</guid><description><![CDATA[{body}]]></description>\
             </item></channel></rss>"
        );
        ([(axum::http::header::CONTENT_TYPE, "application/rss+xml")], rss).into_response()
    }
    let app = axum::Router::new().route("/river.xml", axum::routing::get(feed)).with_state(version);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    format!("http://{addr}/river.xml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_waited_out_and_nothing_is_lost() {
    let work = Workdir::new();
    let Some(_tmpfs) = Tmpfs::mount(&work.path().join("data"), "4m") else { return };
    let version = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(1));
    let url = growing_feed(std::sync::Arc::clone(&version)).await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = work.config(&[("river", url)], "interval = \"1s\"\nmin_interval = \"1s\"\nmax_interval = \"1s\"");
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.push_str(&format!("\n[server]\nlisten = \"{addr}\"\n"));
    std::fs::write(&config, text).expect("write");
    let mut child = daemon(&work, &config);
    wait_for("the story stored", || async { work.try_count("SELECT COUNT(*) FROM records") == Some(1) }).await;

    // The disk fills up; then the story grows and must be written.
    let ballast = work.path().join("data/ballast");
    fill(&ballast);
    version.store(2, Ordering::SeqCst);
    wait_for("/readyz reports the failing sink", || async {
        get(&addr, "/readyz").await.is_some_and(|(code, body)| code == 503 && body.contains("jsonl"))
    })
    .await;
    let (_, metrics) = get(&addr, "/metrics").await.expect("metrics");
    assert!(
        sample(&metrics, "newswire_sink_write_errors_total", &["sink=\"jsonl\""]).unwrap_or(0.0) >= 1.0,
        "{metrics}"
    );
    let grown = "SELECT COUNT(*) FROM records WHERE body LIKE '%Update 2:%'";
    assert_eq!(work.count(grown), 0, "the checkpoint waits for every sink");

    // Space comes back: the daemon catches up by itself.
    std::fs::remove_file(&ballast).expect("free the space");
    wait_for("the update stored and /readyz healthy again", || async {
        work.count(grown) == 1 && get(&addr, "/readyz").await.is_some_and(|(code, _)| code == 200)
    })
    .await;
    stop(&mut child).await;
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 1, "nothing lost, nothing doubled");
    assert_eq!(work.count("SELECT version FROM records"), 2);
    let lines = work.jsonl();
    assert_eq!(lines.len(), 2, "both versions reached the log once, whole");
    assert_jsonl_once(&work);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_set_back_does_not_silence_the_feeds() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let config = work.config(
        &[("world", server.url("/rss.xml")), ("versioned", server.url("/versioned.xml"))],
        "interval = \"1s\"\nmin_interval = \"1s\"\nmax_interval = \"1s\"",
    );
    let out = crate::harness::run(&["backfill", "-c", config.to_str().expect("utf-8")], work.path()).await;
    assert!(out.status.success(), "{}", crate::harness::stderr(&out));
    // The state says the feeds were polled a year from now and are due a
    // second after that: as if the clock was set back a year since.
    {
        let db = work.db();
        let year = chrono::Duration::days(365);
        let polled = (chrono::Utc::now() + year).to_rfc3339();
        let due = (chrono::Utc::now() + year + chrono::Duration::seconds(1)).to_rfc3339();
        let changed = db
            .execute(
                "UPDATE feed_state SET state = json_set(state, '$.last_polled_at', ?1, '$.next_due_at', ?2)",
                [&polled, &due],
            )
            .expect("rewrite the state");
        assert_eq!(changed, 2);
    }
    let before = server.seen.hits("/versioned.xml");
    let mut child = daemon(&work, &config);
    wait_for("the feeds polled again", || async { server.seen.hits("/versioned.xml") >= before + 2 }).await;
    stop(&mut child).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(feature = "nats"), ignore = "needs the nats feature (on by default)")]
async fn a_nats_server_that_goes_away_is_retried_and_nothing_is_lost() {
    let Ok(nats_url) = std::env::var("NEWSWIRE_TEST_NATS_URL") else {
        eprintln!("skipped: NEWSWIRE_TEST_NATS_URL is not set");
        return;
    };
    let upstream = nats_url.trim_start_matches("nats://").to_string();
    let proxy = crate::proxy::Proxy::start(upstream).await;
    let suffix: u32 = rand::Rng::random(&mut rand::rng());
    let stream = format!("NEWSWIRE_FAULT_{suffix}");
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = work.config(
        &[("world", server.url("/rss.xml")), ("versioned", server.url("/versioned.xml"))],
        "interval = \"1s\"\nmin_interval = \"1s\"\nmax_interval = \"1s\"",
    );
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.push_str(&format!(
        "\n[[sink]]\nkind = \"nats\"\nurl = \"nats://{}\"\nstream = \"{stream}\"\nsubject = \"fault{suffix}.{{feed}}\"\n\n[server]\nlisten = \"{addr}\"\n",
        proxy.addr
    ));
    std::fs::write(&config, text).expect("write");
    let js = async_nats::jetstream::new(async_nats::connect(&nats_url).await.expect("connect to nats"));
    let messages = || {
        let js = js.clone();
        let stream = stream.clone();
        async move {
            match js.get_stream(&stream).await {
                Ok(mut s) => s.info().await.map(|i| i.state.messages).unwrap_or(0),
                Err(_) => 0,
            }
        }
    };
    let mut child = daemon(&work, &config);
    wait_for("the records published", || async { messages().await == 5 }).await;

    // The server "restarts": every connection through the proxy breaks.
    proxy.cut();
    server.seen.version.store(2, Ordering::SeqCst);
    wait_for("/readyz reports the nats sink", || async {
        get(&addr, "/readyz").await.is_some_and(|(code, body)| code == 503 && body.contains("nats"))
    })
    .await;
    proxy.restore();
    wait_for("the update published and /readyz healthy again", || async {
        messages().await == 6 && get(&addr, "/readyz").await.is_some_and(|(code, _)| code == 200)
    })
    .await;
    stop(&mut child).await;
    let total = messages().await;
    let _ = js.delete_stream(&stream).await;
    assert_eq!(total, 6, "five records and one update, each once");
    assert_eq!(work.count("SELECT COUNT(*) FROM records WHERE guid = 'bridge' AND body LIKE '%June%'"), 1);
}
