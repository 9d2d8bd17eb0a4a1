//! The webhook sink against a receiver in the test that fails (500s), then
//! stalls past the sink's timeout, then recovers: `/readyz` names the sink
//! while the receiver is down and is green after, the feeds' checkpoints
//! wait for it, and every record arrives, each request signed.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::daemon::{free_port, get, wait_for};
use crate::harness::{Workdir, run, stderr};
use crate::server::FixtureServer;

const SECRET: &str = "whsec_e2e_5f0c1d";
const SECRET_VAR: &str = "NEWSWIRE_E2E_WEBHOOK_SECRET";

const FAIL: u8 = 0;
const STALL: u8 = 1;
const ACCEPT: u8 = 2;

#[derive(Default)]
struct Receiver {
    mode: AtomicU8,
    /// Requests per mode.
    requests: [AtomicUsize; 3],
    /// Requests whose signature or key did not verify.
    bad: AtomicUsize,
    /// (id, content_hash) of every record in an accepted request.
    accepted: Mutex<HashSet<(String, String)>>,
    /// Idempotency keys of accepted requests.
    keys: Mutex<Vec<String>>,
}

/// Whether the request's signature and key are what docs/operating.md says.
fn verifies(headers: &HeaderMap, body: &[u8], json: &serde_json::Value) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let signature = header("x-newswire-signature");
    let Some((t, v1)) = signature.strip_prefix("t=").and_then(|s| s.split_once(",v1=")) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let Ok(sent) = hex::decode(v1) else { return false };
    if mac.verify_slice(&sent).is_err() {
        return false;
    }
    let mut key = Sha256::new();
    for record in json["records"].as_array().into_iter().flatten() {
        key.update(format!(
            "{}:{}\n",
            record["id"].as_str().unwrap_or(""),
            record["content_hash"].as_str().unwrap_or("")
        ));
    }
    let key = hex::encode(key.finalize());
    header("idempotency-key") == key && json["batch"] == key.as_str()
}

async fn receive(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let mode = rx.mode.load(Ordering::SeqCst);
    rx.requests[usize::from(mode)].fetch_add(1, Ordering::SeqCst);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if !verifies(&headers, &body, &json) {
        rx.bad.fetch_add(1, Ordering::SeqCst);
        return StatusCode::UNAUTHORIZED;
    }
    match mode {
        FAIL => StatusCode::INTERNAL_SERVER_ERROR,
        STALL => {
            // Far past the sink's timeout: the sink gives up and retries.
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => {
            let mut accepted = rx.accepted.lock().expect("lock");
            for record in json["records"].as_array().into_iter().flatten() {
                let id = record["id"].as_str().unwrap_or_default().to_string();
                accepted.insert((id, record["content_hash"].as_str().unwrap_or_default().to_string()));
            }
            rx.keys.lock().expect("lock").push(json["batch"].as_str().unwrap_or_default().to_string());
            StatusCode::NO_CONTENT
        }
    }
}

async fn receiver() -> (Arc<Receiver>, String) {
    let rx = Arc::new(Receiver::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hooks/newswire", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route("/hooks/newswire", axum::routing::post(receive)).with_state(Arc::clone(&rx));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (rx, url)
}

fn webhook_sink(url: &str, allow_private: bool) -> String {
    format!(
        "\n[[sink]]\nkind = \"webhook\"\nurl = \"{url}\"\nsecret_env = \"{SECRET_VAR}\"\ntimeout = \"500ms\"\nmax_batch = 2\nbreaker_failures = 2\nprobe_interval = \"200ms\"\nallow_private = {allow_private}\nheaders = {{ \"X-Tenant\" = \"e2e\" }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_fails_stalls_and_recovers_gets_every_record() {
    let server = FixtureServer::start().await;
    let (rx, url) = receiver().await;
    let work = Workdir::new();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config =
        work.config(&[("world", server.url("/rss.xml")), ("science", server.url("/feed.json"))], "interval = \"1s\"");
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.push_str(&webhook_sink(&url, true));
    text.push_str(&format!("\n[server]\nlisten = \"{addr}\"\n"));
    std::fs::write(&config, text).expect("write");
    let mut child = tokio::process::Command::new(crate::harness::bin())
        .kill_on_drop(true)
        .args(["run", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env("RUST_LOG", "info")
        .env(SECRET_VAR, SECRET)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the daemon");

    // Down: /readyz names the sink, and no checkpoint (nor record in the
    // store that holds them) goes past it.
    wait_for("/readyz names the webhook sink", || async {
        get(&addr, "/readyz").await.is_some_and(|(code, body)| {
            code == 503 && body.contains("sink webhook: webhook: receiver down (circuit open")
        })
    })
    .await;
    assert!(rx.requests[usize::from(FAIL)].load(Ordering::SeqCst) >= 2);
    assert_eq!(work.try_count("SELECT COUNT(*) FROM records").unwrap_or(0), 0, "the checkpoint waits for the webhook");

    // Stalled: each request times out; still down.
    rx.mode.store(STALL, Ordering::SeqCst);
    wait_for("a stalled request", || async { rx.requests[usize::from(STALL)].load(Ordering::SeqCst) >= 1 }).await;
    assert_eq!(get(&addr, "/readyz").await.map(|r| r.0), Some(503));
    assert_eq!(work.try_count("SELECT COUNT(*) FROM records").unwrap_or(0), 0);

    // Back: green again, and every stored record was delivered.
    rx.mode.store(ACCEPT, Ordering::SeqCst);
    wait_for("both feeds stored and /readyz green", || async {
        work.try_count("SELECT COUNT(*) FROM records") == Some(5)
            && get(&addr, "/readyz").await.is_some_and(|(code, _)| code == 200)
    })
    .await;
    let stored: HashSet<(String, String)> = {
        let db = work.db();
        let mut stmt = db.prepare("SELECT id, content_hash FROM records").expect("prepare");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("query").map(|r| r.expect("row")).collect()
    };
    assert_eq!(*rx.accepted.lock().expect("lock"), stored, "every record reached the receiver");
    assert_eq!(rx.bad.load(Ordering::SeqCst), 0, "every request was signed and keyed");
    let keys = rx.keys.lock().expect("lock").clone();
    assert!(keys.len() >= 3, "five records, at most two per request: {keys:?}");

    let pid = child.id().expect("pid").to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
    let mut err = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut err).await.expect("read");
    assert!(err.contains("webhook receiver down") && err.contains("webhook receiver is back"), "{err}");
    assert!(!err.contains(SECRET), "the secret stays out of the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_receiver_is_refused_without_allow_private() {
    let server = FixtureServer::start().await;
    let (rx, url) = receiver().await;
    let work = Workdir::new();
    let config = work.config(&[("world", server.url("/rss.xml"))], "");
    let mut text = std::fs::read_to_string(&config).expect("read");
    text.push_str(&webhook_sink(&url, false));
    std::fs::write(&config, text).expect("write");
    let out = tokio::process::Command::new(crate::harness::bin())
        .args(["backfill", "-c", config.to_str().expect("utf-8")])
        .current_dir(work.path())
        .env(SECRET_VAR, SECRET)
        .output()
        .await
        .expect("run newswire");
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(
        err.contains("the webhook sink's url is not allowed")
            && err.contains("127.0.0.1 is not a public address; set allow_private = true"),
        "{err}"
    );
    assert_eq!(rx.requests.iter().map(|n| n.load(Ordering::SeqCst)).sum::<usize>(), 0, "nothing was sent");

    // Without the secret's variable the config does not load.
    let out = run(&["backfill", "-c", config.to_str().expect("utf-8")], work.path()).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("sink[2].secret_env: environment variable {SECRET_VAR} is not set")));
}
