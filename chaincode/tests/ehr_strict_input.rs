#![cfg(test)]
//! Strict input (issue 11): JSON arrays where objects are required,
//! repeated keys, deep nesting and huge arguments are refused with a code,
//! in a bounded message, writing nothing.

use ehrx_chaincode_testing::*;
use ehrx_interface::{
    ErrorCode,
    limits::MAX_JSON_DEPTH,
    names::{Forwarded, function},
};
use serde_json::json;

#[tokio::test]
async fn configure_network_refuses_an_array() {
    let net = Network::new(NET1, 1);
    let message = net
        .admin_refused("ConfigureNetwork", br#"["net1",100,60]"#)
        .await;
    assert_eq!(code(&message), ErrorCode::NotAnObject, "{message}");
    // Still unconfigured: the array wrote nothing.
    let message = net.admin_refused("RemoveRemoteNetwork", b"net2").await;
    assert_eq!(code(&message), ErrorCode::NotConfigured, "{message}");
}

#[tokio::test]
async fn registrations_and_metadata_refuse_arrays() {
    let world = World::new().await;
    let net = &world.net2;
    let person = net.person("someone", 40);
    let key = "ab".repeat(32);
    let cases: Vec<(&str, String)> = vec![
        (
            function::PUT_REMOTE_NETWORK,
            json!(["net3", key, "active"]).to_string(),
        ),
        (
            function::REGISTER_REQUESTER,
            json!(["N-1", person.msp_id, person.cert_pem, ["request"], key]).to_string(),
        ),
        (
            function::REGISTER_UPLOADER,
            json!([person.msp_id, person.cert_pem]).to_string(),
        ),
        (
            function::REGISTER_RESPONDER,
            json!([person.msp_id, person.cert_pem]).to_string(),
        ),
        (
            function::REGISTER_RELAY,
            json!([person.msp_id, person.cert_pem]).to_string(),
        ),
        (
            function::CLEAR_FLAG,
            json!([person.msp_id, person.cert_pem]).to_string(),
        ),
    ];
    for (name, arg) in cases {
        let message = net.admin_refused(name, arg).await;
        assert_eq!(code(&message), ErrorCode::NotAnObject, "{name}: {message}");
    }
    let metadata = json!(["obs-arr", hex::encode(world.patient), "Observation"]).to_string();
    let invocation = invocation([b"PutEhr".to_vec(), metadata.into_bytes()])
        .creator(world.uploader.creator.clone())
        .transient(
            "record",
            br#"{"resourceType":"Observation","id":"obs-arr"}"#.to_vec(),
        );
    let message = net.refused(invocation).await;
    assert_eq!(code(&message), ErrorCode::NotAnObject, "{message}");
}

#[tokio::test]
async fn a_record_with_a_repeated_key_is_refused() {
    let world = World::new().await;
    let net = &world.net2;
    let deep = format!(
        r#"{{"resourceType":"Observation","id":"obs-d","x":{}{}}}"#,
        "[".repeat(MAX_JSON_DEPTH),
        "]".repeat(MAX_JSON_DEPTH)
    );
    let cases: [(&str, &[u8], ErrorCode); 3] = [
        (
            "obs-dup",
            br#"{"resourceType":"Observation","id":"obs-other","id":"obs-dup"}"#,
            ErrorCode::DuplicateKey,
        ),
        (
            "obs-n",
            br#"{"resourceType":"Observation","id":"obs-n","code":{"coding":[{"code":"a","code":"b"}]}}"#,
            ErrorCode::DuplicateKey,
        ),
        ("obs-d", deep.as_bytes(), ErrorCode::TooDeep),
    ];
    for (record_id, record, expected) in cases {
        let message = net
            .refused(Network::put_ehr(
                &world.uploader,
                record_id,
                &world.patient,
                "Observation",
                record,
            ))
            .await;
        assert_eq!(code(&message), expected, "{record_id}: {message}");
    }
}

#[tokio::test]
async fn json_arguments_refuse_repeated_keys() {
    let world = World::new().await;
    let net = &world.net2;
    let message = net
        .admin_refused(
            "ConfigureNetwork",
            br#"{"network_id":"net2","network_id":"net9"}"#,
        )
        .await;
    assert_eq!(code(&message), ErrorCode::DuplicateKey, "{message}");
    let metadata = format!(
        r#"{{"record_id":"obs-9","record_id":"obs-8","patient_ref":"{}","category":"Observation"}}"#,
        hex::encode(world.patient)
    );
    let invocation = invocation([b"PutEhr".to_vec(), metadata.into_bytes()])
        .creator(world.uploader.creator.clone())
        .transient(
            "record",
            br#"{"resourceType":"Observation","id":"obs-8"}"#.to_vec(),
        );
    let message = net.refused(invocation).await;
    assert_eq!(code(&message), ErrorCode::DuplicateKey, "{message}");
}

#[tokio::test]
async fn huge_arguments_give_small_errors_for_every_function() {
    let world = World::new().await;
    let mib = "a".repeat(1 << 20);
    let unknown_field = format!(r#"{{"network_id":"net2","{}":1}}"#, "f".repeat(60_000));
    let huge_json_string = format!(r#"{{"network_id":"{mib}"}}"#);
    let uuid_prefixed = format!("{}{mib}", request_id(1));
    let callers = [
        &world.net2.admin,
        &world.responder,
        &world.uploader,
        &world.net2.relay,
    ];
    for name in function::ALL {
        for argument in [
            mib.as_str(),
            unknown_field.as_str(),
            huge_json_string.as_str(),
            uuid_prefixed.as_str(),
        ] {
            for caller in callers {
                let mut args = vec![name.as_bytes().to_vec(), argument.as_bytes().to_vec()];
                if *name != function::LIST_REQUESTS {
                    let invocation = invocation(args.clone())
                        .creator(caller.creator.clone())
                        .transient("record", mib.as_bytes().to_vec());
                    let message = world.net2.refused(invocation).await;
                    code(&message);
                }
                // Too many arguments (no function takes four), each huge:
                // still a small error.
                for _ in 0..3 {
                    args.push(mib.as_bytes().to_vec());
                }
                let message = world
                    .net2
                    .refused(invocation(args).creator(caller.creator.clone()))
                    .await;
                assert_eq!(code(&message), ErrorCode::BadArgument, "{message}");
            }
        }
    }
    // A huge function name or contract name is quoted short too.
    let message = world.net2.err(&world.net2.admin, &[mib.as_bytes()]).await;
    assert_eq!(code(&message), ErrorCode::UnknownFunction, "{message}");
    let qualified = format!("{mib}:GetReply");
    let message = world
        .net2
        .err(&world.net2.admin, &[qualified.as_bytes(), b"x"])
        .await;
    assert_eq!(code(&message), ErrorCode::UnknownFunction, "{message}");
}

#[tokio::test]
async fn the_ids_of_the_issue_are_refused_briefly() {
    let world = World::new().await;
    let id = "r".repeat(1 << 20);
    for (net, who, name) in [
        (&world.net1, &world.doctor, function::GET_REPLY),
        (&world.net1, &world.doctor, function::GET_REQUEST_STATUS),
        (&world.net2, &world.responder, function::GET_REQUEST_RECORDS),
    ] {
        let message = net.err(who, &[name.as_bytes(), id.as_bytes()]).await;
        assert_eq!(code(&message), ErrorCode::BadArgument, "{name}: {message}");
        assert_mentions(&message, "(1048576 bytes)");
    }
    let field = |length| format!(r#"{{"network_id":"net1","{}":1}}"#, "f".repeat(length));
    let message = world
        .net1
        .admin_refused("ConfigureNetwork", field(1 << 20))
        .await;
    assert_eq!(code(&message), ErrorCode::TooLarge, "{message}");
    let message = world
        .net1
        .admin_refused("ConfigureNetwork", field(60_000))
        .await;
    assert_refusal(&message, ErrorCode::UnknownField, "(60000 bytes)");
}

#[tokio::test]
async fn the_sdk_facing_refusals_carry_their_codes() {
    let world = World::new().await;
    let (_, signed_reply) = world.replied_request(1).await;
    let message = world.filing_refused(Forwarded::Reply, &signed_reply).await;
    assert_eq!(code(&message), ErrorCode::AlreadyReplied, "{message}");
    let stranger = world.net2.person("stranger", 41);
    let message = world
        .net2
        .err(&stranger, &[b"GetRequestRecords", request_id(1).as_bytes()])
        .await;
    assert_eq!(code(&message), ErrorCode::AccessDenied, "{message}");
}
