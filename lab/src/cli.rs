//! Fabric's own command-line tools (`peer`, `osnadmin`) run against a
//! network from its description, as an organisation admin.

use std::process::{Command, Output};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;

use ehrx_client::fabric::config::{Organization, Peer};

use crate::NetworkDescription;
use crate::networks::{fabric_bin_dir, fabric_home};

fn run(mut command: Command) -> anyhow::Result<(String, String)> {
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
    Ok((
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// The active release's `core.yaml` folder, as the scripts use it.
fn fabric_config_dir() -> std::path::PathBuf {
    fabric_home().join("config")
}

/// `peer <args>` as `user` of `org`, talking to `peer`; returns stdout
/// and stderr (where the CLI logs what it did).
pub fn peer_as(
    org: &Organization,
    user: &str,
    peer: &Peer,
    args: &[&str],
) -> anyhow::Result<(String, String)> {
    let user = org.user(user)?;
    let mut command = Command::new(fabric_bin_dir().join("peer"));
    command
        .args(args)
        .env("FABRIC_CFG_PATH", fabric_config_dir())
        .env("CORE_PEER_LOCALMSPID", &org.msp_id)
        .env("CORE_PEER_MSPCONFIGPATH", &user.msp_dir)
        .env("CORE_PEER_ADDRESS", &peer.address)
        .env("CORE_PEER_TLS_ENABLED", "true")
        .env("CORE_PEER_TLS_ROOTCERT_FILE", &peer.tls_ca_cert);
    run(command)
}

/// The release the active `peer` binary reports (`peer version`), e.g.
/// `3.1.5`, for checking it against a network's description.
pub fn peer_version(net: &NetworkDescription) -> anyhow::Result<String> {
    let mut command = Command::new(fabric_bin_dir().join("peer"));
    command
        .arg("version")
        .env("FABRIC_CFG_PATH", fabric_config_dir());
    let (stdout, _) = run(command)?;
    stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Version:"))
        .map(|v| v.trim().trim_start_matches('v').to_string())
        .with_context(|| format!("{}: no version in `peer version`: {stdout}", net.name))
}

/// `peer <args>` as the admin of `org`, talking to `peer`.
pub fn peer_as_admin(org: &Organization, peer: &Peer, args: &[&str]) -> anyhow::Result<String> {
    Ok(peer_as(org, "Admin", peer, args)?.0)
}

fn first_peer(org: &Organization) -> anyhow::Result<&Peer> {
    org.peers
        .first()
        .with_context(|| format!("{} has no peer", org.name))
}

/// `peer chaincode invoke` of `args` as `user` of `org`, endorsed by the
/// first peer of every organisation and awaited until committed; the
/// private `transient` entries travel in the transient map. Returns the
/// transaction id.
pub fn invoke(
    net: &NetworkDescription,
    org: &Organization,
    user: &str,
    chaincode: &str,
    args: &[&str],
    transient: &[(&str, &[u8])],
) -> anyhow::Result<String> {
    let orderer = net.orderers.first().context("network has no orderer")?;
    let call = serde_json::json!({ "Args": args }).to_string();
    let mut cli_args: Vec<String> = vec![
        "chaincode".into(),
        "invoke".into(),
        "--waitForEvent".into(),
        "-C".into(),
        net.channel.clone(),
        "-n".into(),
        chaincode.into(),
        "-c".into(),
        call,
        "-o".into(),
        orderer.address.clone(),
        "--ordererTLSHostnameOverride".into(),
        orderer.server_name.clone(),
        "--tls".into(),
        "--cafile".into(),
        orderer.tls_ca_cert.display().to_string(),
    ];
    for endorsing_org in &net.organizations {
        let peer = first_peer(endorsing_org)?;
        cli_args.extend([
            "--peerAddresses".into(),
            peer.address.clone(),
            "--tlsRootCertFiles".into(),
            peer.tls_ca_cert.display().to_string(),
        ]);
    }
    if !transient.is_empty() {
        let map: serde_json::Map<String, serde_json::Value> = transient
            .iter()
            .map(|(key, value)| ((*key).to_owned(), BASE64.encode(value).into()))
            .collect();
        cli_args.extend([
            "--transient".into(),
            serde_json::Value::Object(map).to_string(),
        ]);
    }
    let cli_args: Vec<&str> = cli_args.iter().map(String::as_str).collect();
    let (_, log) = peer_as(org, user, first_peer(org)?, &cli_args)?;
    // The CLI logs "txid [<id>] committed with status (VALID) at <peer>".
    let tx_id = log
        .split("txid [")
        .nth(1)
        .and_then(|rest| rest.split(']').next())
        .with_context(|| format!("no committed txid in the peer CLI's output: {log}"))?;
    if !log.contains("committed with status (VALID)") {
        bail!("transaction {tx_id} did not commit as VALID: {log}");
    }
    Ok(tx_id.to_owned())
}

/// `peer chaincode query` of `args` as `user` of `org` on its first peer;
/// returns the payload bytes.
pub fn query(
    net: &NetworkDescription,
    org: &Organization,
    user: &str,
    chaincode: &str,
    args: &[&str],
) -> anyhow::Result<Vec<u8>> {
    let call = serde_json::json!({ "Args": args }).to_string();
    let cli_args = [
        "chaincode",
        "query",
        "--hex",
        "-C",
        &net.channel,
        "-n",
        chaincode,
        "-c",
        &call,
    ];
    let (out, _) = peer_as(org, user, first_peer(org)?, &cli_args)?;
    hex::decode(out.trim()).with_context(|| format!("peer chaincode query --hex printed {out:?}"))
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
    let (out, _) = run(command)?;
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
