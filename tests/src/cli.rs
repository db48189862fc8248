//! Fabric's own command-line tools (`peer`, `osnadmin`) run against a
//! network from its description, as an organisation admin.

use std::process::{Command, Output};

use anyhow::{Context, bail};
use serde::Deserialize;

use ehrx_client::fabric::config::{Organization, Peer};

use crate::NetworkDescription;
use crate::networks::{fabric_bin_dir, repo_root};

fn run(mut command: Command) -> anyhow::Result<String> {
    let output: Output = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn fabric_config_dir() -> std::path::PathBuf {
    repo_root().join(".fabric/config")
}

/// `peer <args>` as the admin of `org`, talking to `peer`.
pub fn peer_as_admin(org: &Organization, peer: &Peer, args: &[&str]) -> anyhow::Result<String> {
    let admin = org.user("Admin")?;
    let mut command = Command::new(fabric_bin_dir().join("peer"));
    command
        .args(args)
        .env("FABRIC_CFG_PATH", fabric_config_dir())
        .env("CORE_PEER_LOCALMSPID", &org.msp_id)
        .env("CORE_PEER_MSPCONFIGPATH", &admin.msp_dir)
        .env("CORE_PEER_ADDRESS", &peer.address)
        .env("CORE_PEER_TLS_ENABLED", "true")
        .env("CORE_PEER_TLS_ROOTCERT_FILE", &peer.tls_ca_cert);
    run(command)
}

/// Channels a peer has joined (`peer channel list`).
pub fn peer_channels(org: &Organization, peer: &Peer) -> anyhow::Result<Vec<String>> {
    let out = peer_as_admin(org, peer, &["channel", "list"])?;
    // Output: a header line "Channels peers has joined: " then one name per line.
    Ok(out
        .lines()
        .skip_while(|l| !l.starts_with("Channels peers has joined"))
        .skip(1)
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect())
}

#[derive(Debug, Deserialize)]
struct ChainInfo {
    height: u64,
}

/// Block height of `channel` on a peer (`peer channel getinfo`).
pub fn peer_height(org: &Organization, peer: &Peer, channel: &str) -> anyhow::Result<u64> {
    let out = peer_as_admin(org, peer, &["channel", "getinfo", "-c", channel])?;
    let json = out
        .lines()
        .find_map(|l| l.strip_prefix("Blockchain info: "))
        .with_context(|| format!("unexpected `peer channel getinfo` output: {out}"))?;
    Ok(serde_json::from_str::<ChainInfo>(json)?.height)
}

#[derive(Debug, Deserialize)]
struct OrdererChannelInfo {
    status: String,
    height: u64,
}

/// Block height of the network's channel on its (first) orderer, from the
/// channel participation API (`osnadmin channel list --channelID`).
pub fn orderer_height(net: &NetworkDescription) -> anyhow::Result<u64> {
    let orderer = net.orderers.first().context("network has no orderer")?;
    let mut command = Command::new(fabric_bin_dir().join("osnadmin"));
    command
        .args([
            "channel",
            "list",
            "--channelID",
            &net.channel,
            "-o",
            &orderer.admin_address,
        ])
        .arg("--ca-file")
        .arg(&orderer.tls_ca_cert)
        .arg("--client-cert")
        .arg(&orderer.admin_tls_cert)
        .arg("--client-key")
        .arg(&orderer.admin_tls_key);
    let out = run(command)?;
    // Output: "Status: 200" then the JSON body.
    let body = out
        .find('{')
        .map(|i| &out[i..])
        .context("no JSON in osnadmin output")?;
    let info: OrdererChannelInfo = serde_json::from_str(body)?;
    if info.status != "active" {
        bail!("orderer channel status is {}", info.status);
    }
    Ok(info.height)
}
