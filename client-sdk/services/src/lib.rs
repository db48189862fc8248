//! The EHR exchange's long-running services, built on the SDK
//! (`ehrx-client`):
//!
//! - [`relay`]: one per network; follows its network's contract events
//!   with a persisted checkpoint, forwards validated requests and replies
//!   to the destination's relay over mutual TLS, and submits what arrives
//!   into its own network, acknowledging only after the commit;
//! - [`responder`]: answers the requests its network accepted, sealing
//!   the patient's records to the requester ("peers compete": the contract
//!   takes the first reply);
//! - [`backoff`]: the retry schedule both use, and [`ready`]: when both
//!   are ready, as their health endpoints and logs say.
//!
//! The `ehrx` CLI runs them from configuration files (`ehrx relay`,
//! `ehrx responder`); applications may embed them too.

pub mod backoff;
mod feed;
pub mod ready;
pub mod relay;
pub mod responder;
