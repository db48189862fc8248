//! A Fabric Gateway client, independent of the EHR domain (it never imports
//! it), so it could be published alone.
//!
//! One module per concept, in the order a transaction flows: `identity`
//! and [`sign`] (who signs and how), `connection` (the gRPC channel),
//! `gateway` → `network` → `contract` → `proposal` → `transaction` →
//! `commit`, then `events` with `checkpoint`, and `error` and [`config`]
//! beside them; `client` under them all makes the gRPC calls. Every signed
//! stage exposes its bytes and digest and can be rebuilt from bytes plus a
//! signature made elsewhere.
//!
//! The modules are private and their public types are named here, so this
//! list is the whole surface; [`config`] (the layout of a network
//! description) and [`error`] (imported by path in the responder) stay
//! modules of their own.

mod chaincode_event;
mod checkpoint;
mod client;
mod commit;
pub mod config;
mod connection;
mod contract;
pub mod error;
mod events;
mod gateway;
mod identity;
mod network;
mod proposal;
mod settle;
mod transaction;

#[cfg(test)]
mod offline_tests;

pub use checkpoint::{
    Checkpoint, CheckpointError, Checkpointer, FileCheckpointer, InMemoryCheckpointer,
};
pub use commit::{Commit, Status};
pub use config::{ConfigError, ConnectionProfile, NetworkDescription};
// A commit's validation code is part of this layer's answers (`Status`,
// `Error::Commit`), so it is named here, not only deep in the wire types.
pub use chaincode_event::ChaincodeEvent;
pub use client::{BlockEventsKind, Timeouts};
pub use connection::{ConnectionBuilder, ConnectionError};
pub use contract::{Committed, Contract, NO_ARGS, Submitted};
pub use ehrx_proto::peer::TxValidationCode;
pub use error::{CallError, Error, ErrorDetail};
pub use events::{
    BlockEvent, BlockEventStream, BlockEventsBuilder, BlockEventsRequest, ChaincodeEventStream,
    ChaincodeEventsBuilder, ChaincodeEventsRequest,
};
pub use gateway::Gateway;
pub use identity::{Identity, IdentityError, SigningIdentity};
pub use network::Network;
pub use proposal::{Proposal, ProposalBuilder};
pub use settle::{SettleError, wait_for_every_peer};
// Signing is shared with the chaincode side, so it lives in the proto crate.
pub use ehrx_proto::crypto::sign;
pub use sign::{Ed25519Signer, OfflineSigner, P256Signer, PrivateKey, SignError, Signer};
pub use transaction::Transaction;
