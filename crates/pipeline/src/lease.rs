//! Sharing the feeds between daemons through leases (docs/scaling.md).
//!
//! Every third of the lease TTL a daemon's lease task renews its leases,
//! works out its fair share (the wanted feeds divided by the live daemons),
//! hands back what it holds beyond it or takes free feeds up to it, and
//! tells the scheduler which feeds it holds ([`LeaseView`]). A daemon that
//! dies stops renewing; its leases expire after the TTL and the others take
//! its feeds.
//!
//! [`plan`] is the round's decision as a pure function of what the round
//! read; [`Sharing`] is what the round and the scheduler share under one
//! lock, with the hand-back as a pure function of it
//! ([`Sharing::hand_back`]), so a feed is never handed back while it is
//! polled nor polled once handed back; [`Leasing::tick`] reads, plans and
//! applies both through a [`LeaseStore`]. docs/scaling.md states the
//! guarantee and how it is tested.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use newswire_core::lease::LeaseStore;
use newswire_core::sink::StoreError;
use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Lease names of the daemons' presence rows (not feeds): a daemon holding
/// no feed still counts as live.
pub const PRESENCE: &str = "@daemon/";

/// What the scheduler and the lease task share, under one lock: the feeds
/// to share, those being polled, and those handed back.
///
/// The invariant that keeps a feed from being polled by two daemons at
/// once: a feed is never both in flight and handed back. The scheduler
/// starts a poll only through [`Sharing::start`], which refuses a feed
/// handed back; the lease task hands back only through
/// [`Sharing::hand_back`], which keeps a feed being polled. Both check and
/// mark in one step under the lock, so neither acts on a stale copy of the
/// other's view. A feed's lease row is released only after it was marked,
/// and a poll's feed leaves `in_flight` only once its batch is committed
/// ([`Sharing::finish`]), so the daemon that takes a feed over reads the
/// due time its last poll committed.
#[derive(Debug, Default)]
pub struct Sharing {
    /// Feeds the config asks to poll.
    pub wanted: Vec<String>,
    /// Feeds being polled now (from the job handed out to the committed
    /// report).
    pub in_flight: HashSet<String>,
    /// Feeds handed back (their lease released, or being released): not
    /// started again until the lease task takes them back.
    pub handed_back: HashSet<String>,
}

impl Sharing {
    /// A poll of `feed` is about to start: refused (false) when the feed
    /// was handed back; otherwise it is in flight from now on.
    pub fn start(&mut self, feed: &str) -> bool {
        if self.handed_back.contains(feed) {
            return false;
        }
        self.in_flight.insert(feed.to_string());
        true
    }

    /// The poll of `feed` was committed.
    pub fn finish(&mut self, feed: &str) {
        self.in_flight.remove(feed);
    }

    /// Hand back what can go of `candidates`: each one not being polled now
    /// is marked (no poll of it starts from now on) and returned, to be
    /// released; one being polled stays, for a later round.
    pub fn hand_back(&mut self, candidates: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(candidates.len());
        for feed in candidates {
            if !self.in_flight.contains(feed) {
                self.handed_back.insert(feed.clone());
                out.push(feed.clone());
            }
        }
        out
    }

    /// `feeds` were taken (again): they may be polled.
    pub fn taken<'a>(&mut self, feeds: impl IntoIterator<Item = &'a String>) {
        for feed in feeds {
            self.handed_back.remove(feed);
        }
    }
}

/// What the lease task tells the scheduler.
#[derive(Debug, Clone)]
pub struct LeaseView {
    /// The feeds this daemon holds.
    pub held: HashSet<String>,
    /// Until when they are surely still ours: two thirds of the TTL after
    /// the round began. Past it the scheduler polls nothing.
    pub fresh_until: Instant,
}

/// What one lease round does.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Held feeds to hand back: no longer wanted, or beyond the share.
    pub release: Vec<String>,
    /// Free feeds to try to take, up to the share.
    pub take: Vec<String>,
}

/// The fair-share plan. `held`: the feeds this daemon holds (renewed);
/// `wanted`: the feeds to share; `live`: every live lease as (feed,
/// holder), presence rows included; `in_flight`: feeds being polled here,
/// never handed back; `start`: where in the free list to start taking (so
/// racing daemons take different feeds).
pub fn plan(
    held: &HashSet<String>,
    wanted: &[String],
    live: &[(String, String)],
    in_flight: &HashSet<String>,
    start: usize,
) -> Plan {
    let wanted_set: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    let holders: HashSet<&str> = live.iter().map(|(_, h)| h.as_str()).collect();
    // Leases on feeds no longer in the config go back.
    let mut release: Vec<String> = held.iter().filter(|f| !wanted_set.contains(f.as_str())).cloned().collect();
    release.sort_unstable();
    let kept = held.len() - release.len();
    let share = wanted.len().div_ceil(holders.len().max(1));
    let mut take = Vec::new();
    if kept > share {
        // Hand back feeds not being polled right now: the taker must see
        // the poll's committed due time, or it would poll again.
        let mut idle: Vec<&String> =
            held.iter().filter(|f| wanted_set.contains(f.as_str()) && !in_flight.contains(*f)).collect();
        idle.sort_unstable();
        release.extend(idle.into_iter().take(kept - share).cloned());
    } else if kept < share {
        let taken: HashSet<&str> =
            live.iter().filter(|(f, _)| !f.starts_with(PRESENCE)).map(|(f, _)| f.as_str()).collect();
        let mut free: Vec<String> = wanted.iter().filter(|f| !taken.contains(f.as_str())).cloned().collect();
        if !free.is_empty() {
            let start = start % free.len();
            free.rotate_left(start);
        }
        free.truncate(share - kept);
        take = free;
    }
    Plan { release, take }
}

/// This daemon's side of the lease protocol.
pub struct Leasing {
    store: Arc<dyn LeaseStore>,
    holder: String,
    ttl: Duration,
}

impl Leasing {
    /// A holder named after this host and process, leasing for `ttl`.
    pub fn new(store: Arc<dyn LeaseStore>, ttl: Duration) -> Self {
        let host =
            std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let holder = format!("{host}-{}-{:08x}", std::process::id(), rand::rng().random::<u32>());
        Leasing::named(store, holder, ttl)
    }

    /// A holder of the given name.
    pub fn named(store: Arc<dyn LeaseStore>, holder: String, ttl: Duration) -> Self {
        Leasing { store, holder, ttl }
    }

    /// The holder's name in the lease table.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// The lease TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The presence lease.
    fn presence(&self) -> String {
        format!("{PRESENCE}{}", self.holder)
    }

    /// Renew, rebalance to the fair share, and return the feeds held.
    ///
    /// The plan is made from a copy of `sharing` taken before the lease
    /// store is read (those reads take time, and polls start meanwhile);
    /// its hand-back is then applied to `sharing` itself, under the lock
    /// ([`Sharing::hand_back`]), before any lease row is released.
    pub async fn tick(&self, sharing: &Mutex<Sharing>) -> Result<HashSet<String>, StoreError> {
        let (wanted, in_flight) = {
            let sharing = lock(sharing);
            (sharing.wanted.clone(), sharing.in_flight.clone())
        };
        self.store.acquire(&self.holder, &[self.presence()], self.ttl).await?;
        let mut held: HashSet<String> =
            self.store.renew(&self.holder, self.ttl).await?.into_iter().filter(|f| !f.starts_with(PRESENCE)).collect();
        let live = self.store.live().await?;
        let plan = plan(&held, &wanted, &live, &in_flight, rand::rng().random::<u32>() as usize);
        let release = {
            let mut sharing = lock(sharing);
            // Feeds handed back earlier whose release did not happen (it
            // failed, or its answer was lost) go again: they are marked, so
            // surely not in flight.
            let mut release: Vec<String> = held
                .iter()
                .filter(|f| sharing.handed_back.contains(*f) && !plan.release.contains(f))
                .cloned()
                .collect();
            release.extend(sharing.hand_back(&plan.release));
            release
        };
        if !release.is_empty() {
            self.store.release(&self.holder, &release).await?;
            for f in &release {
                held.remove(f);
            }
        }
        if !plan.take.is_empty() {
            let got = self.store.acquire(&self.holder, &plan.take, self.ttl).await?;
            lock(sharing).taken(&got);
            held.extend(got);
        }
        Ok(held)
    }

    /// Hand every lease back at once (a graceful stop), rather than after
    /// the TTL.
    pub async fn release_all(&self) -> Result<u64, StoreError> {
        self.store.release_all(&self.holder).await
    }
}

/// Renew and rebalance every third of the TTL, on its own task: a
/// scheduler waiting for room in a full pipeline must not let its leases
/// lapse. Publishes each successful round; ends with `stop`.
pub async fn lease_task(
    leasing: Arc<Leasing>,
    sharing: Arc<Mutex<Sharing>>,
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
        let started = Instant::now();
        match leasing.tick(&sharing).await {
            Ok(held) => {
                let _ = view.send(LeaseView { held, fresh_until: started + leasing.ttl * 2 / 3 });
            }
            Err(e) => warn!(error = %e, "lease renewal failed; polling stops when the leases may have lapsed"),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    use newswire_core::sink::BoxFuture;

    /// Leases in memory, expiring on tokio's clock (paused in tests).
    #[derive(Default)]
    pub(crate) struct MemoryLeases {
        rows: Mutex<HashMap<String, (String, Instant)>>,
    }

    impl MemoryLeases {
        fn rows(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
            self.rows.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Who holds `feed` now, if anyone.
        pub(crate) fn holder_of(&self, feed: &str) -> Option<String> {
            let now = Instant::now();
            self.rows().get(feed).filter(|(_, until)| *until >= now).map(|(h, _)| h.clone())
        }
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort_unstable();
        v
    }

    impl LeaseStore for MemoryLeases {
        fn acquire<'a>(
            &'a self,
            holder: &'a str,
            feeds: &'a [String],
            ttl: Duration,
        ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
            Box::pin(async move {
                let now = Instant::now();
                let mut rows = self.rows();
                let mut got = Vec::new();
                for f in feeds {
                    let free = rows.get(f).is_none_or(|(h, until)| *until < now || h == holder);
                    if free {
                        rows.insert(f.clone(), (holder.to_string(), now + ttl));
                        got.push(f.clone());
                    }
                }
                Ok(sorted(got))
            })
        }

        fn renew<'a>(&'a self, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
            Box::pin(async move {
                let now = Instant::now();
                let mut held = Vec::new();
                for (f, (h, until)) in self.rows().iter_mut() {
                    if h == holder {
                        *until = now + ttl;
                        held.push(f.clone());
                    }
                }
                Ok(sorted(held))
            })
        }

        fn live(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, StoreError>> {
            Box::pin(async move {
                let now = Instant::now();
                Ok(self
                    .rows()
                    .iter()
                    .filter(|(_, (_, u))| *u >= now)
                    .map(|(f, (h, _))| (f.clone(), h.clone()))
                    .collect())
            })
        }

        fn release<'a>(&'a self, holder: &'a str, feeds: &'a [String]) -> BoxFuture<'a, Result<u64, StoreError>> {
            Box::pin(async move {
                let mut rows = self.rows();
                let before = rows.len();
                rows.retain(|f, (h, _)| !(h == holder && feeds.contains(f)));
                Ok((before - rows.len()) as u64)
            })
        }

        fn release_all<'a>(&'a self, holder: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
            Box::pin(async move {
                let mut rows = self.rows();
                let before = rows.len();
                rows.retain(|_, (h, _)| h != holder);
                Ok((before - rows.len()) as u64)
            })
        }
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("feed-{i:02}")).collect()
    }

    fn set(items: &[&str]) -> HashSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_daemon_takes_free_feeds_up_to_its_share() {
        let wanted = names(10);
        let live = vec![
            ("@daemon/a".to_string(), "a".to_string()),
            ("@daemon/b".to_string(), "b".to_string()),
            ("feed-00".to_string(), "b".to_string()),
        ];
        let p = plan(&HashSet::new(), &wanted, &live, &HashSet::new(), 0);
        assert_eq!(p.release, Vec::<String>::new());
        assert_eq!(p.take, ["feed-01", "feed-02", "feed-03", "feed-04", "feed-05"], "half of ten, none of b's");
        let p = plan(&HashSet::new(), &wanted, &live, &HashSet::new(), 7);
        assert_eq!(p.take[0], "feed-08", "another start, other feeds first");
    }

    #[test]
    fn a_daemon_over_its_share_hands_back_idle_feeds_and_unwanted_ones() {
        let wanted = names(4);
        let held = set(&["feed-00", "feed-01", "feed-02", "feed-03", "gone"]);
        let live = vec![("@daemon/a".to_string(), "a".to_string()), ("@daemon/b".to_string(), "b".to_string())];
        let p = plan(&held, &wanted, &live, &set(&["feed-00"]), 0);
        assert_eq!(p.release, ["gone", "feed-01", "feed-02"], "the unwanted, then idle ones down to the share");
        assert!(p.take.is_empty());
        // Everything in flight: nothing of the share goes back this round.
        let all = set(&["feed-00", "feed-01", "feed-02", "feed-03"]);
        assert_eq!(plan(&held, &wanted, &live, &all, 0).release, ["gone"]);
    }

    #[tokio::test(start_paused = true)]
    async fn daemons_converge_on_a_fair_split_and_take_over_a_dead_ones_feeds() {
        let store = Arc::new(MemoryLeases::default());
        let ttl = Duration::from_secs(6);
        let a = Leasing::named(store.clone(), "a".into(), ttl);
        let b = Leasing::named(store.clone(), "b".into(), ttl);
        let sharing = |wanted: Vec<String>| Mutex::new(Sharing { wanted, ..Sharing::default() });
        let (sa, sb) = (sharing(names(9)), sharing(names(9)));
        let wanted = names(9);
        let first = a.tick(&sa).await.expect("a");
        assert_eq!(first.len(), 9, "alone, a takes everything");
        b.tick(&sb).await.expect("b");
        let (mut held_a, mut held_b) = (HashSet::new(), HashSet::new());
        for _ in 0..3 {
            tokio::time::advance(ttl / 3).await;
            held_a = a.tick(&sa).await.expect("a");
            held_b = b.tick(&sb).await.expect("b");
        }
        assert_eq!((held_a.len(), held_b.len()), (5, 4));
        assert!(held_a.is_disjoint(&held_b));
        // b dies: its leases lapse after the TTL and a takes them all.
        tokio::time::advance(ttl + Duration::from_millis(1)).await;
        let held_a = a.tick(&sa).await.expect("a");
        assert_eq!(held_a.len(), 9);
        assert!(wanted.iter().all(|f| store.holder_of(f).as_deref() == Some("a")));
    }

    #[test]
    fn a_feed_is_never_both_in_flight_and_handed_back() {
        let mut sharing = Sharing::default();
        assert!(sharing.start("a"));
        let back = sharing.hand_back(&["a".to_string(), "b".to_string()]);
        assert_eq!(back, ["b"], "a is being polled: it stays");
        assert!(!sharing.start("b"), "b was handed back: no poll starts");
        sharing.finish("a");
        assert_eq!(sharing.hand_back(&["a".to_string()]), ["a"]);
        sharing.taken(&["b".to_string()]);
        assert!(sharing.start("b"), "taken again: b may be polled");
        assert!(!sharing.start("a"));
    }

    /// A lease store whose `live` answers slowly (on paused time), so polls
    /// start while a round is under way, and which checks at each release
    /// that no released feed is being polled.
    struct SlowLive {
        inner: MemoryLeases,
        sharing: Arc<Mutex<Sharing>>,
        released_in_flight: Mutex<Vec<String>>,
        released: Mutex<Vec<String>>,
    }

    impl LeaseStore for SlowLive {
        fn acquire<'a>(
            &'a self,
            holder: &'a str,
            feeds: &'a [String],
            ttl: Duration,
        ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
            self.inner.acquire(holder, feeds, ttl)
        }
        fn renew<'a>(&'a self, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
            self.inner.renew(holder, ttl)
        }
        fn live(&self) -> BoxFuture<'_, Result<Vec<(String, String)>, StoreError>> {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.inner.live().await
            })
        }
        fn release<'a>(&'a self, holder: &'a str, feeds: &'a [String]) -> BoxFuture<'a, Result<u64, StoreError>> {
            let polling = lock(&self.sharing).in_flight.clone();
            self.released_in_flight
                .lock()
                .expect("lock")
                .extend(feeds.iter().filter(|f| polling.contains(*f)).cloned());
            self.released.lock().expect("lock").extend(feeds.iter().cloned());
            self.inner.release(holder, feeds)
        }
        fn release_all<'a>(&'a self, holder: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
            self.inner.release_all(holder)
        }
    }

    /// Issue 27: the lease round read the scheduler's in-flight feeds, then
    /// awaited the lease store, then released "idle" feeds chosen from that
    /// stale copy, while the scheduler started polls of some of them. Here
    /// the scheduler's book pops due feeds while the round waits on the
    /// store; no feed may be released while it is polled, and no poll may
    /// start of a feed once it was chosen for release, though the book's
    /// view of the leases still lists it.
    #[tokio::test(start_paused = true)]
    async fn a_feed_is_not_handed_back_while_polled_nor_polled_once_handed_back() {
        use crate::board::{Board, SinkHealth};
        use crate::job::tests::named;
        use crate::scheduler::Scheduler;
        use newswire_core::state::FeedState;

        let ttl = Duration::from_secs(6);
        let sharing = Arc::new(Mutex::new(Sharing::default()));
        let store = Arc::new(SlowLive {
            inner: MemoryLeases::default(),
            sharing: Arc::clone(&sharing),
            released_in_flight: Mutex::default(),
            released: Mutex::default(),
        });
        let a = Leasing::named(Arc::clone(&store) as Arc<dyn LeaseStore>, "a".into(), ttl);
        let mut book = Scheduler::new(Arc::new(Board::new(Arc::new(SinkHealth::default()))));
        book.share_through(Arc::clone(&sharing));
        let feeds: Vec<_> =
            (0..20).map(|i| named(&format!("feed-{i:02}"), &format!("https://e.com/{i}"), "")).collect();
        for (i, feed) in feeds.iter().enumerate() {
            // Due one after another, 20 ms apart, from 1 s on: during the
            // second round's wait on the store.
            let mut state = FeedState::default();
            let now = chrono::Utc::now();
            state.begin_poll(&feed.spec.name, &feed.spec.url, now);
            state.next_due_at = Some(now + chrono::Duration::milliseconds(1000 + 20 * i as i64));
            book.add(Arc::clone(feed), state);
        }
        book.reload(&feeds);
        // Alone, a takes every feed.
        let started = Instant::now();
        let held = a.tick(&sharing).await.expect("first round");
        assert_eq!(held.len(), 20);
        book.apply_lease_view(LeaseView { held, fresh_until: started + ttl * 2 / 3 }, None);
        // b arrives: at a's next round, half of the feeds go back to it.
        store.inner.acquire("b", &["@daemon/b".to_string()], ttl).await.expect("b's presence");
        tokio::time::sleep_until(started + Duration::from_millis(900)).await;
        let round = tokio::spawn({
            let sharing = Arc::clone(&sharing);
            async move { a.tick(&sharing).await }
        });
        // Meanwhile the daemon's loop polls what comes due.
        let mut polled = Vec::new();
        while !round.is_finished() {
            match book.next_due() {
                Some(due) => tokio::select! {
                    _ = tokio::time::sleep_until(due) => polled.extend(book.pop_due().map(|j| j.feed.spec.name.clone())),
                    _ = tokio::time::sleep(Duration::from_millis(1)) => {}
                },
                None => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
        let held = round.await.expect("round").expect("second round");
        assert!(!polled.is_empty(), "polls started during the round");
        let released = store.released.lock().expect("lock").clone();
        assert!(!released.is_empty(), "the round handed feeds back");
        assert_eq!(*store.released_in_flight.lock().expect("lock"), Vec::<String>::new(), "handed back mid-poll");
        // The book still holds the old view; a handed-back feed must not start.
        for _ in 0..40 {
            if let Some(due) = book.next_due() {
                tokio::time::sleep_until(due).await;
                if let Some(job) = book.pop_due() {
                    assert!(
                        !released.contains(&job.feed.spec.name),
                        "{} polled after it was handed back",
                        job.feed.spec.name
                    );
                }
            }
        }
        assert!(held.is_disjoint(&released.iter().cloned().collect()));
        assert!(released.iter().all(|f| store.inner.holder_of(f).is_none()), "released in the store");
    }
}
