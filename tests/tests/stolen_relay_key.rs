//! Issue 12: whoever steals network I's relay host holds its Ed25519
//! network key and its relay TLS files, and can mint certificates of his
//! own. With only that, he forges a request that was never submitted on
//! network I, naming his own sealing key, and delivers it to network II's
//! relay: network II refuses it, because no peer of network I's registered
//! CAs vouched for it, says why, and stores and discloses nothing. A
//! genuine request, validated on I and proven by I's peers, goes through
//! the very same door, so the refusal is the proof's doing. The same holds
//! the other way for a reply forged with relay II's key.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::future::Future;
use std::time::{Duration, Instant};

use ehrx_client::ehr::interface::function;
use ehrx_client::fabric::PrivateKey;
use ehrx_lab::NetworkDescription;
use ehrx_lab::exchange::{ExchangeSetup, relay_config_path, wait_for_peers};
use ehrx_lab::forge::{UserKeys, fresh_request_id, request_status, signed_request, user_keys};
use ehrx_lab::networks::Networks;
use ehrx_proto::exchange::{
    ForwardedEnvelope, Purpose, Reply, ReplyStatus, SignedReply, ValidationProof,
    forwarded_envelope::Payload, proof::testing as endorse,
};
use ehrx_services::relay::{
    RelayConfig,
    remote::{DeliveryError, Remotes},
};
use ehrx_testkit::Ca;
use hlf_protos::msp::SerializedIdentity;
use prost::Message as _;
use sha2::{Digest as _, Sha256};

/// An identity the thief minted: `subject` under `msp_id`, from his CA.
fn minted(ca: &Ca, msp_id: &str, subject: &str, seed: u8) -> (UserKeys, String) {
    let issued = ca.issue(subject, seed, Vec::new());
    let keys = UserKeys {
        signer: PrivateKey::from_pem(&issued.key_pem).unwrap().into_signer(),
        creator: SerializedIdentity {
            mspid: msp_id.to_owned(),
            id_bytes: issued.cert_pem.clone().into_bytes(),
        }
        .encode_to_vec(),
    };
    (keys, issued.cert_pem)
}

/// `call` until it does not fail for a reason that may pass (network II's
/// relay is still starting), for up to a minute.
async fn settled<T, F: Future<Output = Result<T, DeliveryError>>>(
    call: impl Fn() -> F,
) -> Result<T, DeliveryError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match call().await {
            Err(DeliveryError::Failed(_)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            other => return other,
        }
    }
}

/// A proof of validation "endorsed" by peers the thief minted with `ca`
/// for the organisations `orgs` (MSP id, org name) of network `net`:
/// `function(request_id, SHA-256 of signed, nonce)` answered with the
/// statement the contract would give.
fn minted_proof(
    ca: &Ca,
    net: &NetworkDescription,
    orgs: &[(&str, &str)],
    function: &str,
    request_id: &str,
    signed: &[u8],
    nonce: &str,
) -> Vec<u8> {
    let hash = hex::encode(Sha256::digest(signed));
    let args: [&[u8]; 4] = [
        function.as_bytes(),
        request_id.as_bytes(),
        hash.as_bytes(),
        nonce.as_bytes(),
    ];
    let hash_field = if function == function::PROVE_REPLY {
        "signed_reply_sha256"
    } else {
        "signed_request_sha256"
    };
    let statement = serde_json::json!({
        "network_id": net.name, "request_id": request_id, hash_field: hash,
        "nonce": nonce, "validated": true,
    })
    .to_string();
    let (proposal, proposal_hash) = endorse::proposal(&net.channel, "ehrx", &args, b"thief");
    let payload = endorse::response_payload(&proposal_hash, "ehrx", 200, statement.as_bytes());
    let endorsements = orgs
        .iter()
        .zip(210u8..)
        .map(|((msp_id, org), seed)| {
            let subject = format!(
                "CN=peer0.{org}.{0}.example.com,OU=peer,O={org}.{0}",
                net.name
            );
            let issued = ca.issue(&subject, seed, Vec::new());
            let signer = PrivateKey::from_pem(&issued.key_pem).unwrap().into_signer();
            endorse::endorse(&payload, msp_id, &issued.cert_pem, signer.as_ref())
        })
        .collect();
    ValidationProof {
        proposal,
        proposal_response_payload: payload,
        endorsements,
    }
    .encode_to_vec()
}

/// The reason the other network's relay gave for refusing a delivery.
fn refusal(result: Result<impl std::fmt::Debug, DeliveryError>) -> String {
    match result {
        Err(DeliveryError::Refused(status)) => status.message().to_owned(),
        other => panic!("expected a final refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_relay_key_cannot_make_network_ii_disclose() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let mut setup = ExchangeSetup::configure(&networks).await?;
    let (patient, _) = setup.upload_patient(7).await?;
    setup.start_relays()?;

    // What the thief holds: relay I's configuration, network key and TLS
    // files, so he reaches network II's relay as relay I does.
    let stolen = RelayConfig::load(&relay_config_path("net1"))?;
    let network_key = stolen.network_key()?;
    let thief = Remotes::new(&stolen, &stolen.tls_files()?)?;

    // A doctor of his own making, under network I's MSP id, asking for the
    // patient's history sealed to his own key.
    let thief_ca = Ca::new("CN=ca.org1.net1.example.com,O=org1.net1,C=US", 201);
    let (doctor, _) = minted(
        &thief_ca,
        "Net1Org1MSP",
        "CN=User2@org1.net1.example.com,OU=client,O=org1.net1",
        202,
    );
    let sealing_key = [0x5a; 32];
    let id = fresh_request_id();
    let signed = signed_request(&id, &patient, &sealing_key, Purpose::Emergency, &doctor)?;
    let envelope =
        ForwardedEnvelope::attest(Payload::SignedRequest(signed.clone()), "net1", &network_key);

    // No proof: the attestation verifies, and is not enough.
    let reason = refusal(settled(|| thief.deliver("net2", envelope.clone(), Vec::new())).await);
    assert!(reason.contains("[BAD_PROOF]"), "{reason}");

    // A proof "endorsed" by peers he minted for both of I's organisations,
    // for a genuine challenge of network II.
    let grant = settled(|| thief.challenge("net2", "net1"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let forged_proof = minted_proof(
        &thief_ca,
        setup.net1,
        &[("Net1Org1MSP", "org1"), ("Net1Org2MSP", "org2")],
        function::PROVE_REQUEST,
        &id,
        &signed,
        &grant.nonce,
    );
    let reason = refusal(thief.deliver("net2", envelope, forged_proof).await);
    assert!(reason.contains("[BAD_PROOF]"), "{reason}");
    assert!(
        reason.contains("not issued by a CA root registered"),
        "{reason}"
    );

    // Nothing stored on network II, so nothing for a responder to answer.
    let admin2 = setup.contract_as("net2", "Admin").await?;
    let stored = request_status(&admin2, &id).await;
    assert!(stored.is_err(), "the forged request was stored: {stored:?}");

    // The control: a request really validated on network I, with the proof
    // its peers endorse, through the same stolen door, is accepted.
    let real_doctor = user_keys(ehrx_lab::exchange::org(setup.net1, "org1")?, "User2")?;
    let genuine_id = fresh_request_id();
    let genuine = signed_request(
        &genuine_id,
        &patient,
        setup.requester_key.public_key(),
        Purpose::Treatment,
        &real_doctor,
    )?;
    let submitted = setup
        .contract_as("net1", "User2")
        .await?
        .submit(function::SUBMIT_REQUEST, [&genuine])
        .await?;
    wait_for_peers(setup.net1, &submitted.status.transaction_id).await?;
    let proof = setup.validation_proof("net1", "net2", &genuine).await?;
    let envelope = ForwardedEnvelope::attest(Payload::SignedRequest(genuine), "net1", &network_key);
    // Relay I carries the same request at the same time; whichever commits
    // second conflicts once, and its retry gets the stored outcome.
    let receipt = settled(|| thief.deliver("net2", envelope.clone(), proof.clone()))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    assert!(
        receipt.outcome.contains("\"accepted\""),
        "{}",
        receipt.outcome
    );

    // The same the other way: whoever steals relay II forges a reply to
    // that open request, naming records II never disclosed, and delivers
    // it to relay I. No responder runs, so II stored no reply at all.
    let stolen = RelayConfig::load(&relay_config_path("net2"))?;
    let net2_key = stolen.network_key()?;
    let thief2 = Remotes::new(&stolen, &stolen.tls_files()?)?;
    let thief2_ca = Ca::new("CN=ca.org1.net2.example.com,O=org1.net2,C=US", 221);
    let (responder, _) = minted(
        &thief2_ca,
        "Net2Org1MSP",
        "CN=User1@org1.net2.example.com,OU=client,O=org1.net2",
        222,
    );
    let reply = Reply {
        request_id: genuine_id.clone(),
        replying_network: "net2".into(),
        receiving_network: "net1".into(),
        status: ReplyStatus::NotFound as i32,
        reason: "no records for this patient".into(),
        created_at: Some(std::time::SystemTime::now().into()),
        ..Default::default()
    };
    let signed_reply =
        SignedReply::sign(&reply, responder.creator.clone(), responder.signer.as_ref())?
            .encode_to_vec();
    let envelope = ForwardedEnvelope::attest(
        Payload::SignedReply(signed_reply.clone()),
        "net2",
        &net2_key,
    );
    let reason = refusal(thief2.deliver("net1", envelope.clone(), Vec::new()).await);
    assert!(reason.contains("[BAD_PROOF]"), "{reason}");
    let grant = settled(|| thief2.challenge("net1", "net2"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let forged_proof = minted_proof(
        &thief2_ca,
        setup.net2,
        &[("Net2Org1MSP", "org1"), ("Net2Org2MSP", "org2")],
        function::PROVE_REPLY,
        &genuine_id,
        &signed_reply,
        &grant.nonce,
    );
    let reason = refusal(thief2.deliver("net1", envelope, forged_proof).await);
    assert!(reason.contains("[BAD_PROOF]"), "{reason}");
    assert!(
        reason.contains("not issued by a CA root registered"),
        "{reason}"
    );
    // The doctor's request is still open on network I: no reply stored.
    let admin1 = setup.contract_as("net1", "Admin").await?;
    let status = request_status(&admin1, &genuine_id).await?;
    assert_eq!(status["status"], "validated", "{status}");
    assert!(status["reply"].is_null(), "{status}");

    setup.stop().await?;
    networks.down()
}
