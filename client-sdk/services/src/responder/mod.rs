//! The responder (Algorithm 2's "peers compete"): one per peer
//! organisation of a network, it follows the `ehrx` contract's events and
//! answers each request received here. For `RequestAccepted` it reads the
//! records with `GetRequestRecords`, seals them to the requester
//! ([`reply::form_reply`]), signs and submits `SubmitReply` endorsed by
//! every organisation; for `RequestRejected` it submits the refusal the
//! contract recorded for it (NOT_FOUND when the patient has no records
//! here, else REJECTED) carrying the reason, which the source network
//! relays back.
//!
//! Several responders race and the contract keeps exactly one reply, so
//! losing (the contract says the request already has a reply, or the
//! commit hits an MVCC conflict with the winner's) is a normal outcome:
//! [`Handled::LostRace`]. An event is checkpointed once handled, whatever
//! the outcome; a gateway failure that may pass is retried with back-off
//! without advancing the checkpoint, so a restarted responder resumes at
//! the first event not yet handled. Handling an event twice is harmless:
//! the second attempt loses the race to the first.

pub mod error;
pub mod reply;

use crate::backoff::Backoff;
use std::{
    future::Future,
    pin::Pin,
    time::{Duration, SystemTime},
};

use prost::Message as _;
use tracing::{debug, error, info, warn};

pub use ehrx_client::ehr::interface::{RecordContent, RequestRecords};
pub use error::Error;
pub use reply::FormError;

use ehrx_client::{
    ehr::{
        EhrSettings,
        interface::{
            ErrorCode, Notice as Rejection, ReplyOutcome, RequestEntry, RequestStatus,
            contract_failure, event, function,
        },
    },
    fabric::{
        self, ChaincodeEvent, Checkpointer, Contract, Gateway, Network, SigningIdentity,
        TxValidationCode,
    },
    proto::exchange::{Reply, ReplyStatus, Request, SignedRequest},
};

/// How an event was dealt with; each is final, so the event is
/// checkpointed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// This responder's reply committed.
    Replied {
        /// The request answered.
        request_id: String,
        /// OK, NOT_FOUND or REJECTED.
        status: ReplyStatus,
        /// The `SubmitReply` transaction.
        transaction_id: String,
    },
    /// Another reply to the request committed first.
    LostRace {
        /// The request.
        request_id: String,
        /// What showed it.
        reason: String,
    },
    /// The request cannot be answered by this responder (the contract
    /// refused for a reason retrying will not change, or its records could
    /// not be sealed); another responder may still answer it.
    Unanswerable {
        /// The request.
        request_id: String,
        /// Why.
        reason: String,
    },
    /// The event's payload is not what the contract emits.
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// Not an event a responder acts on.
    Ignored,
}

/// What a failed gateway call means to a responder.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// The contract says the request already has a reply.
    LostRace(String),
    /// The contract refuses this identity.
    Denied(String),
    /// The contract refused the call for another reason.
    Refused(String),
    /// Not the contract's answer: the call may pass later.
    Transient,
}

/// Reads a gateway error by the contract's error code (the chaincode's
/// refusals come back from evaluate and endorse as `chaincode response
/// 500, [CODE] ...`); never by its wording.
fn failure(error: &fabric::Error) -> Failure {
    let call = match error {
        fabric::Error::Evaluate(call) | fabric::Error::Endorse(call) => call,
        _ => return Failure::Transient,
    };
    let Some(message) = call.chaincode_refusal() else {
        return Failure::Transient;
    };
    match contract_failure(error).map(|failure| failure.code) {
        Some(ErrorCode::AlreadyReplied) => Failure::LostRace(message),
        Some(ErrorCode::AccessDenied | ErrorCode::Flagged) => Failure::Denied(message),
        // The peer's ledger failed, not the request: it may pass later.
        Some(ErrorCode::Ledger) => Failure::Transient,
        _ => Failure::Refused(message),
    }
}

/// The request id carried by a `RequestAccepted` payload.
fn accepted_request_id(payload: &[u8]) -> Result<String, String> {
    let signed = SignedRequest::decode(payload)
        .map_err(|e| format!("RequestAccepted payload is not a signed request: {e}"))?;
    let request = Request::decode(signed.request.as_slice())
        .map_err(|e| format!("RequestAccepted payload carries no request: {e}"))?;
    Ok(request.request_id)
}

/// One responder identity answering one network's requests.
#[derive(Debug)]
pub struct Responder<C> {
    settings: EhrSettings,
    network: Network,
    contract: Contract,
    identity: SigningIdentity,
    checkpointer: C,
    backoff: Backoff,
}

impl<C: Checkpointer> Responder<C> {
    /// A responder acting through `gateway`, connected as the responder's
    /// identity, which also signs the replies (the contract requires the
    /// reply's signer to be the submitter), resuming from `checkpointer`.
    /// `settings` name this network (the replies' `replying_network`), the
    /// channel, the chaincode and the organisations that endorse each reply.
    pub fn new(gateway: &Gateway, settings: EhrSettings, checkpointer: C) -> Self {
        let network = gateway.network(settings.channel.clone());
        let contract = network.contract(settings.chaincode.clone());
        Self {
            settings,
            network,
            contract,
            identity: gateway.identity().clone(),
            checkpointer,
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
        }
    }

    /// Waits `initial` after the first transient failure, doubling up to
    /// `max` (default 500 ms to 30 s).
    pub fn with_retry(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff = Backoff::new(initial, max);
        self
    }

    /// The checkpointer, as far as the responder got.
    pub fn checkpointer(&self) -> &C {
        &self.checkpointer
    }

    /// Follows the contract's events from the checkpoint and handles each,
    /// until `shutdown` completes (between events or while waiting to
    /// retry; an event being handled is finished first). Returns an error
    /// only when going on cannot help: the contract refuses this identity,
    /// the key cannot sign, or the checkpoint cannot be stored.
    pub async fn run_until(&mut self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut backoff = self.backoff;
        loop {
            let request = self
                .network
                .chaincode_events(self.settings.chaincode.clone())
                .checkpointer(&self.checkpointer)
                .build();
            // The stream opens at once, but the gateway confirms the
            // subscription only with its first event (a refusal is the
            // stream's first item), so the responder says here where it listens from.
            info!(
                checkpoint = ?self.checkpointer.checkpoint(),
                chaincode = %self.settings.chaincode,
                "subscribing to chaincode events"
            );
            let opened = tokio::select! {
                () = shutdown.as_mut() => return Ok(()),
                opened = request.events() => opened,
            };
            match opened {
                Ok(mut events) => {
                    info!(
                        checkpoint = ?self.checkpointer.checkpoint(),
                        chaincode = %self.settings.chaincode,
                        "following chaincode events"
                    );
                    loop {
                        let next = tokio::select! {
                            () = shutdown.as_mut() => return Ok(()),
                            next = events.next() => next,
                        };
                        match next {
                            Some(Ok(event)) => {
                                if !self
                                    .handle_until_done(&event, &mut backoff, &mut shutdown)
                                    .await?
                                {
                                    return Ok(());
                                }
                            }
                            Some(Err(e)) => {
                                warn!(error = %Error::Events(e), "event stream failed; reopening");
                                break;
                            }
                            None => {
                                info!("event stream ended; reopening");
                                break;
                            }
                        }
                    }
                }
                Err(e) => warn!(error = %Error::Events(e), "cannot open the event stream"),
            }
            if !pause(backoff.next_delay(), &mut shutdown).await {
                return Ok(());
            }
        }
    }

    /// Handles `event`, retrying transient failures, then checkpoints it;
    /// `false` if shutdown came while waiting to retry.
    async fn handle_until_done<F: Future<Output = ()>>(
        &mut self,
        event: &ChaincodeEvent,
        backoff: &mut Backoff,
        shutdown: &mut Pin<&mut F>,
    ) -> Result<bool, Error> {
        let mut refusals = 0;
        loop {
            match self.handle_event(event).await {
                Ok(Handled::Unanswerable { request_id, reason }) if retries_refusal(refusals) => {
                    refusals += 1;
                    let delay = backoff.next_delay();
                    warn!(
                        %request_id,
                        %reason,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "refused; trying again in case an endorsing peer had not committed the request yet"
                    );
                    if !pause(delay, shutdown).await {
                        return Ok(false);
                    }
                }
                Ok(handled) => {
                    log_handled(event, &handled);
                    self.checkpointer.checkpoint_chaincode_event(event)?;
                    backoff.reset();
                    return Ok(true);
                }
                Err(e) if e.is_transient() => {
                    let delay = backoff.next_delay();
                    warn!(
                        transaction_id = %event.transaction_id,
                        error = %e,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "handling the event failed; retrying"
                    );
                    if !pause(delay, shutdown).await {
                        return Ok(false);
                    }
                }
                Err(e) => {
                    error!(transaction_id = %event.transaction_id, error = %e, "responder stops");
                    return Err(e);
                }
            }
        }
    }

    /// Handles one event: answers `RequestAccepted` and `RequestRejected`,
    /// ignores the rest. An `Err` means the event is not handled yet.
    pub async fn handle_event(&self, event: &ChaincodeEvent) -> Result<Handled, Error> {
        match event.event_name.as_str() {
            event::REQUEST_ACCEPTED => match accepted_request_id(&event.payload) {
                Ok(request_id) => self.answer_accepted(request_id).await,
                Err(reason) => Ok(Handled::Malformed { reason }),
            },
            event::REQUEST_REJECTED => match serde_json::from_slice::<Rejection>(&event.payload) {
                Ok(rejection) => self.answer_rejected(rejection).await,
                Err(e) => Ok(Handled::Malformed {
                    reason: format!("RequestRejected payload is not {{request_id, reason}}: {e}"),
                }),
            },
            _ => Ok(Handled::Ignored),
        }
    }

    async fn answer_accepted(&self, request_id: String) -> Result<Handled, Error> {
        let result = match self
            .contract
            .evaluate(function::GET_REQUEST_RECORDS, [&request_id])
            .await
        {
            Ok(result) => result,
            Err(e) => return self.failed(request_id, e).await,
        };
        let records: RequestRecords = match serde_json::from_slice(&result) {
            Ok(records) => records,
            Err(e) => {
                return Ok(Handled::Unanswerable {
                    request_id,
                    reason: format!(
                        "{} returned an unreadable result: {e}",
                        function::GET_REQUEST_RECORDS
                    ),
                });
            }
        };
        match reply::form_reply(&records, &self.settings.network_id, SystemTime::now()) {
            Ok(reply) => self.submit(request_id, &reply).await,
            Err(e) => Ok(Handled::Unanswerable {
                request_id,
                reason: e.to_string(),
            }),
        }
    }

    async fn answer_rejected(&self, rejection: Rejection) -> Result<Handled, Error> {
        let request_id = rejection.request_id;
        let status = match self.request_status(&request_id).await {
            Ok(status) => status,
            Err(e) => return self.failed(request_id, e).await,
        };
        match status.status {
            RequestStatus::Rejected => {}
            RequestStatus::Replied => {
                return Ok(Handled::LostRace {
                    request_id,
                    reason: "the request already has a reply".to_string(),
                });
            }
            other => {
                return Ok(Handled::Unanswerable {
                    request_id,
                    reason: format!("the request is {other:?}, not rejected"),
                });
            }
        }
        // The refusal the contract says the rejection calls for: NOT_FOUND
        // when the patient has no records here, else REJECTED.
        let refusal = match status.refusal.or(rejection.refusal) {
            Some(ReplyOutcome::NotFound) => ReplyStatus::NotFound,
            _ => ReplyStatus::Rejected,
        };
        let reply = reply::refusal(
            &request_id,
            &self.settings.network_id,
            &status.source_network,
            refusal,
            &rejection.reason,
            SystemTime::now(),
        );
        self.submit(request_id, &reply).await
    }

    async fn request_status(&self, request_id: &str) -> Result<RequestEntry, fabric::Error> {
        let result = self
            .contract
            .evaluate(function::GET_REQUEST_STATUS, [request_id])
            .await?;
        serde_json::from_slice(&result).map_err(|e| fabric::Error::Malformed {
            what: "GetRequestStatus result",
            reason: e.to_string(),
        })
    }

    /// Signs `reply`, has every organisation endorse it, submits it and
    /// waits for its commit.
    async fn submit(&self, request_id: String, reply: &Reply) -> Result<Handled, Error> {
        let status = ReplyStatus::try_from(reply.status).unwrap_or(ReplyStatus::Unspecified);
        let signed =
            reply::sign(reply, self.identity.creator(), &self.identity).map_err(|source| {
                Error::Sign {
                    request_id: request_id.clone(),
                    source,
                }
            })?;
        match self.commit_reply(signed).await {
            Ok(transaction_id) => Ok(Handled::Replied {
                request_id,
                status,
                transaction_id,
            }),
            Err(e) => self.failed(request_id, e).await,
        }
    }

    async fn commit_reply(&self, signed_reply: Vec<u8>) -> Result<String, fabric::Error> {
        let transaction = self
            .contract
            .proposal(function::SUBMIT_REPLY)
            .arg(signed_reply)
            .endorsing_organizations(self.settings.organizations.iter().cloned())
            .build()?
            .endorse()
            .await?;
        let transaction_id = transaction.transaction_id().to_string();
        transaction.submit().await?.status().await?.into_result()?;
        Ok(transaction_id)
    }

    /// What a failed call means for the request.
    async fn failed(&self, request_id: String, error: fabric::Error) -> Result<Handled, Error> {
        if let fabric::Error::Commit { code, .. } = &error
            && matches!(
                code,
                TxValidationCode::MvccReadConflict | TxValidationCode::PhantomReadConflict
            )
        {
            // Something else wrote the request first; it was a reply if
            // the request is now replied, else trying again may pass.
            return match self.request_status(&request_id).await {
                Ok(status) if status.status == RequestStatus::Replied => Ok(Handled::LostRace {
                    request_id,
                    reason: error.to_string(),
                }),
                _ => Err(Error::Gateway {
                    request_id,
                    source: error,
                }),
            };
        }
        match failure(&error) {
            Failure::LostRace(reason) => Ok(Handled::LostRace { request_id, reason }),
            Failure::Refused(reason) => Ok(Handled::Unanswerable { request_id, reason }),
            Failure::Denied(message) => Err(Error::Denied {
                request_id,
                message,
            }),
            Failure::Transient => Err(Error::Gateway {
                request_id,
                source: error,
            }),
        }
    }
}

/// How often a refusal is tried again before the request is skipped as
/// unanswerable. The event comes from the responder's own peer once it has
/// committed the request, but the reply is endorsed by every organisation,
/// and another organisation's peer may not have that block yet: it then
/// refuses ("no such request") for a moment. A real refusal costs only the
/// back-off's first delays (0.5 s, then 1 s).
const REFUSAL_RETRIES: u32 = 2;

/// Whether a refusal, after `refusals` earlier ones, is tried again.
fn retries_refusal(refusals: u32) -> bool {
    refusals < REFUSAL_RETRIES
}

/// Waits `delay` unless shutdown comes first; `false` on shutdown.
async fn pause<F: Future<Output = ()>>(delay: Duration, shutdown: &mut Pin<&mut F>) -> bool {
    tokio::select! {
        () = shutdown.as_mut() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

fn log_handled(event: &ChaincodeEvent, handled: &Handled) {
    let transaction_id = event.transaction_id.as_str();
    let block = event.block_number;
    match handled {
        Handled::Replied {
            request_id,
            status,
            transaction_id: reply_transaction_id,
        } => info!(
            %request_id,
            status = status.as_str_name(),
            %reply_transaction_id,
            %transaction_id,
            block,
            "reply committed"
        ),
        Handled::LostRace { request_id, reason } => info!(
            %request_id,
            %reason,
            %transaction_id,
            block,
            "another reply came first"
        ),
        Handled::Unanswerable { request_id, reason } => error!(
            %request_id,
            %reason,
            %transaction_id,
            block,
            "cannot answer the request; skipped"
        ),
        Handled::Malformed { reason } => error!(
            %reason,
            %transaction_id,
            block,
            event = %event.event_name,
            "malformed event; skipped"
        ),
        Handled::Ignored => debug!(
            %transaction_id,
            event = %event.event_name,
            "event ignored"
        ),
    }
}

#[cfg(test)]
mod tests;
