//! A live upgrade of the EHR chaincode (`scripts/network.sh upgrade`), as
//! the fault soak (issue 16) does it twenty times a run.
//!
//! Regression: the upgrade used to replace the chaincode service before
//! the new definition was committed; when the commit then failed, the
//! peers refused the new service (its package is not the one defined) and
//! the network could not run its chaincode any more. Now the new service
//! starts beside the old one and takes over only once its definition is
//! committed: with network I's orderer down the upgrade fails and the old
//! service still answers; with the orderer back the upgrade succeeds (the
//! next sequence, on the other port) and the state is kept.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::process::Command;
use std::time::Duration;

use ehrx_client::fabric::Contract;
use ehrx_lab::exchange::ExchangeSetup;
use ehrx_lab::networks::{Networks, network_home, repo_root};
use serde_json::Value;

fn network_sh(args: &[&str]) -> std::process::Output {
    Command::new(repo_root().join("scripts/network.sh"))
        .args(args)
        .output()
        .unwrap()
}

/// Network I's admin audit trail (the configuration the setup wrote),
/// read through the chaincode; asked a few times while peers reconnect.
async fn admin_trail(admin: &Contract) -> anyhow::Result<usize> {
    let mut last = None;
    for _ in 0..10 {
        match admin.evaluate("AuditTrail", ["admin"]).await {
            Ok(bytes) => {
                let trail: Value = serde_json::from_slice(&bytes)?;
                return Ok(trail.as_array().map_or(0, Vec::len));
            }
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(anyhow::anyhow!("AuditTrail kept failing: {last:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upgrade_leaves_the_old_service_serving_and_a_retry_upgrades() -> anyhow::Result<()>
{
    let networks = Networks::up()?;
    let setup = ExchangeSetup::configure(&networks).await?;
    let admin = setup.contract_as("net1", "Admin").await?;
    let before = admin_trail(&admin).await?;
    assert!(before > 0, "the setup's configuration is audited");
    let sequence = network_home().join("net1/chaincode/ehrx/sequence");
    assert_eq!(std::fs::read_to_string(&sequence)?.trim(), "1");

    // No orderer: the definition cannot be approved, the upgrade fails.
    let killed = network_sh(&["kill", "net1", "orderer"]);
    assert!(killed.status.success(), "{killed:?}");
    let failed = network_sh(&["upgrade", "net1", "ehrx"]);
    assert!(!failed.status.success(), "{failed:?}");
    let restarted = network_sh(&["restart", "net1", "orderer"]);
    assert!(restarted.status.success(), "{restarted:?}");
    assert_eq!(
        admin_trail(&admin).await?,
        before,
        "the old service answers"
    );
    assert!(
        !network_home()
            .join("net1/nodes/chaincode-ehrx.next")
            .exists()
    );
    assert_eq!(std::fs::read_to_string(&sequence)?.trim(), "1");

    // With the orderer back: sequence 2, on the other port, state kept.
    let upgraded = network_sh(&["upgrade", "net1", "ehrx"]);
    assert!(upgraded.status.success(), "{upgraded:?}");
    assert_eq!(std::fs::read_to_string(&sequence)?.trim(), "2");
    assert_eq!(admin_trail(&admin).await?, before, "the state is kept");
    let command =
        std::fs::read_to_string(network_home().join("net1/nodes/chaincode-ehrx/command"))?;
    assert!(
        command.contains("ehrx_2:"),
        "the new package serves: {command}"
    );

    networks.down()
}
