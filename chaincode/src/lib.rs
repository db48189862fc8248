//! The EHR exchange chaincode, served to Fabric peers as an external
//! chaincode service.
//!
//! Only the wire formats are wired in so far; the shim and the contract
//! build on them (see the project README for the plan).

pub use ehrx_proto as proto;
