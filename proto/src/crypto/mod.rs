//! Signatures the way Fabric identities make them, shared by the chaincode
//! (which verifies) and the SDK (which signs and verifies): ECDSA P-256 over
//! the SHA-256 digest, DER, low-S only; Ed25519 over the whole message.

pub mod sign;
pub mod verify;

pub use sign::{Ed25519Signer, OfflineSigner, P256Signer, PrivateKey, SignError, Signer};
pub use verify::{PublicKey, VerifyError};
