//! Messages an attacker (or a confused peer network) could produce, built
//! from real keys and identities of the local networks: signed requests and
//! replies, network attestations, and a look at the ledger to show that a
//! refusal wrote nothing. Shared by the attack tests and the experiment.

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context as _;
use ed25519_dalek::SigningKey;
use prost::Message;
use serde_json::Value;

use ehrx_client::ehr::PatientRef;
use ehrx_client::ehr::interface::function;
use ehrx_client::fabric::{Contract, PrivateKey, Signer, config::Organization};
use ehrx_proto::exchange::forwarded_envelope::Payload;
use ehrx_proto::exchange::{
    ForwardedEnvelope, Purpose, Reply, ReplyStatus, Request, SignedReply, SignedRequest,
};

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

/// A well-formed request from network I to II for `patient` under the
/// doctor's requester code, signed with `keys`.
pub fn signed_request(
    request_id: &str,
    patient: &PatientRef,
    encryption_key: &[u8; 32],
    purpose: Purpose,
    keys: &UserKeys,
) -> anyhow::Result<Vec<u8>> {
    let request = Request {
        request_id: request_id.into(),
        source_network: "net1".into(),
        destination_network: "net2".into(),
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
    let reply = Reply {
        request_id: request_id.into(),
        replying_network: replying_network.into(),
        receiving_network: "net1".into(),
        status: ReplyStatus::NotFound as i32,
        reason: "no records for this patient".into(),
        created_at: Some(SystemTime::now().into()),
        ..Default::default()
    };
    let keys = user_keys(responder, "User1")?;
    Ok(SignedReply::sign(&reply, keys.creator, keys.signer.as_ref())?.encode_to_vec())
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
