//! A [`Contract`] is one chaincode on one channel. Its `evaluate`, `submit`
//! and `submit_async` cover the usual cases in one call each; for transient
//! data, chosen endorsers or offline signing, [`Contract::proposal`] gives
//! the stages one by one.

use std::sync::Arc;

use super::{
    client::Client,
    commit::{Commit, Status},
    error::Error,
    proposal::ProposalBuilder,
};

/// No arguments, for functions that take none: `contract.evaluate("Ping", NO_ARGS)`.
pub const NO_ARGS: [&[u8]; 0] = [];

/// One chaincode on one channel, or one named contract inside it.
#[derive(Debug, Clone)]
pub struct Contract {
    client: Arc<Client>,
    channel: String,
    chaincode: String,
    /// A chaincode may hold several contracts; transaction names are then
    /// `contract:function`, and a bare name goes to its default contract.
    contract_name: Option<String>,
}

/// A transaction that was endorsed and handed to the orderer, whose commit
/// can be awaited later.
#[derive(Debug)]
pub struct Submitted {
    /// What the chaincode returned when endorsing it.
    pub result: Vec<u8>,
    /// The commit to await.
    pub commit: Commit,
}

/// A transaction that committed successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// What the chaincode returned when endorsing it.
    pub result: Vec<u8>,
    /// Where it committed.
    pub status: Status,
}

impl Contract {
    pub(crate) fn new(
        client: Arc<Client>,
        channel: String,
        chaincode: String,
        contract_name: Option<String>,
    ) -> Self {
        Self {
            client,
            channel,
            chaincode,
            contract_name,
        }
    }

    /// The chaincode name.
    pub fn chaincode(&self) -> &str {
        &self.chaincode
    }

    /// The contract inside the chaincode, if one was named.
    pub fn contract_name(&self) -> Option<&str> {
        self.contract_name.as_deref()
    }

    /// The transaction name the chaincode receives for `function`.
    fn transaction_name(&self, function: String) -> String {
        match &self.contract_name {
            Some(contract) => format!("{contract}:{function}"),
            None => function,
        }
    }

    /// The channel name.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// A proposal to call `function` (of the named contract, if any), to
    /// add arguments, transient data and endorsing organisations to.
    pub fn proposal(&self, function: impl Into<String>) -> ProposalBuilder {
        ProposalBuilder::new(
            Arc::clone(&self.client),
            self.channel.clone(),
            self.chaincode.clone(),
            self.transaction_name(function.into()),
        )
    }

    /// Runs `function` on one peer without ordering it (a query), and
    /// returns what the chaincode returned.
    pub async fn evaluate<A: AsRef<[u8]>>(
        &self,
        function: &str,
        args: impl IntoIterator<Item = A>,
    ) -> Result<Vec<u8>, Error> {
        self.proposal(function).args(args).build()?.evaluate().await
    }

    /// Endorses, submits and waits for the commit of `function`; an invalid
    /// commit is [`Error::Commit`].
    pub async fn submit<A: AsRef<[u8]>>(
        &self,
        function: &str,
        args: impl IntoIterator<Item = A>,
    ) -> Result<Committed, Error> {
        self.submit_with_transient(function, args, Vec::<(String, Vec<u8>)>::new())
            .await
    }

    /// Endorses and submits `function`, returning its result at once and a
    /// [`Commit`] to await.
    pub async fn submit_async<A: AsRef<[u8]>>(
        &self,
        function: &str,
        args: impl IntoIterator<Item = A>,
    ) -> Result<Submitted, Error> {
        self.submit_async_with_transient(function, args, Vec::<(String, Vec<u8>)>::new())
            .await
    }

    /// As [`submit`](Self::submit), with a transient map: data the
    /// chaincode reads but the transaction, and so the block, never holds.
    pub async fn submit_with_transient<A: AsRef<[u8]>>(
        &self,
        function: &str,
        args: impl IntoIterator<Item = A>,
        transient: impl IntoIterator<Item = (impl Into<String>, impl Into<Vec<u8>>)>,
    ) -> Result<Committed, Error> {
        let submitted = self
            .submit_async_with_transient(function, args, transient)
            .await?;
        let status = submitted.commit.status().await?.into_result()?;
        Ok(Committed {
            result: submitted.result,
            status,
        })
    }

    /// As [`submit_async`](Self::submit_async), with a transient map.
    pub async fn submit_async_with_transient<A: AsRef<[u8]>>(
        &self,
        function: &str,
        args: impl IntoIterator<Item = A>,
        transient: impl IntoIterator<Item = (impl Into<String>, impl Into<Vec<u8>>)>,
    ) -> Result<Submitted, Error> {
        let mut proposal = self.proposal(function).args(args);
        for (key, value) in transient {
            proposal = proposal.transient(key, value);
        }
        let transaction = proposal.build()?.endorse().await?;
        let result = transaction.result().to_vec();
        let commit = transaction.submit().await?;
        Ok(Submitted { result, commit })
    }
}
