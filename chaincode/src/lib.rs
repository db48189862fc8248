//! The EHR exchange chaincode, served to Fabric peers as an external
//! chaincode service.
//!
//! [`shim`] is the Fabric-generic layer it stands on, the `hlf-shim` crate
//! (the chaincode protocol, the stub a contract programs against, the
//! contract router and, in tests, an in-memory ledger); it never imports EHR
//! code. [`ehr`] is the EHR exchange contract built on it, and
//! [`server_args`] the command line of its server.

pub use ehrx_proto as proto;
pub use hlf_shim as shim;

pub mod ehr;
pub mod server_args;

pub use server_args::ServerArgs;
