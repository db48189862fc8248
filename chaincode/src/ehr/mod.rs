//! The EHR exchange contract (`ehrx`): the domain layer on top of the
//! Fabric-generic [`crate::shim`], implementing Algorithms 1–3 of the
//! exchange, the registries, rate limits, flags, retrieval privilege and
//! the audit log. The public interface is documented in
//! `chaincode/INTERFACE.md`.
//!
//! One concept per module: [`state`] (the ledger layout), [`access`] (who
//! is calling), [`admin`], [`records`] (PutEhr), [`requests`]
//! (Algorithms 1 and 2), [`replies`] (GetRequestRecords, SubmitReply,
//! Algorithm 3, GetReply),
//! [`trust`] (remote networks' CA roots and policies, challenges, proofs
//! of validation), [`consent`] (patients' consents, break-glass), [`audit`], [`rate_limit`], [`fhir`], [`messages`]
//! (parsing what arrives)
//! and [`error`]. Names, JSON types, limits, id rules and error codes come
//! from `ehrx_interface`, which the SDK shares.

pub mod access;
pub mod admin;
pub mod audit;
pub mod consent;
pub mod error;
pub mod fhir;
pub mod messages;
pub mod rate_limit;
pub mod records;
pub mod replies;
pub mod requests;
pub mod state;
pub mod trust;

use ehrx_interface::names::{CHAINCODE, function as f};

use crate::shim::{
    Stub,
    contract::{Args, Contract, ContractChaincode, ContractError, Param},
};

use self::{access::Caller, state::Role};

/// The contract's name; it is the default contract, so bare function names
/// reach it.
pub const CONTRACT: &str = CHAINCODE;

/// Refuses every transaction of a flagged identity before its function
/// runs, so it writes nothing.
async fn refuse_flagged(stub: Stub, _function: String) -> Result<(), ContractError> {
    let caller = Caller::of(&stub)?;
    caller.require_not_flagged(&stub).await?;
    Ok(())
}

/// The chaincode: the `ehrx` contract with every function.
pub fn chaincode() -> ContractChaincode {
    const REQUEST_ID: &[Param] = &[Param::string("request_id")];
    const IDENTITY: &[Param] = &[Param::json("identity")];
    const FORWARDED: &[Param] = &[
        Param::bytes("forwarded_envelope").in_transient(),
        Param::bytes("validation_proof").in_transient(),
    ];
    let contract = Contract::new(CONTRACT, env!("CARGO_PKG_VERSION"))
        .before(refuse_flagged)
        .submit(
            f::CONFIGURE_NETWORK,
            &[Param::json("config")],
            admin::configure_network,
        )
        .submit(
            f::PUT_REMOTE_NETWORK,
            &[Param::json("network")],
            admin::put_remote_network,
        )
        .submit(
            f::REMOVE_REMOTE_NETWORK,
            &[Param::string("network_id")],
            admin::remove_remote_network,
        )
        .submit(
            f::PUT_NETWORK_TRUST,
            &[Param::json("trust")],
            trust::put_network_trust,
        )
        .submit(
            f::REGISTER_REQUESTER,
            &[Param::json("requester").in_transient()],
            admin::register_requester,
        )
        .submit(f::REGISTER_RESPONDER, IDENTITY, |stub: Stub, args: Args| {
            admin::register_role(stub, args, Role::Responder)
        })
        .submit(f::REGISTER_RELAY, IDENTITY, |stub: Stub, args: Args| {
            admin::register_role(stub, args, Role::Relay)
        })
        .submit(f::REGISTER_UPLOADER, IDENTITY, |stub: Stub, args: Args| {
            admin::register_role(stub, args, Role::Uploader)
        })
        .submit(
            f::REGISTER_CONSENT_MANAGER,
            IDENTITY,
            |stub: Stub, args: Args| admin::register_role(stub, args, Role::ConsentManager),
        )
        .submit(f::CLEAR_FLAG, IDENTITY, admin::clear_flag)
        .evaluate(
            f::AUDIT_TRAIL,
            &[Param::string("subject")],
            admin::audit_trail,
        )
        // PutEhr's parameters are all in the transient map: its metadata
        // under `metadata`, each record under its record id (see records).
        .submit(f::PUT_EHR, &[], records::put_ehr)
        .submit(f::PUT_CONSENT, &[], consent::put_consent)
        .submit(f::REVOKE_CONSENT, &[], consent::revoke_consent)
        .evaluate(
            f::LIST_CONSENTS,
            &[Param::string("patient_ref")],
            consent::list_consents,
        )
        .submit(
            f::SUBMIT_REQUEST,
            &[Param::bytes("signed_request").in_transient()],
            requests::submit_request,
        )
        .evaluate(
            f::PROVE_REQUEST,
            &[
                Param::string("request_id"),
                Param::string("signed_request_sha256"),
                Param::string("nonce"),
            ],
            trust::prove_request,
        )
        .submit(
            f::ISSUE_CHALLENGE,
            &[Param::string("network_id")],
            trust::issue_challenge,
        )
        .submit(
            f::ISSUE_CHALLENGES,
            &[Param::string("network_id"), Param::string("count")],
            trust::issue_challenges,
        )
        .submit(f::PURGE_CHALLENGES, &[], trust::purge_challenges)
        .submit(f::ACCEPT_REQUEST, FORWARDED, requests::accept_request)
        .evaluate(
            f::GET_REQUEST_STATUS,
            REQUEST_ID,
            requests::get_request_status,
        )
        .evaluate(f::LIST_REQUESTS, &[], requests::list_requests)
        .evaluate(
            f::GET_SIGNED_REQUEST,
            REQUEST_ID,
            requests::get_signed_request,
        )
        .evaluate(f::GET_SIGNED_REPLY, REQUEST_ID, replies::get_signed_reply)
        .evaluate(
            f::GET_REQUEST_RECORDS,
            REQUEST_ID,
            replies::get_request_records,
        )
        .submit(
            f::SUBMIT_REPLY,
            &[Param::bytes("signed_reply").in_transient()],
            replies::submit_reply,
        )
        .evaluate(
            f::PROVE_REPLY,
            &[
                Param::string("request_id"),
                Param::string("signed_reply_sha256"),
                Param::string("nonce"),
            ],
            trust::prove_reply,
        )
        .submit(f::ACCEPT_REPLY, FORWARDED, replies::accept_reply)
        .submit(f::GET_REPLY, REQUEST_ID, replies::get_reply);
    ContractChaincode::new()
        .with(contract)
        .error_message(error::error_message)
}
