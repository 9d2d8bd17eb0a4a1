//! Fetching one document: HTTP(S) with conditional GET, or a local file.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use rand::Rng;

use bytes::{Bytes, BytesMut};
use newswire_core::ErrorKind;
use newswire_core::canon::redact;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Client, StatusCode};
use url::Url;

use crate::guard::{AllowedNetworks, ForbiddenAddress, GuardedResolver};
use crate::hosts::{HostLimits, HostWait};

/// Settings shared by every request of a [`Fetcher`].
#[derive(Debug, Clone)]
pub struct FetcherOptions {
    /// User-Agent header.
    pub user_agent: String,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Redirects followed at most per request.
    pub max_redirects: usize,
    /// Fixed name resolution, checked before DNS (for tests).
    pub resolve: HashMap<String, Vec<SocketAddr>>,
    /// Requests in flight to one host at most.
    pub per_host_concurrency: usize,
    /// Requests per second to one host at most; 0 means unlimited.
    pub per_host_rate: f64,
    /// Private networks reachable without `allow_private`.
    pub allowed_networks: AllowedNetworks,
}

impl Default for FetcherOptions {
    fn default() -> Self {
        FetcherOptions {
            user_agent: format!("newswire/{}", env!("CARGO_PKG_VERSION")),
            connect_timeout: Duration::from_secs(10),
            max_redirects: 10,
            resolve: HashMap::new(),
            per_host_concurrency: 4,
            per_host_rate: 0.0,
            allowed_networks: AllowedNetworks::default(),
        }
    }
}

/// One request.
#[derive(Debug, Clone)]
pub struct FetchRequest<'a> {
    /// What to fetch.
    pub url: &'a Url,
    /// Validator from the last 200, sent as If-None-Match.
    pub etag: Option<&'a str>,
    /// Validator from the last 200, sent as If-Modified-Since.
    pub last_modified: Option<&'a str>,
    /// Whether private addresses may be reached.
    pub allow_private: bool,
    /// Whether a `file://` URL may be read (only for URLs from the config).
    pub allow_file: bool,
    /// Total time for the request, redirects and body included.
    pub timeout: Duration,
    /// Cap on the body after decompression.
    pub max_body: u64,
    /// Retries of a transient failure (connect error, timeout, 429, 502,
    /// 503, 504) within this request.
    pub retries: u32,
    /// Extra headers.
    pub headers: &'a [(String, String)],
    /// Basic auth (user, password).
    pub basic_auth: Option<(&'a str, &'a str)>,
    /// Proxy URL.
    pub proxy: Option<&'a str>,
}

impl<'a> FetchRequest<'a> {
    /// A plain GET of `url` with the given limits and no extras.
    pub fn simple(url: &'a Url, timeout: Duration, max_body: u64) -> Self {
        FetchRequest {
            url,
            etag: None,
            last_modified: None,
            allow_private: false,
            allow_file: false,
            timeout,
            max_body,
            retries: 0,
            headers: &[],
            basic_auth: None,
            proxy: None,
        }
    }
}

/// A fetched document.
#[derive(Debug, Clone)]
pub struct Document {
    /// The body, decompressed.
    pub body: Bytes,
    /// The URL the body came from, after redirects.
    pub final_url: Url,
    /// HTTP status (200 for files).
    pub status: u16,
    /// ETag of the response.
    pub etag: Option<String>,
    /// Last-Modified of the response.
    pub last_modified: Option<String>,
    /// Content-Type of the response.
    pub content_type: Option<String>,
    /// Where the feed moved, when every redirect on the way was permanent
    /// (301 or 308).
    pub moved_to: Option<Url>,
    /// How long the server said the document stays fresh (Cache-Control
    /// max-age, or Expires): a lower bound on the next poll.
    pub fresh_for: Option<Duration>,
}

/// The outcome of a successful request.
#[derive(Debug, Clone)]
pub enum Fetched {
    /// 304: the document has not changed since the validators were issued.
    NotModified {
        /// Freshness the server gave with the 304.
        fresh_for: Option<Duration>,
    },
    /// A document.
    Document(Box<Document>),
}

/// A failed request. The message names the URL (redacted) and the cause.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    /// Coarse kind, for metrics and retry decisions.
    pub kind: ErrorKind,
    /// HTTP status, when the server answered.
    pub status: Option<u16>,
    /// What went wrong, naming the URL.
    pub message: String,
    /// How long the server asked us to wait (429 and 503).
    pub retry_after: Option<Duration>,
}

impl FetchError {
    fn new(kind: ErrorKind, message: String) -> Self {
        FetchError { kind, status: None, message, retry_after: None }
    }

    /// Whether the feed is gone for good (410) and should be disabled.
    pub fn is_gone(&self) -> bool {
        self.status == Some(410)
    }
}

/// The HTTP clients and their settings. Cheap to clone; share one.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    options: FetcherOptions,
    allowed: Arc<AllowedNetworks>,
    /// One client per (allow_private, proxy): reqwest fixes both at build
    /// time. Built on first use; a handful in practice.
    clients: Mutex<HashMap<(bool, Option<String>), Client>>,
    hosts: HostLimits,
}

static CRYPTO: Once = Once::new();

fn build_client(
    opts: &FetcherOptions,
    allowed: &Arc<AllowedNetworks>,
    allow_private: bool,
    proxy: Option<&str>,
) -> Result<Client, FetchError> {
    let resolver = GuardedResolver::new(allow_private, Arc::clone(allowed), Arc::new(opts.resolve.clone()));
    let mut builder = Client::builder()
        .user_agent(&opts.user_agent)
        .connect_timeout(opts.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .gzip(true)
        .brotli(true)
        .deflate(true)
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(opts.per_host_concurrency.max(1))
        .dns_resolver(resolver);
    if let Some(proxy) = proxy {
        let proxy = reqwest::Proxy::all(proxy)
            .map_err(|e| FetchError::new(ErrorKind::Config, format!("invalid proxy {}: {e}", redact(proxy))))?;
        builder = builder.proxy(proxy);
    }
    builder.build().map_err(|e| FetchError::new(ErrorKind::Config, format!("cannot build the HTTP client: {e}")))
}

/// How long a server may ask us to wait (Retry-After) and still be waited
/// for within the same poll; longer waits end the poll and push the next
/// one back instead.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

fn is_transient(err: &FetchError) -> bool {
    match err.kind {
        ErrorKind::Connect | ErrorKind::Timeout => true,
        ErrorKind::Status => matches!(err.status, Some(429 | 502 | 503 | 504)),
        _ => false,
    }
}

/// Backoff before retry `attempt` (0-based): 500 ms doubling, with ±50%
/// jitter so many feeds failing together do not retry together.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1 << attempt.min(6));
    base.mul_f64(rand::rng().random_range(0.5..1.5))
}

fn install_crypto() {
    CRYPTO.call_once(|| {
        // Fails only when another provider was installed first, which is
        // just as good for us.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client for sending to a configured destination (the webhook sink):
/// the address guard in its resolver (`allow_private` and the options'
/// allowed networks and fixed names), redirects never followed, no proxy
/// from the environment, the options' user agent and connect timeout.
pub fn guarded_client(opts: &FetcherOptions, allow_private: bool) -> Result<Client, FetchError> {
    install_crypto();
    build_client(opts, &Arc::new(opts.allowed_networks.clone()), allow_private, None)
}

/// Check a destination before anything is sent to it, for a clear error at
/// start: an address in the URL must be public (or allowed), and a name
/// must resolve to at least one address that is. A name that does not
/// resolve now passes: the client's resolver checks again at every
/// connection, whatever the name resolves to then.
pub async fn check_destination(opts: &FetcherOptions, url: &Url, allow_private: bool) -> Result<(), FetchError> {
    check_target(url, allow_private, &opts.allowed_networks)?;
    if allow_private {
        return Ok(());
    }
    if let Some(url::Host::Domain(host)) = url.host()
        && let Ok(name) = host.parse::<reqwest::dns::Name>()
    {
        let resolver =
            GuardedResolver::new(false, Arc::new(opts.allowed_networks.clone()), Arc::new(opts.resolve.clone()));
        if let Err(e) = reqwest::dns::Resolve::resolve(&resolver, name).await
            && let Some(forbidden) = e.downcast_ref::<ForbiddenAddress>()
        {
            return Err(FetchError::new(
                ErrorKind::Forbidden,
                format!("refused {}: {forbidden}", redact(url.as_str())),
            ));
        }
    }
    Ok(())
}

impl Fetcher {
    /// Build the fetcher. Fails only if the TLS setup fails.
    pub fn new(opts: &FetcherOptions) -> Result<Fetcher, FetchError> {
        install_crypto();
        let allowed = Arc::new(opts.allowed_networks.clone());
        // Build the common client now so a TLS problem shows at start.
        let strict = build_client(opts, &allowed, false, None)?;
        let clients = Mutex::new(HashMap::from([((false, None), strict)]));
        Ok(Fetcher {
            inner: Arc::new(Inner {
                hosts: HostLimits::new(opts.per_host_concurrency, opts.per_host_rate),
                options: opts.clone(),
                allowed,
                clients,
            }),
        })
    }

    /// The hosts whose requests had to wait for a turn under
    /// `per_host_concurrency` and `per_host_rate`, longest first (at most
    /// 64): when one leads by far, politeness bounds the run.
    pub fn politeness(&self) -> Vec<HostWait> {
        self.inner.hosts.waits()
    }

    /// The configured requests per second to one host (0: none).
    pub fn per_host_rate(&self) -> f64 {
        self.inner.options.per_host_rate
    }

    /// The User-Agent header every request sends.
    pub fn user_agent(&self) -> &str {
        &self.inner.options.user_agent
    }

    fn client(&self, allow_private: bool, proxy: Option<&str>) -> Result<Client, FetchError> {
        let key = (allow_private, proxy.map(str::to_string));
        let mut clients = self.inner.clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = build_client(&self.inner.options, &self.inner.allowed, allow_private, proxy)?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// Fetch one document. Each attempt (redirects and body included) is
    /// bounded by `req.timeout`; waiting for a turn at a busy host is not
    /// counted. Transient failures are retried `req.retries` times.
    pub async fn fetch(&self, req: &FetchRequest<'_>) -> Result<Fetched, FetchError> {
        if req.url.scheme() == "file" {
            return fetch_file(req).await;
        }
        let client = self.client(req.allow_private, req.proxy)?;
        let host = req.url.host_str().unwrap_or_default().to_ascii_lowercase();
        let mut attempt = 0;
        loop {
            let result = {
                let _turn = self.inner.hosts.acquire(&host).await;
                match tokio::time::timeout(req.timeout, self.fetch_http(&client, req)).await {
                    Ok(result) => result,
                    Err(_) => Err(FetchError::new(
                        ErrorKind::Timeout,
                        format!("request to {} timed out after {}", redact(req.url.as_str()), humanize(req.timeout)),
                    )),
                }
            };
            let err = match result {
                Ok(fetched) => return Ok(fetched),
                Err(err) => err,
            };
            if attempt >= req.retries || !is_transient(&err) {
                return Err(err);
            }
            let wait = match err.retry_after {
                Some(asked) if asked > MAX_RETRY_WAIT => return Err(err),
                Some(asked) => asked,
                None => backoff(attempt),
            };
            tracing::debug!(url = %redact(req.url.as_str()), error = %err, attempt, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn fetch_http(&self, client: &Client, req: &FetchRequest<'_>) -> Result<Fetched, FetchError> {
        let mut url = req.url.clone();
        let mut seen: Vec<Url> = Vec::new();
        // Permanent while every hop so far was 301 or 308.
        let mut permanent = true;
        loop {
            check_target(&url, req.allow_private, &self.inner.allowed)?;
            let mut headers = HeaderMap::new();
            // Validators apply to the URL they came from; on a redirect the
            // target is asked unconditionally.
            if seen.is_empty() {
                if let Some(v) = req.etag.and_then(|v| HeaderValue::from_str(v).ok()) {
                    headers.insert(header::IF_NONE_MATCH, v);
                }
                if let Some(v) = req.last_modified.and_then(|v| HeaderValue::from_str(v).ok()) {
                    headers.insert(header::IF_MODIFIED_SINCE, v);
                }
            }
            headers.insert(
                header::ACCEPT,
                HeaderValue::from_static(
                    "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5",
                ),
            );
            for (name, value) in req.headers {
                if let (Ok(name), Ok(value)) =
                    (header::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
                {
                    headers.insert(name, value);
                }
            }
            let mut request = client.get(url.clone()).headers(headers);
            // Credentials go only to the feed's own origin, never to a host a
            // redirect points at.
            if let Some((user, password)) = req.basic_auth
                && url.origin() == req.url.origin()
            {
                request = request.basic_auth(user, Some(password));
            }
            let resp = request.send().await.map_err(|e| send_error(&url, e))?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let Some(location) = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
                    return Err(status_error(&url, status, None));
                };
                let next = url.join(location).map_err(|e| {
                    FetchError::new(
                        ErrorKind::Redirect,
                        format!("{} redirected to an invalid location \"{location}\": {e}", redact(url.as_str())),
                    )
                })?;
                if !matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT) {
                    permanent = false;
                }
                seen.push(url);
                if seen.contains(&next) {
                    return Err(FetchError::new(
                        ErrorKind::Redirect,
                        format!("redirect loop at {} (via {})", redact(next.as_str()), redact(req.url.as_str())),
                    ));
                }
                if seen.len() > self.inner.options.max_redirects {
                    return Err(FetchError::new(
                        ErrorKind::Redirect,
                        format!(
                            "more than {} redirects from {}",
                            self.inner.options.max_redirects,
                            redact(req.url.as_str())
                        ),
                    ));
                }
                url = next;
                continue;
            }
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Fetched::NotModified { fresh_for: freshness(resp.headers()) });
            }
            if !status.is_success() {
                let retry_after =
                    resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
                return Err(status_error(&url, status, retry_after));
            }
            let header_str =
                |name| resp.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
            let etag = header_str(header::ETAG);
            let last_modified = header_str(header::LAST_MODIFIED);
            let content_type = header_str(header::CONTENT_TYPE);
            let fresh_for = freshness(resp.headers());
            let body = read_capped(resp, &url, req.max_body).await?;
            let moved_to = (permanent && !seen.is_empty()).then(|| url.clone());
            return Ok(Fetched::Document(Box::new(Document {
                body,
                final_url: url,
                status: status.as_u16(),
                etag,
                last_modified,
                content_type,
                moved_to,
                fresh_for,
            })));
        }
    }
}

/// Refuse schemes other than http(s) and literal non-public addresses.
/// Names are checked by the resolver, after resolution.
fn check_target(url: &Url, allow_private: bool, allowed: &AllowedNetworks) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::new(
            ErrorKind::Forbidden,
            format!("refused {}: only http and https may be fetched here", redact(url.as_str())),
        ));
    }
    if allow_private {
        return Ok(());
    }
    let ip: Option<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        _ => None,
    };
    if let Some(ip) = ip
        && !allowed.permits(ip)
    {
        return Err(FetchError::new(
            ErrorKind::Forbidden,
            format!(
                "refused {}: {ip} is not a public address; set allow_private = true to allow it",
                redact(url.as_str())
            ),
        ));
    }
    Ok(())
}

fn send_error(url: &Url, err: reqwest::Error) -> FetchError {
    // The message names the URL (redacted) once; reqwest's own text would
    // repeat it.
    let err = err.without_url();
    // The guard's refusal arrives wrapped in the connect error.
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    while let Some(e) = source {
        if let Some(forbidden) = e.downcast_ref::<ForbiddenAddress>() {
            return FetchError::new(ErrorKind::Forbidden, format!("refused {}: {forbidden}", redact(url.as_str())));
        }
        source = e.source();
    }
    let kind = if err.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Connect };
    FetchError::new(kind, format!("request to {} failed: {}", redact(url.as_str()), error_chain(&err)))
}

fn error_chain(err: &dyn std::error::Error) -> String {
    redact(&newswire_core::error::chain(err))
}

fn status_error(url: &Url, status: StatusCode, retry_after: Option<Duration>) -> FetchError {
    let reason = status.canonical_reason().unwrap_or("");
    let mut message = format!("{} answered HTTP {} {reason}", redact(url.as_str()), status.as_u16());
    if status == StatusCode::GONE {
        message.push_str(": the feed is gone; it is disabled until its URL changes");
    }
    FetchError {
        kind: ErrorKind::Status,
        status: Some(status.as_u16()),
        message: message.trim_end().to_string(),
        retry_after,
    }
}

/// Seconds, or an HTTP date.
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

async fn read_capped(mut resp: reqwest::Response, url: &Url, max: u64) -> Result<Bytes, FetchError> {
    let too_large = || {
        FetchError::new(
            ErrorKind::TooLarge,
            format!("body of {} is larger than the {} cap", redact(url.as_str()), human_bytes(max)),
        )
    };
    // Content-Length describes the encoded body; a compressed body may still
    // grow past the cap, which the loop below catches.
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(too_large());
    }
    // Room for the declared length at once (within the cap, which a server
    // could make us fill anyway): growing by doubling would leave a body up
    // to twice its size, held as long as its batch is in the pipeline.
    let declared = resp.content_length().map_or(0, |n| usize::try_from(n).unwrap_or(0));
    let mut buf = BytesMut::with_capacity(declared);
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if (buf.len() + chunk.len()) as u64 > max {
                    return Err(too_large());
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(buf.freeze()),
            Err(e) => {
                let kind = if e.is_timeout() { ErrorKind::Timeout } else { ErrorKind::Connect };
                return Err(FetchError::new(
                    kind,
                    format!("reading the body of {} failed: {}", redact(url.as_str()), error_chain(&e)),
                ));
            }
        }
    }
}

async fn fetch_file(req: &FetchRequest<'_>) -> Result<Fetched, FetchError> {
    let shown = redact(req.url.as_str());
    if !req.allow_file {
        return Err(FetchError::new(
            ErrorKind::Forbidden,
            format!("refused {shown}: file URLs are read only when written in the config"),
        ));
    }
    let path = req
        .url
        .to_file_path()
        .map_err(|()| FetchError::new(ErrorKind::Io, format!("{shown} is not a local file path")))?;
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|e| FetchError::new(ErrorKind::Io, format!("cannot read {shown}: {e}")))?;
    if !meta.is_file() {
        return Err(FetchError::new(ErrorKind::Io, format!("cannot read {shown}: not a regular file")));
    }
    if meta.len() > req.max_body {
        return Err(FetchError::new(
            ErrorKind::TooLarge,
            format!("{shown} is larger than the {} cap", human_bytes(req.max_body)),
        ));
    }
    let body = tokio::fs::read(&path)
        .await
        .map_err(|e| FetchError::new(ErrorKind::Io, format!("cannot read {shown}: {e}")))?;
    Ok(Fetched::Document(Box::new(Document {
        body: Bytes::from(body),
        final_url: req.url.clone(),
        status: 200,
        etag: None,
        last_modified: None,
        content_type: None,
        moved_to: None,
        fresh_for: None,
    })))
}

/// Freshness from Cache-Control (max-age; none for no-cache and no-store)
/// or Expires (against Date, or now).
fn freshness(headers: &HeaderMap) -> Option<Duration> {
    if let Some(cc) = headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()) {
        let mut max_age = None;
        for directive in cc.split(',').map(|d| d.trim().to_ascii_lowercase()) {
            if directive == "no-cache" || directive == "no-store" {
                return None;
            }
            if let Some(v) = directive.strip_prefix("max-age=") {
                max_age = v.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs);
            }
        }
        if max_age.is_some() {
            return max_age;
        }
    }
    let date = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v.trim()).ok())
            .map(|d| d.with_timezone(&chrono::Utc))
    };
    let expires = date(header::EXPIRES)?;
    let now = date(header::DATE).unwrap_or_else(chrono::Utc::now);
    (expires - now).to_std().ok()
}

fn humanize(d: Duration) -> String {
    humantime_like(d)
}

/// "30s", "1m 30s", "250ms".
fn humantime_like(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m {s}s"),
    }
}

fn human_bytes(n: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const KIB: u64 = 1024;
    if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= KIB && n.is_multiple_of(KIB) {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_destination_must_be_public_unless_allowed() {
        let mut opts = FetcherOptions::default();
        opts.resolve.insert("hooks.internal".into(), vec!["10.0.0.7:0".parse().expect("addr")]);
        let url = |s: &str| Url::parse(s).expect("url");
        let err = check_destination(&opts, &url("http://127.0.0.1:9/in"), false).await.expect_err("loopback");
        assert_eq!(err.kind, ErrorKind::Forbidden);
        assert!(err.message.contains("127.0.0.1 is not a public address; set allow_private = true"), "{err}");
        let err = check_destination(&opts, &url("https://hooks.internal/in"), false).await.expect_err("private name");
        assert!(err.message.contains("hooks.internal resolves only to non-public addresses (10.0.0.7)"), "{err}");
        let err = check_destination(&opts, &url("http://[::1]:9/in"), false).await.expect_err("loopback v6");
        assert_eq!(err.kind, ErrorKind::Forbidden);
        check_destination(&opts, &url("http://127.0.0.1:9/in"), true).await.expect("allowed");
        check_destination(&opts, &url("https://hooks.internal/in"), true).await.expect("allowed");
        check_destination(&opts, &url("https://93.184.216.34/in"), false).await.expect("public");
        opts.allowed_networks = AllowedNetworks::new(vec![("10.0.0.0".parse().expect("ip"), 8)]);
        check_destination(&opts, &url("https://hooks.internal/in"), false).await.expect("an allowed network");
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn formats_durations_and_sizes() {
        assert_eq!(humanize(Duration::from_secs(30)), "30s");
        assert_eq!(humanize(Duration::from_secs(90)), "1m 30s");
        assert_eq!(humanize(Duration::from_millis(250)), "250ms");
        assert_eq!(human_bytes(16 * 1024 * 1024), "16 MiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }

    #[test]
    fn literal_private_addresses_are_refused_unless_allowed() {
        let none = AllowedNetworks::default();
        let url = Url::parse("http://169.254.169.254/latest/meta-data").expect("url");
        let err = check_target(&url, false, &none).expect_err("metadata address refused");
        assert_eq!(err.kind, ErrorKind::Forbidden);
        assert!(err.message.contains("169.254.169.254 is not a public address"), "{}", err.message);
        assert!(check_target(&url, true, &none).is_ok());
        let v6 = Url::parse("http://[::ffff:127.0.0.1]/").expect("url");
        assert!(check_target(&v6, false, &none).is_err());
        let ftp = Url::parse("ftp://example.com/").expect("url");
        assert!(check_target(&ftp, true, &none).is_err());
        // Decimal, octal and hex IPv4 forms are normalised by the URL parser
        // before the check.
        for form in ["http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://127.1/"] {
            let url = Url::parse(form).expect("url");
            assert!(check_target(&url, false, &none).is_err(), "{form} must be refused");
        }
        let local = AllowedNetworks::new(vec![("127.0.0.1".parse().expect("ip"), 32)]);
        assert!(check_target(&Url::parse("http://127.0.0.1:8080/").expect("url"), false, &local).is_ok());
        assert!(check_target(&Url::parse("http://127.0.0.2:8080/").expect("url"), false, &local).is_err());
    }

    #[test]
    fn freshness_from_cache_control_and_expires() {
        let mut h = HeaderMap::new();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=600"));
        assert_eq!(freshness(&h), Some(Duration::from_secs(600)));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, max-age=600"));
        assert_eq!(freshness(&h), None);
        let mut h = HeaderMap::new();
        h.insert(header::DATE, HeaderValue::from_static("Wed, 21 Oct 2015 07:00:00 GMT"));
        h.insert(header::EXPIRES, HeaderValue::from_static("Wed, 21 Oct 2015 07:30:00 GMT"));
        assert_eq!(freshness(&h), Some(Duration::from_secs(1800)));
        assert_eq!(freshness(&HeaderMap::new()), None);
    }

    #[test]
    fn transient_errors_are_retried_and_backoff_grows() {
        let status = |code| FetchError {
            kind: ErrorKind::Status,
            status: Some(code),
            message: String::new(),
            retry_after: None,
        };
        assert!(is_transient(&status(503)));
        assert!(is_transient(&status(429)));
        assert!(!is_transient(&status(404)));
        assert!(!is_transient(&FetchError::new(ErrorKind::Forbidden, String::new())));
        assert!(is_transient(&FetchError::new(ErrorKind::Connect, String::new())));
        for attempt in 0..4 {
            let d = backoff(attempt);
            let base = 500u64 << attempt;
            assert!(d >= Duration::from_millis(base / 2) && d <= Duration::from_millis(base * 3 / 2), "{d:?}");
        }
    }
}
