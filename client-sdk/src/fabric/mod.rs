//! The Fabric layer the SDK stands on: the `hlf-gateway` client (and
//! through it `hlf-identity` and `hlf-protos`), re-exported whole so an
//! application needs one dependency, plus [`config`], the description of a
//! network that `scripts/network.sh` writes, and [`wait_for_every_peer`],
//! which reads it.

pub use hlf_gateway::*;

pub mod config;
mod settle;

pub use config::{ConfigError, NetworkDescription};
pub use settle::{SettleError, wait_for_every_peer};
