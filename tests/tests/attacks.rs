//! The paper's security analysis, and the cases it leaves as future work,
//! on the two real networks. Each attack is refused or detected, and the
//! ledger shows that nothing was written where the design says so (chain
//! height unchanged on an error, request status and audit entries as
//! before on an idempotent resubmission):
//!
//! - an outsider (network II's user, also posing as a member of network I)
//!   submits a well-formed request on network I;
//! - a request is forged with an attestation by a key that is not network
//!   I's;
//! - a request id is replayed with other bytes (refused) and with the same
//!   envelope (idempotent);
//! - a reply answers a request never sent;
//! - a reply comes from a network other than the destination, or is
//!   attested by a key that is not the destination's;
//! - a real reply's sealed records are tampered with before the requester
//!   verifies them;
//! - another user tries to read the reply (refused and audited).
//!
//! Forged envelopes go in through the contract's real entry points, as the
//! registered relay identity would submit them.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::time::Duration;

use ed25519_dalek::SigningKey;
use ehrx_client::ehr::interface::SubmitOutcome;
use ehrx_client::ehr::replies::{decode_signed_reply, verify_reply};
use ehrx_client::ehr::{
    Error as EhrError, HistoryOutcome, HistoryRequest, ReplyError, RequestState,
};
use ehrx_client::fabric::{Gateway, Identity, SigningIdentity};
use ehrx_e2e::NetworkDescription;
use ehrx_e2e::exchange::{ExchangeSetup, network_signing_key, org};
use ehrx_e2e::forge::{
    self, UserKeys, attested, audit_kinds, fresh_request_id, request_status as status,
    signed_refusal, signed_request, user_keys,
};
use ehrx_e2e::networks::Networks;
use ehrx_proto::exchange::forwarded_envelope::Payload;
use ehrx_proto::exchange::{Purpose, Reply, SignedReply};
use prost::Message;
use serde_json::{Value, json};

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn height(net: &NetworkDescription) -> u64 {
    forge::height(net).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attack_is_refused_or_detected_and_writes_nothing() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let mut setup = ExchangeSetup::configure(&networks).await?;
    let (net1, net2) = (setup.net1, setup.net2);
    let (patient_ref, _) = setup.upload_patient(11).await?;
    let patient = patient_ref.to_hex();
    let admin1 = setup.contract_as("net1", "Admin").await?;
    let admin2 = setup.contract_as("net2", "Admin").await?;
    let history = HistoryRequest {
        patient_ref,
        destination_network: "net2".into(),
        categories: Vec::new(),
        purpose: Purpose::Treatment,
    };

    // A real exchange, so that there is a real reply to attack.
    setup.start_relays()?;
    setup.start_responders().await?;
    let doctor = setup.doctor().await?;
    let requested = doctor
        .request_history(&history, Duration::from_secs(90))
        .await?;
    assert_eq!(requested.outcome, HistoryOutcome::ReplyReady);
    let key = &requested.pending.reply_key;
    let request_id = key.request_id.clone();
    setup.stop_services().await?;

    // Tampered sealed reply: the genuine reply verifies; one ciphertext
    // bit flipped breaks the responder's signature, and even re-signed by a
    // responder the sealed records no longer open.
    let doctor_cc = setup.contract_as("net1", "User2").await?;
    let got = json_of(&doctor_cc.submit("GetReply", [&request_id]).await?.result);
    let genuine = decode_signed_reply(got["signed_reply"].as_str().unwrap())?;
    verify_reply(&genuine, key)?;
    let mut reply = Reply::decode(genuine.reply.as_slice())?;
    reply.sealed_records.as_mut().unwrap().ciphertext[0] ^= 0x01;
    let mut tampered = genuine.clone();
    tampered.reply = reply.encode_to_vec();
    let detected = verify_reply(&tampered, key);
    assert!(
        matches!(detected, Err(ReplyError::Signature(_))),
        "tampered bytes must fail the signature: {detected:?}"
    );
    let responder = user_keys(org(net2, "org1")?, "User1")?;
    let resigned = SignedReply::sign(&reply, responder.creator, responder.signer.as_ref())?;
    let detected = verify_reply(&resigned, key);
    assert!(
        matches!(detected, Err(ReplyError::Decrypt(_))),
        "tampered ciphertext must not open: {detected:?}"
    );

    // Retrieval by another user of network I: refused, and recorded.
    let nosy = setup.client_as("User1").await?;
    let refused = nosy.read_reply(key).await;
    assert!(
        matches!(refused, Err(EhrError::Reply(ReplyError::Refused { .. }))),
        "{refused:?}"
    );
    let trail = json_of(&admin1.evaluate("AuditTrail", [&patient]).await?);
    let refusals: Vec<&Value> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "retrieval_refused" && e["request_id"] == request_id.as_str())
        .collect();
    assert_eq!(refusals.len(), 1, "{trail}");
    assert!(
        refusals[0]["actor_id"]
            .as_str()
            .unwrap()
            .contains("User1@org1.net1"),
        "{}",
        refusals[0]
    );

    // From here on no relay or responder runs: every forged message goes
    // straight into the contract as the registered relay would submit it.
    let relay1 = setup.contract_as("net1", "User3").await?;
    let relay2 = setup.contract_as("net2", "User3").await?;
    let doctor_keys = user_keys(org(net1, "org1")?, "User2")?;
    let encryption_key = *setup.requester_key.public_key();

    // An outsider submits a well-formed request on network I: network II's
    // user as itself, and with its certificate claiming network I's MSP.
    let outsider_org = org(net2, "org1")?;
    let outsider_keys = user_keys(outsider_org, "User1")?;
    let outsider_cert = std::fs::read(&outsider_org.user("User1")?.cert)?;
    let net1_peer = &org(net1, "org1")?.peers[0];
    let before = height(net1);
    for (msp_id, label) in [
        (outsider_org.msp_id.as_str(), "as network II's member"),
        ("Net1Org1MSP", "posing as network I's member"),
    ] {
        let identity = SigningIdentity::new(
            Identity::new(msp_id, outsider_cert.clone()),
            outsider_keys.signer.clone(),
        );
        let keys = UserKeys {
            signer: outsider_keys.signer.clone(),
            creator: identity.creator().to_vec(),
        };
        let outsider = Gateway::new(net1_peer.connection()?.connect().await?, identity);
        let id = fresh_request_id();
        let submitted = outsider
            .network(&net1.channel)
            .contract("ehrx")
            .submit(
                "SubmitRequest",
                [signed_request(
                    &id,
                    &patient_ref,
                    &encryption_key,
                    Purpose::Treatment,
                    &keys,
                )?],
            )
            .await;
        assert!(
            submitted.is_err(),
            "an outsider {label} must be refused: {submitted:?}"
        );
        eprintln!("outsider {label}: {}", submitted.unwrap_err());
        assert!(
            status(&admin1, &id).await.is_err(),
            "no request {id} stored"
        );
    }
    assert_eq!(height(net1), before, "nothing committed on network I");
    let requests = doctor.list_requests().await?;
    assert_eq!(requests.len(), 1, "{requests:?}");

    // A forged request: the doctor's genuine signature, but attested by a
    // key that is not network I's.
    let forged_id = fresh_request_id();
    let forged = attested(
        Payload::SignedRequest(signed_request(
            &forged_id,
            &patient_ref,
            &encryption_key,
            Purpose::Treatment,
            &doctor_keys,
        )?),
        "net1",
        &SigningKey::from_bytes(&[9; 32]),
    );
    let before = height(net2);
    let refused = relay2.submit("AcceptRequest", [&forged]).await;
    let error = refused.expect_err("a forged attestation must be refused");
    assert!(
        error.to_string().contains("attestation"),
        "the refusal names the attestation: {error}"
    );
    assert_eq!(height(net2), before, "nothing committed on network II");
    assert!(status(&admin2, &forged_id).await.is_err());

    // Replay: a genuine delivery is accepted; the same id with other bytes
    // is refused as a replay; the identical envelope again returns the
    // stored outcome and changes nothing.
    let net1_key = network_signing_key("net1")?;
    let replay_id = fresh_request_id();
    let first_envelope = attested(
        Payload::SignedRequest(signed_request(
            &replay_id,
            &patient_ref,
            &encryption_key,
            Purpose::Treatment,
            &doctor_keys,
        )?),
        "net1",
        &net1_key,
    );
    let first = json_of(
        &relay2
            .submit("AcceptRequest", [&first_envelope])
            .await?
            .result,
    );
    assert_eq!(first["outcome"], "accepted", "{first}");
    let stored = status(&admin2, &replay_id).await?;
    let other_bytes = attested(
        Payload::SignedRequest(signed_request(
            &replay_id,
            &patient_ref,
            &encryption_key,
            Purpose::Emergency,
            &doctor_keys,
        )?),
        "net1",
        &net1_key,
    );
    let before = height(net2);
    let replayed = relay2.submit("AcceptRequest", [&other_bytes]).await;
    let error = replayed.expect_err("a replayed id with other bytes must be refused");
    assert!(error.to_string().contains("replay"), "{error}");
    assert_eq!(height(net2), before, "a replay commits nothing");
    let again = json_of(
        &relay2
            .submit("AcceptRequest", [&first_envelope])
            .await?
            .result,
    );
    assert_eq!(again, first, "the same envelope returns the stored outcome");
    assert_eq!(
        status(&admin2, &replay_id).await?,
        stored,
        "no second state"
    );
    assert_eq!(
        audit_kinds(&admin2, &patient, Some(&replay_id)).await?,
        ["request_accepted"],
        "accepted exactly once"
    );

    // A reply to a request never sent, genuinely signed and attested by
    // network II.
    let net2_key = network_signing_key("net2")?;
    let never_sent = fresh_request_id();
    let envelope = attested(
        Payload::SignedReply(signed_refusal(&never_sent, "net2", org(net2, "org1")?)?),
        "net2",
        &net2_key,
    );
    let before = height(net1);
    let refused = relay1.submit("AcceptReply", [&envelope]).await;
    assert!(refused.is_err(), "{refused:?}");
    eprintln!("reply to a request never sent: {}", refused.unwrap_err());
    assert_eq!(height(net1), before, "nothing committed on network I");
    assert!(status(&admin1, &never_sent).await.is_err());

    // A reply from a network other than the destination. The doctor's open
    // request goes to II (no relay runs, so it stays open); network III is
    // a genuine lookup table entry of network I with its own key.
    let (open, submitted) = doctor.submit_request(&history).await?;
    assert_eq!(submitted.outcome, SubmitOutcome::Validated, "{submitted:?}");
    let open_id = open.request_id().to_owned();
    let net3_key = SigningKey::from_bytes(&[3; 32]);
    admin1
        .submit(
            "PutRemoteNetwork",
            [json!({"network_id": "net3", "network_key": hex::encode(net3_key.verifying_key().as_bytes()), "status": "active"}).to_string()],
        )
        .await?;
    let before = height(net1);
    // Network III answers in its own name, with its own valid attestation.
    let from_net3 = attested(
        Payload::SignedReply(signed_refusal(&open_id, "net3", org(net2, "org1")?)?),
        "net3",
        &net3_key,
    );
    let refused = relay1.submit("AcceptReply", [&from_net3]).await;
    let error = refused.expect_err("a reply from another network must be refused");
    eprintln!("reply from network III: {error}");
    // Network III claims to be II, but cannot attest with II's key.
    let posing_as_net2 = attested(
        Payload::SignedReply(signed_refusal(&open_id, "net2", org(net2, "org1")?)?),
        "net2",
        &net3_key,
    );
    let refused = relay1.submit("AcceptReply", [&posing_as_net2]).await;
    let error = refused.expect_err("a reply attested by a third key must be refused");
    assert!(error.to_string().contains("attestation"), "{error}");
    assert_eq!(height(net1), before, "nothing committed on network I");
    assert_eq!(
        doctor.request_status(&open_id).await?.state,
        RequestState::Validated,
        "the request is still open"
    );
    assert_eq!(
        audit_kinds(&admin1, &patient, Some(&open_id)).await?,
        ["request_submitted"],
        "no reply recorded"
    );

    setup.stop().await?;
    networks.down()
}
