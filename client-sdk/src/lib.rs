//! Client side of the EHR exchange: a Fabric Gateway client and, on top of
//! it, the EHR API that hospital applications embed.
//!
//! Only the wire formats are wired in so far; the gateway client and the EHR
//! API build on them (see the project README for the plan).

pub use ehrx_proto as proto;
