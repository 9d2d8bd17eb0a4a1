//! `newswire records` on a backfilled store: every format, every filter,
//! the cursor, and full-text search that finds a body's words but not a
//! boilerplate line the cleaner removed.

use std::net::SocketAddr;

use axum::http::header;
use axum::routing::get;

use crate::harness::{Workdir, run, stderr, stdout};

const FERRY: &str = "The harbour ferry timetable changes on Monday, with the first crossing moved to half past six so that early shift workers reach the industrial quay before seven.";
const SCHOOL: &str = "The new primary school on the hill opened its doors this morning to two hundred pupils, after three years of planning and a long argument over the playground.";
const BRIDGE: &str = "Engineers inspecting the old stone bridge found cracks in two of its arches, and the road over it will stay closed to lorries until the repairs are finished.";

pub fn item(guid: &str, title: &str, text: &str, category: &str, extra: &str) -> String {
    format!(
        "<item><title>{title}</title><link>https://news.example.org/{guid}</link><guid>{guid}</guid><category>{category}</category><description><![CDATA[<p>{text}</p><p>{text} It is the second paragraph of the story.</p>{extra}]]></description></item>"
    )
}

pub fn feed(items: &[String]) -> String {
    format!(
        "<rss version=\"2.0\"><channel><title>F</title><link>https://news.example.org/</link>{}</channel></rss>",
        items.concat()
    )
}

/// Serve two feeds of three items on 127.0.0.1; the ferry story ends with a
/// newsletter line the cleaner removes.
pub async fn serve_feeds() -> SocketAddr {
    let cta = "<p>Sign up for our newsletter to get the latest news.</p>";
    let port = feed(&[
        item("ferry", "Ferry times change", FERRY, "transport", cta),
        item("bridge", "Bridge cracks", BRIDGE, "transport", ""),
    ]);
    let town = feed(&[item("school", "School opens", SCHOOL, "education", "")]);
    let app = axum::Router::new()
        .route("/port.xml", get(move || async move { ([(header::CONTENT_TYPE, "application/rss+xml")], port) }))
        .route("/town.xml", get(move || async move { ([(header::CONTENT_TYPE, "application/rss+xml")], town) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

/// A work directory with the two feeds backfilled into it.
pub async fn backfilled() -> (Workdir, String) {
    let addr = serve_feeds().await;
    let work = Workdir::new();
    let config =
        work.config(&[("port", format!("http://{addr}/port.xml")), ("town", format!("http://{addr}/town.xml"))], "");
    let cfg = config.to_str().expect("utf-8").to_string();
    let out = run(&["backfill", "-c", &cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), stderr(&out));
    (work, cfg)
}

fn guids(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("each line is a record");
            v["guid"].as_str().expect("guid").to_string()
        })
        .collect()
}

async fn records(work: &Workdir, cfg: &str, args: &[&str]) -> String {
    let mut all = vec!["records", "-c", cfg];
    all.extend_from_slice(args);
    let out = run(&all, work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_exported_filtered_and_searched() {
    let (work, cfg) = backfilled().await;
    let cfg = cfg.as_str();

    let all = guids(&records(&work, cfg, &[]).await);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, ["bridge", "ferry", "school"], "every record once");
    let newest = guids(&records(&work, cfg, &["--newest-first"]).await);
    assert_eq!(newest, all.iter().rev().cloned().collect::<Vec<_>>(), "the same order, reversed");

    // The ferry story kept its body and lost the newsletter line.
    let ferry: serde_json::Value = serde_json::from_str(
        records(&work, cfg, &["--query", "timetable"]).await.lines().next().expect("found by a body word"),
    )
    .expect("a record");
    assert_eq!(ferry["guid"], "ferry");
    assert!(ferry["removed"].to_string().contains("newsletter"), "the cleaner removed it: {}", ferry["removed"]);
    assert_eq!(records(&work, cfg, &["--query", "newsletter"]).await, "", "removed text is not found");
    assert_eq!(guids(&records(&work, cfg, &["--query", "ARCHES stone"]).await), ["bridge"], "every word, any case");

    assert_eq!(guids(&records(&work, cfg, &["--feed", "town"]).await), ["school"]);
    let mut port = guids(&records(&work, cfg, &["--tag", "transport"]).await);
    port.sort();
    assert_eq!(port, ["bridge", "ferry"]);
    assert_eq!(guids(&records(&work, cfg, &["--lang", "en"]).await).len(), 3);
    assert_eq!(records(&work, cfg, &["--lang", "de"]).await, "");
    assert_eq!(records(&work, cfg, &["--since", "2999-01-01"]).await, "");
    assert_eq!(guids(&records(&work, cfg, &["--until", "2999-01-01"]).await).len(), 3);

    // --limit stops and says where to resume; the cursor gives the rest.
    let out = run(&["records", "-c", cfg, "--limit", "2"], work.path()).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(guids(&stdout(&out)), all[..2]);
    let err = stderr(&out);
    let cursor = err.split("--cursor ").nth(1).expect("a cursor to resume from").trim();
    assert_eq!(guids(&records(&work, cfg, &["--cursor", cursor]).await), all[2..]);

    // CSV: a header, then one quoted row per record (bodies hold commas).
    let csv = records(&work, cfg, &["--format", "csv"]).await;
    assert!(csv.starts_with("id,feed,fetched_at,published_at,language,url,title,"), "{csv}");
    assert_eq!(csv.matches("\r\n").count(), 3, "one row per record: {csv}");
    assert!(csv.contains("\"The harbour ferry timetable changes on Monday, with"), "{csv}");
    let table = records(&work, cfg, &["--format", "table"]).await;
    assert_eq!(table.lines().count(), 4, "{table}");
    assert!(table.lines().any(|l| l.ends_with("\tSchool opens")), "{table}");

    for (args, says) in [
        (vec!["--cursor", "zz"], "--cursor"),
        (vec!["--query", "  "], "--query"),
        (vec!["--since", "yesterday"], "--since"),
    ] {
        let mut all = vec!["records", "-c", cfg];
        all.extend(args);
        let out = run(&all, work.path()).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }

    let out = run(&["reindex", "-c", cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("3 records"), "{}", stdout(&out));
    assert_eq!(guids(&records(&work, cfg, &["--query", "timetable"]).await), ["ferry"]);
}
