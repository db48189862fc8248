//! A Hyperledger Fabric chaincode shim for the external-service mode: the
//! peer dials our gRPC server and the two speak Fabric's chaincode protocol.
//!
//! Layers, each knowing only the one below: [`server`] accepts peer
//! connections, `handler` runs the protocol on each, [`stub`] is the API a
//! transaction sees, [`contract`] routes calls to typed functions. The stub
//! reaches the ledger through a [`link::PeerLink`], so the in-memory ledger
//! of the `testing` module (feature `testing`) can stand in for the peer in
//! a contract's unit tests.
//!
//! The server takes its configuration from the environment a peer's
//! `connection.json` deployment sets (`CHAINCODE_ID`,
//! `CHAINCODE_SERVER_ADDRESS`, `CHAINCODE_TLS_*`); see `examples/showcase.rs`
//! for a whole chaincode.

#![warn(missing_docs)]

pub mod chaincode;
pub mod client_identity;
pub mod composite_key;
pub mod contract;
pub mod endorsement;
pub mod error;
mod handler;
pub mod link;
mod proposal;
pub mod runtime;
pub mod server;
pub mod stub;
#[cfg(feature = "testing")]
pub mod testing;

pub use chaincode::Chaincode;
pub use error::{ServerError, StubError};
pub use server::ServerConfig;
pub use stub::Stub;

// The README's examples compile as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
