//! The gateway client over real gRPC, against an in-process stand-in for a
//! peer's Gateway and Deliver services. The stand-in checks what a peer
//! checks on the way in (every signature against the creator certificate,
//! the transaction id rule, low-S) and answers in the peer's wire format,
//! including gRPC statuses carrying `gateway.ErrorDetail`s. It stands in for
//! the real peer only here; the end-to-end tests in `tests/` use real ones.

#![cfg(test)]

use std::{
    collections::HashMap,
    pin::Pin,
    str::FromStr as _,
    sync::{Arc, Mutex},
    time::Duration,
};

use ehrx_client::fabric::{
    Checkpointer as _, Error, FileCheckpointer, Gateway, Identity, NO_ARGS, P256Signer,
    SigningIdentity, Timeouts,
};
use ehrx_proto::{common, gateway, google_rpc, msp, orderer, peer};
use p256::{ecdsa::signature::Verifier as _, pkcs8::LineEnding};
use prost::Message as _;
use sha2::{Digest as _, Sha256};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use x509_cert::{
    builder::{Builder as _, CertificateBuilder, profile::cabf::Root},
    der::{DecodePem as _, EncodePem as _},
    name::Name,
    serial_number::SerialNumber,
    spki::SubjectPublicKeyInfoOwned,
    time::Validity,
};

const CHANNEL: &str = "ehrchannel";
const CHAINCODE: &str = "ehr";

/// Checks `signature` over `message` by the serialized identity `creator`,
/// as a peer's MSP does: P-256, SHA-256, DER, low S.
fn verify(creator: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Status> {
    let refuse = |what: &str| Status::permission_denied(format!("bad signature: {what}"));
    let identity = msp::SerializedIdentity::decode(creator).map_err(|_| refuse("creator"))?;
    let certificate =
        x509_cert::Certificate::from_pem(&identity.id_bytes).map_err(|_| refuse("certificate"))?;
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(
        certificate
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    )
    .map_err(|_| refuse("key"))?;
    let signature = p256::ecdsa::Signature::from_der(signature).map_err(|_| refuse("DER"))?;
    if signature.normalize_s() != signature {
        return Err(refuse("high S"));
    }
    key.verify(message, &signature)
        .map_err(|_| refuse("verify"))
}

/// A gRPC status with one `gateway.ErrorDetail`, as the gateway sends.
fn status_with_detail(code: tonic::Code, message: &str, peer_message: &str) -> Status {
    let detail = gateway::ErrorDetail {
        address: "peer0.org1:7051".into(),
        msp_id: "Net1Org1MSP".into(),
        message: peer_message.into(),
    };
    let rich = google_rpc::Status {
        code: code as i32,
        message: message.into(),
        details: vec![prost_types::Any {
            type_url: "type.googleapis.com/gateway.ErrorDetail".into(),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(code, message, rich.encode_to_vec().into())
}

struct Invocation {
    channel_header: common::ChannelHeader,
    signature_header: common::SignatureHeader,
    args: Vec<Vec<u8>>,
    transient: HashMap<String, Vec<u8>>,
}

/// Decodes and checks a signed proposal as the peer would.
fn check_proposal(signed: Option<peer::SignedProposal>) -> Result<Invocation, Status> {
    let bad = |e: prost::DecodeError| Status::invalid_argument(e.to_string());
    let signed = signed.ok_or_else(|| Status::invalid_argument("no proposal"))?;
    let proposal = peer::Proposal::decode(signed.proposal_bytes.as_slice()).map_err(bad)?;
    let header = common::Header::decode(proposal.header.as_slice()).map_err(bad)?;
    let channel_header =
        common::ChannelHeader::decode(header.channel_header.as_slice()).map_err(bad)?;
    let signature_header =
        common::SignatureHeader::decode(header.signature_header.as_slice()).map_err(bad)?;
    verify(
        &signature_header.creator,
        &signed.proposal_bytes,
        &signed.signature,
    )?;
    let mut joined = signature_header.nonce.clone();
    joined.extend_from_slice(&signature_header.creator);
    if channel_header.tx_id != hex::encode(Sha256::digest(&joined))
        || signature_header.nonce.len() != 24
    {
        return Err(Status::invalid_argument("transaction id does not match"));
    }
    let payload =
        peer::ChaincodeProposalPayload::decode(proposal.payload.as_slice()).map_err(bad)?;
    let spec = peer::ChaincodeInvocationSpec::decode(payload.input.as_slice())
        .map_err(bad)?
        .chaincode_spec
        .unwrap_or_default();
    Ok(Invocation {
        channel_header,
        signature_header,
        args: spec.input.unwrap_or_default().args,
        transient: payload.transient_map,
    })
}

/// What the chaincode "returns": the function name, the arguments and the
/// transient keys, joined.
fn chaincode_result(invocation: &Invocation) -> Vec<u8> {
    let mut parts: Vec<String> = invocation
        .args
        .iter()
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect();
    parts.extend(
        invocation
            .transient
            .keys()
            .map(|k| format!("transient:{k}")),
    );
    parts.join(",").into_bytes()
}

#[derive(Default)]
struct Ledger {
    /// Validation code per submitted transaction id.
    submitted: HashMap<String, peer::TxValidationCode>,
    /// Function name per endorsed transaction id.
    endorsed: HashMap<String, String>,
    /// Endorsing organisations asked for, per transaction id.
    endorsers: HashMap<String, Vec<String>>,
}

#[derive(Clone, Default)]
struct FakePeer {
    ledger: Arc<Mutex<Ledger>>,
}

type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl gateway::gateway_server::Gateway for FakePeer {
    async fn evaluate(
        &self,
        request: Request<gateway::EvaluateRequest>,
    ) -> Result<Response<gateway::EvaluateResponse>, Status> {
        let request = request.into_inner();
        let invocation = check_proposal(request.proposed_transaction)?;
        match invocation.args.first().map(Vec::as_slice) {
            Some(b"Fail") => Err(status_with_detail(
                tonic::Code::Unknown,
                "evaluate call to endorser returned error",
                "chaincode response 500, no such record",
            )),
            Some(b"Slow") => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Err(Status::internal("too late"))
            }
            // Bigger than tonic's default 4 MiB limit, well within Fabric's.
            Some(b"Big") => Ok(Response::new(gateway::EvaluateResponse {
                result: Some(peer::Response {
                    status: 200,
                    message: String::new(),
                    payload: vec![7; 6 * 1024 * 1024],
                }),
            })),
            _ => Ok(Response::new(gateway::EvaluateResponse {
                result: Some(peer::Response {
                    status: 200,
                    message: String::new(),
                    payload: chaincode_result(&invocation),
                }),
            })),
        }
    }

    async fn endorse(
        &self,
        request: Request<gateway::EndorseRequest>,
    ) -> Result<Response<gateway::EndorseResponse>, Status> {
        let request = request.into_inner();
        let invocation = check_proposal(request.proposed_transaction)?;
        if request.transaction_id != invocation.channel_header.tx_id {
            return Err(Status::invalid_argument("request and proposal ids differ"));
        }
        let function = String::from_utf8_lossy(&invocation.args[0]).into_owned();
        if function == "Deny" {
            return Err(status_with_detail(
                tonic::Code::Aborted,
                "failed to endorse transaction, see attached details for more info",
                "access denied: creator is not a registered requester",
            ));
        }
        let chaincode_action = peer::ChaincodeAction {
            response: Some(peer::Response {
                status: 200,
                message: String::new(),
                payload: chaincode_result(&invocation),
            }),
            ..Default::default()
        };
        let action = peer::ChaincodeActionPayload {
            chaincode_proposal_payload: Vec::new(),
            action: Some(peer::ChaincodeEndorsedAction {
                proposal_response_payload: peer::ProposalResponsePayload {
                    proposal_hash: vec![0; 32],
                    extension: chaincode_action.encode_to_vec(),
                }
                .encode_to_vec(),
                endorsements: Vec::new(),
            }),
        };
        let payload = common::Payload {
            header: Some(common::Header {
                channel_header: invocation.channel_header.encode_to_vec(),
                signature_header: invocation.signature_header.encode_to_vec(),
            }),
            data: peer::Transaction {
                actions: vec![peer::TransactionAction {
                    header: Vec::new(),
                    payload: action.encode_to_vec(),
                }],
            }
            .encode_to_vec(),
        };
        let mut ledger = self.ledger.lock().unwrap();
        ledger
            .endorsed
            .insert(request.transaction_id.clone(), function);
        ledger
            .endorsers
            .insert(request.transaction_id, request.endorsing_organizations);
        Ok(Response::new(gateway::EndorseResponse {
            prepared_transaction: Some(common::Envelope {
                payload: payload.encode_to_vec(),
                signature: Vec::new(),
            }),
        }))
    }

    async fn submit(
        &self,
        request: Request<gateway::SubmitRequest>,
    ) -> Result<Response<gateway::SubmitResponse>, Status> {
        let request = request.into_inner();
        let envelope = request.prepared_transaction.unwrap_or_default();
        let payload = common::Payload::decode(envelope.payload.as_slice())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let signature_header = common::SignatureHeader::decode(
            payload
                .header
                .unwrap_or_default()
                .signature_header
                .as_slice(),
        )
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
        verify(
            &signature_header.creator,
            &envelope.payload,
            &envelope.signature,
        )?;
        let mut ledger = self.ledger.lock().unwrap();
        let code = match ledger
            .endorsed
            .get(&request.transaction_id)
            .map(String::as_str)
        {
            Some("Conflict") => peer::TxValidationCode::MvccReadConflict,
            Some(_) => peer::TxValidationCode::Valid,
            None => return Err(Status::not_found("never endorsed")),
        };
        ledger.submitted.insert(request.transaction_id, code);
        Ok(Response::new(gateway::SubmitResponse {}))
    }

    async fn commit_status(
        &self,
        request: Request<gateway::SignedCommitStatusRequest>,
    ) -> Result<Response<gateway::CommitStatusResponse>, Status> {
        let signed = request.into_inner();
        let inner = gateway::CommitStatusRequest::decode(signed.request.as_slice())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        verify(&inner.identity, &signed.request, &signed.signature)?;
        let code = self
            .ledger
            .lock()
            .unwrap()
            .submitted
            .get(&inner.transaction_id)
            .copied()
            .ok_or_else(|| Status::not_found("no such transaction"))?;
        Ok(Response::new(gateway::CommitStatusResponse {
            result: code as i32,
            block_number: 5,
        }))
    }

    type ChaincodeEventsStream = EventStream<gateway::ChaincodeEventsResponse>;

    /// Blocks 5, 6 and 7 hold events `e5a`, `e5b`, `e6a`, `e7a`; the stream
    /// honours the start block and `after_transaction_id` as the gateway does.
    async fn chaincode_events(
        &self,
        request: Request<gateway::SignedChaincodeEventsRequest>,
    ) -> Result<Response<Self::ChaincodeEventsStream>, Status> {
        let signed = request.into_inner();
        let inner = gateway::ChaincodeEventsRequest::decode(signed.request.as_slice())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        verify(&inner.identity, &signed.request, &signed.signature)?;
        let start = match inner.start_position.and_then(|p| p.r#type) {
            Some(orderer::seek_position::Type::Specified(s)) => s.number,
            _ => 7,
        };
        let blocks: [(u64, &[&str]); 3] = [(5, &["e5a", "e5b"]), (6, &["e6a"]), (7, &["e7a"])];
        let mut responses = Vec::new();
        for (number, txs) in blocks.into_iter().filter(|(number, _)| *number >= start) {
            let mut skipping = number == start && !inner.after_transaction_id.is_empty();
            let mut events = Vec::new();
            for tx in txs {
                if skipping {
                    skipping = *tx != inner.after_transaction_id;
                    continue;
                }
                events.push(peer::ChaincodeEvent {
                    chaincode_id: inner.chaincode_id.clone(),
                    tx_id: (*tx).to_string(),
                    event_name: "Stored".into(),
                    payload: tx.as_bytes().to_vec(),
                });
            }
            responses.push(Ok(gateway::ChaincodeEventsResponse {
                events,
                block_number: number,
            }));
        }
        Ok(Response::new(Box::pin(tokio_stream::iter(responses))))
    }
}

#[tonic::async_trait]
impl peer::deliver_server::Deliver for FakePeer {
    type DeliverStream = EventStream<peer::DeliverResponse>;
    type DeliverFilteredStream = EventStream<peer::DeliverResponse>;
    type DeliverWithPrivateDataStream = EventStream<peer::DeliverResponse>;

    async fn deliver(
        &self,
        _request: Request<tonic::Streaming<common::Envelope>>,
    ) -> Result<Response<Self::DeliverStream>, Status> {
        Err(Status::unimplemented("full blocks are not served here"))
    }

    /// Answers one seek request with two filtered blocks from its start,
    /// then a SUCCESS status (as for a bounded seek).
    async fn deliver_filtered(
        &self,
        request: Request<tonic::Streaming<common::Envelope>>,
    ) -> Result<Response<Self::DeliverFilteredStream>, Status> {
        let mut requests = request.into_inner();
        let envelope = requests
            .message()
            .await?
            .ok_or_else(|| Status::invalid_argument("no seek request"))?;
        let payload = common::Payload::decode(envelope.payload.as_slice())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let header = payload.header.unwrap_or_default();
        let channel_header = common::ChannelHeader::decode(header.channel_header.as_slice())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        if channel_header.r#type != common::HeaderType::DeliverSeekInfo as i32 {
            return Err(Status::invalid_argument("not a seek request"));
        }
        let signature_header = common::SignatureHeader::decode(header.signature_header.as_slice())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        verify(
            &signature_header.creator,
            &envelope.payload,
            &envelope.signature,
        )?;
        let seek = orderer::SeekInfo::decode(payload.data.as_slice())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let start = match seek.start.and_then(|p| p.r#type) {
            Some(orderer::seek_position::Type::Specified(s)) => s.number,
            _ => 0,
        };
        let block = |number| {
            Ok(peer::DeliverResponse {
                r#type: Some(peer::deliver_response::Type::FilteredBlock(
                    peer::FilteredBlock {
                        channel_id: channel_header.channel_id.clone(),
                        number,
                        filtered_transactions: Vec::new(),
                    },
                )),
            })
        };
        let responses = vec![
            block(start),
            block(start + 1),
            Ok(peer::DeliverResponse {
                r#type: Some(peer::deliver_response::Type::Status(
                    common::Status::Success as i32,
                )),
            }),
        ];
        Ok(Response::new(Box::pin(tokio_stream::iter(responses))))
    }

    async fn deliver_with_private_data(
        &self,
        _request: Request<tonic::Streaming<common::Envelope>>,
    ) -> Result<Response<Self::DeliverWithPrivateDataStream>, Status> {
        Err(Status::permission_denied("no access to private data"))
    }
}

/// A P-256 key and its self-signed certificate.
fn credentials(seed: u8) -> (p256::ecdsa::SigningKey, String) {
    let key = p256::ecdsa::SigningKey::from_bytes(&[seed; 32].into()).unwrap();
    let spki = SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).unwrap();
    let subject = Name::from_str("CN=User1@org1.net1.example.com,O=org1,C=US").unwrap();
    let certificate = CertificateBuilder::new(
        Root::new(false, subject).unwrap(),
        SerialNumber::from(1u32),
        Validity::from_now(Duration::from_secs(3600)).unwrap(),
        spki,
    )
    .unwrap()
    .build::<_, p256::ecdsa::DerSignature>(&key)
    .unwrap()
    .to_pem(LineEnding::LF)
    .unwrap();
    (key, certificate)
}

/// Starts the fake peer; returns a gateway connected to it, the fake's
/// state, and the channel, which other gateways may share.
async fn start(timeouts: Timeouts) -> (Gateway, FakePeer, tonic::transport::Channel) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let fake = FakePeer::default();
    let server = tonic::transport::Server::builder()
        .add_service(gateway::gateway_server::GatewayServer::new(fake.clone()))
        .add_service(peer::deliver_server::DeliverServer::new(fake.clone()))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    let channel = ehrx_client::fabric::ConnectionBuilder::new(address.to_string())
        .connect()
        .await
        .unwrap();
    let (key, certificate) = credentials(1);
    let identity = SigningIdentity::new(
        Identity::new("Net1Org1MSP", certificate),
        Arc::new(P256Signer::new(key)),
    );
    (
        Gateway::with_timeouts(channel.clone(), identity, timeouts),
        fake,
        channel,
    )
}

#[tokio::test]
async fn evaluate_returns_the_chaincode_result() {
    let (gateway, _, _) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    assert_eq!(
        contract.evaluate("Get", ["k1", "k2"]).await.unwrap(),
        b"Get,k1,k2"
    );
    assert_eq!(contract.evaluate("Ping", NO_ARGS).await.unwrap(), b"Ping");
    // Fabric's 100 MiB limit, not tonic's 4 MiB default.
    assert_eq!(
        contract.evaluate("Big", NO_ARGS).await.unwrap().len(),
        6 * 1024 * 1024
    );
}

#[tokio::test]
async fn a_chaincode_error_on_evaluate_carries_the_peer_details() {
    let (gateway, _, _) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let error = contract.evaluate("Fail", ["x"]).await.unwrap_err();
    assert!(matches!(error, Error::Evaluate(_)), "{error}");
    assert_eq!(error.transaction_id().map(str::len), Some(64));
    assert_eq!(error.details().len(), 1);
    assert_eq!(
        error.details()[0].message,
        "chaincode response 500, no such record"
    );
}

#[tokio::test]
async fn the_evaluate_timeout_applies() {
    let timeouts = Timeouts {
        evaluate: Duration::from_millis(200),
        ..Timeouts::default()
    };
    let (gateway, _, _) = start(timeouts).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let started = std::time::Instant::now();
    let error = contract.evaluate("Slow", NO_ARGS).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    match error {
        // The client gives up (Cancelled) or the server honours the
        // propagated grpc-timeout (DeadlineExceeded), whichever comes first.
        Error::Evaluate(call) => assert!(
            matches!(
                call.status.code(),
                tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
            ),
            "{call}"
        ),
        other => panic!("expected an evaluate error, got {other}"),
    }
}

#[tokio::test]
async fn submit_endorses_signs_submits_and_waits_for_the_commit() {
    let (gateway, fake, _) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let committed = contract.submit("Put", ["k", "v"]).await.unwrap();
    assert_eq!(committed.result, b"Put,k,v");
    assert!(committed.status.is_successful());
    assert_eq!(committed.status.block_number, 5);
    assert!(
        fake.ledger
            .lock()
            .unwrap()
            .submitted
            .contains_key(&committed.status.transaction_id)
    );
}

#[tokio::test]
async fn a_commit_is_followed_by_its_transaction_id_alone() {
    // As when waiting for another peer to commit what this one submitted.
    let (gateway, _, _) = start(Timeouts::default()).await;
    let network = gateway.network(CHANNEL);
    let committed = network
        .contract(CHAINCODE)
        .submit("Put", ["k"])
        .await
        .unwrap();
    let id = committed.status.transaction_id.clone();
    let status = network.commit(id.clone()).status().await.unwrap();
    assert_eq!(status, committed.status);
    let unknown = network.commit("no-such-transaction").status().await;
    assert!(unknown.is_err(), "{unknown:?}");
}

#[tokio::test]
async fn submit_async_returns_the_result_before_the_commit() {
    let (gateway, _, _) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let submitted = contract.submit_async("Put", ["a"]).await.unwrap();
    assert_eq!(submitted.result, b"Put,a");
    let status = submitted.commit.status().await.unwrap();
    assert_eq!(status.transaction_id, submitted.commit.transaction_id());
    assert!(status.is_successful());
}

#[tokio::test]
async fn transient_data_and_endorsing_organizations_reach_the_gateway() {
    let (gateway, fake, _) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let transaction = contract
        .proposal("PutPrivate")
        .arg("k")
        .transient("record", b"{}".to_vec())
        .endorsing_organizations(["Net1Org1MSP", "Net1Org2MSP"])
        .build()
        .unwrap()
        .endorse()
        .await
        .unwrap();
    assert_eq!(transaction.result(), b"PutPrivate,k,transient:record");
    assert_eq!(
        fake.ledger.lock().unwrap().endorsers[transaction.transaction_id()],
        ["Net1Org1MSP", "Net1Org2MSP"]
    );
}

#[tokio::test]
async fn an_invalid_commit_is_a_commit_error_with_its_code() {
    let (gateway, _, _) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let error = contract.submit("Conflict", NO_ARGS).await.unwrap_err();
    match &error {
        Error::Commit {
            code, block_number, ..
        } => {
            assert_eq!(*code, peer::TxValidationCode::MvccReadConflict);
            assert_eq!(*block_number, 5);
        }
        other => panic!("expected a commit error, got {other}"),
    }
    assert!(error.to_string().contains("MVCC_READ_CONFLICT"));
}

#[tokio::test]
async fn a_refused_endorsement_is_an_endorse_error_with_details() {
    let (gateway, _, _) = start(Timeouts::default()).await;
    let contract = gateway.network(CHANNEL).contract(CHAINCODE);
    let error = contract.submit("Deny", NO_ARGS).await.unwrap_err();
    assert!(matches!(error, Error::Endorse(_)), "{error}");
    assert_eq!(error.details()[0].msp_id, "Net1Org1MSP");
    assert!(error.to_string().contains("access denied"), "{error}");
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_peer() {
    let (_, _, channel) = start(Timeouts::default()).await;
    // The certificate of key 1, signed with key 2.
    let (_, certificate) = credentials(1);
    let (other_key, _) = credentials(2);
    let impostor = Gateway::new(
        // The same connection, another identity: channels are shared.
        channel,
        SigningIdentity::new(
            Identity::new("Net1Org1MSP", certificate),
            Arc::new(P256Signer::new(other_key)),
        ),
    );
    let error = impostor
        .network(CHANNEL)
        .contract(CHAINCODE)
        .evaluate("Get", NO_ARGS)
        .await
        .unwrap_err();
    match error {
        Error::Evaluate(call) => {
            assert_eq!(call.status.code(), tonic::Code::PermissionDenied);
        }
        other => panic!("expected an evaluate error, got {other}"),
    }
}

#[tokio::test]
async fn chaincode_events_resume_from_a_file_checkpoint_without_loss_or_repeat() {
    let (gateway, _, _) = start(Timeouts::default()).await;
    let network = gateway.network(CHANNEL);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.json");

    // First listener: processes two events, then stops.
    let mut checkpointer = FileCheckpointer::open(&path).unwrap();
    let mut events = network
        .chaincode_events(CHAINCODE)
        .start_block(5)
        .checkpointer(&checkpointer)
        .build()
        .events()
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let event = events.next().await.unwrap().unwrap();
        seen.push(event.transaction_id.clone());
        checkpointer.checkpoint_chaincode_event(&event).unwrap();
    }
    drop(events);
    drop(checkpointer);

    // Second listener, recreated from the file.
    let checkpointer = FileCheckpointer::open(&path).unwrap();
    let mut events = network
        .chaincode_events(CHAINCODE)
        .start_block(5)
        .checkpointer(&checkpointer)
        .build()
        .events()
        .await
        .unwrap();
    while let Some(event) = events.next().await {
        seen.push(event.unwrap().transaction_id);
    }
    assert_eq!(seen, ["e5a", "e5b", "e6a", "e7a"]);
}

#[tokio::test]
async fn filtered_blocks_arrive_in_order_from_the_start_block() {
    let (gateway, _, _) = start(Timeouts::default()).await;
    let mut blocks = gateway
        .network(CHANNEL)
        .filtered_block_events()
        .start_block(3)
        .build()
        .events()
        .await
        .unwrap();
    let mut numbers = Vec::new();
    while let Some(block) = blocks.next().await {
        numbers.push(block.unwrap().block_number());
    }
    assert_eq!(numbers, [3, 4]);
}

#[tokio::test]
async fn a_refused_deliver_stream_is_an_events_error() {
    let (gateway, _, _) = start(Timeouts::default()).await;
    let result = gateway
        .network(CHANNEL)
        .block_and_private_data_events()
        .build()
        .events()
        .await;
    let error = match result {
        Ok(mut stream) => stream.next().await.unwrap().unwrap_err(),
        Err(error) => error,
    };
    assert!(matches!(error, Error::Events(_)), "{error}");
}
