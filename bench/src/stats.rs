//! Latency percentiles, rates and ratios: the arithmetic every figure of
//! the report goes through, kept pure so it is tested without a network.

use std::collections::BTreeMap;
use std::time::Duration;

pub use ehrx_lab::measure::{LatencySummary, millis};

/// `a / b`, when both exist and `b` is positive.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// Events per second over `elapsed`; zero for an empty interval.
pub fn rate(count: usize, elapsed: Duration) -> f64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// What a run of one kind at one load level gathered, possibly over
/// several rounds: successes with their latencies (and named phases),
/// failures by class, and the time the workers were busy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub attempted: usize,
    pub latencies_ms: Vec<f64>,
    pub phases_ms: BTreeMap<String, Vec<f64>>,
    pub errors: BTreeMap<String, usize>,
    pub elapsed: Duration,
}

impl Tally {
    /// Successes of `latencies` ms over `seconds`, for tests.
    #[cfg(test)]
    pub(crate) fn of(latencies: &[u64], seconds: u64) -> Self {
        let mut tally = Self::default();
        for &ms in latencies {
            tally.success(Duration::from_millis(ms), &[]);
        }
        tally.elapsed = Duration::from_secs(seconds);
        tally
    }

    /// A success of `latency`, with the durations of its phases.
    pub fn success(&mut self, latency: Duration, phases: &[(&str, Duration)]) {
        self.attempted += 1;
        self.latencies_ms.push(millis(latency));
        for (name, duration) in phases {
            self.phases_ms
                .entry((*name).to_string())
                .or_default()
                .push(millis(*duration));
        }
    }

    /// A failure, counted under its class (see [`error_class`]).
    pub fn failure(&mut self, error: &anyhow::Error) {
        self.attempted += 1;
        *self.errors.entry(error_class(error)).or_default() += 1;
    }

    /// Adds another round of the same kind and level.
    pub fn merge(&mut self, other: Tally) {
        self.attempted += other.attempted;
        self.latencies_ms.extend(other.latencies_ms);
        for (name, samples) in other.phases_ms {
            self.phases_ms.entry(name).or_default().extend(samples);
        }
        for (class, count) in other.errors {
            *self.errors.entry(class).or_default() += count;
        }
        self.elapsed += other.elapsed;
    }

    pub fn succeeded(&self) -> usize {
        self.latencies_ms.len()
    }

    pub fn failed(&self) -> usize {
        self.errors.values().sum()
    }

    /// Completed operations per second of busy time.
    pub fn per_second(&self) -> f64 {
        rate(self.succeeded(), self.elapsed)
    }
}

/// The longest error class kept; the rest of a message adds little.
const MAX_CLASS_LENGTH: usize = 240;

/// An error's message with what differs between occurrences of the same
/// failure (transaction and request ids, block numbers) blanked out, so
/// failures can be counted by kind: the full chain, ids as `…`.
pub fn error_class(error: &anyhow::Error) -> String {
    normalise(&format!("{error:#}"))
}

fn normalise(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        // Transaction ids are 64 hex digits, request ids hyphenated UUIDs.
        let id_like = run.len() >= 16 && run.chars().filter(char::is_ascii_hexdigit).count() >= 12;
        if id_like {
            out.push('…');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in message.chars() {
        if c.is_ascii_hexdigit() || c == '-' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    let out = blank_block_numbers(&out);
    match out.char_indices().nth(MAX_CLASS_LENGTH) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out,
    }
}

fn blank_block_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("block ") {
        let (head, tail) = rest.split_at(at + "block ".len());
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push('N');
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_rates_guard_against_zero() {
        assert_eq!(ratio(Some(6.0), Some(3.0)), Some(2.0));
        assert_eq!(ratio(Some(6.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(3.0)), None);
        assert_eq!(rate(10, Duration::from_secs(4)), 2.5);
        assert_eq!(rate(10, Duration::ZERO), 0.0);
    }

    #[test]
    fn rounds_merge_into_one_tally() {
        // A round of one success (total, submit phase) and one failure.
        let round = |total: u64, submit: u64| {
            let mut tally = Tally::default();
            tally.success(
                Duration::from_millis(total),
                &[("submit", Duration::from_millis(submit))],
            );
            tally.failure(&anyhow::anyhow!("boom"));
            tally.elapsed = Duration::from_secs(1);
            tally
        };
        let (mut first, second) = (round(100, 40), round(300, 60));
        first.merge(second);
        assert_eq!(first.attempted, 4);
        assert_eq!(first.succeeded(), 2);
        assert_eq!(first.failed(), 2);
        assert_eq!(first.errors["boom"], 2);
        assert_eq!(first.phases_ms["submit"], vec![40.0, 60.0]);
        assert_eq!(first.per_second(), 1.0);
    }

    #[test]
    fn error_classes_blank_ids_and_block_numbers() {
        let tx = "a".repeat(64);
        let a =
            anyhow::anyhow!("transaction {tx} failed to commit in block 17: MVCC_READ_CONFLICT");
        let b = anyhow::anyhow!(
            "transaction {} failed to commit in block 203: MVCC_READ_CONFLICT",
            "b".repeat(64)
        );
        assert_eq!(error_class(&a), error_class(&b));
        assert_eq!(
            error_class(&a),
            "transaction … failed to commit in block N: MVCC_READ_CONFLICT"
        );
        let request = anyhow::anyhow!("request 6f1c1f7e-8a43-4d8b-9b1e-2f4b5f0e9a10 timed out");
        assert_eq!(error_class(&request), "request … timed out");
        // Short hex-looking words stay.
        assert_eq!(
            normalise("status 500: bad feed, add cafe"),
            "status 500: bad feed, add cafe"
        );
        let context = anyhow::anyhow!("inner").context("PutEhr");
        assert_eq!(error_class(&context), "PutEhr: inner");
    }

    #[test]
    fn long_error_classes_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_CLASS_LENGTH + 10);
        let class = normalise(&long);
        assert_eq!(class.chars().count(), MAX_CLASS_LENGTH + 1);
        assert!(class.ends_with('…'));
    }
}
