//! The webhook sink: batches of records POSTed as JSON to an HTTP receiver.
//!
//! # What it sends
//!
//! One `POST` per at most `max_batch` records of a batch (a larger batch
//! goes in several requests, in order), with the body
//! `{"batch": KEY, "feed": FEED, "records": [RECORD, …]}` where each record
//! is the record as the JSON Lines sink writes it (docs/record.md), `id`
//! and `content_hash` included, and the headers `Content-Type:
//! application/json`, `Idempotency-Key: KEY` and, with a secret,
//! `X-Newswire-Signature` ([`sign`] says what both are).
//!
//! # What it promises
//!
//! - At least once: `write` returns `Ok` only when the receiver accepted
//!   every request of the batch with a 2xx, so the pipeline commits the
//!   feed's checkpoint only then. A retry, or a replay after a crash, sends
//!   the same records with the same key: the receiver deduplicates by key,
//!   or by record `id` and `content_hash`.
//! - Retryable (tried again, never dropped): connection failures, timeouts,
//!   408, 429 and 5xx. 429 and 503 with `Retry-After` wait that long (up to
//!   [`MAX_RETRY_AFTER`]). Between tries: exponential backoff with jitter;
//!   after `breaker_failures` consecutive failures the circuit opens
//!   ([`breaker`]) and `write` fails retryably, so the pipeline shows the
//!   sink on `/readyz` while it keeps the batch and probes every
//!   `probe_interval`.
//! - Fatal (the pipeline stops before the checkpoint, nothing is lost, an
//!   operator must act): any other status, 3xx included (redirects are not
//!   followed, so the address guard cannot be walked around) and 4xx such as
//!   400, 401, 403, 404, 413, 422: the receiver refuses this request and
//!   would refuse it again. The error names the sink, the receiver's host
//!   and the status, never the URL's path or query, the secret or a header.
//! - Within one batch, requests already accepted are not sent again when a
//!   later one fails and the batch is retried.
//!
//! The HTTP client comes from the caller (the binary builds it with the
//! fetcher's address guard in its resolver and redirects off): this crate
//! never decides which addresses may be reached.

pub mod breaker;
pub mod sign;

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use newswire_core::Record;
use newswire_core::config::Secret;
use newswire_core::sink::{BoxFuture, Sink, SinkBatch, StoreError};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{Client, StatusCode};
use serde::Serialize;
use tracing::{error, info, warn};
use url::Url;

use breaker::Breaker;

/// The longest Retry-After honoured; a longer one waits this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Settings of one webhook sink.
#[derive(Clone)]
pub struct WebhookOptions {
    /// Name in logs, metrics and `/readyz` (`webhook` or `webhook:NAME`).
    pub name: String,
    /// The receiver.
    pub url: Url,
    /// The signing key; None sends no signature.
    pub secret: Option<Secret>,
    /// Total time for one request.
    pub timeout: Duration,
    /// Records per request at most (0 counts as 1).
    pub max_batch: usize,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Consecutive failures that open the circuit.
    pub breaker_failures: u32,
    /// While open, one request per this long at most.
    pub probe_interval: Duration,
}

impl fmt::Debug for WebhookOptions {
    // Header values may be credentials: names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookOptions")
            .field("name", &self.name)
            .field("host", &host_of(&self.url))
            .field("secret", &self.secret)
            .field("timeout", &self.timeout)
            .field("max_batch", &self.max_batch)
            .field("headers", &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("breaker_failures", &self.breaker_failures)
            .field("probe_interval", &self.probe_interval)
            .finish()
    }
}

/// The receiver's host and port, the only part of its URL that logs and
/// errors name (a path or query may hold a token).
fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The body of one request.
#[derive(Serialize)]
struct Body<'a> {
    batch: &'a str,
    feed: &'a str,
    records: &'a [Record],
}

/// Why a request was not accepted.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// Try again later, waiting at least `retry_after` when given.
    Retry { message: String, retry_after: Option<Duration> },
    /// The receiver refuses this request; trying again will not help.
    Reject(String),
}

/// What a response's status means for the request (see the module docs).
pub fn classify(host: &str, status: StatusCode, retry_after: Option<Duration>) -> Result<(), Failure> {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("");
    if status.is_success() {
        Ok(())
    } else if status.is_server_error() || code == 408 || code == 429 {
        Err(Failure::Retry { message: format!("{host} answered HTTP {code} {reason}"), retry_after })
    } else if status.is_redirection() {
        Err(Failure::Reject(format!(
            "{host} answered HTTP {code} {reason}: redirects are not followed; set url to the receiver's final address"
        )))
    } else {
        Err(Failure::Reject(format!(
            "{host} refused the batch with HTTP {code} {reason}; fix the receiver or the sink's settings and restart (the batch is sent again)"
        )))
    }
}

/// A Retry-After value: delay-seconds or an HTTP date, capped at
/// [`MAX_RETRY_AFTER`]; None when absent or unreadable.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            (at.with_timezone(&chrono::Utc) - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The webhook sink (see the module docs).
pub struct WebhookSink {
    client: Client,
    options: WebhookOptions,
    host: String,
    headers: HeaderMap,
    breaker: Breaker,
    /// Keys of the requests of the batch in hand that the receiver
    /// accepted: a retry of the batch skips them. Cleared when the whole
    /// batch is in.
    delivered: HashSet<String>,
}

impl WebhookSink {
    /// A sink posting with `client`, which should refuse redirects and
    /// guard the addresses it connects to. Fails (fatally) on a header that
    /// is not a valid HTTP header.
    pub fn new(client: Client, options: WebhookOptions) -> Result<Self, StoreError> {
        let headers = request_headers(&options)?;
        let breaker = Breaker::new(options.breaker_failures, options.probe_interval);
        Ok(WebhookSink { client, host: host_of(&options.url), options, headers, breaker, delivered: HashSet::new() })
    }

    /// Whether the circuit is open (the receiver counts as down).
    pub fn is_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// Send one request.
    async fn post(&self, body: &Bytes, key: &str) -> Result<(), Failure> {
        let mut request = self
            .client
            .post(self.options.url.clone())
            .timeout(self.options.timeout)
            .headers(self.headers.clone())
            .header(sign::IDEMPOTENCY_HEADER, key);
        if let Some(secret) = &self.options.secret {
            let now = chrono::Utc::now().timestamp();
            request = request.header(sign::SIGNATURE_HEADER, sign::signature_header(secret, now, body));
        }
        let response = match request.body(body.clone()).send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return Err(Failure::Retry {
                    message: format!("request to {} timed out after {:?}", self.host, self.options.timeout),
                    retry_after: None,
                });
            }
            Err(e) => {
                return Err(Failure::Retry {
                    message: format!(
                        "request to {} failed: {}",
                        self.host,
                        newswire_core::error::chain(&e.without_url())
                    ),
                    retry_after: None,
                });
            }
        };
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        classify(&self.host, response.status(), retry_after)
    }

    /// Deliver one request's records, retrying until the receiver accepts
    /// them, refuses them, or the circuit opens.
    async fn deliver(&mut self, key: &str, body: &Bytes) -> Result<(), StoreError> {
        let name = self.options.name.clone();
        loop {
            let wait = self.breaker.wait(tokio::time::Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            match self.post(body, key).await {
                Ok(()) => {
                    if self.breaker.success() {
                        info!(sink = %name, host = %self.host, "webhook receiver is back; circuit closed");
                    }
                    return Ok(());
                }
                Err(Failure::Reject(message)) => {
                    error!(sink = %name, host = %self.host, error = %message, "webhook receiver refused a batch; stopping before its checkpoint");
                    return Err(StoreError::fatal(name, message));
                }
                Err(Failure::Retry { message, retry_after }) => {
                    let was_open = self.breaker.is_open();
                    let pause = self.breaker.failure(tokio::time::Instant::now(), retry_after, breaker::jitter());
                    let failures = self.breaker.failures();
                    warn!(sink = %name, host = %self.host, error = %message, failures, retry_in_ms = pause.as_millis() as u64, "webhook delivery failed; retrying");
                    if self.breaker.is_open() {
                        if !was_open {
                            error!(sink = %name, host = %self.host, failures, probe_interval_s = self.options.probe_interval.as_secs_f64(), "webhook receiver down; circuit open, probing at the interval and holding the batch");
                        }
                        return Err(StoreError::retryable(
                            name,
                            format!("receiver down (circuit open after {failures} consecutive failures): {message}"),
                        ));
                    }
                }
            }
        }
    }
}

/// The headers of every request: the configured ones and the content type.
fn request_headers(options: &WebhookOptions) -> Result<HeaderMap, StoreError> {
    let mut headers = HeaderMap::new();
    for (name, value) in &options.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| StoreError::fatal(&options.name, format!("invalid header name \"{name}\"")))?;
        let value = HeaderValue::from_str(value)
            .map_err(|_| StoreError::fatal(&options.name, format!("invalid value for header {name}")))?;
        headers.insert(header, value);
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(headers)
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.options.name
    }

    fn open(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        // Nothing is sent before the first batch: a receiver down at start
        // is found, and waited for, like one that goes down later.
        Box::pin(async { Ok(()) })
    }

    fn write<'a>(&'a mut self, batch: &'a SinkBatch) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let feed = batch.checkpoint.state.feed.as_str();
            for records in batch.records.chunks(self.options.max_batch.max(1)) {
                let key = sign::idempotency_key(records);
                if self.delivered.contains(&key) {
                    continue;
                }
                let body = serde_json::to_vec(&Body { batch: &key, feed, records }).map_err(|e| {
                    StoreError::fatal(&self.options.name, format!("cannot encode a batch of feed {feed}: {e}"))
                })?;
                self.deliver(&key, &Bytes::from(body)).await?;
                self.delivered.insert(key);
            }
            self.delivered.clear();
            Ok(())
        })
    }

    fn check(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            if self.breaker.is_open() {
                return Err(StoreError::retryable(
                    &self.options.name,
                    format!("receiver {} down: circuit open", self.host),
                ));
            }
            Ok(())
        })
    }

    fn close(&mut self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn record(id: &str) -> Record {
        let body = format!("Body of {id}.");
        Record {
            schema: newswire_core::record::SCHEMA_VERSION,
            id: id.into(),
            feed: "f".into(),
            feed_url: "https://example.com/f.xml".into(),
            guid: None,
            url: Some(format!("https://example.com/{id}")),
            title: Some(format!("Title {id}")),
            authors: vec![],
            published_at: None,
            updated_at: None,
            fetched_at: chrono::Utc::now(),
            language: None,
            summary: None,
            word_count: newswire_core::record::word_count(&body),
            content_hash: newswire_core::id::content_hash(&body),
            body,
            categories: vec![],
            source: newswire_core::Source::Feed,
            embeds: vec![],
            removed: vec![],
            cluster: None,
            similarity: None,
            fingerprint: None,
        }
    }

    #[test]
    fn statuses_split_into_accepted_retryable_and_refused() {
        let h = "hooks.example.com";
        assert_eq!(classify(h, StatusCode::OK, None), Ok(()));
        assert_eq!(classify(h, StatusCode::ACCEPTED, None), Ok(()));
        assert_eq!(classify(h, StatusCode::NO_CONTENT, None), Ok(()));
        for code in [500, 502, 503, 504, 408, 429] {
            let status = StatusCode::from_u16(code).expect("status");
            match classify(h, status, Some(Duration::from_secs(3))) {
                Err(Failure::Retry { message, retry_after }) => {
                    assert!(message.starts_with(&format!("hooks.example.com answered HTTP {code}")), "{message}");
                    assert_eq!(retry_after, Some(Duration::from_secs(3)));
                }
                other => panic!("{code} must be retried: {other:?}"),
            }
        }
        for code in [400, 401, 403, 404, 410, 413, 422, 301, 302, 307, 308] {
            let status = StatusCode::from_u16(code).expect("status");
            match classify(h, status, None) {
                Err(Failure::Reject(message)) => assert!(message.contains(&format!("HTTP {code}")), "{message}"),
                other => panic!("{code} must be refused: {other:?}"),
            }
        }
        let Err(Failure::Reject(m)) = classify(h, StatusCode::MOVED_PERMANENTLY, None) else { panic!("refused") };
        assert!(m.contains("redirects are not followed"), "{m}");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date_capped() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z").expect("date").to_utc();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Sat, 05 Dec 2026 10:00:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Sat, 05 Dec 2026 09:00:00 GMT", now), Some(Duration::ZERO), "past");
        assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn debug_output_hides_the_secret_the_path_and_header_values() {
        let options = WebhookOptions {
            name: "webhook".into(),
            url: Url::parse("https://hooks.example.com/in/tok3n?key=s3cret").expect("url"),
            secret: Some(Secret("hunter2".into())),
            timeout: Duration::from_secs(1),
            max_batch: 10,
            headers: vec![("Authorization".into(), "Bearer pa55".into())],
            breaker_failures: 3,
            probe_interval: Duration::from_secs(1),
        };
        let text = format!("{options:?}");
        for secret in ["hunter2", "tok3n", "s3cret", "pa55"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("hooks.example.com") && text.contains("Authorization"), "{text}");
        let bad = WebhookOptions { headers: vec![("X-Bad".into(), "line\nbreak".into())], ..options };
        let err = request_headers(&bad).expect_err("a bad header value is refused");
        assert!(!err.retryable && err.message.contains("X-Bad"), "{err}");
    }
}
