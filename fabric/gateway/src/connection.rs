//! A gRPC connection to a gateway peer. One [`tonic::transport::Channel`] is
//! cheap to clone and multiplexes calls over one HTTP/2 connection, so many
//! gateways (one per identity) can share it; that is why connecting is kept
//! apart from [`Gateway`](super::gateway::Gateway).
//!
//! The settings are Fabric's: TLS with the organisation's TLS CA (rustls
//! checks the SAN only, so a server-name override names a SAN of the peer's
//! certificate), an optional client certificate for mutual TLS, and HTTP/2
//! keepalive pings never more often than the peer's `minInterval` of 60 s,
//! past which the peer closes the connection.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// The shortest keepalive interval a Fabric peer tolerates.
pub(crate) const MIN_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(60);

/// The largest header or trailer block the client accepts, which it
/// announces to the peer in its HTTP/2 settings.
///
/// A gateway's error travels in the trailers (`grpc-message`, and again in
/// `grpc-status-details-bin` for each endorsing peer), so this caps the
/// errors a caller can read. hyper's default of 16 KiB cut off chaincode
/// errors of a few thousand characters; Fabric's Go clients accept 16 MiB.
/// 1 MiB reads any error a chaincode means to send; anything larger the
/// peer refuses to send (it resets the stream with `INTERNAL`), and a
/// server that sends it regardless gets its connection closed by the
/// client, which then reconnects: in neither case does a call wait.
pub(crate) const MAX_HEADER_LIST_SIZE: u32 = 1024 * 1024;

/// Why a connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The address is not a valid URI.
    #[error("invalid peer address {address}: {source}")]
    Address {
        /// The address as given.
        address: String,
        /// The parser's error.
        source: tonic::transport::Error,
    },
    /// The TLS settings were refused.
    #[error("TLS configuration for {address}: {source}")]
    Tls {
        /// The address.
        address: String,
        /// The TLS error.
        source: tonic::transport::Error,
    },
    /// The peer could not be reached.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// The address.
        address: String,
        /// The connection error.
        source: tonic::transport::Error,
    },
}

/// Settings for a connection to one peer.
#[derive(Debug, Clone)]
pub struct ConnectionBuilder {
    address: String,
    tls_ca_pem: Option<Vec<u8>>,
    client_tls: Option<(Vec<u8>, Vec<u8>)>,
    server_name: Option<String>,
    keepalive_interval: Duration,
    keepalive_timeout: Duration,
    connect_timeout: Duration,
}

impl ConnectionBuilder {
    /// A connection to `address`: `host:port`, `https://host:port`, or a
    /// connection profile's `grpcs://host:port` (`grpc://` for plain text).
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            tls_ca_pem: None,
            client_tls: None,
            server_name: None,
            // Twice the peer's minimum, so timer jitter never trips it.
            keepalive_interval: 2 * MIN_KEEPALIVE_INTERVAL,
            keepalive_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Trust this PEM CA (the peer organisation's TLS CA); turns TLS on.
    pub fn tls_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_ca_pem = Some(pem.into());
        self
    }

    /// Present this PEM certificate and key for mutual TLS.
    pub fn client_tls(
        mut self,
        certificate_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.client_tls = Some((certificate_pem.into(), key_pem.into()));
        self
    }

    /// Check the peer's certificate against this name instead of the host.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// HTTP/2 keepalive ping interval; raised to 60 s, the shortest a peer
    /// tolerates, if shorter.
    pub fn keepalive_interval(mut self, interval: Duration) -> Self {
        self.keepalive_interval = interval.max(MIN_KEEPALIVE_INTERVAL);
        self
    }

    /// How long to wait for a keepalive ping's answer before dropping the
    /// connection.
    pub fn keepalive_timeout(mut self, timeout: Duration) -> Self {
        self.keepalive_timeout = timeout;
        self
    }

    /// How long to wait for the TCP and TLS handshake.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The address as an `http(s)://` URI.
    pub fn uri(&self) -> String {
        let address = self.address.as_str();
        if let Some(rest) = address.strip_prefix("grpcs://") {
            format!("https://{rest}")
        } else if let Some(rest) = address.strip_prefix("grpc://") {
            format!("http://{rest}")
        } else if address.starts_with("https://") || address.starts_with("http://") {
            address.to_string()
        } else if self.tls_ca_pem.is_some() {
            format!("https://{address}")
        } else {
            format!("http://{address}")
        }
    }

    /// The configured tonic endpoint, for callers that connect themselves.
    pub fn endpoint(&self) -> Result<Endpoint, ConnectionError> {
        let endpoint = Endpoint::from_shared(self.uri())
            .map_err(|source| ConnectionError::Address {
                address: self.address.clone(),
                source,
            })?
            .connect_timeout(self.connect_timeout)
            .http2_max_header_list_size(MAX_HEADER_LIST_SIZE)
            .http2_keep_alive_interval(self.keepalive_interval)
            .keep_alive_timeout(self.keepalive_timeout)
            // An idle client needs no pings: the peer's own keepalive
            // (`keepalive.interval`) already probes quiet connections.
            .keep_alive_while_idle(false);
        let Some(ca) = &self.tls_ca_pem else {
            return Ok(endpoint);
        };
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
        if let Some(name) = &self.server_name {
            tls = tls.domain_name(name.clone());
        }
        if let Some((certificate, key)) = &self.client_tls {
            tls = tls.identity(Identity::from_pem(certificate, key));
        }
        endpoint
            .tls_config(tls)
            .map_err(|source| ConnectionError::Tls {
                address: self.address.clone(),
                source,
            })
    }

    /// Connects now, so an unreachable peer is reported here.
    pub async fn connect(&self) -> Result<Channel, ConnectionError> {
        self.endpoint()?
            .connect()
            .await
            .map_err(|source| ConnectionError::Connect {
                address: self.address.clone(),
                source,
            })
    }

    /// A channel that connects on first use and reconnects after a peer
    /// restart, for long-lived clients such as event listeners.
    pub fn connect_lazy(&self) -> Result<Channel, ConnectionError> {
        Ok(self.endpoint()?.connect_lazy())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_of_every_form_become_uris() {
        let tls = |a: &str| ConnectionBuilder::new(a).tls_ca_pem(b"ca".to_vec()).uri();
        assert_eq!(tls("127.0.0.1:7051"), "https://127.0.0.1:7051");
        assert_eq!(tls("grpcs://peer0:7051"), "https://peer0:7051");
        assert_eq!(
            ConnectionBuilder::new("grpc://peer0:7051").uri(),
            "http://peer0:7051"
        );
        assert_eq!(
            ConnectionBuilder::new("127.0.0.1:7051").uri(),
            "http://127.0.0.1:7051"
        );
        assert_eq!(tls("https://h:1"), "https://h:1");
    }

    #[test]
    fn keepalive_is_never_shorter_than_the_peer_minimum() {
        let builder = ConnectionBuilder::new("h:1").keepalive_interval(Duration::from_secs(5));
        assert_eq!(builder.keepalive_interval, MIN_KEEPALIVE_INTERVAL);
        let builder = ConnectionBuilder::new("h:1").keepalive_interval(Duration::from_secs(300));
        assert_eq!(builder.keepalive_interval, Duration::from_secs(300));
        assert!(ConnectionBuilder::new("h:1").keepalive_interval >= MIN_KEEPALIVE_INTERVAL);
    }

    #[test]
    fn a_bad_address_is_a_typed_error() {
        assert!(matches!(
            ConnectionBuilder::new("not a uri\n").endpoint(),
            Err(ConnectionError::Address { .. })
        ));
    }
}
