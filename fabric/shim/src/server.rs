//! The gRPC server the peer dials in Fabric's external-service mode, and its
//! configuration from the environment (matching the peer's
//! `connection.json`).
//!
//! Each `protos.Chaincode/Connect` call is one peer's stream, served by the
//! `handler` in a task of its own, so several peers share one process and a
//! broken stream leaves the others (and new connections) alone.

use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc};

use hlf_protos::peer::{
    ChaincodeMessage,
    chaincode_server::{Chaincode as ChaincodeService, ChaincodeServer},
};
use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
};
use tonic::{
    Request, Status, Streaming,
    codegen::tokio_stream::wrappers::ReceiverStream,
    transport::{Certificate, Identity, Server, ServerTlsConfig, server::TcpIncoming},
};

use crate::{chaincode::Chaincode, error::ServerError, handler};

/// Fabric's message size limit, both ways (tonic's default is 4 MiB).
pub use hlf_protos::MAX_GRPC_MESSAGE_SIZE as MAX_MESSAGE_SIZE;

/// How many outgoing messages of one stream may queue before transactions
/// wait for the peer to read.
const OUTBOUND_QUEUE: usize = 64;

/// Where and how to serve a chaincode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The package id the peer knows the chaincode by (`label:hash`).
    pub chaincode_id: String,
    /// The listen address, `host:port`.
    pub address: String,
    /// TLS files; `None` serves plaintext.
    pub tls: Option<TlsFiles>,
}

/// PEM files for TLS; with a client CA the server requires client
/// certificates from it (mutual TLS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's private key.
    pub key: PathBuf,
    /// The server's certificate (its SANs must match the peer's `address`).
    pub cert: PathBuf,
    /// The CA that signs the peers' client certificates.
    pub client_ca: Option<PathBuf>,
}

impl ServerConfig {
    /// Reads `CHAINCODE_ID`, `CHAINCODE_SERVER_ADDRESS` and, for TLS,
    /// `CHAINCODE_TLS_KEY_FILE` with `CHAINCODE_TLS_CERT_FILE` and optionally
    /// `CHAINCODE_TLS_CLIENT_CA_FILE`.
    pub fn from_env() -> Result<Self, ServerError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }

    /// Like [`Self::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ServerError> {
        let required = |name: &'static str| lookup(name).ok_or(ServerError::MissingVariable(name));
        let key = lookup("CHAINCODE_TLS_KEY_FILE");
        let cert = lookup("CHAINCODE_TLS_CERT_FILE");
        let client_ca = lookup("CHAINCODE_TLS_CLIENT_CA_FILE");
        let tls = match (key, cert) {
            (Some(key), Some(cert)) => Some(TlsFiles {
                key: key.into(),
                cert: cert.into(),
                client_ca: client_ca.map(PathBuf::from),
            }),
            (None, None) if client_ca.is_none() => None,
            (None, None) => {
                return Err(ServerError::InvalidVariable {
                    name: "CHAINCODE_TLS_CLIENT_CA_FILE",
                    reason:
                        "client authentication needs TLS: set the key and certificate files too"
                            .into(),
                });
            }
            (None, Some(_)) => return Err(ServerError::MissingVariable("CHAINCODE_TLS_KEY_FILE")),
            (Some(_), None) => return Err(ServerError::MissingVariable("CHAINCODE_TLS_CERT_FILE")),
        };
        Ok(Self {
            chaincode_id: required("CHAINCODE_ID")?,
            address: required("CHAINCODE_SERVER_ADDRESS")?,
            tls,
        })
    }

    /// Binds the configured address and serves `chaincode` until `shutdown`
    /// resolves; then stops accepting connections, lets running
    /// transactions finish, ends the peers' streams and returns.
    pub async fn serve<C: Chaincode>(
        self,
        chaincode: C,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let listener =
            TcpListener::bind(&self.address)
                .await
                .map_err(|source| ServerError::Bind {
                    address: self.address.clone(),
                    source,
                })?;
        self.serve_on(listener, chaincode, shutdown).await
    }

    /// Serves on an already bound listener (its address wins over
    /// [`Self::address`]); tests use this with port 0.
    pub async fn serve_on<C: Chaincode>(
        self,
        listener: TcpListener,
        chaincode: C,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServerError> {
        let mut server = Server::builder();
        if let Some(tls) = &self.tls {
            server = server.tls_config(tls.load().await?)?;
        }
        let local: Option<SocketAddr> = listener.local_addr().ok();
        tracing::info!(address = ?local, chaincode_id = %self.chaincode_id, tls = self.tls.is_some(), "serving chaincode");
        let (drain, draining) = watch::channel(false);
        let service = ChaincodeServer::new(Service {
            chaincode: Arc::new(chaincode),
            chaincode_id: self.chaincode_id,
            draining,
        })
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
        // The peer and the chaincode trade many small messages per call (a
        // state read is a request and a response). With Nagle's algorithm
        // on, each one waits for the peer's delayed ACK: about 40 ms, so a
        // call took ~90 ms instead of a few.
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        server
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async move {
                shutdown.await;
                tracing::info!("shutting down: draining peer streams");
                drain.send_replace(true);
            })
            .await?;
        Ok(())
    }
}

impl TlsFiles {
    async fn load(&self) -> Result<ServerTlsConfig, ServerError> {
        let identity = Identity::from_pem(read(&self.cert).await?, read(&self.key).await?);
        let mut config = ServerTlsConfig::new().identity(identity);
        if let Some(ca) = &self.client_ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca).await?));
        }
        Ok(config)
    }
}

async fn read(path: &PathBuf) -> Result<Vec<u8>, ServerError> {
    tokio::fs::read(path)
        .await
        .map_err(|source| ServerError::ReadFile {
            path: path.clone(),
            source,
        })
}

/// Resolves on SIGTERM (what process managers send) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => drop(signal.recv().await),
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// The tonic service: one handler task per Connect call.
struct Service<C> {
    chaincode: Arc<C>,
    chaincode_id: String,
    draining: watch::Receiver<bool>,
}

#[tonic::async_trait]
impl<C: Chaincode> ChaincodeService for Service<C> {
    type ConnectStream = ReceiverStream<Result<ChaincodeMessage, Status>>;

    async fn connect(
        &self,
        request: Request<Streaming<ChaincodeMessage>>,
    ) -> Result<tonic::Response<Self::ConnectStream>, Status> {
        let (outbound, receiver) = mpsc::channel(OUTBOUND_QUEUE);
        tokio::spawn(handler::serve_stream(
            Arc::clone(&self.chaincode),
            self.chaincode_id.clone(),
            request.into_inner(),
            outbound,
            self.draining.clone(),
        ));
        Ok(tonic::Response::new(ReceiverStream::new(receiver)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::collections::HashMap;

    use crate::{Stub, chaincode};

    struct Nothing;

    impl Chaincode for Nothing {
        async fn init(&self, _: Stub) -> hlf_protos::peer::Response {
            chaincode::success(Vec::new())
        }
        async fn invoke(&self, _: Stub) -> hlf_protos::peer::Response {
            chaincode::success(Vec::new())
        }
    }

    fn config(vars: &[(&str, &str)]) -> Result<ServerConfig, ServerError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        ServerConfig::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn plaintext_needs_id_and_address() {
        let c = config(&[
            ("CHAINCODE_ID", "ehr:abc"),
            ("CHAINCODE_SERVER_ADDRESS", "127.0.0.1:9999"),
        ])
        .unwrap();
        assert_eq!(c.chaincode_id, "ehr:abc");
        assert_eq!(c.tls, None);
        assert!(matches!(
            config(&[("CHAINCODE_ID", "x")]),
            Err(ServerError::MissingVariable("CHAINCODE_SERVER_ADDRESS"))
        ));
    }

    #[test]
    fn tls_and_mutual_tls() {
        let base = [("CHAINCODE_ID", "x"), ("CHAINCODE_SERVER_ADDRESS", "a:1")];
        let tls = [
            &base[..],
            &[
                ("CHAINCODE_TLS_KEY_FILE", "k.pem"),
                ("CHAINCODE_TLS_CERT_FILE", "c.pem"),
            ],
        ]
        .concat();
        let c = config(&tls).unwrap();
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                key: "k.pem".into(),
                cert: "c.pem".into(),
                client_ca: None
            })
        );
        let mtls = [&tls[..], &[("CHAINCODE_TLS_CLIENT_CA_FILE", "ca.pem")]].concat();
        assert_eq!(
            config(&mtls).unwrap().tls.unwrap().client_ca,
            Some("ca.pem".into())
        );
    }

    #[test]
    fn incomplete_tls_is_refused() {
        let base = [("CHAINCODE_ID", "x"), ("CHAINCODE_SERVER_ADDRESS", "a:1")];
        let only_cert = [&base[..], &[("CHAINCODE_TLS_CERT_FILE", "c.pem")]].concat();
        assert!(matches!(
            config(&only_cert),
            Err(ServerError::MissingVariable("CHAINCODE_TLS_KEY_FILE"))
        ));
        let only_ca = [&base[..], &[("CHAINCODE_TLS_CLIENT_CA_FILE", "ca.pem")]].concat();
        assert!(matches!(
            config(&only_ca),
            Err(ServerError::InvalidVariable { .. })
        ));
    }

    #[tokio::test]
    async fn missing_tls_files_are_named() {
        let config = ServerConfig {
            chaincode_id: "x".into(),
            address: "127.0.0.1:0".into(),
            tls: Some(TlsFiles {
                key: "/nonexistent/k.pem".into(),
                cert: "/nonexistent/c.pem".into(),
                client_ca: None,
            }),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let error = config
            .serve_on(listener, Nothing, async {})
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ServerError::ReadFile { path, .. } if path.ends_with("c.pem")),
            "{error}"
        );
    }
}
