//! `experiment`: reproduces the two-network experiment and writes its
//! report. Run it through `scripts/experiment.sh`, which installs Fabric
//! and builds first; it brings both networks up itself and always takes
//! them down again.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use ehrx_e2e::experiment::report::Report;
use ehrx_e2e::experiment::{Options, run};
use ehrx_lab::measure::UtcTime;
use ehrx_lab::networks::{Networks, repo_root};

/// The two-network EHR exchange experiment: the exchange, the security
/// analysis, the future-work attacks and response times, on two real
/// Fabric networks.
#[derive(Debug, Parser)]
#[command(name = "experiment")]
struct Args {
    /// Exchanges to time, one after another.
    #[arg(long, default_value_t = 50)]
    exchanges: usize,
    /// Synthetic FHIR patients to load into each network.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    patients: u16,
    /// Seconds one request may take to be answered.
    #[arg(long, default_value_t = 90)]
    timeout_secs: u64,
    /// Where each run's directory (`<UTC timestamp>/`) is made.
    #[arg(long, default_value = "results")]
    results_dir: PathBuf,
    /// No progress bars (for logs).
    #[arg(long)]
    no_progress: bool,
    /// Run nothing: draw the response-time charts again from an earlier
    /// run's `DIR/results.json`, into DIR.
    #[arg(long, value_name = "DIR")]
    replot: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(dir) = &args.replot {
        return match ehrx_e2e::experiment::report::replot(dir) {
            Ok(charts) => {
                println!("{}: {}", dir.display(), charts.join(", "));
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::from(2)
            }
        };
    }
    match experiment(&args) {
        Ok(report) if report.passed() => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn experiment(args: &Args) -> anyhow::Result<Report> {
    let results_dir = if args.results_dir.is_absolute() {
        args.results_dir.clone()
    } else {
        repo_root().join(&args.results_dir)
    };
    let out_dir = results_dir.join(UtcTime::now().compact());
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    log_services_to(&out_dir.join("services.log"))?;
    let options = Options {
        exchanges: args.exchanges,
        patients: usize::from(args.patients),
        timeout: Duration::from_secs(args.timeout_secs),
        out_dir: out_dir.clone(),
        progress: !args.no_progress,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;

    eprintln!("bringing both networks up (scripts/network.sh up)");
    let networks = Networks::up()?;
    let outcome = runtime.block_on(run(&networks, &options));
    // The networks go down whatever happened; the guard would too.
    drop(runtime);
    let down = networks.down();
    let report = outcome?;
    down.context("stopping the networks")?;

    report.write(&out_dir)?;
    println!("\n{}", report.markdown());
    println!("Report: {}", out_dir.join("report.md").display());
    let chart = out_dir.join(ehrx_e2e::experiment::report::CDF_CHART);
    if chart.exists() {
        println!("Charts: {} (shown in the report)", chart.display());
    }
    println!("Data:   {}", out_dir.join("results.json").display());
    let failed = report.scenarios.iter().filter(|row| !row.pass).count();
    if failed > 0 {
        eprintln!("{failed} scenario(s) FAILED");
    } else {
        eprintln!("every scenario passed");
    }
    Ok(report)
}

/// The relays' and responders' structured logs go to a file beside the
/// report, so the console shows the experiment's own progress.
fn log_services_to(path: &std::path::Path) -> anyhow::Result<()> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(Mutex::new(file))
        .try_init()
        .map_err(|error| anyhow::anyhow!("setting up the log: {error}"))
}
