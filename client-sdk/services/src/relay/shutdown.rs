//! The relay's shutdown signal, shared by its tasks.
//!
//! One [`ShutdownTrigger`] is held by whoever decides to stop; each task
//! holds a [`Shutdown`] and checks it at the points where stopping is safe
//! (between deliveries, while waiting to retry), so work in flight ends
//! cleanly instead of being cut off.

use tokio::sync::watch;

/// Tells every [`Shutdown`] made from it to stop.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// One task's view of the shutdown signal.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl ShutdownTrigger {
    /// A trigger nobody has pulled yet.
    pub fn new() -> Self {
        Self {
            sender: watch::Sender::new(false),
        }
    }

    /// A signal for one more task.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }

    /// Signals every task to stop.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }
}

impl Default for ShutdownTrigger {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// Whether shutdown was signalled.
    pub fn is_shutdown(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Waits until shutdown is signalled (or the trigger is gone, which
    /// means nobody is left to keep the relay running).
    pub async fn recv(&mut self) {
        // An error means the trigger was dropped: stop as well.
        let _ = self.receiver.wait_for(|stop| *stop).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_sees_the_trigger() {
        let trigger = ShutdownTrigger::new();
        let mut first = trigger.subscribe();
        let second = trigger.subscribe();
        assert!(!first.is_shutdown());
        trigger.trigger();
        first.recv().await;
        assert!(second.is_shutdown());
        // A late subscriber sees it too.
        assert!(trigger.subscribe().is_shutdown());
    }

    #[tokio::test]
    async fn a_dropped_trigger_means_stop() {
        let trigger = ShutdownTrigger::new();
        let mut shutdown = trigger.subscribe();
        drop(trigger);
        shutdown.recv().await;
    }
}
