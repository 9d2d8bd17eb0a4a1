//! `newswire run`: the daemon. A scheduler hands due feeds to the pipeline
//! and reschedules each when its batch is committed.
//!
//! The scheduler keeps one next-due time per feed in a priority queue (not a
//! timer or task per feed) and at most one poll of a feed in flight. A
//! feed's next due time is chosen when its batch is cleaned
//! ([`crate::schedule`]) and committed with its state, so it survives
//! restarts.
//!
//! SIGHUP reloads the config file: feeds added are scheduled at once, feeds
//! removed are dropped (a poll in flight finishes and is committed), feeds
//! whose settings changed use the new settings from their next poll on, and
//! unchanged feeds are left alone. A config that does not load is rejected
//! with its error logged, and the running one stays. Pipeline, sink and
//! server settings take effect on restart.
//!
//! With the state in PostgreSQL several daemons share the feeds through
//! leases (docs/scaling.md): every third of the lease TTL a daemon renews
//! its leases, works out its fair share (the feeds divided by the live
//! daemons), hands back what it holds beyond it or takes free feeds up to
//! it, and polls only the feeds it holds. A feed it takes over is scheduled
//! at the due time its last poller committed, so no feed is polled twice in
//! one interval. A daemon that dies stops renewing; its leases expire after
//! the TTL and the others take its feeds.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use newswire_core::canon::redact;
use newswire_core::lease::LeaseStore;
use newswire_core::state::{FeedState, Status};
use rand::Rng;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::pipeline::{self, BatchReport, FeedContext, FeedJob, Outcome};
use crate::settings::{self, Settings};
use crate::status::{Board, FeedStatus};
use crate::wiring;

struct Entry {
    feed: Arc<FeedContext>,
    state: FeedState,
    in_flight: bool,
    /// Removed from the config by a reload: skipped when it comes due, its
    /// in-flight report ignored.
    removed: bool,
    /// When it is due; None while in flight or disabled.
    due: Option<Instant>,
}

impl Entry {
    fn is_disabled(&self) -> bool {
        self.state.is_disabled(&self.feed.spec.url)
    }

    fn status(&self) -> FeedStatus {
        let status = match self.state.status(&self.feed.spec.url) {
            Status::Disabled => Status::Disabled,
            _ if self.in_flight => Status::Polling,
            other => other,
        };
        FeedStatus {
            name: self.feed.spec.name.clone(),
            url: redact(self.feed.spec.url.as_str()),
            status,
            last_poll: self.state.last_polled_at,
            last_success: self.state.last_success_at,
            next_due: self.state.next_due_at,
            last_status: self.state.last_status,
            error_count: self.state.error_count,
            last_error: self.state.last_error.clone(),
            moved_to: self.state.moved_to.clone(),
        }
    }
}

/// The scheduler's book: entries, the due queue and the board.
struct Scheduler {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    queue: BinaryHeap<Reverse<(Instant, usize)>>,
    board: Arc<Board>,
    /// With leases: the feeds this daemon holds (None: it polls every feed).
    leased: Option<std::collections::HashSet<String>>,
    /// With leases: until when the held leases are surely still ours (two
    /// thirds of the TTL after the last successful renewal). Past it the
    /// daemon polls nothing: its leases may have expired and been taken.
    leases_fresh_until: Option<Instant>,
    /// With leases: what the lease task needs to know of the scheduler.
    lease_inputs: Option<Arc<std::sync::Mutex<LeaseInputs>>>,
}

/// What the scheduler tells the lease task: the feeds to share, and those
/// being polled (never handed back mid-poll).
#[derive(Debug, Default)]
struct LeaseInputs {
    wanted: Vec<String>,
    in_flight: std::collections::HashSet<String>,
}

/// What the lease task tells the scheduler.
#[derive(Debug, Clone)]
struct LeaseView {
    held: std::collections::HashSet<String>,
    fresh_until: Instant,
}

/// Renew and rebalance every third of the TTL, on its own task: a
/// scheduler waiting for room in a full pipeline must not let its leases
/// lapse. Publishes each successful round; ends with `stop`.
async fn lease_task(
    leasing: Arc<Leasing>,
    inputs: Arc<std::sync::Mutex<LeaseInputs>>,
    view: tokio::sync::watch::Sender<LeaseView>,
    stop: CancellationToken,
) {
    let mut ticks = tokio::time::interval((leasing.ttl / 3).max(Duration::from_millis(100)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = ticks.tick() => {}
        }
        let (wanted, in_flight) = {
            let inputs = inputs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            (inputs.wanted.clone(), inputs.in_flight.clone())
        };
        let started = Instant::now();
        match leasing.tick(&wanted, &in_flight).await {
            Ok(held) => {
                let _ = view.send(LeaseView { held, fresh_until: started + leasing.ttl * 2 / 3 });
            }
            Err(e) => warn!(error = %e, "lease renewal failed; polling stops when the leases may have lapsed"),
        }
    }
}

/// Lease names of the daemons' presence rows (not feeds).
const PRESENCE: &str = "@daemon/";

/// This daemon's side of the lease protocol.
struct Leasing {
    store: Arc<dyn LeaseStore>,
    holder: String,
    ttl: Duration,
}

impl Leasing {
    fn new(store: Arc<dyn LeaseStore>, ttl: Duration) -> Self {
        let host =
            std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let holder = format!("{host}-{}-{:08x}", std::process::id(), rand::rng().random::<u32>());
        Leasing { store, holder, ttl }
    }

    /// The presence lease: a daemon holding no feed still counts as live.
    fn presence(&self) -> String {
        format!("{PRESENCE}{}", self.holder)
    }

    /// Renew, rebalance to the fair share, and return the feeds held.
    async fn tick(
        &self,
        wanted: &[String],
        in_flight: &std::collections::HashSet<String>,
    ) -> Result<std::collections::HashSet<String>, newswire_core::sink::StoreError> {
        use std::collections::HashSet;
        self.store.acquire(&self.holder, &[self.presence()], self.ttl).await?;
        let mut held: HashSet<String> =
            self.store.renew(&self.holder, self.ttl).await?.into_iter().filter(|f| !f.starts_with(PRESENCE)).collect();
        let live: Vec<(String, String)> = self.store.live().await?;
        let holders: HashSet<&str> = live.iter().map(|(_, h)| h.as_str()).collect();
        let live: Vec<&(String, String)> = live.iter().filter(|(f, _)| !f.starts_with(PRESENCE)).collect();
        let wanted_set: HashSet<&str> = wanted.iter().map(String::as_str).collect();
        // Leases on feeds no longer in the config go back.
        let stale: Vec<String> = held.iter().filter(|f| !wanted_set.contains(f.as_str())).cloned().collect();
        if !stale.is_empty() {
            self.store.release(&self.holder, &stale).await?;
            held.retain(|f| wanted_set.contains(f.as_str()));
        }
        let share = wanted.len().div_ceil(holders.len().max(1));
        if held.len() > share {
            // Hand back feeds not being polled right now: the taker must
            // see the poll's committed due time, or it would poll again.
            let mut idle: Vec<String> = held.iter().filter(|f| !in_flight.contains(*f)).cloned().collect();
            idle.sort_unstable();
            let excess: Vec<String> = idle.into_iter().take(held.len() - share).collect();
            self.store.release(&self.holder, &excess).await?;
            for f in &excess {
                held.remove(f);
            }
        } else if held.len() < share {
            let taken: HashSet<&str> = live.iter().map(|(f, _)| f.as_str()).collect();
            let mut free: Vec<String> = wanted.iter().filter(|f| !taken.contains(f.as_str())).cloned().collect();
            // Racing daemons start from different places in the free list.
            let start = if free.is_empty() { 0 } else { rand::rng().random_range(0..free.len()) };
            free.rotate_left(start);
            free.truncate(share - held.len());
            if !free.is_empty() {
                held.extend(self.store.acquire(&self.holder, &free, self.ttl).await?);
            }
        }
        Ok(held)
    }
}

impl Scheduler {
    /// Add a feed, due when its state says (or now, spread over 200 ms so a
    /// start does not poll every overdue feed in the same instant).
    fn add(&mut self, feed: Arc<FeedContext>, state: FeedState) {
        let wait = crate::schedule::until_due(state.next_due_at, state.last_polled_at, Utc::now());
        let spread = Duration::from_millis(rand::rng().random_range(0..=200));
        let idx = self.entries.len();
        self.by_name.insert(feed.spec.name.clone(), idx);
        self.entries.push(Entry { feed, state, in_flight: false, removed: false, due: None });
        if self.entries[idx].is_disabled() {
            warn!(feed = %self.entries[idx].feed.spec.name, "feed is disabled after HTTP 410; change its url to poll it again");
        } else {
            self.schedule(idx, Instant::now() + wait + spread);
        }
        self.board.set_feed(self.entries[idx].status());
    }

    fn schedule(&mut self, idx: usize, at: Instant) {
        self.entries[idx].due = Some(at);
        self.queue.push(Reverse((at, idx)));
    }

    fn report(&mut self, report: BatchReport) {
        if let Some(inputs) = &self.lease_inputs {
            inputs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).in_flight.remove(&report.feed.spec.name);
        }
        let Some(&idx) = self.by_name.get(&report.feed.spec.name) else { return };
        let entry = &mut self.entries[idx];
        entry.in_flight = false;
        entry.state = report.state;
        if entry.removed {
            return;
        }
        self.board.set_feed(entry.status());
        if entry.is_disabled() {
            warn!(feed = %entry.feed.spec.name, "feed disabled after HTTP 410");
            return;
        }
        let wait = crate::schedule::until_due(entry.state.next_due_at, entry.state.last_polled_at, Utc::now());
        if matches!(report.outcome, Outcome::Failed { .. }) {
            warn!(feed = %entry.feed.spec.name, retry_in_s = wait.as_secs(), "feed will be retried");
        }
        self.schedule(idx, Instant::now() + wait);
    }

    /// Pop the next due entry that should be polled now, if any.
    fn pop_due(&mut self) -> Option<usize> {
        let Reverse((at, idx)) = self.queue.pop()?;
        let entry = &mut self.entries[idx];
        // Stale queue slots: removed feeds, feeds rescheduled since.
        if entry.removed || entry.in_flight || entry.due != Some(at) {
            return None;
        }
        // Another daemon holds it, or our leases may have lapsed: look again
        // after the next lease tick.
        let stale = self.leases_fresh_until.is_some_and(|t| Instant::now() >= t);
        if let Some(leased) = &self.leased
            && (stale || !leased.contains(&entry.feed.spec.name))
        {
            self.schedule(idx, Instant::now() + Duration::from_secs(1));
            return None;
        }
        crate::metrics::poll_lag(Instant::now().saturating_duration_since(at));
        entry.due = None;
        entry.in_flight = true;
        if let Some(inputs) = &self.lease_inputs {
            inputs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .in_flight
                .insert(entry.feed.spec.name.clone());
        }
        self.board.set_feed(entry.status());
        Some(idx)
    }

    /// Apply a reloaded config's feeds.
    fn reload(&mut self, new: &Settings) {
        if let Some(server) = &new.config.server {
            crate::metrics::set_feed_labels(server.feed_labels_for(new.feeds.len()));
        }
        let (mut added, mut changed, mut removed) = (0, 0, 0);
        let wanted: HashMap<&str, &Arc<FeedContext>> =
            new.feeds.iter().filter(|f| f.spec.enabled).map(|f| (f.spec.name.as_str(), f)).collect();
        for idx in 0..self.entries.len() {
            let entry = &mut self.entries[idx];
            if entry.removed {
                continue;
            }
            match wanted.get(entry.feed.spec.name.as_str()) {
                None => {
                    entry.removed = true;
                    entry.due = None;
                    self.board.remove_feed(&entry.feed.spec.name);
                    removed += 1;
                }
                Some(feed) if feed.spec != entry.feed.spec => {
                    let was_disabled = entry.is_disabled();
                    entry.feed = Arc::clone(feed);
                    changed += 1;
                    // A disabled feed whose URL changed is polled again now.
                    if was_disabled && !entry.is_disabled() && !entry.in_flight {
                        self.schedule(idx, Instant::now());
                    }
                    self.board.set_feed(self.entries[idx].status());
                }
                Some(_) => {}
            }
        }
        for feed in &new.feeds {
            if !feed.spec.enabled {
                continue;
            }
            match self.by_name.get(&feed.spec.name) {
                Some(&idx) if !self.entries[idx].removed => {}
                Some(&idx) => {
                    // Removed earlier, back now: same entry, fresh schedule.
                    let entry = &mut self.entries[idx];
                    entry.removed = false;
                    entry.feed = Arc::clone(feed);
                    if !entry.in_flight && !entry.is_disabled() {
                        self.schedule(idx, Instant::now());
                    }
                    self.board.set_feed(self.entries[idx].status());
                    added += 1;
                }
                None => {
                    self.add(Arc::clone(feed), FeedState::default());
                    added += 1;
                }
            }
        }
        info!(added, changed, removed, "config reloaded");
        self.share_wanted();
    }

    /// Feeds the config asks to poll.
    fn wanted(&self) -> Vec<String> {
        self.entries.iter().filter(|e| !e.removed && !e.is_disabled()).map(|e| e.feed.spec.name.clone()).collect()
    }

    /// Tell the lease task which feeds to share.
    fn share_wanted(&self) {
        if let Some(inputs) = &self.lease_inputs {
            inputs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).wanted = self.wanted();
        }
    }

    /// Take the lease tick's answer: feeds newly held get the state their
    /// last poller committed, and are due when it said.
    fn set_leased(&mut self, held: std::collections::HashSet<String>, states: Option<HashMap<String, FeedState>>) {
        let previous = self.leased.take().unwrap_or_default();
        if let Some(mut states) = states {
            for name in held.difference(&previous) {
                let Some(&idx) = self.by_name.get(name) else { continue };
                if self.entries[idx].in_flight {
                    continue;
                }
                if let Some(state) = states.remove(name) {
                    let wait = crate::schedule::until_due(state.next_due_at, state.last_polled_at, Utc::now());
                    self.entries[idx].state = state;
                    self.schedule(idx, Instant::now() + wait);
                    self.board.set_feed(self.entries[idx].status());
                }
            }
        }
        // Every held feed is either being polled or queued: one that is
        // neither (its slot was dropped along the way) is queued now.
        for name in &held {
            let Some(&idx) = self.by_name.get(name) else { continue };
            let entry = &self.entries[idx];
            if !entry.in_flight && entry.due.is_none() && !entry.removed && !entry.is_disabled() {
                self.schedule(idx, Instant::now());
            }
        }
        self.leased = Some(held);
    }

    fn publish_gauges(&self) {
        let now = Instant::now();
        let (mut scheduled, mut in_flight, mut failing, mut disabled, mut overdue) = (0, 0, 0, 0, 0);
        for e in self.entries.iter().filter(|e| !e.removed) {
            if e.is_disabled() {
                disabled += 1;
                continue;
            }
            if e.in_flight {
                in_flight += 1;
            } else {
                scheduled += 1;
                if e.due.is_some_and(|d| d < now) {
                    overdue += 1;
                }
            }
            if e.state.error_count > 0 {
                failing += 1;
            }
        }
        crate::metrics::feeds(scheduled, in_flight, failing, disabled, overdue);
    }
}

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
            crate::metrics::set_feed_labels(server.feed_labels_for(settings.feeds.len()));
            let metrics = crate::status::install_metrics()?;
            Some(crate::status::serve(server.listen, Arc::clone(&board), metrics, shutdown.clone()).await?)
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
    let runner = tokio::spawn(pipeline::run(options, fetcher, storage, jobs_rx, reports_tx, abort.clone()));

    let mut book = Scheduler {
        entries: Vec::new(),
        by_name: HashMap::new(),
        queue: BinaryHeap::new(),
        board,
        leased: None,
        leases_fresh_until: None,
        lease_inputs: None,
    };
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
            let inputs = Arc::new(std::sync::Mutex::new(LeaseInputs::default()));
            book.lease_inputs = Some(Arc::clone(&inputs));
            book.leased = Some(Default::default());
            book.leases_fresh_until = Some(Instant::now());
            book.share_wanted();
            info!(holder = %leasing.holder, ttl_s = leasing.ttl.as_secs(), "sharing feeds through leases");
            Some(tokio::spawn(lease_task(Arc::clone(leasing), inputs, lease_view_tx, lease_stop.clone())))
        }
        None => None,
    };
    book.board.set_running(true);
    info!(feeds = book.entries.len(), "daemon started");
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
        let next_due = book.queue.peek().map(|Reverse((due, _))| *due);
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
                    Ok(new) => book.reload(&new),
                    Err(e) => error!(error = %e, "config reload rejected; the running config stays"),
                }
            }
            _ = gauges.tick() => book.publish_gauges(),
            changed = lease_view.changed(), if lease_task_handle.is_some() => {
                if changed.is_err() {
                    continue;
                }
                let view = lease_view.borrow_and_update().clone();
                let fresh = book.leased.as_ref().is_none_or(|l| view.held.iter().any(|f| !l.contains(f)));
                let states = if fresh {
                    state_store.load_all().await.ok().map(|all| all.into_iter().map(|s| (s.feed.clone(), s)).collect())
                } else {
                    None
                };
                book.leases_fresh_until = Some(view.fresh_until);
                book.set_leased(view.held, states);
            }
            _ = async { watchdog.as_mut().expect("guarded by the branch condition").tick().await }, if watchdog.is_some() => {
                crate::systemd::notify("WATCHDOG=1");
            }
            permit = jobs_tx.reserve(), if waiting.is_some() => {
                let Ok(permit) = permit else { break };
                permit.send(waiting.take().expect("guarded by the branch condition"));
            }
            _ = sleep_until(next_due), if waiting.is_none() => {
                let Some(idx) = book.pop_due() else { continue };
                waiting = Some(FeedJob::poll(Arc::clone(&book.entries[idx].feed), book.entries[idx].state.clone()));
            }
        }
    }
    info!("shutting down: draining in-flight feeds");
    crate::systemd::notify("STOPPING=1");
    book.board.set_running(false);
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
        if let Err(e) = leasing.store.release_all(&leasing.holder).await {
            warn!(error = %e, "releasing leases failed; they expire after the TTL");
        }
    }
    if let Some((_, task)) = server {
        // The server watches `shutdown` and is finishing its connections.
        let _ = task.await;
    }
    info!("daemon stopped");
    Ok(())
}
