//! The audit log: every disclosure, refusal, admin change and security
//! event is an entry on the ledger, so a patient's accounting of
//! disclosures can be produced from it.
//!
//! Entries are grouped by subject (a patient ref, or `admin` / `security`)
//! and ordered by transaction time, so one partial-key query returns a
//! subject's trail in order.

pub use ehrx_interface::{
    names::audit_subject::{ADMIN, SECURITY},
    types::{AuditEntry, AuditKind},
};

use crate::{
    ehr::{
        access::Caller,
        error::EhrError,
        state::{self, key},
    },
    shim::Stub,
};

/// An entry of `kind` about `subject`, by `caller`, at the transaction's
/// time.
pub fn entry(
    stub: &Stub,
    caller: &Caller,
    kind: AuditKind,
    subject: &str,
    detail: impl Into<String>,
) -> Result<AuditEntry, EhrError> {
    Ok(AuditEntry {
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
        disclosed: None,
    })
}

/// Writing an entry to the ledger.
pub trait Write {
    /// Writes the entry under its subject, time, transaction and kind.
    fn write(self, stub: &Stub) -> impl Future<Output = Result<(), EhrError>> + Send;
}

impl Write for AuditEntry {
    async fn write(self, stub: &Stub) -> Result<(), EhrError> {
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
