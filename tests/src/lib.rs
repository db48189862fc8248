//! Support for the end-to-end tests: bring the two local Fabric networks up
//! for a test and always down again, read their JSON descriptions, and ask
//! Fabric's own CLIs about them (so the tests check our networks with tools
//! that are not ours), and run our own `ehrx` CLI as its users would.

pub mod cli;
pub mod ehrx_cli;
pub mod exchange;
pub mod experiment;
pub mod forge;
pub mod machine;
pub mod measure;
pub mod networks;

/// The networks are described by the SDK's reader of `network.json`, so the
/// tests exercise the same description integrators use.
pub use ehrx_client::fabric::NetworkDescription;
