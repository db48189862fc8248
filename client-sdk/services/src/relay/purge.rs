//! Challenges this network issued that were never used (a delivery that
//! failed after its challenge) stay in its world state until deleted. The
//! relay submits `PurgeChallenges` every so often, which deletes the
//! expired ones; a failure (a conflict with a challenge issued in the
//! same block, a peer down) is logged and tried again next time.

use std::time::Duration;

use ehrx_client::ehr::interface::{ChallengePurge, function};
use tracing::{debug, info, warn};

use super::{error::RelayError, ledger::Submitter, shutdown::Shutdown};

/// Submits `PurgeChallenges` through `submitter` every `every` until
/// shutdown.
pub async fn run<S: Submitter>(
    submitter: S,
    every: Duration,
    mut shutdown: Shutdown,
) -> Result<(), RelayError> {
    let function = function::PURGE_CHALLENGES;
    loop {
        tokio::select! {
            () = shutdown.recv() => return Ok(()),
            () = tokio::time::sleep(every) => {}
        }
        let submitted = tokio::select! {
            () = shutdown.recv() => return Ok(()),
            submitted = submitter.submit(function, Vec::new()) => submitted,
        };
        match submitted {
            Ok(committed) => match serde_json::from_slice::<ChallengePurge>(&committed.result) {
                Ok(purge) if purge.purged > 0 => {
                    info!(purged = purge.purged, left = purge.left, tx_id = %committed.status.transaction_id, "expired challenges purged");
                }
                Ok(purge) => debug!(left = purge.left, "no expired challenges"),
                Err(error) => warn!(%error, "{function} answered something else"),
            },
            Err(error) => warn!(%error, "{function} failed; trying again next time"),
        }
    }
}
