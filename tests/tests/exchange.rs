//! The whole exchange across the two real networks: a doctor on network I
//! requests a patient's history from network II. Network I verifies the
//! request (Alg. 1), its relay carries it to II's relay over mutual TLS,
//! network II verifies it (Alg. 2), II's responders race to seal and submit
//! the reply, and the reply comes back and is verified on I (Alg. 3). The
//! doctor then reads it, decrypted and checked record by record; anyone
//! else is refused.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ehrx_client::ehr::synthetic::SyntheticPatient;
use ehrx_client::ehr::{
    EhrClient, EhrSettings, HistoryOutcome, HistoryRequest, InMemoryKeyStore, MatchingKey,
    RequesterKey,
};
use ehrx_client::fabric::config::Organization;
use ehrx_client::fabric::{Gateway, InMemoryCheckpointer, PrivateKey};
use ehrx_client::relay::{Relay, config::RelayConfig};
use ehrx_client::responder::Responder;
use ehrx_e2e::NetworkDescription;
use ehrx_e2e::networks::{Networks, network_home};
use ehrx_proto::exchange::Purpose;
use serde_json::json;
use tokio::sync::watch;

async fn gateway_as(org: &Organization, user: &str) -> anyhow::Result<Gateway> {
    let peer = org
        .peers
        .first()
        .ok_or_else(|| anyhow::anyhow!("no peer"))?;
    Ok(Gateway::new(
        peer.connection()?.connect().await?,
        org.signing_identity(user)?,
    ))
}

fn org<'a>(net: &'a NetworkDescription, org: &str) -> anyhow::Result<&'a Organization> {
    let msp_id = format!("{}{}MSP", capitalised(&net.name), capitalised(org));
    Ok(net.organization(&msp_id)?)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn identity(org: &Organization, user: &str) -> anyhow::Result<serde_json::Value> {
    Ok(
        json!({"msp_id": org.msp_id, "certificate": std::fs::read_to_string(&org.user(user)?.cert)?}),
    )
}

/// The public half of a network's Ed25519 key, as the lookup table holds it.
fn network_public_key(net: &str) -> anyhow::Result<String> {
    let hex_secret =
        std::fs::read_to_string(network_home().join(net).join("relay/network-key.hex"))?;
    let secret: [u8; 32] = hex::decode(hex_secret.trim())?
        .try_into()
        .map_err(|_| anyhow::anyhow!("network key of {net} is not 32 bytes"))?;
    Ok(hex::encode(
        ed25519_dalek::SigningKey::from_bytes(&secret)
            .verifying_key()
            .as_bytes(),
    ))
}

/// A shutdown signal shared by the relays and responders of the test.
fn stopped(signal: &watch::Receiver<bool>) -> impl Future<Output = ()> + Send + 'static {
    let mut signal = signal.clone();
    async move {
        let _ = signal.wait_for(|stop| *stop).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doctor_on_network_i_reads_a_patients_history_from_network_ii() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let (net1, net2) = (networks.get("net1")?, networks.get("net2")?);

    // Each network's admin: its id, the other network in the lookup table,
    // its relay; on I a requester with a long-term X25519 key, on II an
    // uploader and a responder per organisation.
    let requester_key = RequesterKey::generate()?;
    for (net, other) in [(net1, net2), (net2, net1)] {
        let admin = gateway_as(org(net, "org1")?, "Admin").await?;
        let contract = admin.network(&net.channel).contract("ehrx");
        let mut calls = vec![
            (
                "ConfigureNetwork",
                json!({"network_id": net.name, "rate_limit_max": 5, "rate_limit_window_seconds": 60}),
            ),
            (
                "PutRemoteNetwork",
                json!({"network_id": other.name, "network_key": network_public_key(&other.name)?, "status": "active"}),
            ),
            ("RegisterRelay", identity(org(net, "org1")?, "User3")?),
        ];
        if net.name == "net1" {
            let mut requester = identity(org(net, "org1")?, "User2")?;
            requester["requester_code"] = "DR-0001".into();
            requester["privileges"] = json!(["request"]);
            requester["encryption_key"] = hex::encode(requester_key.public_key()).into();
            calls.push(("RegisterRequester", requester));
        } else {
            calls.push(("RegisterUploader", identity(org(net, "org1")?, "User2")?));
            calls.push(("RegisterResponder", identity(org(net, "org1")?, "User1")?));
            calls.push(("RegisterResponder", identity(org(net, "org2")?, "User1")?));
        }
        for (function, argument) in calls {
            contract.submit(function, [argument.to_string()]).await?;
        }
    }

    // Network II holds a synthetic patient's records.
    let matching_key = MatchingKey::from_bytes([42; 32]);
    let patient = SyntheticPatient::generate(7);
    let patient_ref = patient.identifiers.patient_ref(&matching_key)?;
    let uploader = gateway_as(org(net2, "org1")?, "User2").await?;
    let uploaded = EhrClient::new(&uploader, EhrSettings::from_description(net2))
        .upload_record(&patient_ref, &patient.bundle_json())
        .await?;
    assert!(
        uploaded.len() >= 5,
        "a realistic history: {} records",
        uploaded.len()
    );

    // Both relays and network II's two responders run until the test ends.
    let (stop, signal) = watch::channel(false);
    let mut services = Vec::new();
    for net in [net1, net2] {
        let config = RelayConfig::load(&network_home().join(&net.name).join("relay/relay.json"))?;
        let shutdown = stopped(&signal);
        services.push(tokio::spawn(async move {
            Relay::run(config, shutdown)
                .await
                .map_err(anyhow::Error::from)
        }));
    }
    for org_name in ["org1", "org2"] {
        let responder_org = org(net2, org_name)?;
        let gateway = gateway_as(responder_org, "User1").await?;
        let user = responder_org.user("User1")?;
        let signer = PrivateKey::from_pem(&std::fs::read_to_string(&user.key)?)?.into_signer();
        let creator = gateway.identity().creator().to_vec();
        let settings = EhrSettings::from_description(net2);
        let shutdown = stopped(&signal);
        services.push(tokio::spawn(async move {
            let mut responder = Responder::new(
                &gateway,
                settings,
                creator,
                signer,
                InMemoryCheckpointer::default(),
            );
            responder
                .run_until(shutdown)
                .await
                .map_err(anyhow::Error::from)
        }));
    }

    // The doctor on network I asks, waits for the outcome, and reads.
    let doctor = gateway_as(org(net1, "org1")?, "User2").await?;
    let client = EhrClient::new(&doctor, EhrSettings::from_description(net1))
        .with_requester_code("DR-0001")
        .with_requester_key(requester_key)
        .with_key_store(Arc::new(InMemoryKeyStore::new()));
    let request = HistoryRequest {
        patient_ref,
        destination_network: net2.name.clone(),
        categories: Vec::new(),
        purpose: Purpose::Treatment,
    };
    let requested = client
        .request_history(&request, Duration::from_secs(90))
        .await?;
    assert_eq!(
        requested.outcome,
        HistoryOutcome::ReplyReady,
        "request {}",
        requested.pending.request_id()
    );

    let reply = client.read_reply(&requested.pending.reply_key).await?;
    assert_eq!(reply.replying_network, "net2");
    let received: BTreeMap<&str, [u8; 32]> = reply
        .records
        .iter()
        .map(|r| (r.record_id.as_str(), r.sha256))
        .collect();
    let expected: BTreeMap<&str, [u8; 32]> = uploaded
        .iter()
        .map(|r| (r.record_id.as_str(), r.sha256))
        .collect();
    assert_eq!(received, expected, "every uploaded record, intact");

    // Retrieval privilege: another user of network I is refused.
    let colleague = gateway_as(org(net1, "org1")?, "User1").await?;
    let nosy = EhrClient::new(&colleague, EhrSettings::from_description(net1));
    let refused = nosy.read_reply(&requested.pending.reply_key).await;
    assert!(refused.is_err(), "only the requester may read the reply");

    stop.send(true)?;
    for service in services {
        tokio::time::timeout(Duration::from_secs(30), service).await???;
    }
    networks.down()
}
