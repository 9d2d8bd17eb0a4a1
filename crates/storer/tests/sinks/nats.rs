//! The NATS JetStream sink against a real server: dedup by message id, acks
//! before `write` returns, connection errors retryable.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use newswire_core::sink::Sink;
use newswire_storer::{NatsOptions, NatsSink};

use crate::contract;

const URL_VAR: &str = "NEWSWIRE_TEST_NATS_URL";

fn url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            println!("skipped: {URL_VAR} is not set");
            None
        }
    }
}

/// Options for a fresh stream and subject prefix (streams may not share
/// subjects), for one test.
fn fresh_options() -> NatsOptions {
    let suffix = format!("{:016x}", rand::random::<u64>());
    NatsOptions {
        stream: format!("NEWSWIRE_TEST_{suffix}"),
        subject_template: format!("newswire_test_{suffix}.{{feed}}"),
        ..NatsOptions::default()
    }
}

/// Connect a sink on a fresh stream, run `test`, then delete the stream
/// whether the test passed or panicked.
async fn with_stream<F, Fut>(url: &str, test: F)
where
    F: FnOnce(NatsSink) -> Fut,
    Fut: Future<Output = ()>,
{
    let options = fresh_options();
    let cleanup = NatsSink::connect(url, options.clone()).await.expect("connect");
    let sink = NatsSink::connect(url, options).await.expect("connect");
    let outcome = AssertUnwindSafe(test(sink)).catch_unwind().await;
    cleanup.delete_stream().await.expect("delete stream");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test]
async fn a_batch_published_twice_is_stored_once() {
    let Some(url) = url() else { return };
    with_stream(&url, |mut sink| async move {
        sink.open().await.expect("open");
        sink.check().await.expect("check");
        assert!(!sink.holds_state());
        let a = contract::record("World News", "a", "one");
        let b = contract::record("tech", "b", "two");
        let batch = contract::batch("f", "\"e\"", &[&a, &b]);
        sink.write(&batch).await.expect("write");
        // `write` returned after the acks: the messages are in the stream.
        assert_eq!(sink.stream_messages().await.expect("messages"), 2);
        sink.write(&batch).await.expect("replay");
        assert_eq!(sink.stream_messages().await.expect("messages"), 2, "the replay was deduplicated");
        // A new version of an article is a new message.
        let a2 = contract::record("World News", "a", "one, revised");
        sink.write(&contract::batch("f", "\"e2\"", &[&a2])).await.expect("update");
        assert_eq!(sink.stream_messages().await.expect("messages"), 3);
        // An empty batch publishes nothing and succeeds.
        sink.write(&contract::batch("f", "\"e3\"", &[])).await.expect("empty");
        sink.close().await.expect("close");
    })
    .await;
}

#[tokio::test]
async fn a_large_batch_waits_for_every_ack() {
    let Some(url) = url() else { return };
    with_stream(&url, |mut sink| async move {
        let records: Vec<_> =
            (0..500).map(|i| contract::record("bulk", &format!("r{i}"), &format!("body {i}"))).collect();
        let refs: Vec<_> = records.iter().collect();
        sink.write(&contract::batch("bulk", "\"e\"", &refs)).await.expect("write");
        assert_eq!(sink.stream_messages().await.expect("messages"), 500);
    })
    .await;
}

#[tokio::test]
async fn a_new_stream_gets_a_long_duplicate_window() {
    let Some(url) = url() else { return };
    with_stream(&url.clone(), |sink| async move {
        let client = async_nats::connect(&url).await.expect("connect");
        let js = async_nats::jetstream::new(client);
        let stream = js.get_stream(sink.stream()).await.expect("stream exists");
        assert_eq!(stream.cached_info().config.duplicate_window, Duration::from_secs(2 * 3600));
    })
    .await;
}

#[tokio::test]
async fn unreachable_server_is_a_retryable_error_and_bad_settings_are_fatal() {
    let err = NatsSink::connect("nats://127.0.0.1:1", fresh_options()).await.expect_err("no server");
    assert!(err.retryable, "{err}");
    let bad = NatsOptions { subject_template: "{feed}".into(), ..fresh_options() };
    assert!(!NatsSink::connect("nats://127.0.0.1:1", bad).await.expect_err("bad template").retryable);
    let var = format!("NEWSWIRE_TEST_UNSET_{:08x}", rand::random::<u32>());
    let secretless = NatsOptions { token_env: Some(var.clone()), ..fresh_options() };
    let err = NatsSink::connect("nats://127.0.0.1:1", secretless).await.expect_err("unset secret");
    assert!(!err.retryable && err.message.contains(&var), "{err}");
}
