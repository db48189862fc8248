//! Offline signing gives the same bytes as online signing, for every stage:
//! one gateway holds the key and signs itself; another holds only the
//! certificate ([`OfflineSigner`]), hands out digests, and rebuilds each
//! stage from its bytes and a signature made with the same key elsewhere.
//! The online key signs whole messages with fresh randomness (like Go's
//! crypto/ecdsa), so the two signatures differ: each must verify over the
//! same signed bytes, and everything else must match exactly. No peer is
//! contacted: the channels connect lazily and no call is made.

use std::sync::Arc;

use hlf_protos::{common, gateway};
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use super::{
    Error,
    client::BlockEventsKind,
    gateway::Gateway,
    identity::{Identity, SigningIdentity},
    sign::{Ed25519Signer, OfflineSigner, P256Signer, SignError, Signer},
    transaction::Transaction,
};

fn lazy_channel() -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_static("http://127.0.0.1:9").connect_lazy()
}

fn identity() -> Identity {
    Identity::new("Net1Org1MSP", b"-----BEGIN CERTIFICATE-----\n".to_vec())
}

fn key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_bytes(&[0x42; 32].into()).unwrap()
}

/// The online gateway (holds the key) and the offline one (does not).
fn gateways() -> (Gateway, Gateway) {
    let online = Gateway::new(
        lazy_channel(),
        SigningIdentity::new(identity(), Arc::new(P256Signer::new(key()))),
    );
    let offline = Gateway::new(
        lazy_channel(),
        SigningIdentity::new(identity(), Arc::new(OfflineSigner::P256)),
    );
    (online, offline)
}

/// The signature an external signer (an HSM, another machine) makes.
fn sign_elsewhere(digest: &[u8]) -> Vec<u8> {
    P256Signer::new(key()).sign(digest).unwrap()
}

/// `offline` and `online` are one message signed twice by [`key`]: each
/// signature (`signature` of each) verifies over `signed`, and with the
/// signatures left out they are the same.
fn assert_same_signed<M: PartialEq + Clone + std::fmt::Debug>(
    offline: &M,
    online: &M,
    signed: &[u8],
    signature: impl Fn(&mut M) -> &mut Vec<u8>,
) {
    use p256::ecdsa::signature::Verifier as _;
    let (mut offline, mut online) = (offline.clone(), online.clone());
    for message in [&mut offline, &mut online] {
        let der = std::mem::take(signature(message));
        let parsed = p256::ecdsa::Signature::from_der(&der).unwrap();
        key().verifying_key().verify(signed, &parsed).unwrap();
    }
    assert_eq!(offline, online);
}

/// A prepared transaction as the gateway returns it from Endorse.
fn prepared_envelope(result: &[u8]) -> common::Envelope {
    let channel_header = common::ChannelHeader {
        r#type: common::HeaderType::EndorserTransaction as i32,
        channel_id: "ehrchannel".into(),
        tx_id: "tx1".into(),
        ..Default::default()
    };
    hlf_testpeer::prepared_transaction(&channel_header, &common::SignatureHeader::default(), result)
}

#[tokio::test]
async fn proposal_signed_offline_equals_signed_online() {
    let (online, offline) = gateways();
    let proposal = offline
        .network("ehrchannel")
        .contract("ehr")
        .proposal("Put")
        .args(["k", "v"])
        .transient("secret", b"s".to_vec())
        .endorsing_organizations(["Net1Org1MSP", "Net1Org2MSP"])
        .build()
        .unwrap();
    // The offline gateway refuses to sign by itself.
    assert!(matches!(
        proposal.signed(),
        Err(Error::Sign(SignError::Offline))
    ));

    let bytes = proposal.bytes();
    let digest = proposal.digest();
    let proposed = gateway::ProposedTransaction::decode(bytes.as_slice()).unwrap();
    let proposal_bytes = &proposed.proposal.as_ref().unwrap().proposal_bytes;
    assert_eq!(digest, Sha256::digest(proposal_bytes).to_vec());
    assert_eq!(
        proposed.endorsing_organizations,
        ["Net1Org1MSP", "Net1Org2MSP"]
    );

    let rebuilt = offline
        .new_signed_proposal(&bytes, sign_elsewhere(&digest))
        .unwrap();
    let signed_online = online
        .new_signed_proposal(&bytes, Vec::new())
        .unwrap()
        .signed()
        .unwrap();
    assert_same_signed(
        &rebuilt.signed().unwrap(),
        &signed_online,
        proposal_bytes,
        |signed| &mut signed.signature,
    );
    assert_eq!(rebuilt.transaction_id(), proposal.transaction_id());
}

#[tokio::test]
async fn transaction_signed_offline_equals_signed_online() {
    let (online, offline) = gateways();
    let prepared = gateway::PreparedTransaction {
        transaction_id: "tx1".into(),
        envelope: Some(prepared_envelope(b"the result")),
    };
    let transaction = Transaction::new(offline.client(), prepared.clone()).unwrap();
    assert_eq!(transaction.result(), b"the result");
    assert_eq!(transaction.transaction_id(), "tx1");
    let digest = transaction.digest();
    assert_eq!(
        digest,
        Sha256::digest(&prepared.envelope.as_ref().unwrap().payload).to_vec()
    );

    let rebuilt = offline
        .new_signed_transaction(&transaction.bytes(), sign_elsewhere(&digest))
        .unwrap();
    let online_transaction = Transaction::new(online.client(), prepared.clone()).unwrap();
    assert_same_signed(
        &rebuilt.signed_envelope().unwrap(),
        &online_transaction.signed_envelope().unwrap(),
        &prepared.envelope.as_ref().unwrap().payload,
        |envelope| &mut envelope.signature,
    );
    assert_eq!(rebuilt.result(), b"the result");
}

#[tokio::test]
async fn commit_request_signed_offline_equals_signed_online() {
    let (online, offline) = gateways();
    let commit = super::commit::Commit::new(offline.client(), "ehrchannel".into(), "tx1".into());
    let request = gateway::SignedCommitStatusRequest::decode(commit.bytes().as_slice()).unwrap();
    let inner = gateway::CommitStatusRequest::decode(request.request.as_slice()).unwrap();
    assert_eq!(inner.transaction_id, "tx1");
    assert_eq!(inner.channel_id, "ehrchannel");
    assert_eq!(inner.identity, identity().creator());

    let rebuilt = offline
        .new_signed_commit(&commit.bytes(), sign_elsewhere(&commit.digest()))
        .unwrap();
    let online_commit =
        super::commit::Commit::new(online.client(), "ehrchannel".into(), "tx1".into());
    assert_eq!(rebuilt.transaction_id(), "tx1");
    assert_same_signed(
        &rebuilt.signed_message().unwrap(),
        &online_commit.signed_message().unwrap(),
        &request.request,
        |signed| &mut signed.signature,
    );
}

#[tokio::test]
async fn chaincode_events_request_signed_offline_equals_signed_online() {
    let (online, offline) = gateways();
    let checkpoint = super::Checkpoint {
        block_number: 8,
        transaction_id: Some("tx8".into()),
    };
    let request = offline
        .network("ehrchannel")
        .chaincode_events("ehr")
        .start_block(3)
        .checkpoint(&checkpoint)
        .build();
    let signed = gateway::SignedChaincodeEventsRequest::decode(request.bytes().as_slice()).unwrap();
    let inner = gateway::ChaincodeEventsRequest::decode(signed.request.as_slice()).unwrap();
    assert_eq!(inner.chaincode_id, "ehr");
    assert_eq!(inner.after_transaction_id, "tx8");
    assert_eq!(
        inner.start_position.unwrap().r#type,
        Some(hlf_protos::orderer::seek_position::Type::Specified(
            hlf_protos::orderer::SeekSpecified { number: 8 }
        ))
    );

    let rebuilt = offline
        .new_signed_chaincode_events_request(&request.bytes(), sign_elsewhere(&request.digest()))
        .unwrap();
    let online_request = online
        .new_signed_chaincode_events_request(&request.bytes(), Vec::new())
        .unwrap();
    assert_same_signed(
        &rebuilt.signed_message().unwrap(),
        &online_request.signed_message().unwrap(),
        &signed.request,
        |signed| &mut signed.signature,
    );
}

#[tokio::test]
async fn block_events_request_signed_offline_equals_signed_online() {
    let (online, offline) = gateways();
    let request = offline
        .network("ehrchannel")
        .filtered_block_events()
        .start_block(2)
        .build();
    assert_eq!(request.kind(), BlockEventsKind::Filtered);
    let rebuilt = offline
        .new_signed_block_events_request(
            BlockEventsKind::Filtered,
            &request.bytes(),
            sign_elsewhere(&request.digest()),
        )
        .unwrap();
    let online_request = online
        .new_signed_block_events_request(BlockEventsKind::Filtered, &request.bytes(), Vec::new())
        .unwrap();
    let online_envelope = online_request.signed_message().unwrap();
    assert_same_signed(
        &rebuilt.signed_message().unwrap(),
        &online_envelope,
        &online_envelope.payload,
        |envelope| &mut envelope.signature,
    );
}

#[tokio::test]
async fn ed25519_stages_sign_the_whole_message() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let gateway = Gateway::new(
        lazy_channel(),
        SigningIdentity::new(identity(), Arc::new(Ed25519Signer::new(key.clone()))),
    );
    let proposal = gateway
        .network("ehrchannel")
        .contract("ehr")
        .proposal("Get")
        .arg("k")
        .build()
        .unwrap();
    let signed = proposal.signed().unwrap();
    assert_eq!(proposal.digest(), signed.proposal_bytes);
    let signature = ed25519_dalek::Signature::from_slice(&signed.signature).unwrap();
    key.verifying_key()
        .verify_strict(&signed.proposal_bytes, &signature)
        .unwrap();
}

#[tokio::test]
async fn malformed_offline_bytes_are_typed_errors() {
    let (_, offline) = gateways();
    assert!(matches!(
        offline.new_signed_proposal(b"\xff\xff", Vec::new()),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        offline.new_signed_transaction(&[0x0a, 0x01, 0x41, 0x12, 0x02, 0x0a, 0xff], Vec::new()),
        Err(Error::Malformed { .. })
    ));
    assert!(matches!(
        offline.new_signed_commit(b"\x0a\x05", Vec::new()),
        Err(Error::Malformed { .. })
    ));
}
