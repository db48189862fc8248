//! Issue 13's targets, each checked against the figures of one run: the
//! summary says for every target what was measured and whether it is met,
//! or that the run did not measure it (and which option would).

use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::exchange::{EXCHANGE, PROBE};
use crate::report::{Results, find_row};
use crate::throughput::Kind;
use ehrx_lab::report::Table;

/// Exchanges per second wanted at [`EXCHANGE_RATE_LEVEL`] in flight.
pub const EXCHANGE_RATE: f64 = 10.0;
/// The load of the exchange-rate target.
pub const EXCHANGE_RATE_LEVEL: usize = 16;
/// p99 may be at most this many p50s ...
pub const TAIL_FACTOR: f64 = 2.0;
/// ... at every level up to this one.
pub const TAIL_LEVELS: usize = 8;
/// At 1 in flight, the exchange's p50 may be at most this many `Put`
/// commits ...
pub const LATENCY_COMMITS: f64 = 4.0;
/// ... plus this many milliseconds.
pub const LATENCY_SLACK_MS: f64 = 100.0;
/// PutEhr's throughput as a share of Put's at [`UPLOAD_LEVEL`] in flight.
pub const UPLOAD_RATIO: f64 = 0.95;
/// The load of the upload target.
pub const UPLOAD_LEVEL: usize = 16;
/// PutEhr's share of Put's at the highest load run (saturation).
pub const SATURATION_RATIO: f64 = 0.9;
/// Our client's CPU per submit as a share of Fabric's Go client's.
pub const CLIENT_CPU_RATIO: f64 = 0.5;
/// Our chaincode's CPU per transaction as a share of the Go shim's.
pub const CHAINCODE_CPU_RATIO: f64 = 0.4;

/// What `scripts/bench-baseline.sh` measured, from its `results.json`:
/// Rust ÷ Go CPU per submit, for the client and for the chaincode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuBaseline {
    /// The folder the figures were read from.
    pub from: String,
    pub client_submit_ratio: Option<f64>,
    pub chaincode_submit_ratio: Option<f64>,
}

impl CpuBaseline {
    /// Reads `<dir>/results.json` as `scripts/bench-baseline.sh` writes it.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join("results.json");
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
        let summary = value
            .get("summary")
            .filter(|s| s.is_object())
            .with_context(|| format!("{} has no summary object", path.display()))?;
        let ratio = |part: &str| summary[part]["submit"]["ratio"].as_f64();
        Ok(Self {
            from: dir.display().to_string(),
            client_submit_ratio: ratio("sdk"),
            chaincode_submit_ratio: ratio("chaincode"),
        })
    }
}

/// Whether a target holds in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// The run has no figure for it.
    NotMeasured,
}

impl Verdict {
    fn of(met: Option<bool>) -> Self {
        match met {
            Some(true) => Self::Met,
            Some(false) => Self::Missed,
            None => Self::NotMeasured,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::Missed => "**not met**",
            Self::NotMeasured => "not measured",
        }
    }
}

/// One target, its figure in the run and the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub target: String,
    /// What the run measured, or how to measure it.
    pub measured: String,
    pub verdict: Verdict,
}

impl Check {
    fn new(target: String, measured: Option<(String, bool)>, how: &str) -> Self {
        match measured {
            Some((figure, met)) => Self {
                target,
                measured: figure,
                verdict: Verdict::of(Some(met)),
            },
            None => Self {
                target,
                measured: format!("not in this run ({how})"),
                verdict: Verdict::NotMeasured,
            },
        }
    }
}

/// Every target checked against `results`.
pub fn check(results: &Results) -> Vec<Check> {
    let exchange = &results.exchange;
    let rate = find_row(exchange, EXCHANGE, EXCHANGE_RATE_LEVEL).map(|r| {
        (
            format!("{:.2} exchanges/s", r.per_second),
            r.per_second >= EXCHANGE_RATE,
        )
    });
    let tails: Vec<(usize, f64)> = exchange
        .iter()
        .filter(|r| r.kind == EXCHANGE && r.level <= TAIL_LEVELS)
        .filter_map(|r| {
            let l = r.latency_ms.as_ref()?;
            (l.p50 > 0.0).then(|| (r.level, l.p99 / l.p50))
        })
        .collect();
    let tail = tails
        .iter()
        .copied()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(level, worst)| {
            (
                format!(
                    "worst p99/p50 {worst:.2} (at {level} in flight; levels {})",
                    tails
                        .iter()
                        .map(|(l, _)| l.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                worst <= TAIL_FACTOR,
            )
        });
    let latency = find_row(exchange, EXCHANGE, 1)
        .and_then(|r| r.latency(|l| l.p50))
        .zip(find_row(exchange, PROBE, 1).and_then(|r| r.latency(|l| l.p50)))
        .map(|(p50, put)| {
            let limit = LATENCY_COMMITS * put + LATENCY_SLACK_MS;
            (
                format!("p50 {p50:.0} ms; limit {LATENCY_COMMITS}×{put:.0}+{LATENCY_SLACK_MS} = {limit:.0} ms"),
                p50 <= limit,
            )
        });
    let put_ehr = Kind::PutEhr.name();
    let upload_ratio = |level: usize| {
        find_row(&results.throughput, put_ehr, level)
            .and_then(|r| r.per_second_ratio)
            .map(|ratio| (level, ratio))
    };
    let upload = upload_ratio(UPLOAD_LEVEL)
        .map(|(_, ratio)| (format!("{ratio:.2}× Put"), ratio >= UPLOAD_RATIO));
    let highest = results
        .throughput
        .iter()
        .filter(|r| r.kind == put_ehr)
        .map(|r| r.level)
        .max();
    let saturation = highest.and_then(upload_ratio).map(|(level, ratio)| {
        (
            format!("{ratio:.2}× Put at {level} in flight, the highest level run"),
            ratio >= SATURATION_RATIO,
        )
    });
    let cpu = |pick: fn(&CpuBaseline) -> Option<f64>, limit: f64| {
        let baseline = results.cpu_baseline.as_ref()?;
        let ratio = pick(baseline)?;
        Some((
            format!("{ratio:.2}× (from {})", baseline.from),
            ratio <= limit,
        ))
    };
    vec![
        Check::new(
            format!("≥ {EXCHANGE_RATE} exchanges/s at {EXCHANGE_RATE_LEVEL} in flight"),
            rate,
            "`--bench exchange --exchange-levels …,16`",
        ),
        Check::new(
            format!("exchange p99 ≤ {TAIL_FACTOR}× p50 up to {TAIL_LEVELS} in flight"),
            tail,
            "`--bench exchange`",
        ),
        Check::new(
            format!(
                "exchange p50 at 1 in flight ≤ {LATENCY_COMMITS} Put commits + {LATENCY_SLACK_MS} ms"
            ),
            latency,
            "`--bench exchange --exchange-levels 1,…`",
        ),
        Check::new(
            format!("PutEhr ≥ {UPLOAD_RATIO}× Put at {UPLOAD_LEVEL} in flight"),
            upload,
            "`--bench throughput --levels …,16`",
        ),
        Check::new(
            format!("PutEhr ≥ {SATURATION_RATIO}× Put at saturation"),
            saturation,
            "`--bench throughput --levels 1,4,16,64,256`",
        ),
        Check::new(
            format!("client CPU per submit ≤ {CLIENT_CPU_RATIO}× Fabric's Go client"),
            cpu(|b| b.client_submit_ratio, CLIENT_CPU_RATIO),
            "`scripts/bench-baseline.sh`, then `--cpu-baseline DIR`",
        ),
        Check::new(
            format!("chaincode CPU per transaction ≤ {CHAINCODE_CPU_RATIO}× the Go shim"),
            cpu(|b| b.chaincode_submit_ratio, CHAINCODE_CPU_RATIO),
            "`scripts/bench-baseline.sh`, then `--cpu-baseline DIR`",
        ),
    ]
}

/// The checks as a table: target, measured, verdict.
pub fn table(checks: &[Check]) -> Table {
    Table::new(
        &["target", "measured", "verdict"],
        checks
            .iter()
            .map(|c| {
                vec![
                    c.target.clone(),
                    c.measured.clone(),
                    c.verdict.word().to_string(),
                ]
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Row;
    use crate::stats::Tally;
    use ehrx_lab::machine::Machine;

    fn tally(latencies: &[u64], seconds: u64) -> Tally {
        Tally::of(latencies, seconds)
    }

    fn results(throughput: Vec<Row>, exchange: Vec<Row>) -> Results {
        Results {
            started_at: String::new(),
            finished_at: String::new(),
            machine: Machine::describe(Path::new("."), Path::new("/nonexistent")),
            load_average_at_end: None,
            parameters: serde_json::Value::Null,
            throughput,
            exchange,
            proof: None,
            cpu_baseline: None,
            aborted: Default::default(),
        }
    }

    fn verdicts(checks: &[Check]) -> Vec<Verdict> {
        checks.iter().map(|c| c.verdict).collect()
    }

    #[test]
    fn an_empty_run_measures_nothing_and_says_how() {
        let checks = check(&results(Vec::new(), Vec::new()));
        assert_eq!(checks.len(), 7);
        assert!(verdicts(&checks).iter().all(|v| *v == Verdict::NotMeasured));
        assert!(checks[4].measured.contains("--levels 1,4,16,64,256"));
    }

    #[test]
    fn each_target_is_met_or_missed_by_the_figures() {
        let ex = |level, latencies: &[u64], seconds| {
            Row::new("exchange", EXCHANGE, level, tally(latencies, seconds))
        };
        let exchange = vec![
            // 1 in flight: p50 1000 ms against 4 × 220 + 100 = 980: missed.
            ex(1, &[1000, 1000, 1000], 3),
            Row::new("exchange", PROBE, 1, tally(&[220, 220], 1)),
            // 8 in flight: p99 3000 over p50 1000: tail missed.
            ex(8, &[1000, 1000, 3000], 1),
            // 16 in flight: 33 in 3 s, 11/s: met.
            ex(16, &[900; 33], 3),
        ];
        let mut throughput = Vec::new();
        for (level, put, ehr) in [(16, 100, 96), (64, 100, 85)] {
            throughput.push(Row::new(
                "throughput",
                "Put",
                level,
                tally(&vec![5; put], 1),
            ));
            throughput.push(Row::new(
                "throughput",
                Kind::PutEhr.name(),
                level,
                tally(&vec![5; ehr], 1),
            ));
        }
        crate::report::compare(&mut throughput, "Put", true);
        let mut run = results(throughput, exchange);
        run.cpu_baseline = Some(CpuBaseline {
            from: "results/baseline-x".into(),
            client_submit_ratio: Some(0.45),
            chaincode_submit_ratio: Some(0.52),
        });
        let checks = check(&run);
        use Verdict::{Met, Missed};
        assert_eq!(
            verdicts(&checks),
            [Met, Missed, Missed, Met, Missed, Met, Missed]
        );
        assert_eq!(checks[0].measured, "11.00 exchanges/s");
        assert!(checks[1].measured.starts_with("worst p99/p50 3.00 (at 8"));
        assert!(
            checks[2].measured.contains("= 980 ms"),
            "{}",
            checks[2].measured
        );
        assert!(checks[4].measured.contains("at 64 in flight"));
        let text = table(&checks);
        assert_eq!(text.rows.len(), 7);
        assert_eq!(text.rows[1][2], "**not met**");
    }

    #[test]
    fn the_cpu_baseline_is_read_from_bench_baseline_results() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("results.json"),
            r#"{"summary":{"sdk":{"submit":{"ratio":0.7}},"chaincode":{"submit":{"ratio":null}}}}"#,
        )
        .unwrap();
        let baseline = CpuBaseline::load(dir.path()).unwrap();
        assert_eq!(baseline.client_submit_ratio, Some(0.7));
        assert_eq!(baseline.chaincode_submit_ratio, None);
        std::fs::write(dir.path().join("results.json"), "[1]").unwrap();
        assert!(CpuBaseline::load(dir.path()).is_err());
        assert!(CpuBaseline::load(&dir.path().join("missing")).is_err());
    }
}
