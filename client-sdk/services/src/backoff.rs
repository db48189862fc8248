//! Exponential back-off between attempts of the relay and the responder:
//! the first wait, doubled after each failure, never above the bound, and
//! back to the first wait after a success. No jitter: each of them retries
//! one thing at a time, so there is no crowd of clients to spread out.

use std::time::Duration;

/// The waits between attempts.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `initial`, never waits longer than `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let max = max.max(initial);
        Self {
            initial,
            max,
            next: initial,
        }
    }

    /// How long to wait before the next attempt; each call doubles the
    /// following wait, up to the bound.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// An attempt succeeded: the next failure waits the first wait again.
    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_bound_and_reset() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(500));
        let waits: Vec<_> = (0..5).map(|_| backoff.next_delay()).collect();
        assert_eq!(waits, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
        backoff.reset();
        assert_eq!(backoff.next_delay(), ms(100));
    }

    #[test]
    fn a_bound_below_the_start_is_the_start() {
        let ms = Duration::from_millis;
        let mut backoff = Backoff::new(ms(100), ms(10));
        assert_eq!(backoff.next_delay(), ms(100));
        assert_eq!(backoff.next_delay(), ms(100));
    }
}
