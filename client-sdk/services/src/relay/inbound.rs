//! The receiving half: the `Relay` gRPC service, behind mutual TLS, that
//! takes envelopes from other networks' relays into this network.
//!
//! `Deliver` submits `AcceptRequest` or `AcceptReply`, with the sender's
//! proof of validation, and answers only once that transaction committed, so a receipt means the envelope is on this network's ledger.
//! `Challenge` submits `IssueChallenge` and answers with the committed
//! nonce the sender's next proof must carry. Errors are mapped so the sender knows whether to
//! retry: a refusal by the chaincode is final (`FailedPrecondition`), a
//! malformed envelope too (`InvalidArgument`), except a refusal of the
//! challenge alone (`BAD_CHALLENGE`, from a peer that has not committed it
//! yet), which the sender's next attempt answers with a fresh one; a gateway that cannot be
//! reached or a transaction that failed validation (an MVCC conflict, say)
//! is `Unavailable`, and resending the same bytes later is safe because the
//! chaincode recognises them.

use std::{future::Future, sync::Arc, time::Duration};

use ehrx_proto::exchange::{
    ChallengeBatch, ChallengeGrant, ChallengeRequest, Delivery, DeliveryReceipt, ForwardedEnvelope,
    relay_server::{Relay as RelayService, RelayServer},
};
use prost::Message as _;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::{oneshot, watch},
    task::JoinSet,
};
use tonic::{
    Request, Response, Status,
    transport::{Certificate, Identity, Server, ServerTlsConfig},
};
use tracing::{info, warn};

use super::{
    config::TlsFiles,
    envelope::{EnvelopeError, Summary, summarize},
    error::RelayError,
    ledger::Submitter,
    limit::{ChallengeLimit, Limiter},
    remote::MAX_ENVELOPE_SIZE,
    shutdown::Shutdown,
};
use ehrx_client::ehr::interface::{
    Challenge, ChallengeBatch as IssuedChallenges, ContractFailure, ErrorCode, function,
    limits::MAX_CHALLENGES_PER_CALL, quote,
};
use ehrx_client::fabric::{CallError, Committed, Error};

/// How long a client gets to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The chaincode's own error message, if the endorsement failed because
/// the chaincode refused (status 400 or above), rather than because no peer
/// could be reached.
pub fn chaincode_refusal(call: &CallError) -> Option<String> {
    call.chaincode_refusal()
}

/// Whether the chaincode refused only the challenge a proof carries. That
/// is no verdict on the envelope: an endorsing peer that has not committed
/// the challenge's block yet (it lags the peer that answered the
/// challenge, more so under load) says the challenge was not issued, and
/// the sender's next attempt comes with a fresh challenge and proof.
fn only_the_challenge_refused(call: &CallError) -> bool {
    let mut refusals = call.chaincode_refusals().peekable();
    refusals.peek().is_some()
        && refusals.all(|message| {
            ContractFailure::from_wire(&message)
                .is_some_and(|failure| failure.code == ErrorCode::BadChallenge)
        })
}

/// The status a sender sees for a failed submission.
pub fn status_for(error: &Error) -> Status {
    match error {
        Error::Endorse(call) | Error::Evaluate(call) if only_the_challenge_refused(call) => {
            Status::unavailable(format!(
                "{error}; a new attempt comes with a fresh challenge"
            ))
        }
        Error::Endorse(call) | Error::Evaluate(call) => match chaincode_refusal(call) {
            Some(message) => Status::failed_precondition(message),
            None => Status::unavailable(error.to_string()),
        },
        Error::Submit(_) | Error::CommitStatus(_) | Error::Commit { .. } | Error::Events(_) => {
            Status::unavailable(error.to_string())
        }
        Error::Deliver { .. } | Error::Nonce(_) | Error::Sign(_) | Error::Malformed { .. } => {
            Status::internal(error.to_string())
        }
    }
}

/// Checks an arriving envelope has what the chaincode needs to judge it.
fn check(envelope: &ForwardedEnvelope) -> Result<Summary, EnvelopeError> {
    let payload = envelope
        .payload
        .as_ref()
        .ok_or(EnvelopeError::MissingPayload)?;
    if envelope.attestation.is_none() {
        return Err(EnvelopeError::MissingAttestation);
    }
    summarize(payload)
}

/// The relay protocol's grant for a challenge the chaincode stored.
fn grant_of(challenge: &Challenge) -> ChallengeGrant {
    ChallengeGrant {
        nonce: challenge.nonce.to_string(),
        issued_at_ms: challenge.issued_at_ms,
        expires_at_ms: challenge.expires_at_ms,
    }
}

/// The grant for a challenge the chaincode committed.
fn grant(result: &[u8]) -> Result<ChallengeGrant, Status> {
    let challenge: Challenge = serde_json::from_slice(result)
        .map_err(|e| Status::internal(format!("the chaincode's challenge is not JSON: {e}")))?;
    Ok(grant_of(&challenge))
}

/// The chaincode's `IssueChallenges` result as the relay protocol's batch.
fn batch(result: &[u8]) -> Result<ChallengeBatch, Status> {
    let batch: IssuedChallenges = serde_json::from_slice(result)
        .map_err(|e| Status::internal(format!("the chaincode's challenges are not JSON: {e}")))?;
    Ok(ChallengeBatch {
        grants: batch
            .challenges()
            .map(|challenge| grant_of(&challenge))
            .collect(),
    })
}

/// The `Relay` service of one network.
#[derive(Debug, Clone)]
pub struct Inbound<S> {
    network_id: String,
    submitter: S,
    challenges: Arc<Limiter>,
}

impl<S: Submitter> Inbound<S> {
    /// Takes deliveries into network `network_id` through `submitter`,
    /// with the default [`ChallengeLimit`].
    pub fn new(network_id: impl Into<String>, submitter: S) -> Self {
        Self {
            network_id: network_id.into(),
            submitter,
            challenges: Arc::new(Limiter::new(ChallengeLimit::default())),
        }
    }

    /// Grants each calling relay at most `limit` challenges.
    #[must_use]
    pub fn with_challenge_limit(mut self, limit: ChallengeLimit) -> Self {
        self.challenges = Arc::new(Limiter::new(limit));
        self
    }
}

/// Who is calling: the DER of the TLS client certificate (empty without
/// TLS, where every caller shares one bucket).
fn caller_of<T>(request: &Request<T>) -> Vec<u8> {
    request
        .peer_certs()
        .and_then(|certs| certs.first().map(|leaf| leaf.to_vec()))
        .unwrap_or_default()
}

#[tonic::async_trait]
impl<S: Submitter> RelayService for Inbound<S> {
    async fn deliver(
        &self,
        request: Request<Delivery>,
    ) -> Result<Response<DeliveryReceipt>, Status> {
        // The envelope is judged on a decoded copy but submitted as the exact
        // bytes received: the chaincode verifies and deduplicates by them.
        let Delivery {
            forwarded_envelope: bytes,
            validation_proof,
        } = request.into_inner();
        let summary = ForwardedEnvelope::decode(bytes.as_slice())
            .map_err(|e| EnvelopeError::Malformed {
                what: "forwarded envelope",
                reason: e.to_string(),
            })
            .and_then(|envelope| check(&envelope))
            .map_err(|error| {
                warn!(network = %self.network_id, %error, "malformed envelope");
                Status::invalid_argument(error.to_string())
            })?;
        let function = summary.kind.accept_function();
        match self
            .submitter
            .submit(function, vec![bytes, validation_proof])
            .await
        {
            Ok(committed) => {
                let receipt = DeliveryReceipt {
                    request_id: summary.request_id,
                    transaction_id: committed.status.transaction_id,
                    block_number: committed.status.block_number,
                    outcome: String::from_utf8_lossy(&committed.result).into_owned(),
                };
                info!(
                    request_id = %receipt.request_id,
                    network = %summary.from_network,
                    tx_id = %receipt.transaction_id,
                    block = receipt.block_number,
                    outcome = %receipt.outcome,
                    "{function} committed"
                );
                Ok(Response::new(receipt))
            }
            Err(error) => {
                let status = status_for(&error);
                warn!(
                    request_id = %summary.request_id,
                    network = %summary.from_network,
                    tx_id = error.transaction_id().unwrap_or_default(),
                    code = ?status.code(),
                    %error,
                    "{function} failed"
                );
                Err(status)
            }
        }
    }

    async fn challenge(
        &self,
        request: Request<ChallengeRequest>,
    ) -> Result<Response<ChallengeGrant>, Status> {
        let network_id = self.admit_challenge(&request)?;
        let function = function::ISSUE_CHALLENGE;
        let committed = self
            .issue(function, vec![network_id.clone().into_bytes()], &network_id)
            .await?;
        let grant = grant(&committed.result)?;
        info!(
            network = %network_id,
            tx_id = %committed.status.transaction_id,
            expires_at_ms = grant.expires_at_ms,
            "{function} committed"
        );
        Ok(Response::new(grant))
    }

    async fn challenges(
        &self,
        request: Request<ChallengeRequest>,
    ) -> Result<Response<ChallengeBatch>, Status> {
        let network_id = self.admit_challenge(&request)?;
        let count = request.get_ref().count.clamp(1, MAX_CHALLENGES_PER_CALL);
        let function = function::ISSUE_CHALLENGES;
        let args = vec![
            network_id.clone().into_bytes(),
            count.to_string().into_bytes(),
        ];
        let committed = self.issue(function, args, &network_id).await?;
        let batch = batch(&committed.result)?;
        info!(
            network = %network_id,
            tx_id = %committed.status.transaction_id,
            count = batch.grants.len(),
            "{function} committed"
        );
        Ok(Response::new(batch))
    }
}

impl<S: Submitter> Inbound<S> {
    /// The network a challenge call names, once the calling relay's limit
    /// lets it through: one call, one unit, whatever its count.
    fn admit_challenge(&self, request: &Request<ChallengeRequest>) -> Result<String, Status> {
        if let Err(wait) = self
            .challenges
            .take(&caller_of(request), std::time::Instant::now())
        {
            warn!(
                claimed_network = %quote(&request.get_ref().network_id),
                retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "challenge refused: over the calling relay's limit"
            );
            return Err(Status::resource_exhausted(format!(
                "too many challenges from this relay; try again in {} ms",
                wait.as_millis().min(3_600_000)
            )));
        }
        Ok(request.get_ref().network_id.clone())
    }

    /// Submits the challenge-issuing `function`, mapping a failure to the
    /// caller's status.
    async fn issue(
        &self,
        function: &'static str,
        args: Vec<Vec<u8>>,
        network_id: &str,
    ) -> Result<Committed, Status> {
        self.submitter
            .submit(function, args)
            .await
            .map_err(|error| {
                let status = status_for(&error);
                warn!(network = %network_id, code = ?status.code(), %error, "{function} failed");
                status
            })
    }
}

/// The TLS server settings: this relay's certificate, and client
/// certificates required, from the other relays' CA.
pub fn server_tls(tls: &TlsFiles) -> ServerTlsConfig {
    ServerTlsConfig::new()
        .identity(Identity::from_pem(&tls.server_cert, &tls.server_key))
        .client_ca_root(Certificate::from_pem(&tls.client_ca))
        .client_auth_optional(false)
        .timeout(HANDSHAKE_TIMEOUT)
}

/// A gRPC server with these TLS settings; bad certificates or keys are
/// reported here, before anything listens.
pub fn server(tls: ServerTlsConfig) -> Result<Server, RelayError> {
    Server::builder().tls_config(tls).map_err(RelayError::Tls)
}

/// Serves `inbound` on `listener` until shutdown; then stops accepting and
/// lets deliveries in flight finish.
///
/// The TLS settings come from `tls`. When they change (a reload that
/// admits another network's relay), a server with the new settings takes
/// over the same listener at once, so no connection is refused, while the
/// previous server stops accepting and lets its deliveries in flight
/// finish.
pub async fn serve<S: Submitter + Clone>(
    inbound: Inbound<S>,
    listener: TcpListener,
    mut tls: watch::Receiver<TlsFiles>,
    mut shutdown: Shutdown,
) -> Result<(), RelayError> {
    let listener = Arc::new(listener);
    let mut generations = JoinSet::new();
    let mut reloads_open = true;
    'serving: loop {
        let files = tls.borrow_and_update().clone();
        let server = server(server_tls(&files))?;
        let (stop, stopped) = oneshot::channel::<()>();
        generations.spawn(serve_generation(
            server,
            inbound.clone(),
            Arc::clone(&listener),
            stopped,
        ));
        loop {
            tokio::select! {
                () = shutdown.recv() => {
                    let _ = stop.send(());
                    break 'serving;
                }
                changed = tls.changed(), if reloads_open => {
                    if changed.is_ok() {
                        let _ = stop.send(());
                        continue 'serving;
                    }
                    reloads_open = false;
                }
                Some(joined) = generations.join_next() => {
                    // A server that was told to stop has drained; one
                    // that ended by itself failed.
                    ended(joined)?;
                }
            }
        }
    }
    while let Some(joined) = generations.join_next().await {
        ended(joined)?;
    }
    Ok(())
}

fn ended(joined: Result<Result<(), RelayError>, tokio::task::JoinError>) -> Result<(), RelayError> {
    joined.map_err(|error| RelayError::Task(error.to_string()))?
}

/// The connections a listener shared by several servers accepts, with
/// TCP_NODELAY set: small request/response messages would otherwise wait
/// ~40 ms each for the other side's delayed ACK.
///
/// Each accept is `TcpListener::accept`'s future, which queues its waker
/// beside those of other servers on the same socket. (`poll_accept` keeps
/// only the last poller's waker, so a server that stopped after polling
/// would take with it the wake-up meant for the one that serves.)
struct Accepted {
    listener: Arc<TcpListener>,
    pending: Option<AcceptFuture>,
}

type AcceptFuture = std::pin::Pin<
    Box<dyn Future<Output = std::io::Result<(TcpStream, std::net::SocketAddr)>> + Send>,
>;

impl Accepted {
    fn new(listener: Arc<TcpListener>) -> Self {
        Self {
            listener,
            pending: None,
        }
    }
}

impl futures_core::Stream for Accepted {
    type Item = std::io::Result<TcpStream>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let listener = Arc::clone(&self.listener);
        let pending = self
            .pending
            .get_or_insert_with(|| Box::pin(async move { listener.accept().await }));
        let accepted = std::task::ready!(pending.as_mut().poll(cx));
        self.pending = None;
        std::task::Poll::Ready(Some(accepted.map(|(stream, _)| {
            if let Err(error) = stream.set_nodelay(true) {
                warn!(%error, "cannot set TCP_NODELAY on an incoming connection");
            }
            stream
        })))
    }
}

/// One server, with one set of TLS settings, on the shared listener, until
/// `stopped`.
async fn serve_generation<S: Submitter>(
    server: Server,
    inbound: Inbound<S>,
    listener: Arc<TcpListener>,
    stopped: oneshot::Receiver<()>,
) -> Result<(), RelayError> {
    let service = RelayServer::new(inbound)
        .max_decoding_message_size(MAX_ENVELOPE_SIZE)
        .max_encoding_message_size(MAX_ENVELOPE_SIZE);
    let incoming = Accepted::new(listener);
    let mut server = server;
    server
        .add_service(service)
        .serve_with_incoming_shutdown(incoming, async move {
            let _ = stopped.await;
        })
        .await
        .map_err(RelayError::Serve)
}

#[cfg(test)]
mod tests {
    use ehrx_client::fabric::protos::{gateway, google_rpc, peer};
    use ehrx_proto::exchange::Request as ExchangeRequest;

    use super::*;
    use crate::relay::envelope::test_signed_request;

    #[tokio::test]
    async fn a_server_that_stopped_does_not_take_the_next_connection_s_wake_up() {
        use futures_core::Stream as _;
        use std::{pin::Pin, task::Context};

        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let address = listener.local_addr().unwrap();
        let mut old = Accepted::new(Arc::clone(&listener));
        let mut new = Accepted::new(Arc::clone(&listener));
        // The serving stream waits for a connection...
        let served = tokio::spawn(async move {
            std::future::poll_fn(|cx| Pin::new(&mut new).poll_next(cx))
                .await
                .map(|accepted| accepted.is_ok())
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // ...and the stopping one polls once more, then goes away.
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(Pin::new(&mut old).poll_next(&mut cx).is_pending());
        drop(old);
        let _client = TcpStream::connect(address).await.unwrap();
        let accepted = tokio::time::timeout(Duration::from_secs(5), served)
            .await
            .expect("the serving stream was never woken")
            .unwrap();
        assert_eq!(accepted, Some(true));
    }

    fn endorse_error(code: tonic::Code, peer_messages: &[&str]) -> Error {
        let details = peer_messages
            .iter()
            .map(|message| prost_types::Any {
                type_url: "type.googleapis.com/gateway.ErrorDetail".into(),
                value: gateway::ErrorDetail {
                    address: "peer0:7051".into(),
                    msp_id: "Net2Org1MSP".into(),
                    message: (*message).into(),
                }
                .encode_to_vec(),
            })
            .collect();
        let rich = google_rpc::Status {
            code: code as i32,
            message: "failed to endorse transaction, see attached details for more info".into(),
            details,
        };
        let status = Status::with_details(
            code,
            "failed to endorse transaction, see attached details for more info",
            rich.encode_to_vec().into(),
        );
        Error::Endorse(CallError::new("tx1", status))
    }

    #[test]
    fn a_chaincode_refusal_is_final_and_carries_its_message() {
        let error = endorse_error(
            tonic::Code::Aborted,
            &["chaincode response 500, replay: request 1 was seen with other bytes"],
        );
        let status = status_for(&error);
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert_eq!(
            status.message(),
            "replay: request 1 was seen with other bytes"
        );
    }

    #[test]
    fn a_challenge_refused_alone_is_retried() {
        // One organisation's peer has not committed the challenge yet.
        let lagging = endorse_error(
            tonic::Code::Aborted,
            &[
                "chaincode response 500, [BAD_CHALLENGE] challenge: ab was not issued here or was already used",
            ],
        );
        let status = status_for(&lagging);
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(status.message().contains("BAD_CHALLENGE"), "{status:?}");
        // Another refusal beside it is final.
        let replay = endorse_error(
            tonic::Code::Aborted,
            &[
                "chaincode response 500, [BAD_CHALLENGE] challenge: ab was not issued here",
                "chaincode response 500, [REPLAY] request 1 was seen with other bytes",
            ],
        );
        assert_eq!(status_for(&replay).code(), tonic::Code::FailedPrecondition);
    }

    #[test]
    fn an_unreachable_network_is_retried() {
        let no_peers = endorse_error(tonic::Code::Unavailable, &[]);
        assert_eq!(status_for(&no_peers).code(), tonic::Code::Unavailable);
        let down = endorse_error(
            tonic::Code::Aborted,
            &["rpc error: code = Unavailable desc = connection refused"],
        );
        assert_eq!(status_for(&down).code(), tonic::Code::Unavailable);
        // A success status inside the message is no refusal.
        let odd = endorse_error(tonic::Code::Aborted, &["chaincode response 200, fine"]);
        assert_eq!(status_for(&odd).code(), tonic::Code::Unavailable);

        let mvcc = Error::Commit {
            transaction_id: "tx2".into(),
            code: peer::TxValidationCode::MvccReadConflict,
            block_number: 4,
        };
        let status = status_for(&mvcc);
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(status.message().contains("MVCC_READ_CONFLICT"));
        let submit = Error::Submit(CallError::new("tx3", Status::unavailable("orderer down")));
        assert_eq!(status_for(&submit).code(), tonic::Code::Unavailable);
    }

    #[test]
    fn an_envelope_needs_a_payload_an_attestation_and_a_readable_message() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let payload = test_signed_request(&ExchangeRequest {
            request_id: "r1".into(),
            source_network: "net1".into(),
            destination_network: "net2".into(),
            ..Default::default()
        });
        let good = ForwardedEnvelope::attest(
            ehrx_proto::exchange::forwarded_envelope::Payload::SignedRequest(payload),
            "net1",
            &key,
        );
        assert_eq!(check(&good).unwrap().request_id, "r1");

        let mut bare = good.clone();
        bare.attestation = None;
        assert_eq!(check(&bare), Err(EnvelopeError::MissingAttestation));
        let mut empty = good.clone();
        empty.payload = None;
        assert_eq!(check(&empty), Err(EnvelopeError::MissingPayload));
        let garbage = ForwardedEnvelope::attest(
            ehrx_proto::exchange::forwarded_envelope::Payload::SignedReply(vec![0xff]),
            "net1",
            &key,
        );
        assert!(matches!(
            check(&garbage),
            Err(EnvelopeError::Malformed { .. })
        ));
    }
}
