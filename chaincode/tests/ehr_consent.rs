#![cfg(test)]
//! Patient consent: PutConsent / RevokeConsent / ListConsents (who may,
//! hostile input), and the check of reply formation (GetRequestRecords and
//! SubmitReply) at the transaction's time: no consent, expired, revoked in
//! flight, other purpose or category, another patient's, break-glass.

use ehrx_chaincode::proto::exchange::{Purpose, ReplyStatus, Request};
use ehrx_chaincode_testing::*;
use ehrx_interface::{
    ErrorCode, Key32,
    consent::{
        ConsentEntry, ConsentReceipt, ConsentStatus, ConsentTerms, EMERGENCY_PURPOSE, Recipient,
    },
    limits::MAX_CONSENTS_PER_PATIENT,
    names::{event, function},
    types::{AuditKind, Changed, OutcomeKind},
};
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// Milliseconds of the ledger clock's start.
const START_MS: i64 = EPOCH * 1000;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// A consent of the world's patient for the doctor's network, for
/// treatment, every category, in force for a day around the clock's start.
fn terms(world: &World, id: &str) -> ConsentTerms {
    ConsentTerms {
        consent_id: id.into(),
        status: ConsentStatus::Active,
        patient_ref: Key32::new(world.patient),
        start_ms: START_MS - DAY_MS,
        end_ms: START_MS + DAY_MS,
        recipients: vec![Recipient::Network(NET1.into())],
        purposes: vec!["PURPOSE_TREATMENT".into()],
        categories: Vec::new(),
    }
}

/// PutConsent of `terms` by `who`: the stored entry, as listed. The
/// result itself is a receipt naming neither the patient nor the consent.
async fn put(world: &World, who: &Person, terms: &ConsentTerms) -> ConsentEntry {
    let bytes = terms.to_fhir().to_string();
    let invocation = Network::consent_call(function::PUT_CONSENT, who, bytes.as_bytes());
    let out = succeeded(function::PUT_CONSENT, &world.net2.invoke(invocation).await);
    let text = out.to_string();
    assert!(!text.contains(&terms.patient_ref.to_hex()) && !text.contains(&terms.consent_id));
    let receipt = serde_json::from_value::<Changed<ConsentReceipt>>(out)
        .unwrap()
        .value;
    assert_eq!(
        receipt.sha256.bytes(),
        &<[u8; 32]>::from(Sha256::digest(&bytes))
    );
    let entry = listed(world, &terms.patient_ref.to_hex())
        .await
        .into_iter()
        .find(|c| c.terms.consent_id == terms.consent_id)
        .unwrap();
    assert_eq!(entry.stored_at_ms, receipt.at_ms);
    entry
}

/// RevokeConsent's argument for consent `id` of the world's patient.
fn revocation(world: &World, id: &str) -> String {
    json!({"patient_ref": Key32::new(world.patient), "consent_id": id}).to_string()
}

async fn revoke(world: &World, id: &str) {
    let revocation = revocation(world, id);
    let invocation = Network::consent_call(
        function::REVOKE_CONSENT,
        &world.net2.admin,
        revocation.as_bytes(),
    );
    succeeded(
        function::REVOKE_CONSENT,
        &world.net2.invoke(invocation).await,
    );
}

/// ListConsents of the world's patient, by net2's admin.
async fn list(world: &World) -> Vec<ConsentEntry> {
    listed(world, &Key32::new(world.patient).to_hex()).await
}

/// ListConsents of `patient` (hex), by net2's admin.
async fn listed(world: &World, patient: &str) -> Vec<ConsentEntry> {
    let out = world
        .net2
        .ok(
            &world.net2.admin,
            &[function::LIST_CONSENTS.as_bytes(), patient.as_bytes()],
        )
        .await;
    serde_json::from_value(out).unwrap()
}

/// `function` (PutConsent, RevokeConsent) of `argument` by `who` on net2,
/// which must be refused, writing nothing: the message.
async fn consent_refused(
    world: &World,
    function: &str,
    who: &Person,
    argument: impl AsRef<[u8]>,
) -> String {
    world
        .net2
        .refused(Network::consent_call(function, who, argument.as_ref()))
        .await
}

/// A world whose net2 requires consent (break-glass as given).
async fn consent_world(break_glass: bool) -> World {
    let world = World::new().await;
    world.net2.require_consent(break_glass).await;
    // The doctor files several requests within the minute.
    let config = json!({"network_id": NET1, "rate_limit_max": 100});
    world.net1.admin(function::CONFIGURE_NETWORK, &config).await;
    world
}

/// Request `n`, changed by `change`, submitted on net1 and accepted on
/// net2.
async fn accepted(world: &World, n: u64, change: impl FnOnce(&mut Request)) -> Request {
    let mut request = world.request(n);
    change(&mut request);
    let signed = world.submit(&request).await;
    assert_outcome(&world.accept(&signed).await, OutcomeKind::Accepted);
    request
}

/// GetRequestRecords must be refused with NO_CONSENT (nothing written).
async fn records_refused(world: &World, request: &Request) -> String {
    let message = world
        .net2
        .err(
            &world.responder,
            &[
                function::GET_REQUEST_RECORDS.as_bytes(),
                request.request_id.as_bytes(),
            ],
        )
        .await;
    assert_eq!(code(&message), ErrorCode::NoConsent, "{message}");
    message
}

/// The request is refused both when read and when answered OK, and a
/// refusal reply then answers it: nothing disclosed, a refusal audited.
async fn refused_without_consent(world: &World, request: &Request, expected: &str) {
    let message = records_refused(world, request).await;
    assert_mentions(&message, expected);
    let message = world.submit_refused(&world.reply_ok(request)).await;
    assert_eq!(code(&message), ErrorCode::NoConsent, "{message}");
    let refusal = world.refusal(&request.request_id, ReplyStatus::Rejected, &message);
    world.submit(&refusal).await;
    let trail = world.net2.audit_trail(&hex(&world.patient)).await;
    let last = trail.last().unwrap();
    assert_eq!(last.kind, AuditKind::Refusal);
    assert!(last.record_ids.is_empty());
    assert!(last.detail.contains("NO_CONSENT"), "{}", last.detail);
    let this_request = Some(request.request_id.as_str());
    assert!(
        !trail
            .iter()
            .any(|e| e.kind == AuditKind::Disclosure && e.request_id.as_deref() == this_request),
        "nothing is disclosed"
    );
}

fn hex(bytes: &[u8; 32]) -> String {
    Key32::new(*bytes).to_hex()
}

#[tokio::test]
async fn without_a_consent_nothing_is_read_or_disclosed() {
    let world = consent_world(false).await;
    let request = accepted(&world, 1, |_| {}).await;
    refused_without_consent(&world, &request, "the patient has no consent here").await;
}

#[tokio::test]
async fn a_consent_permits_the_disclosure_and_marks_its_audit_entry() {
    let world = consent_world(false).await;
    let stored = put(&world, &world.net2.admin, &terms(&world, "c-1")).await;
    assert_eq!(stored.terms, terms(&world, "c-1"));
    assert_eq!(list(&world).await, vec![stored]);
    let request = accepted(&world, 1, |_| {}).await;
    let fetched = world.request_records(&request.request_id).await;
    world.submit(&world.reply_from(&fetched)).await;
    // The event names the request only (no exchange metadata in blocks).
    assert_announced(&world.net2.ledger, event::REPLY_READY, &request.request_id);
    let trail = world.net2.audit_trail(&hex(&world.patient)).await;
    let kinds: Vec<AuditKind> = trail.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&AuditKind::ConsentStored), "{kinds:?}");
    let disclosure = trail.last().unwrap();
    assert_eq!(disclosure.kind, AuditKind::Disclosure);
    let disclosed = disclosure.disclosed.clone().unwrap();
    assert_eq!(disclosed.consent_id.as_deref(), Some("c-1"));
    assert_eq!(disclosed.requester_code, DOCTOR_CODE);
    assert_eq!(disclosed.purpose, "PURPOSE_TREATMENT");
    assert!(!disclosed.break_glass);
}

#[tokio::test]
async fn an_expired_or_future_consent_is_no_consent() {
    let world = consent_world(false).await;
    let mut expired = terms(&world, "old");
    expired.start_ms = START_MS - 10 * DAY_MS;
    expired.end_ms = START_MS - DAY_MS;
    put(&world, &world.net2.admin, &expired).await;
    let mut future = terms(&world, "later");
    future.start_ms = START_MS + DAY_MS;
    future.end_ms = START_MS + 2 * DAY_MS;
    put(&world, &world.net2.admin, &future).await;
    let request = accepted(&world, 1, |_| {}).await;
    let message = records_refused(&world, &request).await;
    assert_mentions(&message, "consent old has expired");
    refused_without_consent(&world, &request, "consent later is not in force yet").await;
}

#[tokio::test]
async fn a_consent_revoked_while_the_request_is_in_flight_stops_the_reply() {
    let world = consent_world(false).await;
    put(&world, &world.net2.admin, &terms(&world, "c-1")).await;
    let request = accepted(&world, 1, |_| {}).await;
    // The responder has read the records and formed its reply...
    let fetched = world.request_records(&request.request_id).await;
    let reply = world.reply_from(&fetched);
    // ...when the patient revokes.
    revoke(&world, "c-1").await;
    let message = world.submit_refused(&reply).await;
    assert_refusal(&message, ErrorCode::NoConsent, "consent c-1 is not active");
    let listed = list(&world).await;
    assert_eq!(listed[0].terms.status, ConsentStatus::Inactive);
    assert!(listed[0].revoked_at_ms.is_some());
    refused_without_consent(&world, &request, "not active").await;
    let kinds = world.net2.audit_kinds(&hex(&world.patient)).await;
    assert!(kinds.contains(&"consent_revoked"), "{kinds:?}");
    // Revoked once: a second revocation is refused, writing nothing.
    let revocation = revocation(&world, "c-1");
    let admin = &world.net2.admin;
    let message = consent_refused(&world, function::REVOKE_CONSENT, admin, revocation).await;
    assert_mentions(&message, "already revoked");
}

#[tokio::test]
async fn a_consent_for_another_purpose_recipient_patient_or_category_refuses() {
    let world = consent_world(false).await;
    let mut referral = terms(&world, "referral");
    referral.purposes = vec!["PURPOSE_REFERRAL".into()];
    put(&world, &world.net2.admin, &referral).await;
    let mut elsewhere = terms(&world, "elsewhere");
    elsewhere.recipients = vec![Recipient::Requester {
        network: NET1.into(),
        requester_code: "DOC-2".into(),
    }];
    put(&world, &world.net2.admin, &elsewhere).await;
    let mut other_patient = terms(&world, "other-patient");
    other_patient.patient_ref = Key32::new([8; 32]);
    put(&world, &world.net2.admin, &other_patient).await;
    let mut conditions = terms(&world, "conditions");
    conditions.categories = vec!["Condition".into()];
    put(&world, &world.net2.admin, &conditions).await;

    // Every category asked for: the category-bound consent does not cover it.
    let all = accepted(&world, 1, |_| {}).await;
    let message = records_refused(&world, &all).await;
    for expected in [
        "consent referral does not cover this purpose",
        "consent elsewhere does not name this requester",
        "consent conditions does not cover every requested category",
    ] {
        assert_mentions(&message, expected);
    }
    assert!(!message.contains("other-patient"), "{message}");
    // Observations too: refused, not filtered.
    let more = accepted(&world, 2, |r| {
        r.categories = vec!["Condition".into(), "Observation".into()];
    })
    .await;
    refused_without_consent(&world, &more, "every requested category").await;
    // Conditions only: permitted.
    let covered = accepted(&world, 3, |r| r.categories = vec!["Condition".into()]).await;
    let fetched = world.request_records(&covered.request_id).await;
    assert_eq!(fetched.records.len(), 1);
    world.submit(&world.reply_from(&fetched)).await;
}

#[tokio::test]
async fn break_glass_discloses_an_emergency_flagged_audited_and_raised() {
    let world = consent_world(true).await;
    let request = accepted(&world, 1, |r| r.purpose = Purpose::Emergency as i32).await;
    let fetched = world.request_records(&request.request_id).await;
    world.submit(&world.reply_from(&fetched)).await;
    let raised = last_event(&world.net2.ledger);
    assert_eq!(raised.event_name, event::BREAK_GLASS);
    assert_eq!(
        raised.payload,
        request.request_id.as_bytes(),
        "the relay forwards it as a ready reply: it names the request"
    );
    let disclosure = world.net2.audit_trail(&hex(&world.patient)).await;
    let disclosed = disclosure.last().unwrap().disclosed.clone().unwrap();
    assert!(disclosed.break_glass);
    assert_eq!(disclosed.consent_id, None);
    assert_eq!(disclosed.purpose, EMERGENCY_PURPOSE);
    let security = world.net2.audit_trail("security").await;
    let entry = security.last().unwrap();
    assert_eq!(entry.kind, AuditKind::BreakGlass);
    assert_eq!(
        entry.request_id.as_deref(),
        Some(request.request_id.as_str())
    );
    assert!(entry.detail.contains("without consent"), "{}", entry.detail);

    // Treatment is no emergency: no consent, no records.
    let treatment = accepted(&world, 2, |_| {}).await;
    refused_without_consent(&world, &treatment, "no consent here").await;
}

#[tokio::test]
async fn without_the_policy_an_emergency_needs_a_consent_too() {
    let world = consent_world(false).await;
    let request = accepted(&world, 1, |r| r.purpose = Purpose::Emergency as i32).await;
    refused_without_consent(&world, &request, "PURPOSE_EMERGENCY").await;
    assert!(
        !world
            .net2
            .audit_kinds("security")
            .await
            .contains(&"break_glass")
    );
}

#[tokio::test]
async fn a_consent_is_used_over_break_glass_when_there_is_one() {
    let world = consent_world(true).await;
    let mut emergency = terms(&world, "er");
    emergency.purposes = vec![EMERGENCY_PURPOSE.into()];
    put(&world, &world.net2.admin, &emergency).await;
    let request = accepted(&world, 1, |r| r.purpose = Purpose::Emergency as i32).await;
    world.submit(&world.reply_ok(&request)).await;
    assert_eq!(
        last_event(&world.net2.ledger).event_name,
        event::REPLY_READY
    );
    let trail = world.net2.audit_trail(&hex(&world.patient)).await;
    let disclosed = trail.last().unwrap().disclosed.clone().unwrap();
    assert_eq!(disclosed.consent_id.as_deref(), Some("er"));
    assert!(!disclosed.break_glass);
}

#[tokio::test]
async fn only_an_admin_or_a_registered_consent_manager_manages_consents() {
    let world = World::new().await;
    let manager = world.net2.person("consents", 40);
    let consent = terms(&world, "c-1").to_fhir().to_string();
    for who in [&manager, &world.responder, &world.uploader] {
        let message = consent_refused(&world, function::PUT_CONSENT, who, consent.as_bytes()).await;
        assert_eq!(code(&message), ErrorCode::AccessDenied, "{message}");
    }
    let patient = hex(&world.patient);
    let message = world
        .net2
        .err(
            &manager,
            &[function::LIST_CONSENTS.as_bytes(), patient.as_bytes()],
        )
        .await;
    assert_eq!(code(&message), ErrorCode::AccessDenied, "{message}");
    world
        .net2
        .register(function::REGISTER_CONSENT_MANAGER, &manager)
        .await;
    let stored = put(&world, &manager, &terms(&world, "c-1")).await;
    assert_eq!(stored.stored_by_msp_id, world.net2.msp_id);
    // Stored again under the same id: replaced, not added.
    let mut replaced = terms(&world, "c-1");
    replaced.purposes.push("PURPOSE_REFERRAL".into());
    put(&world, &manager, &replaced).await;
    let listed = list(&world).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].terms, replaced);
}

#[tokio::test]
async fn hostile_consents_and_revocations_are_refused_writing_nothing() {
    let world = World::new().await;
    let admin = &world.net2.admin;
    let valid = terms(&world, "c-1").to_fhir();
    let mut bad_patient = valid.clone();
    bad_patient["patient"]["identifier"]["value"] = json!("zz");
    let mut no_period = valid.clone();
    no_period["provision"]
        .as_object_mut()
        .unwrap()
        .remove("period");
    let huge = format!(
        r#"{{"resourceType":"Consent","id":"{}"}}"#,
        "a".repeat(1 << 20)
    );
    let deep = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
    let cases: Vec<(&str, Vec<u8>, ErrorCode)> = vec![
        ("array", b"[1]".to_vec(), ErrorCode::NotAnObject),
        (
            "duplicate key",
            br#"{"resourceType":"Consent","status":"active","status":"inactive"}"#.to_vec(),
            ErrorCode::DuplicateKey,
        ),
        ("1 MiB", huge.into_bytes(), ErrorCode::TooLarge),
        ("deep", deep.into_bytes(), ErrorCode::TooDeep),
        (
            "NUL",
            b"{\"resourceType\":\"\0\"}".to_vec(),
            ErrorCode::BadArgument,
        ),
        ("not JSON", b"Consent".to_vec(), ErrorCode::BadArgument),
        (
            "bad patient",
            bad_patient.to_string().into_bytes(),
            ErrorCode::BadArgument,
        ),
        (
            "no period",
            no_period.to_string().into_bytes(),
            ErrorCode::BadArgument,
        ),
    ];
    for (label, bytes, expected) in cases {
        let message = consent_refused(&world, function::PUT_CONSENT, admin, &bytes).await;
        assert_eq!(code(&message), expected, "{label}: {message}");
    }
    // No transient entry at all.
    let message = world
        .net2
        .err(admin, &[function::PUT_CONSENT.as_bytes()])
        .await;
    assert_mentions(&message, "transient map has no \"consent\"");
    // Revocations: unknown consent, unknown field, array.
    let patient = Key32::new(world.patient);
    for (label, revocation, expected) in [
        (
            "unknown",
            json!({"patient_ref": patient, "consent_id": "nope"}).to_string(),
            ErrorCode::NotFound,
        ),
        (
            "extra field",
            json!({"patient_ref": patient, "consent_id": "c", "x": 1}).to_string(),
            ErrorCode::UnknownField,
        ),
        ("array", "[]".to_owned(), ErrorCode::NotAnObject),
    ] {
        let message = consent_refused(
            &world,
            function::REVOKE_CONSENT,
            admin,
            revocation.as_bytes(),
        )
        .await;
        assert_eq!(code(&message), expected, "{label}: {message}");
    }
    let message = world
        .net2
        .err(admin, &[function::LIST_CONSENTS.as_bytes(), b"ABC"])
        .await;
    assert_eq!(code(&message), ErrorCode::BadArgument, "{message}");
}

#[tokio::test]
async fn a_patient_has_a_bounded_number_of_consents() {
    let world = World::new().await;
    let admin = &world.net2.admin;
    for n in 0..MAX_CONSENTS_PER_PATIENT {
        put(&world, admin, &terms(&world, &format!("c-{n}"))).await;
    }
    let one_more = terms(&world, "c-last").to_fhir().to_string();
    let message = consent_refused(&world, function::PUT_CONSENT, admin, one_more).await;
    assert_eq!(code(&message), ErrorCode::Conflict, "{message}");
    // Replacing one is still possible.
    put(&world, admin, &terms(&world, "c-0")).await;
}

#[tokio::test]
async fn an_organisation_or_a_requester_code_may_be_the_recipient() {
    let world = consent_world(false).await;
    let mut org = terms(&world, "org");
    org.recipients = vec![Recipient::Organization {
        network: NET1.into(),
        msp_id: world.net1.msp_id.clone(),
    }];
    put(&world, &world.net2.admin, &org).await;
    let first = accepted(&world, 1, |_| {}).await;
    world.submit(&world.reply_ok(&first)).await;
    revoke(&world, "org").await;
    let mut doctor = terms(&world, "doctor");
    doctor.recipients = vec![Recipient::Requester {
        network: NET1.into(),
        requester_code: DOCTOR_CODE.into(),
    }];
    put(&world, &world.net2.admin, &doctor).await;
    let second = accepted(&world, 2, |_| {}).await;
    world.submit(&world.reply_ok(&second)).await;
    let trail = world.net2.audit_trail(&hex(&world.patient)).await;
    let consents: Vec<Option<String>> = trail
        .iter()
        .filter(|e| e.kind == AuditKind::Disclosure)
        .map(|e| e.disclosed.clone().and_then(|d| d.consent_id))
        .collect();
    assert_eq!(
        consents,
        [Some("org".to_owned()), Some("doctor".to_owned())]
    );
}

#[tokio::test]
async fn without_the_policy_disclosures_carry_no_consent_and_no_glass() {
    let world = World::new().await;
    let (_, _) = world.replied_request(1).await;
    let trail = world.net2.audit_trail(&hex(&world.patient)).await;
    let disclosed = trail.last().unwrap().disclosed.clone().unwrap();
    assert_eq!((disclosed.consent_id, disclosed.break_glass), (None, false));
    assert_eq!(
        last_event(&world.net2.ledger).event_name,
        event::REPLY_READY
    );
}

/// The consent rule names purposes as the request's enum spells them: the
/// two lists (the interface crate does not depend on the protos) stay one.
#[test]
fn consent_purposes_are_the_request_purposes() {
    let request_purposes: Vec<&str> = (1..)
        .map_while(|n| Purpose::try_from(n).ok())
        .map(|p| p.as_str_name())
        .collect();
    assert_eq!(ehrx_interface::consent::PURPOSES, request_purposes);
    assert_eq!(
        ehrx_interface::consent::EMERGENCY_PURPOSE,
        Purpose::Emergency.as_str_name()
    );
}
