//! Drives one chaincode through this SDK's gateway client and reports the
//! client's own CPU cost, for comparison with Fabric's official Go client
//! doing the same work (`bench/go/cmd/gateway-load`, same flags, same
//! one-line JSON report; `scripts/bench-baseline.sh` runs both).
//!
//! One connection to one peer, one user: W warm-up submits, then N submits
//! of `Put(key, value)` (each waits for its commit), then W warm-up
//! evaluates, then M evaluates of `Get(key)`, with K calls in flight. CPU
//! and wall time are measured around each measured phase only, so process
//! start, key loading, the TLS handshake and warm-up are excluded.
//!
//! `cargo run --release -p ehrx-client --example gateway_load -- --network
//! .network/net1/network.json --submits 200 --evaluates 500 --concurrency 8`

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context, bail};
use clap::Parser;
use ehrx_client::fabric::{Contract, Gateway, NetworkDescription};
use serde::Serialize;

/// Load generator for the CPU comparison with Fabric's Go gateway client.
#[derive(Parser, Debug)]
struct Cli {
    /// Network description written by `scripts/network.sh up`.
    #[arg(long, default_value = ".network/net1/network.json")]
    network: PathBuf,
    /// Organisation (name or MSP id).
    #[arg(long, default_value = "org1")]
    org: String,
    /// Gateway peer name (default: the organisation's first peer).
    #[arg(long)]
    peer: Option<String>,
    /// User to sign as.
    #[arg(long, default_value = "User1")]
    user: String,
    /// Channel (default: the description's channel).
    #[arg(long)]
    channel: Option<String>,
    /// Chaincode name.
    #[arg(long, default_value = "showcase")]
    chaincode: String,
    /// Put submits, each waiting for its commit.
    #[arg(long, default_value_t = 100)]
    submits: usize,
    /// Get evaluates.
    #[arg(long, default_value_t = 100)]
    evaluates: usize,
    /// Calls in flight.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: u32,
    /// Unmeasured calls of each measured kind before its phase.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Bytes per value.
    #[arg(long, default_value_t = 64)]
    value_size: usize,
    /// Prefix of the keys written (default: unique per run).
    #[arg(long)]
    key_prefix: Option<String>,
    /// Prefix of the keys read (default: --key-prefix).
    #[arg(long)]
    get_prefix: Option<String>,
    /// Number of keys read, `<get-prefix>-0..` (default: --submits).
    #[arg(long, default_value_t = 0)]
    get_keys: usize,
}

/// One measured phase of the report.
#[derive(Serialize, Default)]
struct Phase {
    count: usize,
    errors: usize,
    cpu_ms: f64,
    user_ms: f64,
    sys_ms: f64,
    wall_ms: f64,
}

/// The report; the same fields as the Go client's.
#[derive(Serialize)]
struct Report {
    client: &'static str,
    chaincode: String,
    peer: String,
    user: String,
    concurrency: u32,
    warmup: usize,
    value_size: usize,
    submit: Phase,
    evaluate: Phase,
    /// CPU of the whole process up to the report, setup and warm-up included.
    process_cpu_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<String>,
}

/// This process's CPU time: the total from the process CPU clock (the same
/// quantity as getrusage's user + sys, at nanosecond resolution), and the
/// user/system split from /proc/self/stat (in clock ticks, so coarser).
#[derive(Clone, Copy)]
struct CpuTime {
    total: Duration,
    user: Duration,
    sys: Duration,
}

impl CpuTime {
    fn now() -> anyhow::Result<Self> {
        let clock = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
        let total = Duration::new(
            u64::try_from(clock.tv_sec).context("negative process CPU time")?,
            u32::try_from(clock.tv_nsec).context("invalid process CPU time")?,
        );
        let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
        // Fields after the parenthesised command name start at field 3
        // (state); utime and stime are fields 14 and 15.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |index: usize| -> anyhow::Result<u64> {
            fields
                .get(index)
                .and_then(|field| field.parse().ok())
                .context("unexpected /proc/self/stat format")
        };
        let hz = rustix::param::clock_ticks_per_second().max(1);
        let to_duration = |t: u64| Duration::from_nanos(t.saturating_mul(1_000_000_000) / hz);
        Ok(Self {
            total,
            user: to_duration(ticks(11)?),
            sys: to_duration(ticks(12)?),
        })
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// Keeps the first failed call's message.
#[derive(Default)]
struct ErrorLog(Mutex<Option<String>>);

impl ErrorLog {
    fn add(&self, error: impl std::fmt::Display) {
        let mut first = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        first.get_or_insert_with(|| error.to_string().replace('\n', " "));
    }

    fn first(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(Clone, Copy)]
enum Call {
    Put,
    Get,
}

/// What every worker needs to make its calls.
struct Work {
    contract: Contract,
    call: Call,
    prefix: String,
    /// Reads cycle over this many keys; writes use each index once.
    modulo: usize,
    value: String,
    errors: ErrorLog,
}

impl Work {
    async fn one(&self, index: usize) -> Result<(), ehrx_client::fabric::Error> {
        match self.call {
            Call::Put => {
                let key = format!("{}-{index}", self.prefix);
                self.contract
                    .submit("Put", [key.as_str(), self.value.as_str()])
                    .await?;
            }
            Call::Get => {
                let key = format!("{}-{}", self.prefix, index % self.modulo);
                self.contract.evaluate("Get", [key.as_str()]).await?;
            }
        }
        Ok(())
    }
}

/// Makes `n` calls with `k` in flight; returns how many failed.
async fn run_calls(work: &Arc<Work>, n: usize, k: u32) -> anyhow::Result<usize> {
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..(k as usize).min(n) {
        let (work, next, failed) = (Arc::clone(work), Arc::clone(&next), Arc::clone(&failed));
        workers.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= n {
                    break;
                }
                if let Err(error) = work.one(index).await {
                    failed.fetch_add(1, Ordering::Relaxed);
                    work.errors.add(error);
                }
            }
        }));
    }
    for worker in workers {
        worker.await.context("a load worker failed")?;
    }
    Ok(failed.load(Ordering::Relaxed))
}

/// Runs one phase and measures its CPU and wall time.
async fn measure(work: &Arc<Work>, n: usize, k: u32) -> anyhow::Result<Phase> {
    let before = CpuTime::now()?;
    let start = Instant::now();
    let errors = run_calls(work, n, k).await?;
    let wall = start.elapsed();
    let after = CpuTime::now()?;
    Ok(Phase {
        count: n,
        errors,
        cpu_ms: ms(after.total.saturating_sub(before.total)),
        user_ms: ms(after.user.saturating_sub(before.user)),
        sys_ms: ms(after.sys.saturating_sub(before.sys)),
        wall_ms: ms(wall),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let key_prefix = match &cli.key_prefix {
        Some(prefix) => prefix.clone(),
        None => format!(
            "load-{}-{}",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
            std::process::id()
        ),
    };
    let get_prefix = cli.get_prefix.clone().unwrap_or_else(|| key_prefix.clone());
    let get_keys = if cli.get_keys == 0 {
        cli.submits
    } else {
        cli.get_keys
    };
    if cli.evaluates > 0 && get_keys == 0 {
        bail!("evaluates need keys to read: give --submits, or --get-prefix and --get-keys");
    }

    let description = NetworkDescription::load(&cli.network)
        .with_context(|| format!("reading {}", cli.network.display()))?;
    let org = description.organization(&cli.org)?;
    let peer = match &cli.peer {
        Some(name) => org.peers.iter().find(|peer| &peer.name == name),
        None => org.peers.first(),
    }
    .with_context(|| format!("organisation {} has no peer {:?}", cli.org, cli.peer))?;
    let identity = org
        .signing_identity(&cli.user)
        .with_context(|| format!("loading the identity of {}", cli.user))?;
    let channel = peer
        .connection()?
        .connect()
        .await
        .with_context(|| format!("connecting to {}", peer.address))?;
    let gateway = Gateway::new(channel, identity);
    let contract = gateway
        .network(cli.channel.as_deref().unwrap_or(&description.channel))
        .contract(cli.chaincode.as_str());

    let work = |call, prefix: String, modulo| {
        Arc::new(Work {
            contract: contract.clone(),
            call,
            prefix,
            modulo,
            value: "v".repeat(cli.value_size),
            errors: ErrorLog::default(),
        })
    };
    let warm_puts = work(Call::Put, format!("{key_prefix}-warmup"), 1);
    let puts = work(Call::Put, key_prefix.clone(), 1);
    let gets = work(Call::Get, get_prefix, get_keys.max(1));

    let mut report = Report {
        client: "rust-sdk",
        chaincode: cli.chaincode.clone(),
        peer: peer.name.clone(),
        user: cli.user.clone(),
        concurrency: cli.concurrency,
        warmup: cli.warmup,
        value_size: cli.value_size,
        submit: Phase::default(),
        evaluate: Phase::default(),
        process_cpu_ms: 0.0,
        first_error: None,
    };
    if cli.submits > 0 {
        run_calls(&warm_puts, cli.warmup, cli.concurrency).await?;
        report.submit = measure(&puts, cli.submits, cli.concurrency).await?;
    }
    let mut warm_get_error = None;
    if cli.evaluates > 0 {
        // Warm-up reads go through their own log, so they do not count.
        let warm_gets = work(Call::Get, gets.prefix.clone(), gets.modulo);
        run_calls(&warm_gets, cli.warmup, cli.concurrency).await?;
        warm_get_error = warm_gets.errors.first();
        report.evaluate = measure(&gets, cli.evaluates, cli.concurrency).await?;
    }
    report.process_cpu_ms = ms(CpuTime::now()?.total);
    report.first_error = puts
        .errors
        .first()
        .or_else(|| gets.errors.first())
        .or_else(|| {
            warm_puts
                .errors
                .first()
                .or(warm_get_error)
                .map(|error| format!("warm-up: {error}"))
        });
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}
