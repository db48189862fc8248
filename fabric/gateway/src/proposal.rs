//! The first stage: a chaincode invocation proposal, signed by the client
//! and sent to be evaluated (a query) or endorsed (a transaction).
//!
//! The proposal's bytes are a `gateway.ProposedTransaction` (transaction id,
//! signed proposal, endorsing organisations), so a proposal carried
//! elsewhere for signing comes back with everything needed to send it. The
//! digest covers only the inner `Proposal` bytes, which is what peers verify.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime},
};

use hlf_protos::{common, gateway, peer};
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use super::{
    client::Client,
    error::{Error, Signed, decode},
    transaction::Transaction,
};

/// Length of the random nonce Fabric clients put in signature headers.
pub(crate) const NONCE_LENGTH: usize = 24;

/// Fabric's transaction id: hex(SHA-256(nonce ‖ creator)). Peers recompute
/// it and refuse a proposal whose id does not match.
pub(crate) fn transaction_id(nonce: &[u8], creator: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(nonce);
    hasher.update(creator);
    hex::encode(hasher.finalize())
}

/// Everything a chaincode proposal is made of, apart from the signature;
/// kept as data so the encoding can be checked against fixed inputs.
#[derive(Debug, Clone)]
pub(crate) struct ProposalContent<'a> {
    pub channel: &'a str,
    pub chaincode: &'a str,
    pub creator: &'a [u8],
    pub nonce: &'a [u8],
    pub timestamp: prost_types::Timestamp,
    /// The function name followed by its arguments.
    pub args: Vec<Vec<u8>>,
    pub transient: HashMap<String, Vec<u8>>,
}

impl ProposalContent<'_> {
    /// The serialised `protos.Proposal` and its transaction id.
    pub(crate) fn encode(self) -> (Vec<u8>, String) {
        let transaction_id = transaction_id(self.nonce, self.creator);
        let chaincode_id = peer::ChaincodeId {
            name: self.chaincode.to_string(),
            ..Default::default()
        };
        let channel_header = common::ChannelHeader {
            r#type: common::HeaderType::EndorserTransaction as i32,
            timestamp: Some(self.timestamp),
            channel_id: self.channel.to_string(),
            tx_id: transaction_id.clone(),
            epoch: 0,
            extension: peer::ChaincodeHeaderExtension {
                chaincode_id: Some(chaincode_id.clone()),
            }
            .encode_to_vec(),
            ..Default::default()
        };
        let signature_header = common::SignatureHeader {
            creator: self.creator.to_vec(),
            nonce: self.nonce.to_vec(),
        };
        let header = common::Header {
            channel_header: channel_header.encode_to_vec(),
            signature_header: signature_header.encode_to_vec(),
        };
        // The chaincode type stays UNDEFINED, as in Fabric's own gateway
        // clients: the peer knows how the chaincode runs.
        let invocation = peer::ChaincodeInvocationSpec {
            chaincode_spec: Some(peer::ChaincodeSpec {
                chaincode_id: Some(chaincode_id),
                input: Some(peer::ChaincodeInput {
                    args: self.args,
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let payload = peer::ChaincodeProposalPayload {
            input: invocation.encode_to_vec(),
            transient_map: self.transient,
        };
        let proposal = peer::Proposal {
            header: header.encode_to_vec(),
            payload: payload.encode_to_vec(),
            extension: Vec::new(),
        };
        (proposal.encode_to_vec(), transaction_id)
    }
}

/// Collects the parts of a proposal before it is built.
#[derive(Debug)]
pub struct ProposalBuilder {
    client: Arc<Client>,
    channel: String,
    chaincode: String,
    args: Vec<Vec<u8>>,
    transient: HashMap<String, Vec<u8>>,
    endorsing_organizations: Vec<String>,
}

impl ProposalBuilder {
    pub(crate) fn new(
        client: Arc<Client>,
        channel: String,
        chaincode: String,
        function: String,
    ) -> Self {
        Self {
            client,
            channel,
            chaincode,
            args: vec![function.into_bytes()],
            transient: HashMap::new(),
            endorsing_organizations: Vec::new(),
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl AsRef<[u8]>) -> Self {
        self.args.push(arg.as_ref().to_vec());
        self
    }

    /// Appends arguments.
    pub fn args<A: AsRef<[u8]>>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        self.args
            .extend(args.into_iter().map(|arg| arg.as_ref().to_vec()));
        self
    }

    /// Adds transient data: seen by the endorsing chaincode, never written
    /// to the ledger. Name the endorsing organisations too, or the gateway
    /// keeps it within its own organisation.
    pub fn transient(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.transient.insert(key.into(), value.into());
        self
    }

    /// Sends the proposal only to peers of these MSP ids (for endorsement),
    /// or evaluates it only on them.
    pub fn endorsing_organizations<S: Into<String>>(
        mut self,
        msp_ids: impl IntoIterator<Item = S>,
    ) -> Self {
        self.endorsing_organizations = msp_ids.into_iter().map(Into::into).collect();
        self
    }

    /// Builds the unsigned proposal with a fresh nonce and the current time.
    pub fn build(self) -> Result<Proposal, Error> {
        let mut nonce = [0u8; NONCE_LENGTH];
        getrandom::fill(&mut nonce).map_err(|e| Error::Nonce(e.to_string()))?;
        let (proposal_bytes, transaction_id) = ProposalContent {
            channel: &self.channel,
            chaincode: &self.chaincode,
            creator: self.client.identity.creator(),
            nonce: &nonce,
            timestamp: SystemTime::now().into(),
            args: self.args,
            transient: self.transient,
        }
        .encode();
        Ok(Proposal {
            client: self.client,
            channel: self.channel,
            timeout: None,
            proposed: gateway::ProposedTransaction {
                transaction_id,
                proposal: Some(peer::SignedProposal {
                    proposal_bytes,
                    signature: Vec::new(),
                }),
                endorsing_organizations: self.endorsing_organizations,
            },
        })
    }
}

/// A chaincode proposal, signed on first use unless a signature was given.
#[derive(Debug, Clone)]
pub struct Proposal {
    client: Arc<Client>,
    channel: String,
    proposed: gateway::ProposedTransaction,
    /// Overrides the gateway's evaluate or endorse deadline.
    timeout: Option<Duration>,
}

impl Proposal {
    pub(crate) fn from_signed(client: Arc<Client>, from: Signed<'_>) -> Result<Self, Error> {
        let mut proposed: gateway::ProposedTransaction =
            decode(from.bytes, "proposed transaction")?;
        let signed = proposed
            .proposal
            .as_mut()
            .ok_or_else(|| Error::malformed("proposed transaction", "no signed proposal"))?;
        signed.signature = from.signature;
        let channel = channel_of_proposal(&signed.proposal_bytes)?;
        Ok(Self {
            client,
            channel,
            proposed,
            timeout: None,
        })
    }

    /// The deadline of this proposal's evaluate or endorse call, instead of
    /// the gateway's [`Timeouts`](super::Timeouts).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The transaction id.
    pub fn transaction_id(&self) -> &str {
        &self.proposed.transaction_id
    }

    /// The serialised `gateway.ProposedTransaction`, for offline signing.
    pub fn bytes(&self) -> Vec<u8> {
        self.proposed.encode_to_vec()
    }

    /// What to sign: the digest of the inner proposal bytes.
    pub fn digest(&self) -> Vec<u8> {
        self.client.identity.digest(self.proposal_bytes())
    }

    fn proposal_bytes(&self) -> &[u8] {
        self.proposed
            .proposal
            .as_ref()
            .map_or(&[], |signed| signed.proposal_bytes.as_slice())
    }

    /// The signed proposal as sent: signed here unless a signature was given.
    pub(crate) fn signed(&self) -> Result<peer::SignedProposal, Error> {
        let mut signed = self.proposed.proposal.clone().unwrap_or_default();
        if signed.signature.is_empty() {
            signed.signature = self.client.identity.sign_message(&signed.proposal_bytes)?;
        }
        Ok(signed)
    }

    /// Runs the proposal on one peer (of the endorsing organisations, if
    /// named) and returns what the chaincode returned.
    pub async fn evaluate(self) -> Result<Vec<u8>, Error> {
        let request = gateway::EvaluateRequest {
            transaction_id: self.proposed.transaction_id.clone(),
            channel_id: self.channel.clone(),
            proposed_transaction: Some(self.signed()?),
            target_organizations: self.proposed.endorsing_organizations.clone(),
        };
        let timeout = self.timeout.unwrap_or(self.client.timeouts().evaluate);
        let response = self.client.evaluate(request, timeout).await?;
        Ok(response.result.map(|r| r.payload).unwrap_or_default())
    }

    /// Collects endorsements; the result is the transaction to sign and
    /// submit.
    pub async fn endorse(self) -> Result<Transaction, Error> {
        let request = gateway::EndorseRequest {
            transaction_id: self.proposed.transaction_id.clone(),
            channel_id: self.channel.clone(),
            proposed_transaction: Some(self.signed()?),
            endorsing_organizations: self.proposed.endorsing_organizations.clone(),
        };
        let timeout = self.timeout.unwrap_or(self.client.timeouts().endorse);
        let response = self.client.endorse(request, timeout).await?;
        let envelope = response
            .prepared_transaction
            .ok_or_else(|| Error::malformed("endorse response", "no prepared transaction"))?;
        Transaction::new(
            self.client,
            gateway::PreparedTransaction {
                transaction_id: self.proposed.transaction_id,
                envelope: Some(envelope),
            },
        )
    }
}

/// The channel named in a serialised proposal's channel header.
fn channel_of_proposal(proposal_bytes: &[u8]) -> Result<String, Error> {
    let proposal =
        peer::Proposal::decode(proposal_bytes).map_err(|e| Error::malformed("proposal", e))?;
    let header = common::Header::decode(proposal.header.as_slice())
        .map_err(|e| Error::malformed("proposal header", e))?;
    let channel_header = common::ChannelHeader::decode(header.channel_header.as_slice())
        .map_err(|e| Error::malformed("proposal channel header", e))?;
    Ok(channel_header.channel_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hlf_protos::msp;

    #[test]
    fn transaction_id_is_sha256_of_nonce_then_creator() {
        let nonce: Vec<u8> = (0u8..24).collect();
        let creator = b"creator bytes".to_vec();
        // Computed independently: hash the concatenation in one go.
        let mut joined = nonce.clone();
        joined.extend_from_slice(&creator);
        let expected = hex::encode(Sha256::digest(&joined));
        assert_eq!(transaction_id(&nonce, &creator), expected);
        // And a fixed value, so a change in the hash itself is caught too.
        assert_eq!(
            transaction_id(b"", b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(transaction_id(&creator, &nonce), expected, "order matters");
    }

    #[test]
    fn proposal_bytes_decode_to_the_expected_fields() {
        let creator = msp::SerializedIdentity {
            mspid: "Net1Org1MSP".into(),
            id_bytes: b"-----BEGIN CERTIFICATE-----".to_vec(),
        }
        .encode_to_vec();
        let nonce = [7u8; NONCE_LENGTH];
        let timestamp = prost_types::Timestamp {
            seconds: 1_700_000_000,
            nanos: 5,
        };
        let (bytes, tx_id) = ProposalContent {
            channel: "ehrchannel",
            chaincode: "ehr",
            creator: &creator,
            nonce: &nonce,
            timestamp,
            args: vec![b"Put".to_vec(), b"k".to_vec(), b"v".to_vec()],
            transient: HashMap::from([("secret".to_string(), b"s3".to_vec())]),
        }
        .encode();

        let proposal = peer::Proposal::decode(bytes.as_slice()).unwrap();
        assert!(proposal.extension.is_empty());
        let header = common::Header::decode(proposal.header.as_slice()).unwrap();
        let channel_header =
            common::ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        assert_eq!(channel_header.r#type, 3);
        assert_eq!(channel_header.version, 0);
        assert_eq!(channel_header.channel_id, "ehrchannel");
        assert_eq!(channel_header.epoch, 0);
        assert_eq!(channel_header.timestamp, Some(timestamp));
        assert_eq!(channel_header.tx_id, tx_id);
        assert_eq!(tx_id, transaction_id(&nonce, &creator));
        let extension =
            peer::ChaincodeHeaderExtension::decode(channel_header.extension.as_slice()).unwrap();
        assert_eq!(extension.chaincode_id.unwrap().name, "ehr");

        let signature_header =
            common::SignatureHeader::decode(header.signature_header.as_slice()).unwrap();
        assert_eq!(signature_header.creator, creator);
        assert_eq!(signature_header.nonce, nonce);

        let payload = peer::ChaincodeProposalPayload::decode(proposal.payload.as_slice()).unwrap();
        assert_eq!(payload.transient_map.get("secret").unwrap(), b"s3");
        let invocation = peer::ChaincodeInvocationSpec::decode(payload.input.as_slice()).unwrap();
        let spec = invocation.chaincode_spec.unwrap();
        assert_eq!(spec.r#type, peer::chaincode_spec::Type::Undefined as i32);
        assert_eq!(spec.chaincode_id.unwrap().name, "ehr");
        let input = spec.input.unwrap();
        assert_eq!(
            input.args,
            vec![b"Put".to_vec(), b"k".to_vec(), b"v".to_vec()]
        );
        assert!(!input.is_init);

        assert_eq!(channel_of_proposal(&bytes).unwrap(), "ehrchannel");
    }

    /// A proposal Fabric's own `peer` CLI made (see `fabric/protos/tests/fixtures`).
    const FABRIC_PROPOSAL: &[u8] =
        include_bytes!("../../protos/tests/fixtures/signed-proposal.bin");

    fn decode_proposal(
        bytes: &[u8],
    ) -> (
        common::ChannelHeader,
        common::SignatureHeader,
        peer::ChaincodeProposalPayload,
        peer::ChaincodeSpec,
    ) {
        let proposal = peer::Proposal::decode(bytes).unwrap();
        let header = common::Header::decode(proposal.header.as_slice()).unwrap();
        let payload = peer::ChaincodeProposalPayload::decode(proposal.payload.as_slice()).unwrap();
        let invocation = peer::ChaincodeInvocationSpec::decode(payload.input.as_slice()).unwrap();
        (
            common::ChannelHeader::decode(header.channel_header.as_slice()).unwrap(),
            common::SignatureHeader::decode(header.signature_header.as_slice()).unwrap(),
            payload,
            invocation.chaincode_spec.unwrap(),
        )
    }

    #[test]
    fn the_same_inputs_give_the_proposal_fabric_made() {
        let signed = peer::SignedProposal::decode(FABRIC_PROPOSAL).unwrap();
        let (channel_header, signature_header, payload, spec) =
            decode_proposal(&signed.proposal_bytes);
        let (ours, tx_id) = ProposalContent {
            channel: &channel_header.channel_id,
            chaincode: &spec.chaincode_id.as_ref().unwrap().name,
            creator: &signature_header.creator,
            nonce: &signature_header.nonce,
            timestamp: channel_header.timestamp.unwrap(),
            args: spec.input.as_ref().unwrap().args.clone(),
            transient: payload.transient_map.clone(),
        }
        .encode();
        assert_eq!(tx_id, channel_header.tx_id, "Fabric's transaction id rule");

        let (our_channel_header, our_signature_header, our_payload, our_spec) =
            decode_proposal(&ours);
        assert_eq!(our_channel_header, channel_header);
        assert_eq!(our_signature_header, signature_header);
        assert_eq!(our_payload.transient_map, payload.transient_map);
        // The CLI names the chaincode type; gateway clients leave it unset
        // and the peer ignores it. Everything else is identical.
        assert_eq!(
            peer::ChaincodeSpec {
                r#type: spec.r#type,
                ..our_spec
            },
            spec
        );
    }
}
