//! Event streams: chaincode events through the gateway's `ChaincodeEvents`
//! call, and blocks (full, filtered, or with private data) through the
//! peer's Deliver service.
//!
//! Both requests are signed like every other stage and expose their bytes
//! and digest. A stream starts at the next block to commit, at a given block,
//! or at a [`Checkpoint`]; streams do not resume by themselves after a peer
//! restart, so a listener recreates its request from its checkpointer.

use std::{collections::VecDeque, sync::Arc, time::SystemTime};

use ehrx_proto::{common, gateway, orderer, peer};
use prost::Message as _;

use super::{
    checkpoint::{Checkpoint, Checkpointer},
    error::{CallError, Error},
    gateway::Client,
};

/// One event a chaincode emitted in a committed, valid transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChaincodeEvent {
    /// The block of the transaction.
    pub block_number: u64,
    /// The transaction that emitted it.
    pub transaction_id: String,
    /// The chaincode that emitted it.
    pub chaincode_name: String,
    /// The name the chaincode gave it.
    pub event_name: String,
    /// Its payload.
    pub payload: Vec<u8>,
}

fn seek_block(number: u64) -> orderer::SeekPosition {
    orderer::SeekPosition {
        r#type: Some(orderer::seek_position::Type::Specified(
            orderer::SeekSpecified { number },
        )),
    }
}

fn seek_next_commit() -> orderer::SeekPosition {
    orderer::SeekPosition {
        r#type: Some(orderer::seek_position::Type::NextCommit(
            orderer::SeekNextCommit {},
        )),
    }
}

/// Builds a chaincode events request.
#[derive(Debug)]
pub struct ChaincodeEventsBuilder {
    client: Arc<Client>,
    channel: String,
    chaincode: String,
    start: Option<u64>,
    after_transaction_id: String,
}

impl ChaincodeEventsBuilder {
    pub(crate) fn new(client: Arc<Client>, channel: String, chaincode: String) -> Self {
        Self {
            client,
            channel,
            chaincode,
            start: None,
            after_transaction_id: String::new(),
        }
    }

    /// Start with the events of this block (default: the next block to commit).
    pub fn start_block(mut self, block_number: u64) -> Self {
        self.start = Some(block_number);
        self
    }

    /// Resume just after this checkpoint; overrides [`Self::start_block`].
    pub fn checkpoint(mut self, checkpoint: &Checkpoint) -> Self {
        self.start = Some(checkpoint.block_number);
        self.after_transaction_id = checkpoint.transaction_id.clone().unwrap_or_default();
        self
    }

    /// Resume from the checkpointer's position if it has one; otherwise
    /// keep the start block (or the next commit).
    pub fn checkpointer(self, checkpointer: &impl Checkpointer) -> Self {
        match checkpointer.checkpoint() {
            Some(checkpoint) => self.checkpoint(&checkpoint),
            None => self,
        }
    }

    /// The unsigned request.
    pub fn build(self) -> ChaincodeEventsRequest {
        let request = gateway::ChaincodeEventsRequest {
            channel_id: self.channel,
            chaincode_id: self.chaincode,
            identity: self.client.identity.creator().to_vec(),
            start_position: Some(self.start.map_or_else(seek_next_commit, seek_block)),
            after_transaction_id: self.after_transaction_id,
        };
        ChaincodeEventsRequest {
            client: self.client,
            signed: gateway::SignedChaincodeEventsRequest {
                request: request.encode_to_vec(),
                signature: Vec::new(),
            },
        }
    }
}

/// A request for one chaincode's events, signed on use unless a signature
/// was given.
#[derive(Debug, Clone)]
pub struct ChaincodeEventsRequest {
    client: Arc<Client>,
    signed: gateway::SignedChaincodeEventsRequest,
}

impl ChaincodeEventsRequest {
    pub(crate) fn from_signed_bytes(
        client: Arc<Client>,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<Self, Error> {
        let mut signed = gateway::SignedChaincodeEventsRequest::decode(bytes)
            .map_err(|e| Error::malformed("signed chaincode events request", e))?;
        gateway::ChaincodeEventsRequest::decode(signed.request.as_slice())
            .map_err(|e| Error::malformed("chaincode events request", e))?;
        signed.signature = signature;
        Ok(Self { client, signed })
    }

    /// The serialised `gateway.SignedChaincodeEventsRequest`, for offline signing.
    pub fn bytes(&self) -> Vec<u8> {
        self.signed.encode_to_vec()
    }

    /// What to sign: the digest of the inner request.
    pub fn digest(&self) -> Vec<u8> {
        self.client.identity.digest(&self.signed.request)
    }

    /// The request as sent: signed here unless a signature was given.
    pub(crate) fn signed_request(&self) -> Result<gateway::SignedChaincodeEventsRequest, Error> {
        let mut signed = self.signed.clone();
        if signed.signature.is_empty() {
            signed.signature = self.client.identity.sign(&self.digest())?;
        }
        Ok(signed)
    }

    /// Opens the stream.
    pub async fn events(&self) -> Result<ChaincodeEventStream, Error> {
        let inner = self.client.chaincode_events(self.signed_request()?).await?;
        Ok(ChaincodeEventStream {
            inner,
            pending: VecDeque::new(),
        })
    }
}

/// Chaincode events in commit order, one at a time.
#[derive(Debug)]
pub struct ChaincodeEventStream {
    inner: tonic::Streaming<gateway::ChaincodeEventsResponse>,
    pending: VecDeque<ChaincodeEvent>,
}

impl ChaincodeEventStream {
    /// The next event; `None` when the peer ended the stream.
    pub async fn next(&mut self) -> Option<Result<ChaincodeEvent, Error>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            match self.inner.message().await {
                Ok(Some(response)) => {
                    let block_number = response.block_number;
                    self.pending
                        .extend(response.events.into_iter().map(|event| ChaincodeEvent {
                            block_number,
                            transaction_id: event.tx_id,
                            chaincode_name: event.chaincode_id,
                            event_name: event.event_name,
                            payload: event.payload,
                        }));
                }
                Ok(None) => return None,
                Err(status) => return Some(Err(Error::Events(CallError::new("", status)))),
            }
        }
    }
}

/// Which of the peer's Deliver calls to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockEventsKind {
    /// `Deliver`: full blocks.
    Block,
    /// `DeliverFiltered`: blocks reduced to ids, codes and event names.
    Filtered,
    /// `DeliverWithPrivateData`: full blocks plus readable private data.
    WithPrivateData,
}

/// Everything a Deliver seek request is made of; kept as data so its
/// encoding can be checked against fixed inputs.
#[derive(Debug)]
pub(crate) struct SeekContent<'a> {
    pub channel: &'a str,
    pub creator: &'a [u8],
    pub start: Option<u64>,
    pub tls_certificate_hash: &'a [u8],
    pub timestamp: prost_types::Timestamp,
}

impl SeekContent<'_> {
    /// The serialised `common.Payload` of a DELIVER_SEEK_INFO envelope that
    /// asks for every block from the start on, waiting for new ones.
    pub(crate) fn encode(self) -> Vec<u8> {
        let channel_header = common::ChannelHeader {
            r#type: common::HeaderType::DeliverSeekInfo as i32,
            timestamp: Some(self.timestamp),
            channel_id: self.channel.to_string(),
            epoch: 0,
            tls_cert_hash: self.tls_certificate_hash.to_vec(),
            ..Default::default()
        };
        let signature_header = common::SignatureHeader {
            creator: self.creator.to_vec(),
            nonce: Vec::new(),
        };
        let seek = orderer::SeekInfo {
            start: Some(self.start.map_or_else(seek_next_commit, seek_block)),
            // The largest block number: an open-ended stream.
            stop: Some(seek_block(u64::MAX)),
            behavior: orderer::seek_info::SeekBehavior::BlockUntilReady as i32,
            ..Default::default()
        };
        common::Payload {
            header: Some(common::Header {
                channel_header: channel_header.encode_to_vec(),
                signature_header: signature_header.encode_to_vec(),
            }),
            data: seek.encode_to_vec(),
        }
        .encode_to_vec()
    }
}

/// Builds a block events request.
#[derive(Debug)]
pub struct BlockEventsBuilder {
    client: Arc<Client>,
    channel: String,
    kind: BlockEventsKind,
    start: Option<u64>,
    tls_certificate_hash: Vec<u8>,
}

impl BlockEventsBuilder {
    pub(crate) fn new(client: Arc<Client>, channel: String, kind: BlockEventsKind) -> Self {
        Self {
            client,
            channel,
            kind,
            start: None,
            tls_certificate_hash: Vec::new(),
        }
    }

    /// Start with this block (default: the next block to commit).
    pub fn start_block(mut self, block_number: u64) -> Self {
        self.start = Some(block_number);
        self
    }

    /// Resume from the checkpointer's position if it has one. Block
    /// listeners checkpoint whole blocks, so only the block number is used.
    pub fn checkpointer(mut self, checkpointer: &impl Checkpointer) -> Self {
        if let Some(checkpoint) = checkpointer.checkpoint() {
            self.start = Some(checkpoint.block_number);
        }
        self
    }

    /// The SHA-256 of the client's TLS certificate (DER), which peers that
    /// require mutual TLS check against the connection.
    pub fn tls_certificate_hash(mut self, hash: impl Into<Vec<u8>>) -> Self {
        self.tls_certificate_hash = hash.into();
        self
    }

    /// The unsigned request.
    pub fn build(self) -> BlockEventsRequest {
        let payload = SeekContent {
            channel: &self.channel,
            creator: self.client.identity.creator(),
            start: self.start,
            tls_certificate_hash: &self.tls_certificate_hash,
            timestamp: SystemTime::now().into(),
        }
        .encode();
        BlockEventsRequest {
            client: self.client,
            kind: self.kind,
            envelope: common::Envelope {
                payload,
                signature: Vec::new(),
            },
        }
    }
}

/// A signed request for blocks, signed on use unless a signature was given.
#[derive(Debug, Clone)]
pub struct BlockEventsRequest {
    client: Arc<Client>,
    kind: BlockEventsKind,
    envelope: common::Envelope,
}

impl BlockEventsRequest {
    pub(crate) fn from_signed_bytes(
        client: Arc<Client>,
        kind: BlockEventsKind,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<Self, Error> {
        let mut envelope =
            common::Envelope::decode(bytes).map_err(|e| Error::malformed("deliver envelope", e))?;
        common::Payload::decode(envelope.payload.as_slice())
            .map_err(|e| Error::malformed("deliver payload", e))?;
        envelope.signature = signature;
        Ok(Self {
            client,
            kind,
            envelope,
        })
    }

    /// Which Deliver call the request is for.
    pub fn kind(&self) -> BlockEventsKind {
        self.kind
    }

    /// The serialised `common.Envelope`, for offline signing.
    pub fn bytes(&self) -> Vec<u8> {
        self.envelope.encode_to_vec()
    }

    /// What to sign: the digest of the envelope payload.
    pub fn digest(&self) -> Vec<u8> {
        self.client.identity.digest(&self.envelope.payload)
    }

    /// The envelope as sent: signed here unless a signature was given.
    pub(crate) fn signed_envelope(&self) -> Result<common::Envelope, Error> {
        let mut envelope = self.envelope.clone();
        if envelope.signature.is_empty() {
            envelope.signature = self.client.identity.sign(&self.digest())?;
        }
        Ok(envelope)
    }

    /// Opens the stream.
    pub async fn events(&self) -> Result<BlockEventStream, Error> {
        let inner = self
            .client
            .deliver(self.kind, self.signed_envelope()?)
            .await?;
        Ok(BlockEventStream { inner })
    }
}

/// One message of a block stream.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockEvent {
    /// A full block.
    Block(common::Block),
    /// A filtered block.
    Filtered(peer::FilteredBlock),
    /// A block with private data.
    WithPrivateData(peer::BlockAndPrivateData),
}

impl BlockEvent {
    /// The block number.
    pub fn block_number(&self) -> u64 {
        match self {
            Self::Block(block) => block.header.as_ref().map_or(0, |h| h.number),
            Self::Filtered(block) => block.number,
            Self::WithPrivateData(data) => data
                .block
                .as_ref()
                .and_then(|block| block.header.as_ref())
                .map_or(0, |h| h.number),
        }
    }
}

/// Blocks in order, one at a time.
#[derive(Debug)]
pub struct BlockEventStream {
    inner: tonic::Streaming<peer::DeliverResponse>,
}

impl BlockEventStream {
    /// The next block; `None` when the peer ended the stream successfully.
    pub async fn next(&mut self) -> Option<Result<BlockEvent, Error>> {
        use peer::deliver_response::Type;
        loop {
            let response = match self.inner.message().await {
                Ok(Some(response)) => response,
                Ok(None) => return None,
                Err(status) => return Some(Err(Error::Events(CallError::new("", status)))),
            };
            return match response.r#type {
                Some(Type::Block(block)) => Some(Ok(BlockEvent::Block(block))),
                Some(Type::FilteredBlock(block)) => Some(Ok(BlockEvent::Filtered(block))),
                Some(Type::BlockAndPrivateData(data)) => {
                    Some(Ok(BlockEvent::WithPrivateData(data)))
                }
                Some(Type::Status(status)) if status == common::Status::Success as i32 => None,
                Some(Type::Status(status)) => Some(Err(Error::Deliver { status })),
                // A message type this client does not know: skip it.
                None => continue,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seek_payload_decodes_to_the_expected_fields() {
        let timestamp = prost_types::Timestamp {
            seconds: 42,
            nanos: 0,
        };
        let bytes = SeekContent {
            channel: "ehrchannel",
            creator: b"creator",
            start: Some(17),
            tls_certificate_hash: b"hash",
            timestamp,
        }
        .encode();
        let payload = common::Payload::decode(bytes.as_slice()).unwrap();
        let header = payload.header.unwrap();
        let channel_header =
            common::ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        assert_eq!(channel_header.r#type, 5);
        assert_eq!(channel_header.channel_id, "ehrchannel");
        assert_eq!(channel_header.timestamp, Some(timestamp));
        assert_eq!(channel_header.tls_cert_hash, b"hash");
        let signature_header =
            common::SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
        assert_eq!(signature_header.creator, b"creator");
        let seek = orderer::SeekInfo::decode(payload.data.as_slice()).unwrap();
        assert_eq!(seek.start, Some(seek_block(17)));
        assert_eq!(seek.stop, Some(seek_block(u64::MAX)));
        assert_eq!(seek.behavior, 0);

        let from_next = SeekContent {
            channel: "c",
            creator: b"",
            start: None,
            tls_certificate_hash: b"",
            timestamp,
        }
        .encode();
        let payload = common::Payload::decode(from_next.as_slice()).unwrap();
        let seek = orderer::SeekInfo::decode(payload.data.as_slice()).unwrap();
        assert_eq!(seek.start, Some(seek_next_commit()));
    }
}
