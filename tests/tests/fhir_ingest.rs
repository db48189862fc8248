//! FHIR as hospitals send it (issue 14), through the `ehrx` CLI on the two
//! real networks, set up once for every case:
//!
//! - a transaction Bundle whose entries have no ids, only `urn:uuid:`
//!   fullUrls and references, is uploaded, exchanged and returned with its
//!   references resolved and every resource otherwise unchanged, decimals
//!   at the limits of f64 textually identical in `--json` and the HTML;
//! - `Observation/1` and `Condition/1` of one patient both round-trip;
//! - two patients whose Bundles share an Organization both upload, and
//!   each reply includes it;
//! - a Bundle refused at its last entry leaves nothing stored (the chain
//!   does not grow, and the patient stays unknown);
//! - a request for an unknown patient prints its NOT_FOUND reason from
//!   `request`, `status` and `--json`.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::path::{Path, PathBuf};

use ehrx_lab::ehrx_cli::{Ehrx, Run, fresh_dir, reply_args, requester_args, write_json};
use ehrx_lab::exchange::{ExchangeSetup, org};
use ehrx_lab::forge::height;
use ehrx_lab::networks::{Networks, description_path};
use serde_json::{Value, json};

const DOCTOR: &str = "DR-0001";
/// Patient refs (as a consortium's HMAC would give them).
const ALICE: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const BOB: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
const CAROL: &str = "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0";
const PATIENT_UUID: &str = "3f0b8c1e-6a2d-4e9f-8b7a-1c2d3e4f5a6b";
const GLUCOSE_UUID: &str = "7d9e0f1a-2b3c-4d5e-8f60-718293a4b5c6";
const LACTATE_UUID: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d";
/// Decimals a trip through f64 would change or drop.
const DECIMALS: [&str; 2] = ["9.071778718846515", "0.1000"];
const NO_RECORDS: &str = "no records of this patient in the requested categories";

/// The Organization every hospital Bundle repeats, byte for byte.
fn organization() -> Value {
    json!({"resourceType": "Organization", "id": "general-hospital", "name": "General Hospital",
           "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}]})
}

/// A lab result with `value` (JSON number text) and a reference to the
/// patient by its fullUrl.
fn lab(code: &str, display: &str, value: &str, unit: &str) -> Value {
    let text = format!(
        r#"{{"resourceType": "Observation", "status": "final",
            "category": [{{"coding": [{{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}]}}],
            "code": {{"coding": [{{"system": "http://loinc.org", "code": "{code}", "display": "{display}"}}], "text": "{display}"}},
            "subject": {{"reference": "urn:uuid:{PATIENT_UUID}"}},
            "performer": [{{"reference": "Organization/general-hospital"}}],
            "effectiveDateTime": "2025-11-02",
            "valueQuantity": {{"value": {value}, "unit": "{unit}", "system": "http://unitsofmeasure.org", "code": "{unit}"}}}}"#
    );
    serde_json::from_str(&text).unwrap()
}

/// Alice's history as hospitals send it: a transaction Bundle, POSTs with
/// no ids, references by `urn:uuid:`; plus `Observation/1` and
/// `Condition/1` (PUT with ids) and the shared Organization.
fn alice_transaction() -> Value {
    let post = |full_url: String, resource: Value| {
        json!({"fullUrl": full_url, "resource": resource,
               "request": {"method": "POST", "url": resource["resourceType"]}})
    };
    json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            post(format!("urn:uuid:{PATIENT_UUID}"), json!({"resourceType": "Patient",
                "name": [{"family": "Liddell", "given": ["Alice"]}], "gender": "female", "birthDate": "1852-05-04"})),
            post(format!("urn:uuid:{GLUCOSE_UUID}"), lab("2345-7", "Glucose", DECIMALS[0], "mmol/L")),
            post(format!("urn:uuid:{LACTATE_UUID}"), lab("2524-7", "Lactate", DECIMALS[1], "mmol/L")),
            {"fullUrl": "urn:uuid:0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5",
             "resource": {"resourceType": "Observation", "id": "1", "status": "final",
                          "code": {"text": "Body height"}, "subject": {"reference": format!("urn:uuid:{PATIENT_UUID}")},
                          "valueQuantity": {"value": 1.65, "unit": "m"}},
             "request": {"method": "PUT", "url": "Observation/1"}},
            {"fullUrl": "urn:uuid:1d2e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6",
             "resource": {"resourceType": "Condition", "id": "1", "code": {"text": "Asthma"},
                          "subject": {"reference": format!("urn:uuid:{PATIENT_UUID}")}},
             "request": {"method": "PUT", "url": "Condition/1"}},
            {"fullUrl": "http://hospital.example/fhir/Organization/general-hospital",
             "resource": organization(),
             "request": {"method": "PUT", "url": "Organization/general-hospital"}},
        ],
    })
}

/// Bob's history: a collection Bundle repeating the Organization.
fn bob_collection() -> Value {
    json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "bob", "name": [{"family": "Builder", "given": ["Bob"]}]}},
        {"resource": organization()},
    ]})
}

/// Carol's Bundle: fine until its last entry, which names the shared
/// Organization's id with other content.
fn carol_refused_at_the_end() -> Value {
    let mut other = organization();
    other["name"] = "Not General Hospital".into();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
         "resource": {"resourceType": "Patient", "name": [{"family": "Carol"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:6f7a8b9c-0d1e-4f2a-8b3c-4d5e6f7a8b9c",
         "resource": {"resourceType": "Observation", "status": "final", "code": {"text": "Weight"},
                      "subject": {"reference": "urn:uuid:5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"}},
         "request": {"method": "POST", "url": "Observation"}},
        {"resource": other, "request": {"method": "PUT", "url": "Organization/general-hospital"}},
    ]})
}

/// Runs a CLI command off the async workers (relays and responders run on
/// them meanwhile).
async fn cli(ehrx: &Ehrx, args: &[&str]) -> Run {
    let ehrx = ehrx.clone();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || ehrx.run(&args).unwrap())
        .await
        .unwrap()
}

/// `ehr put --json <file> --patient-ref <patient>`.
async fn put(uploader: &Ehrx, file: &str, patient: &str) -> Run {
    cli(
        uploader,
        &["--json", "ehr", "put", file, "--patient-ref", patient],
    )
    .await
}

/// `request --to net2 --patient-ref <patient>` as the doctor.
async fn request(doctor: &Ehrx, json: bool, patient: &str) -> Run {
    let json = if json { &["--json"][..] } else { &[] };
    let args: Vec<&str> = json
        .iter()
        .copied()
        .chain(["request", "--to", "net2", "--patient-ref", patient])
        .chain(requester_args(DOCTOR))
        .chain(["--timeout", "60s"])
        .collect();
    cli(doctor, &args).await
}

/// The reply to `request_id` as `--json`, and as HTML (the page's text).
async fn reply(doctor: &Ehrx, dir: &Path, request_id: &str) -> (Run, String) {
    let args: Vec<&str> = ["--json"]
        .into_iter()
        .chain(reply_args(request_id))
        .collect();
    let json = cli(doctor, &args).await;
    assert_eq!(json.code, Some(0), "{json}");
    let html = format!("{request_id}.html");
    let args: Vec<&str> = reply_args(request_id)
        .into_iter()
        .chain(["--html", html.as_str()])
        .collect();
    let run = cli(doctor, &args).await;
    assert_eq!(run.code, Some(0), "{run}");
    (json, std::fs::read_to_string(dir.join(html)).unwrap())
}

/// `(a, b)` of each object in the array `list`, as strings.
fn pairs(list: &Value, a: &str, b: &str) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                item[a].as_str().unwrap().to_owned(),
                item[b].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The request id `request --json` printed.
fn request_id(run: &Run) -> String {
    assert_eq!(run.code, Some(0), "{run}");
    run.json().unwrap()["request_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn record_ids(shown: &Value) -> Vec<String> {
    shown["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record_id"].as_str().unwrap().to_owned())
        .collect()
}

/// `resource` with each reference to an entry's `urn:uuid:` fullUrl put
/// back as it was sent.
fn as_sent(resource: &Value, assigned: &[(String, String)]) -> Value {
    match resource {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, value)| {
                    let value = match (name.as_str(), value.as_str()) {
                        ("reference", Some(target)) => assigned
                            .iter()
                            .find(|(url, id)| id == target && url.starts_with("urn:uuid:"))
                            .map_or_else(|| value.clone(), |(url, _)| Value::from(url.clone())),
                        _ => as_sent(value, assigned),
                    };
                    (name.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| as_sent(v, assigned)).collect()),
        other => other.clone(),
    }
}

fn work_dir() -> PathBuf {
    fresh_dir(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("ehrx-cli"),
        "fhir-ingest",
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hospital_fhir_goes_in_whole_and_comes_back_exact() {
    let started = std::time::Instant::now();
    let networks = Networks::up().unwrap();
    let mut setup = ExchangeSetup::configure(&networks).await.unwrap();
    let dir = work_dir();
    setup.requester_key.save(&dir.join("doctor.key")).unwrap();
    let ehrx = Ehrx::new(&dir).unwrap();
    let (msp1, msp2) = (
        org(setup.net1, "org1").unwrap().msp_id.clone(),
        org(setup.net2, "org1").unwrap().msp_id.clone(),
    );
    let uploader = ehrx.as_user(&description_path("net2"), &msp2, "User2");
    let doctor = ehrx.as_user(&description_path("net1"), &msp1, "User2");
    eprintln!("set up in {:?}", started.elapsed());

    // --- A transaction Bundle: ids from the urn:uuid fullUrls, references
    // between entries rewritten, `--json` listing fullUrl -> Type/id.
    let alice = alice_transaction();
    write_json(&dir.join("alice.json"), &alice).unwrap();
    let run = put(&uploader, "alice.json", ALICE).await;
    assert_eq!(run.code, Some(0), "{run}");
    let stored = run.json().unwrap();
    let expected_ids = [
        format!("Patient/{PATIENT_UUID}"),
        format!("Observation/{GLUCOSE_UUID}"),
        format!("Observation/{LACTATE_UUID}"),
        "Observation/1".to_owned(),
        "Condition/1".to_owned(),
        "Organization/general-hospital".to_owned(),
    ];
    assert_eq!(record_ids(&stored), expected_ids, "{run}");
    assert!(
        stored["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["stored"] == "stored"),
        "{run}"
    );
    let assigned = pairs(&stored["assigned"], "full_url", "record_id");
    assert_eq!(
        assigned[0],
        (
            format!("urn:uuid:{PATIENT_UUID}"),
            format!("Patient/{PATIENT_UUID}")
        )
    );
    assert_eq!(assigned.len(), 6, "{run}");

    // --- Bob's Bundle repeats the Organization: stored once, shared.
    write_json(&dir.join("bob.json"), &bob_collection()).unwrap();
    let run = put(&uploader, "bob.json", BOB).await;
    assert_eq!(run.code, Some(0), "{run}");
    let kinds = pairs(&run.json().unwrap()["records"], "record_id", "stored");
    assert_eq!(
        kinds,
        [
            ("Patient/bob".to_owned(), "stored".to_owned()),
            (
                "Organization/general-hospital".to_owned(),
                "shared".to_owned()
            )
        ]
    );

    // --- Carol's Bundle is refused at its last entry: nothing stored.
    write_json(&dir.join("carol.json"), &carol_refused_at_the_end()).unwrap();
    let before = height(setup.net2).unwrap();
    let run = put(&uploader, "carol.json", CAROL).await;
    assert_eq!(run.code, Some(1), "{run}");
    for needle in [
        "uploading carol.json: refused, nothing of it is stored",
        "stored before it: nothing",
        "ALREADY_EXISTS",
        "record 2 of the upload",
        "Organization/general-hospital",
        "already exists with other content",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {run}");
    }
    assert_eq!(
        height(setup.net2).unwrap(),
        before,
        "a refused upload writes nothing"
    );

    // The relays and II's responders, from here on (they write to the
    // ledgers themselves).
    setup.start_relays().unwrap();
    setup.start_responders().await.unwrap();

    // --- Alice's reply: upload order, references resolved, every resource
    // otherwise as sent, decimals as written, in --json and in the HTML.
    let alice_request = request_id(&request(&doctor, true, ALICE).await);
    let (json, html) = reply(&doctor, &dir, &alice_request).await;
    let shown = json.json().unwrap();
    assert_eq!(record_ids(&shown), expected_ids, "{json}");
    assert_eq!(shown["complete"], true, "{json}");
    let entries = alice["entry"].as_array().unwrap();
    for (record, entry) in shown["records"].as_array().unwrap().iter().zip(entries) {
        let resource = &record["resource"];
        let (resource_type, id) = record["record_id"]
            .as_str()
            .unwrap()
            .split_once('/')
            .unwrap();
        assert_eq!(resource["resourceType"], resource_type);
        assert_eq!(resource["id"], id);
        let sent = &entry["resource"];
        let mut back = as_sent(resource, &assigned);
        if sent.get("id").is_none() {
            back.as_object_mut().unwrap().remove("id");
        }
        assert_eq!(&back, sent, "{}", record["record_id"]);
    }
    let glucose = &shown["records"][1]["resource"];
    assert_eq!(
        glucose["subject"]["reference"],
        format!("Patient/{PATIENT_UUID}")
    );
    assert_eq!(
        glucose["performer"][0]["reference"],
        "Organization/general-hospital"
    );
    for (index, decimal) in [(1, DECIMALS[0]), (2, DECIMALS[1])] {
        let value = &shown["records"][index]["resource"]["valueQuantity"]["value"];
        assert_eq!(value.to_string(), decimal);
        assert!(
            json.stdout.contains(&format!("\"value\": {decimal}")),
            "{decimal} in --json: {json}"
        );
        assert!(html.contains(decimal), "{decimal} in the HTML");
    }
    assert!(!json.stdout.contains("9.071778718846517"));

    // --- Bob's reply includes the shared Organization too.
    let bob_request = request_id(&request(&doctor, true, BOB).await);
    let (json, _) = reply(&doctor, &dir, &bob_request).await;
    let shown = json.json().unwrap();
    assert_eq!(
        record_ids(&shown),
        ["Patient/bob", "Organization/general-hospital"]
    );
    assert_eq!(shown["records"][1]["resource"], organization());

    // --- Carol is unknown on II (her refused upload left nothing): the
    // NOT_FOUND reason from `request`, `status` and `--json`.
    let run = request(&doctor, false, CAROL).await;
    assert_eq!(run.code, Some(3), "{run}");
    assert!(
        run.stdout
            .contains(&format!("refused (failed, not_found): {NO_RECORDS}")),
        "{run}"
    );
    let carol_request = run
        .stdout
        .strip_prefix("request ")
        .and_then(|rest| rest.split(':').next())
        .unwrap()
        .to_owned();
    let run = cli(&doctor, &["--json", "status", &carol_request]).await;
    let status = run.json().unwrap();
    assert_eq!(status["status"], "failed", "{run}");
    assert_eq!(status["refusal"], "not_found", "{run}");
    assert_eq!(status["reason"], NO_RECORDS, "{run}");
    assert_eq!(status["reply"]["status"], "not_found", "{run}");
    let run = cli(&doctor, &["status", &carol_request]).await;
    let line = run
        .stdout
        .lines()
        .find(|line| line.starts_with(&carol_request))
        .unwrap_or_else(|| panic!("{run}"));
    assert!(
        line.contains("failed (not_found)") && line.contains(NO_RECORDS),
        "{run}"
    );
    let run = request(&doctor, true, CAROL).await;
    assert_eq!(run.code, Some(3), "{run}");
    let outcome = run.json().unwrap();
    assert_eq!(outcome["outcome"], "refused", "{run}");
    assert_eq!(outcome["refusal"], "not_found", "{run}");
    assert_eq!(outcome["reason"], NO_RECORDS, "{run}");

    setup.stop().await.unwrap();
    networks.down().unwrap();
    eprintln!("fhir_ingest took {:?}", started.elapsed());
}
