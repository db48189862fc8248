//! A Fabric Gateway client, independent of the EHR domain (it never imports
//! it), so it could be published alone.
//!
//! One module per concept, in the order a transaction flows:
//! [`identity`] and [`sign`] (who signs and how), [`connection`] (the gRPC
//! channel), [`gateway`] → [`network`] → [`contract`] → [`proposal`] →
//! [`transaction`] → [`commit`], then [`events`] with [`checkpoint`], and
//! [`error`] and [`config`] beside them. Every signed stage exposes its bytes
//! and digest and can be rebuilt from bytes plus a signature made elsewhere.

pub mod checkpoint;
pub mod commit;
pub mod config;
pub mod connection;
pub mod contract;
pub mod error;
pub mod events;
pub mod gateway;
pub mod identity;
pub mod network;
pub mod proposal;
pub mod settle;
pub mod transaction;

#[cfg(test)]
mod offline_tests;

pub use checkpoint::{
    Checkpoint, CheckpointError, Checkpointer, FileCheckpointer, InMemoryCheckpointer,
};
pub use commit::{Commit, Status};
pub use config::{ConfigError, ConnectionProfile, NetworkDescription};
// A commit's validation code is part of this layer's answers (`Status`,
// `Error::Commit`), so it is named here, not only deep in the wire types.
pub use connection::{ConnectionBuilder, ConnectionError};
pub use contract::{Committed, Contract, NO_ARGS, Submitted};
pub use ehrx_proto::peer::TxValidationCode;
pub use error::{CallError, Error, ErrorDetail};
pub use events::{
    BlockEvent, BlockEventStream, BlockEventsKind, BlockEventsRequest, ChaincodeEvent,
    ChaincodeEventStream, ChaincodeEventsRequest,
};
pub use gateway::{Gateway, Timeouts};
pub use identity::{Identity, IdentityError, SigningIdentity};
pub use network::Network;
pub use proposal::{Proposal, ProposalBuilder};
pub use settle::{SettleError, wait_for_every_peer};
// Signing is shared with the chaincode side, so it lives in the proto crate.
pub use ehrx_proto::crypto::sign;
pub use sign::{Ed25519Signer, OfflineSigner, P256Signer, PrivateKey, SignError, Signer};
pub use transaction::Transaction;
