//! Linking copies of one story (docs/clusters.md), in two parts.
//!
//! - [`look_up`] runs off the store task, several batches at once (the
//!   link stage, [`crate::link`]): the feed's shingle counts discount each
//!   fingerprint, and the state store's near-duplicate index is searched
//!   for each record's story (the fingerprints, lookups, ranking and
//!   similarity: most of linking's cost).
//! - [`resolve`] runs on the store task, one batch at a time in commit
//!   order, and is cheap: each record takes the closest of the story the
//!   index found, the stories started by batches committed after its
//!   lookup began ([`Recent`]: the index could not see them), and the
//!   stories started earlier in its own batch.
//!
//! The index is pruned of what fell out of the window now and then
//! ([`prune_index`], on the store task).

use std::collections::{HashMap, VecDeque};

use newswire_core::FastMap;
use std::time::Duration;

use chrono::Utc;
use newswire_core::Record;
use newswire_core::fingerprint::{Fingerprint, similarity};
use newswire_core::frequency::{Discount, FEED_COMMON, FeedSketch};
use newswire_core::sink::{StateStore, StoreError};
use newswire_core::state::{Indexed, Match};
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

/// What [`look_up`] found for a batch, for [`resolve`].
#[derive(Debug, Default)]
pub struct Lookup {
    /// Per record of the batch, in order: its discounted fingerprint and
    /// the story the index found for it (None: the record has no
    /// fingerprint).
    pub(crate) found: Vec<Option<(Fingerprint, Option<Match>)>>,
    /// The feed's shingle counts with the batch added; None when the batch
    /// had nothing to count.
    pub(crate) sketch: Option<Vec<u8>>,
}

/// Sites remembered by [`Sites`] (the least recently used makes room). A
/// site of one feed costs a few KB; one of several feeds, 48 KB for its
/// counts: at most some 25 MB.
const SITES: usize = 512;
/// Article URLs remembered per site, so an article a site lists in several
/// of its feeds (a section feed and its front page) counts once.
const SITE_URLS: usize = 256;
/// Fingerprints kept of a site seen in one feed (about a KB each for a
/// news article): enough to hold its wrapper in [`FEED_COMMON`] others
/// when its counts start.
const FIRST_KEPT: usize = FEED_COMMON as usize + 1;

/// Each site's shingle counts, in memory, beside each feed's: an outlet's
/// promotion and origin paragraphs are the same in every one of its feeds,
/// and a site that spreads its items over section feeds of a few items each
/// (as a site's feeds often do) never gives one feed enough of them to
/// learn its wrapper. A site is the host of the record's URL (of the feed's
/// URL when the record has none), without `www.`. A hash held by
/// [`FEED_COMMON`] or more *other* recent articles of the site is the
/// site's furniture, as for a feed (the same sketch: its counts halved
/// every 32 articles of the site); while the site has shown fewer, see
/// [`first_bar`]. A copy of a story is on several sites, furniture on one:
/// this never discounts a story for being syndicated, only for being
/// repeated within one site.
///
/// A site seen in one feed only has no counts of its own (the feed's are
/// the same), only its last few articles' fingerprints: its counts start
/// from those when a second feed of the site brings articles. Counts are
/// kept in memory only (not with the index, unlike a feed's): after a
/// restart each site's are learned again from its next articles, and
/// meanwhile the feeds' stored counts stand alone.
#[derive(Debug, Default)]
pub struct Sites {
    inner: std::sync::Mutex<SitesInner>,
}

#[derive(Debug, Default)]
struct SitesInner {
    by_site: HashMap<String, Site>,
    /// Bumped at each use; a site's `used` is the value at its last one.
    clock: u64,
}

#[derive(Debug, Default)]
struct Site {
    /// The one feed the site has been seen in, until a second.
    only_feed: Option<String>,
    /// The counts across the site's feeds, from its second feed on.
    sketch: Option<Box<FeedSketch>>,
    /// Until then, the fingerprints of the site's last few articles, which
    /// start its counts when a second feed comes.
    first: VecDeque<Fingerprint>,
    /// Hashes of the article URLs seen lately, oldest first.
    urls: VecDeque<u64>,
    /// Articles counted since the site was first seen.
    articles: u64,
    used: u64,
}

/// The site of `record`: the host of its URL, or of its feed's; `www.` off.
fn site_of(record: &Record) -> Option<String> {
    let url = record.url.as_deref().and_then(|u| url::Url::parse(u).ok());
    let url = url.or_else(|| url::Url::parse(&record.feed_url).ok())?;
    let host = url.host_str()?;
    Some(host.strip_prefix("www.").unwrap_or(host).to_ascii_lowercase())
}

/// How many other articles of a site must hold a hash for it to be the
/// site's furniture, where `articles` are all that the site has shown:
/// [`FEED_COMMON`] once there are more than that, and before then all the
/// others. A paragraph in each of a site's first three articles is far
/// more often its wrapper than three versions of one story (which would
/// then lose what all three share). With two, what they share is
/// furniture (for the later, or for both when they come in one batch): two
/// articles of one site on one story among its first two are rarer than a
/// long wrapper, which would link them (the later then starts a story of
/// its own; copies on other sites link to the first). A feed's first poll,
/// whose records can come from several sites, asks at least 2: see
/// [`look_up`].
fn first_bar(articles: u64) -> u32 {
    let others = u32::try_from(articles.saturating_sub(1)).unwrap_or(u32::MAX);
    others.clamp(1, FEED_COMMON)
}

fn url_hash(url: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    url.hash(&mut h);
    h.finish()
}

impl Sites {
    /// For each record of a batch of `feed` with a fingerprint, the hashes
    /// that are its site's furniture, sorted; the batch's articles are
    /// counted first, so a site's first batch with counts knows its
    /// wrapper (as for a feed). Batches of several feeds call this at once:
    /// each counts its own articles under the lock and judges against what
    /// is counted so far.
    fn furniture(&self, feed: &str, records: &[Record], fingerprints: &[Option<Fingerprint>]) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); records.len()];
        let mut by_site: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (record, fp)) in records.iter().zip(fingerprints).enumerate() {
            if fp.is_some()
                && let Some(site) = site_of(record)
            {
                by_site.entry(site).or_default().push(i);
            }
        }
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for (name, members) in by_site {
            inner.clock += 1;
            let clock = inner.clock;
            if !inner.by_site.contains_key(&name)
                && inner.by_site.len() >= SITES
                && let Some(oldest) = inner.by_site.iter().min_by_key(|(_, site)| site.used).map(|(n, _)| n.clone())
            {
                inner.by_site.remove(&oldest);
            }
            let site = inner.by_site.entry(name).or_default();
            site.used = clock;
            match &site.only_feed {
                _ if site.sketch.is_some() => {}
                None => site.only_feed = Some(feed.to_string()),
                Some(only) if only == feed => {}
                Some(_) => {
                    site.only_feed = None;
                    let mut sketch = Box::<FeedSketch>::default();
                    for fp in site.first.drain(..) {
                        sketch.add(&fp);
                    }
                    site.sketch = Some(sketch);
                }
            }
            // An article the site listed already (in another of its feeds,
            // or before) is not counted again.
            let mut counted: Vec<usize> = Vec::with_capacity(members.len());
            for &i in &members {
                let url = records[i].url.as_deref().map(url_hash);
                if url.is_none_or(|u| !site.urls.contains(&u)) {
                    counted.push(i);
                    if let Some(u) = url {
                        if site.urls.len() >= SITE_URLS {
                            site.urls.pop_front();
                        }
                        site.urls.push_back(u);
                    }
                }
            }
            site.articles += counted.len() as u64;
            let bar = first_bar(site.articles);
            // A site of one feed is judged here only while it has shown
            // too few articles for its feed's bar, against the ones kept.
            let kept: Option<FeedSketch> = match site.sketch {
                None if bar < FEED_COMMON => {
                    let mut sketch = FeedSketch::default();
                    site.first.iter().for_each(|fp| sketch.add(fp));
                    Some(sketch)
                }
                _ => None,
            };
            if let Some(sketch) = site.sketch.as_deref().or(kept.as_ref()) {
                let discount =
                    Discount::new(sketch, counted.iter().filter_map(|&i| fingerprints[i].as_ref())).with_bar(bar);
                // An article counted before was judged then (its own count
                // is in the sketch now, and would pass for another's).
                for &i in &counted {
                    if let Some(fp) = &fingerprints[i] {
                        out[i] = fp.hashes().filter(|&h| discount.common(h)).collect();
                        out[i].sort_unstable();
                    }
                }
            }
            for &i in &counted {
                let Some(fp) = &fingerprints[i] else { continue };
                match site.sketch.as_deref_mut() {
                    Some(sketch) => sketch.add(fp),
                    None => {
                        if site.first.len() >= FIRST_KEPT {
                            site.first.pop_front();
                        }
                        site.first.push_back(fp.clone());
                    }
                }
            }
        }
        out
    }
}

/// The part of linking that reads the index, for one batch of one feed:
/// take each record's fingerprint, discount it with the feed's shingle
/// counts (this batch's records counted in: what the outlet repeats in
/// every item is dropped, [`newswire_core::frequency`]), and find, through
/// the state store's near-duplicate index (within the window), the closest
/// story whose *first* record each is similar to at or above the threshold
/// (never a story it resembles only through a later member: no chaining).
///
/// Safe to run for several batches at once, but not for two batches of
/// one feed: each reads the feed's counts as the last committed batch left
/// them (the link stage keeps a feed's batches one at a time).
pub async fn look_up(
    state: &dyn StateStore,
    clustering: Clustering,
    sites: &Sites,
    feed: &str,
    records: &mut [Record],
) -> Result<Lookup, StoreError> {
    let fingerprints: Vec<Option<Fingerprint>> = records.iter_mut().map(|r| r.fingerprint.take()).collect();
    if fingerprints.iter().all(Option::is_none) {
        return Ok(Lookup { found: vec![None; records.len()], sketch: None });
    }
    let stored = with_retry("state", || state.feed_sketch(feed)).await?;
    let stored = stored.as_deref().and_then(FeedSketch::from_bytes);
    // A feed's first poll: its batch is all that is counted, so all the
    // others, but at least 2 (two records of one feed sharing text may be
    // a copy from another site; the same site's pairs are its counts' to
    // judge).
    let bar =
        if stored.is_some() { FEED_COMMON } else { first_bar(fingerprints.iter().flatten().count() as u64).max(2) };
    let mut sketch = stored.unwrap_or_default();
    let furniture = sites.furniture(feed, records, &fingerprints);
    let discounted: Vec<Option<Fingerprint>> = {
        let discount = Discount::new(&sketch, fingerprints.iter().flatten()).with_bar(bar);
        fingerprints
            .iter()
            .zip(&furniture)
            .map(|(f, site)| f.as_ref().map(|f| f.without(|h| discount.common(h) || site.binary_search(&h).is_ok())))
            .collect()
    };
    for fp in fingerprints.iter().flatten() {
        sketch.add(fp);
    }
    let lookups: Vec<(String, Fingerprint)> =
        records.iter().zip(&discounted).filter_map(|(r, f)| f.as_ref().map(|f| (r.id.clone(), f.clone()))).collect();
    let since = Utc::now() - window(clustering);
    let matches = with_retry("state", || state.find_similar(&lookups, since, clustering.threshold)).await?;
    let mut matches = matches.into_iter();
    let found = discounted.into_iter().map(|f| f.map(|f| (f, matches.next().flatten()))).collect();
    Ok(Lookup { found, sketch: Some(sketch.to_bytes()) })
}

fn window(clustering: Clustering) -> chrono::Duration {
    chrono::Duration::from_std(clustering.window).unwrap_or(chrono::Duration::days(7))
}

/// The part of linking that decides, on the store task, in commit order:
/// each record of `records` (with its `lookup`, aligned) is linked to the
/// closest story at or above the threshold among the one the index found,
/// the stories in `recent` started by batches committed after the
/// lookup's `snapshot` (which the index may not have shown it), and the
/// stories started earlier in this batch (a feed can carry a teaser and
/// the full text of one story). Returns the index entries to commit.
pub fn resolve(
    lookup: Vec<Option<(Fingerprint, Option<Match>)>>,
    records: &mut [Record],
    recent: &Recent,
    snapshot: u64,
    threshold: f64,
) -> Vec<Indexed> {
    let now = Utc::now();
    let mut entries: Vec<Indexed> = Vec::with_capacity(lookup.len());
    // The stories this batch started so far (their first records), by key.
    let mut by_key: FastMap<i64, Vec<usize>> = FastMap::default();
    for (record, found) in records.iter_mut().zip(lookup) {
        let Some((fingerprint, found)) = found else { continue };
        let mut best = found.map(|m| (m.cluster, m.similarity));
        let keys = fingerprint.keys();
        let closer = |id: &str, other: &Fingerprint, best: &mut Option<(String, f64)>| {
            let sim = similarity(&fingerprint, other);
            if sim >= threshold && best.as_ref().is_none_or(|(_, b)| sim > *b) {
                *best = Some((id.to_string(), sim));
            }
        };
        for (id, other) in recent.started_after(snapshot, &keys, &record.id) {
            closer(id, other, &mut best);
        }
        let mut seen = Vec::new();
        for key in &keys {
            for &i in by_key.get(key).into_iter().flatten() {
                if seen.contains(&i) || entries[i].id == record.id {
                    continue;
                }
                seen.push(i);
                closer(&entries[i].id, &entries[i].fingerprint, &mut best);
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
    entries
}

/// Link each record of one batch to the story it is a copy of, on one
/// task: [`look_up`] then [`resolve`] with nothing committed in between.
/// Returns the index entries and the feed's counts to commit with the
/// batch. Also prunes the index now and then (see [`prune_index`]).
pub async fn link_copies(
    state: &dyn StateStore,
    clustering: Clustering,
    sites: &Sites,
    pruned: &mut Option<std::time::Instant>,
    feed: &str,
    records: &mut [Record],
) -> Result<Linked, StoreError> {
    let lookup = look_up(state, clustering, sites, feed, records).await?;
    let entries = resolve(lookup.found, records, &Recent::default(), 0, clustering.threshold);
    prune_index(state, pruned, clustering).await;
    Ok(Linked { entries, sketch: lookup.sketch })
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

/// The stories started (and the items marked) by the batches committed
/// lately, kept by the store task for [`resolve`]: a batch whose lookup
/// began before they were committed was not shown them by the index. Each
/// entry carries the commit number (`seq`) of its batch; entries no lookup
/// in flight can miss are dropped ([`Recent::forget_through`]), so it holds
/// a few batches' worth.
#[derive(Debug, Default)]
pub struct Recent {
    /// Story starters, in commit order; `first` is the number of the front
    /// one.
    starters: VecDeque<Starter>,
    first: usize,
    /// Key → numbers of the starters holding it: most keys are held by
    /// one, so a list of up to two lives in the map's slot, not on the heap.
    by_key: FastMap<i64, smallvec::SmallVec<[usize; 2]>>,
    /// Item marks, in commit order: (seq, id).
    items: VecDeque<(u64, String)>,
    /// Id → (seq, content hash) of the latest mark.
    hashes: HashMap<String, (u64, String)>,
}

#[derive(Debug)]
struct Starter {
    seq: u64,
    id: String,
    fingerprint: Fingerprint,
    keys: Vec<i64>,
}

impl Recent {
    /// Remember what batch `seq` committed: its index entries (the story
    /// starters among them) and its item marks.
    pub fn add(&mut self, seq: u64, entries: &[Indexed], items: &[newswire_core::state::ItemMark]) {
        for entry in entries.iter().filter(|e| e.cluster.is_none()) {
            let n = self.first + self.starters.len();
            let keys = entry.fingerprint.keys();
            for &key in &keys {
                self.by_key.entry(key).or_default().push(n);
            }
            self.starters.push_back(Starter {
                seq,
                id: entry.id.clone(),
                fingerprint: entry.fingerprint.clone(),
                keys,
            });
        }
        for item in items {
            self.items.push_back((seq, item.id.clone()));
            self.hashes.insert(item.id.clone(), (seq, item.content_hash.clone()));
        }
    }

    /// Forget what batches up to `seq` committed.
    pub fn forget_through(&mut self, seq: u64) {
        while self.starters.front().is_some_and(|s| s.seq <= seq) {
            let Some(gone) = self.starters.pop_front() else { break };
            for key in gone.keys {
                if let Some(list) = self.by_key.get_mut(&key) {
                    // Numbers are pushed in order and the oldest leaves
                    // first: it heads each of its lists (1% of the CPU as
                    // a scan of the list).
                    if list.first() == Some(&self.first) {
                        list.remove(0);
                    }
                    if list.is_empty() {
                        self.by_key.remove(&key);
                    }
                }
            }
            self.first += 1;
        }
        while self.items.front().is_some_and(|(s, _)| *s <= seq) {
            let Some((s, id)) = self.items.pop_front() else { break };
            if self.hashes.get(&id).is_some_and(|(latest, _)| *latest == s) {
                self.hashes.remove(&id);
            }
        }
    }

    /// The stories started after `snapshot` sharing a key of `keys`, but
    /// not by `id` itself: (id, fingerprint), each once.
    fn started_after<'a>(&'a self, snapshot: u64, keys: &[i64], id: &str) -> Vec<(&'a str, &'a Fingerprint)> {
        let mut numbers: Vec<usize> = keys.iter().filter_map(|k| self.by_key.get(k)).flatten().copied().collect();
        numbers.sort_unstable();
        numbers.dedup();
        numbers
            .into_iter()
            .filter_map(|n| self.starters.get(n - self.first))
            .filter(|s| s.seq > snapshot && s.id != id)
            .map(|s| (s.id.as_str(), &s.fingerprint))
            .collect()
    }

    /// The content hash committed for `id` after `snapshot`, if any.
    pub fn hash_after(&self, snapshot: u64, id: &str) -> Option<&str> {
        self.hashes.get(id).filter(|(seq, _)| *seq > snapshot).map(|(_, hash)| hash.as_str())
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.starters.is_empty() && self.items.is_empty()
    }
}

/// How often the store stage prunes the near-duplicate index, and how many
/// entries at most each time.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
const PRUNE_LIMIT: usize = 10_000;

/// Remove index entries indexed before the window (never found again): at
/// most [`PRUNE_LIMIT`] every [`PRUNE_EVERY`], or at the next batch while
/// more remain. `pruned_at` is when the index was last pruned (None: now).
/// Housekeeping: a failure is logged and tried again next time, never
/// stops the batch.
pub async fn prune_index(state: &dyn StateStore, pruned_at: &mut Option<std::time::Instant>, clustering: Clustering) {
    if pruned_at.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
        return;
    }
    let before = Utc::now() - window(clustering);
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

    use newswire_storer::SqliteStore;

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

    /// A site's wrapper: a promotion paragraph and an origin note.
    const WRAPPER: &str = "Sign up for the Harbour Gazette morning briefing to get the day's top local stories \
        in your inbox before breakfast, free of charge and easy to cancel at any time. This story was \
        produced in partnership with the regional reporting fund, which supports independent journalism \
        in coastal towns and has no say over what we publish.";

    /// The records of a poll of `feed` (any URL) bringing `items`, with
    /// their fingerprints.
    fn batch_of(feed: &str, items: &[(&str, &str)]) -> (Vec<Record>, Vec<Option<Fingerprint>>) {
        let items: Vec<(&str, &str, &str)> =
            items.iter().map(|&(url, body)| (url, "Mon, 04 Mar 2024 10:00:00 GMT", body)).collect();
        let records = crate::store::tests::polled_as(feed, &items).records;
        let fingerprints = records.iter().map(|r| r.fingerprint.clone()).collect();
        (records, fingerprints)
    }

    /// The furniture `sites` finds in a poll of `feed` bringing `items`
    /// (link, body), and the records' fingerprints.
    fn furniture_of(sites: &Sites, feed: &str, items: &[(&str, &str)]) -> (Vec<Vec<u32>>, Vec<Option<Fingerprint>>) {
        let (records, fingerprints) = batch_of(feed, items);
        (sites.furniture(feed, &records, &fingerprints), fingerprints)
    }

    #[test]
    fn a_sites_wrapper_is_learned_across_its_feeds_and_a_story_on_other_sites_is_not() {
        let sites = Sites::default();
        let wrapped = |n: usize| format!("{WRAPPER} {}", story(n));
        // Section feeds of one site, one article each: no feed holds
        // enough to learn the wrapper; the site does from its second.
        let (found, _) = furniture_of(&sites, "politics", &[("https://gazette.example/politics/1", &wrapped(0))]);
        assert!(found[0].is_empty(), "one article: nothing is furniture yet");
        let wrapper: Vec<u32> = Fingerprint::of(WRAPPER).expect("a fingerprint").hashes().collect();
        for (n, (feed, url)) in
            [("sport", "https://www.gazette.example/sport/2"), ("business", "https://gazette.example/business/3")]
                .into_iter()
                .enumerate()
        {
            let (found, f) = furniture_of(&sites, feed, &[(url, &wrapped(n + 1))]);
            let all: Vec<u32> = f[0].as_ref().expect("a fingerprint").hashes().collect();
            let own: Vec<u32> = Fingerprint::of(&story(n + 1)).expect("a fingerprint").hashes().collect();
            assert!(!found[0].is_empty(), "{feed}: the site's wrapper is known, www. or not");
            assert!(
                found[0].iter().all(|h| !own.contains(h) || wrapper.contains(h)),
                "{feed}: the story itself is not furniture"
            );
            assert!(found[0].iter().all(|h| all.contains(h)), "furniture is of the record's own hashes");
        }
        let (found, _) = furniture_of(&sites, "science", &[("https://gazette.example/science/4", &wrapped(3))]);
        // Back in the first feed: the site's counts stand for it too.
        let (later, _) = furniture_of(&sites, "politics", &[("https://gazette.example/politics/5", &wrapped(0))]);
        assert!(later[0].len() >= found[0].len() / 2, "the site's fifth article: its wrapper is known");
        // A site of one feed keeps no counts (its feed's are the same): it
        // is judged by the articles it keeps while it has shown fewer than
        // its feed's bar asks, then by its feed's counts alone.
        for n in 0..6 {
            let url = format!("https://herald.example/{n}");
            let (found, _) = furniture_of(&sites, "herald", &[(url.as_str(), &wrapped(n))]);
            assert_eq!(!found[0].is_empty(), n == 1 || n == 2, "herald's article {n}");
        }
        {
            let inner = sites.inner.lock().expect("not poisoned");
            let herald = &inner.by_site["herald.example"];
            assert!(herald.sketch.is_none() && herald.first.len() == FIRST_KEPT, "{herald:?}");
            assert!(inner.by_site["gazette.example"].sketch.is_some());
        }

        // The same story syndicated to four other sites, each in two feeds
        // of its own: each site has it once, so it is furniture nowhere.
        for (n, host) in ["a.example", "b.example", "c.example", "d.example"].into_iter().enumerate() {
            let url = format!("https://{host}/story-{n}");
            for feed in ["front", "world"] {
                let (found, _) = furniture_of(&sites, &format!("{host}-{feed}"), &[(url.as_str(), &story(1))]);
                assert!(found[0].is_empty(), "{host}: a syndicated copy is not furniture");
            }
        }
    }

    #[test]
    fn an_article_a_site_lists_in_several_feeds_counts_once() {
        let sites = Sites::default();
        // One article in five of the site's feeds, three more, then an
        // update of the first under another link: its story is in one
        // other article of the site, not five, so it is not furniture.
        for feed in ["front", "section", "topic", "region", "latest"] {
            let (found, _) = furniture_of(&sites, feed, &[("https://gazette.example/1", &story(0))]);
            assert!(found[0].is_empty(), "{feed}: the same article again");
        }
        for n in 1..4 {
            let url = format!("https://gazette.example/{}", n + 1);
            furniture_of(&sites, "front", &[(url.as_str(), &story(n))]);
        }
        let update = format!("Updated: {}", story(0));
        let (found, f) = furniture_of(&sites, "latest", &[("https://gazette.example/update", &update)]);
        let own: Vec<u32> = f[0].as_ref().expect("a fingerprint").hashes().collect();
        assert!(found[0].len() < own.len() / 4, "the story is not furniture: {} of {}", found[0].len(), own.len());
    }

    #[test]
    fn the_first_bar_asks_all_of_a_few_articles_and_feed_common_of_many() {
        assert_eq!(first_bar(1), 1, "one article: no other holds anything");
        assert_eq!(first_bar(2), 1, "two articles: what they share");
        assert_eq!(first_bar(3), 2, "three: in all three");
        assert_eq!(first_bar(4), FEED_COMMON);
        assert_eq!(first_bar(1_000), FEED_COMMON);
    }

    #[tokio::test]
    async fn a_feeds_first_poll_of_three_learns_their_wrapper() {
        // Three unrelated stories in one wrapper, in a new feed: none is
        // linked to another through it.
        let state = Arc::new(MemoryState::default());
        let wrapped = |n: usize| format!("{WRAPPER}\n\n{}", story(n));
        let (a, b, c) = (wrapped(0), wrapped(1), wrapped(2));
        let batch = polled(&[
            ("https://e.com/a", &day(0), &a),
            ("https://e.com/b", &day(1), &b),
            ("https://e.com/c", &day(2), &c),
        ]);
        let mut records = batch.records;
        link_copies(state.as_ref(), Clustering::default(), &Sites::default(), &mut None, "f", &mut records)
            .await
            .expect("linked");
        assert!(
            records.iter().all(|r| r.cluster.is_none()),
            "{:?}",
            records.iter().map(|r| &r.cluster).collect::<Vec<_>>()
        );
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
        let entries = link_copies(state.as_ref(), clustering, &Sites::default(), &mut pruned, "f", &mut records)
            .await
            .expect("linked")
            .entries;
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
        let mut storage = crate::store::tests::sqlite_storage(&db);
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

    #[tokio::test]
    async fn a_sites_wrapper_learned_in_one_feed_holds_in_its_sections_of_one_article() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = SqliteStore::open(&dir.path().join("c.db")).expect("open");
        let mut storage = crate::store::tests::sqlite_storage(&db);
        let wrapped = |text: &str| format!("{WRAPPER}\n\n{text}");
        let other = "The city's oldest cinema will reopen next month after a two-year restoration paid for by \
            a crowdfunding campaign that drew donations from more than nine thousand people. Volunteers \
            repaired the art deco ceiling and rebuilt the projection room, and the first screening will be \
            the silent comedy that opened the building in 1926, with a live pianist and tickets at the old price.";
        // The site's front page: three stories in its wrapper (a feed's
        // first poll of three learns it), then section feeds of one
        // article each, which no feed of their own could learn it from.
        let front: Vec<(String, String)> =
            (0..3).map(|n| (format!("https://gazette.example/{n}"), wrapped(&story(n)))).collect();
        let items: Vec<(&str, &str, &str)> =
            front.iter().map(|(u, b)| (u.as_str(), "Mon, 04 Mar 2024 10:00:00 GMT", b.as_str())).collect();
        store_one(&mut storage, crate::store::tests::polled_as("front", &items)).await.expect("front");
        let sections = [
            ("arts", "https://gazette.example/arts/1", wrapped(&story(3))),
            ("city", "https://gazette.example/city/1", wrapped(other)),
            // A copy of the front page's second story, in the wrapper.
            ("world", "https://gazette.example/world/1", wrapped(&format!("Updated: {}", story(1)))),
        ];
        for (feed, url, body) in &sections {
            store_one(
                &mut storage,
                crate::store::tests::polled_as(feed, &[(url, "Tue, 05 Mar 2024 10:00:00 GMT", body)]),
            )
            .await
            .expect("section");
        }
        let stories = db.clusters("").expect("clusters");
        let found: Vec<(String, Vec<String>)> =
            stories.iter().map(|s| (s.id.clone(), s.copies.iter().map(|c| c.url.clone()).collect())).collect();
        assert_eq!(
            found,
            [(
                newswire_core::id::id_from_url("https://gazette.example/1"),
                vec!["https://gazette.example/world/1".to_string()]
            )],
            "the copy is linked, and no two stories through the wrapper"
        );
    }

    #[test]
    fn recent_starters_are_found_after_their_snapshot_and_forgotten_oldest_first() {
        let text = story(0);
        let fp = Fingerprint::of(&text).expect("fingerprint");
        let keys = fp.keys();
        let entry = |id: &str| Indexed { id: id.into(), fingerprint: fp.clone(), cluster: None, at: Utc::now() };
        let mut recent = Recent::default();
        recent.add(1, &[entry("a")], &[]);
        recent.add(2, &[entry("b")], &[]);
        let ids = |r: &Recent, snapshot| {
            r.started_after(snapshot, &keys, "x").into_iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&recent, 0), ["a", "b"]);
        assert_eq!(ids(&recent, 1), ["b"], "a was committed before the lookup began");
        assert!(recent.started_after(0, &keys, "a").iter().all(|(id, _)| *id != "a"), "never itself");
        recent.forget_through(1);
        assert_eq!(ids(&recent, 0), ["b"]);
        recent.forget_through(2);
        assert!(recent.is_empty() && recent.by_key.is_empty());
    }
}
