//! The `ehrx` binary as a user meets it, without any Fabric network: its
//! help, its offline commands, and its exit status and message for each
//! kind of mistake (usage errors exit 2 from clap, every other failure
//! exits 1 with one `error:` line naming what is wrong).

#![cfg(test)]

use std::{
    path::Path,
    process::{Command, Output},
};

fn ehrx(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ehrx"))
        .args(args)
        .current_dir(dir)
        .env_remove("EHRX_NETWORK")
        .env_remove("EHRX_ORG")
        .env_remove("EHRX_USER")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `ehrx` with `args`, which must fail (exit 1) with a message
/// naming each of `named`.
fn fails_naming(dir: &Path, args: &[&str], named: &[&str]) {
    let output = ehrx(dir, args);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{args:?}: {text}");
    for name in named {
        assert!(text.contains(name), "{name:?} is not in {text}");
    }
}

/// `command` run as `user` of `org` on the network `network` describes.
fn as_user<'a>(network: &'a str, org: &'a str, user: &'a str, command: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--network", network, "--org", org, "--user", user];
    args.extend_from_slice(command);
    args
}

/// A description of one organisation with one user, no peers.
fn write_description(dir: &Path) -> std::path::PathBuf {
    let cert = dir.join("user.pem");
    std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\n").unwrap();
    let json = serde_json::json!({
        "name": "net1", "title": "Network I", "channel": "ehrchannel",
        "fabric_version": "3.1.5", "channel_capability": "V3_0", "orderer_type": "raft", "orderers": [],
        "organizations": [{
            "name": "org1", "msp_id": "Net1Org1MSP", "domain": "org1.example.com",
            "msp_dir": dir, "ca_cert": dir.join("ca.pem"), "tls_ca_cert": dir.join("tlsca.pem"),
            "peers": [],
            "users": [{
                "name": "Admin", "role": "admin", "key_type": "ecdsa", "msp_dir": dir,
                "cert": cert, "key": dir.join("key.pem"),
                "tls_cert": dir.join("tls.crt"), "tls_key": dir.join("tls.key"),
            }],
        }],
    });
    let path = dir.join("network.json");
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let output = ehrx(dir.path(), &["--help"]);
    assert!(output.status.success());
    let help = stdout(&output);
    for command in [
        "admin",
        "keys",
        "ehr",
        "request",
        "reply",
        "status",
        "audit",
        "relay",
        "responder",
    ] {
        assert!(help.contains(command), "{command} missing from:\n{help}");
    }
    let output = ehrx(dir.path(), &["admin", "setup", "--help"]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("--file"));
}

#[test]
fn usage_mistakes_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = ehrx(dir.path(), &["request", "--to", "net2"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("required"), "{}", stderr(&output));
    let output = ehrx(dir.path(), &["teleport"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_requester_key_is_made_once_and_its_public_key_printed() {
    let dir = tempfile::tempdir().unwrap();
    let output = ehrx(dir.path(), &["keys", "requester", "--out", "doctor.key"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let public = stdout(&output).trim().to_string();
    assert_eq!(public.len(), 64, "{public}");
    assert!(dir.path().join("doctor.key").exists());

    let again = ehrx(dir.path(), &["keys", "requester", "--out", "doctor.key"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).starts_with("error: doctor.key already exists"),
        "{}",
        stderr(&again)
    );

    let json = ehrx(
        dir.path(),
        &["--json", "keys", "requester", "--out", "nurse.key"],
    );
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["file"], "nurse.key");
    assert_eq!(value["public_key"].as_str().unwrap().len(), 64);
}

#[test]
fn a_network_keys_public_half_is_printed_and_bad_keys_named() {
    let dir = tempfile::tempdir().unwrap();
    // RFC 8032 §7.1, test 1.
    std::fs::write(
        dir.path().join("network-key.hex"),
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n",
    )
    .unwrap();
    let output = ehrx(
        dir.path(),
        &["admin", "network-key", "--key-file", "network-key.hex"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).trim(),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    std::fs::write(dir.path().join("short.hex"), "abcd").unwrap();
    fails_naming(
        dir.path(),
        &["admin", "network-key", "--key-file", "short.hex"],
        &["short.hex is 4 bytes long, expected 64 lower-case hex digits"],
    );
}

#[test]
fn missing_options_files_and_users_are_named() {
    let dir = tempfile::tempdir().unwrap();
    fails_naming(dir.path(), &["status"], &["--network (or EHRX_NETWORK)"]);
    fails_naming(
        dir.path(),
        &as_user("absent.json", "org1", "Admin", &["status"]),
        &["absent.json"],
    );

    let description = write_description(dir.path());
    let network = description.to_str().unwrap();
    fails_naming(
        dir.path(),
        &as_user(network, "org1", "Nobody", &["status"]),
        &["has no user Nobody"],
    );
    fails_naming(
        dir.path(),
        &as_user(network, "org9", "Admin", &["status"]),
        &["org9", "Net1Org1MSP"],
    );
}

#[test]
fn a_bad_setup_file_fails_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let description = write_description(dir.path());
    std::fs::write(
        dir.path().join("setup.json"),
        r#"{"network": {"network_id": "net1"}, "requesters": [{"code": "DR-1", "user": "Admin"}]}"#,
    )
    .unwrap();
    fails_naming(
        dir.path(),
        &as_user(
            description.to_str().unwrap(),
            "org1",
            "Admin",
            &["admin", "setup", "--file", "setup.json"],
        ),
        &["setup file setup.json", "requesters[0] (DR-1)"],
    );
}

#[test]
fn services_name_their_missing_configuration() {
    let dir = tempfile::tempdir().unwrap();
    for service in ["relay", "responder"] {
        fails_naming(
            dir.path(),
            &[service, "--config", "absent.json"],
            &["absent.json"],
        );
    }
}
