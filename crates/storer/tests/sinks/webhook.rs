//! The webhook sink against a receiver in the test: what it sends (split
//! batches, key, signature), what it retries, when its circuit opens and
//! closes, and what it refuses to retry.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use newswire_core::config::Secret;
use newswire_core::sink::Sink;
use newswire_storer::{WebhookOptions, WebhookSink};
use sha2::Sha256;

use crate::contract;

const SECRET: &str = "whsec_contract";

/// What the receiver answers next; after the script, 200.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Answer 200 after this long.
    Stall(Duration),
}

#[derive(Default)]
struct Receiver {
    script: Mutex<VecDeque<Answer>>,
    /// Every request: its idempotency key and body.
    seen: Mutex<Vec<(String, serde_json::Value)>>,
}

async fn receive(State(rx): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    // The signature is over "{t}.{body}", with the key from the test.
    let signature = headers.get("x-newswire-signature").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let (t, v1) = signature.split_once(",v1=").expect("t=…,v1=… signature header");
    let t = t.strip_prefix("t=").expect("t= first");
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(&body);
    mac.verify_slice(&hex::decode(v1).expect("hex")).expect("the signature verifies");
    assert_eq!(headers.get("content-type").expect("content type"), "application/json");
    assert_eq!(headers.get("x-tenant").expect("custom header"), "news");
    let json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
    rx.seen.lock().expect("lock").push((key, json));
    let next = rx.script.lock().expect("lock").pop_front();
    match next {
        None => StatusCode::OK.into_response(),
        Some(Answer::Status(code)) => {
            let status = StatusCode::from_u16(code).expect("status");
            if code == 429 {
                return (status, [("retry-after", "1")], "slow down").into_response();
            }
            (status, "no").into_response()
        }
        Some(Answer::Stall(d)) => {
            tokio::time::sleep(d).await;
            StatusCode::OK.into_response()
        }
    }
}

async fn receiver(script: &[Answer]) -> (Arc<Receiver>, url::Url) {
    let rx = Arc::new(Receiver { script: Mutex::new(script.iter().copied().collect()), ..Receiver::default() });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = url::Url::parse(&format!("http://{}/hooks/t0k3n", listener.local_addr().expect("addr"))).expect("url");
    let app = axum::Router::new().route("/hooks/t0k3n", axum::routing::post(receive)).with_state(Arc::clone(&rx));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (rx, url)
}

fn sink(url: url::Url, max_batch: usize, breaker_failures: u32) -> WebhookSink {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let options = WebhookOptions {
        name: "webhook".into(),
        url,
        secret: Some(Secret(SECRET.into())),
        timeout: Duration::from_millis(500),
        max_batch,
        headers: vec![("X-Tenant".into(), "news".into())],
        breaker_failures,
        probe_interval: Duration::from_millis(100),
    };
    WebhookSink::new(client, options).expect("sink")
}

fn ids(rx: &Receiver) -> Vec<Vec<String>> {
    let seen = rx.seen.lock().expect("lock");
    seen.iter()
        .map(|(_, body)| {
            body["records"].as_array().expect("records").iter().map(|r| r["id"].as_str().expect("id").into()).collect()
        })
        .collect()
}

#[tokio::test]
async fn batches_are_split_signed_and_keyed_by_their_records() {
    let (rx, url) = receiver(&[]).await;
    let mut sink = sink(url, 2, 3);
    sink.open().await.expect("open");
    assert!(!sink.holds_state() && sink.position().is_none());
    let records: Vec<_> = (0..5).map(|i| contract::record("f", &format!("r{i}"), &format!("body {i}"))).collect();
    let refs: Vec<_> = records.iter().collect();
    let batch = contract::batch("f", "\"e\"", &refs);
    sink.write(&batch).await.expect("write");
    assert_eq!(ids(&rx), [vec!["r0", "r1"], vec!["r2", "r3"], vec!["r4"]]);
    {
        let seen = rx.seen.lock().expect("lock");
        let (key, body) = &seen[0];
        assert_eq!(body["batch"], key.as_str(), "the body names its key");
        assert_eq!(body["feed"], "f");
        assert_eq!(body["records"][0]["content_hash"], records[0].content_hash.as_str());
        assert_eq!(body["records"][1]["body"], "body 1");
        assert_eq!(key.len(), 64);
    }
    // A replay sends the same keys; a new version gets a new one.
    sink.write(&batch).await.expect("replay");
    let keys: Vec<String> = rx.seen.lock().expect("lock").iter().map(|(k, _)| k.clone()).collect();
    assert_eq!(keys[..3], keys[3..]);
    let r0 = contract::record("f", "r0", "body 0, revised");
    sink.write(&contract::batch("f", "\"e2\"", &[&r0])).await.expect("update");
    let new_key = rx.seen.lock().expect("lock")[6].0.clone();
    assert!(!keys.contains(&new_key), "a new content hash is a new key");
    // An empty batch (a 304) sends nothing.
    sink.write(&contract::batch("f", "\"e3\"", &[])).await.expect("empty");
    assert_eq!(rx.seen.lock().expect("lock").len(), 7);
    sink.close().await.expect("close");
}

#[tokio::test]
async fn failures_below_the_threshold_are_retried_within_the_write() {
    let (rx, url) = receiver(&[Answer::Status(500), Answer::Status(429), Answer::Stall(Duration::from_secs(3))]).await;
    let mut sink = sink(url, 10, 4);
    let a = contract::record("f", "a", "one");
    sink.write(&contract::batch("f", "\"e\"", &[&a])).await.expect("delivered on the fourth request");
    assert_eq!(ids(&rx).len(), 4, "500, 429, a timeout, then 200");
    sink.check().await.expect("closed");
}

#[tokio::test]
async fn the_circuit_opens_holds_the_batch_and_closes_on_the_first_success() {
    let (rx, url) = receiver(&[Answer::Status(503), Answer::Status(502), Answer::Status(500)]).await;
    let mut sink = sink(url, 1, 2);
    let (a, b) = (contract::record("f", "a", "one"), contract::record("f", "b", "two"));
    let batch = contract::batch("f", "\"e\"", &[&a, &b]);
    let err = sink.write(&batch).await.expect_err("two failures open the circuit");
    assert!(err.retryable, "{err}");
    assert!(err.message.contains("receiver down (circuit open after 2 consecutive failures)"), "{err}");
    assert!(err.message.contains("answered HTTP 502") && !err.message.contains("t0k3n"), "{err}");
    assert!(sink.is_open());
    sink.check().await.expect_err("down while open");
    // The probe fails too: still open, still the batch.
    let err = sink.write(&batch).await.expect_err("the probe fails");
    assert!(err.message.contains("after 3 consecutive failures"), "{err}");
    // The receiver is back: the next probe delivers and closes the circuit.
    sink.write(&batch).await.expect("delivered");
    assert!(!sink.is_open());
    sink.check().await.expect("up");
    assert_eq!(ids(&rx), [vec!["a"], vec!["a"], vec!["a"], vec!["a"], vec!["b"]]);
}

#[tokio::test]
async fn requests_accepted_before_a_failure_are_not_sent_again() {
    let (rx, url) = receiver(&[Answer::Status(200), Answer::Status(500)]).await;
    let mut sink = sink(url, 1, 1);
    let (a, b) = (contract::record("f", "a", "one"), contract::record("f", "b", "two"));
    let batch = contract::batch("f", "\"e\"", &[&a, &b]);
    sink.write(&batch).await.expect_err("b fails, the circuit opens");
    sink.write(&batch).await.expect("b delivered");
    assert_eq!(ids(&rx), [vec!["a"], vec!["b"], vec!["b"]]);
}

#[tokio::test]
async fn a_refusal_is_fatal_and_names_the_host_and_status() {
    for (code, says) in [(400, "refused the batch with HTTP 400 Bad Request"), (301, "redirects are not followed")] {
        let (_rx, url) = receiver(&[Answer::Status(code)]).await;
        let host = format!("{}:{}", url.host_str().expect("host"), url.port().expect("port"));
        let mut sink = sink(url, 10, 3);
        let a = contract::record("f", "a", "one");
        let err = sink.write(&contract::batch("f", "\"e\"", &[&a])).await.expect_err("refused");
        assert!(!err.retryable, "{err}");
        assert_eq!(err.sink, "webhook");
        assert!(err.message.contains(&host) && err.message.contains(says), "{err}");
        assert!(!err.message.contains("t0k3n"), "the path stays out of errors: {err}");
    }
}

#[tokio::test]
async fn an_unreachable_receiver_is_retryable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = url::Url::parse(&format!("http://{}/in", listener.local_addr().expect("addr"))).expect("url");
    drop(listener);
    let mut sink = sink(url, 10, 1);
    let a = contract::record("f", "a", "one");
    let err = sink.write(&contract::batch("f", "\"e\"", &[&a])).await.expect_err("nobody listens");
    assert!(err.retryable && err.message.contains("request to 127.0.0.1:"), "{err}");
}
