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
//! | `ehrx.trust` | network id | [`NetworkTrust`] (its organisations, CA roots, verification policy) |
//! | `ehrx.trust-retiring` | network id | [`RetiringTrust`] (the replaced entry, until its cut-over) |
//! | `ehrx.challenge` | nonce (64 hex) | [`Challenge`] (issued, not yet used) |
//! | `ehrx.requester` | requester code | [`Requester`] |
//! | `ehrx.requester-of` | msp id, identity id | the requester code bound to that identity |
//! | `ehrx.role` | role, msp id, identity id | [`Registration`] (responder, relay, uploader) |
//! | `ehrx.flag` | msp id, identity id | [`Flag`] |
//! | `ehrx.rate` | requester code | [`RateWindow`] |
//! | `ehrx.request` | request id | [`RequestEntry`] (outgoing on the source, incoming on the destination) |
//! | `ehrx.requests-of` | msp id, identity id, request id | the request id (a requester's own requests) |
//! | `ehrx.record` | resource type, FHIR id | [`RecordMeta`] (public metadata only; one per record, shared records too) |
//! | `ehrx.patient-record` | patient ref, resource type (category), FHIR id | the record's place in the patient's history: upload time (ms, 20 digits), tx id, position in the upload (6 digits), dot-separated (coverage checks, reply order) |
//! | `ehrx.audit` | subject, time (ms, 20 digits), tx id, kind | [`AuditEntry`](ehrx_interface::types::AuditEntry) |
//!
//! Private data collections use simple keys: [`RECORDS`] holds each
//! record's FHIR JSON under its record id (`Type/id`), and each patient's
//! consents under the composite key `ehrx.consents` (patient ref) (see
//! [`consent`](super::consent)); [`REPLIES`] each received signed
//! reply (records sealed to the requester) under its request id.
//!
//! Identities are keyed by MSP id plus the Fabric client id string
//! (`x509::<subject>::<issuer>`), as Fabric's own `cid` package keys them.
//! Times are Unix milliseconds from the transaction timestamp, the same on
//! every endorser.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

pub use ehrx_interface::types::{
    Challenge, Direction, Flag, NetworkConfig, NetworkStatus, NetworkTrust, RecordMeta,
    Registration, RemoteNetwork, ReplyOutcome, ReplySummary, RequestEntry, RequestStatus,
    Requester, RetiringTrust, Role,
};

use crate::{
    ehr::error::EhrError,
    shim::{Stub, composite_key},
};

/// Private collection of record contents.
pub const RECORDS: &str = "ehrRecords";
/// Private collection of received signed replies.
pub const REPLIES: &str = "ehrReplies";

/// The recent request times of one requester.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateWindow {
    /// The latest request time seen.
    pub last_ms: i64,
    /// Request times inside the window, oldest first.
    pub recent_ms: Vec<i64>,
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
    /// `ehrx.trust`.
    pub fn trust(network_id: &str) -> Result<String, EhrError> {
        make("ehrx.trust", &[network_id])
    }
    /// `ehrx.trust-retiring`.
    pub fn retiring_trust(network_id: &str) -> Result<String, EhrError> {
        make("ehrx.trust-retiring", &[network_id])
    }
    /// The object type of challenges.
    pub const CHALLENGE: &str = "ehrx.challenge";
    /// `ehrx.challenge`.
    pub fn challenge(nonce: &str) -> Result<String, EhrError> {
        make(CHALLENGE, &[nonce])
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
    /// `ehrx.record`, for a record id `Type/id` as
    /// [`split_record_id`](ehrx_interface::rules::split_record_id) splits it.
    pub fn record(resource_type: &str, id: &str) -> Result<String, EhrError> {
        make("ehrx.record", &[resource_type, id])
    }
    /// The object type of the patient index.
    pub const PATIENT_RECORD: &str = "ehrx.patient-record";
    /// `ehrx.patient-record`.
    pub fn patient_record(
        patient_ref: &str,
        resource_type: &str,
        id: &str,
    ) -> Result<String, EhrError> {
        make(PATIENT_RECORD, &[patient_ref, resource_type, id])
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

/// Writes an index entry: `key` (of an index family such as
/// `ehrx.patient-record`) holds the id it points to, as bytes.
pub async fn put_index(stub: &Stub, key: &str, id: &str) -> Result<(), EhrError> {
    stub.put_state(key, id.as_bytes().to_vec()).await?;
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
