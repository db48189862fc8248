//! The results of a run as files: `results.json` (everything, including
//! each latency sample), one CSV per benchmark (one row per kind × load
//! level, ready to plot), `summary.md` (the tables the binary prints), SVG
//! charts (see [`crate::charts`]) and `index.html`, which shows the
//! summary's tables with the charts beside them.
//!
//! Every row carries its ratio to the same-run baseline at the same level,
//! because on a shared machine the absolute numbers drift and the ratios
//! are what can be compared between runs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::charts::{self, Part};
use crate::stats::{LatencySummary, Tally, ratio};
use ehrx_lab::machine::Machine;
use ehrx_lab::report::{Block, Document, Figure, Section, Table};

/// One kind of operation at one load level.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub benchmark: String,
    /// Operations in flight.
    pub level: usize,
    pub kind: String,
    pub attempted: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Time the workers were busy (over all rounds).
    pub seconds: f64,
    /// Successful operations per second of that time.
    pub per_second: f64,
    pub latency_ms: Option<LatencySummary>,
    /// Named parts of each operation (the exchange's submit, remote, read).
    #[serde(default)]
    pub phases_ms: BTreeMap<String, LatencySummary>,
    /// The kind the ratios compare with, at the same level and run.
    pub baseline: Option<String>,
    pub per_second_ratio: Option<f64>,
    pub p50_ratio: Option<f64>,
    pub p95_ratio: Option<f64>,
    pub p99_ratio: Option<f64>,
    /// Failures by class (ids blanked), with their counts.
    #[serde(default)]
    pub errors: BTreeMap<String, usize>,
    /// Every successful operation's latency, in completion order.
    #[serde(default)]
    pub samples_ms: Vec<f64>,
}

impl Row {
    pub fn new(
        benchmark: &'static str,
        kind: impl Into<String>,
        level: usize,
        tally: Tally,
    ) -> Self {
        let phases_ms = tally
            .phases_ms
            .iter()
            .filter_map(|(name, samples)| Some((name.clone(), LatencySummary::of(samples)?)))
            .collect();
        Self {
            benchmark: benchmark.to_string(),
            level,
            kind: kind.into(),
            attempted: tally.attempted,
            succeeded: tally.succeeded(),
            failed: tally.failed(),
            seconds: tally.elapsed.as_secs_f64(),
            per_second: tally.per_second(),
            latency_ms: LatencySummary::of(&tally.latencies_ms),
            phases_ms,
            baseline: None,
            per_second_ratio: None,
            p50_ratio: None,
            p95_ratio: None,
            p99_ratio: None,
            errors: tally.errors,
            samples_ms: tally.latencies_ms,
        }
    }

    pub fn latency(&self, pick: fn(&LatencySummary) -> f64) -> Option<f64> {
        self.latency_ms.as_ref().map(pick)
    }
}

/// The row of `kind` at `level`, if the run has one.
pub fn find_row<'a>(
    rows: impl IntoIterator<Item = &'a Row>,
    kind: &str,
    level: usize,
) -> Option<&'a Row> {
    rows.into_iter()
        .find(|row| row.kind == kind && row.level == level)
}

/// Sets every row's ratios to the row of `baseline` kind at its level;
/// `with_rate` also compares throughput (meaningless when the baseline
/// runs at a different load, as the exchange's sequential Put probe does).
pub fn compare(rows: &mut [Row], baseline: &str, with_rate: bool) {
    let baselines: BTreeMap<usize, Row> = rows
        .iter()
        .filter(|row| row.kind == baseline)
        .map(|row| (row.level, row.clone()))
        .collect();
    for row in rows.iter_mut() {
        let Some(base) = baselines.get(&row.level) else {
            continue;
        };
        row.baseline = Some(baseline.to_string());
        if with_rate {
            row.per_second_ratio = ratio(Some(row.per_second), Some(base.per_second));
        }
        row.p50_ratio = ratio(row.latency(|l| l.p50), base.latency(|l| l.p50));
        row.p95_ratio = ratio(row.latency(|l| l.p95), base.latency(|l| l.p95));
        row.p99_ratio = ratio(row.latency(|l| l.p99), base.latency(|l| l.p99));
    }
}

/// The exchange benchmark's rows by part: the exchange and its `Put`
/// probe at each level, the series on the emulated WAN, and the proof of
/// validation's costs.
#[derive(Debug, Default)]
pub struct ExchangeParts {
    pub levels: Vec<Row>,
    pub wan: Vec<Row>,
    pub proof: Vec<Row>,
}

impl ExchangeParts {
    pub fn of(rows: &[Row]) -> Self {
        let mut parts = Self::default();
        for row in rows {
            if crate::proof::KINDS.contains(&row.kind.as_str()) {
                parts.proof.push(row.clone());
            } else if row.kind.contains(crate::exchange::WAN_MARK) {
                parts.wan.push(row.clone());
            } else {
                parts.levels.push(row.clone());
            }
        }
        parts
    }
}

/// Everything a run produced, as `results.json` holds it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Results {
    pub started_at: String,
    pub finished_at: String,
    pub machine: Machine,
    pub load_average_at_end: Option<String>,
    pub parameters: serde_json::Value,
    #[serde(default)]
    pub throughput: Vec<Row>,
    #[serde(default)]
    pub exchange: Vec<Row>,
    /// The proofs of validation's sizes, when they were measured.
    #[serde(default)]
    pub proof: Option<crate::proof::Sizes>,
    /// `scripts/bench-baseline.sh`'s CPU figures, when `--cpu-baseline`
    /// named its results.
    #[serde(default)]
    pub cpu_baseline: Option<crate::targets::CpuBaseline>,
    /// Benchmarks that stopped with an error, and the error.
    #[serde(default)]
    pub aborted: BTreeMap<String, String>,
}

impl Results {
    /// An earlier run's results, from `<dir>/results.json`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("results.json");
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    }

    /// Writes `results.json`, `throughput.csv`, `exchange.csv` (for the
    /// benchmarks that ran) and `summary.md` into `dir`, creating it, then
    /// the charts and `index.html` (see [`Results::write_page`]); returns
    /// the charts' file names.
    pub fn write(&self, dir: &Path) -> anyhow::Result<Vec<String>> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let json = serde_json::to_vec_pretty(self).context("serialising the results")?;
        write_file(&dir.join("results.json"), &json)?;
        for (name, rows) in [
            ("throughput", &self.throughput),
            ("exchange", &self.exchange),
        ] {
            if !rows.is_empty() {
                write_file(&dir.join(format!("{name}.csv")), csv(rows).as_bytes())?;
            }
        }
        write_file(&dir.join("summary.md"), self.summary().as_bytes())?;
        self.write_page(dir)
    }

    /// Draws the charts into `dir` and writes `index.html`, the summary
    /// with each section's charts beside its tables; returns the charts'
    /// file names. A chart that cannot be drawn (no data) is left out of
    /// the page, with a warning; the data files are written before.
    pub fn write_page(&self, dir: &Path) -> anyhow::Result<Vec<String>> {
        let mut figures: BTreeMap<Part, Vec<Figure>> = BTreeMap::new();
        let mut written = Vec::new();
        for chart in charts::all(self) {
            match chart.svg {
                Ok(svg) => {
                    write_file(&dir.join(chart.file), svg.as_bytes())?;
                    written.push(chart.file.to_string());
                    figures.entry(chart.part).or_default().push(Figure {
                        file: chart.file.to_string(),
                        caption: chart.caption,
                    });
                }
                Err(error) => {
                    tracing::warn!(file = chart.file, %error, "chart left out");
                }
            }
        }
        write_file(
            &dir.join("index.html"),
            self.document(&figures).html().as_bytes(),
        )?;
        Ok(written)
    }

    /// The Markdown summary: context, one table per benchmark, failures.
    pub fn summary(&self) -> String {
        self.document(&BTreeMap::new()).markdown()
    }

    /// The summary, with the charts in `figures` beside their sections'
    /// tables (only the HTML page shows them).
    fn document(&self, figures: &BTreeMap<Part, Vec<Figure>>) -> Document {
        let m = &self.machine;
        let mut blocks = vec![
            Block::Paragraph(format!(
                "{} cores ({}), Fabric {}, commit {}{}; load average at start {}, at end {}.",
                m.cores,
                m.cpu_model.as_deref().unwrap_or("unknown CPU"),
                m.fabric_version.as_deref().unwrap_or("unknown"),
                m.git_commit
                    .as_deref()
                    .map_or_else(|| "unknown".to_string(), |c| c.chars().take(12).collect()),
                if m.git_dirty == Some(true) {
                    " (uncommitted changes)"
                } else {
                    ""
                },
                m.load_average_at_start.as_deref().unwrap_or("?"),
                self.load_average_at_end.as_deref().unwrap_or("?"),
            )),
            Block::Paragraph(format!("Parameters: `{}`", self.parameters)),
        ];
        let section = |part: Option<Part>, heading: &str, table: Table| {
            let mut section = Section::new(heading, vec![Block::Table(table)]);
            if let Some(part) = part {
                section.figures = figures.get(&part).cloned().unwrap_or_default();
            }
            Block::Section(section)
        };
        if !self.throughput.is_empty() {
            blocks.push(section(
                Some(Part::Throughput),
                "Throughput on network I (same run, same level: ratio to Put)",
                throughput_table(&self.throughput),
            ));
        }
        if !self.exchange.is_empty() {
            let parts = ExchangeParts::of(&self.exchange);
            blocks.push(section(
                Some(Part::Exchange),
                "Exchange: request on I to verified reply on I (ratio: multiples of one Put commit on I at the same time)",
                exchange_table(&parts.levels),
            ));
            if let Some(table) =
                crate::proof::table(&parts.proof, self.proof.as_ref(), &parts.levels)
            {
                blocks.push(section(
                    None,
                    "Proof of validation (issue 12): its cost, with baselines of the same run",
                    table,
                ));
            }
            if !parts.wan.is_empty() {
                blocks.push(section(
                    Some(Part::Wan),
                    "Exchange on an emulated WAN between the relays (Toxiproxy; ratio: to the 0 ms series of the same run)",
                    wan_table(&parts.wan),
                ));
            }
            if let Some(table) = ordering_table(&self.exchange) {
                blocks.push(section(
                    None,
                    "BFT against Raft (same run, same level: BFT's latency ÷ Raft's)",
                    table,
                ));
            }
        }
        blocks.push(section(
            None,
            "Targets (issue 13), against this run's figures",
            crate::targets::table(&crate::targets::check(self)),
        ));
        for (benchmark, error) in &self.aborted {
            blocks.push(Block::Paragraph(format!(
                "**The {benchmark} benchmark failed:** {error}"
            )));
        }
        let failures: Vec<String> = self
            .throughput
            .iter()
            .chain(&self.exchange)
            .flat_map(|row| {
                row.errors.iter().map(move |(class, count)| {
                    format!(
                        "{} {} at {} in flight: {count} × `{}`",
                        row.benchmark,
                        row.kind,
                        row.level,
                        class.replace('`', "'")
                    )
                })
            })
            .collect();
        if !failures.is_empty() {
            blocks.push(Block::Section(Section::new(
                "Failures",
                vec![Block::List(failures)],
            )));
        }
        blocks.push(Block::Section(Section::new(
            "Reading the ratios",
            vec![Block::List(
                READING.iter().map(|s| (*s).to_string()).collect(),
            )],
        )));
        Document {
            title: format!("ehrx benchmarks, {}", self.started_at),
            blocks,
        }
    }
}

/// How to read the tables, at the end of every summary.
const READING: [&str; 4] = [
    "**tx/s ÷ Put**: throughput as a share of the trivial `Put`'s at the same \
load in the same run; 1.00× is the network's own ceiling for a write.",
    "**p50 ÷ Put**, **p99 ÷ Put**: latency as a multiple of the trivial `Put`'s.",
    "**in commits**: the exchange's latency as a multiple of one `Put` commit on \
network I measured at the same time by one more client; its phases are \
*submit* (SubmitRequest committed on I), *remote* (relays, network II's \
Algorithm 2 and reply, AcceptReply on I, seen by the doctor) and *read* \
(GetReply endorsed and submitted, reply decrypted and verified; the read's audit entry \
commits in the background).",
    "Percentiles are nearest-rank: a measured value, so with fewer than 100 \
samples p99 is the maximum. Failures are counted, not retried.",
];

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// `12.3`, or empty when there is no value.
fn number(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// `1.23×`, or `–`.
fn times(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.2}×"))
}

fn ms(row: &Row, pick: fn(&LatencySummary) -> f64) -> String {
    row.latency(pick)
        .map_or_else(|| "–".to_string(), |v| format!("{v:.0}"))
}

fn phase_p50(row: &Row, phase: &str) -> String {
    row.phases_ms
        .get(phase)
        .map_or_else(|| "–".to_string(), |l| format!("{:.0}", l.p50))
}

fn throughput_table(rows: &[Row]) -> Table {
    Table::new(
        &[
            "in flight",
            "kind",
            "ok / sent",
            "tx/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "tx/s ÷ Put",
            "p50 ÷ Put",
            "p99 ÷ Put",
        ],
        rows.iter()
            .map(|row| {
                let mut cells = measured_cells(row, 1);
                cells.extend([
                    times(row.per_second_ratio),
                    times(row.p50_ratio),
                    times(row.p99_ratio),
                ]);
                cells
            })
            .collect(),
    )
}

/// The cells every table starts with: level, kind, counts, rate (with
/// `decimals`) and the latency percentiles.
fn measured_cells(row: &Row, decimals: usize) -> Vec<String> {
    vec![
        row.level.to_string(),
        row.kind.clone(),
        format!("{} / {}", row.succeeded, row.attempted),
        format!("{:.decimals$}", row.per_second),
        ms(row, |l| l.p50),
        ms(row, |l| l.p95),
        ms(row, |l| l.p99),
    ]
}

fn exchange_table(rows: &[Row]) -> Table {
    Table::new(
        &[
            "in flight",
            "kind",
            "ok / sent",
            "per s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "p50 in commits",
            "p95 in commits",
            "submit p50",
            "remote p50",
            "read p50",
        ],
        rows.iter()
            .map(|row| {
                let mut cells = measured_cells(row, 2);
                cells.extend([
                    times(row.p50_ratio),
                    times(row.p95_ratio),
                    phase_p50(row, "submit"),
                    phase_p50(row, "remote"),
                    phase_p50(row, "read"),
                ]);
                cells
            })
            .collect(),
    )
}

/// The WAN series: condition, completed, latency, and the ratio to the
/// 0 ms series.
fn wan_table(rows: &[Row]) -> Table {
    Table::new(
        &[
            "condition",
            "in flight",
            "ok / sent",
            "p50 ms",
            "p95 ms",
            "p50 ÷ 0 ms",
            "p95 ÷ 0 ms",
            "remote p50",
        ],
        rows.iter()
            .map(|row| {
                let condition = row
                    .kind
                    .split_once(crate::exchange::WAN_MARK)
                    .map_or(row.kind.as_str(), |(_, condition)| condition);
                vec![
                    condition.to_string(),
                    row.level.to_string(),
                    format!("{} / {}", row.succeeded, row.attempted),
                    ms(row, |l| l.p50),
                    ms(row, |l| l.p95),
                    times(row.p50_ratio),
                    times(row.p95_ratio),
                    phase_p50(row, "remote"),
                ]
            })
            .collect(),
    )
}

/// Per level, the p50 and p95 of the exchange and of the `Put` probe on BFT
/// as multiples of the same on Raft; `None` unless both orderings ran.
fn ordering_table(rows: &[Row]) -> Option<Table> {
    let find = |kind: &str, level: usize| find_row(rows, kind, level);
    let (exchange_raft, probe_raft) = crate::exchange::kinds("raft");
    let (exchange_bft, probe_bft) = crate::exchange::kinds("bft");
    let mut levels: Vec<usize> = rows.iter().map(|r| r.level).collect();
    levels.sort_unstable();
    levels.dedup();
    let pick = |kind_bft: &str, kind_raft: &str, level: usize, p: fn(&LatencySummary) -> f64| {
        let bft = find(kind_bft, level)?.latency(p);
        let raft = find(kind_raft, level)?.latency(p);
        ratio(bft, raft)
    };
    let lines: Vec<Vec<String>> = levels
        .into_iter()
        .filter(|&level| {
            find(&exchange_bft, level).is_some() && find(&exchange_raft, level).is_some()
        })
        .map(|level| {
            vec![
                level.to_string(),
                find(&exchange_raft, level).map_or_else(String::new, |r| ms(r, |l| l.p50)),
                find(&exchange_bft, level).map_or_else(String::new, |r| ms(r, |l| l.p50)),
                times(pick(&exchange_bft, &exchange_raft, level, |l| l.p50)),
                times(pick(&exchange_bft, &exchange_raft, level, |l| l.p95)),
                times(pick(&probe_bft, &probe_raft, level, |l| l.p50)),
            ]
        })
        .collect();
    (!lines.is_empty()).then(|| {
        Table::new(
            &[
                "in flight",
                "exchange p50 ms, Raft",
                "exchange p50 ms, BFT",
                "exchange p50 BFT ÷ Raft",
                "exchange p95 BFT ÷ Raft",
                "Put p50 BFT ÷ Raft",
            ],
            lines,
        )
    })
}

/// One CSV line per row: counts, rate, latency percentiles, ratios, and
/// the p50/p95 of each phase any row has.
pub fn csv(rows: &[Row]) -> String {
    let phases: Vec<String> = rows
        .iter()
        .flat_map(|row| row.phases_ms.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut header: Vec<String> = [
        "level",
        "kind",
        "attempted",
        "succeeded",
        "failed",
        "seconds",
        "per_second",
        "mean_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "baseline",
        "per_second_ratio",
        "p50_ratio",
        "p95_ratio",
        "p99_ratio",
    ]
    .iter()
    .map(|h| (*h).to_string())
    .collect();
    for phase in &phases {
        header.push(format!("{phase}_p50_ms"));
        header.push(format!("{phase}_p95_ms"));
    }
    let mut out = header.join(",") + "\n";
    for row in rows {
        let mut fields = vec![
            row.level.to_string(),
            csv_field(&row.kind),
            row.attempted.to_string(),
            row.succeeded.to_string(),
            row.failed.to_string(),
            number(Some(row.seconds), 3),
            number(Some(row.per_second), 3),
            number(row.latency(|l| l.mean), 3),
            number(row.latency(|l| l.p50), 3),
            number(row.latency(|l| l.p95), 3),
            number(row.latency(|l| l.p99), 3),
            number(row.latency(|l| l.max), 3),
            csv_field(row.baseline.as_deref().unwrap_or("")),
            number(row.per_second_ratio, 4),
            number(row.p50_ratio, 4),
            number(row.p95_ratio, 4),
            number(row.p99_ratio, 4),
        ];
        for phase in &phases {
            let summary = row.phases_ms.get(phase);
            fields.push(number(summary.map(|l| l.p50), 3));
            fields.push(number(summary.map(|l| l.p95), 3));
        }
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A CSV field, quoted when it holds a separator, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn tally(latencies: &[u64], seconds: u64) -> Tally {
        Tally::of(latencies, seconds)
    }

    fn rows() -> Vec<Row> {
        vec![
            Row::new("throughput", "Put", 1, tally(&[100, 200, 300], 1)),
            Row::new("throughput", "PutEhr", 1, tally(&[300, 400, 600], 2)),
            Row::new("throughput", "Put", 4, tally(&[200, 200], 1)),
            Row::new("throughput", "PutEhr", 4, tally(&[400], 1)),
        ]
    }

    #[test]
    fn bft_is_compared_with_raft_level_by_level_only_when_both_ran() {
        let raft = crate::exchange::kinds("raft");
        let bft = crate::exchange::kinds("bft");
        let mut rows = vec![
            Row::new("exchange", raft.0.clone(), 1, tally(&[1000, 1000, 1000], 3)),
            Row::new("exchange", raft.1.clone(), 1, tally(&[200, 200], 1)),
        ];
        assert_eq!(
            ordering_table(&rows),
            None,
            "Raft alone: nothing to compare"
        );
        rows.push(Row::new(
            "exchange",
            bft.0,
            1,
            tally(&[1500, 1500, 1500], 3),
        ));
        rows.push(Row::new("exchange", bft.1, 1, tally(&[300, 300], 1)));
        // A level only Raft ran is left out.
        rows.push(Row::new("exchange", raft.0, 4, tally(&[2000], 1)));
        let table = ordering_table(&rows).unwrap().markdown();
        assert_eq!(table.lines().count(), 3, "{table}");
        assert!(
            table.contains("| 1 | 1000 | 1500 | 1.50× | 1.50× | 1.50× |"),
            "{table}"
        );
    }

    #[test]
    fn wan_series_compare_with_their_0_ms_series_in_a_table_of_their_own() {
        let (exchange, _) = crate::exchange::kinds("raft");
        let kind = |condition: &str| crate::exchange::wan_kind(&exchange, condition);
        let mut rows = vec![
            Row::new("exchange", kind("0 ms"), 1, tally(&[1000, 1000], 2)),
            Row::new("exchange", kind("50 ms"), 1, tally(&[1300, 1300], 3)),
            Row::new("exchange", kind("cut 30 s"), 4, tally(&[9000], 40)),
        ];
        compare(&mut rows, &kind("0 ms"), false);
        let text = wan_table(&rows).markdown();
        assert!(
            text.contains("| 50 ms | 1 | 2 / 2 | 1300 | 1300 | 1.30× | 1.30× |"),
            "{text}"
        );
        // No 0 ms series at 4 in flight: the cut row has no ratio.
        assert!(
            text.contains("| cut 30 s | 4 | 1 / 1 | 9000 | 9000 | – | – |"),
            "{text}"
        );
        assert_eq!(exchange_table(&rows).markdown().lines().count(), 5);
    }

    #[test]
    fn ratios_compare_with_the_baseline_at_the_same_level() {
        let mut rows = rows();
        compare(&mut rows, "Put", true);
        assert_eq!(rows[0].per_second_ratio, Some(1.0));
        assert_eq!(rows[0].p50_ratio, Some(1.0));
        // PutEhr at 1: 1.5 tx/s against 3, p50 400 against 200.
        assert_eq!(rows[1].per_second_ratio, Some(0.5));
        assert_eq!(rows[1].p50_ratio, Some(2.0));
        assert_eq!(rows[1].p99_ratio, Some(2.0));
        assert_eq!(rows[1].baseline.as_deref(), Some("Put"));
        // PutEhr at 4: 1 tx/s against 2, p50 400 against 200.
        assert_eq!(rows[3].per_second_ratio, Some(0.5));
        assert_eq!(rows[3].p50_ratio, Some(2.0));
    }

    #[test]
    fn latency_only_comparison_and_missing_baselines() {
        let mut rows = rows();
        rows.remove(2);
        compare(&mut rows, "Put", false);
        assert_eq!(rows[1].per_second_ratio, None);
        assert_eq!(rows[1].p50_ratio, Some(2.0));
        // No Put at level 4: no ratio, no baseline named.
        assert_eq!(rows[2].baseline, None);
        assert_eq!(rows[2].p50_ratio, None);
    }

    #[test]
    fn csv_has_one_line_per_row_with_phase_columns() {
        let mut rows = rows();
        let mut with_phases = Tally::default();
        with_phases.success(
            Duration::from_millis(900),
            &[
                ("submit", Duration::from_millis(300)),
                ("read", Duration::from_millis(200)),
            ],
        );
        with_phases.failure(&anyhow::anyhow!("timed out"));
        with_phases.elapsed = Duration::from_secs(2);
        rows.push(Row::new("exchange", "exchange, \"quoted\"", 2, with_phases));
        compare(&mut rows, "Put", true);
        let text = csv(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1 + rows.len());
        assert!(lines[0].starts_with("level,kind,attempted,succeeded,failed,seconds,per_second,"));
        assert!(lines[0].ends_with(",read_p50_ms,read_p95_ms,submit_p50_ms,submit_p95_ms"));
        let columns = lines[0].split(',').count();
        assert_eq!(
            lines[1],
            "1,Put,3,3,0,1.000,3.000,200.000,200.000,300.000,300.000,300.000,Put,1.0000,1.0000,1.0000,1.0000,,,,"
        );
        assert_eq!(lines[1].split(',').count(), columns);
        assert!(lines[5].starts_with("2,\"exchange, \"\"quoted\"\"\",2,1,1,2.000,0.500,900.000,"));
        assert!(lines[5].ends_with(",200.000,200.000,300.000,300.000"));
    }

    #[test]
    fn tables_escape_pipes() {
        let text = Table::new(&["a", "b"], vec![vec!["1".into(), "x|y".into()]]).markdown();
        assert_eq!(text, "| a | b |\n| --- | --- |\n| 1 | x\\|y |\n");
    }

    #[test]
    fn results_are_written_as_json_csv_markdown_charts_and_a_page() {
        let dir = std::env::temp_dir().join(format!("ehrx-bench-test-{}", std::process::id()));
        let mut throughput = rows();
        throughput[1].errors.insert("MVCC_READ_CONFLICT".into(), 2);
        compare(&mut throughput, "Put", true);
        let results = Results {
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: "2026-01-01T00:10:00Z".into(),
            machine: Machine::describe(Path::new("."), Path::new("/nonexistent")),
            load_average_at_end: None,
            parameters: serde_json::json!({"levels": [1, 4]}),
            throughput,
            exchange: Vec::new(),
            proof: None,
            cpu_baseline: None,
            aborted: BTreeMap::new(),
        };
        results.write(&dir).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
        assert_eq!(json["parameters"]["levels"][1], 4);
        assert_eq!(json["throughput"][1]["kind"], "PutEhr");
        assert_eq!(json["throughput"][1]["samples_ms"][2], 600.0);
        assert_eq!(json["throughput"][1]["latency_ms"]["p50"], 400.0);
        assert!(json["machine"]["cores"].as_u64().unwrap() >= 1);
        assert!(dir.join("throughput.csv").exists());
        assert!(!dir.join("exchange.csv").exists());
        let summary = std::fs::read_to_string(dir.join("summary.md")).unwrap();
        assert!(
            summary
                .contains("| 1 | PutEhr | 3 / 3 | 1.5 | 400 | 600 | 600 | 0.50× | 2.00× | 2.00× |")
        );
        assert!(summary.contains("- throughput PutEhr at 1 in flight: 2 × `MVCC_READ_CONFLICT`"));
        // The charts and the page, which shows them beside the tables.
        for chart in [
            "throughput.svg",
            "throughput-latency.svg",
            "throughput-cdf.svg",
        ] {
            assert!(dir.join(chart).exists(), "{chart}");
        }
        let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(page.contains("<img src=\"throughput.svg\""), "{page}");
        assert!(
            page.contains("<td>PutEhr</td><td>3 / 3</td><td>1.5</td><td>400</td>"),
            "{page}"
        );
        assert!(
            page.contains("2 × <code>MVCC_READ_CONFLICT</code>"),
            "{page}"
        );
        // Read back, the results draw the same page.
        std::fs::remove_file(dir.join("index.html")).unwrap();
        let again = Results::load(&dir).unwrap();
        assert_eq!(again.throughput[1].samples_ms, vec![300.0, 400.0, 600.0]);
        again.write_page(&dir).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("index.html")).unwrap(),
            page
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
