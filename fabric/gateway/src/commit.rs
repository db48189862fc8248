//! The last stage: waiting for a submitted transaction to be committed, and
//! learning its validation code and block.
//!
//! The request is a `gateway.CommitStatusRequest` signed by the client (the
//! gateway checks the caller may see the transaction); its bytes are the
//! `SignedCommitStatusRequest` and its digest covers the inner request.

use std::{sync::Arc, time::Duration};

use hlf_protos::{gateway, peer};
use prost::Message as _;

use super::{
    client::Client,
    error::{Error, Signed, decode},
    signable,
};

/// Where and how a transaction was committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The transaction.
    pub transaction_id: String,
    /// Its validation code; only `VALID` changed the world state.
    pub code: peer::TxValidationCode,
    /// The block it is in.
    pub block_number: u64,
}

impl Status {
    /// Whether the transaction is valid.
    pub fn is_successful(&self) -> bool {
        self.code == peer::TxValidationCode::Valid
    }

    /// The status if valid, else [`Error::Commit`].
    pub fn into_result(self) -> Result<Self, Error> {
        if self.is_successful() {
            Ok(self)
        } else {
            Err(Error::Commit {
                transaction_id: self.transaction_id,
                code: self.code,
                block_number: self.block_number,
            })
        }
    }
}

/// A submitted transaction whose commit can be awaited.
#[derive(Debug, Clone)]
pub struct Commit {
    client: Arc<Client>,
    transaction_id: String,
    signed: gateway::SignedCommitStatusRequest,
    /// Overrides the gateway's commit status deadline.
    timeout: Option<Duration>,
}

impl Commit {
    pub(crate) fn new(client: Arc<Client>, channel: String, transaction_id: String) -> Self {
        let request = gateway::CommitStatusRequest {
            transaction_id: transaction_id.clone(),
            channel_id: channel,
            identity: client.identity.creator().to_vec(),
        };
        Self {
            client,
            transaction_id,
            signed: gateway::SignedCommitStatusRequest {
                request: request.encode_to_vec(),
                signature: Vec::new(),
            },
            timeout: None,
        }
    }

    pub(crate) fn from_signed(client: Arc<Client>, from: Signed<'_>) -> Result<Self, Error> {
        let signed: gateway::SignedCommitStatusRequest =
            signable::from_signed(from, "signed commit status request")?;
        let request: gateway::CommitStatusRequest =
            decode(&signed.request, "commit status request")?;
        Ok(Self {
            client,
            transaction_id: request.transaction_id,
            signed,
            timeout: None,
        })
    }

    /// How long [`Self::status`] waits for the commit, instead of the
    /// gateway's [`Timeouts::commit_status`](super::Timeouts::commit_status).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> &str {
        &self.transaction_id
    }

    signable::offline_signing!(signed: gateway::SignedCommitStatusRequest);

    /// Waits until the transaction is in a block and returns its status,
    /// valid or not (see [`Status::into_result`]).
    pub async fn status(&self) -> Result<Status, Error> {
        let response = self
            .client
            .commit_status(
                &self.transaction_id,
                self.signed_message()?,
                self.timeout.unwrap_or(self.client.timeouts().commit_status),
            )
            .await?;
        // A code this client does not know is still a failure, never VALID.
        let code = peer::TxValidationCode::try_from(response.result)
            .unwrap_or(peer::TxValidationCode::InvalidOtherReason);
        Ok(Status {
            transaction_id: self.transaction_id.clone(),
            code,
            block_number: response.block_number,
        })
    }
}
