//! Requests: `SubmitRequest` (Algorithm 1, on the source network),
//! `AcceptRequest` (Algorithm 2, on the destination), and reading them back
//! (`GetRequestStatus`, `ListRequests`).
//!
//! Algorithm 1 checks in this order, each failure an error that writes
//! nothing: standard format (and the source is this network), the
//! submitter is a registered requester, the requester code is registered,
//! bound to the submitter and holds the
//! `request` privilege, the signer is the submitter, the signature
//! verifies, the encryption key is the registered one, the destination is
//! an active entry of the lookup table, the id is new, and the timestamp
//! is not older than the requester's last request. The rate limit comes
//! last, so only an authenticated, otherwise valid request can get its
//! requester flagged (nobody can get someone else flagged), and a flag is
//! an outcome that commits. Flagged submitters never get here: the
//! contract refuses them before any function runs.
//!
//! Algorithm 2 first establishes who sent the envelope and that the source
//! network itself, not only its relay, validated it: it parses, the
//! source network is active in the lookup table, its attestation verifies
//! (transport authentication by the relay's network key), and the proof of
//! validation holds (endorsed by the source's peers under its verification
//! policy, for this request's exact bytes and a live challenge of this
//! network, which it consumes; see [`trust`]). Failures there are errors
//! that write nothing, because there is nobody to send a refusal to and
//! storing one would let anyone burn a request id. A request id seen
//! before is idempotent with identical envelope bytes (no proof needed to
//! learn the stored outcome again) and a replay error otherwise. The
//! remaining checks (format, destination, requester signature, the
//! requester's certificate issued by a CA registered for the source,
//! patient has records) store a rejection that commits, so a refusal can
//! go back to the source its peers proved.

use base64::Engine as _;
use ehrx_interface::{
    names::event,
    quote,
    rules::PRIVILEGE_REQUEST,
    types::{Notice, Outcome, OutcomeKind, SignedMessage},
};
use ehrx_proto::exchange::{ForwardedEnvelope, Request, proof::TrustedOrg};
use hlf_protos::msp::SerializedIdentity;
use prost::Message as _;
use sha2::{Digest, Sha256};

use crate::{
    ehr::{
        access::Caller,
        audit::{self, AuditKind, Write as _},
        error::EhrError,
        messages::{self, ParsedRequest, Sent},
        rate_limit::{self, Decision},
        records,
        state::{
            self, Direction, Flag, NetworkConfig, NetworkStatus, RateWindow, RemoteNetwork,
            ReplyOutcome, RequestEntry, RequestStatus, Requester, Role, key,
        },
        trust,
    },
    shim::{
        Stub,
        client_identity::ClientIdentity,
        contract::{Args, ContractError, Json},
    },
};

/// The reason of a request for a patient with no records here in the
/// wanted categories (a NOT_FOUND refusal).
pub const NO_RECORDS: &str = "no records of this patient in the requested categories";

/// The reason a rate-limited request is rejected with.
pub const FLAGGED_RATE: &str = "flagged: rate limit exceeded";

/// An active entry of the lookup table, or the error naming why not.
pub async fn active_network(stub: &Stub, network_id: &str) -> Result<RemoteNetwork, EhrError> {
    let unknown = || EhrError::NotFound {
        what: "network in the lookup table",
        key: network_id.to_owned(),
    };
    let key = key::network(network_id).map_err(|_| unknown())?;
    let network: RemoteNetwork = state::get(stub, "remote network", &key)
        .await?
        .ok_or_else(unknown)?;
    if network.status != NetworkStatus::Active {
        return Err(EhrError::State(format!(
            "network {} is suspended in the lookup table",
            quote(network_id)
        )));
    }
    Ok(network)
}

/// The Ed25519 key of a lookup table entry.
pub fn network_key(network: &RemoteNetwork) -> Result<ed25519_dalek::VerifyingKey, EhrError> {
    ed25519_dalek::VerifyingKey::from_bytes(network.network_key.bytes()).map_err(|_| {
        EhrError::Corrupt {
            what: "remote network",
            key: network.network_id.clone(),
            reason: "the network key is not an Ed25519 public key".to_owned(),
        }
    })
}

/// What every relay delivery (AcceptRequest, AcceptReply) starts from: the
/// caller, who must be a registered relay, this network's configuration,
/// the transaction time, and the forwarded envelope and proof as sent.
#[derive(Debug)]
pub struct Delivery<'a> {
    /// The relay.
    pub caller: Caller,
    /// This network's settings.
    pub config: NetworkConfig,
    /// The transaction time, Unix ms.
    pub now: i64,
    /// The forwarded envelope's bytes.
    pub bytes: &'a [u8],
    /// Their SHA-256, hex: what tells a relay's resubmission from a replay.
    pub envelope_sha256: String,
    /// The validation proof's bytes.
    pub proof: &'a [u8],
}

impl<'a> Delivery<'a> {
    /// Reads and checks what a delivery starts from.
    pub async fn of(stub: &Stub, args: &'a Args) -> Result<Self, ContractError> {
        let caller = Caller::of(stub)?;
        caller.require_role(stub, Role::Relay).await?;
        let bytes = args.bytes("forwarded_envelope")?;
        Ok(Self {
            caller,
            config: state::config(stub).await?,
            now: state::now_ms(stub)?,
            bytes,
            envelope_sha256: hex::encode(Sha256::digest(bytes)),
            proof: args.bytes("validation_proof")?,
        })
    }
}

impl Sent<'_> {
    /// Checks that the sending network is active in the lookup table and
    /// attested `envelope`, and that its peers proved, for a live challenge
    /// of this network, that they validated the message; returns its
    /// organisations, which the signer's certificate is checked against.
    pub async fn verify(
        &self,
        stub: &Stub,
        envelope: &ForwardedEnvelope,
        proof: &[u8],
        now: i64,
    ) -> Result<Vec<TrustedOrg>, EhrError> {
        let sender = active_network(stub, self.network).await?;
        let sender_key = network_key(&sender)?;
        envelope
            .verify_attestation(self.network, |_| Some(sender_key))
            .map_err(|e| EhrError::signature("attestation", e))?;
        trust::verify_forwarded(
            stub,
            self.kind,
            self.network,
            self.request_id,
            self.signed,
            proof,
            now,
        )
        .await
    }
}

/// A stored request, if any.
pub async fn entry(stub: &Stub, request_id: &str) -> Result<Option<RequestEntry>, EhrError> {
    state::get(stub, "request", &key::request(request_id)?).await
}

/// The entry of request `request_id`, or [`EhrError::NotFound`].
pub async fn stored_request(stub: &Stub, request_id: &str) -> Result<RequestEntry, EhrError> {
    entry(stub, request_id)
        .await?
        .ok_or_else(|| EhrError::NotFound {
            what: "request",
            key: request_id.to_owned(),
        })
}

fn new_entry(
    parsed: &ParsedRequest,
    direction: Direction,
    status: RequestStatus,
    signer: Option<&ClientIdentity>,
    recorded_at_ms: i64,
) -> RequestEntry {
    let request = &parsed.request;
    RequestEntry {
        request_id: request.request_id.clone(),
        direction,
        status,
        reason: None,
        refusal: None,
        source_network: request.source_network.clone(),
        destination_network: request.destination_network.clone(),
        requester_code: request.requester_code.clone(),
        requester_msp_id: signer.map(|s| s.msp_id().to_owned()).unwrap_or_default(),
        requester_id: signer.map(|s| s.id().to_owned()).unwrap_or_default(),
        patient_ref: hex::encode(&request.patient_ref),
        purpose: ehrx_proto::exchange::Purpose::try_from(request.purpose)
            .map(|p| p.as_str_name().to_owned())
            .unwrap_or_else(|_| request.purpose.to_string()),
        categories: request.categories.clone(),
        requester_encryption_key: Some(hex::encode(&request.requester_encryption_key)),
        created_at_ms: request
            .created_at
            .as_ref()
            .and_then(state::timestamp_ms)
            .unwrap_or_default(),
        signed_request_sha256: hex::encode(Sha256::digest(&parsed.bytes)),
        envelope_sha256: None,
        recorded_at_ms,
        reply: None,
    }
}

async fn requester_checks(stub: &Stub, caller: &Caller, code: &str) -> Result<Requester, EhrError> {
    if caller.requester(stub).await?.is_none() {
        return Err(EhrError::AccessDenied(format!(
            "{} of {} is not a registered requester",
            caller.id(),
            caller.msp_id()
        )));
    }
    let requester: Option<Requester> =
        state::get(stub, "requester", &key::requester(code)?).await?;
    let requester = requester.ok_or_else(|| {
        EhrError::AccessDenied(format!("requester code {} is not registered", quote(code)))
    })?;
    if requester.msp_id != caller.msp_id() || requester.identity_id != caller.id() {
        return Err(EhrError::AccessDenied(format!(
            "requester code {} is not bound to the submitting identity {} of {}",
            quote(code),
            caller.id(),
            caller.msp_id()
        )));
    }
    if !requester.privileges.iter().any(|p| p == PRIVILEGE_REQUEST) {
        return Err(EhrError::AccessDenied(format!(
            "requester code {} lacks the {PRIVILEGE_REQUEST:?} privilege",
            quote(code)
        )));
    }
    Ok(requester)
}

/// `SubmitRequest(signed_request)`: Algorithm 1.
pub async fn submit_request(stub: Stub, args: Args) -> Result<Json<Outcome>, ContractError> {
    let caller = Caller::of(&stub)?;
    let config = state::config(&stub).await?;
    let now = state::now_ms(&stub)?;
    let bytes = args.bytes("signed_request")?;

    let parsed = messages::parse_signed_request(bytes)?;
    let request = &parsed.request;
    messages::check_request_format(request, now)?;
    messages::check_this_network(
        "source_network",
        &request.source_network,
        &config.network_id,
    )?;

    let code = &request.requester_code;
    let requester = requester_checks(&stub, &caller, code).await?;

    let signer = caller.require_signed_by_self(&parsed.signed.signer, "request")?;
    parsed
        .signed
        .open()
        .map_err(|e| EhrError::signature("signature", e))?;
    if request.requester_encryption_key.as_slice() != requester.encryption_key.bytes() {
        return Err(EhrError::invalid(
            "requester_encryption_key",
            "is not the encryption key registered for this requester",
        )
        .into());
    }

    active_network(&stub, &request.destination_network).await?;
    if entry(&stub, &request.request_id).await?.is_some() {
        return Err(EhrError::Duplicate {
            what: "request",
            key: request.request_id.clone(),
        }
        .into());
    }

    let rate_key = key::rate(code)?;
    let window: Option<RateWindow> = state::get(&stub, "rate window", &rate_key).await?;
    match rate_limit::decide(
        window,
        now,
        config.rate_limit_max,
        config.rate_limit_window_seconds,
    )? {
        Decision::Exceeded { in_window } => {
            flag(&stub, &caller, &config, request, in_window, now).await
        }
        Decision::Allow(window) => {
            state::put(&stub, &rate_key, &window).await?;
            let entry = new_entry(
                &parsed,
                Direction::Outgoing,
                RequestStatus::Validated,
                Some(&signer),
                now,
            );
            state::put(&stub, &key::request(&entry.request_id)?, &entry).await?;
            state::put_bytes(
                &stub,
                &key::signed_request(&entry.request_id)?,
                bytes.to_vec(),
            )
            .await?;
            let index = key::requests_of(caller.msp_id(), caller.id(), &entry.request_id)?;
            state::put_index(&stub, &index, &entry.request_id).await?;
            audit::entry(
                &stub,
                &caller,
                AuditKind::RequestSubmitted,
                &entry.patient_ref,
                format!(
                    "request for {} ({})",
                    entry.destination_network, entry.purpose
                ),
            )?
            .request(&entry.request_id)
            .network(&entry.destination_network)
            .write(&stub)
            .await?;
            stub.set_event(
                event::REQUEST_VALIDATED,
                entry.request_id.clone().into_bytes(),
            )?;
            Ok(Json(Outcome::of(OutcomeKind::Validated, &entry.request_id)))
        }
    }
}

async fn flag(
    stub: &Stub,
    caller: &Caller,
    config: &NetworkConfig,
    request: &Request,
    in_window: usize,
    now: i64,
) -> Result<Json<Outcome>, ContractError> {
    let flag = Flag {
        msp_id: caller.msp_id().to_owned(),
        identity_id: caller.id().to_owned(),
        // The flag is public state (its key names the identity): the
        // reason names no requester code, which would put it in a block.
        reason: format!(
            "rate limit exceeded: {in_window} request(s) of this requester already in the last {} s (at most {})",
            config.rate_limit_window_seconds, config.rate_limit_max
        ),
        flagged_at_ms: now,
        tx_id: stub.tx_id().to_owned(),
    };
    state::put(stub, &key::flag(&flag.msp_id, &flag.identity_id)?, &flag).await?;
    audit::entry(
        stub,
        caller,
        AuditKind::Flagged,
        audit::SECURITY,
        &flag.reason,
    )?
    .request(&request.request_id)
    .write(stub)
    .await?;
    let notice = serde_json::to_vec(&Notice {
        request_id: request.request_id.clone(),
        reason: flag.reason.clone(),
        refusal: None,
    })
    .map_err(ContractError::Serialize)?;
    stub.set_event(event::SECURITY_FLAGGED, notice)?;
    Ok(Json(
        Outcome::of(OutcomeKind::Rejected, &request.request_id).because(FLAGGED_RATE),
    ))
}

fn stored_outcome(entry: &RequestEntry) -> Outcome {
    match entry.status {
        RequestStatus::Rejected => Outcome::of(OutcomeKind::Rejected, &entry.request_id)
            .because(entry.reason.clone().unwrap_or_default()),
        _ => Outcome::of(OutcomeKind::Accepted, &entry.request_id),
    }
}

/// Algorithm 2's checks after the source is authenticated: `Err` is the
/// reason to store.
async fn acceptance(
    stub: &Stub,
    config: &NetworkConfig,
    parsed: &ParsedRequest,
    source_orgs: &[TrustedOrg],
    now: i64,
) -> Result<ClientIdentity, (ReplyOutcome, String)> {
    rejection(stub, config, parsed, source_orgs, now)
        .await
        .map_err(|reason| (ReplyOutcome::Rejected, reason))?
        .map_err(|reason| (ReplyOutcome::NotFound, reason))
}

/// Algorithm 2's committed checks: `Err` is a rejection, `Ok(Err)` a
/// request that is valid but finds no records here.
async fn rejection(
    stub: &Stub,
    config: &NetworkConfig,
    parsed: &ParsedRequest,
    source_orgs: &[TrustedOrg],
    now: i64,
) -> Result<Result<ClientIdentity, String>, String> {
    let request = &parsed.request;
    messages::check_request_format(request, now).map_err(|e| e.to_string())?;
    if request.destination_network != config.network_id {
        return Err(format!(
            "the request is for network {:?}, this is {:?}",
            request.destination_network, config.network_id
        ));
    }
    parsed
        .signed
        .open()
        .map_err(|e| format!("the requester's signature: {e}"))?;
    let signer = ClientIdentity::from_creator(&parsed.signed.signer)
        .map_err(|e| format!("the requester's identity: {e}"))?;
    let certificate = SerializedIdentity::decode(parsed.signed.signer.as_slice())
        .map_err(|e| format!("the requester's identity: {e}"))?
        .id_bytes;
    trust::check_signer(source_orgs, signer.msp_id(), &certificate, now)
        .map_err(|e| format!("the requester's {e}"))?;
    let patient = hex::encode(&request.patient_ref);
    let held = records::records_of(stub, &patient, &request.categories)
        .await
        .map_err(|e| e.to_string())?;
    if held.is_empty() {
        return Ok(Err(NO_RECORDS.to_owned()));
    }
    Ok(Ok(signer))
}

/// `AcceptRequest(forwarded_envelope, validation_proof)`: Algorithm 2,
/// called by a relay.
pub async fn accept_request(stub: Stub, args: Args) -> Result<Json<Outcome>, ContractError> {
    let delivery = Delivery::of(&stub, &args).await?;
    let (envelope, parsed) = messages::parse_request_envelope(delivery.bytes)?;
    let request = &parsed.request;
    messages::check_request_id(&request.request_id)?;
    if let Some(existing) = entry(&stub, &request.request_id).await? {
        if existing.envelope_sha256.as_deref() == Some(delivery.envelope_sha256.as_str()) {
            return Ok(Json(stored_outcome(&existing)));
        }
        return Err(EhrError::Replay(request.request_id.clone()).into());
    }
    let source_orgs = parsed
        .sent()
        .verify(&stub, &envelope, delivery.proof, delivery.now)
        .await?;

    let verdict = acceptance(&stub, &delivery.config, &parsed, &source_orgs, delivery.now).await;
    let (status, signer) = match &verdict {
        Ok(signer) => (RequestStatus::Accepted, Some(signer)),
        Err(_) => (RequestStatus::Rejected, None),
    };
    let mut entry = new_entry(&parsed, Direction::Incoming, status, signer, delivery.now);
    entry.envelope_sha256 = Some(delivery.envelope_sha256);
    entry.refusal = verdict.as_ref().err().map(|(refusal, _)| *refusal);
    entry.reason = verdict.as_ref().err().map(|(_, reason)| reason.clone());
    state::put(&stub, &key::request(&entry.request_id)?, &entry).await?;
    let subject = if request.patient_ref.len() == 32 {
        entry.patient_ref.clone()
    } else {
        audit::SECURITY.to_owned()
    };
    let (kind, detail) = match &entry.reason {
        None => (
            AuditKind::RequestAccepted,
            format!(
                "request from {} accepted ({})",
                entry.source_network, entry.purpose
            ),
        ),
        Some(reason) => (
            AuditKind::RequestRejected,
            format!("request from {} rejected: {reason}", entry.source_network),
        ),
    };
    audit::entry(&stub, &delivery.caller, kind, &subject, detail)?
        .request(&entry.request_id)
        .network(&entry.source_network)
        .write(&stub)
        .await?;
    match &entry.reason {
        None => stub.set_event(
            event::REQUEST_ACCEPTED,
            entry.request_id.clone().into_bytes(),
        )?,
        Some(reason) => {
            let notice = serde_json::to_vec(&Notice {
                request_id: entry.request_id.clone(),
                reason: reason.clone(),
                refusal: entry.refusal,
            })
            .map_err(ContractError::Serialize)?;
            stub.set_event(event::REQUEST_REJECTED, notice)?;
        }
    }
    Ok(Json(stored_outcome(&entry)))
}

/// `GetRequestStatus(request_id)`: the requester, a responder (incoming
/// requests) or an admin.
pub async fn get_request_status(
    stub: Stub,
    args: Args,
) -> Result<Json<RequestEntry>, ContractError> {
    let caller = Caller::of(&stub)?;
    let request_id = messages::request_id_arg(&args)?;
    let entry = stored_request(&stub, request_id).await?;
    let is_requester = entry.direction == Direction::Outgoing
        && entry.requester_msp_id == caller.msp_id()
        && entry.requester_id == caller.id();
    let allowed = is_requester
        || caller.require_admin().is_ok()
        || (entry.direction == Direction::Incoming
            && caller.require_role(&stub, Role::Responder).await.is_ok());
    if !allowed {
        return Err(EhrError::AccessDenied(format!(
            "only the requester, a responder or an admin may read request {request_id}"
        ))
        .into());
    }
    Ok(Json(entry))
}

/// `GetSignedRequest(request_id)`: a registered relay reads the signed
/// request of a request validated here, to forward it (the
/// `RequestValidated` event names it by id only).
pub async fn get_signed_request(
    stub: Stub,
    args: Args,
) -> Result<Json<SignedMessage>, ContractError> {
    Caller::in_role(&stub, Role::Relay).await?;
    let request_id = messages::request_id_arg(&args)?;
    let not_found = || EhrError::NotFound {
        what: "request validated here",
        key: request_id.to_owned(),
    };
    let entry = entry(&stub, request_id).await?.ok_or_else(not_found)?;
    if entry.direction != Direction::Outgoing {
        return Err(not_found().into());
    }
    let bytes = state::get_bytes(&stub, "signed request", &key::signed_request(request_id)?)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(SignedMessage {
        request_id: request_id.to_owned(),
        signed: base64::engine::general_purpose::STANDARD.encode(bytes),
    }))
}

/// `ListRequests()`: the caller's own requests, by request id.
pub async fn list_requests(
    stub: Stub,
    _args: Args,
) -> Result<Json<Vec<RequestEntry>>, ContractError> {
    let caller = Caller::of(&stub)?;
    let mut entries = Vec::new();
    for (_, request_id) in
        state::list(&stub, "ehrx.requests-of", &[caller.msp_id(), caller.id()]).await?
    {
        let request_id = String::from_utf8_lossy(&request_id).into_owned();
        if let Some(entry) = entry(&stub, &request_id).await? {
            entries.push(entry);
        }
    }
    Ok(Json(entries))
}
