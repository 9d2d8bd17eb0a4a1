//! The scheduler's book: one next-due time per feed in a priority queue
//! (not a timer or task per feed), at most one poll of a feed in flight,
//! and each feed's status on the [`Board`].
//!
//! The daemon's loop drives it: [`Scheduler::pop_due`] when the earliest
//! slot comes due, [`Scheduler::report`] for each committed batch (the
//! store stage chose the next due time, [`crate::schedule`]),
//! [`Scheduler::reload`] on SIGHUP. With leases ([`crate::lease`]) it polls
//! only the feeds this daemon holds; a feed it takes over is due when its
//! last poller's committed state says.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::Utc;
use newswire_core::canon::redact;
use newswire_core::state::{FeedState, Status};
use rand::Rng;
use tokio::time::Instant;
use tracing::{info, warn};

use crate::activity::Poll;
use crate::board::{Board, FeedStatus};
use crate::job::{BatchReport, FeedContext, FeedJob, Outcome};
use crate::lease::{LeaseView, Sharing};
use crate::schedule::until_due;

/// One feed in the book.
struct Entry {
    feed: Arc<FeedContext>,
    state: FeedState,
    in_flight: bool,
    /// Removed from the config by a reload: skipped when it comes due, its
    /// in-flight report ignored.
    removed: bool,
    /// When it is due; None while in flight or disabled.
    due: Option<Instant>,
    /// When its job left the book, for the poll's duration on the console.
    started: Option<Instant>,
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
            interval_secs: self.state.interval_ms.map(|ms| ms / 1000).or(self.state.interval_secs),
            last_status: self.state.last_status,
            error_count: self.state.error_count,
            last_error: self.state.last_error.clone(),
            moved_to: self.state.moved_to.clone(),
        }
    }
}

/// The scheduler's book: entries, the due queue and the board.
pub struct Scheduler {
    entries: Vec<Entry>,
    by_name: HashMap<String, usize>,
    queue: BinaryHeap<Reverse<(Instant, usize)>>,
    board: Arc<Board>,
    /// With leases: the feeds this daemon holds (None: it polls every feed).
    leased: Option<HashSet<String>>,
    /// With leases: until when the held leases are surely still ours (two
    /// thirds of the TTL after the last successful renewal). Past it the
    /// daemon polls nothing: its leases may have expired and been taken.
    leases_fresh_until: Option<Instant>,
    /// With leases: what the lease task needs to know of the scheduler.
    sharing: Option<Arc<Mutex<Sharing>>>,
}

impl Scheduler {
    /// An empty book that publishes to `board`; every feed it is given is
    /// polled (see [`Scheduler::share_through`] for leases).
    pub fn new(board: Arc<Board>) -> Self {
        Scheduler {
            entries: Vec::new(),
            by_name: HashMap::new(),
            queue: BinaryHeap::new(),
            board,
            leased: None,
            leases_fresh_until: None,
            sharing: None,
        }
    }

    /// Poll only the feeds the lease task says this daemon holds, and tell
    /// it through `inputs` which feeds to share and which are being polled.
    /// Nothing is polled until its first view arrives
    /// ([`Scheduler::apply_lease_view`]).
    pub fn share_through(&mut self, inputs: Arc<Mutex<Sharing>>) {
        self.sharing = Some(inputs);
        self.leased = Some(HashSet::new());
        self.leases_fresh_until = Some(Instant::now());
        self.share_wanted();
    }

    /// The board the book publishes to.
    pub fn board(&self) -> &Arc<Board> {
        &self.board
    }

    /// How many feeds the book knows (removed ones included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the book knows no feed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// When the earliest queued slot comes due (stale slots included: popping
    /// one yields nothing).
    pub fn next_due(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((due, _))| *due)
    }

    /// Add a feed, due when its state says (or now, spread over 200 ms so a
    /// start does not poll every overdue feed in the same instant).
    pub fn add(&mut self, feed: Arc<FeedContext>, state: FeedState) {
        let wait = until_due(state.next_due_at, state.last_polled_at, Utc::now());
        let spread = Duration::from_millis(rand::rng().random_range(0..=200));
        let idx = self.entries.len();
        self.by_name.insert(feed.spec.name.clone(), idx);
        self.entries.push(Entry { feed, state, in_flight: false, removed: false, due: None, started: None });
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

    /// A batch of the feed was committed: take its state and queue its next
    /// poll (a removed or disabled feed is not queued).
    pub fn report(&mut self, report: BatchReport) {
        // The batch is committed: from now on the lease task may hand the
        // feed back, and its taker reads the state committed here.
        if let Some(sharing) = &self.sharing {
            lock(sharing).finish(&report.feed.spec.name);
        }
        let Some(&idx) = self.by_name.get(&report.feed.spec.name) else { return };
        let entry = &mut self.entries[idx];
        entry.in_flight = false;
        entry.state = report.state;
        if entry.removed {
            return;
        }
        let duration = entry.started.take().map(|t| t.elapsed()).unwrap_or_default();
        self.board.activity.record(
            &entry.feed.spec.name,
            Poll {
                at: Utc::now(),
                duration,
                outcome: report.outcome.label(),
                http_status: entry.state.last_status,
                new: report.new,
                updated: report.updated,
            },
        );
        self.board.set_feed(entry.status());
        if entry.is_disabled() {
            warn!(feed = %entry.feed.spec.name, "feed disabled after HTTP 410");
            return;
        }
        let wait = until_due(entry.state.next_due_at, entry.state.last_polled_at, Utc::now());
        if matches!(report.outcome, Outcome::Failed { .. }) {
            warn!(feed = %entry.feed.spec.name, retry_in_s = wait.as_secs(), "feed will be retried");
        }
        self.schedule(idx, Instant::now() + wait);
    }

    /// Pop the next due slot: the job to run now, if the feed should be
    /// polled (None for a stale slot, or a feed not ours to poll now).
    pub fn pop_due(&mut self) -> Option<FeedJob> {
        let Reverse((at, idx)) = self.queue.pop()?;
        let entry = &self.entries[idx];
        // Stale queue slots: removed feeds, feeds rescheduled since.
        if entry.removed || entry.in_flight || entry.due != Some(at) {
            return None;
        }
        // Another daemon holds it, or our leases may have lapsed, or the
        // lease task is handing it back: look again after the next lease
        // tick. Whether it was handed back is asked, and the feed marked in
        // flight, under the lease lock in one step (`Sharing::start`): the
        // lease task never hands back a feed being polled, and no poll
        // starts of a feed it chose to hand back.
        let name = entry.feed.spec.name.as_str();
        let stale = self.leases_fresh_until.is_some_and(|t| Instant::now() >= t);
        let ours = self.leased.as_ref().is_none_or(|leased| !stale && leased.contains(name));
        let started = ours && self.sharing.as_ref().is_none_or(|sharing| lock(sharing).start(name));
        if !started {
            self.schedule(idx, Instant::now() + Duration::from_secs(1));
            return None;
        }
        crate::metrics::poll_lag(Instant::now().saturating_duration_since(at));
        let entry = &mut self.entries[idx];
        entry.due = None;
        entry.in_flight = true;
        entry.started = Some(Instant::now());
        self.board.set_feed(entry.status());
        Some(FeedJob::poll(Arc::clone(&entry.feed), entry.state.clone()))
    }

    /// Apply a reloaded config's feeds.
    pub fn reload(&mut self, feeds: &[Arc<FeedContext>]) {
        let (mut added, mut changed, mut removed) = (0, 0, 0);
        let wanted: HashMap<&str, &Arc<FeedContext>> =
            feeds.iter().filter(|f| f.spec.enabled).map(|f| (f.spec.name.as_str(), f)).collect();
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
                    self.board.activity.forget(&entry.feed.spec.name);
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
        for feed in feeds {
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
        if let Some(inputs) = &self.sharing {
            lock(inputs).wanted = self.wanted();
        }
    }

    /// Whether a lease view holds feeds the book did not hold before: their
    /// last poller's committed state must be read first (for
    /// [`Scheduler::apply_lease_view`]).
    pub fn gains(&self, view: &LeaseView) -> bool {
        self.leased.as_ref().is_none_or(|l| view.held.iter().any(|f| !l.contains(f)))
    }

    /// Take a lease round's answer; `states` (every feed's committed state)
    /// when [`Scheduler::gains`] said so.
    pub fn apply_lease_view(&mut self, view: LeaseView, states: Option<HashMap<String, FeedState>>) {
        self.leases_fresh_until = Some(view.fresh_until);
        self.set_leased(view.held, states);
    }

    /// Take the lease tick's answer: feeds newly held get the state their
    /// last poller committed, and are due when it said.
    fn set_leased(&mut self, held: HashSet<String>, states: Option<HashMap<String, FeedState>>) {
        let previous = self.leased.take().unwrap_or_default();
        if let Some(mut states) = states {
            for name in held.difference(&previous) {
                let Some(&idx) = self.by_name.get(name) else { continue };
                if self.entries[idx].in_flight {
                    continue;
                }
                if let Some(state) = states.remove(name) {
                    let wait = until_due(state.next_due_at, state.last_polled_at, Utc::now());
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

    /// Set the scheduler gauges.
    pub fn publish_gauges(&self) {
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::SinkHealth;
    use crate::job::tests::named;

    fn feed(name: &str) -> Arc<FeedContext> {
        named(name, &format!("https://e.com/{name}"), "")
    }

    fn book() -> Scheduler {
        Scheduler::new(Arc::new(Board::new(Arc::new(SinkHealth::default()))))
    }

    /// A state polled now and due in `secs`.
    fn due_in(feed: &FeedContext, secs: i64) -> FeedState {
        let now = Utc::now();
        let mut state = FeedState::default();
        state.begin_poll(&feed.spec.name, &feed.spec.url, now);
        state.next_due_at = Some(now + chrono::Duration::seconds(secs));
        state
    }

    fn report(feed: &Arc<FeedContext>, state: FeedState) -> BatchReport {
        BatchReport {
            feed: Arc::clone(feed),
            state,
            outcome: Outcome::NotModified,
            new: 0,
            updated: 0,
            unchanged: 0,
            bytes: 0,
            older: None,
            newest: None,
            page: None,
        }
    }

    /// Wait for the next slot and pop it, as the daemon's loop does.
    async fn next(book: &mut Scheduler) -> Option<FeedJob> {
        tokio::time::sleep_until(book.next_due()?).await;
        book.pop_due()
    }

    fn status_of(book: &Scheduler, name: &str) -> Status {
        book.board().snapshot().into_iter().find(|f| f.name == name).map(|f| f.status).expect("on the board")
    }

    #[tokio::test(start_paused = true)]
    async fn feeds_come_due_in_order_and_are_polled_once_at_a_time() {
        let (a, b) = (feed("a"), feed("b"));
        let mut book = book();
        book.add(Arc::clone(&a), due_in(&a, 60));
        book.add(Arc::clone(&b), FeedState::default());
        assert_eq!(status_of(&book, "b"), Status::NeverPolled);
        let start = Instant::now();
        let job = next(&mut book).await.expect("b is due at once");
        assert_eq!(job.feed.spec.name, "b");
        assert!(start.elapsed() <= Duration::from_millis(200), "spread over 200 ms at most");
        assert_eq!(status_of(&book, "b"), Status::Polling);
        // b's poll commits: due again in 30 s.
        book.report(report(&b, due_in(&b, 30)));
        assert_eq!(status_of(&book, "b"), Status::Ok);
        let job = next(&mut book).await.expect("b again");
        assert_eq!(job.feed.spec.name, "b");
        assert!(
            (Duration::from_secs(29)..=Duration::from_secs(31)).contains(&start.elapsed()),
            "{:?}",
            start.elapsed()
        );
        // While b is in flight, a comes due; b's slot is not queued twice.
        let job = next(&mut book).await.expect("a");
        assert_eq!(job.feed.spec.name, "a");
        assert!((Duration::from_secs(59)..=Duration::from_secs(61)).contains(&start.elapsed()));
        assert_eq!(book.next_due(), None, "both in flight: nothing queued");
    }

    #[tokio::test(start_paused = true)]
    async fn a_reload_drops_removed_feeds_and_schedules_added_ones() {
        let (a, b) = (feed("a"), feed("b"));
        let mut book = book();
        book.add(Arc::clone(&a), due_in(&a, 10));
        book.reload(&[Arc::clone(&b)]);
        assert!(book.board().snapshot().iter().all(|f| f.name == "b"), "a is off the board");
        let job = next(&mut book).await.expect("b, added, is due at once");
        assert_eq!(job.feed.spec.name, "b");
        // a's old slot comes due and yields nothing.
        assert!(next(&mut book).await.is_none());
        // a comes back: the same entry, scheduled at once.
        book.reload(&[Arc::clone(&a), Arc::clone(&b)]);
        assert_eq!(next(&mut book).await.map(|j| j.feed.spec.name.clone()).as_deref(), Some("a"));
        // A report for a feed removed while in flight is taken but not queued.
        book.reload(&[Arc::clone(&b)]);
        book.report(report(&a, due_in(&a, 5)));
        assert_eq!(book.next_due(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_disabled_feed_is_not_queued_until_its_url_changes() {
        let a = feed("a");
        let mut state = due_in(&a, 0);
        state.on_failure(410, "gone".into(), true);
        let mut book = book();
        book.add(Arc::clone(&a), state);
        assert_eq!(book.next_due(), None);
        assert_eq!(status_of(&book, "a"), Status::Disabled);
        let moved = named("a", "https://e.com/a-new", "");
        book.reload(&[moved]);
        let job = next(&mut book).await.expect("polled at its new url");
        assert_eq!(job.feed.spec.url.as_str(), "https://e.com/a-new");
    }

    #[tokio::test(start_paused = true)]
    async fn with_leases_only_held_feeds_are_polled_and_only_while_the_leases_are_fresh() {
        let (a, b) = (feed("a"), feed("b"));
        let inputs = Arc::new(Mutex::new(Sharing::default()));
        let mut book = book();
        book.share_through(Arc::clone(&inputs));
        book.add(Arc::clone(&a), FeedState::default());
        book.add(Arc::clone(&b), FeedState::default());
        book.reload(&[Arc::clone(&a), Arc::clone(&b)]);
        assert_eq!(inputs.lock().expect("lock").wanted, ["a", "b"]);
        // No lease round yet: nothing is polled, slots come back a second later.
        assert!(next(&mut book).await.is_none());
        let view =
            LeaseView { held: HashSet::from(["a".to_string()]), fresh_until: Instant::now() + Duration::from_secs(4) };
        assert!(book.gains(&view));
        book.apply_lease_view(view, None);
        let mut polled = Vec::new();
        for _ in 0..4 {
            if let Some(job) = next(&mut book).await {
                polled.push(job.feed.spec.name.clone());
            }
        }
        assert_eq!(polled, ["a"], "b is another daemon's");
        assert!(inputs.lock().expect("lock").in_flight.contains("a"), "the lease task sees a in flight");
        book.report(report(&a, due_in(&a, 0)));
        assert!(inputs.lock().expect("lock").in_flight.is_empty());
        // The leases were last renewed too long ago: a is due, not polled.
        tokio::time::advance(Duration::from_secs(5)).await;
        for _ in 0..3 {
            assert!(next(&mut book).await.is_none());
        }
    }
}
