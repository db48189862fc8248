#![cfg(test)]
//! Proofs of validation: `PutNetworkTrust`, `IssueChallenge`,
//! `ProveRequest`, and the proof `AcceptRequest` demands, one test per
//! refusal, each checking its code and that nothing was written.

use ehrx_chaincode::{proto::exchange::ValidationProof, shim::testing::Invocation};
use ehrx_chaincode_testing::*;
use ehrx_interface::{ContractFailure, ErrorCode, limits::CHALLENGE_MAX_AGE_MS};
use prost::Message;
use prost_types::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn code(message: &str) -> ErrorCode {
    ContractFailure::from_wire(message)
        .unwrap_or_else(|| panic!("not a coded error: {message}"))
        .code
}

/// Request `n`, submitted (validated) on net1: its signed bytes.
async fn submitted(world: &World, n: u64) -> Vec<u8> {
    let signed = world.sign_request(&world.request(n), &world.doctor);
    let out = world
        .net1
        .ok(&world.doctor, &[b"SubmitRequest", &signed])
        .await;
    assert_eq!(out["outcome"], "validated", "{out}");
    signed
}

/// AcceptRequest of `signed` with `proof`, expected to be refused with
/// `expected`, writing nothing; returns the message.
async fn refused(world: &World, signed: &[u8], proof: &[u8], expected: ErrorCode) -> String {
    let envelope = world.forward_request(signed);
    let message = world
        .net2
        .err(&world.net2.relay, &[b"AcceptRequest", &envelope, proof])
        .await;
    assert_eq!(code(&message), expected, "{message}");
    message
}

/// The arguments of ProveRequest for `signed` and `nonce`.
fn prove_args(signed: &[u8], nonce: &str) -> (String, String, String) {
    let wrapper = ehrx_chaincode::proto::exchange::SignedRequest::decode(signed).unwrap();
    let request =
        ehrx_chaincode::proto::exchange::Request::decode(wrapper.request.as_slice()).unwrap();
    (
        request.request_id,
        hex::encode(Sha256::digest(signed)),
        nonce.to_owned(),
    )
}

/// What net1's ProveRequest answers for `signed` and `nonce`.
fn statement(signed: &[u8], nonce: &str) -> Value {
    let (request_id, hash, nonce) = prove_args(signed, nonce);
    json!({
        "network_id": NET1,
        "request_id": request_id,
        "signed_request_sha256": hash,
        "nonce": nonce,
        "validated": true,
    })
}

/// A proof of `signed` for `nonce` with `result`, endorsed by `endorsers`.
fn endorsed(world: &World, signed: &[u8], nonce: &str, result: &[u8], who: &[&Person]) -> Vec<u8> {
    let (request_id, hash, nonce) = prove_args(signed, nonce);
    let args: [&[u8]; 4] = [
        b"ProveRequest",
        request_id.as_bytes(),
        hash.as_bytes(),
        nonce.as_bytes(),
    ];
    world.net1.endorse(&args, 200, result, who)
}

#[tokio::test]
async fn a_request_validated_on_the_source_is_accepted_with_its_peers_proof_and_the_challenge_is_used_up()
 {
    let world = World::new().await;
    let signed = submitted(&world, 1).await;
    let nonce = world.challenge().await;
    let proof = world.prove_for(&signed, &nonce).await;
    let envelope = world.forward_request(&signed);
    let out = world
        .net2
        .ok(&world.net2.relay, &[b"AcceptRequest", &envelope, &proof])
        .await;
    assert_eq!(out["outcome"], "accepted", "{out}");
    // The same proof for another request validated on net1: the challenge
    // is gone.
    let other = submitted_later(&world, 2).await;
    let replayed = world.prove_for(&other, &nonce).await;
    let message = refused(&world, &other, &replayed, ErrorCode::BadChallenge).await;
    assert!(message.contains("already used"), "{message}");
}

/// Request `n` submitted on net1 a window after the previous one.
async fn submitted_later(world: &World, n: u64) -> Vec<u8> {
    let signed = world.sign_request(&world.request(n), &world.doctor);
    let outcome = world
        .net1
        .invoke(
            Invocation::new([b"SubmitRequest".to_vec(), signed.clone()])
                .creator(world.doctor.creator.clone())
                .timestamp(Timestamp {
                    seconds: EPOCH + 3600 * i64::try_from(n).unwrap(),
                    nanos: 0,
                }),
        )
        .await;
    assert_eq!(outcome.response.status, 200, "{}", outcome.response.message);
    signed
}

#[tokio::test]
async fn a_request_never_submitted_on_the_source_gets_no_proof_from_its_peers() {
    let world = World::new().await;
    let signed = world.sign_request(&world.request(1), &world.doctor);
    let nonce = world.challenge().await;
    let (request_id, hash, nonce) = prove_args(&signed, &nonce);
    let message = world
        .net1
        .err(
            &world.net1.relay,
            &[
                b"ProveRequest",
                request_id.as_bytes(),
                hash.as_bytes(),
                nonce.as_bytes(),
            ],
        )
        .await;
    assert_eq!(code(&message), ErrorCode::NotFound, "{message}");
    // Nor does a thief of net1's relay get one by signing the statement
    // with the relay's own (client) identity.
    let forged = endorsed(
        &world,
        &signed,
        &nonce,
        statement(&signed, &nonce).to_string().as_bytes(),
        &[&world.net1.relay],
    );
    let message = refused(&world, &signed, &forged, ErrorCode::BadProof).await;
    assert!(message.contains("non-peer"), "{message}");
    // And no proof at all is no proof.
    refused(&world, &signed, b"", ErrorCode::BadProof).await;
}

#[tokio::test]
async fn prove_request_names_only_what_was_validated_and_only_for_a_relay() {
    let world = World::new().await;
    let signed = submitted(&world, 1).await;
    let nonce = "cd".repeat(32);
    let (request_id, hash, _) = prove_args(&signed, &nonce);
    let call = |who: &Person, hash: String| {
        let args = [
            b"ProveRequest".to_vec(),
            request_id.clone().into_bytes(),
            hash.into_bytes(),
            nonce.clone().into_bytes(),
        ];
        Invocation::new(args).creator(who.creator.clone())
    };
    let out = world
        .net1
        .invoke(call(&world.net1.relay, hash.clone()))
        .await;
    assert_eq!(out.response.status, 200, "{}", out.response.message);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.response.payload).unwrap(),
        statement(&signed, &nonce)
    );
    let message = world
        .net1
        .refused(call(&world.net1.relay, "ab".repeat(32)))
        .await;
    assert_eq!(code(&message), ErrorCode::BadArgument, "{message}");
    let message = world
        .net1
        .refused(call(&world.net1.relay, "AB".repeat(32)))
        .await;
    assert_eq!(code(&message), ErrorCode::BadArgument, "{message}");
    let message = world.net1.refused(call(&world.doctor, hash)).await;
    assert_eq!(code(&message), ErrorCode::AccessDenied, "{message}");
}

#[tokio::test]
async fn right_peers_for_another_request_are_refused() {
    let world = World::new().await;
    let first = submitted(&world, 1).await;
    let second = submitted_later(&world, 2).await;
    let proof_of_first = world.prove(&first).await;
    let message = refused(&world, &second, &proof_of_first, ErrorCode::BadProof).await;
    assert!(message.contains("arguments"), "{message}");
}

#[tokio::test]
async fn unknown_expired_premature_and_foreign_challenges_are_refused() {
    let world = World::new().await;
    let signed = submitted(&world, 1).await;
    // Never issued.
    let proof = world.prove_for(&signed, &"ef".repeat(32)).await;
    refused(&world, &signed, &proof, ErrorCode::BadChallenge).await;

    // Issued, then used too late or before its own transaction time.
    let nonce = world.challenge().await;
    let challenge_key = ehrx_chaincode::ehr::state::key::challenge(&nonce).unwrap();
    let issued: Value =
        serde_json::from_slice(&world.net2.ledger.state_of(&challenge_key).unwrap()).unwrap();
    let issued_at_ms = issued["issued_at_ms"].as_i64().unwrap();
    let proof = world.prove_for(&signed, &nonce).await;
    let envelope = world.forward_request(&signed);
    for at_ms in [
        issued_at_ms + CHALLENGE_MAX_AGE_MS + 1000,
        issued_at_ms - 1000,
    ] {
        let invocation =
            Invocation::new([b"AcceptRequest".to_vec(), envelope.clone(), proof.clone()])
                .creator(world.net2.relay.creator.clone())
                .timestamp(Timestamp {
                    seconds: at_ms / 1000,
                    nanos: 0,
                });
        let message = world.net2.refused(invocation).await;
        assert_eq!(code(&message), ErrorCode::BadChallenge, "{message}");
        assert!(message.contains("usable until"), "{message}");
    }
    // Within its age it still serves: the refusals used nothing up.
    let invocation = Invocation::new([b"AcceptRequest".to_vec(), envelope, proof])
        .creator(world.net2.relay.creator.clone())
        .timestamp(Timestamp {
            seconds: (issued_at_ms + CHALLENGE_MAX_AGE_MS) / 1000,
            nanos: 0,
        });
    let out = world.net2.invoke(invocation).await;
    assert_eq!(out.response.status, 200, "{}", out.response.message);

    // Issued for another network.
    let world = World::new().await;
    let signed = submitted(&world, 1).await;
    let net3 = Network::new("net3", 3);
    world.net2.trust(&net3).await;
    world.net2.trust_peers(&net3).await;
    let out = world
        .net2
        .ok(&world.net2.relay, &[b"IssueChallenge", b"net3"])
        .await;
    let proof = world
        .prove_for(&signed, out["nonce"].as_str().unwrap())
        .await;
    let message = refused(&world, &signed, &proof, ErrorCode::BadChallenge).await;
    assert!(message.contains("issued for network"), "{message}");
}

#[tokio::test]
async fn one_org_where_the_policy_wants_both_is_refused() {
    let world = World::new().await;
    let org2_ca = Ca::new("CN=ca.org2.net1.example.com,O=org2.net1,C=US", 40);
    let org2_peer = Person::issue(
        &org2_ca,
        "Net1Org2MSP",
        "CN=peer0.org2.net1,OU=peer,O=org2.net1",
        41,
    );
    let mut trust = world.net2.trust_json(&world.net1);
    trust["organizations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"msp_id": "Net1Org2MSP", "root_certificates": [org2_ca.issued.cert_pem]}));
    world
        .net2
        .ok(
            &world.net2.admin,
            &[b"PutNetworkTrust", trust.to_string().as_bytes()],
        )
        .await;
    let signed = submitted(&world, 1).await;
    let only_org1 = world.prove(&signed).await;
    let message = refused(&world, &signed, &only_org1, ErrorCode::BadProof).await;
    assert!(message.contains("the policy needs 2"), "{message}");

    // Two peers of org1 still count once.
    let second_peer = Person::issue(
        &world.net1.ca,
        "Net1Org1MSP",
        "CN=peer1.org1.net1,OU=peer,O=org1.net1",
        42,
    );
    let nonce = world.challenge().await;
    let result = statement(&signed, &nonce).to_string();
    let proof = endorsed(
        &world,
        &signed,
        &nonce,
        result.as_bytes(),
        &[&world.net1.peer, &second_peer],
    );
    refused(&world, &signed, &proof, ErrorCode::BadProof).await;

    // Both organisations: accepted.
    let proof = endorsed(
        &world,
        &signed,
        &nonce,
        result.as_bytes(),
        &[&world.net1.peer, &org2_peer],
    );
    let envelope = world.forward_request(&signed);
    let out = world
        .net2
        .ok(&world.net2.relay, &[b"AcceptRequest", &envelope, &proof])
        .await;
    assert_eq!(out["outcome"], "accepted", "{out}");
}

#[tokio::test]
async fn a_peer_of_an_unregistered_ca_is_refused() {
    let world = World::new().await;
    let signed = submitted(&world, 1).await;
    let rogue_ca = Ca::new("CN=ca.org1.net1.example.com,O=org1.net1,C=US", 50);
    let rogue_peer = Person::issue(
        &rogue_ca,
        "Net1Org1MSP",
        "CN=peer0.org1.net1,OU=peer,O=org1.net1",
        51,
    );
    let nonce = world.challenge().await;
    let result = statement(&signed, &nonce).to_string();
    let proof = endorsed(&world, &signed, &nonce, result.as_bytes(), &[&rogue_peer]);
    let message = refused(&world, &signed, &proof, ErrorCode::BadProof).await;
    assert!(
        message.contains("not issued by a CA root registered"),
        "{message}"
    );
}

#[tokio::test]
async fn bit_flipped_or_truncated_proofs_are_refused() {
    let world = World::new().await;
    let signed = submitted(&world, 1).await;
    let genuine = world.prove(&signed).await;
    let mut proof = ValidationProof::decode(genuine.as_slice()).unwrap();
    let middle = proof.proposal_response_payload.len() / 2;
    proof.proposal_response_payload[middle] ^= 0x04;
    refused(&world, &signed, &proof.encode_to_vec(), ErrorCode::BadProof).await;
    for cut in [1, genuine.len() / 3, genuine.len() - 1] {
        let message = world
            .net2
            .err(
                &world.net2.relay,
                &[
                    b"AcceptRequest",
                    &world.forward_request(&signed),
                    &genuine[..cut],
                ],
            )
            .await;
        let code = code(&message);
        assert!(
            matches!(code, ErrorCode::BadProof | ErrorCode::BadChallenge),
            "{message}"
        );
    }
    // The genuine proof still works: nothing above consumed its challenge.
    let envelope = world.forward_request(&signed);
    let out = world
        .net2
        .ok(&world.net2.relay, &[b"AcceptRequest", &envelope, &genuine])
        .await;
    assert_eq!(out["outcome"], "accepted", "{out}");
}

#[tokio::test]
async fn an_endorsed_result_that_is_not_exactly_a_validated_statement_is_refused() {
    let world = World::new().await;
    let signed = submitted(&world, 1).await;
    let nonce = world.challenge().await;
    let genuine = statement(&signed, &nonce).to_string();
    let body = &genuine[1..genuine.len() - 1];
    let mut not_validated = statement(&signed, &nonce);
    not_validated["validated"] = json!(false);
    let mut other_network = statement(&signed, &nonce);
    other_network["network_id"] = json!("net3");
    for result in [
        format!("[{genuine}]"),
        format!("{{{body},\"validated\":true}}"),
        format!("{{{body},\"extra\":1}}"),
        not_validated.to_string(),
        other_network.to_string(),
    ] {
        let proof = endorsed(
            &world,
            &signed,
            &nonce,
            result.as_bytes(),
            &[&world.net1.peer],
        );
        let message = refused(&world, &signed, &proof, ErrorCode::BadProof).await;
        assert!(message.contains("endorsed result"), "{result}: {message}");
    }
}

#[tokio::test]
async fn a_requester_of_an_unregistered_ca_is_stored_as_rejected() {
    let world = World::new().await;
    let rogue_ca = Ca::new("CN=ca.org1.net1.example.com,O=org1.net1,C=US", 60);
    let impostor = Person::issue(
        &rogue_ca,
        "Net1Org1MSP",
        "CN=doctor@org1.net1,OU=client,O=org1.net1",
        61,
    );
    let signed = world.sign_request(&world.request(1), &impostor);
    let proof = world.vouched(&signed).await;
    let envelope = world.forward_request(&signed);
    let out = world
        .net2
        .ok(&world.net2.relay, &[b"AcceptRequest", &envelope, &proof])
        .await;
    assert_eq!(out["outcome"], "rejected", "{out}");
    assert!(
        out["reason"]
            .as_str()
            .unwrap()
            .contains("not issued by a CA root registered"),
        "{out}"
    );
}

#[tokio::test]
async fn network_trust_input_is_strict() {
    let world = World::new().await;
    let net = &world.net2;
    let valid = net.trust_json(&world.net1);
    let text = valid.to_string();
    let body = &text[1..text.len() - 1];
    let with = |field: &str, value: Value| {
        let mut changed = valid.clone();
        changed[field] = value;
        changed.to_string()
    };
    let root = world.net1.ca.issued.cert_pem.clone();
    let cases: Vec<(String, ErrorCode)> = vec![
        (format!("[{text}]"), ErrorCode::NotAnObject),
        (
            format!("{{{body},\"policy\":\"all\"}}"),
            ErrorCode::DuplicateKey,
        ),
        (format!("{{{body},\"extra\":1}}"), ErrorCode::UnknownField),
        (with("network_id", json!("net9")), ErrorCode::NotFound),
        (with("network_id", json!("net 1")), ErrorCode::BadArgument),
        (
            with("policy", json!({"at_least": 0})),
            ErrorCode::BadArgument,
        ),
        (
            with("policy", json!({"at_least": 2})),
            ErrorCode::BadArgument,
        ),
        (with("policy", json!("some")), ErrorCode::BadArgument),
        (with("organizations", json!([])), ErrorCode::BadArgument),
        (
            with(
                "organizations",
                json!([{"msp_id": "Net1Org1MSP", "root_certificates": [root]},
                       {"msp_id": "Net1Org1MSP", "root_certificates": [root]}]),
            ),
            ErrorCode::BadArgument,
        ),
        (
            with(
                "organizations",
                json!([{"msp_id": "Net1Org1MSP", "root_certificates": []}]),
            ),
            ErrorCode::BadArgument,
        ),
        (
            with(
                "organizations",
                json!([{"msp_id": "Net1Org1MSP", "root_certificates": ["not a certificate"]}]),
            ),
            ErrorCode::BadArgument,
        ),
        (
            with(
                "organizations",
                json!([{"msp_id": "Net1Org1MSP", "root_certificates": [world.doctor.cert_pem.clone() + &root]}]),
            ),
            ErrorCode::BadArgument,
        ),
    ];
    for (argument, expected) in cases {
        let message = net
            .err(&net.admin, &[b"PutNetworkTrust", argument.as_bytes()])
            .await;
        assert_eq!(code(&message), expected, "{argument}: {message}");
    }
    let message = net
        .err(&world.net2.relay, &[b"PutNetworkTrust", text.as_bytes()])
        .await;
    assert_eq!(code(&message), ErrorCode::AccessDenied, "{message}");
}

#[tokio::test]
async fn challenges_are_for_relays_and_trusted_networks_only() {
    let world = World::new().await;
    let message = world
        .net2
        .err(&world.responder, &[b"IssueChallenge", NET1.as_bytes()])
        .await;
    assert_eq!(code(&message), ErrorCode::AccessDenied, "{message}");
    let net3 = Network::new("net3", 3);
    world.net2.trust(&net3).await;
    let message = world
        .net2
        .err(&world.net2.relay, &[b"IssueChallenge", b"net3"])
        .await;
    assert_eq!(code(&message), ErrorCode::NotFound, "{message}");
    // Removing a network from the lookup table forgets its trust.
    world
        .net2
        .ok(
            &world.net2.admin,
            &[b"RemoveRemoteNetwork", NET1.as_bytes()],
        )
        .await;
    world.net2.trust(&world.net1).await;
    let message = world
        .net2
        .err(&world.net2.relay, &[b"IssueChallenge", NET1.as_bytes()])
        .await;
    assert_eq!(code(&message), ErrorCode::NotFound, "{message}");
    assert!(message.contains("trust anchors"), "{message}");
}

// ---- Replies (Algorithm 3) ----

#[tokio::test]
async fn a_reply_never_stored_on_the_replying_network_gets_no_proof_and_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    // Signed by a registered responder, but never submitted on net2.
    let signed = world.sign_reply(&world.reply_ok(&request), &world.responder);
    let (request_id, hash) = reply_facts(&signed);
    let nonce = "ab".repeat(32);
    let message = world
        .net2
        .err(
            &world.net2.relay,
            &[
                b"ProveReply",
                request_id.as_bytes(),
                hash.as_bytes(),
                nonce.as_bytes(),
            ],
        )
        .await;
    assert_eq!(code(&message), ErrorCode::NotFound, "{message}");

    let envelope = world.forward_reply(&signed);
    let before = snapshot(&world.net1.ledger);
    for proof in [
        Vec::new(),
        // net2's relay "endorsing" with its own client identity.
        world.net2.endorse(
            &[
                b"ProveReply",
                request_id.as_bytes(),
                hash.as_bytes(),
                nonce.as_bytes(),
            ],
            200,
            b"{}",
            &[&world.net2.relay],
        ),
    ] {
        let message = world
            .net1
            .err(&world.net1.relay, &[b"AcceptReply", &envelope, &proof])
            .await;
        assert!(
            matches!(
                code(&message),
                ErrorCode::BadProof | ErrorCode::BadChallenge
            ),
            "{message}"
        );
    }
    // A proof that net2 validated the request is no proof of a reply.
    let request_proof = world
        .prove(&world.sign_request(&request, &world.doctor))
        .await;
    let message = world
        .net1
        .err(
            &world.net1.relay,
            &[b"AcceptReply", &envelope, &request_proof],
        )
        .await;
    assert!(
        matches!(
            code(&message),
            ErrorCode::BadProof | ErrorCode::BadChallenge
        ),
        "{message}"
    );
    assert_eq!(before, snapshot(&world.net1.ledger));
}

#[tokio::test]
async fn a_reply_signed_by_a_responder_of_an_unregistered_ca_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let rogue_ca = Ca::new("CN=ca.org1.net2.example.com,O=org1.net2,C=US", 70);
    let impostor = Person::issue(
        &rogue_ca,
        "Net2Org1MSP",
        "CN=responder@org1.net2,OU=client,O=org1.net2",
        71,
    );
    let signed = world.sign_reply(&world.reply_ok(&request), &impostor);
    let proof = world.vouched_reply(&signed).await;
    let envelope = world.forward_reply(&signed);
    let message = world
        .net1
        .err(&world.net1.relay, &[b"AcceptReply", &envelope, &proof])
        .await;
    assert_eq!(code(&message), ErrorCode::BadSignature, "{message}");
    assert!(message.contains("responder's certificate"), "{message}");
}
