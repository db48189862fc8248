//! Patient consent: `PutConsent`, `RevokeConsent`, `ListConsents`, and the
//! check reply formation (Algorithm 2's reply, [`replies`](super::replies))
//! makes before anything is disclosed.
//!
//! A consent is a FHIR R4 `Consent` resource stored on the network that
//! holds the records, by an org admin or a registered consent manager
//! acting for the patient. It travels in the transient map and is kept in
//! the private collection [`RECORDS`], with the records it governs: no
//! block carries a patient ref, a consent id or its terms, only the
//! private write-set hashes. A patient's consents are one private key
//! (`ehrx.consents`, patient ref), read with a plain get, so a reply
//! endorsed before a revocation commits fails its MVCC check at commit:
//! a consent revoked while a request is in flight stops the reply.
//!
//! [`basis`] decides, at the transaction's timestamp, what allows a
//! disclosure: a consent ([`ConsentTerms::permits`]), break-glass (an
//! emergency, when the network's policy allows it), or nothing needed
//! (the network does not require consent); otherwise `NO_CONSENT`.

use ehrx_interface::{
    Key32,
    consent::{
        Asker, ConsentEntry, ConsentReceipt, ConsentRevocation, ConsentStatus, ConsentTerms,
        EMERGENCY_PURPOSE,
    },
    limits::MAX_CONSENTS_PER_PATIENT,
    names::{CONSENT_TRANSIENT, event},
    parse_object, quote,
    types::{Changed, Disclosed},
};

use sha2::{Digest as _, Sha256};

use crate::{
    ehr::{
        access::Caller,
        audit::{self, AuditKind, Write as _},
        error::EhrError,
        messages,
        state::{self, NetworkConfig, RequestEntry, Role, key},
    },
    shim::{
        Stub,
        contract::{Args, ContractError, Json},
    },
};

/// What allowed a disclosure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The network does not require consent.
    NotRequired,
    /// This consent permits it.
    Consent(String),
    /// No consent, but an emergency and the network allows break-glass.
    BreakGlass,
}

impl Basis {
    /// The audit mark of a disclosure to `entry`'s requester on this basis.
    pub fn disclosed(&self, entry: &RequestEntry) -> Disclosed {
        Disclosed {
            requester_code: entry.requester_code.clone(),
            purpose: entry.purpose.clone(),
            consent_id: match self {
                Self::Consent(id) => Some(id.clone()),
                _ => None,
            },
            break_glass: *self == Self::BreakGlass,
        }
    }

    /// The event of the reply's transaction: `BreakGlass` takes
    /// `ReplyReady`'s place (same payload) when the glass was broken.
    pub fn reply_event(&self) -> &'static str {
        match self {
            Self::BreakGlass => event::BREAK_GLASS,
            _ => event::REPLY_READY,
        }
    }
}

/// A patient's consents, as stored (none if never given): a private
/// family, kept under the keyed hash of the patient ref like the rest of
/// the patient's metadata (see [`state`]).
async fn stored(stub: &Stub, patient_ref: &Key32) -> Result<Vec<ConsentEntry>, EhrError> {
    let key = key::consents(&patient_ref.to_hex())?;
    Ok(state::get(stub, "consents", &key)
        .await?
        .unwrap_or_default())
}

async fn store(
    stub: &Stub,
    patient_ref: &Key32,
    consents: &[ConsentEntry],
) -> Result<(), EhrError> {
    state::put(stub, &key::consents(&patient_ref.to_hex())?, &consents).await
}

/// The caller, if an org admin or a registered consent manager.
async fn manager(stub: &Stub) -> Result<Caller, EhrError> {
    let caller = Caller::of(stub)?;
    if caller.require_admin().is_err() {
        caller.require_role(stub, Role::ConsentManager).await?;
    }
    state::config(stub).await?;
    Ok(caller)
}

fn transient(stub: &Stub) -> Result<&[u8], EhrError> {
    stub.transient()?
        .get(CONSENT_TRANSIENT)
        .map(Vec::as_slice)
        .ok_or_else(|| {
            EhrError::invalid(
                "consent",
                format!(
                    "the transient map has no {} entry",
                    quote(CONSENT_TRANSIENT)
                ),
            )
        })
}

/// The result of a consent change: the hash of what was read and the
/// time, nothing a block may not carry.
fn receipt(sent: &[u8], at_ms: i64) -> Json<Changed<ConsentReceipt>> {
    Json(Changed::ok(ConsentReceipt {
        sha256: Key32::new(Sha256::digest(sent).into()),
        at_ms,
    }))
}

/// `PutConsent()` with the FHIR `Consent` in the transient map: stores it,
/// or replaces the patient's consent of the same id.
pub async fn put_consent(
    stub: Stub,
    _args: Args,
) -> Result<Json<Changed<ConsentReceipt>>, ContractError> {
    let caller = manager(&stub).await?;
    let sent = transient(&stub)?;
    let terms = ConsentTerms::from_fhir(sent).map_err(EhrError::from)?;
    let now = state::now_ms(&stub)?;
    let mut consents = stored(&stub, &terms.patient_ref).await?;
    consents.retain(|c| c.terms.consent_id != terms.consent_id);
    if consents.len() >= MAX_CONSENTS_PER_PATIENT {
        return Err(EhrError::State(format!(
            "the patient already has {MAX_CONSENTS_PER_PATIENT} consents here, the most one patient may have"
        ))
        .into());
    }
    let entry = ConsentEntry {
        terms,
        stored_at_ms: now,
        stored_by_msp_id: caller.msp_id().to_owned(),
        stored_by: caller.id().to_owned(),
        revoked_at_ms: None,
    };
    consents.push(entry.clone());
    store(&stub, &entry.terms.patient_ref, &consents).await?;
    audit::entry(
        &stub,
        &caller,
        AuditKind::ConsentStored,
        &entry.terms.patient_ref.to_hex(),
        format!(
            "consent {} stored ({:?})",
            entry.terms.consent_id, entry.terms.status
        ),
    )?
    .write(&stub)
    .await?;
    Ok(receipt(sent, now))
}

/// `RevokeConsent()` with a `ConsentRevocation` in the transient map: the
/// consent becomes `inactive` from this transaction on.
pub async fn revoke_consent(
    stub: Stub,
    _args: Args,
) -> Result<Json<Changed<ConsentReceipt>>, ContractError> {
    let caller = manager(&stub).await?;
    let sent = transient(&stub)?;
    let revocation: ConsentRevocation = parse_object("revocation", sent).map_err(EhrError::from)?;
    let now = state::now_ms(&stub)?;
    let mut consents = stored(&stub, &revocation.patient_ref).await?;
    let entry = consents
        .iter_mut()
        .find(|c| c.terms.consent_id == revocation.consent_id)
        .ok_or_else(|| EhrError::NotFound {
            what: "consent of this patient",
            key: revocation.consent_id.clone(),
        })?;
    if entry.revoked_at_ms.is_some() {
        return Err(EhrError::State(format!(
            "consent {} is already revoked",
            quote(&revocation.consent_id)
        ))
        .into());
    }
    entry.terms.status = ConsentStatus::Inactive;
    entry.revoked_at_ms = Some(now);
    store(&stub, &revocation.patient_ref, &consents).await?;
    audit::entry(
        &stub,
        &caller,
        AuditKind::ConsentRevoked,
        &revocation.patient_ref.to_hex(),
        format!("consent {} revoked", revocation.consent_id),
    )?
    .write(&stub)
    .await?;
    Ok(receipt(sent, now))
}

/// `ListConsents(patient_ref)`: the patient's consents, revoked ones too.
pub async fn list_consents(
    stub: Stub,
    args: Args,
) -> Result<Json<Vec<ConsentEntry>>, ContractError> {
    manager(&stub).await?;
    let patient_ref = messages::key32_arg(&args, "patient_ref")?;
    Ok(Json(stored(&stub, &patient_ref).await?))
}

/// What allows disclosing `entry`'s records at `at_ms` (the transaction's
/// timestamp), or `NO_CONSENT` with the reason.
pub async fn basis(
    stub: &Stub,
    config: &NetworkConfig,
    entry: &RequestEntry,
    at_ms: i64,
) -> Result<Basis, EhrError> {
    if !config.consent_required {
        return Ok(Basis::NotRequired);
    }
    let patient_ref = Key32::parse(&entry.patient_ref).map_err(|_| EhrError::Corrupt {
        what: "request",
        key: entry.request_id.clone(),
        reason: "an accepted request with a malformed patient ref".to_owned(),
    })?;
    let asker = Asker {
        network: &entry.source_network,
        msp_id: &entry.requester_msp_id,
        requester_code: &entry.requester_code,
        purpose: &entry.purpose,
        categories: &entry.categories,
    };
    let mut mismatches = Vec::new();
    for consent in stored(stub, &patient_ref).await? {
        match consent.terms.permits(at_ms, &asker) {
            Ok(()) => return Ok(Basis::Consent(consent.terms.consent_id)),
            Err(mismatch) => mismatches.push(mismatch.to_string()),
        }
    }
    if entry.purpose == EMERGENCY_PURPOSE && config.break_glass {
        return Ok(Basis::BreakGlass);
    }
    let seen = if mismatches.is_empty() {
        "the patient has no consent here".to_owned()
    } else {
        mismatches.join("; ")
    };
    // The reason travels back in the refusal and is committed on the
    // requesting network: it names no requester code.
    Err(EhrError::NoConsent(format!(
        "no active consent permits this requester of {} for {} ({}) at this transaction's time: {seen}",
        entry.source_network,
        entry.purpose,
        if entry.categories.is_empty() {
            "every category".to_owned()
        } else {
            entry.categories.join(", ")
        }
    )))
}

/// Records a break-glass disclosure as a security event (the disclosure's
/// own entry carries the mark, the transaction the `BreakGlass` event).
pub async fn record_break_glass(
    stub: &Stub,
    caller: &Caller,
    entry: &RequestEntry,
    records: usize,
) -> Result<(), EhrError> {
    audit::entry(
        stub,
        caller,
        AuditKind::BreakGlass,
        audit::SECURITY,
        format!(
            "break-glass: {records} record(s) disclosed without consent to {} of {} for {}",
            entry.requester_code, entry.source_network, entry.purpose
        ),
    )?
    .request(&entry.request_id)
    .network(&entry.source_network)
    .write(stub)
    .await
}
