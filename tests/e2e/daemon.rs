//! The daemon's operating surface: the status server and SIGHUP reload.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::Workdir;
use crate::server::FixtureServer;

/// GET a path from the status server: (status code, body).
pub(crate) async fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Wait (bounded) until `check` holds.
pub(crate) async fn wait_for<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of the sample whose line starts with `name{` and holds every label.
pub(crate) fn sample(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// A count, or -1 while the database or its tables do not exist yet.
fn count(work: &Workdir, sql: &str) -> i64 {
    work.try_count(sql).unwrap_or(-1)
}

fn write_config(work: &Workdir, server: &FixtureServer, feeds: &[(&str, &str)], port: u16) -> std::path::PathBuf {
    let feeds: Vec<(&str, String)> = feeds.iter().map(|(n, p)| (*n, server.url(p))).collect();
    let path = work.config(&feeds, "interval = \"1s\"");
    let mut text = std::fs::read_to_string(&path).expect("read config");
    text.push_str(&format!("\n[server]\nlisten = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&path, text).expect("write config");
    path
}

/// With `feed_labels = false` the per-feed counters sum over the feeds: no
/// `feed` label in any sample, and the totals are those of both feeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_without_feed_labels_sum_over_the_feeds() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = write_config(&work, &server, &[("world", "/rss.xml"), ("versioned", "/versioned.xml")], port);
    let mut text = std::fs::read_to_string(&config).expect("read config");
    text.push_str("feed_labels = false\n");
    std::fs::write(&config, text).expect("write config");
    let mut child = tokio::process::Command::new(crate::harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .spawn()
        .expect("start the daemon");
    wait_for("both feeds stored", || async { count(&work, "SELECT COUNT(*) FROM records") == 5 }).await;
    wait_for("the items counted", || async {
        let metrics = get(&addr, "/metrics").await.map(|r| r.1).unwrap_or_default();
        sample(&metrics, "newswire_store_items_total", &["result=\"new\""]) == Some(5.0)
    })
    .await;
    let metrics = get(&addr, "/metrics").await.map(|r| r.1).expect("metrics");
    assert!(!metrics.contains("feed=\""), "{metrics}");
    assert!(sample(&metrics, "newswire_fetch_polls_total", &["outcome=\"items\""]).is_some_and(|n| n >= 2.0));
    // SQLite's own memory is read at each scrape: the store is open and has
    // written, so its page caches hold something.
    assert!(sample(&metrics, "newswire_sqlite_memory_bytes", &[]).is_some_and(|b| b > 0.0), "{metrics}");
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().expect("pid").to_string()])
            .status()
            .expect("kill")
            .success()
    );
    assert_eq!(child.wait().await.expect("wait").code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_server_and_reload() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = write_config(&work, &server, &[("world", "/rss.xml"), ("versioned", "/versioned.xml")], port);
    let mut child = tokio::process::Command::new(crate::harness::bin())
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the daemon");

    wait_for("both feeds stored", || async { count(&work, "SELECT COUNT(*) FROM records") == 5 }).await;
    assert_eq!(get(&addr, "/healthz").await.map(|r| r.0), Some(200));
    wait_for("ready", || async { get(&addr, "/readyz").await.is_some_and(|r| r.0 == 200) }).await;

    // /metrics is Prometheus text, and its counters match what was written.
    let (code, metrics) = get(&addr, "/metrics").await.expect("metrics");
    assert_eq!(code, 200);
    for line in metrics.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (name_and_labels, value) = line.rsplit_once(' ').expect("`name value` lines");
        assert!(value.parse::<f64>().is_ok(), "value of {line}");
        assert!(name_and_labels.starts_with("newswire_"), "{line}");
    }
    assert_eq!(sample(&metrics, "newswire_store_items_total", &["feed=\"world\"", "result=\"new\""]), Some(3.0));
    assert_eq!(sample(&metrics, "newswire_store_items_total", &["feed=\"versioned\"", "result=\"new\""]), Some(2.0));
    assert!(sample(&metrics, "newswire_fetch_polls_total", &["feed=\"world\"", "outcome=\"items\""]) == Some(1.0));
    assert!(metrics.contains("newswire_sink_write_duration_seconds"), "{metrics}");

    // /feeds: one JSON object per feed.
    let (_, feeds) = get(&addr, "/feeds").await.expect("feeds");
    let feeds: serde_json::Value = serde_json::from_str(&feeds).expect("JSON");
    let names: Vec<&str> = feeds.as_array().expect("array").iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["versioned", "world"]);
    assert_eq!(feeds[1]["error_count"], 0);
    assert!(feeds[1]["next_due"].is_string());

    // SIGHUP with a new config: "versioned" removed, "science" added.
    let pid = child.id().expect("pid").to_string();
    let hup = || std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill");
    write_config(&work, &server, &[("world", "/rss.xml"), ("science", "/feed.json")], port);
    assert!(hup().success());
    wait_for("science polled after reload", || async { server.seen.hits("/feed.json") >= 1 }).await;
    wait_for("science stored", || async { count(&work, "SELECT COUNT(*) FROM records WHERE feed = 'science'") == 2 })
        .await;
    wait_for("versioned gone from /feeds", || async {
        get(&addr, "/feeds").await.is_some_and(|(_, b)| b.contains("science") && !b.contains("versioned"))
    })
    .await;
    let versioned_hits = server.seen.hits("/versioned.xml");

    // A broken config is rejected and the running one stays.
    std::fs::write(&config, "[[feed]]\nname = \"x\"\nurll = \"oops\"\n").expect("write broken config");
    assert!(hup().success());
    let world_hits = server.seen.hits("/rss.xml");
    wait_for("world still polled", || async { server.seen.hits("/rss.xml") >= world_hits + 2 }).await;
    assert_eq!(server.seen.hits("/versioned.xml"), versioned_hits, "a removed feed is not polled");

    let term = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(term.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).await.expect("read");
    assert!(err.contains("config reloaded"), "{err}");
    assert!(err.contains("config reload rejected"), "{err}");
    assert!(err.contains("newswire.toml:3:1"), "the rejection names file and line: {err}");
}

/// SIGTERM while a feed's response is still on its way: the daemon waits
/// for it, stores it, commits, and exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_batch_loses_nothing() {
    use axum::http::header;
    use std::sync::atomic::{AtomicBool, Ordering};
    let requested = std::sync::Arc::new(AtomicBool::new(false));
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let app = {
        let (requested, release) = (std::sync::Arc::clone(&requested), std::sync::Arc::clone(&release));
        axum::Router::new().route(
            "/slow.xml",
            axum::routing::get(move || {
                let (requested, release) = (std::sync::Arc::clone(&requested), std::sync::Arc::clone(&release));
                async move {
                    requested.store(true, Ordering::SeqCst);
                    release.notified().await;
                    ([(header::CONTENT_TYPE, "application/rss+xml")], crate::server::WORLD_RSS)
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });

    let work = Workdir::new();
    let config = work.config(&[("slow", format!("http://{addr}/slow.xml"))], "");
    let mut child = tokio::process::Command::new(crate::harness::bin())
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the daemon");
    wait_for("the poll is in flight", || async { requested.load(Ordering::SeqCst) }).await;
    let pid = child.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    // The daemon must still be draining: let the response go now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(child.try_wait().expect("try_wait").is_none(), "the daemon waits for the batch in flight");
    release.notify_waiters();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
    assert_eq!(work.count("SELECT COUNT(*) FROM records WHERE feed = 'slow'"), 3, "the in-flight batch was stored");
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).await.expect("read");
    assert!(err.contains("draining in-flight feeds") && err.contains("daemon stopped"), "{err}");
}

/// Under systemd (`Type=notify-reload`): READY=1 once polling; a SIGHUP
/// sends RELOADING=1 with the monotonic time, then READY=1 when the reload
/// is done, whether it was applied or rejected; STOPPING=1 on SIGTERM.
/// `newswire healthcheck` answers 0 while the daemon is ready and 1 once it
/// is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_reload_and_healthcheck() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let port = free_port();
    let config = write_config(&work, &server, &[("world", "/rss.xml")], port);
    let socket_path = work.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&socket_path).expect("bind the notify socket");
    let next = || async {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(60), socket.recv(&mut buf))
            .await
            .expect("a notification within a minute")
            .expect("recv");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut child = tokio::process::Command::new(crate::harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("NOTIFY_SOCKET", &socket_path)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the daemon");
    assert_eq!(next().await, "READY=1");

    let healthcheck = || {
        let config = config.clone();
        let cwd = work.path().to_path_buf();
        async move {
            let out = crate::harness::run(&["healthcheck", "-c", config.to_str().expect("utf-8")], &cwd).await;
            (out.status.code(), crate::harness::stdout(&out))
        }
    };
    assert_eq!(healthcheck().await, (Some(0), "ready\n".to_string()));

    let pid = child.id().expect("pid").to_string();
    let hup = || std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill");
    let monotonic_usec = |message: &str| -> u64 {
        let stamp = message.strip_prefix("RELOADING=1\nMONOTONIC_USEC=").unwrap_or_else(|| panic!("{message:?}"));
        stamp.parse().unwrap_or_else(|_| panic!("{message:?}"))
    };
    assert!(hup().success());
    let first = monotonic_usec(&next().await);
    assert_eq!(next().await, "READY=1", "an applied reload ends with READY=1");

    std::fs::write(&config, "[[feed]]\nname = \"x\"\nurll = \"oops\"\n").expect("write broken config");
    assert!(hup().success());
    let second = monotonic_usec(&next().await);
    assert!(second > first, "each reload has its own start time: {first} then {second}");
    assert_eq!(next().await, "READY=1", "a rejected reload ends with READY=1 too");

    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    assert_eq!(next().await, "STOPPING=1");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
    // The broken config is still on disk: --addr asks without reading it.
    let out = crate::harness::run(&["healthcheck", "--addr", &format!("127.0.0.1:{port}")], work.path()).await;
    assert_eq!(out.status.code(), Some(1), "{}", crate::harness::stdout(&out));
    assert!(crate::harness::stdout(&out).contains("cannot connect"), "{}", crate::harness::stdout(&out));
}

/// The feed's template, learned across polls and kept across a restart:
/// three items carry a promotion no rule names (kept: the default needs
/// four); the daemon stops; the feed adds a fourth item; the restarted
/// daemon, from the stored state, removes the promotion from all four,
/// recorded as `template`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_template_is_learned_across_polls_and_a_restart() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let config = write_config(&work, &server, &[("harbour", "/promo.xml")], free_port());
    let start = || {
        tokio::process::Command::new(crate::harness::bin())
            .args(["run", "-c", config.to_str().expect("utf-8")])
            .current_dir(work.path())
            .spawn()
            .expect("start the daemon")
    };
    let stop = |child: &tokio::process::Child| {
        let pid = child.id().expect("pid").to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    };
    let promo_bodies =
        |work: &Workdir| count(work, &format!("SELECT COUNT(*) FROM records WHERE body LIKE '%{}%'", "tote bag"));

    let mut child = start();
    wait_for("three records", || async { count(&work, "SELECT COUNT(*) FROM records") == 3 }).await;
    wait_for("a second poll", || async { server.seen.hits("/promo.xml") >= 2 }).await;
    assert_eq!(promo_bodies(&work), 3, "seen in three items only: kept");
    stop(&child);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait").code(),
        Some(0)
    );

    server.seen.version.store(2, std::sync::atomic::Ordering::SeqCst);
    let mut child = start();
    wait_for("the promotion gone from every record", || async {
        count(&work, "SELECT COUNT(*) FROM records") == 4 && promo_bodies(&work) == 0
    })
    .await;
    stop(&child);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait").code(),
        Some(0)
    );

    let db = work.db();
    let mut stmt = db.prepare("SELECT body, removed FROM records ORDER BY id").expect("prepare");
    let rows: Vec<(String, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").map(|r| r.expect("row")).collect();
    for (body, removed) in rows {
        assert!(body.contains("print edition on Saturday"), "article text kept: {body}");
        let removed: serde_json::Value = serde_json::from_str(&removed).expect("removed JSON");
        let template: Vec<&serde_json::Value> =
            removed.as_array().expect("array").iter().filter(|r| r["kind"] == "template").collect();
        assert_eq!(template.len(), 1, "{removed}");
        assert_eq!(template[0]["rule"], "template.learned");
        assert_eq!(template[0]["text"], crate::server::PROMO);
    }
}

/// A backfill of one document whose four items share the promotion
/// removes it from all four at once (the document is observed first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_learns_the_template_within_one_document() {
    let server = FixtureServer::start().await;
    server.seen.version.store(2, std::sync::atomic::Ordering::SeqCst);
    let work = Workdir::new();
    let config = work.config(&[("harbour", server.url("/promo.xml"))], "");
    let out = crate::harness::run(&["backfill", "-c", config.to_str().expect("utf-8")], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", crate::harness::stderr(&out));
    assert_eq!(count(&work, "SELECT COUNT(*) FROM records"), 4);
    assert_eq!(count(&work, "SELECT COUNT(*) FROM records WHERE body LIKE '%tote bag%'"), 0);
    assert_eq!(count(&work, "SELECT COUNT(*) FROM records WHERE removed LIKE '%template.learned%'"), 4);
}
