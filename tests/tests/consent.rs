//! Patient consent with the `ehrx` CLI on the two real networks (issue 15),
//! networks up once for every case:
//!
//! - network II's setup file requires consent, allows break-glass and
//!   registers a consent manager (User3 of org1);
//! - with no consent the doctor's request is refused with `NO_CONSENT`;
//! - `ehrx consent put` (by the consent manager), `list`, and the request
//!   is answered; `ehrx consent revoke`, and it is refused again;
//! - an emergency request breaks the glass: answered, and `ehrx audit
//!   watch` sees its `BreakGlass` event;
//! - `ehrx audit disclosures` lists exactly the two disclosures, as text,
//!   HTML and a FHIR Bundle of AuditEvents;
//! - hostile consents and callers without the role are refused, writing
//!   nothing.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::path::Path;
use std::time::{Duration, Instant};

use ehrx_lab::cli_cast::Cast;
use ehrx_lab::ehrx_cli::{
    Ehrx, Run, Services, fresh_dir, patient_args, requester_args, write_json,
    write_walkthrough_setup,
};
use ehrx_lab::forge::height;
use ehrx_lab::networks::Networks;
use serde_json::{Value, json};

const DOCTOR: &str = "DR-0001";
const MATCHING_KEY: &str = "5a1e0c7b3f29d84e6a01b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607";
const SERVICE_TIMEOUT: Duration = Duration::from_secs(60);

/// The request's JSON outcome, with its exit status checked.
fn requested(run: &Run, outcome: &str, code: i32) -> Value {
    assert_eq!(run.code, Some(code), "{run}");
    let value = run.json().unwrap();
    assert_eq!(value["outcome"], outcome, "{run}");
    value
}

#[test]
fn consents_refusals_break_glass_and_the_accounting_of_disclosures_with_the_cli() {
    let started = Instant::now();
    let networks = Networks::up().unwrap();
    let (net1, net2) = (networks.get("net1").unwrap(), networks.get("net2").unwrap());
    let dir = fresh_dir(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("ehrx-cli"),
        "consent",
    )
    .unwrap();
    let ehrx = Ehrx::new(&dir).unwrap();
    let cast = Cast::of(&ehrx, &networks).unwrap();
    let (net1_admin, doctor) = (&cast.net1_admin, &cast.doctor);
    let (net2_admin, uploader) = (&cast.net2_admin, &cast.uploader);
    // User3 of II, registered below as II's consent manager.
    let manager = &cast.net2_user3;

    // --- Setup: II requires consent, allows break-glass, has a manager.
    ehrx.ok(["keys", "requester", "--out", "doctor.key"])
        .unwrap();
    std::fs::write(dir.join("matching.key"), format!("{MATCHING_KEY}\n")).unwrap();
    for net in ["net1", "net2"] {
        ehrx.publish_network_key(net).unwrap();
    }
    write_walkthrough_setup(&dir, net1, net2, DOCTOR).unwrap();
    let path = dir.join("setup-net2.json");
    let mut setup: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    setup["network"]["consent_required"] = json!(true);
    setup["network"]["break_glass"] = json!(true);
    setup["consent_managers"] = json!([{"user": "User3"}]);
    write_json(&path, &setup).unwrap();
    net1_admin
        .ok(["admin", "setup", "--file", "setup-net1.json"])
        .unwrap();
    net2_admin
        .ok(["admin", "setup", "--file", "setup-net2.json"])
        .unwrap();
    let run = uploader.synthetic("15", "1").unwrap();
    let synthetic = run.json().unwrap();
    let patient = synthetic[0].clone();
    let patient_ref = patient["patient_ref"].as_str().unwrap().to_owned();
    let named = patient_args(&patient).unwrap();

    let mut services = Services::walkthrough(&ehrx, &dir, net2, SERVICE_TIMEOUT).unwrap();
    eprintln!(
        "networks up, set up, services running in {:?}",
        started.elapsed()
    );

    let request = |purpose: &str| -> Run {
        doctor
            .run(
                ["--json", "request", "--to", "net2", "--purpose", purpose]
                    .into_iter()
                    .chain(named.iter().map(String::as_str))
                    .chain(requester_args(DOCTOR))
                    .chain(["--timeout", "120s"]),
            )
            .unwrap()
    };

    // --- No consent: refused with the reason, exit status 3.
    let refused = requested(&request("treatment"), "refused", 3);
    let reason = refused["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("[NO_CONSENT]"), "{refused}");
    assert!(
        reason.contains("the patient has no consent here"),
        "{refused}"
    );

    // --- Hostile consents and callers without the role write nothing.
    let before = height(net2).unwrap();
    std::fs::write(dir.join("array.json"), "[1,2]").unwrap();
    std::fs::write(
        dir.join("twice.json"),
        r#"{"resourceType":"Consent","id":"a","id":"b"}"#,
    )
    .unwrap();
    for (file, needle) in [
        ("array.json", "must be a JSON object"),
        ("twice.json", "repeats the key"),
    ] {
        let run = manager.run(["consent", "put", "--file", file]).unwrap();
        assert_eq!(run.code, Some(1), "{run}");
        assert!(run.stderr.contains(needle), "{run}");
    }
    let put_args = [
        "consent",
        "put",
        "--patient",
        &patient_ref,
        "--id",
        "c-1",
        "--to-network",
        "net1",
        "--purpose",
        "treatment",
        "--until",
        "2099-12-31",
    ];
    let run = uploader.run(put_args).unwrap();
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("access denied"), "{run}");
    assert_eq!(
        height(net2).unwrap(),
        before,
        "refused consents write nothing"
    );

    // --- A consent by the manager: listed, and the request is answered.
    let stored = manager
        .ok(["--json"].into_iter().chain(put_args))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(stored["consent"]["consent_id"], "c-1", "{stored}");
    assert_eq!(
        stored["receipt"]["sha256"].as_str().map(str::len),
        Some(64),
        "{stored}"
    );
    let listed = net2_admin
        .ok(["--json", "consent", "list", "--patient", &patient_ref])
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let by_consent = requested(&request("treatment"), "reply_ready", 0);
    let by_consent = by_consent["request_id"].as_str().unwrap().to_owned();

    // --- Revoked: listed inactive, refused again.
    manager
        .ok([
            "consent",
            "revoke",
            "--patient",
            &patient_ref,
            "--id",
            "c-1",
        ])
        .unwrap();
    let run = net2_admin
        .ok(["consent", "list", "--patient", &patient_ref])
        .unwrap();
    assert!(run.stdout.contains("inactive"), "{run}");
    let refused = requested(&request("treatment"), "refused", 3);
    assert!(
        refused["reason"]
            .as_str()
            .is_some_and(|r| r.contains("consent c-1 is not active")),
        "{refused}"
    );

    // --- Break-glass: answered, its event seen by the admin's watch.
    let emergency = requested(&request("emergency"), "reply_ready", 0);
    let emergency = emergency["request_id"].as_str().unwrap().to_owned();
    let run = net2_admin
        .ok([
            "--json",
            "audit",
            "watch",
            "--count",
            "1",
            "--timeout",
            "60s",
        ])
        .unwrap();
    let notice: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(notice["request_id"], emergency.as_str(), "{run}");
    assert_eq!(notice["receiving_network"], "net1", "{run}");
    let security = net2_admin
        .ok(["--json", "audit", "security"])
        .unwrap()
        .json()
        .unwrap();
    assert!(
        security
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "break_glass" && e["request_id"] == emergency.as_str()),
        "{security}"
    );

    // --- The accounting of disclosures: exactly the two, in three forms.
    let disclosures = |format: &str| {
        net2_admin
            .ok([
                "audit",
                "disclosures",
                "--patient",
                &patient_ref,
                "--format",
                format,
            ])
            .unwrap()
            .stdout
    };
    let text = disclosures("text");
    assert!(text.contains("2 disclosure(s)"), "{text}");
    assert!(
        text.contains(&by_consent) && text.contains(&emergency),
        "{text}"
    );
    assert!(text.contains("basis: consent c-1"), "{text}");
    assert!(text.contains("BREAK-GLASS"), "{text}");
    assert!(text.contains(&format!("to net1 / {DOCTOR}")), "{text}");
    let html = disclosures("html");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert_eq!(html.matches("<tr").count(), 3, "{html}");
    let bundle: Value = serde_json::from_str(&disclosures("fhir")).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    let events = bundle["entry"].as_array().unwrap();
    let ids: Vec<&str> = events
        .iter()
        .map(|e| {
            e["fullUrl"]
                .as_str()
                .unwrap()
                .trim_start_matches("urn:uuid:")
        })
        .collect();
    assert_eq!(ids, [by_consent.as_str(), emergency.as_str()], "{bundle}");
    assert!(
        events
            .iter()
            .all(|e| e["resource"]["resourceType"] == "AuditEvent")
    );

    services.stop_all(SERVICE_TIMEOUT).unwrap();
    networks.down().unwrap();
    eprintln!("done in {:?}", started.elapsed());
}
