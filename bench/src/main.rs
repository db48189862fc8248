//! `ehrx-bench`: the throughput and exchange-latency benchmarks of
//! DESIGN §9, run against the two real local Fabric networks.
//!
//! Each benchmark gets freshly started networks (`scripts/network.sh up`,
//! down again afterwards, also on failure or Ctrl-C), so neither sees the
//! other's ledger or leftover events. Every figure is reported with its
//! same-run baseline as a ratio, because the machine is shared and noisy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use ehrx_lab::networks::{Networks, network_home, repo_root};
use serde_json::json;

use ehrx_bench::progress::Progress;
use ehrx_bench::report::Results;
use ehrx_bench::targets::CpuBaseline;
use ehrx_bench::{exchange, participants, throughput};
use ehrx_lab::machine::Machine;
use ehrx_lab::measure::UtcTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Ordering {
    Raft,
    Bft,
}

/// The local networks' batch timeout when none is given.
const DEFAULT_BATCH_TIMEOUT: &str = "200ms";

/// A batch timeout as `scripts/network.sh` takes it: 1ms to 9999ms, or 1s
/// to 10s.
fn batch_timeout(text: &str) -> Result<String, String> {
    let (number, unit_max) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 9999)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 10)
    } else {
        return Err(format!("{text:?} is not e.g. 2s or 500ms"));
    };
    match number.parse::<u32>() {
        Ok(n) if (1..=unit_max).contains(&n) && !number.starts_with('0') => Ok(text.to_string()),
        _ => Err(format!("{text:?} is not from 1ms to 9999ms or 1s to 10s")),
    }
}

/// The name of a series run on `ordering` with `batch_timeout`: `raft`,
/// `bft`, or e.g. `raft, 2s` when the batch timeout is not the default.
fn series(ordering: Ordering, batch_timeout: &str) -> String {
    if batch_timeout == DEFAULT_BATCH_TIMEOUT {
        ordering.name().to_string()
    } else {
        format!("{}, {batch_timeout}", ordering.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Sharing {
    Compete,
    Split,
}

impl Ordering {
    fn name(self) -> &'static str {
        match self {
            Ordering::Raft => "raft",
            Ordering::Bft => "bft",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Which {
    All,
    Throughput,
    Exchange,
}

/// Throughput of EHR upload and request submission against a trivial
/// write, and end-to-end exchange latency, on the two local Fabric
/// networks (started and stopped by this command; export
/// NETWORK_PORT_BASE to move their ports).
#[derive(Debug, Parser)]
#[command(name = "ehrx-bench", version)]
struct Cli {
    /// Small runs that check everything works: 20 transactions per kind
    /// and level, 8 exchanges per level, 2 patients.
    #[arg(long)]
    quick: bool,
    /// Which benchmarks to run.
    #[arg(long, value_enum, default_value_t = Which::All)]
    bench: Which,
    /// Throughput: transactions in flight, one level after another.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    levels: Vec<usize>,
    /// Throughput: transactions per kind and level [default: 200, quick 20].
    #[arg(long)]
    transactions: Option<usize>,
    /// Throughput: interleaved rounds per level [default: 2, quick 1].
    #[arg(long)]
    rounds: Option<usize>,
    /// Throughput: unmeasured transactions per kind first (at least one
    /// per worker) [default: 20, quick 0].
    #[arg(long)]
    warmup: Option<usize>,
    /// Exchange: exchanges in flight, one level after another.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4,8")]
    exchange_levels: Vec<usize>,
    /// Exchange: exchanges per level [default: 40, quick 8].
    #[arg(long)]
    exchanges: Option<usize>,
    /// Exchange: unmeasured exchanges first [default: 4, quick 1].
    #[arg(long)]
    exchange_warmup: Option<usize>,
    /// Exchange: synthetic patients stored on network II [default: 4, quick 2].
    #[arg(long)]
    patients: Option<usize>,
    /// Exchange: the ordering services to run it on, one after another in
    /// this run (`raft,bft` compares BFT with Raft; BFT needs Fabric 3).
    #[arg(long, value_delimiter = ',', default_value = "raft")]
    orderers: Vec<Ordering>,
    /// Exchange: the ordering services' batch timeouts to run it with, one
    /// after another (each on fresh networks), e.g. `2s,500ms,200ms,50ms`
    /// to see latency follow the ordering service; 200ms is the networks'
    /// default (Fabric's own is 2s). Throughput runs with the first.
    #[arg(long, value_delimiter = ',', default_value = DEFAULT_BATCH_TIMEOUT, value_parser = batch_timeout)]
    batch_timeouts: Vec<String>,
    /// Exchange: one-way delays (ms) of an emulated WAN between the relays
    /// (Toxiproxy on every relay link), each measured with sequential
    /// exchanges after the levels; 0 is their baseline. Empty: no WAN.
    #[arg(long, value_delimiter = ',')]
    wan_delays: Vec<u64>,
    /// Exchange on the WAN: also a series with each direction capped at
    /// this many KiB/s.
    #[arg(long)]
    wan_rate_kib: Option<u64>,
    /// Exchange on the WAN: cut every link for this long during a run of
    /// --wan-cut-exchanges exchanges; all must complete [default: 30, quick 10].
    #[arg(long)]
    wan_cut_secs: Option<u64>,
    /// Exchange on the WAN: exchanges in the run with the cut [default: 100, quick 8].
    #[arg(long)]
    wan_cut_exchanges: Option<usize>,
    /// Exchange: proofs of validation made and timed after the exchanges
    /// (challenge on II, endorsement on I), on Raft [default: 20, quick 3].
    #[arg(long)]
    proofs: Option<usize>,
    /// Exchange: verifications of a proof timed on one thread, with as many
    /// P-256 signature checks as the baseline [default: 500, quick 50].
    #[arg(long)]
    verifications: Option<usize>,
    /// Exchange: how network II's two responders share the requests:
    /// `compete` (each answers every request, the contract keeps the
    /// first) or `split` (each answers its share, and the other's after
    /// --takeover-secs without a reply).
    #[arg(long, value_enum, default_value_t = Sharing::Compete)]
    responders: Sharing,
    /// Exchange with --responders split: the takeover time.
    #[arg(long, default_value_t = 10)]
    takeover_secs: u64,
    /// Exchange: seconds one exchange may take before it counts as failed.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    /// Seed of the synthetic patients [default: from the clock].
    #[arg(long)]
    seed: Option<u64>,
    /// Client users per organisation the networks are made with
    /// [default: enough for one identity per worker].
    #[arg(long)]
    users_per_org: Option<usize>,
    /// Cargo profile the chaincode services are built with.
    #[arg(long, default_value = "release")]
    chaincode_profile: String,
    /// Where the results go [default: results/bench-<UTC time>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Copy every node's and chaincode service's log into
    /// `<out>/logs/<benchmark>/` before the networks are removed.
    #[arg(long)]
    keep_logs: bool,
    /// Run nothing: draw the charts and `index.html` again from an earlier
    /// run's `DIR/results.json`, into DIR.
    #[arg(long, value_name = "DIR")]
    replot: Option<PathBuf>,
    /// The results folder of a `scripts/bench-baseline.sh` run: its CPU
    /// figures (Rust ÷ Go per submit, client and chaincode) are checked
    /// against issue 13's CPU targets in the summary. With --replot, the
    /// earlier run's summary is written again with them.
    #[arg(long, value_name = "DIR")]
    cpu_baseline: Option<PathBuf>,
    /// Run nothing: write the first N `PutEhr` uploads of the throughput
    /// benchmark with `--seed` (metadata argument and transient record) as
    /// JSON to FILE, for another driver such as Caliper (`bench/caliper/`).
    #[arg(long, value_name = "FILE", requires = "seed")]
    export_uploads: Option<PathBuf>,
    /// With --export-uploads: how many.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    export_count: usize,
}

impl Cli {
    fn pick<T>(&self, given: Option<T>, normal: T, quick: T) -> T {
        given.unwrap_or(if self.quick { quick } else { normal })
    }

    fn validate(&self) -> anyhow::Result<()> {
        for (name, levels) in [
            ("--levels", &self.levels),
            ("--exchange-levels", &self.exchange_levels),
        ] {
            anyhow::ensure!(
                !levels.is_empty() && levels.iter().all(|&level| level >= 1),
                "{name} must list load levels of at least 1"
            );
        }
        anyhow::ensure!(self.timeout_secs >= 1, "--timeout-secs must be at least 1");
        anyhow::ensure!(
            !self.orderers.is_empty(),
            "--orderers must name raft, bft or both"
        );
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    ehrx_bench::log_to_stderr("warn,ehrx_bench=info");
    let cli = Cli::parse();
    let cpu_baseline = cli
        .cpu_baseline
        .as_deref()
        .map(CpuBaseline::load)
        .transpose()
        .context("--cpu-baseline")?;
    if let Some(dir) = &cli.replot {
        return replot(dir, cpu_baseline);
    }
    if let Some(file) = &cli.export_uploads {
        let uploads = throughput::export_uploads(cli.seed.unwrap_or(1), cli.export_count)?;
        let json = serde_json::to_vec(&uploads).context("encoding the uploads")?;
        return std::fs::write(file, json).with_context(|| format!("writing {}", file.display()));
    }
    cli.validate()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(run(cli, cpu_baseline))
}

async fn run(cli: Cli, cpu_baseline: Option<CpuBaseline>) -> anyhow::Result<()> {
    let started = UtcTime::now();
    let seed = cli.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |since| since.as_secs())
    });
    let throughput = throughput::Params {
        levels: cli.levels.clone(),
        transactions: cli.pick(cli.transactions, 200, 20),
        rounds: cli.pick(cli.rounds, 2, 1).max(1),
        warmup: cli.pick(cli.warmup, 20, 0),
        seed,
    };
    let exchange = exchange::Params {
        levels: cli.exchange_levels.clone(),
        exchanges: cli.pick(cli.exchanges, 40, 8),
        warmup: cli.pick(cli.exchange_warmup, 4, 1),
        patients: cli.pick(cli.patients, 4, 2).max(1),
        timeout_secs: cli.timeout_secs,
        takeover_secs: (cli.responders == Sharing::Split).then_some(cli.takeover_secs),
        seed,
        proofs: cli.pick(cli.proofs, 20, 3),
        verifications: cli.pick(cli.verifications, 500, 50),
        wan: (!cli.wan_delays.is_empty()).then(|| exchange::WanParams {
            delays_ms: cli.wan_delays.clone(),
            rate_kib_per_s: cli.wan_rate_kib,
            cut_secs: cli.pick(cli.wan_cut_secs, 30, 10),
            cut_exchanges: cli.pick(cli.wan_cut_exchanges, 100, 8),
            cut_level: cli.exchange_levels.iter().copied().max().unwrap_or(1),
        }),
    };
    let run_throughput = cli.bench != Which::Exchange;
    let run_exchange = cli.bench != Which::Throughput;
    let most_workers = [
        run_throughput.then(|| throughput.levels.iter().copied().max()),
        run_exchange.then(|| exchange.levels.iter().copied().max()),
    ]
    .into_iter()
    .flatten()
    .flatten()
    .max()
    .unwrap_or(1);
    let users_per_org = cli
        .users_per_org
        .unwrap_or_else(|| participants::users_needed(most_workers));
    let users = users_per_org.to_string();
    let mut network_env = vec![
        ("NETWORK_USERS_PER_ORG", users.as_str()),
        ("NETWORK_CHAINCODE_PROFILE", cli.chaincode_profile.as_str()),
    ];
    if exchange.wan.is_some() {
        network_env.push(("NETWORK_WAN", "toxiproxy"));
    }

    let root = repo_root();
    let machine = Machine::current();
    let out = cli.out.clone().unwrap_or_else(|| {
        root.join("results")
            .join(format!("bench-{}", started.compact()))
    });
    let parameters = json!({
        "quick": cli.quick,
        "seed": seed,
        "throughput": run_throughput.then_some(&throughput),
        "exchange": run_exchange.then_some(&exchange),
        "users_per_org": users_per_org,
        "chaincode_profile": cli.chaincode_profile,
        "orderers": cli.orderers.iter().map(|o| o.name()).collect::<Vec<_>>(),
        "batch_timeouts": cli.batch_timeouts,
        "network_port_base": std::env::var("NETWORK_PORT_BASE").ok(),
        "rate_limit": {
            "max": participants::RATE_LIMIT_MAX,
            "window_seconds": participants::RATE_LIMIT_WINDOW_SECONDS,
        },
    });
    tracing::info!(%parameters, "benchmark parameters");

    let progress = Progress::new();
    let mut aborted = BTreeMap::new();
    let mut results = Results {
        started_at: started.rfc3339(),
        finished_at: String::new(),
        machine,
        load_average_at_end: None,
        parameters,
        throughput: Vec::new(),
        exchange: Vec::new(),
        proof: None,
        cpu_baseline,
        aborted: BTreeMap::new(),
    };
    // Throughput on the first ordering and batch timeout; the exchange on
    // each pair in turn.
    let first_batch = cli
        .batch_timeouts
        .first()
        .map_or(DEFAULT_BATCH_TIMEOUT, String::as_str);
    let mut benchmarks = vec![(
        throughput::BENCHMARK,
        cli.orderers[0],
        first_batch,
        run_throughput,
    )];
    for &ordering in &cli.orderers {
        for batch in &cli.batch_timeouts {
            benchmarks.push((exchange::BENCHMARK, ordering, batch.as_str(), run_exchange));
        }
    }
    let mut interrupted = false;
    for (name, ordering, batch, selected) in benchmarks {
        if !selected || interrupted {
            continue;
        }
        let label = series(ordering, batch);
        progress.note(format!(
            "benchmark {name} ({label}): starting both networks"
        ));
        let mut env = network_env.clone();
        env.push(("NETWORK_ORDERER", ordering.name()));
        env.push(("NETWORK_BATCH_TIMEOUT", batch));
        let networks = Networks::up_with_env(&env).context("starting the networks")?;
        let measured = tokio::select! {
            rows = async {
                if name == throughput::BENCHMARK {
                    throughput::run(&networks, &throughput, &progress).await
                } else {
                    let (rows, sizes) =
                        exchange::run(&networks, &exchange, &label, &progress).await?;
                    if sizes.is_some() {
                        results.proof = sizes;
                    }
                    Ok(rows)
                }
            } => rows,
            signal = ehrx_bench::interrupt() => {
                interrupted = true;
                Err(anyhow::anyhow!("interrupted by {signal}"))
            }
        };
        if cli.keep_logs {
            let logs = out
                .join("logs")
                .join(format!("{name}-{}", label.replace(", ", "-")));
            if let Err(error) = keep_logs(&network_home(), &logs) {
                tracing::warn!(error = format!("{error:#}"), "cannot keep the node logs");
            }
        }
        progress.note(format!("benchmark {name}: stopping both networks"));
        let down = networks.down();
        match measured {
            Ok(rows) if name == throughput::BENCHMARK => results.throughput = rows,
            Ok(rows) => results.exchange.extend(rows),
            Err(error) => {
                tracing::error!(
                    benchmark = name,
                    error = format!("{error:#}"),
                    "benchmark failed"
                );
                aborted.insert(format!("{name} ({label})"), format!("{error:#}"));
            }
        }
        down.context("stopping the networks")?;
    }
    results.aborted = aborted;
    results.finished_at = UtcTime::now().rfc3339();
    results.load_average_at_end = ehrx_lab::machine::load_average();
    let charts = results.write(&out)?;
    println!("{}", results.summary());
    println!("Results: {}", out.display());
    println!(
        "Charts beside the tables: {} ({})",
        out.join("index.html").display(),
        charts.join(", ")
    );
    anyhow::ensure!(
        results.aborted.is_empty(),
        "{} benchmark(s) failed: {}",
        results.aborted.len(),
        results
            .aborted
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

/// Draws an earlier run's charts and page again from its `results.json`.
/// With `cpu_baseline`, every file is written again with its figures.
fn replot(dir: &Path, cpu_baseline: Option<CpuBaseline>) -> anyhow::Result<()> {
    let mut results = Results::load(dir)?;
    let charts = match cpu_baseline {
        Some(baseline) => {
            results.cpu_baseline = Some(baseline);
            results.write(dir)?
        }
        None => results.write_page(dir)?,
    };
    println!(
        "{}: index.html and {} chart(s): {}",
        dir.display(),
        charts.len(),
        charts.join(", ")
    );
    Ok(())
}

/// Copies `<home>/<net>/nodes/<node>/node.log` to `<dir>/<net>-<node>.log`.
fn keep_logs(home: &Path, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for net in std::fs::read_dir(home).with_context(|| format!("reading {}", home.display()))? {
        let net = net?.path();
        let Ok(nodes) = std::fs::read_dir(net.join("nodes")) else {
            continue;
        };
        for node in nodes {
            let node = node?.path();
            let log = node.join("node.log");
            if let (Some(net_name), Some(node_name)) = (net.file_name(), node.file_name())
                && log.is_file()
            {
                let target = dir.join(format!(
                    "{}-{}.log",
                    net_name.to_string_lossy(),
                    node_name.to_string_lossy()
                ));
                std::fs::copy(&log, &target)
                    .with_context(|| format!("copying {}", log.display()))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_timeouts_are_checked_and_name_their_series() {
        for good in ["2s", "10s", "500ms", "50ms", "1ms", "9999ms"] {
            assert_eq!(batch_timeout(good).as_deref(), Ok(good));
        }
        for bad in [
            "", "0s", "11s", "0ms", "10000ms", "05ms", "2", "ms", "2 s", "1.5s", "-1s", "2m",
        ] {
            assert!(batch_timeout(bad).is_err(), "{bad:?}");
        }
        assert_eq!(series(Ordering::Raft, "200ms"), "raft");
        assert_eq!(series(Ordering::Bft, "200ms"), "bft");
        assert_eq!(series(Ordering::Raft, "2s"), "raft, 2s");
        assert_eq!(
            exchange::kinds(&series(Ordering::Raft, "2s")).0,
            "exchange (raft, 2s)"
        );
    }

    #[test]
    fn quick_changes_only_what_was_not_given() {
        let cli = Cli::parse_from(["ehrx-bench", "--quick", "--transactions", "50"]);
        assert_eq!(cli.pick(cli.transactions, 200, 20), 50);
        assert_eq!(cli.pick(cli.exchanges, 40, 8), 8);
        assert_eq!(cli.levels, vec![1, 4, 16]);
        let cli = Cli::parse_from(["ehrx-bench", "--levels", "2,8"]);
        assert_eq!(cli.pick(cli.exchanges, 40, 8), 40);
        assert_eq!(cli.levels, vec![2, 8]);
        cli.validate().unwrap();
        let cli = Cli::parse_from(["ehrx-bench", "--levels", "0"]);
        assert!(cli.validate().is_err());
    }
}
