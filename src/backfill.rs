//! `newswire backfill`: one pass over the feeds, then a summary.
//!
//! With `--archives`, each feed's history is walked too: RFC 5005 archived
//! feeds (`prev-archive`), paged feeds (`next`, JSON Feed `next_url`) and
//! WordPress-style `?paged=N`, one page at a time per feed, up to
//! `--max-pages`. Each page's records are committed with the cursor to the
//! next page, so an interrupted walk resumes where it stopped; a finished
//! walk is not repeated. A paged walk stops at a page with nothing new, and
//! with `--since` at a page older than the date.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::settings::Settings;
use crate::wiring;
use newswire_fetcher::HostWait;
use newswire_pipeline::archive::next_page;
use newswire_pipeline::{BatchReport, FeedContext, FeedJob, Outcome, PipelineOptions};

/// Waiting in all at one host from which the summary says that politeness
/// bounded the run there (the fetcher logs it once as it happens).
const POLITENESS_BOUNDS: Duration = Duration::from_secs(2);

/// What to backfill.
#[derive(Debug, Clone, Default)]
pub struct BackfillOptions {
    /// Only these feeds (all enabled ones when empty).
    pub feeds: Vec<String>,
    /// Walk each feed's history too.
    pub archives: bool,
    /// Pages of history per feed at most (the feed itself is page 1).
    pub max_pages: u32,
    /// Leave out items published before this.
    pub since: Option<DateTime<Utc>>,
}

/// One feed's totals.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FeedTotals {
    /// Records written for the first time.
    pub new: usize,
    /// Records written again with changed content.
    pub updated: usize,
    /// Items seen before, unchanged.
    pub unchanged: usize,
    /// Pages of history fetched.
    pub pages: u32,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// Totals of a pass.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Feeds polled successfully (including 304 and unchanged).
    pub feeds_ok: usize,
    /// Feeds whose poll (or a page of whose history) failed.
    pub feeds_failed: usize,
    /// Records written for the first time.
    pub new: usize,
    /// Records written again with changed content.
    pub updated: usize,
    /// Items seen before, unchanged.
    pub unchanged: usize,
    /// Pages of history fetched (`--archives`).
    pub pages: usize,
    /// Failed feeds and why, in the order they finished.
    pub failures: Vec<(String, String)>,
    /// Per feed, in config order.
    pub per_feed: Vec<(String, FeedTotals)>,
    /// Hosts whose requests waited long for a turn under the per-host
    /// limits (politeness bounded the run there), longest first.
    pub politeness: Vec<HostWait>,
    /// `per_host_rate`, for the summary (0: none).
    pub per_host_rate: f64,
}

impl Summary {
    /// Add one report.
    pub fn add(&mut self, report: &BatchReport) {
        let name = &report.feed.spec.name;
        let idx = match self.per_feed.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.per_feed.push((name.clone(), FeedTotals::default()));
                self.per_feed.len() - 1
            }
        };
        let totals = &mut self.per_feed[idx].1;
        let failed_before = totals.failure.is_some();
        match &report.outcome {
            Outcome::Failed { message, .. } => {
                if totals.failure.is_none() {
                    totals.failure = Some(message.clone());
                }
                self.failures.push((name.clone(), message.clone()));
            }
            _ if report.page.is_some() => totals.pages += 1,
            _ => {}
        }
        if report.page.is_some() && !matches!(report.outcome, Outcome::Failed { .. }) {
            self.pages += 1;
        }
        totals.new += report.new;
        totals.updated += report.updated;
        totals.unchanged += report.unchanged;
        self.new += report.new;
        self.updated += report.updated;
        self.unchanged += report.unchanged;
        // A feed counts once: ok after its first report, failed from its
        // first failure on.
        if report.page.is_none() {
            if totals.failure.is_some() { self.feeds_failed += 1 } else { self.feeds_ok += 1 }
        } else if totals.failure.is_some() && !failed_before {
            self.feeds_ok -= 1;
            self.feeds_failed += 1;
        }
    }

    /// The one-line summary printed at the end.
    pub fn line(&self) -> String {
        let mut line = format!(
            "feeds: {} ok, {} failed; items: {} new, {} updated, {} unchanged",
            self.feeds_ok, self.feeds_failed, self.new, self.updated, self.unchanged
        );
        if self.pages > 0 {
            line.push_str(&format!("; pages of history: {}", self.pages));
        }
        if let Some(first) = self.politeness.first() {
            line.push_str(&format!(
                "; bounded by per-host politeness at {} (requests waited {:.0} s in all)",
                first.host,
                first.waited.as_secs_f64()
            ));
            if self.politeness.len() > 1 {
                line.push_str(&format!(" and {} more host(s)", self.politeness.len() - 1));
            }
        }
        line
    }

    /// One line per host that politeness held back: its requests, their
    /// waiting, and the least time the rate alone allows them.
    pub fn politeness_lines(&self) -> String {
        let mut out = String::new();
        for wait in &self.politeness {
            out.push_str(&format!(
                "politeness: {}: {} requests waited for a turn, {:.1} s in all",
                wait.host,
                wait.requests,
                wait.waited.as_secs_f64()
            ));
            if self.per_host_rate > 0.0 {
                out.push_str(&format!(
                    "; at per_host_rate = {} they need at least {:.1} s",
                    self.per_host_rate,
                    wait.requests as f64 / self.per_host_rate
                ));
            }
            out.push('\n');
        }
        out
    }

    /// The per-feed table: feed, new, updated, unchanged, pages, status.
    pub fn table(&self) -> String {
        let width = self.per_feed.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(4).max(4);
        let mut out =
            format!("{:<width$}  {:>6}  {:>7}  {:>9}  {:>5}  status\n", "feed", "new", "updated", "unchanged", "pages");
        for (name, t) in &self.per_feed {
            let status = t.failure.as_deref().map_or("ok".to_string(), |f| format!("failed: {f}"));
            out.push_str(&format!(
                "{name:<width$}  {:>6}  {:>7}  {:>9}  {:>5}  {status}\n",
                t.new, t.updated, t.unchanged, t.pages
            ));
        }
        out.push_str(&format!(
            "{:<width$}  {:>6}  {:>7}  {:>9}  {:>5}\n",
            "total", self.new, self.updated, self.unchanged, self.pages
        ));
        out
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

/// Progress on a terminal (a bar) or in a log (a line every few seconds).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_line: std::time::Instant,
}

impl Progress {
    fn new(total: usize) -> Self {
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} feeds {msg} [{elapsed}]") {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar, last_line: std::time::Instant::now() }
    }

    fn update(&mut self, done: usize, total: usize, summary: &Summary) {
        let msg = format!("{} new, {} failed", summary.new, summary.feeds_failed);
        match &self.bar {
            Some(bar) => {
                bar.set_position(done as u64);
                bar.set_message(msg);
            }
            None if self.last_line.elapsed() >= Duration::from_secs(5) => {
                info!(done, total, new = summary.new, failed = summary.feeds_failed, "backfill progress");
                self.last_line = std::time::Instant::now();
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Run one pass. `shutdown` stops handing out work; what is in flight
/// finishes and is committed.
pub async fn run(
    settings: &Settings,
    options: &BackfillOptions,
    shutdown: CancellationToken,
    abort: CancellationToken,
) -> anyhow::Result<Summary> {
    let feeds = select(settings, &options.feeds)?;
    let fetcher = wiring::fetcher(&settings.config)?;
    // Kept to read, after the run, which hosts politeness held back.
    let fetcher_view = fetcher.clone();
    let storage = wiring::storage(&settings.config).await?;
    let states: HashMap<String, _> = storage.state.load_all().await?.into_iter().map(|s| (s.feed.clone(), s)).collect();
    let pipeline_options = PipelineOptions { since: options.since, ..wiring::pipeline_options(&settings.config) };
    // backfill → pipeline: feeds, then pages of history as their reports come.
    let (jobs_tx, jobs_rx) = mpsc::channel::<FeedJob>(pipeline_options.channel_capacity);
    // pipeline → backfill: one report per committed batch.
    let (reports_tx, mut reports_rx) = mpsc::channel::<BatchReport>(pipeline_options.channel_capacity);

    let mut pending: VecDeque<FeedJob> = VecDeque::with_capacity(feeds.len());
    for feed in feeds {
        let mut state = states.get(&feed.spec.name).cloned().unwrap_or_default();
        if state.is_disabled(&feed.spec.url) {
            warn!(feed = %feed.spec.name, "feed is disabled after HTTP 410; change its url to poll it again");
            continue;
        }
        if options.archives && !state.archive_done && state.archive_next.is_none() {
            // The walk starts from the feed's own links: read it even if
            // it has not changed since the last poll.
            state.forget_validators();
        }
        pending.push_back(FeedJob::poll(feed, state));
    }
    let total = pending.len();
    info!(feeds = total, archives = options.archives, "backfill started");
    let runner = tokio::spawn(newswire_pipeline::run(pipeline_options, fetcher, storage, jobs_rx, reports_tx, abort));

    let mut summary = Summary::default();
    let mut progress = Progress::new(total);
    let mut in_flight = 0usize;
    let mut done = 0usize;
    let mut stopping = false;
    let mut jobs_tx = Some(jobs_tx);
    while !(pending.is_empty() && in_flight == 0) {
        let sender = jobs_tx.clone();
        tokio::select! {
            _ = shutdown.cancelled(), if !stopping => {
                stopping = true;
                pending.clear();
            }
            permit = async { sender.as_ref().expect("the sender lives while work is pending").reserve().await },
                if !pending.is_empty() && !stopping => {
                let Ok(permit) = permit else { break };
                if let Some(job) = pending.pop_front() {
                    permit.send(job);
                    in_flight += 1;
                }
            }
            report = reports_rx.recv() => {
                let Some(report) = report else { break };
                in_flight -= 1;
                if report.page.is_none() {
                    done += 1;
                }
                summary.add(&report);
                if options.archives && !stopping
                    && let Some(job) = next_page(&report, options.max_pages, options.since)
                {
                    pending.push_front(job);
                }
                progress.update(done, total, &summary);
            }
        }
    }
    progress.finish();
    // Closing the job channel lets the pipeline drain and end.
    jobs_tx.take();
    while let Some(report) = reports_rx.recv().await {
        summary.add(&report);
    }
    runner.await??;
    summary.per_host_rate = fetcher_view.per_host_rate();
    summary.politeness =
        fetcher_view.politeness().into_iter().filter(|w| w.waited >= POLITENESS_BOUNDS).take(5).collect();
    info!(summary = %summary.line(), "backfill finished");
    Ok(summary)
}
