//! The closed-loop load generator: `in_flight` workers, each with its own
//! client, take operation numbers from a shared counter and run them one
//! after another until `total` have run. So exactly `in_flight` operations
//! are outstanding at any time (until the last few drain), which is the
//! "load level" of every benchmark.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::ProgressBar;
use tokio::sync::Mutex;

use crate::stats::Tally;

/// One operation a worker can run: a transaction, or a whole exchange.
pub trait Operation: Send + Sync + 'static {
    /// Runs operation number `index` (unique within one [`run`]) and
    /// returns the durations of its named phases, if it has any.
    fn run(
        &self,
        index: usize,
    ) -> impl Future<Output = anyhow::Result<Vec<(&'static str, Duration)>>> + Send;
}

/// Runs `total` operations with one worker per element of `workers` (so
/// `workers.len()` in flight) and tallies them. Failures are counted, not
/// retried: a retry would hide the failure rate and distort latencies.
pub async fn run<O: Operation>(
    workers: &[Arc<O>],
    total: usize,
    progress: &ProgressBar,
) -> anyhow::Result<Tally> {
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in workers {
        let (worker, next, tally, progress) = (
            Arc::clone(worker),
            Arc::clone(&next),
            Arc::clone(&tally),
            progress.clone(),
        );
        tasks.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    break;
                }
                let begun = Instant::now();
                let outcome = worker.run(index).await;
                let latency = begun.elapsed();
                let mut tally = tally.lock().await;
                match outcome {
                    Ok(phases) => tally.success(latency, &phases),
                    Err(error) => {
                        tracing::debug!(error = format!("{error:#}"), "operation failed");
                        tally.failure(&error);
                    }
                }
                progress.inc(1);
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.context("a load worker panicked")?;
    }
    let elapsed = started.elapsed();
    let mut tally = Arc::try_unwrap(tally)
        .map_err(|_| anyhow::anyhow!("a load worker outlived the run"))?
        .into_inner();
    tally.elapsed = elapsed;
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails every third operation and records the most operations seen
    /// running at once.
    #[derive(Default)]
    struct Probe {
        running: AtomicUsize,
        peak: AtomicUsize,
        seen: std::sync::Mutex<Vec<usize>>,
    }

    impl Operation for Probe {
        async fn run(&self, index: usize) -> anyhow::Result<Vec<(&'static str, Duration)>> {
            let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.running.fetch_sub(1, Ordering::SeqCst);
            self.seen
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .push(index);
            if index % 3 == 2 {
                anyhow::bail!("operation {index} failed");
            }
            Ok(vec![("only", Duration::from_millis(1))])
        }
    }

    #[tokio::test]
    async fn every_operation_runs_once_with_the_level_in_flight() {
        let probe = Arc::new(Probe::default());
        let workers = vec![Arc::clone(&probe); 4];
        let tally = run(&workers, 30, &ProgressBar::hidden()).await.unwrap();
        assert_eq!(tally.attempted, 30);
        assert_eq!(tally.succeeded(), 20);
        assert_eq!(tally.failed(), 10);
        assert_eq!(tally.phases_ms["only"].len(), 20);
        // "operation N failed" differs only in N, which is short, so each
        // failure is its own class here.
        assert_eq!(tally.errors.len(), 10);
        assert_eq!(probe.peak.load(Ordering::SeqCst), 4);
        let mut seen = probe.seen.lock().unwrap().clone();
        seen.sort_unstable();
        assert_eq!(seen, (0..30).collect::<Vec<_>>());
        assert!(tally.elapsed >= Duration::from_millis(5 * 30 / 4));
    }

    #[tokio::test]
    async fn no_operations_is_an_empty_tally() {
        let workers = vec![Arc::new(Probe::default())];
        let tally = run(&workers, 0, &ProgressBar::hidden()).await.unwrap();
        assert_eq!(tally.attempted, 0);
        assert_eq!(tally.per_second(), 0.0);
    }
}
