//! The relay's two contacts with its own network, as traits: the chaincode
//! events it follows ([`EventSource`]), and the transactions it submits for
//! deliveries from other networks and the proofs of validation it has its
//! peers endorse for what it sends ([`Submitter`]).
//!
//! The relay's logic (routing, retries, checkpoints, error mapping) is
//! written against these traits so it can be exercised without a peer;
//! [`GatewayEvents`] and [`GatewaySubmitter`] are the implementations on
//! the Fabric gateway client that a running relay uses.

use std::future::Future;

use ehrx_client::ehr::interface;
use ehrx_client::fabric::protos::gateway;
use ehrx_client::proto::exchange::ValidationProof;
use prost::Message as _;

use ehrx_client::fabric::{
    ChaincodeEvent, ChaincodeEventStream, Checkpoint, Committed, Contract, Error, Network,
};

/// Where the chaincode's events come from.
pub trait EventSource: Send + Sync + 'static {
    /// The stream [`EventSource::open`] gives.
    type Stream: EventStream;

    /// Opens a stream of the events after `checkpoint`, or of every event
    /// from the first block when there is none, waiting for new ones.
    fn open(
        &self,
        checkpoint: Option<Checkpoint>,
    ) -> impl Future<Output = Result<Self::Stream, Error>> + Send;
}

/// Chaincode events in commit order.
pub trait EventStream: Send + 'static {
    /// The next event; `None` when the peer ended the stream.
    fn next(&mut self) -> impl Future<Output = Option<Result<ChaincodeEvent, Error>>> + Send;
}

/// Submits transactions to this network and has its peers endorse proofs.
pub trait Submitter: Clone + Send + Sync + 'static {
    /// Calls `function` with `args`, endorsed as the network's policy
    /// needs, and returns once the transaction committed valid
    /// ([`Error::Commit`] otherwise).
    fn submit(
        &self,
        function: &'static str,
        args: Vec<Vec<u8>>,
    ) -> impl Future<Output = Result<Committed, Error>> + Send;

    /// This network's proof that it validated the signed message hashed
    /// `signed_sha256` (hex) of exchange `request_id`, for another
    /// network's challenge `nonce`: `function` (`ProveRequest` or
    /// `ProveReply`) endorsed by the organisations' peers and never
    /// submitted, as a serialised `ValidationProof`.
    fn prove(
        &self,
        function: &'static str,
        request_id: &str,
        signed_sha256: &str,
        nonce: &str,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + Send;

    /// The signed message of exchange `request_id` as this network stored
    /// it: `function` (`GetSignedRequest` or `GetSignedReply`) evaluated,
    /// its base64 decoded.
    fn fetch(
        &self,
        function: &'static str,
        request_id: &str,
    ) -> impl Future<Output = Result<Vec<u8>, Error>> + Send;
}

/// Chaincode events through the gateway's `ChaincodeEvents` call.
#[derive(Debug, Clone)]
pub struct GatewayEvents {
    network: Network,
    chaincode: String,
    from_first_block: bool,
}

impl GatewayEvents {
    /// The events of `chaincode` on `network`; without a checkpoint, from
    /// the first block.
    pub fn new(network: Network, chaincode: impl Into<String>) -> Self {
        Self {
            network,
            chaincode: chaincode.into(),
            from_first_block: true,
        }
    }

    /// Without a checkpoint, the events from the next block on (a
    /// responder's: a request committed before it first ran has been
    /// answered by another, or is answered when one restarts).
    pub fn from_next_block(mut self) -> Self {
        self.from_first_block = false;
        self
    }
}

impl EventSource for GatewayEvents {
    type Stream = ChaincodeEventStream;

    async fn open(&self, checkpoint: Option<Checkpoint>) -> Result<ChaincodeEventStream, Error> {
        // The stream opens at once and says nothing of the peer until its
        // first event, so the peer is asked first: an open stream then
        // means a peer that answers this identity (the relay is ready).
        crate::ready::probe(&self.network).await?;
        // Without a checkpoint the relay has forwarded nothing yet, so it
        // starts from the first block rather than the next commit: anything
        // validated before the relay first ran is still delivered.
        let builder = self.network.chaincode_events(&self.chaincode);
        let builder = match &checkpoint {
            Some(checkpoint) => builder.checkpoint(checkpoint),
            None if self.from_first_block => builder.start_block(0),
            None => builder,
        };
        builder.build().events().await
    }
}

impl EventStream for ChaincodeEventStream {
    async fn next(&mut self) -> Option<Result<ChaincodeEvent, Error>> {
        ChaincodeEventStream::next(self).await
    }
}

/// Submits through the gateway, endorsed by the named organisations.
#[derive(Debug, Clone)]
pub struct GatewaySubmitter {
    contract: Contract,
    endorsing_organizations: Vec<String>,
}

impl GatewaySubmitter {
    /// Submits to `contract`, asking every organisation of
    /// `endorsing_organizations` (MSP ids) to endorse.
    pub fn new(contract: Contract, endorsing_organizations: Vec<String>) -> Self {
        Self {
            contract,
            endorsing_organizations,
        }
    }
}

impl Submitter for GatewaySubmitter {
    async fn submit(&self, function: &'static str, args: Vec<Vec<u8>>) -> Result<Committed, Error> {
        // The exchange's signed messages travel in the transient map.
        let transaction = interface::proposal(&self.contract, function, args)
            .endorsing_organizations(self.endorsing_organizations.iter().cloned())
            .build()?
            .endorse()
            .await?;
        let result = transaction.result().to_vec();
        let status = transaction.submit().await?.status().await?.into_result()?;
        Ok(Committed { result, status })
    }

    async fn prove(
        &self,
        function: &'static str,
        request_id: &str,
        signed_sha256: &str,
        nonce: &str,
    ) -> Result<Vec<u8>, Error> {
        self.endorse_proof(function, [request_id, signed_sha256, nonce])
            .await
    }

    async fn fetch(&self, function: &'static str, request_id: &str) -> Result<Vec<u8>, Error> {
        let result = self.contract.evaluate(function, [request_id]).await?;
        decode_signed(function, &result)
    }
}

/// The signed message in a `GetSignedRequest` or `GetSignedReply` result.
fn decode_signed(function: &'static str, result: &[u8]) -> Result<Vec<u8>, Error> {
    use base64::Engine as _;
    let message: interface::SignedMessage =
        serde_json::from_slice(result).map_err(|e| Error::malformed(function, e))?;
    base64::engine::general_purpose::STANDARD
        .decode(message.signed)
        .map_err(|e| Error::malformed(function, e))
}

impl GatewaySubmitter {
    async fn endorse_proof(
        &self,
        function: &'static str,
        args: [&str; 3],
    ) -> Result<Vec<u8>, Error> {
        let proposal = self
            .contract
            .proposal(function)
            .args(args)
            .endorsing_organizations(self.endorsing_organizations.iter().cloned())
            .build()?;
        // The proof carries the proposal exactly as the peers hashed it.
        let proposal_bytes = gateway::ProposedTransaction::decode(proposal.bytes().as_slice())
            .map_err(|e| Error::malformed("proposed transaction", e))?
            .proposal
            .unwrap_or_default()
            .proposal_bytes;
        let transaction = proposal.endorse().await?;
        let prepared = gateway::PreparedTransaction::decode(transaction.bytes().as_slice())
            .map_err(|e| Error::malformed("prepared transaction", e))?;
        let envelope = prepared.envelope.unwrap_or_default();
        let proof = ValidationProof::from_prepared(proposal_bytes, &envelope)
            .map_err(|e| Error::malformed("prepared transaction", e))?;
        Ok(proof.encode_to_vec())
    }
}
