//! newswire: a streaming news-ingest pipeline.
//!
//! This is the binary's library: the CLI, loading the config, wiring the
//! stores and the fetcher into the pipeline, signals, systemd, the status
//! server and the commands' output. The stages, the scheduler, the lease
//! plan and archive paging live in newswire-pipeline; parsing, cleaning and
//! storage in the crates under it. This crate only assembles them.
//!
//! - [`settings`]: the config file, each feed's cleaner and site rules.
//! - [`wiring`]: the fetcher, the sinks and the state store from the config.
//! - [`daemon`]: `newswire run`: the scheduler's loop over the pipeline.
//! - [`backfill`]: `newswire backfill`: one pass and a summary.
//! - [`inspect`] and [`feeds`]: the commands that look at one thing.
//! - [`records`]: `newswire records` (export) and `newswire reindex`.
//! - [`retention`]: the daemon's pruning task and `newswire prune`.
//! - [`healthcheck`]: `newswire healthcheck`, asking a daemon's `/readyz`.
//! - [`assets`]: `newswire man` and `install-assets` (manual pages, completions).
//! - [`api`]: the read API under `/api/` on the status server.
//! - [`status`]: the status server; [`console`]: its web console;
//!   [`signals`], [`systemd`], [`logging`]; [`memory`]: freed heap back to the system.

pub mod api;
pub mod assets;
pub mod backfill;
pub mod cli;
pub mod console;
pub mod daemon;
pub mod feeds;
pub mod healthcheck;
pub mod inspect;
pub mod logging;
pub mod memory;
pub mod records;
pub mod retention;
pub mod settings;
pub mod signals;
pub mod status;
pub mod systemd;
pub mod wiring;

/// An error that is the user's to fix (bad config, bad arguments): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Exit status for an error: 2 for usage and config errors, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    let usage = err.chain().any(|e| e.is::<UsageError>() || e.is::<newswire_core::config::ConfigError>());
    if usage { 2 } else { 1 }
}
