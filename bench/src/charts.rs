//! The charts of a run, drawn from its rows with the lab's `plot` module:
//!
//! - throughput: transactions per second against load, each kind beside
//!   the `Put` baseline with its ratio to it (`throughput.svg`), latency
//!   p50/p95/p99 against load (`throughput-latency.svg`) and the latency
//!   CDF of each kind at each load (`throughput-cdf.svg`);
//! - the exchange: latency p50/p95/p99 against load with the `Put` probe's
//!   p50 (`exchange-latency.svg`), exchanges per second against load
//!   (`exchange-rate.svg`), the mean of each phase stacked
//!   (`exchange-phases.svg`) and the latency CDF at each load
//!   (`exchange-cdf.svg`), each ordering (Raft, BFT) its own series;
//! - the emulated WAN: the phases (`wan-phases.svg`) and latency CDF
//!   (`wan-cdf.svg`) of each series.

use std::collections::BTreeSet;

use ehrx_lab::measure::LatencySummary;
use ehrx_lab::plot::{BarChart, BarGroup, BarLayout, GREY, LineChart, PlotError, Series, Stroke};

use crate::exchange::{EXCHANGE, PROBE, WAN_MARK};
use crate::report::{ExchangeParts, Results, Row};

/// The part of the summary a chart goes beside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Throughput,
    Exchange,
    Wan,
}

/// One chart: where it goes, its file, what it shows, and the SVG (or why
/// there is none).
#[derive(Debug)]
pub struct Chart {
    pub part: Part,
    pub file: &'static str,
    pub caption: String,
    pub svg: Result<String, PlotError>,
}

/// The phases the exchange records, in the order they happen.
const PHASES: [&str; 3] = ["submit", "remote", "read"];

/// Every chart the results have data for.
pub fn all(results: &Results) -> Vec<Chart> {
    let mut charts = Vec::new();
    if !results.throughput.is_empty() {
        charts.extend(throughput(&results.throughput));
    }
    let parts = ExchangeParts::of(&results.exchange);
    if !parts.levels.is_empty() {
        charts.extend(exchange(&parts.levels));
    }
    if !parts.wan.is_empty() {
        charts.extend(wan(&parts.wan));
    }
    charts
}

/// The distinct levels of `rows`, ascending, and their names.
fn levels(rows: &[&Row]) -> (Vec<usize>, Vec<String>) {
    let levels: Vec<usize> = rows
        .iter()
        .map(|row| row.level)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let names = levels.iter().map(usize::to_string).collect();
    (levels, names)
}

/// The distinct kinds of `rows`, in the order they first appear.
fn kinds(rows: &[&Row]) -> Vec<String> {
    let mut kinds: Vec<String> = Vec::new();
    for row in rows {
        if !kinds.contains(&row.kind) {
            kinds.push(row.kind.clone());
        }
    }
    kinds
}

fn find<'a>(rows: &[&'a Row], kind: &str, level: usize) -> Option<&'a Row> {
    crate::report::find_row(rows.iter().copied(), kind, level)
}

/// One CDF line per kind and load that has a row: the colour tells the
/// load, the stroke the kind; `name` names each line from both.
fn cdf_series(
    rows: &[&Row],
    kinds: &[String],
    levels: &[usize],
    name: impl Fn(&str, usize) -> String,
) -> Vec<Series> {
    let name = &name;
    kinds
        .iter()
        .enumerate()
        .flat_map(|(k, kind)| {
            levels.iter().enumerate().filter_map(move |(i, &level)| {
                let row = find(rows, kind, level)?;
                Some(
                    Series::cdf(name(kind, level), &row.samples_ms)
                        .colour(i)
                        .stroke(Stroke::nth(k)),
                )
            })
        })
        .collect()
}

/// `1.23×`, or nothing.
fn times(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!("{v:.2}×"))
}

/// Which figure of a latency summary a line shows.
type Pick = fn(&LatencySummary) -> f64;

/// A line per percentile of `kind` over the levels: p50 solid, p95
/// dashed, p99 dotted, all in `colour`.
fn percentile_lines(rows: &[&Row], kind: &str, levels: &[usize], colour: usize) -> Vec<Series> {
    let picks: [(&str, Pick, Stroke); 3] = [
        ("p50", |l| l.p50, Stroke::Solid),
        ("p95", |l| l.p95, Stroke::Dashed),
        ("p99", |l| l.p99, Stroke::Dotted),
    ];
    picks
        .into_iter()
        .map(|(name, pick, stroke)| {
            let points = levels
                .iter()
                .enumerate()
                .filter_map(|(i, &level)| Some((i as f64, find(rows, kind, level)?.latency(pick)?)))
                .collect();
            Series::new(format!("{kind} {name}"), points)
                .colour(colour)
                .stroke(stroke)
        })
        .collect()
}

fn throughput(rows: &[Row]) -> Vec<Chart> {
    let rows: Vec<&Row> = rows.iter().collect();
    let (levels, names) = levels(&rows);
    let kinds = kinds(&rows);
    let baselines: BTreeSet<&str> = rows.iter().filter_map(|r| r.baseline.as_deref()).collect();
    // The baseline grey, our kinds in the palette's order.
    let mut next = 0;
    let colours: Vec<usize> = kinds
        .iter()
        .map(|kind| {
            if baselines.contains(kind.as_str()) {
                GREY
            } else {
                next += 1;
                next - 1
            }
        })
        .collect();
    let rate = BarChart::new(
        "Throughput on network I against load",
        "transactions in flight",
        "transactions per second",
        names.clone(),
        kinds
            .iter()
            .zip(&colours)
            .map(|(kind, &colour)| {
                let row = |level| find(&rows, kind, level);
                let is_baseline = baselines.contains(kind.as_str());
                BarGroup::new(
                    if is_baseline {
                        format!("{kind} (baseline)")
                    } else {
                        kind.clone()
                    },
                    levels
                        .iter()
                        .map(|&l| row(l).map(|r| r.per_second))
                        .collect(),
                    colour,
                )
                .labels(if is_baseline {
                    Vec::new()
                } else {
                    levels
                        .iter()
                        .map(|&l| times(row(l).and_then(|r| r.per_second_ratio)))
                        .collect()
                })
            })
            .collect(),
        BarLayout::Grouped,
    );
    let latency = LineChart::over_categories(
        "Latency against load on network I",
        "transactions in flight",
        "latency (ms)",
        names,
        kinds
            .iter()
            .zip(&colours)
            .flat_map(|(kind, &colour)| percentile_lines(&rows, kind, &levels, colour))
            .collect(),
    );
    let cdf = LineChart::cdf(
        "Latency CDF on network I",
        "latency (ms)",
        cdf_series(&rows, &kinds, &levels, |kind, level| {
            format!("{kind}, {level} in flight")
        }),
    );
    vec![
        Chart {
            part: Part::Throughput,
            file: "throughput.svg",
            caption: "Transactions per second at each load; above each of our \
                      transactions, its ratio to Put at the same load in the same run"
                .into(),
            svg: rate.svg(),
        },
        Chart {
            part: Part::Throughput,
            file: "throughput-latency.svg",
            caption: "Latency p50 (solid), p95 (dashed) and p99 (dotted) of each \
                      kind at each load; Put in grey"
                .into(),
            svg: latency.svg(),
        },
        Chart {
            part: Part::Throughput,
            file: "throughput-cdf.svg",
            caption: "Share of transactions done within a latency: each kind \
                      (line style) at each load (colour)"
                .into(),
            svg: cdf.svg(),
        },
    ]
}

/// The ordering an exchange or probe kind ran on: `raft`, or what its
/// kind names in brackets (`bft`).
fn ordering(kind: &str) -> &str {
    kind.rsplit_once(" (")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .filter(|inner| *inner != "during")
        .unwrap_or("raft")
}

/// The exchange's stacked phases, one bar per `(name, row)`, the mean of
/// each phase (means add up to the mean total, percentiles do not).
fn phases(title: &str, x_label: &str, bars: &[(String, &Row)]) -> BarChart {
    let mut names: Vec<String> = PHASES.iter().map(|p| (*p).to_string()).collect();
    for (_, row) in bars {
        for phase in row.phases_ms.keys() {
            if !names.contains(phase) {
                names.push(phase.clone());
            }
        }
    }
    let groups = names
        .iter()
        .enumerate()
        .filter(|(_, phase)| {
            bars.iter()
                .any(|(_, row)| row.phases_ms.contains_key(*phase))
        })
        .map(|(i, phase)| {
            BarGroup::new(
                phase.clone(),
                bars.iter()
                    .map(|(_, row)| row.phases_ms.get(phase).map(|l| l.mean))
                    .collect(),
                i,
            )
        })
        .collect();
    let totals = bars
        .iter()
        .map(|(_, row)| {
            let total: f64 = row.phases_ms.values().map(|l| l.mean).sum();
            if total > 0.0 {
                format!("{total:.0} ms")
            } else {
                String::new()
            }
        })
        .collect();
    BarChart::new(
        title,
        x_label,
        "mean ms",
        bars.iter().map(|(name, _)| name.clone()).collect(),
        groups,
        BarLayout::Stacked,
    )
    .stack_labels(totals)
}

const PHASES_CAPTION: &str = "Where an exchange's time goes, mean of each phase: submit \
     (SubmitRequest committed on I), remote (relays, network II's validation and reply, \
     AcceptReply on I), read (GetReply committed, reply decrypted and verified)";

fn exchange(rows: &[Row]) -> Vec<Chart> {
    let rows: Vec<&Row> = rows.iter().collect();
    let (levels, names) = levels(&rows);
    let all_kinds = kinds(&rows);
    let (probes, exchanges): (Vec<String>, Vec<String>) = all_kinds
        .into_iter()
        .partition(|kind| kind.starts_with(PROBE));
    let several = exchanges.len() > 1;
    let mut latency_series: Vec<Series> = exchanges
        .iter()
        .enumerate()
        .flat_map(|(i, kind)| percentile_lines(&rows, kind, &levels, i))
        .collect();
    for (i, probe) in probes.iter().enumerate() {
        let points = levels
            .iter()
            .enumerate()
            .filter_map(|(x, &level)| {
                Some((x as f64, find(&rows, probe, level)?.latency(|l| l.p50)?))
            })
            .collect();
        // Raft's probe grey, BFT's black.
        latency_series.push(
            Series::new(format!("{probe} p50"), points)
                .colour(if i == 0 { GREY } else { 6 })
                .stroke(Stroke::Solid),
        );
    }
    let latency = LineChart::over_categories(
        "Exchange latency against load",
        "exchanges in flight",
        "request on I to verified reply (ms)",
        names.clone(),
        latency_series,
    );
    let rate = BarChart::new(
        "Exchanges per second against load",
        "exchanges in flight",
        "completed exchanges per second",
        names,
        exchanges
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let values: Vec<Option<f64>> = levels
                    .iter()
                    .map(|&level| find(&rows, kind, level).map(|r| r.per_second))
                    .collect();
                let labels = values
                    .iter()
                    .map(|v| v.map_or_else(String::new, |v| format!("{v:.2}/s")))
                    .collect();
                BarGroup::new(kind.clone(), values, i).labels(labels)
            })
            .collect(),
        BarLayout::Grouped,
    );
    let bars: Vec<(String, &Row)> = exchanges
        .iter()
        .flat_map(|kind| {
            let rows = &rows;
            levels.iter().filter_map(move |&level| {
                let row = find(rows, kind, level)?;
                let name = if several {
                    format!("{level} {}", ordering(kind))
                } else {
                    level.to_string()
                };
                Some((name, row))
            })
        })
        .collect();
    let phases = phases("Exchange phases against load", "exchanges in flight", &bars);
    let cdf = LineChart::cdf(
        "Exchange latency CDF",
        "request on I to verified reply (ms)",
        cdf_series(&rows, &exchanges, &levels, |kind, level| {
            if several {
                format!("{level} in flight, {}", ordering(kind))
            } else {
                format!("{level} in flight")
            }
        }),
    );
    vec![
        Chart {
            part: Part::Exchange,
            file: "exchange-latency.svg",
            caption: format!(
                "Exchange latency p50 (solid), p95 (dashed) and p99 (dotted) at each load, \
                 with the p50 of one Put commit on I measured at the same time ({PROBE}, grey)"
            ),
            svg: latency.svg(),
        },
        Chart {
            part: Part::Exchange,
            file: "exchange-rate.svg",
            caption: "Completed exchanges per second at each load".into(),
            svg: rate.svg(),
        },
        Chart {
            part: Part::Exchange,
            file: "exchange-phases.svg",
            caption: PHASES_CAPTION.into(),
            svg: phases.svg(),
        },
        Chart {
            part: Part::Exchange,
            file: "exchange-cdf.svg",
            caption: format!("Share of exchanges ({EXCHANGE}) done within a latency, at each load"),
            svg: cdf.svg(),
        },
    ]
}

fn wan(rows: &[Row]) -> Vec<Chart> {
    let several = kinds(&rows.iter().collect::<Vec<_>>())
        .iter()
        .filter_map(|kind| {
            kind.split_once(WAN_MARK)
                .map(|(exchange, _)| exchange.to_string())
        })
        .collect::<BTreeSet<_>>()
        .len()
        > 1;
    // The cut runs at the highest level, the other series one at a time.
    let first = rows.first().map(|row| row.level);
    let one_level = rows.iter().all(|row| Some(row.level) == first);
    let condition = |row: &Row| {
        let (exchange, condition) = row
            .kind
            .split_once(WAN_MARK)
            .unwrap_or((row.kind.as_str(), ""));
        let mut name = condition.to_string();
        if several {
            name = format!("{name}, {}", ordering(exchange));
        }
        if !one_level {
            name = format!("{name}, ×{}", row.level);
        }
        name
    };
    let bars: Vec<(String, &Row)> = rows.iter().map(|row| (condition(row), row)).collect();
    let x_label = if one_level {
        "WAN condition (one-way delay, rate cap or cut)"
    } else {
        "WAN condition (one-way delay, rate cap or cut; ×N: N in flight)"
    };
    let phases = phases("Exchange phases on the emulated WAN", x_label, &bars);
    let cdf = LineChart::cdf(
        "Exchange latency CDF on the emulated WAN",
        "request on I to verified reply (ms)",
        rows.iter()
            .enumerate()
            .map(|(i, row)| Series::cdf(condition(row), &row.samples_ms).colour(i))
            .collect(),
    );
    vec![
        Chart {
            part: Part::Wan,
            file: "wan-phases.svg",
            caption: format!("{PHASES_CAPTION}; one bar per WAN series"),
            svg: phases.svg(),
        },
        Chart {
            part: Part::Wan,
            file: "wan-cdf.svg",
            caption: "Share of exchanges done within a latency, per WAN series".into(),
            svg: cdf.svg(),
        },
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::report::compare;
    use crate::stats::Tally;
    use ehrx_lab::machine::Machine;

    fn tally(latencies: &[u64], phases: bool) -> Tally {
        let mut tally = Tally::default();
        for &ms in latencies {
            let parts = [
                ("submit", Duration::from_millis(ms / 4)),
                ("remote", Duration::from_millis(ms / 2)),
                ("read", Duration::from_millis(ms / 4)),
            ];
            tally.success(Duration::from_millis(ms), if phases { &parts } else { &[] });
        }
        tally.elapsed = Duration::from_secs(2);
        tally
    }

    fn results() -> Results {
        let mut throughput = Vec::new();
        for level in [1, 4, 16] {
            for (kind, base) in [("Put", 200), ("PutEhr", 220), ("SubmitRequest", 210)] {
                let ms = base + level as u64 * 10;
                throughput.push(Row::new(
                    "throughput",
                    kind,
                    level,
                    tally(&[ms, ms + 20, ms + 90], false),
                ));
            }
        }
        compare(&mut throughput, "Put", true);
        let (exchange_kind, probe) = crate::exchange::kinds("raft");
        let mut exchange = Vec::new();
        for level in [1, 2] {
            let ms = 1000 + level as u64 * 200;
            exchange.push(Row::new(
                "exchange",
                exchange_kind.clone(),
                level,
                tally(&[ms, ms + 100], true),
            ));
            exchange.push(Row::new(
                "exchange",
                probe.clone(),
                level,
                tally(&[200, 210], false),
            ));
        }
        compare(&mut exchange, &probe, false);
        for condition in ["0 ms", "100 ms"] {
            exchange.push(Row::new(
                "exchange",
                crate::exchange::wan_kind(&exchange_kind, condition),
                1,
                tally(&[1500, 1600], true),
            ));
        }
        Results {
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: "2026-01-01T00:10:00Z".into(),
            machine: Machine::describe(Path::new("."), Path::new("/nonexistent")),
            load_average_at_end: None,
            parameters: serde_json::json!({"quick": true}),
            throughput,
            exchange,
            proof: None,
            cpu_baseline: None,
            aborted: BTreeMap::new(),
        }
    }

    fn texts(svg: &str) -> Vec<String> {
        ehrx_lab::plot::svg_texts(svg).unwrap_or_else(|error| panic!("{error}\n{svg}"))
    }

    fn chart<'a>(charts: &'a [Chart], file: &str) -> &'a Chart {
        match charts.iter().find(|c| c.file == file) {
            Some(chart) => chart,
            None => panic!("no {file}"),
        }
    }

    #[test]
    fn every_part_of_a_run_gets_its_charts() {
        let charts = all(&results());
        let files: Vec<&str> = charts.iter().map(|c| c.file).collect();
        assert_eq!(
            files,
            [
                "throughput.svg",
                "throughput-latency.svg",
                "throughput-cdf.svg",
                "exchange-latency.svg",
                "exchange-rate.svg",
                "exchange-phases.svg",
                "exchange-cdf.svg",
                "wan-phases.svg",
                "wan-cdf.svg",
            ]
        );
        for chart in &charts {
            assert!(chart.svg.is_ok(), "{}: {:?}", chart.file, chart.svg);
        }
    }

    #[test]
    fn throughput_shows_put_as_the_baseline_with_our_ratios_beside_it() {
        let charts = all(&results());
        let texts = texts(chart(&charts, "throughput.svg").svg.as_ref().unwrap());
        for expected in ["Put (baseline)", "PutEhr", "SubmitRequest", "1", "4", "16"] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no {expected:?}: {texts:?}"
            );
        }
        // PutEhr and SubmitRequest are as fast as Put here: 1.00× each, at
        // each of three levels.
        assert_eq!(
            texts.iter().filter(|t| *t == "1.00×").count(),
            6,
            "{texts:?}"
        );
        let texts = texts_of(&charts, "throughput-latency.svg");
        for expected in ["Put p50", "PutEhr p95", "SubmitRequest p99", "latency (ms)"] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no {expected:?}: {texts:?}"
            );
        }
        let texts = texts_of(&charts, "throughput-cdf.svg");
        assert!(
            texts.iter().any(|t| t == "PutEhr, 16 in flight"),
            "{texts:?}"
        );
    }

    fn texts_of(charts: &[Chart], file: &str) -> Vec<String> {
        texts(chart(charts, file).svg.as_ref().unwrap())
    }

    #[test]
    fn the_exchange_shows_its_phases_and_its_probe() {
        let charts = all(&results());
        let texts = texts_of(&charts, "exchange-phases.svg");
        for expected in ["submit", "remote", "read", "1", "2", "mean ms"] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no {expected:?}: {texts:?}"
            );
        }
        // 1 in flight: 1200 and 1300 ms, split ¼ ½ ¼: the stack's mean total.
        assert!(texts.iter().any(|t| t == "1250 ms"), "{texts:?}");
        let texts = texts_of(&charts, "exchange-latency.svg");
        for expected in ["exchange p50", "exchange p99", "Put (during) p50"] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no {expected:?}: {texts:?}"
            );
        }
        let texts = texts_of(&charts, "wan-phases.svg");
        for expected in ["0 ms", "100 ms"] {
            assert!(
                texts.iter().any(|t| t == expected),
                "no {expected:?}: {texts:?}"
            );
        }
    }

    #[test]
    fn orderings_are_told_apart() {
        for (kind, expected) in [
            ("exchange", "raft"),
            ("exchange (bft)", "bft"),
            ("Put (during)", "raft"),
            ("Put (during) (bft)", "bft"),
        ] {
            assert_eq!(ordering(kind), expected, "{kind}");
        }
    }

    #[test]
    fn a_run_with_nothing_measured_gets_no_charts_and_failed_rows_no_panic() {
        let mut empty = results();
        empty.throughput.clear();
        empty.exchange.clear();
        assert!(all(&empty).is_empty());
        let mut failed = results();
        for row in failed
            .throughput
            .iter_mut()
            .chain(failed.exchange.iter_mut())
        {
            row.samples_ms.clear();
            row.latency_ms = None;
            row.phases_ms.clear();
        }
        for chart in all(&failed) {
            // Rates still draw; latencies have nothing to draw.
            if chart.file.ends_with("cdf.svg") || chart.file.ends_with("phases.svg") {
                assert!(
                    matches!(chart.svg, Err(PlotError::NoData { .. })),
                    "{}",
                    chart.file
                );
            }
        }
    }
}
