//! How many challenges another relay may ask for. Each `Challenge` call
//! costs this network a committed transaction (`IssueChallenge`), so a
//! relay that calls in a loop (a bug, or a thief with another network's
//! relay credentials) would fill this network's blocks. Each caller, told
//! apart by its TLS client certificate, gets a token bucket: `burst` calls
//! at once, refilled at `per_minute`. A refused call is `RESOURCE_EXHAUSTED`,
//! which a sending relay retries after its back-off.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use serde::Deserialize;

/// The most callers tracked at once; beyond it, the buckets that are full
/// again (idle callers) are forgotten first.
const MAX_TRACKED: usize = 1024;

/// The limit, as the relay's configuration gives it (`challenges`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeLimit {
    /// Sustained challenges per minute per calling relay.
    pub per_minute: u32,
    /// Challenges a calling relay may ask for at once.
    pub burst: u32,
}

impl Default for ChallengeLimit {
    /// Two a second sustained, twenty at once: far above what deliveries
    /// need (one per attempt), far below what fills blocks.
    fn default() -> Self {
        Self {
            per_minute: 120,
            burst: 20,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by caller.
#[derive(Debug)]
pub struct Limiter {
    limit: ChallengeLimit,
    buckets: Mutex<HashMap<Vec<u8>, Bucket>>,
}

impl Limiter {
    /// Buckets for `limit`.
    pub fn new(limit: ChallengeLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn rate_per_second(&self) -> f64 {
        f64::from(self.limit.per_minute) / 60.0
    }

    /// Takes one token of `caller` at `now`: `Ok` if there was one, else
    /// how long until there is.
    pub fn take(&self, caller: &[u8], now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst);
        let rate = self.rate_per_second();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(caller) {
            buckets.retain(|_, bucket| {
                let refilled = bucket.tokens + rate * now.duration_since(bucket.at).as_secs_f64();
                refilled < burst
            });
        }
        let bucket = buckets.entry(caller.to_vec()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + rate * elapsed).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if rate > 0.0 {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        } else {
            Err(Duration::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_limiter(per_minute: u32, burst: u32) -> Limiter {
        Limiter::new(ChallengeLimit { per_minute, burst })
    }

    #[test]
    fn a_caller_gets_its_burst_then_the_rate_and_others_are_not_affected() {
        let limiter = new_limiter(60, 3);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.take(b"relay-a", start).unwrap();
        }
        let wait = limiter.take(b"relay-a", start).unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Another relay has its own bucket.
        limiter.take(b"relay-b", start).unwrap();
        // One a second comes back, never more than the burst.
        limiter
            .take(b"relay-a", start + Duration::from_secs(1))
            .unwrap();
        limiter
            .take(b"relay-a", start + Duration::from_secs(1))
            .unwrap_err();
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            limiter.take(b"relay-a", later).unwrap();
        }
        limiter.take(b"relay-a", later).unwrap_err();
    }

    #[test]
    fn idle_callers_are_forgotten_when_too_many_are_tracked() {
        let limiter = new_limiter(60, 1);
        let start = Instant::now();
        for n in 0..MAX_TRACKED {
            limiter.take(&n.to_be_bytes(), start).unwrap();
        }
        let later = start + Duration::from_secs(2);
        limiter.take(b"newcomer", later).unwrap();
        let tracked = limiter
            .buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        assert_eq!(tracked, 1);
    }

    #[test]
    fn a_zero_rate_refuses_after_the_burst() {
        let limiter = new_limiter(0, 1);
        let now = Instant::now();
        limiter.take(b"a", now).unwrap();
        assert_eq!(limiter.take(b"a", now), Err(Duration::MAX));
    }
}
