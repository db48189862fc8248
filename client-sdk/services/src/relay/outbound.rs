//! The sending half: follows this network's chaincode events from the
//! persisted checkpoint and delivers each validated request or ready reply
//! to its destination's relay.
//!
//! Events are handled one at a time, in commit order, and the checkpoint
//! moves past an event only once its fate is settled: a receipt, a final
//! refusal, or an event that can never be delivered (no payload to read).
//! An envelope for a network this relay has no route to yet is retried
//! like an unreachable one, until a reload adds the route. While a destination is unreachable the same
//! envelope is retried with growing waits and nothing after it is read, so
//! the event stream is the back-pressure: the peer holds the backlog, not
//! this process. A failed stream (a peer restart) is reopened from the
//! checkpoint. On shutdown a delivery in flight is let finish (its timeout
//! bounds the wait) and checkpointed; a wait between attempts is cut short.
//!
//! A request or reply goes with a proof that this network's peers
//! validated it: each attempt asks the destination's relay for a fresh
//! challenge, has `ProveRequest` (or `ProveReply`) for that nonce endorsed
//! by this network's organisations (never submitted), and delivers the
//! envelope with that proof. A retry makes a new proof, since a challenge
//! lives only minutes.

use crate::backoff::Backoff;
use std::{sync::Arc, time::Duration};

use ed25519_dalek::SigningKey;
use ehrx_proto::exchange::{DeliveryReceipt, forwarded_envelope::Payload};
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;
use tracing::{debug, error, info, warn};

use super::{
    error::RelayError,
    inbound::status_for,
    ledger::{EventSource, EventStream, Submitter},
    remote::{DeliveryError, Remotes, classify},
    route::{Outgoing, Route, route},
    shutdown::Shutdown,
    status::RelayStatus,
};
use ehrx_client::fabric::{ChaincodeEvent, Checkpointer};

/// Whether processing went on or stopped for shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Continue,
    Stopped,
}

/// Waits `delay`, or less if shutdown comes first.
async fn wait(delay: Duration, shutdown: &mut Shutdown) -> Step {
    tokio::select! {
        () = shutdown.recv() => Step::Stopped,
        () = tokio::time::sleep(delay) => Step::Continue,
    }
}

/// The outbound task of one relay.
#[derive(Debug)]
pub struct Outbound<E, C, P> {
    network_id: String,
    network_key: SigningKey,
    events: E,
    checkpointer: C,
    prover: P,
    remotes: watch::Receiver<Remotes>,
    backoff: Backoff,
    status: Arc<RelayStatus>,
}

impl<E: EventSource, C: Checkpointer + Send, P: Submitter> Outbound<E, C, P> {
    /// Forwards `events` of network `network_id`, attested with
    /// `network_key` and proven by `prover`'s peers, to the latest
    /// `remotes` (a reload may change them between attempts), resuming
    /// from `checkpointer` and waiting between attempts as `backoff` says.
    pub fn new(
        network_key: SigningKey,
        events: E,
        checkpointer: C,
        prover: P,
        remotes: watch::Receiver<Remotes>,
        backoff: Backoff,
        status: Arc<RelayStatus>,
    ) -> Self {
        Self {
            network_id: status.network_id().to_string(),
            network_key,
            events,
            checkpointer,
            prover,
            remotes,
            backoff,
            status,
        }
    }

    /// Runs until shutdown, or until a checkpoint cannot be saved.
    pub async fn run(mut self, mut shutdown: Shutdown) -> Result<(), RelayError> {
        let mut reopen = self.backoff;
        while !shutdown.is_shutdown() {
            let checkpoint = self.checkpointer.checkpoint();
            // The stream opens at once, but the gateway confirms the
            // subscription only with its first event (a refusal is the
            // stream's first item), so the relay says here where it listens from.
            info!(network = %self.network_id, ?checkpoint, "subscribing to chaincode events");
            let opened = tokio::select! {
                biased;
                () = shutdown.recv() => return Ok(()),
                opened = self.events.open(checkpoint.clone()) => opened,
            };
            match opened {
                Ok(mut stream) => {
                    info!(network = %self.network_id, ?checkpoint, "following chaincode events");
                    if self.follow(&mut stream, &mut reopen, &mut shutdown).await? == Step::Stopped
                    {
                        return Ok(());
                    }
                }
                Err(error) => {
                    warn!(network = %self.network_id, %error, "cannot open the chaincode event stream");
                }
            }
            if wait(reopen.next_delay(), &mut shutdown).await == Step::Stopped {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Processes a stream's events until it ends or fails.
    async fn follow(
        &mut self,
        stream: &mut E::Stream,
        reopen: &mut Backoff,
        shutdown: &mut Shutdown,
    ) -> Result<Step, RelayError> {
        loop {
            let next = tokio::select! {
                biased;
                () = shutdown.recv() => return Ok(Step::Stopped),
                next = stream.next() => next,
            };
            match next {
                Some(Ok(event)) => {
                    reopen.reset();
                    if self.process(&event, shutdown).await? == Step::Stopped {
                        return Ok(Step::Stopped);
                    }
                }
                Some(Err(error)) => {
                    warn!(network = %self.network_id, %error, "chaincode event stream failed; reopening it from the checkpoint");
                    return Ok(Step::Continue);
                }
                None => {
                    info!(network = %self.network_id, "chaincode event stream ended; reopening it from the checkpoint");
                    return Ok(Step::Continue);
                }
            }
        }
    }

    /// Forwards one event if it is for another network, then checkpoints it.
    async fn process(
        &mut self,
        event: &ChaincodeEvent,
        shutdown: &mut Shutdown,
    ) -> Result<Step, RelayError> {
        match route(event, &self.network_id, &self.network_key) {
            Ok(Route::Forward(outgoing)) => {
                if self.deliver(&outgoing, event, shutdown).await == Step::Stopped {
                    return Ok(Step::Stopped);
                }
            }
            Ok(Route::Ignore) => {
                debug!(
                    event = %event.event_name,
                    tx_id = %event.transaction_id,
                    "event is not for another network"
                );
            }
            Err(reason) => {
                error!(
                    event = %event.event_name,
                    tx_id = %event.transaction_id,
                    block = event.block_number,
                    %reason,
                    "cannot read the event's payload; skipping it"
                );
            }
        }
        self.checkpointer.checkpoint_chaincode_event(event)?;
        if let Some(checkpoint) = self.checkpointer.checkpoint() {
            self.status.checkpointed(checkpoint);
        }
        Ok(Step::Continue)
    }

    /// Delivers until there is a receipt or a final answer; `Stopped` if
    /// shutdown came while waiting to retry.
    async fn deliver(
        &mut self,
        outgoing: &Outgoing,
        event: &ChaincodeEvent,
        shutdown: &mut Shutdown,
    ) -> Step {
        let request_id = outgoing.request_id();
        let network = outgoing.destination();
        let mut backoff = self.backoff;
        loop {
            let error = match self.attempt(outgoing).await {
                Ok(receipt) => {
                    info!(
                        request_id,
                        network,
                        source_tx_id = %event.transaction_id,
                        tx_id = %receipt.transaction_id,
                        block = receipt.block_number,
                        outcome = %receipt.outcome,
                        "delivered"
                    );
                    self.status.delivered();
                    return Step::Continue;
                }
                Err(error) => error,
            };
            match &error {
                DeliveryError::Refused(status) => {
                    warn!(request_id, network, tx_id = %event.transaction_id, reason = status.message(), "destination refused the envelope; skipping");
                    self.status.refused(error.to_string());
                    return Step::Continue;
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
                        tx_id = %event.transaction_id,
                        %error,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "delivery failed; retrying"
                    );
                    self.status.delivery_failed(error.to_string());
                    if wait(delay, shutdown).await == Step::Stopped {
                        return Step::Stopped;
                    }
                }
            }
        }
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
        let grant = remotes.challenge(network, &self.network_id).await?;
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
            .map_err(|error| classify(status_for(&error)))?;
        remotes
            .deliver(network, outgoing.envelope.clone(), proof)
            .await
    }
}
