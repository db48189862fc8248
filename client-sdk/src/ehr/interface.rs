//! The EHR contract's interface as the SDK sees it: function names, event
//! names, the transient key, and the JSON shapes of arguments and results.
//!
//! Everything the chaincode and the SDK must agree on by name lives here and
//! nowhere else, so renaming a function or a field on the contract side is a
//! one-line change on this side. The contract documents the same interface
//! in `chaincode/INTERFACE.md`.

use serde::{Deserialize, Serialize};

/// The chaincode name the networks deploy the contract under.
pub const CHAINCODE: &str = "ehrx";

/// Contract function names.
pub mod function {
    /// Admin: the network's own id and rate limit.
    pub const CONFIGURE_NETWORK: &str = "ConfigureNetwork";
    /// Admin: add or update a network in the lookup table.
    pub const PUT_REMOTE_NETWORK: &str = "PutRemoteNetwork";
    /// Admin: drop a network from the lookup table.
    pub const REMOVE_REMOTE_NETWORK: &str = "RemoveRemoteNetwork";
    /// Admin: register a requester (doctor, nurse).
    pub const REGISTER_REQUESTER: &str = "RegisterRequester";
    /// Admin: register a responder identity.
    pub const REGISTER_RESPONDER: &str = "RegisterResponder";
    /// Admin: register the relay identity.
    pub const REGISTER_RELAY: &str = "RegisterRelay";
    /// Admin: register an identity allowed to upload records.
    pub const REGISTER_UPLOADER: &str = "RegisterUploader";
    /// Admin: clear a flagged identity.
    pub const CLEAR_FLAG: &str = "ClearFlag";
    /// Admin: the accounting of disclosures for one patient (evaluated).
    pub const AUDIT_TRAIL: &str = "AuditTrail";
    /// Store one record (content in the transient map).
    pub const PUT_EHR: &str = "PutEhr";
    /// File a signed request (Algorithm 1).
    pub const SUBMIT_REQUEST: &str = "SubmitRequest";
    /// Relay: deliver a forwarded request (Algorithm 2).
    pub const ACCEPT_REQUEST: &str = "AcceptRequest";
    /// Responder: answer an accepted request.
    pub const SUBMIT_REPLY: &str = "SubmitReply";
    /// Relay: deliver a forwarded reply (Algorithm 3).
    pub const ACCEPT_REPLY: &str = "AcceptReply";
    /// A request's state (evaluated).
    pub const GET_REQUEST_STATUS: &str = "GetRequestStatus";
    /// Fetch a reply; submitted, so refusals are recorded.
    pub const GET_REPLY: &str = "GetReply";
    /// The caller's requests (evaluated).
    pub const LIST_REQUESTS: &str = "ListRequests";
    /// A responder reads the records of an accepted request, to seal them.
    pub const GET_REQUEST_RECORDS: &str = "GetRequestRecords";
}

/// Chaincode event names.
pub mod event {
    /// Source: a request passed Algorithm 1 (payload: the signed request).
    pub const REQUEST_VALIDATED: &str = "RequestValidated";
    /// Source: a requester exceeded the rate and was flagged
    /// (payload: `{request_id, reason}`).
    pub const SECURITY_FLAGGED: &str = "SecurityFlagged";
    /// Destination: a forwarded request passed Algorithm 2 (payload: the
    /// signed request).
    pub const REQUEST_ACCEPTED: &str = "RequestAccepted";
    /// Destination: a forwarded request was rejected
    /// (payload: `{request_id, reason}`).
    pub const REQUEST_REJECTED: &str = "RequestRejected";
    /// Destination: a responder's reply was stored (payload: the signed reply).
    pub const REPLY_READY: &str = "ReplyReady";
    /// Source: a reply came back and passed Algorithm 3, records or refusal
    /// (payload: the request id).
    pub const REPLY_ACCEPTED: &str = "ReplyAccepted";
}

/// The transient-map key that carries a record's FHIR JSON to `PutEhr`.
pub const TRANSIENT_RECORD: &str = "record";

/// `ConfigureNetwork`'s argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// This network's id in every lookup table, e.g. `net1`.
    pub network_id: String,
    /// Requests one requester may file per window.
    pub rate_limit_max: u32,
    /// The window, in seconds of transaction time.
    pub rate_limit_window_seconds: u64,
}

/// A lookup-table entry's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoteStatus {
    /// Requests to and from it are accepted.
    Active,
    /// Kept, but refused until reactivated.
    Suspended,
}

/// `PutRemoteNetwork`'s argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteNetwork {
    /// The other network's id.
    pub network_id: String,
    /// Its Ed25519 network key, hex of the 32-byte public key.
    pub network_key: String,
    /// Whether it is in service.
    pub status: RemoteStatus,
}

/// `RegisterRequester`'s argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequesterRegistration {
    /// The requester's code, carried in every request they sign.
    pub requester_code: String,
    /// MSP id of their client identity.
    pub msp_id: String,
    /// Their client certificate, PEM.
    pub certificate: String,
    /// What they may do, e.g. `request_history`.
    pub privileges: Vec<String>,
    /// Hex of their 32-byte X25519 public key.
    pub encryption_key: String,
}

/// The argument of `RegisterResponder`, `RegisterRelay`, `RegisterUploader`
/// and `ClearFlag`: one client identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberIdentity {
    /// Its MSP id.
    pub msp_id: String,
    /// Its certificate, PEM.
    pub certificate: String,
}

/// `PutEhr`'s argument; the content goes in the transient map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EhrMetadata {
    /// The resource's FHIR `id`: the contract requires the two to be equal,
    /// so record ids are unique across resource types only as the ids are.
    pub record_id: String,
    /// Hex of the 32-byte patient_ref.
    pub patient_ref: String,
    /// The FHIR resource type.
    pub category: String,
}

/// `PutEhr`'s result, as far as the SDK checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutEhrResult {
    /// The record stored.
    pub record_id: String,
    /// Hex SHA-256 of the content as the contract received it.
    pub sha256: String,
}

/// Whether `SubmitRequest` validated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmitOutcome {
    /// Stored as validated; an event carries it to the relay.
    Validated,
    /// Refused by Algorithm 1.
    Rejected,
}

/// `SubmitRequest`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResult {
    /// Validated or rejected.
    pub outcome: SubmitOutcome,
    /// Why it was rejected.
    #[serde(default)]
    pub reason: Option<String>,
    /// The request's id.
    pub request_id: String,
}

/// Where a request is in the exchange. The contract writes the names in
/// lower case; the capitalised forms are read too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Passed Algorithm 1 on the source network.
    #[serde(alias = "Validated")]
    Validated,
    /// Accepted by the destination (Algorithm 2).
    #[serde(alias = "Accepted")]
    Accepted,
    /// Refused by the destination.
    #[serde(alias = "Rejected")]
    Rejected,
    /// The destination's responder replied.
    #[serde(alias = "Replied")]
    Replied,
    /// An OK reply came back and passed Algorithm 3: records to read.
    #[serde(alias = "Fulfilled")]
    Fulfilled,
    /// A refusal (not found, rejected) came back and passed Algorithm 3.
    #[serde(alias = "Failed")]
    Failed,
}

impl RequestState {
    /// Whether a reply is waiting to be read.
    pub fn has_reply(self) -> bool {
        matches!(self, Self::Replied | Self::Fulfilled)
    }

    /// Whether the request ended without a reply.
    pub fn is_refusal(self) -> bool {
        matches!(self, Self::Rejected | Self::Failed)
    }
}

/// `GetRequestStatus`'s result, and one element of `ListRequests`'. Only
/// the fields the SDK acts on are read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStatus {
    /// The request.
    pub request_id: String,
    /// Its state.
    #[serde(rename = "status", alias = "state")]
    pub state: RequestState,
    /// Why it was rejected or failed, when it was.
    #[serde(default)]
    pub reason: Option<String>,
    /// The requesting network.
    #[serde(default)]
    pub source_network: Option<String>,
    /// The network asked.
    #[serde(default)]
    pub destination_network: Option<String>,
}

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
            Self::Admin => "admin",
            Self::Security => "security",
        }
    }
}

/// One entry of `AuditTrail`'s result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// What happened: `disclosure`, `refusal`, `retrieval_refused`, `flagged`, …
    pub kind: String,
    /// The patient ref, `admin` or `security`.
    pub subject: String,
    /// The request concerned.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The records concerned.
    #[serde(default)]
    pub record_ids: Vec<String>,
    /// The other network concerned.
    #[serde(default)]
    pub network: Option<String>,
    /// MSP id of who acted.
    pub actor_msp_id: String,
    /// Fabric client id of who acted.
    pub actor_id: String,
    /// The contract's details.
    #[serde(default)]
    pub detail: serde_json::Value,
    /// Transaction time, Unix milliseconds.
    pub at_ms: u64,
    /// The transaction.
    pub tx_id: String,
}

/// `GetReply`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum GetReplyResult {
    /// The reply, for the requester who filed the request.
    #[serde(rename = "ok")]
    Delivered {
        /// Base64 (standard alphabet, padded) of the serialised `SignedReply`.
        signed_reply: String,
    },
    /// Not delivered (another caller, no reply yet, …); recorded on the ledger.
    Refused {
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_parse_from_the_contracts_json() {
        let submitted: SubmitResult =
            serde_json::from_str(r#"{"outcome":"validated","request_id":"r1"}"#).unwrap();
        assert_eq!(submitted.outcome, SubmitOutcome::Validated);
        assert_eq!(submitted.reason, None);
        let rejected: SubmitResult = serde_json::from_str(
            r#"{"outcome":"rejected","reason":"rate limit","request_id":"r2"}"#,
        )
        .unwrap();
        assert_eq!(rejected.reason.as_deref(), Some("rate limit"));

        let status: RequestStatus = serde_json::from_str(
            r#"{"request_id":"r1","direction":"outgoing","status":"fulfilled","source_network":"net1",
                "destination_network":"net2","created_at_ms":1}"#,
        )
        .unwrap();
        assert!(status.state.has_reply());
        assert_eq!(status.destination_network.as_deref(), Some("net2"));
        let failed: RequestStatus =
            serde_json::from_str(r#"{"request_id":"r1","status":"failed","reason":"no records"}"#)
                .unwrap();
        assert!(failed.state.is_refusal());
        let capitalised: RequestStatus =
            serde_json::from_str(r#"{"request_id":"r1","state":"Validated"}"#).unwrap();
        assert_eq!(capitalised.state, RequestState::Validated);

        let audit: Vec<AuditEntry> = serde_json::from_str(
            r#"[{"kind":"disclosure","subject":"ab","request_id":"r1","record_ids":["c1"],
                 "network":"net1","actor_msp_id":"Net2Org1MSP","actor_id":"x509::CN=a::CN=ca",
                 "detail":"purpose treatment","at_ms":5,"tx_id":"t"}]"#,
        )
        .unwrap();
        assert_eq!(audit[0].record_ids, ["c1"]);
        assert_eq!(AuditSubject::Security.as_arg(), "security");

        let reply: GetReplyResult =
            serde_json::from_str(r#"{"outcome":"ok","signed_reply":"AAEC"}"#).unwrap();
        assert_eq!(
            reply,
            GetReplyResult::Delivered {
                signed_reply: "AAEC".into()
            }
        );
        let refused: GetReplyResult =
            serde_json::from_str(r#"{"outcome":"refused","reason":"not the requester"}"#).unwrap();
        assert_eq!(
            refused,
            GetReplyResult::Refused {
                reason: "not the requester".into()
            }
        );
    }

    #[test]
    fn arguments_serialise_with_snake_case_fields() {
        let remote = RemoteNetwork {
            network_id: "net2".into(),
            network_key: "00".repeat(32),
            status: RemoteStatus::Suspended,
        };
        let json = serde_json::to_value(&remote).unwrap();
        assert_eq!(json["status"], "suspended");
        assert_eq!(json["network_id"], "net2");
        let config = serde_json::to_value(NetworkConfig {
            network_id: "net1".into(),
            rate_limit_max: 1,
            rate_limit_window_seconds: 60,
        })
        .unwrap();
        assert_eq!(config["rate_limit_window_seconds"], 60);
    }
}
