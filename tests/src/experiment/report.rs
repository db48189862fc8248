//! The experiment's results: one row per scenario (expected, observed,
//! pass), the response-time samples and their percentiles, written as
//! `results.json`, `report.md` and `timings.csv`, and printed as a table.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use ehrx_lab::measure::LatencySummary;

/// One scenario's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRow {
    /// Short stable id (`exchange`, `outsider`, ...).
    pub id: &'static str,
    /// What the scenario is, in a few words.
    pub title: &'static str,
    /// Which part of the study it belongs to.
    pub group: &'static str,
    /// What must happen.
    pub expected: &'static str,
    /// What did happen, with the evidence (outcomes, heights, audit).
    pub observed: String,
    pub pass: bool,
    /// Wall time of the scenario.
    pub duration_ms: u64,
}

/// One timed exchange: request submission to the decrypted, verified reply.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ExchangeSample {
    /// Submission to "reply ready" on network I.
    pub until_ready_ms: f64,
    /// Retrieval, decryption and hash checks of the reply.
    pub read_ms: f64,
    /// The sum: what the doctor waits for.
    pub total_ms: f64,
    /// Records in the reply.
    pub records: usize,
}

/// The response-time part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Timings {
    /// Exchanges asked for.
    pub requested: usize,
    /// Exchanges that completed (reply read and verified).
    pub completed: usize,
    /// Failures, with their errors.
    pub failures: Vec<String>,
    /// Submission to decrypted reply.
    pub total: Option<LatencySummary>,
    /// Submission to "reply ready".
    pub until_ready: Option<LatencySummary>,
    /// Reading the reply.
    pub read: Option<LatencySummary>,
    /// Completed exchanges per second over the whole timed run.
    pub exchanges_per_second: f64,
    pub samples: Vec<ExchangeSample>,
}

impl Timings {
    /// Summarises `samples` taken over `elapsed_s` seconds.
    pub fn new(
        requested: usize,
        samples: Vec<ExchangeSample>,
        failures: Vec<String>,
        elapsed_s: f64,
    ) -> Self {
        let of = |pick: fn(&ExchangeSample) -> f64| {
            LatencySummary::of(&samples.iter().map(pick).collect::<Vec<_>>())
        };
        Self {
            requested,
            completed: samples.len(),
            failures,
            total: of(|s| s.total_ms),
            until_ready: of(|s| s.until_ready_ms),
            read: of(|s| s.read_ms),
            exchanges_per_second: if elapsed_s > 0.0 {
                samples.len() as f64 / elapsed_s
            } else {
                0.0
            },
            samples,
        }
    }
}

/// Where and on what the experiment ran.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// UTC start, ISO 8601.
    pub started_at: String,
    pub fabric_version: String,
    /// `V3_0` or `V2_0`, as the networks' descriptions state it.
    pub channel_capability: String,
    /// `raft` or `bft`, with the orderers per network: "bft, 4 orderers".
    pub ordering: String,
    pub git_commit: String,
    pub cpus: usize,
    /// Synthetic patients loaded per network.
    pub patients_per_network: usize,
    /// Records stored per network.
    pub records_per_network: Vec<(String, usize)>,
    pub total_seconds: f64,
}

/// Everything the experiment found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub run: RunInfo,
    pub scenarios: Vec<ScenarioRow>,
    pub timings: Option<Timings>,
}

impl Report {
    /// True when every scenario passed.
    pub fn passed(&self) -> bool {
        !self.scenarios.is_empty() && self.scenarios.iter().all(|row| row.pass)
    }

    /// The scenario table, as Markdown.
    pub fn table(&self) -> String {
        let mut table = String::from(
            "| # | part | scenario | expected | observed | result |\n|---|---|---|---|---|---|\n",
        );
        for (number, row) in self.scenarios.iter().enumerate() {
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} | {} | {} |",
                number + 1,
                cell(row.group),
                cell(row.title),
                cell(row.expected),
                cell(&row.observed),
                if row.pass { "PASS" } else { "**FAIL**" }
            );
        }
        table
    }

    /// The whole report, as Markdown.
    pub fn markdown(&self) -> String {
        let run = &self.run;
        let mut text = String::from("# Two-network EHR exchange: experiment report\n\n");
        let _ = writeln!(
            text,
            "Started {} on {} CPUs; Fabric {} ({}, {}); commit `{}`; {:.0} s in all.\n",
            run.started_at,
            run.cpus,
            run.fabric_version,
            run.channel_capability,
            run.ordering,
            run.git_commit,
            run.total_seconds
        );
        let records: Vec<String> = run
            .records_per_network
            .iter()
            .map(|(net, n)| format!("{n} records on {net}"))
            .collect();
        let _ = writeln!(
            text,
            "Synthetic FHIR patients: {} per network ({}).\n",
            run.patients_per_network,
            records.join(", ")
        );
        let passed = self.scenarios.iter().filter(|r| r.pass).count();
        let _ = writeln!(
            text,
            "## Scenarios: {passed} of {} passed\n\n{}",
            self.scenarios.len(),
            self.table()
        );
        if let Some(timings) = &self.timings {
            text.push_str(&timings_markdown(timings));
        }
        text
    }

    /// Writes `results.json`, `report.md` and `timings.csv` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let write = |name: &str, contents: String| {
            let path = dir.join(name);
            std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
        };
        write("results.json", serde_json::to_string_pretty(self)? + "\n")?;
        write("report.md", self.markdown())?;
        if let Some(timings) = &self.timings {
            write("timings.csv", timings_csv(timings))?;
        }
        Ok(())
    }
}

fn timings_markdown(timings: &Timings) -> String {
    let mut text = format!(
        "\n## Response time\n\n{} of {} exchanges completed, one at a time \
         ({:.2} exchanges/s). Milliseconds:\n\n\
         | phase | min | mean | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|---|\n",
        timings.completed, timings.requested, timings.exchanges_per_second
    );
    for (phase, stats) in [
        ("request submitted → reply decrypted", &timings.total),
        ("request submitted → reply ready on I", &timings.until_ready),
        ("reply read, decrypted, verified", &timings.read),
    ] {
        if let Some(s) = stats {
            let _ = writeln!(
                text,
                "| {phase} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
                s.min, s.mean, s.p50, s.p95, s.p99, s.max
            );
        }
    }
    for failure in &timings.failures {
        let _ = writeln!(text, "\n- failed: {}", cell(failure));
    }
    text
}

fn timings_csv(timings: &Timings) -> String {
    let mut csv = String::from("exchange,until_ready_ms,read_ms,total_ms,records\n");
    for (i, s) in timings.samples.iter().enumerate() {
        let _ = writeln!(
            csv,
            "{},{:.3},{:.3},{:.3},{}",
            i + 1,
            s.until_ready_ms,
            s.read_ms,
            s.total_ms,
            s.records
        );
    }
    csv
}

/// Text fit for one Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &'static str, pass: bool) -> ScenarioRow {
        ScenarioRow {
            id,
            title: "a | b",
            group: "g",
            expected: "refused",
            observed: "refused\nby I".into(),
            pass,
            duration_ms: 3,
        }
    }

    fn report(rows: Vec<ScenarioRow>, timings: Option<Timings>) -> Report {
        Report {
            run: RunInfo {
                started_at: "2026-11-21T13:05:09Z".into(),
                fabric_version: "3.1.5".into(),
                channel_capability: "V3_0".into(),
                ordering: "raft, 1 orderer".into(),
                git_commit: "abc".into(),
                cpus: 2,
                patients_per_network: 3,
                records_per_network: vec![("net1".into(), 30), ("net2".into(), 31)],
                total_seconds: 60.0,
            },
            scenarios: rows,
            timings,
        }
    }

    #[test]
    fn timings_summarise_each_phase_and_the_rate() {
        let sample = |total| ExchangeSample {
            until_ready_ms: total - 10.0,
            read_ms: 10.0,
            total_ms: total,
            records: 4,
        };
        let t = Timings::new(3, vec![sample(100.0), sample(300.0)], vec!["x".into()], 2.0);
        assert_eq!((t.requested, t.completed), (3, 2));
        assert_eq!(t.total.unwrap().p50, 100.0);
        assert_eq!(t.until_ready.unwrap().max, 290.0);
        assert_eq!(t.exchanges_per_second, 1.0);
        let csv = timings_csv(&t);
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.contains("2,290.000,10.000,300.000,4"), "{csv}");
        assert_eq!(
            Timings::new(1, vec![], vec![], 0.0).exchanges_per_second,
            0.0
        );
    }

    #[test]
    fn a_report_passes_only_when_every_scenario_passes() {
        assert!(report(vec![row("a", true), row("b", true)], None).passed());
        assert!(!report(vec![row("a", true), row("b", false)], None).passed());
        assert!(!report(vec![], None).passed());
    }

    #[test]
    fn the_table_escapes_cells_and_marks_failures() {
        let table = report(vec![row("a", true), row("b", false)], None).table();
        assert!(
            table.contains("| 1 | g | a \\| b | refused | refused by I | PASS |"),
            "{table}"
        );
        assert!(table.contains("| 2 | g | a \\| b | refused | refused by I | **FAIL** |"));
    }

    #[test]
    fn the_report_is_written_as_json_markdown_and_csv() {
        let dir = std::env::temp_dir().join(format!("ehrx-report-{}", std::process::id()));
        let timings = Timings::new(1, vec![], vec!["timed out".into()], 1.0);
        let report = report(vec![row("a", true)], Some(timings));
        report.write(&dir).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(json["scenarios"][0]["pass"], true);
        assert_eq!(json["timings"]["failures"][0], "timed out");
        let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(markdown.contains("1 of 1 passed"), "{markdown}");
        assert!(
            markdown.contains("0 of 1 exchanges completed"),
            "{markdown}"
        );
        assert!(dir.join("timings.csv").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
