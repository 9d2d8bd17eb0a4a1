//! The link stage: what is new in each batch, and the near-duplicate
//! lookups of its records ([`crate::clusters::look_up`]), several batches
//! at once, ahead of the store task (which then only decides, writes and
//! commits: [`crate::store`]).
//!
//! Two batches of one feed are never in this stage or on their way to the
//! store together: a feed's next batch waits until the store has committed
//! the one before (the store says so on `done`), so it reads the feed's
//! shingle counts and item hashes as that batch left them, and a feed's
//! batches are committed in the order they came. Batches of other feeds
//! pass a waiting one.
//!
//! What a lookup cannot see, batches committed after it began, the store
//! task makes up for ([`Commits`], [`crate::clusters::Recent`]).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use newswire_core::sink::{StateStore, StoreError};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::clusters::{Clustering, Lookup, Sites, look_up};
use crate::job::RecordBatch;
use crate::stage::with_retry;

/// Commit numbers, shared by the link stage and the store task. The store
/// task numbers each commit (`seq`, from 1) after it returns; a lookup
/// notes the number of the last commit before it reads anything (its
/// snapshot): everything committed up to it is in what the lookup reads,
/// later commits may not be. The snapshots of batches not yet stored are
/// kept, so the store task knows which recent commits a batch still in
/// flight may have missed.
#[derive(Debug, Default)]
pub struct Commits {
    inner: Mutex<CommitsInner>,
}

#[derive(Debug, Default)]
struct CommitsInner {
    seq: u64,
    /// snapshot → batches in flight that took it.
    open: BTreeMap<u64, usize>,
}

impl Commits {
    fn lock(&self) -> std::sync::MutexGuard<'_, CommitsInner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A batch's lookup begins: the number of the last commit.
    pub fn begin(&self) -> u64 {
        let mut inner = self.lock();
        let seq = inner.seq;
        *inner.open.entry(seq).or_default() += 1;
        seq
    }

    /// A batch that began at `snapshot` is stored (or dropped).
    pub fn end(&self, snapshot: u64) {
        let mut inner = self.lock();
        if let Some(n) = inner.open.get_mut(&snapshot) {
            *n -= 1;
            if *n == 0 {
                inner.open.remove(&snapshot);
            }
        }
    }

    /// The number the next commit will take.
    pub fn next(&self) -> u64 {
        self.lock().seq + 1
    }

    /// A commit returned: its number.
    pub fn committed(&self) -> u64 {
        let mut inner = self.lock();
        inner.seq += 1;
        inner.seq
    }

    /// Commits up to this number are seen by every batch in flight.
    pub fn seen_by_all(&self) -> u64 {
        let inner = self.lock();
        inner.open.keys().next().copied().unwrap_or(inner.seq)
    }
}

/// A batch after the link stage: only the records to write, and what their
/// lookups found.
#[derive(Debug)]
pub struct LinkedBatch {
    /// The batch; `records` holds the new and changed ones only.
    pub(crate) batch: RecordBatch,
    /// Per record of `batch.records`: whether it was new (not changed).
    pub(crate) fresh: Vec<bool>,
    /// Items seen before with the same content.
    pub(crate) unchanged: usize,
    /// The near-duplicate lookups, aligned with `batch.records`.
    pub(crate) lookup: Lookup,
    /// The last commit the lookups saw ([`Commits::begin`]).
    pub(crate) snapshot: u64,
}

/// Sort a batch's records into new, changed and unchanged (by the hashes
/// the state store remembers) and look the new and changed ones up in the
/// near-duplicate index.
pub async fn prepare(
    state: &dyn StateStore,
    clustering: Clustering,
    sites: &Sites,
    commits: &Commits,
    batch: RecordBatch,
) -> Result<LinkedBatch, StoreError> {
    let snapshot = commits.begin();
    let prepared = prepare_at(state, clustering, sites, snapshot, batch).await;
    if prepared.is_err() {
        commits.end(snapshot);
    }
    prepared
}

async fn prepare_at(
    state: &dyn StateStore,
    clustering: Clustering,
    sites: &Sites,
    snapshot: u64,
    mut batch: RecordBatch,
) -> Result<LinkedBatch, StoreError> {
    let ids: Vec<String> = batch.records.iter().map(|r| r.id.clone()).collect();
    let known = with_retry("state", || state.known_hashes(&ids)).await?;
    let mut unchanged = 0;
    let mut fresh = Vec::with_capacity(batch.records.len());
    batch.records.retain(|record| match known.get(&record.id) {
        None => {
            fresh.push(true);
            true
        }
        Some(hash) if *hash != record.content_hash => {
            fresh.push(false);
            true
        }
        Some(_) => {
            unchanged += 1;
            false
        }
    });
    let lookup = look_up(state, clustering, sites, &batch.state.feed, &mut batch.records).await?;
    Ok(LinkedBatch { batch, fresh, unchanged, lookup, snapshot })
}

/// The link stage: [`prepare`] up to `concurrency` batches at once, a
/// feed's batches one at a time (the next once `done` names the feed: the
/// store committed its batch), holding at most `capacity` waiting batches.
/// A lookup that fails for good is handed on, for the store task to stop
/// the pipeline with. Ends when its input closes and every batch is handed
/// on, at `abort`, or when the store task is gone.
#[expect(clippy::too_many_arguments, reason = "a stage: its channels, its store, its settings")]
pub async fn link_stage(
    mut input: mpsc::Receiver<RecordBatch>,
    out: mpsc::Sender<Result<LinkedBatch, StoreError>>,
    mut done: mpsc::Receiver<String>,
    state: Arc<dyn StateStore>,
    clustering: Clustering,
    sites: Arc<Sites>,
    commits: Arc<Commits>,
    concurrency: usize,
    capacity: usize,
    abort: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    // Feeds with a batch between here and its commit; the batches of those
    // feeds waiting behind it.
    let mut busy: HashSet<String> = HashSet::new();
    let mut waiting: HashMap<String, VecDeque<RecordBatch>> = HashMap::new();
    let mut held = 0;
    let mut open = true;
    loop {
        if !open && waiting.is_empty() && tasks.is_empty() {
            break;
        }
        let next = tokio::select! {
            biased;
            _ = abort.cancelled() => break,
            feed = done.recv() => {
                let Some(feed) = feed else { break };
                busy.remove(&feed);
                let Some(queue) = waiting.get_mut(&feed) else { continue };
                let next = queue.pop_front();
                if queue.is_empty() {
                    waiting.remove(&feed);
                }
                held -= usize::from(next.is_some());
                next
            }
            joined = tasks.join_next(), if !tasks.is_empty() => {
                if let Some(Err(e)) = joined
                    && e.is_panic()
                {
                    std::panic::resume_unwind(e.into_panic());
                }
                continue;
            }
            batch = input.recv(), if open && held < capacity => match batch {
                None => {
                    open = false;
                    continue;
                }
                Some(batch) => {
                    crate::metrics::queue_depth("cleaned", input.len());
                    if busy.contains(&batch.feed.spec.name) {
                        waiting.entry(batch.feed.spec.name.clone()).or_default().push_back(batch);
                        held += 1;
                        continue;
                    }
                    Some(batch)
                }
            },
        };
        let Some(batch) = next else { continue };
        busy.insert(batch.feed.spec.name.clone());
        let permit = tokio::select! {
            _ = abort.cancelled() => break,
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (state, sites, commits, out, abort) =
            (Arc::clone(&state), Arc::clone(&sites), Arc::clone(&commits), out.clone(), abort.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let linked = tokio::select! {
                _ = abort.cancelled() => return,
                linked = prepare(state.as_ref(), clustering, &sites, &commits, batch) => linked,
            };
            let waiting = std::time::Instant::now();
            tokio::select! {
                _ = abort.cancelled() => {}
                slot = out.reserve() => if let Ok(slot) = slot { slot.send(linked) },
            }
            crate::metrics::blocked("link", waiting.elapsed());
        });
    }
    tasks.abort_all();
}
