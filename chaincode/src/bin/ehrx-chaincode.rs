//! The EHR exchange chaincode as an external chaincode service: the peer
//! dials this server. Address, package id and TLS files come from flags or
//! their environment variables (`ehrx-chaincode --help`). Logs go to stderr
//! as `RUST_LOG` filters them.

use anyhow::Context as _;
use clap::Parser;
use ehrx_chaincode::{
    ServerArgs, ehr,
    shim::{runtime, server::shutdown_signal},
};

/// Serves the EHR exchange contract to the peers that dial it.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let server = Cli::parse().server;
    let threads = runtime::worker_threads(server.worker_threads.as_deref())
        .context("chaincode server configuration")?;
    let config = server
        .into_config()
        .context("chaincode server configuration")?;
    let address = config.address.clone();
    runtime::runtime(threads)
        .context("starting the runtime")?
        .block_on(config.serve(ehr::chaincode(), shutdown_signal()))
        .with_context(|| format!("serving the ehrx chaincode on {address}"))
}
