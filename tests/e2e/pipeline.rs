//! Backfill and daemon runs against the fixture server.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::harness::{Workdir, run, stderr, stdout};
use crate::server::FixtureServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_writes_normalised_records_and_isolates_failing_feeds() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let config = work.config(
        &[
            ("world", server.url("/rss.xml")),
            ("tech", server.url("/atom.xml")),
            ("science", server.url("/feed.json")),
            ("syndicated", server.url("/seed.xml")),
            ("broken", server.url("/error")),
            ("stalled", server.url("/slow")),
            ("homepage", server.url("/page.html")),
        ],
        "",
    );
    let out = run(&["backfill", "-c", config.to_str().expect("utf-8 path")], work.path()).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "a failed feed makes the backfill exit 1\n{text}\n{}", stderr(&out));
    assert!(text.contains("feeds: 4 ok, 3 failed; items: 8 new, 0 updated, 0 unchanged"), "{text}");
    let addr = server.addr;
    assert!(
        text.contains(&format!("failed: broken: http://{addr}/error answered HTTP 500 Internal Server Error")),
        "{text}"
    );
    assert!(text.contains(&format!("failed: stalled: request to http://{addr}/slow timed out after 2s")), "{text}");
    assert!(text.contains("failed: homepage: ") && text.contains("not a feed: the document is an HTML page"), "{text}");

    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 8);
    let per_feed = |feed: &str| work.count(&format!("SELECT COUNT(*) FROM records WHERE feed = '{feed}'"));
    assert_eq!((per_feed("world"), per_feed("tech"), per_feed("science"), per_feed("syndicated")), (3, 2, 2, 1));

    // One record, field by field.
    let db = work.db();
    let row = db
        .query_row(
            "SELECT schema, guid, url, title, authors, published_at, updated_at, language, summary, body, word_count,
                    categories, content_hash, source, feed_url, length(id)
             FROM records WHERE guid = 'gazette-2024-0311-ports'",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, String>(9)?,
                    r.get::<_, i64>(10)?,
                    r.get::<_, String>(11)?,
                    (r.get::<_, String>(12)?, r.get::<_, String>(13)?, r.get::<_, String>(14)?, r.get::<_, i64>(15)?),
                ))
            },
        )
        .expect("the ports record exists");
    let (schema, guid, url, title, authors, published, updated, language, summary, body, words, categories, rest) = row;
    assert_eq!(schema, 1);
    assert_eq!(guid, "gazette-2024-0311-ports");
    assert_eq!(url, "https://gazette.example.com/world/2024/03/ports-reopen", "tracking parameters removed");
    assert_eq!(title, "Ports reopen after week-long strike as unions accept pay offer");
    assert_eq!(authors, r#"["Mara Lindqvist"]"#);
    assert_eq!(published, "2024-03-11T08:15:00Z");
    assert_eq!(updated, None);
    assert_eq!(language.as_deref(), Some("en"));
    assert_eq!(summary.as_deref(), Some("Dock workers return on Tuesday after unions accepted a revised offer."));
    let paragraphs: Vec<&str> = body.split("\n\n").collect();
    assert_eq!(paragraphs.len(), 5, "{body}");
    assert!(paragraphs[0].starts_with("Container terminals along the northern coast"), "{body}");
    assert!(paragraphs[0].contains("workers’ unions"), "entities decoded: {body}");
    assert_eq!(paragraphs[2], "Backlog will take weeks to clear");
    assert!(!body.contains("trackView"), "scripts dropped: {body}");
    assert_eq!(words as usize, body.split_whitespace().count());
    assert_eq!(categories, r#"["Economy","Labour"]"#);
    let (hash, source, feed_url, id_len) = rest;
    assert_eq!(hash.len(), 32);
    assert_eq!(source, "feed");
    assert_eq!(feed_url, format!("http://{addr}/rss.xml"));
    assert_eq!(id_len, 32);

    // The seed-style syndicated article: its two flattened tweets and the
    // syndication notice are gone from the body, the tweets are embeds, and
    // every article paragraph is kept.
    let (body, embeds, removed): (String, String, String) = db
        .query_row("SELECT body, embeds, removed FROM records WHERE feed = 'syndicated'", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("syndicated record");
    let expected = include_str!("../fixtures/seed-expected.txt");
    let paragraphs: Vec<&str> = body.split("\n\n").collect();
    let expected: Vec<&str> = expected.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(paragraphs, expected);
    let embeds: serde_json::Value = serde_json::from_str(&embeds).expect("embeds JSON");
    assert_eq!(embeds.as_array().map(Vec::len), Some(2), "{embeds}");
    assert_eq!(embeds[0]["kind"], "twitter");
    assert_eq!(embeds[0]["handle"], "AmichaiStein1");
    assert_eq!(embeds[1]["author"], "Daily Mail Online");
    let removed: serde_json::Value = serde_json::from_str(&removed).expect("removed JSON");
    let kinds: Vec<&str> = removed.as_array().expect("array").iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["social_embed", "social_embed", "syndication"]);
    // Each removal names the rule that made it, in every sink.
    let rules: Vec<&str> = removed.as_array().expect("array").iter().filter_map(|r| r["rule"].as_str()).collect();
    assert_eq!(rules, ["embed.post_attribution", "embed.post_attribution", "syndication.this_article_origin"]);

    // Never invented: an item with no date has a null published_at.
    let undated: Option<String> = db
        .query_row("SELECT published_at FROM records WHERE title LIKE 'Opinion:%'", [], |r| r.get(0))
        .expect("opinion record");
    assert_eq!(undated, None);

    // The JSONL sink has the same records, with every schema field.
    let lines = work.jsonl();
    assert_eq!(lines.len(), 8);
    let mut jsonl_ids: Vec<String> = lines.iter().map(|l| l["id"].as_str().expect("id").to_string()).collect();
    jsonl_ids.sort();
    let mut stmt = db.prepare("SELECT id FROM records ORDER BY id").expect("prepare");
    let sqlite_ids: Vec<String> = stmt.query_map([], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect();
    assert_eq!(jsonl_ids, sqlite_ids);
    let syndicated = lines.iter().find(|l| l["feed"] == "syndicated").expect("syndicated record in JSONL");
    assert_eq!(syndicated["removed"], removed, "JSONL and SQLite record the same removals");
    for key in [
        "schema",
        "id",
        "feed",
        "feed_url",
        "guid",
        "url",
        "title",
        "authors",
        "published_at",
        "updated_at",
        "fetched_at",
        "language",
        "summary",
        "body",
        "word_count",
        "categories",
        "content_hash",
        "source",
        "embeds",
        "removed",
    ] {
        assert!(lines[0].get(key).is_some(), "JSONL record lacks {key}: {}", lines[0]);
    }

    // Failed feeds are remembered with their error.
    let state: String = db
        .query_row("SELECT state FROM feed_state WHERE feed = 'broken'", [], |r| r.get(0))
        .expect("state of the failed feed");
    let state: serde_json::Value = serde_json::from_str(&state).expect("state is JSON");
    assert_eq!(state["error_count"], 1);
    assert_eq!(state["last_status"], 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_backfill_uses_validators_and_writes_nothing_new() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let config = work.config(
        &[("world", server.url("/rss.xml")), ("tech", server.url("/atom.xml")), ("science", server.url("/feed.json"))],
        "",
    );
    let cfg = config.to_str().expect("utf-8 path");
    let first = run(&["backfill", "-c", cfg], work.path()).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(stdout(&first).contains("items: 7 new, 0 updated, 0 unchanged"), "{}", stdout(&first));
    assert!(server.seen.conditional().is_empty(), "the first poll is unconditional");

    let second = run(&["backfill", "-c", cfg], work.path()).await;
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(
        stdout(&second).contains("feeds: 3 ok, 0 failed; items: 0 new, 0 updated, 0 unchanged"),
        "{}",
        stdout(&second)
    );
    let conditional = server.seen.conditional();
    assert!(conditional.contains(&("/rss.xml".into(), "if-none-match: \"world-v1\"".into())), "{conditional:?}");
    assert!(
        conditional.contains(&("/atom.xml".into(), "if-modified-since: Tue, 12 Mar 2024 09:00:00 GMT".into())),
        "{conditional:?}"
    );
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 7);
    assert_eq!(work.jsonl().len(), 7, "nothing appended the second time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_item_is_updated_in_place() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let config = work.config(&[("versioned", server.url("/versioned.xml"))], "");
    let cfg = config.to_str().expect("utf-8 path");
    let first = run(&["backfill", "-c", cfg], work.path()).await;
    assert!(stdout(&first).contains("items: 2 new, 0 updated, 0 unchanged"), "{}", stdout(&first));
    server.seen.version.store(2, Ordering::SeqCst);
    let second = run(&["backfill", "-c", cfg], work.path()).await;
    assert!(stdout(&second).contains("items: 0 new, 1 updated, 1 unchanged"), "{}", stdout(&second));
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 2);
    let (body, version): (String, i64) = work
        .db()
        .query_row("SELECT body, version FROM records WHERE guid = 'bridge'", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("bridge record");
    assert_eq!(body, "The revised report says the bridge will reopen in June, a month later.");
    assert_eq!(version, 2);
    let lines = work.jsonl();
    assert_eq!(lines.len(), 3, "the update is appended; the unchanged item is not");
    assert_eq!(lines[2]["guid"], "bridge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_of_named_feeds_only() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let config = work.config(&[("world", server.url("/rss.xml")), ("science", server.url("/feed.json"))], "");
    let cfg = config.to_str().expect("utf-8 path");
    let out = run(&["backfill", "-c", cfg, "--feed", "science"], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.seen.hits("/rss.xml"), 0);
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 2);
    let out = run(&["backfill", "-c", cfg, "--feed", "nope"], work.path()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no feed named \"nope\" in the config"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gone_feed_is_disabled() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let config = work.config(&[("gone", server.url("/gone")), ("world", server.url("/rss.xml"))], "");
    let cfg = config.to_str().expect("utf-8 path");
    let out = run(&["backfill", "-c", cfg], work.path()).await;
    assert!(stdout(&out).contains("answered HTTP 410 Gone: the feed is gone"), "{}", stdout(&out));
    let out = run(&["backfill", "-c", cfg], work.path()).await;
    assert_eq!(server.seen.hits("/gone"), 1, "a disabled feed is not polled again");
    assert!(stderr(&out).contains("feed is disabled after HTTP 410"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_polls_on_its_interval_and_stops_cleanly_on_sigterm() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let config = work
        .config(&[("world", server.url("/rss.xml")), ("versioned", server.url("/versioned.xml"))], "interval = \"1s\"");
    let mut child = tokio::process::Command::new(crate::harness::bin())
        .args(["run", "-c", config.to_str().expect("utf-8 path")])
        .current_dir(work.path())
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the daemon");
    // Wait (bounded) for the second poll of each feed: the daemon keeps polling.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while server.seen.hits("/rss.xml") < 2 || server.seen.hits("/versioned.xml") < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the daemon did not poll twice within 60s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.seen.version.store(2, Ordering::SeqCst);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let updated = work.count("SELECT COUNT(*) FROM records WHERE guid = 'bridge' AND version = 2");
        if updated == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the daemon did not pick up the change within 60s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = child.id().expect("daemon pid").to_string();
    let kill = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("send SIGTERM");
    assert!(kill.success());
    let status =
        tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits within 30s").expect("wait");
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");
    let mut err = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
        .await
        .expect("read stderr");
    assert!(err.contains("daemon stopped"), "{err}");
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 5);
    assert!(server.seen.conditional().iter().any(|(p, _)| p == "/rss.xml"), "the daemon polls conditionally");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interval_adapts_to_how_often_a_feed_publishes() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let config = work.config(
        &[("quiet", server.url("/rss.xml")), ("busy", server.url("/versioned.xml"))],
        "interval = \"10m\"\nmin_interval = \"1m\"\nmax_interval = \"1h\"",
    );
    let cfg = config.to_str().expect("utf-8 path");
    let interval = |feed: &str| -> i64 {
        work.db()
            .query_row("SELECT json_extract(state, '$.interval_secs') FROM feed_state WHERE feed = ?1", [feed], |r| {
                r.get(0)
            })
            .expect("interval in the state")
    };
    run(&["backfill", "-c", cfg], work.path()).await;
    // Both brought new items: both intervals shorten from 600 s.
    assert_eq!((interval("quiet"), interval("busy")), (450, 450));
    server.seen.version.store(2, Ordering::SeqCst);
    run(&["backfill", "-c", cfg], work.path()).await;
    // The quiet feed answered 304: longer. The busy one changed: shorter.
    assert_eq!(interval("quiet"), 562);
    assert_eq!(interval("busy"), 337);
    // The fraction is kept (interval_ms) and is what the next poll adapts.
    let ms = |feed: &str| -> i64 {
        work.db()
            .query_row("SELECT json_extract(state, '$.interval_ms') FROM feed_state WHERE feed = ?1", [feed], |r| {
                r.get(0)
            })
            .expect("interval_ms in the state")
    };
    assert_eq!((ms("quiet"), ms("busy")), (562_500, 337_500));
    let due: String = work
        .db()
        .query_row("SELECT json_extract(state, '$.next_due_at') FROM feed_state WHERE feed = 'busy'", [], |r| r.get(0))
        .expect("next due");
    let due = chrono::DateTime::parse_from_rfc3339(&due).expect("RFC 3339");
    let wait = (due.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds();
    assert!((280..=380).contains(&wait), "next poll about 337 s ± 10% away, got {wait}");
}

/// Many feeds on one host under `per_host_rate`: the host's limit, not
/// the machine, bounds the run, and the backfill says so, once in the log
/// and in its summary, with the host and the figure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_bounded_by_per_host_politeness_says_so() {
    let server = FixtureServer::start().await;
    let work = Workdir::new();
    let mut text = format!(
        "[pipeline]\ndata_dir = \"{}\"\nconcurrency = 8\nper_host_concurrency = 8\nper_host_rate = 8\n\n\
         [defaults]\nallow_private = true\ntimeout = \"5s\"\n\n[[sink]]\nkind = \"sqlite\"\n",
        work.path().join("data").display()
    );
    for i in 0..24 {
        text.push_str(&format!("\n[[feed]]\nname = \"f{i}\"\nurl = \"{}?copy={i}\"\n", server.url("/rss.xml")));
    }
    let config = work.path().join("newswire.toml");
    std::fs::write(&config, text).expect("write config");
    let out = run(&["backfill", "-c", config.to_str().expect("utf-8 path")], work.path()).await;
    let (text, log) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}\n{log}");
    let host = "127.0.0.1";
    assert!(text.contains(&format!("bounded by per-host politeness at {host}")), "{text}");
    let line = text.lines().find(|l| l.starts_with("politeness: ")).unwrap_or_else(|| panic!("no host line\n{text}"));
    assert!(line.contains(host) && line.contains("at per_host_rate = 8"), "{line}");
    assert_eq!(log.matches("bounds this run").count(), 1, "said once for the one host\n{log}");

    // Without a rate nothing waits long enough to be mentioned.
    let unbounded = std::fs::read_to_string(&config).expect("config").replace("per_host_rate = 8", "per_host_rate = 0");
    std::fs::write(&config, unbounded).expect("write config");
    std::fs::remove_dir_all(work.path().join("data")).expect("fresh store");
    let out = run(&["backfill", "-c", config.to_str().expect("utf-8 path")], work.path()).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout(&out).contains("politeness"), "{}", stdout(&out));
    assert!(!stderr(&out).contains("bounds this run"), "{}", stderr(&out));
}
