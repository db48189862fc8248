//! The paper's two-network experiment in one run, and a third network
//! joining it: configure both networks,
//! load synthetic FHIR patients into each, run the exchange, the security
//! analysis, the future-work attacks and the attacks on trust across
//! networks (proofs of validation, a stolen relay: `trust`) as scenarios
//! with expected and observed outcomes, and time back-to-back exchanges. `scripts/experiment.sh`
//! runs it through the `experiment` binary.

pub mod consent;
pub mod join;
pub mod ledger;
pub mod report;
pub mod scenarios;
pub mod trust;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};

use ehrx_client::ehr::{EhrClient, EhrSettings};

use ehrx_lab::exchange::{ExchangeSetup, gateway_as, org, upload_synthetic_patient};
use ehrx_lab::machine::Machine;
use ehrx_lab::measure::UtcTime;
use ehrx_lab::networks::Networks;
use report::{ExchangeSample, Report, RunInfo, ScenarioRow, Timings};
use scenarios::{Evidence, Lab, SCENARIOS, Scenario};

/// The design's default rate limit (requests per requester per minute),
/// under which the insider is flagged.
const DEFAULT_RATE_LIMIT: u32 = 1;
/// The limit while the doctor's exchanges are timed, so that the timing
/// measures the exchange and not the limiter.
const TIMING_RATE_LIMIT: u32 = 10_000;
/// Timed exchanges stop after this many failures in a row: the networks
/// are then broken, and waiting out every timeout tells nothing more.
const MAX_CONSECUTIVE_FAILURES: usize = 3;

/// How the experiment runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Exchanges to time.
    pub exchanges: usize,
    /// Synthetic patients loaded into each network.
    pub patients: usize,
    /// How long one request may take to be answered.
    pub timeout: Duration,
    /// Where this run's files go (`results/<timestamp>`).
    pub out_dir: PathBuf,
    /// Show progress bars.
    pub progress: bool,
}

/// Runs each scenario `module::name(lab)` in turn, as the row `name`,
/// and hands the row to `record`.
macro_rules! direct_rows {
    ($record:ident, $lab:expr, $($module:ident::$name:ident),+ $(,)?) => {
        $($record(scenario(stringify!($name), $module::$name($lab)).await);)+
    };
}

/// Runs every scenario on the running `networks` and returns the report
/// (which the caller writes). Errors are setup failures; a scenario that
/// fails is a row of the report.
pub async fn run(networks: &Networks, options: &Options) -> anyhow::Result<Report> {
    let started = Instant::now();
    let started_at = UtcTime::now().rfc3339();
    std::fs::create_dir_all(&options.out_dir)
        .with_context(|| format!("creating {}", options.out_dir.display()))?;

    eprintln!(
        "configuring both networks (lookup tables, relays, requesters, uploaders, responders)"
    );
    let setup = ExchangeSetup::configure(networks).await?;
    setup.register_uploader("net1", "org2", "User2").await?;
    let (patients, records_per_network) = load_patients(&setup, options).await?;
    let doctor = setup.doctor().await?;
    let mut lab = Lab {
        setup,
        doctor,
        patients,
        timeout: options.timeout,
        out_dir: options.out_dir.clone(),
        reply_key: None,
    };

    eprintln!("starting both relays and network II's two responders");
    lab.setup.start_relays()?;
    lab.setup.start_responders().await?;

    let mut rows: HashMap<&'static str, ScenarioRow> = HashMap::new();
    let mut record = |row: ScenarioRow| {
        eprintln!(
            "  {} {}: {}",
            if row.pass { "PASS" } else { "FAIL" },
            row.scenario.id,
            row.observed
        );
        rows.insert(row.scenario.id, row);
    };
    // Scenarios that need the relays and responders come first.
    record(scenario("exchange", scenarios::exchange(&mut lab)).await);
    record(scenario("tampered_reply", scenarios::tampered_reply(&lab)).await);
    record(scenario("other_user_reads", scenarios::other_user_reads(&lab)).await);
    record(
        scenario(
            "insider_flagged",
            scenarios::insider_flagged(&lab, DEFAULT_RATE_LIMIT),
        )
        .await,
    );
    let (timing_row, timings) = time_exchanges(&lab, options).await;
    record(timing_row);
    eprintln!("network III joins");
    record(scenario("live_join", join::live_join(&mut lab, networks)).await);
    eprintln!("network II requires consent");
    match consent::ConsentLab::start(&lab).await {
        Ok(mut patient) => {
            record(scenario("consent_none", consent::none(&lab, &patient)).await);
            record(scenario("consent_expired", consent::expired(&lab, &patient)).await);
            record(scenario("consent_revoked", consent::revoked(&lab, &patient)).await);
            record(
                scenario(
                    "consent_other_purpose_category",
                    consent::other_purpose_or_category(&lab, &mut patient),
                )
                .await,
            );
            record(scenario("break_glass", consent::break_glass(&lab, &mut patient)).await);
            record(scenario("disclosure_report", consent::report(&patient)).await);
        }
        Err(error) => eprintln!("  the consent rows could not start: {error:#}"),
    }
    if let Err(error) = consent::ConsentLab::finish(&lab).await {
        eprintln!("  network II's consent policy was not put back: {error:#}");
    }

    // The forged messages go straight into the contracts; with no relay or
    // responder running, none of them travels on by itself.
    let stopping = Instant::now();
    let stopped = lab.setup.stop_services().await;
    let mut evidence = Evidence::default();
    evidence.check(
        stopped.is_ok(),
        match &stopped {
            Ok(()) => "both relays and both responders stopped cleanly".to_owned(),
            Err(error) => format!("a service failed: {error:#}"),
        },
    );
    record(row(spec("services"), evidence, stopping.elapsed()));
    // The rows that go straight into the contracts, in this order: the two
    // through a relay's door run that relay alone, before the rows after
    // them leave validated requests and stored replies that another relay
    // would carry on; `rotation` is last, as it changes II's entry for I,
    // then puts it back.
    direct_rows!(
        record,
        &lab,
        trust::stolen_relay_request,
        trust::stolen_relay_reply,
        scenarios::outsider,
        scenarios::forged_attestation,
        scenarios::replay,
        scenarios::reply_never_requested,
        scenarios::reply_wrong_network,
        trust::one_org_request_proof,
        trust::wrong_request_proof,
        trust::replayed_request_proof,
        trust::unregistered_ca_request_proof,
        trust::one_org_reply_proof,
        trust::wrong_reply_proof,
        trust::replayed_reply_proof,
        trust::unregistered_ca_reply_proof,
        trust::rotation,
    );
    // After everything: what every block of every channel holds.
    record(
        scenario(
            "no_metadata_in_blocks",
            ledger::no_metadata_in_blocks(&lab, networks),
        )
        .await,
    );

    let scenarios = SCENARIOS
        .iter()
        .map(|s| rows.remove(s.id).unwrap_or_else(|| not_run(*s)))
        .collect();
    let machine = Machine::current();
    let net2 = lab.setup.net2;
    Ok(Report {
        run: RunInfo {
            started_at,
            fabric_version: net2.fabric_version.clone(),
            channel_capability: net2.channel_capability.clone(),
            ordering: format!(
                "{}, {} orderer{}",
                net2.orderer_type,
                net2.orderers.len(),
                if net2.orderers.len() == 1 { "" } else { "s" }
            ),
            git_commit: machine.commit_label(),
            cpus: machine.cores,
            patients_per_network: options.patients,
            records_per_network,
            total_seconds: started.elapsed().as_secs_f64(),
        },
        scenarios,
        timings: Some(timings),
    })
}

/// The seed of network I's first synthetic patient (the next ones follow).
pub const NET1_FIRST_SEED: u64 = 2000;
/// The seed of network II's first synthetic patient.
pub const NET2_FIRST_SEED: u64 = 1000;

/// Uploads `options.patients` synthetic patients to each network (network
/// I's are there as in the paper, each network holding its own patients);
/// returns network II's patients and the record count per network.
async fn load_patients(
    setup: &ExchangeSetup<'_>,
    options: &Options,
) -> anyhow::Result<(
    Vec<(
        ehrx_client::ehr::PatientRef,
        Vec<ehrx_client::ehr::UploadedRecord>,
    )>,
    Vec<(String, usize)>,
)> {
    let bar = progress_bar(options, (2 * options.patients) as u64, "loading patients");
    let mut counts = Vec::new();
    let mut patients_on_net2 = Vec::new();
    for (net, org_name, user, first_seed) in [
        (setup.net1, "org2", "User2", NET1_FIRST_SEED),
        (setup.net2, "org1", "User2", NET2_FIRST_SEED),
    ] {
        let gateway = gateway_as(org(net, org_name)?, user).await?;
        let uploader = EhrClient::new(&gateway, EhrSettings::from_description(net));
        let mut records = 0;
        for seed in first_seed..first_seed + options.patients as u64 {
            let (patient_ref, uploaded) = upload_synthetic_patient(&uploader, seed)
                .await
                .with_context(|| format!("uploading synthetic patient {seed} to {}", net.name))?;
            records += uploaded.len();
            if net.name == setup.net2.name {
                patients_on_net2.push((patient_ref, uploaded));
            }
            bar.inc(1);
        }
        counts.push((net.name.clone(), records));
    }
    bar.finish_and_clear();
    eprintln!(
        "loaded {} patients per network: {}",
        options.patients,
        counts
            .iter()
            .map(|(net, n)| format!("{n} records on {net}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok((patients_on_net2, counts))
}

/// Times `options.exchanges` back-to-back exchanges by the doctor, over
/// network II's patients in turn.
async fn time_exchanges(lab: &Lab<'_>, options: &Options) -> (ScenarioRow, Timings) {
    let started = Instant::now();
    let mut evidence = Evidence::default();
    let mut samples: Vec<ExchangeSample> = Vec::new();
    let mut failures = Vec::new();
    if let Err(error) = lab.setup.set_rate_limit("net1", TIMING_RATE_LIMIT).await {
        failures.push(format!("raising the rate limit: {error:#}"));
    }
    let bar = progress_bar(options, options.exchanges as u64, "timed exchanges");
    let mut in_a_row = 0;
    for index in 0..options.exchanges {
        if !failures.is_empty() && in_a_row >= MAX_CONSECUTIVE_FAILURES {
            failures.push(format!(
                "stopped after {MAX_CONSECUTIVE_FAILURES} failures in a row"
            ));
            break;
        }
        match lab.timed_exchange(index).await {
            Ok(sample) => {
                in_a_row = 0;
                samples.push(sample);
            }
            Err(error) => {
                in_a_row += 1;
                failures.push(format!("exchange {}: {error:#}", index + 1));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let timings = Timings::new(options.exchanges, samples, failures, elapsed.as_secs_f64());
    evidence.check(
        timings.completed == options.exchanges && timings.failures.is_empty(),
        format!("{} of {} completed", timings.completed, options.exchanges),
    );
    if let Some(total) = &timings.total {
        evidence.fact(format!(
            "p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms ({:.2} exchanges/s)",
            total.p50, total.p95, total.p99, timings.exchanges_per_second
        ));
    }
    if let Some(first) = timings.failures.first() {
        evidence.fact(format!("first failure: {}", scenarios::brief(first)));
    }
    (row(spec("response_time"), evidence, elapsed), timings)
}

/// Runs one scenario and turns its evidence, or its error, into a row.
async fn scenario(
    id: &'static str,
    run: impl Future<Output = anyhow::Result<Evidence>>,
) -> ScenarioRow {
    let started = Instant::now();
    let evidence = run.await.unwrap_or_else(|error| {
        let mut evidence = Evidence::default();
        evidence.check(false, format!("error: {error:#}"));
        evidence
    });
    row(spec(id), evidence, started.elapsed())
}

fn spec(id: &str) -> Scenario {
    SCENARIOS
        .iter()
        .copied()
        .find(|s| s.id == id)
        .unwrap_or(Scenario {
            id: "unknown",
            title: "unknown scenario",
            group: "",
            expected: "",
        })
}

fn row(spec: Scenario, evidence: Evidence, took: Duration) -> ScenarioRow {
    ScenarioRow {
        scenario: spec,
        observed: evidence.observed(),
        pass: evidence.passed(),
        duration_ms: took.as_millis() as u64,
    }
}

fn not_run(spec: Scenario) -> ScenarioRow {
    let mut evidence = Evidence::default();
    evidence.check(false, "not run");
    row(spec, evidence, Duration::ZERO)
}

fn progress_bar(options: &Options, length: u64, message: &'static str) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length).with_message(message);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>18} [{bar:30}] {pos}/{len} {elapsed} (eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_has_a_spec_and_unknown_ids_are_marked() {
        for s in SCENARIOS {
            assert_eq!(spec(s.id).id, s.id);
        }
        assert_eq!(spec("nope").id, "unknown");
    }

    #[tokio::test]
    async fn an_error_is_a_failed_row_and_a_missing_row_fails() {
        let failed = scenario("replay", async { anyhow::bail!("peer unreachable") }).await;
        assert!(!failed.pass);
        assert!(
            failed.observed.contains("error: peer unreachable"),
            "{}",
            failed.observed
        );
        assert_eq!(failed.scenario.expected, spec("replay").expected);
        let mut ok = Evidence::default();
        ok.check(true, "refused");
        let passed = scenario("replay", async { Ok(ok) }).await;
        assert!(passed.pass);
        assert!(!not_run(spec("outsider")).pass);
    }
}
