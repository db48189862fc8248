#![cfg(test)]
//! The server over TLS and mutual TLS, as the peer's `connection.json`
//! configures it, with certificates from a throwaway CA.

use std::{path::Path, time::Duration};

use ehrx_testkit::pki::{Ca, Issued};
use hlf_protos::peer::{
    ChaincodeMessage, Response, chaincode_client::ChaincodeClient, chaincode_message::Type,
};
use hlf_shim::{Chaincode, ServerConfig, Stub, chaincode, server::TlsFiles};
use tokio::{
    net::TcpListener,
    sync::{mpsc, oneshot},
};
use tonic::{
    codegen::tokio_stream::wrappers::ReceiverStream,
    transport::{Certificate, ClientTlsConfig, Endpoint, Identity},
};

struct Nothing;

impl Chaincode for Nothing {
    async fn init(&self, _: Stub) -> Response {
        chaincode::success(Vec::new())
    }
    async fn invoke(&self, _: Stub) -> Response {
        chaincode::success(Vec::new())
    }
}

fn write(dir: &Path, name: &str, contents: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Starts a TLS server (mutual when `client_ca` is given) and returns its
/// address and the handle that stops it.
async fn serve(
    dir: &Path,
    server: &Issued,
    client_ca: Option<&Issued>,
) -> (String, oneshot::Sender<()>) {
    let tls = TlsFiles {
        key: write(dir, "server.key", &server.key_pem),
        cert: write(dir, "server.crt", &server.cert_pem),
        client_ca: client_ca.map(|ca| write(dir, "client-ca.crt", &ca.cert_pem)),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let config = ServerConfig {
        chaincode_id: "tls:1".into(),
        address: address.clone(),
        tls: Some(tls),
    };
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(config.serve_on(listener, Nothing, async {
        let _ = stopped.await;
    }));
    (address, stop)
}

/// Dials like a peer and returns the first message the shim sends.
async fn first_message(address: &str, tls: ClientTlsConfig) -> Result<ChaincodeMessage, String> {
    let endpoint = Endpoint::from_shared(format!("https://{address}"))
        .unwrap()
        .tls_config(tls)
        .unwrap();
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    let (_to_shim, outbound) = mpsc::channel::<ChaincodeMessage>(1);
    let mut stream = ChaincodeClient::new(channel)
        .connect(ReceiverStream::new(outbound))
        .await
        .map_err(|e| format!("Connect: {e}"))?
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .map_err(|_| "silent")?;
    first
        .map_err(|e| format!("stream: {e}"))?
        .ok_or_else(|| "ended".to_owned())
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hlf-shim-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn tls_server_registers_with_a_peer_that_trusts_its_ca() {
    let dir = temp_dir("tls");
    let ca = Ca::new("CN=tls-ca,O=Test,C=US", 1);
    let server = ca.issue("CN=chaincode", 2, Vec::new());
    let (address, _stop) = serve(&dir, &server, None).await;
    let trusting = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.issued.cert_pem))
        .domain_name("localhost");
    let register = first_message(&address, trusting).await.unwrap();
    assert_eq!(register.r#type, Type::Register as i32);

    let other_ca = Ca::new("CN=other-ca,O=Test,C=US", 3);
    let distrusting = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&other_ca.issued.cert_pem))
        .domain_name("localhost");
    assert!(first_message(&address, distrusting).await.is_err());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_client_ca() {
    let dir = temp_dir("mtls");
    let server_ca = Ca::new("CN=server-ca,O=Test,C=US", 4);
    let client_ca = Ca::new("CN=client-ca,O=Test,C=US", 5);
    let server = server_ca.issue("CN=chaincode", 6, Vec::new());
    let (address, _stop) = serve(&dir, &server, Some(&client_ca.issued)).await;
    let base = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&server_ca.issued.cert_pem))
        .domain_name("localhost");

    let peer = client_ca.issue("CN=peer0", 7, Vec::new());
    let with_cert = base
        .clone()
        .identity(Identity::from_pem(&peer.cert_pem, &peer.key_pem));
    assert_eq!(
        first_message(&address, with_cert).await.unwrap().r#type,
        Type::Register as i32
    );

    assert!(
        first_message(&address, base.clone()).await.is_err(),
        "no client certificate"
    );
    let stranger = server_ca.issue("CN=stranger", 8, Vec::new());
    let wrong_ca = base.identity(Identity::from_pem(&stranger.cert_pem, &stranger.key_pem));
    assert!(
        first_message(&address, wrong_ca).await.is_err(),
        "client certificate from another CA"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
