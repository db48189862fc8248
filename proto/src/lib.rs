//! The EHR exchange's own wire format, package `ehrx.v1`, and what both ends
//! do with it (see [`exchange`]).
//!
//! Fabric's messages live in `hlf-protos` and Fabric signatures in
//! `hlf-identity`; this crate builds on them and knows nothing of peers or
//! gateways. The `.proto` file under `protos/` is compiled at build time
//! with `protox` (no `protoc` needed).

pub mod exchange;
