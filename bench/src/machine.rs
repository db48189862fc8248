//! What the numbers were measured on: the machine, the Fabric release, the
//! code's commit, and how busy the machine was. Benchmarks on a shared
//! machine are only comparable with this next to them.

use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// The machine and code a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Cores this process may use.
    pub cores: usize,
    pub cpu_model: Option<String>,
    pub memory_total_kib: Option<u64>,
    pub kernel: Option<String>,
    /// From `.fabric/VERSION`, as `install-fabric.sh` wrote it.
    pub fabric_version: Option<String>,
    pub git_commit: Option<String>,
    /// Whether the work tree had uncommitted changes.
    pub git_dirty: Option<bool>,
    /// `/proc/loadavg` when the run started: other work on the machine.
    pub load_average_at_start: Option<String>,
}

impl Machine {
    /// Gathers what it can; anything unreadable is left out, not an error.
    pub fn describe(repo_root: &Path, fabric_home: &Path) -> Self {
        Self {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model: read("/proc/cpuinfo").and_then(|text| cpu_model(&text)),
            memory_total_kib: read("/proc/meminfo").and_then(|text| memory_total_kib(&text)),
            kernel: read("/proc/sys/kernel/osrelease"),
            fabric_version: read(fabric_home.join("VERSION")),
            git_commit: git(repo_root, &["rev-parse", "HEAD"]),
            git_dirty: git(
                repo_root,
                &["status", "--porcelain", "--untracked-files=no"],
            )
            .map(|status| !status.is_empty()),
            load_average_at_start: load_average(),
        }
    }
}

/// `/proc/loadavg`, trimmed.
pub fn load_average() -> Option<String> {
    read("/proc/loadavg")
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|text| text.trim().to_string())
}

fn git(repo_root: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(repo_root)
        .args(args)
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_string())
}

fn memory_total_kib(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
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

impl UtcTime {
    pub fn now() -> Self {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        Self::from_unix(i64::try_from(seconds).unwrap_or(i64::MAX))
    }

    /// The civil date and time of a Unix time (proleptic Gregorian).
    pub fn from_unix(seconds: i64) -> Self {
        let days = seconds.div_euclid(86_400);
        let of_day = seconds.rem_euclid(86_400);
        // Count from 0000-03-01 so that leap days end each 400-year era.
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        // Each value below is in range by construction (day < 32, etc.).
        let small = |value: i64| u32::try_from(value).unwrap_or(0);
        Self {
            year,
            month: small(month),
            day: small(day),
            hour: small(of_day / 3_600),
            minute: small(of_day % 3_600 / 60),
            second: small(of_day % 60),
        }
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

    #[test]
    fn proc_files_are_parsed_leniently() {
        let cpuinfo = "processor\t: 0\nvendor_id\t: X\nmodel name\t: Example CPU @ 2.0GHz\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("Example CPU @ 2.0GHz"));
        assert_eq!(cpu_model("processor: 0\n"), None);
        assert_eq!(
            memory_total_kib("MemTotal:       24576000 kB\nMemFree: 1 kB\n"),
            Some(24_576_000)
        );
        assert_eq!(memory_total_kib("MemFree: 1 kB\n"), None);
    }
}
