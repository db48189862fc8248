//! Sealing a reply's records to the requester with HPKE (RFC 9180), base
//! mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305.
//!
//! Peers, orderers and relays only ever carry the ciphertext. The HPKE
//! `info` binds it to one request and the two networks, so sealed records
//! lifted into another reply fail to open.

use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use prost::Message;

use super::{RecordBundle, SealedRecords};

type Kem = hpke::kem::X25519HkdfSha256;
type Kdf = hpke::kdf::HkdfSha256;
type Aead = hpke::aead::ChaCha20Poly1305;

const DOMAIN: &[u8] = b"ehrx.v1/sealed-records";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the requester's encryption key is not a 32-byte X25519 public key")]
    BadRecipientKey,
    #[error("the decryption key is not a 32-byte X25519 private key")]
    BadDecryptionKey,
    #[error("the encapsulated key is malformed")]
    BadEncapsulatedKey,
    #[error("sealing failed")]
    Seal,
    #[error(
        "the sealed records do not open with this key for this request (wrong key, or tampered)"
    )]
    Open,
    #[error("the opened records are not a well-formed record bundle: {0}")]
    Malformed(String),
}

/// Which reply the records belong to; bound into the ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealContext<'a> {
    pub request_id: &'a str,
    pub replying_network: &'a str,
    pub receiving_network: &'a str,
}

impl SealContext<'_> {
    fn info(&self) -> Vec<u8> {
        let mut info = Vec::new();
        for part in [
            DOMAIN,
            self.request_id.as_bytes(),
            self.replying_network.as_bytes(),
            self.receiving_network.as_bytes(),
        ] {
            info.extend_from_slice(&(part.len() as u64).to_be_bytes());
            info.extend_from_slice(part);
        }
        info
    }
}

/// The requester's private key; its public half goes into the request.
#[derive(Clone)]
pub struct DecryptionKey(<Kem as hpke::Kem>::PrivateKey);

impl std::fmt::Debug for DecryptionKey {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecryptionKey(..)")
    }
}

impl DecryptionKey {
    /// A fresh key pair: the key and its 32-byte public key.
    pub fn generate() -> (Self, Vec<u8>) {
        let (private, public) = Kem::gen_keypair();
        (DecryptionKey(private), public.to_bytes().to_vec())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        <Kem as hpke::Kem>::PrivateKey::from_bytes(bytes)
            .map(DecryptionKey)
            .map_err(|_| SealError::BadDecryptionKey)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes().to_vec()
    }

    /// Opens records sealed for this key and this reply.
    pub fn open(
        &self,
        context: &SealContext<'_>,
        sealed: &SealedRecords,
    ) -> Result<RecordBundle, SealError> {
        let encapsulated = <Kem as hpke::Kem>::EncappedKey::from_bytes(&sealed.encapsulated_key)
            .map_err(|_| SealError::BadEncapsulatedKey)?;
        let plaintext = hpke::single_shot_open::<Aead, Kdf, Kem>(
            &OpModeR::Base,
            &self.0,
            &encapsulated,
            &context.info(),
            &sealed.ciphertext,
            &[],
        )
        .map_err(|_| SealError::Open)?;
        RecordBundle::decode(plaintext.as_slice()).map_err(|e| SealError::Malformed(e.to_string()))
    }
}

/// Seals `records` to the requester's public key for this reply.
pub fn seal(
    recipient_public_key: &[u8],
    context: &SealContext<'_>,
    records: &RecordBundle,
) -> Result<SealedRecords, SealError> {
    let recipient = <Kem as hpke::Kem>::PublicKey::from_bytes(recipient_public_key)
        .map_err(|_| SealError::BadRecipientKey)?;
    let (encapsulated, ciphertext) = hpke::single_shot_seal::<Aead, Kdf, Kem>(
        &OpModeS::Base,
        &recipient,
        &context.info(),
        &records.encode_to_vec(),
        &[],
    )
    .map_err(|_| SealError::Seal)?;
    Ok(SealedRecords {
        encapsulated_key: encapsulated.to_bytes().to_vec(),
        ciphertext,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::Record;

    const CONTEXT: SealContext<'static> = SealContext {
        request_id: "req-1",
        replying_network: "net2",
        receiving_network: "net1",
    };

    fn bundle() -> RecordBundle {
        RecordBundle {
            records: vec![Record {
                record_id: "cond-1".into(),
                category: "Condition".into(),
                content: br#"{"resourceType":"Condition","id":"cond-1"}"#.to_vec(),
            }],
        }
    }

    #[test]
    fn sealed_records_open_with_the_requesters_key() {
        let (key, public) = DecryptionKey::generate();
        assert_eq!(public.len(), 32);
        let sealed = seal(&public, &CONTEXT, &bundle()).unwrap();
        assert_eq!(key.open(&CONTEXT, &sealed).unwrap(), bundle());
        let restored = DecryptionKey::from_bytes(&key.to_bytes()).unwrap();
        assert_eq!(restored.open(&CONTEXT, &sealed).unwrap(), bundle());
    }

    #[test]
    fn ciphertext_does_not_contain_the_plaintext() {
        let (_, public) = DecryptionKey::generate();
        let sealed = seal(&public, &CONTEXT, &bundle()).unwrap();
        let needle = b"resourceType";
        assert!(!sealed.ciphertext.windows(needle.len()).any(|w| w == needle));
    }

    #[test]
    fn wrong_key_other_reply_or_tampering_fail_to_open() {
        let (key, public) = DecryptionKey::generate();
        let (other, _) = DecryptionKey::generate();
        let sealed = seal(&public, &CONTEXT, &bundle()).unwrap();
        assert_eq!(other.open(&CONTEXT, &sealed), Err(SealError::Open));
        let elsewhere = SealContext {
            request_id: "req-2",
            ..CONTEXT
        };
        assert_eq!(key.open(&elsewhere, &sealed), Err(SealError::Open));
        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert_eq!(key.open(&CONTEXT, &tampered), Err(SealError::Open));
        let mut bad_enc = sealed;
        bad_enc.encapsulated_key.truncate(5);
        assert_eq!(
            key.open(&CONTEXT, &bad_enc),
            Err(SealError::BadEncapsulatedKey)
        );
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert_eq!(
            seal(&[1, 2, 3], &CONTEXT, &bundle()),
            Err(SealError::BadRecipientKey)
        );
        assert!(matches!(
            DecryptionKey::from_bytes(&[0; 3]),
            Err(SealError::BadDecryptionKey)
        ));
    }
}
