//! What the relay reports about itself: how far it got in its network's
//! events and how its deliveries are going. The outbound task writes it,
//! the health endpoint reads it; a plain mutex suffices because each
//! update is a few field writes, never held across an await.

use std::sync::{Mutex, MutexGuard, PoisonError};

use ehrx_client::fabric::Checkpoint;

use crate::ready::Readiness;

/// The relay's shared progress record.
#[derive(Debug)]
pub struct RelayStatus {
    network_id: String,
    progress: Mutex<Progress>,
    readiness: Readiness,
}

/// A copy of the progress at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Every event up to this one is settled (delivered, refused or skipped).
    pub checkpoint: Option<Checkpoint>,
    /// Envelopes the destination committed.
    pub delivered: u64,
    /// Envelopes the destination refused for good.
    pub refused: u64,
    /// Why the latest delivery attempt failed; cleared by a delivery.
    pub last_delivery_error: Option<String>,
    /// Configurations taken on a reload since start-up.
    pub reloads: u64,
    /// Why the latest reload was not taken; cleared by one that is.
    pub last_reload_error: Option<String>,
    /// Envelopes read whose delivery has not settled yet.
    pub in_flight: usize,
    /// How many envelopes may be past the checkpoint at once.
    pub max_in_flight: usize,
}

impl RelayStatus {
    /// The status of `network_id`'s relay, resuming from `checkpoint`,
    /// with up to `max_in_flight` envelopes past it.
    pub fn new(
        network_id: impl Into<String>,
        checkpoint: Option<Checkpoint>,
        max_in_flight: usize,
    ) -> Self {
        Self {
            network_id: network_id.into(),
            progress: Mutex::new(Progress {
                checkpoint,
                max_in_flight,
                ..Progress::default()
            }),
            readiness: Readiness::new(),
        }
    }

    /// Whether the relay is ready: its network's peer answered and its
    /// event stream is open (see [`crate::ready`]).
    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// This network's id.
    pub fn network_id(&self) -> &str {
        &self.network_id
    }

    fn progress(&self) -> MutexGuard<'_, Progress> {
        // Every update leaves the record consistent, so a panic elsewhere
        // while holding the lock does not make it unusable.
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the current progress.
    pub fn snapshot(&self) -> Progress {
        self.progress().clone()
    }

    /// An event was processed and its checkpoint saved.
    pub fn checkpointed(&self, checkpoint: Checkpoint) {
        self.progress().checkpoint = Some(checkpoint);
    }

    /// How many envelopes are in flight now.
    pub fn set_in_flight(&self, in_flight: usize) {
        self.progress().in_flight = in_flight;
    }

    /// An envelope was delivered.
    pub fn delivered(&self) {
        let mut progress = self.progress();
        progress.delivered += 1;
        progress.last_delivery_error = None;
    }

    /// An envelope was refused by its destination, or had none.
    pub fn refused(&self, reason: String) {
        let mut progress = self.progress();
        progress.refused += 1;
        progress.last_delivery_error = Some(reason);
    }

    /// A delivery attempt failed and will be retried.
    pub fn delivery_failed(&self, reason: String) {
        self.progress().last_delivery_error = Some(reason);
    }

    /// A new configuration was taken.
    pub fn reloaded(&self) {
        let mut progress = self.progress();
        progress.reloads += 1;
        progress.last_reload_error = None;
    }

    /// A new configuration was refused; the running one stays.
    pub fn reload_refused(&self, reason: String) {
        self.progress().last_reload_error = Some(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_clears_the_last_error() {
        let status = RelayStatus::new("net1", None, 16);
        status.delivery_failed("down".into());
        assert_eq!(
            status.snapshot().last_delivery_error.as_deref(),
            Some("down")
        );
        status.delivered();
        status.refused("no".into());
        status.delivered();
        let progress = status.snapshot();
        assert_eq!((progress.delivered, progress.refused), (2, 1));
        assert_eq!(progress.last_delivery_error, None);
    }
}
