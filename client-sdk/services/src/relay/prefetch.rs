//! Challenges fetched ahead of need.
//!
//! Every delivery needs a fresh challenge of its destination, and issuing
//! one is a transaction on the destination's channel: fetched when the
//! envelope is read, it puts a commit of the other network on the
//! exchange's critical path, twice per exchange (request and reply). The
//! pool keeps up to `depth` unused challenges per destination, so a
//! delivery usually finds one ready and only its proof and the delivery
//! itself remain.
//!
//! Refills come in batches (the relay protocol's `Challenges`, one
//! `IssueChallenges` transaction each): once the ready and the fetching
//! fall to half the depth, one refill asks for all the room left. So under
//! load one destination transaction and one unit of the destination
//! relay's per-caller challenge limit serve about `depth / 2` deliveries,
//! instead of one each; with a single challenge per call, that limit (2 a
//! second by default) capped a relay at 2 deliveries a second.
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
/// Batches of 8 or more: under load, one destination transaction per 8
/// deliveries or fewer.
pub const DEFAULT_DEPTH: usize = 16;

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

    /// Reserves a refill of `network`: once the pooled and the ones being
    /// fetched are at most half the depth, all the room left (at most
    /// `most`, the largest batch one call gets); otherwise 0. The caller
    /// fetches that many and gives them to [`Self::put`], or calls
    /// [`Self::abandon`].
    pub fn reserve(&self, network: &str, most: usize) -> usize {
        let depth = self.depth;
        self.with(network, |destination| {
            let have = destination.ready.len() + destination.fetching;
            if have > depth / 2 {
                return 0;
            }
            let count = (depth - have).min(most);
            destination.fetching += count;
            count
        })
    }

    /// A refill of `reserved` challenges arrived with `grants` (a relay
    /// may give fewer than asked for).
    pub fn put(&self, network: &str, reserved: usize, grants: Vec<ChallengeGrant>) {
        self.with(network, |destination| {
            destination.fetching = destination.fetching.saturating_sub(reserved);
            destination.ready.extend(grants);
        });
    }

    /// A refill of `reserved` challenges failed; the next delivery fetches
    /// its own.
    pub fn abandon(&self, network: &str, reserved: usize) {
        self.with(network, |destination| {
            destination.fetching = destination.fetching.saturating_sub(reserved);
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
    fn refills_come_in_batches_once_half_the_depth_is_gone() {
        let pool = ChallengePool::new(16);
        assert_eq!(pool.reserve("net2", 16), 16, "an empty pool asks for all");
        assert_eq!(pool.reserve("net2", 16), 0, "16 fetching already");
        assert_eq!(
            pool.reserve("net3", 16),
            16,
            "another destination has its own"
        );
        let grants = (0..16).map(|n| grant(&n.to_string(), 200_000)).collect();
        pool.put("net2", 16, grants);
        for taken in 1..=8 {
            assert!(pool.take("net2", 0).is_some());
            let asked = pool.reserve("net2", 16);
            // Nothing until only half the depth is left, then the room.
            assert_eq!(asked, if taken == 8 { 8 } else { 0 }, "after {taken}");
        }
        pool.abandon("net2", 8);
        assert_eq!(
            pool.reserve("net2", 5),
            5,
            "the failed refill freed its place; at most 5"
        );
        assert_eq!(pool.ready("net2"), 8);
    }

    #[test]
    fn a_refill_may_bring_fewer_than_asked() {
        let pool = ChallengePool::new(4);
        assert_eq!(pool.reserve("net2", 16), 4);
        pool.put("net2", 4, vec![grant("a", 200_000)]);
        assert_eq!(pool.ready("net2"), 1);
        assert_eq!(pool.reserve("net2", 16), 3, "one ready, none fetching");
    }

    #[test]
    fn each_challenge_is_handed_out_once_in_order() {
        let pool = ChallengePool::new(3);
        assert_eq!(pool.reserve("net2", 16), 3);
        pool.put("net2", 3, vec![grant("a", 200_000), grant("b", 200_000)]);
        assert_eq!(pool.take("net2", 0).unwrap().nonce, "a");
        assert_eq!(pool.take("net2", 0).unwrap().nonce, "b");
        assert_eq!(pool.take("net2", 0), None);
        assert_eq!(pool.take("net3", 0), None);
    }

    #[test]
    fn challenges_too_close_to_expiry_are_dropped() {
        let pool = ChallengePool::new(3);
        assert_eq!(pool.reserve("net2", 16), 3);
        let grants = [("old", 100_000), ("edge", 145_000), ("fresh", 300_000)]
            .map(|(nonce, expires)| grant(nonce, expires));
        pool.put("net2", 3, grants.to_vec());
        // At 100 s: "old" has expired, "edge" has exactly the minimum left.
        assert_eq!(pool.take("net2", 100_000).unwrap().nonce, "edge");
        // At 260 s "fresh" has 40 s left: too little, and dropped.
        assert_eq!(pool.take("net2", 260_000), None);
        assert_eq!(pool.ready("net2"), 0);
    }

    #[test]
    fn a_pool_of_depth_zero_keeps_nothing() {
        let pool = ChallengePool::new(0);
        assert_eq!(pool.reserve("net2", 16), 0);
        assert_eq!(pool.take("net2", 0), None);
    }
}
