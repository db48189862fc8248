//! Why an EHR function refused a call.
//!
//! Every variant names what was wrong and has a stable [`ErrorCode`],
//! because the message is all a client (or the relay) gets back: it
//! travels as `[CODE] text` (see `ehrx_interface::code`), at most
//! [`MAX_ERROR_BYTES`] long, and quotes no input longer than a short
//! prefix. An error fails the transaction, so nothing it would have
//! written reaches the ledger; refusals that must be committed (a flag, a
//! rejected forwarded request) are outcomes, not errors.

use ehrx_interface::{ContractFailure, ErrorCode, InterfaceError, limits::MAX_ERROR_BYTES, quote};

use crate::{
    ehr::fhir::FhirError,
    shim::{StubError, client_identity::IdentityError, contract::ContractError},
};

/// A refused EHR call.
#[derive(Debug, thiserror::Error)]
pub enum EhrError {
    /// The argument layer refused the call (count, UTF-8).
    #[error(transparent)]
    Contract(#[from] ContractError),
    /// A JSON argument or record is not acceptable.
    #[error(transparent)]
    Json(#[from] InterfaceError),
    /// A record is not acceptable FHIR JSON.
    #[error(transparent)]
    Record(#[from] FhirError),
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
    /// A signature or attestation does not verify.
    #[error("invalid {what}: {reason}")]
    Signature {
        /// Whose signature.
        what: &'static str,
        /// The verifier's complaint.
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
    /// A forwarded request's proof of validation does not hold.
    #[error("proof of validation by network {network}: {reason}")]
    Proof {
        /// The source network the proof claims to come from.
        network: String,
        /// What the verifier refused.
        reason: ehrx_proto::exchange::proof::ProofError,
    },
    /// A proof's challenge is unknown, used, expired or another network's.
    #[error("challenge: {0}")]
    Challenge(String),
    /// A thing that must exist does not.
    #[error("{what} {} does not exist", quote(key))]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// A thing that must be new already exists.
    #[error("{what} {} already exists", quote(key))]
    Duplicate {
        /// What kind of thing.
        what: &'static str,
        /// Its key.
        key: String,
    },
    /// A record id already names other content.
    #[error(
        "record {record_id} already exists with other content (stored SHA-256 {stored}, \
         first for patient {stored_for}; this upload's {uploaded}): a record id names one content"
    )]
    Differs {
        /// `Type/id`.
        record_id: String,
        /// The stored content's hash, hex.
        stored: String,
        /// The patient ref whose upload stored it, hex.
        stored_for: String,
        /// The refused content's hash, hex.
        uploaded: String,
    },
    /// One record of an upload is refused: the whole upload is.
    #[error("record {index} of the upload ({}): {source}", quote(record_id))]
    InUpload {
        /// Its position in the upload, from 0.
        index: usize,
        /// Its record id as listed.
        record_id: String,
        /// Why.
        source: Box<EhrError>,
    },
    /// The request already has its one reply.
    #[error("request {0} already has a reply; exactly one reply per request is accepted")]
    AlreadyReplied(String),
    /// `GetReply` for a request whose reply has not arrived.
    #[error("request {0} has no reply yet")]
    NoReplyYet(String),
    /// This peer is not a member of the private collection the call reads.
    #[error("{0}")]
    NotHeld(String),
    /// The call does not fit the current state (a request not open, a
    /// timestamp older than the last one...).
    #[error("{0}")]
    State(String),
    /// No active consent permits the disclosure, and break-glass does not
    /// apply.
    #[error("no consent: {0}")]
    NoConsent(String),
    /// A consent resource is not acceptable.
    #[error(transparent)]
    Consent(#[from] ehrx_interface::consent::ConsentError),
    /// A forwarded request id seen before with different bytes.
    #[error("replay: request {0} was already received with different bytes; the first one stands")]
    Replay(String),
    /// Stored state does not parse (a contract bug or a foreign writer).
    #[error("stored {what} under {} is corrupt: {reason}", quote(key))]
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

    /// A signature of `what` that does not verify.
    pub fn signature(what: &'static str, reason: impl ToString) -> Self {
        Self::Signature {
            what,
            reason: reason.to_string(),
        }
    }

    /// The code a client acts on.
    pub fn code(&self) -> ErrorCode {
        match self {
            EhrError::Contract(error) => contract_code(error),
            EhrError::Json(error) => error.code(),
            EhrError::Record(error) => error.code(),
            EhrError::Ledger(_) => ErrorCode::Ledger,
            EhrError::Identity(_) => ErrorCode::AccessDenied,
            EhrError::NotConfigured => ErrorCode::NotConfigured,
            EhrError::AccessDenied(_) => ErrorCode::AccessDenied,
            EhrError::Flagged { .. } => ErrorCode::Flagged,
            EhrError::Invalid { .. } => ErrorCode::BadArgument,
            EhrError::Signature { .. } => ErrorCode::BadSignature,
            EhrError::Proof { .. } => ErrorCode::BadProof,
            EhrError::Challenge(_) => ErrorCode::BadChallenge,
            EhrError::TooLarge { .. } => ErrorCode::TooLarge,
            EhrError::NotFound { .. } => ErrorCode::NotFound,
            EhrError::Duplicate { .. } | EhrError::Differs { .. } => ErrorCode::AlreadyExists,
            EhrError::InUpload { source, .. } => source.code(),
            EhrError::AlreadyReplied(_) => ErrorCode::AlreadyReplied,
            EhrError::NoReplyYet(_) => ErrorCode::NoReplyYet,
            EhrError::NotHeld(_) => ErrorCode::NotHeld,
            EhrError::State(_) => ErrorCode::Conflict,
            EhrError::Replay(_) => ErrorCode::Replay,
            EhrError::NoConsent(_) => ErrorCode::NoConsent,
            EhrError::Consent(error) => error.code(),
            EhrError::Corrupt { .. } => ErrorCode::Corrupt,
        }
    }

    /// The refusal as it travels.
    pub fn failure(&self) -> ContractFailure {
        match self {
            EhrError::Contract(error) => contract_failure(error),
            other => ContractFailure::new(other.code(), other),
        }
    }
}

impl From<EhrError> for ContractError {
    fn from(error: EhrError) -> Self {
        match error {
            EhrError::Contract(error) => error,
            other => ContractError::Rejected(other.failure().to_wire()),
        }
    }
}

fn contract_code(error: &ContractError) -> ErrorCode {
    match error {
        ContractError::NoFunction
        | ContractError::ArgumentCount { .. }
        | ContractError::Transient { .. }
        | ContractError::NotUtf8 { .. }
        | ContractError::Json { .. } => ErrorCode::BadArgument,
        ContractError::UnknownContract(_) | ContractError::UnknownFunction { .. } => {
            ErrorCode::UnknownFunction
        }
        ContractError::UndeclaredParameter(_) | ContractError::Serialize(_) => ErrorCode::Internal,
        ContractError::Ledger(_) => ErrorCode::Ledger,
        ContractError::Identity(_) => ErrorCode::AccessDenied,
        ContractError::Rejected(_) => ErrorCode::Internal,
    }
}

/// The wire form of any error the contract layer returns for the `ehrx`
/// contract: the EHR functions' own refusals are already coded; the
/// layer's (unknown function, argument count, UTF-8...) get a code here,
/// and whatever input they name is quoted short.
pub fn contract_failure(error: &ContractError) -> ContractFailure {
    let code = contract_code(error);
    match error {
        ContractError::Rejected(message) => ContractFailure::from_wire(message)
            .unwrap_or_else(|| ContractFailure::new(ErrorCode::Internal, message)),
        ContractError::UnknownContract(name) => {
            ContractFailure::new(code, format!("contract {} does not exist", quote(name)))
        }
        ContractError::UnknownFunction { function, .. } => {
            ContractFailure::new(code, format!("function {} does not exist", quote(function)))
        }
        ContractError::ArgumentCount {
            function,
            expected,
            parameters,
            got,
        } => ContractFailure::new(
            code,
            format!(
                "{} takes {expected} argument(s) ({parameters}), got {got}",
                quote(function)
            ),
        ),
        ContractError::NotUtf8 {
            parameter,
            position,
        } => ContractFailure::new(
            code,
            format!(
                "argument {} is not valid UTF-8 (invalid byte at {position})",
                quote(parameter)
            ),
        ),
        other => ContractFailure::new(code, other),
    }
}

/// The message of a failed `ehrx` call: `[CODE] text`, bounded.
pub fn error_message(error: &ContractError) -> String {
    let wire = contract_failure(error).to_wire();
    debug_assert!(wire.len() <= MAX_ERROR_BYTES);
    wire
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_travels_coded_and_bounded() {
        let huge = "x".repeat(1 << 20);
        let errors = [
            EhrError::NotFound {
                what: "request",
                key: huge.clone(),
            },
            EhrError::invalid("request_id", huge.clone()),
            EhrError::State(huge.clone()),
            EhrError::Contract(ContractError::UnknownFunction {
                contract: "ehrx".into(),
                function: huge.clone(),
            }),
            EhrError::Contract(ContractError::Rejected(huge.clone())),
        ];
        for error in errors {
            let code = error.code();
            let message = error_message(&ContractError::from(error));
            assert!(message.len() <= MAX_ERROR_BYTES, "{}", message.len());
            let failure = ContractFailure::from_wire(&message);
            assert!(failure.is_some(), "{message}");
            if code != ErrorCode::Internal {
                assert_eq!(failure.map(|f| f.code), Some(code));
            }
        }
    }

    #[test]
    fn refusals_the_sdk_acts_on_have_their_own_codes() {
        let code = |error: EhrError| error.failure().code;
        assert_eq!(
            code(EhrError::AlreadyReplied("r".into())),
            ErrorCode::AlreadyReplied
        );
        assert_eq!(
            code(EhrError::NoReplyYet("r".into())),
            ErrorCode::NoReplyYet
        );
        assert_eq!(
            code(EhrError::AccessDenied("x".into())),
            ErrorCode::AccessDenied
        );
        assert_eq!(
            code(EhrError::Flagged {
                msp_id: "M".into(),
                id: "x".into(),
                reason: "rate".into()
            }),
            ErrorCode::Flagged
        );
    }
}
