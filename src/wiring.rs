//! Building the fetcher, the sinks and the state store from the config.

use std::sync::Arc;

use anyhow::Context;
use newswire_core::config::{Config, SinkConfig, StateKind, WebhookConfig};
use newswire_core::lease::LeaseStore;
use newswire_core::sink::{Sink, StateStore};
use newswire_fetcher::{Fetcher, FetcherOptions};
use newswire_storer::{JsonlSink, SqliteSink, SqliteStore, WebhookOptions, WebhookSink};
#[cfg(feature = "nats")]
use newswire_storer::{NatsOptions, NatsSink};
#[cfg(feature = "postgres")]
use newswire_storer::{PostgresSink, PostgresStore};

use newswire_pipeline::clusters::Clustering;
use newswire_pipeline::{PipelineOptions, Storage};

/// The HTTP clients, with the config's user agent and connect timeout.
/// `NEWSWIRE_RESOLVE` ("host=ip:port,…") pins names to addresses, for tests
/// that need a public-looking name on a local server.
pub fn fetcher(config: &Config) -> anyhow::Result<Fetcher> {
    Ok(Fetcher::new(&fetcher_options(config)?)?)
}

/// The fetcher's settings from the config (and `NEWSWIRE_RESOLVE`), which
/// the webhook sink's client shares.
fn fetcher_options(config: &Config) -> anyhow::Result<FetcherOptions> {
    let mut networks = Vec::with_capacity(config.pipeline.allowed_networks.len());
    for net in &config.pipeline.allowed_networks {
        // Validated at load: this cannot fail for a parsed config.
        networks.push(newswire_core::config::parse_network(net).map_err(anyhow::Error::msg)?);
    }
    let mut options = FetcherOptions {
        user_agent: config.pipeline.user_agent.clone(),
        connect_timeout: config.defaults.connect_timeout.0,
        per_host_concurrency: config.pipeline.per_host_concurrency.get(),
        per_host_rate: config.pipeline.per_host_rate,
        allowed_networks: newswire_fetcher::guard::AllowedNetworks::new(networks),
        ..FetcherOptions::default()
    };
    if let Ok(pins) = std::env::var("NEWSWIRE_RESOLVE") {
        for pin in pins.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (host, addr) =
                pin.split_once('=').with_context(|| format!("NEWSWIRE_RESOLVE entry \"{pin}\" is not host=ip:port"))?;
            let addr = addr.parse().with_context(|| format!("NEWSWIRE_RESOLVE entry \"{pin}\" has a bad address"))?;
            options.resolve.entry(host.to_ascii_lowercase()).or_default().push(addr);
        }
    }
    Ok(options)
}

/// A webhook sink: its URL checked against the address guard first (a
/// private or loopback receiver only with `allow_private` or an allowed
/// network), its client guarded the same way at every connection and
/// never following a redirect.
async fn webhook(config: &Config, hook: &WebhookConfig) -> anyhow::Result<WebhookSink> {
    let name = hook.sink_name();
    let url = url::Url::parse(hook.url.trim()).with_context(|| format!("{name}: invalid url"))?;
    let options = fetcher_options(config)?;
    newswire_fetcher::check_destination(&options, &url, hook.allow_private)
        .await
        .with_context(|| format!("the {name} sink's url is not allowed"))?;
    let client = newswire_fetcher::guarded_client(&options, hook.allow_private)?;
    let secret = hook.secret().map_err(|e| anyhow::anyhow!("{name}: secret_env: {e}"))?;
    let options = WebhookOptions {
        name,
        url,
        secret,
        timeout: hook.timeout.0,
        max_batch: hook.max_batch,
        headers: hook.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        breaker_failures: hook.breaker_failures,
        probe_interval: hook.probe_interval.0,
    };
    Ok(WebhookSink::new(client, options)?)
}

/// Stage sizes from `[pipeline]`.
pub fn pipeline_options(config: &Config) -> PipelineOptions {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
    PipelineOptions {
        fetch_concurrency: config.pipeline.concurrency.get(),
        clean_workers: if config.pipeline.clean_workers == 0 { cores } else { config.pipeline.clean_workers },
        channel_capacity: config.pipeline.channel_capacity.get(),
        since: None,
    }
}

/// Open the state store and every sink. Feed state lives in SQLite (the
/// sqlite sink's database, or the default path when only other sinks are
/// configured) unless `[pipeline] state = "postgres"`, in which case it
/// lives in the postgres sink's database. The sink that holds the state
/// commits each checkpoint with its records.
pub async fn storage(config: &Config) -> anyhow::Result<Storage> {
    Ok(storage_and_leases(config).await?.0)
}

/// [`storage`], and the lease store when the state lives in PostgreSQL (the
/// daemon shares the feeds through it).
pub async fn storage_and_leases(config: &Config) -> anyhow::Result<(Storage, Option<Arc<dyn LeaseStore>>)> {
    let sinks_config = config.sinks();
    let state_kind = config.pipeline.state;
    let wants_sqlite =
        state_kind == StateKind::Sqlite || sinks_config.iter().any(|s| matches!(s, SinkConfig::Sqlite { .. }));
    let sqlite = if wants_sqlite {
        let db_path = config.sqlite_path();
        Some(
            SqliteStore::open(&db_path)
                .with_context(|| format!("cannot open the state store {}", db_path.display()))?,
        )
    } else {
        None
    };
    #[cfg(feature = "postgres")]
    let postgres = match config.postgres_url() {
        Some((url, schema)) => Some(
            PostgresStore::connect(url.expose(), schema.as_deref()).await.context("cannot open the postgres sink")?,
        ),
        None => None,
    };
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    for sink in &sinks_config {
        let mut boxed: Box<dyn Sink> = match sink {
            SinkConfig::Sqlite { .. } => {
                let store = sqlite.clone().context("the sqlite store is open when a sqlite sink is configured")?;
                Box::new(SqliteSink::new(store, state_kind == StateKind::Sqlite))
            }
            SinkConfig::Jsonl { dir } => {
                let dir = dir.clone().unwrap_or_else(|| config.pipeline.data_dir.join("jsonl"));
                Box::new(JsonlSink::new(&dir))
            }
            #[cfg(feature = "postgres")]
            SinkConfig::Postgres { .. } => {
                let store =
                    postgres.clone().context("the postgres store is open when a postgres sink is configured")?;
                Box::new(PostgresSink::new(store, state_kind == StateKind::Postgres))
            }
            #[cfg(not(feature = "postgres"))]
            SinkConfig::Postgres { .. } => {
                return Err(crate::UsageError(crate::settings::not_compiled("postgres")).into());
            }
            #[cfg(not(feature = "nats"))]
            SinkConfig::Nats { .. } => return Err(crate::UsageError(crate::settings::not_compiled("nats")).into()),
            #[cfg(feature = "nats")]
            SinkConfig::Nats { url, stream, subject, duplicate_window, creds_env, token_env } => {
                let defaults = NatsOptions::default();
                let options = NatsOptions {
                    stream: stream.clone().unwrap_or(defaults.stream),
                    subject_template: subject.clone().unwrap_or(defaults.subject_template),
                    duplicate_window: duplicate_window.map_or(defaults.duplicate_window, |d| d.0),
                    creds_env: creds_env.clone(),
                    token_env: token_env.clone(),
                    ..defaults
                };
                Box::new(NatsSink::connect(url, options).await.context("cannot open the nats sink")?)
            }
            SinkConfig::Webhook(hook) => Box::new(webhook(config, hook).await?),
        };
        boxed.open().await.with_context(|| format!("cannot open the {} sink", sink.kind()))?;
        sinks.push(boxed);
    }
    let state: Arc<dyn StateStore> = match (state_kind, sqlite) {
        #[cfg(feature = "postgres")]
        (StateKind::Postgres, _) => Arc::new(
            postgres.clone().context("no store for the feed state (config validation should have caught this)")?,
        ),
        #[cfg(not(feature = "postgres"))]
        (StateKind::Postgres, _) => return Err(crate::UsageError(crate::settings::not_compiled("postgres")).into()),
        (StateKind::Sqlite, Some(lite)) => Arc::new(lite),
        (StateKind::Sqlite, None) => {
            anyhow::bail!("no store for the feed state (config validation should have caught this)")
        }
    };
    // Append-only sinks drop what they wrote past the last committed
    // checkpoint: that batch is fetched and written again.
    let positions = state.positions().await.context("cannot read the committed sink positions")?;
    for sink in &mut sinks {
        sink.rewind(&positions).await.with_context(|| format!("cannot rewind the {} sink", sink.name()))?;
    }
    // A sink with no committed position yet gets where it stands now, before
    // it writes anything: otherwise a crash before the first checkpoint
    // would leave lines that the replay writes a second time.
    let baselines: Vec<(String, String)> =
        sinks.iter().filter_map(|s| s.position()).filter(|(key, _)| !positions.contains_key(key)).collect();
    if !baselines.is_empty() {
        state.commit_positions(&baselines).await.context("cannot commit the sinks' starting positions")?;
    }
    #[cfg(feature = "postgres")]
    let leases = match postgres {
        Some(pg) if state_kind == StateKind::Postgres => Some(Arc::new(pg) as Arc<dyn LeaseStore>),
        _ => None,
    };
    #[cfg(not(feature = "postgres"))]
    let leases: Option<Arc<dyn LeaseStore>> = None;
    let mut storage = Storage::new(sinks, state);
    storage.clustering =
        Clustering { threshold: config.pipeline.cluster_threshold, window: config.pipeline.cluster_window.0 };
    Ok((storage, leases))
}

/// `newswire migrate`: apply the PostgreSQL migrations.
pub async fn migrate(config: &Config) -> anyhow::Result<Vec<i32>> {
    let (url, schema) =
        config.postgres_url().ok_or_else(|| crate::UsageError("the config has no postgres sink to migrate".into()))?;
    #[cfg(feature = "postgres")]
    {
        let store =
            PostgresStore::connect(url.expose(), schema.as_deref()).await.context("cannot open the postgres sink")?;
        Ok(store.migrate().await?)
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = (url, schema);
        Err(crate::UsageError(crate::settings::not_compiled("postgres")).into())
    }
}
