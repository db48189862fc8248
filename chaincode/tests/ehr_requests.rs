#![cfg(test)]
//! Algorithm 1 (SubmitRequest) and Algorithm 2 (AcceptRequest), one test
//! per check where only that check fails; rate limit, flags, replays.

use ehrx_chaincode::{
    proto::exchange::{ForwardedEnvelope, Purpose, SignedRequest, forwarded_envelope::Payload},
    shim::testing::Invocation,
};
use ehrx_chaincode_testing::*;
use prost::Message;
use prost_types::Timestamp;
use serde_json::{Value, json};

fn at(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

async fn submit_at(
    world: &World,
    signed: &[u8],
    seconds: i64,
) -> ehrx_chaincode::shim::testing::Outcome {
    world
        .net1
        .invoke(
            Invocation::new([b"SubmitRequest".to_vec(), signed.to_vec()])
                .creator(world.doctor.creator.clone())
                .timestamp(at(seconds)),
        )
        .await
}

fn json_of(payload: &[u8]) -> Value {
    serde_json::from_slice(payload).unwrap()
}

/// A second registered requester on net1 ("NURSE-1").
async fn nurse(world: &World, privileges: &[&str]) -> Person {
    let nurse = world.net1.person("nurse", 14);
    let requester = json!({
        "requester_code": "NURSE-1",
        "msp_id": nurse.msp_id,
        "certificate": nurse.cert_pem,
        "privileges": privileges,
        "encryption_key": hex::encode([9u8; 32]),
    })
    .to_string();
    world
        .net1
        .ok(
            &world.net1.admin,
            &[b"RegisterRequester", requester.as_bytes()],
        )
        .await;
    nurse
}

// ---- Algorithm 1 ----

#[tokio::test]
async fn a_valid_request_is_validated_with_an_event_carrying_its_exact_bytes() {
    let world = World::new().await;
    let request = world.request(1);
    let signed = world.sign_request(&request, &world.doctor);
    let out = world
        .net1
        .ok(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    assert_eq!(
        out,
        json!({"outcome": "validated", "request_id": request.request_id})
    );
    let event = last_event(&world.net1.ledger);
    assert_eq!(event.event_name, "RequestValidated");
    assert_eq!(event.payload, signed);

    let status = world
        .net1
        .ok(
            &world.doctor,
            &[b"GetRequestStatus", request.request_id.as_bytes()],
        )
        .await;
    assert_eq!(status["status"], "validated");
    assert_eq!(status["direction"], "outgoing");
    assert_eq!(status["patient_ref"], hex::encode(world.patient));
    assert_eq!(status["purpose"], "PURPOSE_TREATMENT");
    let list = world.net1.ok(&world.doctor, &[b"ListRequests"]).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["request_id"], request.request_id);
}

#[tokio::test]
async fn malformed_signed_request_is_refused() {
    let world = World::new().await;
    let message = world
        .net1
        .err(&world.doctor, &[b"SubmitRequest", b"\xff\xff\xff"])
        .await;
    assert!(message.contains("signed request"), "{message}");
}

#[tokio::test]
async fn each_format_defect_is_refused_by_name() {
    let world = World::new().await;
    type Defect = Box<dyn Fn(&mut ehrx_chaincode::proto::exchange::Request)>;
    let cases: Vec<(&str, Defect)> = vec![
        (
            "request_id",
            Box::new(|r| r.request_id = "not-a-uuid".into()),
        ),
        ("patient_ref", Box::new(|r| r.patient_ref = vec![1; 31])),
        (
            "purpose",
            Box::new(|r| r.purpose = Purpose::Unspecified as i32),
        ),
        ("purpose", Box::new(|r| r.purpose = 99)),
        (
            "categories",
            Box::new(|r| r.categories = vec!["condition".into()]),
        ),
        (
            "categories",
            Box::new(|r| r.categories = vec!["Condition".into(), "Condition".into()]),
        ),
        (
            "requester_encryption_key",
            Box::new(|r| r.requester_encryption_key = vec![1; 16]),
        ),
        ("created_at", Box::new(|r| r.created_at = None)),
        (
            "5 minutes after",
            Box::new(|r| r.created_at = Some(at(EPOCH + 10_000_000))),
        ),
        (
            "requester_code",
            Box::new(|r| r.requester_code = String::new()),
        ),
        (
            "destination_network",
            Box::new(|r| r.destination_network = NET1.into()),
        ),
    ];
    for (name, defect) in cases {
        let mut request = world.request(1);
        defect(&mut request);
        let signed = world.sign_request(&request, &world.doctor);
        let message = world
            .net1
            .err(&world.doctor, &[b"SubmitRequest", &signed])
            .await;
        assert!(message.contains(name), "{name}: {message}");
    }
}

#[tokio::test]
async fn source_must_be_this_network() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.source_network = "net3".into();
    let signed = world.sign_request(&request, &world.doctor);
    let message = world
        .net1
        .err(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    assert!(message.contains("source_network"), "{message}");
}

#[tokio::test]
async fn unregistered_submitter_is_refused() {
    let world = World::new().await;
    let stranger = world.net1.person("stranger", 15);
    let signed = world.sign_request(&world.request(1), &stranger);
    let message = world
        .net1
        .err(&stranger, &[b"SubmitRequest", &signed])
        .await;
    assert!(message.contains("not a registered requester"), "{message}");
}

#[tokio::test]
async fn unknown_requester_code_is_refused() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.requester_code = "NOBODY".into();
    let signed = world.sign_request(&request, &world.doctor);
    let message = world
        .net1
        .err(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    assert!(
        message.contains("\"NOBODY\" is not registered"),
        "{message}"
    );
}

#[tokio::test]
async fn requester_code_bound_to_someone_else_is_refused() {
    let world = World::new().await;
    let nurse = nurse(&world, &["request"]).await;
    // The nurse signs and submits with the doctor's code.
    let signed = world.sign_request(&world.request(1), &nurse);
    let message = world.net1.err(&nurse, &[b"SubmitRequest", &signed]).await;
    assert!(
        message.contains("not bound to the submitting identity"),
        "{message}"
    );
}

#[tokio::test]
async fn requester_without_the_request_privilege_is_refused() {
    let world = World::new().await;
    let nurse = nurse(&world, &[]).await;
    let mut request = world.request(1);
    request.requester_code = "NURSE-1".into();
    request.requester_encryption_key = vec![9; 32];
    let signed = world.sign_request(&request, &nurse);
    let message = world.net1.err(&nurse, &[b"SubmitRequest", &signed]).await;
    assert!(
        message.contains("lacks the \"request\" privilege"),
        "{message}"
    );
}

#[tokio::test]
async fn signer_other_than_the_submitter_is_refused() {
    let world = World::new().await;
    let nurse = nurse(&world, &["request"]).await;
    // Signed by the nurse, submitted by the doctor with the doctor's code.
    let signed = world.sign_request(&world.request(1), &nurse);
    let message = world
        .net1
        .err(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    assert!(
        message.contains("not by the submitting identity"),
        "{message}"
    );
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let world = World::new().await;
    let request = world.request(1);
    // The doctor's identity, someone else's key.
    let forged = SignedRequest::sign(
        &request,
        world.doctor.creator.clone(),
        world.net1.admin.signer.as_ref(),
    )
    .unwrap()
    .encode_to_vec();
    let message = world
        .net1
        .err(&world.doctor, &[b"SubmitRequest", &forged])
        .await;
    assert!(message.contains("invalid signature"), "{message}");
}

#[tokio::test]
async fn encryption_key_other_than_the_registered_one_is_refused() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.requester_encryption_key = vec![3; 32];
    let signed = world.sign_request(&request, &world.doctor);
    let message = world
        .net1
        .err(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    assert!(message.contains("requester_encryption_key"), "{message}");
}

#[tokio::test]
async fn destination_outside_the_lookup_table_is_refused() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.destination_network = "net9".into();
    let signed = world.sign_request(&request, &world.doctor);
    let message = world
        .net1
        .err(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    assert!(message.contains("\"net9\" does not exist"), "{message}");
}

#[tokio::test]
async fn suspended_destination_is_refused() {
    let world = World::new().await;
    let entry = json!({
        "network_id": NET2,
        "network_key": hex::encode(world.net2.key.verifying_key().to_bytes()),
        "status": "suspended",
    })
    .to_string();
    world
        .net1
        .ok(&world.net1.admin, &[b"PutRemoteNetwork", entry.as_bytes()])
        .await;
    let signed = world.sign_request(&world.request(1), &world.doctor);
    let message = world
        .net1
        .err(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    assert!(message.contains("suspended"), "{message}");
}

#[tokio::test]
async fn a_request_id_is_used_once() {
    let world = World::new().await;
    let signed = world.sign_request(&world.request(1), &world.doctor);
    let first = submit_at(&world, &signed, EPOCH + 1000).await;
    assert_eq!(first.response.status, 200);
    let again = world
        .net1
        .refused(
            Invocation::new([b"SubmitRequest".to_vec(), signed.clone()])
                .creator(world.doctor.creator.clone())
                .timestamp(at(EPOCH + 2000)),
        )
        .await;
    assert!(again.contains("already exists"), "{again}");
}

#[tokio::test]
async fn a_timestamp_older_than_the_last_request_is_refused() {
    let world = World::new().await;
    let first = world.sign_request(&world.request(1), &world.doctor);
    assert_eq!(
        submit_at(&world, &first, EPOCH + 1000)
            .await
            .response
            .status,
        200
    );
    let second = world.sign_request(&world.request(2), &world.doctor);
    let message = world
        .net1
        .refused(
            Invocation::new([b"SubmitRequest".to_vec(), second])
                .creator(world.doctor.creator.clone())
                .timestamp(at(EPOCH + 999)),
        )
        .await;
    assert!(
        message.contains("older than this requester's last request"),
        "{message}"
    );
}

#[tokio::test]
async fn unconfigured_network_refuses_requests() {
    let world = World::new().await;
    let fresh = Network::new(NET1, 1);
    let signed = world.sign_request(&world.request(1), &world.doctor);
    let message = fresh.err(&world.doctor, &[b"SubmitRequest", &signed]).await;
    assert!(message.contains("not configured"), "{message}");
}

#[tokio::test]
async fn exceeding_the_rate_flags_the_requester_and_locks_them_out() {
    let world = World::new().await;
    let first = world.sign_request(&world.request(1), &world.doctor);
    assert_eq!(
        submit_at(&world, &first, EPOCH + 1000)
            .await
            .response
            .status,
        200
    );

    // A second request 30 s later: over 1 per 60 s.
    let second = world.sign_request(&world.request(2), &world.doctor);
    let flagged = submit_at(&world, &second, EPOCH + 1030).await;
    assert_eq!(flagged.response.status, 200);
    assert!(flagged.committed);
    assert_eq!(
        json_of(&flagged.response.payload),
        json!({"outcome": "rejected", "request_id": request_id(2), "reason": "flagged: rate limit exceeded"})
    );
    let event = flagged.event.unwrap();
    assert_eq!(event.event_name, "SecurityFlagged");
    assert_eq!(json_of(&event.payload)["request_id"], request_id(2));
    let security = world
        .net1
        .ok(&world.net1.admin, &[b"AuditTrail", b"security"])
        .await;
    assert_eq!(security[0]["kind"], "flagged");
    assert!(
        security[0]["detail"]
            .as_str()
            .unwrap()
            .contains("rate limit exceeded")
    );

    // Every later transaction of the doctor fails and writes nothing.
    let third = world.sign_request(&world.request(3), &world.doctor);
    let message = world
        .net1
        .refused(
            Invocation::new([b"SubmitRequest".to_vec(), third.clone()])
                .creator(world.doctor.creator.clone())
                .timestamp(at(EPOCH + 5000)),
        )
        .await;
    assert!(message.contains("is flagged"), "{message}");
    let message = world.net1.err(&world.doctor, &[b"ListRequests"]).await;
    assert!(message.contains("is flagged"), "{message}");
    let message = world
        .net1
        .err(&world.doctor, &[b"GetReply", request_id(1).as_bytes()])
        .await;
    assert!(message.contains("is flagged"), "{message}");

    // An admin clears the flag; the doctor may request again.
    let cleared = world
        .net1
        .ok(
            &world.net1.admin,
            &[b"ClearFlag", world.doctor.identity_json().as_bytes()],
        )
        .await;
    assert_eq!(cleared["outcome"], "ok");
    assert_eq!(
        submit_at(&world, &third, EPOCH + 6000)
            .await
            .response
            .status,
        200
    );
}

#[tokio::test]
async fn a_configured_rate_allows_more_per_window() {
    let world = World::new().await;
    let config = json!({"network_id": NET1, "rate_limit_max": 2, "rate_limit_window_seconds": 10})
        .to_string();
    world
        .net1
        .ok(&world.net1.admin, &[b"ConfigureNetwork", config.as_bytes()])
        .await;
    for (n, t) in [(1, 1000), (2, 1005), (3, 1011)] {
        let signed = world.sign_request(&world.request(n), &world.doctor);
        let out = submit_at(&world, &signed, EPOCH + t).await;
        assert_eq!(json_of(&out.response.payload)["outcome"], "validated");
    }
    let signed = world.sign_request(&world.request(4), &world.doctor);
    let out = submit_at(&world, &signed, EPOCH + 1012).await;
    assert_eq!(json_of(&out.response.payload)["outcome"], "rejected");
}

// ---- Algorithm 2 ----

#[tokio::test]
async fn a_forwarded_request_is_accepted_with_an_event_carrying_the_signed_request() {
    let world = World::new().await;
    let (request, signed) = world.accepted_request(1).await;
    let event = last_event(&world.net2.ledger);
    assert_eq!(event.event_name, "RequestAccepted");
    assert_eq!(event.payload, signed);
    let status = world
        .net2
        .ok(
            &world.responder,
            &[b"GetRequestStatus", request.request_id.as_bytes()],
        )
        .await;
    assert_eq!(status["status"], "accepted");
    assert_eq!(status["direction"], "incoming");
    let trail = world
        .net2
        .ok(
            &world.net2.admin,
            &[b"AuditTrail", hex::encode(world.patient).as_bytes()],
        )
        .await;
    let kinds: Vec<&str> = trail
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["record_stored", "record_stored", "request_accepted"]
    );
}

#[tokio::test]
async fn only_a_registered_relay_may_forward() {
    let world = World::new().await;
    let signed = world.sign_request(&world.request(1), &world.doctor);
    let envelope = world.forward_request(&signed);
    let message = world
        .net2
        .err(&world.responder, &[b"AcceptRequest", &envelope, b""])
        .await;
    assert!(message.contains("not a registered relay"), "{message}");
}

#[tokio::test]
async fn malformed_envelopes_are_refused() {
    let world = World::new().await;
    let relay = &world.net2.relay;
    let message = world
        .net2
        .err(relay, &[b"AcceptRequest", b"\x0a\xff", b""])
        .await;
    assert!(message.contains("forwarded envelope"), "{message}");
    let empty = ForwardedEnvelope::default().encode_to_vec();
    let message = world
        .net2
        .err(relay, &[b"AcceptRequest", &empty, b""])
        .await;
    assert!(message.contains("no payload"), "{message}");
    let reply_inside = world.net1.attest(Payload::SignedReply(vec![1, 2, 3]));
    let message = world
        .net2
        .err(relay, &[b"AcceptRequest", &reply_inside, b""])
        .await;
    assert!(message.contains("carries a signed reply"), "{message}");
    let garbage_inside = world.forward_request(b"\xff\xff");
    let message = world
        .net2
        .err(relay, &[b"AcceptRequest", &garbage_inside, b""])
        .await;
    assert!(message.contains("signed request"), "{message}");
    let mut bad_id = world.request(1);
    bad_id.request_id = "x".into();
    let envelope = world.forward_request(&world.sign_request(&bad_id, &world.doctor));
    let message = world
        .net2
        .err(relay, &[b"AcceptRequest", &envelope, b""])
        .await;
    assert!(message.contains("request_id"), "{message}");
}

#[tokio::test]
async fn source_outside_the_lookup_table_is_refused() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.source_network = "net3".into();
    let signed = world.sign_request(&request, &world.doctor);
    let envelope =
        ForwardedEnvelope::attest(Payload::SignedRequest(signed), "net3", &world.net1.key)
            .encode_to_vec();
    let message = world
        .net2
        .err(&world.net2.relay, &[b"AcceptRequest", &envelope, b""])
        .await;
    assert!(message.contains("\"net3\" does not exist"), "{message}");
}

#[tokio::test]
async fn bad_attestation_is_refused() {
    let world = World::new().await;
    let signed = world.sign_request(&world.request(1), &world.doctor);
    // Attested as net1 with net2's key.
    let forged = ForwardedEnvelope::attest(
        Payload::SignedRequest(signed.clone()),
        NET1,
        &world.net2.key,
    )
    .encode_to_vec();
    let message = world
        .net2
        .err(&world.net2.relay, &[b"AcceptRequest", &forged, b""])
        .await;
    assert!(message.contains("attestation"), "{message}");
    // Attested by another network than the request's source.
    let other = ForwardedEnvelope::attest(Payload::SignedRequest(signed), NET2, &world.net2.key)
        .encode_to_vec();
    let message = world
        .net2
        .err(&world.net2.relay, &[b"AcceptRequest", &other, b""])
        .await;
    assert!(message.contains("attestation"), "{message}");
}

#[tokio::test]
async fn identical_resubmission_is_idempotent_and_a_replay_is_refused() {
    let world = World::new().await;
    let (request, signed) = world.accepted_request(1).await;
    let envelope = world.forward_request(&signed);

    let before = snapshot(&world.net2.ledger);
    let again = world
        .net2
        .call(&world.net2.relay, &[b"AcceptRequest", &envelope, b""])
        .await;
    // The stored outcome again, without a proof: nothing new is accepted.
    assert_eq!(again.response.status, 200);
    assert_eq!(
        json_of(&again.response.payload),
        json!({"outcome": "accepted", "request_id": request.request_id})
    );
    assert!(again.event.is_none());
    assert_eq!(before, snapshot(&world.net2.ledger));

    // Same id, different bytes (another purpose).
    let mut changed = request.clone();
    changed.purpose = Purpose::Emergency as i32;
    let replay = world.forward_request(&world.sign_request(&changed, &world.doctor));
    let message = world
        .net2
        .err(&world.net2.relay, &[b"AcceptRequest", &replay, b""])
        .await;
    assert!(message.contains("replay"), "{message}");
}

/// AcceptRequest of `signed`, which net1's peers vouch for, expecting a
/// committed rejection naming `reason`.
async fn rejected(world: &World, signed: &[u8], request_id: &str, reason: &str) {
    let envelope = &world.forward_request(signed);
    let proof = world.vouched(signed).await;
    let out = world
        .net2
        .call(&world.net2.relay, &[b"AcceptRequest", envelope, &proof])
        .await;
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    assert!(out.committed);
    let body = json_of(&out.response.payload);
    assert_eq!(body["outcome"], "rejected");
    assert!(body["reason"].as_str().unwrap().contains(reason), "{body}");
    let event = out.event.unwrap();
    assert_eq!(event.event_name, "RequestRejected");
    let notice = json_of(&event.payload);
    assert_eq!(notice["request_id"], request_id);
    assert!(notice["reason"].as_str().unwrap().contains(reason));
    let status = world
        .net2
        .ok(
            &world.net2.admin,
            &[b"GetRequestStatus", request_id.as_bytes()],
        )
        .await;
    assert_eq!(status["status"], "rejected");
    assert!(status["reason"].as_str().unwrap().contains(reason));
    // A resubmission returns the stored rejection without writing.
    let before = snapshot(&world.net2.ledger);
    let again = world
        .net2
        .call(&world.net2.relay, &[b"AcceptRequest", envelope, &proof])
        .await;
    assert_eq!(json_of(&again.response.payload), body);
    assert_eq!(before, snapshot(&world.net2.ledger));
}

#[tokio::test]
async fn malformed_request_content_is_stored_as_rejected() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.purpose = Purpose::Unspecified as i32;
    let signed = world.sign_request(&request, &world.doctor);
    rejected(&world, &signed, &request.request_id, "purpose").await;
}

#[tokio::test]
async fn request_for_another_destination_is_stored_as_rejected() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.destination_network = "net3".into();
    let signed = world.sign_request(&request, &world.doctor);
    rejected(&world, &signed, &request.request_id, "for network \"net3\"").await;
}

#[tokio::test]
async fn bad_requester_signature_is_stored_as_rejected() {
    let world = World::new().await;
    let request = world.request(1);
    let forged = SignedRequest::sign(
        &request,
        world.doctor.creator.clone(),
        world.net1.admin.signer.as_ref(),
    )
    .unwrap()
    .encode_to_vec();
    rejected(
        &world,
        &forged,
        &request.request_id,
        "requester's signature",
    )
    .await;
}

#[tokio::test]
async fn unknown_patient_is_stored_as_rejected() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.patient_ref = vec![8; 32];
    let signed = world.sign_request(&request, &world.doctor);
    rejected(
        &world,
        &signed,
        &request.request_id,
        "no records of this patient",
    )
    .await;
}

#[tokio::test]
async fn patient_without_records_in_the_wanted_categories_is_stored_as_rejected() {
    let world = World::new().await;
    let mut request = world.request(1);
    request.categories = vec!["Immunization".into()];
    let signed = world.sign_request(&request, &world.doctor);
    rejected(
        &world,
        &signed,
        &request.request_id,
        "no records of this patient",
    )
    .await;
}

#[tokio::test]
async fn request_status_is_private_to_requester_responders_and_admins() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let id = request.request_id.as_bytes();
    world
        .net1
        .ok(&world.doctor, &[b"GetRequestStatus", id])
        .await;
    world
        .net1
        .ok(&world.net1.admin, &[b"GetRequestStatus", id])
        .await;
    let message = world
        .net1
        .err(&world.net1.relay, &[b"GetRequestStatus", id])
        .await;
    assert!(message.contains("access denied"), "{message}");
    let message = world
        .net2
        .err(&world.uploader, &[b"GetRequestStatus", id])
        .await;
    assert!(message.contains("access denied"), "{message}");
    let others = world.net1.ok(&world.net1.relay, &[b"ListRequests"]).await;
    assert_eq!(others, json!([]));
}
