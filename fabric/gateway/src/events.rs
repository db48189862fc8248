//! Event streams: chaincode events through the gateway's `ChaincodeEvents`
//! call, and blocks (full, filtered, or with private data) through the
//! peer's Deliver service.
//!
//! Both requests are signed like every other stage and expose their bytes
//! and digest. A stream starts at the next block to commit, at a given block,
//! or at a [`Checkpoint`]; streams do not resume by themselves after a peer
//! restart, so a listener recreates its request from its checkpointer.
//!
//! Opening a stream returns at once. A Fabric peer sends the response
//! headers of an event call only with its first message, so awaiting the
//! call itself would block until the next matching block, which never
//! comes when the caller is the one about to submit it. Each stream's call
//! therefore runs in a task of its own that is started on open (so the
//! request is on its way before the caller submits anything) and hands
//! what it reads over a bounded channel: errors of the call arrive as the
//! stream's first item, a slow reader holds the peer back through HTTP/2
//! flow control, and dropping or [closing](ChaincodeEventStream::close)
//! the stream cancels the call.

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use hlf_protos::{common, gateway, orderer, peer};
use prost::Message as _;
use tokio::sync::mpsc;

use super::{
    chaincode_event::ChaincodeEvent,
    checkpoint::{Checkpoint, Checkpointer},
    client::{BlockEventsKind, Client},
    error::{CallError, Error, Signed, decode},
    signable,
};

/// How many events a stream holds for a reader that is busy elsewhere
/// before it stops reading from the peer.
const BUFFERED_EVENTS: usize = 64;

/// The reading end of an event call that runs in a task of its own.
#[derive(Debug)]
struct Feed<T> {
    receiver: mpsc::Receiver<Result<T, Error>>,
    task: tokio::task::AbortHandle,
    closed: bool,
}

impl<T: Send + 'static> Feed<T> {
    /// Starts `call` now, with `deadline` over the whole call if given.
    fn start<F>(
        deadline: Option<Duration>,
        call: impl FnOnce(mpsc::Sender<Result<T, Error>>) -> F,
    ) -> Result<Self, Error>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::Events(CallError::new(
                "",
                tonic::Status::failed_precondition("event streams need a Tokio runtime"),
            ))
        })?;
        let (sender, receiver) = mpsc::channel(BUFFERED_EVENTS);
        let body = call(sender.clone());
        let task = runtime.spawn(async move {
            let Some(deadline) = deadline else {
                return body.await;
            };
            if tokio::time::timeout(deadline, body).await.is_err() {
                let status = tonic::Status::deadline_exceeded(format!(
                    "the event stream's deadline of {deadline:?} passed"
                ));
                // A reader that has gone needs no reason.
                let _ = sender
                    .send(Err(Error::Events(CallError::new("", status))))
                    .await;
            }
        });
        Ok(Self {
            receiver,
            task: task.abort_handle(),
            closed: false,
        })
    }
}

/// The stream `open` resolves to, or `None` once its error went to the
/// reader.
async fn opened<S, T>(
    open: impl Future<Output = Result<S, Error>>,
    sender: &mpsc::Sender<Result<T, Error>>,
) -> Option<S> {
    match open.await {
        Ok(stream) => Some(stream),
        Err(error) => {
            // A reader that has gone needs no reason.
            let _ = sender.send(Err(error)).await;
            None
        }
    }
}

impl<T> Feed<T> {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, Error>>> {
        if self.closed {
            return Poll::Ready(None);
        }
        self.receiver.poll_recv(cx)
    }

    fn close(&mut self) {
        self.closed = true;
        self.task.abort();
        self.receiver.close();
    }
}

impl<T> Drop for Feed<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn events_error(status: tonic::Status) -> Error {
    Error::Events(CallError::new("", status))
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
            timeout: None,
        }
    }
}

/// A request for one chaincode's events, signed on use unless a signature
/// was given.
#[derive(Debug, Clone)]
pub struct ChaincodeEventsRequest {
    client: Arc<Client>,
    signed: gateway::SignedChaincodeEventsRequest,
    timeout: Option<Duration>,
}

impl ChaincodeEventsRequest {
    pub(crate) fn from_signed(client: Arc<Client>, from: Signed<'_>) -> Result<Self, Error> {
        let signed: gateway::SignedChaincodeEventsRequest =
            signable::from_signed(from, "signed chaincode events request")?;
        decode::<gateway::ChaincodeEventsRequest>(&signed.request, "chaincode events request")?;
        Ok(Self {
            client,
            signed,
            timeout: None,
        })
    }

    /// Ends the stream with a `DEADLINE_EXCEEDED` error once `timeout` has
    /// passed since it was opened (default: no deadline, the stream lives
    /// as long as the listener).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    signable::offline_signing!(signed: gateway::SignedChaincodeEventsRequest);

    /// Opens the stream and returns at once (see the [module](self) doc);
    /// only a failure to sign is returned here, the call's errors arrive
    /// from the stream.
    pub async fn events(&self) -> Result<ChaincodeEventStream, Error> {
        let signed = self.signed_message()?;
        let client = Arc::clone(&self.client);
        let timeout = self.timeout;
        let feed = Feed::start(timeout, move |sender| async move {
            let Some(mut responses) = opened(client.chaincode_events(signed), &sender).await else {
                return;
            };
            loop {
                let response = match responses.message().await {
                    Ok(Some(response)) => response,
                    Ok(None) => return,
                    Err(status) => {
                        let _ = sender.send(Err(events_error(status))).await;
                        return;
                    }
                };
                let block_number = response.block_number;
                for event in response.events {
                    let event = ChaincodeEvent {
                        block_number,
                        transaction_id: event.tx_id,
                        chaincode_name: event.chaincode_id,
                        event_name: event.event_name,
                        payload: event.payload,
                    };
                    if sender.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
            }
        })?;
        Ok(EventStream { feed })
    }
}

/// Events in order, one at a time; a [`Stream`](futures_core::Stream).
/// Dropping it cancels the call. [`ChaincodeEventStream`] yields
/// chaincode events in commit order, [`BlockEventStream`] blocks.
#[derive(Debug)]
pub struct EventStream<T> {
    feed: Feed<T>,
}

/// Chaincode events in commit order.
pub type ChaincodeEventStream = EventStream<ChaincodeEvent>;

impl<T> EventStream<T> {
    /// The next event; `None` when the peer ended the stream successfully
    /// or it was closed.
    pub async fn next(&mut self) -> Option<Result<T, Error>> {
        std::future::poll_fn(|cx| self.feed.poll_next(cx)).await
    }

    /// Cancels the call; the stream yields nothing more.
    pub fn close(&mut self) {
        self.feed.close();
    }
}

impl<T> futures_core::Stream for EventStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().feed.poll_next(cx)
    }
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
            timeout: None,
        }
    }
}

/// A signed request for blocks, signed on use unless a signature was given.
#[derive(Debug, Clone)]
pub struct BlockEventsRequest {
    client: Arc<Client>,
    kind: BlockEventsKind,
    envelope: common::Envelope,
    timeout: Option<Duration>,
}

impl BlockEventsRequest {
    pub(crate) fn from_signed(
        client: Arc<Client>,
        kind: BlockEventsKind,
        from: Signed<'_>,
    ) -> Result<Self, Error> {
        let envelope: common::Envelope = signable::from_signed(from, "deliver envelope")?;
        decode::<common::Payload>(&envelope.payload, "deliver payload")?;
        Ok(Self {
            client,
            kind,
            envelope,
            timeout: None,
        })
    }

    /// Ends the stream with a `DEADLINE_EXCEEDED` error once `timeout` has
    /// passed since it was opened (default: no deadline).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Which Deliver call the request is for.
    pub fn kind(&self) -> BlockEventsKind {
        self.kind
    }

    signable::offline_signing!(envelope: common::Envelope);

    /// Opens the stream and returns at once (see the [module](self) doc);
    /// only a failure to sign is returned here, the call's errors arrive
    /// from the stream.
    pub async fn events(&self) -> Result<BlockEventStream, Error> {
        let envelope = self.signed_message()?;
        let client = Arc::clone(&self.client);
        let (kind, timeout) = (self.kind, self.timeout);
        let feed = Feed::start(timeout, move |sender| async move {
            let Some(mut responses) = opened(client.deliver(kind, envelope), &sender).await else {
                return;
            };
            loop {
                let item = match responses.message().await {
                    Ok(Some(response)) => match delivered(response) {
                        Delivered::Event(event) => Ok(event),
                        Delivered::Skip => continue,
                        Delivered::End => return,
                        Delivered::Refused(status) => Err(Error::Deliver { status }),
                    },
                    Ok(None) => return,
                    Err(status) => Err(events_error(status)),
                };
                let last = item.is_err();
                if sender.send(item).await.is_err() || last {
                    return;
                }
            }
        })?;
        Ok(EventStream { feed })
    }
}

/// What one Deliver response means to the stream.
#[derive(Debug, PartialEq)]
enum Delivered {
    Event(BlockEvent),
    /// A message type this client does not know.
    Skip,
    /// The peer served the seek to its end.
    End,
    /// The peer refused the seek with this `common.Status`.
    Refused(i32),
}

fn delivered(response: peer::DeliverResponse) -> Delivered {
    use peer::deliver_response::Type;
    match response.r#type {
        Some(Type::Block(block)) => Delivered::Event(BlockEvent::Block(block)),
        Some(Type::FilteredBlock(block)) => Delivered::Event(BlockEvent::Filtered(block)),
        Some(Type::BlockAndPrivateData(data)) => {
            Delivered::Event(BlockEvent::WithPrivateData(data))
        }
        Some(Type::Status(status)) if status == common::Status::Success as i32 => Delivered::End,
        Some(Type::Status(status)) => Delivered::Refused(status),
        None => Delivered::Skip,
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

/// Blocks in order.
pub type BlockEventStream = EventStream<BlockEvent>;

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

    fn response(r#type: peer::deliver_response::Type) -> peer::DeliverResponse {
        peer::DeliverResponse {
            r#type: Some(r#type),
        }
    }

    #[test]
    fn deliver_responses_become_events_an_end_or_a_refusal() {
        use peer::deliver_response::Type;
        let filtered = peer::FilteredBlock {
            number: 4,
            ..Default::default()
        };
        assert_eq!(
            delivered(response(Type::FilteredBlock(filtered.clone()))),
            Delivered::Event(BlockEvent::Filtered(filtered))
        );
        assert_eq!(
            delivered(response(Type::Status(common::Status::Success as i32))),
            Delivered::End
        );
        assert_eq!(
            delivered(response(Type::Status(common::Status::Forbidden as i32))),
            Delivered::Refused(common::Status::Forbidden as i32)
        );
        assert_eq!(
            delivered(peer::DeliverResponse { r#type: None }),
            Delivered::Skip
        );
    }
}
