//! The trust-across-networks rows (issue 12). What crosses from one network
//! to another is taken only with a proof endorsed by the sending network's
//! peers, for a fresh challenge of the receiving network, checked against
//! the CA roots and policy of the receiver's lookup table. Each row makes a
//! proof (or none) wrong in one precise way, delivers it, and checks the
//! contract's error code and that nothing was written: no request or reply
//! stored, the receiver's chain height unchanged. Where a refusal must not
//! use the challenge up, a row then shows the right proof for the same
//! challenge is taken.
//!
//! Two rows go through a relay's door with a thief's stolen files; the
//! others submit as the receiving network's relay identity, for precise
//! control. Requests go from `setup.net1` to `setup.net2` and replies
//! back ([`Route`]): the rows name no network otherwise.

use anyhow::Context as _;
use prost::Message as _;

use ehrx_client::ehr::interface::{
    self, ContractFailure, ErrorCode, Forwarded, Outcome, OutcomeKind, RequestStatus, TrustChange,
    contract_failure, function,
};
use ehrx_client::fabric::{self, Committed, NetworkDescription, config::Organization};
use ehrx_lab::exchange::{network_signing_key, network_trust, org, wait_for_peers};
use ehrx_lab::forge::{
    attested, audit_kinds, fresh_request_id, height, level, sha256_hex, signed_reply,
    signed_request, stored_entry, user_keys,
};
use ehrx_lab::thief::{Ca, StolenRelay, minted_proof, thief_ca};
use ehrx_lab::thief_messages::{forged_reply, forged_request};
use ehrx_proto::exchange::{Purpose, ReplyStatus, ValidationProof, forwarded_envelope::Payload};
use ehrx_services::relay::Submitter as _;

use super::scenarios::{Evidence, Lab, brief};

/// Which way a forwarded message goes: `from`'s peers prove it, `to`'s
/// contract checks the proof.
#[derive(Debug, Clone, Copy)]
struct Route<'a> {
    from: &'a NetworkDescription,
    to: &'a NetworkDescription,
}

impl<'a> Route<'a> {
    /// The doctor's requests: network I to II.
    fn requests(lab: &Lab<'a>) -> Self {
        Self {
            from: lab.setup.net1,
            to: lab.setup.net2,
        }
    }

    /// Their replies: network II to I.
    fn replies(lab: &Lab<'a>) -> Self {
        Self {
            from: lab.setup.net2,
            to: lab.setup.net1,
        }
    }

    /// The way `kind` goes.
    fn of(kind: Forwarded, lab: &Lab<'a>) -> Self {
        match kind {
            Forwarded::Request => Self::requests(lab),
            Forwarded::Reply => Self::replies(lab),
        }
    }
}

/// The contract's refusal, short: `[CODE] reason` with the reason cut.
fn short(failure: &ContractFailure) -> String {
    const KEEP: usize = 160;
    let message = if failure.message.chars().count() > KEEP {
        format!(
            "{}…",
            failure.message.chars().take(KEEP).collect::<String>()
        )
    } else {
        failure.message.clone()
    };
    format!("[{}] {message}", failure.code)
}

/// Checks that a gateway call was refused by the contract with `code`.
fn refused_with<T>(
    evidence: &mut Evidence,
    label: impl std::fmt::Display,
    result: &Result<T, fabric::Error>,
    code: ErrorCode,
) {
    let (holds, seen) = match result {
        Ok(_) => (false, "accepted".to_owned()),
        Err(error) => match contract_failure(error) {
            Some(failure) => (failure.code == code, format!("refused {}", short(&failure))),
            None => (false, format!("failed ({})", brief(error))),
        },
    };
    evidence.check(holds, format!("{label}: {seen}"));
}

/// Checks that a delivery through a relay was refused by the receiving
/// contract with `code`.
fn relay_refused_with(
    evidence: &mut Evidence,
    label: impl std::fmt::Display,
    failure: anyhow::Result<ContractFailure>,
    code: ErrorCode,
) {
    match failure {
        Ok(failure) => evidence.check(
            failure.code == code,
            format!("{label}: refused {}", short(&failure)),
        ),
        Err(error) => evidence.check(false, format!("{label}: {}", brief(&format!("{error:#}")))),
    }
}

/// " A" for a request named `A`; nothing for an unnamed one.
fn named(what: &str) -> String {
    if what.is_empty() {
        String::new()
    } else {
        format!(" {what}")
    }
}

/// Checks that a refused delivery of `kind` for request `id` (named
/// `what`) wrote nothing on `net`: for a request, none is stored; for a
/// reply, the request is still open on `net`, its source (validated, no
/// reply stored).
async fn nothing_written(
    lab: &Lab<'_>,
    evidence: &mut Evidence,
    kind: Forwarded,
    net: &NetworkDescription,
    id: &str,
    what: &str,
) -> anyhow::Result<()> {
    let stored = stored_entry(&lab.admin(&net.name).await?, id).await?;
    match kind {
        Forwarded::Request => {
            evidence.check(
                stored.is_none(),
                match &stored {
                    None => format!("no request{} stored on {}", named(what), net.name),
                    Some(entry) => format!(
                        "request{} stored on {} as {:?}",
                        named(what),
                        net.name,
                        entry.status
                    ),
                },
            );
        }
        Forwarded::Reply => {
            let entry =
                stored.with_context(|| format!("request{} is not on {}", named(what), net.name))?;
            evidence.check(
                entry.status == RequestStatus::Validated && entry.reply.is_none(),
                format!(
                    "request{} still {:?} on {}, {}",
                    named(what),
                    entry.status,
                    net.name,
                    if entry.reply.is_none() {
                        "no reply stored"
                    } else {
                        "A REPLY STORED"
                    }
                ),
            );
        }
    }
    Ok(())
}

/// Checks that `net`'s chain is still `before` blocks high.
fn unchanged(evidence: &mut Evidence, net: &NetworkDescription, before: u64) -> anyhow::Result<()> {
    let after = height(net)?;
    evidence.check(
        after == before,
        format!("chain height of {} {before} → {after}", net.name),
    );
    Ok(())
}

/// A request of the doctor (org1's `User2` of `route.from`) for the first
/// patient, submitted on `route.from`, validated, and committed on every
/// peer there: its id and signed bytes.
async fn validated_request(lab: &Lab<'_>, route: Route<'_>) -> anyhow::Result<(String, Vec<u8>)> {
    let id = fresh_request_id();
    let signed = signed_request(
        (&route.from.name, &route.to.name),
        &id,
        &lab.history(0)?.patient_ref,
        lab.setup.requester_key.public_key(),
        Purpose::Treatment,
        &user_keys(org(route.from, "org1")?, "User2")?,
    )?;
    let doctor = lab.setup.contract_as(&route.from.name, "User2").await?;
    let submitted = interface::submit(&doctor, function::SUBMIT_REQUEST, [&signed])
        .await
        .with_context(|| format!("SubmitRequest on {}", route.from.name))?;
    let outcome: Outcome = serde_json::from_slice(&submitted.result)?;
    anyhow::ensure!(
        outcome.outcome == OutcomeKind::Validated,
        "request {id} was {:?} on {}",
        outcome.outcome,
        route.from.name
    );
    wait_for_peers(route.from, &submitted.status.transaction_id).await?;
    Ok((id, signed))
}

/// `signed` (a signed message of `kind`) attested in `from`'s name with its
/// real network key, as its relay sends it.
fn envelope(kind: Forwarded, from: &NetworkDescription, signed: &[u8]) -> anyhow::Result<Vec<u8>> {
    let payload = match kind {
        Forwarded::Request => Payload::SignedRequest(signed.to_vec()),
        Forwarded::Reply => Payload::SignedReply(signed.to_vec()),
    };
    Ok(attested(
        payload,
        &from.name,
        &network_signing_key(&from.name)?,
    ))
}

/// `to`'s relay identity submits `envelope` with `proof` to `kind`'s
/// accept function, as that relay does for a delivery.
async fn deliver(
    lab: &Lab<'_>,
    to: &NetworkDescription,
    kind: Forwarded,
    envelope: &[u8],
    proof: &[u8],
) -> anyhow::Result<Result<Committed, fabric::Error>> {
    let relay = lab.relay(&to.name).await?;
    Ok(interface::submit(&relay, kind.accept_function(), [envelope, proof]).await)
}

/// The outcome a committed accept call answered.
fn outcome(committed: &Committed) -> anyhow::Result<Outcome> {
    serde_json::from_slice(&committed.result).context("the accept function's result")
}

/// A delivery's outcome (`Accepted`), or `refused (…)` with the reason.
fn outcome_or_refusal(delivered: &Result<Committed, fabric::Error>) -> anyhow::Result<String> {
    Ok(match delivered {
        Ok(committed) => format!("{:?}", outcome(committed)?.outcome),
        Err(error) => format!("refused ({})", brief(error)),
    })
}

/// A request of the doctor, validated on network I, accepted on II with
/// I's proof, and answered there by org1's responder of II (a refusal it
/// signs and submits): open on I, its reply stored on II and committed on
/// every peer of II. The request's id and the signed reply.
async fn answered(lab: &Lab<'_>) -> anyhow::Result<(String, Vec<u8>)> {
    let Route { from, to } = Route::requests(lab);
    let (id, signed) = validated_request(lab, Route::requests(lab)).await?;
    let proof = lab
        .setup
        .proof_of(Forwarded::Request, &from.name, &to.name, &signed)
        .await?;
    let envelope = envelope(Forwarded::Request, from, &signed)?;
    let accepted = deliver(lab, to, Forwarded::Request, &envelope, &proof)
        .await?
        .with_context(|| format!("AcceptRequest on {}", to.name))?;
    anyhow::ensure!(
        outcome(&accepted)?.outcome == OutcomeKind::Accepted,
        "request {id} was not accepted on {}",
        to.name
    );
    wait_for_peers(to, &accepted.status.transaction_id).await?;
    let responder = user_keys(org(to, "org1")?, "User1")?;
    let reply = signed_reply(
        &id,
        (&to.name, &from.name),
        ReplyStatus::Rejected,
        &responder,
    )?;
    let responder = lab.setup.contract_as(&to.name, "User1").await?;
    let submitted = interface::submit(&responder, function::SUBMIT_REPLY, [&reply])
        .await
        .with_context(|| format!("SubmitReply on {}", to.name))?;
    wait_for_peers(to, &submitted.status.transaction_id).await?;
    Ok((id, reply))
}

/// Every organisation of `net`.
fn every_org(net: &NetworkDescription) -> Vec<&Organization> {
    net.organizations.iter().collect()
}

/// Runs `attack` with `net`'s relay alone, and stops the relay whatever
/// happened, recording that it stopped cleanly.
async fn with_lone_relay(
    lab: &Lab<'_>,
    evidence: &mut Evidence,
    net: &NetworkDescription,
    attack: impl AsyncFnOnce(&mut Evidence) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let relay = lab.setup.lone_relay(&net.name)?;
    let outcome = attack(evidence).await;
    let stopped = relay.stop().await;
    evidence.check(
        stopped.is_ok(),
        match &stopped {
            Ok(()) => format!(
                "{}'s relay, run alone for this row, stopped cleanly",
                net.name
            ),
            Err(error) => format!("{}'s relay failed: {error:#}", net.name),
        },
    );
    outcome
}

/// With `route.to`'s relay run alone, the thief who stole `route.from`'s
/// relay host delivers `signed`, his forgery of `kind` for request `id`
/// made with `ca` ([`forged`]); nothing is written on `route.to`.
async fn stolen_relay(
    lab: &Lab<'_>,
    mut evidence: Evidence,
    (kind, route): (Forwarded, Route<'_>),
    (ca, signed): (Ca, Vec<u8>),
    id: &str,
) -> anyhow::Result<Evidence> {
    let to = route.to;
    with_lone_relay(lab, &mut evidence, to, async |evidence| {
        let before = forged(evidence, &ca, kind, route, &signed).await?;
        nothing_written(lab, evidence, kind, to, id, "").await?;
        unchanged(evidence, to, before)
    })
    .await?;
    Ok(evidence)
}

/// Whoever stole network I's relay host (its network key and TLS files)
/// forges a request never submitted on I, by a doctor of his own making and
/// sealed to his own key, and delivers it to II's relay over mutual TLS:
/// without a proof, then with one "endorsed" by peers he minted for every
/// organisation of I, for a genuine challenge of II.
pub async fn stolen_relay_request(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let route = Route::requests(lab);
    let id = fresh_request_id();
    let patient = lab.history(0)?.patient_ref;
    let forgery = forged_request((route.from, &route.to.name), &id, &patient, 201)?;
    let kind = (Forwarded::Request, route);
    stolen_relay(lab, Evidence::default(), kind, forgery, &id).await
}

/// Whoever stole network II's relay host forges a reply (by a responder of
/// his own making) to a request of I that II never answered, and delivers
/// it to I's relay: without a proof, then with minted peers' proof.
pub async fn stolen_relay_reply(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let route = Route::replies(lab);
    let mut evidence = Evidence::default();
    let (open, _) = validated_request(lab, Route::requests(lab)).await?;
    evidence.fact(format!("a request of {} is open", route.to.name));
    let forgery = forged_reply((route.from, &route.to.name), &open, 221)?;
    stolen_relay(lab, evidence, (Forwarded::Reply, route), forgery, &open).await
}

/// The thief, with `route.from`'s relay files, gets a challenge from
/// `route.to`'s relay and delivers `signed` twice (no proof; peers minted
/// with `ca`), each checked refused with `BAD_PROOF`. Returns the height
/// of `route.to` before the deliveries (his challenge is a transaction).
async fn forged(
    evidence: &mut Evidence,
    ca: &Ca,
    kind: Forwarded,
    route: Route<'_>,
    signed: &[u8],
) -> anyhow::Result<u64> {
    let Route { from, to } = route;
    let thief = StolenRelay::of(&from.name)?;
    let grant = thief
        .challenge(&to.name)
        .await
        .map_err(|e| anyhow::anyhow!("the thief's challenge: {e}"))?;
    evidence.fact(format!(
        "the thief got a challenge of {0} through {0}'s relay",
        to.name
    ));
    let before = level(to).await?;
    let forgeries = thief
        .forgeries(ca, from, &to.name, kind, signed, &grant.nonce)
        .await?;
    relay_refused_with(
        evidence,
        "with no proof",
        forgeries.unproven,
        ErrorCode::BadProof,
    );
    relay_refused_with(
        evidence,
        format!(
            "with a proof by peers he minted for the {} organisations of {}",
            forgeries.minted_orgs, from.name
        ),
        forgeries.minted,
        ErrorCode::BadProof,
    );
    Ok(before)
}

/// A fresh challenge of `route.to` for `route.from`'s proofs: its nonce.
async fn fresh_nonce(lab: &Lab<'_>, route: Route<'_>) -> anyhow::Result<String> {
    Ok(lab
        .setup
        .challenge(&route.from.name, &route.to.name)
        .await?
        .nonce
        .to_string())
}

/// Checks that the delivery of `kind` with the genuine proof, after the
/// refusal, was taken: a request accepted, or a reply stored (`Failed`:
/// the responder declined). `label` words the outcome seen.
fn taken(
    evidence: &mut Evidence,
    kind: Forwarded,
    committed: &Committed,
    label: impl FnOnce(OutcomeKind) -> String,
) -> anyhow::Result<()> {
    let taken = outcome(committed)?.outcome;
    let expected = match kind {
        Forwarded::Request => OutcomeKind::Accepted,
        Forwarded::Reply => OutcomeKind::Failed,
    };
    evidence.check(taken == expected, label(taken));
    Ok(())
}

/// How the first proof a row delivers is wrong, for a genuine challenge.
#[derive(Debug, Clone, Copy)]
enum BadProof {
    /// Endorsed by the sender's org1 peers alone, where the receiver's
    /// policy wants every organisation.
    OneOrg,
    /// Endorsed for every organisation of the sender by peers of a CA not
    /// registered for it (minted with this seed).
    UnregisteredCa(u8),
}

/// Delivers `id`'s message `signed` of `kind` to `route.to` with a `bad`
/// proof for a fresh challenge, which must be refused with `BAD_PROOF`
/// with nothing written; then, for the same challenge, with the proof of
/// `route.from`'s genuine peers, which must be taken (`label` words its
/// outcome).
async fn refused_then_taken(
    lab: &Lab<'_>,
    mut evidence: Evidence,
    (kind, route): (Forwarded, Route<'_>),
    (id, signed): (&str, &[u8]),
    bad: BadProof,
    label: impl FnOnce(OutcomeKind) -> String,
) -> anyhow::Result<Evidence> {
    let Route { from, to } = route;
    let nonce = fresh_nonce(lab, route).await?;
    let (proof, refusal, genuine) = match bad {
        BadProof::OneOrg => {
            let org1 = org(from, "org1")?.msp_id.as_str();
            let one = lab
                .setup
                .prover_of(&from.name, &[org1])
                .await?
                .prove(kind.prove_function(), id, &sha256_hex(signed), &nonce)
                .await?;
            let endorsements = ValidationProof::decode(one.as_slice())?.endorsements.len();
            let refusal = format!(
                "{} endorsement(s), by {org1} only, of {} organisations",
                endorsements,
                from.organizations.len()
            );
            (one, refusal, "the proof of every organisation")
        }
        BadProof::UnregisteredCa(seed) => {
            let ca = thief_ca(org(from, "org1")?, seed);
            let orgs = every_org(from);
            let proof = minted_proof(&ca, from, &orgs, kind, signed, &nonce)?;
            let refusal = format!(
                "peers of an unregistered CA for the {} organisations of {}",
                orgs.len(),
                from.name
            );
            (proof, refusal, "the genuine peers' proof")
        }
    };
    let envelope = envelope(kind, from, signed)?;
    let before = height(to)?;
    let refused = deliver(lab, to, kind, &envelope, &proof).await?;
    refused_with(&mut evidence, refusal, &refused, ErrorCode::BadProof);
    nothing_written(lab, &mut evidence, kind, to, id, "").await?;
    unchanged(&mut evidence, to, before)?;
    let proof = lab
        .setup
        .prover(&from.name)
        .await?
        .prove(kind.prove_function(), id, &sha256_hex(signed), &nonce)
        .await?;
    let delivered = deliver(lab, to, kind, &envelope, &proof)
        .await?
        .context(genuine)?;
    taken(&mut evidence, kind, &delivered, label)?;
    Ok(evidence)
}

/// A request validated on I, delivered to II with a `bad` proof, then
/// with the genuine one ([`refused_then_taken`]).
async fn request_refused_then_taken(
    lab: &Lab<'_>,
    bad: BadProof,
    label: impl FnOnce(OutcomeKind) -> String,
) -> anyhow::Result<Evidence> {
    let route = Route::requests(lab);
    let (id, signed) = validated_request(lab, route).await?;
    let message = (id.as_str(), signed.as_slice());
    let kind = (Forwarded::Request, route);
    refused_then_taken(lab, Evidence::default(), kind, message, bad, label).await
}

/// A request validated on I, proven by the peers of one organisation of
/// I where II's policy wants both.
pub async fn one_org_request_proof(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    request_refused_then_taken(lab, BadProof::OneOrg, |taken| format!(
        "the same challenge with the proof of every organisation: {taken:?} (the refusal used nothing up)"
    ))
    .await
}

/// A reply stored on II, proven by the peers of one organisation of II
/// where I's policy wants both.
pub async fn one_org_reply_proof(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let route = Route::replies(lab);
    let (id, reply) = answered(lab).await?;
    evidence.fact(format!(
        "a request of {} answered on {} (reply stored there)",
        route.to.name, route.from.name
    ));
    refused_then_taken(
        lab,
        evidence,
        (Forwarded::Reply, route),
        (&id, &reply),
        BadProof::OneOrg,
        |taken| format!(
            "the same challenge with the proof of every organisation: reply stored ({taken:?}: the responder declined)"
        ),
    )
    .await
}

/// Genuine peers of `route.from` prove message A for a fresh challenge; the
/// receiver is shown message B with A's proof. The peers are asked to
/// prove `other` bytes under the id of A or B (`other.0`), and refuse;
/// those bytes with that message's genuine proof are refused. Nothing is
/// written for A or B. `a` and `b` are the messages' request ids and bytes.
async fn wrong_proof(
    lab: &Lab<'_>,
    (kind, route): (Forwarded, Route<'_>),
    [(a_id, a), (b_id, b)]: [(&str, &[u8]); 2],
    (other_id, other): (&str, &[u8]),
) -> anyhow::Result<Evidence> {
    let (shown_label, asked_label, other_label) = match kind {
        Forwarded::Request => (
            "request B with the proof of request A",
            "B's id with the hash of other bytes (another sealing key)",
            "B's genuine proof",
        ),
        Forwarded::Reply => (
            "a reply to request B with the proof of A's reply",
            "other reply bytes for A",
            "the proof of A's stored reply",
        ),
    };
    let mut evidence = Evidence::default();
    let Route { from, to } = route;
    let nonce = fresh_nonce(lab, route).await?;
    let prover = lab.setup.prover(&from.name).await?;
    let prove = kind.prove_function();
    let proof_of_a = prover.prove(prove, a_id, &sha256_hex(a), &nonce).await?;
    let before = height(to)?;
    let refused = deliver(lab, to, kind, &envelope(kind, from, b)?, &proof_of_a).await?;
    refused_with(&mut evidence, shown_label, &refused, ErrorCode::BadProof);
    let asked = prover
        .prove(prove, other_id, &sha256_hex(other), &nonce)
        .await;
    refused_with(
        &mut evidence,
        format!("{}'s peers asked to prove {asked_label}", from.name),
        &asked,
        ErrorCode::BadArgument,
    );
    let genuine_proof = if other_id == a_id {
        proof_of_a
    } else {
        prover.prove(prove, b_id, &sha256_hex(b), &nonce).await?
    };
    let refused = deliver(lab, to, kind, &envelope(kind, from, other)?, &genuine_proof).await?;
    refused_with(
        &mut evidence,
        format!("those other bytes with {other_label}"),
        &refused,
        ErrorCode::BadProof,
    );
    nothing_written(lab, &mut evidence, kind, to, a_id, "A").await?;
    nothing_written(lab, &mut evidence, kind, to, b_id, "B").await?;
    unchanged(&mut evidence, to, before)?;
    Ok(evidence)
}

/// Genuine peers of I prove request A; II is shown request B with A's
/// proof. I's peers are asked to prove other bytes under B's id (another
/// sealing key) and refuse; those bytes with B's genuine proof are
/// refused by II.
pub async fn wrong_request_proof(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let route = Route::requests(lab);
    let Route { from, to } = route;
    let (a_id, a) = validated_request(lab, route).await?;
    let (b_id, b) = validated_request(lab, route).await?;
    let b_swapped = signed_request(
        (&from.name, &to.name),
        &b_id,
        &lab.history(0)?.patient_ref,
        &[0x5a; 32],
        Purpose::Treatment,
        &user_keys(org(from, "org1")?, "User2")?,
    )?;
    let messages = [(a_id.as_str(), a.as_slice()), (&b_id, &b)];
    wrong_proof(
        lab,
        (Forwarded::Request, route),
        messages,
        (&b_id, &b_swapped),
    )
    .await
}

/// Genuine peers of II prove the reply to request A; I is shown the reply
/// to request B with A's proof. II's peers are asked to prove other reply
/// bytes for A and refuse; those bytes with A's genuine proof are refused
/// by I.
pub async fn wrong_reply_proof(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let route = Route::replies(lab);
    let Route { from, to } = route;
    let (a_id, a_reply) = answered(lab).await?;
    let (b_id, _) = validated_request(lab, Route::requests(lab)).await?;
    // Signed by II's registered responder, but never stored on II.
    let responder = user_keys(org(from, "org1")?, "User1")?;
    let reply_of = |id: &str, status| signed_reply(id, (&from.name, &to.name), status, &responder);
    let b_reply = reply_of(&b_id, ReplyStatus::Rejected)?;
    let a_other = reply_of(&a_id, ReplyStatus::NotFound)?;
    let messages = [(a_id.as_str(), a_reply.as_slice()), (&b_id, &b_reply)];
    wrong_proof(lab, (Forwarded::Reply, route), messages, (&a_id, &a_other)).await
}

/// A proof accepted once (its challenge used up) is used again with
/// another message C; C is proven afresh by the genuine peers for that
/// used-up challenge, and for a nonce never issued; then the accepted
/// delivery is sent again. A and C are messages of `kind` that
/// `route.from`'s peers can prove: requests validated on I, or replies
/// stored on II. At the end the receiver's audit holds A's entries once.
async fn replayed(lab: &Lab<'_>, kind: Forwarded) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let route = Route::of(kind, lab);
    let provable = async || match kind {
        Forwarded::Request => validated_request(lab, route).await,
        Forwarded::Reply => answered(lab).await,
    };
    let (a_id, a) = provable().await?;
    let (c_id, c) = provable().await?;
    let (a_id, a, c_id, c) = (a_id.as_str(), a.as_slice(), c_id.as_str(), c.as_slice());
    let Route { from, to } = route;
    let nonce = fresh_nonce(lab, route).await?;
    let prover = lab.setup.prover(&from.name).await?;
    let prove = kind.prove_function();
    let proof_of_a = prover.prove(prove, a_id, &sha256_hex(a), &nonce).await?;
    let a_envelope = envelope(kind, from, a)?;
    let first = deliver(lab, to, kind, &a_envelope, &proof_of_a)
        .await?
        .context("the first delivery of A")?;
    let first_outcome = outcome(&first)?;
    evidence.fact(match kind {
        Forwarded::Request => format!("A delivered with its proof: {:?}", first_outcome.outcome),
        Forwarded::Reply => format!(
            "A's reply delivered with its proof: stored ({:?}: the responder declined)",
            first_outcome.outcome
        ),
    });
    // Every peer of the receiver now knows the challenge is used.
    wait_for_peers(to, &first.status.transaction_id).await?;
    let before = height(to)?;
    let c_envelope = envelope(kind, from, c)?;
    let refused = deliver(lab, to, kind, &c_envelope, &proof_of_a).await?;
    refused_with(
        &mut evidence,
        "A's accepted proof again, with C",
        &refused,
        ErrorCode::BadChallenge,
    );
    let used = prover.prove(prove, c_id, &sha256_hex(c), &nonce).await?;
    let refused = deliver(lab, to, kind, &c_envelope, &used).await?;
    refused_with(
        &mut evidence,
        format!(
            "C proven by {}'s peers for A's used-up challenge",
            from.name
        ),
        &refused,
        ErrorCode::BadChallenge,
    );
    let never_issued = sha256_hex(c_id.as_bytes());
    let unknown = prover
        .prove(prove, c_id, &sha256_hex(c), &never_issued)
        .await?;
    let refused = deliver(lab, to, kind, &c_envelope, &unknown).await?;
    refused_with(
        &mut evidence,
        "C proven for a nonce never issued",
        &refused,
        ErrorCode::BadChallenge,
    );
    nothing_written(lab, &mut evidence, kind, to, c_id, "C").await?;
    unchanged(&mut evidence, to, before)?;
    let again = deliver(lab, to, kind, &a_envelope, &proof_of_a)
        .await?
        .context("A's delivery again")?;
    evidence.check(
        outcome(&again)? == first_outcome,
        "A's accepted delivery again returns its stored outcome",
    );
    let patient = lab.history(0)?.patient_ref.to_hex();
    let audit = audit_kinds(&lab.admin(&to.name).await?, &patient, Some(a_id)).await?;
    let (expected, label): (&[&str], _) = match kind {
        Forwarded::Request => (
            &["request_accepted"],
            format!("A accepted once on {} (audit: {audit:?})", to.name),
        ),
        Forwarded::Reply => (
            &["request_submitted", "reply_received"],
            format!("A's reply received once on {} (audit: {audit:?})", to.name),
        ),
    };
    evidence.check(audit == expected, label);
    Ok(evidence)
}

/// A request proof replayed.
pub async fn replayed_request_proof(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    replayed(lab, Forwarded::Request).await
}

/// A reply proof replayed.
pub async fn replayed_reply_proof(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    replayed(lab, Forwarded::Reply).await
}

/// A request validated on I, proven by peers of a CA not registered for I.
pub async fn unregistered_ca_request_proof(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    request_refused_then_taken(lab, BadProof::UnregisteredCa(231), |taken| {
        format!("the same challenge with the registered peers' proof: {taken:?}")
    })
    .await
}

/// A reply stored on II, proven by peers of a CA not registered for II.
pub async fn unregistered_ca_reply_proof(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let (id, reply) = answered(lab).await?;
    refused_then_taken(
        lab,
        Evidence::default(),
        (Forwarded::Reply, Route::replies(lab)),
        (&id, &reply),
        BadProof::UnregisteredCa(241),
        |taken| format!("the same challenge with the registered peers' proof: reply stored ({taken:?}: the responder declined)"),
    )
    .await
}

/// How long II keeps honouring I's replaced entry in the rotation row.
const ROTATION_GRACE_SECONDS: u32 = 8;

/// II's admin rotates I's entry in its lookup table, as when I's
/// organisations move to new CAs: new roots (a CA I's peers do not chain
/// to yet), the replaced entry honoured for a grace. A request validated on
/// I and proven by I's peers (old CA) inside the grace is accepted; one
/// proven after the stated cut-over is refused with nothing written. II's
/// entry is then put back, and the refused request goes through.
pub async fn rotation(lab: &Lab<'_>) -> anyhow::Result<Evidence> {
    let mut evidence = Evidence::default();
    let route = Route::requests(lab);
    let Route { from, to } = route;
    let (in_flight_id, in_flight) = validated_request(lab, route).await?;
    let (later_id, later) = validated_request(lab, route).await?;

    let mut rotated = network_trust(from)?;
    for (index, organization) in from.organizations.iter().enumerate() {
        let seed = 240 + u8::try_from(index).unwrap_or(0);
        rotated["organizations"][index]["root_certificates"] =
            serde_json::json!([thief_ca(organization, seed).issued.cert_pem]);
    }
    rotated["previous_grace_seconds"] = ROTATION_GRACE_SECONDS.into();
    let admin = lab.admin(&to.name).await?;
    let committed = admin
        .submit(function::PUT_NETWORK_TRUST, [rotated.to_string()])
        .await
        .with_context(|| format!("PutNetworkTrust on {}", to.name))?;
    wait_for_peers(to, &committed.status.transaction_id).await?;
    // `{"outcome": "ok", "trust": …, "retiring": …}`: a TrustChange.
    let mut change: serde_json::Value =
        serde_json::from_slice(&committed.result).context("PutNetworkTrust's result")?;
    if let Some(fields) = change.as_object_mut() {
        fields.remove("outcome");
    }
    let change: TrustChange = serde_json::from_value(change).context("PutNetworkTrust's result")?;
    let cut_over_ms = change
        .retiring
        .map(|retiring| retiring.accepted_until_ms)
        .context("PutNetworkTrust kept no retiring entry")?;
    evidence.fact(format!(
        "{} replaced {}'s CA roots; the replaced entry counts until {cut_over_ms} ms ({ROTATION_GRACE_SECONDS} s)",
        to.name, from.name
    ));

    let envelope_of = |signed: &[u8]| envelope(Forwarded::Request, from, signed);
    let proof = lab
        .setup
        .proof_of(Forwarded::Request, &from.name, &to.name, &in_flight)
        .await?;
    let taken = deliver(
        lab,
        to,
        Forwarded::Request,
        &envelope_of(&in_flight)?,
        &proof,
    )
    .await?;
    let taken = outcome_or_refusal(&taken)?;
    evidence.check(
        taken == "Accepted",
        format!(
            "inside the grace, the proof of {}'s peers (old CA): {taken}",
            from.name
        ),
    );

    let now_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    };
    // Transaction time comes from the client's clock, here the same as
    // the peers'; a second beyond the cut-over is past it for sure.
    let wait_ms = cut_over_ms + 1000 - now_ms();
    if let Ok(wait) = u64::try_from(wait_ms) {
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
    let proof = lab
        .setup
        .proof_of(Forwarded::Request, &from.name, &to.name, &later)
        .await?;
    let before = height(to)?;
    let refused = deliver(lab, to, Forwarded::Request, &envelope_of(&later)?, &proof).await?;
    refused_with(
        &mut evidence,
        format!(
            "after the cut-over, the proof of {}'s peers (old CA)",
            from.name
        ),
        &refused,
        ErrorCode::BadProof,
    );
    nothing_written(lab, &mut evidence, Forwarded::Request, to, &later_id, "").await?;
    unchanged(&mut evidence, to, before)?;

    // Back to the roots I's peers chain to, at once.
    lab.setup
        .admin_submit(&to.name, function::PUT_NETWORK_TRUST, network_trust(from)?)
        .await?;
    let proof = lab
        .setup
        .proof_of(Forwarded::Request, &from.name, &to.name, &later)
        .await?;
    let taken = deliver(lab, to, Forwarded::Request, &envelope_of(&later)?, &proof).await?;
    let taken = outcome_or_refusal(&taken)?;
    evidence.check(
        taken == "Accepted",
        format!(
            "with {}'s roots put back, the same request: {taken}",
            from.name
        ),
    );
    evidence.fact(format!("requests {in_flight_id} and {later_id}"));
    Ok(evidence)
}
