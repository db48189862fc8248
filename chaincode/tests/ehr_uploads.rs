#![cfg(test)]
//! PutEhr as an upload (issue 14): records keyed by `Type/id`, resources
//! shared between patients stored once, uploads all or nothing, the
//! patient's upload order kept, hostile listings refused writing nothing;
//! and NOT_FOUND kept apart from REJECTED from AcceptRequest to the
//! requester's status.

use ehrx_chaincode::shim::{composite_key, testing::Invocation};
use ehrx_chaincode_testing::*;
use ehrx_interface::{
    ErrorCode,
    limits::{MAX_RECORD_BYTES, MAX_UPLOAD_BYTES, MAX_UPLOAD_RECORDS},
    types::RecordContent,
};
use ehrx_proto::exchange::ReplyStatus;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const ORGANIZATION: &[u8] = br#"{"resourceType":"Organization","id":"org-1","name":"General"}"#;

fn code(message: &str) -> ErrorCode {
    ehrx_interface::ContractFailure::from_wire(message)
        .map(|failure| failure.code)
        .unwrap_or_else(|| panic!("no code in {message}"))
}

fn ids(records: &[RecordContent]) -> Vec<&str> {
    records.iter().map(|r| r.record_id.as_str()).collect()
}

fn stored_kinds(result: &Value) -> Vec<(&str, &str)> {
    result["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["record_id"].as_str().unwrap(),
                r["stored"].as_str().unwrap(),
            )
        })
        .collect()
}

/// The world, with room for a few requests a minute on net1.
async fn roomy_world() -> World {
    let world = World::new().await;
    world.net1.configure_rate(10, 60).await;
    world
}

/// Request `n` for `patient`'s history in `categories` (all when empty),
/// accepted on net2: the record ids GetRequestRecords lists (the same
/// when read again), once a reply listing them passed SubmitReply's
/// coverage check.
async fn disclosed(world: &World, n: u64, patient: &[u8; 32], categories: &[&str]) -> Vec<String> {
    let mut request = world.request(n);
    request.patient_ref = patient.to_vec();
    request.categories = categories.iter().map(|c| c.to_string()).collect();
    let signed = world.submit(&request).await;
    world.accept(&signed).await;
    let fetched = world.request_records(&request.request_id).await;
    let again = world.request_records(&request.request_id).await;
    assert_eq!(ids(&fetched.records), ids(&again.records));
    world.submit(&world.reply_from(&fetched)).await;
    ids(&fetched.records)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// PutEhr of `records` for `patient`, which must succeed.
/// PutEhr of `records`; its result with each record's id put back (the
/// result, which is in the block, names none: the uploader knows them in
/// this order).
async fn upload(world: &World, patient: &[u8; 32], records: &[(&str, &str, &[u8])]) -> Value {
    let outcome = world
        .net2
        .invoke(Network::upload(&world.uploader, patient, records))
        .await;
    let mut result = succeeded("PutEhr", &outcome);
    assert_eq!(result.get("patient_ref"), None);
    let stored = result["records"].as_array_mut().unwrap();
    assert_eq!(stored.len(), records.len());
    for (entry, (category, id, _)) in stored.iter_mut().zip(records) {
        assert_eq!(entry.get("record_id"), None);
        assert_eq!(entry["category"], *category);
        entry["record_id"] = Value::from(format!("{category}/{id}"));
    }
    result
}

#[tokio::test]
async fn two_types_may_share_an_id() {
    let world = roomy_world().await;
    let observation = br#"{"resourceType":"Observation","id":"1","status":"final"}"#;
    let condition = br#"{"resourceType":"Condition","id":"1"}"#;
    let result = upload(
        &world,
        &world.patient,
        &[
            ("Observation", "1", observation),
            ("Condition", "1", condition),
        ],
    )
    .await;
    assert_eq!(
        stored_kinds(&result),
        [("Observation/1", "stored"), ("Condition/1", "stored")]
    );
    let ledger = &world.net2.ledger;
    assert_eq!(
        world.net2.record_content("Observation/1").unwrap(),
        observation
    );
    assert_eq!(world.net2.record_content("Condition/1").unwrap(), condition);
    for (resource_type, id) in [("Observation", "1"), ("Condition", "1")] {
        let key = composite_key::create("ehrx.record", &[resource_type, id]).unwrap();
        assert!(world.net2.private_state(&key).is_some());
        assert!(ledger.state_of(&key).is_none());
    }
    assert_eq!(
        disclosed(&world, 1, &world.patient, &[]).await,
        [
            "Condition/cond-1",
            "Observation/obs-1",
            "Observation/1",
            "Condition/1"
        ]
    );
}

#[tokio::test]
async fn the_patients_upload_order_is_kept_every_time() {
    let world = roomy_world().await;
    let z = br#"{"resourceType":"Observation","id":"z"}"#;
    let a = br#"{"resourceType":"Condition","id":"a"}"#;
    let b = br#"{"resourceType":"AllergyIntolerance","id":"b"}"#;
    upload(
        &world,
        &world.patient,
        &[("Observation", "z", z), ("Condition", "a", a)],
    )
    .await;
    upload(&world, &world.patient, &[("AllergyIntolerance", "b", b)]).await;
    let expected = [
        "Condition/cond-1",
        "Observation/obs-1",
        "Observation/z",
        "Condition/a",
        "AllergyIntolerance/b",
    ];
    assert_eq!(disclosed(&world, 1, &world.patient, &[]).await, expected);
    // Per category, the same order among what is asked for.
    assert_eq!(
        disclosed(&world, 2, &world.patient, &["Observation", "Condition"]).await,
        [
            "Condition/cond-1",
            "Observation/obs-1",
            "Observation/z",
            "Condition/a"
        ]
    );
}

#[tokio::test]
async fn a_shared_resource_is_stored_once_and_served_to_each_patient() {
    let world = roomy_world().await;
    let other = [5u8; 32];
    let first = upload(
        &world,
        &other,
        &[
            (
                "Patient",
                "p-5",
                br#"{"resourceType":"Patient","id":"p-5"}"#,
            ),
            ("Organization", "org-1", ORGANIZATION),
        ],
    )
    .await;
    assert_eq!(
        stored_kinds(&first),
        [("Patient/p-5", "stored"), ("Organization/org-1", "stored")]
    );
    let second = upload(
        &world,
        &world.patient,
        &[
            ("Organization", "org-1", ORGANIZATION),
            (
                "Patient",
                "p-7",
                br#"{"resourceType":"Patient","id":"p-7"}"#,
            ),
        ],
    )
    .await;
    assert_eq!(
        stored_kinds(&second),
        [("Organization/org-1", "shared"), ("Patient/p-7", "stored")]
    );
    // Stored once: the metadata names the first patient; each patient's
    // index links it.
    let ledger = &world.net2.ledger;
    let key = composite_key::create("ehrx.record", &["Organization", "org-1"]).unwrap();
    let meta: Value = serde_json::from_slice(&world.net2.private_state(&key).unwrap()).unwrap();
    assert_eq!(meta["patient_ref"], hex::encode(other));
    for patient in [other, world.patient] {
        let index =
            composite_key::create("ehrx.patient-records", &[&hex::encode(patient)]).unwrap();
        let index: Value =
            serde_json::from_slice(&world.net2.private_state(&index).unwrap()).unwrap();
        assert!(
            index["records"]["Organization/org-1"].is_string(),
            "{index}"
        );
    }

    // Again for the same patient: present, nothing but the audit entry
    // written.
    let before = ledger.contents();
    let again = upload(
        &world,
        &world.patient,
        &[("Organization", "org-1", ORGANIZATION)],
    )
    .await;
    assert_eq!(stored_kinds(&again), [("Organization/org-1", "present")]);
    let after = ledger.contents();
    let written: Vec<_> = after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .map(|k| format!("{k:?}"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].contains("ehrx.audit"), "{written:?}");

    // Both patients' replies include it.
    assert_eq!(
        disclosed(&world, 1, &world.patient, &[]).await,
        [
            "Condition/cond-1",
            "Observation/obs-1",
            "Organization/org-1",
            "Patient/p-7"
        ]
    );
    assert_eq!(
        disclosed(&world, 2, &other, &[]).await,
        ["Patient/p-5", "Organization/org-1"]
    );
}

#[tokio::test]
async fn the_same_id_with_other_bytes_is_refused_naming_both() {
    let world = roomy_world().await;
    upload(&world, &[5; 32], &[("Organization", "org-1", ORGANIZATION)]).await;
    let changed = br#"{"resourceType":"Organization","id":"org-1","name":"Other"}"#;
    let message = world
        .net2
        .refused(Network::upload(
            &world.uploader,
            &world.patient,
            &[("Organization", "org-1", changed)],
        ))
        .await;
    assert_eq!(code(&message), ErrorCode::AlreadyExists, "{message}");
    for part in [
        "record 0 of the upload (\"Organization/org-1\")",
        "already exists with other content",
        &hex::encode(Sha256::digest(ORGANIZATION)),
        &hex::encode(Sha256::digest(changed)),
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
}

#[tokio::test]
async fn an_upload_refused_at_its_last_record_leaves_nothing() {
    let world = roomy_world().await;
    let good: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| {
            (
                format!("o-{i}"),
                format!(r#"{{"resourceType":"Observation","id":"o-{i}","valueQuantity":{{"value":0.1000}}}}"#)
                    .into_bytes(),
            )
        })
        .collect();
    let conflicting = br#"{"resourceType":"Condition","id":"cond-1","code":{"text":"Other"}}"#;
    let broken = br#"{"resourceType":"Condition","id":"c-9","code":{"text":"a","text":"b"}}"#;
    for (last, expected) in [
        (
            ("Condition", "cond-1", &conflicting[..]),
            ErrorCode::AlreadyExists,
        ),
        (("Condition", "c-9", &broken[..]), ErrorCode::DuplicateKey),
    ] {
        let mut records: Vec<(&str, &str, &[u8])> = good
            .iter()
            .map(|(id, content)| ("Observation", id.as_str(), content.as_slice()))
            .collect();
        records.push(last);
        // `refused` checks that nothing was written.
        let message = world
            .net2
            .refused(Network::upload(&world.uploader, &world.patient, &records))
            .await;
        assert_eq!(code(&message), expected, "{message}");
        assert!(message.contains("record 5 of the upload"), "{message}");
        assert!(world.net2.record_content("Observation/o-0").is_none());
    }
}

#[tokio::test]
async fn hostile_listings_are_refused_writing_nothing() {
    let world = roomy_world().await;
    let net = &world.net2;
    let patient = hex::encode(world.patient);
    let obs = br#"{"resourceType":"Observation","id":"o"}"#.to_vec();
    let call = |metadata: String, transient: Vec<(String, Vec<u8>)>| {
        let mut invocation = invocation([b"PutEhr".to_vec(), metadata.into_bytes()])
            .creator(world.uploader.creator.clone());
        for (key, value) in transient {
            invocation = invocation.transient(&key, value);
        }
        invocation
    };
    let one = |id: &str| vec![(id.to_owned(), obs.clone())];
    let huge_id = "a".repeat(1 << 20);
    let many: Vec<String> = (0..=MAX_UPLOAD_RECORDS)
        .map(|i| format!("Observation/o{i}"))
        .collect();
    let big = vec![b' '; MAX_RECORD_BYTES];
    let heavy: Vec<(String, Vec<u8>)> = (0..=MAX_UPLOAD_BYTES / MAX_RECORD_BYTES)
        .map(|i| (format!("Observation/h{i}"), big.clone()))
        .collect();
    let heavy_ids: Vec<&str> = heavy.iter().map(|(id, _)| id.as_str()).collect();
    let cases: Vec<(Invocation, ErrorCode, &str)> = vec![
        (
            call(format!(r#"{{"patient_ref":"{patient}","records":[]}}"#), vec![]),
            ErrorCode::BadArgument,
            "lists no record",
        ),
        (
            call(
                format!(r#"{{"patient_ref":"{patient}","records":["Observation/o","Observation/o"]}}"#),
                one("Observation/o"),
            ),
            ErrorCode::BadArgument,
            "listed twice",
        ),
        (
            call(
                format!(r#"{{"patient_ref":"{patient}","records":["Observation/o"]}}"#),
                [one("Observation/o"), one("Observation/x")].concat(),
            ),
            ErrorCode::BadArgument,
            "unexpected key \"Observation/x\"",
        ),
        (
            call(
                format!(r#"{{"patient_ref":"{patient}","records":{{"Observation/o":1}}}}"#),
                one("Observation/o"),
            ),
            ErrorCode::BadArgument,
            "records",
        ),
        (
            call(
                json!([patient, ["Observation/o"]]).to_string(),
                one("Observation/o"),
            ),
            ErrorCode::NotAnObject,
            "",
        ),
        (
            call(
                format!(r#"{{"patient_ref":"{patient}","records":["Observation/o/1"]}}"#),
                one("Observation/o/1"),
            ),
            ErrorCode::BadArgument,
            "invalid record id",
        ),
        (
            call(
                format!(r#"{{"patient_ref":"{patient}","records":["Observation/o\u0000"]}}"#),
                one("Observation/o\u{0}"),
            ),
            ErrorCode::BadArgument,
            "invalid record id",
        ),
        (
            call(
                format!(r#"{{"patient_ref":"{patient}","records":["Observation/{huge_id}"]}}"#),
                vec![],
            ),
            ErrorCode::BadArgument,
            "invalid record id",
        ),
        (
            call(
                json!({"patient_ref": patient, "records": many}).to_string(),
                vec![],
            ),
            ErrorCode::BadArgument,
            "more than 10000",
        ),
        (
            call(
                json!({"patient_ref": patient, "records": heavy_ids}).to_string(),
                heavy.clone(),
            ),
            ErrorCode::TooLarge,
            "the upload is",
        ),
        (
            call(
                format!(r#"{{"patient_ref":"{patient}","records":["Observation/o"]}}"#),
                vec![(
                    "Observation/o".to_owned(),
                    br#"{"resourceType":"Observation","id":"o","v":{"$serde_json::private::Number":"1"}}"#
                        .to_vec(),
                )],
            ),
            ErrorCode::BadArgument,
            "reserved",
        ),
        (
            call(
                format!(r#"{{"patient_ref":"{patient}","records":["Condition/o"]}}"#),
                one("Condition/o"),
            ),
            ErrorCode::BadArgument,
            "not the record id it is listed under",
        ),
    ];
    for (invocation, expected, words) in cases {
        let message = net.refused(invocation).await;
        assert_eq!(code(&message), expected, "{message}");
        assert!(message.contains(words), "{words}: {message}");
        assert!(message.len() <= 512);
    }
}

#[tokio::test]
async fn decimals_are_stored_and_served_as_their_exact_bytes() {
    let world = roomy_world().await;
    let content =
        br#"{"resourceType":"Observation","id":"dec","valueQuantity":{"value":9.071778718846515},
        "component":[{"valueQuantity":{"value":0.1000}},{"valueQuantity":{"value":1e400}},
        {"valueQuantity":{"value":123456789012345678901234567890.000000000000000001}}]}"#;
    upload(&world, &world.patient, &[("Observation", "dec", content)]).await;
    let (request, _) = world.accepted_request(1).await;
    let fetched = world.request_records(&request.request_id).await;
    let record = fetched
        .records
        .iter()
        .find(|r| r.record_id == "Observation/dec")
        .unwrap();
    use base64::Engine as _;
    let served = base64::engine::general_purpose::STANDARD
        .decode(&record.content)
        .unwrap();
    assert_eq!(served, content);
}

#[tokio::test]
async fn not_found_and_rejected_stay_apart_to_the_requesters_status() {
    let world = roomy_world().await;
    // A valid request for a patient with no records on net2.
    let mut request = world.request(1);
    request.patient_ref = vec![8; 32];
    let signed = world.submit(&request).await;
    let out = world.accept(&signed).await;
    assert_eq!(out["outcome"], "rejected");
    let status = world
        .net2
        .status(&world.responder, &request.request_id)
        .await;
    assert_eq!(status["refusal"], "not_found");
    assert_eq!(
        status["reason"],
        "no records of this patient in the requested categories"
    );
    let event = last_event(&world.net2.ledger);
    let notice: Value = serde_json::from_slice(&event.payload).unwrap();
    assert_eq!(notice["refusal"], "not_found");
    // A REJECTED refusal of it is refused; NOT_FOUND is its answer.
    let message = world
        .submit_refused(&world.reply_refusal(&request, ReplyStatus::Rejected))
        .await;
    assert!(message.contains("was rejected as NotFound"), "{message}");
    let reply = world.refusal(
        &request.request_id,
        ReplyStatus::NotFound,
        "no records of this patient in the requested categories",
    );
    let signed_reply = world.submit(&reply).await;
    let out = world.accept_reply(&signed_reply).await;
    assert_eq!(out["outcome"], "failed");
    let status = world.net1.status(&world.doctor, &request.request_id).await;
    assert_eq!(status["status"], "failed");
    assert_eq!(status["refusal"], "not_found");
    assert_eq!(
        status["reason"],
        "no records of this patient in the requested categories"
    );
    assert_eq!(status["reply"]["status"], "not_found");

    // A request rejected for another reason stays REJECTED.
    let mut bad = world.request(2);
    bad.categories = vec!["not a category".into()];
    let signed = world.sign_request(&bad, &world.doctor);
    let envelope = world.forward_request(&signed);
    let proof = world.vouched(&signed).await;
    let out = world
        .net2
        .ok(&world.net2.relay, &[b"AcceptRequest", &envelope, &proof])
        .await;
    assert_eq!(out["outcome"], "rejected");
    let status = world.net2.status(&world.responder, &bad.request_id).await;
    assert_eq!(status["refusal"], "rejected");
    let message = world
        .submit_refused(&world.reply_refusal(&bad, ReplyStatus::NotFound))
        .await;
    assert!(message.contains("was rejected as Rejected"), "{message}");
    world
        .submit(&world.reply_refusal(&bad, ReplyStatus::Rejected))
        .await;
}

#[tokio::test]
async fn put_ehr_takes_its_metadata_from_the_transient_map_only() {
    let world = roomy_world().await;
    let patient = hex::encode(world.patient);
    let metadata = format!(r#"{{"patient_ref":"{patient}","records":["Observation/o"]}}"#);
    let obs = br#"{"resourceType":"Observation","id":"o"}"#.to_vec();
    let uploader = world.uploader.creator.clone();
    let base = || {
        Invocation::new([b"PutEhr".to_vec()])
            .creator(uploader.clone())
            .transient("Observation/o", obs.clone())
    };
    let cases: Vec<(Invocation, &str)> = vec![
        // No metadata: nothing says whose records these are.
        (base(), "no \"metadata\" entry"),
        // The metadata as an argument, where a block would hold it.
        (
            Invocation::new([b"PutEhr".to_vec(), metadata.clone().into_bytes()])
                .creator(uploader.clone())
                .transient("Observation/o", obs.clone()),
            "takes 0 argument",
        ),
        // Metadata that repeats a key, or is larger than its limit.
        (
            base().transient(
                "metadata",
                format!(r#"{{"patient_ref":"{patient}","patient_ref":"{patient}","records":["Observation/o"]}}"#)
                    .into_bytes(),
            ),
            "[DUPLICATE_KEY]",
        ),
        (
            base().transient("metadata", vec![b' '; 3 << 20]),
            "[TOO_LARGE]",
        ),
    ];
    for (invocation, expected) in cases {
        let message = world.net2.refused(invocation).await;
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let outcome = world
        .net2
        .invoke(base().transient("metadata", metadata.into_bytes()))
        .await;
    let result = succeeded("PutEhr", &outcome);
    assert_eq!(result["records"][0]["stored"], "stored");
}
