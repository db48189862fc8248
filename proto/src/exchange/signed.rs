//! Signed requests and replies: the exact message bytes, the signature over
//! them and the signer's `msp.SerializedIdentity`.
//!
//! Opening a signed message verifies the signature over the bytes as
//! received and only then decodes them, so what is acted on is exactly what
//! was signed. Whether the signer is *allowed* to sign (registered,
//! unflagged, issued by the right CA) is the contract's decision, not this
//! module's.

use prost::Message;

use super::{Reply, Request, SignedReply, SignedRequest};
use hlf_identity::{PublicKey, SignError, Signer, VerifyError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the signer identity is unusable: {0}")]
    Signer(VerifyError),
    #[error("the signature over the {what} does not verify: {source}")]
    Signature {
        what: &'static str,
        source: VerifyError,
    },
    #[error("the signed bytes are not a well-formed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
}

/// A message whose signature verified, with who signed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified<M> {
    pub message: M,
    /// MSP id of the signer's identity.
    pub signer_msp_id: String,
    /// The signer's serialised identity, as carried.
    pub signer: Vec<u8>,
}

fn sign_bytes(bytes: &[u8], signer: &dyn Signer) -> Result<Vec<u8>, SignError> {
    signer.sign(&signer.digest(bytes))
}

fn open<M: Message + Default>(
    what: &'static str,
    bytes: &[u8],
    signature: &[u8],
    signer: &[u8],
) -> Result<Verified<M>, OpenError> {
    let (signer_msp_id, key) =
        PublicKey::from_serialized_identity(signer).map_err(OpenError::Signer)?;
    key.verify(bytes, signature)
        .map_err(|source| OpenError::Signature { what, source })?;
    let message = M::decode(bytes).map_err(|e| OpenError::Malformed {
        what,
        reason: e.to_string(),
    })?;
    Ok(Verified {
        message,
        signer_msp_id,
        signer: signer.to_vec(),
    })
}

/// `sign` and `open` of a signed wrapper `$signed` whose field `$field`
/// holds the serialised `$message`.
macro_rules! signed_message {
    ($signed:ident, $message:ident, $field:ident) => {
        impl $signed {
            #[doc = concat!("Signs `", stringify!($field), "` as `signer_identity` (serialised `msp.SerializedIdentity`).")]
            pub fn sign(
                $field: &$message,
                signer_identity: Vec<u8>,
                signer: &dyn Signer,
            ) -> Result<Self, SignError> {
                let $field = $field.encode_to_vec();
                let signature = sign_bytes(&$field, signer)?;
                Ok($signed {
                    $field,
                    signature,
                    signer: signer_identity,
                })
            }

            #[doc = concat!("Checks the signature over the exact `", stringify!($field), "` bytes and decodes them.")]
            pub fn open(&self) -> Result<Verified<$message>, OpenError> {
                open(stringify!($field), &self.$field, &self.signature, &self.signer)
            }
        }
    };
}

signed_message!(SignedRequest, Request, request);
signed_message!(SignedReply, Reply, reply);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use hlf_identity::{Ed25519Signer, P256Signer};
    use hlf_protos::msp::SerializedIdentity;

    /// A P-256 signer and its serialised identity with a self-signed
    /// certificate (the chain is not this module's concern).
    pub(crate) fn p256_identity(msp_id: &str) -> (P256Signer, Vec<u8>) {
        let (key, pem) =
            ehrx_testkit::self_signed_p256(7, "CN=User1@org1.net1.example.com,O=org1,C=US");
        let identity = SerializedIdentity {
            mspid: msp_id.into(),
            id_bytes: pem.into_bytes(),
        };
        (P256Signer::new(key), identity.encode_to_vec())
    }

    fn request() -> Request {
        Request {
            request_id: "6f1c1f7e-8a43-4d8b-9b1e-2f4b5f0e9a10".into(),
            source_network: "net1".into(),
            destination_network: "net2".into(),
            requester_code: "DR-0001".into(),
            patient_ref: vec![9; 32],
            ..Default::default()
        }
    }

    #[test]
    fn signed_request_opens_to_the_same_request_and_signer() {
        let (signer, identity) = p256_identity("Net1Org1MSP");
        let signed = SignedRequest::sign(&request(), identity.clone(), &signer).unwrap();
        let opened = signed.open().unwrap();
        assert_eq!(opened.message, request());
        assert_eq!(opened.signer_msp_id, "Net1Org1MSP");
        assert_eq!(opened.signer, identity);
    }

    #[test]
    fn tampered_bytes_fail_before_decoding() {
        let (signer, identity) = p256_identity("Net1Org1MSP");
        let mut signed = SignedRequest::sign(&request(), identity, &signer).unwrap();
        let last = signed.request.len() - 1;
        signed.request[last] ^= 1;
        assert!(matches!(
            signed.open(),
            Err(OpenError::Signature {
                what: "request",
                source: VerifyError::Invalid
            })
        ));
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let (_, identity) = p256_identity("Net1Org1MSP");
        let other = P256Signer::new(p256::ecdsa::SigningKey::from_slice(&[8u8; 32]).unwrap());
        let signed = SignedReply::sign(&Reply::default(), identity, &other).unwrap();
        assert!(matches!(
            signed.open(),
            Err(OpenError::Signature { what: "reply", .. })
        ));
    }

    #[test]
    fn signed_garbage_is_malformed_not_a_panic() {
        let (signer, identity) = p256_identity("Net1Org1MSP");
        let garbage = vec![0xff, 0xff, 0xff];
        let signature = sign_bytes(&garbage, &signer).unwrap();
        let signed = SignedRequest {
            request: garbage,
            signature,
            signer: identity,
        };
        assert!(matches!(
            signed.open(),
            Err(OpenError::Malformed {
                what: "request",
                ..
            })
        ));
    }

    #[test]
    fn unusable_signer_identity_is_named() {
        let signer = Ed25519Signer::new(ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
        let signed = SignedRequest::sign(&request(), vec![1, 2, 3], &signer).unwrap();
        assert!(matches!(
            signed.open(),
            Err(OpenError::Signer(VerifyError::Identity(_)))
        ));
    }
}
