//! Why an EHR function refused a call.
//!
//! Every variant names what was wrong, because the message is all a client
//! (or the relay) gets back. An error fails the transaction, so nothing it
//! would have written reaches the ledger; refusals that must be committed
//! (a flag, a rejected forwarded request) are outcomes, not errors.

use crate::shim::{StubError, client_identity::IdentityError, contract::ContractError};

/// A refused EHR call.
#[derive(Debug, thiserror::Error)]
pub enum EhrError {
    /// The argument layer refused the call (count, UTF-8, JSON).
    #[error(transparent)]
    Contract(#[from] ContractError),
    /// A ledger call failed.
    #[error(transparent)]
    Ledger(#[from] StubError),
    /// The caller's identity could not be read.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// ConfigureNetwork has not run yet.
    #[error("this network is not configured yet (an admin must call ConfigureNetwork)")]
    NotConfigured,
    /// The caller lacks the role the function needs.
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// The caller is flagged; every transaction of theirs is refused.
    #[error("identity {id} of {msp_id} is flagged ({reason}); an admin must clear the flag")]
    Flagged {
        /// The flagged identity's MSP.
        msp_id: String,
        /// The flagged identity.
        id: String,
        /// Why it was flagged.
        reason: String,
    },
    /// An argument has the right type but a bad value.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which argument or field.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An argument is larger than allowed.
    #[error("{what} is {size} bytes, larger than the limit of {limit}")]
    TooLarge {
        /// Which argument.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// A thing that must exist does not.
    #[error("{what} {key:?} does not exist")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// A thing that must be new already exists.
    #[error("{what} {key:?} already exists")]
    Duplicate {
        /// What kind of thing.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// The call does not fit the current state (a request already answered,
    /// a timestamp older than the last one...).
    #[error("{0}")]
    State(String),
    /// A forwarded request id seen before with different bytes.
    #[error("replay: request {0} was already received with different bytes; the first one stands")]
    Replay(String),
    /// Stored state does not parse (a contract bug or a foreign writer).
    #[error("stored {what} under {key:?} is corrupt: {reason}")]
    Corrupt {
        /// What kind of record.
        what: &'static str,
        /// Its key.
        key: String,
        /// The parser's complaint.
        reason: String,
    },
}

impl EhrError {
    /// A bad value of `what`.
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

impl From<EhrError> for ContractError {
    fn from(error: EhrError) -> Self {
        match error {
            EhrError::Contract(error) => error,
            EhrError::Ledger(error) => ContractError::Ledger(error),
            EhrError::Identity(error) => ContractError::Identity(error),
            other => ContractError::Rejected(other.to_string()),
        }
    }
}
