#![cfg(test)]
//! GetRequestRecords (what a responder seals), SubmitReply (Algorithm 1
//! on the reply, exactly one reply, hashes, coverage), AcceptReply
//! (Algorithm 3) and GetReply (retrieval privilege), one check per test or
//! per labelled case.

use base64::Engine as _;
use ehrx_chaincode::proto::exchange::{
    ForwardedEnvelope, Purpose, Reply, ReplyStatus, Request, SignedReply,
    forwarded_envelope::Payload, seal::SealContext,
};
use ehrx_chaincode_testing::*;
use ehrx_interface::{
    names::Forwarded,
    types::{AuditKind, OutcomeKind, RecordContent},
};
use prost::Message;
use serde_json::json;
use sha2::{Digest, Sha256};

/// A change to an OK reply that makes it defective.
type Defect<'a> = Box<dyn Fn(&mut Reply) + 'a>;

// ---- GetRequestRecords ----

/// The world with request 1 answered: accepted on net2 and an OK reply
/// submitted there; the world, the request and the signed reply.
async fn replied_world() -> (World, Request, Vec<u8>) {
    let world = World::new().await;
    let (request, signed) = world.replied_request(1).await;
    (world, request, signed)
}

/// Request 1 for `category` alone, submitted on net1 and accepted on
/// net2.
async fn accepted_for(world: &World, category: &str) -> Request {
    let mut request = world.request(1);
    request.categories = vec![category.into()];
    let signed = world.submit(&request).await;
    world.accept(&signed).await;
    request
}

#[tokio::test]
async fn a_responder_reads_exactly_the_records_a_reply_must_list() {
    let world = World::new().await;
    // Uploaded after cond-1 and obs-1 but with an id before both: records
    // come in upload order, not by id or category.
    let early = br#"{"resourceType":"Observation","id":"aaa-1","status":"final"}"#;
    world
        .net2
        .store(
            &world.uploader,
            "aaa-1",
            &world.patient,
            "Observation",
            early,
        )
        .await;
    let (request, _) = world.accepted_request(1).await;

    let before = snapshot(&world.net2.ledger);
    let fetched = world.request_records(&request.request_id).await;
    assert_eq!(before, snapshot(&world.net2.ledger), "a read wrote");
    assert_eq!(fetched.request_id, request.request_id);
    assert_eq!(fetched.patient_ref.bytes(), &world.patient);
    assert_eq!(
        fetched.requester_encryption_key.bytes().as_slice(),
        world.doctor_public
    );
    assert_eq!(fetched.source_network, NET1);
    let expected: Vec<(&str, &str, Vec<u8>)> = vec![
        ("Condition/cond-1", "Condition", condition()),
        ("Observation/obs-1", "Observation", observation()),
        ("Observation/aaa-1", "Observation", early.to_vec()),
    ];
    let listed: Vec<(&str, &str, Vec<u8>)> = fetched
        .records
        .iter()
        .map(|record: &RecordContent| {
            let content = base64::engine::general_purpose::STANDARD
                .decode(&record.content)
                .unwrap();
            assert_eq!(record.sha256.bytes(), Sha256::digest(&content).as_slice());
            (record.record_id.as_str(), record.category.as_str(), content)
        })
        .collect();
    assert_eq!(listed, expected);

    // A reply built from them passes SubmitReply's coverage check.
    world.submit(&world.reply_from(&fetched)).await;
}

#[tokio::test]
async fn only_the_wanted_categories_are_read() {
    let world = World::new().await;
    let request = accepted_for(&world, "Observation").await;
    let fetched = world.request_records(&request.request_id).await;
    let ids: Vec<&str> = fetched
        .records
        .iter()
        .map(|r| r.record_id.as_str())
        .collect();
    assert_eq!(ids, ["Observation/obs-1"]);
    world.submit(&world.reply_from(&fetched)).await;
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
        assert_mentions(&message, "not a registered responder");
    }
}

#[tokio::test]
async fn records_of_unknown_malformed_or_outgoing_requests_are_refused() {
    let world = World::new().await;
    let responder = &world.responder;
    for (id, expected) in [
        (request_id(9), "does not exist"),
        ("nope".to_owned(), "request_id"),
    ] {
        let args: [&[u8]; 2] = [b"GetRequestRecords", id.as_bytes()];
        let message = world.net2.err(responder, &args).await;
        assert_mentions(&message, expected);
    }

    // On the source network the request is outgoing.
    let (request, _) = world.accepted_request(1).await;
    let responder1 = world.net1.person("responder", 14);
    world.net1.register("RegisterResponder", &responder1).await;
    let args: [&[u8]; 2] = [b"GetRequestRecords", request.request_id.as_bytes()];
    let message = world.net1.err(&responder1, &args).await;
    assert_mentions(&message, "only requests received here");
}

#[tokio::test]
async fn records_of_a_rejected_or_replied_request_are_refused() {
    let (world, replied, _) = replied_world().await;
    let rejected = world.rejected_request(2).await;
    for (request, expected) in [(replied, "already has a reply"), (rejected, "was rejected")] {
        let args: [&[u8]; 2] = [b"GetRequestRecords", request.request_id.as_bytes()];
        let message = world.net2.err(&world.responder, &args).await;
        assert_mentions(&message, expected);
    }
}

// ---- SubmitReply ----

#[tokio::test]
async fn a_complete_reply_is_stored_audited_and_announced() {
    let (world, request, signed) = replied_world().await;
    // The exact bytes are kept in private data, for the relay.
    world
        .net2
        .assert_reply_kept("ReplyReady", &request.request_id, &signed);
    let status = world
        .net2
        .status(&world.responder, &request.request_id)
        .await;
    assert_eq!(status["status"], "replied");
    assert_eq!(status["reply"]["status"], "ok");
    assert_eq!(
        status["reply"]["record_ids"],
        json!(["Condition/cond-1", "Observation/obs-1"])
    );

    let trail = world.net2.audit_trail(&hex::encode(world.patient)).await;
    let disclosure = trail
        .iter()
        .find(|e| e.kind == AuditKind::Disclosure)
        .unwrap();
    assert_eq!(disclosure.subject, hex::encode(world.patient));
    assert_eq!(disclosure.request_id.as_ref(), Some(&request.request_id));
    assert_eq!(
        disclosure.record_ids,
        ["Condition/cond-1", "Observation/obs-1"]
    );
    assert_eq!(disclosure.network.as_deref(), Some(NET1));
    assert_eq!(disclosure.actor_msp_id, world.responder.msp_id);
    assert!(disclosure.detail.contains("PURPOSE_TREATMENT"));
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
    assert_mentions(&message, "not a registered responder");
}

#[tokio::test]
async fn malformed_signed_reply_is_refused() {
    let world = World::new().await;
    let message = world.filing_refused(Forwarded::Reply, b"\x0a\x09zz").await;
    assert_mentions(&message, "signed reply");
}

#[tokio::test]
async fn each_reply_format_defect_is_refused_by_name() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let cases: Vec<(&str, Defect<'_>)> = vec![
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
        // It must come from this network and go to the request's source.
        (
            "replying_network",
            Box::new(|r| r.replying_network = "net3".into()),
        ),
        (
            "receiving_network",
            Box::new(|r| r.receiving_network = "net3".into()),
        ),
    ];
    world
        .each_filing_refused(&world.reply_ok(&request), cases)
        .await;
}

#[tokio::test]
async fn a_reply_signed_by_anyone_but_the_submitting_responder_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let reply = world.reply_ok(&request);
    // Signed by someone else.
    let signed = world.sign_reply(&reply, &world.uploader);
    let message = world.filing_refused(Forwarded::Reply, &signed).await;
    assert_mentions(&message, "not by the submitting identity");
    // The responder's identity, someone else's key.
    let forged = forged(&reply, &world.responder, &world.uploader);
    let message = world.filing_refused(Forwarded::Reply, &forged).await;
    assert_mentions(&message, "invalid signature");
}

#[tokio::test]
async fn reply_to_an_unknown_request_is_refused() {
    let world = World::new().await;
    let message = world
        .submit_refused(&world.reply_ok(&world.request(1)))
        .await;
    assert_mentions(&message, "does not exist");
}

#[tokio::test]
async fn exactly_one_reply_per_request() {
    let (world, request, _) = replied_world().await;
    let second = world.reply_refusal(&request, ReplyStatus::Rejected);
    let message = world.submit_refused(&second).await;
    assert_mentions(&message, "exactly one reply");
}

#[tokio::test]
async fn a_reply_must_cover_exactly_the_patients_records() {
    let world = World::new().await;
    // Another patient's record.
    let content = br#"{"resourceType":"Condition","id":"cond-9"}"#;
    world
        .net2
        .store(&world.uploader, "cond-9", &[5; 32], "Condition", content)
        .await;
    let (request, _) = world.accepted_request(1).await;
    let not_found = world.reply_refusal(&request, ReplyStatus::NotFound);
    let cases: Vec<(&[&str], Defect<'_>)> = vec![
        (
            &["hash mismatch", "Observation/obs-1"],
            Box::new(|r| r.records[1].sha256[0] ^= 1),
        ),
        (
            &["incomplete", "Condition/cond-1"],
            Box::new(|r| {
                r.records.remove(0);
            }),
        ),
        // NOT_FOUND while records exist.
        (&["incomplete"], Box::new(|r| *r = not_found.clone())),
        (
            &["not one of this patient's records"],
            Box::new(|r| r.records[0].record_id = "Condition/cond-9".into()),
        ),
        (
            &["not one of this patient's records"],
            Box::new(|r| r.records[0].record_id = "Condition/nope-1".into()),
        ),
        (
            &["is not a record id"],
            Box::new(|r| r.records[0].record_id = "cond-1".into()),
        ),
        (
            &["listed as"],
            Box::new(|r| r.records[0].category = "Observation".into()),
        ),
    ];
    for (expected, defect) in cases {
        let mut reply = world.reply_ok(&request);
        defect(&mut reply);
        let message = world.submit_refused(&reply).await;
        for name in expected {
            assert_mentions(&message, name);
        }
    }
}

#[tokio::test]
async fn only_wanted_categories_may_be_disclosed() {
    let world = World::new().await;
    let request = accepted_for(&world, "Condition").await;
    // Both records listed, but only Condition was asked for.
    let message = world.submit_refused(&world.reply_ok(&request)).await;
    assert_mentions(&message, "in the requested categories");
    // Just the Condition passes.
    let mut reply = world.reply_ok(&request);
    reply.records.retain(|r| r.category == "Condition");
    world.submit(&reply).await;
}

#[tokio::test]
async fn a_rejected_request_takes_a_refusal_but_no_records() {
    let world = World::new().await;
    let request = world.rejected_request(1).await;
    let mut ok = world.reply_ok(&request);
    ok.records.clear();
    let message = world.submit_refused(&ok).await;
    assert_mentions(&message, "only a refusal");

    world
        .submit(&world.reply_refusal(&request, ReplyStatus::NotFound))
        .await;
    let kinds = world.net2.audit_kinds(&hex::encode([8u8; 32])).await;
    assert_eq!(kinds, ["request_rejected", "refusal"]);
}

// ---- AcceptReply (Algorithm 3) ----

#[tokio::test]
async fn an_attested_reply_fulfils_the_request_and_is_kept_private() {
    let (world, request, signed_reply) = replied_world().await;
    let out = world.accept_reply(&signed_reply).await;
    assert_eq!(
        out,
        json!({"outcome": "fulfilled", "request_id": request.request_id})
    );
    world
        .net1
        .assert_reply_kept("ReplyAccepted", &request.request_id, &signed_reply);
    let status = world.net1.status(&world.doctor, &request.request_id).await;
    assert_eq!(status["status"], "fulfilled");

    // Identical resubmission: same outcome, nothing written.
    let before = snapshot(&world.net1.ledger);
    let envelope = world.forward_reply(&signed_reply);
    let again = world
        .net1
        .call(&world.net1.relay, &[b"AcceptReply", &envelope, b""])
        .await;
    assert_eq!(parse::<serde_json::Value>(&again.response.payload), out);
    assert!(again.event.is_none());
    assert_eq!(before, snapshot(&world.net1.ledger));

    // A different reply for the same request is refused.
    let other = world.sign_reply(
        &world.reply_refusal(&request, ReplyStatus::Rejected),
        &world.responder,
    );
    let message = world
        .delivery_refused(Forwarded::Reply, &world.forward_reply(&other), b"")
        .await;
    assert!(message.starts_with("[ALREADY_REPLIED]"), "{message}");
}

#[tokio::test]
async fn a_refusal_fails_the_request() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let refusal = world
        .submit(&world.reply_refusal(&request, ReplyStatus::Rejected))
        .await;
    let out = assert_outcome(&world.accept_reply(&refusal).await, OutcomeKind::Failed);
    assert_eq!(out.reason.as_deref(), Some("no consent on file"));
}

#[tokio::test]
async fn only_a_registered_relay_may_deliver_a_reply() {
    let (world, _, signed) = replied_world().await;
    let message = world
        .net1
        .err(
            &world.doctor,
            &[b"AcceptReply", &world.forward_reply(&signed), b""],
        )
        .await;
    assert_mentions(&message, "not a registered relay");
}

#[tokio::test]
async fn malformed_reply_envelopes_are_refused() {
    let world = World::new().await;
    let cases = [
        (b"\x1a\x01".to_vec(), "forwarded envelope"),
        (
            world.net2.attest(Payload::SignedRequest(vec![1])),
            "carries a signed request",
        ),
        (world.forward_reply(b"\xff"), "signed reply"),
    ];
    world.each_delivery_refused(Forwarded::Reply, cases).await;
}

#[tokio::test]
async fn a_reply_to_an_unknown_or_foreign_request_is_refused() {
    let (world, request, signed) = replied_world().await;
    let unknown = world.sign_reply(&world.reply_ok(&world.request(2)), &world.responder);
    let message = world
        .delivery_refused(Forwarded::Reply, &world.forward_reply(&unknown), b"")
        .await;
    assert_mentions(&message, "does not exist");
    // On net2 the request is incoming: a reply cannot be accepted there.
    let message = world
        .net2
        .err(
            &world.net2.relay,
            &[b"AcceptReply", &world.forward_reply(&signed), b""],
        )
        .await;
    assert_mentions(&message, "was not made on this network");
    assert!(!request.request_id.is_empty());
}

#[tokio::test]
async fn each_defect_of_an_arriving_reply_is_refused_by_name() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    // (defect, the network the envelope is attested as, expected)
    let cases: Vec<(Defect<'_>, &str, &str)> = vec![
        (
            Box::new(|r| r.sealed_records = None),
            NET2,
            "sealed_records",
        ),
        // From another network than the request's destination (attested
        // with net2's key, as a rogue relay of net2 could).
        (
            Box::new(|r| r.replying_network = "net3".into()),
            "net3",
            "the request went to \"net2\"",
        ),
        // For another network than this one.
        (
            Box::new(|r| r.receiving_network = "net3".into()),
            NET2,
            "receiving_network",
        ),
    ];
    let envelopes = cases.into_iter().map(|(defect, attested_as, expected)| {
        let mut reply = world.reply_ok(&request);
        defect(&mut reply);
        let signed = world.sign_reply(&reply, &world.responder);
        let envelope =
            ForwardedEnvelope::attest(Payload::SignedReply(signed), attested_as, &world.net2.key)
                .encode_to_vec();
        (envelope, expected)
    });
    world
        .each_delivery_refused(Forwarded::Reply, envelopes)
        .await;
}

#[tokio::test]
async fn the_replying_network_must_be_active_in_the_lookup_table() {
    let (world, _, signed) = replied_world().await;
    world.net1.remove_remote(NET2).await;
    let message = world
        .delivery_refused(Forwarded::Reply, &world.forward_reply(&signed), b"")
        .await;
    assert_mentions(&message, "\"net2\" does not exist");
}

#[tokio::test]
async fn a_bad_attestation_on_a_reply_is_refused() {
    let (world, _, signed) = replied_world().await;
    let forged = ForwardedEnvelope::attest(Payload::SignedReply(signed), NET2, &world.net1.key)
        .encode_to_vec();
    let message = world.delivery_refused(Forwarded::Reply, &forged, b"").await;
    assert_mentions(&message, "attestation");
}

#[tokio::test]
async fn a_bad_responder_signature_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let forged = forged(&world.reply_ok(&request), &world.responder, &world.uploader);
    let proof = world.vouched_reply(&forged).await;
    let message = world
        .delivery_refused(Forwarded::Reply, &world.forward_reply(&forged), &proof)
        .await;
    assert_mentions(&message, "responder's signature");
}

// ---- GetReply (retrieval privilege) ----

async fn delivered(world: &World) -> String {
    let (request, signed) = world.replied_request(1).await;
    world.accept_reply(&signed).await;
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
    let out = assert_outcome(&out, OutcomeKind::Ok);
    // The result is in the block: no reply in it. The requester reads it
    // with GetSignedReply; nobody else can.
    assert_eq!(out.signed_reply, None);
    let read = world
        .net1
        .ok(&world.doctor, &[b"GetSignedReply", request_id.as_bytes()])
        .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(read["signed"].as_str().unwrap())
        .unwrap();
    for nosy in [&world.net1.relay, &world.net1.admin] {
        let message = world
            .net1
            .err(nosy, &[b"GetSignedReply", request_id.as_bytes()])
            .await;
        assert_mentions(&message, "[ACCESS_DENIED]");
    }
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
    let kinds = world.net1.audit_kinds(&hex::encode(world.patient)).await;
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
        let body = assert_outcome(&succeeded("GetReply", &out), OutcomeKind::Refused);
        assert!(body.signed_reply.is_none());
        assert!(body.reason.unwrap().contains("only the requester"));
    }
    let trail = world.net1.audit_trail(&hex::encode(world.patient)).await;
    let refused: Vec<_> = trail
        .iter()
        .filter(|e| e.kind == AuditKind::RetrievalRefused)
        .collect();
    assert_eq!(refused.len(), 2);
    assert_eq!(refused[0].request_id.as_ref(), Some(&request_id));
    assert!(refused[1].actor_id.contains("Admin"));
}

#[tokio::test]
async fn no_reply_yet_or_unknown_request_is_an_error() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    for (id, expected) in [
        (request.request_id.clone(), "no reply yet"),
        (request_id(99), "does not exist"),
        ("not-an-id".to_owned(), "request_id"),
    ] {
        let message = world
            .net1
            .err(&world.doctor, &[b"GetReply", id.as_bytes()])
            .await;
        assert_mentions(&message, expected);
    }
    assert_eq!(request.purpose, Purpose::Treatment as i32);
}
