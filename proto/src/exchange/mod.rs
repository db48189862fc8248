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

pub mod attest;
pub mod proof;
pub mod seal;
pub mod signed;
