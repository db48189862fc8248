#![cfg(test)]
//! GetRequestRecords (what a responder seals), SubmitReply (Algorithm 1
//! on the reply, exactly one reply, hashes, coverage), AcceptReply
//! (Algorithm 3) and GetReply (retrieval privilege), one test per check.

use base64::Engine as _;
use ehrx_chaincode::proto::exchange::{
    ForwardedEnvelope, Purpose, Record, RecordBundle, RecordDigest, Reply, ReplyStatus,
    SignedReply,
    forwarded_envelope::Payload,
    seal::{SealContext, seal},
};
use ehrx_chaincode_testing::*;
use prost::Message;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn json_of(payload: &[u8]) -> Value {
    serde_json::from_slice(payload).unwrap()
}

// ---- GetRequestRecords ----

/// The records GetRequestRecords returned, decoded: (id, category,
/// sha256 hex, content).
fn fetched(out: &Value) -> Vec<(String, String, String, Vec<u8>)> {
    out["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["record_id"].as_str().unwrap().to_owned(),
                r["category"].as_str().unwrap().to_owned(),
                r["sha256"].as_str().unwrap().to_owned(),
                base64::engine::general_purpose::STANDARD
                    .decode(r["content"].as_str().unwrap())
                    .unwrap(),
            )
        })
        .collect()
}

/// An OK reply to `request` built from what GetRequestRecords returned.
fn reply_from(
    world: &World,
    out: &Value,
    request: &ehrx_chaincode::proto::exchange::Request,
) -> Reply {
    let records = fetched(out);
    let mut reply = world.reply_ok(request);
    reply.records = records
        .iter()
        .map(|(id, category, sha256, _)| RecordDigest {
            record_id: id.clone(),
            category: category.clone(),
            sha256: hex::decode(sha256).unwrap(),
        })
        .collect();
    let bundle = RecordBundle {
        records: records
            .into_iter()
            .map(|(record_id, category, _, content)| Record {
                record_id,
                category,
                content,
            })
            .collect(),
    };
    let key = hex::decode(out["requester_encryption_key"].as_str().unwrap()).unwrap();
    let context = SealContext {
        request_id: &request.request_id,
        replying_network: NET2,
        receiving_network: out["source_network"].as_str().unwrap(),
    };
    reply.sealed_records = Some(seal(&key, &context, &bundle).unwrap());
    reply
}

#[tokio::test]
async fn a_responder_reads_exactly_the_records_a_reply_must_list() {
    let world = World::new().await;
    // Filed under a category after cond-1's but with an id before it, so
    // key order and record-id order differ.
    let early = br#"{"resourceType":"Observation","id":"aaa-1","status":"final"}"#;
    let out = world
        .net2
        .invoke(Network::put_ehr(
            &world.uploader,
            "aaa-1",
            &world.patient,
            "Observation",
            early,
        ))
        .await;
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let (request, _) = world.accepted_request(1).await;

    let before = snapshot(&world.net2.ledger);
    let out = world
        .net2
        .ok(
            &world.responder,
            &[b"GetRequestRecords", request.request_id.as_bytes()],
        )
        .await;
    assert_eq!(before, snapshot(&world.net2.ledger), "a read wrote");
    assert_eq!(out["request_id"], request.request_id);
    assert_eq!(out["patient_ref"], hex::encode(world.patient));
    assert_eq!(
        out["requester_encryption_key"],
        hex::encode(&world.doctor_public)
    );
    assert_eq!(out["source_network"], NET1);
    let expected: Vec<(String, String, String, Vec<u8>)> = [
        ("aaa-1", "Observation", early.to_vec()),
        ("cond-1", "Condition", condition()),
        ("obs-1", "Observation", observation()),
    ]
    .into_iter()
    .map(|(id, category, content)| {
        (
            id.to_owned(),
            category.to_owned(),
            hex::encode(Sha256::digest(&content)),
            content,
        )
    })
    .collect();
    assert_eq!(fetched(&out), expected);

    // A reply built from them passes SubmitReply's coverage check.
    let signed = world.sign_reply(&reply_from(&world, &out, &request), &world.responder);
    let submitted = world
        .net2
        .ok(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert_eq!(submitted["outcome"], "submitted");
}

#[tokio::test]
async fn only_the_wanted_categories_are_read() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.categories = vec!["Observation".into()];
    let signed = world.sign_request(&request, &world.doctor);
    world
        .net1
        .ok(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    let [function, envelope, proof] = world.accept_args(&signed).await;
    world
        .net2
        .ok(&world.net2.relay, &[&function, &envelope, &proof])
        .await;
    let out = world
        .net2
        .ok(
            &world.responder,
            &[b"GetRequestRecords", request.request_id.as_bytes()],
        )
        .await;
    let ids: Vec<String> = fetched(&out).into_iter().map(|r| r.0).collect();
    assert_eq!(ids, ["obs-1"]);
    let signed = world.sign_reply(&reply_from(&world, &out, &request), &world.responder);
    world
        .net2
        .ok(&world.responder, &[b"SubmitReply", &signed])
        .await;
}

#[tokio::test]
async fn only_a_registered_responder_may_read_request_records() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    for who in [&world.uploader, &world.net2.relay, &world.net2.admin] {
        let message = world
            .net2
            .err(who, &[b"GetRequestRecords", request.request_id.as_bytes()])
            .await;
        assert!(message.contains("not a registered responder"), "{message}");
    }
}

#[tokio::test]
async fn records_of_unknown_malformed_or_outgoing_requests_are_refused() {
    let world = World::new().await;
    let message = world
        .net2
        .err(
            &world.responder,
            &[b"GetRequestRecords", request_id(9).as_bytes()],
        )
        .await;
    assert!(message.contains("does not exist"), "{message}");
    let message = world
        .net2
        .err(&world.responder, &[b"GetRequestRecords", b"nope"])
        .await;
    assert!(message.contains("request_id"), "{message}");

    // On the source network the request is outgoing.
    let (request, _) = world.accepted_request(1).await;
    let responder1 = world.net1.person("responder", 14);
    world.net1.register("RegisterResponder", &responder1).await;
    let message = world
        .net1
        .err(
            &responder1,
            &[b"GetRequestRecords", request.request_id.as_bytes()],
        )
        .await;
    assert!(message.contains("only requests received here"), "{message}");
}

#[tokio::test]
async fn records_of_a_rejected_or_replied_request_are_refused() {
    let world = World::new().await;
    let (request, _) = world.replied_request(1).await;
    let message = world
        .net2
        .err(
            &world.responder,
            &[b"GetRequestRecords", request.request_id.as_bytes()],
        )
        .await;
    assert!(message.contains("already has a reply"), "{message}");

    let mut request = world.request(2);
    request.patient_ref = vec![8; 32];
    let signed = world.sign_request(&request, &world.doctor);
    let out = world
        .net2
        .ok(
            &world.net2.relay,
            &[
                b"AcceptRequest",
                &world.forward_request(&signed),
                &world.vouched(&signed).await,
            ],
        )
        .await;
    assert_eq!(out["outcome"], "rejected");
    let message = world
        .net2
        .err(
            &world.responder,
            &[b"GetRequestRecords", request.request_id.as_bytes()],
        )
        .await;
    assert!(message.contains("was rejected"), "{message}");
}

// ---- SubmitReply ----

#[tokio::test]
async fn a_complete_reply_is_stored_audited_and_announced() {
    let world = World::new().await;
    let (request, signed) = world.replied_request(1).await;
    let event = last_event(&world.net2.ledger);
    assert_eq!(event.event_name, "ReplyReady");
    assert_eq!(event.payload, signed);
    let status = world
        .net2
        .ok(
            &world.responder,
            &[b"GetRequestStatus", request.request_id.as_bytes()],
        )
        .await;
    assert_eq!(status["status"], "replied");
    assert_eq!(status["reply"]["status"], "ok");
    assert_eq!(status["reply"]["record_ids"], json!(["cond-1", "obs-1"]));

    let trail = world
        .net2
        .ok(
            &world.net2.admin,
            &[b"AuditTrail", hex::encode(world.patient).as_bytes()],
        )
        .await;
    let disclosure = trail
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "disclosure")
        .unwrap();
    assert_eq!(disclosure["subject"], hex::encode(world.patient));
    assert_eq!(disclosure["request_id"], request.request_id);
    assert_eq!(disclosure["record_ids"], json!(["cond-1", "obs-1"]));
    assert_eq!(disclosure["network"], NET1);
    assert_eq!(disclosure["actor_msp_id"], world.responder.msp_id);
    assert!(
        disclosure["detail"]
            .as_str()
            .unwrap()
            .contains("PURPOSE_TREATMENT")
    );
}

#[tokio::test]
async fn only_a_registered_responder_may_reply() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let signed = world.sign_reply(&world.reply_ok(&request), &world.uploader);
    let message = world
        .net2
        .err(&world.uploader, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("not a registered responder"), "{message}");
}

#[tokio::test]
async fn malformed_signed_reply_is_refused() {
    let world = World::new().await;
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", b"\x0a\x09zz"])
        .await;
    assert!(message.contains("signed reply"), "{message}");
}

#[tokio::test]
async fn each_reply_format_defect_is_refused_by_name() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    type Defect = Box<dyn Fn(&mut ehrx_chaincode::proto::exchange::Reply)>;
    let cases: Vec<(&str, Defect)> = vec![
        ("request_id", Box::new(|r| r.request_id = "nope".into())),
        (
            "status",
            Box::new(|r| r.status = ReplyStatus::Unspecified as i32),
        ),
        ("sealed_records", Box::new(|r| r.sealed_records = None)),
        ("reason", Box::new(|r| r.reason = "why not".into())),
        (
            "not 32 bytes",
            Box::new(|r| r.records[0].sha256.truncate(5)),
        ),
        (
            "listed twice",
            Box::new(|r| {
                let first = r.records[0].clone();
                r.records.push(first);
            }),
        ),
        ("created_at", Box::new(|r| r.created_at = None)),
        (
            "a refusal (NOT_FOUND, REJECTED) carries no records",
            Box::new(|r| r.status = ReplyStatus::Rejected as i32),
        ),
    ];
    for (name, defect) in cases {
        let mut reply = world.reply_ok(&request);
        defect(&mut reply);
        let signed = world.sign_reply(&reply, &world.responder);
        let message = world
            .net2
            .err(&world.responder, &[b"SubmitReply", &signed])
            .await;
        assert!(message.contains(name), "{name}: {message}");
    }
}

#[tokio::test]
async fn reply_must_come_from_this_network() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let mut reply = world.reply_ok(&request);
    reply.replying_network = "net3".into();
    let signed = world.sign_reply(&reply, &world.responder);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("replying_network"), "{message}");
}

#[tokio::test]
async fn reply_must_go_to_the_requests_source() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let mut reply = world.reply_ok(&request);
    reply.receiving_network = "net3".into();
    let signed = world.sign_reply(&reply, &world.responder);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("receiving_network"), "{message}");
}

#[tokio::test]
async fn reply_signed_by_someone_else_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let signed = world.sign_reply(&world.reply_ok(&request), &world.uploader);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(
        message.contains("not by the submitting identity"),
        "{message}"
    );
}

#[tokio::test]
async fn reply_with_a_bad_signature_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let forged = SignedReply::sign(
        &world.reply_ok(&request),
        world.responder.creator.clone(),
        world.uploader.signer.as_ref(),
    )
    .unwrap()
    .encode_to_vec();
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &forged])
        .await;
    assert!(message.contains("invalid signature"), "{message}");
}

#[tokio::test]
async fn reply_to_an_unknown_request_is_refused() {
    let world = World::new().await;
    let request = world.request(1);
    let signed = world.sign_reply(&world.reply_ok(&request), &world.responder);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("does not exist"), "{message}");
}

#[tokio::test]
async fn exactly_one_reply_per_request() {
    let world = World::new().await;
    let (request, _) = world.replied_request(1).await;
    let second = world.sign_reply(
        &world.reply_refusal(&request, ReplyStatus::Rejected),
        &world.responder,
    );
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &second])
        .await;
    assert!(message.contains("exactly one reply"), "{message}");
}

#[tokio::test]
async fn a_hash_that_differs_from_the_private_data_hash_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let mut reply = world.reply_ok(&request);
    reply.records[1].sha256[0] ^= 1;
    let signed = world.sign_reply(&reply, &world.responder);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("hash mismatch"), "{message}");
    assert!(message.contains("obs-1"), "{message}");
}

#[tokio::test]
async fn a_reply_that_omits_a_record_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let mut reply = world.reply_ok(&request);
    reply.records.remove(0);
    let signed = world.sign_reply(&reply, &world.responder);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("incomplete"), "{message}");
    assert!(message.contains("cond-1"), "{message}");
}

#[tokio::test]
async fn a_not_found_reply_while_records_exist_is_refused_as_incomplete() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let signed = world.sign_reply(
        &world.reply_refusal(&request, ReplyStatus::NotFound),
        &world.responder,
    );
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("incomplete"), "{message}");
}

#[tokio::test]
async fn records_outside_the_request_are_refused() {
    let world = World::new().await;
    // Another patient's record, and a record of an unwanted category.
    let other = [5u8; 32];
    let content = br#"{"resourceType":"Condition","id":"cond-9"}"#;
    let out = world
        .net2
        .invoke(Network::put_ehr(
            &world.uploader,
            "cond-9",
            &other,
            "Condition",
            content,
        ))
        .await;
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    let (request, _) = world.accepted_request(1).await;
    let mut reply = world.reply_ok(&request);
    reply.records[0].record_id = "cond-9".into();
    let signed = world.sign_reply(&reply, &world.responder);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("not this patient's"), "{message}");

    let mut reply = world.reply_ok(&request);
    reply.records[0].record_id = "nope-1".into();
    let signed = world.sign_reply(&reply, &world.responder);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("does not exist here"), "{message}");

    let mut reply = world.reply_ok(&request);
    reply.records[0].category = "Observation".into();
    let signed = world.sign_reply(&reply, &world.responder);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &signed])
        .await;
    assert!(message.contains("listed as"), "{message}");
}

#[tokio::test]
async fn only_wanted_categories_may_be_disclosed() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.categories = vec!["Condition".into()];
    let signed = world.sign_request(&request, &world.doctor);
    world
        .net1
        .ok(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    let [function, envelope, proof] = world.accept_args(&signed).await;
    world
        .net2
        .ok(&world.net2.relay, &[&function, &envelope, &proof])
        .await;
    // Both records listed, but only Condition was asked for.
    let reply = world.sign_reply(&world.reply_ok(&request), &world.responder);
    let message = world
        .net2
        .err(&world.responder, &[b"SubmitReply", &reply])
        .await;
    assert!(message.contains("not a requested category"), "{message}");
    // Just the Condition passes.
    let mut reply = world.reply_ok(&request);
    reply.records.retain(|r| r.category == "Condition");
    let reply = world.sign_reply(&reply, &world.responder);
    world
        .net2
        .ok(&world.responder, &[b"SubmitReply", &reply])
        .await;
}

#[tokio::test]
async fn a_rejected_request_takes_a_refusal_but_no_records() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.patient_ref = vec![8; 32];
    let signed = world.sign_request(&request, &world.doctor);
    let out = world
        .net2
        .ok(
            &world.net2.relay,
            &[
                b"AcceptRequest",
                &world.forward_request(&signed),
                &world.vouched(&signed).await,
            ],
        )
        .await;
    assert_eq!(out["outcome"], "rejected");

    let mut ok = world.reply_ok(&request);
    ok.records.clear();
    let message = world
        .net2
        .err(
            &world.responder,
            &[b"SubmitReply", &world.sign_reply(&ok, &world.responder)],
        )
        .await;
    assert!(message.contains("only a refusal"), "{message}");

    let refusal = world.sign_reply(
        &world.reply_refusal(&request, ReplyStatus::NotFound),
        &world.responder,
    );
    let out = world
        .net2
        .ok(&world.responder, &[b"SubmitReply", &refusal])
        .await;
    assert_eq!(out["outcome"], "submitted");
    let trail = world
        .net2
        .ok(
            &world.net2.admin,
            &[b"AuditTrail", hex::encode([8u8; 32]).as_bytes()],
        )
        .await;
    let kinds: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["request_rejected", "refusal"]);
}

// ---- AcceptReply (Algorithm 3) ----

#[tokio::test]
async fn an_attested_reply_fulfils_the_request_and_is_kept_private() {
    let world = World::new().await;
    let (request, signed_reply) = world.replied_request(1).await;
    let [function, envelope, proof] = world.accept_reply_args(&signed_reply).await;
    let out = world
        .net1
        .ok(&world.net1.relay, &[&function, &envelope, &proof])
        .await;
    assert_eq!(
        out,
        json!({"outcome": "fulfilled", "request_id": request.request_id})
    );
    let event = last_event(&world.net1.ledger);
    assert_eq!(event.event_name, "ReplyAccepted");
    assert_eq!(event.payload, request.request_id.as_bytes());
    assert_eq!(
        world
            .net1
            .ledger
            .private_of(ehrx_chaincode::ehr::state::REPLIES, &request.request_id),
        Some(signed_reply.clone())
    );
    let status = world
        .net1
        .ok(
            &world.doctor,
            &[b"GetRequestStatus", request.request_id.as_bytes()],
        )
        .await;
    assert_eq!(status["status"], "fulfilled");

    // Identical resubmission: same outcome, nothing written.
    let before = snapshot(&world.net1.ledger);
    let again = world
        .net1
        .call(&world.net1.relay, &[b"AcceptReply", &envelope, b""])
        .await;
    assert_eq!(json_of(&again.response.payload), out);
    assert!(again.event.is_none());
    assert_eq!(before, snapshot(&world.net1.ledger));

    // A different reply for the same request is refused.
    let other = world.sign_reply(
        &world.reply_refusal(&request, ReplyStatus::Rejected),
        &world.responder,
    );
    let message = world
        .net1
        .err(
            &world.net1.relay,
            &[b"AcceptReply", &world.forward_reply(&other), b""],
        )
        .await;
    assert!(message.starts_with("[ALREADY_REPLIED]"), "{message}");
}

#[tokio::test]
async fn a_refusal_fails_the_request() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let refusal = world.sign_reply(
        &world.reply_refusal(&request, ReplyStatus::Rejected),
        &world.responder,
    );
    world
        .net2
        .ok(&world.responder, &[b"SubmitReply", &refusal])
        .await;
    let [function, envelope, proof] = world.accept_reply_args(&refusal).await;
    let out = world
        .net1
        .ok(&world.net1.relay, &[&function, &envelope, &proof])
        .await;
    assert_eq!(out["outcome"], "failed");
    assert_eq!(out["reason"], "no consent on file");
}

#[tokio::test]
async fn only_a_registered_relay_may_deliver_a_reply() {
    let world = World::new().await;
    let (_, signed) = world.replied_request(1).await;
    let message = world
        .net1
        .err(
            &world.doctor,
            &[b"AcceptReply", &world.forward_reply(&signed), b""],
        )
        .await;
    assert!(message.contains("not a registered relay"), "{message}");
}

#[tokio::test]
async fn malformed_reply_envelopes_are_refused() {
    let world = World::new().await;
    let relay = &world.net1.relay;
    let message = world
        .net1
        .err(relay, &[b"AcceptReply", b"\x1a\x01", b""])
        .await;
    assert!(message.contains("forwarded envelope"), "{message}");
    let request_inside = world.net2.attest(Payload::SignedRequest(vec![1]));
    let message = world
        .net1
        .err(relay, &[b"AcceptReply", &request_inside, b""])
        .await;
    assert!(message.contains("carries a signed request"), "{message}");
    let garbage_inside = world.forward_reply(b"\xff");
    let message = world
        .net1
        .err(relay, &[b"AcceptReply", &garbage_inside, b""])
        .await;
    assert!(message.contains("signed reply"), "{message}");
}

#[tokio::test]
async fn a_reply_to_an_unknown_or_foreign_request_is_refused() {
    let world = World::new().await;
    let (request, signed) = world.replied_request(1).await;
    let unknown = world.sign_reply(&world.reply_ok(&world.request(2)), &world.responder);
    let message = world
        .net1
        .err(
            &world.net1.relay,
            &[b"AcceptReply", &world.forward_reply(&unknown), b""],
        )
        .await;
    assert!(message.contains("does not exist"), "{message}");
    // On net2 the request is incoming: a reply cannot be accepted there.
    let message = world
        .net2
        .err(
            &world.net2.relay,
            &[b"AcceptReply", &world.forward_reply(&signed), b""],
        )
        .await;
    assert!(
        message.contains("was not made on this network"),
        "{message}"
    );
    assert!(!request.request_id.is_empty());
}

#[tokio::test]
async fn a_malformed_reply_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let mut reply = world.reply_ok(&request);
    reply.sealed_records = None;
    let signed = world.sign_reply(&reply, &world.responder);
    let message = world
        .net1
        .err(
            &world.net1.relay,
            &[b"AcceptReply", &world.forward_reply(&signed), b""],
        )
        .await;
    assert!(message.contains("sealed_records"), "{message}");
}

#[tokio::test]
async fn the_reply_must_come_from_the_requests_destination() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let mut reply = world.reply_ok(&request);
    reply.replying_network = "net3".into();
    let signed = world.sign_reply(&reply, &world.responder);
    let envelope = ForwardedEnvelope::attest(Payload::SignedReply(signed), "net3", &world.net2.key)
        .encode_to_vec();
    let message = world
        .net1
        .err(&world.net1.relay, &[b"AcceptReply", &envelope, b""])
        .await;
    assert!(
        message.contains("the request went to \"net2\""),
        "{message}"
    );
}

#[tokio::test]
async fn the_reply_must_be_for_this_network() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let mut reply = world.reply_ok(&request);
    reply.receiving_network = "net3".into();
    let signed = world.sign_reply(&reply, &world.responder);
    let message = world
        .net1
        .err(
            &world.net1.relay,
            &[b"AcceptReply", &world.forward_reply(&signed), b""],
        )
        .await;
    assert!(message.contains("receiving_network"), "{message}");
}

#[tokio::test]
async fn the_replying_network_must_be_active_in_the_lookup_table() {
    let world = World::new().await;
    let (_, signed) = world.replied_request(1).await;
    world
        .net1
        .ok(
            &world.net1.admin,
            &[b"RemoveRemoteNetwork", NET2.as_bytes()],
        )
        .await;
    let message = world
        .net1
        .err(
            &world.net1.relay,
            &[b"AcceptReply", &world.forward_reply(&signed), b""],
        )
        .await;
    assert!(message.contains("\"net2\" does not exist"), "{message}");
}

#[tokio::test]
async fn a_bad_attestation_on_a_reply_is_refused() {
    let world = World::new().await;
    let (_, signed) = world.replied_request(1).await;
    let forged = ForwardedEnvelope::attest(Payload::SignedReply(signed), NET2, &world.net1.key)
        .encode_to_vec();
    let message = world
        .net1
        .err(&world.net1.relay, &[b"AcceptReply", &forged, b""])
        .await;
    assert!(message.contains("attestation"), "{message}");
}

#[tokio::test]
async fn a_bad_responder_signature_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let forged = SignedReply::sign(
        &world.reply_ok(&request),
        world.responder.creator.clone(),
        world.uploader.signer.as_ref(),
    )
    .unwrap()
    .encode_to_vec();
    let message = world
        .net1
        .err(
            &world.net1.relay,
            &[
                b"AcceptReply",
                &world.forward_reply(&forged),
                &world.vouched_reply(&forged).await,
            ],
        )
        .await;
    assert!(message.contains("responder's signature"), "{message}");
}

// ---- GetReply (retrieval privilege) ----

async fn delivered(world: &World) -> String {
    let (request, signed) = world.replied_request(1).await;
    let [function, envelope, proof] = world.accept_reply_args(&signed).await;
    world
        .net1
        .ok(&world.net1.relay, &[&function, &envelope, &proof])
        .await;
    request.request_id
}

#[tokio::test]
async fn the_requester_reads_and_opens_the_reply() {
    let world = World::new().await;
    let request_id = delivered(&world).await;
    let out = world
        .net1
        .ok(&world.doctor, &[b"GetReply", request_id.as_bytes()])
        .await;
    assert_eq!(out["outcome"], "ok");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(out["signed_reply"].as_str().unwrap())
        .unwrap();
    let reply = SignedReply::decode(bytes.as_slice())
        .unwrap()
        .open()
        .unwrap()
        .message;
    let bundle = world
        .doctor_key
        .open(
            &SealContext {
                request_id: &request_id,
                replying_network: NET2,
                receiving_network: NET1,
            },
            reply.sealed_records.as_ref().unwrap(),
        )
        .unwrap();
    assert_eq!(bundle.records.len(), 2);
    assert_eq!(bundle.records[0].content, condition());
    assert_eq!(bundle.records[1].content, observation());
    let trail = world
        .net1
        .ok(
            &world.net1.admin,
            &[b"AuditTrail", hex::encode(world.patient).as_bytes()],
        )
        .await;
    let kinds: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["request_submitted", "reply_received", "reply_read"]);
}

#[tokio::test]
async fn anyone_else_is_refused_and_the_attempt_recorded() {
    let world = World::new().await;
    let request_id = delivered(&world).await;
    for intruder in [world.net1.person("intruder", 16), world.net1.admin.clone()] {
        let out = world
            .net1
            .call(&intruder, &[b"GetReply", request_id.as_bytes()])
            .await;
        assert_eq!(out.response.status, 200);
        assert!(out.committed);
        let body = json_of(&out.response.payload);
        assert_eq!(body["outcome"], "refused");
        assert!(body.get("signed_reply").is_none());
        assert!(
            body["reason"]
                .as_str()
                .unwrap()
                .contains("only the requester")
        );
    }
    let trail = world
        .net1
        .ok(
            &world.net1.admin,
            &[b"AuditTrail", hex::encode(world.patient).as_bytes()],
        )
        .await;
    let refused: Vec<&Value> = trail
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "retrieval_refused")
        .collect();
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0]["request_id"], request_id);
    assert!(refused[1]["actor_id"].as_str().unwrap().contains("Admin"));
}

#[tokio::test]
async fn no_reply_yet_or_unknown_request_is_an_error() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let message = world
        .net1
        .err(&world.doctor, &[b"GetReply", request.request_id.as_bytes()])
        .await;
    assert!(message.contains("no reply yet"), "{message}");
    let message = world
        .net1
        .err(&world.doctor, &[b"GetReply", request_id(99).as_bytes()])
        .await;
    assert!(message.contains("does not exist"), "{message}");
    let message = world
        .net1
        .err(&world.doctor, &[b"GetReply", b"not-an-id"])
        .await;
    assert!(message.contains("request_id"), "{message}");
    assert_eq!(request.purpose, Purpose::Treatment as i32);
}
