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
//! | `ehrx.signed-request` | request id | the exact `SignedRequest` bytes validated here (outgoing), for the relay |
//! | `ehrx.requests-of` | msp id, identity id, request id | the request id (a requester's own requests) |
//! | `ehrx.record` | resource type, FHIR id | [`RecordMeta`] (public metadata only; one per record, shared records too) |
//! | `ehrx.patient-records` | patient ref | [`PatientIndex`]: each of the patient's record ids with its place in the patient's history: upload time (ms, 20 digits), tx id, position in the upload (6 digits), dot-separated (coverage checks, reply order) |
//! | `ehrx.consents` | patient ref | the patient's consents (see [`consent`](super::consent)) |
//! | `ehrx.audit` | subject, time (ms, 20 digits), tx id, kind | [`AuditEntry`](ehrx_interface::types::AuditEntry) |
//!
//! **What reaches a block.** Every key of the families marked *private*
//! (`ehrx.requester` to `ehrx.audit`: the exchange's metadata) lives in the
//! private collection [`STATE`], not in public state, so a block holds only
//! the SHA-256 of its key and of its value. Both would still be open to a
//! dictionary attack, because patient refs, requester codes and record ids
//! are low-entropy, so a private key's first attribute is replaced by
//! HMAC-SHA-256 under the network's 32-byte ledger secret (set once by
//! `ConfigureNetwork` through the transient map, and itself kept in
//! [`STATE`]), and every private value starts with a 32-byte pad, an HMAC of
//! the transaction id and key, so equal values hash differently. The
//! public families (configuration, lookup table, trust, challenges, roles,
//! flags) name networks and identities whose certificates are in every
//! block anyway.
//!
//! Private data collections use simple keys besides: [`RECORDS`] holds each
//! record's FHIR JSON under the keyed hash of its record id (`Type/id`,
//! [`Secret::record_key`]), [`REPLIES`] each signed reply under its
//! request id. A patient's consents are the private family
//! `ehrx.consents` (see [`consent`](super::consent)).
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

pub use ehrx_interface::names::private::{RECORDS, REPLIES, STATE};

/// The object types kept in [`STATE`] (under keyed-hash keys), not in
/// public state: every family that names a patient, a requester code or a
/// record.
pub const PRIVATE_FAMILIES: &[&str] = &[
    "ehrx.requester",
    "ehrx.requester-of",
    "ehrx.rate",
    "ehrx.request",
    "ehrx.signed-request",
    "ehrx.requests-of",
    "ehrx.record",
    key::PATIENT_RECORDS,
    key::CONSENTS,
    "ehrx.audit",
];

/// The network's ledger secret: the key of the keyed hashes that name
/// private state (see the module documentation).
pub struct Secret([u8; 32]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// The secret of these bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Its bytes, as stored.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, label: &str, parts: &[&[u8]]) -> [u8; 32] {
        use hmac::{Hmac, KeyInit as _, Mac as _};
        // HMAC pads a key shorter than the block with zeros (RFC 2104), so
        // this is HMAC under the 32-byte secret.
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&self.0);
        let mut mac = <Hmac<sha2::Sha256>>::new(&key.into());
        mac.update(label.as_bytes());
        for part in parts {
            mac.update(&[0]);
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The key under which the composite `key` of a private family is
    /// stored in [`STATE`]: its first attribute replaced by its keyed
    /// hash (hex), so partial-key queries on it still work.
    pub fn seal_key(&self, key: &str) -> Result<String, EhrError> {
        let (object_type, attributes) =
            composite_key::split(key).map_err(|e| EhrError::Ledger(e.into()))?;
        let attributes: Vec<&str> = attributes.iter().map(String::as_str).collect();
        let sealed = self.seal_attributes(&object_type, &attributes);
        let sealed: Vec<&str> = sealed.iter().map(String::as_str).collect();
        composite_key::create(&object_type, &sealed).map_err(|e| EhrError::Ledger(e.into()))
    }

    /// `attributes` with the first replaced by its keyed hash (hex).
    fn seal_attributes(&self, object_type: &str, attributes: &[&str]) -> Vec<String> {
        let mut sealed: Vec<String> = attributes.iter().map(|a| (*a).to_owned()).collect();
        if let Some(first) = sealed.first_mut() {
            *first = hex::encode(self.mac(object_type, &[first.as_bytes()]));
        }
        sealed
    }

    /// The key of a record's content in [`RECORDS`].
    pub fn record_key(&self, record_id: &str) -> String {
        hex::encode(self.mac(RECORDS, &[record_id.as_bytes()]))
    }

    /// The pad a private value written under `sealed_key` by transaction
    /// `tx_id` starts with.
    fn pad(&self, tx_id: &str, sealed_key: &str) -> [u8; 32] {
        self.mac("ehrx.pad", &[tx_id.as_bytes(), sealed_key.as_bytes()])
    }
}

/// Whether the composite `key` belongs to a private family.
pub fn is_private(key: &str) -> bool {
    composite_key::split(key).is_ok_and(|(object_type, _)| is_private_type(&object_type))
}

fn is_private_type(object_type: &str) -> bool {
    PRIVATE_FAMILIES.contains(&object_type)
}

/// The network's ledger secret: the stored one, or, while none is stored
/// (the first `ConfigureNetwork`), the one its transient map carries.
pub async fn secret(stub: &Stub) -> Result<Secret, EhrError> {
    let key = key::secret()?;
    let bytes = match stub.get_private_data(STATE, &key).await? {
        Some(bytes) => bytes,
        None => stub
            .transient()?
            .get(ehrx_interface::names::private::LEDGER_SECRET)
            .cloned()
            .ok_or(EhrError::NotConfigured)?,
    };
    let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| EhrError::Corrupt {
        what: "ledger secret",
        key: "ehrx.secret".to_owned(),
        reason: format!("{} bytes, not 32", bytes.len()),
    })?;
    Ok(Secret(bytes))
}

/// Strips the pad off a private value.
fn unpad<'a>(what: &'static str, key: &str, bytes: &'a [u8]) -> Result<&'a [u8], EhrError> {
    bytes.get(32..).ok_or_else(|| EhrError::Corrupt {
        what,
        key: key.replace('\u{0}', "/"),
        reason: "a private value shorter than its pad".to_owned(),
    })
}

/// The raw value of `key`, public or private, if any.
async fn get_raw(stub: &Stub, what: &'static str, key: &str) -> Result<Option<Vec<u8>>, EhrError> {
    if !is_private(key) {
        return Ok(stub.get_state(key).await?);
    }
    let sealed = secret(stub).await?.seal_key(key)?;
    match stub.get_private_data(STATE, &sealed).await? {
        None => Ok(None),
        Some(bytes) => Ok(Some(unpad(what, key, &bytes)?.to_vec())),
    }
}

/// Writes raw bytes under `key`, public or private.
async fn put_raw(stub: &Stub, key: &str, value: Vec<u8>) -> Result<(), EhrError> {
    if !is_private(key) {
        stub.put_state(key, value).await?;
        return Ok(());
    }
    let secret = secret(stub).await?;
    let sealed = secret.seal_key(key)?;
    let mut padded = Vec::with_capacity(32 + value.len());
    padded.extend_from_slice(&secret.pad(stub.tx_id(), &sealed));
    padded.extend_from_slice(&value);
    stub.put_private_data(STATE, &sealed, padded).await?;
    Ok(())
}

/// Deletes `key`, public or private.
pub async fn delete(stub: &Stub, key: &str) -> Result<(), EhrError> {
    if is_private(key) {
        let sealed = secret(stub).await?.seal_key(key)?;
        stub.del_private_data(STATE, &sealed).await?;
    } else {
        stub.del_state(key).await?;
    }
    Ok(())
}

/// The id an index entry (see [`put_index`]) points to, if any.
pub async fn get_index(stub: &Stub, key: &str) -> Result<Option<String>, EhrError> {
    Ok(get_raw(stub, "index entry", key)
        .await?
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
}

/// The records of one patient: record id (`Type/id`) → its place in the
/// patient's history. One document, read by point: Fabric refuses a range
/// query on private data in a transaction that writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientIndex {
    /// Record id → place.
    pub records: std::collections::BTreeMap<String, String>,
}

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
    /// The ledger secret, in [`STATE`](super::STATE).
    pub fn secret() -> Result<String, EhrError> {
        make("ehrx.secret", &[])
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
    /// `ehrx.signed-request`: the exact signed request validated here.
    pub fn signed_request(request_id: &str) -> Result<String, EhrError> {
        make("ehrx.signed-request", &[request_id])
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
    pub const PATIENT_RECORDS: &str = "ehrx.patient-records";
    /// `ehrx.patient-records`: one document per patient (a private range
    /// query is allowed in read-only transactions only, and AcceptRequest
    /// and SubmitReply write).
    pub fn patient_records(patient_ref: &str) -> Result<String, EhrError> {
        make(PATIENT_RECORDS, &[patient_ref])
    }
    /// A patient's consents (see [`consent`](crate::ehr::consent)).
    pub const CONSENTS: &str = "ehrx.consents";
    /// `ehrx.consents`: one document per patient, read by every reply
    /// formation, so a revocation committed first invalidates a reply
    /// endorsed before it.
    pub fn consents(patient_ref: &str) -> Result<String, EhrError> {
        make(CONSENTS, &[patient_ref])
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
    match get_raw(stub, what, key).await? {
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
    put_raw(stub, key, bytes).await
}

/// Writes `bytes` as they are under `key`.
pub async fn put_bytes(stub: &Stub, key: &str, bytes: Vec<u8>) -> Result<(), EhrError> {
    put_raw(stub, key, bytes).await
}

/// The bytes stored under `key`, if any.
pub async fn get_bytes(
    stub: &Stub,
    what: &'static str,
    key: &str,
) -> Result<Option<Vec<u8>>, EhrError> {
    get_raw(stub, what, key).await
}

/// Writes an index entry: `key` (of an index family such as
/// `ehrx.patient-record`) holds the id it points to, as bytes.
pub async fn put_index(stub: &Stub, key: &str, id: &str) -> Result<(), EhrError> {
    put_raw(stub, key, id.as_bytes().to_vec()).await
}

/// This network's configuration; every function but ConfigureNetwork needs it.
pub async fn config(stub: &Stub) -> Result<NetworkConfig, EhrError> {
    get(stub, "network configuration", &key::config()?)
        .await?
        .ok_or(EhrError::NotConfigured)
}

/// The values of every key of `object_type` starting with `attributes`, in
/// key order. For a private family the keys are the sealed ones (first
/// attribute keyed-hashed; the others as written) and the values without
/// their pad.
pub async fn list(
    stub: &Stub,
    object_type: &str,
    attributes: &[&str],
) -> Result<Vec<(String, Vec<u8>)>, EhrError> {
    if !is_private_type(object_type) {
        let entries = stub
            .get_state_by_partial_composite_key(object_type, attributes)
            .await?
            .collect()
            .await?;
        return Ok(entries.into_iter().map(|kv| (kv.key, kv.value)).collect());
    }
    let sealed = secret(stub).await?.seal_attributes(object_type, attributes);
    let sealed: Vec<&str> = sealed.iter().map(String::as_str).collect();
    let entries = stub
        .get_private_data_by_partial_composite_key(STATE, object_type, &sealed)
        .await?
        .collect()
        .await?;
    entries
        .into_iter()
        .map(|kv| {
            let value = unpad("private state", &kv.key, &kv.value)?.to_vec();
            Ok((kv.key, value))
        })
        .collect()
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
