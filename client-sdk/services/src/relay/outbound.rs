//! The sending half: follows this network's chaincode events from the
//! persisted checkpoint and delivers each validated request or ready reply
//! to its destination's relay.
//!
//! Deliveries are pipelined: each envelope read is delivered by a task of
//! its own, up to a window of `max_in_flight` envelopes past the
//! checkpoint (see [`window`](super::window)). An envelope for a request
//! that already has one in flight waits until that one settles, so what
//! belongs to one request keeps its commit order; anything else, to the
//! same destination or not, may overlap. The checkpoint moves past an
//! event only once it and every event before it are settled: a receipt, a
//! final refusal, or an event that can never be delivered (no payload to
//! read). Envelopes that settled after one still open are saved with the
//! checkpoint, so a crash loses nothing and a restart delivers again only
//! what had not settled.
//!
//! Each delivery retries with its own back-off while its destination is
//! unreachable, and an envelope for a network this relay has no route to
//! yet is retried the same way, until a reload adds the route. A
//! destination that stays down holds up the others only once the window
//! is full behind its first envelope; then nothing more is read, so the
//! event stream is the back-pressure: the peer holds the backlog, not this
//! process. A failed stream (a peer restart) is reopened after the last
//! event read, while the deliveries go on. On shutdown nothing more is
//! read, deliveries in flight are let finish their attempt (their timeout
//! bounds the wait) and checkpointed, and waits between attempts are cut
//! short.
//!
//! A request or reply goes with a proof that this network's peers
//! validated it: each attempt asks the destination's relay for a fresh
//! challenge, has `ProveRequest` (or `ProveReply`) for that nonce endorsed
//! by this network's organisations (never submitted), and delivers the
//! envelope with that proof. A retry makes a new proof, since a challenge
//! lives only minutes. A proof this network's peers will not endorse is
//! retried too (one of them may not have committed the event's block
//! yet), and so is a challenge the destination's peers do not know yet.

use crate::backoff::Backoff;
use crate::feed::Follower;
use std::{
    collections::{HashMap, VecDeque, hash_map::Entry},
    sync::Arc,
    time::Duration,
};

use ed25519_dalek::SigningKey;
use ehrx_proto::exchange::{DeliveryReceipt, forwarded_envelope::Payload};
use sha2::{Digest as _, Sha256};
use tokio::{sync::watch, task::JoinSet};
use tracing::{debug, error, info, warn};

use super::{
    checkpoint::CheckpointFile,
    error::RelayError,
    inbound::status_for,
    ledger::{EventSource, Submitter},
    prefetch::ChallengePool,
    remote::{DeliveryError, Remotes},
    route::{Outgoing, Pending, Route, attest, route},
    shutdown::Shutdown,
    status::RelayStatus,
    window::{Read, Seq, Window},
};
use ehrx_client::ehr::interface::limits::MAX_CHALLENGES_PER_CALL;
use ehrx_client::fabric::ChaincodeEvent;
use tonic::Code;

/// How deliveries are paced.
#[derive(Debug, Clone, Copy)]
pub struct Pacing {
    /// The waits between attempts of one delivery, and between reopenings
    /// of the event stream.
    pub backoff: Backoff,
    /// How many envelopes may be past the checkpoint at once.
    pub max_in_flight: usize,
    /// How many challenges to keep ready per destination
    /// ([`ChallengePool`]).
    pub challenge_prefetch: usize,
}

/// The outbound task of one relay.
#[derive(Debug)]
pub struct Outbound<E, P> {
    network_key: SigningKey,
    events: E,
    checkpoints: CheckpointFile,
    courier: Arc<Courier<P>>,
    max_in_flight: usize,
    status: Arc<RelayStatus>,
}

impl<E: EventSource, P: Submitter> Outbound<E, P> {
    /// Forwards `events` of this network, attested with `network_key` and
    /// proven by `prover`'s peers, to the latest `remotes` (a reload may
    /// change them between attempts), resuming from `checkpoints` and
    /// paced as `pacing` says; reports to `status`.
    pub fn new(
        network_key: SigningKey,
        events: E,
        checkpoints: CheckpointFile,
        prover: P,
        remotes: watch::Receiver<Remotes>,
        pacing: Pacing,
        status: Arc<RelayStatus>,
    ) -> Self {
        let courier = Courier {
            network_id: status.network_id().to_string(),
            prover,
            remotes,
            backoff: pacing.backoff,
            status: Arc::clone(&status),
            challenges: Arc::new(ChallengePool::new(pacing.challenge_prefetch)),
        };
        Self {
            network_key,
            events,
            checkpoints,
            courier: Arc::new(courier),
            max_in_flight: pacing.max_in_flight,
            status,
        }
    }

    /// Runs until shutdown (and the deliveries in flight have ended), or
    /// until a checkpoint cannot be saved.
    pub async fn run(self, mut shutdown: Shutdown) -> Result<(), RelayError> {
        let Self {
            network_key,
            events,
            checkpoints,
            courier,
            max_in_flight,
            status,
        } = self;
        let network_id = courier.network_id.clone();
        let reopen = courier.backoff;
        let window = Window::new(checkpoints.progress().clone(), max_in_flight);
        // Where the stream is (re)opened: after the last event read.
        let position = window.checkpoint().cloned();
        let readiness = Arc::clone(&status);
        let mut pipeline = Pipeline {
            window,
            checkpoints,
            lanes: HashMap::new(),
            deliveries: JoinSet::new(),
            courier,
            shutdown: shutdown.clone(),
            status,
        };
        let mut feed = Follower::new(
            &events,
            position,
            reopen,
            (&network_id, "relay"),
            readiness.readiness(),
        );
        let mut stopping = false;
        loop {
            let reading = !stopping && !pipeline.window.is_full();
            tokio::select! {
                biased;
                () = shutdown.recv(), if !stopping => {
                    stopping = true;
                    feed.close();
                    info!(network = %network_id, in_flight = pipeline.window.open(), "no more events read; letting deliveries in flight finish");
                }
                Some(joined) = pipeline.deliveries.join_next() => pipeline.finished(joined)?,
                event = feed.next(), if reading => pipeline.take(&event, &network_key)?,
                else => break,
            }
        }
        Ok(())
    }
}

/// One message to read and deliver.
#[derive(Debug)]
struct Job {
    seq: Seq,
    pending: Pending,
    source_tx_id: String,
    /// The key its envelope is attested with (as of the event's reading).
    network_key: SigningKey,
}

/// Why reading an event's message failed.
#[derive(Debug)]
enum ReadError {
    /// The peers did not answer it (yet): try again.
    Retry(String),
    /// What they answered can never be delivered.
    Final(String),
}

/// How a delivery task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// A receipt or a final refusal.
    Settled,
    /// Shutdown came while it waited to retry.
    Stopped,
}

#[derive(Debug)]
struct Done {
    seq: Seq,
    request_id: String,
    fate: Fate,
}

/// The deliveries under way and the window they settle in.
struct Pipeline<P> {
    window: Window,
    checkpoints: CheckpointFile,
    /// For each request with a delivery in flight, the envelopes of the
    /// same request read since, in commit order.
    lanes: HashMap<String, VecDeque<Job>>,
    deliveries: JoinSet<Done>,
    courier: Arc<Courier<P>>,
    shutdown: Shutdown,
    status: Arc<RelayStatus>,
}

impl<P: Submitter> Pipeline<P> {
    /// Takes in one event: starts its delivery if it leaves the network
    /// and its request has none in flight, queues it behind that one
    /// otherwise.
    fn take(&mut self, event: &ChaincodeEvent, network_key: &SigningKey) -> Result<(), RelayError> {
        match route(event) {
            Ok(Route::Forward(pending)) => match self.window.read(event, true) {
                Read::Deliver(seq) => self.dispatch(Job {
                    seq,
                    pending,
                    source_tx_id: event.transaction_id.clone(),
                    network_key: network_key.clone(),
                }),
                Read::SettledBefore | Read::Done => debug!(
                    request_id = pending.request_id,
                    tx_id = %event.transaction_id,
                    "settled before a restart; not delivered again"
                ),
            },
            Ok(Route::Ignore) => {
                debug!(
                    event = %event.event_name,
                    tx_id = %event.transaction_id,
                    "event is not for another network"
                );
                self.window.read(event, false);
            }
            Err(reason) => {
                error!(
                    event = %event.event_name,
                    tx_id = %event.transaction_id,
                    block = event.block_number,
                    %reason,
                    "cannot read the event's payload; skipping it"
                );
                self.window.read(event, false);
            }
        }
        self.save()
    }

    fn dispatch(&mut self, job: Job) {
        match self.lanes.entry(job.pending.request_id.clone()) {
            Entry::Occupied(mut lane) => {
                debug!(
                    request_id = job.pending.request_id,
                    tx_id = %job.source_tx_id,
                    "waiting for the delivery before it of the same request"
                );
                lane.get_mut().push_back(job);
            }
            Entry::Vacant(lane) => {
                lane.insert(VecDeque::new());
                self.deliveries
                    .spawn(Arc::clone(&self.courier).deliver(job, self.shutdown.clone()));
            }
        }
    }

    /// A delivery task ended: settles its event and starts the next
    /// envelope of its request, if one waits.
    fn finished(&mut self, joined: Result<Done, tokio::task::JoinError>) -> Result<(), RelayError> {
        let done = joined.map_err(|error| RelayError::Task(error.to_string()))?;
        if done.fate == Fate::Stopped {
            // Shutting down: it stays open, and so does what waits behind it.
            return Ok(());
        }
        self.window.settle(done.seq);
        let next = self
            .lanes
            .get_mut(&done.request_id)
            .and_then(VecDeque::pop_front);
        match next {
            Some(job) if !self.shutdown.is_shutdown() => {
                self.deliveries
                    .spawn(Arc::clone(&self.courier).deliver(job, self.shutdown.clone()));
            }
            _ => {
                self.lanes.remove(&done.request_id);
            }
        }
        self.save()
    }

    /// Saves the progress if it changed, and reports it.
    fn save(&mut self) -> Result<(), RelayError> {
        if let Some(progress) = self.window.take_changes() {
            let checkpoint = progress.checkpoint.clone();
            self.checkpoints.save(progress)?;
            if let Some(checkpoint) = checkpoint {
                self.status.checkpointed(checkpoint);
            }
        }
        self.status.set_in_flight(self.window.open());
        Ok(())
    }
}

/// What every delivery needs, shared by the delivery tasks.
#[derive(Debug)]
struct Courier<P> {
    network_id: String,
    prover: P,
    remotes: watch::Receiver<Remotes>,
    backoff: Backoff,
    status: Arc<RelayStatus>,
    challenges: Arc<ChallengePool>,
}

/// This host's clock, in Unix milliseconds.
fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Waits `delay`, or less if shutdown comes first; `false` on shutdown.
async fn wait(delay: Duration, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        () = shutdown.recv() => false,
        () = tokio::time::sleep(delay) => true,
    }
}

impl<P: Submitter> Courier<P> {
    /// Delivers until there is a receipt or a final answer, or shutdown
    /// comes while waiting to retry.
    async fn deliver(self: Arc<Self>, job: Job, mut shutdown: Shutdown) -> Done {
        let Job {
            seq,
            pending,
            source_tx_id,
            network_key,
        } = job;
        let done = |fate| Done {
            seq,
            request_id: pending.request_id.clone(),
            fate,
        };
        let mut backoff = self.backoff;
        let outgoing = loop {
            match self.read(&pending, &network_key).await {
                Ok(outgoing) => break outgoing,
                Err(ReadError::Final(reason)) => {
                    error!(request_id = pending.request_id, tx_id = %source_tx_id, %reason, "the stored message cannot be delivered; skipping it");
                    self.status.refused(reason);
                    return done(Fate::Settled);
                }
                Err(ReadError::Retry(reason)) => {
                    let delay = backoff.next_delay();
                    warn!(request_id = pending.request_id, tx_id = %source_tx_id, %reason, retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "reading the message failed; retrying");
                    if !wait(delay, &mut shutdown).await {
                        return done(Fate::Stopped);
                    }
                }
            }
        };
        let request_id = outgoing.request_id();
        let network = outgoing.destination();
        loop {
            let error = match self.attempt(&outgoing).await {
                Ok(receipt) => {
                    info!(
                        request_id,
                        network,
                        source_tx_id = %source_tx_id,
                        tx_id = %receipt.transaction_id,
                        block = receipt.block_number,
                        outcome = %receipt.outcome,
                        "delivered"
                    );
                    self.status.delivered();
                    return done(Fate::Settled);
                }
                Err(error) => error,
            };
            match &error {
                DeliveryError::Refused(status) => {
                    warn!(request_id, network, tx_id = %source_tx_id, reason = status.message(), "destination refused the envelope; skipping");
                    self.status.refused(error.to_string());
                    return done(Fate::Settled);
                }
                // The chaincode validated this for a network in its lookup
                // table, so a missing route is a gap in this relay's
                // configuration that a reload closes: wait for it rather
                // than lose the envelope.
                DeliveryError::Failed(_) | DeliveryError::UnknownNetwork(_) => {
                    let delay = backoff.next_delay();
                    warn!(
                        request_id,
                        network,
                        tx_id = %source_tx_id,
                        %error,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "delivery failed; retrying"
                    );
                    self.status.delivery_failed(error.to_string());
                    if !wait(delay, &mut shutdown).await {
                        return done(Fate::Stopped);
                    }
                }
            }
        }
    }

    /// Fetches challenges of `network` into the pool in the background,
    /// in one batch, when the pool wants a refill.
    fn refill(&self, network: &str, remotes: &Remotes) {
        let most = usize::try_from(MAX_CHALLENGES_PER_CALL).unwrap_or(usize::MAX);
        let reserved = self.challenges.reserve(network, most);
        if reserved == 0 {
            return;
        }
        let pool = Arc::clone(&self.challenges);
        let (remotes, network, from) = (
            remotes.clone(),
            network.to_string(),
            self.network_id.clone(),
        );
        let count = u32::try_from(reserved).unwrap_or(MAX_CHALLENGES_PER_CALL);
        tokio::spawn(async move {
            let fetched = match remotes.challenges(&network, &from, count).await {
                // A relay of an earlier version has only `Challenge`.
                Err(error) if error.code() == Some(Code::Unimplemented) => remotes
                    .challenge(&network, &from)
                    .await
                    .map(|grant| vec![grant]),
                other => other,
            };
            match fetched {
                Ok(grants) => pool.put(&network, reserved, grants),
                Err(error) => {
                    debug!(%network, %error, "fetching challenges ahead failed; the next delivery fetches its own");
                    pool.abandon(&network, reserved);
                }
            }
        });
    }

    /// Reads the message `pending` names from this network's private data
    /// (one evaluation) and attests it.
    async fn read(
        &self,
        pending: &Pending,
        network_key: &SigningKey,
    ) -> Result<Outgoing, ReadError> {
        // Whatever this network's peers answer, the event is on the
        // ledger, so the message is there: a peer behind the one the
        // events come from does not know it yet. Retried.
        let signed = self
            .prover
            .fetch(pending.kind.fetch_function(), &pending.request_id)
            .await
            .map_err(|error| ReadError::Retry(error.to_string()))?;
        attest(pending, signed, &self.network_id, network_key)
            .map_err(|error| ReadError::Final(error.to_string()))
    }

    /// One delivery: a fresh challenge and proof first.
    async fn attempt(&self, outgoing: &Outgoing) -> Result<DeliveryReceipt, DeliveryError> {
        let network = outgoing.destination();
        let signed = match &outgoing.envelope.payload {
            Some(Payload::SignedRequest(signed) | Payload::SignedReply(signed)) => signed,
            None => &Vec::new(),
        };
        // The remotes as of this attempt: a reload applies from the next.
        let remotes = self.remotes.borrow().clone();
        let pooled = self.challenges.take(network, unix_ms());
        self.refill(network, &remotes);
        let grant = match pooled {
            Some(grant) => grant,
            None => remotes.challenge(network, &self.network_id).await?,
        };
        let hash = hex::encode(Sha256::digest(signed));
        let proof = self
            .prover
            .prove(
                outgoing.summary.kind.prove_function(),
                outgoing.request_id(),
                &hash,
                &grant.nonce,
            )
            .await
            // Whatever this network's own peers say, they validated the
            // envelope (its event is on the ledger), so no answer of theirs
            // is final: a peer behind the one the events come from does not
            // know it yet (`NOT_FOUND`), or the relay's identity needs an
            // admin. Retried, as an unreachable destination is.
            .map_err(|error| DeliveryError::Failed(status_for(&error)))?;
        remotes
            .deliver(network, outgoing.envelope.clone(), proof)
            .await
    }
}
