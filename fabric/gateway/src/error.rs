//! Errors of gateway operations. Each says which stage failed (evaluate,
//! endorse, submit, commit status, commit, events), for which transaction,
//! and — when the gateway had to reach other peers or the orderer — what
//! each endpoint answered, decoded from the `gateway.ErrorDetail` entries in
//! the gRPC status details.

use std::fmt;

use hlf_protos::{gateway, google_rpc, peer};
use prost::Message as _;

use super::sign::SignError;

/// What one endpoint (peer or orderer) reported for a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    /// The endpoint's address.
    pub address: String,
    /// The endpoint's MSP id.
    pub msp_id: String,
    /// Its error message.
    pub message: String,
}

impl fmt::Display for ErrorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.address, self.msp_id, self.message)
    }
}

/// The `gateway.ErrorDetail` entries of a gRPC status; other detail types
/// and undecodable details are ignored, since they add nothing a caller can
/// act on beyond the status itself.
pub(crate) fn error_details(status: &tonic::Status) -> Vec<ErrorDetail> {
    let Ok(rich) = google_rpc::Status::decode(status.details()) else {
        return Vec::new();
    };
    rich.details
        .iter()
        .filter(|any| any.type_url.rsplit('/').next() == Some("gateway.ErrorDetail"))
        .filter_map(|any| gateway::ErrorDetail::decode(any.value.as_slice()).ok())
        .map(|detail| ErrorDetail {
            address: detail.address,
            msp_id: detail.msp_id,
            message: detail.message,
        })
        .collect()
}

/// A failed gRPC call of one transaction.
#[derive(Debug, Clone)]
pub struct CallError {
    /// The transaction, or empty for calls that belong to none (events).
    pub transaction_id: String,
    /// The gRPC status the gateway returned.
    pub status: tonic::Status,
    /// What each endpoint behind the gateway reported.
    pub details: Vec<ErrorDetail>,
}

impl CallError {
    /// Wraps a status, decoding its endpoint details.
    pub fn new(transaction_id: impl Into<String>, status: tonic::Status) -> Self {
        let details = error_details(&status);
        Self {
            transaction_id: transaction_id.into(),
            status,
            details,
        }
    }
}

/// How the gateway reports a chaincode's own answer to an endorsement or
/// evaluation: `chaincode response <status>, <message>`.
const CHAINCODE_RESPONSE: &str = "chaincode response ";

impl CallError {
    /// The messages the chaincode itself returned with an error status
    /// (400 or above), from each peer's detail and the status message;
    /// empty when the call failed before any chaincode answered.
    pub fn chaincode_refusals(&self) -> impl Iterator<Item = String> + '_ {
        self.details
            .iter()
            .map(|detail| detail.message.as_str())
            .chain([self.status.message()])
            .filter_map(|message| {
                let (_, rest) = message.split_once(CHAINCODE_RESPONSE)?;
                let (status, text) = rest.split_once(", ").unwrap_or((rest, ""));
                (status.parse::<u32>().ok()? >= 400).then(|| text.to_string())
            })
    }

    /// The first of [`Self::chaincode_refusals`].
    pub fn chaincode_refusal(&self) -> Option<String> {
        self.chaincode_refusals().next()
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.transaction_id.is_empty() {
            write!(f, "transaction {}: ", self.transaction_id)?;
        }
        write!(f, "{:?}: {}", self.status.code(), self.status.message())?;
        for detail in &self.details {
            write!(f, "; {detail}")?;
        }
        Ok(())
    }
}

/// Why a gateway operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Evaluating a proposal failed (the chaincode returned an error, or no
    /// peer could run it).
    #[error("evaluate failed: {0}")]
    Evaluate(CallError),
    /// Collecting endorsements failed.
    #[error("endorse failed: {0}")]
    Endorse(CallError),
    /// Handing the endorsed transaction to the orderer failed.
    #[error("submit failed: {0}")]
    Submit(CallError),
    /// Asking for the commit status failed; the transaction may still commit.
    #[error("commit status failed: {0}")]
    CommitStatus(CallError),
    /// The transaction was committed to a block but marked invalid.
    #[error("transaction {transaction_id} failed to commit in block {block_number}: {}", code.as_str_name())]
    Commit {
        /// The transaction.
        transaction_id: String,
        /// The validation code the committing peer gave it.
        code: peer::TxValidationCode,
        /// The block it was written to.
        block_number: u64,
    },
    /// Opening or reading an event stream failed.
    #[error("events failed: {0}")]
    Events(CallError),
    /// A Deliver stream ended with a non-success status.
    #[error("deliver refused with status {status}")]
    Deliver {
        /// The `common.Status` code the peer sent.
        status: i32,
    },
    /// The operating system's random source could not give a nonce.
    #[error("no random nonce: {0}")]
    Nonce(String),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// Bytes that should hold a Fabric message do not.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
}

impl Error {
    /// The transaction the error is about, if any.
    pub fn transaction_id(&self) -> Option<&str> {
        match self {
            Self::Evaluate(call)
            | Self::Endorse(call)
            | Self::Submit(call)
            | Self::CommitStatus(call)
            | Self::Events(call) => Some(call.transaction_id.as_str()).filter(|id| !id.is_empty()),
            Self::Commit { transaction_id, .. } => Some(transaction_id),
            Self::Deliver { .. } | Self::Nonce(_) | Self::Sign(_) | Self::Malformed { .. } => None,
        }
    }

    /// The per-endpoint details of a failed call (empty for other errors).
    pub fn details(&self) -> &[ErrorDetail] {
        match self {
            Self::Evaluate(call)
            | Self::Endorse(call)
            | Self::Submit(call)
            | Self::CommitStatus(call)
            | Self::Events(call) => &call.details,
            _ => &[],
        }
    }

    /// [`Error::Malformed`]: bytes from the gateway that do not decode as
    /// `what`, for code that reads a stage's bytes itself.
    pub fn malformed(what: &'static str, reason: impl fmt::Display) -> Self {
        Self::Malformed {
            what,
            reason: reason.to_string(),
        }
    }
}

/// A stage's bytes and a signature over its digest made elsewhere (an
/// HSM, another process), to be put together into the stage again.
#[derive(Debug)]
pub(crate) struct Signed<'a> {
    pub bytes: &'a [u8],
    pub signature: Vec<u8>,
}

/// `bytes` decoded as `M`, or [`Error::Malformed`] naming `what`.
pub(crate) fn decode<M: prost::Message + Default>(
    bytes: &[u8],
    what: &'static str,
) -> Result<M, Error> {
    M::decode(bytes).map_err(|e| Error::malformed(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any(type_url: &str, value: Vec<u8>) -> prost_types::Any {
        prost_types::Any {
            type_url: type_url.to_string(),
            value,
        }
    }

    fn detail(address: &str, msp_id: &str, message: &str) -> Vec<u8> {
        gateway::ErrorDetail {
            address: address.into(),
            msp_id: msp_id.into(),
            message: message.into(),
        }
        .encode_to_vec()
    }

    #[test]
    fn gateway_error_details_are_decoded_from_the_status() {
        let rich = google_rpc::Status {
            code: tonic::Code::Aborted as i32,
            message: "failed to endorse transaction".into(),
            details: vec![
                any(
                    "type.googleapis.com/gateway.ErrorDetail",
                    detail(
                        "127.0.0.1:7051",
                        "Net1Org1MSP",
                        "chaincode response 500, no",
                    ),
                ),
                // Not ours: skipped.
                any("type.googleapis.com/google.rpc.DebugInfo", vec![1, 2, 3]),
                any(
                    "type.googleapis.com/gateway.ErrorDetail",
                    detail("127.0.0.1:7251", "Net1Org2MSP", "access denied"),
                ),
            ],
        };
        let status = tonic::Status::with_details(
            tonic::Code::Aborted,
            "failed to endorse transaction",
            rich.encode_to_vec().into(),
        );
        let error = Error::Endorse(CallError::new("abc123", status));
        assert_eq!(error.transaction_id(), Some("abc123"));
        assert_eq!(
            error.details(),
            &[
                ErrorDetail {
                    address: "127.0.0.1:7051".into(),
                    msp_id: "Net1Org1MSP".into(),
                    message: "chaincode response 500, no".into(),
                },
                ErrorDetail {
                    address: "127.0.0.1:7251".into(),
                    msp_id: "Net1Org2MSP".into(),
                    message: "access denied".into(),
                },
            ]
        );
        let text = error.to_string();
        assert!(text.starts_with("endorse failed: transaction abc123: Aborted"));
        assert!(text.contains("127.0.0.1:7251 (Net1Org2MSP): access denied"));
    }

    #[test]
    fn a_status_without_details_has_none() {
        let status = tonic::Status::unavailable("connection refused");
        let error = Error::Submit(CallError::new("t", status));
        assert!(error.details().is_empty());
        let garbage =
            tonic::Status::with_details(tonic::Code::Internal, "x", vec![0xff, 0xff].into());
        assert!(error_details(&garbage).is_empty());
    }

    #[test]
    fn a_commit_error_names_the_validation_code() {
        let error = Error::Commit {
            transaction_id: "t1".into(),
            code: peer::TxValidationCode::MvccReadConflict,
            block_number: 9,
        };
        assert_eq!(
            error.to_string(),
            "transaction t1 failed to commit in block 9: MVCC_READ_CONFLICT"
        );
    }
}
