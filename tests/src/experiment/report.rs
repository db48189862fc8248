//! The experiment's results: one row per scenario (expected, observed,
//! pass), the response-time samples and their percentiles, written as
//! `results.json`, `report.md` and `timings.csv`, with the response time
//! charted (`response-time-cdf.svg`, `response-time.svg`, shown in
//! `report.md`), and printed as a table.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use ehrx_lab::measure::LatencySummary;
use ehrx_lab::plot::{BarChart, BarGroup, BarLayout, LineChart, PlotError, Series, Stroke};

use super::scenarios::Scenario;

/// One scenario's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRow {
    /// Which scenario: its id, title, group and what must happen (written
    /// as fields of the row).
    #[serde(flatten)]
    pub scenario: Scenario,
    /// What did happen, with the evidence (outcomes, heights, audit).
    pub observed: String,
    pub pass: bool,
    /// Wall time of the scenario.
    pub duration_ms: u64,
}

/// One timed exchange: request submission to the decrypted, verified reply.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
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
                cell(row.scenario.group),
                cell(row.scenario.title),
                cell(row.scenario.expected),
                cell(&row.observed),
                if row.pass { "PASS" } else { "**FAIL**" }
            );
        }
        table
    }

    /// The whole report, as Markdown (without the charts, which only the
    /// written `report.md` shows).
    pub fn markdown(&self) -> String {
        self.markdown_with(&[])
    }

    /// The report, showing the `charts` written beside it (file, what it
    /// shows) under the response time.
    fn markdown_with(&self, charts: &[(&str, &str)]) -> String {
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
            for (file, caption) in charts {
                let _ = write!(text, "\n![{caption}]({file})\n");
            }
        }
        text
    }

    /// Writes `results.json`, `timings.csv`, the response-time charts
    /// (when exchanges completed) and `report.md`, which shows them, into
    /// `dir`. A chart that cannot be drawn is left out with a warning.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let write = |name: &str, contents: String| {
            let path = dir.join(name);
            std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))
        };
        write("results.json", serde_json::to_string_pretty(self)? + "\n")?;
        let mut charts = Vec::new();
        if let Some(timings) = &self.timings {
            write("timings.csv", timings_csv(timings))?;
            charts = write_charts(&timings.samples, dir)?;
        }
        write("report.md", self.markdown_with(&charts))
    }
}

/// The CDF of each part of the response time.
pub const CDF_CHART: &str = "response-time-cdf.svg";
/// Each timed exchange's response time, its parts stacked.
pub const EXCHANGES_CHART: &str = "response-time.svg";

/// The response-time charts of `samples`: file, caption, SVG or why not.
fn charts(
    samples: &[ExchangeSample],
) -> Vec<(&'static str, &'static str, Result<String, PlotError>)> {
    let of = |pick: fn(&ExchangeSample) -> f64| samples.iter().map(pick).collect::<Vec<f64>>();
    let cdf = LineChart::cdf(
        "Response time: the exchanges one at a time",
        "milliseconds",
        vec![
            Series::cdf("request submitted → reply decrypted", &of(|s| s.total_ms)),
            Series::cdf(
                "request submitted → reply ready on I",
                &of(|s| s.until_ready_ms),
            )
            .colour(1)
            .stroke(Stroke::Dashed),
            Series::cdf("reply read, decrypted, verified", &of(|s| s.read_ms))
                .colour(2)
                .stroke(Stroke::Dotted),
        ],
    );
    let each = BarChart::new(
        "Response time of each exchange",
        "completed exchange, in the order run",
        "milliseconds",
        (1..=samples.len()).map(|n| n.to_string()).collect(),
        vec![
            BarGroup::new(
                "request submitted → reply ready on I",
                samples.iter().map(|s| Some(s.until_ready_ms)).collect(),
                1,
            ),
            BarGroup::new(
                "reply read, decrypted, verified",
                samples.iter().map(|s| Some(s.read_ms)).collect(),
                2,
            ),
        ],
        BarLayout::Stacked,
    );
    vec![
        (
            CDF_CHART,
            "Response time: share of exchanges done within a time",
            cdf.svg(),
        ),
        (
            EXCHANGES_CHART,
            "Response time of each exchange: until the reply is ready on I, then reading it",
            each.svg(),
        ),
    ]
}

/// Draws the response-time charts of `samples` into `dir`; returns those
/// written (file, caption). None when no exchange completed.
pub fn write_charts(
    samples: &[ExchangeSample],
    dir: &Path,
) -> anyhow::Result<Vec<(&'static str, &'static str)>> {
    let mut written = Vec::new();
    if samples.is_empty() {
        return Ok(written);
    }
    for (file, caption, svg) in charts(samples) {
        match svg {
            Ok(svg) => {
                let path = dir.join(file);
                std::fs::write(&path, svg)
                    .with_context(|| format!("writing {}", path.display()))?;
                written.push((file, caption));
            }
            Err(error) => eprintln!("warning: {file} left out: {error}"),
        }
    }
    Ok(written)
}

/// Draws the response-time charts of an earlier run again, from the
/// samples in its `<dir>/results.json`, into `dir`; returns their files.
pub fn replot(dir: &Path) -> anyhow::Result<Vec<&'static str>> {
    let path = dir.join("results.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let samples: Vec<ExchangeSample> = match json.pointer("/timings/samples") {
        Some(samples) => serde_json::from_value(samples.clone())
            .with_context(|| format!("reading the timing samples of {}", path.display()))?,
        None => Vec::new(),
    };
    Ok(write_charts(&samples, dir)?
        .into_iter()
        .map(|(file, _)| file)
        .collect())
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
            scenario: Scenario {
                id,
                title: "a | b",
                group: "g",
                expected: "refused",
            },
            observed: "refused\nby I".into(),
            pass,
            duration_ms: 3,
        }
    }

    #[test]
    fn a_row_is_written_with_its_scenario_s_fields_first() {
        assert_eq!(
            serde_json::to_string(&row("outsider", true)).unwrap(),
            r#"{"id":"outsider","title":"a | b","group":"g","expected":"refused","observed":"refused\nby I","pass":true,"duration_ms":3}"#
        );
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
        // No exchange completed: no chart, and none shown.
        assert!(!dir.join(CDF_CHART).exists());
        assert!(!markdown.contains(".svg"), "{markdown}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn samples() -> Vec<ExchangeSample> {
        [1180.0, 1210.0, 1250.0, 1900.0]
            .into_iter()
            .map(|total| ExchangeSample {
                until_ready_ms: total - 220.0,
                read_ms: 220.0,
                total_ms: total,
                records: 12,
            })
            .collect()
    }

    fn texts(svg: &str) -> Vec<String> {
        ehrx_lab::plot::svg_texts(svg).unwrap_or_else(|error| panic!("{error}\n{svg}"))
    }

    #[test]
    fn the_response_time_is_charted_and_shown_in_the_report() {
        let dir = std::env::temp_dir().join(format!("ehrx-report-charts-{}", std::process::id()));
        let report = report(
            vec![row("a", true)],
            Some(Timings::new(4, samples(), vec![], 6.0)),
        );
        report.write(&dir).unwrap();
        let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
        assert!(
            markdown.contains(
                "![Response time: share of exchanges done within a time](response-time-cdf.svg)"
            ),
            "{markdown}"
        );
        assert!(markdown.contains("](response-time.svg)"), "{markdown}");
        // The printed report leaves the charts out.
        assert!(!report.markdown().contains(".svg"));
        for (chart, expected) in [
            (
                CDF_CHART,
                &[
                    "Response time: the exchanges one at a time",
                    "milliseconds",
                    "% of samples at or below",
                    "request submitted → reply decrypted",
                    "request submitted → reply ready on I",
                    "reply read, decrypted, verified",
                ][..],
            ),
            (
                EXCHANGES_CHART,
                &[
                    "Response time of each exchange",
                    "1",
                    "4",
                    "reply read, decrypted, verified",
                ],
            ),
        ] {
            let shown = texts(&std::fs::read_to_string(dir.join(chart)).unwrap());
            for text in expected {
                assert!(
                    shown.iter().any(|t| t == text),
                    "{chart}: no {text:?} in {shown:?}"
                );
            }
        }
        // Drawn again from results.json alone, the same charts.
        let before = std::fs::read_to_string(dir.join(CDF_CHART)).unwrap();
        std::fs::remove_file(dir.join(CDF_CHART)).unwrap();
        assert_eq!(replot(&dir).unwrap(), [CDF_CHART, EXCHANGES_CHART]);
        assert_eq!(
            std::fs::read_to_string(dir.join(CDF_CHART)).unwrap(),
            before
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn one_exchange_still_makes_both_charts() {
        let one = &samples()[..1];
        for (file, _, svg) in charts(one) {
            let svg = match svg {
                Ok(svg) => svg,
                Err(error) => panic!("{file}: {error}"),
            };
            assert!(!texts(&svg).is_empty(), "{file}");
        }
        assert!(
            write_charts(&[], Path::new("/nonexistent"))
                .unwrap()
                .is_empty()
        );
    }
}
