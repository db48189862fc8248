//! The relay's two contacts with its own network, as traits: the chaincode
//! events it follows ([`EventSource`]) and the transactions it submits for
//! deliveries from other networks ([`Submitter`]).
//!
//! The relay's logic (routing, retries, checkpoints, error mapping) is
//! written against these traits so it can be exercised without a peer;
//! [`GatewayEvents`] and [`GatewaySubmitter`] are the implementations on
//! the Fabric gateway client that a running relay uses.

use std::future::Future;

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

/// Submits a transaction and waits for its commit.
pub trait Submitter: Send + Sync + 'static {
    /// Calls `function` with the one argument `argument`, endorsed as the
    /// network's policy needs, and returns once the transaction committed
    /// valid ([`Error::Commit`] otherwise).
    fn submit(
        &self,
        function: &'static str,
        argument: Vec<u8>,
    ) -> impl Future<Output = Result<Committed, Error>> + Send;
}

/// Chaincode events through the gateway's `ChaincodeEvents` call.
#[derive(Debug, Clone)]
pub struct GatewayEvents {
    network: Network,
    chaincode: String,
}

impl GatewayEvents {
    /// The events of `chaincode` on `network`.
    pub fn new(network: Network, chaincode: impl Into<String>) -> Self {
        Self {
            network,
            chaincode: chaincode.into(),
        }
    }
}

impl EventSource for GatewayEvents {
    type Stream = ChaincodeEventStream;

    async fn open(&self, checkpoint: Option<Checkpoint>) -> Result<ChaincodeEventStream, Error> {
        // Without a checkpoint the relay has forwarded nothing yet, so it
        // starts from the first block rather than the next commit: anything
        // validated before the relay first ran is still delivered.
        let builder = self
            .network
            .chaincode_events(&self.chaincode)
            .start_block(0);
        let builder = match &checkpoint {
            Some(checkpoint) => builder.checkpoint(checkpoint),
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
    async fn submit(&self, function: &'static str, argument: Vec<u8>) -> Result<Committed, Error> {
        let transaction = self
            .contract
            .proposal(function)
            .arg(argument)
            .endorsing_organizations(self.endorsing_organizations.iter().cloned())
            .build()?
            .endorse()
            .await?;
        let result = transaction.result().to_vec();
        let status = transaction.submit().await?.status().await?.into_result()?;
        Ok(Committed { result, status })
    }
}
