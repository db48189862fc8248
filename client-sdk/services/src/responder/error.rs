//! What stops a responder from handling an event. Outcomes that are part
//! of normal work (a lost race, a request this responder cannot answer)
//! are [`Handled`](super::Handled) values, not errors; an error means the
//! event was not handled and its checkpoint must not advance.

use ehrx_client::fabric::{self, CheckpointError, SignError};

/// Why an event was not handled.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A gateway call failed for a reason that may pass (a peer or the
    /// orderer unreachable, a timeout, an invalid commit): retried.
    #[error("request {request_id}: {source}")]
    Gateway {
        /// The request being answered.
        request_id: String,
        /// The gateway failure (stage, transaction, peers).
        source: fabric::Error,
    },
    /// The contract refuses this identity (not a registered responder, or
    /// flagged): nothing will pass until an admin acts, so the responder
    /// stops.
    #[error("request {request_id}: the contract refuses this responder: {message}")]
    Denied {
        /// The request being answered.
        request_id: String,
        /// The contract's message.
        message: String,
    },
    /// The responder's key could not sign.
    #[error("request {request_id}: signing the reply failed: {source}")]
    Sign {
        /// The request being answered.
        request_id: String,
        /// The signer's failure.
        source: SignError,
    },
    /// The checkpoint could not be stored.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A task answering requests failed unexpectedly (it panicked or was
    /// cancelled), or the slots it waits for were closed.
    #[error("a responder task failed: {0}")]
    Task(String),
    /// The event stream could not be opened or read.
    #[error("chaincode events: {0}")]
    Events(fabric::Error),
}

impl Error {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Gateway { .. } | Self::Events(_))
    }
}
