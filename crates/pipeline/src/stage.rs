//! The stage runner: the loop, the channel, cancellation and metrics every
//! stage shares, so a stage is a plain function of one item; and the one
//! retry policy for storage (a retryable failure is tried again, doubling
//! from 250 ms to a minute, until it succeeds or the run is aborted).

use std::sync::Arc;
use std::time::Duration;

use newswire_core::sink::StoreError;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// The loop every concurrent stage shares; the stage itself is `work`, one
/// item at a time. Take an item, wait for one of `concurrency` slots, run
/// `work` on it in a task of its own, and hand the result on. The slot is
/// held until the result is handed on, not just while it is worked on: a
/// result waiting for room downstream still counts against the stage, so a
/// slow stage downstream stops this one instead of piling results up. Sends
/// reserve first, since a cancelled `send()` would lose the result. Ends
/// when the input closes and its tasks are done, or at `abort`. `stage`
/// names it in the blocked-time metric, `queue` (if any) its input queue in
/// the depth metric.
pub async fn run_stage<I, O, F, Fut>(
    stage: &'static str,
    queue: Option<&'static str>,
    mut input: mpsc::Receiver<I>,
    out: mpsc::Sender<O>,
    concurrency: usize,
    abort: CancellationToken,
    work: F,
) where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(I) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = O> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(concurrency.max(1)));
    let work = Arc::new(work);
    let mut tasks = JoinSet::new();
    loop {
        let item = tokio::select! {
            _ = abort.cancelled() => break,
            item = input.recv() => match item { Some(item) => item, None => break },
        };
        if let Some(queue) = queue {
            crate::metrics::queue_depth(queue, input.len());
        }
        let permit = tokio::select! {
            _ = abort.cancelled() => break,
            permit = Arc::clone(&slots).acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (work, out, abort) = (Arc::clone(&work), out.clone(), abort.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let result = tokio::select! {
                _ = abort.cancelled() => return,
                result = work(item) => result,
            };
            let waiting = std::time::Instant::now();
            tokio::select! {
                _ = abort.cancelled() => {}
                slot = out.reserve() => if let Ok(slot) = slot { slot.send(result) },
            }
            crate::metrics::blocked(stage, waiting.elapsed());
        });
        // Reap finished tasks so the set does not grow with the item count.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
}

/// How long to wait before retrying a failed write, doubling up to a minute.
pub fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(8))).min(Duration::from_secs(60))
}

/// Run a state-store operation until it succeeds or fails for good:
/// retryable failures are retried after [`retry_delay`], logged as `what`.
pub async fn with_retry<'a, T, F>(what: &str, mut op: impl FnMut() -> F) -> Result<T, StoreError>
where
    F: std::future::Future<Output = Result<T, StoreError>> + 'a,
{
    let mut attempt = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if e.retryable => {
                warn!(store = what, error = %e, attempt, "state store failed; retrying");
                tokio::time::sleep(retry_delay(attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn every_item_is_worked_once_and_the_stage_ends_when_its_input_closes() {
        let (tx, rx) = mpsc::channel(4);
        let (out_tx, mut out_rx) = mpsc::channel(4);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (r, m) = (Arc::clone(&running), Arc::clone(&most));
        let stage = tokio::spawn(run_stage("test", None, rx, out_tx, 3, CancellationToken::new(), move |n: u32| {
            let (r, m) = (Arc::clone(&r), Arc::clone(&m));
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                r.fetch_sub(1, Ordering::SeqCst);
                n * 2
            }
        }));
        let feeder = tokio::spawn(async move {
            for n in 0..50 {
                tx.send(n).await.expect("stage takes items");
            }
        });
        let mut got = Vec::new();
        while let Some(n) = out_rx.recv().await {
            got.push(n);
        }
        feeder.await.expect("feeder");
        stage.await.expect("stage");
        got.sort_unstable();
        assert_eq!(got, (0..50).map(|n| n * 2).collect::<Vec<_>>());
        assert!(most.load(Ordering::SeqCst) <= 3, "at most the concurrency at once");
    }

    #[tokio::test]
    async fn abort_stops_a_stage_with_work_in_hand() {
        let (tx, rx) = mpsc::channel(4);
        let (out_tx, mut out_rx) = mpsc::channel::<u32>(4);
        let abort = CancellationToken::new();
        let stage = tokio::spawn(run_stage("test", None, rx, out_tx, 2, abort.clone(), |_n: u32| {
            std::future::pending::<u32>()
        }));
        tx.send(1).await.expect("send");
        abort.cancel();
        stage.await.expect("the stage ends although its work never does and its input stays open");
        assert!(out_rx.recv().await.is_none());
        drop(tx);
    }

    #[test]
    fn the_retry_delay_doubles_up_to_a_minute() {
        let ms = |n| retry_delay(n).as_millis();
        assert_eq!([ms(0), ms(1), ms(2), ms(3)], [250, 500, 1000, 2000]);
        assert_eq!(retry_delay(8), Duration::from_secs(60));
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_failures_are_retried_and_fatal_ones_returned() {
        let calls = AtomicUsize::new(0);
        let started = tokio::time::Instant::now();
        let got = with_retry("state", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { if n < 3 { Err(StoreError::retryable("t", "busy")) } else { Ok(n) } }
        })
        .await
        .expect("succeeds in the end");
        assert_eq!(got, 3);
        assert_eq!(started.elapsed(), Duration::from_millis(250 + 500 + 1000), "backed off between attempts");
        let calls = AtomicUsize::new(0);
        let err = with_retry("state", || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(StoreError::fatal("t", "schema mismatch")) }
        })
        .await
        .expect_err("fatal");
        assert!(!err.retryable);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "never retried");
    }
}
