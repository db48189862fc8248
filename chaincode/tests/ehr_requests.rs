#![cfg(test)]
//! Algorithm 1 (SubmitRequest) and Algorithm 2 (AcceptRequest), one check
//! per test or per labelled case where only that check fails; rate limit,
//! flags, replays.

use ehrx_chaincode::{
    proto::exchange::{ForwardedEnvelope, Purpose, Request, forwarded_envelope::Payload},
    shim::testing::{Invocation, Outcome},
};
use ehrx_chaincode_testing::*;
use ehrx_interface::{
    names::Forwarded,
    types::{NetworkStatus, Notice, OutcomeKind, RequesterRegistration},
};
use prost::Message;
use prost_types::Timestamp;
use serde_json::json;

/// A change to a well-formed request that makes it defective.
type Defect = Box<dyn Fn(&mut Request)>;

fn at(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

/// SubmitRequest of `signed` by the doctor at transaction time `seconds`.
fn submission_at(world: &World, signed: &[u8], seconds: i64) -> Invocation {
    invocation([b"SubmitRequest".to_vec(), signed.to_vec()])
        .creator(world.doctor.creator.clone())
        .timestamp(at(seconds))
}

/// SubmitRequest of request `n`, signed by the doctor, by the doctor at
/// transaction time `seconds`.
fn request_at(world: &World, n: u64, seconds: i64) -> Invocation {
    let signed = world.sign_request(&world.request(n), &world.doctor);
    submission_at(world, &signed, seconds)
}

/// Request `n` of the doctor, submitted at `seconds`: the call's outcome.
async fn submit_at(world: &World, n: u64, seconds: i64) -> Outcome {
    world.net1.invoke(request_at(world, n, seconds)).await
}

/// Request `n` of the doctor, submitted at `seconds`, which must be
/// refused, writing nothing: the message.
async fn refused_at(world: &World, n: u64, seconds: i64) -> String {
    world.net1.refused(request_at(world, n, seconds)).await
}

/// A second registered requester on net1 ("NURSE-1").
async fn nurse(world: &World, privileges: &[&str]) -> Person {
    let nurse = world.net1.person("nurse", 14);
    let requester = RequesterRegistration::new(
        "NURSE-1",
        nurse.member(),
        privileges.iter().map(|p| p.to_string()).collect(),
        &[9; 32],
    );
    world.net1.admin("RegisterRequester", &requester).await;
    nurse
}

// ---- Algorithm 1 ----

#[tokio::test]
async fn a_valid_request_is_validated_with_an_event_naming_only_its_id() {
    let world = World::new().await;
    let request = world.request(1);
    let signed = world.submit(&request).await;
    assert_announced(&world.net1.ledger, "RequestValidated", &request.request_id);
    // The exact bytes are kept in private state, for the relay.
    assert_eq!(
        world.net1.signed_request(request.request_id.as_bytes()),
        signed
    );

    let status = world.net1.status(&world.doctor, &request.request_id).await;
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
        .filing_refused(Forwarded::Request, b"\xff\xff\xff")
        .await;
    assert_mentions(&message, "signed request");
}

#[tokio::test]
async fn each_defect_of_a_request_is_refused_by_name() {
    let world = World::new().await;
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
        // The source must be this network.
        (
            "source_network",
            Box::new(|r| r.source_network = "net3".into()),
        ),
        // The code must be registered.
        (
            "\"NOBODY\" is not registered",
            Box::new(|r| r.requester_code = "NOBODY".into()),
        ),
        // The key must be the one registered with the code.
        (
            "requester_encryption_key",
            Box::new(|r| r.requester_encryption_key = vec![3; 32]),
        ),
        // The destination must be in the lookup table.
        (
            "\"net9\" does not exist",
            Box::new(|r| r.destination_network = "net9".into()),
        ),
    ];
    world.each_filing_refused(&world.request(1), cases).await;
}

#[tokio::test]
async fn unregistered_submitter_is_refused() {
    let world = World::new().await;
    let stranger = world.net1.person("stranger", 15);
    let message = world
        .net1
        .request_refused(&stranger, &world.request(1))
        .await;
    assert_mentions(&message, "not a registered requester");
}

#[tokio::test]
async fn a_requester_may_only_request_as_themselves_with_the_privilege() {
    let world = World::new().await;
    let nurse_with = nurse(&world, &["request"]).await;
    // The nurse signs and submits with the doctor's code.
    let message = world
        .net1
        .request_refused(&nurse_with, &world.request(1))
        .await;
    assert_mentions(&message, "not bound to the submitting identity");
    // Signed by the nurse, submitted by the doctor with the doctor's code.
    let signed = world.sign_request(&world.request(1), &nurse_with);
    let message = world.filing_refused(Forwarded::Request, &signed).await;
    assert_mentions(&message, "not by the submitting identity");

    // A nurse registered without the privilege, with her own code.
    let world = World::new().await;
    let nurse_without = nurse(&world, &[]).await;
    let mut request = world.request(1);
    request.requester_code = "NURSE-1".into();
    request.requester_encryption_key = vec![9; 32];
    let message = world.net1.request_refused(&nurse_without, &request).await;
    assert_mentions(&message, "lacks the \"request\" privilege");
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let world = World::new().await;
    // The doctor's identity, someone else's key.
    let forged = forged(&world.request(1), &world.doctor, &world.net1.admin);
    let message = world.filing_refused(Forwarded::Request, &forged).await;
    assert_mentions(&message, "invalid signature");
}

#[tokio::test]
async fn suspended_destination_is_refused() {
    let world = World::new().await;
    world
        .net1
        .put_remote(&world.net2, NetworkStatus::Suspended)
        .await;
    let message = world.submit_refused(&world.request(1)).await;
    assert_mentions(&message, "suspended");
}

#[tokio::test]
async fn a_request_id_is_used_once_and_time_never_runs_back() {
    let world = World::new().await;
    let signed = world.sign_request(&world.request(1), &world.doctor);
    let first = world
        .net1
        .invoke(submission_at(&world, &signed, EPOCH + 1000))
        .await;
    assert_eq!(first.response.status, 200);
    let again = world
        .net1
        .refused(submission_at(&world, &signed, EPOCH + 2000))
        .await;
    assert_mentions(&again, "already exists");

    let message = refused_at(&world, 2, EPOCH + 999).await;
    assert_mentions(&message, "older than this requester's last request");
}

#[tokio::test]
async fn unconfigured_network_refuses_requests() {
    let world = World::new().await;
    let fresh = Network::new(NET1, 1);
    let message = fresh
        .request_refused(&world.doctor, &world.request(1))
        .await;
    assert_mentions(&message, "not configured");
}

#[tokio::test]
async fn exceeding_the_rate_flags_the_requester_and_locks_them_out() {
    let world = World::new().await;
    assert_eq!(
        submit_at(&world, 1, EPOCH + 1000).await.response.status,
        200
    );

    // A second request 30 s later: over 1 per 60 s.
    let flagged = submit_at(&world, 2, EPOCH + 1030).await;
    let out = assert_outcome(&succeeded("SubmitRequest", &flagged), OutcomeKind::Rejected);
    assert_eq!(out.request_id, request_id(2));
    assert_eq!(out.reason.as_deref(), Some("flagged: rate limit exceeded"));
    let event = flagged.event.unwrap();
    assert_eq!(event.event_name, "SecurityFlagged");
    assert_eq!(parse::<Notice>(&event.payload).request_id, request_id(2));
    let security = world.net1.audit_trail("security").await;
    assert_eq!(security[0].kind.name(), "flagged");
    assert!(security[0].detail.contains("rate limit exceeded"));

    // Every later transaction of the doctor fails and writes nothing.
    let message = refused_at(&world, 3, EPOCH + 5000).await;
    assert_mentions(&message, "is flagged");
    let first = request_id(1);
    let get_reply: [&[u8]; 2] = [b"GetReply", first.as_bytes()];
    for args in [&[b"ListRequests".as_slice()][..], &get_reply] {
        let message = world.net1.err(&world.doctor, args).await;
        assert_mentions(&message, "is flagged");
    }

    // An admin clears the flag; the doctor may request again.
    let cleared = world.net1.admin("ClearFlag", &world.doctor.member()).await;
    assert_eq!(cleared["outcome"], "ok");
    let again = submit_at(&world, 3, EPOCH + 6000).await;
    assert_eq!(again.response.status, 200);
}

#[tokio::test]
async fn a_configured_rate_allows_more_per_window() {
    let world = World::new().await;
    world.net1.configure_rate(2, 10).await;
    for (n, t, expected) in [
        (1, 1000, OutcomeKind::Validated),
        (2, 1005, OutcomeKind::Validated),
        (3, 1011, OutcomeKind::Validated),
        (4, 1012, OutcomeKind::Rejected),
    ] {
        let out = submit_at(&world, n, EPOCH + t).await;
        assert_outcome(&parse(&out.response.payload), expected);
    }
}

// ---- Algorithm 2 ----

#[tokio::test]
async fn a_forwarded_request_is_accepted_with_an_event_naming_only_its_id() {
    let world = World::new().await;
    let (request, _signed) = world.accepted_request(1).await;
    assert_announced(&world.net2.ledger, "RequestAccepted", &request.request_id);
    let status = world
        .net2
        .status(&world.responder, &request.request_id)
        .await;
    assert_eq!(status["status"], "accepted");
    assert_eq!(status["direction"], "incoming");
    let kinds = world.net2.audit_kinds(&hex::encode(world.patient)).await;
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
    assert_mentions(&message, "not a registered relay");
}

#[tokio::test]
async fn each_defective_envelope_is_refused_by_name() {
    let world = World::new().await;
    let mut bad_id = world.request(1);
    bad_id.request_id = "x".into();
    let signed = world.sign_request(&world.request(1), &world.doctor);
    let mut from_net3 = world.request(1);
    from_net3.source_network = "net3".into();
    let attested = |payload: Payload, network: &str, key| {
        ForwardedEnvelope::attest(payload, network, key).encode_to_vec()
    };
    let request = |signed: &[u8]| Payload::SignedRequest(signed.to_vec());
    let cases = [
        (b"\x0a\xff".to_vec(), "forwarded envelope"),
        (ForwardedEnvelope::default().encode_to_vec(), "no payload"),
        (
            world.net1.attest(Payload::SignedReply(vec![1, 2, 3])),
            "carries a signed reply",
        ),
        (world.forward_request(b"\xff\xff"), "signed request"),
        (
            world.forward_request(&world.sign_request(&bad_id, &world.doctor)),
            "request_id",
        ),
        // From a network outside the lookup table.
        (
            attested(
                request(&world.sign_request(&from_net3, &world.doctor)),
                "net3",
                &world.net1.key,
            ),
            "\"net3\" does not exist",
        ),
        // Attested as net1 with net2's key.
        (
            attested(request(&signed), NET1, &world.net2.key),
            "attestation",
        ),
        // Attested by another network than the request's source.
        (
            attested(request(&signed), NET2, &world.net2.key),
            "attestation",
        ),
    ];
    world.each_delivery_refused(Forwarded::Request, cases).await;
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
    assert_eq!(
        succeeded("AcceptRequest", &again),
        json!({"outcome": "accepted", "request_id": request.request_id})
    );
    assert!(again.event.is_none());
    assert_eq!(before, snapshot(&world.net2.ledger));

    // Same id, different bytes (another purpose).
    let mut changed = request.clone();
    changed.purpose = Purpose::Emergency as i32;
    let replay = world.forward_request(&world.sign_request(&changed, &world.doctor));
    let message = world
        .delivery_refused(Forwarded::Request, &replay, b"")
        .await;
    assert_mentions(&message, "replay");
}

#[tokio::test]
async fn a_forwarded_request_failing_a_check_is_stored_as_rejected() {
    let world = World::new().await;
    // The doctor's identity, someone else's key.
    let forged = |request: &Request| forged(request, &world.doctor, &world.net1.admin);
    let cases: Vec<(&str, Defect, bool)> = vec![
        (
            "purpose",
            Box::new(|r| r.purpose = Purpose::Unspecified as i32),
            false,
        ),
        (
            "for network \"net3\"",
            Box::new(|r| r.destination_network = "net3".into()),
            false,
        ),
        ("requester's signature", Box::new(|_| {}), true),
        (
            "no records of this patient",
            Box::new(|r| r.patient_ref = vec![8; 32]),
            false,
        ),
        // Records, but none in the wanted categories.
        (
            "no records of this patient",
            Box::new(|r| r.categories = vec!["Immunization".into()]),
            false,
        ),
    ];
    for (n, (reason, defect, forge)) in (1..).zip(cases) {
        let mut request = world.request(n);
        defect(&mut request);
        let signed = if forge {
            forged(&request)
        } else {
            world.sign_request(&request, &world.doctor)
        };
        rejected(&world, &signed, &request.request_id, reason).await;
    }
}

/// AcceptRequest of `signed`, which net1's peers vouch for, expecting a
/// committed rejection naming `reason`.
async fn rejected(world: &World, signed: &[u8], request_id: &str, reason: &str) {
    let envelope = &world.forward_request(signed);
    let proof = world.vouched(signed).await;
    let args: [&[u8]; 3] = [b"AcceptRequest", envelope, &proof];
    let out = world.net2.call(&world.net2.relay, &args).await;
    let body = succeeded("AcceptRequest", &out);
    let outcome = assert_outcome(&body, OutcomeKind::Rejected);
    assert!(outcome.reason.unwrap().contains(reason), "{body}");
    let event = out.event.unwrap();
    assert_eq!(event.event_name, "RequestRejected");
    let notice: Notice = parse(&event.payload);
    assert_eq!(notice.request_id, request_id);
    assert!(notice.reason.contains(reason));
    let status = world.net2.status(&world.net2.admin, request_id).await;
    assert_eq!(status["status"], "rejected");
    assert!(status["reason"].as_str().unwrap().contains(reason));
    // A resubmission returns the stored rejection without writing.
    let before = snapshot(&world.net2.ledger);
    let again = world.net2.call(&world.net2.relay, &args).await;
    assert_eq!(parse::<serde_json::Value>(&again.response.payload), body);
    assert_eq!(before, snapshot(&world.net2.ledger));
}

#[tokio::test]
async fn request_status_is_private_to_requester_responders_and_admins() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let id = request.request_id.as_bytes();
    for who in [&world.doctor, &world.net1.admin] {
        world.net1.ok(who, &[b"GetRequestStatus", id]).await;
    }
    for (net, who) in [
        (&world.net1, &world.net1.relay),
        (&world.net2, &world.uploader),
    ] {
        let message = net.err(who, &[b"GetRequestStatus", id]).await;
        assert_mentions(&message, "access denied");
    }
    let others = world.net1.ok(&world.net1.relay, &[b"ListRequests"]).await;
    assert_eq!(others, json!([]));
}

// ---- No exchange metadata in blocks (transient map, events, results) ----

#[tokio::test]
async fn a_signed_request_travels_only_in_the_transient_map() {
    let world = World::new().await;
    let signed = world.sign_request(&world.request(1), &world.doctor);
    let doctor = world.doctor.creator.clone();
    let base = || Invocation::new([b"SubmitRequest".to_vec()]).creator(doctor.clone());
    // Missing, beside another key, under another name, as an argument, or
    // too large: each refused, nothing written.
    let cases = [
        (base(), "lacks \"signed_request\""),
        (
            base()
                .transient("signed_request", signed.clone())
                .transient("patient_ref", vec![1]),
            "\"patient_ref\", which is not a parameter",
        ),
        (
            base().transient("signed-request", signed.clone()),
            "not a parameter",
        ),
        (
            Invocation::new([b"SubmitRequest".to_vec(), signed.clone()]).creator(doctor.clone()),
            "takes 0 argument",
        ),
        (
            base().transient("signed_request", vec![0; 1 << 20]),
            "[TOO_LARGE]",
        ),
    ];
    for (invocation, expected) in cases {
        let message = world.net1.refused(invocation).await;
        assert_mentions(&message, expected);
    }
    // The well-formed call: validated, the event names the request only.
    let outcome = world
        .net1
        .invoke(base().transient("signed_request", signed.clone()))
        .await;
    let out = succeeded("SubmitRequest", &outcome);
    assert_eq!(out["outcome"], "validated");
    let event = outcome.event.unwrap();
    assert_eq!(event.payload, world.request(1).request_id.as_bytes());
}

#[tokio::test]
async fn the_relay_reads_a_validated_request_by_id_and_nobody_else_does() {
    let world = World::new().await;
    let request = world.request(1);
    let signed = world.submit(&request).await;
    let id = request.request_id.as_bytes();
    let read = world
        .net1
        .ok(&world.net1.relay, &[b"GetSignedRequest", id])
        .await;
    assert_eq!(read["request_id"], request.request_id);
    assert_eq!(
        base64_decode(read["signed"].as_str().unwrap()),
        signed,
        "the exact bytes validated"
    );
    // Not a relay; an unknown id; not a request id.
    let unknown = world.request(2).request_id;
    let refusals: [(&Person, &[u8], &str); 3] = [
        (&world.doctor, id, "[ACCESS_DENIED]"),
        (&world.net1.relay, unknown.as_bytes(), "[NOT_FOUND]"),
        (&world.net1.relay, b"Observation/1", "[BAD_ARGUMENT]"),
    ];
    for (who, arg, expected) in refusals {
        let message = world.net1.err(who, &[b"GetSignedRequest", arg]).await;
        assert_mentions(&message, expected);
    }
    // On the destination, the request is incoming: not read from there.
    world.accept(&signed).await;
    let message = world
        .net2
        .err(&world.net2.relay, &[b"GetSignedRequest", id])
        .await;
    assert_mentions(&message, "[NOT_FOUND]");
}

#[tokio::test]
async fn exchange_state_is_private_under_keyed_hashes() {
    let world = World::new().await;
    let request = world.request(1);
    world.submit(&request).await;
    let patient = hex::encode(world.patient);
    // Nothing in public state names the patient or the requester code; the
    // private state does, under keys that name neither.
    let key = ehrx_chaincode::ehr::state::key::request(&request.request_id).unwrap();
    assert!(world.net1.private_state(&key).is_some());
    for ((collection, key), value) in world.net1.ledger.contents() {
        for needle in [patient.as_bytes(), DOCTOR_CODE.as_bytes()] {
            let found = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
            assert!(!found(key.as_bytes()), "{collection:?} key {key:?}");
            if collection.is_empty() {
                assert!(!found(&value), "public value of {key:?}");
            }
        }
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}
