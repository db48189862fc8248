//! A client for the Hyperledger Fabric Gateway service (Fabric 2.4 and
//! later): evaluate, endorse, submit, commit status, block and chaincode
//! events, in the manner of Fabric's official gateway clients.
//!
//! One module per concept, in the order a transaction flows: identities and
//! [`sign`] (who signs and how, from `hlf-identity`), `connection` (the gRPC
//! channel, or [`ConnectionProfile`] for a standard connection profile),
//! `gateway` → `network` → `contract` → `proposal` → `transaction` →
//! `commit`, then `events` with `checkpoint`, and [`error`] beside them;
//! `client` under them all makes the gRPC calls. Every signed stage exposes
//! its bytes and digest and can be rebuilt from bytes plus a signature made
//! elsewhere (offline signing).
//!
//! The modules are private and their public types are named here, so this
//! list is the whole surface; [`error`] stays a module of its own.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use hlf_gateway::{ConnectionProfile, Gateway, SigningIdentity};
//!
//! let profile = ConnectionProfile::load("connection-org1.json".as_ref())?;
//! let channel = profile.peer_connection("peer0.org1.example.com")?.connect().await?;
//! let identity = SigningIdentity::from_msp_dir("Org1MSP", "users/User1/msp".as_ref())?;
//! let gateway = Gateway::new(channel, identity);
//! let contract = gateway.network("mychannel").contract("basic");
//! let result = contract.evaluate("ReadAsset", &["asset1"]).await?;
//! println!("{}", String::from_utf8_lossy(&result));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod chaincode_event;
mod checkpoint;
mod client;
mod commit;
mod connection;
mod contract;
pub mod error;
mod events;
mod gateway;
mod network;
mod profile;
mod proposal;
mod signable;
mod transaction;

#[cfg(test)]
mod offline_tests;

pub use checkpoint::{
    Checkpoint, CheckpointError, Checkpointer, FileCheckpointer, InMemoryCheckpointer, load_json,
    replace_file_durably, save_json_durably,
};
pub use commit::{Commit, Status};
pub use profile::{
    ConnectionProfile, DocumentError, ProfileClient, ProfileError, ProfileOrganization,
    ProfilePeer, TlsCaCerts, parse_document, read_document,
};
// A commit's validation code is part of this layer's answers (`Status`,
// `Error::Commit`), so it is named here, not only deep in the wire types.
pub use chaincode_event::ChaincodeEvent;
pub use client::{BlockEventsKind, Timeouts};
pub use connection::{ConnectionBuilder, ConnectionError};
pub use contract::{Committed, Contract, NO_ARGS, Submitted};
pub use error::{CallError, Error, ErrorDetail};
pub use events::{
    BlockEvent, BlockEventStream, BlockEventsBuilder, BlockEventsRequest, ChaincodeEventStream,
    ChaincodeEventsBuilder, ChaincodeEventsRequest,
};
pub use gateway::Gateway;
pub use hlf_identity::{self as identity, Identity, IdentityError, SigningIdentity};
/// The Fabric wire types this client speaks, for decoding blocks and
/// matching codes.
pub use hlf_protos as protos;
pub use hlf_protos::peer::TxValidationCode;
pub use network::Network;
pub use proposal::{Proposal, ProposalBuilder};
/// The gRPC and protobuf crates the types above come from.
pub use {prost, tonic};
// Signing is shared with the chaincode side, so it lives in hlf-identity.
pub use hlf_identity::sign;
pub use sign::{Ed25519Signer, OfflineSigner, P256Signer, PrivateKey, SignError, Signer};
pub use transaction::Transaction;

// The README's examples compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
