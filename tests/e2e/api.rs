//! The read API on the daemon's status server: filters, pagination through
//! `Link`, 400s naming the parameter, the bearer token, the OpenAPI
//! document, and the refusal of a public address without a token.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::daemon::{free_port, wait_for};
use crate::harness::{run, stderr};
use crate::records::backfilled;

const TOKEN_VAR: &str = "NEWSWIRE_E2E_API_TOKEN";
const TOKEN: &str = "e2e-token-3f9c";

/// GET `path` with an optional bearer token: status, head, body.
async fn get(addr: &str, path: &str, token: Option<&str>) -> Option<(u16, String, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n").as_bytes()).await.ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, head.to_string(), body.to_string()))
}

async fn json(addr: &str, path: &str) -> (u16, String, Value) {
    let (code, head, body) = get(addr, path, Some(TOKEN)).await.expect("the server answers");
    (code, head, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}")))
}

fn guids(page: &Value) -> Vec<String> {
    let records = page["records"].as_array().expect("records");
    records.iter().map(|r| r["guid"].as_str().expect("guid").to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_records_pages_errors_and_auth() {
    let (work, cfg) = backfilled().await;
    let addr = format!("127.0.0.1:{}", free_port());
    let mut text = std::fs::read_to_string(&cfg).expect("read config");
    text.push_str(&format!("\n[server]\nlisten = \"{addr}\"\ntoken_env = \"{TOKEN_VAR}\"\n"));
    std::fs::write(&cfg, &text).expect("write config");
    let mut daemon = tokio::process::Command::new(crate::harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", &cfg])
        .env(TOKEN_VAR, TOKEN)
        .env("RUST_LOG", "warn")
        .current_dir(work.path())
        .spawn()
        .expect("start the daemon");
    wait_for("the API answers", || async { get(&addr, "/api/feeds", Some(TOKEN)).await.is_some_and(|r| r.0 == 200) })
        .await;

    // The token: required on /api/, wrong is refused, the probes stay open.
    let (code, head, body) = get(&addr, "/api/records", None).await.expect("answer");
    assert_eq!(code, 401, "{body}");
    assert!(head.to_ascii_lowercase().contains("www-authenticate: bearer"), "{head}");
    assert_eq!(get(&addr, "/api/records", Some("wrong")).await.expect("answer").0, 401);
    assert_eq!(get(&addr, "/healthz", None).await.expect("answer").0, 200);

    // Pages of two, the next through the Link header, then the end.
    let (code, head, first) = json(&addr, "/api/records?limit=2").await;
    assert_eq!(code, 200);
    assert_eq!(guids(&first).len(), 2);
    let link = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().starts_with("link:").then(|| l[5..].trim().to_string()))
        .expect("a Link header");
    let next = link.strip_prefix('<').and_then(|l| l.split_once(">; rel=\"next\"")).expect("rel=next").0.to_string();
    assert!(next.starts_with("/api/records?limit=2&cursor="), "{next}");
    assert_eq!(first["next"].as_str().map(|c| next.ends_with(c)), Some(true));
    let (_, head, second) = json(&addr, &next).await;
    assert_eq!(guids(&second).len(), 1);
    assert!(second["next"].is_null() && !head.to_ascii_lowercase().contains("link:"), "{head}");
    let mut all: Vec<String> = guids(&first).into_iter().chain(guids(&second)).collect();
    all.sort();
    assert_eq!(all, ["bridge", "ferry", "school"]);

    // Filters and search.
    assert_eq!(guids(&json(&addr, "/api/records?feed=town").await.2), ["school"]);
    assert_eq!(guids(&json(&addr, "/api/records?feed=town&feed=port&tag=education").await.2), ["school"]);
    assert_eq!(guids(&json(&addr, "/api/search?q=timetable").await.2), ["ferry"]);
    assert_eq!(guids(&json(&addr, "/api/search?q=newsletter").await.2), Vec::<String>::new(), "removed text");
    assert_eq!(guids(&json(&addr, "/api/search?q=arches&feed=town").await.2), Vec::<String>::new());

    // Bad parameters: 400 naming them.
    let long = format!("/api/search?q={}", "word+".repeat(60));
    for (path, parameter) in [
        ("/api/search", "q"),
        ("/api/records?limit=5000", "limit"),
        ("/api/records?since=last-week", "since"),
        ("/api/records?cursor=nonsense", "cursor"),
        ("/api/records?order=sideways", "order"),
        ("/api/records?colour=red", "query"),
        (long.as_str(), "q"),
        ("/api/clusters?limit=0", "limit"),
    ] {
        let (code, _, body) = json(&addr, path).await;
        assert_eq!((code, body["parameter"].as_str()), (400, Some(parameter)), "{path}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| e.starts_with(parameter)), "{body}");
    }

    // One record, stories, feeds, the document.
    let id = first["records"][0]["id"].as_str().expect("id").to_string();
    let (code, _, detail) = json(&addr, &format!("/api/records/{id}")).await;
    assert_eq!((code, detail["version"].as_u64()), (200, Some(1)), "{detail}");
    assert_eq!(detail["versions"], serde_json::json!([]));
    assert_eq!(json(&addr, "/api/records/no-such-id").await.0, 404);
    // Whatever the near-duplicate index linked (short bodies that share a
    // sentence may be), the three views of a story agree.
    let (code, _, clusters) = json(&addr, "/api/clusters").await;
    assert_eq!(code, 200, "{clusters}");
    for story in clusters["clusters"].as_array().expect("a list") {
        let id = story["id"].as_str().expect("id");
        let copies = story["copies"].as_u64().expect("copies");
        let (code, _, one) = json(&addr, &format!("/api/clusters/{id}")).await;
        assert_eq!((code, one["copies"].as_array().map(|c| c.len() as u64)), (200, Some(copies)), "{one}");
        assert_eq!(one["first"]["id"].as_str(), Some(id));
        let members = json(&addr, &format!("/api/records?cluster={id}")).await.2;
        assert_eq!(guids(&members).len() as u64, copies + 1, "{members}");
    }
    assert_eq!(json(&addr, "/api/clusters/no-such-story").await.0, 404);
    let (_, _, feeds) = json(&addr, "/api/feeds").await;
    let counts: Vec<(String, u64)> = feeds
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| (f["feed"].as_str().expect("feed").to_string(), f["records"].as_u64().expect("count")))
        .collect();
    assert_eq!(counts, [("port".to_string(), 2), ("town".to_string(), 1)]);
    let (code, _, doc) = json(&addr, "/api/openapi.json").await;
    assert_eq!(code, 200);
    assert!(doc["paths"]["/api/search"]["get"]["parameters"].as_array().is_some_and(|p| p.len() == 11), "{doc}");
    assert_eq!(json(&addr, "/api/nothing").await.0, 404);
    daemon.kill().await.expect("stop the daemon");

    // A public address without a token is refused at load, naming the key.
    let open = text.replace(&format!("listen = \"{addr}\"\ntoken_env = \"{TOKEN_VAR}\""), "listen = \"0.0.0.0:1\"");
    std::fs::write(&cfg, &open).expect("write config");
    let out = run(&["check", "-c", &cfg], work.path()).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("server.listen"), "{}", stderr(&out));
}
