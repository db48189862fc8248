//! An in-process stand-in for a Fabric peer's `Gateway` and `Deliver`
//! services, for the tests of gateway clients: one implementation of the
//! peer side of the protocol, with the chaincode's behaviour plugged in as
//! a [`Contract`].
//!
//! What it checks on the way in, as a peer does: every signature against
//! the creator's certificate (P-256 low-S or Ed25519, through
//! `hlf-identity`), the transaction id rule (SHA-256 of nonce and creator,
//! a 24-byte nonce), that Endorse and its proposal name the same
//! transaction. What it answers, in the peer's wire format: prepared
//! transactions, commit statuses once the transaction is in a block,
//! chaincode events and full or filtered blocks in order from any start
//! block. Like a real peer it keeps a chain: every submitted transaction
//! commits in a block of its own, and an event stream sends its response
//! headers only with its first message, so a stream opened before the
//! block it waits for exists is open but silent.
//!
//! The chaincode is any [`Contract`]: a test double, or (feature `shim`) a
//! real chaincode of `hlf-shim` on its in-memory ledger
//! ([`shim::ShimContract`]).
//!
//! It stands in for a peer only in unit and flow tests; the end-to-end
//! tests use real Fabric networks.

use std::{
    collections::HashMap,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
};

use hlf_identity::PublicKey;
use hlf_protos::{common, gateway, google_rpc, orderer, peer};
use prost::Message as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

pub use hlf_protos::peer::TxValidationCode;

#[cfg(feature = "shim")]
pub mod shim;

/// One proposal, decoded and checked.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The proposal's channel header (channel, transaction id, timestamp).
    pub channel_header: common::ChannelHeader,
    /// The proposal's signature header (creator, nonce).
    pub signature_header: common::SignatureHeader,
    /// The chaincode arguments; the first is the function name.
    pub args: Vec<Vec<u8>>,
    /// The transient data.
    pub transient: HashMap<String, Vec<u8>>,
    /// The organisations the client asked to endorse (Endorse only).
    pub endorsing_organizations: Vec<String>,
}

impl Invocation {
    /// The function name (the first argument), lossily as text.
    pub fn function(&self) -> String {
        self.args
            .first()
            .map(|name| String::from_utf8_lossy(name).into_owned())
            .unwrap_or_default()
    }

    /// Argument `index` (0 is the function name), or nothing.
    pub fn arg(&self, index: usize) -> &[u8] {
        self.args.get(index).map(Vec::as_slice).unwrap_or_default()
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> &str {
        &self.channel_header.tx_id
    }

    /// The serialized identity that signed the proposal.
    pub fn creator(&self) -> &[u8] {
        &self.signature_header.creator
    }
}

/// A chaincode event: its name and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event name.
    pub name: String,
    /// The payload.
    pub payload: Vec<u8>,
}

/// What the chaincode answered to an endorsement.
#[derive(Debug, Clone, Default)]
pub struct Endorsed {
    /// The chaincode's result.
    pub payload: Vec<u8>,
    /// The events to emit once the transaction commits. The first is the
    /// transaction's own (a transaction has at most one); each later one
    /// stands for a later transaction of someone else (a relay, say) and
    /// commits in a block of its own after it, with the id
    /// `<transaction id>-<n>`.
    pub events: Vec<Event>,
}

/// The chaincode behind the stand-in peer.
pub trait Contract: Send + Sync + 'static {
    /// A query (Evaluate): the result, or the status the gateway returns.
    fn evaluate(
        &self,
        invocation: Invocation,
    ) -> impl Future<Output = Result<Vec<u8>, Status>> + Send;

    /// An endorsement: the result and events, or the status the gateway
    /// returns. Nothing is committed until the client submits.
    fn endorse(
        &self,
        invocation: Invocation,
    ) -> impl Future<Output = Result<Endorsed, Status>> + Send;

    /// The validation code a submitted transaction commits with, decided
    /// when it is ordered; valid unless overridden.
    fn order(
        &self,
        _transaction_id: &str,
        _function: &str,
    ) -> impl Future<Output = TxValidationCode> + Send {
        async { TxValidationCode::Valid }
    }
}

/// One committed transaction.
#[derive(Debug, Clone)]
pub struct Committed {
    /// Its id.
    pub transaction_id: String,
    /// Its validation code.
    pub code: TxValidationCode,
    /// The envelope as submitted (empty for seeded transactions).
    pub envelope: common::Envelope,
    /// Its chaincode event, if valid and it emitted one.
    pub event: Option<peer::ChaincodeEvent>,
}

impl Committed {
    /// A valid transaction with an event of chaincode `chaincode`.
    pub fn with_event(transaction_id: &str, chaincode: &str, event: Event) -> Self {
        Self {
            transaction_id: transaction_id.to_string(),
            code: TxValidationCode::Valid,
            envelope: common::Envelope::default(),
            event: Some(peer::ChaincodeEvent {
                chaincode_id: chaincode.to_string(),
                tx_id: transaction_id.to_string(),
                event_name: event.name,
                payload: event.payload,
            }),
        }
    }
}

#[derive(Debug, Default)]
struct Chain {
    /// Block n holds `blocks[n]`.
    blocks: Vec<Vec<Committed>>,
    /// Endorsed, not yet submitted: chaincode, function and answer.
    endorsed: HashMap<String, (String, String, Endorsed)>,
    /// The organisations asked to endorse, per transaction.
    endorsers: HashMap<String, Vec<String>>,
}

impl Chain {
    fn block_of(&self, transaction_id: &str) -> Option<(u64, TxValidationCode)> {
        self.blocks.iter().enumerate().find_map(|(number, txs)| {
            txs.iter()
                .find(|tx| tx.transaction_id == transaction_id)
                .map(|tx| (number as u64, tx.code))
        })
    }
}

/// The stand-in peer. Clones share one chain.
#[derive(Debug)]
pub struct TestPeer<C> {
    contract: Arc<C>,
    chain: Arc<Mutex<Chain>>,
    /// The chain's height, for streams waiting for the next block.
    height: Arc<watch::Sender<u64>>,
    /// Event streams whose call is still going on.
    open_streams: Arc<AtomicUsize>,
    /// Refuse every event subscription, as a peer does for a creator
    /// without read access.
    refuse_events: Arc<AtomicBool>,
    /// End event streams after the blocks already committed, as when the
    /// peer restarts: listeners must reopen from where they were.
    end_streams: Arc<AtomicBool>,
}

impl<C> Clone for TestPeer<C> {
    fn clone(&self) -> Self {
        Self {
            contract: Arc::clone(&self.contract),
            chain: Arc::clone(&self.chain),
            height: Arc::clone(&self.height),
            open_streams: Arc::clone(&self.open_streams),
            refuse_events: Arc::clone(&self.refuse_events),
            end_streams: Arc::clone(&self.end_streams),
        }
    }
}

type EventStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

impl<C: Contract> TestPeer<C> {
    /// A peer with an empty chain (height 0) running `contract`.
    pub fn new(contract: C) -> Self {
        Self {
            contract: Arc::new(contract),
            chain: Arc::default(),
            height: Arc::new(watch::Sender::new(0)),
            open_streams: Arc::default(),
            refuse_events: Arc::default(),
            end_streams: Arc::default(),
        }
    }

    /// The contract.
    pub fn contract(&self) -> &C {
        &self.contract
    }

    fn chain(&self) -> MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a block, waking the streams that wait for it.
    pub fn commit_block(&self, transactions: Vec<Committed>) {
        let height = {
            let mut chain = self.chain();
            chain.blocks.push(transactions);
            chain.blocks.len() as u64
        };
        self.height.send_replace(height);
    }

    /// The chain's height.
    pub fn height(&self) -> u64 {
        *self.height.borrow()
    }

    /// The block and code of a committed transaction.
    pub fn committed(&self, transaction_id: &str) -> Option<(u64, TxValidationCode)> {
        self.chain().block_of(transaction_id)
    }

    /// Every committed transaction, in chain order.
    pub fn transactions(&self) -> Vec<Committed> {
        self.chain().blocks.iter().flatten().cloned().collect()
    }

    /// The organisations a client asked to endorse `transaction_id`.
    pub fn endorsers(&self, transaction_id: &str) -> Option<Vec<String>> {
        self.chain().endorsers.get(transaction_id).cloned()
    }

    /// How many event streams are being served.
    pub fn open_streams(&self) -> usize {
        self.open_streams.load(Ordering::SeqCst)
    }

    /// From now on, refuses every event subscription.
    pub fn refuse_events(&self) {
        self.refuse_events.store(true, Ordering::SeqCst);
    }

    /// From now on, ends every chaincode event stream after the blocks
    /// already committed.
    pub fn end_streams_at_the_head(&self) {
        self.end_streams.store(true, Ordering::SeqCst);
    }

    /// Serves this peer's Gateway and Deliver services on a loopback port
    /// of its own, in a task; returns the address.
    pub async fn serve(&self) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tonic::transport::Server::builder()
            .add_service(gateway::gateway_server::GatewayServer::new(self.clone()))
            .add_service(peer::deliver_server::DeliverServer::new(self.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
        tokio::spawn(server);
        Ok(address)
    }

    /// Serves blocks from `start` (or the next to commit) as they commit,
    /// each turned into at most one message by `message`. The response
    /// (and its headers) exists only once the first message does, as with
    /// a real peer; with `end_at_head`, the stream ends after the blocks
    /// committed so far instead of waiting for more.
    async fn serve_blocks<T: Send + 'static>(
        &self,
        start: Option<u64>,
        end_at_head: bool,
        message: impl Fn(u64, &[Committed]) -> Option<T> + Send + 'static,
    ) -> Result<Response<EventStream<T>>, Status> {
        let (sender, mut receiver) = mpsc::channel(4);
        let chain = Arc::clone(&self.chain);
        let mut height = self.height.subscribe();
        let head = *height.borrow();
        let open = Arc::clone(&self.open_streams);
        let mut number = start.unwrap_or(head);
        open.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            loop {
                if end_at_head && number >= head {
                    break;
                }
                tokio::select! {
                    reached = height.wait_for(|height| *height > number) => {
                        if reached.is_err() {
                            break;
                        }
                    }
                    () = sender.closed() => break,
                }
                let block = chain
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .blocks
                    .get(number as usize)
                    .cloned()
                    .unwrap_or_default();
                if let Some(message) = message(number, &block)
                    && sender.send(Ok(message)).await.is_err()
                {
                    break;
                }
                number += 1;
            }
            open.fetch_sub(1, Ordering::SeqCst);
        });
        let Some(first) = receiver.recv().await else {
            // Nothing to send and nothing to wait for: an empty stream.
            return Ok(Response::new(Box::pin(tokio_stream::empty())));
        };
        let first = first?;
        let rest = tokio_stream::wrappers::ReceiverStream::new(receiver);
        Ok(Response::new(Box::pin(tokio_stream::StreamExt::chain(
            tokio_stream::once(Ok(first)),
            rest,
        ))))
    }
}

/// Checks `signature` over `message` by the serialized identity `creator`,
/// as a peer's MSP does.
pub fn verify(creator: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Status> {
    let refuse = |what: String| Status::permission_denied(format!("bad signature: {what}"));
    let (_, key) =
        PublicKey::from_serialized_identity(creator).map_err(|e| refuse(e.to_string()))?;
    key.verify(message, signature)
        .map_err(|e| refuse(e.to_string()))
}

/// The gateway's message when the chaincode refused an evaluation; the
/// chaincode's answer follows it.
pub const EVALUATE_FAILED: &str = "evaluate call to endorser returned error";

/// The gateway's message when an endorsement failed; each endorser's
/// answer is in the status details.
pub const ENDORSE_FAILED: &str =
    "failed to endorse transaction, see attached details for more info";

/// How the gateway quotes a chaincode's answer with an error status.
pub fn chaincode_response(status: i32, message: &str) -> String {
    format!("chaincode response {status}, {message}")
}

/// A gRPC status with one `gateway.ErrorDetail` from `peer0.org1`, as the
/// gateway reports an endpoint's error.
pub fn status_with_detail(code: tonic::Code, message: &str, peer_message: &str) -> Status {
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

fn invalid(error: prost::DecodeError) -> Status {
    Status::invalid_argument(error.to_string())
}

/// The channel and signature headers of `header`, once its creator's
/// `signature` over `signed` (the bytes that carry the header) checks out.
fn signed_headers(
    header: &common::Header,
    signed: &[u8],
    signature: &[u8],
) -> Result<(common::ChannelHeader, common::SignatureHeader), Status> {
    let channel_header =
        common::ChannelHeader::decode(header.channel_header.as_slice()).map_err(invalid)?;
    let signature_header =
        common::SignatureHeader::decode(header.signature_header.as_slice()).map_err(invalid)?;
    verify(&signature_header.creator, signed, signature)?;
    Ok((channel_header, signature_header))
}

/// Decodes and checks a signed proposal as the peer would; returns the
/// invocation and the chaincode it names.
fn check_proposal(
    signed: Option<peer::SignedProposal>,
    endorsing_organizations: Vec<String>,
) -> Result<(String, Invocation), Status> {
    let signed = signed.ok_or_else(|| Status::invalid_argument("no proposal"))?;
    let proposal = peer::Proposal::decode(signed.proposal_bytes.as_slice()).map_err(invalid)?;
    let header = common::Header::decode(proposal.header.as_slice()).map_err(invalid)?;
    let (channel_header, signature_header) =
        signed_headers(&header, &signed.proposal_bytes, &signed.signature)?;
    let mut joined = signature_header.nonce.clone();
    joined.extend_from_slice(&signature_header.creator);
    if channel_header.tx_id != hex::encode(Sha256::digest(&joined))
        || signature_header.nonce.len() != 24
    {
        return Err(Status::invalid_argument("transaction id does not match"));
    }
    let payload =
        peer::ChaincodeProposalPayload::decode(proposal.payload.as_slice()).map_err(invalid)?;
    let spec = peer::ChaincodeInvocationSpec::decode(payload.input.as_slice())
        .map_err(invalid)?
        .chaincode_spec
        .unwrap_or_default();
    let chaincode = spec.chaincode_id.unwrap_or_default().name;
    Ok((
        chaincode,
        Invocation {
            channel_header,
            signature_header,
            args: spec.input.unwrap_or_default().args,
            transient: payload.transient_map,
            endorsing_organizations,
        },
    ))
}

/// The prepared transaction a gateway returns from Endorse: one action
/// whose chaincode response is `result` (no endorsements), under the
/// proposal's headers, unsigned.
pub fn prepared_transaction(
    channel_header: &common::ChannelHeader,
    signature_header: &common::SignatureHeader,
    result: &[u8],
) -> common::Envelope {
    let chaincode_action = peer::ChaincodeAction {
        response: Some(peer::Response {
            status: 200,
            message: String::new(),
            payload: result.to_vec(),
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
            channel_header: channel_header.encode_to_vec(),
            signature_header: signature_header.encode_to_vec(),
        }),
        data: peer::Transaction {
            actions: vec![peer::TransactionAction {
                header: Vec::new(),
                payload: action.encode_to_vec(),
            }],
        }
        .encode_to_vec(),
    };
    common::Envelope {
        payload: payload.encode_to_vec(),
        signature: Vec::new(),
    }
}

/// Decodes and checks a Deliver seek request; returns its channel and
/// start block.
async fn seek(
    request: Request<Streaming<common::Envelope>>,
) -> Result<(String, Option<u64>), Status> {
    let mut requests = request.into_inner();
    let envelope = requests
        .message()
        .await?
        .ok_or_else(|| Status::invalid_argument("no seek request"))?;
    let payload = common::Payload::decode(envelope.payload.as_slice()).map_err(invalid)?;
    let header = payload.header.unwrap_or_default();
    let (channel_header, _) = signed_headers(&header, &envelope.payload, &envelope.signature)?;
    if channel_header.r#type != common::HeaderType::DeliverSeekInfo as i32 {
        return Err(Status::invalid_argument("not a seek request"));
    }
    let seek = orderer::SeekInfo::decode(payload.data.as_slice()).map_err(invalid)?;
    Ok((channel_header.channel_id, specified(seek.start)))
}

fn specified(position: Option<orderer::SeekPosition>) -> Option<u64> {
    match position.and_then(|p| p.r#type) {
        Some(orderer::seek_position::Type::Specified(s)) => Some(s.number),
        _ => None,
    }
}

#[tonic::async_trait]
impl<C: Contract> gateway::gateway_server::Gateway for TestPeer<C> {
    async fn evaluate(
        &self,
        request: Request<gateway::EvaluateRequest>,
    ) -> Result<Response<gateway::EvaluateResponse>, Status> {
        let (_, invocation) =
            check_proposal(request.into_inner().proposed_transaction, Vec::new())?;
        let payload = self.contract.evaluate(invocation).await?;
        Ok(Response::new(gateway::EvaluateResponse {
            result: Some(peer::Response {
                status: 200,
                message: String::new(),
                payload,
            }),
        }))
    }

    async fn endorse(
        &self,
        request: Request<gateway::EndorseRequest>,
    ) -> Result<Response<gateway::EndorseResponse>, Status> {
        let request = request.into_inner();
        let (chaincode, invocation) = check_proposal(
            request.proposed_transaction,
            request.endorsing_organizations.clone(),
        )?;
        if request.transaction_id != invocation.channel_header.tx_id {
            return Err(Status::invalid_argument("request and proposal ids differ"));
        }
        let function = invocation.function();
        let headers = (
            invocation.channel_header.clone(),
            invocation.signature_header.clone(),
        );
        let endorsed = self.contract.endorse(invocation).await?;
        let prepared = prepared_transaction(&headers.0, &headers.1, &endorsed.payload);
        let mut chain = self.chain();
        chain.endorsers.insert(
            request.transaction_id.clone(),
            request.endorsing_organizations,
        );
        chain
            .endorsed
            .insert(request.transaction_id, (chaincode, function, endorsed));
        Ok(Response::new(gateway::EndorseResponse {
            prepared_transaction: Some(prepared),
        }))
    }

    /// Orders the transaction into a block of its own (and each further
    /// event into one more block after it).
    async fn submit(
        &self,
        request: Request<gateway::SubmitRequest>,
    ) -> Result<Response<gateway::SubmitResponse>, Status> {
        let request = request.into_inner();
        let envelope = request.prepared_transaction.unwrap_or_default();
        let payload = common::Payload::decode(envelope.payload.as_slice()).map_err(invalid)?;
        let header = payload.header.unwrap_or_default();
        signed_headers(&header, &envelope.payload, &envelope.signature)?;
        let endorsed = self.chain().endorsed.remove(&request.transaction_id);
        let (chaincode, function, endorsed) =
            endorsed.ok_or_else(|| Status::not_found("never endorsed"))?;
        let code = self
            .contract
            .order(&request.transaction_id, &function)
            .await;
        let id = request.transaction_id;
        let mut events = endorsed.events.into_iter();
        // Peers keep the events of valid transactions only.
        let own = events.next().filter(|_| code == TxValidationCode::Valid);
        let mut transaction = match own {
            Some(event) => Committed::with_event(&id, &chaincode, event),
            None => Committed {
                transaction_id: id.clone(),
                code,
                envelope: common::Envelope::default(),
                event: None,
            },
        };
        transaction.code = code;
        transaction.envelope = envelope;
        self.commit_block(vec![transaction]);
        if code == TxValidationCode::Valid {
            for (n, event) in events.enumerate() {
                let later = format!("{id}-{}", n + 1);
                self.commit_block(vec![Committed::with_event(&later, &chaincode, event)]);
            }
        }
        Ok(Response::new(gateway::SubmitResponse {}))
    }

    async fn commit_status(
        &self,
        request: Request<gateway::SignedCommitStatusRequest>,
    ) -> Result<Response<gateway::CommitStatusResponse>, Status> {
        let signed = request.into_inner();
        let inner =
            gateway::CommitStatusRequest::decode(signed.request.as_slice()).map_err(invalid)?;
        verify(&inner.identity, &signed.request, &signed.signature)?;
        // As a peer does, wait until the transaction is in a block.
        let mut height = self.height.subscribe();
        let (block_number, code) = loop {
            let seen = *height.borrow_and_update();
            if let Some(found) = self.chain().block_of(&inner.transaction_id) {
                break found;
            }
            height
                .wait_for(|height| *height > seen)
                .await
                .map_err(|_| Status::unavailable("the peer stopped"))?;
        };
        Ok(Response::new(gateway::CommitStatusResponse {
            result: code as i32,
            block_number,
        }))
    }

    type ChaincodeEventsStream = EventStream<gateway::ChaincodeEventsResponse>;

    /// The events of one chaincode, block by block from the start (blocks
    /// without any are skipped), honouring `after_transaction_id` as the
    /// gateway does.
    async fn chaincode_events(
        &self,
        request: Request<gateway::SignedChaincodeEventsRequest>,
    ) -> Result<Response<Self::ChaincodeEventsStream>, Status> {
        if self.refuse_events.load(Ordering::SeqCst) {
            return Err(Status::permission_denied("access denied: no read access"));
        }
        let signed = request.into_inner();
        let inner =
            gateway::ChaincodeEventsRequest::decode(signed.request.as_slice()).map_err(invalid)?;
        verify(&inner.identity, &signed.request, &signed.signature)?;
        let start = specified(inner.start_position);
        let (chaincode, after) = (inner.chaincode_id, inner.after_transaction_id);
        let end_at_head = self.end_streams.load(Ordering::SeqCst);
        self.serve_blocks(start, end_at_head, move |number, block| {
            let mut skipping = Some(number) == start && !after.is_empty();
            let mut events = Vec::new();
            for tx in block {
                if skipping {
                    skipping = tx.transaction_id != after;
                    continue;
                }
                events.extend(
                    tx.event
                        .clone()
                        .filter(|event| event.chaincode_id == chaincode),
                );
            }
            (!events.is_empty()).then_some(gateway::ChaincodeEventsResponse {
                events,
                block_number: number,
            })
        })
        .await
    }
}

#[tonic::async_trait]
impl<C: Contract> peer::deliver_server::Deliver for TestPeer<C> {
    type DeliverStream = EventStream<peer::DeliverResponse>;
    type DeliverFilteredStream = EventStream<peer::DeliverResponse>;
    type DeliverWithPrivateDataStream = EventStream<peer::DeliverResponse>;

    /// Full blocks: a header with the number, and each transaction's
    /// envelope as submitted.
    async fn deliver(
        &self,
        request: Request<Streaming<common::Envelope>>,
    ) -> Result<Response<Self::DeliverStream>, Status> {
        let (_, start) = seek(request).await?;
        self.serve_blocks(start, false, |number, block| {
            Some(peer::DeliverResponse {
                r#type: Some(peer::deliver_response::Type::Block(common::Block {
                    header: Some(common::BlockHeader {
                        number,
                        ..Default::default()
                    }),
                    data: Some(common::BlockData {
                        data: block.iter().map(|tx| tx.envelope.encode_to_vec()).collect(),
                    }),
                    metadata: None,
                })),
            })
        })
        .await
    }

    /// Filtered blocks: transaction ids and validation codes.
    async fn deliver_filtered(
        &self,
        request: Request<Streaming<common::Envelope>>,
    ) -> Result<Response<Self::DeliverFilteredStream>, Status> {
        let (channel_id, start) = seek(request).await?;
        self.serve_blocks(start, false, move |number, block| {
            Some(peer::DeliverResponse {
                r#type: Some(peer::deliver_response::Type::FilteredBlock(
                    peer::FilteredBlock {
                        channel_id: channel_id.clone(),
                        number,
                        filtered_transactions: block
                            .iter()
                            .map(|tx| peer::FilteredTransaction {
                                txid: tx.transaction_id.clone(),
                                r#type: common::HeaderType::EndorserTransaction as i32,
                                tx_validation_code: tx.code as i32,
                                data: None,
                            })
                            .collect(),
                    },
                )),
            })
        })
        .await
    }

    async fn deliver_with_private_data(
        &self,
        _request: Request<Streaming<common::Envelope>>,
    ) -> Result<Response<Self::DeliverWithPrivateDataStream>, Status> {
        Err(Status::permission_denied("no access to private data"))
    }
}
