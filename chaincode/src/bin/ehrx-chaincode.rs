//! The EHR exchange chaincode as an external chaincode service: the peer
//! dials this server (address, package id and TLS files from the
//! environment, see `ServerConfig::from_env`). Logs go to stderr as
//! `RUST_LOG` filters them.

use ehrx_chaincode::{
    ehr,
    shim::{ServerConfig, ServerError, server::shutdown_signal},
};

#[tokio::main]
async fn main() -> Result<(), ServerError> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let config = ServerConfig::from_env()?;
    config.serve(ehr::chaincode(), shutdown_signal()).await
}
