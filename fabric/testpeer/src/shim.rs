//! A real chaincode behind the stand-in peer (feature `shim`): a
//! [`Chaincode`] of `hlf-shim` running on the shim's in-memory ledger, so
//! that a gateway client's tests talk over gRPC to the contract itself
//! rather than to a re-implementation of it.
//!
//! [`ShimContract`] does what an endorsing peer does with it: an
//! evaluation runs the chaincode and keeps nothing; an endorsement runs it
//! and holds its writes and event until the client submits, and only a
//! transaction the orderer takes in is committed to the ledger. A refusal
//! (status 400 or above) reaches the client as Fabric's gateway reports
//! it: `chaincode response <status>, <message>`, in the status message and
//! in a `gateway.ErrorDetail`.
//!
//! Transactions that other clients (a relay, say) run on the same ledger
//! outside the peer become blocks of its chain with [`committed`].

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard, PoisonError},
};

use hlf_shim::{
    Chaincode,
    chaincode::ERROR_THRESHOLD,
    testing::{self, Endorsement, MemoryLedger, Outcome},
};
use tonic::{Code, Status};

use crate::{
    Committed, Contract, ENDORSE_FAILED, EVALUATE_FAILED, Endorsed, Event, Invocation,
    TxValidationCode, chaincode_response, status_with_detail,
};

/// A shim chaincode on an in-memory ledger, as a stand-in peer's contract.
pub struct ShimContract<C> {
    chaincode: C,
    ledger: MemoryLedger,
    /// Endorsed and not yet submitted, by transaction id.
    endorsed: Mutex<HashMap<String, Endorsement>>,
}

impl<C> std::fmt::Debug for ShimContract<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShimContract")
            .field("ledger", &self.ledger)
            .finish_non_exhaustive()
    }
}

impl<C: Chaincode> ShimContract<C> {
    /// `chaincode` on `ledger` (which clones share: the test keeps one to
    /// look at the state, or to run other clients' transactions).
    pub fn new(chaincode: C, ledger: MemoryLedger) -> Self {
        Self {
            chaincode,
            ledger,
            endorsed: Mutex::default(),
        }
    }

    /// The ledger.
    pub fn ledger(&self) -> &MemoryLedger {
        &self.ledger
    }

    fn endorsed(&self) -> MutexGuard<'_, HashMap<String, Endorsement>> {
        self.endorsed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs the proposal under its own transaction id, creator, transient
    /// data and timestamp; a refusal is the answer that went wrong.
    async fn run(&self, invocation: &Invocation) -> Result<Endorsement, String> {
        let mut call = testing::Invocation::new(invocation.args.clone())
            .creator(invocation.creator().to_vec())
            .tx_id(invocation.transaction_id());
        for (key, value) in &invocation.transient {
            call = call.transient(key, value.clone());
        }
        if let Some(timestamp) = invocation.channel_header.timestamp {
            call = call.timestamp(timestamp);
        }
        let endorsement = self.ledger.endorse(&self.chaincode, &call).await;
        let response = endorsement.response();
        if response.status >= ERROR_THRESHOLD {
            return Err(chaincode_response(response.status, &response.message));
        }
        Ok(endorsement)
    }
}

fn event(event: &hlf_protos::peer::ChaincodeEvent) -> Event {
    Event {
        name: event.event_name.clone(),
        payload: event.payload.clone(),
    }
}

impl<C: Chaincode> Contract for ShimContract<C> {
    async fn evaluate(&self, invocation: Invocation) -> Result<Vec<u8>, Status> {
        match self.run(&invocation).await {
            Ok(endorsement) => Ok(endorsement.response().payload.clone()),
            Err(answer) => Err(status_with_detail(
                Code::Unknown,
                &format!("{EVALUATE_FAILED}: {answer}"),
                &answer,
            )),
        }
    }

    async fn endorse(&self, invocation: Invocation) -> Result<Endorsed, Status> {
        let endorsement = self
            .run(&invocation)
            .await
            .map_err(|answer| status_with_detail(Code::Aborted, ENDORSE_FAILED, &answer))?;
        let endorsed = Endorsed {
            payload: endorsement.response().payload.clone(),
            events: endorsement.event().map(event).into_iter().collect(),
        };
        self.endorsed()
            .insert(invocation.transaction_id().to_owned(), endorsement);
        Ok(endorsed)
    }

    /// Commits the endorsed transaction's writes and event to the ledger.
    async fn order(&self, transaction_id: &str, _function: &str) -> TxValidationCode {
        let endorsement = self.endorsed().remove(transaction_id);
        let committed = match endorsement {
            Some(endorsement) => endorsement.commit().await.committed,
            None => false,
        };
        if committed {
            TxValidationCode::Valid
        } else {
            TxValidationCode::InvalidOtherReason
        }
    }
}

/// A transaction of chaincode `chaincode` that ran on the ledger outside
/// the peer, as a block of the peer's chain holds it: valid with its event
/// if it committed, invalid without one otherwise.
pub fn committed(chaincode: &str, outcome: &Outcome) -> Committed {
    match outcome.event.as_ref().filter(|_| outcome.committed) {
        Some(emitted) => Committed::with_event(&outcome.tx_id, chaincode, event(emitted)),
        None => Committed {
            transaction_id: outcome.tx_id.clone(),
            code: if outcome.committed {
                TxValidationCode::Valid
            } else {
                TxValidationCode::InvalidOtherReason
            },
            envelope: Default::default(),
            event: None,
        },
    }
}
