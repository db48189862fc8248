//! The audit log: every disclosure, refusal, admin change and security
//! event is an entry on the ledger, so a patient's accounting of
//! disclosures can be produced from it.
//!
//! Entries are grouped by subject (a patient ref, or `admin` / `security`)
//! and ordered by transaction time, so one partial-key query returns a
//! subject's trail in order.

use serde::{Deserialize, Serialize};

use crate::{
    ehr::{
        access::Caller,
        error::EhrError,
        state::{self, key},
    },
    shim::Stub,
};

/// The subject of admin changes.
pub const ADMIN: &str = "admin";
/// The subject of security events (flags).
pub const SECURITY: &str = "security";

/// What happened.
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
}

impl AuditKind {
    fn name(self) -> &'static str {
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
        }
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// When.
    pub at_ms: i64,
    /// The transaction.
    pub tx_id: String,
}

impl AuditEntry {
    /// An entry of `kind` about `subject`, by `caller`, now.
    pub fn new(
        stub: &Stub,
        caller: &Caller,
        kind: AuditKind,
        subject: &str,
        detail: impl Into<String>,
    ) -> Result<Self, EhrError> {
        Ok(Self {
            kind,
            subject: subject.to_owned(),
            request_id: None,
            record_ids: Vec::new(),
            network: None,
            actor_msp_id: caller.msp_id().to_owned(),
            actor_id: caller.id().to_owned(),
            detail: detail.into(),
            at_ms: state::now_ms(stub)?,
            tx_id: stub.tx_id().to_owned(),
        })
    }

    /// The request concerned.
    pub fn request(mut self, request_id: &str) -> Self {
        self.request_id = Some(request_id.to_owned());
        self
    }

    /// The other network concerned.
    pub fn network(mut self, network: &str) -> Self {
        self.network = Some(network.to_owned());
        self
    }

    /// The records concerned.
    pub fn records(mut self, record_ids: Vec<String>) -> Self {
        self.record_ids = record_ids;
        self
    }

    /// Writes the entry.
    pub async fn write(self, stub: &Stub) -> Result<(), EhrError> {
        let key = key::audit(&self.subject, self.at_ms, &self.tx_id, self.kind.name())?;
        state::put(stub, &key, &self).await
    }
}

/// A subject's entries, oldest first.
pub async fn trail(stub: &Stub, subject: &str) -> Result<Vec<AuditEntry>, EhrError> {
    state::list(stub, "ehrx.audit", &[subject])
        .await?
        .into_iter()
        .map(|(key, value)| state::decode("audit entry", &key, &value))
        .collect()
}
