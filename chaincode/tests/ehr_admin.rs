#![cfg(test)]
//! Admin functions (admin only, validation, audit entries) and PutEhr
//! (each check on its own), on the in-memory ledger.

use ehrx_chaincode::{
    ehr::state::RECORDS,
    shim::{composite_key, testing::Invocation},
};
use ehrx_chaincode_testing::*;
use ehrx_interface::{limits::MAX_RECORD_BYTES, types::AuditKind};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn requester_json(person: &Person, code: &str, privileges: Value, key: &str) -> String {
    json!({
        "requester_code": code,
        "msp_id": person.msp_id,
        "certificate": person.cert_pem,
        "privileges": privileges,
        "encryption_key": key,
    })
    .to_string()
}

#[tokio::test]
async fn admin_functions_refuse_non_admins() {
    let world = World::new().await;
    let net = &world.net1;
    let doctor_identity = world.doctor.identity_json();
    let calls: Vec<Vec<&[u8]>> = vec![
        vec![b"ConfigureNetwork", br#"{"network_id":"net1"}"#],
        vec![b"PutRemoteNetwork", b"{}"],
        vec![b"RemoveRemoteNetwork", b"net2"],
        vec![b"RegisterRequester", b"{}"],
        vec![b"RegisterResponder", doctor_identity.as_bytes()],
        vec![b"RegisterRelay", doctor_identity.as_bytes()],
        vec![b"RegisterUploader", doctor_identity.as_bytes()],
        vec![b"ClearFlag", doctor_identity.as_bytes()],
        vec![b"AuditTrail", b"admin"],
    ];
    for who in [&world.doctor, &net.relay] {
        for call in &calls {
            let message = net.err(who, call).await;
            assert!(
                message.contains("is not an org admin"),
                "{:?}: {message}",
                String::from_utf8_lossy(call[0])
            );
        }
    }
}

#[tokio::test]
async fn configuration_defaults_limits_and_a_fixed_id() {
    let net = Network::new(NET1, 1);
    let config = br#"{"network_id":"net1"}"#;
    let configure = |secret: Option<&[u8]>| {
        let invocation =
            invocation([&b"ConfigureNetwork"[..], config]).creator(net.admin.creator.clone());
        match secret {
            Some(secret) => invocation.transient("ledger_secret", secret.to_vec()),
            None => invocation,
        }
    };
    // The first call must carry a ledger secret of 32 bytes, and nothing
    // else in its transient map; each refusal writes nothing.
    let refusals = [
        (configure(None), "ledger secret"),
        (configure(Some(&[7; 31])), "31 bytes"),
        (configure(Some(&[0; 32])), "32 random bytes"),
        (configure(Some(&[7; 1 << 20])), "1048576 bytes"),
        (
            configure(Some(&[7; 32])).transient("extra", vec![1]),
            "not a transient key",
        ),
    ];
    for (invocation, expected) in refusals {
        let message = net.refused(invocation).await;
        assert_mentions(&message, "[BAD_ARGUMENT]");
        assert_mentions(&message, expected);
    }
    let out = succeeded(
        "ConfigureNetwork",
        &net.invoke(configure(Some(&[7; 32]))).await,
    );
    let secret_key = composite_key::create("ehrx.secret", &[]).unwrap();
    assert_eq!(
        net.ledger
            .private_of(ehrx_chaincode::ehr::state::STATE, &secret_key),
        Some(vec![7; 32])
    );
    assert_eq!(
        out,
        json!({"outcome": "ok", "network_id": "net1", "rate_limit_max": 1, "rate_limit_window_seconds": 60})
    );
    for (config, name) in [
        (r#"{"network_id":"net 1"}"#, "network_id"),
        (
            r#"{"network_id":"net1","rate_limit_max":0}"#,
            "rate_limit_max",
        ),
        (
            r#"{"network_id":"net1","rate_limit_window_seconds":0}"#,
            "rate_limit_window_seconds",
        ),
        (r#"{"network_id":"net1","extra":1}"#, "unknown field"),
        (r#"{"network_id":"net2"}"#, "cannot change"),
        ("[]", "[NOT_AN_OBJECT]"),
    ] {
        let message = net.admin_refused("ConfigureNetwork", config).await;
        assert!(message.contains(name), "{config}: {message}");
    }
    let out = net
        .ok(
            &net.admin,
            &[
                b"ConfigureNetwork",
                br#"{"network_id":"net1","rate_limit_max":5}"#,
            ],
        )
        .await;
    assert_eq!(out["rate_limit_max"], 5);
    // A later call's secret is ignored: the first one stays.
    succeeded(
        "ConfigureNetwork",
        &net.invoke(configure(Some(&[9; 32]))).await,
    );
    assert_eq!(
        net.ledger
            .private_of(ehrx_chaincode::ehr::state::STATE, &secret_key),
        Some(vec![7; 32])
    );
}

#[tokio::test]
async fn nothing_but_configuration_works_before_it() {
    let net = Network::new(NET1, 1);
    let other = Network::new(NET2, 2);
    let entry = json!({
        "network_id": NET2,
        "network_key": hex::encode(other.key.verifying_key().to_bytes()),
        "status": "active",
    })
    .to_string();
    let message = net.admin_refused("PutRemoteNetwork", entry).await;
    assert_mentions(&message, "not configured");
}

#[tokio::test]
async fn the_lookup_table_validates_its_entries() {
    let net = Network::new(NET1, 1);
    net.configure().await;
    let good_key = hex::encode(Network::new(NET2, 2).key.verifying_key().to_bytes());
    for (entry, name) in [
        (
            json!({"network_id": "net2", "network_key": "zz", "status": "active"}),
            "network_key",
        ),
        (
            json!({"network_id": "net2", "network_key": "abcd", "status": "active"}),
            "(32 bytes)",
        ),
        (
            json!({"network_id": "net1", "network_key": good_key, "status": "active"}),
            "own id",
        ),
        (
            json!({"network_id": "net2", "network_key": good_key, "status": "gone"}),
            "unknown variant",
        ),
        (
            json!({"network_id": "", "network_key": good_key, "status": "active"}),
            "network_id",
        ),
    ] {
        let message = net
            .admin_refused("PutRemoteNetwork", entry.to_string())
            .await;
        assert!(message.contains(name), "{entry}: {message}");
    }
    let message = net.admin_refused("RemoveRemoteNetwork", "net2").await;
    assert_mentions(&message, "does not exist");
}

#[tokio::test]
async fn requester_registration_is_validated_and_one_identity_has_one_code() {
    let world = World::new().await;
    let net = &world.net1;
    let key = hex::encode([1u8; 32]);
    let nurse = net.person("nurse", 14);
    let mut broken = nurse.clone();
    broken.cert_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into();
    for (arg, name) in [
        (
            requester_json(&nurse, "bad code", json!(["request"]), &key),
            "requester_code",
        ),
        (
            requester_json(&broken, "N-1", json!(["request"]), &key),
            "certificate",
        ),
        (
            requester_json(&nurse, "N-1", json!(["delete"]), &key),
            "privileges",
        ),
        (
            requester_json(&nurse, "N-1", json!(["request", "request"]), &key),
            "listed twice",
        ),
        (
            requester_json(&nurse, "N-1", json!(["request"]), "00"),
            "encryption_key",
        ),
        (
            requester_json(&world.doctor, "N-1", json!(["request"]), &key),
            "already bound to requester code \"DOC-1\"",
        ),
    ] {
        let message = net.admin_refused("RegisterRequester", arg).await;
        assert_mentions(&message, name);
    }
    // The doctor's code moves to the nurse: the doctor loses it.
    let moved = requester_json(&nurse, "DOC-1", json!(["request"]), &key);
    net.ok(&net.admin, &[b"RegisterRequester", moved.as_bytes()])
        .await;
    let message = world.submit_refused(&world.request(1)).await;
    assert_mentions(&message, "not a registered requester");
}

#[tokio::test]
async fn role_registration_needs_a_certificate() {
    let net = Network::new(NET1, 1);
    net.configure().await;
    for arg in [
        json!({"msp_id": "Net1Org1MSP", "certificate": "nope"}),
        json!({"msp_id": "", "certificate": net.relay.cert_pem}),
        json!({"msp_id": "Net1Org1MSP"}),
    ] {
        let message = net.admin_refused("RegisterRelay", arg.to_string()).await;
        assert!(
            message.contains("certificate") || message.contains("msp_id"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn clear_flag_needs_a_flag_and_one_way_to_name_it() {
    let world = World::new().await;
    let doctor = &world.doctor;
    let both = json!({"msp_id": doctor.msp_id, "certificate": doctor.cert_pem, "identity_id": "x"});
    for (arg, expected) in [
        (doctor.identity_json(), "does not exist"),
        (both.to_string(), "exactly one"),
    ] {
        let message = world.net1.admin_refused("ClearFlag", arg).await;
        assert_mentions(&message, expected);
    }
}

#[tokio::test]
async fn every_admin_change_is_in_the_audit_trail() {
    let world = World::new().await;
    let entries = world.net2.audit_trail("admin").await;
    let details: Vec<&str> = entries.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(details.len(), 6, "{details:?}");
    assert!(details[0].starts_with("configured network net2"));
    assert!(details[1].starts_with("lookup table: net1 is Active"));
    assert!(details[2].starts_with("trust of net1: channel channel"));
    assert!(details[3].contains("as relay"));
    assert!(details[4].contains("as responder"));
    assert!(details[5].contains("as uploader"));
    for entry in &entries {
        assert_eq!(entry.kind, AuditKind::AdminChange);
        assert_eq!(entry.subject, "admin");
        assert_eq!(entry.actor_msp_id, "Net2Org1MSP");
        assert!(entry.actor_id.contains("CN=Admin@org1.net2"));
        assert!(!entry.tx_id.is_empty());
    }
    let message = world
        .net2
        .err(&world.net2.admin, &[b"AuditTrail", b"everyone"])
        .await;
    assert_mentions(&message, "subject");
}

#[tokio::test]
async fn put_ehr_keeps_the_content_and_the_metadata_private() {
    let world = World::new().await;
    let content = br#"{"resourceType":"Bundle","id":"b-1","type":"collection","entry":[{"resource":{"resourceType":"Immunization","id":"i-1"}}]}"#;
    let result = world
        .net2
        .store(&world.uploader, "b-1", &world.patient, "Bundle", content)
        .await;
    let sha = hex::encode(Sha256::digest(content));
    // The result is in the block: it names neither the patient nor the
    // record.
    assert_eq!(result.get("patient_ref"), None);
    let meta = &result["records"][0];
    assert_eq!(meta.get("record_id"), None);
    assert_eq!(meta["sha256"], sha);
    assert_eq!(meta["category"], "Bundle");
    assert_eq!(meta["stored"], "stored");

    // The metadata is private state, under a keyed-hash key.
    let key = composite_key::create("ehrx.record", &["Bundle", "b-1"]).unwrap();
    assert_eq!(world.net2.ledger.state_of(&key), None);
    let private: serde_json::Value =
        serde_json::from_slice(&world.net2.private_state(&key).unwrap()).unwrap();
    assert_eq!(private["record_id"], "Bundle/b-1");
    assert_eq!(private["patient_ref"], hex::encode(world.patient));
    // The content under the keyed hash of its record id, never the id.
    assert_eq!(world.net2.ledger.private_of(RECORDS, "Bundle/b-1"), None);
    assert_eq!(world.net2.record_content("Bundle/b-1").unwrap(), content);
    let content_key =
        ehrx_chaincode::ehr::state::Secret::new(world.net2.secret).record_key("Bundle/b-1");
    assert!(!content_key.contains("b-1"));
    let transaction = world.net2.ledger.begin(&invocation(["x"])).unwrap();
    let hash = transaction
        .stub()
        .get_private_data_hash(RECORDS, &content_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hex::encode(hash), sha);
    // Nothing the contract wrote in public state names the patient or
    // the record.
    for ((collection, key), value) in world.net2.ledger.contents() {
        if collection.is_empty() {
            for needle in [hex::encode(world.patient).as_bytes(), b"b-1"] {
                assert!(
                    !key.as_bytes().windows(needle.len()).any(|w| w == needle)
                        && !value.windows(needle.len()).any(|w| w == needle),
                    "public {key:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn put_ehr_refuses_each_defect_by_name() {
    let world = World::new().await;
    let net = &world.net2;
    let up = &world.uploader;
    let p = world.patient;
    let good = br#"{"resourceType":"Condition","id":"c-2"}"#.to_vec();
    let cases: Vec<(Invocation, &str)> = vec![
        (
            Network::put_ehr(&world.responder, "c-2", &p, "Condition", &good),
            "not a registered uploader",
        ),
        (
            Network::put_ehr(up, "c 2", &p, "Condition", &good),
            "record 0 of the upload (\"Condition/c 2\"): invalid record id",
        ),
        (
            Network::put_ehr(up, "c-2", &p, "condition", &good),
            "invalid record id",
        ),
        (
            Network::put_ehr(up, "c-2", &p, "Condition", b"{not json"),
            "well-formed JSON",
        ),
        (
            Network::put_ehr(up, "c-2", &p, "Condition", br#"{"id":"c-2"}"#),
            "resourceType",
        ),
        (
            Network::put_ehr(
                up,
                "c-2",
                &p,
                "Condition",
                br#"{"resourceType":"Condition"}"#,
            ),
            "no valid id",
        ),
        (
            Network::put_ehr(
                up,
                "c-2",
                &p,
                "Condition",
                br#"{"resourceType":"Condition","id":"c-3"}"#,
            ),
            "not the record id it is listed under",
        ),
        (
            Network::put_ehr(up, "c-2", &p, "Condition", b"{\"resourceType\":\"\xff\"}"),
            "UTF-8",
        ),
        (
            Network::put_ehr(
                up,
                "c-2",
                &p,
                "Condition",
                &vec![b' '; MAX_RECORD_BYTES + 1],
            ),
            "larger than the limit",
        ),
        (
            Network::put_ehr(
                up,
                "cond-1",
                &p,
                "Condition",
                br#"{"resourceType":"Condition","id":"cond-1"}"#,
            ),
            "already exists with other content",
        ),
        (
            Network::put_ehr(up, "c-2", &p, "Condition", &good).transient("extra", vec![1]),
            "unexpected key \"extra\"",
        ),
        (
            invocation([
                b"PutEhr".to_vec(),
                br#"{"patient_ref":"00","records":["Condition/c-2"]}"#.to_vec(),
            ])
            .creator(up.creator.clone())
            .transient("Condition/c-2", good.clone()),
            "patient_ref",
        ),
        (
            invocation([
                b"PutEhr".to_vec(),
                format!(
                    r#"{{"patient_ref":"{}","records":["Condition/c-2"]}}"#,
                    hex::encode(p)
                )
                .into_bytes(),
            ])
            .creator(up.creator.clone()),
            "no entry carrying its FHIR JSON",
        ),
    ];
    for (invocation, name) in cases {
        let message = net.refused(invocation).await;
        assert_mentions(&message, name);
    }
}

#[tokio::test]
async fn argument_count_and_unknown_functions_are_errors() {
    let world = World::new().await;
    let doctor = &world.doctor;
    let calls: [(&[&[u8]], &str); 5] = [
        // Its parameter travels in the transient map: missing there, or
        // an argument besides, is refused.
        (&[b"SubmitRequest"], "lacks \"signed_request\""),
        (&[b"SubmitRequest", b"x", b"y"], "takes 0 argument"),
        (&[b"ListRequests", b"extra"], "takes 0 argument"),
        (&[b"DropTables"], "does not exist"),
        (&[b"GetRequestStatus", b"\xff"], "UTF-8"),
    ];
    for (args, expected) in calls {
        let message = world.net1.err(doctor, args).await;
        assert_mentions(&message, expected);
    }
}

#[tokio::test]
async fn metadata_lists_every_function_with_its_kind() {
    let world = World::new().await;
    let metadata = world
        .net1
        .ok(&world.doctor, &[b"org.hyperledger.fabric:GetMetadata"])
        .await;
    let contract = &metadata["contracts"]["ehrx"];
    assert_eq!(contract["default"], true);
    let kinds: Vec<(String, String)> = contract["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["tag"][0].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let evaluated: Vec<&str> = kinds
        .iter()
        .filter(|(_, tag)| tag == "evaluate")
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(kinds.len(), ehrx_interface::names::function::ALL.len());
    assert_eq!(
        evaluated,
        [
            "AuditTrail",
            "GetRequestRecords",
            "GetRequestStatus",
            "GetSignedReply",
            "GetSignedRequest",
            "ListConsents",
            "ListRequests",
            "ProveReply",
            "ProveRequest"
        ]
    );
}
