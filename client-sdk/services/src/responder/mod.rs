//! The responder (Algorithm 2's "peers compete"): one per peer
//! organisation of a network, it follows the `ehrx` contract's events and
//! answers each request received here. For `RequestAccepted` it reads the
//! records with `GetRequestRecords`, seals them to the requester
//! ([`reply::form_reply`]), signs and submits `SubmitReply` endorsed by
//! every organisation; for `RequestRejected` it submits the refusal the
//! contract recorded for it (NOT_FOUND when the patient has no records
//! here, else REJECTED) carrying the reason, which the source network
//! relays back. When the contract refuses to read or disclose for want of
//! the patient's consent (`NO_CONSENT`, at `GetRequestRecords` or at
//! `SubmitReply` after a revocation), it submits a REJECTED refusal whose
//! reason is the contract's coded message (`[NO_CONSENT] ...`).
//!
//! A responder answers up to `max_in_flight` requests at once (default
//! [`DEFAULT_MAX_IN_FLIGHT`]), each in a task of its own. The contract keeps
//! exactly one reply per request, whatever the responders do; how they
//! share the work is a [`Claim`]:
//! - [`Claim::Compete`] (default, as in the paper): every responder answers
//!   every request, and losing (the contract says the request already has
//!   a reply, or the commit hits an MVCC conflict with the winner's) is a
//!   normal outcome, [`Handled::LostRace`], at the cost of the loser's
//!   endorsement or invalid transaction;
//! - [`Claim::Split`]: each request falls to one responder ([`claimant`]),
//!   which answers it at once; the others answer it only if it still has
//!   no reply after the takeover time ([`Handled::Claimed`] otherwise).
//!
//! The checkpoint moves past an event once it and every event before it
//! are handled, whatever the outcome (see the relay's
//! [`window`](crate::relay::window), shared with it); a gateway failure
//! that may pass is retried with back-off, so a restarted responder
//! resumes at the first event not yet handled. Handling an event twice is
//! harmless: the second attempt loses the race to the first.

pub mod error;
pub mod health;
pub mod reply;

use crate::{
    backoff::Backoff,
    feed::Follower,
    relay::{
        checkpoint::Progress,
        ledger::GatewayEvents,
        shutdown::{Shutdown, ShutdownTrigger},
        window::{Read, Seq, Window},
    },
};
use std::{
    future::Future,
    sync::Arc,
    time::{Duration, SystemTime},
};

use sha2::{Digest as _, Sha256};
use tokio::{sync::Semaphore, task::JoinSet};

use tracing::{debug, error, info, warn};

pub use ehrx_client::ehr::interface::{RecordContent, RequestRecords};
pub use error::Error;
pub use health::ResponderStatus;
pub use reply::FormError;

use ehrx_client::{
    ehr::{
        EhrClient, EhrSettings, interface,
        interface::{
            ErrorCode, Notice as Rejection, ReplyOutcome, RequestEntry, RequestStatus,
            contract_failure, event, function, rules,
        },
    },
    fabric::{self, ChaincodeEvent, Checkpointer, Gateway, TxValidationCode},
    proto::exchange::{Reply, ReplyStatus},
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
    /// Another responder claims the request ([`Claim::Split`]) and had
    /// answered it by the takeover time.
    Claimed {
        /// The request.
        request_id: String,
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
    /// No consent of the patient permits the disclosure: the request
    /// takes a refusal saying so (the contract's coded message).
    NoConsent(String),
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
        Some(ErrorCode::NoConsent) => Failure::NoConsent(message),
        // The peer's ledger failed, not the request: it may pass later.
        Some(ErrorCode::Ledger) => Failure::Transient,
        _ => Failure::Refused(message),
    }
}

/// The request id carried by a `RequestAccepted` payload.
fn accepted_request_id(payload: &[u8]) -> Result<String, String> {
    match std::str::from_utf8(payload) {
        Ok(request_id) if rules::is_request_id(request_id) => Ok(request_id.to_owned()),
        _ => Err(format!(
            "RequestAccepted payload is not a request id ({} bytes)",
            payload.len()
        )),
    }
}

/// How the responders of one network share its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Every responder answers every request, as the paper's peers
    /// compete; the contract keeps the first reply, and the others'
    /// transactions are refused at endorsement or invalidated at commit.
    Compete,
    /// Responder `index` of `of` answers at once the requests that fall to
    /// it ([`claimant`]), and another's only once `takeover_after` has
    /// passed with no reply: no transaction is wasted while every
    /// responder is up, and a silent one delays its share by that long.
    Split {
        /// This responder's place, 0 to `of - 1`.
        index: u32,
        /// How many responders share the requests.
        of: u32,
        /// How long another's request goes unanswered before this one
        /// answers it.
        takeover_after: Duration,
    },
}

impl Claim {
    /// How long to wait before answering `request_id`: nothing if this
    /// responder claims it (or all compete).
    pub fn wait_before(&self, request_id: &str) -> Option<Duration> {
        match *self {
            Self::Compete => None,
            Self::Split {
                index,
                of,
                takeover_after,
            } => (claimant(request_id, of) != index).then_some(takeover_after),
        }
    }
}

/// Which of `of` responders claims `request_id` under [`Claim::Split`]:
/// the first 8 bytes of the id's SHA-256, big-endian, modulo `of`; the
/// same on every responder, and spread evenly over random (v4) ids.
pub fn claimant(request_id: &str, of: u32) -> u32 {
    let digest = Sha256::digest(request_id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u32::try_from(u64::from_be_bytes(first) % u64::from(of.max(1))).unwrap_or(0)
}

/// How many requests one responder answers at once, by default.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 16;

/// The most requests one responder is configured to answer at once.
pub const MAX_IN_FLIGHT: usize = 256;

/// How far past the checkpoint a responder reads, per request it may
/// answer at once: room for the requests that wait for another's takeover
/// time under [`Claim::Split`].
const READ_AHEAD_PER_SLOT: usize = 8;

/// One responder identity answering one network's requests.
#[derive(Debug)]
pub struct Responder<C> {
    handler: Handler,
    checkpointer: C,
    max_in_flight: usize,
    status: Arc<ResponderStatus>,
}

/// What answering a request needs; shared by the tasks answering at once.
#[derive(Debug, Clone)]
struct Handler {
    /// The responder's EHR client: settings, channel, contract, identity.
    ehr: EhrClient,
    backoff: Backoff,
    claim: Claim,
}

/// How the handling of one event ended.
#[derive(Debug)]
struct Done {
    seq: Seq,
    fate: Result<Fate, Error>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Handled (whatever the outcome) and checkpointable.
    Settled,
    /// Shutdown came first; handled again after a restart.
    Stopped,
}

impl<C: Checkpointer> Responder<C> {
    /// A responder acting through `gateway`, connected as the responder's
    /// identity, which also signs the replies (the contract requires the
    /// reply's signer to be the submitter), resuming from `checkpointer`.
    /// `settings` name this network (the replies' `replying_network`), the
    /// channel, the chaincode and the organisations that endorse each reply.
    /// It competes with the others ([`Claim::Compete`]) and answers up to
    /// [`DEFAULT_MAX_IN_FLIGHT`] requests at once.
    pub fn new(gateway: &Gateway, settings: EhrSettings, checkpointer: C) -> Self {
        let status = Arc::new(ResponderStatus::new(
            settings.network_id.clone(),
            gateway.identity().identity().msp_id(),
        ));
        Self {
            status,
            handler: Handler {
                ehr: EhrClient::new(gateway, settings),
                backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
                claim: Claim::Compete,
            },
            checkpointer,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// Waits `initial` after the first transient failure, doubling up to
    /// `max` (default 500 ms to 30 s).
    pub fn with_retry(mut self, initial: Duration, max: Duration) -> Self {
        self.handler.backoff = Backoff::new(initial, max);
        self
    }

    /// How this responder shares the requests with the others.
    pub fn with_claim(mut self, claim: Claim) -> Self {
        self.handler.claim = claim;
        self
    }

    /// Answers up to `max_in_flight` requests at once (at least 1).
    pub fn with_max_in_flight(mut self, max_in_flight: usize) -> Self {
        self.max_in_flight = max_in_flight.max(1);
        self
    }

    /// What the responder reports (readiness, events handled), for its
    /// health endpoint ([`health::serve`]).
    pub fn status(&self) -> Arc<ResponderStatus> {
        Arc::clone(&self.status)
    }

    /// The checkpointer, as far as the responder got.
    pub fn checkpointer(&self) -> &C {
        &self.checkpointer
    }

    /// Follows the contract's events from the checkpoint and answers up to
    /// `max_in_flight` requests at once, until `shutdown` completes: then
    /// nothing more is read, waits are cut short and the answers under way
    /// are let finish. The checkpoint moves past an event once it and every
    /// event before it are handled, so a restart handles again at most the
    /// events that were in flight (a second answer loses the race to the
    /// first). Returns an error only when going on cannot help: the
    /// contract refuses this identity, the key cannot sign, or the
    /// checkpoint cannot be stored.
    pub async fn run_until(&mut self, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
        let handler = Arc::new(self.handler.clone());
        let settings = handler.ehr.settings();
        if self.checkpointer.checkpoint().is_none() {
            // Where a responder without a checkpoint starts (the next
            // block) is saved at once: a restart before its first event
            // then resumes here, rather than at the next block again and
            // past what was committed while it was down.
            match crate::ready::probe(handler.ehr.network()).await {
                Ok(height) => self.checkpointer.save(fabric::Checkpoint {
                    block_number: height,
                    transaction_id: None,
                })?,
                Err(error) => warn!(
                    network = %settings.network_id,
                    %error,
                    "cannot read the channel's height; starting at the next block without saving it"
                ),
            }
        }
        let events = GatewayEvents::new(handler.ehr.network().clone(), settings.chaincode.clone())
            .from_next_block();
        let label = settings.network_id.clone();
        let mut window = Window::new(
            Progress {
                checkpoint: self.checkpointer.checkpoint(),
                settled: Vec::new(),
            },
            self.max_in_flight.saturating_mul(READ_AHEAD_PER_SLOT),
        );
        let status = Arc::clone(&self.status);
        let mut feed = Follower::new(
            &events,
            window.checkpoint().cloned(),
            handler.backoff,
            (&label, "responder"),
            status.readiness(),
        );
        let slots = Arc::new(Semaphore::new(self.max_in_flight));
        let trigger = ShutdownTrigger::new();
        let mut tasks = JoinSet::new();
        let mut shutdown = std::pin::pin!(shutdown);
        let mut stopping = false;
        loop {
            let reading = !stopping && !window.is_full();
            tokio::select! {
                biased;
                () = shutdown.as_mut(), if !stopping => {
                    stopping = true;
                    feed.close();
                    trigger.trigger();
                    info!(network = %label, in_flight = window.open(), "no more events read; letting the answers under way finish");
                }
                Some(joined) = tasks.join_next() => {
                    let done: Done = joined.map_err(|e| Error::Task(e.to_string()))?;
                    match done.fate {
                        Ok(Fate::Settled) => {
                            window.settle(done.seq);
                            self.status.handled();
                        }
                        Ok(Fate::Stopped) => {}
                        Err(error) => {
                            trigger.trigger();
                            tasks.shutdown().await;
                            return Err(error);
                        }
                    }
                    self.save(&mut window)?;
                }
                event = feed.next(), if reading => {
                    let answerable = ANSWERED.contains(&event.event_name.as_str());
                    match window.read(&event, answerable) {
                        Read::Deliver(seq) => {
                            tasks.spawn(Arc::clone(&handler).handle(seq, event, Arc::clone(&slots), trigger.subscribe()));
                        }
                        Read::SettledBefore | Read::Done => {
                            log_handled(&event, &Handled::Ignored);
                        }
                    }
                    self.save(&mut window)?;
                }
                else => break,
            }
        }
        Ok(())
    }

    /// Saves the checkpoint if it moved.
    fn save(&mut self, window: &mut Window) -> Result<(), Error> {
        if let Some(Progress {
            checkpoint: Some(checkpoint),
            ..
        }) = window.take_changes()
        {
            self.checkpointer.save(checkpoint)?;
        }
        Ok(())
    }

    /// Handles one event as this responder's tasks do, but at once, with
    /// no takeover wait and no retries: answers `RequestAccepted` and
    /// `RequestRejected`, ignores the rest. An `Err` means the event is not
    /// handled yet.
    pub async fn handle_event(&self, event: &ChaincodeEvent) -> Result<Handled, Error> {
        self.handler.handle_event(event).await
    }
}

/// The events a responder answers.
const ANSWERED: [&str; 2] = [event::REQUEST_ACCEPTED, event::REQUEST_REJECTED];

impl Handler {
    /// Handles `event` (number `seq` of the stream) to the end: waits for
    /// the takeover time if another responder claims its request, then
    /// for a free slot, then answers, retrying what may pass.
    async fn handle(
        self: Arc<Self>,
        seq: Seq,
        event: ChaincodeEvent,
        slots: Arc<Semaphore>,
        mut shutdown: Shutdown,
    ) -> Done {
        let fate = self.handle_until_done(&event, &slots, &mut shutdown).await;
        Done { seq, fate }
    }

    async fn handle_until_done(
        &self,
        event: &ChaincodeEvent,
        slots: &Semaphore,
        shutdown: &mut Shutdown,
    ) -> Result<Fate, Error> {
        if let Some(request_id) = request_id_of(event)
            && let Some(delay) = self.claim.wait_before(&request_id)
        {
            debug!(%request_id, wait_ms = millis(delay), "claimed by another responder; answering only if it is silent");
            if !wait(delay, shutdown).await {
                return Ok(Fate::Stopped);
            }
            if let Ok(status) = self.request_status(&request_id).await
                && status.status == RequestStatus::Replied
            {
                log_handled(event, &Handled::Claimed { request_id });
                return Ok(Fate::Settled);
            }
            info!(%request_id, "the responder that claims the request has not answered; taking it over");
        }
        let _slot = tokio::select! {
            () = shutdown.recv() => return Ok(Fate::Stopped),
            slot = slots.acquire() => slot.map_err(|e| Error::Task(e.to_string()))?,
        };
        let mut backoff = self.backoff;
        let mut refusals = 0;
        loop {
            let delay = match self.handle_event(event).await {
                Ok(Handled::Unanswerable { request_id, reason }) if retries_refusal(refusals) => {
                    refusals += 1;
                    let delay = backoff.next_delay();
                    warn!(
                        %request_id,
                        %reason,
                        retry_in_ms = millis(delay),
                        "refused; trying again in case an endorsing peer had not committed the request yet"
                    );
                    delay
                }
                Ok(handled) => {
                    log_handled(event, &handled);
                    return Ok(Fate::Settled);
                }
                Err(e) if e.is_transient() => {
                    let delay = backoff.next_delay();
                    warn!(
                        transaction_id = %event.transaction_id,
                        error = %e,
                        retry_in_ms = millis(delay),
                        "handling the event failed; retrying"
                    );
                    delay
                }
                Err(e) => {
                    error!(transaction_id = %event.transaction_id, error = %e, "responder stops");
                    return Err(e);
                }
            };
            if !wait(delay, shutdown).await {
                return Ok(Fate::Stopped);
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
            .ehr
            .contract()
            .evaluate(function::GET_REQUEST_RECORDS, [&request_id])
            .await
        {
            Ok(result) => result,
            Err(e) => return self.refuse_or_fail(request_id, e).await,
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
        match reply::form_reply(&records, &self.ehr.settings().network_id, SystemTime::now()) {
            Ok(reply) => match self.sign_and_commit(&request_id, &reply).await? {
                Ok(transaction_id) => Ok(Handled::Replied {
                    request_id,
                    status: ReplyStatus::Ok,
                    transaction_id,
                }),
                // A consent revoked since the records were read.
                Err(e) => self.refuse_or_fail(request_id, e).await,
            },
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
            &self.ehr.settings().network_id,
            &status.source_network,
            refusal,
            &rejection.reason,
            SystemTime::now(),
        );
        self.submit(request_id, &reply).await
    }

    async fn request_status(&self, request_id: &str) -> Result<RequestEntry, fabric::Error> {
        let result = self
            .ehr
            .contract()
            .evaluate(function::GET_REQUEST_STATUS, [request_id])
            .await?;
        serde_json::from_slice(&result).map_err(|e| fabric::Error::Malformed {
            what: "GetRequestStatus result",
            reason: e.to_string(),
        })
    }

    /// A failed call's meaning, except that `NO_CONSENT` is answered
    /// with a refusal carrying the contract's coded reason: nothing is
    /// disclosed, and the refusal is the request's audited answer.
    async fn refuse_or_fail(
        &self,
        request_id: String,
        error: fabric::Error,
    ) -> Result<Handled, Error> {
        let Failure::NoConsent(reason) = failure(&error) else {
            return self.failed(request_id, error).await;
        };
        let status = match self.request_status(&request_id).await {
            Ok(status) => status,
            Err(e) => return self.failed(request_id, e).await,
        };
        let refusal = reply::refusal(
            &request_id,
            &self.ehr.settings().network_id,
            &status.source_network,
            ReplyStatus::Rejected,
            &reason,
            SystemTime::now(),
        );
        self.submit(request_id, &refusal).await
    }

    /// Signs `reply`, has every organisation endorse it, submits it and
    /// waits for its commit: its transaction id, or the call's error.
    async fn sign_and_commit(
        &self,
        request_id: &str,
        reply: &Reply,
    ) -> Result<Result<String, fabric::Error>, Error> {
        let signed = reply::sign(reply, self.ehr.identity().creator(), self.ehr.identity())
            .map_err(|source| Error::Sign {
                request_id: request_id.to_owned(),
                source,
            })?;
        Ok(self.commit_reply(signed).await)
    }

    /// [`Self::sign_and_commit`], with a failure read by [`Self::failed`].
    async fn submit(&self, request_id: String, reply: &Reply) -> Result<Handled, Error> {
        let status = ReplyStatus::try_from(reply.status).unwrap_or(ReplyStatus::Unspecified);
        match self.sign_and_commit(&request_id, reply).await? {
            Ok(transaction_id) => Ok(Handled::Replied {
                request_id,
                status,
                transaction_id,
            }),
            Err(e) => self.failed(request_id, e).await,
        }
    }

    async fn commit_reply(&self, signed_reply: Vec<u8>) -> Result<String, fabric::Error> {
        let transaction =
            interface::proposal(self.ehr.contract(), function::SUBMIT_REPLY, [signed_reply])
                .endorsing_organizations(self.ehr.settings().organizations.iter().cloned())
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
            Failure::Refused(reason) | Failure::NoConsent(reason) => {
                Ok(Handled::Unanswerable { request_id, reason })
            }
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
async fn wait(delay: Duration, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        () = shutdown.recv() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

fn millis(delay: Duration) -> u64 {
    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)
}

/// The request an answerable event is about, if its payload reads.
fn request_id_of(event: &ChaincodeEvent) -> Option<String> {
    match event.event_name.as_str() {
        event::REQUEST_ACCEPTED => accepted_request_id(&event.payload).ok(),
        event::REQUEST_REJECTED => serde_json::from_slice::<Rejection>(&event.payload)
            .ok()
            .map(|rejection| rejection.request_id),
        _ => None,
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
        Handled::Claimed { request_id } => info!(
            %request_id,
            %transaction_id,
            block,
            "answered by the responder that claims it"
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
