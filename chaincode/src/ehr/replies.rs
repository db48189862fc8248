//! Replies: `GetRequestRecords` (a responder reads what it must seal) and
//! `SubmitReply` (a responder answers an incoming request, on the
//! destination network), `AcceptReply` (Algorithm 3, on the source
//! network) and `GetReply` (the retrieval privilege).
//!
//! GetRequestRecords and SubmitReply's coverage check select the records
//! with the same function ([`records::records_of`]), so what a responder
//! reads is exactly what its reply must list.
//!
//! SubmitReply is Algorithm 1 applied to the reply, plus the exchange's
//! guarantees: exactly one reply per request (the first to commit; a
//! second conflicts with the stored status and is refused), every listed
//! hash equals the private-data hash stored for that record (readable by
//! non-member peers too), and the list covers every record of the patient
//! in the wanted categories, so a responder can neither alter nor silently
//! withhold a record. Every failure is an error that writes nothing.
//!
//! AcceptReply checks Algorithm 3's "the request is still open" first,
//! because identical envelope bytes for a closed request are a relay's
//! resubmission after a crash and return the stored outcome without
//! writing; then the rest in the algorithm's order, with the replying
//! network's proof of validation (its peers state they stored this reply;
//! see [`trust`]) after its attestation, and the responder's certificate
//! issued by a CA registered for that network. Every failure is an error:
//! there is nobody to send a refusal of a reply to.

use std::collections::BTreeSet;

use base64::Engine as _;
use ehrx_interface::{
    Key32,
    names::event,
    quote,
    rules::split_record_id,
    types::{Outcome, OutcomeKind, RecordContent, RequestRecords, SignedMessage},
};
use ehrx_proto::exchange::{Reply, ReplyStatus};
use hlf_protos::msp::SerializedIdentity;
use prost::Message as _;
use sha2::{Digest, Sha256};

use crate::{
    ehr::{
        access::Caller,
        audit::{self, AuditKind, Write as _},
        consent,
        error::EhrError,
        messages, records,
        requests::{Delivery, stored_request},
        state::{
            self, Direction, RECORDS, REPLIES, RecordMeta, ReplyOutcome, ReplySummary,
            RequestEntry, RequestStatus, Role, key,
        },
        trust,
    },
    shim::{
        Stub,
        contract::{Args, ContractError, Json},
    },
};

/// Why a non-requester is refused a reply.
pub const RETRIEVAL_REFUSED: &str =
    "only the requester who prepared the request may read its reply";

fn outcome_of(status: ReplyStatus) -> ReplyOutcome {
    match status {
        ReplyStatus::Ok => ReplyOutcome::Ok,
        ReplyStatus::NotFound => ReplyOutcome::NotFound,
        ReplyStatus::Rejected | ReplyStatus::Unspecified => ReplyOutcome::Rejected,
    }
}

fn summary(reply: &Reply, status: ReplyStatus, signed_reply: &[u8], at_ms: i64) -> ReplySummary {
    ReplySummary {
        status: outcome_of(status),
        reason: (!reply.reason.is_empty()).then(|| reply.reason.clone()),
        record_ids: reply.records.iter().map(|r| r.record_id.clone()).collect(),
        signed_reply_sha256: hex::encode(Sha256::digest(signed_reply)),
        envelope_sha256: None,
        at_ms,
    }
}

/// A request received here (made on another network), by id.
async fn incoming_request(stub: &Stub, request_id: &str) -> Result<RequestEntry, EhrError> {
    let entry = stored_request(stub, request_id).await?;
    if entry.direction != Direction::Incoming {
        return Err(EhrError::State(format!(
            "request {} was made on this network; only requests received here are answered here",
            entry.request_id
        )));
    }
    Ok(entry)
}

/// Fails unless `entry` can take a reply now: it is accepted, or rejected
/// and the reply is a `refusal`, and it has no reply yet.
fn require_open(entry: &RequestEntry, refusal: bool) -> Result<(), EhrError> {
    match entry.status {
        RequestStatus::Accepted => Ok(()),
        RequestStatus::Rejected if refusal => Ok(()),
        RequestStatus::Rejected => Err(EhrError::State(format!(
            "request {} was rejected ({}); only a refusal can answer it",
            entry.request_id,
            entry.reason.clone().unwrap_or_default()
        ))),
        RequestStatus::Replied => Err(EhrError::AlreadyReplied(entry.request_id.clone())),
        other => Err(EhrError::State(format!(
            "request {} is {other:?}, not open for a reply",
            entry.request_id
        ))),
    }
}

fn audit_subject(entry: &RequestEntry) -> String {
    if Key32::parse(&entry.patient_ref).is_ok() {
        entry.patient_ref.clone()
    } else {
        audit::SECURITY.to_owned()
    }
}

/// The reply lists exactly the patient's records in the wanted categories
/// (none missing, none other), each with its stored category and its
/// stored private-data hash.
async fn check_disclosure(
    stub: &Stub,
    entry: &RequestEntry,
    reply: &Reply,
) -> Result<(), EhrError> {
    let held = records::records_of(stub, &entry.patient_ref, &entry.categories).await?;
    let wanted: BTreeSet<&str> = held.iter().map(String::as_str).collect();
    let secret = state::secret(stub).await?;
    for digest in &reply.records {
        let record_id = digest.record_id.as_str();
        let (resource_type, id) = split_record_id(record_id).ok_or_else(|| {
            EhrError::invalid(
                "records",
                format!("{} is not a record id", quote(record_id)),
            )
        })?;
        if !wanted.contains(record_id) {
            return Err(EhrError::invalid(
                "records",
                format!(
                    "record {record_id} is not one of this patient's records here in the requested categories"
                ),
            ));
        }
        let meta: RecordMeta = state::get(stub, "record", &key::record(resource_type, id)?)
            .await?
            .ok_or_else(|| {
                EhrError::State(format!("record {record_id} is indexed but has no metadata"))
            })?;
        if digest.category != meta.category {
            return Err(EhrError::invalid(
                "records",
                format!(
                    "record {record_id} is listed as {:?} but stored as {:?}",
                    digest.category, meta.category
                ),
            ));
        }
        let content_key = secret.record_key(record_id);
        let stored = stub
            .get_private_data_hash(RECORDS, &content_key)
            .await?
            .ok_or_else(|| {
                EhrError::State(format!(
                    "record {record_id} has no private data hash on this ledger"
                ))
            })?;
        if stored != digest.sha256 {
            return Err(EhrError::invalid(
                "records",
                format!(
                    "hash mismatch: the listed SHA-256 of record {record_id} is not the stored private data hash"
                ),
            ));
        }
    }
    let listed: BTreeSet<&str> = reply.records.iter().map(|r| r.record_id.as_str()).collect();
    let missing: Vec<&str> = held
        .iter()
        .map(String::as_str)
        .filter(|id| !listed.contains(id))
        .collect();
    if !missing.is_empty() {
        return Err(EhrError::invalid(
            "records",
            format!(
                "incomplete: the reply omits record(s) {} of this patient in the requested categories",
                missing.join(", ")
            ),
        ));
    }
    Ok(())
}

/// `GetRequestRecords(request_id)`: a registered responder reads the
/// records of an accepted request that has no reply yet, from this peer's
/// copy of the private collection.
pub async fn get_request_records(
    stub: Stub,
    args: Args,
) -> Result<Json<RequestRecords>, ContractError> {
    Caller::in_role(&stub, Role::Responder).await?;
    let request_id = messages::request_id_arg(&args)?;
    let entry = incoming_request(&stub, request_id).await?;
    require_open(&entry, false)?;
    // No consent, no records read: the responder sends the refusal.
    let config = state::config(&stub).await?;
    consent::basis(&stub, &config, &entry, state::now_ms(&stub)?).await?;
    let requester_encryption_key =
        entry
            .requester_encryption_key
            .clone()
            .ok_or_else(|| EhrError::Corrupt {
                what: "request",
                key: request_id.to_owned(),
                reason: "no requester encryption key was recorded with it".to_owned(),
            })?;
    let mut records = Vec::new();
    let secret = state::secret(&stub).await?;
    for record_id in records::records_of(&stub, &entry.patient_ref, &entry.categories).await? {
        let (resource_type, id) = split_record_id(&record_id).ok_or_else(|| EhrError::Corrupt {
            what: "patient record index",
            key: record_id.clone(),
            reason: "not a record id".to_owned(),
        })?;
        let meta: RecordMeta = state::get(&stub, "record", &key::record(resource_type, id)?)
            .await?
            .ok_or_else(|| EhrError::Corrupt {
                what: "patient record index",
                key: record_id.clone(),
                reason: "the record is indexed for the patient but has no metadata".to_owned(),
            })?;
        let content_key = secret.record_key(&record_id);
        let content = stub
            .get_private_data(RECORDS, &content_key)
            .await?
            .ok_or_else(|| {
                EhrError::NotHeld(format!(
                    "record {record_id} is not held by this peer (not a member of {RECORDS})"
                ))
            })?;
        if Sha256::digest(&content).as_slice() != meta.sha256.bytes() {
            return Err(EhrError::Corrupt {
                what: "record",
                key: record_id,
                reason: "this peer's copy does not match the stored hash".to_owned(),
            }
            .into());
        }
        records.push(RecordContent {
            record_id: meta.record_id,
            category: meta.category,
            sha256: meta.sha256,
            content: base64::engine::general_purpose::STANDARD.encode(content),
        });
    }
    let corrupt = |reason: &str| EhrError::Corrupt {
        what: "request",
        key: request_id.to_owned(),
        reason: reason.to_owned(),
    };
    Ok(Json(RequestRecords {
        request_id: entry.request_id,
        patient_ref: Key32::parse(&entry.patient_ref)
            .map_err(|_| corrupt("an accepted request with a malformed patient ref"))?,
        requester_encryption_key: Key32::parse(&requester_encryption_key)
            .map_err(|_| corrupt("an accepted request with a malformed encryption key"))?,
        source_network: entry.source_network,
        records,
    }))
}

/// `SubmitReply(signed_reply)`: a registered responder answers a request.
pub async fn submit_reply(stub: Stub, args: Args) -> Result<Json<Outcome>, ContractError> {
    let caller = Caller::in_role(&stub, Role::Responder).await?;
    let config = state::config(&stub).await?;
    let now = state::now_ms(&stub)?;
    let bytes = args.bytes("signed_reply")?;

    let parsed = messages::parse_signed_reply(bytes)?;
    let reply = &parsed.reply;
    let status = messages::check_reply_format(reply, now)?;
    messages::check_this_network(
        "replying_network",
        &reply.replying_network,
        &config.network_id,
    )?;
    caller.require_signed_by_self(&parsed.signed.signer, "reply")?;
    parsed
        .signed
        .open()
        .map_err(|e| EhrError::signature("signature", e))?;

    let mut entry = incoming_request(&stub, &reply.request_id).await?;
    if reply.receiving_network != entry.source_network {
        return Err(EhrError::invalid(
            "receiving_network",
            format!(
                "{} is not the request's source network {}",
                quote(&reply.receiving_network),
                quote(&entry.source_network)
            ),
        )
        .into());
    }
    require_open(&entry, status != ReplyStatus::Ok)?;
    // A rejected request takes the refusal its rejection calls for, so
    // NOT_FOUND and REJECTED stay distinct end to end.
    if entry.status == RequestStatus::Rejected
        && let Some(refusal) = entry.refusal
        && refusal != outcome_of(status)
    {
        return Err(EhrError::invalid(
            "status",
            format!(
                "request {} was rejected as {refusal:?} ({}); its refusal must say so",
                entry.request_id,
                entry.reason.clone().unwrap_or_default()
            ),
        )
        .into());
    }
    if status != ReplyStatus::Rejected {
        check_disclosure(&stub, &entry, reply).await?;
    }
    // Only an OK reply discloses; it needs a consent at this
    // transaction's time (or break-glass, or no consent required).
    let basis = match status {
        ReplyStatus::Ok => Some(consent::basis(&stub, &config, &entry, now).await?),
        _ => None,
    };

    let summary = summary(reply, status, bytes, now);
    let subject = audit_subject(&entry);
    let (kind, detail) = if status == ReplyStatus::Ok {
        (
            AuditKind::Disclosure,
            format!(
                "disclosed {} record(s) to {} for {}",
                summary.record_ids.len(),
                entry.source_network,
                entry.purpose
            ),
        )
    } else {
        (
            AuditKind::Refusal,
            format!("refused {}: {}", entry.source_network, reply.reason),
        )
    };
    let mut audited = audit::entry(&stub, &caller, kind, &subject, detail)?
        .request(&entry.request_id)
        .network(&entry.source_network)
        .records(summary.record_ids.clone());
    if let Some(basis) = &basis {
        audited = audited.disclosed(basis.disclosed(&entry));
        if *basis == consent::Basis::BreakGlass {
            consent::record_break_glass(&stub, &caller, &entry, summary.record_ids.len()).await?;
        }
    }
    audited.write(&stub).await?;
    entry.status = RequestStatus::Replied;
    entry.reply = Some(summary);
    state::put(&stub, &key::request(&entry.request_id)?, &entry).await?;
    // The relay reads it from here (GetSignedReply): the event names the
    // request only. A break-glass disclosure raises BreakGlass instead of
    // ReplyReady, with the same payload.
    stub.put_private_data(REPLIES, &entry.request_id, bytes.to_vec())
        .await?;
    let event = basis
        .as_ref()
        .map_or(event::REPLY_READY, consent::Basis::reply_event);
    stub.set_event(event, entry.request_id.clone().into_bytes())?;
    Ok(Json(Outcome::of(OutcomeKind::Submitted, &entry.request_id)))
}

fn reply_outcome(entry: &RequestEntry) -> Outcome {
    match &entry.reply {
        Some(reply) if reply.status != ReplyOutcome::Ok => {
            Outcome::of(OutcomeKind::Failed, &entry.request_id)
                .because(reply.reason.clone().unwrap_or_default())
        }
        _ => Outcome::of(OutcomeKind::Fulfilled, &entry.request_id),
    }
}

/// `AcceptReply(forwarded_envelope)`: Algorithm 3, called by a relay.
pub async fn accept_reply(stub: Stub, args: Args) -> Result<Json<Outcome>, ContractError> {
    let delivery = Delivery::of(&stub, &args).await?;
    let (envelope, parsed) = messages::parse_reply_envelope(delivery.bytes)?;
    let reply = &parsed.reply;
    messages::check_request_id(&reply.request_id)?;
    let mut entry = stored_request(&stub, &reply.request_id).await?;
    if entry.direction != Direction::Outgoing {
        return Err(EhrError::State(format!(
            "request {} was not made on this network",
            entry.request_id
        ))
        .into());
    }
    // An outgoing request is open (validated) exactly until its reply is
    // stored.
    if let Some(existing) = &entry.reply {
        if existing.envelope_sha256.as_deref() == Some(delivery.envelope_sha256.as_str()) {
            return Ok(Json(reply_outcome(&entry)));
        }
        return Err(EhrError::AlreadyReplied(entry.request_id.clone()).into());
    }
    let status = messages::check_reply_format(reply, delivery.now)?;
    if reply.replying_network != entry.destination_network {
        return Err(EhrError::invalid(
            "replying_network",
            format!(
                "the reply comes from {} but the request went to {}",
                quote(&reply.replying_network),
                quote(&entry.destination_network)
            ),
        )
        .into());
    }
    messages::check_this_network(
        "receiving_network",
        &reply.receiving_network,
        &delivery.config.network_id,
    )?;
    let replying_orgs = parsed
        .sent()
        .verify(&stub, &envelope, delivery.proof, delivery.now)
        .await?;
    parsed
        .signed
        .open()
        .map_err(|e| EhrError::signature("signature", format!("the responder's signature: {e}")))?;
    let responder = SerializedIdentity::decode(parsed.signed.signer.as_slice())
        .map_err(|e| EhrError::signature("signature", format!("the responder's identity: {e}")))?;
    trust::check_signer(
        &replying_orgs,
        &responder.mspid,
        &responder.id_bytes,
        delivery.now,
    )
    .map_err(|e| EhrError::signature("signature", format!("the responder's {e}")))?;

    stub.put_private_data(REPLIES, &entry.request_id, parsed.bytes.clone())
        .await?;
    let mut summary = summary(reply, status, &parsed.bytes, delivery.now);
    summary.envelope_sha256 = Some(delivery.envelope_sha256);
    if status == ReplyStatus::Ok {
        entry.status = RequestStatus::Fulfilled;
    } else {
        // The destination's refusal, kept on the entry too, where a
        // status reader looks first.
        entry.status = RequestStatus::Failed;
        entry.reason = summary.reason.clone();
        entry.refusal = Some(summary.status);
    }
    audit::entry(
        &stub,
        &delivery.caller,
        AuditKind::ReplyReceived,
        &audit_subject(&entry),
        format!(
            "{:?} reply from {} with {} record(s)",
            summary.status,
            reply.replying_network,
            summary.record_ids.len()
        ),
    )?
    .request(&entry.request_id)
    .network(&reply.replying_network)
    .records(summary.record_ids.clone())
    .write(&stub)
    .await?;
    entry.reply = Some(summary);
    state::put(&stub, &key::request(&entry.request_id)?, &entry).await?;
    stub.set_event(event::REPLY_ACCEPTED, entry.request_id.clone().into_bytes())?;
    Ok(Json(reply_outcome(&entry)))
}

/// `GetSignedReply(request_id)`: the signed reply stored here. A
/// registered relay reads the reply to a request received here, to
/// forward it (the `ReplyReady` event names it by id only); the requester
/// reads the reply to its own request made here (after `GetReply`
/// recorded the read; the result of a submitted `GetReply` is in the
/// block, so it carries no reply).
pub async fn get_signed_reply(
    stub: Stub,
    args: Args,
) -> Result<Json<SignedMessage>, ContractError> {
    let caller = Caller::of(&stub)?;
    let request_id = messages::request_id_arg(&args)?;
    let not_found = || EhrError::NotFound {
        what: "reply stored here",
        key: request_id.to_owned(),
    };
    let entry = stored_request(&stub, request_id).await?;
    match entry.direction {
        Direction::Incoming => {
            caller.require_role(&stub, Role::Relay).await?;
        }
        Direction::Outgoing
            if entry.requester_msp_id == caller.msp_id() && entry.requester_id == caller.id() => {}
        Direction::Outgoing => {
            return Err(EhrError::AccessDenied(format!(
                "{RETRIEVAL_REFUSED}; GetReply records the attempt"
            ))
            .into());
        }
    }
    if entry.reply.is_none() {
        return Err(match entry.direction {
            Direction::Outgoing => EhrError::NoReplyYet(request_id.to_owned()),
            Direction::Incoming => not_found(),
        }
        .into());
    }
    let bytes = stub
        .get_private_data(REPLIES, request_id)
        .await?
        .ok_or_else(|| {
            EhrError::NotHeld(format!(
                "the reply of request {request_id} is not held by this peer (not a member of {REPLIES})"
            ))
        })?;
    Ok(Json(SignedMessage {
        request_id: request_id.to_owned(),
        signed: base64::engine::general_purpose::STANDARD.encode(bytes),
    }))
}

/// `GetReply(request_id)`: the reply for its requester; anyone else is
/// refused, and the attempt is recorded (hence a submitted function).
pub async fn get_reply(stub: Stub, args: Args) -> Result<Json<Outcome>, ContractError> {
    let caller = Caller::of(&stub)?;
    let request_id = messages::request_id_arg(&args)?;
    let entry = stored_request(&stub, request_id).await?;
    if entry.direction != Direction::Outgoing {
        return Err(EhrError::State(format!(
            "request {request_id} was not made on this network; its reply is read on the source network"
        ))
        .into());
    }
    let subject = audit_subject(&entry);
    if entry.requester_msp_id != caller.msp_id() || entry.requester_id != caller.id() {
        audit::entry(
            &stub,
            &caller,
            AuditKind::RetrievalRefused,
            &subject,
            RETRIEVAL_REFUSED,
        )?
        .request(request_id)
        .write(&stub)
        .await?;
        return Ok(Json(
            Outcome::of(OutcomeKind::Refused, request_id).because(RETRIEVAL_REFUSED),
        ));
    }
    if entry.reply.is_none() {
        return Err(EhrError::NoReplyYet(request_id.to_owned()).into());
    }
    audit::entry(
        &stub,
        &caller,
        AuditKind::ReplyRead,
        &subject,
        "the requester read the reply",
    )?
    .request(request_id)
    .write(&stub)
    .await?;
    // The result is in the block: the signed reply (which lists record
    // ids) is read with GetSignedReply.
    Ok(Json(Outcome::of(OutcomeKind::Ok, request_id)))
}
