#![cfg(test)]
//! `IssueChallenges`: a relay keeping challenges ready gets several in one
//! transaction. Each nonce serves one proof, exactly like one issued by
//! `IssueChallenge`; a bad count or caller writes nothing.

use ehrx_chaincode_testing::*;
use ehrx_interface::{
    ErrorCode,
    limits::{CHALLENGE_MAX_AGE_MS, DEFAULT_RATE_LIMIT_WINDOW_SECONDS, MAX_CHALLENGES_PER_CALL},
    names::{Forwarded, function},
    types::ChallengeBatch,
};

/// The world, with net1's doctor allowed many requests a window.
async fn world() -> World {
    let world = World::new().await;
    world
        .net1
        .configure_rate(100, DEFAULT_RATE_LIMIT_WINDOW_SECONDS)
        .await;
    world
}

/// net2 issues `count` challenges for net1 in one transaction.
async fn batch(world: &World, count: &str) -> ChallengeBatch {
    let net2 = &world.net2;
    let out = net2
        .ok(
            &net2.relay,
            &[
                function::ISSUE_CHALLENGES.as_bytes(),
                NET1.as_bytes(),
                count.as_bytes(),
            ],
        )
        .await;
    serde_json::from_value(out).unwrap()
}

#[tokio::test]
async fn every_nonce_of_a_batch_serves_one_proof_once() {
    let world = world().await;
    let issued = batch(&world, "3").await;
    assert_eq!(issued.nonces.len(), 3);
    assert_eq!(issued.network_id, NET1);
    assert_eq!(
        issued.expires_at_ms - issued.issued_at_ms,
        CHALLENGE_MAX_AGE_MS
    );
    let mut requests = Vec::new();
    for (n, nonce) in (1..).zip(&issued.nonces) {
        let signed = world.submit(&world.request(n)).await;
        let proof = world.prove_for(&signed, &nonce.to_hex()).await;
        world.assert_accepted_with(&signed, &proof).await;
        requests.push(signed);
    }
    // Each nonce is used up: a proof for another request with the first
    // one is refused, and nothing is written.
    let other = world.submit(&world.request(9)).await;
    let replayed = world.prove_for(&other, &issued.nonces[0].to_hex()).await;
    let envelope = world.forward_request(&other);
    let message = world
        .delivery_refused(Forwarded::Request, &envelope, &replayed)
        .await;
    assert_refusal(&message, ErrorCode::BadChallenge, "already used");
}

#[tokio::test]
async fn two_batches_never_share_a_nonce_and_the_largest_is_the_limit() {
    let world = World::new().await;
    let first = batch(&world, &MAX_CHALLENGES_PER_CALL.to_string()).await;
    let second = batch(&world, "16").await;
    let single = world.challenge().await;
    let mut all: Vec<String> = first
        .nonces
        .iter()
        .chain(&second.nonces)
        .map(|nonce| nonce.to_hex())
        .collect();
    all.push(single);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 33);
}

#[tokio::test]
async fn a_bad_count_or_caller_is_refused_with_nothing_written() {
    let world = World::new().await;
    let net2 = &world.net2;
    let huge = "1".repeat(1 << 20);
    let bad_counts: [&[u8]; 8] = [
        b"0",
        b"17",
        b"-1",
        b"[2]",
        b"2\0",
        huge.as_bytes(),
        b"\xff",
        b"",
    ];
    let mut cases: Vec<(&Person, Vec<&[u8]>, ErrorCode)> = bad_counts
        .into_iter()
        .map(|count| {
            (
                &net2.relay,
                vec![NET1.as_bytes(), count],
                ErrorCode::BadArgument,
            )
        })
        .collect();
    cases.extend([
        // No count at all.
        (&net2.relay, vec![NET1.as_bytes()], ErrorCode::BadArgument),
        (
            &world.responder,
            vec![NET1.as_bytes(), b"2"],
            ErrorCode::AccessDenied,
        ),
        (&net2.relay, vec![b"net3", b"2"], ErrorCode::NotFound),
    ]);
    for (who, args, expected) in cases {
        let case = format!(
            "{:?}",
            args.iter().map(|a| a.len().min(8)).collect::<Vec<_>>()
        );
        let before = snapshot(&net2.ledger);
        let mut call: Vec<&[u8]> = vec![function::ISSUE_CHALLENGES.as_bytes()];
        call.extend(args);
        let message = net2.err(who, &call).await;
        assert_eq!(code(&message), expected, "{case}: {message}");
        assert!(message.len() < 1024, "{case}: {} bytes", message.len());
        assert_eq!(
            before,
            snapshot(&net2.ledger),
            "{case}: something was written"
        );
    }
}
