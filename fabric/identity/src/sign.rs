//! Signing keys. Every stage of a transaction is signed by calling
//! [`Signer::digest`] on its bytes and [`Signer::sign`] on the result, so a
//! stage can expose its digest for offline signing and a key can live
//! anywhere (an HSM, a remote signer) behind the [`Signer`] trait.
//!
//! Fabric verifies ECDSA P-256 signatures over the SHA-256 digest of the
//! message, DER-encoded and with a low S (it rejects the high-S twin of a
//! valid signature to stop malleability); Ed25519 signatures (v3 channels)
//! cover the whole message, so its "digest" is the message itself.

use std::fmt;

use p256::ecdsa::signature::hazmat::PrehashSigner;
use sha2::{Digest, Sha256};

/// Why a key could not be read or could not sign.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The PEM text is neither a PKCS#8 P-256 or Ed25519 key nor a SEC1 EC key.
    #[error(
        "unsupported or malformed private key: expected a PKCS#8 P-256 or Ed25519 key, or a SEC1 P-256 key"
    )]
    UnsupportedKey,
    /// The signing operation itself failed.
    #[error("signing failed: {0}")]
    Failed(String),
    /// The key is held elsewhere (see [`OfflineSigner`]).
    #[error(
        "this identity's key is held elsewhere: sign the digest offline and rebuild the stage with the signature"
    )]
    Offline,
    /// A digest of the wrong length was handed to a P-256 signer.
    #[error("a P-256 signature needs a 32-byte SHA-256 digest, got {0} bytes")]
    DigestLength(usize),
}

/// A private key that signs for one identity.
///
/// `digest` turns a message into what `sign` signs: offline signers sign the
/// same digest, so both paths give the same bytes.
pub trait Signer: fmt::Debug + Send + Sync {
    /// The bytes to sign for `message`: SHA-256 for ECDSA, unless overridden.
    fn digest(&self, message: &[u8]) -> Vec<u8> {
        Sha256::digest(message).to_vec()
    }

    /// A signature over `digest` as Fabric expects it for this key type.
    fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, SignError>;

    /// A signature over `message`: the same as signing its
    /// [`Self::digest`], which is what it does unless a key can sign the
    /// message faster itself.
    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign(&self.digest(message))
    }
}

/// An ECDSA P-256 key held in memory.
pub struct P256Signer {
    key: p256::ecdsa::SigningKey,
    /// The same key for `ring`, which signs whole messages only.
    fast: Option<FastP256>,
}

/// A P-256 key pair in `ring`'s form, with the randomness its signatures
/// take.
struct FastP256 {
    pair: ring::signature::EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl FastP256 {
    fn new(key: &p256::ecdsa::SigningKey) -> Option<Self> {
        let rng = ring::rand::SystemRandom::new();
        let public = key.verifying_key().to_sec1_point(false);
        let pair = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &key.to_bytes(),
            public.as_bytes(),
            &rng,
        )
        .ok()?;
        Some(Self { pair, rng })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let signature = self
            .pair
            .sign(&self.rng, message)
            .map_err(|_| SignError::Failed("ECDSA P-256 signing failed".into()))?;
        let signature = p256::ecdsa::Signature::from_der(signature.as_ref())
            .map_err(|e| SignError::Failed(e.to_string()))?;
        Ok(low_s_der(&signature))
    }
}

impl fmt::Debug for P256Signer {
    // Never print key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P256Signer").finish_non_exhaustive()
    }
}

impl P256Signer {
    /// Wraps a P-256 signing key.
    pub fn new(key: p256::ecdsa::SigningKey) -> Self {
        let fast = FastP256::new(&key);
        Self { key, fast }
    }

    /// The uncompressed SEC1 public key, to match against a certificate.
    pub fn public_key_sec1(&self) -> Vec<u8> {
        self.key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec()
    }
}

impl Signer for P256Signer {
    fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, SignError> {
        if digest.len() != 32 {
            return Err(SignError::DigestLength(digest.len()));
        }
        let signature: p256::ecdsa::Signature = self
            .key
            .sign_prehash(digest)
            .map_err(|e| SignError::Failed(e.to_string()))?;
        Ok(low_s_der(&signature))
    }

    fn sign_message(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.fast {
            Some(fast) => fast.sign(message),
            None => self.sign(&self.digest(message)),
        }
    }
}

/// DER encoding of the low-S form of `signature`; p256 may produce either
/// form and Fabric accepts only the low one.
pub fn low_s_der(signature: &p256::ecdsa::Signature) -> Vec<u8> {
    signature.normalize_s().to_der().as_bytes().to_vec()
}

/// An Ed25519 key held in memory.
pub struct Ed25519Signer {
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for Ed25519Signer {
    // Never print key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Signer").finish_non_exhaustive()
    }
}

impl Ed25519Signer {
    /// Wraps an Ed25519 signing key.
    pub fn new(key: ed25519_dalek::SigningKey) -> Self {
        Self { key }
    }

    /// The 32-byte public key, to match against a certificate.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

impl Signer for Ed25519Signer {
    /// Ed25519 hashes internally and signs the message itself.
    fn digest(&self, message: &[u8]) -> Vec<u8> {
        message.to_vec()
    }

    fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, SignError> {
        use ed25519_dalek::Signer as _;
        Ok(self.key.sign(digest).to_bytes().to_vec())
    }
}

/// A signer whose key is elsewhere: it makes digests of the right kind, so
/// stages can be built and their digests signed offline, and refuses to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineSigner {
    /// The key is ECDSA P-256: digests are SHA-256.
    P256,
    /// The key is Ed25519: the digest is the message.
    Ed25519,
}

impl Signer for OfflineSigner {
    fn digest(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::P256 => Sha256::digest(message).to_vec(),
            Self::Ed25519 => message.to_vec(),
        }
    }

    fn sign(&self, _digest: &[u8]) -> Result<Vec<u8>, SignError> {
        Err(SignError::Offline)
    }
}

/// A private key read from PEM text, with its public half so the caller can
/// check it belongs to a certificate.
#[derive(Debug)]
pub enum PrivateKey {
    /// ECDSA over P-256.
    P256(P256Signer),
    /// Ed25519.
    Ed25519(Ed25519Signer),
}

impl PrivateKey {
    /// Reads a PKCS#8 P-256 or Ed25519 key (`PRIVATE KEY`, as cryptogen and
    /// fabric-ca write them) or an older SEC1 P-256 key (`EC PRIVATE KEY`).
    pub fn from_pem(pem: &str) -> Result<Self, SignError> {
        // One trait for both key types: both crates use the same pkcs8 crate.
        use p256::pkcs8::DecodePrivateKey as _;
        if let Ok(key) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            return Ok(Self::P256(P256Signer::new(key)));
        }
        if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            return Ok(Self::Ed25519(Ed25519Signer::new(key)));
        }
        if let Ok(secret) = p256::SecretKey::from_sec1_pem(pem) {
            return Ok(Self::P256(P256Signer::new(secret.into())));
        }
        Err(SignError::UnsupportedKey)
    }

    /// The public key as it appears in a certificate's subject public key
    /// info: an uncompressed SEC1 point for P-256, 32 raw bytes for Ed25519.
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            Self::P256(signer) => signer.public_key_sec1(),
            Self::Ed25519(signer) => signer.public_key().to_vec(),
        }
    }

    /// The key as a shareable signer.
    pub fn into_signer(self) -> std::sync::Arc<dyn Signer> {
        match self {
            Self::P256(signer) => std::sync::Arc::new(signer),
            Self::Ed25519(signer) => std::sync::Arc::new(signer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier as _;

    /// The order n of the P-256 group, big-endian.
    const P256_ORDER: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63,
        0x25, 0x51,
    ];

    /// n / 2 by a one-bit right shift of the big-endian bytes.
    fn half_order() -> [u8; 32] {
        let mut half = [0u8; 32];
        let mut carry = 0u8;
        for (i, byte) in P256_ORDER.iter().enumerate() {
            half[i] = (byte >> 1) | (carry << 7);
            carry = byte & 1;
        }
        half
    }

    /// n - s, by schoolbook subtraction on big-endian bytes.
    fn order_minus(s: &[u8; 32]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let mut d = i16::from(P256_ORDER[i]) - i16::from(s[i]) - borrow;
            borrow = 0;
            if d < 0 {
                d += 256;
                borrow = 1;
            }
            out[i] = d as u8;
        }
        out
    }

    /// The fixed-size encoding is r ‖ s, 32 bytes each.
    fn r_and_s(signature: &p256::ecdsa::Signature) -> ([u8; 32], [u8; 32]) {
        let bytes = signature.to_bytes();
        (
            bytes[..32].try_into().unwrap(),
            bytes[32..].try_into().unwrap(),
        )
    }

    fn s_bytes(signature: &p256::ecdsa::Signature) -> [u8; 32] {
        r_and_s(signature).1
    }

    fn test_key(seed: u8) -> p256::ecdsa::SigningKey {
        let bytes = [seed; 32].into();
        p256::ecdsa::SigningKey::from_bytes(&bytes).unwrap()
    }

    #[test]
    fn p256_signatures_are_always_low_s_and_verify() {
        let half = half_order();
        let mut saw_high_before_normalising = false;
        for seed in 1..=40u8 {
            let key = test_key(seed);
            let signer = P256Signer::new(key.clone());
            let message = format!("message {seed}");
            let digest = signer.digest(message.as_bytes());
            assert_eq!(digest, Sha256::digest(message.as_bytes()).to_vec());

            let raw: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
            saw_high_before_normalising |= s_bytes(&raw) > half;

            let der = signer.sign(&digest).unwrap();
            let signature = p256::ecdsa::Signature::from_der(&der).unwrap();
            assert!(
                s_bytes(&signature) <= half,
                "high S emitted for seed {seed}"
            );
            key.verifying_key()
                .verify(message.as_bytes(), &signature)
                .unwrap();
        }
        // Forty deterministic signatures include high-S ones (each is high with
        // probability one half), so normalisation was really exercised.
        assert!(saw_high_before_normalising);
    }

    #[test]
    fn whole_message_p256_signatures_are_low_s_and_verify_like_digest_ones() {
        let half = half_order();
        for seed in 1..=40u8 {
            let key = test_key(seed);
            let signer = P256Signer::new(key.clone());
            assert!(signer.fast.is_some(), "ring took the key");
            let message = format!("whole message {seed}").into_bytes();
            let der = signer.sign_message(&message).unwrap();
            let signature = p256::ecdsa::Signature::from_der(&der).unwrap();
            assert!(s_bytes(&signature) <= half, "high S for seed {seed}");
            key.verifying_key().verify(&message, &signature).unwrap();
            // Another message does not verify.
            assert!(key.verifying_key().verify(b"other", &signature).is_err());
        }
        // An empty and a 1 MiB message sign too.
        let signer = P256Signer::new(test_key(9));
        for message in [Vec::new(), vec![0xA5; 1 << 20]] {
            let signature =
                p256::ecdsa::Signature::from_der(&signer.sign_message(&message).unwrap()).unwrap();
            test_key(9)
                .verifying_key()
                .verify(&message, &signature)
                .unwrap();
        }
    }

    #[test]
    fn the_default_whole_message_signature_signs_the_digest() {
        let secret = [3u8; 32];
        let signer = Ed25519Signer::new(ed25519_dalek::SigningKey::from_bytes(&secret));
        assert_eq!(
            signer.sign_message(b"m").unwrap(),
            signer.sign(&signer.digest(b"m")).unwrap()
        );
        assert!(matches!(
            OfflineSigner::P256.sign_message(b"m"),
            Err(SignError::Offline)
        ));
    }

    #[test]
    fn a_constructed_high_s_signature_is_normalised_to_n_minus_s() {
        let key = test_key(7);
        let digest = Sha256::digest(b"high s").to_vec();
        let raw: p256::ecdsa::Signature = key.sign_prehash(&digest).unwrap();
        let low = raw.normalize_s();
        let high_s = order_minus(&s_bytes(&low));
        assert!(high_s > half_order());
        let (r, _) = r_and_s(&low);
        let high = p256::ecdsa::Signature::from_scalars(r, high_s).unwrap();
        // The high twin is a valid ECDSA signature too; Fabric would refuse it.
        key.verifying_key().verify(b"high s", &high).unwrap();

        let der = low_s_der(&high);
        let normalised = p256::ecdsa::Signature::from_der(&der).unwrap();
        assert_eq!(s_bytes(&normalised), s_bytes(&low));
        assert_eq!(P256Signer::new(key).sign(&digest).unwrap(), der);
    }

    #[test]
    fn p256_rejects_a_digest_of_the_wrong_length() {
        let signer = P256Signer::new(test_key(3));
        assert!(matches!(
            signer.sign(b"not a digest"),
            Err(SignError::DigestLength(12))
        ));
    }

    #[test]
    fn ed25519_matches_rfc8032_test_vector_1() {
        let secret: [u8; 32] =
            hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap();
        let signer = Ed25519Signer::new(ed25519_dalek::SigningKey::from_bytes(&secret));
        assert_eq!(
            hex::encode(signer.public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert_eq!(signer.digest(b""), b"");
        assert_eq!(
            hex::encode(signer.sign(b"").unwrap()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn pem_keys_of_each_kind_are_recognised() {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        use p256::pkcs8::LineEnding;
        let p256_pem = test_key(9).to_pkcs8_pem(LineEnding::LF).unwrap();
        assert!(matches!(
            PrivateKey::from_pem(&p256_pem).unwrap(),
            PrivateKey::P256(_)
        ));
        let sec1_pem = p256::SecretKey::from(test_key(9))
            .to_sec1_pem(LineEnding::LF)
            .unwrap();
        assert!(matches!(
            PrivateKey::from_pem(&sec1_pem).unwrap(),
            PrivateKey::P256(_)
        ));
        let ed_pem = ed25519_dalek::SigningKey::from_bytes(&[5; 32])
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap();
        assert!(matches!(
            PrivateKey::from_pem(&ed_pem).unwrap(),
            PrivateKey::Ed25519(_)
        ));
        assert!(matches!(
            PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Err(SignError::UnsupportedKey)
        ));
    }
}
