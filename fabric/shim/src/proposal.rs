//! What a chaincode may learn from the signed proposal of its transaction:
//! creator, transient data, timestamp and binding.
//!
//! Decoded once when the transaction starts, so a malformed proposal fails
//! the transaction before any contract code runs, as Fabric's shims do.

use std::collections::HashMap;

use hlf_protos::{
    common::{ChannelHeader, Header, HeaderType, SignatureHeader},
    peer::{ChaincodeProposalPayload, Proposal, SignedProposal},
};
use prost::Message;
use prost_types::Timestamp;
use sha2::{Digest, Sha256};

use crate::error::StubError;

/// The decoded parts of a transaction's signed proposal.
#[derive(Debug, Clone)]
pub struct ProposalContext {
    /// The proposal as the client signed it.
    pub signed: SignedProposal,
    /// The serialised `msp.SerializedIdentity` of the submitter.
    pub creator: Vec<u8>,
    /// Data the client sent to the endorsers only.
    pub transient: HashMap<String, Vec<u8>>,
    /// The client's timestamp from the channel header.
    pub timestamp: Option<Timestamp>,
    /// SHA-256 of nonce ‖ creator ‖ epoch (8 bytes, little-endian).
    pub binding: Vec<u8>,
}

fn decode<M: Message + Default>(what: &'static str, bytes: &[u8]) -> Result<M, StubError> {
    M::decode(bytes).map_err(|source| StubError::Decode { what, source })
}

impl ProposalContext {
    /// Decodes `signed` the way Fabric's shims do.
    pub fn decode(signed: SignedProposal) -> Result<Self, StubError> {
        let proposal: Proposal = decode("proposal", &signed.proposal_bytes)?;
        let header: Header = decode("proposal header", &proposal.header)?;
        let channel_header: ChannelHeader = decode("channel header", &header.channel_header)?;
        let accepted = [
            HeaderType::EndorserTransaction as i32,
            HeaderType::Config as i32,
        ];
        if !accepted.contains(&channel_header.r#type) {
            return Err(StubError::ProposalType(channel_header.r#type));
        }
        let signature_header: SignatureHeader =
            decode("signature header", &header.signature_header)?;
        let payload: ChaincodeProposalPayload =
            decode("chaincode proposal payload", &proposal.payload)?;
        let binding = Sha256::new()
            .chain_update(&signature_header.nonce)
            .chain_update(&signature_header.creator)
            .chain_update(channel_header.epoch.to_le_bytes())
            .finalize()
            .to_vec();
        Ok(Self {
            signed,
            creator: signature_header.creator,
            transient: payload.transient_map,
            timestamp: channel_header.timestamp,
            binding,
        })
    }
}
