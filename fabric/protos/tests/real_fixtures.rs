//! Decoding of bytes captured from a real Fabric network (see
//! `tests/fixtures/README.md`): a committed block with an endorser
//! transaction, and a signed proposal made by Fabric's `peer` CLI. Beyond
//! decoding, the checks recompute what Fabric computed (transaction id, block
//! data hash) and verify every signature, which only holds if every field was
//! read from the right place.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use hlf_protos::{common, kvrwset, msp, peer, rwset};
use p256::ecdsa::signature::Verifier;
use prost::Message;
use sha2::{Digest, Sha256};
use x509_cert::der::DecodePem;

const BLOCK: &[u8] = include_bytes!("fixtures/endorser-tx-block.bin");
const SIGNED_PROPOSAL: &[u8] = include_bytes!("fixtures/signed-proposal.bin");
const CHANNEL: &str = "ehrchannel";

fn decode<M: Message + Default>(bytes: &[u8]) -> M {
    M::decode(bytes).unwrap()
}

/// Checks a P-256 signature by a serialized identity, and that it is low-S
/// as Fabric requires.
fn verify_signature(identity: &msp::SerializedIdentity, message: &[u8], der_signature: &[u8]) {
    let pem = std::str::from_utf8(&identity.id_bytes).unwrap();
    let cert = x509_cert::Certificate::from_pem(pem).unwrap();
    let spki = cert.tbs_certificate().subject_public_key_info();
    let key =
        p256::ecdsa::VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).unwrap();
    let signature = p256::ecdsa::Signature::from_der(der_signature).unwrap();
    key.verify(message, &signature).unwrap();
    assert_eq!(
        signature.normalize_s(),
        signature,
        "Fabric signatures are low-S"
    );
}

fn subject(identity: &msp::SerializedIdentity) -> String {
    let cert = x509_cert::Certificate::from_pem(&identity.id_bytes).unwrap();
    cert.tbs_certificate().subject().to_string()
}

/// Fabric's transaction id: hex(SHA-256(nonce ‖ creator)).
fn expected_tx_id(signature_header: &common::SignatureHeader) -> String {
    let mut hasher = Sha256::new();
    hasher.update(&signature_header.nonce);
    hasher.update(&signature_header.creator);
    hex::encode(hasher.finalize())
}

fn check_proposal_headers(
    header: &common::Header,
) -> (common::ChannelHeader, msp::SerializedIdentity) {
    let channel_header: common::ChannelHeader = decode(&header.channel_header);
    let signature_header: common::SignatureHeader = decode(&header.signature_header);
    assert_eq!(
        channel_header.r#type,
        common::HeaderType::EndorserTransaction as i32
    );
    assert_eq!(channel_header.channel_id, CHANNEL);
    assert_eq!(channel_header.epoch, 0);
    assert!(channel_header.timestamp.is_some());
    assert_eq!(signature_header.nonce.len(), 24);
    assert_eq!(channel_header.tx_id, expected_tx_id(&signature_header));
    let creator: msp::SerializedIdentity = decode(&signature_header.creator);
    (channel_header, creator)
}

#[test]
fn real_signed_proposal_decodes_and_its_signature_verifies() {
    let signed: peer::SignedProposal = decode(SIGNED_PROPOSAL);
    let proposal: peer::Proposal = decode(&signed.proposal_bytes);
    let header: common::Header = decode(&proposal.header);
    let (channel_header, creator) = check_proposal_headers(&header);

    assert_eq!(creator.mspid, "Net1Org1MSP");
    assert!(
        subject(&creator).contains("CN=User1@org1.net1.example.com"),
        "{}",
        subject(&creator)
    );
    verify_signature(&creator, &signed.proposal_bytes, &signed.signature);

    let extension: peer::ChaincodeHeaderExtension = decode(&channel_header.extension);
    assert_eq!(extension.chaincode_id.unwrap().name, "fixture");
    let payload: peer::ChaincodeProposalPayload = decode(&proposal.payload);
    assert!(payload.transient_map.is_empty());
    let invocation: peer::ChaincodeInvocationSpec = decode(&payload.input);
    let spec = invocation.chaincode_spec.unwrap();
    assert_eq!(spec.chaincode_id.unwrap().name, "fixture");
    assert_eq!(
        spec.input.unwrap().args,
        vec![b"GetRecord".to_vec(), b"patient-1".to_vec()]
    );
}

#[test]
fn real_block_decodes_down_to_its_read_write_set() {
    let block: common::Block = decode(BLOCK);
    let block_header = block.header.unwrap();
    let data = block.data.unwrap();
    assert_eq!(block_header.number, 1);
    assert_eq!(block_header.previous_hash.len(), 32);
    // Fabric's block data hash: SHA-256 over the concatenated envelopes.
    let mut hasher = Sha256::new();
    data.data
        .iter()
        .for_each(|envelope| hasher.update(envelope));
    assert_eq!(block_header.data_hash, hasher.finalize().to_vec());
    assert_eq!(data.data.len(), 1);

    let envelope: common::Envelope = decode(&data.data[0]);
    let payload: common::Payload = decode(&envelope.payload);
    let (_, creator) = check_proposal_headers(payload.header.as_ref().unwrap());
    assert_eq!(creator.mspid, "Net1Org1MSP");
    assert!(subject(&creator).contains("CN=Admin@org1.net1.example.com"));
    verify_signature(&creator, &envelope.payload, &envelope.signature);

    let transaction: peer::Transaction = decode(&payload.data);
    assert_eq!(transaction.actions.len(), 1);
    let action_payload: peer::ChaincodeActionPayload = decode(&transaction.actions[0].payload);
    let proposal_payload: peer::ChaincodeProposalPayload =
        decode(&action_payload.chaincode_proposal_payload);
    let invocation: peer::ChaincodeInvocationSpec = decode(&proposal_payload.input);
    let args = invocation.chaincode_spec.unwrap().input.unwrap().args;
    assert_eq!(args[0], b"ApproveChaincodeDefinitionForMyOrg");

    let endorsed = action_payload.action.unwrap();
    assert!(!endorsed.endorsements.is_empty());
    for endorsement in &endorsed.endorsements {
        let endorser: msp::SerializedIdentity = decode(&endorsement.endorser);
        assert_eq!(endorser.mspid, "Net1Org1MSP");
        assert!(subject(&endorser).contains("CN=peer0.org1.net1.example.com"));
        // An endorsement signs the response payload followed by the endorser.
        let signed = [
            endorsed.proposal_response_payload.as_slice(),
            &endorsement.endorser,
        ]
        .concat();
        verify_signature(&endorser, &signed, &endorsement.signature);
    }

    let response_payload: peer::ProposalResponsePayload =
        decode(&endorsed.proposal_response_payload);
    let chaincode_action: peer::ChaincodeAction = decode(&response_payload.extension);
    assert_eq!(chaincode_action.chaincode_id.unwrap().name, "_lifecycle");
    assert_eq!(chaincode_action.response.unwrap().status, 200);
    let rwset: rwset::TxReadWriteSet = decode(&chaincode_action.results);
    assert_eq!(
        rwset.data_model,
        rwset::tx_read_write_set::DataModel::Kv as i32
    );
    let lifecycle = rwset
        .ns_rwset
        .iter()
        .find(|ns| ns.namespace == "_lifecycle")
        .unwrap();
    let kv: kvrwset::KvrwSet = decode(&lifecycle.rwset);
    // The approval is written to Org1's implicit private collection, so the
    // public ledger carries only hashed writes.
    let hashed = &lifecycle.collection_hashed_rwset;
    assert!(
        hashed
            .iter()
            .any(|c| c.collection_name == "_implicit_org_Net1Org1MSP")
    );
    for collection in hashed {
        let hashed_rwset: kvrwset::HashedRwSet = decode(&collection.hashed_rwset);
        assert!(
            hashed_rwset
                .hashed_writes
                .iter()
                .all(|w| w.key_hash.len() == 32)
        );
    }
    assert!(kv.writes.iter().all(|w| !w.key.is_empty()));

    // Block metadata: the committer's validation flag of each transaction.
    let metadata = block.metadata.unwrap().metadata;
    let filter = &metadata[common::BlockMetadataIndex::TransactionsFilter as usize];
    assert_eq!(filter, &vec![peer::TxValidationCode::Valid as u8]);
    let signatures: common::Metadata =
        decode(&metadata[common::BlockMetadataIndex::Signatures as usize]);
    assert_eq!(signatures.signatures.len(), 1, "one orderer signed");
}
