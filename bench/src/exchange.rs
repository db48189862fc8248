//! Benchmark (b): end-to-end exchange latency, from the doctor submitting a
//! request on network I to the reply decrypted and verified on network I,
//! with both relays and network II's two responders running in-process,
//! as concurrent exchanges grow.
//!
//! Baseline in the same run: while each level runs, one more client on
//! network I commits trivial `Put`s one after another, so each exchange is
//! also reported as a multiple of one commit on the same network at the
//! same time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ehrx_client::ehr::interface::function;
use ehrx_client::ehr::{HistoryOutcome, HistoryRequest, PatientRef};
use ehrx_client::fabric::Contract;
use ehrx_client::proto::exchange::Purpose;
use ehrx_lab::exchange::{ExchangeSetup, ResponderSharing, gateway_as, org};
use ehrx_lab::networks::Networks;
use ehrx_lab::wan::{Conditions, Wan};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::load::{self, Operation};
use crate::participants::{self, Participant, SHOWCASE, submit_validated};
use crate::progress::Progress;
use crate::proof;
use crate::report::{Row, compare};
use crate::stats::Tally;

pub const BENCHMARK: &str = "exchange";
pub const EXCHANGE: &str = "exchange";
/// The baseline's kind: sequential `Put` commits during the level.
pub const PROBE: &str = "Put (during)";

/// What benchmark (b) runs.
#[derive(Debug, Clone, Serialize)]
pub struct Params {
    /// Exchanges in flight.
    pub levels: Vec<usize>,
    /// Exchanges per level.
    pub exchanges: usize,
    /// Unmeasured exchanges before the first level.
    pub warmup: usize,
    /// Synthetic patients stored on network II; requests take turns.
    pub patients: usize,
    /// How long one exchange may take before it counts as failed.
    pub timeout_secs: u64,
    /// With split responders, their takeover time; `None`: they compete.
    pub takeover_secs: Option<u64>,
    /// Seed of the synthetic patients.
    pub seed: u64,
    /// The emulated WAN between the relays, when the run has one.
    pub wan: Option<WanParams>,
    /// Proofs of validation made and timed after the exchanges, with the
    /// relays stopped (0: none).
    pub proofs: usize,
    /// Verifications of the last proof, timed on one thread.
    pub verifications: usize,
}

/// What runs on the emulated WAN (`NETWORK_WAN=toxiproxy`), after the
/// levels: one sequential series of exchanges per one-way delay, one with
/// the bandwidth cap, then a run during which every link is cut.
#[derive(Debug, Clone, Serialize)]
pub struct WanParams {
    /// One-way delays added to each direction of every relay link, in ms;
    /// the 0 ms series is the baseline of the others.
    pub delays_ms: Vec<u64>,
    /// Each direction capped at this many KiB/s (no added delay).
    pub rate_kib_per_s: Option<u64>,
    /// How long every link is cut, in seconds (0: no cut).
    pub cut_secs: u64,
    /// Exchanges in the run with the cut.
    pub cut_exchanges: usize,
    /// Exchanges in flight during that run.
    pub cut_level: usize,
}

/// What separates a WAN row's exchange kind from its condition.
pub const WAN_MARK: &str = " · WAN ";

/// The kind of a WAN row: the exchange's kind and the condition.
pub fn wan_kind(exchange_kind: &str, condition: &str) -> String {
    format!("{exchange_kind}{WAN_MARK}{condition}")
}

struct Shared {
    /// Each patient and the number of records stored for them.
    patients: Vec<(PatientRef, usize)>,
    destination: String,
    timeout: Duration,
}

/// One doctor's exchanges, one after another.
struct Exchange {
    participant: Participant,
    shared: Arc<Shared>,
}

impl Operation for Exchange {
    async fn run(&self, index: usize) -> anyhow::Result<Vec<(&'static str, Duration)>> {
        let shared = &self.shared;
        let (patient_ref, records) = shared
            .patients
            .get(index % shared.patients.len().max(1))
            .context("no patients stored")?;
        let client = &self.participant.client;
        let history = HistoryRequest {
            patient_ref: *patient_ref,
            destination_network: shared.destination.clone(),
            categories: Vec::new(),
            purpose: Purpose::Treatment,
        };
        let begun = Instant::now();
        let pending = submit_validated(client, &history).await?;
        let committed = Instant::now();
        match client
            .await_outcome(&pending, shared.timeout)
            .await
            .context("awaiting the reply")?
        {
            HistoryOutcome::ReplyReady => {}
            HistoryOutcome::TimedOut => {
                anyhow::bail!("no reply within {} s", shared.timeout.as_secs())
            }
            other => anyhow::bail!("the exchange ended without a reply: {other:?}"),
        }
        let ready = Instant::now();
        let reply = client
            .read_reply(&pending.reply_key)
            .await
            .context(function::GET_REPLY)?;
        anyhow::ensure!(
            reply.records.len() == *records,
            "the reply holds {} records, not the {records} stored",
            reply.records.len()
        );
        let read = Instant::now();
        Ok(vec![
            ("submit", committed - begun),
            ("remote", ready - committed),
            ("read", read - ready),
        ])
    }
}

/// The baseline: `Put`s committed one after another until stopped.
struct Probe {
    stop: watch::Sender<bool>,
    task: JoinHandle<Tally>,
}

/// How long the probe waits after a failed `Put` before the next.
const PROBE_PAUSE_AFTER_FAILURE: Duration = Duration::from_millis(200);

impl Drop for Probe {
    /// A probe dropped unfinished (an interrupted run) stops at once.
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Probe {
    fn start(showcase: Contract, label: String) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut tally = Tally::default();
            let started = Instant::now();
            let mut n = 0usize;
            // Ends when told to, or when nobody is left to tell it (the
            // run was dropped, e.g. interrupted).
            while !*stopped.borrow() && stopped.has_changed().is_ok() {
                let key = format!("probe-{label}-{n}");
                n += 1;
                let begun = Instant::now();
                match showcase.submit("Put", [key.as_bytes(), b"v"]).await {
                    Ok(_) => tally.success(begun.elapsed(), &[]),
                    Err(error) => {
                        tally.failure(&anyhow::Error::from(error).context("Put"));
                        // A network that is down fails at once: no busy loop.
                        tokio::time::sleep(PROBE_PAUSE_AFTER_FAILURE).await;
                    }
                }
            }
            tally.elapsed = started.elapsed();
            tally
        });
        Self { stop, task }
    }

    /// Stops after the `Put` in progress and returns what it measured.
    async fn finish(mut self) -> anyhow::Result<Tally> {
        // The task may already have ended; then there is nobody to tell.
        let _ = self.stop.send(true);
        (&mut self.task).await.context("the Put probe panicked")
    }
}

/// Runs benchmark (b) on freshly configured networks: one exchange row and
/// one probe row per level, the exchange's latency also in probe commits;
/// then, on Raft, the cost of a proof of validation (see [`proof`]).
///
/// `ordering` is `raft` or `bft`; a BFT run's kinds carry ` (bft)`, so that
/// rows of both orderings can share one table and one CSV.
pub async fn run(
    networks: &Networks,
    params: &Params,
    ordering: &str,
    progress: &Progress,
) -> anyhow::Result<(Vec<Row>, Option<proof::Sizes>)> {
    let mut setup = participants::configure(networks).await?;
    let outcome = measure(&mut setup, params, &kinds(ordering), progress).await;
    let stopped = setup
        .stop_services()
        .await
        .context("stopping the relays and responders");
    let mut rows = outcome?;
    stopped?;
    if params.proofs > 0 && ordering == "raft" {
        let (proof_rows, sizes) =
            proof::measure(&setup, params.proofs, params.verifications, progress).await?;
        progress.note(format!(
            "proof of validation: {} bytes, {} endorsements",
            sizes.proof_bytes.last().copied().unwrap_or_default(),
            sizes.endorsements
        ));
        rows.extend(proof_rows);
        return Ok((rows, Some(sizes)));
    }
    Ok((rows, None))
}

/// The exchange's and the probe's kind names for an ordering.
pub fn kinds(ordering: &str) -> (String, String) {
    if ordering == "raft" {
        (EXCHANGE.to_string(), PROBE.to_string())
    } else {
        (
            format!("{EXCHANGE} ({ordering})"),
            format!("{PROBE} ({ordering})"),
        )
    }
}

async fn measure(
    setup: &mut ExchangeSetup<'_>,
    params: &Params,
    (exchange_kind, probe_kind): &(String, String),
    progress: &Progress,
) -> anyhow::Result<Vec<Row>> {
    let most = params.levels.iter().copied().max().unwrap_or(1);
    let net1 = setup.net1;
    participants::raise_rate_limit(net1).await?;
    let mut patients = Vec::with_capacity(params.patients);
    let uploader: &ExchangeSetup<'_> = setup;
    for n in 0..params.patients.max(1) {
        let (patient_ref, uploaded) = uploader
            .upload_patient(params.seed.wrapping_add(n as u64))
            .await
            .context("uploading a synthetic patient to network II")?;
        progress.note(format!(
            "patient {n} on network II: {} records",
            uploaded.len()
        ));
        patients.push((patient_ref, uploaded.len()));
    }
    progress.note(format!("registering {most} requesters on network I"));
    let participants = participants::enroll(net1, most, false).await?;
    setup.start_relays()?;
    if let Some(seconds) = params.takeover_secs {
        setup.responders = ResponderSharing::Split {
            takeover_after: Duration::from_secs(seconds),
        };
    }
    setup.start_responders().await?;

    let shared = Arc::new(Shared {
        patients,
        destination: setup.net2.name.clone(),
        timeout: Duration::from_secs(params.timeout_secs),
    });
    let workers = |level: usize| -> Vec<Arc<Exchange>> {
        participants
            .iter()
            .take(level)
            .map(|participant| {
                Arc::new(Exchange {
                    participant: participant.clone(),
                    shared: Arc::clone(&shared),
                })
            })
            .collect()
    };
    // The probe commits as the setup's doctor, an identity no worker uses.
    let probe_gateway = gateway_as(org(net1, "org1")?, "User2").await?;
    let showcase = probe_gateway.network(&net1.channel).contract(SHOWCASE);

    if params.warmup > 0 {
        let bar = progress.bar(params.warmup, "warm-up exchanges".into());
        let tally = load::run(&workers(most.min(params.warmup)), params.warmup, &bar).await?;
        bar.finish_and_clear();
        if tally.failed() > 0 {
            tracing::warn!(failed = tally.failed(), errors = ?tally.errors, "warm-up exchanges failed");
        }
    }

    let mut rows = Vec::new();
    for &level in &params.levels {
        let probe = Probe::start(showcase.clone(), format!("{:x}-{level}", params.seed));
        let bar = progress.bar(params.exchanges, format!("exchanges ×{level}"));
        let measured = load::run(&workers(level), params.exchanges, &bar).await;
        bar.finish_and_clear();
        let probe = probe.finish().await?;
        let exchange = Row::new(BENCHMARK, exchange_kind.clone(), level, measured?);
        let probe = Row::new(BENCHMARK, probe_kind.clone(), level, probe);
        progress.note(format!(
            "{level} in flight: {:.2} exchanges/s, p50 {:.0} ms; Put p50 {:.0} ms; {} failed",
            exchange.per_second,
            exchange.latency_ms.map_or(f64::NAN, |l| l.p50),
            probe.latency_ms.map_or(f64::NAN, |l| l.p50),
            exchange.failed
        ));
        rows.push(exchange);
        rows.push(probe);
    }
    // The probe is one sequential client, so only latencies compare.
    compare(&mut rows, probe_kind, false);
    if let Some(wan) = &params.wan {
        let mut wan_rows =
            on_the_wan(wan, params.exchanges, exchange_kind, &workers, progress).await?;
        compare(&mut wan_rows, &wan_kind(exchange_kind, "0 ms"), false);
        rows.extend(wan_rows);
    }
    Ok(rows)
}

/// The exchange on the emulated WAN: a sequential series per delay, one
/// with the bandwidth cap, and a concurrent run through a cut of every
/// link, which must lose and repeat nothing (the relays retry, the
/// contract takes each request and reply once).
async fn on_the_wan(
    params: &WanParams,
    exchanges: usize,
    exchange_kind: &str,
    workers: &dyn Fn(usize) -> Vec<Arc<Exchange>>,
    progress: &Progress,
) -> anyhow::Result<Vec<Row>> {
    let wan = Wan::of_running_networks()?
        .context("the networks run without an emulated WAN (NETWORK_WAN=toxiproxy)")?;
    let mut conditions: Vec<(String, Conditions)> = params
        .delays_ms
        .iter()
        .map(|&delay| {
            (
                format!("{delay} ms"),
                Conditions {
                    one_way_delay_ms: delay,
                    rate_kib_per_s: None,
                },
            )
        })
        .collect();
    if let Some(rate) = params.rate_kib_per_s {
        conditions.push((
            format!("{rate} KiB/s"),
            Conditions {
                one_way_delay_ms: 0,
                rate_kib_per_s: Some(rate),
            },
        ));
    }
    let mut rows = Vec::new();
    for (name, condition) in conditions {
        wan.set(condition)?;
        let bar = progress.bar(exchanges, format!("exchanges on the WAN, {name}"));
        let measured = load::run(&workers(1), exchanges, &bar).await;
        bar.finish_and_clear();
        let row = Row::new(BENCHMARK, wan_kind(exchange_kind, &name), 1, measured?);
        progress.note(format!(
            "WAN {name}: p50 {:.0} ms, p95 {:.0} ms; {} failed",
            row.latency_ms.map_or(f64::NAN, |l| l.p50),
            row.latency_ms.map_or(f64::NAN, |l| l.p95),
            row.failed
        ));
        rows.push(row);
    }
    wan.set(Conditions::default())?;
    if params.cut_secs > 0 && params.cut_exchanges > 0 {
        let cut = Duration::from_secs(params.cut_secs);
        let cutter = {
            let wan = wan.clone();
            tokio::spawn(async move {
                // Let the run get going, then cut every link for `cut`.
                tokio::time::sleep(Duration::from_secs(2)).await;
                wan.set_enabled(false)?;
                tokio::time::sleep(cut).await;
                wan.set_enabled(true)
            })
        };
        let bar = progress.bar(
            params.cut_exchanges,
            format!("exchanges through a {} s cut", params.cut_secs),
        );
        let measured = load::run(&workers(params.cut_level), params.cut_exchanges, &bar).await;
        bar.finish_and_clear();
        let restored = cutter.await.context("the link cutter panicked")?;
        // Whatever happened, the links are up again for what follows.
        wan.set_enabled(true)?;
        restored?;
        let row = Row::new(
            BENCHMARK,
            wan_kind(exchange_kind, &format!("cut {} s", params.cut_secs)),
            params.cut_level,
            measured?,
        );
        progress.note(format!(
            "WAN cut {} s: {} of {} exchanges completed, {} failed",
            params.cut_secs, row.succeeded, row.attempted, row.failed
        ));
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ehrx_client::fabric::{ConnectionBuilder, Gateway, Identity, P256Signer, SigningIdentity};

    use super::*;

    /// The showcase contract behind a gateway address nothing listens on.
    fn unreachable_showcase() -> Contract {
        let key = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let identity = SigningIdentity::new(
            Identity::new("Net1Org1MSP", b"certificate".to_vec()),
            Arc::new(P256Signer::new(key)),
        );
        let channel = ConnectionBuilder::new("127.0.0.1:9")
            .connect_lazy()
            .unwrap();
        Gateway::new(channel, identity)
            .network("ehrchannel")
            .contract(SHOWCASE)
    }

    #[tokio::test]
    async fn a_probe_against_a_network_that_is_down_does_not_spin() {
        let probe = Probe::start(unreachable_showcase(), "down".into());
        tokio::time::sleep(Duration::from_millis(700)).await;
        let tally = probe.finish().await.unwrap();
        // Each failure is followed by a pause: a handful, not thousands.
        assert!(
            (1..=6).contains(&tally.failed()),
            "{} failures",
            tally.failed()
        );
        assert_eq!(tally.succeeded(), 0);
    }
}
