//! A Hyperledger Fabric chaincode shim for the external-service mode: the
//! peer dials our gRPC server and the two speak Fabric's chaincode protocol.
//!
//! Layers, each knowing only the one below: [`server`] accepts peer
//! connections, `handler` runs the protocol on each, [`stub`] is the API a
//! transaction sees, [`contract`] routes calls to typed functions. The stub
//! reaches the ledger through a [`link::PeerLink`], so [`testing`]'s
//! in-memory ledger can stand in for the peer in unit tests.

pub mod chaincode;
pub mod client_identity;
pub mod composite_key;
pub mod contract;
pub mod endorsement;
pub mod error;
mod handler;
pub mod link;
mod proposal;
pub mod server;
pub mod stub;
pub mod testing;

pub use chaincode::Chaincode;
pub use error::{ServerError, StubError};
pub use server::{ServerArgs, ServerConfig};
pub use stub::Stub;
