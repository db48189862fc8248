//! Trust between networks beyond the relay's key: which organisations of a
//! remote network vouch for what it forwards (`PutNetworkTrust`), fresh
//! challenges this network issues (`IssueChallenge`), the statements a
//! network's peers endorse for a request it validated (`ProveRequest`) or
//! a reply it stored (`ProveReply`), and the check `AcceptRequest` and
//! `AcceptReply` make of such a proof.
//!
//! The challenge lifecycle, all in transaction time (never a clock):
//! the receiving network's relay submits `IssueChallenge(sender)`, which
//! commits `nonce = SHA-256("ehrx.v1/challenge" || tx id)` with the
//! transaction's time; the sender's relay has `ProveRequest` (or
//! `ProveReply`)`(request id, signed message hash, nonce)` endorsed by its
//! peers; `AcceptRequest` (`AcceptReply`) accepts the proof only if the
//! challenge exists, was issued for that sender, and is at most
//! [`CHALLENGE_MAX_AGE_MS`] old at the accepting transaction, and deletes
//! it in the same transaction, so a proof serves once.

use ehrx_interface::{
    Key32,
    limits::{
        CHALLENGE_MAX_AGE_MS, MAX_CHALLENGES_PER_CALL, MAX_CHALLENGES_PURGED, MAX_PROOF_BYTES,
        MAX_ROOTS_PER_ORG, MAX_TRUST_GRACE_SECONDS, MAX_TRUSTED_ORGS,
    },
    names::CHAINCODE,
    quote,
    types::{
        ChallengeBatch, ChallengePurge, Changed, ReplyProof, RequestProof, TrustChange,
        VerificationPolicy,
    },
};
use ehrx_proto::exchange::{
    ValidationProof,
    proof::{self, CaRoot, Expected, ProofError, TrustedOrg},
};
use sha2::{Digest as _, Sha256};

use crate::{
    ehr::{
        access::{self, Caller},
        audit::{self, AuditKind, Write as _},
        error::EhrError,
        messages::{self, json_arg},
        requests::{active_network, entry},
        state::{
            self, Challenge, Direction, NetworkTrust, RemoteNetwork, RetiringTrust, Role, key,
        },
    },
    shim::{
        Stub,
        contract::{Args, ContractError, Json},
    },
};

const CHALLENGE_DOMAIN: &[u8] = b"ehrx.v1/challenge";
/// `IssueChallenges`' tag: its nonces never equal an `IssueChallenge` one.
const CHALLENGES_DOMAIN: &[u8] = b"ehrx.v1/challenges";

/// The organisations of `trust`, their roots parsed.
fn trusted_orgs(trust: &NetworkTrust) -> Result<Vec<TrustedOrg>, EhrError> {
    trust
        .organizations
        .iter()
        .map(|org| {
            let roots = org
                .root_certificates
                .iter()
                .map(|pem| CaRoot::from_pem(pem.as_bytes()))
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    EhrError::invalid("root_certificates", format!("{}: {e}", org.msp_id))
                })?;
            Ok(TrustedOrg {
                msp_id: org.msp_id.clone(),
                roots,
            })
        })
        .collect()
}

/// The stored trust of `network_id`, or the error naming why there is none.
async fn trust_of(stub: &Stub, network_id: &str) -> Result<NetworkTrust, EhrError> {
    state::get(stub, "network trust", &key::trust(network_id)?)
        .await?
        .ok_or_else(|| EhrError::NotFound {
            what: "trust anchors (PutNetworkTrust) of network",
            key: network_id.to_owned(),
        })
}

/// Whether two entries vouch for the same proofs and signers.
fn same_anchors(a: &NetworkTrust, b: &NetworkTrust) -> bool {
    a.channel == b.channel && a.organizations == b.organizations && a.policy == b.policy
}

/// The replaced entry of `network_id` while it still counts at `now_ms`.
async fn retiring_of(
    stub: &Stub,
    network_id: &str,
    now_ms: i64,
) -> Result<Option<RetiringTrust>, EhrError> {
    let retiring: Option<RetiringTrust> = state::get(
        stub,
        "retiring network trust",
        &key::retiring_trust(network_id)?,
    )
    .await?;
    Ok(retiring.filter(|retiring| now_ms <= retiring.accepted_until_ms))
}

/// `PutNetworkTrust(trust_json)`: admin only; the network must be in the
/// lookup table. Replacing an entry with `previous_grace_seconds` > 0
/// keeps the replaced one counting until the cut-over the result states;
/// with 0 it stops counting at once, as does any entry retiring before.
/// Putting the entry in force again unchanged (same channel,
/// organisations, roots and policy) changes nothing about either.
pub async fn put_network_trust(
    stub: Stub,
    args: Args,
) -> Result<Json<Changed<TrustChange>>, ContractError> {
    let caller = Caller::of(&stub)?;
    caller.require_admin()?;
    state::config(&stub).await?;
    let trust: NetworkTrust = json_arg(&args, "trust")?;
    messages::check_name("network_id", &trust.network_id)?;
    messages::check_name("channel", &trust.channel)?;
    let entry: Option<RemoteNetwork> =
        state::get(&stub, "remote network", &key::network(&trust.network_id)?).await?;
    if entry.is_none() {
        return Err(EhrError::NotFound {
            what: "network in the lookup table",
            key: trust.network_id.clone(),
        }
        .into());
    }
    let listed = trust.organizations.len();
    if !(1..=MAX_TRUSTED_ORGS).contains(&listed) {
        return Err(EhrError::invalid(
            "organizations",
            format!("{listed} given, expected 1 to {MAX_TRUSTED_ORGS}"),
        )
        .into());
    }
    for (index, org) in trust.organizations.iter().enumerate() {
        access::check_msp_id(&org.msp_id)?;
        if trust.organizations[..index]
            .iter()
            .any(|other| other.msp_id == org.msp_id)
        {
            return Err(EhrError::invalid(
                "organizations",
                format!("{} is listed twice", quote(&org.msp_id)),
            )
            .into());
        }
        if !(1..=MAX_ROOTS_PER_ORG).contains(&org.root_certificates.len()) {
            return Err(EhrError::invalid(
                "root_certificates",
                format!(
                    "{} has {}, expected 1 to {MAX_ROOTS_PER_ORG}",
                    quote(&org.msp_id),
                    org.root_certificates.len()
                ),
            )
            .into());
        }
    }
    trusted_orgs(&trust)?;
    if let VerificationPolicy::AtLeast(k) = trust.policy
        && !(1..=listed).contains(&usize::try_from(k).unwrap_or(usize::MAX))
    {
        return Err(EhrError::invalid(
            "policy",
            format!("at_least {k} of {listed} organisation(s): expected 1 to {listed}"),
        )
        .into());
    }
    if trust.previous_grace_seconds > MAX_TRUST_GRACE_SECONDS {
        return Err(EhrError::invalid(
            "previous_grace_seconds",
            format!(
                "{} exceeds {MAX_TRUST_GRACE_SECONDS} (a week)",
                trust.previous_grace_seconds
            ),
        )
        .into());
    }
    let trust_key = key::trust(&trust.network_id)?;
    let retiring_key = key::retiring_trust(&trust.network_id)?;
    let replaced: Option<NetworkTrust> = state::get(&stub, "network trust", &trust_key).await?;
    let retiring = match replaced {
        // The same anchors again (a setup file applied twice): nothing is
        // replaced, and an entry retiring before keeps its cut-over.
        Some(replaced) if same_anchors(&replaced, &trust) => {
            retiring_of(&stub, &trust.network_id, state::now_ms(&stub)?).await?
        }
        Some(replaced) if trust.previous_grace_seconds > 0 => {
            let grace_ms = i64::from(trust.previous_grace_seconds) * 1000;
            let retiring = RetiringTrust {
                trust: replaced,
                accepted_until_ms: state::now_ms(&stub)?.saturating_add(grace_ms),
            };
            state::put(&stub, &retiring_key, &retiring).await?;
            Some(retiring)
        }
        _ => {
            stub.del_state(&retiring_key).await?;
            None
        }
    };
    state::put(&stub, &trust_key, &trust).await?;
    let cut_over = retiring.as_ref().map_or_else(
        || "the replaced entry, if any, no longer counts".to_owned(),
        |retiring| {
            format!(
                "the replaced entry counts until {} ms",
                retiring.accepted_until_ms
            )
        },
    );
    let names: Vec<&str> = trust
        .organizations
        .iter()
        .map(|o| o.msp_id.as_str())
        .collect();
    audit::entry(
        &stub,
        &caller,
        AuditKind::AdminChange,
        audit::ADMIN,
        format!(
            "trust of {}: channel {}, organisations {names:?}, {} of them must endorse; {cut_over}",
            trust.network_id,
            trust.channel,
            trust.policy.required(listed)
        ),
    )?
    .write(&stub)
    .await?;
    Ok(Json(Changed::ok(TrustChange { trust, retiring })))
}

/// Deletes the trust of a network leaving the lookup table.
pub async fn forget(stub: &Stub, network_id: &str) -> Result<(), EhrError> {
    stub.del_state(&key::trust(network_id)?).await?;
    stub.del_state(&key::retiring_trust(network_id)?).await?;
    Ok(())
}

/// Checks that a relay of this network asks for challenges of an active
/// network with trust; the transaction's time.
async fn may_issue(stub: &Stub, network_id: &str) -> Result<i64, EhrError> {
    Caller::in_role(stub, Role::Relay).await?;
    state::config(stub).await?;
    let now = state::now_ms(stub)?;
    active_network(stub, network_id).await?;
    trust_of(stub, network_id).await?;
    Ok(now)
}

/// Stores `challenge` under its nonce.
async fn store(stub: &Stub, challenge: &Challenge) -> Result<(), EhrError> {
    state::put(
        stub,
        &key::challenge(&challenge.nonce.to_string())?,
        challenge,
    )
    .await
}

/// `IssueChallenge(network_id)`: a relay of this network asks for a nonce
/// the proof of `network_id` must carry.
pub async fn issue_challenge(stub: Stub, args: Args) -> Result<Json<Challenge>, ContractError> {
    let network_id = args.string("network_id")?;
    let now = may_issue(&stub, network_id).await?;
    let mut hash = Sha256::new();
    hash.update(CHALLENGE_DOMAIN);
    hash.update(stub.tx_id().as_bytes());
    let challenge = Challenge {
        nonce: Key32::new(hash.finalize().into()),
        network_id: network_id.to_owned(),
        issued_at_ms: now,
        expires_at_ms: now.saturating_add(CHALLENGE_MAX_AGE_MS),
    };
    store(&stub, &challenge).await?;
    Ok(Json(challenge))
}

/// The `count` argument of `IssueChallenges`: decimal digits, 1 to
/// [`MAX_CHALLENGES_PER_CALL`].
fn challenge_count(text: &str) -> Result<u32, EhrError> {
    let out_of_range = || {
        EhrError::invalid(
            "count",
            format!(
                "{} is not a whole number from 1 to {MAX_CHALLENGES_PER_CALL}",
                quote(text)
            ),
        )
    };
    if text.is_empty() || text.len() > 2 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(out_of_range());
    }
    text.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_CHALLENGES_PER_CALL).contains(n))
        .ok_or_else(out_of_range)
}

/// The nonces of a batch issued by transaction `tx_id`.
fn batch_nonces(tx_id: &str, count: u32) -> Vec<Key32> {
    (0..count)
        .map(|index| {
            let mut hash = Sha256::new();
            hash.update(CHALLENGES_DOMAIN);
            hash.update(index.to_be_bytes());
            hash.update(tx_id.as_bytes());
            Key32::new(hash.finalize().into())
        })
        .collect()
}

/// `IssueChallenges(network_id, count)`: like `IssueChallenge`, `count`
/// nonces in one transaction, each stored and used like one issued alone.
pub async fn issue_challenges(
    stub: Stub,
    args: Args,
) -> Result<Json<ChallengeBatch>, ContractError> {
    let network_id = args.string("network_id")?;
    let count = challenge_count(args.string("count")?)?;
    let now = may_issue(&stub, network_id).await?;
    let batch = ChallengeBatch {
        network_id: network_id.to_owned(),
        issued_at_ms: now,
        expires_at_ms: now.saturating_add(CHALLENGE_MAX_AGE_MS),
        nonces: batch_nonces(stub.tx_id(), count),
    };
    for challenge in batch.challenges() {
        store(&stub, &challenge).await?;
    }
    Ok(Json(batch))
}

/// `PurgeChallenges()`: a relay of this network deletes the challenges
/// that expired unused (a delivery that failed after its challenge), at
/// most [`MAX_CHALLENGES_PURGED`] per call, so they do not pile up.
pub async fn purge_challenges(
    stub: Stub,
    _args: Args,
) -> Result<Json<ChallengePurge>, ContractError> {
    Caller::in_role(&stub, Role::Relay).await?;
    state::config(&stub).await?;
    let now = state::now_ms(&stub)?;
    let mut purged = 0usize;
    let mut left = 0usize;
    for (challenge_key, value) in state::list(&stub, key::CHALLENGE, &[]).await? {
        // An entry that does not read as a challenge was not written by
        // IssueChallenge; it is left for an admin to look at.
        let expired = serde_json::from_slice::<Challenge>(&value)
            .is_ok_and(|challenge| challenge.expires_at_ms < now);
        if expired && purged < MAX_CHALLENGES_PURGED {
            stub.del_state(&challenge_key).await?;
            purged += 1;
        } else {
            left += 1;
        }
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(Json(ChallengePurge {
        purged: count(purged),
        left: count(left),
    }))
}

/// `ProveRequest(request_id, signed_request_sha256, nonce)`: a relay of
/// this network asks its peers to state that the request was validated
/// here (Algorithm 1 passed) with exactly these signed bytes. Read-only;
/// its endorsed result is the proof, and it is never submitted.
pub async fn prove_request(stub: Stub, args: Args) -> Result<Json<RequestProof>, ContractError> {
    let query = ProofQuery::read(&stub, &args, "signed_request_sha256").await?;
    let entry = entry(&stub, query.request_id)
        .await?
        .filter(|entry| entry.direction == Direction::Outgoing)
        .ok_or_else(|| EhrError::NotFound {
            what: "request validated on this network",
            key: query.request_id.to_owned(),
        })?;
    query.require_hash(&entry.signed_request_sha256, || {
        format!("the signed request {} validated here", query.request_id)
    })?;
    Ok(Json(RequestProof {
        network_id: query.network_id,
        request_id: query.request_id.to_owned(),
        signed_request_sha256: query.hash,
        nonce: query.nonce,
        validated: true,
    }))
}

/// `ProveReply(request_id, signed_reply_sha256, nonce)`: a relay of this
/// network asks its peers to state that this reply to a request received
/// here was stored here (it passed SubmitReply) with exactly these bytes.
/// Read-only, like `ProveRequest`.
pub async fn prove_reply(stub: Stub, args: Args) -> Result<Json<ReplyProof>, ContractError> {
    let query = ProofQuery::read(&stub, &args, "signed_reply_sha256").await?;
    let stored = entry(&stub, query.request_id)
        .await?
        .filter(|entry| entry.direction == Direction::Incoming)
        .and_then(|entry| entry.reply)
        .ok_or_else(|| EhrError::NotFound {
            what: "reply stored on this network to request",
            key: query.request_id.to_owned(),
        })?;
    query.require_hash(&stored.signed_reply_sha256, || {
        format!("the reply to {} stored here", query.request_id)
    })?;
    Ok(Json(ReplyProof {
        network_id: query.network_id,
        request_id: query.request_id.to_owned(),
        signed_reply_sha256: query.hash,
        nonce: query.nonce,
        validated: true,
    }))
}

/// What a relay asks `ProveRequest` or `ProveReply` to state, read once
/// the caller is known to be a relay of this network.
struct ProofQuery<'a> {
    /// This network.
    network_id: String,
    request_id: &'a str,
    /// The parameter the hash came in.
    hash_field: &'static str,
    hash: Key32,
    nonce: Key32,
}

impl<'a> ProofQuery<'a> {
    async fn read(
        stub: &Stub,
        args: &'a Args,
        hash_field: &'static str,
    ) -> Result<Self, ContractError> {
        Caller::in_role(stub, Role::Relay).await?;
        let network_id = state::config(stub).await?.network_id;
        Ok(Self {
            network_id,
            request_id: messages::request_id_arg(args)?,
            hash_field,
            hash: messages::key32_arg(args, hash_field)?,
            nonce: messages::key32_arg(args, "nonce")?,
        })
    }

    /// Refuses, naming the hash's parameter, unless `stored` is the hash
    /// asked about; `of` says what the hash should be of.
    fn require_hash(&self, stored: &str, of: impl FnOnce() -> String) -> Result<(), EhrError> {
        if stored == self.hash.to_string() {
            Ok(())
        } else {
            Err(EhrError::invalid(
                self.hash_field,
                format!("is not the hash of {}", of()),
            ))
        }
    }
}

pub use ehrx_interface::names::Forwarded;

/// Whether the endorsed `result` states exactly what is expected of a
/// proof for `kind`.
fn states(
    kind: Forwarded,
    result: &[u8],
    network_id: &str,
    request_id: &str,
    hash: &str,
    nonce: &str,
) -> Result<bool, String> {
    let read = |e: ehrx_interface::InterfaceError| format!("not the expected statement: {e}");
    let (stated_network, stated_id, stated_hash, stated_nonce, validated) = match kind {
        Forwarded::Request => {
            let s: RequestProof =
                ehrx_interface::parse_object("proof result", result).map_err(read)?;
            (
                s.network_id,
                s.request_id,
                s.signed_request_sha256,
                s.nonce,
                s.validated,
            )
        }
        Forwarded::Reply => {
            let s: ReplyProof =
                ehrx_interface::parse_object("proof result", result).map_err(read)?;
            (
                s.network_id,
                s.request_id,
                s.signed_reply_sha256,
                s.nonce,
                s.validated,
            )
        }
    };
    Ok(stated_network == network_id
        && stated_id == request_id
        && stated_hash.to_string() == hash
        && stated_nonce.to_string() == nonce
        && validated)
}

/// The check `AcceptRequest` and `AcceptReply` make before the message
/// itself is judged: the proof that `source`'s peers validated the signed
/// message `signed` (of `kind`, for `request_id`), for a live challenge of
/// this network, which it consumes. Returns the source's organisations for
/// the signer's certificate check. Every failure is an error.
pub async fn verify_forwarded(
    stub: &Stub,
    kind: Forwarded,
    source: &str,
    request_id: &str,
    signed: &[u8],
    proof_bytes: &[u8],
    now_ms: i64,
) -> Result<Vec<TrustedOrg>, EhrError> {
    // The entry in force, then the one it replaced until its cut-over.
    let mut entries = vec![trust_of(stub, source).await?];
    entries.extend(
        retiring_of(stub, source, now_ms)
            .await?
            .map(|retiring| retiring.trust),
    );
    let entries = entries
        .into_iter()
        .map(|trust| {
            let orgs = trusted_orgs(&trust).map_err(|e| EhrError::Corrupt {
                what: "network trust",
                key: source.to_owned(),
                reason: e.to_string(),
            })?;
            Ok((trust, orgs))
        })
        .collect::<Result<Vec<_>, EhrError>>()?;
    if proof_bytes.len() > MAX_PROOF_BYTES {
        return Err(EhrError::TooLarge {
            what: "validation proof",
            size: proof_bytes.len(),
            limit: MAX_PROOF_BYTES,
        });
    }
    let refused = |reason| EhrError::Proof {
        network: source.to_owned(),
        reason,
    };
    let proof = ValidationProof::parse(proof_bytes).map_err(refused)?;
    let claimed = proof.claimed_args().map_err(refused)?;
    let nonce_text = claimed
        .get(3)
        .and_then(|nonce| std::str::from_utf8(nonce).ok())
        .and_then(|nonce| Key32::parse(nonce).ok())
        .ok_or_else(|| {
            refused(ProofError::Arguments(
                "the fourth is not a challenge nonce (64 lower-case hex digits)".to_owned(),
            ))
        })?
        .to_string();
    let challenge_key = key::challenge(&nonce_text)?;
    let challenge: Challenge = state::get(stub, "challenge", &challenge_key)
        .await?
        .ok_or_else(|| {
            EhrError::Challenge(format!(
                "{nonce_text} was not issued here or was already used"
            ))
        })?;
    if challenge.network_id != source {
        return Err(EhrError::Challenge(format!(
            "{nonce_text} was issued for network {}, not {}",
            quote(&challenge.network_id),
            quote(source)
        )));
    }
    if now_ms < challenge.issued_at_ms || now_ms > challenge.expires_at_ms {
        return Err(EhrError::Challenge(format!(
            "{nonce_text} was issued at {} ms and is usable until {} ms; this transaction is at {now_ms} ms",
            challenge.issued_at_ms, challenge.expires_at_ms
        )));
    }

    let hash = hex::encode(Sha256::digest(signed));
    let args: [&[u8]; 4] = [
        kind.prove_function().as_bytes(),
        request_id.as_bytes(),
        hash.as_bytes(),
        nonce_text.as_bytes(),
    ];
    // The proof must satisfy one entry on its own: its channel, its
    // organisations and its policy. The refusal is the entry in force's.
    let mut refusal = None;
    let mut proven = None;
    for (trust, orgs) in &entries {
        let expected = Expected {
            channel: &trust.channel,
            chaincode: CHAINCODE,
            args: &args,
            at_unix_seconds: now_ms.div_euclid(1000),
        };
        match proof::verify(&proof, orgs, trust.policy.required(orgs.len()), &expected) {
            Ok(verified) => {
                proven = Some(verified);
                break;
            }
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    let Some(proven) = proven else {
        return Err(refused(refusal.unwrap_or_else(|| {
            ProofError::Arguments("no network trust entry to check it against".to_owned())
        })));
    };
    let unstated = |reason: String| {
        refused(ProofError::Malformed {
            what: "endorsed result",
            reason,
        })
    };
    let matches =
        states(kind, &proven.result, source, request_id, &hash, &nonce_text).map_err(unstated)?;
    if !matches {
        return Err(unstated(
            "it does not state that this message was validated for this challenge".to_owned(),
        ));
    }
    stub.del_state(&challenge_key).await?;
    // A signer counts if any entry in force vouches for it: a request
    // signed before a rotation still completes until the cut-over.
    Ok(entries.into_iter().flat_map(|(_, orgs)| orgs).collect())
}

/// Whether a signer's certificate (PEM, a requester's or a responder's)
/// was issued by a CA registered for its MSP: `Err` says why not.
pub fn check_signer(
    orgs: &[TrustedOrg],
    msp_id: &str,
    certificate: &[u8],
    now_ms: i64,
) -> Result<(), String> {
    let mut refusal = None;
    for org in orgs.iter().filter(|org| org.msp_id == msp_id) {
        match org.vouches_for(certificate, now_ms.div_euclid(1000)) {
            Ok(_) => return Ok(()),
            Err(e) => {
                refusal.get_or_insert_with(|| format!("certificate: {e}"));
            }
        }
    }
    Err(refusal.unwrap_or_else(|| {
        format!(
            "MSP {} is not registered for the sending network",
            quote(msp_id)
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_a_whole_number_from_one_to_the_limit() {
        assert_eq!(challenge_count("1").ok(), Some(1));
        assert_eq!(challenge_count("16").ok(), Some(MAX_CHALLENGES_PER_CALL));
        let long = "9".repeat(1 << 20);
        for bad in [
            "", "0", "00", "17", "99", "-1", "+1", " 1", "1 ", "0x1", "1.0", "1e1", "１", "1\0",
            "[1]", "\"1\"", &long,
        ] {
            let error = challenge_count(bad).err().map(|e| e.to_string());
            let message = error.unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(message.starts_with("invalid count: "), "{message}");
            assert!(message.len() < 300, "unbounded: {} bytes", message.len());
        }
    }

    #[test]
    fn batch_nonces_are_distinct_and_never_a_single_challenges() {
        let tx = "3f0c";
        let nonces = batch_nonces(tx, MAX_CHALLENGES_PER_CALL);
        assert_eq!(nonces.len(), 16);
        let distinct: std::collections::BTreeSet<_> = nonces.iter().collect();
        assert_eq!(distinct.len(), 16);
        // The same transaction gives the same nonces (every endorser agrees).
        assert_eq!(batch_nonces(tx, 3), nonces[..3]);
        assert_ne!(batch_nonces("3f0d", 1), nonces[..1]);
        let single: [u8; 32] = Sha256::new()
            .chain_update(CHALLENGE_DOMAIN)
            .chain_update(tx.as_bytes())
            .finalize()
            .into();
        assert!(!nonces.contains(&Key32::new(single)));
    }
}
