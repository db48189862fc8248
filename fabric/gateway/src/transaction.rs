//! The second stage: an endorsed transaction, prepared by the gateway as an
//! envelope whose payload the client signs before it goes to the orderer.
//!
//! Its bytes are a `gateway.PreparedTransaction` (transaction id and
//! envelope); its digest covers the envelope payload, which is what the
//! orderer and the committing peers verify.

use std::{sync::Arc, time::Duration};

use hlf_protos::{common, gateway, peer};
use prost::Message as _;

use super::{
    client::Client,
    commit::Commit,
    error::{Error, Signed, decode},
};

/// An endorsed transaction, signed on submit unless a signature was given.
#[derive(Debug, Clone)]
pub struct Transaction {
    client: Arc<Client>,
    channel: String,
    prepared: gateway::PreparedTransaction,
    result: Vec<u8>,
    /// Overrides the gateway's submit deadline.
    timeout: Option<Duration>,
}

impl Transaction {
    pub(crate) fn new(
        client: Arc<Client>,
        prepared: gateway::PreparedTransaction,
    ) -> Result<Self, Error> {
        let (channel, result) = read_envelope(prepared.envelope.as_ref())?;
        Ok(Self {
            client,
            channel,
            prepared,
            result,
            timeout: None,
        })
    }

    pub(crate) fn from_signed(client: Arc<Client>, from: Signed<'_>) -> Result<Self, Error> {
        let mut prepared: gateway::PreparedTransaction =
            decode(from.bytes, "prepared transaction")?;
        prepared.envelope.get_or_insert_default().signature = from.signature;
        Self::new(client, prepared)
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> &str {
        &self.prepared.transaction_id
    }

    /// The deadline of the submit call, instead of the gateway's
    /// [`Timeouts::submit`](super::Timeouts::submit).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// What the chaincode returned when endorsing.
    pub fn result(&self) -> &[u8] {
        &self.result
    }

    /// The serialised `gateway.PreparedTransaction`, for offline signing.
    pub fn bytes(&self) -> Vec<u8> {
        self.prepared.encode_to_vec()
    }

    /// What to sign: the digest of the envelope payload.
    pub fn digest(&self) -> Vec<u8> {
        let payload = self
            .prepared
            .envelope
            .as_ref()
            .map_or(&[][..], |envelope| envelope.payload.as_slice());
        self.client.identity.digest(payload)
    }

    /// The envelope as sent: signed here unless a signature was given.
    pub(crate) fn signed_envelope(&self) -> Result<common::Envelope, Error> {
        let mut envelope = self.prepared.envelope.clone().unwrap_or_default();
        if envelope.signature.is_empty() {
            envelope.signature = self.client.identity.sign_message(&envelope.payload)?;
        }
        Ok(envelope)
    }

    /// Signs the envelope if needed and hands it to the orderer through the
    /// gateway. The returned [`Commit`] waits for it to be in a block.
    pub async fn submit(self) -> Result<Commit, Error> {
        let request = gateway::SubmitRequest {
            transaction_id: self.prepared.transaction_id.clone(),
            channel_id: self.channel.clone(),
            prepared_transaction: Some(self.signed_envelope()?),
        };
        let timeout = self.timeout.unwrap_or(self.client.timeouts().submit);
        self.client.submit(request, timeout).await?;
        Ok(Commit::new(
            self.client,
            self.channel,
            self.prepared.transaction_id,
        ))
    }
}

/// The channel and the chaincode result inside a prepared transaction
/// envelope (payload → transaction → first action → endorsed response).
fn read_envelope(envelope: Option<&common::Envelope>) -> Result<(String, Vec<u8>), Error> {
    const WHAT: &str = "prepared transaction";
    let envelope = envelope.ok_or_else(|| Error::malformed(WHAT, "no envelope"))?;
    let payload = common::Payload::decode(envelope.payload.as_slice())
        .map_err(|e| Error::malformed(WHAT, e))?;
    let header = payload
        .header
        .ok_or_else(|| Error::malformed(WHAT, "no payload header"))?;
    let channel_header = common::ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|e| Error::malformed(WHAT, e))?;
    let transaction = peer::Transaction::decode(payload.data.as_slice())
        .map_err(|e| Error::malformed(WHAT, e))?;
    let action = transaction
        .actions
        .first()
        .ok_or_else(|| Error::malformed(WHAT, "no transaction action"))?;
    let action_payload = peer::ChaincodeActionPayload::decode(action.payload.as_slice())
        .map_err(|e| Error::malformed(WHAT, e))?;
    let endorsed = action_payload
        .action
        .ok_or_else(|| Error::malformed(WHAT, "no endorsed action"))?;
    let response_payload =
        peer::ProposalResponsePayload::decode(endorsed.proposal_response_payload.as_slice())
            .map_err(|e| Error::malformed(WHAT, e))?;
    let chaincode_action = peer::ChaincodeAction::decode(response_payload.extension.as_slice())
        .map_err(|e| Error::malformed(WHAT, e))?;
    let result = chaincode_action
        .response
        .map(|response| response.payload)
        .unwrap_or_default();
    Ok((channel_header.channel_id, result))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A committed block Fabric made (see `fabric/protos/tests/fixtures`): its
    /// transaction envelope has the shape of a prepared transaction.
    const FABRIC_BLOCK: &[u8] = include_bytes!("../../protos/tests/fixtures/endorser-tx-block.bin");

    #[test]
    fn a_real_transaction_envelope_yields_its_channel_and_result() {
        let block = common::Block::decode(FABRIC_BLOCK).unwrap();
        let envelope = common::Envelope::decode(block.data.unwrap().data[0].as_slice()).unwrap();
        let (channel, result) = read_envelope(Some(&envelope)).unwrap();
        assert_eq!(channel, "ehrchannel");
        // approveformyorg returns nothing.
        assert!(result.is_empty());
    }

    #[test]
    fn an_envelope_without_actions_is_malformed() {
        let envelope = common::Envelope {
            payload: common::Payload {
                header: Some(common::Header::default()),
                data: peer::Transaction::default().encode_to_vec(),
            }
            .encode_to_vec(),
            signature: Vec::new(),
        };
        assert!(matches!(
            read_envelope(Some(&envelope)),
            Err(Error::Malformed { reason, .. }) if reason == "no transaction action"
        ));
        assert!(matches!(read_envelope(None), Err(Error::Malformed { .. })));
    }
}
