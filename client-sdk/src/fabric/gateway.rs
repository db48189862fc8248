//! The entry point: a [`Gateway`] is one identity talking to one gateway
//! peer over a shared channel. From it come [`Network`]s (channels) and,
//! for offline signing, the stages rebuilt from bytes plus a signature made
//! elsewhere.
//!
//! All gRPC calls go through the crate-private `Client`, which holds the
//! tonic clients with Fabric's 100 MiB message limit and applies the default
//! per-call timeouts, so every stage that sends something shares them.

use std::{sync::Arc, time::Duration};

use ehrx_proto::{common, gateway, peer};
use tonic::transport::Channel;

use super::{
    commit::Commit,
    error::{CallError, Error},
    events::{BlockEventsKind, BlockEventsRequest, ChaincodeEventsRequest},
    identity::SigningIdentity,
    network::Network,
    proposal::Proposal,
    transaction::Transaction,
};

/// Fabric's gRPC message size limit (tonic's default is 4 MiB).
pub const MAX_MESSAGE_SIZE: usize = 100 * 1024 * 1024;

/// Default deadlines of the unary gateway calls. Event streams have none:
/// they live as long as the listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Evaluate: one peer runs the chaincode.
    pub evaluate: Duration,
    /// Endorse: several peers run the chaincode.
    pub endorse: Duration,
    /// Submit: the orderer accepts the transaction.
    pub submit: Duration,
    /// Commit status: waits until the transaction is in a block.
    pub commit_status: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            evaluate: Duration::from_secs(5),
            endorse: Duration::from_secs(15),
            submit: Duration::from_secs(5),
            commit_status: Duration::from_secs(60),
        }
    }
}

/// The gRPC side shared by every stage of one gateway.
#[derive(Debug)]
pub(crate) struct Client {
    gateway: gateway::gateway_client::GatewayClient<Channel>,
    deliver: peer::deliver_client::DeliverClient<Channel>,
    pub(crate) identity: SigningIdentity,
    timeouts: Timeouts,
}

fn request<T>(message: T, timeout: Option<Duration>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    request
}

impl Client {
    pub(crate) async fn evaluate(
        &self,
        message: gateway::EvaluateRequest,
    ) -> Result<gateway::EvaluateResponse, Error> {
        let transaction_id = message.transaction_id.clone();
        self.gateway
            .clone()
            .evaluate(request(message, Some(self.timeouts.evaluate)))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| Error::Evaluate(CallError::new(transaction_id, status)))
    }

    pub(crate) async fn endorse(
        &self,
        message: gateway::EndorseRequest,
    ) -> Result<gateway::EndorseResponse, Error> {
        let transaction_id = message.transaction_id.clone();
        self.gateway
            .clone()
            .endorse(request(message, Some(self.timeouts.endorse)))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| Error::Endorse(CallError::new(transaction_id, status)))
    }

    pub(crate) async fn submit(&self, message: gateway::SubmitRequest) -> Result<(), Error> {
        let transaction_id = message.transaction_id.clone();
        self.gateway
            .clone()
            .submit(request(message, Some(self.timeouts.submit)))
            .await
            .map(drop)
            .map_err(|status| Error::Submit(CallError::new(transaction_id, status)))
    }

    pub(crate) async fn commit_status(
        &self,
        transaction_id: &str,
        message: gateway::SignedCommitStatusRequest,
    ) -> Result<gateway::CommitStatusResponse, Error> {
        self.gateway
            .clone()
            .commit_status(request(message, Some(self.timeouts.commit_status)))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| Error::CommitStatus(CallError::new(transaction_id, status)))
    }

    pub(crate) async fn chaincode_events(
        &self,
        message: gateway::SignedChaincodeEventsRequest,
    ) -> Result<tonic::Streaming<gateway::ChaincodeEventsResponse>, Error> {
        self.gateway
            .clone()
            .chaincode_events(request(message, None))
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| Error::Events(CallError::new("", status)))
    }

    pub(crate) async fn deliver(
        &self,
        kind: BlockEventsKind,
        envelope: common::Envelope,
    ) -> Result<tonic::Streaming<peer::DeliverResponse>, Error> {
        use tokio_stream::StreamExt as _;
        // The peer reads the next seek request only after serving this one to
        // its end, which with an open-ended stop is never; the request side
        // stays open, as Fabric's own clients leave it, rather than
        // half-closing it.
        let requests = tokio_stream::once(envelope).chain(tokio_stream::pending());
        let mut deliver = self.deliver.clone();
        let response = match kind {
            BlockEventsKind::Block => deliver.deliver(requests).await,
            BlockEventsKind::Filtered => deliver.deliver_filtered(requests).await,
            BlockEventsKind::WithPrivateData => deliver.deliver_with_private_data(requests).await,
        };
        response
            .map(tonic::Response::into_inner)
            .map_err(|status| Error::Events(CallError::new("", status)))
    }
}

/// One identity's view of the Fabric network behind one gateway peer.
#[derive(Debug, Clone)]
pub struct Gateway {
    client: Arc<Client>,
}

impl Gateway {
    /// A gateway over `channel` (see [`ConnectionBuilder`](super::connection::ConnectionBuilder))
    /// signing as `identity`, with the default [`Timeouts`].
    pub fn new(channel: Channel, identity: SigningIdentity) -> Self {
        Self::with_timeouts(channel, identity, Timeouts::default())
    }

    /// As [`Self::new`], with other call deadlines.
    pub fn with_timeouts(channel: Channel, identity: SigningIdentity, timeouts: Timeouts) -> Self {
        let gateway = gateway::gateway_client::GatewayClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let deliver = peer::deliver_client::DeliverClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        Self {
            client: Arc::new(Client {
                gateway,
                deliver,
                identity,
                timeouts,
            }),
        }
    }

    /// The shared client, for tests that build stages directly.
    #[cfg(test)]
    pub(crate) fn client(&self) -> Arc<Client> {
        Arc::clone(&self.client)
    }

    /// The identity this gateway signs as.
    pub fn identity(&self) -> &SigningIdentity {
        &self.client.identity
    }

    /// A channel of the network, e.g. `ehrchannel`.
    pub fn network(&self, channel: impl Into<String>) -> Network {
        Network::new(Arc::clone(&self.client), channel.into())
    }

    /// A proposal from [`Proposal::bytes`] and a signature over its
    /// [`Proposal::digest`] made elsewhere.
    pub fn new_signed_proposal(&self, bytes: &[u8], signature: Vec<u8>) -> Result<Proposal, Error> {
        Proposal::from_signed_bytes(Arc::clone(&self.client), bytes, signature)
    }

    /// A transaction from [`Transaction::bytes`] and a signature over its
    /// [`Transaction::digest`] made elsewhere.
    pub fn new_signed_transaction(
        &self,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<Transaction, Error> {
        Transaction::from_signed_bytes(Arc::clone(&self.client), bytes, signature)
    }

    /// A commit-status request from [`Commit::bytes`] and a signature over
    /// its [`Commit::digest`] made elsewhere.
    pub fn new_signed_commit(&self, bytes: &[u8], signature: Vec<u8>) -> Result<Commit, Error> {
        Commit::from_signed_bytes(Arc::clone(&self.client), bytes, signature)
    }

    /// A chaincode events request from its bytes and a signature over its
    /// digest made elsewhere.
    pub fn new_signed_chaincode_events_request(
        &self,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<ChaincodeEventsRequest, Error> {
        ChaincodeEventsRequest::from_signed_bytes(Arc::clone(&self.client), bytes, signature)
    }

    /// A block events request of the given kind from its bytes and a
    /// signature over its digest made elsewhere.
    pub fn new_signed_block_events_request(
        &self,
        kind: BlockEventsKind,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<BlockEventsRequest, Error> {
        BlockEventsRequest::from_signed_bytes(Arc::clone(&self.client), kind, bytes, signature)
    }
}
