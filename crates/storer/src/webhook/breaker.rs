//! When the webhook sink sends: backoff between failed requests and the
//! circuit breaker that turns repeated failures into slow probes.
//!
//! Closed (the normal state): a failed request is tried again after
//! [`backoff`] (or the receiver's Retry-After). After `threshold`
//! consecutive failures the circuit opens: the sink reports the receiver
//! down (the pipeline shows it on `/readyz`) and sends one request per
//! `probe_interval` at most (or per Retry-After, when longer), never
//! dropping the batch it holds. The first success closes it.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

/// Backoff before retry `attempt` (0-based) while the circuit is closed:
/// 500 ms doubling up to 30 s, scaled by `jitter` (0.5 to 1.5) so that
/// many daemons failing together do not retry together.
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1 << attempt.min(16)).min(Duration::from_secs(30));
    base.mul_f64(jitter.clamp(0.5, 1.5))
}

/// A jitter factor for [`backoff`], uniform in 0.5..1.5.
pub fn jitter() -> f64 {
    rand::rng().random_range(0.5..1.5)
}

/// Consecutive failures and when the next request may go.
#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    probe_interval: Duration,
    failures: u32,
    next_try: Option<Instant>,
}

impl Breaker {
    /// A closed breaker that opens after `threshold` consecutive failures
    /// (at least 1) and then probes every `probe_interval`.
    pub fn new(threshold: u32, probe_interval: Duration) -> Self {
        Breaker { threshold: threshold.max(1), probe_interval, failures: 0, next_try: None }
    }

    /// Whether the circuit is open (the receiver counts as down).
    pub fn is_open(&self) -> bool {
        self.failures >= self.threshold
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// How long to wait, from `now`, before the next request.
    pub fn wait(&self, now: Instant) -> Duration {
        self.next_try.map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }

    /// A request failed at `now`; the receiver may have asked to wait
    /// `retry_after`. Returns the pause before the next request: backoff
    /// (with `jitter`) while closed, the probe interval once open; a longer
    /// Retry-After wins either way.
    pub fn failure(&mut self, now: Instant, retry_after: Option<Duration>, jitter: f64) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let own = if self.is_open() { self.probe_interval } else { backoff(self.failures - 1, jitter) };
        let pause = own.max(retry_after.unwrap_or_default());
        self.next_try = Some(now + pause);
        pause
    }

    /// A request succeeded: the circuit closes. Returns whether it was open.
    pub fn success(&mut self) -> bool {
        let was_open = self.is_open();
        self.failures = 0;
        self.next_try = None;
        was_open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_within_its_jitter() {
        let ms = |attempt, jitter| backoff(attempt, jitter).as_millis();
        assert_eq!([ms(0, 1.0), ms(1, 1.0), ms(2, 1.0), ms(3, 1.0)], [500, 1000, 2000, 4000]);
        assert_eq!(ms(6, 1.0), 30_000, "capped");
        assert_eq!(ms(40, 1.0), 30_000, "no overflow");
        assert_eq!((ms(1, 0.5), ms(1, 1.5)), (500, 1500));
        assert_eq!((ms(1, 0.0), ms(1, 9.0)), (500, 1500), "jitter is clamped");
        for _ in 0..100 {
            let j = jitter();
            assert!((0.5..1.5).contains(&j), "{j}");
        }
    }

    #[test]
    fn the_circuit_opens_after_the_threshold_and_probes_at_the_interval() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, Duration::from_secs(30));
        assert!(!b.is_open());
        assert_eq!(b.wait(t0), Duration::ZERO);
        assert_eq!(b.failure(t0, None, 1.0), Duration::from_millis(500));
        assert_eq!(b.wait(t0), Duration::from_millis(500));
        assert_eq!(b.wait(t0 + Duration::from_secs(1)), Duration::ZERO, "the backoff has passed");
        assert_eq!(b.failure(t0, None, 1.0), Duration::from_secs(1));
        assert!(!b.is_open(), "two failures of three");
        assert_eq!(b.failure(t0, None, 1.0), Duration::from_secs(30), "open: the probe interval");
        assert!(b.is_open());
        assert_eq!(b.wait(t0 + Duration::from_secs(10)), Duration::from_secs(20));
        // A failed probe keeps it open and waits a whole interval again.
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(b.failure(t1, None, 1.0), Duration::from_secs(30));
        assert_eq!((b.is_open(), b.failures()), (true, 4));
        assert!(b.success(), "it was open");
        assert!(!b.is_open());
        assert_eq!(b.wait(t1), Duration::ZERO);
        assert!(!b.success(), "already closed");
    }

    #[test]
    fn retry_after_wins_when_longer() {
        let t0 = Instant::now();
        let mut b = Breaker::new(2, Duration::from_secs(5));
        assert_eq!(b.failure(t0, Some(Duration::from_secs(7)), 1.0), Duration::from_secs(7));
        assert_eq!(b.failure(t0, Some(Duration::from_secs(1)), 1.0), Duration::from_secs(5), "open: the interval");
        assert_eq!(b.failure(t0, Some(Duration::from_secs(60)), 1.0), Duration::from_secs(60));
        let mut one = Breaker::new(0, Duration::from_secs(5));
        assert!(!one.is_open(), "a threshold of 0 counts as 1");
        one.failure(t0, None, 1.0);
        assert!(one.is_open());
    }
}
