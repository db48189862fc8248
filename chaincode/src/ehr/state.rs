//! The contract's world state: which keys exist and what their JSON values
//! mean.
//!
//! Every public key is a composite key (so none can collide with another
//! chaincode's simple keys, and partial-key queries list a family):
//!
//! | object type | attributes | value |
//! |---|---|---|
//! | `ehrx.config` | — | [`NetworkConfig`] |
//! | `ehrx.network` | network id | [`RemoteNetwork`] (the lookup table) |
//! | `ehrx.requester` | requester code | [`Requester`] |
//! | `ehrx.requester-of` | msp id, identity id | the requester code bound to that identity |
//! | `ehrx.role` | role, msp id, identity id | [`Registration`] (responder, relay, uploader) |
//! | `ehrx.flag` | msp id, identity id | [`Flag`] |
//! | `ehrx.rate` | requester code | [`RateWindow`] |
//! | `ehrx.request` | request id | [`RequestEntry`] (outgoing on the source, incoming on the destination) |
//! | `ehrx.requests-of` | msp id, identity id, request id | the request id (a requester's own requests) |
//! | `ehrx.record` | record id | [`RecordMeta`] (public metadata only) |
//! | `ehrx.patient-record` | patient ref, category, record id | the record id (coverage checks) |
//! | `ehrx.audit` | subject, time (ms, 20 digits), tx id, kind | [`crate::ehr::audit::AuditEntry`] |
//!
//! Private data collections use simple keys: [`RECORDS`] holds each
//! record's FHIR JSON under its record id, [`REPLIES`] each received signed
//! reply (records sealed to the requester) under its request id.
//!
//! Identities are keyed by MSP id plus the Fabric client id string
//! (`x509::<subject>::<issuer>`), as Fabric's own `cid` package keys them.
//! Times are Unix milliseconds from the transaction timestamp, the same on
//! every endorser.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{
    ehr::error::EhrError,
    shim::{Stub, composite_key},
};

/// Private collection of record contents.
pub const RECORDS: &str = "ehrRecords";
/// Private collection of received signed replies.
pub const REPLIES: &str = "ehrReplies";

/// This network's own settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkConfig {
    /// This network's id, as the other networks' lookup tables know it.
    pub network_id: String,
    /// Requests one requester may submit per window.
    pub rate_limit_max: u32,
    /// The window's length.
    pub rate_limit_window_seconds: u32,
}

/// Whether a remote network may exchange with this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkStatus {
    /// Requests and replies are accepted.
    Active,
    /// Known, but nothing is accepted from or sent to it.
    Suspended,
}

/// An entry of the lookup table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteNetwork {
    /// The remote network's id.
    pub network_id: String,
    /// Its Ed25519 network key, 32 bytes hex.
    pub network_key: String,
    /// Whether it is active.
    pub status: NetworkStatus,
}

/// A registered requester (doctor, nurse) of this network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    /// The code requests carry.
    pub requester_code: String,
    /// The MSP of the bound identity.
    pub msp_id: String,
    /// The bound identity's client id.
    pub identity_id: String,
    /// The bound identity's certificate, PEM.
    pub certificate: String,
    /// What the requester may do (see [`crate::ehr::access::PRIVILEGES`]).
    pub privileges: Vec<String>,
    /// X25519 public key replies are sealed to, 32 bytes hex.
    pub encryption_key: String,
}

/// Roles other than requester and admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Submits replies to accepted requests.
    Responder,
    /// Submits what other networks' relays forward.
    Relay,
    /// Stores EHRs (PutEhr).
    Uploader,
}

impl Role {
    /// The name used in keys and messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Responder => "responder",
            Role::Relay => "relay",
            Role::Uploader => "uploader",
        }
    }
}

/// An identity registered in a [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    /// The role.
    pub role: Role,
    /// The identity's MSP.
    pub msp_id: String,
    /// The identity's client id.
    pub identity_id: String,
    /// Its certificate, PEM.
    pub certificate: String,
}

/// A flagged identity: every transaction of it is refused until cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// The identity's MSP.
    pub msp_id: String,
    /// The identity's client id.
    pub identity_id: String,
    /// Why it was flagged.
    pub reason: String,
    /// When.
    pub flagged_at_ms: i64,
    /// By which transaction.
    pub tx_id: String,
}

/// The recent request times of one requester.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    /// The latest request time seen.
    pub last_ms: i64,
    /// Request times inside the window, oldest first.
    pub recent_ms: Vec<i64>,
}

/// Which side of the exchange a request entry is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Made here (SubmitRequest), answered elsewhere.
    Outgoing,
    /// Made elsewhere (AcceptRequest), answered here.
    Incoming,
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Outgoing, passed Algorithm 1, waiting for the reply.
    Validated,
    /// Incoming, passed Algorithm 2, waiting for a responder.
    Accepted,
    /// Incoming, failed Algorithm 2; a refusal reply may go back.
    Rejected,
    /// Incoming, a reply was submitted (exactly one).
    Replied,
    /// Outgoing, an OK reply arrived.
    Fulfilled,
    /// Outgoing, a refusal (not found, rejected) arrived.
    Failed,
}

/// The status of a reply, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyOutcome {
    /// Records disclosed.
    Ok,
    /// The patient has no records in the wanted categories.
    NotFound,
    /// The request was refused.
    Rejected,
}

/// What the ledger keeps about a request's reply (never its contents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplySummary {
    /// Its status.
    pub status: ReplyOutcome,
    /// The refusal reason, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The disclosed record ids, in reply order.
    pub record_ids: Vec<String>,
    /// SHA-256 of the signed reply bytes, hex.
    pub signed_reply_sha256: String,
    /// SHA-256 of the forwarded envelope (incoming replies), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_sha256: Option<String>,
    /// When it was stored here.
    pub at_ms: i64,
}

/// A request, on either side of the exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEntry {
    /// The request id (UUID v4).
    pub request_id: String,
    /// Which side this network is on.
    pub direction: Direction,
    /// Where it stands.
    pub status: RequestStatus,
    /// Why it was rejected, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The requesting network.
    pub source_network: String,
    /// The answering network.
    pub destination_network: String,
    /// The requester's code on the source network.
    pub requester_code: String,
    /// The requester's MSP (as signed).
    pub requester_msp_id: String,
    /// The requester's client id (as signed).
    pub requester_id: String,
    /// The patient ref, 32 bytes hex.
    pub patient_ref: String,
    /// The purpose, e.g. `PURPOSE_TREATMENT`.
    pub purpose: String,
    /// Wanted categories; empty means all.
    pub categories: Vec<String>,
    /// The X25519 public key the reply is sealed to, 32 bytes hex (absent
    /// in entries stored before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_encryption_key: Option<String>,
    /// The request's own creation time.
    pub created_at_ms: i64,
    /// SHA-256 of the signed request bytes, hex.
    pub signed_request_sha256: String,
    /// SHA-256 of the forwarded envelope (incoming requests), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_sha256: Option<String>,
    /// When this network first stored it.
    pub recorded_at_ms: i64,
    /// The reply, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<ReplySummary>,
}

/// The public metadata of a stored record; its contents are private.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMeta {
    /// The record id (the FHIR resource id).
    pub record_id: String,
    /// The patient ref, 32 bytes hex.
    pub patient_ref: String,
    /// The record's category.
    pub category: String,
    /// SHA-256 of the stored FHIR JSON bytes, hex.
    pub sha256: String,
    /// The uploader's MSP.
    pub uploader_msp_id: String,
    /// The uploader's client id.
    pub uploader_id: String,
    /// When it was stored.
    pub stored_at_ms: i64,
}

/// Composite keys of the families above.
pub mod key {
    use super::{EhrError, Role, composite_key};

    fn make(object_type: &str, attributes: &[&str]) -> Result<String, EhrError> {
        composite_key::create(object_type, attributes).map_err(|e| EhrError::Ledger(e.into()))
    }

    /// `ehrx.config`.
    pub fn config() -> Result<String, EhrError> {
        make("ehrx.config", &[])
    }
    /// `ehrx.network`.
    pub fn network(network_id: &str) -> Result<String, EhrError> {
        make("ehrx.network", &[network_id])
    }
    /// `ehrx.requester`.
    pub fn requester(code: &str) -> Result<String, EhrError> {
        make("ehrx.requester", &[code])
    }
    /// `ehrx.requester-of`.
    pub fn requester_of(msp_id: &str, id: &str) -> Result<String, EhrError> {
        make("ehrx.requester-of", &[msp_id, id])
    }
    /// `ehrx.role`.
    pub fn role(role: Role, msp_id: &str, id: &str) -> Result<String, EhrError> {
        make("ehrx.role", &[role.name(), msp_id, id])
    }
    /// `ehrx.flag`.
    pub fn flag(msp_id: &str, id: &str) -> Result<String, EhrError> {
        make("ehrx.flag", &[msp_id, id])
    }
    /// `ehrx.rate`.
    pub fn rate(code: &str) -> Result<String, EhrError> {
        make("ehrx.rate", &[code])
    }
    /// `ehrx.request`.
    pub fn request(request_id: &str) -> Result<String, EhrError> {
        make("ehrx.request", &[request_id])
    }
    /// `ehrx.requests-of`.
    pub fn requests_of(msp_id: &str, id: &str, request_id: &str) -> Result<String, EhrError> {
        make("ehrx.requests-of", &[msp_id, id, request_id])
    }
    /// `ehrx.record`.
    pub fn record(record_id: &str) -> Result<String, EhrError> {
        make("ehrx.record", &[record_id])
    }
    /// `ehrx.patient-record`.
    pub fn patient_record(
        patient_ref: &str,
        category: &str,
        record_id: &str,
    ) -> Result<String, EhrError> {
        make("ehrx.patient-record", &[patient_ref, category, record_id])
    }
    /// `ehrx.audit`.
    pub fn audit(subject: &str, at_ms: i64, tx_id: &str, kind: &str) -> Result<String, EhrError> {
        make(
            "ehrx.audit",
            &[subject, &format!("{at_ms:020}"), tx_id, kind],
        )
    }
}

/// Reads the JSON value of `key`, if any.
pub async fn get<T: DeserializeOwned>(
    stub: &Stub,
    what: &'static str,
    key: &str,
) -> Result<Option<T>, EhrError> {
    match stub.get_state(key).await? {
        None => Ok(None),
        Some(bytes) => decode(what, key, &bytes).map(Some),
    }
}

/// Parses a stored JSON value.
pub fn decode<T: DeserializeOwned>(
    what: &'static str,
    key: &str,
    bytes: &[u8],
) -> Result<T, EhrError> {
    serde_json::from_slice(bytes).map_err(|e| EhrError::Corrupt {
        what,
        key: key.replace('\u{0}', "/"),
        reason: e.to_string(),
    })
}

/// Writes `value` as JSON under `key`.
pub async fn put<T: Serialize>(stub: &Stub, key: &str, value: &T) -> Result<(), EhrError> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| EhrError::Contract(crate::shim::contract::ContractError::Serialize(e)))?;
    stub.put_state(key, bytes).await?;
    Ok(())
}

/// This network's configuration; every function but ConfigureNetwork needs it.
pub async fn config(stub: &Stub) -> Result<NetworkConfig, EhrError> {
    get(stub, "network configuration", &key::config()?)
        .await?
        .ok_or(EhrError::NotConfigured)
}

/// The values of every key of `object_type` starting with `attributes`, in
/// key order.
pub async fn list(
    stub: &Stub,
    object_type: &str,
    attributes: &[&str],
) -> Result<Vec<(String, Vec<u8>)>, EhrError> {
    let entries = stub
        .get_state_by_partial_composite_key(object_type, attributes)
        .await?
        .collect()
        .await?;
    Ok(entries.into_iter().map(|kv| (kv.key, kv.value)).collect())
}

/// The transaction time in Unix milliseconds.
pub fn now_ms(stub: &Stub) -> Result<i64, EhrError> {
    let timestamp = stub.tx_timestamp()?;
    timestamp_ms(&timestamp)
        .ok_or_else(|| EhrError::invalid("transaction timestamp", "out of range"))
}

/// A protobuf timestamp in Unix milliseconds, if it is a valid one.
pub fn timestamp_ms(timestamp: &prost_types::Timestamp) -> Option<i64> {
    if !(0..1_000_000_000).contains(&timestamp.nanos) {
        return None;
    }
    timestamp
        .seconds
        .checked_mul(1000)?
        .checked_add(i64::from(timestamp.nanos / 1_000_000))
}
