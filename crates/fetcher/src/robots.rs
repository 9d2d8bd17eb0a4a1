//! robots.txt for article pages: fetched once per origin, cached, honoured.
//!
//! Feeds are published to be polled, so their fetches never consult
//! robots.txt; article pages are crawled, so theirs do. [`RobotsCache`]
//! keeps one policy per origin (scheme, host, port) for a TTL, with a bound
//! on the number of origins, and fetches each origin's `/robots.txt` once
//! however many pages ask at the same time (the first asker fetches, the
//! others wait for its answer). The fetch goes through the [`Fetcher`], so
//! the address guard, per-host limits, body cap and timeout apply to it as
//! to any request.
//!
//! What the answer means (RFC 9309, and what Google does):
//!
//! - 2xx: the file's rules for our user agent's product token (`newswire`
//!   from `newswire/0.1 (+…)`), falling back to the `*` group;
//! - 4xx (404, 410, also 401 and 403): there are no rules, everything is
//!   allowed;
//! - 429, 5xx, a timeout, a connection failure, a body over the cap:
//!   the site cannot say, so nothing is fetched from it for now
//!   ([`Verdict::Unreachable`]); the answer is kept for a shorter TTL and
//!   asked again after it.
//!
//! An answer the address guard refused is not cached: it depends on the
//! asking feed's `allow_private`, and the page fetch is refused anyway.
//! `Crawl-delay` is not read: the per-host rate limit governs pacing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use newswire_core::ErrorKind;
use robotxt::Robots;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use url::Url;

use crate::fetch::{FetchRequest, Fetched, Fetcher};

/// How long a robots.txt (or the absence of one) is trusted. Default 24h.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// How long "unreachable" is trusted before asking again. Default 1h.
pub const ERROR_TTL: Duration = Duration::from_secs(3600);
/// Origins remembered at most.
pub const MAX_ORIGINS: usize = 10_000;
/// Bytes of robots.txt read at most (Google reads 500 KiB).
const MAX_BYTES: u64 = 512 * 1024;

/// Whether a page may be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// robots.txt allows it, or the site has none.
    Allowed,
    /// robots.txt disallows it for our user agent.
    Disallowed,
    /// robots.txt could not be read (5xx, 429, timeout, connection failure,
    /// too large, refused by the address guard): disallowed for now.
    Unreachable,
}

/// What an origin's robots.txt said.
enum Policy {
    AllowAll,
    Unreachable,
    Rules(Box<Robots>),
}

struct Answer {
    policy: Policy,
    until: Instant,
}

/// One origin's answer, filled once by whoever asks first.
#[derive(Default)]
struct Slot {
    answer: OnceCell<Answer>,
}

impl Slot {
    fn expired(&self, now: Instant) -> bool {
        self.answer.get().is_some_and(|a| a.until <= now)
    }
}

/// How a robots.txt is fetched: the asking feed's network settings.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// Whether private addresses may be reached (the feed's `allow_private`).
    pub allow_private: bool,
    /// The feed's proxy.
    pub proxy: Option<&'a str>,
    /// Total time for the request.
    pub timeout: Duration,
}

/// robots.txt policies by origin. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct RobotsCache {
    inner: Arc<Inner>,
}

struct Inner {
    fetcher: Fetcher,
    agent: String,
    ttl: Duration,
    error_ttl: Duration,
    capacity: usize,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

/// The product token robots.txt groups are matched against: the user agent
/// up to its first `/` or space (`newswire` from `newswire/0.1 (+…)`).
pub fn agent_token(user_agent: &str) -> &str {
    let token = user_agent.split(['/', ' ']).next().unwrap_or_default().trim();
    if token.is_empty() { "newswire" } else { token }
}

/// Where an origin's robots.txt is, and the cache key (the origin).
fn robots_url(url: &Url) -> Option<(String, Url)> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    let robots = Url::parse(&format!("{origin}/robots.txt")).ok()?;
    Some((origin, robots))
}

impl RobotsCache {
    /// A cache with the default TTLs and bound, asking with `fetcher`'s
    /// user agent.
    pub fn new(fetcher: Fetcher) -> Self {
        Self::with_limits(fetcher, TTL, ERROR_TTL, MAX_ORIGINS)
    }

    /// A cache with its own TTLs and bound (at least one origin).
    pub fn with_limits(fetcher: Fetcher, ttl: Duration, error_ttl: Duration, capacity: usize) -> Self {
        let agent = agent_token(fetcher.user_agent()).to_string();
        RobotsCache {
            inner: Arc::new(Inner {
                fetcher,
                agent,
                ttl,
                error_ttl,
                capacity: capacity.max(1),
                slots: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Origins currently remembered.
    pub fn len(&self) -> usize {
        self.inner.slots.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no origin is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// May `url` be fetched? Fetches the origin's robots.txt the first time
    /// (and after the TTL); later calls answer from the cache.
    pub async fn check(&self, url: &Url, access: Access<'_>) -> Verdict {
        let Some((origin, robots)) = robots_url(url) else { return Verdict::Unreachable };
        let slot = self.slot(&origin);
        let answer = slot.answer.get_or_init(|| self.fetch(&robots, access)).await;
        let verdict = match &answer.policy {
            Policy::AllowAll => Verdict::Allowed,
            Policy::Unreachable => Verdict::Unreachable,
            Policy::Rules(robots) => {
                if robots.is_url_allowed(url) {
                    Verdict::Allowed
                } else {
                    Verdict::Disallowed
                }
            }
        };
        if answer.until <= Instant::now() {
            // Not to be kept (a guard refusal): the next asker fetches again.
            let mut slots = self.inner.slots.lock().unwrap_or_else(PoisonError::into_inner);
            if slots.get(&origin).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
                slots.remove(&origin);
            }
        }
        verdict
    }

    /// The origin's slot: the cached one while fresh, else a new empty one.
    fn slot(&self, origin: &str) -> Arc<Slot> {
        let now = Instant::now();
        let mut slots = self.inner.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(origin)
            && !slot.expired(now)
        {
            return Arc::clone(slot);
        }
        if slots.len() >= self.inner.capacity && !slots.contains_key(origin) {
            slots.retain(|_, s| !s.expired(now));
            if slots.len() >= self.inner.capacity {
                // Still full of fresh answers: forget the one that expires
                // first (an origin still being fetched has no expiry yet
                // and is kept).
                let oldest = slots
                    .iter()
                    .filter_map(|(k, s)| s.answer.get().map(|a| (a.until, k.clone())))
                    .min()
                    .map(|(_, k)| k);
                if let Some(key) = oldest {
                    slots.remove(&key);
                }
            }
        }
        let slot = Arc::new(Slot::default());
        slots.insert(origin.to_string(), Arc::clone(&slot));
        slot
    }

    async fn fetch(&self, robots: &Url, access: Access<'_>) -> Answer {
        let inner = &self.inner;
        let request = FetchRequest {
            allow_private: access.allow_private,
            proxy: access.proxy,
            ..FetchRequest::simple(robots, access.timeout, MAX_BYTES)
        };
        let now = Instant::now();
        let (policy, ttl) = match inner.fetcher.fetch(&request).await {
            // The parser is forgiving: lines it cannot read are skipped, and a
            // file with no group for us or `*` allows everything.
            Ok(Fetched::Document(doc)) => {
                (Policy::Rules(Box::new(Robots::parse(&doc.body, inner.agent.as_str()))), inner.ttl)
            }
            // Never asked conditionally: a 304 would be a broken server.
            Ok(Fetched::NotModified { .. }) => (Policy::Unreachable, inner.error_ttl),
            Err(err) => match (err.kind, err.status) {
                (ErrorKind::Status, Some(429)) => (Policy::Unreachable, inner.error_ttl),
                (ErrorKind::Status, Some(400..=499)) => (Policy::AllowAll, inner.ttl),
                (ErrorKind::Forbidden, _) => (Policy::Unreachable, Duration::ZERO),
                _ => {
                    tracing::debug!(url = %robots, error = %err, "robots.txt unreachable");
                    (Policy::Unreachable, inner.error_ttl)
                }
            },
        };
        Answer { policy, until: now + ttl }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;

    use super::*;
    use crate::fetch::FetcherOptions;

    const ROBOTS: &str =
        "User-agent: *\nDisallow: /private/\n\nUser-agent: newswire\nDisallow: /no-bots/\nAllow: /no-bots/ok\n";

    /// A server answering /robots.txt with `status` and `body`, counting
    /// requests.
    async fn serve(status: StatusCode, body: &'static str) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&hits);
        let app = Router::new().route(
            "/robots.txt",
            get(move || {
                let hits = Arc::clone(&counted);
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    (status, body)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
        (addr, hits)
    }

    fn fetcher(resolve: &[(&str, std::net::SocketAddr)]) -> Fetcher {
        let mut options =
            FetcherOptions { user_agent: "newswire/0.1 (+https://example.org)".into(), ..Default::default() };
        for (host, addr) in resolve {
            options.resolve.insert((*host).to_string(), vec![*addr]);
        }
        Fetcher::new(&options).expect("fetcher")
    }

    const ACCESS: Access<'static> = Access { allow_private: true, proxy: None, timeout: Duration::from_secs(5) };

    fn url(addr: std::net::SocketAddr, path: &str) -> Url {
        Url::parse(&format!("http://{addr}{path}")).expect("url")
    }

    #[test]
    fn agent_token_is_the_product_name() {
        assert_eq!(agent_token("newswire/0.1 (+https://example.org/contact)"), "newswire");
        assert_eq!(agent_token("MyBot"), "MyBot");
        assert_eq!(agent_token(""), "newswire");
    }

    #[tokio::test]
    async fn robots_rules_for_our_agent_are_honoured_and_fetched_once() {
        let (addr, hits) = serve(StatusCode::OK, ROBOTS).await;
        let cache = RobotsCache::new(fetcher(&[]));
        // Our own group applies, not `*`'s.
        assert_eq!(cache.check(&url(addr, "/private/a"), ACCESS).await, Verdict::Allowed);
        assert_eq!(cache.check(&url(addr, "/no-bots/story"), ACCESS).await, Verdict::Disallowed);
        assert_eq!(cache.check(&url(addr, "/no-bots/ok"), ACCESS).await, Verdict::Allowed);
        // Many pages at once: still one fetch.
        let checks: Vec<_> =
            (0..8).map(|i| cache.check_owned(url(addr, &format!("/news/{i}")), ACCESS)).collect::<Vec<_>>();
        for verdict in futures_util::future::join_all(checks).await {
            assert_eq!(verdict, Verdict::Allowed);
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test]
    async fn robots_rules_follow_rfc_9309() {
        // Group names match case-insensitively and exactly (a `newswire-images`
        // group is not ours); the longest matching rule wins, Allow on a tie;
        // `*` and `$` are wildcards; percent-encoded unreserved characters
        // match their plain form; the query string is part of the path.
        const RULES: &str = "\u{feff}User-agent: newswire-images\nDisallow: /\n\n\
            user-agent: NewsWire\n\
            Disallow: /a\nAllow: /a/b\n\
            Disallow: /tie\nAllow: /tie\n\
            Disallow: /*.pdf$\n\
            Disallow: /search?q=\n\
            Disallow: /%7Euser/\n";
        let (addr, hits) = serve(StatusCode::OK, RULES).await;
        let cache = RobotsCache::new(fetcher(&[]));
        for (path, want) in [
            ("/a/x", Verdict::Disallowed),
            ("/a/b/story", Verdict::Allowed),
            ("/tie/story", Verdict::Allowed),
            ("/files/report.pdf", Verdict::Disallowed),
            ("/files/report.pdf.html", Verdict::Allowed),
            ("/search?q=news", Verdict::Disallowed),
            ("/search", Verdict::Allowed),
            ("/~user/page", Verdict::Disallowed),
            ("/news/1", Verdict::Allowed),
            ("/robots.txt", Verdict::Allowed),
        ] {
            assert_eq!(cache.check(&url(addr, path), ACCESS).await, want, "{path}");
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn robots_4xx_allows_everything_and_5xx_or_unreachable_nothing() {
        let (missing, _) = serve(StatusCode::NOT_FOUND, "nope").await;
        let (forbidden, _) = serve(StatusCode::FORBIDDEN, "nope").await;
        let (broken, broken_hits) = serve(StatusCode::INTERNAL_SERVER_ERROR, "boom").await;
        let (busy, _) = serve(StatusCode::TOO_MANY_REQUESTS, "slow down").await;
        let cache = RobotsCache::new(fetcher(&[]));
        assert_eq!(cache.check(&url(missing, "/a"), ACCESS).await, Verdict::Allowed);
        assert_eq!(cache.check(&url(forbidden, "/a"), ACCESS).await, Verdict::Allowed);
        assert_eq!(cache.check(&url(broken, "/a"), ACCESS).await, Verdict::Unreachable);
        assert_eq!(cache.check(&url(broken, "/b"), ACCESS).await, Verdict::Unreachable);
        assert_eq!(broken_hits.load(Ordering::SeqCst), 1, "an unreachable answer is cached too");
        assert_eq!(cache.check(&url(busy, "/a"), ACCESS).await, Verdict::Unreachable);
        // Nothing listens on port 9 of 127.0.0.1 here: a connection failure.
        let closed = "127.0.0.1:9".parse().expect("addr");
        assert_eq!(cache.check(&url(closed, "/a"), ACCESS).await, Verdict::Unreachable);
    }

    #[tokio::test]
    async fn robots_guard_refusals_are_not_cached() {
        let (addr, hits) = serve(StatusCode::OK, ROBOTS).await;
        let cache = RobotsCache::new(fetcher(&[]));
        let strict = Access { allow_private: false, ..ACCESS };
        assert_eq!(cache.check(&url(addr, "/news/1"), strict).await, Verdict::Unreachable);
        assert_eq!(hits.load(Ordering::SeqCst), 0, "the guard refused before any request");
        assert_eq!(cache.check(&url(addr, "/news/1"), ACCESS).await, Verdict::Allowed);
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn robots_expire_after_the_ttl_and_the_cache_is_bounded() {
        let (addr, hits) = serve(StatusCode::OK, ROBOTS).await;
        let names = ["a.test", "b.test", "c.test"];
        let resolve: Vec<(&str, std::net::SocketAddr)> = names.iter().map(|n| (*n, addr)).collect();
        let at = |host: &str| Url::parse(&format!("http://{host}:{}/news", addr.port())).expect("url");

        // A zero TTL: every check asks again.
        let cache = RobotsCache::with_limits(fetcher(&resolve), Duration::ZERO, Duration::ZERO, 10);
        cache.check(&at("a.test"), ACCESS).await;
        cache.check(&at("a.test"), ACCESS).await;
        assert_eq!(hits.load(Ordering::SeqCst), 2);

        // Room for two origins: a third evicts one.
        let cache = RobotsCache::with_limits(fetcher(&resolve), TTL, ERROR_TTL, 2);
        for host in names {
            assert_eq!(cache.check(&at(host), ACCESS).await, Verdict::Allowed);
        }
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test]
    async fn robots_never_for_other_schemes() {
        let cache = RobotsCache::new(fetcher(&[]));
        let file = Url::parse("file:///etc/passwd").expect("url");
        assert_eq!(cache.check(&file, ACCESS).await, Verdict::Unreachable);
        assert!(cache.is_empty());
    }

    impl RobotsCache {
        async fn check_owned(&self, url: Url, access: Access<'static>) -> Verdict {
            self.check(&url, access).await
        }
    }
}
