//! The experiment that `scripts/experiment.sh` runs, at a small size, on
//! the real networks. This is also the end-to-end test of the paper's
//! security analysis, of the cases it leaves as future work and of the
//! attacks on trust across networks (issue 12): every scenario in
//! `ehrx_e2e::experiment::scenarios` and `::trust` checks its refusal or
//! detection and the ledger evidence that nothing was written (chain
//! heights, request states, audit entries), and must pass. The report is
//! written with a row per scenario and the timings.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::time::Duration;

use ehrx_e2e::experiment::scenarios::SCENARIOS;
use ehrx_e2e::experiment::{Options, run};
use ehrx_lab::networks::Networks;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_experiment_passes_every_scenario_and_writes_its_report() -> anyhow::Result<()> {
    let networks = Networks::up()?;
    let out_dir = std::env::temp_dir().join(format!("ehrx-experiment-{}", std::process::id()));
    let options = Options {
        exchanges: 3,
        patients: 2,
        timeout: Duration::from_secs(90),
        out_dir: out_dir.clone(),
        progress: false,
    };
    let report = run(&networks, &options).await?;
    networks.down()?;

    let table = report.table();
    assert!(report.passed(), "{table}");
    assert_eq!(report.scenarios.len(), SCENARIOS.len(), "{table}");
    let timings = report.timings.clone().unwrap();
    assert_eq!(timings.completed, 3, "{:?}", timings.failures);
    assert!(timings.samples.iter().all(|s| s.records > 0));
    assert_eq!(report.run.records_per_network.len(), 2);

    report.write(&out_dir)?;
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("results.json"))?)?;
    assert_eq!(json["scenarios"].as_array().unwrap().len(), SCENARIOS.len());
    assert!(
        std::fs::read_to_string(out_dir.join("exchange-summary.html"))?.contains("<html"),
        "the rendered summary is a standalone page"
    );
    assert_eq!(
        std::fs::read_to_string(out_dir.join("timings.csv"))?
            .lines()
            .count(),
        4
    );
    std::fs::remove_dir_all(&out_dir)?;
    Ok(())
}
