//! No exchange metadata on the channel ledger (issue 15, item 4): after a
//! whole exchange on the two real networks (a synthetic patient uploaded
//! on II, a doctor on I requests the history, both relays and II's
//! responders carry and answer it, the doctor reads the reply, another
//! user is refused it), every block of both channels is read with qscc
//! `GetBlockByNumber` through the SDK's gateway client, and its raw bytes
//! are searched for what the exchange must not disclose to a channel
//! member: the patient ref (hex and raw), the requester code, every
//! record id (and its FHIR id alone), and the patient's and
//! practitioners' names. None may be found.
//!
//! What the blocks may still hold: opaque ids (request ids), keyed hashes
//! (private data key and value hashes), network ids, and the
//! certificates of the identities that sign transactions.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::collections::BTreeSet;

use ehrx_client::ehr::synthetic::SyntheticPatient;
use ehrx_client::fabric::Contract;
use ehrx_lab::NetworkDescription;
use ehrx_lab::exchange::{ExchangeSetup, REQUESTER_CODE, gateway_as, org};
use ehrx_lab::networks::Networks;
use hlf_protos::common::BlockchainInfo;
use prost::Message as _;
use serde_json::Value;

/// The synthetic patient of this test.
const SEED: u64 = 15;

/// One thing that must not be in any block: what it is, and its bytes.
struct Secret {
    what: String,
    bytes: Vec<u8>,
}

impl Secret {
    fn new(what: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            what: what.into(),
            bytes: bytes.into(),
        }
    }
}

/// Every `name` of the patient's resources (Patient, Practitioner...):
/// each `text`, `family` and `given` of 4 characters or more (shorter ones
/// would match random bytes).
fn names(resources: &[Value]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for resource in resources {
        let Some(names) = resource["name"].as_array() else {
            continue;
        };
        for name in names {
            let mut parts: Vec<&str> = Vec::new();
            parts.extend(name["text"].as_str());
            parts.extend(name["family"].as_str());
            if let Some(given) = name["given"].as_array() {
                parts.extend(given.iter().filter_map(Value::as_str));
            }
            found.extend(
                parts
                    .into_iter()
                    .filter(|part| part.len() >= 4)
                    .map(str::to_owned),
            );
        }
    }
    found
}

/// Every block of `net`'s channel, in order, through qscc.
async fn blocks(net: &NetworkDescription) -> anyhow::Result<Vec<Vec<u8>>> {
    let gateway = gateway_as(org(net, "org1")?, "User1").await?;
    let qscc: Contract = gateway.network(&net.channel).contract("qscc");
    let info = BlockchainInfo::decode(
        qscc.evaluate("GetChainInfo", [net.channel.as_str()])
            .await?
            .as_slice(),
    )?;
    let mut blocks = Vec::new();
    for number in 0..info.height {
        let number = number.to_string();
        blocks.push(
            qscc.evaluate("GetBlockByNumber", [net.channel.as_str(), number.as_str()])
                .await?,
        );
    }
    Ok(blocks)
}

/// Where `needle` occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_block_of_either_channel_names_a_patient_requester_or_record() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let mut setup = ExchangeSetup::configure(&networks).await?;

    // The whole exchange.
    let (patient_ref, uploaded) = setup.upload_patient(SEED).await?;
    setup.start_relays()?;
    setup.start_responders().await?;
    let doctor = setup.doctor().await?;
    let requested = setup.request_from_net2(&doctor, patient_ref).await?;
    let reply = doctor.read_reply(&requested.pending.reply_key).await?;
    assert_eq!(reply.records.len(), uploaded.len(), "the whole history");
    let nosy = setup.client_as("User1").await?;
    assert!(
        nosy.read_reply(&requested.pending.reply_key).await.is_err(),
        "only the requester may read the reply"
    );
    setup.stop_services().await?;

    // What must not be on either ledger.
    let patient = SyntheticPatient::generate(SEED);
    let mut secrets = vec![
        Secret::new("patient ref (hex)", patient_ref.to_hex()),
        Secret::new("patient ref (raw)", patient_ref.as_bytes().to_vec()),
        Secret::new("requester code", REQUESTER_CODE),
        Secret::new("patient name", patient.identifiers.name.clone()),
    ];
    for record in &uploaded {
        secrets.push(Secret::new(
            format!("record id {}", record.record_id),
            record.record_id.clone(),
        ));
        if let Some((_, id)) = record.record_id.split_once('/') {
            secrets.push(Secret::new(format!("FHIR id of {}", record.record_id), id));
        }
    }
    for name in names(&patient.resources) {
        secrets.push(Secret::new(format!("name {name:?}"), name));
    }
    assert!(
        secrets
            .iter()
            .filter(|s| s.what.starts_with("name"))
            .count()
            >= 2,
        "the patient's and a practitioner's names are searched for"
    );

    let mut found = Vec::new();
    let mut scanned = 0;
    // The control: the request id is opaque and in the blocks (the events
    // name it), so the search does see what the blocks hold.
    let request_id = requested.pending.request_id().as_bytes().to_vec();
    let mut request_id_seen = 0;
    for net in [setup.net1, setup.net2] {
        for (number, block) in blocks(net).await?.iter().enumerate() {
            scanned += 1;
            request_id_seen += usize::from(find(block, &request_id).is_some());
            for secret in &secrets {
                if let Some(at) = find(block, &secret.bytes) {
                    let around = &block
                        [at.saturating_sub(48)..(at + secret.bytes.len() + 16).min(block.len())];
                    found.push(format!(
                        "{} block {number}: {} at byte {at}: {:?}",
                        net.name,
                        secret.what,
                        String::from_utf8_lossy(around)
                    ));
                }
            }
        }
    }
    assert!(scanned > 10, "both channels' blocks were read ({scanned})");
    assert!(
        request_id_seen >= 2,
        "the request id is in blocks of both channels ({request_id_seen})"
    );
    eprintln!(
        "{scanned} blocks scanned for {} secrets: none found",
        secrets.len()
    );
    assert!(
        found.is_empty(),
        "{} finding(s):\n{}",
        found.len(),
        found.join("\n")
    );

    setup.stop().await?;
    networks.down()
}
