//! Retention (`[retention]`): the daemon's pruning task and `newswire
//! prune [--dry-run]`.
//!
//! Each round removes, from the store that holds the state, the records
//! past their feed's age (`[retention.feed]`) or the global `max_age`, a
//! `batch` per transaction (newswire-storer's
//! [`RecordPruner`](newswire_storer::retention::RecordPruner): versions and
//! full-text entries go with them), then, past `max_age`, the JSON Lines day
//! files whose whole day is older, never the one a committed sink position
//! names. Feed state, item state and sink positions (what a checkpoint
//! needs) are never touched. Per-feed ages do not apply to the JSON Lines
//! files, which mix feeds.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use newswire_core::config::{Config, RetentionConfig, SinkConfig, StateKind};
use newswire_core::sink::StateStore;
use newswire_storer::retention::{RecordPruner, Scope, prune_scope};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::UsageError;
use crate::settings;

/// What a round removed (or, dry, would remove).
#[derive(Debug, Default)]
pub struct Report {
    /// Records per scope: (what, how many).
    pub records: Vec<(String, u64)>,
    /// JSON Lines files.
    pub files: Vec<PathBuf>,
}

/// The scopes of `retention` at `now`: each feed with its own age, then
/// every other feed under `max_age`.
pub fn scopes(retention: &RetentionConfig, now: DateTime<Utc>) -> Vec<Scope> {
    let age = |d: std::time::Duration| now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let mut out: Vec<Scope> = retention
        .feed
        .iter()
        .map(|(feed, max_age)| Scope::Feed { feed: feed.clone(), before: age(max_age.0) })
        .collect();
    if let Some(max_age) = retention.max_age {
        out.push(Scope::Others { except: retention.feed.keys().cloned().collect(), before: age(max_age.0) });
    }
    out
}

fn describe(scope: &Scope) -> String {
    match scope {
        Scope::Feed { feed, before } => format!("feed {feed}, fetched before {}", before.to_rfc3339()),
        Scope::Others { before, .. } => format!("fetched before {}", before.to_rfc3339()),
    }
}

/// The JSON Lines directories of the config's sinks.
fn jsonl_dirs(config: &Config) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sink in config.sinks() {
        if let SinkConfig::Jsonl { dir } = sink {
            out.push(dir.clone().unwrap_or_else(|| config.pipeline.data_dir.join("jsonl")));
        }
    }
    out
}

/// One round: records, then day files. `dry_run` counts instead.
pub async fn round(
    config: &Config,
    pruner: &dyn RecordPruner,
    state: &dyn StateStore,
    dry_run: bool,
) -> anyhow::Result<Report> {
    let retention = &config.retention;
    let now = Utc::now();
    let mut report = Report::default();
    for scope in scopes(retention, now) {
        let n = if dry_run {
            pruner.count(&scope).await?
        } else {
            prune_scope(pruner, &scope, retention.batch.get()).await?
        };
        report.records.push((describe(&scope), n));
    }
    if let Some(max_age) = retention.max_age {
        let before = now - chrono::Duration::from_std(max_age.0).unwrap_or(chrono::Duration::MAX);
        let positions = state.positions().await.context("cannot read the committed sink positions")?;
        for dir in jsonl_dirs(config) {
            report.files.extend(newswire_storer::jsonl::prune_files(&dir, before, &positions, dry_run)?);
        }
    }
    Ok(report)
}

/// The store's pruner and state store, opened from the config.
async fn open(config: &Config) -> anyhow::Result<(Arc<dyn RecordPruner>, Arc<dyn StateStore>)> {
    match config.pipeline.state {
        StateKind::Sqlite => {
            let path = config.sqlite_path();
            let store = newswire_storer::SqliteStore::open(&path)
                .with_context(|| format!("cannot open the store {}", path.display()))?;
            Ok((Arc::new(store.clone()), Arc::new(store)))
        }
        #[cfg(feature = "postgres")]
        StateKind::Postgres => {
            let (url, schema) =
                config.postgres_url().ok_or_else(|| UsageError("the config has no postgres sink".into()))?;
            let store = newswire_storer::PostgresStore::connect(url.expose(), schema.as_deref())
                .await
                .context("cannot open the postgres store")?;
            Ok((Arc::new(store.clone()), Arc::new(store)))
        }
        #[cfg(not(feature = "postgres"))]
        StateKind::Postgres => Err(UsageError(crate::settings::not_compiled("postgres")).into()),
    }
}

/// The daemon's task: a round every `interval` (the first one at start)
/// until `shutdown`. A failed round is logged and tried again next time.
///
/// `updates` carries the `[retention]` of each config the daemon reloads
/// (SIGHUP): new ages, interval and batch apply from a round run at once;
/// retention turned on starts the rounds, turned off stops them. Which
/// store and which JSON Lines directories are pruned stay those of
/// `config` (sinks change on restart). The store is opened at the first
/// round, and again at the next one when opening failed.
pub async fn task(
    mut config: Config,
    mut updates: tokio::sync::watch::Receiver<RetentionConfig>,
    shutdown: CancellationToken,
) {
    let mut opened: Option<(Arc<dyn RecordPruner>, Arc<dyn StateStore>)> = None;
    let mut tick = ticker(&config.retention);
    // The daemon holds the sender until it stops; once it is gone the
    // settings stay as they are.
    let mut listening = true;
    loop {
        let enabled = config.retention.enabled();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = updates.changed(), if listening => {
                if changed.is_err() {
                    listening = false;
                    continue;
                }
                let retention = updates.borrow_and_update().clone();
                if !same(&retention, &config.retention) {
                    info!(enabled = retention.enabled(), "retention: settings reloaded");
                    // A fresh interval ticks at once: the new settings apply now.
                    tick = ticker(&retention);
                    config.retention = retention;
                }
                continue;
            }
            _ = tick.tick(), if enabled => {}
        }
        if opened.is_none() {
            match open(&config).await {
                Ok(store) => opened = Some(store),
                Err(e) => {
                    warn!(error = %format!("{e:#}"), "retention: cannot open the store; the next round tries again");
                    continue;
                }
            }
        }
        let Some((pruner, state)) = &opened else { continue };
        let pruned = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = round(&config, pruner.as_ref(), state.as_ref(), false) => r,
        };
        match pruned {
            Ok(report) => {
                let records: u64 = report.records.iter().map(|(_, n)| n).sum();
                if records > 0 || !report.files.is_empty() {
                    info!(records, files = report.files.len(), "retention: pruned");
                }
            }
            Err(e) => warn!(error = %format!("{e:#}"), "retention: pruning failed; next round retries"),
        }
    }
}

fn ticker(retention: &RetentionConfig) -> tokio::time::Interval {
    let mut tick = tokio::time::interval(retention.interval.0);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick
}

/// Whether two `[retention]` sections say the same.
fn same(a: &RetentionConfig, b: &RetentionConfig) -> bool {
    a.max_age == b.max_age && a.feed == b.feed && a.interval == b.interval && a.batch == b.batch
}

/// `newswire prune [--dry-run]`.
pub async fn prune(config_path: &Path, dry_run: bool) -> anyhow::Result<u8> {
    let settings = settings::load(config_path)?;
    let config = &settings.config;
    if !config.retention.enabled() {
        println!("no [retention] max_age or [retention.feed] ages: nothing is ever pruned");
        return Ok(0);
    }
    let (pruner, state) = open(config).await?;
    let report = round(config, pruner.as_ref(), state.as_ref(), dry_run).await?;
    let verb = if dry_run { "would remove" } else { "removed" };
    for (what, n) in &report.records {
        println!("{verb} {n} records ({what})");
    }
    for file in &report.files {
        println!("{verb} {}", file.display());
    }
    Ok(0)
}
