//! `newswire backfill`: one pass over the feeds, then a summary.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::pipeline::{self, BatchReport, FeedContext, FeedJob, Outcome};
use crate::settings::Settings;
use crate::wiring;

/// Totals of a pass.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Feeds polled successfully (including 304 and unchanged).
    pub feeds_ok: usize,
    /// Feeds whose poll failed.
    pub feeds_failed: usize,
    /// Records written for the first time.
    pub new: usize,
    /// Records written again with changed content.
    pub updated: usize,
    /// Items seen before, unchanged.
    pub unchanged: usize,
    /// Failed feeds and why, in the order they finished.
    pub failures: Vec<(String, String)>,
}

impl Summary {
    /// Add one feed's report.
    pub fn add(&mut self, report: &BatchReport) {
        match &report.outcome {
            Outcome::Failed { message, .. } => {
                self.feeds_failed += 1;
                self.failures.push((report.feed.spec.name.clone(), message.clone()));
            }
            _ => self.feeds_ok += 1,
        }
        self.new += report.new;
        self.updated += report.updated;
        self.unchanged += report.unchanged;
    }

    /// The one-line summary printed at the end.
    pub fn line(&self) -> String {
        format!(
            "feeds: {} ok, {} failed; items: {} new, {} updated, {} unchanged",
            self.feeds_ok, self.feeds_failed, self.new, self.updated, self.unchanged
        )
    }
}

/// Which feeds a backfill polls: all enabled ones, or those named.
pub fn select(settings: &Settings, names: &[String]) -> anyhow::Result<Vec<Arc<FeedContext>>> {
    if names.is_empty() {
        return Ok(settings.feeds.iter().filter(|f| f.spec.enabled).cloned().collect());
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let feed = settings
            .feeds
            .iter()
            .find(|f| &f.spec.name == name)
            .ok_or_else(|| crate::UsageError(format!("no feed named \"{name}\" in the config")))?;
        out.push(Arc::clone(feed));
    }
    Ok(out)
}

/// Run one pass. `shutdown` stops handing out feeds; those in flight finish.
pub async fn run(
    settings: &Settings,
    names: &[String],
    shutdown: CancellationToken,
    abort: CancellationToken,
) -> anyhow::Result<Summary> {
    let feeds = select(settings, names)?;
    let fetcher = wiring::fetcher(&settings.config)?;
    let (storage, _store) = wiring::storage(&settings.config).await?;
    let states: HashMap<String, _> = storage.state.load_all().await?.into_iter().map(|s| (s.feed.clone(), s)).collect();
    let options = wiring::pipeline_options(&settings.config);
    let (jobs_tx, jobs_rx) = mpsc::channel::<FeedJob>(options.channel_capacity);
    let (reports_tx, mut reports_rx) = mpsc::channel::<BatchReport>(options.channel_capacity);

    let total = feeds.len();
    info!(feeds = total, "backfill started");
    // The job source: every selected feed once, then the channel closes.
    let producer = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            for feed in feeds {
                let state = states.get(&feed.spec.name).cloned().unwrap_or_default();
                if state.disabled && state.url == newswire_core::canon::redact(feed.spec.url.as_str()) {
                    tracing::warn!(feed = %feed.spec.name, "feed is disabled after HTTP 410; change its url to poll it again");
                    continue;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    sent = jobs_tx.send(FeedJob { feed, state }) => if sent.is_err() { break },
                }
            }
        }
    });
    let runner = tokio::spawn(pipeline::run(options, fetcher, storage, jobs_rx, reports_tx, abort));
    let mut summary = Summary::default();
    let mut done = 0usize;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    while let Some(report) = reports_rx.recv().await {
        summary.add(&report);
        done += 1;
        if tty {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{done}/{total} feeds, {} new, {} failed", summary.new, summary.feeds_failed);
            let _ = err.flush();
        }
    }
    if tty {
        eprintln!();
    }
    producer.await?;
    runner.await??;
    info!(summary = %summary.line(), "backfill finished");
    Ok(summary)
}
