//! The per-requester rate limit of Algorithm 1: at most `max` requests in
//! any sliding window of `window` length, measured with transaction
//! timestamps (never the wall clock, which differs between endorsers).
//!
//! Pure logic over the stored [`RateWindow`], so it is tested without a
//! ledger.

use crate::ehr::{error::EhrError, state::RateWindow};

/// What the limit says about a request at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit; store this window.
    Allow(RateWindow),
    /// Over the limit: the requester is to be flagged.
    Exceeded {
        /// Requests already in the window.
        in_window: usize,
    },
}

/// Decides on a request at `now_ms`, given the requester's `window` so far.
/// A time earlier than the requester's last request is refused, so a client
/// cannot backdate transactions to slip under the limit.
pub fn decide(
    window: Option<RateWindow>,
    now_ms: i64,
    max: u32,
    window_seconds: u32,
) -> Result<Decision, EhrError> {
    let mut window = window.unwrap_or_default();
    if !window.recent_ms.is_empty() && now_ms < window.last_ms {
        return Err(EhrError::State(format!(
            "transaction timestamp {now_ms} ms is older than this requester's last request at {} ms",
            window.last_ms
        )));
    }
    let start = now_ms.saturating_sub(i64::from(window_seconds).saturating_mul(1000));
    window.recent_ms.retain(|&t| t > start);
    let in_window = window.recent_ms.len();
    if in_window >= usize::try_from(max).unwrap_or(usize::MAX) {
        return Ok(Decision::Exceeded { in_window });
    }
    window.recent_ms.push(now_ms);
    window.last_ms = now_ms;
    Ok(Decision::Allow(window))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allow(decision: Decision) -> RateWindow {
        match decision {
            Decision::Allow(window) => window,
            Decision::Exceeded { .. } => unreachable!("expected Allow"),
        }
    }

    #[test]
    fn one_per_minute_by_default() {
        let window = allow(decide(None, 1_000, 1, 60).unwrap());
        assert_eq!(
            decide(Some(window.clone()), 60_999, 1, 60).unwrap(),
            Decision::Exceeded { in_window: 1 }
        );
        let later = allow(decide(Some(window), 61_000, 1, 60).unwrap());
        assert_eq!(later.recent_ms, vec![61_000]);
    }

    #[test]
    fn several_per_window_when_configured() {
        let mut window = None;
        for t in [0, 10, 20] {
            window = Some(allow(decide(window, t, 3, 1).unwrap()));
        }
        assert_eq!(
            decide(window, 30, 3, 1).unwrap(),
            Decision::Exceeded { in_window: 3 }
        );
    }

    #[test]
    fn backdated_requests_are_refused() {
        let window = allow(decide(None, 5_000, 2, 60).unwrap());
        assert!(matches!(
            decide(Some(window), 4_999, 2, 60),
            Err(EhrError::State(_))
        ));
    }
}
