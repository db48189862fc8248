//! Challenges this network issued that were never used (a delivery that
//! failed after its challenge) stay in its world state until deleted. The
//! relay submits `PurgeChallenges` every so often, which deletes the
//! expired ones; a failure (a conflict with a challenge issued in the
//! same block, a peer down) is logged and tried again next time.
//!
//! One call deletes at most [`MAX_CHALLENGES_PURGED`]. A call that deleted
//! that many is followed at once by another, up to [`MAX_CALLS_PER_ROUND`]
//! a round: a caller with a batch of 16 challenges a call could otherwise
//! leave expired ones faster than one call a round deletes them.

use std::time::Duration;

use ehrx_client::ehr::interface::{ChallengePurge, function, limits::MAX_CHALLENGES_PURGED};
use tracing::{debug, info, warn};

use super::{error::RelayError, ledger::Submitter, shutdown::Shutdown};

/// The most `PurgeChallenges` calls in one round: 64 × 500 = 32,000
/// challenges, more than one caller at the default limit (2 calls a
/// second, 16 challenges each) can leave in the default round of 600 s
/// (19,200).
pub const MAX_CALLS_PER_ROUND: usize = 64;

/// Submits `PurgeChallenges` through `submitter` every `every` until
/// shutdown.
pub async fn run<S: Submitter>(
    submitter: S,
    every: Duration,
    mut shutdown: Shutdown,
) -> Result<(), RelayError> {
    loop {
        tokio::select! {
            () = shutdown.recv() => return Ok(()),
            () = tokio::time::sleep(every) => {}
        }
        tokio::select! {
            () = shutdown.recv() => return Ok(()),
            _ = round(&submitter) => {}
        }
    }
}

/// One round: `PurgeChallenges` until a call leaves none it could have
/// deleted, at most [`MAX_CALLS_PER_ROUND`] times. Returns the calls made.
async fn round<S: Submitter>(submitter: &S) -> usize {
    for call in 1..=MAX_CALLS_PER_ROUND {
        if !purge_once(submitter).await {
            return call;
        }
    }
    MAX_CALLS_PER_ROUND
}

/// One `PurgeChallenges`; whether it deleted as many as a call may, so
/// more may be left.
async fn purge_once<S: Submitter>(submitter: &S) -> bool {
    let function = function::PURGE_CHALLENGES;
    match submitter.submit(function, Vec::new()).await {
        Ok(committed) => match serde_json::from_slice::<ChallengePurge>(&committed.result) {
            Ok(purge) if purge.purged > 0 => {
                info!(purged = purge.purged, left = purge.left, tx_id = %committed.status.transaction_id, "expired challenges purged");
                usize::try_from(purge.purged).is_ok_and(|n| n >= MAX_CHALLENGES_PURGED)
            }
            Ok(purge) => {
                debug!(left = purge.left, "no expired challenges");
                false
            }
            Err(error) => {
                warn!(%error, "{function} answered something else");
                false
            }
        },
        Err(error) => {
            warn!(%error, "{function} failed; trying again next time");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use ehrx_client::fabric::{Committed, Error, Status as CommitStatus, protos::peer};

    use super::*;

    /// A ledger holding `expired` expired challenges, deleting at most
    /// `MAX_CHALLENGES_PURGED` a call, as the contract does.
    #[derive(Clone)]
    struct Expired {
        left: Arc<Mutex<usize>>,
        calls: Arc<Mutex<usize>>,
    }

    impl Expired {
        fn new(expired: usize) -> Self {
            Self {
                left: Arc::new(Mutex::new(expired)),
                calls: Arc::new(Mutex::new(0)),
            }
        }

        fn calls(&self) -> usize {
            *self.calls.lock().unwrap()
        }
    }

    impl Submitter for Expired {
        async fn submit(
            &self,
            function: &'static str,
            _: Vec<Vec<u8>>,
        ) -> Result<Committed, Error> {
            assert_eq!(function, "PurgeChallenges");
            *self.calls.lock().unwrap() += 1;
            let mut left = self.left.lock().unwrap();
            let purged = (*left).min(MAX_CHALLENGES_PURGED);
            *left -= purged;
            Ok(Committed {
                result: format!(r#"{{"purged":{purged},"left":{}}}"#, *left).into_bytes(),
                status: CommitStatus {
                    transaction_id: "tx".into(),
                    code: peer::TxValidationCode::Valid,
                    block_number: 1,
                },
            })
        }

        async fn prove(
            &self,
            _: &'static str,
            _: &str,
            _: &str,
            _: &str,
        ) -> Result<Vec<u8>, Error> {
            unreachable!("the purge proves nothing")
        }

        async fn fetch(&self, _: &'static str, _: &str) -> Result<Vec<u8>, Error> {
            unreachable!("the purge reads nothing")
        }
    }

    #[tokio::test]
    async fn a_round_calls_again_while_a_call_deletes_the_most_it_may() {
        // 1200 expired: 500, 500, then 200 and the round ends.
        let ledger = Expired::new(1200);
        assert_eq!(round(&ledger).await, 3);
        assert_eq!(*ledger.left.lock().unwrap(), 0);
        // Nothing left: one call, which deletes nothing.
        assert_eq!(round(&ledger).await, 1);
        assert_eq!(ledger.calls(), 4);
    }

    #[tokio::test]
    async fn a_round_makes_at_most_its_bound_of_calls() {
        let ledger = Expired::new(100 * MAX_CHALLENGES_PURGED);
        assert_eq!(round(&ledger).await, MAX_CALLS_PER_ROUND);
        assert_eq!(
            *ledger.left.lock().unwrap(),
            (100 - MAX_CALLS_PER_ROUND) * MAX_CHALLENGES_PURGED
        );
    }
}
