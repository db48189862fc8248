//! Both networks come up, every peer joins its channel and agrees with its
//! orderer on the height, and `down` leaves no process and no state behind.

use std::collections::BTreeSet;

use ehrx_lab::cli;
use ehrx_lab::networks::{
    Networks, fabric_bin_dir, network_home, process_alive, processes_running_from,
};

#[test]
fn two_networks_come_up_join_their_channels_and_go_down_cleanly() -> anyhow::Result<()> {
    let networks = Networks::up()?;

    let names: BTreeSet<&str> = networks.all().iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["net1", "net2"]));

    let orderers = match std::env::var("NETWORK_ORDERER").as_deref() {
        Ok("bft") => 4,
        _ => 1,
    };
    for net in networks.all() {
        assert_eq!(
            net.orderers.len(),
            orderers,
            "{}: {orderers} orderer(s)",
            net.name
        );
        assert_eq!(
            net.orderer_type,
            if orderers == 4 { "bft" } else { "raft" },
            "{}",
            net.name
        );
        let capability = if net.fabric_version.starts_with("3.") {
            "V3_0"
        } else {
            "V2_0"
        };
        assert_eq!(net.channel_capability, capability, "{}", net.name);
        assert_eq!(
            cli::peer_version(net)?,
            net.fabric_version,
            "{}: the peer binary's version",
            net.name
        );
        assert_eq!(net.organizations.len(), 2, "{}: two peer orgs", net.name);
        assert_eq!(net.peers().count(), 3, "{}: three peers", net.name);

        let orderer_height = cli::orderer_height(net)?;
        assert!(
            orderer_height >= 1,
            "{}: orderer has the genesis block",
            net.name
        );
        for (org, peer) in net.peers() {
            assert_eq!(
                cli::peer_channels(org, peer)?,
                vec![net.channel.clone()],
                "{}",
                peer.name
            );
            assert_eq!(
                cli::peer_height(org, peer, &net.channel)?,
                orderer_height,
                "{} agrees with its orderer",
                peer.name
            );
            assert!(peer.tls_ca_cert.exists(), "{}", peer.tls_ca_cert.display());
        }
        for org in &net.organizations {
            let ed25519 = org.users.iter().filter(|u| u.key_type == "ed25519").count();
            assert_eq!(ed25519, 1, "{} {}: one Ed25519 user", net.name, org.name);
            for user in &org.users {
                assert!(
                    user.cert.exists() && user.key.exists(),
                    "{} {}",
                    org.name,
                    user.name
                );
            }
        }
    }
    // The two networks are independent: no MSP id, peer or port is shared.
    let addresses: Vec<&str> = networks
        .all()
        .iter()
        .flat_map(|n| n.peers().map(|(_, p)| p.address.as_str()))
        .collect();
    assert_eq!(addresses.iter().collect::<BTreeSet<_>>().len(), 6);
    let msp_ids: BTreeSet<&str> = networks
        .all()
        .iter()
        .flat_map(|n| n.organizations.iter().map(|o| o.msp_id.as_str()))
        .collect();
    assert_eq!(msp_ids.len(), 4);

    let nodes = networks.node_pids()?;
    let fabric_nodes = nodes
        .iter()
        .filter(|(name, _)| !name.contains("/chaincode-"))
        .count();
    assert_eq!(
        fabric_nodes,
        2 * orderers + 6,
        "{orderers} orderer(s) per network and 6 peers: {nodes:?}"
    );
    let services = nodes.len() - fabric_nodes;
    assert!(
        services >= 2 && services % 2 == 0,
        "a chaincode service per network: {nodes:?}"
    );
    let pids: Vec<u32> = nodes.into_iter().map(|(_, pid)| pid).collect();
    assert!(pids.iter().all(|&pid| process_alive(pid)));

    networks.down()?;
    let survivors: Vec<u32> = pids.into_iter().filter(|&pid| process_alive(pid)).collect();
    assert!(
        survivors.is_empty(),
        "processes left after down: {survivors:?}"
    );
    assert!(processes_running_from(&fabric_bin_dir(), &network_home()).is_empty());
    assert!(!network_home().exists(), "state left after down");
    Ok(())
}

#[test]
fn a_failing_test_still_stops_the_networks() {
    let pids = std::sync::Mutex::new(Vec::new());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let networks = Networks::up().expect("networks up");
        *pids.lock().unwrap() = networks.node_pids().expect("pids");
        panic!("a test failing while the networks are up");
    }));
    assert!(outcome.is_err(), "the closure panicked");
    let pids: Vec<u32> = pids
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|(_, pid)| pid)
        .collect();
    assert!(
        pids.len() >= 10,
        "Fabric nodes and chaincode services: {pids:?}"
    );
    let survivors: Vec<u32> = pids.into_iter().filter(|&pid| process_alive(pid)).collect();
    assert!(
        survivors.is_empty(),
        "processes left after a failed test: {survivors:?}"
    );
    assert!(!network_home().exists(), "state left after a failed test");
}
