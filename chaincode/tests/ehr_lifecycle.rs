#![cfg(test)]
//! The lifecycle of trust material, in transaction time:
//! - rotating a remote network's trust entry: `PutNetworkTrust` with
//!   `previous_grace_seconds` keeps the replaced entry counting until a
//!   stated cut-over, so exchanges in flight complete; after it, proofs and
//!   signers only the replaced entry vouches for are refused with nothing
//!   written;
//! - challenges that expired unused: `PurgeChallenges` deletes them.

use ehrx_chaincode::{
    proto::exchange::{Request, SignedRequest},
    shim::testing::Invocation,
};
use ehrx_chaincode_testing::*;
use ehrx_interface::{
    ErrorCode,
    limits::{CHALLENGE_MAX_AGE_MS, MAX_TRUST_GRACE_SECONDS},
};
use prost::Message as _;
use prost_types::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const GRACE_SECONDS: i64 = 600;
/// An hour after [`EPOCH`], in ms: where each test's transactions start.
const START_MS: i64 = (EPOCH + 3600) * 1000;

fn at(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: 0,
    }
}

/// `args` on `net` by `who` at `at_ms`, expected to succeed: the JSON
/// result.
async fn ok_at(net: &Network, who: &Person, args: Vec<Vec<u8>>, at_ms: i64) -> Value {
    let function = String::from_utf8_lossy(&args[0]).into_owned();
    let invocation = invocation(args)
        .creator(who.creator.clone())
        .timestamp(at(at_ms));
    succeeded(&function, &net.invoke(invocation).await)
}

/// net1's org after its CA was rotated: the new root and a peer it issued.
struct Rotated {
    ca: Ca,
    peer: Person,
}

fn rotated() -> Rotated {
    let ca = Ca::new("CN=ca2.org1.net1.example.com,O=org1.net1,C=US", 70);
    let peer = Person::issue(
        &ca,
        "Net1Org1MSP",
        "CN=peer0.org1.net1,OU=peer,O=org1.net1",
        71,
    );
    Rotated { ca, peer }
}

/// net2's admin replaces net1's entry with the rotated root, giving the
/// replaced one `grace` seconds, at `at_ms`; returns the result.
async fn rotate(world: &World, new_root: &str, grace: i64, at_ms: i64) -> Value {
    let mut trust = world.net2.trust_json(&world.net1);
    trust["organizations"][0]["root_certificates"] = json!([new_root]);
    trust["previous_grace_seconds"] = json!(grace);
    put_trust_at(world, &trust, at_ms).await
}

async fn put_trust_at(world: &World, trust: &Value, at_ms: i64) -> Value {
    let args = vec![b"PutNetworkTrust".to_vec(), trust.to_string().into_bytes()];
    ok_at(&world.net2, &world.net2.admin, args, at_ms).await
}

/// Request `n`, submitted on net1 at `at_ms` (a minute apart keeps the
/// doctor within the rate limit): its signed bytes.
async fn submitted(world: &World, n: u64, at_ms: i64) -> Vec<u8> {
    let mut request = world.request(n);
    request.created_at = Some(at(at_ms));
    let signed = world.sign_request(&request, &world.doctor);
    let args = vec![b"SubmitRequest".to_vec(), signed.clone()];
    ok_at(&world.net1, &world.doctor, args, at_ms).await;
    signed
}

/// A challenge net2 issues for net1 at `at_ms`: its nonce.
async fn challenge_at(world: &World, at_ms: i64) -> String {
    let args = vec![b"IssueChallenge".to_vec(), NET1.as_bytes().to_vec()];
    let out = ok_at(&world.net2, &world.net2.relay, args, at_ms).await;
    out["nonce"].as_str().unwrap().to_owned()
}

/// net1's statement that it validated `signed` for `nonce` (what its
/// contract answers), endorsed by `endorser`.
async fn proof_by(world: &World, signed: &[u8], nonce: &str, endorser: &Person) -> Vec<u8> {
    let wrapper = SignedRequest::decode(signed).unwrap();
    let request = Request::decode(wrapper.request.as_slice()).unwrap();
    let hash = hex::encode(Sha256::digest(signed));
    let args: [&[u8]; 4] = [
        b"ProveRequest",
        request.request_id.as_bytes(),
        hash.as_bytes(),
        nonce.as_bytes(),
    ];
    let outcome = world.net1.call(&world.net1.relay, &args).await;
    assert_eq!(outcome.response.status, 200, "{}", outcome.response.message);
    world
        .net1
        .endorse(&args, 200, &outcome.response.payload, &[endorser])
}

/// AcceptRequest of `signed` with `proof` at `at_ms`.
fn accept(world: &World, signed: &[u8], proof: Vec<u8>, at_ms: i64) -> Invocation {
    invocation([
        b"AcceptRequest".to_vec(),
        world.forward_request(signed),
        proof,
    ])
    .creator(world.net2.relay.creator.clone())
    .timestamp(at(at_ms))
}

/// [`accept`], expected to be refused, writing nothing: the message.
async fn accept_refused(world: &World, signed: &[u8], proof: Vec<u8>, at_ms: i64) -> String {
    world
        .net2
        .refused(accept(world, signed, proof, at_ms))
        .await
}

/// [`accept`], expected to succeed: the JSON result.
async fn accepted(world: &World, signed: &[u8], proof: Vec<u8>, at_ms: i64) -> Value {
    succeeded(
        "AcceptRequest",
        &world.net2.invoke(accept(world, signed, proof, at_ms)).await,
    )
}

#[tokio::test]
async fn the_replaced_entry_counts_until_the_stated_cut_over_and_not_after() {
    let world = World::new().await;
    let new = rotated();
    // A request validated on net1 before the rotation, still in flight.
    let in_flight = submitted(&world, 1, START_MS).await;

    let rotation_ms = START_MS + 10_000;
    let out = rotate(&world, &new.ca.issued.cert_pem, GRACE_SECONDS, rotation_ms).await;
    let cut_over_ms = rotation_ms + GRACE_SECONDS * 1000;
    assert_eq!(out["outcome"], "ok", "{out}");
    assert_eq!(out["retiring"]["accepted_until_ms"], cut_over_ms, "{out}");
    assert_eq!(
        out["retiring"]["trust"]["organizations"][0]["root_certificates"][0],
        world.net1.ca.issued.cert_pem.as_str(),
        "{out}"
    );
    assert_eq!(out["trust"]["previous_grace_seconds"], GRACE_SECONDS);

    // Before the cut-over: the old peers' proof of the request in flight
    // is accepted, its requester (old CA) vouched for by the old entry.
    let nonce = challenge_at(&world, rotation_ms + 1000).await;
    let proof = proof_by(&world, &in_flight, &nonce, &world.net1.peer).await;
    let out = accepted(&world, &in_flight, proof, rotation_ms + 2000).await;
    assert_eq!(out["outcome"], "accepted", "{out}");

    // A peer of the new CA proves too, with the requester still under the
    // old one: the entries in force together vouch for both.
    let second = submitted(&world, 2, START_MS + 70_000).await;
    let nonce = challenge_at(&world, cut_over_ms - 2000).await;
    let proof = proof_by(&world, &second, &nonce, &new.peer).await;
    let out = accepted(&world, &second, proof, cut_over_ms).await;
    assert_eq!(out["outcome"], "accepted", "{out}");

    // After the cut-over: the old peers' proof is refused and nothing is
    // written, although the challenge is live.
    let third = submitted(&world, 3, START_MS + 130_000).await;
    let nonce = challenge_at(&world, cut_over_ms + 1000).await;
    let proof = proof_by(&world, &third, &nonce, &world.net1.peer).await;
    let message = accept_refused(&world, &third, proof, cut_over_ms + 1000).await;
    assert_eq!(code(&message), ErrorCode::BadProof, "{message}");
    assert!(
        message.contains("not issued by a CA root registered"),
        "{message}"
    );

    // The new peers' proof for the same challenge passes the proof check;
    // the requester's certificate (old CA) no longer counts, so the
    // request is stored as rejected, never as accepted.
    let proof = proof_by(&world, &third, &nonce, &new.peer).await;
    let out = accepted(&world, &third, proof, cut_over_ms + 2000).await;
    assert_eq!(out["outcome"], "rejected", "{out}");
}

#[tokio::test]
async fn without_grace_the_cut_over_is_immediate_and_ends_an_earlier_grace() {
    let world = World::new().await;
    let new = rotated();
    let signed = submitted(&world, 1, START_MS).await;

    // A rotation with grace, then another with none before it ran out.
    let out = rotate(
        &world,
        &new.ca.issued.cert_pem,
        GRACE_SECONDS,
        START_MS + 1000,
    )
    .await;
    assert!(out["retiring"].is_object(), "{out}");
    let mut trust = world.net2.trust_json(&world.net1);
    trust["organizations"][0]["root_certificates"] = json!([new.ca.issued.cert_pem]);
    trust["policy"] = json!({"at_least": 1});
    let out = put_trust_at(&world, &trust, START_MS + 2000).await;
    assert!(out.get("retiring").is_none(), "{out}");
    let retiring_key = ehrx_chaincode::ehr::state::key::retiring_trust(NET1).unwrap();
    assert_eq!(world.net2.ledger.state_of(&retiring_key), None);

    // Well within the first grace, the old peers no longer count.
    let nonce = challenge_at(&world, START_MS + 3000).await;
    let proof = proof_by(&world, &signed, &nonce, &world.net1.peer).await;
    let message = accept_refused(&world, &signed, proof, START_MS + 4000).await;
    assert_eq!(code(&message), ErrorCode::BadProof, "{message}");
}

#[tokio::test]
async fn the_grace_is_bounded_and_an_unchanged_entry_keeps_nothing_retiring() {
    let world = World::new().await;
    let mut trust = world.net2.trust_json(&world.net1);
    trust["previous_grace_seconds"] = json!(u64::from(MAX_TRUST_GRACE_SECONDS) + 1);
    let message = world
        .net2
        .admin_refused("PutNetworkTrust", trust.to_string())
        .await;
    assert_eq!(code(&message), ErrorCode::BadArgument, "{message}");
    assert!(message.contains("previous_grace_seconds"), "{message}");
    for bad in [json!(-1), json!("600"), json!(1.5), json!(u64::MAX)] {
        trust["previous_grace_seconds"] = bad;
        world
            .net2
            .admin_refused("PutNetworkTrust", trust.to_string())
            .await;
    }

    // Putting the same entry again with a grace retires nothing.
    trust["previous_grace_seconds"] = json!(MAX_TRUST_GRACE_SECONDS);
    let out = world.net2.admin("PutNetworkTrust", &trust).await;
    assert!(out.get("retiring").is_none(), "{out}");

    // A rotation, then the same new entry applied again (a setup file
    // re-run) without a grace: the replaced entry keeps its cut-over.
    let new = rotated();
    let first = rotate(
        &world,
        &new.ca.issued.cert_pem,
        GRACE_SECONDS,
        (EPOCH + 500) * 1000,
    )
    .await;
    let again = rotate(&world, &new.ca.issued.cert_pem, 0, (EPOCH + 501) * 1000).await;
    assert_eq!(again["retiring"], first["retiring"], "{again}");
    // The grace is part of the entry; a challenge's own age still bounds
    // every proof.
    assert!(CHALLENGE_MAX_AGE_MS < i64::from(MAX_TRUST_GRACE_SECONDS) * 1000);
}

#[tokio::test]
async fn leaving_the_lookup_table_drops_the_retiring_entry_too() {
    let world = World::new().await;
    let new = rotated();
    rotate(
        &world,
        &new.ca.issued.cert_pem,
        GRACE_SECONDS,
        (EPOCH + 100) * 1000,
    )
    .await;
    let retiring_key = ehrx_chaincode::ehr::state::key::retiring_trust(NET1).unwrap();
    assert!(world.net2.ledger.state_of(&retiring_key).is_some());
    world.net2.remove_remote(NET1).await;
    assert_eq!(world.net2.ledger.state_of(&retiring_key), None);
}

#[tokio::test]
async fn expired_challenges_are_purged_by_a_relay_and_then_refused() {
    let world = World::new().await;
    let signed = submitted(&world, 1, START_MS).await;
    let old = [
        challenge_at(&world, START_MS).await,
        challenge_at(&world, START_MS + 1000).await,
    ];
    let live = challenge_at(&world, START_MS + 100_000).await;
    let purge_ms = START_MS + 2000 + CHALLENGE_MAX_AGE_MS;

    // Only a relay purges.
    let message = world
        .net2
        .refused(
            invocation([b"PurgeChallenges".to_vec()])
                .creator(world.net2.admin.creator.clone())
                .timestamp(at(purge_ms)),
        )
        .await;
    assert_eq!(code(&message), ErrorCode::AccessDenied, "{message}");

    let purge = || {
        ok_at(
            &world.net2,
            &world.net2.relay,
            vec![b"PurgeChallenges".to_vec()],
            purge_ms,
        )
    };
    assert_eq!(purge().await, json!({"purged": 2, "left": 1}));
    assert_eq!(purge().await, json!({"purged": 0, "left": 1}));
    for nonce in &old {
        let key = ehrx_chaincode::ehr::state::key::challenge(nonce).unwrap();
        assert_eq!(world.net2.ledger.state_of(&key), None);
    }
    // A proof for a purged challenge is refused; the live one still serves.
    let proof = proof_by(&world, &signed, &old[1], &world.net1.peer).await;
    let message = accept_refused(&world, &signed, proof, purge_ms).await;
    assert_eq!(code(&message), ErrorCode::BadChallenge, "{message}");
    let proof = proof_by(&world, &signed, &live, &world.net1.peer).await;
    let out = accepted(&world, &signed, proof, purge_ms).await;
    assert_eq!(out["outcome"], "accepted", "{out}");
}
