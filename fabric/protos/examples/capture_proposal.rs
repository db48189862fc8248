//! Records the first `SignedProposal` a Fabric client sends, for the test
//! fixtures (see `tests/fixtures/README.md`).
//!
//! Serves `protos.Endorser` in plaintext on the given address, writes the
//! signed proposal it receives to the given file, answers with an error (it
//! endorses nothing) and exits.
//!
//! `cargo run -p hlf-protos --example capture_proposal -- 127.0.0.1:7999 out.bin`

use std::net::SocketAddr;
use std::path::PathBuf;

use hlf_protos::peer::endorser_server::{Endorser, EndorserServer};
use hlf_protos::peer::{ProposalResponse, SignedProposal};
use prost::Message;
use tokio::sync::{mpsc, oneshot};
use tonic::{Request, Response, Status};

struct Recorder {
    captured: mpsc::Sender<Vec<u8>>,
}

#[tonic::async_trait]
impl Endorser for Recorder {
    async fn process_proposal(
        &self,
        request: Request<SignedProposal>,
    ) -> Result<Response<ProposalResponse>, Status> {
        // SignedProposal is two bytes fields, so re-encoding yields the bytes
        // the client sent; the signed proposal_bytes inside are untouched.
        let _ = self
            .captured
            .send(request.into_inner().encode_to_vec())
            .await;
        Err(Status::unavailable(
            "captured for a test fixture; nothing is endorsed",
        ))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(address), Some(output)) = (args.next(), args.next()) else {
        return Err("usage: capture_proposal <listen address> <output file>".into());
    };
    let address: SocketAddr = address.parse()?;
    let output = PathBuf::from(output);
    let (captured, mut received) = mpsc::channel(1);
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EndorserServer::new(Recorder { captured }))
            .serve_with_shutdown(address, async {
                let _ = stopped.await;
            }),
    );
    let bytes = received
        .recv()
        .await
        .ok_or("the server stopped before a proposal arrived")?;
    std::fs::write(&output, bytes)?;
    let _ = stop.send(());
    server.await??;
    Ok(())
}
