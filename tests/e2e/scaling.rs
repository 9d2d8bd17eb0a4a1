//! Several sinks at once, against the real PostgreSQL and NATS servers
//! named by NEWSWIRE_TEST_POSTGRES_URL and NEWSWIRE_TEST_NATS_URL. Each run
//! uses a fresh schema and stream, removed at the end.

use rand::Rng;

use crate::harness::{Workdir, run, stderr, stdout};
use crate::server::FixtureServer;

fn server_urls() -> Option<(String, String)> {
    let pg = std::env::var("NEWSWIRE_TEST_POSTGRES_URL").ok();
    let nats = std::env::var("NEWSWIRE_TEST_NATS_URL").ok();
    match (pg, nats) {
        (Some(pg), Some(nats)) => Some((pg, nats)),
        (pg, _) => {
            let missing = if pg.is_none() { "NEWSWIRE_TEST_POSTGRES_URL" } else { "NEWSWIRE_TEST_NATS_URL" };
            eprintln!("skipped: {missing} is not set");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_into_sqlite_postgres_and_nats_at_once() {
    let Some((pg_url, nats_url)) = server_urls() else { return };
    let suffix: u32 = rand::rng().random();
    let schema = format!("newswire_e2e_{suffix}");
    let stream = format!("NEWSWIRE_E2E_{suffix}");
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let feeds =
        [("world", server.url("/rss.xml")), ("tech", server.url("/atom.xml")), ("science", server.url("/feed.json"))];
    let config = work.config(&feeds, "");
    let mut text = std::fs::read_to_string(&config).expect("read");
    text = text.replace("[pipeline]\n", "[pipeline]\nstate = \"postgres\"\n");
    text.push_str(&format!(
        "\n[[sink]]\nkind = \"postgres\"\nurl = \"{pg_url}\"\nschema = \"{schema}\"\n\n[[sink]]\nkind = \"nats\"\nurl = \"{nats_url}\"\nstream = \"{stream}\"\nsubject = \"e2e{suffix}.{{feed}}\"\n"
    ));
    std::fs::write(&config, text).expect("write");
    let cfg = config.to_str().expect("utf-8");

    let (pg, connection) = tokio_postgres::connect(&pg_url, tokio_postgres::NoTls).await.expect("connect to postgres");
    tokio::spawn(connection);
    let nats = async_nats::connect(&nats_url).await.expect("connect to nats");
    let js = async_nats::jetstream::new(nats);

    let first = run(&["backfill", "-c", cfg], work.path()).await;
    let second = run(&["backfill", "-c", cfg], work.path()).await;

    let pg_ids: Vec<String> = pg
        .query(&format!("SELECT id FROM {schema}.records ORDER BY id"), &[])
        .await
        .expect("records in postgres")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let states: i64 = pg
        .query_one(&format!("SELECT COUNT(*) FROM {schema}.feed_state"), &[])
        .await
        .expect("state in postgres")
        .get(0);
    let messages = js.get_stream(&stream).await.expect("stream exists").cached_info().state.messages;
    let db = work.db();
    let mut stmt = db.prepare("SELECT id FROM records ORDER BY id").expect("prepare");
    let sqlite_ids: Vec<String> = stmt.query_map([], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect();

    // Clean up before asserting, so a failure leaves nothing behind.
    let _ = pg.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await;
    let _ = js.delete_stream(&stream).await;

    assert_eq!(first.status.code(), Some(0), "{}\n{}", stdout(&first), stderr(&first));
    assert!(stdout(&first).contains("items: 7 new"), "{}", stdout(&first));
    assert!(stdout(&second).contains("items: 0 new, 0 updated"), "{}", stdout(&second));
    assert_eq!(pg_ids.len(), 7);
    assert_eq!(pg_ids, sqlite_ids, "the same records in PostgreSQL and SQLite");
    assert_eq!(messages, 7, "one message per record, nothing duplicated by the second run");
    assert_eq!(states, 3, "feed state lives in PostgreSQL");
    assert!(
        !work.path().join("data/newswire.db").exists() || work.count("SELECT COUNT(*) FROM feed_state") == 0,
        "with state = \"postgres\" the SQLite sink holds records only"
    );
}

/// Polls seen by the many-feed server: (feed number, user agent, when).
type Polls = std::sync::Arc<std::sync::Mutex<Vec<(u32, String, std::time::Instant)>>>;

async fn many_feeds(polls: Polls) -> std::net::SocketAddr {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, header};
    async fn feed(State(polls): State<Polls>, Path(n): Path<u32>, headers: HeaderMap) -> axum::response::Response {
        use axum::response::IntoResponse;
        let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        polls.lock().expect("lock").push((n, ua, std::time::Instant::now()));
        let body = format!(
            "<rss version=\"2.0\"><channel><title>Feed {n}</title><item><title>Item of feed {n}</title><link>https://many.example.org/{n}</link><guid>many-{n}</guid></item></channel></rss>"
        );
        ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
    }
    let app = axum::Router::new().route("/f/{n}", axum::routing::get(feed)).with_state(polls);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_share_300_feeds_and_take_over_from_a_dead_one() {
    use std::time::{Duration, Instant};
    let Some((pg_url, _)) = server_urls() else { return };
    let suffix: u32 = rand::rng().random();
    let schema = format!("newswire_e2e_{suffix}");
    let polls: Polls = Default::default();
    let addr = many_feeds(std::sync::Arc::clone(&polls)).await;
    let work = Workdir::new();
    let mut feeds = String::new();
    for n in 0..300 {
        feeds.push_str(&format!("\n[[feed]]\nname = \"f{n}\"\nurl = \"http://{addr}/f/{n}\"\n"));
    }
    let config = |name: &str| {
        let text = format!(
            "[pipeline]\nstate = \"postgres\"\nlease_ttl = \"3s\"\nconcurrency = 32\nper_host_concurrency = 32\nper_host_rate = 0\nuser_agent = \"{name}\"\ndata_dir = \"{}\"\n\n[defaults]\nallow_private = true\ninterval = \"3s\"\nmin_interval = \"3s\"\nmax_interval = \"3s\"\n\n[[sink]]\nkind = \"postgres\"\nurl = \"{pg_url}\"\nschema = \"{schema}\"\n{feeds}",
            work.path().join(name).display()
        );
        let path = work.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write config");
        path
    };
    let start = |name: &str| {
        tokio::process::Command::new(crate::harness::bin())
            .args(["run", "-c", config(name).to_str().expect("utf-8")])
            .current_dir(work.path())
            .env("RUST_LOG", "warn")
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start a daemon")
    };
    let mut a = start("daemon-a");
    let mut b = start("daemon-b");
    let mut c = start("daemon-c");

    // Let them settle and poll for a while.
    let settled = Instant::now() + Duration::from_secs(12);
    while Instant::now() < settled {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let killed_at = Instant::now();
    let pid = a.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-KILL", &pid]).status().expect("kill").success());
    let _ = a.wait().await;
    // A's leases expire after 3 s; B and C renew every second.
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for child in [&mut b, &mut c] {
        let pid = child.id().expect("pid").to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    }
    let (sb, sc) = (b.wait().await.expect("wait"), c.wait().await.expect("wait"));

    let (client, connection) = tokio_postgres::connect(&pg_url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let records: i64 =
        client.query_one(&format!("SELECT COUNT(*) FROM {schema}.records"), &[]).await.expect("count").get(0);
    let _ = client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await;

    assert_eq!((sb.code(), sc.code()), (Some(0), Some(0)), "graceful stops exit 0");
    assert_eq!(records, 300, "every feed stored, once");
    let polls = polls.lock().expect("lock").clone();
    let mut by_feed: std::collections::HashMap<u32, Vec<(String, Instant)>> = Default::default();
    for (n, ua, at) in &polls {
        by_feed.entry(*n).or_default().push((ua.clone(), *at));
    }
    assert_eq!(by_feed.len(), 300, "every feed polled");
    // No feed is polled twice in one interval, by one daemon or by two.
    for (n, seen) in &by_feed {
        for pair in seen.windows(2) {
            let gap = pair[1].1 - pair[0].1;
            assert!(gap >= Duration::from_millis(2400), "feed {n} polled twice within {gap:?}: {seen:?}");
        }
    }
    // Every daemon worked, and A's feeds were taken over after it died.
    let before: Vec<&(u32, String, Instant)> = polls.iter().filter(|(_, _, at)| *at < killed_at).collect();
    for name in ["daemon-a", "daemon-b", "daemon-c"] {
        assert!(before.iter().any(|(_, ua, _)| ua == name), "{name} polled nothing");
    }
    let a_feeds: std::collections::HashSet<u32> =
        before.iter().filter(|(_, ua, _)| ua == "daemon-a").map(|(n, _, _)| *n).collect();
    let taken_over = a_feeds
        .iter()
        .filter(|n| polls.iter().any(|(m, ua, at)| m == *n && ua != "daemon-a" && *at > killed_at))
        .count();
    assert_eq!(taken_over, a_feeds.len(), "all of A's {} feeds polled by B or C after the kill", a_feeds.len());
}

/// A TCP proxy to a server, that can be cut (live connections dropped, new
/// ones refused) and restored: a server restart, without touching the
/// server other tests share.
struct Proxy {
    addr: std::net::SocketAddr,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>> = Default::default();
        let (up2, conns2) = (std::sync::Arc::clone(&up), std::sync::Arc::clone(&conns));
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns2.lock().expect("lock").push(task.abort_handle());
            }
        });
        Proxy { addr, up, conns }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for conn in self.conns.lock().expect("lock").drain(..) {
            conn.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_that_goes_away_is_retried_and_nothing_is_lost() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    let Some((pg_url, _)) = server_urls() else { return };
    let upstream = {
        let rest = pg_url.split_once("@").map_or(pg_url.as_str(), |(_, r)| r);
        rest.split('/').next().unwrap_or("127.0.0.1:5432").to_string()
    };
    let proxy = Proxy::start(upstream.clone()).await;
    let proxied_url = pg_url.replacen(&upstream, &proxy.addr.to_string(), 1);
    let suffix: u32 = rand::rng().random();
    let schema = format!("newswire_e2e_{suffix}");
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let config = work.config(
        &[("world", server.url("/rss.xml")), ("versioned", server.url("/versioned.xml"))],
        "interval = \"1s\"\nmin_interval = \"1s\"\nmax_interval = \"1s\"",
    );
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.push_str(&format!(
        "\n[[sink]]\nkind = \"postgres\"\nurl = \"{proxied_url}\"\nschema = \"{schema}\"\n\n[server]\nlisten = \"127.0.0.1:{port}\"\n"
    ));
    std::fs::write(&config, text).expect("write");
    let mut child = tokio::process::Command::new(crate::harness::bin())
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the daemon");
    let (client, connection) = tokio_postgres::connect(&pg_url, tokio_postgres::NoTls).await.expect("connect");
    tokio::spawn(connection);
    let count = |sql: String| {
        let client = &client;
        async move { client.query_one(&sql, &[]).await.map(|r| r.get::<_, i64>(0)).unwrap_or(-1) }
    };
    let readyz = || async move {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        tokio::io::AsyncWriteExt::write_all(&mut s, b"GET /readyz HTTP/1.0\r\n\r\n").await.ok()?;
        let mut out = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut s, &mut out).await.ok()?;
        out.split_whitespace().nth(1).and_then(|c| c.parse::<u16>().ok())
    };
    let deadline = |s| tokio::time::Instant::now() + Duration::from_secs(s);

    let until = deadline(60);
    while count(format!("SELECT COUNT(*) FROM {schema}.records")).await != 5 {
        assert!(tokio::time::Instant::now() < until, "records never reached PostgreSQL");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server "restarts": everything through the proxy breaks.
    proxy.cut();
    server.seen.version.store(2, Ordering::SeqCst);
    let until = deadline(60);
    while readyz().await != Some(503) {
        assert!(tokio::time::Instant::now() < until, "/readyz never reported the failing sink");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    proxy.restore();
    let until = deadline(90);
    let updated = format!("SELECT COUNT(*) FROM {schema}.records WHERE guid = 'bridge' AND body LIKE '%June%'");
    while count(updated.clone()).await != 1 || readyz().await != Some(200) {
        assert!(tokio::time::Instant::now() < until, "the daemon did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let pid = child.id().expect("pid").to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    let total = count(format!("SELECT COUNT(*) FROM {schema}.records")).await;
    let _ = client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await;
    assert_eq!(status.code(), Some(0));
    assert_eq!(total, 5, "nothing lost, nothing duplicated");
}
