//! The pieces of `ehrx-bench` and `ehrx-soak`: load generation, the
//! benchmarks' participants, statistics, reports and charts, and the fault
//! soak (issue 16).

pub mod charts;
pub mod exchange;
pub mod load;
pub mod participants;
pub mod progress;
pub mod proof;
pub mod report;
pub mod soak;
pub mod stats;
pub mod targets;
pub mod throughput;

/// Sends the logs to stderr, filtered by `RUST_LOG` or, without it, by
/// `default_filter` (such as `warn,ehrx_bench=info`).
pub fn log_to_stderr(default_filter: &str) {
    use tracing_subscriber::EnvFilter;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Resolves on Ctrl-C or SIGTERM (what `scripts/bench.sh` forwards), so
/// the run can stop its networks before it exits.
pub async fn interrupt() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = match signal(SignalKind::terminate()) {
        Ok(terminate) => terminate,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM");
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            return "SIGINT";
        }
    };
    tokio::select! {
        // A failed registration disables its branch rather than firing it.
        Ok(()) = tokio::signal::ctrl_c() => "SIGINT",
        Some(()) = terminate.recv() => "SIGTERM",
        else => std::future::pending().await,
    }
}
