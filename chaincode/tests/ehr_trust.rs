#![cfg(test)]
//! Proofs of validation: `PutNetworkTrust`, `IssueChallenge`,
//! `ProveRequest`, and the proof `AcceptRequest` demands, one refusal per
//! test or per labelled case, each checking its code and that nothing was
//! written.

use ehrx_chaincode::proto::exchange::ValidationProof;
use ehrx_chaincode_testing::*;
use ehrx_interface::{
    ErrorCode, limits::CHALLENGE_MAX_AGE_MS, names::Forwarded, types::OutcomeKind,
};
use prost::Message;
use prost_types::Timestamp;
use serde_json::{Value, json};

/// Request `n`, submitted (validated) on net1: its signed bytes.
async fn submitted(world: &World, n: u64) -> Vec<u8> {
    world.submit(&world.request(n)).await
}

/// The world with request 1 submitted (validated) on net1: the world and
/// the request's signed bytes.
async fn world_with_request() -> (World, Vec<u8>) {
    let world = World::new().await;
    let signed = submitted(&world, 1).await;
    (world, signed)
}

/// Request `n` submitted on net1 a window after the previous one.
async fn submitted_later(world: &World, n: u64) -> Vec<u8> {
    let signed = world.sign_request(&world.request(n), &world.doctor);
    let invocation = invocation([b"SubmitRequest".to_vec(), signed.clone()])
        .creator(world.doctor.creator.clone())
        .timestamp(at_ms(1000 * (EPOCH + 3600 * i64::try_from(n).unwrap())));
    succeeded("SubmitRequest", &world.net1.invoke(invocation).await);
    signed
}

fn at_ms(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms / 1000,
        nanos: 0,
    }
}

/// AcceptRequest of `signed` with `proof`, expected to be refused with
/// `expected`, writing nothing; returns the message.
async fn refused(world: &World, signed: &[u8], proof: &[u8], expected: ErrorCode) -> String {
    let envelope = world.forward_request(signed);
    let message = world
        .delivery_refused(Forwarded::Request, &envelope, proof)
        .await;
    assert_eq!(code(&message), expected, "{message}");
    message
}

/// The statement net1's contract makes of `signed` for `nonce`, endorsed
/// by `endorsers` (whether or not they may prove it).
fn statement_endorsed_by(
    world: &World,
    signed: &[u8],
    nonce: &str,
    endorsers: &[&Person],
) -> Vec<u8> {
    let statement = world.request_statement(signed, nonce).to_string();
    world.endorsed_request(signed, nonce, statement.as_bytes(), endorsers)
}

/// `valid` as JSON text with `field` set to `value`.
fn with_field(valid: &Value, field: &str, value: Value) -> String {
    let mut changed = valid.clone();
    changed[field] = value;
    changed.to_string()
}

/// ProveRequest's arguments for `signed` and `nonce`.
fn prove_args(signed: &[u8], nonce: &str) -> Vec<Vec<u8>> {
    let (request_id, hash) = facts(Forwarded::Request, signed);
    [
        b"ProveRequest".as_slice(),
        request_id.as_bytes(),
        hash.as_bytes(),
        nonce.as_bytes(),
    ]
    .map(<[u8]>::to_vec)
    .to_vec()
}

#[tokio::test]
async fn a_request_validated_on_the_source_is_accepted_with_its_peers_proof_and_the_challenge_is_used_up()
 {
    let (world, signed) = world_with_request().await;
    let nonce = world.challenge().await;
    let proof = world.prove_for(&signed, &nonce).await;
    world.assert_accepted_with(&signed, &proof).await;
    // The same proof for another request validated on net1: the challenge
    // is gone.
    let other = submitted_later(&world, 2).await;
    let replayed = world.prove_for(&other, &nonce).await;
    let message = refused(&world, &other, &replayed, ErrorCode::BadChallenge).await;
    assert_mentions(&message, "already used");
}

#[tokio::test]
async fn a_request_never_submitted_on_the_source_gets_no_proof_from_its_peers() {
    let world = World::new().await;
    let signed = world.sign_request(&world.request(1), &world.doctor);
    let nonce = world.challenge().await;
    let args = prove_args(&signed, &nonce);
    let invocation = invocation(args).creator(world.net1.relay.creator.clone());
    let message = world.net1.refused(invocation).await;
    assert_eq!(code(&message), ErrorCode::NotFound, "{message}");
    // Nor does a thief of net1's relay get one by signing the statement
    // with the relay's own (client) identity.
    let forged = statement_endorsed_by(&world, &signed, &nonce, &[&world.net1.relay]);
    let message = refused(&world, &signed, &forged, ErrorCode::BadProof).await;
    assert_mentions(&message, "non-peer");
    // And no proof at all is no proof.
    refused(&world, &signed, b"", ErrorCode::BadProof).await;
}

#[tokio::test]
async fn prove_request_names_only_what_was_validated_and_only_for_a_relay() {
    let (world, signed) = world_with_request().await;
    let nonce = "cd".repeat(32);
    let call = |who: &Person, hash: Option<String>| {
        let mut args = prove_args(&signed, &nonce);
        if let Some(hash) = hash {
            args[2] = hash.into_bytes();
        }
        invocation(args).creator(who.creator.clone())
    };
    let out = world.net1.invoke(call(&world.net1.relay, None)).await;
    assert_eq!(
        succeeded("ProveRequest", &out),
        world.request_statement(&signed, &nonce)
    );
    for (who, hash, expected) in [
        (
            &world.net1.relay,
            Some("ab".repeat(32)),
            ErrorCode::BadArgument,
        ),
        (
            &world.net1.relay,
            Some("AB".repeat(32)),
            ErrorCode::BadArgument,
        ),
        (&world.doctor, None, ErrorCode::AccessDenied),
    ] {
        let message = world.net1.refused(call(who, hash)).await;
        assert_eq!(code(&message), expected, "{message}");
    }
}

#[tokio::test]
async fn right_peers_for_another_request_are_refused() {
    let world = World::new().await;
    let first = submitted(&world, 1).await;
    let second = submitted_later(&world, 2).await;
    let proof_of_first = world.prove(&first).await;
    let message = refused(&world, &second, &proof_of_first, ErrorCode::BadProof).await;
    assert_mentions(&message, "arguments");
}

#[tokio::test]
async fn unknown_expired_premature_and_foreign_challenges_are_refused() {
    let (world, signed) = world_with_request().await;
    // Never issued.
    let proof = world.prove_for(&signed, &"ef".repeat(32)).await;
    refused(&world, &signed, &proof, ErrorCode::BadChallenge).await;

    // Issued, then used too late or before its own transaction time.
    let nonce = world.challenge().await;
    let challenge_key = ehrx_chaincode::ehr::state::key::challenge(&nonce).unwrap();
    let issued: Value = parse(&world.net2.ledger.state_of(&challenge_key).unwrap());
    let issued_at_ms = issued["issued_at_ms"].as_i64().unwrap();
    let proof = world.prove_for(&signed, &nonce).await;
    let envelope = world.forward_request(&signed);
    let accept_at = |at: i64| {
        invocation([b"AcceptRequest".to_vec(), envelope.clone(), proof.clone()])
            .creator(world.net2.relay.creator.clone())
            .timestamp(at_ms(at))
    };
    for at in [
        issued_at_ms + CHALLENGE_MAX_AGE_MS + 1000,
        issued_at_ms - 1000,
    ] {
        let message = world.net2.refused(accept_at(at)).await;
        assert_refusal(&message, ErrorCode::BadChallenge, "usable until");
    }
    // Within its age it still serves: the refusals used nothing up.
    let out = world
        .net2
        .invoke(accept_at(issued_at_ms + CHALLENGE_MAX_AGE_MS))
        .await;
    succeeded("AcceptRequest", &out);

    // Issued for another network.
    let (world, signed) = world_with_request().await;
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
    assert_mentions(&message, "issued for network");
}

#[tokio::test]
async fn one_org_where_the_policy_wants_both_is_refused() {
    let world = World::new().await;
    let (org2_ca, org2_peer) = Person::of_another_ca(
        "CN=ca.org2.net1.example.com,O=org2.net1,C=US",
        "Net1Org2MSP",
        "CN=peer0.org2.net1,OU=peer,O=org2.net1",
        40,
    );
    let mut trust = world.net2.trust_json(&world.net1);
    trust["organizations"]
        .as_array_mut()
        .unwrap()
        .push(json!({"msp_id": "Net1Org2MSP", "root_certificates": [org2_ca.issued.cert_pem]}));
    world.net2.admin("PutNetworkTrust", &trust).await;
    let signed = submitted(&world, 1).await;
    let only_org1 = world.prove(&signed).await;
    let message = refused(&world, &signed, &only_org1, ErrorCode::BadProof).await;
    assert_mentions(&message, "the policy needs 2");

    // Two peers of org1 still count once.
    let second_peer = Person::issue(
        &world.net1.ca,
        "Net1Org1MSP",
        "CN=peer1.org1.net1,OU=peer,O=org1.net1",
        42,
    );
    let nonce = world.challenge().await;
    let proof = statement_endorsed_by(&world, &signed, &nonce, &[&world.net1.peer, &second_peer]);
    refused(&world, &signed, &proof, ErrorCode::BadProof).await;

    // Both organisations: accepted.
    let proof = statement_endorsed_by(&world, &signed, &nonce, &[&world.net1.peer, &org2_peer]);
    world.assert_accepted_with(&signed, &proof).await;
}

#[tokio::test]
async fn a_peer_of_an_unregistered_ca_is_refused() {
    let (world, signed) = world_with_request().await;
    let rogue_peer = world.net1.impostor("peer0.org1.net1", "peer", 50);
    let nonce = world.challenge().await;
    let proof = statement_endorsed_by(&world, &signed, &nonce, &[&rogue_peer]);
    let message = refused(&world, &signed, &proof, ErrorCode::BadProof).await;
    assert_mentions(&message, "not issued by a CA root registered");
}

#[tokio::test]
async fn bit_flipped_or_truncated_proofs_are_refused() {
    let (world, signed) = world_with_request().await;
    let genuine = world.prove(&signed).await;
    let mut proof = ValidationProof::decode(genuine.as_slice()).unwrap();
    let middle = proof.proposal_response_payload.len() / 2;
    proof.proposal_response_payload[middle] ^= 0x04;
    refused(&world, &signed, &proof.encode_to_vec(), ErrorCode::BadProof).await;
    let envelope = world.forward_request(&signed);
    for cut in [1, genuine.len() / 3, genuine.len() - 1] {
        let message = world
            .delivery_refused(Forwarded::Request, &envelope, &genuine[..cut])
            .await;
        let code = code(&message);
        assert!(
            matches!(code, ErrorCode::BadProof | ErrorCode::BadChallenge),
            "{message}"
        );
    }
    // The genuine proof still works: nothing above consumed its challenge.
    world.assert_accepted_with(&signed, &genuine).await;
}

#[tokio::test]
async fn an_endorsed_result_that_is_not_exactly_a_validated_statement_is_refused() {
    let (world, signed) = world_with_request().await;
    let nonce = world.challenge().await;
    let statement = world.request_statement(&signed, &nonce);
    let genuine = statement.to_string();
    let body = &genuine[1..genuine.len() - 1];
    let with = |field: &str, value: Value| with_field(&statement, field, value);
    for result in [
        format!("[{genuine}]"),
        format!("{{{body},\"validated\":true}}"),
        format!("{{{body},\"extra\":1}}"),
        with("validated", json!(false)),
        with("network_id", json!("net3")),
    ] {
        let proof = world.endorsed_request(&signed, &nonce, result.as_bytes(), &[&world.net1.peer]);
        let message = refused(&world, &signed, &proof, ErrorCode::BadProof).await;
        assert!(message.contains("endorsed result"), "{result}: {message}");
    }
}

#[tokio::test]
async fn a_requester_of_an_unregistered_ca_is_stored_as_rejected() {
    let world = World::new().await;
    let impostor = world.net1.impostor("doctor@org1.net1", "client", 60);
    let signed = world.sign_request(&world.request(1), &impostor);
    let proof = world.vouched(&signed).await;
    let out = world.accept_with(&signed, &proof).await;
    let rejected = assert_outcome(&out, OutcomeKind::Rejected);
    assert_mentions(
        &rejected.reason.unwrap(),
        "not issued by a CA root registered",
    );
}

#[tokio::test]
async fn network_trust_input_is_strict() {
    let world = World::new().await;
    let net = &world.net2;
    let valid = net.trust_json(&world.net1);
    let text = valid.to_string();
    let body = &text[1..text.len() - 1];
    let with = |field: &str, value: Value| with_field(&valid, field, value);
    let root = world.net1.ca.issued.cert_pem.clone();
    let organizations = |roots: Value| {
        with(
            "organizations",
            json!([{"msp_id": "Net1Org1MSP", "root_certificates": roots}]),
        )
    };
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
        (organizations(json!([])), ErrorCode::BadArgument),
        (
            organizations(json!(["not a certificate"])),
            ErrorCode::BadArgument,
        ),
        (
            organizations(json!([world.doctor.cert_pem.clone() + &root])),
            ErrorCode::BadArgument,
        ),
    ];
    for (argument, expected) in cases {
        let message = net.admin_refused("PutNetworkTrust", &argument).await;
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
    let net2 = &world.net2;
    // IssueChallenge by `who` for `network`, which must be refused.
    let refused_for = async |who: &Person, network: &str| {
        net2.err(who, &[b"IssueChallenge", network.as_bytes()])
            .await
    };
    let message = refused_for(&world.responder, NET1).await;
    assert_eq!(code(&message), ErrorCode::AccessDenied, "{message}");
    let net3 = Network::new("net3", 3);
    net2.trust(&net3).await;
    let message = refused_for(&net2.relay, "net3").await;
    assert_eq!(code(&message), ErrorCode::NotFound, "{message}");
    // Removing a network from the lookup table forgets its trust.
    net2.remove_remote(NET1).await;
    net2.trust(&world.net1).await;
    let message = refused_for(&net2.relay, NET1).await;
    assert_refusal(&message, ErrorCode::NotFound, "trust anchors");
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
    let args: [&[u8]; 4] = [
        b"ProveReply",
        request_id.as_bytes(),
        hash.as_bytes(),
        nonce.as_bytes(),
    ];
    let message = world.net2.err(&world.net2.relay, &args).await;
    assert_eq!(code(&message), ErrorCode::NotFound, "{message}");

    let envelope = world.forward_reply(&signed);
    let before = snapshot(&world.net1.ledger);
    // No proof; net2's relay "endorsing" with its own client identity; a
    // proof that net2 validated the request, which is no proof of a reply.
    let request_proof = world
        .prove(&world.sign_request(&request, &world.doctor))
        .await;
    for proof in [
        Vec::new(),
        world.net2.endorse(&args, 200, b"{}", &[&world.net2.relay]),
        request_proof,
    ] {
        let message = world
            .delivery_refused(Forwarded::Reply, &envelope, &proof)
            .await;
        assert!(
            matches!(
                code(&message),
                ErrorCode::BadProof | ErrorCode::BadChallenge
            ),
            "{message}"
        );
    }
    assert_eq!(before, snapshot(&world.net1.ledger));
}

#[tokio::test]
async fn a_reply_signed_by_a_responder_of_an_unregistered_ca_is_refused() {
    let world = World::new().await;
    let (request, _) = world.accepted_request(1).await;
    let impostor = world.net2.impostor("responder@org1.net2", "client", 70);
    let signed = world.sign_reply(&world.reply_ok(&request), &impostor);
    let proof = world.vouched_reply(&signed).await;
    let message = world
        .delivery_refused(Forwarded::Reply, &world.forward_reply(&signed), &proof)
        .await;
    assert_refusal(&message, ErrorCode::BadSignature, "responder's certificate");
}
