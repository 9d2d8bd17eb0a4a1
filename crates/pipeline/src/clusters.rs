//! Linking copies of one story (docs/clusters.md): each record is compared,
//! through the state store's near-duplicate index, with the records of the
//! window, and with the earlier records of its own batch; the index is
//! pruned of what fell out of the window now and then.

use std::time::Duration;

use chrono::Utc;
use newswire_core::Record;
use newswire_core::fingerprint::Fingerprint;
use newswire_core::frequency::{Discount, FeedSketch};
use newswire_core::sink::{StateStore, StoreError};
use newswire_core::state::Indexed;
use tracing::{debug, warn};

use crate::stage::with_retry;

/// Near-duplicate linking settings (`[pipeline] cluster_threshold`,
/// `cluster_window`).
#[derive(Debug, Clone, Copy)]
pub struct Clustering {
    /// Least similarity to link a record to an earlier story.
    pub threshold: f64,
    /// How far back to look.
    pub window: Duration,
}

impl Default for Clustering {
    fn default() -> Self {
        Clustering { threshold: 0.5, window: Duration::from_secs(7 * 24 * 3600) }
    }
}

/// Link each record to the story it is a copy of, and return the index
/// entries and the feed's shingle counts to commit with the batch
/// (docs/clusters.md).
///
/// 1. The feed's shingle counts, with this batch's records counted in,
///    discount the feed's furniture: what the outlet repeats in every item
///    is dropped from each fingerprint ([`newswire_core::frequency`]) before
///    the lookup, the comparisons and the index see it.
/// 2. A record's story is the closest story whose *first* record it is
///    similar to, at or above the threshold: one found through the state
///    store's near-duplicate index (within the window), or one started
///    earlier in this same batch (a feed can carry a teaser and the full
///    text of one story). Never a story it resembles only through one of
///    its later members: no chaining.
///
/// Also prunes the index now and then, see `prune_index`. `pruned` is when
/// the index was last pruned (None: at this batch); the store stage keeps
/// it.
pub async fn link_copies(
    state: &dyn StateStore,
    clustering: Clustering,
    pruned: &mut Option<std::time::Instant>,
    feed: &str,
    records: &mut [Record],
) -> Result<Linked, StoreError> {
    let fingerprints: Vec<Option<Fingerprint>> = records.iter_mut().map(|r| r.fingerprint.take()).collect();
    if fingerprints.iter().all(Option::is_none) {
        return Ok(Linked::default());
    }
    let stored = with_retry("state", || state.feed_sketch(feed)).await?;
    let mut sketch = stored.as_deref().and_then(FeedSketch::from_bytes).unwrap_or_default();
    let discounted: Vec<Option<Fingerprint>> = {
        let discount = Discount::new(&sketch, fingerprints.iter().flatten());
        fingerprints.iter().map(|f| f.as_ref().map(|f| discount.apply(f))).collect()
    };
    for fp in fingerprints.iter().flatten() {
        sketch.add(fp);
    }
    let lookups: Vec<(String, Fingerprint)> =
        records.iter().zip(&discounted).filter_map(|(r, f)| f.as_ref().map(|f| (r.id.clone(), f.clone()))).collect();
    let now = Utc::now();
    let window = chrono::Duration::from_std(clustering.window).unwrap_or(chrono::Duration::days(7));
    let since = now - window;
    let matches = with_retry("state", || state.find_similar(&lookups, since, clustering.threshold)).await?;
    let mut found = matches.into_iter();
    let mut entries: Vec<Indexed> = Vec::with_capacity(lookups.len());
    // The stories this batch started so far (their first records), by key.
    let mut by_key: std::collections::HashMap<i64, Vec<usize>> = std::collections::HashMap::new();
    for (record, fingerprint) in records.iter_mut().zip(discounted) {
        let Some(fingerprint) = fingerprint else { continue };
        let mut best = found.next().flatten().map(|m| (m.cluster, m.similarity));
        let keys = fingerprint.keys();
        let mut seen = Vec::new();
        for key in &keys {
            for &i in by_key.get(key).into_iter().flatten() {
                if seen.contains(&i) || entries[i].id == record.id {
                    continue;
                }
                seen.push(i);
                let sim = newswire_core::fingerprint::similarity(&fingerprint, &entries[i].fingerprint);
                // The closer story wins.
                if sim >= clustering.threshold && best.as_ref().is_none_or(|(_, b)| sim > *b) {
                    best = Some((entries[i].id.clone(), sim));
                }
            }
        }
        if let Some((story, sim)) = best {
            record.cluster = Some(story);
            // Two decimals: an estimate, not a measurement.
            record.similarity = Some((sim * 100.0).round() / 100.0);
        } else {
            for key in keys {
                by_key.entry(key).or_default().push(entries.len());
            }
        }
        entries.push(Indexed { id: record.id.clone(), fingerprint, cluster: record.cluster.clone(), at: now });
    }
    prune_index(state, pruned, now - window).await;
    Ok(Linked { entries, sketch: Some(sketch.to_bytes()) })
}

/// What linking a batch commits with it.
#[derive(Debug, Default)]
pub struct Linked {
    /// The records' index entries (discounted fingerprints).
    pub entries: Vec<Indexed>,
    /// The feed's shingle counts with the batch added; None when the batch
    /// had nothing to count.
    pub sketch: Option<Vec<u8>>,
}

/// How often the store stage prunes the near-duplicate index, and how many
/// entries at most each time.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
const PRUNE_LIMIT: usize = 10_000;

/// Remove index entries indexed before `before` (outside the window, never
/// found again): at most [`PRUNE_LIMIT`] every [`PRUNE_EVERY`], or at the
/// next batch while more remain. Housekeeping: a failure is logged and
/// tried again next time, never stops the batch.
async fn prune_index(
    state: &dyn StateStore,
    pruned_at: &mut Option<std::time::Instant>,
    before: chrono::DateTime<Utc>,
) {
    if pruned_at.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
        return;
    }
    match state.prune_index(before, PRUNE_LIMIT).await {
        Ok(pruned) => {
            debug!(pruned, "near-duplicate index pruned");
            // A full helping means more remain: again at the next batch.
            *pruned_at = (pruned < PRUNE_LIMIT as u64).then(std::time::Instant::now);
        }
        Err(e) => {
            warn!(error = %e, "near-duplicate index pruning failed");
            *pruned_at = Some(std::time::Instant::now());
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;

    use newswire_storer::{SqliteSink, SqliteStore};

    use crate::store::store_one;
    use crate::store::tests::{MemoryState, polled};

    /// One of four unrelated news stories of 60 to 80 words.
    pub(crate) fn story(n: usize) -> String {
        const STORIES: [&str; 4] = [
            "The harbour board approved plans on Monday for a new sea wall, ending two years of argument \
             over its cost. Work is due to start in the spring and to last eighteen months. Residents who \
             objected at the hearings in March say the wall will block the view from the promenade, while \
             fishermen welcomed the decision after the storms of last winter flooded the inner basin twice.",
            "A teenage chess player from Lagos won the national junior title on Sunday without losing a \
             game, beating the defending champion in a tense final round that lasted almost six hours. \
             Her coach said she had trained online every night for three years, often by candlelight \
             during power cuts, and hopes to compete at the world youth olympiad in Budapest next autumn.",
            "Shares in the largest listed grocer fell sharply after it warned that profits would be lower \
             than expected, blaming higher energy bills and a price war among discount chains. Analysts \
             cut their forecasts for the year, and the chief executive told investors on a call that the \
             company would close forty stores and invest in home delivery to win back customers.",
            "Astronomers using a telescope in the Chilean desert have found a cold gas giant orbiting a \
             nearby red dwarf, the first such planet seen directly at that distance. The team said the \
             discovery, published in a journal on Wednesday, suggests large planets form far from small \
             stars more often than models predicted, and follow-up observations are planned for next year.",
        ];
        STORIES[n % STORIES.len()].to_string()
    }

    fn day(n: usize) -> String {
        format!("Mon, 0{} Mar 2024 10:00:00 GMT", n + 1)
    }

    #[tokio::test]
    async fn a_copy_in_the_same_batch_joins_the_first_records_story() {
        let state = Arc::new(MemoryState::default());
        let mut pruned = None;
        let (a, b) = (story(0), story(1));
        let copy = format!("{a} Reporting by the wire desk.");
        let batch = polled(&[
            ("https://e.com/a", &day(0), &a),
            ("https://e.com/b", &day(1), &b),
            ("https://e.com/copy", &day(2), &copy),
        ]);
        let mut records = batch.records;
        let clustering = Clustering::default();
        let entries =
            link_copies(state.as_ref(), clustering, &mut pruned, "f", &mut records).await.expect("linked").entries;
        assert_eq!(entries.len(), 3, "every record with a fingerprint is indexed");
        assert_eq!(records[0].cluster, None, "the first of its story");
        assert_eq!(records[1].cluster, None, "another story");
        assert_eq!(records[2].cluster.as_deref(), Some(records[0].id.as_str()));
        assert!(records[2].similarity.is_some_and(|s| s >= 0.5), "{:?}", records[2].similarity);
        assert!(records.iter().all(|r| r.fingerprint.is_none()), "fingerprints move to the index entries");
        assert_eq!(entries[2].cluster.as_deref(), Some(records[0].id.as_str()));
    }

    #[tokio::test]
    async fn a_copy_in_a_later_batch_is_found_through_the_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SqliteStore::open(&dir.path().join("c.db")).expect("open");
        let mut storage =
            crate::store::Storage::new(vec![Box::new(SqliteSink::new(db.clone(), true))], Arc::new(db.clone()));
        let a = story(2);
        store_one(&mut storage, polled(&[("https://e.com/a", &day(0), &a)])).await.expect("first");
        let copy = format!("Updated: {a}");
        let report =
            store_one(&mut storage, polled(&[("https://other.org/copy", &day(1), &copy)])).await.expect("second");
        assert_eq!(report.new, 1);
        let stories = db.clusters("").expect("clusters");
        assert_eq!(stories.len(), 1);
        assert_eq!(stories[0].id, newswire_core::id::id_from_url("https://e.com/a"));
        assert_eq!(stories[0].copies[0].url, "https://other.org/copy");
        assert_eq!(db.index_size().expect("size").0, 2);
    }
}
