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
#[cfg_attr(
    not(all(feature = "postgres", feature = "nats")),
    ignore = "needs the postgres and nats features (on by default)"
)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(feature = "postgres", feature = "nats")),
    ignore = "needs the postgres and nats features (on by default)"
)]
async fn a_sink_that_goes_away_is_retried_and_nothing_is_lost() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    let Some((pg_url, _)) = server_urls() else { return };
    let upstream = {
        let rest = pg_url.split_once("@").map_or(pg_url.as_str(), |(_, r)| r);
        rest.split('/').next().unwrap_or("127.0.0.1:5432").to_string()
    };
    let proxy = crate::proxy::Proxy::start(upstream.clone()).await;
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
