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
//! read; [`Leasing::tick`] reads, plans and applies it through a
//! [`LeaseStore`].

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

/// What the scheduler tells the lease task: the feeds to share, and those
/// being polled (never handed back mid-poll).
#[derive(Debug, Default)]
pub struct LeaseInputs {
    /// Feeds the config asks to poll.
    pub wanted: Vec<String>,
    /// Feeds being polled now.
    pub in_flight: HashSet<String>,
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
    pub async fn tick(&self, wanted: &[String], in_flight: &HashSet<String>) -> Result<HashSet<String>, StoreError> {
        self.store.acquire(&self.holder, &[self.presence()], self.ttl).await?;
        let mut held: HashSet<String> =
            self.store.renew(&self.holder, self.ttl).await?.into_iter().filter(|f| !f.starts_with(PRESENCE)).collect();
        let live = self.store.live().await?;
        let plan = plan(&held, wanted, &live, in_flight, rand::rng().random::<u32>() as usize);
        if !plan.release.is_empty() {
            self.store.release(&self.holder, &plan.release).await?;
            for f in &plan.release {
                held.remove(f);
            }
        }
        if !plan.take.is_empty() {
            held.extend(self.store.acquire(&self.holder, &plan.take, self.ttl).await?);
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
    inputs: Arc<Mutex<LeaseInputs>>,
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
            let inputs = inputs.lock().unwrap_or_else(PoisonError::into_inner);
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
        let wanted = names(9);
        let none = HashSet::new();
        let first = a.tick(&wanted, &none).await.expect("a");
        assert_eq!(first.len(), 9, "alone, a takes everything");
        b.tick(&wanted, &none).await.expect("b");
        let (mut held_a, mut held_b) = (HashSet::new(), HashSet::new());
        for _ in 0..3 {
            tokio::time::advance(ttl / 3).await;
            held_a = a.tick(&wanted, &none).await.expect("a");
            held_b = b.tick(&wanted, &none).await.expect("b");
        }
        assert_eq!((held_a.len(), held_b.len()), (5, 4));
        assert!(held_a.is_disjoint(&held_b));
        // b dies: its leases lapse after the TTL and a takes them all.
        tokio::time::advance(ttl + Duration::from_millis(1)).await;
        let held_a = a.tick(&wanted, &none).await.expect("a");
        assert_eq!(held_a.len(), 9);
        assert!(wanted.iter().all(|f| store.holder_of(f).as_deref() == Some("a")));
    }
}
