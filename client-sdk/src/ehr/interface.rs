//! The EHR contract's interface as the SDK sees it: the `ehrx-interface`
//! crate, which the chaincode compiles against too, so function names,
//! event names, JSON shapes, limits, id rules and error codes are written
//! once for both sides. `chaincode/INTERFACE.md` documents it.
//!
//! What is added here only exists on the client side: [`AuditSubject`]
//! and reading the contract's error code out of a gateway error.

pub use ehrx_interface::{
    ContractFailure, ErrorCode, Key32, consent, fhir, limits, names,
    names::{CHAINCODE, Forwarded, event, function, private},
    quote, rules,
    types::*,
};

use ehrx_interface::names::audit_subject;

use crate::fabric;

/// Whose accounting `AuditTrail` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditSubject<'a> {
    /// Disclosures and refusals about one patient (their ref in hex).
    Patient(&'a str),
    /// Registry changes.
    Admin,
    /// Flags and other security events.
    Security,
}

impl AuditSubject<'_> {
    /// The argument the contract takes.
    pub fn as_arg(&self) -> &str {
        match self {
            Self::Patient(patient_ref) => patient_ref,
            Self::Admin => audit_subject::ADMIN,
            Self::Security => audit_subject::SECURITY,
        }
    }
}

/// The contract's refusal inside a failed evaluate or endorse call, with
/// its code; `None` when the call failed for another reason (no peer
/// reachable, a message not from this contract).
pub fn contract_failure(error: &fabric::Error) -> Option<ContractFailure> {
    match error {
        fabric::Error::Evaluate(call) | fabric::Error::Endorse(call) => call
            .chaincode_refusals()
            .find_map(|message| ContractFailure::from_wire(&message)),
        _ => None,
    }
}

/// The code of the contract's refusal in `error`, if it is one.
pub fn error_code(error: &fabric::Error) -> Option<ErrorCode> {
    contract_failure(error).map(|failure| failure.code)
}

/// A proposal of `function` with `args` in order: as arguments, or, for a
/// function that takes its parameters in the transient map
/// ([`function::transient_params`]), each under its parameter's name, so
/// that the transaction (and so the block) never holds them. Arguments
/// beyond the parameters stay arguments, for the contract to refuse.
pub fn proposal<A: AsRef<[u8]>>(
    contract: &crate::fabric::Contract,
    name: &str,
    args: impl IntoIterator<Item = A>,
) -> crate::fabric::ProposalBuilder {
    let (positional, transient) =
        function::split_args(name, args.into_iter().map(|a| a.as_ref().to_vec()));
    transient.into_iter().fold(
        contract.proposal(name).args(positional),
        |proposal, (param, arg)| proposal.transient(param, arg),
    )
}

/// [`proposal`], endorsed, submitted and committed.
pub async fn submit<A: AsRef<[u8]>>(
    contract: &crate::fabric::Contract,
    name: &str,
    args: impl IntoIterator<Item = A>,
) -> Result<crate::fabric::Committed, crate::fabric::Error> {
    let (positional, transient) =
        function::split_args(name, args.into_iter().map(|a| a.as_ref().to_vec()));
    contract
        .submit_with_transient(name, positional, transient)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fabric::CallError;

    fn endorse_error(message: &str) -> fabric::Error {
        fabric::Error::Endorse(CallError::new("tx", tonic::Status::aborted(message)))
    }

    #[test]
    fn the_code_is_read_from_the_gateway_message() {
        let error = endorse_error(
            "failed to endorse: chaincode response 500, [ALREADY_REPLIED] request r already has a reply",
        );
        assert_eq!(error_code(&error), Some(ErrorCode::AlreadyReplied));
        let evaluate = fabric::Error::Evaluate(CallError::new(
            "tx",
            tonic::Status::unknown(
                "evaluate call to endorser returned error: chaincode response 500, [NO_REPLY_YET] request r has no reply yet",
            ),
        ));
        assert_eq!(error_code(&evaluate), Some(ErrorCode::NoReplyYet));
    }

    #[test]
    fn text_without_a_code_is_not_a_code() {
        // The old wording, without a code, is no longer understood: the
        // SDK never decides by text.
        let error = endorse_error("chaincode response 500, request r already has a reply");
        assert_eq!(error_code(&error), None);
        let unreachable = endorse_error("connection refused");
        assert_eq!(error_code(&unreachable), None);
        let submit = fabric::Error::Submit(CallError::new(
            "tx",
            tonic::Status::aborted("chaincode response 500, [FLAGGED] x"),
        ));
        assert_eq!(error_code(&submit), None);
    }

    #[test]
    fn audit_subjects_are_the_contracts() {
        assert_eq!(AuditSubject::Security.as_arg(), "security");
        assert_eq!(AuditSubject::Admin.as_arg(), "admin");
        assert_eq!(AuditSubject::Patient("ab").as_arg(), "ab");
    }
}
