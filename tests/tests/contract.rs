//! The EHR contract on network I with the real peers: an EHR goes to the
//! private collection with only its metadata in public, and a requester who
//! submits twice within the rate-limit window is flagged and locked out.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use ehrx_client::ehr::admin;
use ehrx_client::ehr::interface::{self, ErrorCode, error_code};
use ehrx_client::fabric::{Error, Gateway, PrivateKey};
use ehrx_lab::NetworkDescription;
use ehrx_lab::exchange::{gateway_as, identity};
use ehrx_lab::networks::Networks;
use ehrx_proto::exchange::{Purpose, Request, SignedRequest};
use hlf_protos::{common, kvrwset, peer, rwset};
use prost::Message;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CC: &str = "ehrx";

fn all_orgs(net: &NetworkDescription) -> Vec<String> {
    net.organizations.iter().map(|o| o.msp_id.clone()).collect()
}

/// The public writes and the hashed private writes of chaincode `CC` in a
/// committed transaction, read back from the ledger through qscc.
async fn committed_writes(
    gateway: &Gateway,
    channel: &str,
    tx_id: &str,
) -> anyhow::Result<(Vec<kvrwset::KvWrite>, Vec<(String, kvrwset::KvWriteHash)>)> {
    let processed = gateway
        .network(channel)
        .contract("qscc")
        .evaluate("GetTransactionByID", [channel, tx_id])
        .await?;
    let processed = peer::ProcessedTransaction::decode(processed.as_slice())?;
    assert_eq!(
        processed.validation_code,
        peer::TxValidationCode::Valid as i32
    );
    let envelope = processed
        .transaction_envelope
        .ok_or_else(|| anyhow::anyhow!("no envelope"))?;
    let payload = common::Payload::decode(envelope.payload.as_slice())?;
    let transaction = peer::Transaction::decode(payload.data.as_slice())?;
    let action = transaction
        .actions
        .first()
        .ok_or_else(|| anyhow::anyhow!("no action"))?;
    let action_payload = peer::ChaincodeActionPayload::decode(action.payload.as_slice())?;
    let endorsed = action_payload
        .action
        .ok_or_else(|| anyhow::anyhow!("no endorsed action"))?;
    let response_payload =
        peer::ProposalResponsePayload::decode(endorsed.proposal_response_payload.as_slice())?;
    let chaincode_action = peer::ChaincodeAction::decode(response_payload.extension.as_slice())?;
    let rwset = rwset::TxReadWriteSet::decode(chaincode_action.results.as_slice())?;
    let ns = rwset
        .ns_rwset
        .into_iter()
        .find(|ns| ns.namespace == CC)
        .ok_or_else(|| anyhow::anyhow!("no {CC} writes"))?;
    let public = kvrwset::KvrwSet::decode(ns.rwset.as_slice())?.writes;
    let mut hashed = Vec::new();
    for collection in ns.collection_hashed_rwset {
        let set = kvrwset::HashedRwSet::decode(collection.hashed_rwset.as_slice())?;
        hashed.extend(
            set.hashed_writes
                .into_iter()
                .map(|w| (collection.collection_name.clone(), w)),
        );
    }
    Ok((public, hashed))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_records_and_rate_limit_flagging_on_the_real_network() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let net = networks.get("net1")?;
    let org = net.organization("Net1Org1MSP")?;
    let admin = gateway_as(org, "Admin").await?;
    let admin_cc = admin.network(&net.channel).contract(CC);

    // The admin configures the network: its id and a rate limit of one
    // request per minute, network II in the lookup table, an uploader and a
    // requester.
    let network_key = ed25519_dalek::SigningKey::from_bytes(&[2; 32]).verifying_key();
    let encryption_key = [7u8; 32];
    let configure = [
        (
            "ConfigureNetwork",
            json!({"network_id": "net1", "rate_limit_max": 1, "rate_limit_window_seconds": 60}),
        ),
        (
            "PutRemoteNetwork",
            json!({"network_id": "net2", "network_key": hex::encode(network_key.as_bytes()), "status": "active"}),
        ),
        ("RegisterUploader", identity(org, "User1")?),
        ("RegisterRequester", {
            let mut requester = identity(org, "User2")?;
            requester["requester_code"] = "DR-0001".into();
            requester["privileges"] = json!(["request"]);
            requester["encryption_key"] = hex::encode(encryption_key).into();
            requester
        }),
    ];
    // ConfigureNetwork carries the network's ledger secret, and
    // RegisterRequester its argument, in the transient map (the SDK's
    // calls).
    for (function, argument) in configure {
        if function == "ConfigureNetwork" {
            admin::configure_network(&admin_cc, &argument).await?;
        } else {
            interface::submit(&admin_cc, function, [argument.to_string()]).await?;
        }
    }

    // PutEhr: the metadata and the FHIR record travel in the transient map;
    // the committed writes are all private (the block holds their hashes),
    // the record's under the keyed hash of its id, its value hash the
    // record's SHA-256, as the contract reports it.
    let patient_ref = hex::encode(Sha256::digest(b"a patient"));
    let record =
        br#"{"resourceType":"Condition","id":"cond-1","code":{"text":"Type 2 diabetes mellitus"}}"#;
    let uploader = gateway_as(org, "User1").await?;
    let uploader_cc = uploader.network(&net.channel).contract(CC);
    let metadata = json!({"patient_ref": patient_ref, "records": ["Condition/cond-1"]});
    let transaction = uploader_cc
        .proposal("PutEhr")
        .transient("metadata", metadata.to_string())
        .transient("Condition/cond-1", record.to_vec())
        .endorsing_organizations(all_orgs(net))
        .build()?
        .endorse()
        .await?;
    let stored: Value = serde_json::from_slice(transaction.result())?;
    let tx_id = transaction.transaction_id().to_owned();
    transaction.submit().await?.status().await?.into_result()?;
    let record_hash = hex::encode(Sha256::digest(record));
    assert_eq!(stored["records"][0]["sha256"], record_hash);
    assert_eq!(stored["records"][0]["stored"], "stored");

    let (public, hashed) = committed_writes(&uploader, &net.channel, &tx_id).await?;
    assert!(public.is_empty(), "{public:?}");
    let private: Vec<_> = hashed.iter().filter(|(c, _)| c == "ehrRecords").collect();
    assert_eq!(private.len(), 1, "{hashed:?}");
    assert_ne!(
        private[0].1.key_hash,
        Sha256::digest(b"Condition/cond-1").to_vec(),
        "a guessable record id is not the key"
    );
    assert_eq!(hex::encode(&private[0].1.value_hash), record_hash);
    assert!(hashed.iter().any(|(c, _)| c == "ehrState"), "{hashed:?}");

    // SubmitRequest: the first request is validated; the second within the
    // minute flags the requester (the flag commits); after that, every
    // transaction of the requester is refused.
    let requester = org.user("User2")?;
    let key = PrivateKey::from_pem(&std::fs::read_to_string(&requester.key)?)?.into_signer();
    let requester_gateway = gateway_as(org, "User2").await?;
    let creator = requester_gateway.identity().creator().to_vec();
    let requester_cc = requester_gateway.network(&net.channel).contract(CC);
    let signed_request = |id: &str| -> anyhow::Result<Vec<u8>> {
        let request = Request {
            request_id: id.into(),
            source_network: "net1".into(),
            destination_network: "net2".into(),
            requester_code: "DR-0001".into(),
            patient_ref: Sha256::digest(b"a patient").to_vec(),
            purpose: Purpose::Treatment as i32,
            categories: vec!["Condition".into()],
            created_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
            requester_encryption_key: encryption_key.to_vec(),
        };
        Ok(SignedRequest::sign(&request, creator.clone(), key.as_ref())?.encode_to_vec())
    };
    let outcome = |bytes: &[u8]| -> anyhow::Result<Value> { Ok(serde_json::from_slice(bytes)?) };

    let first = interface::submit(
        &requester_cc,
        "SubmitRequest",
        [signed_request("0b6f6a2e-3c1d-4a8e-9f2b-6d4c2e1a7b01")?],
    )
    .await?;
    assert_eq!(outcome(&first.result)?["outcome"], "validated");
    let second = interface::submit(
        &requester_cc,
        "SubmitRequest",
        [signed_request("5a1c9e40-7d2b-4f6a-8c3e-1b9d0f2e4a62")?],
    )
    .await?;
    let second = outcome(&second.result)?;
    assert_eq!(second["outcome"], "rejected");
    assert!(
        second["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("flagged"),
        "{second}"
    );

    let third = interface::submit(
        &requester_cc,
        "SubmitRequest",
        [signed_request("9e2d4b1a-6c3f-4d8e-a7b5-2f1e0c9d8b73")?],
    )
    .await;
    match third {
        Err(error @ Error::Endorse(_)) => {
            assert_eq!(error_code(&error), Some(ErrorCode::Flagged), "{error}")
        }
        other => panic!("a flagged requester's transaction must be refused, got {other:?}"),
    }
    let security: Value =
        serde_json::from_slice(&admin_cc.evaluate("AuditTrail", ["security"]).await?)?;
    let kinds: Vec<&str> = security
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, vec!["flagged"], "{security}");
    networks.down()
}
