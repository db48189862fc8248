//! The entry point: a [`Gateway`] is one identity talking to one gateway
//! peer over a shared channel. From it come [`Network`]s (channels) and,
//! for offline signing, the stages rebuilt from bytes plus a signature made
//! elsewhere.
//!
//! All gRPC calls go through the crate-private `Client` of the `client`
//! module, so every stage that sends something shares its settings.

use std::sync::Arc;

use tonic::transport::Channel;

use super::{
    client::{BlockEventsKind, Client, Timeouts},
    commit::Commit,
    error::{Error, Signed},
    events::{BlockEventsRequest, ChaincodeEventsRequest},
    identity::SigningIdentity,
    network::Network,
    proposal::Proposal,
    transaction::Transaction,
};

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
        Self {
            client: Arc::new(Client::new(channel, identity, timeouts)),
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
        Proposal::from_signed(Arc::clone(&self.client), Signed { bytes, signature })
    }

    /// A transaction from [`Transaction::bytes`] and a signature over its
    /// [`Transaction::digest`] made elsewhere.
    pub fn new_signed_transaction(
        &self,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<Transaction, Error> {
        Transaction::from_signed(Arc::clone(&self.client), Signed { bytes, signature })
    }

    /// A commit-status request from [`Commit::bytes`] and a signature over
    /// its [`Commit::digest`] made elsewhere.
    pub fn new_signed_commit(&self, bytes: &[u8], signature: Vec<u8>) -> Result<Commit, Error> {
        Commit::from_signed(Arc::clone(&self.client), Signed { bytes, signature })
    }

    /// A chaincode events request from its bytes and a signature over its
    /// digest made elsewhere.
    pub fn new_signed_chaincode_events_request(
        &self,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<ChaincodeEventsRequest, Error> {
        ChaincodeEventsRequest::from_signed(Arc::clone(&self.client), Signed { bytes, signature })
    }

    /// A block events request of the given kind from its bytes and a
    /// signature over its digest made elsewhere.
    pub fn new_signed_block_events_request(
        &self,
        kind: BlockEventsKind,
        bytes: &[u8],
        signature: Vec<u8>,
    ) -> Result<BlockEventsRequest, Error> {
        BlockEventsRequest::from_signed(Arc::clone(&self.client), kind, Signed { bytes, signature })
    }
}
