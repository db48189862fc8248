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
//! [`audit`], [`rate_limit`], [`fhir`], [`messages`] (parsing what arrives),
//! [`outcome`] and [`error`].

pub mod access;
pub mod admin;
pub mod audit;
pub mod error;
pub mod fhir;
pub mod messages;
pub mod outcome;
pub mod rate_limit;
pub mod records;
pub mod replies;
pub mod requests;
pub mod state;

use crate::shim::{
    Stub,
    contract::{Args, Contract, ContractChaincode, ContractError, Param},
};

use self::{access::Caller, state::Role};

/// The contract's name; it is the default contract, so bare function names
/// reach it.
pub const CONTRACT: &str = "ehrx";

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
    let contract = Contract::new(CONTRACT, env!("CARGO_PKG_VERSION"))
        .before(refuse_flagged)
        .submit(
            "ConfigureNetwork",
            &[Param::json("config")],
            admin::configure_network,
        )
        .submit(
            "PutRemoteNetwork",
            &[Param::json("network")],
            admin::put_remote_network,
        )
        .submit(
            "RemoveRemoteNetwork",
            &[Param::string("network_id")],
            admin::remove_remote_network,
        )
        .submit(
            "RegisterRequester",
            &[Param::json("requester")],
            admin::register_requester,
        )
        .submit("RegisterResponder", IDENTITY, |stub: Stub, args: Args| {
            admin::register_role(stub, args, Role::Responder)
        })
        .submit("RegisterRelay", IDENTITY, |stub: Stub, args: Args| {
            admin::register_role(stub, args, Role::Relay)
        })
        .submit("RegisterUploader", IDENTITY, |stub: Stub, args: Args| {
            admin::register_role(stub, args, Role::Uploader)
        })
        .submit("ClearFlag", IDENTITY, admin::clear_flag)
        .evaluate(
            "AuditTrail",
            &[Param::string("subject")],
            admin::audit_trail,
        )
        .submit("PutEhr", &[Param::json("metadata")], records::put_ehr)
        .submit(
            "SubmitRequest",
            &[Param::bytes("signed_request")],
            requests::submit_request,
        )
        .submit(
            "AcceptRequest",
            &[Param::bytes("forwarded_envelope")],
            requests::accept_request,
        )
        .evaluate("GetRequestStatus", REQUEST_ID, requests::get_request_status)
        .evaluate("ListRequests", &[], requests::list_requests)
        .evaluate(
            "GetRequestRecords",
            REQUEST_ID,
            replies::get_request_records,
        )
        .submit(
            "SubmitReply",
            &[Param::bytes("signed_reply")],
            replies::submit_reply,
        )
        .submit(
            "AcceptReply",
            &[Param::bytes("forwarded_envelope")],
            replies::accept_reply,
        )
        .submit("GetReply", REQUEST_ID, replies::get_reply);
    ContractChaincode::new().with(contract)
}
