//! `newswire run`: the daemon. It wires the pipeline to the scheduler's
//! book ([`newswire_pipeline::scheduler`]) and runs the loop that hands due
//! feeds to the pipeline, takes its reports back, reloads the config on
//! SIGHUP, publishes gauges and pings the systemd watchdog.
//!
//! SIGHUP reloads the config file: feeds added are scheduled at once, feeds
//! removed are dropped (a poll in flight finishes and is committed), feeds
//! whose settings changed use the new settings from their next poll on, and
//! unchanged feeds are left alone. A config that does not load is rejected
//! with its error logged, and the running one stays. `[retention]` applies
//! at once (a pruning round with the new settings); pipeline, sink and
//! server settings take effect on restart.
//!
//! With the state in PostgreSQL several daemons share the feeds through
//! leases ([`newswire_pipeline::lease`], docs/scaling.md): the lease task
//! runs beside the loop and tells the book which feeds this daemon holds.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use newswire_core::state::FeedState;
use newswire_pipeline::board::Board;
use newswire_pipeline::lease::{LeaseView, Leasing, Sharing, lease_task};
use newswire_pipeline::scheduler::Scheduler;
use newswire_pipeline::{BatchReport, FeedJob, metrics};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::settings::{self, Settings};
use crate::wiring;

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// Run the daemon until `shutdown`, then drain; `abort` stops at once.
/// `config_path` is read again on SIGHUP.
pub async fn run(
    settings: &Settings,
    config_path: &Path,
    shutdown: CancellationToken,
    abort: CancellationToken,
) -> anyhow::Result<()> {
    let mut hangups = signal(SignalKind::hangup())?;
    let fetcher = wiring::fetcher(&settings.config)?;
    let (storage, lease_store) = wiring::storage_and_leases(&settings.config).await?;
    let state_store = Arc::clone(&storage.state);
    let leasing = lease_store.map(|store| Arc::new(Leasing::new(store, settings.config.pipeline.lease_ttl.0)));
    let board = Arc::new(Board::new(Arc::clone(&storage.health)));
    let server = match &settings.config.server {
        Some(server) => {
            metrics::set_feed_labels(server.feed_labels_for(settings.feeds.len()));
            let metrics = crate::status::install_metrics()?;
            metrics::reload(true, false);
            let api =
                crate::api::Api { reader: crate::records::api_reader(&settings.config).await?, token: server.token() };
            Some(crate::status::serve(server.listen, Arc::clone(&board), metrics, Some(api), shutdown.clone()).await?)
        }
        None => None,
    };
    let states: HashMap<String, FeedState> =
        storage.state.load_all().await?.into_iter().map(|s| (s.feed.clone(), s)).collect();
    let options = wiring::pipeline_options(&settings.config);
    // scheduler → pipeline: due feeds. Bounded, so a slow pipeline holds
    // feeds in the queue (where the overdue gauge shows them).
    let (jobs_tx, jobs_rx) = mpsc::channel::<FeedJob>(options.channel_capacity);
    // pipeline → scheduler: committed batches, to reschedule their feeds.
    let (reports_tx, mut reports_rx) = mpsc::channel::<BatchReport>(options.channel_capacity);
    let runner = tokio::spawn(newswire_pipeline::run(options, fetcher, storage, jobs_rx, reports_tx, abort.clone()));

    let mut book = Scheduler::new(board);
    let mut states = states;
    for feed in settings.feeds.iter().filter(|f| f.spec.enabled) {
        let state = states.remove(&feed.spec.name).unwrap_or_default();
        book.add(Arc::clone(feed), state);
    }
    // With leases, nothing is polled until the lease task's first round.
    let lease_stop = CancellationToken::new();
    let (lease_view_tx, mut lease_view) =
        tokio::sync::watch::channel(LeaseView { held: Default::default(), fresh_until: Instant::now() });
    let lease_task_handle = match &leasing {
        Some(leasing) => {
            let sharing = Arc::new(std::sync::Mutex::new(Sharing::default()));
            book.share_through(Arc::clone(&sharing));
            info!(holder = %leasing.holder(), ttl_s = leasing.ttl().as_secs(), "sharing feeds through leases");
            Some(tokio::spawn(lease_task(Arc::clone(leasing), sharing, lease_view_tx, lease_stop.clone())))
        }
        None => None,
    };
    // Retention: its own task, stopped with the scheduler. It runs even
    // with retention off, waiting for a reload that turns it on: each
    // reloaded [retention] goes to it through this channel.
    let (retention_tx, retention_rx) = tokio::sync::watch::channel(settings.config.retention.clone());
    let retention = tokio::spawn(crate::retention::task(settings.config.clone(), retention_rx, shutdown.clone()));
    book.board().set_running(true);
    info!(feeds = book.len(), "daemon started");
    crate::systemd::notify("READY=1");
    let mut gauges = tokio::time::interval(Duration::from_secs(5));
    // WATCHDOG=1 from the scheduler loop itself: a loop that stalls stops
    // the pings, and systemd restarts the service.
    let mut watchdog = crate::systemd::watchdog_interval().map(tokio::time::interval);

    // A due feed's job waiting for room in the pipeline. While it waits,
    // every other branch stays live: above all the reports, since the
    // pipeline's last stage waits for room in the report channel, and a
    // scheduler that stopped reading reports while it waited for room in the
    // job channel would close a cycle of full channels (a deadlock).
    let mut waiting: Option<FeedJob> = None;
    loop {
        let next_due = book.next_due();
        tokio::select! {
            _ = shutdown.cancelled() => break,
            report = reports_rx.recv() => {
                let Some(report) = report else { break };
                book.report(report);
            }
            _ = hangups.recv() => {
                // RELOADING=1 now, READY=1 when this arm ends (notify-reload).
                let _reloading = crate::systemd::reloading();
                match settings::load(config_path) {
                    Ok(new) => {
                        if let Some(server) = &new.config.server {
                            metrics::set_feed_labels(server.feed_labels_for(new.feeds.len()));
                        }
                        book.reload(&new.feeds);
                        retention_tx.send_replace(new.config.retention.clone());
                        metrics::reload(true, true);
                    }
                    Err(e) => {
                        error!(error = %e, "config reload rejected; the running config stays");
                        metrics::reload(false, true);
                    }
                }
            }
            _ = gauges.tick() => book.publish_gauges(),
            changed = lease_view.changed(), if lease_task_handle.is_some() => {
                if changed.is_err() {
                    continue;
                }
                let view = lease_view.borrow_and_update().clone();
                let states = if book.gains(&view) {
                    state_store.load_all().await.ok().map(|all| all.into_iter().map(|s| (s.feed.clone(), s)).collect())
                } else {
                    None
                };
                book.apply_lease_view(view, states);
            }
            _ = async { watchdog.as_mut().expect("guarded by the branch condition").tick().await }, if watchdog.is_some() => {
                crate::systemd::notify("WATCHDOG=1");
            }
            permit = jobs_tx.reserve(), if waiting.is_some() => {
                let Ok(permit) = permit else { break };
                permit.send(waiting.take().expect("guarded by the branch condition"));
            }
            _ = sleep_until(next_due), if waiting.is_none() => {
                waiting = book.pop_due();
            }
        }
    }
    info!("shutting down: draining in-flight feeds");
    crate::systemd::notify("STOPPING=1");
    book.board().set_running(false);
    // Closing the job channel lets each stage finish what it holds and end.
    drop(jobs_tx);
    while let Some(report) = reports_rx.recv().await {
        book.report(report);
    }
    runner.await??;
    lease_stop.cancel();
    if let Some(handle) = lease_task_handle {
        let _ = handle.await;
    }
    if let Some(leasing) = &leasing {
        // Hand the feeds back at once rather than after the TTL.
        if let Err(e) = leasing.release_all().await {
            warn!(error = %e, "releasing leases failed; they expire after the TTL");
        }
    }
    // It watches `shutdown`: between batches at the latest.
    let _ = retention.await;
    if let Some((_, task)) = server {
        // The server watches `shutdown` and is finishing its connections.
        let _ = task.await;
    }
    info!("daemon stopped");
    Ok(())
}
