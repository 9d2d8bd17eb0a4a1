//! When a feed is polled next.
//!
//! The interval adapts to how often the feed publishes: a poll that brought
//! new or changed items shortens it by a quarter, a quiet poll lengthens it
//! by a quarter, always within the feed's `[min_interval, max_interval]`. A
//! busy feed is soon polled at its minimum, a quiet one drifts to its
//! maximum, and one that changes pace follows within a few polls.
//!
//! On top of the adapted interval: ±10% jitter so feeds that share an
//! interval drift apart instead of polling in lockstep, and after failures
//! an exponential backoff: 2, 4, 8, then 16 intervals, where it stays
//! (failing feeds keep being retried; they are never given up silently).

use std::time::Duration;

use chrono::Utc;
use newswire_core::config::FeedSpec;
use newswire_core::state::FeedState;
use rand::Rng;

use crate::job::Outcome;

/// Most intervals a failing feed waits.
const MAX_BACKOFF: u32 = 16;

/// The wait before the next poll of a feed with this interval and this many
/// consecutive failures.
pub fn next_interval(interval: Duration, error_count: u32) -> Duration {
    let jitter = rand::rng().random_range(-0.1..=0.1);
    interval_with_jitter(interval, error_count, jitter)
}

/// The interval after a successful poll: shorter when it brought news,
/// longer when it did not, within `[min, max]`.
pub fn adapt(current: Duration, brought_news: bool, min: Duration, max: Duration) -> Duration {
    let next = if brought_news { current.mul_f64(0.75) } else { current.mul_f64(1.25) };
    next.clamp(min, max.max(min))
}

/// Longest a server's Cache-Control or Retry-After may push a poll back.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(24 * 3600);

/// The wait before the next poll, honouring what the server asked for
/// (freshness or Retry-After) as a lower bound, capped at a day.
pub fn next_wait(interval: Duration, error_count: u32, server_wait: Option<Duration>) -> Duration {
    let ours = next_interval(interval, error_count);
    match server_wait {
        Some(asked) => ours.max(asked.min(MAX_SERVER_WAIT)),
        None => ours,
    }
}

/// [`next_interval`] with the jitter given (a fraction, -0.1 to 0.1).
pub fn interval_with_jitter(interval: Duration, error_count: u32, jitter: f64) -> Duration {
    let backoff = if error_count == 0 { 1 } else { (1u32 << error_count.min(4)).min(MAX_BACKOFF) };
    interval.saturating_mul(backoff).mul_f64((1.0 + jitter).clamp(0.5, 1.5))
}

/// How long from `now` until a feed is due, by its committed state
/// (`next_due_at`, set from `last_polled_at`). A state from the future — the
/// wall clock went back, or the state was written by a machine whose clock
/// ran ahead — keeps the wait it meant relative to its poll, instead of
/// waiting for the clock to catch up (a clock set back a year would
/// otherwise silence the feed for a year). A due time in the past (the
/// clock jumped forward) is due now.
pub fn until_due(
    next_due_at: Option<chrono::DateTime<chrono::Utc>>,
    last_polled_at: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Duration {
    let Some(due) = next_due_at else { return Duration::ZERO };
    let from = match last_polled_at {
        Some(polled) if polled > now => polled,
        _ => now,
    };
    (due - from).to_std().unwrap_or_default()
}

/// Adapt the feed's interval to this poll and set its next due time: the
/// store stage calls it once it knows whether the poll brought news. A
/// failed poll keeps the interval (the backoff is in [`next_wait`]).
pub fn schedule_next(
    spec: &FeedSpec,
    state: &mut FeedState,
    outcome: &Outcome,
    brought_news: bool,
    server_wait: Option<Duration>,
) {
    let current = state.interval().unwrap_or(spec.interval).clamp(spec.min_interval, spec.max_interval);
    let interval = if matches!(outcome, Outcome::Failed { .. }) {
        current
    } else {
        adapt(current, brought_news, spec.min_interval, spec.max_interval)
    };
    let wait = next_wait(interval, state.error_count, server_wait);
    state.schedule(interval, wait, Utc::now());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_due_time_from_the_future_keeps_its_wait_relative_to_its_poll() {
        let now = chrono::Utc::now();
        let s = chrono::Duration::seconds;
        assert_eq!(until_due(None, None, now), Duration::ZERO);
        assert_eq!(until_due(Some(now + s(90)), Some(now - s(30)), now), Duration::from_secs(90));
        assert_eq!(until_due(Some(now - s(90)), Some(now - s(200)), now), Duration::ZERO, "overdue is due now");
        // Polled "a year from now": the clock went back after the poll.
        let year = s(365 * 24 * 3600);
        assert_eq!(until_due(Some(now + year + s(60)), Some(now + year), now), Duration::from_secs(60));
    }

    #[test]
    fn busy_feeds_speed_up_and_quiet_ones_slow_down_within_bounds() {
        let (min, max) = (Duration::from_secs(120), Duration::from_secs(3600));
        let mut busy = Duration::from_secs(900);
        let mut quiet = Duration::from_secs(900);
        for _ in 0..20 {
            busy = adapt(busy, true, min, max);
            quiet = adapt(quiet, false, min, max);
        }
        assert_eq!(busy, min);
        assert_eq!(quiet, max);
        assert_eq!(adapt(Duration::from_secs(800), true, min, max), Duration::from_secs(600));
        assert_eq!(adapt(Duration::from_secs(800), false, min, max), Duration::from_secs(1000));
    }

    #[test]
    fn backs_off_on_errors_within_bounds() {
        let iv = Duration::from_secs(600);
        assert_eq!(interval_with_jitter(iv, 0, 0.0), iv);
        assert_eq!(interval_with_jitter(iv, 1, 0.0), iv * 2);
        assert_eq!(interval_with_jitter(iv, 3, 0.0), iv * 8);
        assert_eq!(interval_with_jitter(iv, 30, 0.0), iv * 16);
        assert_eq!(interval_with_jitter(iv, 0, 0.1), Duration::from_secs(660));
        assert!(next_wait(iv, 0, Some(Duration::from_secs(7200))) == Duration::from_secs(7200));
        assert!(next_wait(iv, 0, Some(Duration::from_secs(10))) <= Duration::from_secs(660));
        assert_eq!(next_wait(iv, 0, Some(Duration::from_secs(9_999_999))), MAX_SERVER_WAIT);
        for _ in 0..100 {
            let d = next_interval(iv, 0);
            assert!(d >= Duration::from_secs(540) && d <= Duration::from_secs(660), "{d:?}");
        }
    }

    #[test]
    fn the_next_due_time_follows_news_quiet_polls_and_failures() {
        let feed = crate::job::tests::feed("interval = \"10m\"\nmin_interval = \"2m\"\nmax_interval = \"1h\"\n");
        let polled = Utc::now();
        let mut state = FeedState { last_polled_at: Some(polled), ..FeedState::default() };
        schedule_next(&feed.spec, &mut state, &Outcome::Items(3), true, None);
        assert_eq!(state.interval(), Some(Duration::from_secs(450)), "news: a quarter shorter");
        let due = |s: &FeedState| (s.next_due_at.expect("due") - polled).num_milliseconds();
        assert!((405_000..=495_000).contains(&due(&state)), "{}", due(&state));
        schedule_next(&feed.spec, &mut state, &Outcome::NotModified, false, None);
        assert_eq!(state.interval(), Some(Duration::from_millis(562_500)), "quiet: a quarter longer");
        // A failure keeps the interval and backs off on the error count.
        state.error_count = 2;
        let before = state.interval();
        schedule_next(
            &feed.spec,
            &mut state,
            &Outcome::Failed { kind: newswire_core::ErrorKind::Timeout, message: String::new() },
            false,
            None,
        );
        assert_eq!(state.interval(), before);
        assert!(due(&state) >= 4 * 562_500 * 9 / 10, "four intervals, less the jitter: {}", due(&state));
        // The server's Retry-After or freshness is a floor.
        state.error_count = 0;
        schedule_next(&feed.spec, &mut state, &Outcome::NotModified, false, Some(Duration::from_secs(7200)));
        assert_eq!(due(&state), 7_200_000);
    }

    #[test]
    fn a_sub_second_fraction_lets_a_short_interval_grow() {
        let feed = crate::job::tests::feed("interval = \"1s\"\nmin_interval = \"1s\"\nmax_interval = \"10s\"\n");
        let mut state = FeedState { last_polled_at: Some(Utc::now()), ..FeedState::default() };
        let mut seen = Vec::new();
        for _ in 0..4 {
            schedule_next(&feed.spec, &mut state, &Outcome::NotModified, false, None);
            seen.push(state.interval().expect("interval").as_millis());
        }
        // In whole seconds it stayed at 1 s for ever.
        assert_eq!(seen, [1250, 1562, 1952, 2440]);
    }
}
