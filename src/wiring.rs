//! Building the fetcher, the sinks and the state store from the config.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use newswire_core::config::{Config, SinkConfig};
use newswire_core::sink::{Sink, StateStore};
use newswire_fetcher::{Fetcher, FetcherOptions};
use newswire_storer::{JsonlSink, SqliteSink, SqliteStore};

use crate::pipeline::{PipelineOptions, Storage};

/// The HTTP clients, with the config's user agent and connect timeout.
/// `NEWSWIRE_RESOLVE` ("host=ip:port,…") pins names to addresses, for tests
/// that need a public-looking name on a local server.
pub fn fetcher(config: &Config) -> anyhow::Result<Fetcher> {
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
    Ok(Fetcher::new(&options)?)
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

/// Open the state store and every sink. Feed state lives in the SQLite
/// database: the sqlite sink's, or the default path when only other sinks
/// are configured.
pub async fn storage(config: &Config) -> anyhow::Result<(Storage, SqliteStore)> {
    let db_path = config.sqlite_path();
    let store =
        SqliteStore::open(&db_path).with_context(|| format!("cannot open the state store {}", db_path.display()))?;
    let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
    for sink in config.sinks() {
        let mut boxed: Box<dyn Sink> = match &sink {
            SinkConfig::Sqlite { .. } => Box::new(SqliteSink::new(store.clone(), true)),
            SinkConfig::Jsonl { dir } => {
                let dir = dir.clone().unwrap_or_else(|| config.pipeline.data_dir.join("jsonl"));
                Box::new(JsonlSink::new(&resolve(dir)))
            }
        };
        boxed.open().await.with_context(|| format!("cannot open the {} sink", sink.kind()))?;
        sinks.push(boxed);
    }
    let state: Arc<dyn StateStore> = Arc::new(store.clone());
    Ok((Storage::new(sinks, state), store))
}

fn resolve(path: PathBuf) -> PathBuf {
    path
}
