//! `backfill --archives`: walking a feed's history, and resuming a walk
//! that was interrupted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::harness::{Workdir, run, stderr, stdout};

/// An RFC 5005 archived feed: the feed links archive 2, which links
/// archive 1. `fail_oldest` makes archive 1 answer 500 until cleared.
struct Archive {
    hits: Mutex<HashMap<String, usize>>,
    fail_oldest: AtomicBool,
}

fn atom(base: &str, page: &str, prev: Option<&str>, items: &[(&str, &str)]) -> String {
    let mut doc = format!(
        r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xmlns:fh="http://purl.org/syndication/history/1.0"><title>Archive</title><id>urn:archive</id><link rel="self" href="{base}/{page}"/>"#
    );
    if let Some(prev) = prev {
        doc.push_str(&format!(r#"<link rel="prev-archive" href="{base}/{prev}"/>"#));
    }
    for (id, date) in items {
        doc.push_str(&format!(
            r#"<entry><id>urn:{id}</id><title>Story {id}</title><link href="https://archive.example.org/{id}"/><published>{date}</published><content type="text">The text of story {id}, which is long enough to be a story.</content></entry>"#
        ));
    }
    doc.push_str("</feed>");
    doc
}

async fn page(State((state, base)): State<(Arc<Archive>, String)>, Path(name): Path<String>) -> Response {
    *state.hits.lock().expect("lock").entry(name.clone()).or_default() += 1;
    let body = match name.as_str() {
        "feed.xml" => atom(
            &base,
            "feed.xml",
            Some("archive-2.xml"),
            &[("e", "2024-03-05T00:00:00Z"), ("f", "2024-03-06T00:00:00Z")],
        ),
        "archive-2.xml" => atom(
            &base,
            "archive-2.xml",
            Some("archive-1.xml"),
            &[("c", "2024-02-03T00:00:00Z"), ("d", "2024-02-04T00:00:00Z")],
        ),
        "archive-1.xml" if state.fail_oldest.load(Ordering::SeqCst) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
        }
        "archive-1.xml" => {
            atom(&base, "archive-1.xml", None, &[("a", "2024-01-01T00:00:00Z"), ("b", "2024-01-02T00:00:00Z")])
        }
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, "application/atom+xml")], body).into_response()
}

async fn start() -> (Arc<Archive>, String) {
    let state = Arc::new(Archive { hits: Mutex::default(), fail_oldest: AtomicBool::new(true) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route("/{name}", get(page)).with_state((Arc::clone(&state), base.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (state, base)
}

fn hits(state: &Archive, page: &str) -> usize {
    state.hits.lock().expect("lock").get(page).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_walk_history_and_resume_after_an_interruption() {
    let (state, base) = start().await;
    let work = Workdir::new();
    let config = work.config(&[("archive", format!("{base}/feed.xml"))], "");
    let cfg = config.to_str().expect("utf-8");

    // First run: the feed and archive 2 are stored; archive 1 fails.
    let out = run(&["backfill", "--archives", "-c", cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(1), "a failed page fails the run\n{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("failed: archive: page 3: "), "{}", stdout(&out));
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 4);
    let cursor: String = work
        .db()
        .query_row("SELECT json_extract(state, '$.archive_next') FROM feed_state WHERE feed = 'archive'", [], |r| {
            r.get(0)
        })
        .expect("the cursor is committed");
    assert_eq!(cursor, format!("{base}/archive-1.xml"));

    // Second run resumes at archive 1: archive 2 is not fetched again.
    state.fail_oldest.store(false, Ordering::SeqCst);
    let out = run(&["backfill", "--archives", "-c", cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("items: 2 new, 0 updated, 0 unchanged; pages of history: 1"),
        "{}\nhits: {:?}",
        stdout(&out),
        state.hits.lock().expect("lock")
    );
    assert_eq!(hits(&state, "archive-2.xml"), 1, "resumed, not restarted");
    assert_eq!(hits(&state, "archive-1.xml"), 2);
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 6);

    // A finished walk is not repeated.
    let out = run(&["backfill", "--archives", "-c", cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!((hits(&state, "archive-2.xml"), hits(&state, "archive-1.xml")), (1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_and_max_pages_bound_the_walk() {
    let (state, base) = start().await;
    state.fail_oldest.store(false, Ordering::SeqCst);
    let work = Workdir::new();
    let config = work.config(&[("archive", format!("{base}/feed.xml"))], "");
    let cfg = config.to_str().expect("utf-8");
    let out =
        run(&["backfill", "--archives", "--max-pages", "2", "--since", "2024-02-04", "-c", cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(hits(&state, "archive-1.xml"), 0, "--max-pages 2: the feed and one archive page");
    let db = work.db();
    let mut stmt = db.prepare("SELECT guid FROM records ORDER BY guid").expect("prepare");
    let guids: Vec<String> = stmt.query_map([], |r| r.get(0)).expect("query").map(|r| r.expect("row")).collect();
    assert_eq!(guids, ["urn:d", "urn:e", "urn:f"], "items before 2024-02-04 are left out");
}

/// A WordPress-style feed: `?paged=N` pages, 404 past the last one.
async fn wordpress(State(hits): State<Arc<Mutex<Vec<String>>>>, uri: axum::http::Uri) -> Response {
    let query = uri.query().unwrap_or("").to_string();
    hits.lock().expect("lock").push(query.clone());
    let page: u32 = query.strip_prefix("paged=").and_then(|n| n.parse().ok()).unwrap_or(1);
    if page > 3 {
        return (StatusCode::NOT_FOUND, "no such page").into_response();
    }
    let mut doc = String::from(r#"<rss version="2.0"><channel><title>WP</title><link>https://wp.example.org/</link>"#);
    for i in 0..2 {
        let n = page * 10 + i;
        doc.push_str(&format!(
            "<item><title>Post {n}</title><link>https://wp.example.org/post-{n}</link><guid>wp-{n}</guid><description>Post number {n} of the blog.</description></item>"
        ));
    }
    doc.push_str("</channel></rss>");
    ([(header::CONTENT_TYPE, "application/rss+xml")], doc).into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wordpress_paged_feeds_are_walked_to_the_end() {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route("/feed/", get(wordpress)).with_state(Arc::clone(&hits));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    let work = Workdir::new();
    let config = work.config(&[("wp", format!("{base}/feed/"))], "");
    let out = run(&["backfill", "--archives", "-c", config.to_str().expect("utf-8")], work.path()).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "a 404 past the last page ends the walk\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("items: 6 new"), "{}", stdout(&out));
    assert_eq!(*hits.lock().expect("lock"), ["", "paged=2", "paged=3", "paged=4"]);
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 6);
    let done: i64 = work
        .db()
        .query_row("SELECT json_extract(state, '$.archive_done') FROM feed_state WHERE feed = 'wp'", [], |r| r.get(0))
        .expect("state");
    assert_eq!(done, 1);
}

/// An archived feed whose oldest page stalls until released: the walk is
/// killed (SIGKILL) while it waits, then resumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archives_resume_after_sigkill() {
    let (state, base) = start().await;
    // archive-1 answers 500 while fail_oldest is set; that is not a stall, so
    // instead kill as soon as the cursor to archive-1 is committed.
    let work = Workdir::new();
    let config = work.config(&[("archive", format!("{base}/feed.xml"))], "");
    let mut child = tokio::process::Command::new(crate::harness::bin())
        .args(["backfill", "--archives", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start");
    let cursor = |work: &Workdir| -> Option<String> {
        if !work.path().join("data/newswire.db").exists() {
            return None;
        }
        work.db()
            .query_row("SELECT json_extract(state, '$.archive_next') FROM feed_state WHERE feed = 'archive'", [], |r| {
                r.get(0)
            })
            .ok()
            .flatten()
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while cursor(&work).is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the walk never committed a page");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let pid = child.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-KILL", &pid]).status().expect("kill").success());
    let _ = child.wait().await;
    // However far the killed run got, the rerun finishes the walk without
    // fetching archive 2 again and without duplicating anything.
    state.fail_oldest.store(false, Ordering::SeqCst);
    let out = run(&["backfill", "--archives", "-c", config.to_str().expect("utf-8")], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(hits(&state, "archive-2.xml"), 1, "resumed after the kill, not restarted");
    assert_eq!(work.count("SELECT COUNT(*) FROM records"), 6);
    assert_eq!(work.count("SELECT COUNT(DISTINCT guid) FROM records"), 6);
}
