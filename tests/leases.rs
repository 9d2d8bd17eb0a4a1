//! Several daemons sharing the feeds of one PostgreSQL database through
//! leases. A test binary of its own: it runs three daemons over 300 feeds
//! and measures poll spacing, so it must not share the machine with the
//! other end-to-end tests running in parallel.

use rand::Rng;

#[path = "e2e/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::Workdir;

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
#[cfg_attr(
    not(all(feature = "postgres", feature = "nats")),
    ignore = "needs the postgres and nats features (on by default)"
)]
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
            "[pipeline]\nstate = \"postgres\"\nlease_ttl = \"6s\"\nconcurrency = 32\nper_host_concurrency = 32\nper_host_rate = 0\nuser_agent = \"{name}\"\ndata_dir = \"{}\"\n\n[defaults]\nallow_private = true\ninterval = \"3s\"\nmin_interval = \"3s\"\nmax_interval = \"3s\"\n\n[[sink]]\nkind = \"postgres\"\nurl = \"{pg_url}\"\nschema = \"{schema}\"\n{feeds}",
            work.path().join(name).display()
        );
        let path = work.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("write config");
        path
    };
    let start = |name: &str| {
        tokio::process::Command::new(harness::bin())
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
    // A's leases expire after 6 s; B and C renew every 2 s.
    let until = Instant::now() + Duration::from_secs(14);
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
    let leases: Vec<(String, String, bool)> = client
        .query(&format!("SELECT feed, holder, expires_at > now() FROM {schema}.feed_leases"), &[])
        .await
        .map(|rows| rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
        .unwrap_or_default();
    let _ = client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await;

    assert_eq!((sb.code(), sc.code()), (Some(0), Some(0)), "graceful stops exit 0");
    let polls = polls.lock().expect("lock").clone();
    let polled: std::collections::HashSet<u32> = polls.iter().map(|(n, _, _)| *n).collect();
    let never: Vec<u32> = (0..300).filter(|n| !polled.contains(n)).collect();
    let orphans: Vec<&(String, String, bool)> =
        leases.iter().filter(|(f, _, _)| never.iter().any(|n| f == &format!("f{n}"))).collect();
    // Once one feed in five runs went unpolled: a daemon whose pipeline
    // filled up stopped reading reports while it waited for room for a job,
    // and the full channels waited on each other (tests/signals.rs has the
    // reduced case). Every feed is polled now.
    assert!(never.is_empty(), "feeds never polled: {never:?}, their leases: {orphans:?}");
    assert_eq!(records, 300, "every feed stored, once");
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
    // The survivors kept polling to the end (a stalled daemon would keep
    // renewing its leases and poll nothing).
    let last_seconds = polls.iter().filter(|(_, _, at)| *at > killed_at + Duration::from_secs(10));
    let late: std::collections::HashSet<&str> = last_seconds.map(|(_, ua, _)| ua.as_str()).collect();
    assert!(late.contains("daemon-b") && late.contains("daemon-c"), "both survivors still polling: {late:?}");
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
