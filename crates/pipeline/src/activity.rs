//! What the daemon has done lately, for the web console: polls and failed
//! polls per minute over the last hour, records written per hour over the
//! last week, and per feed its last polls and its records per hour over the
//! last week.
//!
//! Written by the scheduler as each batch's report comes back, read by the
//! status server. It lives in memory and starts empty when the daemon
//! starts: it says what this process saw, not what the store holds. It is
//! bounded: a fixed number of slots per series, kept sparse (a feed that
//! wrote nothing in an hour has no slot for it), and [`RECENT_POLLS`] polls
//! per feed.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Polls kept per feed.
pub const RECENT_POLLS: usize = 20;
/// Minutes in the poll series.
pub const MINUTES: usize = 60;
/// Hours in the record series (a week).
pub const HOURS: usize = 24 * 7;

/// One poll as the console lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Poll {
    /// When it was committed.
    pub at: DateTime<Utc>,
    /// From the job leaving the scheduler to its batch being committed.
    pub duration: Duration,
    /// `items`, `not_modified`, `unchanged` or the error kind
    /// ([`Outcome::label`](crate::Outcome::label)).
    pub outcome: &'static str,
    /// HTTP status (0 when no response came).
    pub http_status: u16,
    /// Records written for the first time.
    pub new: usize,
    /// Records written again with changed content.
    pub updated: usize,
}

impl Poll {
    /// Whether the poll failed.
    pub fn failed(&self) -> bool {
        !matches!(self.outcome, "items" | "not_modified" | "unchanged")
    }
}

/// Counts in consecutive time slots (minutes or hours since the epoch),
/// kept for the last `span` slots. Sparse: slots with nothing are absent.
#[derive(Debug, Clone)]
struct Series {
    span: usize,
    slots: VecDeque<(i64, u64)>,
}

impl Series {
    fn new(span: usize) -> Self {
        Series { span, slots: VecDeque::new() }
    }

    fn add(&mut self, slot: i64, n: u64) {
        match self.slots.back_mut() {
            Some((last, count)) if *last == slot => *count += n,
            // A clock that stepped back: count it in the newest slot.
            Some((last, count)) if *last > slot => *count += n,
            _ => self.slots.push_back((slot, n)),
        }
        let oldest = slot - self.span as i64;
        while self.slots.front().is_some_and(|(s, _)| *s <= oldest) {
            self.slots.pop_front();
        }
    }

    /// The last `span` slots up to and including `now`, oldest first.
    fn dense(&self, now: i64) -> Vec<u64> {
        let first = now - self.span as i64 + 1;
        let mut out = vec![0; self.span];
        for &(slot, count) in &self.slots {
            if (first..=now).contains(&slot) {
                out[(slot - first) as usize] = count;
            }
        }
        out
    }

    /// The sum over the last `n` slots up to and including `now`.
    fn sum_last(&self, now: i64, n: i64) -> u64 {
        self.slots.iter().filter(|(s, _)| *s > now - n && *s <= now).map(|(_, c)| c).sum()
    }
}

#[derive(Debug)]
struct FeedActivity {
    polls: VecDeque<Poll>,
    hours: Series,
}

#[derive(Debug)]
struct Inner {
    polls: Series,
    failures: Series,
    records: Series,
    feeds: HashMap<String, FeedActivity>,
}

/// The daemon's recent activity. See the module docs.
#[derive(Debug)]
pub struct Activity {
    inner: Mutex<Inner>,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            inner: Mutex::new(Inner {
                polls: Series::new(MINUTES),
                failures: Series::new(MINUTES),
                records: Series::new(HOURS),
                feeds: HashMap::new(),
            }),
        }
    }
}

fn minute(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(60)
}

fn hour(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

/// The start of the hour `slot` (hours since the epoch).
pub fn hour_start(slot: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(slot * 3600, 0)
}

/// The overview's series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// Polls per minute, the last [`MINUTES`] minutes, oldest first.
    pub polls_per_minute: Vec<u64>,
    /// Failed polls per minute, same slots.
    pub failures_per_minute: Vec<u64>,
    /// Records written (new and updated) per hour, the last [`HOURS`]
    /// hours, oldest first.
    pub records_per_hour: Vec<u64>,
    /// The hour of the last slot of `records_per_hour`.
    pub last_hour: i64,
}

impl Activity {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Record `feed`'s committed poll.
    pub fn record(&self, feed: &str, poll: Poll) {
        let mut inner = self.lock();
        let written = (poll.new + poll.updated) as u64;
        let (m, h) = (minute(poll.at), hour(poll.at));
        inner.polls.add(m, 1);
        if poll.failed() {
            inner.failures.add(m, 1);
        }
        if written > 0 {
            inner.records.add(h, written);
        }
        let entry = inner
            .feeds
            .entry(feed.to_string())
            .or_insert_with(|| FeedActivity { polls: VecDeque::new(), hours: Series::new(HOURS) });
        if written > 0 {
            entry.hours.add(h, written);
        }
        if entry.polls.len() == RECENT_POLLS {
            entry.polls.pop_front();
        }
        entry.polls.push_back(poll);
    }

    /// Forget a feed removed from the config.
    pub fn forget(&self, feed: &str) {
        self.lock().feeds.remove(feed);
    }

    /// The overview's series as of `now`.
    pub fn overview(&self, now: DateTime<Utc>) -> Overview {
        let inner = self.lock();
        Overview {
            polls_per_minute: inner.polls.dense(minute(now)),
            failures_per_minute: inner.failures.dense(minute(now)),
            records_per_hour: inner.records.dense(hour(now)),
            last_hour: hour(now),
        }
    }

    /// Records each feed wrote in the 24 hours up to `now`.
    pub fn records_24h(&self, now: DateTime<Utc>) -> HashMap<String, u64> {
        let inner = self.lock();
        let h = hour(now);
        inner.feeds.iter().map(|(name, f)| (name.clone(), f.hours.sum_last(h, 24))).collect()
    }

    /// One feed's recent polls (newest first) and its records per hour over
    /// the week up to `now` (oldest first).
    pub fn feed(&self, feed: &str, now: DateTime<Utc>) -> (Vec<Poll>, Vec<u64>) {
        let inner = self.lock();
        match inner.feeds.get(feed) {
            Some(f) => (f.polls.iter().rev().cloned().collect(), f.hours.dense(hour(now))),
            None => (Vec::new(), vec![0; HOURS]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 - 1_700_000_000 % 3600 + secs, 0).expect("in range")
    }

    fn poll(secs: i64, outcome: &'static str, new: usize) -> Poll {
        Poll { at: at(secs), duration: Duration::from_millis(5), outcome, http_status: 200, new, updated: 0 }
    }

    #[test]
    fn counts_polls_failures_and_records_in_their_slots() {
        let activity = Activity::default();
        activity.record("a", poll(0, "items", 3));
        activity.record("a", poll(30, "not_modified", 0));
        activity.record("b", poll(70, "timeout", 0));
        activity.record("b", poll(3600 + 10, "items", 2));
        let view = activity.overview(at(3600 + 20));
        assert_eq!(view.polls_per_minute.len(), MINUTES);
        // Minutes 1 to 60 are shown: minute 1 (one failed poll) first,
        // minute 60 (one poll) last; minute 0's two polls are out.
        let polls = &view.polls_per_minute;
        assert_eq!((polls[0], polls[MINUTES - 1], polls.iter().sum::<u64>()), (1, 1, 2));
        assert_eq!(view.failures_per_minute[0], 1);
        assert_eq!(&view.records_per_hour[HOURS - 2..], [3, 2]);
        let per_feed = activity.records_24h(at(3600 + 20));
        assert_eq!((per_feed["a"], per_feed["b"]), (3, 2));
        let (polls, hours) = activity.feed("b", at(3600 + 20));
        assert_eq!(polls.iter().map(|p| p.outcome).collect::<Vec<_>>(), ["items", "timeout"]);
        assert_eq!(hours.iter().sum::<u64>(), 2);
    }

    #[test]
    fn old_slots_and_polls_are_dropped() {
        let activity = Activity::default();
        activity.record("a", poll(0, "items", 5));
        for i in 0..(RECENT_POLLS as i64 + 5) {
            activity.record("a", poll(24 * 3600 + i, "unchanged", 0));
        }
        let (polls, _) = activity.feed("a", at(24 * 3600 + 100));
        assert_eq!(polls.len(), RECENT_POLLS);
        // 24 hours later the first hour is out of the 24-hour count, still
        // in the week; a week later it is gone.
        assert_eq!(activity.records_24h(at(24 * 3600 + 100))["a"], 0);
        assert_eq!(activity.overview(at(24 * 3600)).records_per_hour.iter().sum::<u64>(), 5);
        assert_eq!(activity.overview(at(HOURS as i64 * 3600)).records_per_hour.iter().sum::<u64>(), 0);
        activity.forget("a");
        assert!(activity.feed("a", at(0)).0.is_empty());
    }
}
