//! The threads that parse, clean and extract: the pipeline's CPU work, at a
//! lower priority than the store's writer.
//!
//! The store stage is the pipeline's one serial step: every record waits
//! for its commit, so whenever the writer waits for a core, the whole
//! pipeline waits with it. On tokio's blocking pool the writer shared the
//! cores with the cleaning as an equal, and in a backfill on two cores it
//! spent as long waiting to run as running (docs/performance.md, step 13).
//! Here the cleaning runs on threads of its own whose scheduling priority
//! is lowered ([`newswire_storer::priority`], as the store's full-text
//! indexer and checkpointer are): the kernel runs them whenever a core is
//! free and gives the core to the writer (and to the fetching, the lookups
//! and everything else on tokio's threads) when it needs one. No thread
//! ever gets its priority back (raising it again takes a privilege), which
//! is why this work has threads of its own: a blocking-pool thread lowered
//! once could later run the writer.
//!
//! A job that panics is an error for its caller ([`Panicked`]), as a
//! panicking `spawn_blocking` task was; the thread carries on.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};

use newswire_storer::priority::lower_priority;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads running jobs in the order they come.
pub struct CpuPool {
    jobs: std::sync::mpsc::Sender<Job>,
}

/// A job panicked; what it said, if it said it in a string.
#[derive(Debug, thiserror::Error)]
#[error("the task panicked: {0}")]
pub struct Panicked(String);

impl CpuPool {
    /// `threads` threads (at least one) named `newswire-cpu`, each lowered
    /// by `nice` levels ([`lower_priority`]). They end when the pool is
    /// dropped and the jobs queued before are done. A thread that cannot be
    /// started is logged and the pool goes on with the others; with none,
    /// jobs run on tokio's blocking pool instead ([`CpuPool::run`]).
    pub fn new(threads: usize, nice: i32) -> CpuPool {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            let started = std::thread::Builder::new().name("newswire-cpu".into()).spawn(move || {
                lower_priority(nice);
                loop {
                    // The lock is held only while waiting for a job.
                    let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    match job {
                        Ok(job) => job(),
                        Err(_) => break,
                    }
                }
            });
            if let Err(e) = started {
                tracing::warn!(thread = n, error = %e, "cannot start a CPU worker thread");
            }
        }
        CpuPool { jobs }
    }

    /// Run `f` on one of the pool's threads and wait for its result.
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, Panicked> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(f)).map_err(|e| Panicked(panic_message(e.as_ref()))));
        });
        if let Err(std::sync::mpsc::SendError(job)) = self.jobs.send(job) {
            // No thread is left to take it (none could be started).
            tokio::task::spawn_blocking(job).await.map_err(|e| Panicked(e.to_string()))?;
        }
        rx.await.unwrap_or_else(|_| Err(Panicked("the worker thread ended".into())))
    }
}

/// A panic's message, when it is a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use newswire_storer::priority::BACKGROUND_NICE;

    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pools_lowered_threads_and_a_panic_is_an_error() {
        let pool = CpuPool::new(2, BACKGROUND_NICE);
        let name = pool.run(|| std::thread::current().name().map(str::to_string)).await.expect("runs");
        assert_eq!(name.as_deref(), Some("newswire-cpu"));
        #[cfg(target_os = "linux")]
        {
            use newswire_storer::priority::thread_nice;
            let before = thread_nice().expect("reads its own priority");
            let nice = pool.run(thread_nice).await.expect("runs").expect("reads its priority");
            assert_eq!(thread_nice().expect("reads its own priority"), before, "the caller's thread is left alone");
            assert_eq!(nice, (before + BACKGROUND_NICE).min(19), "lowered from where the caller stands");
        }
        let panicked = pool.run(|| -> u32 { panic!("a hostile document") }).await;
        assert!(panicked.expect_err("an error").to_string().contains("a hostile document"));
        // The threads carry on after a panic, and each job's result comes
        // back to its own caller, from callers on several tasks at once.
        let pool = Arc::new(pool);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..8u64 {
            let pool = Arc::clone(&pool);
            tasks.spawn(async move { (i, pool.run(move || (0..=i * 1000).sum::<u64>()).await.expect("runs")) });
        }
        while let Some(done) = tasks.join_next().await {
            let (i, sum) = done.expect("joins");
            assert_eq!(sum, (0..=i * 1000).sum::<u64>());
        }
    }
}
