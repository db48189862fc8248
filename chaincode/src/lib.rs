//! The EHR exchange chaincode, served to Fabric peers as an external
//! chaincode service.
//!
//! [`shim`] is the Fabric-generic layer: the chaincode protocol, the stub a
//! contract programs against, the contract router and an in-memory ledger
//! for unit tests. It never imports EHR code, so it could be published alone.
//! [`ehr`] is the EHR exchange contract built on it.

pub use ehrx_proto as proto;

pub mod ehr;
pub mod shim;
