//! The arithmetic and clock every measurement here goes through: latency
//! percentiles (nearest rank) and UTC time stamps for result folders and
//! reports. Shared by the experiment and the benchmarks (`bench/`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Milliseconds, the unit of every latency in the results.
pub fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The `p`-th percentile (0 < p ≤ 100) of ascending `sorted` samples, by
/// the nearest-rank method: the smallest sample with at least p % of the
/// samples at or below it. It is always a measured value, never an
/// interpolation, so a p99 of 20 samples is honestly their maximum.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// The distribution of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: usize,
    pub mean: f64,
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl LatencySummary {
    /// The summary of `samples` (any order); `None` when there are none.
    pub fn of(samples: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = samples.iter().copied().filter(|s| s.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let (min, max) = (*sorted.first()?, *sorted.last()?);
        Some(Self {
            count: sorted.len(),
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            min,
            p50: percentile(&sorted, 50.0)?,
            p95: percentile(&sorted, 95.0)?,
            p99: percentile(&sorted, 99.0)?,
            max,
        })
    }
}

/// A UTC instant, for file names and the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl From<time::OffsetDateTime> for UtcTime {
    fn from(at: time::OffsetDateTime) -> Self {
        Self {
            year: i64::from(at.year()),
            month: u32::from(u8::from(at.month())),
            day: u32::from(at.day()),
            hour: u32::from(at.hour()),
            minute: u32::from(at.minute()),
            second: u32::from(at.second()),
        }
    }
}

impl UtcTime {
    pub fn now() -> Self {
        Self::from(time::OffsetDateTime::now_utc())
    }

    /// The civil date and time of a Unix time (the epoch when it is beyond
    /// the calendar's range).
    pub fn from_unix(seconds: i64) -> Self {
        Self::from(
            time::OffsetDateTime::from_unix_timestamp(seconds)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
        )
    }

    /// `20260101T093000Z`: sorts by time and is safe in a file name.
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// `2026-01-01T09:30:00Z` (RFC 3339).
    pub fn rfc3339(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_are_measured_values() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50.0));
        assert_eq!(percentile(&samples, 95.0), Some(95.0));
        assert_eq!(percentile(&samples, 99.0), Some(99.0));
        assert_eq!(percentile(&samples, 100.0), Some(100.0));
        let few = [10.0, 20.0, 30.0];
        assert_eq!(percentile(&few, 50.0), Some(20.0));
        assert_eq!(percentile(&few, 99.0), Some(30.0));
        assert_eq!(percentile(&few, 1.0), Some(10.0));
        assert_eq!(percentile(&[7.0], 50.0), Some(7.0));
    }

    #[test]
    fn percentiles_of_nothing_or_out_of_range_are_none() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[1.0], 0.0), None);
        assert_eq!(percentile(&[1.0], 101.0), None);
        assert_eq!(percentile(&[1.0], f64::NAN), None);
    }

    #[test]
    fn summaries_sort_their_samples() {
        let summary = LatencySummary::of(&[30.0, 10.0, 20.0, 40.0]).unwrap();
        assert_eq!(summary.count, 4);
        assert_eq!(summary.min, 10.0);
        assert_eq!(summary.max, 40.0);
        assert_eq!(summary.mean, 25.0);
        assert_eq!(summary.p50, 20.0);
        assert_eq!(summary.p95, 40.0);
        assert_eq!(LatencySummary::of(&[]), None);
        assert_eq!(LatencySummary::of(&[f64::NAN]), None);
    }

    #[test]
    fn unix_times_become_civil_utc() {
        assert_eq!(UtcTime::from_unix(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            UtcTime::from_unix(951_782_400).rfc3339(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            UtcTime::from_unix(1_767_225_599).rfc3339(),
            "2025-12-31T23:59:59Z"
        );
        assert_eq!(
            UtcTime::from_unix(1_767_259_800).compact(),
            "20260101T093000Z"
        );
        assert_eq!(UtcTime::from_unix(-1).rfc3339(), "1969-12-31T23:59:59Z");
        assert_eq!(
            UtcTime::from_unix(4_107_542_400).rfc3339(),
            "2100-03-01T00:00:00Z"
        );
    }
}
