//! Hyperledger Fabric identities and signatures.
//!
//! - [`sign`]: signing keys the way Fabric wants their signatures: ECDSA
//!   P-256 over the SHA-256 digest, DER-encoded, low-S only; Ed25519 over the
//!   whole message (v3 channels). Keys sit behind the [`Signer`] trait, so
//!   one can live in an HSM or a remote signer, or sign offline.
//! - [`verify`]: checking such a signature against the public key in an
//!   X.509 certificate or a serialized identity, refusing high-S twins.
//! - [`Identity`] and [`SigningIdentity`]: an MSP id with its certificate
//!   (the `creator` bytes every Fabric message names its author by), alone or
//!   paired with a signer, loaded from an MSP folder or PEM files with the key
//!   checked against the certificate.
//!
//! Used by both sides of a Fabric application: a gateway client signs with
//! it, a chaincode verifies with it.

#![warn(missing_docs)]

mod identity;
pub mod sign;
pub mod verify;

pub use identity::{Identity, IdentityError, SigningIdentity};
pub use sign::{Ed25519Signer, OfflineSigner, P256Signer, PrivateKey, SignError, Signer};
pub use verify::{PublicKey, VerifyError};

// The README's examples compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
