//! `request_history`: a doctor asks another network for a patient's
//! history.
//!
//! A request carries the X25519 public key its reply is sealed to: the
//! requester's registered [`RequesterKey`] when the client has one (the
//! `ehrx` contract accepts no other), else a fresh key pair for this request
//! alone. The private half stays with the requester as a [`ReplyKey`] (in
//! the returned [`PendingRequest`], and in a [`KeyStore`](super::KeyStore)
//! when one is set, saved *before* the request is submitted so a crash
//! cannot strand a reply nobody can open).
//!
//! The outcome arrives as chaincode events on this network. The listener
//! starts at the block the request committed in, so an answer that comes
//! back before the listener is up is still seen.

use std::time::{Duration, SystemTime};

use prost::Message as _;
use serde::Deserialize;

use super::{
    EhrClient,
    error::{Error, parse_result},
    interface::{
        self, Outcome, OutcomeKind, ReplyOutcome, RequestEntry, RequestStatus, event, function,
    },
    keys::{ReplyKey, RequesterKey},
    patient::PatientRef,
    peer_lag::retry_unwritten,
};
use crate::{
    fabric::{ChaincodeEvent, Checkpoint},
    proto::exchange::{Purpose, Request, SignedRequest, seal::DecryptionKey},
};

/// What a doctor asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest {
    /// The patient.
    pub patient_ref: PatientRef,
    /// The network asked, by its id in the lookup table.
    pub destination_network: String,
    /// Record categories (FHIR resource types) wanted; empty for all.
    pub categories: Vec<String>,
    /// Why; audited with every disclosure.
    pub purpose: Purpose,
}

/// A request that was submitted and committed on this network.
#[derive(Debug, Clone)]
pub struct PendingRequest {
    /// What is needed to read the reply.
    pub reply_key: ReplyKey,
    /// The request as signed.
    pub request: Request,
    /// The `SubmitRequest` transaction.
    pub transaction_id: String,
    /// The block it committed in; outcome events come at or after it.
    pub block_number: u64,
}

impl PendingRequest {
    /// The request id.
    pub fn request_id(&self) -> &str {
        &self.reply_key.request_id
    }
}

/// How a request ended, as far as the requester is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryOutcome {
    /// A verified reply is waiting: read it with `read_reply`.
    ReplyReady,
    /// This network refused the request (Algorithm 1); nothing was sent.
    RejectedHere {
        /// The contract's reason.
        reason: String,
    },
    /// The exchange ended without records: the destination refused or found
    /// nothing. Its signed refusal, when one came back, reads with
    /// `read_reply` as [`ReplyError::NotFound`](super::ReplyError::NotFound)
    /// or [`ReplyError::Rejected`](super::ReplyError::Rejected).
    Refused {
        /// The request's final state.
        state: RequestStatus,
        /// The reason recorded with it: the destination's refusal reason,
        /// which the contract keeps with the reply.
        reason: Option<String>,
        /// The destination's refusal: `NotFound` (no records of the
        /// patient there in the requested categories) or `Rejected`.
        refusal: Option<ReplyOutcome>,
    },
    /// Nothing decided before the deadline; the request is still open and
    /// [`EhrClient::await_outcome`] can wait again.
    TimedOut,
}

/// A submitted request and its outcome.
#[derive(Debug, Clone)]
pub struct RequestedHistory {
    /// The request, with its reply key.
    pub pending: PendingRequest,
    /// How it ended.
    pub outcome: HistoryOutcome,
}

/// A fresh UUID v4 (lower-case, hyphenated) from the OS random source.
fn new_request_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string())
}

/// The request message and its reply key, sealed to `requester_key` or,
/// without one, to a fresh key pair.
fn build_request(
    source_network: &str,
    requester_code: &str,
    requester_key: Option<&RequesterKey>,
    history: &HistoryRequest,
    request_id: String,
    created_at: SystemTime,
) -> (Request, ReplyKey) {
    let (decryption_key, public_key) = match requester_key {
        Some(key) => (key.decryption_key().clone(), key.public_key().to_vec()),
        None => DecryptionKey::generate(),
    };
    let request = Request {
        request_id: request_id.clone(),
        source_network: source_network.to_string(),
        destination_network: history.destination_network.clone(),
        requester_code: requester_code.to_string(),
        patient_ref: history.patient_ref.as_bytes().to_vec(),
        purpose: history.purpose as i32,
        categories: history.categories.clone(),
        created_at: Some(created_at.into()),
        requester_encryption_key: public_key,
    };
    let reply_key = ReplyKey {
        request_id,
        source_network: source_network.to_string(),
        destination_network: history.destination_network.clone(),
        decryption_key,
    };
    (request, reply_key)
}

/// Whether an event is about `request_id`: its payload is the id, or a JSON
/// object whose `request_id` is.
fn concerns(event: &ChaincodeEvent, request_id: &str) -> bool {
    #[derive(Deserialize)]
    struct WithId {
        request_id: String,
    }
    event.payload == request_id.as_bytes()
        || serde_json::from_slice::<WithId>(&event.payload)
            .is_ok_and(|payload| payload.request_id == request_id)
}

/// How long to wait before reopening an event stream the peer ended.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);

impl EhrClient {
    /// Files a request and waits up to `timeout` for its outcome: builds
    /// and signs it, submits `SubmitRequest`, and, if this network
    /// validated it, follows the contract's events until a reply is ready,
    /// the request is refused, or the time is up.
    pub async fn request_history(
        &self,
        history: &HistoryRequest,
        timeout: Duration,
    ) -> Result<RequestedHistory, Error> {
        let (pending, submitted) = self.submit_request(history).await?;
        let outcome = match submitted.outcome {
            OutcomeKind::Validated => self.await_outcome(&pending, timeout).await?,
            _ => HistoryOutcome::RejectedHere {
                reason: submitted.reason.unwrap_or_default(),
            },
        };
        Ok(RequestedHistory { pending, outcome })
    }

    /// Builds, signs and submits a request, and waits for its commit; the
    /// first half of [`Self::request_history`].
    ///
    /// A client and its clones file a requester's requests one at a time,
    /// each once the one before has committed. Every request of a
    /// requester reads and writes its rate-limit window, so of several
    /// endorsed at once only one commits per block and the others fail
    /// `MVCC_READ_CONFLICT`: filed in turn they commit at the same pace
    /// without the wasted endorsements, and a burst larger than the
    /// retries allow is not refused. A request is built, and its time
    /// taken, in its turn.
    pub async fn submit_request(
        &self,
        history: &HistoryRequest,
    ) -> Result<(PendingRequest, Outcome), Error> {
        let requester_code = self
            .requester_code
            .as_deref()
            .ok_or(Error::NoRequesterCode)?;
        let _turn = self
            .turns
            .take(super::Turn::Requester(requester_code.to_owned()))
            .await;
        let (request, reply_key) = build_request(
            &self.settings.network_id,
            requester_code,
            self.requester_key.as_ref(),
            history,
            new_request_id()?,
            SystemTime::now(),
        );
        let signed =
            SignedRequest::sign(&request, self.identity.creator().to_vec(), &self.identity)?;
        if let Some(store) = &self.key_store {
            store.save(&reply_key)?;
        }
        // Back-to-back requests read the requester's rate-limit window,
        // which a lagging endorser may not have updated yet; requests of
        // the same requester from another client (another process) write
        // it too, so only one commits per block and the others,
        // invalidated, are endorsed again.
        let signed = signed.encode_to_vec();
        let committed = retry_unwritten(reply_key.request_id.as_bytes(), || {
            interface::submit(
                &self.contract,
                function::SUBMIT_REQUEST,
                [signed.as_slice()],
            )
        })
        .await?;
        let result: Outcome = parse_result(function::SUBMIT_REQUEST, &committed.result)?;
        if !matches!(
            result.outcome,
            OutcomeKind::Validated | OutcomeKind::Rejected
        ) {
            return Err(Error::unexpected(
                function::SUBMIT_REQUEST,
                format!("answered {:?}", result.outcome),
            ));
        }
        if result.request_id != reply_key.request_id {
            return Err(Error::unexpected(
                function::SUBMIT_REQUEST,
                format!(
                    "answered for request {} instead of {}",
                    result.request_id, reply_key.request_id
                ),
            ));
        }
        let pending = PendingRequest {
            reply_key,
            request,
            transaction_id: committed.status.transaction_id,
            block_number: committed.status.block_number,
        };
        Ok((pending, result))
    }

    /// Follows the contract's events from the request's block until its
    /// outcome is known or `timeout` passes. A stream that ends or breaks
    /// (a peer restart) is reopened just after the last event seen; failing
    /// to open one is an error.
    pub async fn await_outcome(
        &self,
        pending: &PendingRequest,
        timeout: Duration,
    ) -> Result<HistoryOutcome, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let request_id = pending.request_id();
        let mut checkpoint = Checkpoint {
            block_number: pending.block_number,
            transaction_id: None,
        };
        loop {
            let opening = self
                .network
                .chaincode_events(self.settings.chaincode.clone())
                .checkpoint(&checkpoint)
                .build();
            let mut events = match tokio::time::timeout_at(deadline, opening.events()).await {
                Ok(events) => events?,
                Err(_) => return Ok(HistoryOutcome::TimedOut),
            };
            // A stream opens at once and reports a failed subscription as
            // its first item: that is the "failing to open" above, not a
            // break to reconnect after.
            let mut first = true;
            loop {
                let next = match tokio::time::timeout_at(deadline, events.next()).await {
                    Ok(next) => next,
                    Err(_) => return Ok(HistoryOutcome::TimedOut),
                };
                let event = match next {
                    Some(Ok(event)) => event,
                    Some(Err(error)) if first => return Err(error.into()),
                    _ => break,
                };
                first = false;
                checkpoint = Checkpoint {
                    block_number: event.block_number,
                    transaction_id: Some(event.transaction_id.clone()),
                };
                if event.event_name == event::REQUEST_VALIDATED || !concerns(&event, request_id) {
                    continue;
                }
                // Events say that something happened, the status says what:
                // a reply that came back is `fulfilled` with records, or
                // `failed` with the destination's refusal, whose reason the
                // contract keeps with the reply.
                let status = self.request_status(request_id).await?;
                if status.status.is_refusal() {
                    let refusal = status
                        .refusal
                        .or(status.reply.as_ref().map(|reply| reply.status));
                    let reply_reason = status.reply.and_then(|reply| reply.reason);
                    return Ok(HistoryOutcome::Refused {
                        state: status.status,
                        reason: status.reason.or(reply_reason),
                        refusal,
                    });
                }
                if status.status.has_reply() || event.event_name == event::REPLY_ACCEPTED {
                    return Ok(HistoryOutcome::ReplyReady);
                }
            }
            if tokio::time::timeout_at(deadline, tokio::time::sleep(RECONNECT_PAUSE))
                .await
                .is_err()
            {
                return Ok(HistoryOutcome::TimedOut);
            }
        }
    }

    /// A request's state, from `GetRequestStatus`.
    pub async fn request_status(&self, request_id: &str) -> Result<RequestEntry, Error> {
        let result = self
            .contract
            .evaluate(function::GET_REQUEST_STATUS, [request_id])
            .await?;
        parse_result(function::GET_REQUEST_STATUS, &result)
    }

    /// This identity's requests, from `ListRequests`.
    pub async fn list_requests(&self) -> Result<Vec<RequestEntry>, Error> {
        let result = self
            .contract
            .evaluate(function::LIST_REQUESTS, crate::fabric::NO_ARGS)
            .await?;
        parse_result(function::LIST_REQUESTS, &result)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        fabric::{Identity, P256Signer, SigningIdentity},
        proto::exchange::seal::{SealContext, seal},
        proto::exchange::{Record, RecordBundle},
    };

    fn history() -> HistoryRequest {
        HistoryRequest {
            patient_ref: PatientRef::from_bytes([3; 32]),
            destination_network: "net2".into(),
            categories: vec!["Condition".into(), "Observation".into()],
            purpose: Purpose::Treatment,
        }
    }

    fn identity() -> SigningIdentity {
        let (key, pem) = ehrx_testkit::self_signed_p256(5, "CN=User1@org1.example.com,O=org1,C=US");
        SigningIdentity::new(
            Identity::new("Net1Org1MSP", pem),
            Arc::new(P256Signer::new(key)),
        )
    }

    #[test]
    fn the_request_carries_everything_and_its_key_opens_replies() {
        let created = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let id = new_request_id().unwrap();
        let (request, key) =
            build_request("net1", "DR-0001", None, &history(), id.clone(), created);
        assert_eq!(request.request_id, id);
        assert_eq!(request.source_network, "net1");
        assert_eq!(request.destination_network, "net2");
        assert_eq!(request.requester_code, "DR-0001");
        assert_eq!(request.patient_ref, vec![3; 32]);
        assert_eq!(request.purpose, Purpose::Treatment as i32);
        assert_eq!(request.categories, ["Condition", "Observation"]);
        assert_eq!(request.created_at.unwrap().seconds, 1_800_000_000);
        assert_eq!(request.requester_encryption_key.len(), 32);
        assert_eq!(key.request_id, id);
        assert_eq!(key.destination_network, "net2");

        // The public key in the request belongs to the kept private key.
        let context = SealContext {
            request_id: &id,
            replying_network: "net2",
            receiving_network: "net1",
        };
        let bundle = RecordBundle {
            records: vec![Record::default()],
        };
        let sealed = seal(&request.requester_encryption_key, &context, &bundle).unwrap();
        assert_eq!(key.decryption_key.open(&context, &sealed).unwrap(), bundle);
    }

    #[test]
    fn a_registered_requester_key_is_used_for_every_request() {
        let registered = RequesterKey::generate().unwrap();
        let build = || {
            build_request(
                "net1",
                "DR-0001",
                Some(&registered),
                &history(),
                new_request_id().unwrap(),
                SystemTime::now(),
            )
        };
        let (first, first_key) = build();
        let (second, _) = build();
        assert_eq!(first.requester_encryption_key, registered.public_key());
        assert_eq!(second.requester_encryption_key, registered.public_key());
        assert_eq!(
            first_key.decryption_key.to_bytes(),
            registered.decryption_key().to_bytes()
        );
    }

    #[test]
    fn request_ids_are_lower_case_uuid_v4() {
        let id = new_request_id().unwrap();
        let parsed = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(id, id.to_lowercase());
        assert_eq!(id.len(), 36);
        assert_ne!(id, new_request_id().unwrap());
    }

    #[test]
    fn the_signed_request_opens_with_the_identitys_certificate() {
        let identity = identity();
        let (request, _) = build_request(
            "net1",
            "DR-0001",
            None,
            &history(),
            new_request_id().unwrap(),
            SystemTime::now(),
        );
        let signed = SignedRequest::sign(&request, identity.creator().to_vec(), &identity).unwrap();
        let opened = signed.open().unwrap();
        assert_eq!(opened.message, request);
        assert_eq!(opened.signer_msp_id, "Net1Org1MSP");
        assert_eq!(opened.signer, identity.creator());
    }

    #[test]
    fn events_are_matched_by_request_id_in_either_payload_form() {
        let event = |payload: &[u8]| ChaincodeEvent {
            block_number: 1,
            transaction_id: "t".into(),
            chaincode_name: "ehrx".into(),
            event_name: event::REQUEST_REJECTED.into(),
            payload: payload.to_vec(),
        };
        assert!(concerns(&event(b"r-1"), "r-1"));
        assert!(concerns(
            &event(br#"{"request_id":"r-1","reason":"x"}"#),
            "r-1"
        ));
        assert!(!concerns(&event(b"r-10"), "r-1"));
        assert!(!concerns(&event(br#"{"request_id":"r-2"}"#), "r-1"));
        assert!(!concerns(&event(b""), "r-1"));
    }
}
