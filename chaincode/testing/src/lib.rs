//! The EHR contract's test world, written once for every test that needs
//! the real contract: the chaincode's own tests drive it on in-memory
//! ledgers ([`world`]), and the SDK's flow tests reach the same networks
//! over gRPC through stand-in peers ([`served`]). No test double
//! re-implements the contract: every answer comes from `ehrx-chaincode`.
//!
//! Test code: a step that fails fails the test that called it, so the
//! helpers panic (through `unwrap` and assertions) instead of returning
//! errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod admin_calls;
pub mod checks;
pub mod refusals;
pub mod served;
pub mod world;

pub use checks::{assert_announced, assert_refusal, forged};
pub use ehrx_chaincode;
pub use ehrx_testkit::pki::Ca;
pub use served::{ContractPeer, Destination};
pub use world::*;
