#![cfg(test)]
//! PutEhr refuses records that are not FHIR R4 (issue 15 item 5), by the
//! one rule of `ehrx_interface::fhir`: each refusal has its code, names
//! the record and the place, and writes nothing; hostile records (1 MiB
//! strings, deep nesting, NUL bytes) get the same short, bounded refusal.

use ehrx_chaincode_testing::*;
use ehrx_interface::{ContractFailure, ErrorCode, limits::MAX_ERROR_BYTES};

fn code(message: &str) -> ErrorCode {
    ContractFailure::from_wire(message)
        .map(|failure| failure.code)
        .unwrap_or_else(|| panic!("no code in {message}"))
}

/// Uploads `content` as `Type/id` after a good record, expects a refusal
/// (which checks that nothing was written) with `expected` and every part
/// of `says`, and returns the message.
async fn refused(
    world: &World,
    record: (&str, &str, &[u8]),
    expected: ErrorCode,
    says: &[&str],
) -> String {
    let good: &[u8] = br#"{"resourceType":"Observation","id":"ok-1","status":"final"}"#;
    let records = [("Observation", "ok-1", good), record];
    let message = world
        .net2
        .refused(Network::upload(&world.uploader, &world.patient, &records))
        .await;
    assert_eq!(code(&message), expected, "{message}");
    assert!(
        message.len() <= MAX_ERROR_BYTES + 64,
        "{} bytes",
        message.len()
    );
    for part in std::iter::once(&"record 1 of the upload").chain(says) {
        assert!(message.contains(part), "{part:?} not in {message}");
    }
    assert!(world.net2.record_content("Observation/ok-1").is_none());
    message
}

#[tokio::test]
async fn records_that_are_not_r4_are_refused_writing_nothing() {
    let world = World::new().await;
    let cases: &[(&str, &str, &str, &[&str])] = &[
        // Not one of the 146 R4 resource types (an R5-only one, a plural).
        (
            "ActorDefinition",
            "a",
            r#"{"resourceType":"ActorDefinition","id":"a"}"#,
            &["not one of the 146 FHIR R4 resource types"],
        ),
        (
            "Patients",
            "p",
            r#"{"resourceType":"Patients","id":"p"}"#,
            &["\"Patients\""],
        ),
        // Not a FHIR id (the listing's id is one; the content's is not).
        (
            "Patient",
            "p",
            r#"{"resourceType":"Patient","id":"p_1"}"#,
            &["Patient has no valid id"],
        ),
        // A Bundle entry without a resource; a Bundle without a type.
        (
            "Bundle",
            "b",
            r#"{"resourceType":"Bundle","id":"b","type":"collection","entry":[{"fullUrl":"urn:uuid:1"}]}"#,
            &["Bundle.entry[0]", "without a resource"],
        ),
        (
            "Bundle",
            "b",
            r#"{"resourceType":"Bundle","id":"b","entry":[{"resource":{"resourceType":"Patient","id":"p"}}]}"#,
            &["a Bundle has a type"],
        ),
        (
            "Bundle",
            "b",
            r#"{"resourceType":"Bundle","id":"b","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}]}"#,
            &["Bundle.entry[0].resource(Patient) has no valid id"],
        ),
        // Well-known primitives.
        (
            "Patient",
            "p",
            r#"{"resourceType":"Patient","id":"p","meta":{"lastUpdated":"2024-01-02"}}"#,
            &["Patient.meta.lastUpdated", "an instant"],
        ),
        (
            "Observation",
            "o",
            r#"{"resourceType":"Observation","id":"o","status":"final ","code":{"text":"x"}}"#,
            &["Observation.status", "a code"],
        ),
        (
            "Observation",
            "o",
            r#"{"resourceType":"Observation","id":"o","effectiveDateTime":"last Tuesday"}"#,
            &["Observation.effectiveDateTime"],
        ),
        (
            "Observation",
            "o",
            r#"{"resourceType":"Observation","id":"o","subject":{"reference":"Patient?identifier=123"}}"#,
            &["Observation.subject.reference", "not a reference"],
        ),
        (
            "Patient",
            "p",
            r#"{"resourceType":"Patient","id":"p","birthDate":"1990-02-30T"}"#,
            &["Patient.birthDate"],
        ),
        // The FHIR JSON format.
        (
            "Patient",
            "p",
            r#"{"resourceType":"Patient","id":"p","gender":""}"#,
            &["Patient.gender", "empty string"],
        ),
        (
            "Patient",
            "p",
            r#"{"resourceType":"Patient","id":"p","name":[]}"#,
            &["Patient.name", "empty list"],
        ),
        (
            "Patient",
            "p",
            r#"{"resourceType":"Patient","id":"p","active":null}"#,
            &["Patient.active", "null"],
        ),
        (
            "Patient",
            "p",
            r#"{"resourceType":"Patient","id":"p","extension":[{"valueString":"x"}]}"#,
            &["Patient.extension[0]", "url"],
        ),
        (
            "Patient",
            "p",
            r#"{"resourceType":"Patient","id":"p","na-me":[{"family":"x"}]}"#,
            &["not an element name"],
        ),
    ];
    for &(resource_type, id, content, says) in cases {
        refused(
            &world,
            (resource_type, id, content.as_bytes()),
            ErrorCode::BadArgument,
            says,
        )
        .await;
    }
    // Unknown extensions stay allowed.
    let extended = br#"{"resourceType":"Patient","id":"p-ext","extension":[{"url":"https://example.org/fhir/StructureDefinition/anything","valueCodeableConcept":{"text":"z"}}]}"#;
    let upload = Network::upload(
        &world.uploader,
        &world.patient,
        &[("Patient", "p-ext", extended)],
    );
    let stored = succeeded("PutEhr", &world.net2.invoke(upload).await);
    assert_eq!(stored["records"][0]["stored"], "stored");
    assert!(world.net2.record_content("Patient/p-ext").is_some());
}

#[tokio::test]
async fn hostile_records_get_a_short_refusal_and_write_nothing() {
    let world = World::new().await;
    let mib = "x".repeat(1 << 20);
    let nearly = &mib[..(1 << 20) - 100];
    let cases: Vec<(String, ErrorCode, &[&str])> = vec![
        (
            format!(r#"{{"resourceType":"Patient","id":"p","gender":"{mib}"}}"#),
            ErrorCode::TooLarge,
            &[],
        ),
        (
            // The key is quoted cut short, with its length.
            format!(r#"{{"resourceType":"Patient","id":"p","{nearly}":1}}"#),
            ErrorCode::BadArgument,
            &["not an element name", "bytes)"],
        ),
        (
            format!(r#"{{"resourceType":"{nearly}","id":"p"}}"#),
            ErrorCode::BadArgument,
            &["resourceType", "bytes)"],
        ),
        (
            format!(
                r#"{{"resourceType":"Patient","id":"p","x":{}}}"#,
                "[".repeat(100_000)
            ),
            ErrorCode::TooDeep,
            &[],
        ),
        (
            r#"{"resourceType":"Patient","id":"p","gender":"fe\u0000male"}"#.to_owned(),
            ErrorCode::BadArgument,
            &["Patient.gender", "U+0000"],
        ),
        (
            r#"{"resourceType":"Patient","id":"p","gen\u0000der":"female"}"#.to_owned(),
            ErrorCode::BadArgument,
            &["not an element name"],
        ),
        (
            "{\"resourceType\":\"Patient\",\"id\":\"p\",\"gender\":\"fe\0male\"}".to_owned(),
            ErrorCode::BadArgument,
            &["not well-formed JSON"],
        ),
        (
            r#"[{"resourceType":"Patient","id":"p"}]"#.to_owned(),
            ErrorCode::NotAnObject,
            &[],
        ),
    ];
    for (content, expected, says) in &cases {
        refused(
            &world,
            ("Patient", "p", content.as_bytes()),
            *expected,
            says,
        )
        .await;
    }
}
