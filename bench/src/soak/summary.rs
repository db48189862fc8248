//! The soak's report: fault counts, recovery times (injection → the next
//! exchange started after it completes), latencies while faults were
//! active against quiet periods, and the verdict; as JSON and Markdown.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ehrx_lab::measure::LatencySummary;
use serde::Serialize;

use super::Params;
use super::faults::{Kind, Record};
use super::verify::Verdict;
use super::workers::{Exchange, Outcome};

/// One kind of fault in the report.
#[derive(Debug, Clone, Serialize)]
pub struct KindSummary {
    pub kind: &'static str,
    pub count: usize,
    /// Recovery times in milliseconds; faults no later exchange followed
    /// are counted in `unrecovered`.
    pub recovery: Option<LatencySummary>,
    pub unrecovered: usize,
    /// Checkpoint-write kills that hit the write (temporary file present).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hit_write: Option<usize>,
    /// Disk-full faults where the relay stopped with a checkpoint error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_loudly: Option<usize>,
    /// Faults after which the checkpoint did not read back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_corrupt: Option<usize>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub params: Params,
    pub seed: u64,
    pub duration_secs: f64,
    pub passed: bool,
    pub failure: Option<String>,
    pub verdict: Verdict,
    pub faults: Vec<KindSummary>,
    pub recovery: Option<LatencySummary>,
    /// Exchanges that overlapped an active fault, and the others (ms).
    pub latency_during_faults: Option<LatencySummary>,
    pub latency_quiet: Option<LatencySummary>,
    /// Processes left running after the run (should be none).
    pub leaked_processes: Vec<u32>,
    pub fault_log: Vec<Record>,
}

/// Milliseconds from `record`'s injection until the first exchange that
/// started after it completed (verified or refused).
pub fn recovery_ms(record: &Record, log: &[Exchange]) -> Option<f64> {
    log.iter()
        .filter(|e| e.started_at >= record.injected_at)
        .filter(|e| matches!(e.outcome, Outcome::Verified | Outcome::Refused(_)))
        .map(|e| e.ended_at)
        .min_by(f64::total_cmp)
        .map(|end| (end - record.injected_at) * 1000.0)
}

/// Whether `exchange` overlapped any fault's active time.
fn during_faults(exchange: &Exchange, records: &[Record]) -> bool {
    records
        .iter()
        .any(|r| exchange.started_at < r.repaired_at && r.injected_at < exchange.ended_at)
}

/// Per kind: its count, recovery times and checkpoint observations.
pub fn kinds(records: &[Record], log: &[Exchange]) -> Vec<KindSummary> {
    Kind::ALL
        .iter()
        .map(|&kind| {
            let of_kind: Vec<&Record> = records.iter().filter(|r| r.planned.kind == kind).collect();
            let times: Vec<f64> = of_kind.iter().filter_map(|r| recovery_ms(r, log)).collect();
            let tally = |pick: fn(&Record) -> Option<bool>, want: bool| {
                let seen: Vec<bool> = of_kind.iter().filter_map(|&r| pick(r)).collect();
                (!seen.is_empty()).then(|| seen.iter().filter(|b| **b == want).count())
            };
            KindSummary {
                kind: kind.name(),
                count: of_kind.len(),
                recovery: LatencySummary::of(&times),
                unrecovered: of_kind.len() - times.len(),
                hit_write: tally(|r| r.hit_write, true),
                failed_loudly: tally(|r| r.failed_loudly, true),
                checkpoint_corrupt: tally(|r| r.checkpoint_intact, false),
            }
        })
        .collect()
}

impl Report {
    pub fn new(
        params: Params,
        duration_secs: f64,
        failure: Option<String>,
        verdict: Verdict,
        records: Vec<Record>,
        log: &[Exchange],
        leaked_processes: Vec<u32>,
    ) -> Self {
        let faults = kinds(&records, log);
        let all: Vec<f64> = records.iter().filter_map(|r| recovery_ms(r, log)).collect();
        let (mut busy, mut quiet) = (Vec::new(), Vec::new());
        for exchange in log.iter().filter(|e| e.outcome == Outcome::Verified) {
            let ms = exchange.latency() * 1000.0;
            if during_faults(exchange, &records) {
                busy.push(ms);
            } else {
                quiet.push(ms);
            }
        }
        let enough_faults = faults.iter().all(|k| k.count >= params.faults_per_kind);
        let passed = failure.is_none()
            && verdict.passed()
            && leaked_processes.is_empty()
            && enough_faults
            && faults
                .iter()
                .all(|k| k.checkpoint_corrupt.unwrap_or(0) == 0);
        Self {
            seed: params.seed,
            params,
            duration_secs,
            passed,
            failure,
            verdict,
            faults,
            recovery: LatencySummary::of(&all),
            latency_during_faults: LatencySummary::of(&busy),
            latency_quiet: LatencySummary::of(&quiet),
            leaked_processes,
            fault_log: records,
        }
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let v = &self.verdict;
        let _ = writeln!(
            md,
            "# Fault soak: {}\n",
            if self.passed { "passed" } else { "FAILED" }
        );
        let _ = writeln!(
            md,
            "{} exchanges at concurrency {}, seed {}, {} faults of each kind planned; {:.0} s.\n",
            self.params.exchanges,
            self.params.concurrency,
            self.seed,
            self.params.faults_per_kind,
            self.duration_secs
        );
        if let Some(failure) = &self.failure {
            let _ = writeln!(md, "**The run failed:** {failure}\n");
        }
        let _ = writeln!(
            md,
            "| exchanges | verified | refused | lost | duplicated | stuck | untracked | audit disagreements | leaked processes |"
        );
        let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            v.exchanges,
            v.verified,
            v.refused,
            v.lost,
            v.duplicated,
            v.stuck,
            v.untracked.len(),
            v.audit_disagreements.len(),
            self.leaked_processes.len()
        );
        let ms = |s: &Option<LatencySummary>, pick: fn(&LatencySummary) -> f64| {
            s.as_ref()
                .map_or("-".to_owned(), |s| format!("{:.0}", pick(s)))
        };
        let _ = writeln!(
            md,
            "## Faults and recovery (injection → the next exchange completes)\n"
        );
        let _ = writeln!(
            md,
            "| fault | count | recovery p50 ms | recovery max ms | unrecovered | notes |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---|");
        for k in &self.faults {
            let mut notes = Vec::new();
            if let Some(hit) = k.hit_write {
                notes.push(format!("{hit} killed mid-write"));
            }
            if let Some(loud) = k.failed_loudly {
                notes.push(format!("{loud} stopped loudly"));
            }
            if let Some(corrupt) = k.checkpoint_corrupt {
                notes.push(format!("{corrupt} checkpoints corrupt"));
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                k.kind,
                k.count,
                ms(&k.recovery, |s| s.p50),
                ms(&k.recovery, |s| s.max),
                k.unrecovered,
                notes.join(", ")
            );
        }
        let _ = writeln!(
            md,
            "| **all** | {} | {} | {} | | |\n",
            self.fault_log.len(),
            ms(&self.recovery, |s| s.p50),
            ms(&self.recovery, |s| s.max)
        );
        let _ = writeln!(md, "## Exchange latency (verified exchanges, ms)\n");
        let _ = writeln!(md, "| period | count | p50 | p95 | p99 | max |");
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
        for (name, s) in [
            ("during faults", &self.latency_during_faults),
            ("quiet", &self.latency_quiet),
        ] {
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {} | {} |",
                s.as_ref().map_or(0, |s| s.count),
                ms(s, |s| s.p50),
                ms(s, |s| s.p95),
                ms(s, |s| s.p99),
                ms(s, |s| s.max)
            );
        }
        let problems: Vec<&String> = v
            .examples
            .iter()
            .chain(v.audit_disagreements.iter().take(20))
            .chain(v.untracked.iter().take(20))
            .collect();
        if !problems.is_empty() {
            let _ = writeln!(md, "\n## Problems\n");
            for line in problems {
                let _ = writeln!(md, "- {line}");
            }
        }
        md
    }

    /// Counts per fault kind, for a one-line summary.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        self.faults.iter().map(|k| (k.kind, k.count)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::faults::Planned;
    use super::*;

    fn record(kind: Kind, injected_at: f64, repaired_at: f64) -> Record {
        Record {
            planned: Planned {
                kind,
                network: "net1",
                target: "t".into(),
                outage_ms: 1000,
                gap_ms: 0,
            },
            injected_at,
            repaired_at,
            observed: String::new(),
            hit_write: (kind == Kind::CheckpointWriteKill).then_some(true),
            failed_loudly: None,
            checkpoint_intact: (kind == Kind::CheckpointWriteKill).then_some(true),
        }
    }

    fn exchange(started_at: f64, ended_at: f64, outcome: Outcome) -> Exchange {
        Exchange {
            index: 0,
            worker: 0,
            patient: 0,
            attempts: vec!["a".into()],
            request_id: Some("a".into()),
            failed_submissions: 0,
            started_at,
            ended_at,
            outcome,
        }
    }

    #[test]
    fn recovery_runs_to_the_first_later_exchange_that_completes() {
        let log = [
            exchange(0.0, 12.0, Outcome::Verified),
            exchange(11.0, 15.0, Outcome::Stuck),
            exchange(10.5, 17.0, Outcome::Verified),
            exchange(10.2, 19.0, Outcome::Verified),
        ];
        let r = record(Kind::RelayKill, 10.0, 13.0);
        assert_eq!(recovery_ms(&r, &log), Some(7000.0));
        assert_eq!(
            recovery_ms(&record(Kind::RelayKill, 20.0, 21.0), &log),
            None
        );
    }

    #[test]
    fn the_report_splits_latency_by_faults_and_fails_short_of_the_planned_faults() {
        let log = [
            exchange(0.0, 2.0, Outcome::Verified),
            exchange(9.0, 11.0, Outcome::Verified),
            exchange(20.0, 23.0, Outcome::Verified),
        ];
        let records = vec![record(Kind::CheckpointWriteKill, 10.0, 12.0)];
        let params = crate::soak::tests_params();
        let verdict = Verdict {
            exchanges: 3,
            verified: 3,
            ..Verdict::default()
        };
        let report = Report::new(params, 30.0, None, verdict, records, &log, Vec::new());
        assert_eq!(report.latency_during_faults.map(|s| s.count), Some(1));
        assert_eq!(report.latency_quiet.map(|s| s.count), Some(2));
        let write = &report.faults[7];
        assert_eq!(
            (write.kind, write.count, write.hit_write),
            ("checkpoint_write_kill", 1, Some(1))
        );
        assert!(!report.passed, "one fault of one kind, two of each planned");
        let md = report.markdown();
        assert!(md.contains("| checkpoint_write_kill | 1 | 13000 | 13000 | 0 | 1 killed mid-write, 0 checkpoints corrupt |"), "{md}");
        assert!(md.contains("FAILED"));
    }
}
