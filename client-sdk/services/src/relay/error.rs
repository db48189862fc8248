//! Why the relay could not start or had to stop. Failures of single
//! deliveries are not errors of the relay: they are retried or logged (see
//! [`outbound`](super::outbound)).

use std::net::SocketAddr;

use super::config::ConfigError;
use ehrx_client::fabric::{self, CheckpointError, ConnectionError};

/// Why the relay could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The relay's configuration or a file it names.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The network description, or the identity in it.
    #[error("network description: {0}")]
    Network(#[from] fabric::ConfigError),
    /// The network description's organisation has no peer to connect to.
    #[error("organisation {0} has no peer in the network description")]
    NoPeer(String),
    /// A connection (to the gateway peer or another relay) could not be set up.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The checkpoint could not be read or saved; the relay stops rather
    /// than forward what it could not record.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A listener could not be bound.
    #[error("cannot listen on {address} ({field}): {source}")]
    Bind {
        /// The configuration field.
        field: &'static str,
        /// The address.
        address: SocketAddr,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The TLS server certificate, key or client CA were refused.
    #[error("TLS configuration of the relay's listener: {0}")]
    Tls(tonic::transport::Error),
    /// The gRPC server failed.
    #[error("relay gRPC server: {0}")]
    Serve(tonic::transport::Error),
    /// The health endpoint failed.
    #[error("health endpoint: {0}")]
    Health(std::io::Error),
    /// One of the relay's tasks ended abnormally.
    #[error("relay task failed: {0}")]
    Task(String),
}
