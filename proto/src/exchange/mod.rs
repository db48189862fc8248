//! The EHR exchange's own wire format (package `ehrx.v1`) and the operations
//! both ends perform on it: signing and opening requests and replies
//! ([`signed`]), network attestations ([`attest`]), proofs that the source
//! network's peers validated a request ([`proof`]), and sealing records to
//! the requester ([`seal`]). The chaincode verifies with these, the SDK and
//! the relay produce with them, so both sides agree on every byte.

// Generated code is not ours to restyle.
#[allow(clippy::all, clippy::pedantic)]
mod wire {
    include!(concat!(env!("OUT_DIR"), "/ehrx.v1.rs"));
}

pub use wire::*;

use sha2::{Digest as _, Sha256};

impl Record {
    /// How a reply lists this record: its id and category, and the
    /// SHA-256 of its content (the private data hash the replying
    /// network's ledger keeps).
    pub fn digest(&self) -> RecordDigest {
        RecordDigest {
            record_id: self.record_id.clone(),
            category: self.category.clone(),
            sha256: Sha256::digest(&self.content).to_vec(),
        }
    }
}

pub mod attest;
pub mod proof;
pub mod seal;
pub mod signed;
