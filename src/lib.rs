//! newswire: a streaming news-ingest pipeline.
//!
//! This is the binary's library: the CLI, loading the config, wiring the
//! fetcher, cleaner and storer crates into the pipeline, the daemon's
//! scheduler and the backfill. Parsing, cleaning and storage live in the
//! crates under `crates/`; this crate only assembles them.
//!
//! - [`pipeline`]: the fetch → clean → store stages and their channels.
//! - [`pages`]: the page stage between clean and store (full articles).
//! - [`daemon`]: `newswire run`, the scheduler over the pipeline.
//! - [`backfill`]: `newswire backfill`, one pass and a summary.
//! - [`inspect`]: `check`, `clean` and `parse`, for one config or document.
//! - [`healthcheck`]: `newswire healthcheck`, asking a daemon's `/readyz`.

pub mod assemble;
pub mod backfill;
pub mod cli;
pub mod daemon;
pub mod failpoint;
pub mod feeds;
pub mod healthcheck;
pub mod inspect;
pub mod logging;
pub mod metrics;
pub mod pages;
pub mod pipeline;
pub mod schedule;
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
