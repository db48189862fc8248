//! Messages an attacker (or a confused peer network) could produce, built
//! from real keys and identities of the local networks: signed requests and
//! replies, network attestations, and a look at the ledger to show that a
//! refusal wrote nothing. Shared by the attack tests and the experiment.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use prost::Message;
use serde_json::Value;

use ehrx_client::ehr::PatientRef;
use ehrx_client::ehr::interface::{ErrorCode, Forwarded, RequestEntry, error_code, function};
use ehrx_client::fabric::{Contract, PrivateKey, Signer, config::Organization};
use ehrx_proto::exchange::forwarded_envelope::Payload;
use ehrx_proto::exchange::{
    ForwardedEnvelope, Purpose, Reply, ReplyStatus, Request, SignedReply, SignedRequest,
};
use sha2::{Digest as _, Sha256};

use crate::NetworkDescription;
use crate::cli::peer_height;
use crate::exchange::{REQUESTER_CODE, org};

/// A fresh request id (UUID v4, as the contract requires).
pub fn fresh_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A user's signer with its serialised identity (the `creator` bytes).
#[derive(Clone)]
pub struct UserKeys {
    pub signer: Arc<dyn Signer>,
    pub creator: Vec<u8>,
}

impl std::fmt::Debug for UserKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserKeys").finish_non_exhaustive()
    }
}

/// The signing key and identity of `user` of `org`, from its MSP files.
pub fn user_keys(org: &Organization, user: &str) -> anyhow::Result<UserKeys> {
    let key_path = &org.user(user)?.key;
    let key = std::fs::read_to_string(key_path)
        .with_context(|| format!("reading {}", key_path.display()))?;
    Ok(UserKeys {
        signer: PrivateKey::from_pem(&key)?.into_signer(),
        creator: org.signing_identity(user)?.creator().to_vec(),
    })
}

/// Network I to network II, the route of most forged requests.
pub const I_TO_II: (&str, &str) = ("net1", "net2");

/// A well-formed request from `route.0` to `route.1` (network ids, e.g.
/// [`I_TO_II`]) for `patient` under the doctor's requester code, signed
/// with `keys`.
pub fn signed_request(
    (source, destination): (&str, &str),
    request_id: &str,
    patient: &PatientRef,
    encryption_key: &[u8; 32],
    purpose: Purpose,
    keys: &UserKeys,
) -> anyhow::Result<Vec<u8>> {
    let request = Request {
        request_id: request_id.into(),
        source_network: source.into(),
        destination_network: destination.into(),
        requester_code: REQUESTER_CODE.into(),
        patient_ref: patient.as_bytes().to_vec(),
        purpose: purpose as i32,
        categories: Vec::new(),
        created_at: Some(SystemTime::now().into()),
        requester_encryption_key: encryption_key.to_vec(),
    };
    Ok(SignedRequest::sign(&request, keys.creator.clone(), keys.signer.as_ref())?.encode_to_vec())
}

/// A NOT_FOUND reply to `request_id` from `replying_network` to network I,
/// signed by `responder` (`User1` of the given organisation).
pub fn signed_refusal(
    request_id: &str,
    replying_network: &str,
    responder: &Organization,
) -> anyhow::Result<Vec<u8>> {
    signed_reply(
        request_id,
        (replying_network, "net1"),
        ReplyStatus::NotFound,
        &user_keys(responder, "User1")?,
    )
}

/// A reply without records to `request_id`, from `route.0` to `route.1`
/// (network ids), with `status` (`NotFound` or `Rejected`), signed with
/// `keys`. Each call's bytes differ (the reply carries its creation time).
pub fn signed_reply(
    request_id: &str,
    (replying_network, receiving_network): (&str, &str),
    status: ReplyStatus,
    keys: &UserKeys,
) -> anyhow::Result<Vec<u8>> {
    let reason = match status {
        ReplyStatus::NotFound => "no records for this patient",
        _ => "declined by the responder",
    };
    let reply = Reply {
        request_id: request_id.into(),
        replying_network: replying_network.into(),
        receiving_network: receiving_network.into(),
        status: status as i32,
        reason: reason.into(),
        created_at: Some(SystemTime::now().into()),
        ..Default::default()
    };
    Ok(SignedReply::sign(&reply, keys.creator.clone(), keys.signer.as_ref())?.encode_to_vec())
}

/// The request id a signed message of `kind` is about.
pub fn forwarded_request_id(kind: Forwarded, signed: &[u8]) -> anyhow::Result<String> {
    Ok(match kind {
        Forwarded::Request => {
            let wrapper = SignedRequest::decode(signed).context("a signed request")?;
            Request::decode(wrapper.request.as_slice())
                .context("a request")?
                .request_id
        }
        Forwarded::Reply => {
            let wrapper = SignedReply::decode(signed).context("a signed reply")?;
            Reply::decode(wrapper.reply.as_slice())
                .context("a reply")?
                .request_id
        }
    })
}

/// What a network's peers are asked to prove about a signed message: the
/// prove function of its kind, the request it is about and its SHA-256.
#[derive(Debug, Clone)]
pub struct ProofSubject {
    pub function: &'static str,
    pub request_id: String,
    pub sha256: String,
}

impl ProofSubject {
    /// The subject of a signed message of `kind`.
    pub fn of(kind: Forwarded, signed: &[u8]) -> anyhow::Result<Self> {
        Ok(Self {
            function: kind.prove_function(),
            request_id: forwarded_request_id(kind, signed)?,
            sha256: sha256_hex(signed),
        })
    }

    /// The prove transaction's arguments for the challenge `nonce`.
    pub fn args<'a>(&'a self, nonce: &'a str) -> [&'a [u8]; 4] {
        [
            self.function.as_bytes(),
            self.request_id.as_bytes(),
            self.sha256.as_bytes(),
            nonce.as_bytes(),
        ]
    }
}

/// SHA-256 of a signed message in lower-case hex, as proofs name it.
pub fn sha256_hex(signed: &[u8]) -> String {
    hex::encode(Sha256::digest(signed))
}

/// `payload` attested in the name of `network` with `key` (which need not
/// be that network's key), as relay-to-relay bytes.
pub fn attested(payload: Payload, network: &str, key: &SigningKey) -> Vec<u8> {
    ForwardedEnvelope::attest(payload, network, key).encode_to_vec()
}

/// Block height of the channel on the first peer of org1 (the peer the
/// gateways here submit through, so a commit is visible there).
pub fn height(net: &NetworkDescription) -> anyhow::Result<u64> {
    let org1 = org(net, "org1")?;
    let peer = org1
        .peers
        .first()
        .with_context(|| format!("{} has no peer", org1.name))?;
    peer_height(org1, peer, &net.channel)
}

/// `GetRequestStatus` of `request_id`, as JSON; an error when there is none.
pub async fn request_status(contract: &Contract, request_id: &str) -> anyhow::Result<Value> {
    let bytes = contract
        .evaluate(function::GET_REQUEST_STATUS, [request_id])
        .await?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// The stored entry of `request_id`, or `None` when the contract says
/// there is none (`NOT_FOUND`); any other failure is an error.
pub async fn stored_entry(
    contract: &Contract,
    request_id: &str,
) -> anyhow::Result<Option<RequestEntry>> {
    match contract
        .evaluate(function::GET_REQUEST_STATUS, [request_id])
        .await
    {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).context("GetRequestStatus's result")?,
        )),
        Err(error) if error_code(&error) == Some(ErrorCode::NotFound) => Ok(None),
        Err(error) => Err(error).context("GetRequestStatus"),
    }
}

/// Waits (30 s at most) until every peer of `net` has at least the block
/// height that org1's first peer has now, and returns that height: what
/// was committed through the gateways here is then seen by whichever peer
/// endorses next. For commits whose transaction id is unknown (a challenge
/// a relay asked for); with the id, [`crate::exchange::wait_for_peers`].
pub async fn level(net: &NetworkDescription) -> anyhow::Result<u64> {
    let target = height(net)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    for org in &net.organizations {
        for peer in &org.peers {
            while peer_height(org, peer, &net.channel)? < target {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "peer {} of {} did not reach height {target} within 30 s",
                    peer.name,
                    net.name
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Ok(target)
}

/// The audit entries about `subject` (a patient ref, `admin` or
/// `security`), oldest first.
pub async fn audit_trail(contract: &Contract, subject: &str) -> anyhow::Result<Vec<Value>> {
    let bytes = contract.evaluate(function::AUDIT_TRAIL, [subject]).await?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// Kinds of the audit entries about `subject` (a patient ref, `admin` or
/// `security`) that concern `request_id` (all entries when `None`).
pub async fn audit_kinds(
    contract: &Contract,
    subject: &str,
    request_id: Option<&str>,
) -> anyhow::Result<Vec<String>> {
    let trail = audit_trail(contract, subject).await?;
    Ok(trail
        .iter()
        .filter(|entry| request_id.is_none_or(|id| entry["request_id"] == id))
        .filter_map(|entry| entry["kind"].as_str().map(str::to_owned))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_fresh_v4_uuids() {
        let (a, b) = (fresh_request_id(), fresh_request_id());
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn an_attestation_by_another_key_does_not_verify() {
        let genuine = SigningKey::from_bytes(&[1; 32]);
        let payload = || Payload::SignedRequest(vec![1, 2, 3]);
        let check = |bytes: Vec<u8>| {
            ForwardedEnvelope::decode(bytes.as_slice())
                .unwrap()
                .verify_attestation("net1", |_| Some(genuine.verifying_key()))
                .is_ok()
        };
        assert!(check(attested(payload(), "net1", &genuine)));
        assert!(!check(attested(
            payload(),
            "net1",
            &SigningKey::from_bytes(&[2; 32])
        )));
    }
}
