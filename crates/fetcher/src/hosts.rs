//! Per-host politeness shared by every request of a [`Fetcher`](crate::Fetcher):
//! at most N requests in flight and at most R per second to one host.
//!
//! Each host gets a slot (a semaphore and a rate limiter) the first time it
//! is asked for. With `full_article` the hosts are those of every page
//! linked from every feed, an open-ended set, so slots that nobody uses are
//! dropped again: a slot is idle when no request holds or waits for one of
//! its permits and its rate limiter has refilled (one rate period since its
//! last turn), so forgetting it changes nothing a new slot would not do.
//! Idle slots are swept when the map has doubled since the last sweep
//! (at least [`SWEEP_FROM`] hosts): amortised constant work per new host,
//! and the map holds at most about twice the hosts that are busy or were
//! served within one rate period, plus [`SWEEP_FROM`].
//!
//! Time spent waiting for a turn is accounted per host ([`HostWait`]): with
//! many feeds on one host, `per_host_rate` rather than the machine bounds a
//! run (1,000 feeds at 4 requests a second take 250 s however fast the rest
//! is). The first time a host's requests have waited [`NOTICE_AFTER`] in
//! all, that is logged once with the host and the limits, and
//! [`Fetcher::politeness`](crate::Fetcher::politeness) reports the hosts
//! that waited for the backfill's summary.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Hosts held before the first sweep.
pub(crate) const SWEEP_FROM: usize = 1024;

/// Waiting in all at one host after which politeness is said to bound the
/// run (logged once per host).
pub(crate) const NOTICE_AFTER: Duration = Duration::from_secs(2);

/// Hosts whose waiting is remembered (the ones that waited longest stay).
const WAITS_HELD: usize = 64;

/// How long requests to one host waited for a turn (a concurrency slot
/// under `per_host_concurrency`, then the `per_host_rate` limiter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostWait {
    pub host: String,
    /// Requests that had to wait at all.
    pub requests: u64,
    /// Their waiting, summed.
    pub waited: Duration,
}

pub(crate) struct HostLimits {
    concurrency: usize,
    quota: Option<Quota>,
    /// The time the rate limiter takes to refill: zero without a rate.
    period: Duration,
    inner: Mutex<Slots>,
    /// The hosts whose requests waited, bounded by [`WAITS_HELD`].
    waits: Mutex<HashMap<String, HostWait>>,
    /// Requests per second and at once, as configured (for the notice).
    rate: f64,
    notice_after: Duration,
}

struct Slots {
    by_host: HashMap<String, Arc<HostSlot>>,
    /// Sweep when the map reaches this many hosts.
    sweep_at: usize,
}

struct HostSlot {
    permits: Arc<Semaphore>,
    rate: Option<DefaultDirectRateLimiter>,
    /// When the last turn was given.
    last_turn: Mutex<Instant>,
    /// Microseconds its requests waited, for the once-per-host notice
    /// (a slot that is swept and made again may say it twice).
    waited_us: AtomicU64,
}

impl HostLimits {
    pub(crate) fn new(concurrency: usize, rate: f64) -> Self {
        let period = if rate > 0.0 && rate.is_finite() {
            Duration::from_secs_f64(1.0 / rate).max(Duration::from_micros(1))
        } else {
            Duration::ZERO
        };
        let quota =
            (!period.is_zero()).then(|| Quota::with_period(period).map(|q| q.allow_burst(NonZeroU32::MIN))).flatten();
        HostLimits {
            concurrency: concurrency.max(1),
            quota,
            period,
            inner: Mutex::new(Slots { by_host: HashMap::new(), sweep_at: SWEEP_FROM }),
            waits: Mutex::new(HashMap::new()),
            rate,
            notice_after: NOTICE_AFTER,
        }
    }

    /// The hosts whose requests waited for a turn, longest first.
    pub(crate) fn waits(&self) -> Vec<HostWait> {
        let waits = self.waits.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<HostWait> = waits.values().cloned().collect();
        out.sort_by(|a, b| b.waited.cmp(&a.waited).then_with(|| a.host.cmp(&b.host)));
        out
    }

    /// Account one request's wait at `host`; say once when it adds up.
    fn waited(&self, host: &str, slot: &HostSlot, waited: Duration) {
        // A turn given at once (a free slot, a full bucket) is not waiting.
        if waited < Duration::from_millis(1) {
            return;
        }
        {
            let mut waits = self.waits.lock().unwrap_or_else(PoisonError::into_inner);
            if !waits.contains_key(host) && waits.len() >= WAITS_HELD {
                // Forget the host that waited least, if this one is not less.
                let least = waits.values().min_by_key(|w| w.waited).map(|w| (w.host.clone(), w.waited));
                match least {
                    Some((least, least_waited)) if least_waited <= waited => {
                        waits.remove(&least);
                    }
                    _ => return,
                }
            }
            let entry = waits.entry(host.to_string()).or_insert_with(|| HostWait {
                host: host.to_string(),
                requests: 0,
                waited: Duration::ZERO,
            });
            entry.requests += 1;
            entry.waited += waited;
        }
        let us = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        let before = slot.waited_us.fetch_add(us, Ordering::Relaxed);
        let limit = u64::try_from(self.notice_after.as_micros()).unwrap_or(u64::MAX);
        if before < limit && before.saturating_add(us) >= limit {
            let rate = if self.rate > 0.0 { format!("{}/s", self.rate) } else { "no rate limit".to_string() };
            tracing::warn!(
                host,
                per_host_rate = %rate,
                per_host_concurrency = self.concurrency,
                "requests to {host} are waiting for their turn: per-host politeness (at most {rate}, {} at once) \
                 bounds this run, not the machine; raise per_host_rate or per_host_concurrency in [pipeline] \
                 for a host you run",
                self.concurrency
            );
        }
    }

    /// Wait for a turn at `host`: a concurrency slot, then the rate limit.
    pub(crate) async fn acquire(&self, host: &str) -> OwnedSemaphorePermit {
        let asked = Instant::now();
        let slot = self.slot(host, asked);
        // The slot is held (an Arc beyond the map's) until the permit is
        // taken, and the permit keeps its semaphore busy: neither is idle.
        let permit = Arc::clone(&slot.permits).acquire_owned().await.expect("host semaphores are never closed");
        if let Some(rate) = &slot.rate {
            rate.until_ready().await;
        }
        let now = Instant::now();
        *slot.last_turn.lock().unwrap_or_else(PoisonError::into_inner) = now;
        self.waited(host, &slot, now.saturating_duration_since(asked));
        permit
    }

    /// The slot of `host`, made if new; a new host may set off a sweep.
    fn slot(&self, host: &str, now: Instant) -> Arc<HostSlot> {
        let mut slots = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.by_host.get(host) {
            return Arc::clone(slot);
        }
        if slots.by_host.len() >= slots.sweep_at {
            self.sweep(&mut slots, now);
        }
        let slot = Arc::new(HostSlot {
            permits: Arc::new(Semaphore::new(self.concurrency)),
            rate: self.quota.map(RateLimiter::direct),
            last_turn: Mutex::new(now),
            waited_us: AtomicU64::new(0),
        });
        slots.by_host.insert(host.to_string(), Arc::clone(&slot));
        slot
    }

    /// Drop the idle slots; the next sweep comes when the map has doubled.
    fn sweep(&self, slots: &mut Slots, now: Instant) {
        slots.by_host.retain(|_, slot| !self.idle(slot, now));
        slots.sweep_at = (slots.by_host.len() * 2).max(SWEEP_FROM);
    }

    fn idle(&self, slot: &Arc<HostSlot>, now: Instant) -> bool {
        let unused = Arc::strong_count(slot) == 1 && slot.permits.available_permits() == self.concurrency;
        let refilled = || {
            let last = *slot.last_turn.lock().unwrap_or_else(PoisonError::into_inner);
            now.saturating_duration_since(last) >= self.period
        };
        unused && refilled()
    }

    /// Hosts with a slot now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).by_host.len()
    }

    /// Sweep as if it were `now`.
    #[cfg(test)]
    fn sweep_now(&self, now: Instant) {
        let mut slots = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        self.sweep(&mut slots, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_for_the_rate_is_accounted_per_host() {
        // 50 requests a second with a burst of one: ten turns in a row
        // wait about 20 ms each after the first.
        let limits = HostLimits::new(4, 50.0);
        for _ in 0..10 {
            drop(limits.acquire("slow.example").await);
        }
        drop(limits.acquire("once.example").await);
        let waits = limits.waits();
        assert_eq!(waits.len(), 1, "a host served at once did not wait: {waits:?}");
        assert_eq!(waits[0].host, "slow.example");
        assert!(waits[0].requests >= 8, "{waits:?}");
        assert!(waits[0].waited >= Duration::from_millis(100), "{waits:?}");
    }

    #[test]
    fn the_hosts_that_waited_longest_are_kept() {
        let limits = HostLimits::new(1, 0.0);
        let slot = limits.slot("any.example", Instant::now());
        for i in 0..(WAITS_HELD as u64 * 3) {
            limits.waited(&format!("h{i}.example"), &slot, Duration::from_millis(10 + i));
        }
        let waits = limits.waits();
        assert_eq!(waits.len(), WAITS_HELD);
        let last = WAITS_HELD as u64 * 3 - 1;
        assert_eq!(waits[0].host, format!("h{last}.example"), "longest first");
        assert!(waits.iter().all(|w| w.waited >= Duration::from_millis(10 + 2 * WAITS_HELD as u64)));
    }

    #[tokio::test]
    async fn idle_hosts_are_forgotten_and_the_map_stays_bounded() {
        // No rate limit: a host is idle as soon as its request is done.
        let limits = HostLimits::new(2, 0.0);
        for i in 0..20 * SWEEP_FROM {
            drop(limits.acquire(&format!("host{i}.example")).await);
            assert!(limits.len() <= SWEEP_FROM, "{} hosts held after {i}", limits.len());
        }
    }

    #[tokio::test]
    async fn busy_hosts_keep_their_slot() {
        let limits = HostLimits::new(1, 0.0);
        let held = limits.acquire("busy.example").await;
        // A second request to the busy host waits for the first one's
        // permit: its slot must be the same one, however many sweeps pass.
        let waiter = {
            let slot = limits.slot("busy.example", Instant::now());
            assert_eq!(slot.permits.available_permits(), 0);
            slot
        };
        for i in 0..3 * SWEEP_FROM {
            drop(limits.acquire(&format!("other{i}.example")).await);
        }
        limits.sweep_now(Instant::now());
        assert!(
            Arc::ptr_eq(&waiter, &limits.slot("busy.example", Instant::now())),
            "a host with a request in flight keeps its slot"
        );
        drop(waiter);
        limits.sweep_now(Instant::now());
        assert_eq!(limits.slot("busy.example", Instant::now()).permits.available_permits(), 0, "still held");
        drop(held);
        limits.sweep_now(Instant::now());
        assert_eq!(limits.len(), 0, "nothing in flight: every slot idle");
    }

    #[tokio::test]
    async fn a_rate_limited_host_is_kept_until_its_limiter_refills() {
        // One request per 10 s: forgetting the host sooner would let the
        // next request through early.
        let limits = HostLimits::new(4, 0.1);
        drop(limits.acquire("news.example").await);
        let now = Instant::now();
        limits.sweep_now(now);
        assert_eq!(limits.len(), 1, "served just now: kept");
        limits.sweep_now(now + Duration::from_secs(9));
        assert_eq!(limits.len(), 1, "within the period: kept");
        limits.sweep_now(now + Duration::from_secs(10));
        assert_eq!(limits.len(), 0, "a period later a new slot is the same as the old one");
    }

    #[tokio::test]
    async fn concurrency_per_host_is_still_enforced() {
        let limits = HostLimits::new(2, 0.0);
        let a = limits.acquire("one.example").await;
        let b = limits.acquire("one.example").await;
        let slot = limits.slot("one.example", Instant::now());
        assert_eq!(slot.permits.available_permits(), 0, "two in flight, the third waits");
        drop(a);
        assert_eq!(slot.permits.available_permits(), 1);
        drop(b);
    }
}
