//! The `ehrx` command-line tool on the two real networks, run as child
//! processes the way its users run it:
//!
//! - a doctor makes a requester key; each network's admin reads the other
//!   network's public key and applies a setup file (lookup table, relay,
//!   requester on I; uploader and a responder per organisation on II);
//! - network II's uploader puts a FHIR Bundle and a synthetic patient;
//! - both relays and II's two responders run as `ehrx relay` and
//!   `ehrx responder` until SIGTERM;
//! - the doctor requests histories (a whole one, one category of another,
//!   an unknown patient), reads the replies as text, HTML and JSON, and
//!   looks at their status; the admins read the audit trails.
//!
//! Bad input gets a non-zero exit status and a message naming the problem,
//! and writes nothing: a file that is not FHIR, a record stored twice, an
//! identity without the role, a setup file with a typo, another user
//! reading the doctor's reply, and options or files that are missing.

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ehrx_client::ehr::{MatchingKey, PatientIdentifiers};
use ehrx_lab::cli_cast::Cast;
use ehrx_lab::ehrx_cli::{
    Ehrx, Run, Services, fresh_dir, healthz, patient_args, requester_args, write_json,
    write_walkthrough_setup,
};
use ehrx_lab::exchange::{network_public_key, relay_config_path};
use ehrx_lab::forge::height;
use ehrx_lab::networks::Networks;
use serde_json::{Value, json};

/// The doctor's requester code.
const DOCTOR: &str = "DR-0001";
/// The consortium's matching key (64 hex digits), shared by both networks.
const MATCHING_KEY: &str = "5a1e0c7b3f29d84e6a01b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607";
/// The patient whose FHIR file is uploaded: name, date of birth, SSN (the
/// 900 area is never issued).
const ADA: [&str; 3] = ["Ada Lovelace", "1815-12-10", "900-12-3456"];
/// How long a service may take to follow its events, or to stop.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(60);

/// Asserts a command failed with `code`, said why on stderr (all of
/// `needles`), and printed no result.
fn assert_fails(run: &Run, code: i32, needles: &[&str]) {
    assert_eq!(run.code, Some(code), "{run}");
    assert!(run.stderr.starts_with("error: "), "{run}");
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "stderr lacks {needle:?}: {run}"
        );
    }
    assert_eq!(run.stdout, "", "{run}");
}

/// A patient's history as a hospital exports it: a FHIR R4 Bundle.
fn ada_bundle() -> Value {
    let subject = json!({"reference": "Patient/ada-patient"});
    let coded = |system: &str, code: &str, display: &str| json!({"coding": [{"system": system, "code": code, "display": display}]});
    let snomed = "http://snomed.info/sct";
    json!({
        "resourceType": "Bundle",
        "id": "ada-history",
        "type": "collection",
        "entry": [
            {"resource": {
                "resourceType": "Patient", "id": "ada-patient",
                "name": [{"use": "official", "family": "Lovelace", "given": ["Ada"]}],
                "gender": "female", "birthDate": ADA[1],
            }},
            {"resource": {
                "resourceType": "Condition", "id": "ada-hypertension",
                "clinicalStatus": coded("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
                "code": coded(snomed, "59621000", "Essential hypertension"),
                "subject": subject, "onsetDateTime": "2019-03-14",
            }},
            {"resource": {
                "resourceType": "MedicationStatement", "id": "ada-lisinopril", "status": "active",
                "medicationCodeableConcept": coded("http://www.nlm.nih.gov/research/umls/rxnorm", "314076", "Lisinopril 10 MG Oral Tablet"),
                "subject": subject, "dosage": [{"text": "10 mg by mouth once daily"}],
            }},
            {"resource": {
                "resourceType": "AllergyIntolerance", "id": "ada-penicillin", "criticality": "high",
                "code": coded(snomed, "764146007", "Penicillin"),
                "patient": subject,
                "reaction": [{"manifestation": [coded(snomed, "247472004", "Hives")]}],
            }},
            {"resource": {
                "resourceType": "Observation", "id": "ada-bp-systolic", "status": "final",
                "code": coded("http://loinc.org", "8480-6", "Systolic blood pressure"),
                "subject": subject, "effectiveDateTime": "2025-11-02",
                "valueQuantity": {"value": 142, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
            }},
        ],
    })
}

/// What Ada's summary must show, from the Bundle above.
const ADA_SUMMARY: &[&str] = &[
    "Ada Lovelace",
    "Essential hypertension",
    "Lisinopril 10 MG Oral Tablet",
    "10 mg by mouth once daily",
    "Penicillin",
    "Hives",
    "Systolic blood pressure",
    "142 mmHg",
];

/// The patient arguments of a command naming Ada by her identifiers.
fn ada_args() -> Vec<&'static str> {
    vec![
        "--patient-name",
        ADA[0],
        "--dob",
        ADA[1],
        "--ssn",
        ADA[2],
        "--matching-key",
        "matching.key",
    ]
}

/// The request id in `ehrx request`'s text output (`request <id>: ...`).
fn request_id_in(text: &str) -> String {
    text.strip_prefix("request ")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("no request id in {text:?}"))
        .to_string()
}

/// The kinds of the entries of a `--json audit` answer.
fn audit_kinds(run: &Run) -> Vec<String> {
    run.json()
        .unwrap()
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {run}"))
        .iter()
        .map(|entry| entry["kind"].as_str().unwrap().to_string())
        .collect()
}

/// `(record_id, sha256)` of each record in a JSON array the CLI printed.
fn ids_and_hashes(records: &Value) -> BTreeSet<(String, String)> {
    records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["record_id"].as_str().unwrap().to_string(),
                r["sha256"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A fresh working directory for one test.
fn work_dir(test: &str) -> PathBuf {
    fresh_dir(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("ehrx-cli"),
        test,
    )
    .unwrap()
}

#[test]
fn usage_errors_and_missing_files_are_named_without_touching_a_network() {
    let dir = work_dir("usage");
    let ehrx = Ehrx::new(&dir).unwrap();
    let patient_ref = "ab".repeat(32);

    // An option that does not exist: a usage error (2) naming it.
    let run = ehrx.run(["--frobnicate", "status"]).unwrap();
    assert_fails(&run, 2, &["unexpected argument '--frobnicate'"]);

    // A required option left out, and a value that does not parse.
    let request = [
        "request",
        "--to",
        "net2",
        "--patient-ref",
        &patient_ref,
        "--requester-key",
        "doctor.key",
        "--key-store",
        "keys",
    ];
    let run = ehrx.run(request).unwrap();
    assert_fails(&run, 2, &["required arguments", "--requester-code"]);
    let run = ehrx
        .run(
            request
                .iter()
                .chain(&["--requester-code", DOCTOR, "--timeout", "soon"]),
        )
        .unwrap();
    assert_fails(&run, 2, &["\"soon\" is not a duration"]);
    let run = ehrx.run(["reply", "show", "some-id"]).unwrap();
    assert_fails(&run, 2, &["--requester-key", "--key-store"]);

    // No identity: the command says which options (or variables) it needs.
    let run = ehrx.run(["status"]).unwrap();
    assert_fails(
        &run,
        1,
        &["this command needs --network (or EHRX_NETWORK), given before the subcommand"],
    );

    // Files that are not there are named.
    let nowhere = dir.join("nowhere/network.json");
    let run = ehrx
        .as_user(&nowhere, "Net1Org1MSP", "User2")
        .run(["status"])
        .unwrap();
    assert_fails(
        &run,
        1,
        &["loading the network description", "nowhere/network.json"],
    );
    let run = ehrx
        .run(["ehr", "put", "gone.json", "--patient-ref", &patient_ref])
        .unwrap();
    assert_fails(
        &run,
        1,
        &["gone.json is not an uploadable FHIR R4 file", "cannot read"],
    );
    let run = ehrx
        .run(["admin", "network-key", "--key-file", "missing.hex"])
        .unwrap();
    assert_fails(&run, 1, &["network key file missing.hex"]);
    let run = ehrx
        .run(["responder", "--config", "responder.json"])
        .unwrap();
    assert_fails(
        &run,
        1,
        &["reading the responder configuration responder.json"],
    );

    // A requester key is made once, owner-only, and never overwritten.
    let made = ehrx
        .ok(["keys", "requester", "--out", "doctor.key"])
        .unwrap();
    let public_key = made.stdout.trim();
    assert!(
        public_key.len() == 64 && public_key.bytes().all(|b| b.is_ascii_hexdigit()),
        "{made}"
    );
    let key_file = dir.join("doctor.key");
    let bytes = std::fs::read(&key_file).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let run = ehrx
        .run(["keys", "requester", "--out", "doctor.key"])
        .unwrap();
    assert_fails(&run, 1, &["doctor.key already exists", "never overwritten"]);
    assert_eq!(std::fs::read(&key_file).unwrap(), bytes);
}

#[test]
fn admins_a_doctor_and_the_services_exchange_a_history_with_the_cli() {
    let started = Instant::now();
    let networks = Networks::up().unwrap();
    let (net1, net2) = (networks.get("net1").unwrap(), networks.get("net2").unwrap());
    let dir = work_dir("exchange");
    let ehrx = Ehrx::new(&dir).unwrap();
    let cast = Cast::of(&ehrx, &networks).unwrap();
    let (net1_admin, doctor, colleague) = (&cast.net1_admin, &cast.doctor, &cast.colleague);
    let (net2_admin, uploader, responder) = (&cast.net2_admin, &cast.uploader, &cast.responder);
    eprintln!("networks up and ehrx built in {:?}", started.elapsed());

    // --- Keys: the doctor's X25519 key, each network's public Ed25519 key.
    ehrx.ok(["keys", "requester", "--out", "doctor.key"])
        .unwrap();
    std::fs::write(dir.join("matching.key"), format!("{MATCHING_KEY}\n")).unwrap();
    for net in ["net1", "net2"] {
        let published = ehrx.publish_network_key(net).unwrap();
        assert_eq!(published, network_public_key(net).unwrap());
    }

    // --- Setup files, as each admin writes them: each network's trust in
    // the other (its channel and every organisation's CA root certificate,
    // as the other admin hands it over), registries.
    write_walkthrough_setup(&dir, net1, net2, DOCTOR).unwrap();
    // A typo is caught before anything is written.
    write_json(
        &dir.join("setup-typo.json"),
        &json!({"network": {"network_id": "net1"}, "requestors": []}),
    )
    .unwrap();
    let before = height(net1).unwrap();
    let run = net1_admin
        .run(["admin", "setup", "--file", "setup-typo.json"])
        .unwrap();
    assert_fails(
        &run,
        1,
        &["setup-typo.json", "unknown field \"requestors\""],
    );
    assert_eq!(
        height(net1).unwrap(),
        before,
        "a refused setup writes nothing"
    );

    // Both admins at once, as two hospitals would.
    let setup = Instant::now();
    let pending1 = net1_admin
        .start(["--json", "admin", "setup", "--file", "setup-net1.json"])
        .unwrap();
    let pending2 = net2_admin
        .start(["--json", "admin", "setup", "--file", "setup-net2.json"])
        .unwrap();
    for (pending, calls) in [(pending1, 5), (pending2, 7)] {
        let run = pending
            .finish(Duration::from_secs(180))
            .unwrap()
            .success()
            .unwrap();
        let applied = run.json().unwrap();
        assert_eq!(applied.as_array().map(Vec::len), Some(calls), "{run}");
    }
    eprintln!("both networks set up in {:?}", setup.elapsed());

    // --- Network II's uploader puts Ada's FHIR file.
    write_json(&dir.join("ada.json"), &ada_bundle()).unwrap();
    let put: Vec<&str> = ["--json", "ehr", "put", "ada.json"]
        .into_iter()
        .chain(ada_args())
        .collect();
    let run = uploader.ok(&put).unwrap();
    let stored = run.json().unwrap();
    let stored = ids_and_hashes(&stored["records"]);
    let stored_ids: BTreeSet<&str> = stored.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        stored_ids,
        BTreeSet::from([
            "Patient/ada-patient",
            "Condition/ada-hypertension",
            "MedicationStatement/ada-lisinopril",
            "AllergyIntolerance/ada-penicillin",
            "Observation/ada-bp-systolic"
        ]),
        "{run}"
    );
    let ada_ref = PatientIdentifiers::new(ADA[0], ADA[1], ADA[2])
        .patient_ref(&MatchingKey::from_file(&dir.join("matching.key")).unwrap())
        .unwrap()
        .to_hex();

    // --- Bad uploads write nothing on network II.
    let before = height(net2).unwrap();
    std::fs::write(
        dir.join("no-id.json"),
        r#"{"resourceType": "Observation", "status": "final"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.json"),
        "{\"resourceType\": \"Observation\",",
    )
    .unwrap();
    write_json(
        &dir.join("note.json"),
        &json!({"resourceType": "Observation", "id": "ada-note", "status": "final",
                "code": {"text": "Clinical note"}, "valueString": "stable"}),
    )
    .unwrap();
    let put_files = |files: &[&'static str]| -> Vec<&'static str> {
        ["ehr", "put"]
            .into_iter()
            .chain(files.iter().copied())
            .chain(ada_args())
            .collect()
    };
    let run = uploader.run(put_files(&["no-id.json"])).unwrap();
    assert_fails(
        &run,
        1,
        &[
            "no-id.json is not an uploadable FHIR R4 file",
            "the Observation has no valid id",
        ],
    );
    // Every file is checked before the first upload: the valid one before
    // the broken one is not stored either.
    let run = uploader
        .run(put_files(&["note.json", "broken.json"]))
        .unwrap();
    assert_fails(
        &run,
        1,
        &["broken.json is not an uploadable FHIR R4 file", "not JSON"],
    );
    // The contract refuses a record id stored with other content, and a
    // user who is not an uploader.
    write_json(
        &dir.join("clash.json"),
        &json!({"resourceType": "Patient", "id": "ada-patient", "gender": "other"}),
    )
    .unwrap();
    let run = uploader.run(put_files(&["clash.json"])).unwrap();
    assert_fails(
        &run,
        1,
        &["uploading clash.json", "already exists with other content"],
    );
    let run = responder.run(put_files(&["note.json"])).unwrap();
    assert_fails(&run, 1, &["uploading note.json", "access denied"]);
    assert_eq!(height(net2).unwrap(), before, "bad uploads write nothing");

    // A synthetic patient (generated identifiers, no real person).
    let run = uploader.synthetic("11", "1").unwrap();
    let synthetic = run.json().unwrap();
    let synthetic = synthetic.as_array().unwrap();
    assert_eq!(synthetic.len(), 1, "{run}");
    eprintln!("synthetic patient: {} records", synthetic[0]["records"]);
    assert!(
        synthetic.iter().all(|p| p["records"].as_u64() > Some(5)),
        "{run}"
    );

    // --- The services: both relays, and a responder per organisation of
    // II. Each says it started; the relays answer on their health
    // endpoints. (Following events cannot be awaited: the stream opens
    // with its first event. A responder follows from the next block, which
    // the request reaches seconds later, after network I and both relays.)
    let mut services = Services::walkthrough(&ehrx, &dir, net2, SERVICE_TIMEOUT).unwrap();
    for net in ["net1", "net2"] {
        let config: Value =
            serde_json::from_slice(&std::fs::read(relay_config_path(net)).unwrap()).unwrap();
        let health = healthz(config["health_address"].as_str().unwrap(), SERVICE_TIMEOUT).unwrap();
        assert_eq!(health["status"], "ok", "{health}");
        assert_eq!(health["network_id"], net, "{health}");
    }

    // --- The doctor asks network II for Ada's whole history.
    let exchange = Instant::now();
    let request: Vec<&str> = ["--json", "request", "--to", "net2"]
        .into_iter()
        .chain(ada_args())
        .chain(requester_args(DOCTOR))
        .chain(["--timeout", "120s"])
        .collect();
    let run = doctor.run(&request).unwrap();
    assert_eq!(run.code, Some(0), "{run}");
    let outcome = run.json().unwrap();
    assert_eq!(outcome["outcome"], "reply_ready", "{run}");
    let ada_request = outcome["request_id"].as_str().unwrap().to_string();
    eprintln!(
        "request {ada_request}: reply ready in {:?}",
        exchange.elapsed()
    );

    // The reply as text, as an HTML page, and as JSON.
    let run = doctor
        .ok(["reply", "show", &ada_request, "--key-store", "reply-keys"])
        .unwrap();
    eprintln!("{}", run.stdout);
    assert!(run.stdout.starts_with("CLINICAL SUMMARY"), "{run}");
    for needle in ADA_SUMMARY {
        assert!(
            run.stdout.contains(needle),
            "summary lacks {needle:?}: {run}"
        );
    }
    let run = doctor
        .ok([
            "reply",
            "show",
            &ada_request,
            "--key-store",
            "reply-keys",
            "--html",
            "ada-summary.html",
        ])
        .unwrap();
    assert_eq!(
        run.stdout.trim(),
        format!(
            "reply to request {ada_request} from net2: 5 record(s) verified; summary written to ada-summary.html"
        ),
        "{run}"
    );
    let html = std::fs::read_to_string(dir.join("ada-summary.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    for needle in ADA_SUMMARY {
        assert!(html.contains(needle), "the HTML lacks {needle:?}");
    }
    let shown = doctor.reply_json(&ada_request).unwrap();
    assert_eq!(shown["replying_network"], "net2", "{shown}");
    let received = ids_and_hashes(&shown["records"]);
    assert_eq!(received, stored, "every uploaded record, with its hash");

    // --- A synthetic patient, by the identifiers `ehr synthetic` printed:
    // conditions only, in an emergency, in text mode.
    let named = patient_args(&synthetic[0]).unwrap();
    let run = doctor
        .run(
            ["request", "--to", "net2"]
                .into_iter()
                .chain(named.iter().map(String::as_str))
                .chain(["--category", "Condition", "--purpose", "emergency"])
                .chain(requester_args(DOCTOR)),
        )
        .unwrap();
    assert_eq!(run.code, Some(0), "{run}");
    let conditions_request = request_id_in(&run.stdout);
    assert!(
        run.stdout.starts_with(&format!(
            "request {conditions_request}: reply ready\nread it with: ehrx reply show {conditions_request}"
        )),
        "{run}"
    );
    // Read without the key store: the requester key opens the reply too.
    let run = doctor
        .ok([
            "--json",
            "reply",
            "show",
            &conditions_request,
            "--requester-key",
            "doctor.key",
        ])
        .unwrap();
    let records = run.json().unwrap()["records"].as_array().unwrap().clone();
    assert!(records.len() >= 2, "{run}");
    assert!(
        records.iter().all(|r| r["category"] == "Condition"),
        "{run}"
    );

    // --- A patient network II does not know: refused there (exit 3).
    let unknown = "0f".repeat(32);
    let run = doctor
        .run(
            [
                "--json",
                "request",
                "--to",
                "net2",
                "--patient-ref",
                &unknown,
            ]
            .into_iter()
            .chain(requester_args(DOCTOR)),
        )
        .unwrap();
    assert_eq!(run.code, Some(3), "{run}");
    let outcome = run.json().unwrap();
    assert_eq!(outcome["outcome"], "refused", "{run}");
    assert_eq!(outcome["state"], "failed", "{run}");
    let refused_request = outcome["request_id"].as_str().unwrap().to_string();

    // --- Status: one request, and all of the doctor's.
    let run = doctor.ok(["--json", "status", &ada_request]).unwrap();
    let status = run.json().unwrap();
    assert_eq!(status["status"], "fulfilled", "{run}");
    assert_eq!(status["destination_network"], "net2", "{run}");
    let run = doctor.ok(["status"]).unwrap();
    assert!(run.stdout.starts_with("REQUEST "), "{run}");
    for (id, state) in [
        (&ada_request, "fulfilled"),
        (&conditions_request, "fulfilled"),
        (&refused_request, "failed"),
    ] {
        let line = run
            .stdout
            .lines()
            .find(|line| line.starts_with(id.as_str()));
        assert!(
            line.is_some_and(|line| line.contains(state) && line.contains("net1  net2")),
            "no {state} line for {id}: {run}"
        );
    }

    // --- A colleague of the doctor, even holding a copy of the doctor's
    // reply keys, is refused the reply, and the attempt is recorded.
    let copied = dir.join("copied-keys");
    std::fs::create_dir_all(&copied).unwrap();
    for entry in std::fs::read_dir(dir.join("reply-keys")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copied.join(entry.file_name())).unwrap();
    }
    let run = colleague
        .run([
            "reply",
            "show",
            &ada_request,
            "--key-store",
            "copied-keys",
            "--html",
            "stolen.html",
        ])
        .unwrap();
    assert_fails(
        &run,
        1,
        &[
            &format!("reading the reply to request {ada_request}"),
            "the reply was refused: only the requester who prepared the request may read its reply",
        ],
    );
    assert!(!dir.join("stolen.html").exists());
    // Without the key, the colleague's CLI says where it looked.
    std::fs::create_dir_all(dir.join("own-keys")).unwrap();
    let run = colleague
        .run(["reply", "show", &ada_request, "--key-store", "own-keys"])
        .unwrap();
    assert_fails(
        &run,
        1,
        &[&format!(
            "the key store own-keys has no key for request {ada_request}"
        )],
    );

    // --- The audit trails, read by the admins and no one else.
    let run = net1_admin.ok(["--json", "audit", &ada_ref]).unwrap();
    let kinds = audit_kinds(&run);
    for kind in [
        "request_submitted",
        "reply_received",
        "reply_read",
        "retrieval_refused",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} on net1: {run}");
    }
    let run = net2_admin.ok(["--json", "audit", &ada_ref]).unwrap();
    let kinds = audit_kinds(&run);
    // One upload, one transaction, one entry.
    assert_eq!(
        kinds.iter().filter(|k| *k == "record_stored").count(),
        1,
        "{run}"
    );
    for kind in ["request_accepted", "disclosure"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} on net2: {run}");
    }
    let run = net1_admin.ok(["audit", "admin"]).unwrap();
    assert!(run.stdout.starts_with("AT (UTC)"), "{run}");
    assert!(run.stdout.contains("admin_change"), "{run}");
    let run = doctor.run(["audit", &ada_ref]).unwrap();
    assert_fails(&run, 1, &["reading the audit trail", "access denied"]);
    let run = net1_admin.run(["audit", "patients"]).unwrap();
    assert_fails(
        &run,
        1,
        &["\"patients\" is neither `admin`, `security` nor a patient ref"],
    );

    // --- The services did follow their events, and stop cleanly on SIGTERM.
    for service in services.iter_mut() {
        let log = service.log();
        assert!(
            log.contains("following chaincode events"),
            "{}:\n{log}",
            service.name()
        );
    }
    services.stop_all(SERVICE_TIMEOUT).unwrap();
    networks.down().unwrap();
    eprintln!("the whole CLI flow took {:?}", started.elapsed());
}
