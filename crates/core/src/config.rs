//! The configuration: one TOML file, parsed once into typed values.
//!
//! Sections: `[pipeline]`, `[defaults]`, `[[sink]]`, `[[feed]]`,
//! `[[site_rule]]` and `[server]`. Every table rejects unknown keys. Durations are human
//! (`"15m"`, `"30s"`), sizes too (`"16MiB"`). Errors name the file, the line
//! and column, and the key path (`feed[3].interval`).
//!
//! [`parse`] turns text into a [`Config`] and runs [`Config::validate`]; the
//! per-feed settings with defaults applied come from [`Config::feeds`].
//! Reading the file is the caller's business: this module does no I/O.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;
use url::Url;

/// A configuration error, naming where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The config file, as given.
    pub file: String,
    /// 1-based line and column, when the error points into the file.
    pub position: Option<(usize, usize)>,
    /// The key path (`feed[2].interval`), when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// A duration written as `"15m"`, `"30s"`, `"1h 30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim()).map(HumanDuration).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration \"{text}\" ({e}): write a number and a unit, like \"15m\" or \"30s\""
            ))
        })
    }
}

/// A size in bytes written as `"16MiB"`, `"512KB"`, or a plain integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(ByteSize(n)),
            Raw::Text(text) => text.trim().parse::<bytesize::ByteSize>().map(|b| ByteSize(b.as_u64())).map_err(|e| {
                serde::de::Error::custom(format!(
                    "invalid size \"{text}\" ({e}): write a number and a unit, like \"16MiB\""
                ))
            }),
        }
    }
}

/// A secret read from the environment. Its Debug and Display print `***`,
/// so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Parse a CIDR network ("10.0.0.0/8", "fd00::/8", or a bare address).
pub fn parse_network(text: &str) -> Result<(std::net::IpAddr, u8), String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let ip: std::net::IpAddr = addr.trim().parse().map_err(|e| format!("invalid network \"{text}\": {e}"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => {
            p.trim().parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("invalid prefix in \"{text}\""))?
        }
        None => max,
    };
    Ok((ip, prefix))
}

/// What to do with a copy of a story seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnDuplicate {
    /// Write it, linked to its story by `cluster`.
    #[default]
    Keep,
    /// Do not write it (it is still remembered, so it stays skipped).
    Skip,
}

/// Where feed state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StateKind {
    /// The SQLite database.
    #[default]
    Sqlite,
    /// The postgres sink's database.
    Postgres,
}

/// When to fetch the article page instead of using the feed's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum FullArticle {
    /// Use the feed's text only.
    #[default]
    Never,
    /// Always fetch the page.
    Always,
    /// Fetch the page when the feed's text looks like a teaser.
    Auto,
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[pipeline]`: how the pipeline runs.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// `[defaults]`: per-feed settings used where a feed sets none.
    #[serde(default)]
    pub defaults: Defaults,
    /// `[[sink]]`: where records go. None written means one SQLite sink.
    #[serde(default, rename = "sink")]
    pub sinks: Vec<SinkConfig>,
    /// `[[feed]]`: the feeds to poll.
    #[serde(default, rename = "feed")]
    pub feeds: Vec<FeedConfig>,
    /// `[server]`: the status server; absent means no listener.
    #[serde(default)]
    pub server: Option<ServerConfig>,
    /// `[retention]`: how long records are kept; by default for ever.
    #[serde(default)]
    pub retention: RetentionConfig,
    /// `[[site_rule]]`: extraction rules for article pages of one host, for
    /// every feed (a feed's own `[[feed.site_rule]]` come first).
    #[serde(default, rename = "site_rule")]
    pub site_rules: Vec<SiteRuleConfig>,
    /// Directory of the config file, against which every relative path in
    /// it is resolved: `data_dir`, a sink's `path` or `dir`, and `file:`
    /// URLs. Set by [`parse`].
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// `[pipeline]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Feeds fetched at once. Default 32.
    pub concurrency: NonZeroUsize,
    /// Capacity, in batches, of each channel between stages. Default 4:
    /// enough to keep every stage busy (docs/performance.md, "Peak
    /// memory"); each batch held is a whole document's records.
    pub channel_capacity: NonZeroUsize,
    /// Threads cleaning at once; 0 means one per core. Default 0.
    pub clean_workers: usize,
    /// User-Agent header; say how to reach you. Default
    /// "newswire/VERSION (+https://github.com/newswire/newswire)".
    pub user_agent: String,
    /// Where the default SQLite database and JSONL files live. Default
    /// "data". A relative path is taken from the config file's directory
    /// ([`parse`] resolves it), not from the current directory.
    pub data_dir: PathBuf,
    /// How long a graceful stop may take before in-flight work is abandoned.
    /// Default "30s".
    pub shutdown_grace: HumanDuration,
    /// Requests in flight to one host at most, shared by every feed and page
    /// on that host. Default 4.
    pub per_host_concurrency: NonZeroUsize,
    /// Requests per second to one host at most; 0 means no rate limit.
    /// Default 4.
    pub per_host_rate: f64,
    /// Where feed state lives: "sqlite" (the SQLite database, default) or
    /// "postgres" (the postgres sink's database, which lets several daemons
    /// share the work).
    pub state: StateKind,
    /// How similar (0 to 1: the estimated share of the smaller text found in
    /// the larger) a record must be to an earlier one to be linked to its
    /// story. Default 0.5.
    pub cluster_threshold: f64,
    /// How far back the near-duplicate index looks. Default "7d".
    pub cluster_window: HumanDuration,
    /// With `state = "postgres"`, how long a daemon's lease on a feed lasts
    /// without renewal: a daemon that dies loses its feeds to the others
    /// after this. Default "30s".
    pub lease_ttl: HumanDuration,
    /// Networks (CIDR, like "10.1.2.0/24") that feeds may reach even without
    /// `allow_private`: for internal feed servers, without opening every
    /// private address. Default none.
    pub allowed_networks: Vec<String>,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            concurrency: NonZeroUsize::new(32).expect("32 is not zero"),
            channel_capacity: NonZeroUsize::new(4).expect("4 is not zero"),
            clean_workers: 0,
            user_agent: format!("newswire/{} (+https://github.com/newswire/newswire)", env!("CARGO_PKG_VERSION")),
            data_dir: PathBuf::from("data"),
            shutdown_grace: HumanDuration(Duration::from_secs(30)),
            state: StateKind::Sqlite,
            lease_ttl: HumanDuration(Duration::from_secs(30)),
            cluster_threshold: 0.5,
            cluster_window: HumanDuration(Duration::from_secs(7 * 24 * 3600)),
            per_host_concurrency: NonZeroUsize::new(4).expect("4 is not zero"),
            per_host_rate: 4.0,
            allowed_networks: Vec::new(),
        }
    }
}

/// `[defaults]`: settings each feed inherits unless it sets its own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    /// How often to poll at first. Default "15m". The daemon adapts it to
    /// how often the feed publishes, within `min_interval` and
    /// `max_interval`.
    pub interval: HumanDuration,
    /// Shortest adapted interval (never above `interval`). Default "2m".
    pub min_interval: HumanDuration,
    /// Longest adapted interval (never below `interval`). Default "6h".
    pub max_interval: HumanDuration,
    /// Total time for one request, body included. Default "30s".
    pub timeout: HumanDuration,
    /// Time to establish a connection (one setting for the shared client).
    /// Default "10s".
    pub connect_timeout: HumanDuration,
    /// Cap on a body after decompression. Default "16MiB".
    pub max_body: ByteSize,
    /// Cap on the items read from one document. Default 10000.
    pub max_items: NonZeroUsize,
    /// Retries of a poll that failed with a transient error (connection
    /// failure, timeout, 429, 502, 503, 504), with exponential backoff and
    /// jitter, within the same poll. Default 2.
    pub retries: u32,
    /// When to fetch full article pages. Default "never".
    pub full_article: FullArticle,
    /// Whether feeds may resolve to private, loopback and link-local
    /// addresses. Default false.
    pub allow_private: bool,
    /// Whether the cleaner runs on feed content. Default true.
    pub clean: bool,
    /// What to do with a record that is a copy of a story seen before:
    /// "keep" it (linked by its `cluster` field) or "skip" writing it.
    /// Default "keep".
    pub on_duplicate: OnDuplicate,
    /// Built-in cleaner rules to turn off for every feed, by name.
    pub clean_disable: Vec<String>,
    /// Extra cleaner rules for every feed (`[[defaults.clean_rule]]`).
    #[serde(rename = "clean_rule")]
    pub clean_rules: Vec<CleanRuleConfig>,
    /// Whether each feed's template is learned and its paragraphs removed
    /// (docs/cleaner.md, Template). Default true.
    pub template: bool,
    /// A paragraph seen in at least this many distinct items of a feed is
    /// template. Default 4; at least 2.
    pub template_min_items: u32,
    /// Paragraph fingerprints kept per feed. Default 256.
    pub template_capacity: usize,
    /// Whether the cleaner's block classifier removes site furniture no
    /// rule names (docs/cleaner.md, Block classifier). Default true.
    pub classifier: bool,
    /// The score (0.5 to 1) from which the classifier removes a block;
    /// unset: the shipped model's (chosen on validation). Higher keeps
    /// more.
    pub classifier_threshold: Option<f32>,
}

/// Where in an article a cleaner rule may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RulePosition {
    /// Any paragraph.
    #[default]
    Any,
    /// Only among the first paragraphs of the article.
    Start,
    /// Only among the last paragraphs of the article.
    End,
}

/// A cleaner rule written in the config: paragraphs matching `pattern` (a
/// regular expression) are removed and recorded under `kind`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CleanRuleConfig {
    /// Name, for `removed` audit and for errors.
    pub name: String,
    /// Class of what the rule removes. Default "custom".
    #[serde(default = "custom_kind")]
    pub kind: crate::record::RemovedKind,
    /// Regular expression matched against each paragraph.
    pub pattern: String,
    /// Where the rule may match. Default "any".
    #[serde(default, rename = "where")]
    pub position: RulePosition,
}

/// `[[site_rule]]` or `[[feed.site_rule]]`: how to find the article on one
/// site's pages, taking precedence over the generic extractor. Selectors are
/// CSS, compiled when the config loads (by the binary, which owns the
/// extractor); a bad one is a config error naming it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteRuleConfig {
    /// The page host the rule applies to, also covering its subdomains
    /// ("example.com" covers "www.example.com"). Required in a top-level
    /// `[[site_rule]]`; a feed's rule without one applies to every page of
    /// that feed.
    pub host: Option<Spanned<String>>,
    /// Selectors of the article body: every outermost match, in document
    /// order, is the article. When none matches, the generic extractor runs.
    #[serde(default)]
    pub body: Vec<Spanned<String>>,
    /// Selectors of parts to drop first (promos, notes, related links).
    #[serde(default)]
    pub remove: Vec<Spanned<String>>,
}

impl SiteRuleConfig {
    /// The host, lowercased, without a leading dot.
    pub fn host(&self) -> Option<String> {
        self.host.as_ref().map(|h| h.get_ref().trim().trim_start_matches('.').to_ascii_lowercase())
    }

    /// Whether the rule applies to a page on `host`: the same host or a
    /// subdomain of it (a rule without a host applies everywhere).
    pub fn matches(&self, host: &str) -> bool {
        match self.host() {
            None => true,
            Some(rule) => {
                let host = host.trim_end_matches('.').to_ascii_lowercase();
                host == rule || host.strip_suffix(rule.as_str()).is_some_and(|rest| rest.ends_with('.'))
            }
        }
    }
}

fn custom_kind() -> crate::record::RemovedKind {
    crate::record::RemovedKind::Custom
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            interval: HumanDuration(Duration::from_secs(15 * 60)),
            min_interval: HumanDuration(Duration::from_secs(2 * 60)),
            max_interval: HumanDuration(Duration::from_secs(6 * 3600)),
            timeout: HumanDuration(Duration::from_secs(30)),
            connect_timeout: HumanDuration(Duration::from_secs(10)),
            max_body: ByteSize(16 * 1024 * 1024),
            max_items: NonZeroUsize::new(10_000).expect("10000 is not zero"),
            retries: 2,
            full_article: FullArticle::Never,
            allow_private: false,
            clean: true,
            on_duplicate: OnDuplicate::Keep,
            clean_disable: Vec::new(),
            clean_rules: Vec::new(),
            template: true,
            template_min_items: 4,
            template_capacity: 256,
            classifier: true,
            classifier_threshold: None,
        }
    }
}

/// `[[sink]]`: one destination for records, chosen by `kind`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SinkConfig {
    /// The embedded default: records and feed state in one SQLite file.
    Sqlite {
        /// Database file. Default `<data_dir>/newswire.db`.
        #[serde(default)]
        path: Option<PathBuf>,
    },
    /// JSON Lines files, one per day, fsynced before the checkpoint.
    Jsonl {
        /// Directory of the files. Default `<data_dir>/jsonl`.
        #[serde(default)]
        dir: Option<PathBuf>,
    },
    /// PostgreSQL: records and (with `[pipeline] state = "postgres"`) feed
    /// state, upserted by id, a batch and its checkpoint in one transaction.
    Postgres {
        /// Connection URL, like "postgres://user@host:5432/db". Give this or
        /// `url_env`, not both.
        #[serde(default)]
        url: Option<String>,
        /// The environment variable holding the URL (for passwords).
        #[serde(default)]
        url_env: Option<String>,
        /// Schema for newswire's tables. Default: the connection's search path.
        #[serde(default)]
        schema: Option<String>,
    },
    /// NATS JetStream: each record published as JSON, deduplicated by
    /// `id:content_hash`, the batch acknowledged before the checkpoint.
    Nats {
        /// Server URL, like "nats://127.0.0.1:4222".
        url: String,
        /// Stream name, created if missing. Default "NEWSWIRE".
        #[serde(default)]
        stream: Option<String>,
        /// Subject template with `{feed}` and `{tag}`. Default "newswire.{feed}".
        #[serde(default)]
        subject: Option<String>,
        /// The stream's duplicate window when newswire creates it. Default "2h".
        #[serde(default)]
        duplicate_window: Option<HumanDuration>,
        /// Environment variable holding a credentials file (or its path).
        #[serde(default)]
        creds_env: Option<String>,
        /// Environment variable holding a token.
        #[serde(default)]
        token_env: Option<String>,
    },
    /// An HTTP receiver: batches of records POSTed as signed JSON, retried
    /// until accepted, behind a circuit breaker (docs/operating.md, Webhook).
    Webhook(WebhookConfig),
}

/// `[[sink]] kind = "webhook"`: where and how batches of records are POSTed.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// The receiver's `http` or `https` URL. Required.
    pub url: String,
    /// Name in logs, metrics and `/readyz` (`webhook:NAME`); needed to tell
    /// two webhook sinks apart. Default none: the sink is `webhook`.
    pub name: Option<String>,
    /// The environment variable holding the HMAC-SHA256 key that signs
    /// every request (`X-Newswire-Signature`). Default none: unsigned.
    pub secret_env: Option<String>,
    /// Total time for one request, body and answer included. Default "10s".
    pub timeout: HumanDuration,
    /// Records per request at most; a larger batch goes in several
    /// requests. Default 100; at least 1.
    pub max_batch: usize,
    /// Extra request headers, like `{ "X-Tenant" = "news" }`. The headers
    /// newswire sets itself cannot be replaced.
    pub headers: std::collections::BTreeMap<String, String>,
    /// Whether the URL may resolve to private, loopback and link-local
    /// addresses (`[pipeline] allowed_networks` applies too). Default false.
    pub allow_private: bool,
    /// Consecutive failed requests that open the circuit (`/readyz` then
    /// names the sink). Default 5; at least 1.
    pub breaker_failures: u32,
    /// While the circuit is open, one request every this long at most.
    /// Default "30s".
    pub probe_interval: HumanDuration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            name: None,
            secret_env: None,
            timeout: HumanDuration(Duration::from_secs(10)),
            max_batch: 100,
            headers: std::collections::BTreeMap::new(),
            allow_private: false,
            breaker_failures: 5,
            probe_interval: HumanDuration(Duration::from_secs(30)),
        }
    }
}

/// Headers the webhook sink sets itself; `headers` may not name them.
pub const WEBHOOK_RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "idempotency-key",
    "x-newswire-signature",
    "user-agent",
    "transfer-encoding",
    "connection",
];

impl WebhookConfig {
    /// The sink's name: `webhook`, or `webhook:NAME`.
    pub fn sink_name(&self) -> String {
        match &self.name {
            Some(name) => format!("webhook:{name}"),
            None => "webhook".into(),
        }
    }

    /// The signing key, read from `secret_env` (checked at load; an error
    /// naming the variable when it went away since).
    pub fn secret(&self) -> Result<Option<Secret>, String> {
        let Some(var) = self.secret_env.as_deref() else { return Ok(None) };
        match std::env::var(var) {
            Ok(secret) if !secret.is_empty() => Ok(Some(Secret(secret))),
            _ => Err(format!("environment variable {var} is not set (or empty)")),
        }
    }

    /// Problems with these settings: (key under the sink, message).
    fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        match Url::parse(self.url.trim()) {
            _ if self.url.trim().is_empty() => {
                out.push(("url", "a webhook sink needs url, the receiver's http or https URL".into()))
            }
            Err(e) => out.push(("url", format!("invalid URL \"{}\": {e}", crate::canon::redact(&self.url)))),
            Ok(url) if !matches!(url.scheme(), "http" | "https") => out.push((
                "url",
                format!(
                    "unsupported scheme \"{}\" in \"{}\": use http or https",
                    url.scheme(),
                    crate::canon::redact(&self.url)
                ),
            )),
            Ok(url) if url.host_str().is_none_or(str::is_empty) => {
                out.push(("url", format!("URL \"{}\" has no host", crate::canon::redact(&self.url))))
            }
            Ok(_) => {}
        }
        if let Err(e) = self.secret() {
            out.push(("secret_env", e));
        }
        if self.timeout.0.is_zero() {
            out.push(("timeout", "must be more than 0s".into()));
        }
        if self.max_batch == 0 {
            out.push(("max_batch", "must be at least 1".into()));
        }
        if self.breaker_failures == 0 {
            out.push(("breaker_failures", "must be at least 1".into()));
        }
        if self.probe_interval.0.is_zero() {
            out.push(("probe_interval", "must be more than 0s".into()));
        }
        if let Some(name) = &self.name
            && (name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)))
        {
            out.push(("name", format!("\"{name}\" is not a name of letters, digits, - and _")));
        }
        for (name, value) in &self.headers {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
                out.push(("headers", format!("invalid header name \"{name}\"")));
            } else if WEBHOOK_RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                out.push(("headers", format!("header {name} is set by newswire and cannot be replaced")));
            }
            if !value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
                out.push(("headers", format!("the value of header {name} must be printable ASCII")));
            }
        }
        out
    }
}

impl SinkConfig {
    /// The sink's kind, as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Sqlite { .. } => "sqlite",
            SinkConfig::Jsonl { .. } => "jsonl",
            SinkConfig::Postgres { .. } => "postgres",
            SinkConfig::Nats { .. } => "nats",
            SinkConfig::Webhook(_) => "webhook",
        }
    }
}

/// `[[feed]]`: one feed as written. Unset options come from `[defaults]`;
/// [`Config::feeds`] gives the merged [`FeedSpec`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Unique name; it appears in every record and log line of the feed.
    pub name: Spanned<String>,
    /// `http://`, `https://` or `file://` URL. `file:` followed by a relative
    /// path is resolved against the config file's directory.
    pub url: Spanned<String>,
    /// Whether to poll the feed at all. Default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Tags, for grouping and export.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Overrides `[defaults] interval`.
    pub interval: Option<HumanDuration>,
    /// Overrides `[defaults] min_interval`.
    pub min_interval: Option<HumanDuration>,
    /// Overrides `[defaults] max_interval`.
    pub max_interval: Option<HumanDuration>,
    /// Overrides `[defaults] timeout`.
    pub timeout: Option<HumanDuration>,
    /// Overrides `[defaults] max_body`.
    pub max_body: Option<ByteSize>,
    /// Overrides `[defaults] max_items`.
    pub max_items: Option<NonZeroUsize>,
    /// Overrides `[defaults] retries`.
    pub retries: Option<u32>,
    /// Extra request headers, like `{ "X-Client" = "newswire" }`.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// HTTP basic auth: user name.
    pub username: Option<String>,
    /// HTTP basic auth: the name of the environment variable holding the
    /// password (never the password itself).
    pub password_env: Option<String>,
    /// Proxy URL for this feed's requests (http, https or socks5).
    pub proxy: Option<String>,
    /// Overrides `[defaults] full_article`.
    pub full_article: Option<FullArticle>,
    /// Overrides `[defaults] allow_private`.
    pub allow_private: Option<bool>,
    /// Overrides `[defaults] clean`.
    pub clean: Option<bool>,
    /// Overrides `[defaults] on_duplicate`.
    pub on_duplicate: Option<OnDuplicate>,
    /// Built-in cleaner rules to turn off for this feed, added to
    /// `[defaults] clean_disable`.
    #[serde(default)]
    pub clean_disable: Vec<String>,
    /// Extra cleaner rules for this feed (`[[feed.clean_rule]]`), added to
    /// the defaults' rules.
    #[serde(default, rename = "clean_rule")]
    pub clean_rules: Vec<CleanRuleConfig>,
    /// Overrides `[defaults] template`.
    pub template: Option<bool>,
    /// Overrides `[defaults] template_min_items`.
    pub template_min_items: Option<u32>,
    /// Overrides `[defaults] classifier`.
    pub classifier: Option<bool>,
    /// Overrides `[defaults] classifier_threshold`.
    pub classifier_threshold: Option<f32>,
    /// Fetch this feed's article pages even where robots.txt disallows it:
    /// only for sites whose operator gave you permission. Default false.
    #[serde(default)]
    pub ignore_robots: bool,
    /// Extraction rules for this feed's article pages
    /// (`[[feed.site_rule]]`), tried before the top-level `[[site_rule]]`s.
    #[serde(default, rename = "site_rule")]
    pub site_rules: Vec<SiteRuleConfig>,
}

fn yes() -> bool {
    true
}

/// `[server]`: the status server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on, like "127.0.0.1:9090".
    pub listen: std::net::SocketAddr,
    /// Whether the per-feed counters carry a `feed` label. Unset: yes for
    /// up to [`FEED_LABELS_AUTO_MAX`] feeds, no beyond (each label value is
    /// a series in every scrape; per-feed status stays on `/feeds`).
    #[serde(default)]
    pub feed_labels: Option<bool>,
    /// The environment variable holding the bearer token the read API
    /// (`/api/…`) requires (`Authorization: Bearer …`). Unset: no token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// Serve the read API without a token on an address other than
    /// loopback. Default false: such a `listen` without `token_env` is
    /// refused at load.
    #[serde(default)]
    pub public: bool,
}

/// `[retention]`: records older than an age are pruned by the daemon (and
/// `newswire prune`), with their versions, full-text entries and, past the
/// global age, JSON Lines day files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Records fetched longer ago than this are removed. Unset (the
    /// default): kept for ever, unless their feed has an age below.
    pub max_age: Option<HumanDuration>,
    /// Per feed, by name, an age that replaces `max_age` for that feed
    /// (`[retention.feed] "harbour-gazette" = "7d"`).
    pub feed: std::collections::BTreeMap<String, HumanDuration>,
    /// How often the daemon prunes. Default "1h".
    pub interval: HumanDuration,
    /// Records removed per transaction, so the pipeline's writes wait at
    /// most one short batch. Default 1000.
    pub batch: NonZeroUsize,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            max_age: None,
            feed: std::collections::BTreeMap::new(),
            interval: HumanDuration(Duration::from_secs(3600)),
            batch: NonZeroUsize::new(1000).expect("1000 is not zero"),
        }
    }
}

impl RetentionConfig {
    /// Whether anything is ever pruned.
    pub fn enabled(&self) -> bool {
        self.max_age.is_some() || !self.feed.is_empty()
    }
}

/// Feeds up to which the `feed` label is on when `feed_labels` is unset.
pub const FEED_LABELS_AUTO_MAX: usize = 1_000;

impl ServerConfig {
    /// The API token, read from `token_env` (checked at load; `None` when
    /// no token is configured or the variable went away since).
    pub fn token(&self) -> Option<Secret> {
        let var = self.token_env.as_deref()?;
        std::env::var(var).ok().filter(|t| !t.is_empty()).map(Secret)
    }

    /// Whether the `feed` label is on for a config of `feeds` feeds.
    pub fn feed_labels_for(&self, feeds: usize) -> bool {
        self.feed_labels.unwrap_or(feeds <= FEED_LABELS_AUTO_MAX)
    }
}

/// One feed with the defaults applied and its URL resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedSpec {
    /// Unique name.
    pub name: String,
    /// Resolved URL.
    pub url: Url,
    /// Whether to poll it.
    pub enabled: bool,
    /// Tags.
    pub tags: Vec<String>,
    /// Poll interval to start from.
    pub interval: Duration,
    /// Shortest adapted interval (at most `interval`).
    pub min_interval: Duration,
    /// Longest adapted interval (at least `interval`).
    pub max_interval: Duration,
    /// Total request timeout.
    pub timeout: Duration,
    /// Body cap after decompression, in bytes.
    pub max_body: u64,
    /// Items read per document at most.
    pub max_items: usize,
    /// Retries of a transient failure within one poll.
    pub retries: u32,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// Basic auth credentials, the password read from the environment.
    pub basic_auth: Option<(String, Secret)>,
    /// Proxy URL.
    pub proxy: Option<String>,
    /// Full-article mode.
    pub full_article: FullArticle,
    /// Whether private addresses may be reached.
    pub allow_private: bool,
    /// Whether `file://` may be read: true only for URLs written in the
    /// config itself, never for redirects or discovered links.
    pub allow_file: bool,
    /// Whether the cleaner runs.
    pub clean: bool,
    /// Keep or skip copies of stories seen before.
    pub on_duplicate: OnDuplicate,
    /// Built-in cleaner rules turned off (defaults' and the feed's).
    pub clean_disable: Vec<String>,
    /// Extra cleaner rules (defaults' then the feed's).
    pub clean_rules: Vec<CleanRuleConfig>,
    /// Whether the feed's template is learned and removed.
    pub template: bool,
    /// Distinct items a paragraph must be seen in to be template.
    pub template_min_items: u32,
    /// Fingerprints kept for the feed.
    pub template_capacity: usize,
    /// Whether the block classifier runs.
    pub classifier: bool,
    /// Its threshold; None for the shipped model's.
    pub classifier_threshold: Option<f32>,
    /// Whether robots.txt is ignored for this feed's article pages.
    pub ignore_robots: bool,
    /// Site rules for its pages: the feed's own, then the top-level ones
    /// (the last [`Config::site_rules`]`.len()` entries), in the order they
    /// are tried.
    pub site_rules: Vec<SiteRuleConfig>,
}

impl Config {
    /// The feeds with defaults applied. URLs were checked by [`parse`].
    pub fn feeds(&self) -> Vec<FeedSpec> {
        let d = &self.defaults;
        let mut out = Vec::with_capacity(self.feeds.len());
        for f in &self.feeds {
            let Ok(url) = resolve_feed_url(f.url.get_ref(), &self.base_dir) else {
                // parse() rejected configs with unresolvable URLs; a Config
                // built by hand with a bad URL just loses that feed.
                continue;
            };
            out.push(FeedSpec {
                name: f.name.get_ref().clone(),
                allow_file: url.scheme() == "file",
                url,
                enabled: f.enabled,
                tags: f.tags.clone(),
                interval: f.interval.unwrap_or(d.interval).0,
                min_interval: f.min_interval.unwrap_or(d.min_interval).0.min(f.interval.unwrap_or(d.interval).0),
                max_interval: f.max_interval.unwrap_or(d.max_interval).0.max(f.interval.unwrap_or(d.interval).0),
                timeout: f.timeout.unwrap_or(d.timeout).0,
                max_body: f.max_body.unwrap_or(d.max_body).0,
                max_items: f.max_items.unwrap_or(d.max_items).get(),
                retries: f.retries.unwrap_or(d.retries),
                headers: f.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                basic_auth: f.username.as_ref().map(|user| {
                    let password =
                        f.password_env.as_deref().and_then(|var| std::env::var(var).ok()).unwrap_or_default();
                    (user.clone(), Secret(password))
                }),
                proxy: f.proxy.clone(),
                full_article: f.full_article.unwrap_or(d.full_article),
                allow_private: f.allow_private.unwrap_or(d.allow_private),
                clean: f.clean.unwrap_or(d.clean),
                on_duplicate: f.on_duplicate.unwrap_or(d.on_duplicate),
                clean_disable: d.clean_disable.iter().chain(&f.clean_disable).cloned().collect(),
                clean_rules: d.clean_rules.iter().chain(&f.clean_rules).cloned().collect(),
                template: f.template.unwrap_or(d.template),
                template_min_items: f.template_min_items.unwrap_or(d.template_min_items),
                template_capacity: d.template_capacity,
                classifier: f.classifier.unwrap_or(d.classifier),
                classifier_threshold: f.classifier_threshold.or(d.classifier_threshold),
                ignore_robots: f.ignore_robots,
                site_rules: f.site_rules.iter().chain(&self.site_rules).cloned().collect(),
            });
        }
        out
    }

    /// The sinks, or the default SQLite sink when none is configured.
    pub fn sinks(&self) -> Vec<SinkConfig> {
        if self.sinks.is_empty() { vec![SinkConfig::Sqlite { path: None }] } else { self.sinks.clone() }
    }

    /// The postgres sink's connection URL, read from the environment when the
    /// config names a variable.
    pub fn postgres_url(&self) -> Option<(Secret, Option<String>)> {
        self.sinks.iter().find_map(|s| match s {
            SinkConfig::Postgres { url, url_env, schema } => {
                let url = url.clone().or_else(|| url_env.as_deref().and_then(|v| std::env::var(v).ok()))?;
                Some((Secret(url), schema.clone()))
            }
            _ => None,
        })
    }

    /// Path of the SQLite database: the sqlite sink's, or the default one
    /// under `data_dir` (where feed state lives when no sqlite sink is set).
    pub fn sqlite_path(&self) -> PathBuf {
        for sink in &self.sinks {
            if let SinkConfig::Sqlite { path: Some(p) } = sink {
                return p.clone();
            }
        }
        self.pipeline.data_dir.join("newswire.db")
    }

    /// Take every relative path of the file (`data_dir`, the sqlite sink's
    /// `path`, a jsonl sink's `dir`) from the config file's directory, as
    /// `file:` URLs are: where a config writes does not depend on where the
    /// command was started.
    fn resolve_paths(&mut self) {
        let base = self.base_dir.clone();
        let from_base = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        from_base(&mut self.pipeline.data_dir);
        for sink in &mut self.sinks {
            match sink {
                SinkConfig::Sqlite { path: Some(p) } => from_base(p),
                SinkConfig::Jsonl { dir: Some(d) } => from_base(d),
                _ => {}
            }
        }
    }

    /// Cross-field checks. Returns every problem as (span, key, message).
    fn problems(&self) -> Vec<(Option<std::ops::Range<usize>>, String, String)> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (i, f) in self.feeds.iter().enumerate() {
            let name = f.name.get_ref();
            if name.trim().is_empty() {
                out.push((Some(f.name.span()), format!("feed[{i}].name"), "feed name is empty".to_string()));
            } else if let Some(first) = seen.insert(name.clone(), i) {
                out.push((
                    Some(f.name.span()),
                    format!("feed[{i}].name"),
                    format!("duplicate feed name \"{name}\" (first used by feed[{first}])"),
                ));
            }
            if let Err(msg) = resolve_feed_url(f.url.get_ref(), &self.base_dir) {
                out.push((Some(f.url.span()), format!("feed[{i}].url"), msg));
            }
            if let Some(iv) = f.interval
                && iv.0 < Duration::from_secs(1)
            {
                out.push((Some(f.url.span()), format!("feed[{i}].interval"), "interval must be at least 1s".into()));
            }
        }
        if self.defaults.template_min_items < 2 {
            out.push((None, "defaults.template_min_items".into(), "template_min_items must be at least 2".into()));
        }
        let bad_threshold = |t: Option<f32>| t.is_some_and(|t| !(0.5..=1.0).contains(&t));
        if bad_threshold(self.defaults.classifier_threshold) {
            out.push((
                None,
                "defaults.classifier_threshold".into(),
                "classifier_threshold must be between 0.5 and 1".into(),
            ));
        }
        for (i, f) in self.feeds.iter().enumerate() {
            if bad_threshold(f.classifier_threshold) {
                out.push((
                    None,
                    format!("feed[{i}].classifier_threshold"),
                    "classifier_threshold must be between 0.5 and 1".into(),
                ));
            }
            if f.template_min_items.is_some_and(|n| n < 2) {
                out.push((
                    None,
                    format!("feed[{i}].template_min_items"),
                    "template_min_items must be at least 2".into(),
                ));
            }
        }
        let rule_sets = std::iter::once(("defaults".to_string(), &self.defaults.clean_rules))
            .chain(self.feeds.iter().enumerate().map(|(i, f)| (format!("feed[{i}]"), &f.clean_rules)));
        for (owner, rules) in rule_sets {
            for (j, rule) in rules.iter().enumerate() {
                let key = format!("{owner}.clean_rule[{j}]");
                if rule.name.trim().is_empty() {
                    out.push((None, key, "rule name is empty".into()));
                } else if let Err(e) = regex::Regex::new(&rule.pattern) {
                    out.push((None, key, format!("rule \"{}\": invalid pattern: {e}", rule.name)));
                }
            }
        }
        let site_rules = std::iter::once(("".to_string(), &self.site_rules))
            .chain(self.feeds.iter().enumerate().map(|(i, f)| (format!("feed[{i}]."), &f.site_rules)));
        for (owner, rules) in site_rules {
            for (j, rule) in rules.iter().enumerate() {
                let key = format!("{owner}site_rule[{j}]");
                match &rule.host {
                    None if owner.is_empty() => {
                        out.push((None, key.clone(), "a top-level site rule needs a host".into()));
                    }
                    Some(host)
                        if rule.host().is_none_or(|h| {
                            h.is_empty() || !h.chars().all(|c| c.is_ascii_alphanumeric() || "-.".contains(c))
                        }) =>
                    {
                        out.push((
                            Some(host.span()),
                            format!("{key}.host"),
                            format!("\"{}\" is not a host name like \"news.example.com\"", host.get_ref()),
                        ));
                    }
                    _ => {}
                }
                if rule.body.is_empty() && rule.remove.is_empty() {
                    out.push((
                        rule.host.as_ref().map(Spanned::span),
                        key,
                        "a site rule needs body or remove selectors".into(),
                    ));
                }
            }
        }
        for (j, net) in self.pipeline.allowed_networks.iter().enumerate() {
            if let Err(msg) = parse_network(net) {
                out.push((None, format!("pipeline.allowed_networks[{j}]"), msg));
            }
        }
        if !(self.pipeline.per_host_rate >= 0.0 && self.pipeline.per_host_rate.is_finite()) {
            out.push((
                None,
                "pipeline.per_host_rate".into(),
                "must be a number of requests per second, 0 or more".into(),
            ));
        }
        for (i, f) in self.feeds.iter().enumerate() {
            if f.password_env.is_some() && f.username.is_none() {
                out.push((Some(f.url.span()), format!("feed[{i}].password_env"), "password_env needs username".into()));
            }
            if let Some(var) = &f.password_env
                && std::env::var_os(var).is_none()
            {
                out.push((
                    Some(f.url.span()),
                    format!("feed[{i}].password_env"),
                    format!("environment variable {var} is not set"),
                ));
            }
            if let Some(proxy) = &f.proxy
                && Url::parse(proxy).map(|u| matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h")) != Ok(true)
            {
                out.push((
                    Some(f.url.span()),
                    format!("feed[{i}].proxy"),
                    format!("invalid proxy URL \"{}\"", crate::canon::redact(proxy)),
                ));
            }
            for name in f.headers.keys() {
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
                    out.push((
                        Some(f.url.span()),
                        format!("feed[{i}].headers"),
                        format!("invalid header name \"{name}\""),
                    ));
                }
            }
        }
        if self.pipeline.lease_ttl.0 < Duration::from_secs(5) {
            // Renewal rounds run every third of the TTL and polling stops two
            // thirds in; below a few seconds a loaded machine misses rounds.
            out.push((None, "pipeline.lease_ttl".into(), "must be at least 5s".into()));
        }
        if !(0.0..=1.0).contains(&self.pipeline.cluster_threshold) {
            out.push((None, "pipeline.cluster_threshold".into(), "must be between 0 and 1".into()));
        }
        if self.defaults.interval.0 < Duration::from_secs(1) {
            out.push((None, "defaults.interval".into(), "interval must be at least 1s".into()));
        }
        if self.sinks.iter().filter(|s| matches!(s, SinkConfig::Sqlite { .. })).count() > 1 {
            out.push((None, "sink".into(), "at most one sqlite sink".into()));
        }
        // Two JSONL sinks in one directory would write one log and cut each
        // other's lines back to their own committed positions at start.
        let mut jsonl_dirs = Vec::new();
        for (i, sink) in self.sinks.iter().enumerate() {
            if let SinkConfig::Jsonl { dir } = sink {
                let dir = dir.clone().unwrap_or_else(|| self.pipeline.data_dir.join("jsonl"));
                if jsonl_dirs.contains(&dir) {
                    out.push((
                        None,
                        format!("sink[{i}].dir"),
                        format!("another jsonl sink writes to {}", dir.display()),
                    ));
                }
                jsonl_dirs.push(dir);
            }
        }
        let postgres = self.sinks.iter().filter(|s| matches!(s, SinkConfig::Postgres { .. })).count();
        if postgres > 1 {
            out.push((None, "sink".into(), "at most one postgres sink".into()));
        }
        if self.pipeline.state == StateKind::Postgres && postgres == 0 {
            out.push((
                None,
                "pipeline.state".into(),
                "state = \"postgres\" needs a [[sink]] with kind = \"postgres\"".into(),
            ));
        }
        for name in self.retention.feed.keys() {
            if !self.feeds.iter().any(|f| f.name.get_ref() == name) {
                out.push((None, format!("retention.feed.{name}"), format!("no [[feed]] is named \"{name}\"")));
            }
        }
        if let Some(server) = &self.server {
            match &server.token_env {
                Some(var) if std::env::var(var).map_or(true, |t| t.is_empty()) => out.push((
                    None,
                    "server.token_env".into(),
                    format!("environment variable {var} is not set (or empty)"),
                )),
                None if !server.listen.ip().is_loopback() && !server.public => out.push((
                    None,
                    "server.listen".into(),
                    format!(
                        "{} is not a loopback address: set token_env so the read API needs a token, or public = true to serve it to anyone who can reach it",
                        server.listen
                    ),
                )),
                _ => {}
            }
        }
        let mut webhook_names = Vec::new();
        for (i, sink) in self.sinks.iter().enumerate() {
            if let SinkConfig::Webhook(hook) = sink {
                for (key, message) in hook.problems() {
                    out.push((None, format!("sink[{i}].{key}"), message));
                }
                let name = hook.sink_name();
                if webhook_names.contains(&name) {
                    out.push((
                        None,
                        format!("sink[{i}].name"),
                        format!("another webhook sink is named {name}: give each a distinct name"),
                    ));
                }
                webhook_names.push(name);
            }
        }
        for (i, sink) in self.sinks.iter().enumerate() {
            if let SinkConfig::Postgres { url, url_env, .. } = sink {
                match (url, url_env) {
                    (Some(_), Some(_)) | (None, None) => {
                        out.push((None, format!("sink[{i}]"), "give exactly one of url and url_env".into()))
                    }
                    (None, Some(var)) if std::env::var_os(var).is_none() => {
                        out.push((None, format!("sink[{i}].url_env"), format!("environment variable {var} is not set")))
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

/// Resolve a feed URL as written in the config. `file:relative/path` is
/// taken relative to `base_dir`.
pub fn resolve_feed_url(text: &str, base_dir: &Path) -> Result<Url, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("file:")
        && !rest.starts_with('/')
    {
        let path = base_dir.join(rest);
        let abs = if path.is_absolute() {
            path
        } else {
            std::env::current_dir().map_err(|e| format!("cannot resolve \"{text}\": {e}"))?.join(path)
        };
        return Url::from_file_path(&abs).map_err(|()| format!("cannot turn \"{text}\" into a file URL"));
    }
    let url = Url::parse(text).map_err(|e| format!("invalid URL \"{}\": {e}", crate::canon::redact(text)))?;
    match url.scheme() {
        "http" | "https" => {
            if url.host_str().is_none_or(str::is_empty) {
                return Err(format!("URL \"{}\" has no host", crate::canon::redact(text)));
            }
            Ok(url)
        }
        "file" => Ok(url),
        other => Err(format!(
            "unsupported scheme \"{other}\" in \"{}\": use http, https or file",
            crate::canon::redact(text)
        )),
    }
}

/// The 1-based line and column of a byte offset into the config text (for
/// errors found after parsing, such as a bad CSS selector).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

/// Parse and validate a configuration. `file` names the file in errors and
/// its directory anchors relative `file:` URLs.
pub fn parse(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let file_name = file.display().to_string();
    let err = |span: Option<std::ops::Range<usize>>, key: Option<String>, message: String| ConfigError {
        file: file_name.clone(),
        position: span.map(|s| line_col(text, s.start)),
        key,
        message,
    };
    let de = toml::Deserializer::parse(text).map_err(|e| err(e.span(), None, e.message().trim().to_string()))?;
    let mut config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        err(inner.span(), (key != ".").then_some(key), inner.message().trim().to_string())
    })?;
    config.base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    config.resolve_paths();
    if let Some((span, key, message)) = config.problems().into_iter().next() {
        return Err(err(span, Some(key), message));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        parse(text, Path::new("conf/test.toml"))
    }

    const GOOD: &str = r#"
[pipeline]
concurrency = 8
data_dir = "var"

[defaults]
interval = "10m"
max_body = "2MiB"

[[sink]]
kind = "sqlite"

[[sink]]
kind = "jsonl"
dir = "out"

[[feed]]
name = "world"
url = "https://example.com/world.xml"
interval = "5m"
tags = ["news"]

[[feed]]
name = "local"
url = "file:fixtures/local.xml"
allow_private = true

[server]
listen = "127.0.0.1:9090"
"#;

    #[test]
    fn parses_every_section_and_applies_defaults() {
        let c = load(GOOD).expect("good config parses");
        assert_eq!(c.pipeline.concurrency.get(), 8);
        assert_eq!(c.sinks().len(), 2);
        let feeds = c.feeds();
        assert_eq!(feeds.len(), 2);
        assert_eq!(feeds[0].interval, Duration::from_secs(300));
        assert_eq!(feeds[0].max_body, 2 * 1024 * 1024);
        assert_eq!(feeds[1].interval, Duration::from_secs(600));
        assert!(!feeds[0].allow_file);
        assert!(feeds[1].allow_file);
        assert!(feeds[1].url.path().ends_with("/conf/fixtures/local.xml"), "{}", feeds[1].url);
        assert_eq!(c.sqlite_path(), PathBuf::from("conf/var/newswire.db"), "data_dir from the config's directory");
        assert_eq!(c.sinks()[1], SinkConfig::Jsonl { dir: Some(PathBuf::from("conf/out")) });
        let server = c.server.expect("server set");
        assert_eq!(server.listen.port(), 9090);
        assert!(server.feed_labels_for(FEED_LABELS_AUTO_MAX), "unset: on up to the limit");
        assert!(!server.feed_labels_for(FEED_LABELS_AUTO_MAX + 1), "unset: off beyond it");
    }

    #[test]
    fn feed_labels_set_either_way_win_over_the_feed_count() {
        for (value, want) in [("true", true), ("false", false)] {
            let c = load(&format!("[server]\nlisten = \"127.0.0.1:9090\"\nfeed_labels = {value}\n")).expect("parses");
            let server = c.server.expect("server set");
            assert_eq!(server.feed_labels_for(1), want);
            assert_eq!(server.feed_labels_for(1_000_000), want);
        }
        let e = error_of("[server]\nlisten = \"127.0.0.1:9090\"\nfeed_labels = \"yes\"\n");
        assert!(e.contains("feed_labels"), "{e}");
    }

    #[test]
    fn retention_ages_global_and_per_feed() {
        let c = load("[retention]\nmax_age = \"30d\"\nbatch = 50\n[retention.feed]\nlocal = \"2d\"\n[[feed]]\nname = \"local\"\nurl = \"https://example.com/f\"\n")
            .expect("parses");
        assert_eq!(c.retention.max_age, Some(HumanDuration(Duration::from_secs(30 * 86400))));
        assert_eq!(c.retention.feed["local"], HumanDuration(Duration::from_secs(2 * 86400)));
        assert_eq!((c.retention.batch.get(), c.retention.interval.0), (50, Duration::from_secs(3600)));
        assert!(!load("").expect("empty").retention.enabled(), "kept for ever by default");
        let e = error_of("[retention.feed]\nnowhere = \"1d\"\n");
        assert!(e.contains("retention.feed.nowhere"), "{e}");
        let e = error_of("[retention]\nmax_agee = \"1d\"\n");
        assert!(e.contains("max_agee"), "{e}");
        let e = error_of("[retention]\nmax_age = \"soon\"\n");
        assert!(e.contains("retention.max_age"), "{e}");
    }

    #[test]
    fn the_api_needs_a_token_or_public_off_loopback() {
        let e = error_of("[server]\nlisten = \"0.0.0.0:9090\"\n");
        assert!(e.contains("server.listen") && e.contains("token_env"), "{e}");
        let c = load("[server]\nlisten = \"0.0.0.0:9090\"\npublic = true\n").expect("said so explicitly");
        assert!(c.server.expect("server").token().is_none());
        let e = error_of("[server]\nlisten = \"0.0.0.0:9090\"\ntoken_env = \"NEWSWIRE_TEST_UNSET_TOKEN_VAR\"\n");
        assert!(e.contains("server.token_env") && e.contains("NEWSWIRE_TEST_UNSET_TOKEN_VAR"), "{e}");
        // PATH is set wherever the tests run: a token, never printed.
        let c = load("[server]\nlisten = \"0.0.0.0:9090\"\ntoken_env = \"PATH\"\n").expect("token set");
        let token = c.server.expect("server").token().expect("token");
        assert_eq!(format!("{token:?}"), "***");
        let e = error_of("[server]\nlisten = \"127.0.0.1:9090\"\npublik = true\n");
        assert!(e.contains("publik"), "{e}");
    }

    #[test]
    fn postgres_and_nats_sinks_and_state() {
        let c = load("[pipeline]\nstate = \"postgres\"\n[[sink]]\nkind = \"postgres\"\nurl = \"postgres://u@db/news\"\nschema = \"wire\"\n[[sink]]\nkind = \"nats\"\nurl = \"nats://127.0.0.1:4222\"\nsubject = \"news.{feed}\"\nduplicate_window = \"3h\"\n").expect("parses");
        assert_eq!(c.pipeline.state, StateKind::Postgres);
        let (url, schema) = c.postgres_url().expect("postgres url");
        assert_eq!(url.expose(), "postgres://u@db/news");
        assert_eq!(schema.as_deref(), Some("wire"));
        assert_eq!(c.sinks().iter().map(SinkConfig::kind).collect::<Vec<_>>(), ["postgres", "nats"]);
        let e = error_of("[pipeline]\nstate = \"postgres\"\n");
        assert!(e.contains("pipeline.state: state = \"postgres\" needs a [[sink]] with kind = \"postgres\""), "{e}");
        let e = error_of("[[sink]]\nkind = \"postgres\"\n");
        assert!(e.contains("sink[0]: give exactly one of url and url_env"), "{e}");
        let e = error_of("[[sink]]\nkind = \"nats\"\nurl = \"nats://x\"\nsubjekt = \"a\"\n");
        assert!(e.contains("subjekt"), "{e}");
    }

    #[test]
    fn webhook_sink_settings_and_their_errors() {
        let var = "NEWSWIRE_CONFIG_TEST_WEBHOOK_SECRET";
        let c = load(
            "[[sink]]\nkind = \"webhook\"\nurl = \"https://hooks.example.com/in\"\nname = \"crm\"\ntimeout = \"3s\"\nmax_batch = 10\nheaders = { \"X-Tenant\" = \"news\" }\nbreaker_failures = 2\n"
        )
        .expect("parses");
        let SinkConfig::Webhook(hook) = &c.sinks()[0] else { panic!("a webhook sink: {:?}", c.sinks()) };
        assert_eq!(
            (hook.sink_name().as_str(), hook.timeout.0, hook.max_batch),
            ("webhook:crm", Duration::from_secs(3), 10)
        );
        assert_eq!(
            (hook.breaker_failures, hook.probe_interval.0, hook.allow_private),
            (2, Duration::from_secs(30), false)
        );
        assert_eq!(hook.secret(), Ok(None), "unsigned without secret_env");
        assert_eq!(c.sinks()[0].kind(), "webhook");

        let e = error_of("[[sink]]\nkind = \"webhook\"\n");
        assert!(e.contains("sink[0].url: a webhook sink needs url"), "{e}");
        let e = error_of("[[sink]]\nkind = \"webhook\"\nurl = \"not a url\"\n");
        assert!(e.contains("sink[0].url: invalid URL \"not a url\""), "{e}");
        let e = error_of("[[sink]]\nkind = \"webhook\"\nurl = \"ftp://e.com/in\"\n");
        assert!(e.contains("sink[0].url: unsupported scheme \"ftp\""), "{e}");
        let e = error_of("[[sink]]\nkind = \"webhook\"\nurl = \"https://e.com/in\"\ntimeout = \"0s\"\n");
        assert!(e.contains("sink[0].timeout: must be more than 0s"), "{e}");
        let e = error_of("[[sink]]\nkind = \"webhook\"\nurl = \"https://e.com/in\"\nmax_batch = 0\n");
        assert!(e.contains("sink[0].max_batch: must be at least 1"), "{e}");
        let e = error_of(&format!(
            "[[sink]]\nkind = \"webhook\"\nurl = \"https://e.com/in\"\nsecret_env = \"{var}_UNSET\"\n"
        ));
        assert!(e.contains(&format!("sink[0].secret_env: environment variable {var}_UNSET is not set")), "{e}");
        let e = error_of(
            "[[sink]]\nkind = \"webhook\"\nurl = \"https://e.com/in\"\nheaders = { \"Idempotency-Key\" = \"x\" }\n",
        );
        assert!(e.contains("sink[0].headers: header Idempotency-Key is set by newswire"), "{e}");
        let e = error_of("[[sink]]\nkind = \"webhook\"\nurl = \"https://e.com/in\"\nsecrett_env = \"X\"\n");
        assert!(e.contains("secrett_env"), "{e}");
        let e = error_of(
            "[[sink]]\nkind = \"webhook\"\nurl = \"https://e.com/a\"\n[[sink]]\nkind = \"webhook\"\nurl = \"https://e.com/b\"\n",
        );
        assert!(e.contains("sink[1].name: another webhook sink is named webhook"), "{e}");
    }

    #[test]
    fn no_sinks_means_sqlite() {
        let c = load("").expect("empty config parses");
        assert_eq!(c.sinks(), vec![SinkConfig::Sqlite { path: None }]);
        assert_eq!(c.sqlite_path(), PathBuf::from("conf/data/newswire.db"), "the default data_dir is relative too");
    }

    #[test]
    fn relative_paths_are_taken_from_the_config_files_directory_and_absolute_ones_kept() {
        let c = parse(
            "[pipeline]\ndata_dir = \"../var\"\n[[sink]]\nkind = \"sqlite\"\npath = \"db/n.db\"\n[[sink]]\nkind = \"jsonl\"\n",
            Path::new("/etc/newswire/newswire.toml"),
        )
        .expect("parses");
        assert_eq!(c.pipeline.data_dir, PathBuf::from("/etc/newswire/../var"));
        assert_eq!(c.sqlite_path(), PathBuf::from("/etc/newswire/db/n.db"));
        assert_eq!(c.sinks()[1], SinkConfig::Jsonl { dir: None }, "unset stays unset: <data_dir>/jsonl");
        let c = parse("[pipeline]\ndata_dir = \"/var/lib/newswire\"\n", Path::new("/etc/newswire/newswire.toml"))
            .expect("parses");
        assert_eq!(c.sqlite_path(), PathBuf::from("/var/lib/newswire/newswire.db"));
        // A config named without a directory is in the current one.
        let c = parse("", Path::new("newswire.toml")).expect("parses");
        assert_eq!(c.sqlite_path(), PathBuf::from("data/newswire.db"));
    }

    fn error_of(text: &str) -> String {
        load(text).expect_err("config must be rejected").to_string()
    }

    #[test]
    fn two_jsonl_sinks_cannot_share_a_directory() {
        let e = error_of("[[sink]]\nkind = \"jsonl\"\n\n[[sink]]\nkind = \"jsonl\"\ndir = \"data/jsonl\"\n");
        assert!(e.contains("sink[1].dir") && e.contains("another jsonl sink writes to conf/data/jsonl"), "{e}");
        load("[[sink]]\nkind = \"jsonl\"\n\n[[sink]]\nkind = \"jsonl\"\ndir = \"elsewhere\"\n")
            .expect("two directories are fine");
    }

    #[test]
    fn typo_in_each_section_names_file_line_and_key() {
        let e = error_of("[pipeline]\nconcurency = 3\n");
        assert!(e.starts_with("conf/test.toml:2:1"), "{e}");
        assert!(e.contains("concurency"), "{e}");

        let e = error_of("[defaults]\ninterval = \"5m\"\nintervl = \"5m\"\n");
        assert!(e.starts_with("conf/test.toml:3:"), "{e}");
        assert!(e.contains("intervl"), "{e}");

        let e = error_of("[[sink]]\nkind = \"jsonl\"\ndirr = \"x\"\n");
        assert!(e.starts_with("conf/test.toml:"), "{e}");
        assert!(e.contains("dirr"), "{e}");

        let e = error_of(
            "[[feed]]\nname = \"a\"\nurl = \"https://e.com/f\"\n\n[[feed]]\nname = \"b\"\nurl = \"https://e.com/g\"\ninterval_ = \"5m\"\n",
        );
        assert!(e.starts_with("conf/test.toml:8:"), "{e}");
        assert!(e.contains("interval_"), "{e}");

        let e = error_of("[server]\nlisten = \"127.0.0.1:1\"\nport = 3\n");
        assert!(e.starts_with("conf/test.toml:3:"), "{e}");
        assert!(e.contains("port"), "{e}");

        let e = error_of("[nonsense]\n");
        assert!(e.contains("nonsense"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = error_of("[[feed]]\nname = \"a\"\nurl = \"https://e.com/f\"\ninterval = \"15x\"\n");
        assert!(e.starts_with("conf/test.toml:4:"), "{e}");
        assert!(e.contains("feed[0].interval"), "{e}");
        assert!(e.contains("invalid duration"), "{e}");

        let e = error_of("[defaults]\nmax_body = \"lots\"\n");
        assert!(e.contains("defaults.max_body"), "{e}");
        assert!(e.contains("invalid size"), "{e}");

        let e = error_of("[[sink]]\nkind = \"mongodb\"\n");
        assert!(e.contains("mongodb"), "{e}");
    }

    #[test]
    fn cross_field_problems_point_at_the_feed() {
        let e = error_of(
            "[[feed]]\nname = \"a\"\nurl = \"https://e.com/f\"\n[[feed]]\nname = \"a\"\nurl = \"https://e.com/g\"\n",
        );
        assert!(e.starts_with("conf/test.toml:5:"), "{e}");
        assert!(e.contains("duplicate feed name \"a\""), "{e}");

        let e = error_of("[[feed]]\nname = \"a\"\nurl = \"ftp://e.com/f\"\n");
        assert!(e.starts_with("conf/test.toml:3:"), "{e}");
        assert!(e.contains("unsupported scheme \"ftp\""), "{e}");

        let e = error_of("[[feed]]\nname = \"a\"\nurl = \"https://user:secret@/f\"\n");
        assert!(!e.contains("secret"), "{e}");

        let e = error_of(
            "[[feed]]\nname = \"a\"\nurl = \"https://e.com/f\"\n[[feed.clean_rule]]\nname = \"promo\"\npattern = \"(unclosed\"\n",
        );
        assert!(e.contains("feed[0].clean_rule[0]"), "{e}");
        assert!(e.contains("rule \"promo\": invalid pattern"), "{e}");

        let e = error_of(
            "[[feed]]\nname = \"a\"\nurl = \"https://e.com/f\"\n[[feed.clean_rule]]\nname = \"promo\"\npattern = \"x\"\nkind = \"nonsense\"\n",
        );
        assert!(e.contains("feed[0].clean_rule[0].kind"), "{e}");
    }

    #[test]
    fn http_options_per_feed_and_secrets_stay_hidden() {
        let c = load("[pipeline]\nallowed_networks = [\"10.1.0.0/16\", \"127.0.0.1\"]\n[[feed]]\nname = \"f\"\nurl = \"https://e.com/f\"\nheaders = { X-Client = \"newswire\" }\nproxy = \"socks5://127.0.0.1:1080\"\nretries = 0\n").expect("parses");
        let f = &c.feeds()[0];
        assert_eq!(f.headers, [("X-Client".to_string(), "newswire".to_string())]);
        assert_eq!(f.proxy.as_deref(), Some("socks5://127.0.0.1:1080"));
        assert_eq!(f.retries, 0);
        assert_eq!(parse_network("10.1.0.0/16"), Ok(("10.1.0.0".parse().expect("ip"), 16)));
        assert_eq!(format!("{:?}", Secret("hunter2".into())), "***");

        let e = error_of(
            "[[feed]]\nname = \"f\"\nurl = \"https://e.com/f\"\nusername = \"u\"\npassword_env = \"NEWSWIRE_TEST_SURELY_UNSET_VAR\"\n",
        );
        assert!(
            e.contains("feed[0].password_env: environment variable NEWSWIRE_TEST_SURELY_UNSET_VAR is not set"),
            "{e}"
        );
        let e = error_of("[pipeline]\nallowed_networks = [\"10.0.0.0/99\"]\n");
        assert!(e.contains("pipeline.allowed_networks[0]: invalid prefix"), "{e}");
        let e = error_of("[[feed]]\nname = \"f\"\nurl = \"https://e.com/f\"\nproxy = \"ftp://p\"\n");
        assert!(e.contains("feed[0].proxy: invalid proxy URL"), "{e}");
    }

    #[test]
    fn site_rules_top_level_and_per_feed_and_ignore_robots() {
        let c = load("[[site_rule]]\nhost = \"News.Example.com\"\nbody = [\"div.story\"]\nremove = [\"aside\"]\n[[feed]]\nname = \"f\"\nurl = \"https://e.com/f\"\nignore_robots = true\n[[feed.site_rule]]\nbody = [\"main p\"]\n").expect("parses");
        let rule = &c.site_rules[0];
        assert_eq!(rule.host().as_deref(), Some("news.example.com"));
        assert!(rule.matches("news.example.com") && rule.matches("www.News.example.com"));
        assert!(!rule.matches("badnews.example.com") && !rule.matches("example.com"));
        assert_eq!(rule.remove[0].get_ref(), "aside");
        let f = &c.feeds()[0];
        assert!(f.ignore_robots);
        assert_eq!(f.site_rules.len(), 2, "the feed's own rule, then the top-level one");
        assert_eq!(f.site_rules[0].body[0].get_ref(), "main p");
        assert_eq!(f.site_rules[1], c.site_rules[0]);
        assert!(f.site_rules[0].matches("anything.example.org"), "a feed's rule without a host covers its pages");
        assert!(!load("[[feed]]\nname = \"g\"\nurl = \"https://e.com/g\"\n").expect("parses").feeds()[0].ignore_robots);

        let e = error_of("[[site_rule]]\nhost = \"a.com\"\nbody = [\"p\"]\nbodyy = [\"p\"]\n");
        assert!(e.starts_with("conf/test.toml:4:"), "{e}");
        assert!(e.contains("site_rule[0]") && e.contains("bodyy"), "{e}");
        let e = error_of(
            "[[feed]]\nname = \"f\"\nurl = \"https://e.com/f\"\n[[feed.site_rule]]\nbody = [\"p\"]\nremov = [\"p\"]\n",
        );
        assert!(e.starts_with("conf/test.toml:6:"), "{e}");
        assert!(e.contains("feed[0].site_rule[0]") && e.contains("remov"), "{e}");
        let e = error_of("[[feed]]\nname = \"f\"\nurl = \"https://e.com/f\"\nignore_robot = true\n");
        assert!(e.starts_with("conf/test.toml:4:") && e.contains("ignore_robot"), "{e}");

        let e = error_of("[[site_rule]]\nbody = [\"p\"]\n");
        assert!(e.contains("site_rule[0]: a top-level site rule needs a host"), "{e}");
        let e = error_of("[[site_rule]]\nhost = \"https://a.com/x\"\nbody = [\"p\"]\n");
        assert!(e.starts_with("conf/test.toml:2:") && e.contains("site_rule[0].host"), "{e}");
        let e = error_of("[[feed]]\nname = \"f\"\nurl = \"https://e.com/f\"\n[[feed.site_rule]]\nhost = \"e.com\"\n");
        assert!(e.contains("feed[0].site_rule[0]: a site rule needs body or remove selectors"), "{e}");
    }

    #[test]
    fn template_settings_default_and_override_per_feed() {
        let c = load("[defaults]\ntemplate_min_items = 4\ntemplate_capacity = 64\n[[feed]]\nname = \"a\"\nurl = \"https://e.com/a\"\n[[feed]]\nname = \"b\"\nurl = \"https://e.com/b\"\ntemplate = false\ntemplate_min_items = 2\n").expect("parses");
        let feeds = c.feeds();
        assert_eq!((feeds[0].template, feeds[0].template_min_items, feeds[0].template_capacity), (true, 4, 64));
        assert_eq!((feeds[1].template, feeds[1].template_min_items), (false, 2));
        let d = Defaults::default();
        assert_eq!((d.template, d.template_min_items, d.template_capacity), (true, 4, 256));
        let err = load("[[feed]]\nname = \"a\"\nurl = \"https://e.com/a\"\ntemplate_min_items = 1\n")
            .expect_err("1 is too few");
        assert!(err.to_string().contains("template_min_items must be at least 2"), "{err}");
    }

    #[test]
    fn classifier_switch_is_global_and_per_feed() {
        let c = load("[defaults]\nclassifier = false\n[[feed]]\nname = \"a\"\nurl = \"https://e.com/a\"\n[[feed]]\nname = \"b\"\nurl = \"https://e.com/b\"\nclassifier = true\n").expect("parses");
        let feeds = c.feeds();
        assert_eq!((feeds[0].classifier, feeds[1].classifier), (false, true));
        assert!(Defaults::default().classifier, "on by default");
    }

    #[test]
    fn classifier_threshold_is_global_per_feed_and_checked() {
        let c = load("[defaults]\nclassifier_threshold = 0.97\n[[feed]]\nname = \"a\"\nurl = \"https://e.com/a\"\n[[feed]]\nname = \"b\"\nurl = \"https://e.com/b\"\nclassifier_threshold = 0.99\n").expect("parses");
        let feeds = c.feeds();
        assert_eq!((feeds[0].classifier_threshold, feeds[1].classifier_threshold), (Some(0.97), Some(0.99)));
        assert_eq!(Defaults::default().classifier_threshold, None, "the model's by default");
        for bad in [
            "[defaults]\nclassifier_threshold = 0.2\n",
            "[[feed]]\nname = \"a\"\nurl = \"https://e.com/a\"\nclassifier_threshold = 1.5\n",
        ] {
            let err = load(bad).expect_err("out of range");
            assert!(err.to_string().contains("classifier_threshold must be between 0.5 and 1"), "{err}");
        }
    }

    #[test]
    fn clean_rules_merge_defaults_then_feed() {
        let c = load("[defaults]\nclean_disable = [\"a\"]\n[[defaults.clean_rule]]\nname = \"d\"\npattern = \"^x\"\n[[feed]]\nname = \"f\"\nurl = \"https://e.com/f\"\nclean_disable = [\"b\"]\n[[feed.clean_rule]]\nname = \"r\"\npattern = \"^y\"\nwhere = \"end\"\nkind = \"call_to_action\"\n").expect("parses");
        let f = &c.feeds()[0];
        assert_eq!(f.clean_disable, ["a", "b"]);
        let names: Vec<&str> = f.clean_rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["d", "r"]);
        assert_eq!(f.clean_rules[1].position, RulePosition::End);
        assert_eq!(f.clean_rules[1].kind, crate::record::RemovedKind::CallToAction);
    }
}
