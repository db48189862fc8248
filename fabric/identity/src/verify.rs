//! Verifying a signature against the public key in an X.509 certificate.
//!
//! Fabric rejects the high-S twin of a valid ECDSA signature (otherwise one
//! signed message would have two valid signatures, and a transaction two
//! ids), so verification here rejects it too, with its own error.

use p256::ecdsa::signature::Verifier as _;
use prost::Message as _;
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, asn1::ObjectIdentifier};

use hlf_protos::msp::SerializedIdentity;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Why a signature or the key to check it with was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The creator bytes are not a serialized identity.
    #[error("the identity is not a serialised msp.SerializedIdentity: {0}")]
    Identity(String),
    /// The identity holds no readable certificate.
    #[error("the certificate is not a PEM X.509 certificate: {0}")]
    Certificate(String),
    /// The certificate's key is neither P-256 nor Ed25519.
    #[error("unsupported public key algorithm {0}: expected ECDSA P-256 or Ed25519")]
    UnsupportedKey(String),
    /// The key bytes do not decode.
    #[error("the certificate's public key is malformed")]
    MalformedKey,
    /// The signature bytes do not decode (DER for P-256, 64 bytes for Ed25519).
    #[error("the signature is not a well-formed {0} signature")]
    MalformedSignature(&'static str),
    /// A high-S ECDSA signature, which Fabric refuses.
    #[error("the ECDSA signature has a high S value; only low-S signatures are accepted")]
    HighS,
    /// A well-formed signature that does not verify.
    #[error("the signature does not verify")]
    Invalid,
}

/// A public key of a kind Fabric identities use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// ECDSA over P-256 with SHA-256.
    P256(p256::ecdsa::VerifyingKey),
    /// Ed25519 (v3 channels).
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// The subject public key of a parsed certificate.
    pub fn from_certificate(certificate: &Certificate) -> Result<Self, VerifyError> {
        let spki = certificate.tbs_certificate().subject_public_key_info();
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or(VerifyError::MalformedKey)?;
        match spki.algorithm.oid {
            EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                if curve != Some(PRIME256V1) {
                    let name = curve
                        .map_or_else(|| "EC without a named curve".into(), |c| format!("EC {c}"));
                    return Err(VerifyError::UnsupportedKey(name));
                }
                p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                    .map(PublicKey::P256)
                    .map_err(|_| VerifyError::MalformedKey)
            }
            ED25519 => {
                let bytes: &[u8; 32] = key_bytes
                    .try_into()
                    .map_err(|_| VerifyError::MalformedKey)?;
                ed25519_dalek::VerifyingKey::from_bytes(bytes)
                    .map(PublicKey::Ed25519)
                    .map_err(|_| VerifyError::MalformedKey)
            }
            other => Err(VerifyError::UnsupportedKey(other.to_string())),
        }
    }

    /// The subject public key of a PEM certificate.
    pub fn from_certificate_pem(pem: &[u8]) -> Result<Self, VerifyError> {
        let certificate =
            Certificate::from_pem(pem).map_err(|e| VerifyError::Certificate(e.to_string()))?;
        Self::from_certificate(&certificate)
    }

    /// The key of a serialised `msp.SerializedIdentity` (MSP id + PEM
    /// certificate), as found in Fabric headers and endorsements, with its
    /// MSP id.
    pub fn from_serialized_identity(bytes: &[u8]) -> Result<(String, Self), VerifyError> {
        let identity =
            SerializedIdentity::decode(bytes).map_err(|e| VerifyError::Identity(e.to_string()))?;
        let key = Self::from_certificate_pem(&identity.id_bytes)?;
        Ok((identity.mspid, key))
    }

    /// Checks `signature` over `message`: for P-256 a DER signature of the
    /// message's SHA-256 digest with a low S; for Ed25519 a 64-byte
    /// signature of the message itself (strict verification).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), VerifyError> {
        match self {
            PublicKey::P256(key) => {
                let signature = p256::ecdsa::Signature::from_der(signature)
                    .map_err(|_| VerifyError::MalformedSignature("DER ECDSA"))?;
                if signature.normalize_s() != signature {
                    return Err(VerifyError::HighS);
                }
                key.verify(message, &signature)
                    .map_err(|_| VerifyError::Invalid)
            }
            PublicKey::Ed25519(key) => {
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| VerifyError::MalformedSignature("Ed25519"))?;
                key.verify_strict(message, &signature)
                    .map_err(|_| VerifyError::Invalid)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hlf_protos::peer::SignedProposal;

    /// A proposal signed by Fabric's own peer CLI (see hlf-protos' tests/fixtures).
    fn fixture() -> (Vec<u8>, Vec<u8>, PublicKey) {
        let signed = SignedProposal::decode(
            &include_bytes!("../../protos/tests/fixtures/signed-proposal.bin")[..],
        )
        .unwrap();
        let proposal =
            hlf_protos::peer::Proposal::decode(signed.proposal_bytes.as_slice()).unwrap();
        let header = hlf_protos::common::Header::decode(proposal.header.as_slice()).unwrap();
        let signature_header =
            hlf_protos::common::SignatureHeader::decode(header.signature_header.as_slice())
                .unwrap();
        let (msp_id, key) = PublicKey::from_serialized_identity(&signature_header.creator).unwrap();
        assert_eq!(msp_id, "Net1Org1MSP");
        (signed.proposal_bytes, signed.signature, key)
    }

    #[test]
    fn fabric_made_p256_signature_verifies() {
        let (message, signature, key) = fixture();
        assert!(matches!(key, PublicKey::P256(_)));
        assert_eq!(key.verify(&message, &signature), Ok(()));
    }

    #[test]
    fn tampered_message_or_signature_is_invalid() {
        let (mut message, signature, key) = fixture();
        message[10] ^= 1;
        assert_eq!(key.verify(&message, &signature), Err(VerifyError::Invalid));
        let (message, mut signature, key) = fixture();
        signature.truncate(signature.len() - 1);
        assert_eq!(
            key.verify(&message, &signature),
            Err(VerifyError::MalformedSignature("DER ECDSA"))
        );
    }

    #[test]
    fn high_s_twin_of_a_valid_signature_is_refused() {
        let (message, signature, key) = fixture();
        let low = p256::ecdsa::Signature::from_der(&signature).unwrap();
        let (r, s) = low.split_scalars();
        let high = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        assert_ne!(high, low);
        assert_eq!(
            key.verify(&message, &high.to_der().to_bytes()),
            Err(VerifyError::HighS)
        );
    }

    #[test]
    fn ed25519_rfc8032_test_vector_1() {
        let public: [u8; 32] =
            hex::decode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
                .unwrap()
                .try_into()
                .unwrap();
        let signature = hex::decode(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        )
        .unwrap();
        let key = PublicKey::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap());
        assert_eq!(key.verify(b"", &signature), Ok(()));
        assert_eq!(key.verify(b"x", &signature), Err(VerifyError::Invalid));
        assert_eq!(
            key.verify(b"", &signature[..63]),
            Err(VerifyError::MalformedSignature("Ed25519"))
        );
    }

    #[test]
    fn garbage_identities_and_certificates_are_named() {
        assert!(matches!(
            PublicKey::from_serialized_identity(&[0xff, 0xff]),
            Err(VerifyError::Identity(_))
        ));
        assert!(matches!(
            PublicKey::from_certificate_pem(
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            ),
            Err(VerifyError::Certificate(_))
        ));
    }
}
