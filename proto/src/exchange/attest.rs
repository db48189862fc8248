//! Network attestations: a network's Ed25519 network key vouches for what
//! its relay forwards to another network.
//!
//! The signed message binds the attesting network's id and the kind of
//! payload to the payload bytes, with length prefixes so no two (network,
//! kind, payload) triples share a message: an attestation of a request can
//! never pass for one of a reply, nor one network's for another's.

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use super::{ForwardedEnvelope, NetworkAttestation, forwarded_envelope::Payload};

const DOMAIN: &[u8] = b"ehrx.v1/network-attestation";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttestError {
    #[error("the envelope carries no payload")]
    MissingPayload,
    #[error("the envelope carries no attestation")]
    MissingAttestation,
    #[error("the attestation is by network {found:?}, expected {expected:?}")]
    WrongNetwork { expected: String, found: String },
    #[error("network {0:?} is not in the lookup table")]
    UnknownNetwork(String),
    #[error("the attestation signature of network {0:?} does not verify")]
    BadSignature(String),
}

fn kind_tag(payload: &Payload) -> (&'static [u8], &[u8]) {
    match payload {
        Payload::SignedRequest(bytes) => (b"signed-request", bytes),
        Payload::SignedReply(bytes) => (b"signed-reply", bytes),
    }
}

/// The exact bytes a network key signs for `payload`.
pub fn attested_message(network_id: &str, payload: &Payload) -> Vec<u8> {
    let (kind, bytes) = kind_tag(payload);
    let mut message =
        Vec::with_capacity(DOMAIN.len() + kind.len() + network_id.len() + bytes.len() + 16);
    for part in [DOMAIN, kind, network_id.as_bytes(), bytes] {
        message.extend_from_slice(&(part.len() as u64).to_be_bytes());
        message.extend_from_slice(part);
    }
    message
}

impl ForwardedEnvelope {
    /// Wraps `payload` with `network_id`'s attestation made with its key.
    pub fn attest(payload: Payload, network_id: &str, network_key: &SigningKey) -> Self {
        let signature = network_key
            .sign(&attested_message(network_id, &payload))
            .to_bytes()
            .to_vec();
        ForwardedEnvelope {
            attestation: Some(NetworkAttestation {
                network_id: network_id.to_owned(),
                signature,
            }),
            payload: Some(payload),
        }
    }

    /// Checks that the envelope is attested by `expected_network`, whose key
    /// `lookup` finds (the receiving network's lookup table), and returns
    /// the payload.
    pub fn verify_attestation(
        &self,
        expected_network: &str,
        lookup: impl FnOnce(&str) -> Option<VerifyingKey>,
    ) -> Result<&Payload, AttestError> {
        let payload = self.payload.as_ref().ok_or(AttestError::MissingPayload)?;
        let attestation = self
            .attestation
            .as_ref()
            .ok_or(AttestError::MissingAttestation)?;
        if attestation.network_id != expected_network {
            return Err(AttestError::WrongNetwork {
                expected: expected_network.to_owned(),
                found: attestation.network_id.clone(),
            });
        }
        let key = lookup(&attestation.network_id)
            .ok_or_else(|| AttestError::UnknownNetwork(attestation.network_id.clone()))?;
        let bad = || AttestError::BadSignature(attestation.network_id.clone());
        let signature =
            ed25519_dalek::Signature::from_slice(&attestation.signature).map_err(|_| bad())?;
        key.verify_strict(
            &attested_message(&attestation.network_id, payload),
            &signature,
        )
        .map_err(|_| bad())?;
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn lookup_net1(id: &str) -> Option<VerifyingKey> {
        (id == "net1").then(|| key(1).verifying_key())
    }

    #[test]
    fn attested_envelope_verifies_with_the_network_key() {
        let envelope =
            ForwardedEnvelope::attest(Payload::SignedRequest(vec![1, 2, 3]), "net1", &key(1));
        assert_eq!(
            envelope.verify_attestation("net1", lookup_net1),
            Ok(&Payload::SignedRequest(vec![1, 2, 3]))
        );
    }

    #[test]
    fn each_rejection_is_named() {
        let good = ForwardedEnvelope::attest(Payload::SignedRequest(vec![1]), "net1", &key(1));

        let forged = ForwardedEnvelope::attest(Payload::SignedRequest(vec![1]), "net1", &key(2));
        assert_eq!(
            forged.verify_attestation("net1", lookup_net1),
            Err(AttestError::BadSignature("net1".into()))
        );

        let mut swapped = good.clone();
        swapped.payload = Some(Payload::SignedReply(vec![1]));
        assert_eq!(
            swapped.verify_attestation("net1", lookup_net1),
            Err(AttestError::BadSignature("net1".into()))
        );

        assert_eq!(
            good.verify_attestation("net3", lookup_net1),
            Err(AttestError::WrongNetwork {
                expected: "net3".into(),
                found: "net1".into()
            })
        );
        let stranger = ForwardedEnvelope::attest(Payload::SignedRequest(vec![1]), "net9", &key(9));
        assert_eq!(
            stranger.verify_attestation("net9", lookup_net1),
            Err(AttestError::UnknownNetwork("net9".into()))
        );

        let mut bare = good.clone();
        bare.attestation = None;
        assert_eq!(
            bare.verify_attestation("net1", lookup_net1),
            Err(AttestError::MissingAttestation)
        );
        let mut empty = good.clone();
        empty.payload = None;
        assert_eq!(
            empty.verify_attestation("net1", lookup_net1),
            Err(AttestError::MissingPayload)
        );
        let mut short = good;
        if let Some(a) = short.attestation.as_mut() {
            a.signature.truncate(10);
        }
        assert_eq!(
            short.verify_attestation("net1", lookup_net1),
            Err(AttestError::BadSignature("net1".into()))
        );
    }

    #[test]
    fn messages_are_unambiguous() {
        let a = attested_message("net1", &Payload::SignedRequest(b"x".to_vec()));
        let b = attested_message("net1x", &Payload::SignedRequest(Vec::new()));
        let c = attested_message("net1", &Payload::SignedReply(b"x".to_vec()));
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
