//! The JSON arguments and results of the contract's functions, and the
//! payloads of its events. Every type refuses unknown fields ([`Changed`]
//! through the type of its body).
//! Arguments are read with [`crate::parse_object`], which also refuses
//! arrays, repeated keys and deep nesting.

use serde::{Deserialize, Deserializer, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::{
    Key32,
    limits::{DEFAULT_RATE_LIMIT_MAX, DEFAULT_RATE_LIMIT_WINDOW_SECONDS},
};

fn default_rate_limit_max() -> u32 {
    DEFAULT_RATE_LIMIT_MAX
}

fn default_rate_limit_window_seconds() -> u32 {
    DEFAULT_RATE_LIMIT_WINDOW_SECONDS
}

/// `ConfigureNetwork`'s argument and this network's stored settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// This network's id in the other networks' lookup tables; it can
    /// never change once set, since requests in flight name it.
    pub network_id: String,
    /// Requests one requester may submit per window
    /// ([`RATE_LIMIT_MAX`](crate::limits::RATE_LIMIT_MAX)).
    #[serde(default = "default_rate_limit_max")]
    pub rate_limit_max: u32,
    /// The window in seconds of transaction time
    /// ([`RATE_LIMIT_WINDOW_SECONDS`](crate::limits::RATE_LIMIT_WINDOW_SECONDS)).
    #[serde(default = "default_rate_limit_window_seconds")]
    pub rate_limit_window_seconds: u32,
    /// Whether a disclosure needs an active patient consent
    /// ([`crate::consent`]). Off by default, so a network configured
    /// before consents existed keeps answering; `ehrx setup` and the
    /// experiment's consent rows turn it on.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub consent_required: bool,
    /// Whether a request for the `PURPOSE_EMERGENCY` purpose may be
    /// answered without a consent (break-glass): always a `security`
    /// audit entry, a mark on the disclosure and a `BreakGlass` event.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
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

/// `PutRemoteNetwork`'s argument: an entry of the lookup table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteNetwork {
    /// The remote network's id.
    pub network_id: String,
    /// Its Ed25519 public key, which verifies its attestations.
    pub network_key: Key32,
    /// Whether it is in service.
    pub status: NetworkStatus,
}

impl RemoteNetwork {
    /// An entry for `network_id` with its Ed25519 public key.
    pub fn new(
        network_id: impl Into<String>,
        network_key: &[u8; 32],
        status: NetworkStatus,
    ) -> Self {
        Self {
            network_id: network_id.into(),
            network_key: Key32::new(*network_key),
            status,
        }
    }
}

/// `PutNetworkTrust`'s argument: what this network needs to check that a
/// remote network's peers, not merely its relay, validated what it
/// forwards. Kept beside the lookup table entry of `network_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkTrust {
    /// The lookup table entry this belongs to.
    pub network_id: String,
    /// The remote network's channel the contract runs on: a proof from
    /// another channel (with other state) proves nothing.
    pub channel: String,
    /// The remote network's organisations whose peers may endorse proofs.
    pub organizations: Vec<TrustedOrganization>,
    /// How many of them must endorse.
    pub policy: VerificationPolicy,
    /// When this entry replaces another (a CA or an organisation rotated):
    /// for how many seconds of transaction time, from the replacing
    /// transaction, a proof or a signer that only the replaced entry
    /// vouches for is still accepted, so exchanges in flight complete.
    /// After that cut-over only this entry counts. 0, the default, cuts
    /// over at once; at most
    /// [`MAX_TRUST_GRACE_SECONDS`](crate::limits::MAX_TRUST_GRACE_SECONDS).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub previous_grace_seconds: u32,
}

// serde's `skip_serializing_if` takes the field by reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// A replaced [`NetworkTrust`] still honoured until its cut-over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiringTrust {
    /// The replaced entry, as it was.
    pub trust: NetworkTrust,
    /// The last transaction time (Unix ms) at which it still counts.
    pub accepted_until_ms: i64,
}

/// `PutNetworkTrust`'s result: the entry now in force and, when the
/// replaced one keeps counting for a while, that one and its cut-over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustChange {
    /// The entry in force.
    pub trust: NetworkTrust,
    /// The replaced entry until its cut-over; absent when none counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring: Option<RetiringTrust>,
}

/// One organisation of a remote network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedOrganization {
    /// Its MSP id, as its peers' endorsements name it.
    pub msp_id: String,
    /// Its CA root certificates, PEM, one certificate each: its peers'
    /// and its users' certificates must be issued directly by one.
    pub root_certificates: Vec<String>,
}

/// How many distinct organisations must endorse a proof of validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationPolicy {
    /// Every listed organisation (JSON `"all"`).
    All,
    /// At least this many of them (JSON `{"at_least": k}`), k from 1 to
    /// the number listed.
    AtLeast(u32),
}

impl VerificationPolicy {
    /// The number of organisations required out of `listed`.
    pub fn required(self, listed: usize) -> usize {
        match self {
            VerificationPolicy::All => listed,
            VerificationPolicy::AtLeast(k) => usize::try_from(k).unwrap_or(usize::MAX),
        }
    }
}

/// `IssueChallenge`'s result, and the challenge as stored: a nonce a
/// proof from `network_id` must carry, usable once until `expires_at_ms`
/// (transaction time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// SHA-256 of the issuing transaction's id under a domain tag: the
    /// same on every endorser, new for every transaction.
    pub nonce: Key32,
    /// The network whose proof may carry it.
    pub network_id: String,
    /// The issuing transaction's time, Unix ms.
    pub issued_at_ms: i64,
    /// The latest accepting transaction time, Unix ms.
    pub expires_at_ms: i64,
}

/// `IssueChallenges`' result: `nonces.len()` challenges for `network_id`,
/// issued by one transaction, each usable once until `expires_at_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeBatch {
    /// The network whose proofs may carry them.
    pub network_id: String,
    /// The issuing transaction's time, Unix ms.
    pub issued_at_ms: i64,
    /// The latest accepting transaction time, Unix ms.
    pub expires_at_ms: i64,
    /// `SHA-256("ehrx.v1/challenges" ‖ u32 big-endian index ‖ tx id)` for
    /// index 0, 1, …: the same on every endorser, distinct from each other
    /// and from every `IssueChallenge` nonce (another domain tag).
    pub nonces: Vec<Key32>,
}

impl ChallengeBatch {
    /// The batch as single challenges, as stored.
    pub fn challenges(&self) -> impl Iterator<Item = Challenge> + '_ {
        self.nonces.iter().map(|nonce| Challenge {
            nonce: *nonce,
            network_id: self.network_id.clone(),
            issued_at_ms: self.issued_at_ms,
            expires_at_ms: self.expires_at_ms,
        })
    }
}

/// `PurgeChallenges`' result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengePurge {
    /// Expired challenges deleted by this call.
    pub purged: u32,
    /// Challenges left: still usable, or expired beyond this call's bound.
    pub left: u32,
}

/// `ProveRequest`'s result: what the source network's peers endorse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestProof {
    /// The network that validated the request (the endorsers' own).
    pub network_id: String,
    pub request_id: String,
    /// SHA-256 of the exact signed request bytes that were validated.
    pub signed_request_sha256: Key32,
    /// The verifier's challenge.
    pub nonce: Key32,
    /// Always true: the function refuses a request not validated here.
    pub validated: bool,
}

/// `ProveReply`'s result: what the replying network's peers endorse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyProof {
    /// The network that stored the reply (the endorsers' own).
    pub network_id: String,
    pub request_id: String,
    /// SHA-256 of the exact signed reply bytes stored there.
    pub signed_reply_sha256: Key32,
    /// The verifier's challenge.
    pub nonce: Key32,
    /// Always true: the function refuses a reply not stored here.
    pub validated: bool,
}

/// The argument of `RegisterResponder`, `RegisterRelay`,
/// `RegisterUploader`: one client identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberIdentity {
    /// Its MSP id.
    pub msp_id: String,
    /// Its certificate, PEM; the contract derives the client id from it.
    pub certificate: String,
}

/// `ClearFlag`'s argument: the flagged identity, by certificate or by the
/// client id its flag names (exactly one of the two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlaggedIdentity {
    /// Its MSP id.
    pub msp_id: String,
    /// Its certificate, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// Its client id `x509::<subject>::<issuer>`, as the flag shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_id: Option<String>,
}

impl From<MemberIdentity> for FlaggedIdentity {
    fn from(member: MemberIdentity) -> Self {
        Self {
            msp_id: member.msp_id,
            certificate: Some(member.certificate),
            identity_id: None,
        }
    }
}

/// `RegisterRequester`'s argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequesterRegistration {
    /// The code every request of theirs carries.
    pub requester_code: String,
    /// MSP id of their client identity.
    pub msp_id: String,
    /// Their client certificate, PEM.
    pub certificate: String,
    /// What they may do: a subset of [`PRIVILEGES`](crate::rules::PRIVILEGES).
    pub privileges: Vec<String>,
    /// Their X25519 public key, which replies are sealed to.
    pub encryption_key: Key32,
}

impl RequesterRegistration {
    /// A registration of `member` under `requester_code`.
    pub fn new(
        requester_code: impl Into<String>,
        member: MemberIdentity,
        privileges: Vec<String>,
        encryption_key: &[u8; 32],
    ) -> Self {
        Self {
            requester_code: requester_code.into(),
            msp_id: member.msp_id,
            certificate: member.certificate,
            privileges,
            encryption_key: Key32::new(*encryption_key),
        }
    }
}

/// A registered requester, as stored and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    /// The code requests carry.
    pub requester_code: String,
    /// The MSP of the bound identity.
    pub msp_id: String,
    /// The bound identity's client id.
    pub identity_id: String,
    /// The bound identity's certificate, PEM.
    pub certificate: String,
    /// What the requester may do.
    pub privileges: Vec<String>,
    /// The X25519 key replies are sealed to.
    pub encryption_key: Key32,
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
    /// Stores and revokes patients' consents on their behalf.
    ConsentManager,
}

impl Role {
    /// The name used in JSON, keys and messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Responder => "responder",
            Role::Relay => "relay",
            Role::Uploader => "uploader",
            Role::ConsentManager => "consent_manager",
        }
    }
}

/// An identity registered in a [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// The identity's MSP.
    pub msp_id: String,
    /// The identity's client id.
    pub identity_id: String,
    /// Why it was flagged.
    pub reason: String,
    /// When, Unix milliseconds of transaction time.
    pub flagged_at_ms: i64,
    /// The transaction that flagged it.
    pub tx_id: String,
}

/// What an admin function returns: `{"outcome":"ok", ...what is now
/// stored}`. It is read through a JSON object rather than serde's
/// `flatten`, so that `T` refuses unknown fields here too (flatten cannot
/// combine with that), and numbers reach `T` as serde_json values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed<T> {
    /// Always `ok`.
    pub outcome: OutcomeKind,
    /// The stored entry, its fields inline.
    #[serde(flatten)]
    pub value: T,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Changed<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut object = Map::<String, Value>::deserialize(deserializer)?;
        let outcome = object
            .remove("outcome")
            .ok_or_else(|| D::Error::missing_field("outcome"))?;
        Ok(Self {
            outcome: OutcomeKind::deserialize(outcome).map_err(D::Error::custom)?,
            value: T::deserialize(Value::Object(object)).map_err(D::Error::custom)?,
        })
    }
}

impl<T> Changed<T> {
    /// `ok` with `value`.
    pub fn ok(value: T) -> Self {
        Self {
            outcome: OutcomeKind::Ok,
            value,
        }
    }
}

/// `PutEhr`'s argument: one upload of one patient's records, stored
/// all or nothing. Each record's FHIR JSON travels in the transient map
/// under its record id ([`record_id`](crate::rules::record_id): `Type/id`);
/// the list gives their order, which replies keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EhrUpload {
    /// The patient ref.
    pub patient_ref: Key32,
    /// The record ids, in upload order, each once.
    pub records: Vec<String>,
}

/// What `PutEhr` did with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stored {
    /// New: its content and metadata were stored, and it is the patient's.
    Stored,
    /// The same record (type, id and bytes) was already stored for another
    /// patient: it is now this patient's too, stored once.
    Shared,
    /// Already this patient's with the same bytes: nothing written.
    Present,
}

/// One record of [`EhrUploaded`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadedRecordMeta {
    /// The resource type.
    pub category: String,
    /// SHA-256 of its bytes: the private data hash on the ledger.
    pub sha256: Key32,
    /// What happened to it.
    pub stored: Stored,
}

/// `RegisterRequester`'s result. It is in the block, so it leaves out the
/// requester code (the argument itself travels in the transient map).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisteredRequester {
    /// The requester's MSP.
    pub msp_id: String,
    /// The requester's client id.
    pub identity_id: String,
    /// Its privileges.
    pub privileges: Vec<String>,
}

/// `PutEhr`'s result: each record of the upload, in its order. It is in
/// the block, so it names neither the patient nor the records: the
/// uploader knows both, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EhrUploaded {
    /// The records, in upload order.
    pub records: Vec<UploadedRecordMeta>,
    /// The uploader's MSP.
    pub uploader_msp_id: String,
    /// The uploader's client id.
    pub uploader_id: String,
    /// The transaction time, Unix milliseconds.
    pub stored_at_ms: i64,
}

/// A record's public metadata, as stored under its record id (its content
/// stays in private data). A record shared by several patients is stored
/// once; the patient index links it to each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordMeta {
    /// The record id, `Type/id`.
    pub record_id: String,
    /// The patient whose upload stored it first.
    pub patient_ref: Key32,
    /// The record's category.
    pub category: String,
    /// SHA-256 of the stored bytes: the private data hash on the ledger.
    pub sha256: Key32,
    /// The uploader's MSP.
    pub uploader_msp_id: String,
    /// The uploader's client id.
    pub uploader_id: String,
    /// When it was stored.
    pub stored_at_ms: i64,
}

/// The `outcome` of an exchange function's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Done (admin changes, `GetReply` delivering the reply).
    Ok,
    /// `SubmitRequest`: passed Algorithm 1.
    Validated,
    /// `AcceptRequest`: passed Algorithm 2.
    Accepted,
    /// A committed refusal: the rate limit (`SubmitRequest`) or Algorithm
    /// 2 (`AcceptRequest`).
    Rejected,
    /// `SubmitReply`: the reply is stored.
    Submitted,
    /// `AcceptReply`: an OK reply arrived.
    Fulfilled,
    /// `AcceptReply`: a refusal arrived.
    Failed,
    /// `GetReply` by someone other than the requester; recorded.
    Refused,
}

/// The result of an exchange function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// What happened.
    pub outcome: OutcomeKind,
    /// The request concerned.
    pub request_id: String,
    /// Why it was rejected, refused or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `GetReply`: the serialised `SignedReply`, base64 (standard, padded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_reply: Option<String>,
}

impl Outcome {
    /// `outcome` for `request_id`.
    pub fn of(outcome: OutcomeKind, request_id: &str) -> Self {
        Self {
            outcome,
            request_id: request_id.to_owned(),
            reason: None,
            signed_reply: None,
        }
    }

    /// With a reason.
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

/// The result of `GetSignedRequest` and `GetSignedReply`: the exact
/// signed message a relay forwards, which the event that names the
/// request carries no more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedMessage {
    /// The request concerned.
    pub request_id: String,
    /// The serialised `SignedRequest` or `SignedReply`, base64 (standard,
    /// padded).
    pub signed: String,
}

/// The payload of `RequestRejected` and `SecurityFlagged` events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    /// The request concerned.
    pub request_id: String,
    /// Why.
    pub reason: String,
    /// `RequestRejected`: the refusal the request calls for
    /// (`not_found` when the patient has no records here in the wanted
    /// categories, else `rejected`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<ReplyOutcome>,
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
    /// Outgoing, an OK reply arrived: records to read.
    Fulfilled,
    /// Outgoing, a refusal (not found, rejected) arrived.
    Failed,
}

impl RequestStatus {
    /// Whether a reply is stored (to read on the source, or sent from the
    /// destination).
    pub fn has_reply(self) -> bool {
        matches!(self, Self::Replied | Self::Fulfilled)
    }

    /// Whether the request ended without records.
    pub fn is_refusal(self) -> bool {
        matches!(self, Self::Rejected | Self::Failed)
    }
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
#[serde(deny_unknown_fields)]
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

/// A request on either side of the exchange: `GetRequestStatus`'s result
/// and each element of `ListRequests`'. A rejected incoming request keeps
/// what it carried, valid or not, so its hex fields are plain strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestEntry {
    /// The request id (UUID v4).
    pub request_id: String,
    /// Which side this network is on.
    pub direction: Direction,
    /// Where it stands.
    pub status: RequestStatus,
    /// Why it was rejected here (incoming) or refused by the destination
    /// (outgoing, `failed`: the reply's reason), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A rejected incoming request: the refusal it calls for, `not_found`
    /// (no records of the patient here in the wanted categories) or
    /// `rejected` (anything else). An outgoing `failed` one: the reply's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<ReplyOutcome>,
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
    /// The patient ref, hex.
    pub patient_ref: String,
    /// The purpose, e.g. `PURPOSE_TREATMENT`.
    pub purpose: String,
    /// Wanted categories; empty means all.
    pub categories: Vec<String>,
    /// The X25519 public key the reply is sealed to, hex (absent in
    /// entries stored before it was kept).
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

/// One record of [`RequestRecords`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordContent {
    /// The record id.
    pub record_id: String,
    /// Its category, as stored (a reply lists it so).
    pub category: String,
    /// SHA-256 of the content: the stored private data hash.
    pub sha256: Key32,
    /// The exact stored bytes, base64 (standard, padded).
    pub content: String,
}

/// `GetRequestRecords`' result: what a responder seals into its reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRecords {
    /// The request.
    pub request_id: String,
    /// The patient ref.
    pub patient_ref: Key32,
    /// The X25519 key to seal to.
    pub requester_encryption_key: Key32,
    /// The requesting network: the reply's `receiving_network`.
    pub source_network: String,
    /// The records the reply must list, in the patient's upload order.
    pub records: Vec<RecordContent>,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// An admin changed the configuration or a registry.
    AdminChange,
    /// An EHR was stored.
    RecordStored,
    /// A request left this network (Algorithm 1 passed).
    RequestSubmitted,
    /// A forwarded request was accepted (Algorithm 2 passed).
    RequestAccepted,
    /// A forwarded request was rejected (Algorithm 2 failed).
    RequestRejected,
    /// Records were disclosed in a reply.
    Disclosure,
    /// A refusal reply was sent.
    Refusal,
    /// A reply arrived (Algorithm 3 passed).
    ReplyReceived,
    /// The requester read the reply.
    ReplyRead,
    /// Someone other than the requester asked for a reply.
    RetrievalRefused,
    /// An identity was flagged.
    Flagged,
    /// A consent was stored or replaced.
    ConsentStored,
    /// A consent was revoked.
    ConsentRevoked,
    /// Records were disclosed without a consent, for an emergency
    /// (subject `security`; the disclosure's own entry is marked too).
    BreakGlass,
}

impl AuditKind {
    /// The name in JSON and in audit keys.
    pub fn name(self) -> &'static str {
        match self {
            AuditKind::AdminChange => "admin_change",
            AuditKind::RecordStored => "record_stored",
            AuditKind::RequestSubmitted => "request_submitted",
            AuditKind::RequestAccepted => "request_accepted",
            AuditKind::RequestRejected => "request_rejected",
            AuditKind::Disclosure => "disclosure",
            AuditKind::Refusal => "refusal",
            AuditKind::ReplyReceived => "reply_received",
            AuditKind::ReplyRead => "reply_read",
            AuditKind::RetrievalRefused => "retrieval_refused",
            AuditKind::Flagged => "flagged",
            AuditKind::ConsentStored => "consent_stored",
            AuditKind::ConsentRevoked => "consent_revoked",
            AuditKind::BreakGlass => "break_glass",
        }
    }
}

/// One entry of `AuditTrail`'s result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// What happened.
    pub kind: AuditKind,
    /// A patient ref (hex), `admin` or `security`.
    pub subject: String,
    /// The request concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The records concerned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub record_ids: Vec<String>,
    /// The other network concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Who did it: MSP.
    pub actor_msp_id: String,
    /// Who did it: client id.
    pub actor_id: String,
    /// What was done or why it was refused.
    pub detail: String,
    /// When, Unix milliseconds of transaction time.
    pub at_ms: i64,
    /// The transaction.
    pub tx_id: String,
    /// A disclosure or a refusal: to whom, why, and on what basis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosed: Option<Disclosed>,
}

/// Who received a disclosure (or was refused one), for which purpose, and
/// what allowed it: the accounting of disclosures reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disclosed {
    /// The requester's code on the requesting network.
    pub requester_code: String,
    /// The request's purpose name.
    pub purpose: String,
    /// The consent that permitted it, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_id: Option<String>,
    /// Whether it was disclosed without a consent, for an emergency.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub break_glass: bool,
}

impl AuditEntry {
    /// With the request concerned.
    pub fn request(mut self, request_id: &str) -> Self {
        self.request_id = Some(request_id.to_owned());
        self
    }

    /// With the other network concerned.
    pub fn network(mut self, network: &str) -> Self {
        self.network = Some(network.to_owned());
        self
    }

    /// With the records concerned.
    pub fn records(mut self, record_ids: Vec<String>) -> Self {
        self.record_ids = record_ids;
        self
    }

    /// With to whom, why and on what basis.
    pub fn disclosed(mut self, disclosed: Disclosed) -> Self {
        self.disclosed = Some(disclosed);
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{ErrorCode, parse_object};

    #[test]
    fn configuration_defaults_to_one_request_a_minute() {
        let config: NetworkConfig = parse_object("config", br#"{"network_id":"net1"}"#).unwrap();
        assert_eq!(config.rate_limit_max, 1);
        assert_eq!(config.rate_limit_window_seconds, 60);
        let array = parse_object::<NetworkConfig>("config", br#"["net1",100,60]"#).unwrap_err();
        assert_eq!(array.code(), ErrorCode::NotAnObject);
    }

    #[test]
    fn admin_results_read_back_with_their_numbers_and_no_unknown_field() {
        let text = r#"{"outcome":"ok","network_id":"net1","rate_limit_max":4000000000,"rate_limit_window_seconds":60}"#;
        let changed: Changed<NetworkConfig> = serde_json::from_str(text).unwrap();
        assert_eq!(changed.outcome, OutcomeKind::Ok);
        assert_eq!(changed.value.rate_limit_max, 4_000_000_000);
        assert_eq!(serde_json::to_string(&changed).unwrap(), text);
        for bad in [
            r#"{"network_id":"net1"}"#,
            r#"{"outcome":"ok","network_id":"net1","extra":1}"#,
            r#"{"outcome":"ok","network_id":"net1","rate_limit_max":1.5}"#,
            r#"["ok","net1"]"#,
        ] {
            assert!(
                serde_json::from_str::<Changed<NetworkConfig>>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn keys_are_checked_while_parsing() {
        let bad = json!({"network_id":"n","network_key":"AB".repeat(32),"status":"active"});
        let error =
            parse_object::<RemoteNetwork>("network", bad.to_string().as_bytes()).unwrap_err();
        assert_eq!(error.code(), ErrorCode::BadArgument);
        let good = RemoteNetwork::new("n", &[0xab; 32], NetworkStatus::Suspended);
        let text = serde_json::to_string(&good).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"network_id":"n","network_key":"{}","status":"suspended"}}"#,
                "ab".repeat(32)
            )
        );
        assert_eq!(
            parse_object::<RemoteNetwork>("network", text.as_bytes()).unwrap(),
            good
        );
    }

    #[test]
    fn outcomes_and_entries_keep_their_wire_names() {
        let outcome = Outcome::of(OutcomeKind::Rejected, "r").because("rate");
        assert_eq!(
            serde_json::to_value(&outcome).unwrap(),
            json!({"outcome":"rejected","request_id":"r","reason":"rate"})
        );
        let changed = Changed::ok(Flag {
            msp_id: "M".into(),
            identity_id: "x".into(),
            reason: "r".into(),
            flagged_at_ms: 1,
            tx_id: "t".into(),
        });
        assert_eq!(serde_json::to_value(&changed).unwrap()["outcome"], "ok");
        assert_eq!(
            serde_json::to_value(RequestStatus::Fulfilled).unwrap(),
            "fulfilled"
        );
        assert!(RequestStatus::Fulfilled.has_reply());
        assert!(RequestStatus::Failed.is_refusal());
        assert_eq!(
            serde_json::to_value(AuditKind::RetrievalRefused).unwrap(),
            AuditKind::RetrievalRefused.name()
        );
        let member = MemberIdentity {
            msp_id: "M".into(),
            certificate: "PEM".into(),
        };
        assert_eq!(
            serde_json::to_value(FlaggedIdentity::from(member)).unwrap(),
            json!({"msp_id":"M","certificate":"PEM"})
        );
    }
}
