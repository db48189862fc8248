//! `ehrx-soak`: the fault soak of issue 16 (see `ehrx_bench::soak`), run
//! by `scripts/soak.sh`. Brings two networks up (three Raft orderers each,
//! the relays behind the emulated WAN), runs the exchanges while the
//! injector works, checks the outcome, takes everything down, and writes
//! `report.json` and `report.md`. Exit status: 0 passed, 1 a check failed
//! (loss, duplicate, stuck exchange, audit disagreement, leaked process,
//! fewer faults than planned), 2 the run itself failed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use ehrx_bench::participants;
use ehrx_bench::soak::faults::{self, Injector};
use ehrx_bench::soak::services::{Fleet, Tmpfs};
use ehrx_bench::soak::summary::Report;
use ehrx_bench::soak::verify::{self, Trail};
use ehrx_bench::soak::workers::{Exchange, Pace, Worker};
use ehrx_bench::soak::{NETWORK_ENV, Params};
use ehrx_client::ehr::interface::function;
use ehrx_lab::ehrx_cli::ehrx_binary;
use ehrx_lab::exchange::{ExchangeSetup, uploaded_digests};
use ehrx_lab::networks::{
    Networks, fabric_bin_dir, network_home, process_alive, processes_running_from, repo_root,
};
use ehrx_lab::wan::Wan;
use serde_json::Value;

/// Many exchanges while processes die, links drop and the chaincode is
/// upgraded; nothing may be lost, nothing may happen twice.
#[derive(Debug, Parser)]
#[command(name = "ehrx-soak", version)]
struct Cli {
    /// Exchanges to complete.
    #[arg(long, default_value_t = 1000)]
    exchanges: usize,
    /// Exchanges in flight at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seeds the faults' order, targets and timings.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Faults of each kind.
    #[arg(long, default_value_t = 20)]
    faults_per_kind: usize,
    /// Synthetic patients on network II.
    #[arg(long, default_value_t = 4)]
    patients: usize,
    /// Longest outage of a fault, in ms.
    #[arg(long, default_value_t = 4000)]
    max_outage_ms: u64,
    /// Longest quiet gap between two faults of a lane, in ms.
    #[arg(long, default_value_t = 3000)]
    max_gap_ms: u64,
    /// Seconds one exchange may take before it counts as stuck.
    #[arg(long, default_value_t = 300)]
    exchange_timeout_secs: u64,
    /// The whole run's bound, in minutes.
    #[arg(long, default_value_t = 20)]
    max_minutes: u64,
    /// Where the report goes [default: results/soak-<seed>-<exchanges>].
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    ehrx_bench::log_to_stderr("warn,ehrx_bench=info,ehrx_soak=info");
    let cli = Cli::parse();
    let params = Params {
        exchanges: cli.exchanges,
        concurrency: cli.concurrency,
        seed: cli.seed,
        faults_per_kind: cli.faults_per_kind,
        patients: cli.patients,
        max_outage_ms: cli.max_outage_ms,
        max_gap_ms: cli.max_gap_ms,
        exchange_timeout_secs: cli.exchange_timeout_secs,
        max_minutes: cli.max_minutes,
        out_dir: cli.out.clone().unwrap_or_else(|| {
            repo_root()
                .join("results")
                .join(format!("soak-{}-{}", cli.seed, cli.exchanges))
        }),
    };
    match soak(params) {
        Ok(report) => {
            println!("{}", report.markdown());
            if report.passed {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("ehrx-soak: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn soak(params: Params) -> anyhow::Result<Report> {
    params.check()?;
    let out = params.out_dir.clone();
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(out.join("services"))
        .with_context(|| format!("creating {}", out.display()))?;
    // Built before the clock starts and before anything runs.
    let ehrx = ehrx_binary()?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let users = participants::users_needed(params.concurrency).to_string();
    let mut env: Vec<(&str, &str)> = NETWORK_ENV.to_vec();
    env.push(("NETWORK_USERS_PER_ORG", users.as_str()));
    tracing::info!("bringing the networks up (3 Raft orderers each, WAN proxy)");
    let networks = Networks::up_with_env(&env)?;
    let start = Instant::now();
    let outcome = runtime.block_on(drive(&networks, &params, start));
    let (failure, verdict, records, log, mut node_pids) = match outcome {
        Ok(run) => run,
        Err(error) => {
            // Nothing to report without the run's log; everything stops.
            let _ = networks.down();
            return Err(error);
        }
    };
    node_pids.extend(
        networks
            .node_pids()
            .unwrap_or_default()
            .into_iter()
            .map(|(_, pid)| pid),
    );
    let down = networks.down();
    let leaked = leaked_processes(&node_pids, &ehrx);
    let failure = failure.or_else(|| down.err().map(|e| format!("network.sh down: {e:#}")));
    let report = Report::new(
        params,
        start.elapsed().as_secs_f64(),
        failure,
        verdict,
        records,
        &log,
        leaked,
    );
    std::fs::write(out.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    std::fs::write(out.join("exchanges.json"), serde_json::to_vec_pretty(&log)?)?;
    std::fs::write(out.join("report.md"), report.markdown())?;
    tracing::info!(report = %out.join("report.md").display(), counts = ?report.counts(), passed = report.passed, "soak over");
    Ok(report)
}

type Run = (
    Option<String>,
    verify::Verdict,
    Vec<faults::Record>,
    Vec<Exchange>,
    Vec<u32>,
);

/// Configures the exchange, starts the services and the injector, runs the
/// exchanges, stops the injector and the services, and checks. A failure
/// of the run itself (not of a check) comes back as the first item.
async fn drive(networks: &Networks, params: &Params, start: Instant) -> anyhow::Result<Run> {
    let setup = ExchangeSetup::configure(networks).await?;
    participants::raise_rate_limit(setup.net1).await?;
    let enrolled = participants::enroll(setup.net1, params.concurrency, false).await?;
    let mut patients = Vec::new();
    for index in 0..params.patients {
        let (patient_ref, uploaded) = setup.upload_patient(1600 + index as u64).await?;
        patients.push((patient_ref, uploaded_digests(&uploaded)));
    }
    let patients = Arc::new(patients);
    tracing::info!(
        patients = patients.len(),
        workers = enrolled.len(),
        "exchange configured"
    );

    let tmpfs = Tmpfs::mount(&params.out_dir.join("checkpoint-tmpfs"), 2048)?;
    let net2 = setup.net2.clone();
    let services = params.out_dir.join("services");
    let checkpoint_dir = tmpfs.dir().to_path_buf();
    let fleet =
        tokio::task::spawn_blocking(move || Fleet::start(&services, &net2, &checkpoint_dir))
            .await??;
    let wan = Wan::of_running_networks()?.context("the networks have no WAN proxy")?;
    let injector = Arc::new(Injector::new(start, fleet, tmpfs, wan));
    let plan = faults::plan(
        params.seed,
        params.faults_per_kind,
        params.max_outage_ms,
        params.max_gap_ms,
    );
    let planned: usize = plan.iter().map(Vec::len).sum();
    let pace = Arc::new(Pace::new(start, params.exchanges, planned));
    let lanes = {
        let (injector, pace) = (injector.clone(), pace.clone());
        std::thread::spawn(move || {
            let outcome = injector.run(plan);
            pace.faults_over.store(true, Ordering::Relaxed);
            outcome
        })
    };
    tracing::info!(
        exchanges = params.exchanges,
        faults = planned,
        "soak running"
    );

    let log = Arc::new(Mutex::new(Vec::<Exchange>::new()));
    let workers: Vec<Arc<Worker>> = enrolled
        .into_iter()
        .enumerate()
        .map(|(index, participant)| Arc::new(Worker::new(index, participant.client)))
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in &workers {
        let (worker, pace, injector) = (worker.clone(), pace.clone(), injector.clone());
        let (patients, log) = (patients.clone(), log.clone());
        let timeout = params.exchange_timeout();
        tasks.spawn(async move {
            worker
                .run(&pace, &injector.done, &patients, timeout, &log)
                .await;
        });
    }
    let bound = Duration::from_secs(params.max_minutes * 60).saturating_sub(start.elapsed());
    let mut failure = tokio::select! {
        finished = tokio::time::timeout(bound, async { while tasks.join_next().await.is_some() {} }) => {
            finished.err().map(|_| format!("not done within {} minutes", params.max_minutes))
        }
        signal = ehrx_bench::interrupt() => Some(format!("interrupted by {signal}")),
        // A repair that failed ends the run: the system was left broken.
        () = async {
            while !injector.abort.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        } => None,
    };
    // Whatever ended the run, the faults stop and are repaired.
    pace.abort.store(true, Ordering::Relaxed);
    injector.abort.store(true, Ordering::Relaxed);
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    let lanes = tokio::task::spawn_blocking(move || lanes.join()).await?;
    match lanes {
        Ok(Ok(())) => {}
        Ok(Err(error)) => failure = failure.or(Some(format!("fault injection: {error:#}"))),
        Err(_) => failure = failure.or(Some("the injector panicked".into())),
    }
    let log: Vec<Exchange> = {
        let mut log = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
        log.sort_by_key(|e| e.index);
        log
    };
    let records = injector.records();
    tracing::info!(exchanges = log.len(), faults = records.len(), "checking");

    // The checks, with every service still up.
    let verdict = check(&setup, &workers, &log, &patients).await?;
    let pids = {
        let mut fleet = injector.fleet.lock().unwrap_or_else(|e| e.into_inner());
        let pids: Vec<u32> = fleet
            .names()
            .iter()
            .filter_map(|n| fleet.pid(n).ok().flatten())
            .collect();
        if let Err(error) = fleet.stop_all() {
            failure = failure.or(Some(format!("stopping the services: {error:#}")));
        }
        pids
    };
    match Arc::try_unwrap(injector) {
        Ok(injector) => {
            let Injector { tmpfs, .. } = injector;
            if let Err(error) = tmpfs.unmount() {
                failure = failure.or(Some(format!("{error:#}")));
            }
        }
        Err(_) => failure = failure.or(Some("the injector is still in use".into())),
    }
    Ok((failure, verdict, records, log, pids))
}

/// Asks `call` up to five times, two seconds apart (a peer may still be
/// catching up after the last fault).
async fn patiently<T, F, Fut, E>(what: &str, mut call: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut last = String::new();
    for _ in 0..5 {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    anyhow::bail!("{what}: {last}")
}

/// The requests network I lists for the workers, both networks' audit
/// trails of every patient, and the verdict on the run's log.
async fn check(
    setup: &ExchangeSetup<'_>,
    workers: &[Arc<Worker>],
    log: &[Exchange],
    patients: &[(ehrx_client::ehr::PatientRef, BTreeMap<String, [u8; 32]>)],
) -> anyhow::Result<verify::Verdict> {
    let mut listed = BTreeSet::new();
    for worker in workers {
        let requests = patiently("ListRequests", || worker.client.list_requests()).await?;
        listed.extend(requests.into_iter().map(|r| r.request_id));
    }
    let mut trails: Vec<Trail> = Vec::new();
    for net in ["net1", "net2"] {
        let admin = setup.contract_as(net, "Admin").await?;
        let mut answers = Vec::new();
        for (patient_ref, _) in patients {
            let subject = hex::encode(patient_ref.as_bytes());
            let bytes = patiently(function::AUDIT_TRAIL, || {
                admin.evaluate(function::AUDIT_TRAIL, [subject.as_str()])
            })
            .await?;
            answers.push(serde_json::from_slice::<Value>(&bytes)?);
        }
        trails.push(verify::trail_of(&answers));
    }
    let empty = Trail::new();
    Ok(verify::check(
        log,
        &listed,
        trails.first().unwrap_or(&empty),
        trails.get(1).unwrap_or(&empty),
    ))
}

/// Processes still running 15 s after the networks went down: any of
/// `pids`, or any Fabric node or binary of our target folder (chaincode
/// servers, `ehrx`) started for this network home. A process that was
/// killed may show in `/proc` for a moment before it is reaped.
fn leaked_processes(pids: &[u32], ehrx: &std::path::Path) -> Vec<u32> {
    let home = network_home();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let mut leaked: Vec<u32> = pids
            .iter()
            .copied()
            .filter(|pid| process_alive(*pid))
            .collect();
        for dir in [
            fabric_bin_dir(),
            ehrx.parent().map(PathBuf::from).unwrap_or_default(),
        ] {
            leaked.extend(processes_running_from(&dir, &home));
        }
        // This binary lives in the target folder too.
        leaked.retain(|pid| *pid != std::process::id());
        leaked.sort_unstable();
        leaked.dedup();
        if leaked.is_empty() || Instant::now() >= deadline {
            return leaked;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}
