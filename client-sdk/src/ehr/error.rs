//! The error of the EHR API's calls that talk to the network. Checks that
//! need no network have their own precise errors ([`RecordError`],
//! [`ReplyError`], [`KeyStoreError`]); this enum adds the
//! Fabric failure or the contract's unexpected answer around them.

use crate::fabric::{self, SignError};

use super::{keys::KeyStoreError, records::RecordError, replies::ReplyError};

/// Why an EHR API call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The gateway call failed (see [`fabric::Error`] for the stage and peers).
    #[error(transparent)]
    Fabric(#[from] fabric::Error),
    /// The contract answered something this SDK cannot read.
    #[error("{function} returned an unexpected result: {reason}")]
    UnexpectedResult {
        /// The contract function.
        function: &'static str,
        /// What was wrong with it.
        reason: String,
    },
    /// A record to upload is not acceptable FHIR JSON.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A consent is not a FHIR R4 `Consent` the contract takes (checked
    /// before any call).
    #[error(transparent)]
    Consent(ehrx_interface::consent::ConsentError),
    /// A reply was refused or failed verification.
    #[error(transparent)]
    Reply(#[from] ReplyError),
    /// A key could not be stored or read.
    #[error(transparent)]
    KeyStore(#[from] KeyStoreError),
    /// Signing the request failed.
    #[error("signing the request failed: {0}")]
    Sign(#[from] SignError),
    /// `request_history` needs the requester's code.
    #[error("no requester code: set one with EhrClient::with_requester_code")]
    NoRequesterCode,
    /// The operating system's random source failed.
    #[error("no randomness for the request id: {0}")]
    Random(String),
}

impl Error {
    /// An unreadable contract result.
    pub(crate) fn unexpected(function: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::UnexpectedResult {
            function,
            reason: reason.to_string(),
        }
    }
}

/// Parses a contract function's JSON result.
pub(crate) fn parse_result<T: serde::de::DeserializeOwned>(
    function: &'static str,
    bytes: &[u8],
) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::unexpected(function, e))
}
