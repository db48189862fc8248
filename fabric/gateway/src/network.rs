//! A [`Network`] is one channel seen through a gateway: where contracts
//! live and where block and chaincode events are read from.

use std::sync::Arc;

use super::{
    client::{BlockEventsKind, Client},
    commit::Commit,
    contract::Contract,
    events::{BlockEventsBuilder, ChaincodeEventsBuilder},
};

/// One channel of the Fabric network.
#[derive(Debug, Clone)]
pub struct Network {
    client: Arc<Client>,
    channel: String,
}

impl Network {
    pub(crate) fn new(client: Arc<Client>, channel: String) -> Self {
        Self { client, channel }
    }

    /// The channel name.
    pub fn name(&self) -> &str {
        &self.channel
    }

    /// A chaincode deployed on this channel, by its name.
    pub fn contract(&self, chaincode: impl Into<String>) -> Contract {
        Contract::new(
            Arc::clone(&self.client),
            self.channel.clone(),
            chaincode.into(),
            None,
        )
    }

    /// One named contract of a chaincode that holds several: its
    /// transactions are sent as `contract_name:function`.
    pub fn contract_with_name(
        &self,
        chaincode: impl Into<String>,
        contract_name: impl Into<String>,
    ) -> Contract {
        Contract::new(
            Arc::clone(&self.client),
            self.channel.clone(),
            chaincode.into(),
            Some(contract_name.into()),
        )
    }

    /// The commit of a transaction submitted through any gateway, as this
    /// gateway's peer sees it: [`Commit::status`] waits until this peer has
    /// committed it.
    pub fn commit(&self, transaction_id: impl Into<String>) -> Commit {
        Commit::new(
            Arc::clone(&self.client),
            self.channel.clone(),
            transaction_id.into(),
        )
    }

    /// Events emitted by one chaincode, through the gateway.
    pub fn chaincode_events(&self, chaincode: impl Into<String>) -> ChaincodeEventsBuilder {
        ChaincodeEventsBuilder::new(
            Arc::clone(&self.client),
            self.channel.clone(),
            chaincode.into(),
        )
    }

    /// Full blocks, through the peer's Deliver service.
    pub fn block_events(&self) -> BlockEventsBuilder {
        self.deliver(BlockEventsKind::Block)
    }

    /// Filtered blocks (transaction ids, validation codes, events without
    /// payloads), which need fewer rights than full blocks.
    pub fn filtered_block_events(&self) -> BlockEventsBuilder {
        self.deliver(BlockEventsKind::Filtered)
    }

    /// Blocks with the private data this identity's organisation may read.
    pub fn block_and_private_data_events(&self) -> BlockEventsBuilder {
        self.deliver(BlockEventsKind::WithPrivateData)
    }

    fn deliver(&self, kind: BlockEventsKind) -> BlockEventsBuilder {
        BlockEventsBuilder::new(Arc::clone(&self.client), self.channel.clone(), kind)
    }
}
