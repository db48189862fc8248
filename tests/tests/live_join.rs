//! A third network joins two that are running, with the command-line tool
//! only, and exchanges histories both ways without a restart of I or II:
//!
//! - I and II run as in `cli.rs`: setup files, `ehrx relay` and
//!   `ehrx responder` processes, a synthetic patient on II;
//! - `scripts/network.sh add net3` brings III up beside them; its admin
//!   applies a setup file naming I and II (keys, CA roots, policy), and
//!   I's and II's admins apply theirs again with III added;
//! - I's and II's relays take their new configuration files on SIGHUP
//!   (a route to III and its relays' CA), III's relay and responders start;
//! - a doctor on I reads a patient's history from III, and a doctor on III
//!   one from II; no node or relay of I or II was restarted.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::path::Path;
use std::time::{Duration, Instant};

use ehrx_lab::NetworkDescription;
use ehrx_lab::ehrx_cli::{
    Ehrx, Service, Services, fresh_dir, healthz, patient_args, setup_trust, write_json,
};
use ehrx_lab::exchange::{org, relay_config_path};
use ehrx_lab::networks::{Networks, description_path, node_pids};
use serde_json::{Value, json};

/// The consortium's matching key (64 hex digits), shared by every network.
const MATCHING_KEY: &str = "6b2f1d8c4e3a95f07b12c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718";
/// How long a service may take to start, follow or stop.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(60);

/// A lookup-table entry for `other`, as its admin hands over its public
/// key (`<net>.pub`) and its organisations' CA roots.
fn remote(other: &NetworkDescription) -> Value {
    json!({
        "network_id": other.name,
        "network_key_file": format!("{}.pub", other.name),
        "trust": setup_trust(other),
    })
}

/// Applies `setup` as `net`'s admin; returns the number of calls made.
fn apply_setup(ehrx: &Ehrx, dir: &Path, net: &NetworkDescription, setup: &Value) -> usize {
    let file = format!("setup-{}.json", net.name);
    write_json(&dir.join(&file), setup).unwrap();
    let admin = ehrx.as_user(
        &description_path(&net.name),
        &org(net, "org1").unwrap().msp_id,
        "Admin",
    );
    let run = admin
        .ok(["--json", "admin", "setup", "--file", &file])
        .unwrap();
    run.json().unwrap().as_array().unwrap().len()
}

fn relay(ehrx: &Ehrx, net: &str) -> Service {
    let mut service = ehrx.spawn_relay(net, &[]).unwrap();
    service
        .wait_for_log("relay started", SERVICE_TIMEOUT)
        .unwrap();
    service
}

/// A relay's health report, from the address in its configuration file.
fn relay_health(net: &str) -> Value {
    let config: Value =
        serde_json::from_slice(&std::fs::read(relay_config_path(net)).unwrap()).unwrap();
    healthz(config["health_address"].as_str().unwrap(), SERVICE_TIMEOUT).unwrap()
}

/// A responder per organisation of `net`, as `User1`.
fn responders(ehrx: &Ehrx, dir: &Path, net: &NetworkDescription, services: &mut Services) {
    for organization in &net.organizations {
        let name = format!("{}-{}", net.name, organization.name);
        let config = dir.join(format!("responder-{name}.json"));
        write_json(
            &config,
            &json!({
                "network_description": description_path(&net.name),
                "identity": {"msp_id": organization.msp_id, "user": "User1"},
                "checkpoint_file": format!("responder-{name}-checkpoint.json"),
                "retry": {"initial_ms": 200, "max_ms": 5000},
            }),
        )
        .unwrap();
        let mut service = ehrx.spawn_responder(&name, &config).unwrap();
        service
            .wait_for_log("responder started", SERVICE_TIMEOUT)
            .unwrap();
        services.push(service);
    }
}

/// `net`'s uploader (`User2` of org1) stores one synthetic patient;
/// returns the identifiers `ehr synthetic` printed.
fn synthetic_patient(ehrx: &Ehrx, net: &NetworkDescription, seed: &str) -> Value {
    let uploader = ehrx.as_user(
        &description_path(&net.name),
        &org(net, "org1").unwrap().msp_id,
        "User2",
    );
    let run = uploader.synthetic(seed, "1").unwrap();
    run.json().unwrap()[0].clone()
}

/// `doctor` asks `to` for `patient`'s history and waits for the reply;
/// returns how many records it holds, each verified.
fn request_history(doctor: &Ehrx, code: &str, key: &str, to: &str, patient: &Value) -> usize {
    let key_store = format!("reply-keys-{code}");
    let mut args = vec!["--json", "request", "--to", to];
    let named = patient_args(patient).unwrap();
    args.extend(named.iter().map(String::as_str));
    args.extend([
        "--requester-code",
        code,
        "--requester-key",
        key,
        "--key-store",
        &key_store,
        "--timeout",
        "120s",
    ]);
    let run = doctor.run(&args).unwrap();
    assert_eq!(run.code, Some(0), "{run}");
    let outcome = run.json().unwrap();
    assert_eq!(outcome["outcome"], "reply_ready", "{run}");
    let request_id = outcome["request_id"].as_str().unwrap();
    let shown = doctor
        .ok([
            "--json",
            "reply",
            "show",
            request_id,
            "--requester-key",
            key,
        ])
        .unwrap();
    let reply = shown.json().unwrap();
    assert_eq!(reply["replying_network"], to, "{shown}");
    reply["records"].as_array().unwrap().len()
}

#[test]
fn a_third_network_joins_while_the_others_run_and_exchanges_both_ways() {
    let started = Instant::now();
    let networks = Networks::up().unwrap();
    let net1 = networks.get("net1").unwrap().clone();
    let net2 = networks.get("net2").unwrap().clone();
    let dir = fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "ehrx-live-join").unwrap();
    let ehrx = Ehrx::new(&dir).unwrap();
    std::fs::write(dir.join("matching.key"), format!("{MATCHING_KEY}\n")).unwrap();
    for key in ["doctor1.key", "doctor3.key"] {
        ehrx.ok(["keys", "requester", "--out", key]).unwrap();
    }
    for net in ["net1", "net2"] {
        ehrx.publish_network_key(net).unwrap();
    }

    // --- I and II, set up for each other, with their services.
    let setup1 = |remotes: Vec<Value>| {
        json!({
            "network": {"network_id": "net1", "rate_limit_max": 5},
            "remote_networks": remotes,
            "requesters": [{"code": "DR-0001", "user": "User2", "requester_key_file": "doctor1.key"}],
            "relays": [{"user": "User3"}],
        })
    };
    let setup2 = |remotes: Vec<Value>| {
        json!({
            "network": {"network_id": "net2", "rate_limit_max": 5},
            "remote_networks": remotes,
            "relays": [{"user": "User3"}],
            "uploaders": [{"user": "User2"}],
            "responders": [{"user": "User1"}, {"user": "User1", "org": org(&net2, "org2").unwrap().msp_id}],
        })
    };
    apply_setup(&ehrx, &dir, &net1, &setup1(vec![remote(&net2)]));
    apply_setup(&ehrx, &dir, &net2, &setup2(vec![remote(&net1)]));
    let mut services = Services::default();
    let relay1 = relay(&ehrx, "net1");
    let relay2 = relay(&ehrx, "net2");
    responders(&ehrx, &dir, &net2, &mut services);
    let on_net2 = synthetic_patient(&ehrx, &net2, "21");
    eprintln!("I and II running in {:?}", started.elapsed());

    // --- III joins: nothing of I or II restarts.
    let before = node_pids(&["net1", "net2"]).unwrap();
    let (relay1_pid, relay2_pid) = (relay1.pid(), relay2.pid());
    let joined = Instant::now();
    let net3 = networks.add("net3").unwrap().clone();
    eprintln!("III up in {:?}", joined.elapsed());
    ehrx.publish_network_key("net3").unwrap();
    let org2_of_3 = org(&net3, "org2").unwrap().msp_id.clone();
    let calls = apply_setup(
        &ehrx,
        &dir,
        &net3,
        &json!({
            "network": {"network_id": "net3", "rate_limit_max": 5},
            "remote_networks": [remote(&net1), remote(&net2)],
            "requesters": [{"code": "DR-0003", "user": "User2", "org": org2_of_3,
                            "requester_key_file": "doctor3.key"}],
            "relays": [{"user": "User3"}],
            "uploaders": [{"user": "User2"}],
            "responders": [{"user": "User1"}, {"user": "User1", "org": org2_of_3}],
        }),
    );
    assert!(calls >= 9, "{calls} calls");
    apply_setup(
        &ehrx,
        &dir,
        &net1,
        &setup1(vec![remote(&net2), remote(&net3)]),
    );
    apply_setup(
        &ehrx,
        &dir,
        &net2,
        &setup2(vec![remote(&net1), remote(&net3)]),
    );
    for (service, net) in [(&relay1, "net1"), (&relay2, "net2")] {
        service.hangup().unwrap();
        let deadline = Instant::now() + SERVICE_TIMEOUT;
        while relay_health(net)["reloads"] != 1 {
            assert!(
                Instant::now() < deadline,
                "relay {net} did not reload: {}\n{}",
                relay_health(net),
                service.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let relay3 = relay(&ehrx, "net3");
    responders(&ehrx, &dir, &net3, &mut services);
    let on_net3 = synthetic_patient(&ehrx, &net3, "31");
    eprintln!("III registered and running in {:?}", joined.elapsed());

    // --- I → III and III → II.
    let doctor1 = ehrx.as_user(
        &description_path("net1"),
        &org(&net1, "org1").unwrap().msp_id,
        "User2",
    );
    let exchange = Instant::now();
    let records = request_history(&doctor1, "DR-0001", "doctor1.key", "net3", &on_net3);
    assert!(records > 5, "{records} records from III");
    eprintln!("I → III: {records} records in {:?}", exchange.elapsed());
    let doctor3 = ehrx.as_user(&description_path("net3"), &org2_of_3, "User2");
    let exchange = Instant::now();
    let records = request_history(&doctor3, "DR-0003", "doctor3.key", "net2", &on_net2);
    assert!(records > 5, "{records} records from II");
    eprintln!("III → II: {records} records in {:?}", exchange.elapsed());

    // The same processes throughout on I and II.
    assert_eq!(node_pids(&["net1", "net2"]).unwrap(), before);
    assert_eq!((relay1.pid(), relay2.pid()), (relay1_pid, relay2_pid));
    for service in [relay1, relay2, relay3] {
        services.push(service);
    }
    services.stop_all(SERVICE_TIMEOUT).unwrap();
    networks.down().unwrap();
    eprintln!("done in {:?}", started.elapsed());
}
