//! What the numbers were measured on: the machine, the Fabric release, the
//! code's commit, and how busy the machine was. Benchmarks on a shared
//! machine are only comparable with this next to them.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::networks::{fabric_home, repo_root};

/// The machine and code a run measured (read back when an earlier run's
/// charts are drawn again).
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// This checkout and its Fabric install (`FABRIC_HOME`, else `.fabric`).
    pub fn current() -> Self {
        Self::describe(&repo_root(), &fabric_home())
    }

    /// The commit's first 12 digits, `-dirty` with uncommitted changes, or
    /// `unknown` outside a git checkout.
    pub fn commit_label(&self) -> String {
        match &self.git_commit {
            Some(commit) => format!(
                "{}{}",
                commit.chars().take(12).collect::<String>(),
                if self.git_dirty == Some(true) {
                    "-dirty"
                } else {
                    ""
                }
            ),
            None => "unknown".into(),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_knows_its_commit() {
        // The tests run inside the repository's checkout.
        let machine = Machine::current();
        let commit = machine.git_commit.clone().unwrap();
        assert!(machine.commit_label().starts_with(&commit[..12]));
        let outside = Machine::describe(Path::new("/"), Path::new("/nonexistent"));
        assert_eq!(outside.commit_label(), "unknown");
        assert_eq!(outside.fabric_version, None);
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
