//! Challenges fetched ahead of need.
//!
//! Every delivery needs a fresh challenge of its destination, and issuing
//! one is a transaction on the destination's channel: fetched when the
//! envelope is read, it puts a commit of the other network on the
//! exchange's critical path, twice per exchange (request and reply). The
//! pool keeps up to `depth` unused challenges per destination, fetched in
//! the background each time one is taken, so a delivery usually finds one
//! ready and only its proof and the delivery itself remain.
//!
//! A pooled challenge is single-use like any other: it is handed to one
//! delivery and never back. It is handed out only while at least
//! [`MIN_REMAINING_MS`] of its life is left (by its `expires_at_ms`, the
//! destination's transaction time, against this host's clock), so the
//! proof and the delivery fit before it expires; older ones are dropped,
//! and the destination's `PurgeChallenges` deletes them. Nothing is fetched
//! for a destination until a first delivery to it, and an idle relay
//! fetches nothing: each refill replaces a challenge taken.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use ehrx_proto::exchange::ChallengeGrant;

/// The life a pooled challenge must have left to be handed out: time for
/// the proof's endorsement and the delivery, with room for clock skew
/// between the networks.
pub const MIN_REMAINING_MS: i64 = 45_000;

/// The default depth: challenges kept ready per destination.
pub const DEFAULT_DEPTH: usize = 2;

#[derive(Debug, Default)]
struct Destination {
    ready: VecDeque<ChallengeGrant>,
    /// Refills under way.
    fetching: usize,
}

/// Unused challenges per destination network.
#[derive(Debug)]
pub struct ChallengePool {
    depth: usize,
    destinations: Mutex<HashMap<String, Destination>>,
}

impl ChallengePool {
    /// A pool keeping up to `depth` challenges per destination (0: none,
    /// every delivery fetches its own).
    pub fn new(depth: usize) -> Self {
        Self {
            depth,
            destinations: Mutex::new(HashMap::new()),
        }
    }

    fn with<T>(&self, network: &str, f: impl FnOnce(&mut Destination) -> T) -> T {
        // A poisoned lock only means another task panicked mid-update of
        // this map of queues; its contents are still well-formed.
        let mut destinations = self
            .destinations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(destinations.entry(network.to_string()).or_default())
    }

    /// A challenge of `network` with at least [`MIN_REMAINING_MS`] left at
    /// `now_ms` (Unix ms), if one is pooled; expired ones are dropped.
    pub fn take(&self, network: &str, now_ms: i64) -> Option<ChallengeGrant> {
        self.with(network, |destination| {
            while let Some(grant) = destination.ready.pop_front() {
                if grant.expires_at_ms.saturating_sub(now_ms) >= MIN_REMAINING_MS {
                    return Some(grant);
                }
            }
            None
        })
    }

    /// Reserves a refill for `network` if the pooled and the ones being
    /// fetched are fewer than the depth; the caller then fetches one and
    /// gives it to [`Self::put`], or calls [`Self::abandon`].
    pub fn reserve(&self, network: &str) -> bool {
        let depth = self.depth;
        self.with(network, |destination| {
            let room = destination.ready.len() + destination.fetching < depth;
            if room {
                destination.fetching += 1;
            }
            room
        })
    }

    /// A reserved refill arrived.
    pub fn put(&self, network: &str, grant: ChallengeGrant) {
        self.with(network, |destination| {
            destination.fetching = destination.fetching.saturating_sub(1);
            destination.ready.push_back(grant);
        });
    }

    /// A reserved refill failed; the next delivery fetches its own.
    pub fn abandon(&self, network: &str) {
        self.with(network, |destination| {
            destination.fetching = destination.fetching.saturating_sub(1);
        });
    }

    /// Challenges pooled for `network`.
    pub fn ready(&self, network: &str) -> usize {
        self.with(network, |destination| destination.ready.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(nonce: &str, expires_at_ms: i64) -> ChallengeGrant {
        ChallengeGrant {
            nonce: nonce.into(),
            issued_at_ms: expires_at_ms - 120_000,
            expires_at_ms,
        }
    }

    #[test]
    fn refills_are_bounded_by_the_depth_per_destination() {
        let pool = ChallengePool::new(2);
        assert!(pool.reserve("net2"));
        assert!(pool.reserve("net2"));
        assert!(!pool.reserve("net2"), "two fetching already");
        assert!(pool.reserve("net3"), "another destination has its own");
        pool.put("net2", grant("a", 200_000));
        assert!(!pool.reserve("net2"), "one ready, one fetching");
        pool.abandon("net2");
        assert!(pool.reserve("net2"), "the failed refill freed its place");
        assert_eq!(pool.ready("net2"), 1);
    }

    #[test]
    fn each_challenge_is_handed_out_once_in_order() {
        let pool = ChallengePool::new(3);
        for nonce in ["a", "b"] {
            assert!(pool.reserve("net2"));
            pool.put("net2", grant(nonce, 200_000));
        }
        assert_eq!(pool.take("net2", 0).unwrap().nonce, "a");
        assert_eq!(pool.take("net2", 0).unwrap().nonce, "b");
        assert_eq!(pool.take("net2", 0), None);
        assert_eq!(pool.take("net3", 0), None);
    }

    #[test]
    fn challenges_too_close_to_expiry_are_dropped() {
        let pool = ChallengePool::new(3);
        for (nonce, expires) in [("old", 100_000), ("edge", 145_000), ("fresh", 300_000)] {
            assert!(pool.reserve("net2"));
            pool.put("net2", grant(nonce, expires));
        }
        // At 100 s: "old" has expired, "edge" has exactly the minimum left.
        assert_eq!(pool.take("net2", 100_000).unwrap().nonce, "edge");
        // At 260 s "fresh" has 40 s left: too little, and dropped.
        assert_eq!(pool.take("net2", 260_000), None);
        assert_eq!(pool.ready("net2"), 0);
    }

    #[test]
    fn a_pool_of_depth_zero_keeps_nothing() {
        let pool = ChallengePool::new(0);
        assert!(!pool.reserve("net2"));
        assert_eq!(pool.take("net2", 0), None);
    }
}
