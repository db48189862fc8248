//! The clinician's side of the exchange, with the `ehrx` CLI on the two
//! real networks, brought up once:
//!
//! - onboarding: the consortium's matching key made with `ehrx keys
//!   matching` (its fingerprint checked), each network's key made with
//!   `ehrx keys network` and handed to its relay with `--network-key-file`
//!   (no editing of relay.json); `ehrx services wait` fails clearly while
//!   nothing runs, then blocks until both relays and II's two responders
//!   are ready, as their health endpoints and logs say;
//! - the clinician's view: a patient with every IPS section and vital-sign
//!   series is exchanged and read with `reply show --html --fhir-ips`; the
//!   page has the provenance banner, the sections in IPS order, the five
//!   trend charts and the decimals exactly as uploaded; the IPS document
//!   round-trips every received resource; a reply read with the wrong key
//!   gives a red banner and no records;
//! - headless Chromium renders both pages, takes screenshots and finds
//!   nothing on the console, and finds the errors of a page made to have
//!   some (so the check can fail).

// Marks the helpers below as test code too, for clippy's unwrap rules.
#![cfg(test)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ehrx_client::ehr::render::IpsSection;
use ehrx_lab::browser;
use ehrx_lab::cli_cast::Cast;
use ehrx_lab::ehrx_cli::{
    Ehrx, Run, Services, fresh_dir, write_responder_config, write_walkthrough_setup,
};
use ehrx_lab::exchange::{org, relay_config_path};
use ehrx_lab::networks::{Networks, description_path};
use serde_json::{Value, json};

/// The doctor's requester code.
const DOCTOR: &str = "DR-0042";
/// The patient: name, date of birth, SSN (the 900 area is never issued).
const GRACE: [&str; 3] = ["Grace Hopper", "1906-12-09", "900-55-1234"];
/// How long a service may take to be ready, or to stop.
const SERVICE_TIMEOUT: Duration = Duration::from_secs(90);
/// Decimals that f64 would change or shorten: they must print as sent.
const EXACT: [&str; 2] = ["9.071778718846515", "0.1000"];

fn work_dir() -> PathBuf {
    fresh_dir(
        &Path::new(env!("CARGO_TARGET_TMPDIR")).join("ehrx-clinician-view"),
        "flow",
    )
    .unwrap()
}

/// The port of network II's responder `index`'s health endpoint: in II's
/// range of ports (scripts/lib/layout.sh), on numbers the layout leaves free.
fn responder_health(index: u16) -> String {
    let base: u16 = std::env::var("NETWORK_PORT_BASE")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(7000);
    format!("127.0.0.1:{}", base + 1000 + 80 + index)
}

fn loinc(code: &str, display: &str) -> Value {
    json!({"coding": [{"system": "http://loinc.org", "code": code, "display": display}]})
}

fn vital(id: &str, code: &str, display: &str, date: &str, value: &str, unit: &str) -> String {
    format!(
        r#"{{"resource": {{"resourceType": "Observation", "id": "{id}", "status": "final",
            "category": [{{"coding": [{{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}}]}}],
            "code": {}, "subject": {{"reference": "Patient/gh-patient"}}, "effectiveDateTime": "{date}",
            "valueQuantity": {{"value": {value}, "unit": "{unit}", "system": "http://unitsofmeasure.org", "code": "{unit}"}}}}}}"#,
        loinc(code, display)
    )
}

/// Grace's history as a hospital exports it, as JSON text (numbers written
/// as the source wrote them): every IPS section, and series of every
/// charted vital sign.
fn grace_bundle() -> String {
    let subject = json!({"reference": "Patient/gh-patient"});
    let snomed = "http://snomed.info/sct";
    let coded = |system: &str, code: &str, display: &str| json!({"coding": [{"system": system, "code": code, "display": display}]});
    let mut entries: Vec<String> = [
        json!({"resourceType": "Patient", "id": "gh-patient", "gender": "female", "birthDate": GRACE[1],
               "name": [{"use": "official", "family": "Hopper", "given": ["Grace"]}]}),
        json!({"resourceType": "AllergyIntolerance", "id": "gh-penicillin", "criticality": "high", "patient": subject,
               "code": coded(snomed, "764146007", "Penicillin"),
               "reaction": [{"manifestation": [coded(snomed, "247472004", "Hives")]}]}),
        json!({"resourceType": "MedicationStatement", "id": "gh-metformin", "status": "active", "subject": subject,
               "medicationCodeableConcept": coded("http://www.nlm.nih.gov/research/umls/rxnorm", "860975", "Metformin 500 MG Oral Tablet"),
               "effectiveDateTime": "2022-04-01", "dosage": [{"text": "500 mg twice daily with meals"}]}),
        json!({"resourceType": "Condition", "id": "gh-diabetes", "subject": subject,
               "clinicalStatus": coded("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active"),
               "code": coded(snomed, "44054006", "Diabetes mellitus type 2"), "onsetDateTime": "2022-03-15"}),
        json!({"resourceType": "Immunization", "id": "gh-flu", "status": "completed", "patient": subject,
               "vaccineCode": coded("http://hl7.org/fhir/sid/cvx", "140", "Influenza, seasonal, injectable"),
               "occurrenceDateTime": "2025-10-01"}),
        json!({"resourceType": "Procedure", "id": "gh-appendectomy", "status": "completed", "subject": subject,
               "code": coded(snomed, "80146002", "Appendectomy"), "performedDateTime": "1998-07-04"}),
        json!({"resourceType": "Organization", "id": "gh-clinic", "name": "Arlington Naval Clinic"}),
        json!({"resourceType": "Encounter", "id": "gh-visit", "status": "finished", "subject": subject,
               "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory"},
               "type": [{"text": "General examination"}],
               "period": {"start": "2025-11-02T09:00:00+01:00", "end": "2025-11-02T09:40:00+01:00"}}),
    ]
    .iter()
    .map(|resource| json!({"resource": resource}).to_string())
    .collect();
    // A lab result whose trailing zeros are its precision.
    entries.push(format!(
        r#"{{"resource": {{"resourceType": "Observation", "id": "gh-creatinine", "status": "final", "subject": {subject},
            "category": [{{"coding": [{{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}}]}}],
            "code": {}, "effectiveDateTime": "2025-11-02", "valueQuantity": {{"value": {}, "unit": "mg/dL"}}}}}}"#,
        loinc("2160-0", "Creatinine [Mass/volume] in Serum or Plasma"),
        EXACT[1]
    ));
    for (i, (date, systolic, diastolic)) in [
        ("2023-05-10", 128, 84),
        ("2024-06-12", 135, 88),
        ("2025-11-02", 142, 90),
    ]
    .iter()
    .enumerate()
    {
        entries.push(format!(
            r#"{{"resource": {{"resourceType": "Observation", "id": "gh-bp-{i}", "status": "final", "subject": {subject},
                "category": [{{"coding": [{{"code": "vital-signs"}}]}}], "code": {}, "effectiveDateTime": "{date}",
                "component": [{{"code": {}, "valueQuantity": {{"value": {systolic}, "unit": "mm[Hg]"}}}},
                              {{"code": {}, "valueQuantity": {{"value": {diastolic}, "unit": "mm[Hg]"}}}}]}}}}"#,
            loinc("85354-9", "Blood pressure panel"),
            loinc("8480-6", "Systolic blood pressure"),
            loinc("8462-4", "Diastolic blood pressure")
        ));
    }
    for (i, (date, weight, heart, bmi, temperature)) in [
        ("2023-05-10", "12.4", "88", "17.2", "36.8"),
        ("2024-06-12", "10.85", "79", "16.4", "37.4"),
        ("2025-11-02", EXACT[0], "72", "15.95", "37.10"),
    ]
    .iter()
    .enumerate()
    {
        entries.push(vital(
            &format!("gh-weight-{i}"),
            "29463-7",
            "Body weight",
            date,
            weight,
            "kg",
        ));
        entries.push(vital(
            &format!("gh-heart-{i}"),
            "8867-4",
            "Heart rate",
            date,
            heart,
            "/min",
        ));
        entries.push(vital(
            &format!("gh-bmi-{i}"),
            "39156-5",
            "Body mass index",
            date,
            bmi,
            "kg/m2",
        ));
        entries.push(vital(
            &format!("gh-temp-{i}"),
            "8310-5",
            "Body temperature",
            date,
            temperature,
            "Cel",
        ));
    }
    format!(
        r#"{{"resourceType": "Bundle", "id": "gh-history", "type": "collection", "entry": [{}]}}"#,
        entries.join(",\n")
    )
}

/// Where each needle first appears in `text`, asserting all do.
fn positions(text: &str, needles: &[String]) -> Vec<usize> {
    needles
        .iter()
        .map(|needle| {
            text.find(needle.as_str())
                .unwrap_or_else(|| panic!("{needle:?} not in the page"))
        })
        .collect()
}

fn assert_fails(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{run}");
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "stderr lacks {needle:?}: {run}"
        );
    }
}

#[test]
fn a_clinician_reads_a_verified_ips_summary_after_onboarding_with_the_cli() {
    let started = Instant::now();
    let networks = Networks::up().unwrap();
    let (net1, net2) = (networks.get("net1").unwrap(), networks.get("net2").unwrap());
    let msp2_org2 = org(net2, "org2").unwrap().msp_id.clone();
    let dir = work_dir();
    let ehrx = Ehrx::new(&dir).unwrap();
    let cast = Cast::of(&ehrx, &networks).unwrap();
    let (doctor, uploader) = (&cast.doctor, &cast.uploader);
    let (msp1, msp2) = (cast.msp1.clone(), cast.msp2.clone());
    eprintln!("networks up and ehrx built in {:?}", started.elapsed());

    // --- Onboarding: the consortium's matching key, made once and checked
    // by its fingerprint; each network's own key; the doctor's key.
    let made = ehrx
        .ok(["--json", "keys", "matching", "--out", "matching.key"])
        .unwrap()
        .json()
        .unwrap();
    let fingerprint = made["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fingerprint.len(), 39, "{made}");
    let key_text = std::fs::read_to_string(dir.join("matching.key")).unwrap();
    assert!(
        !made.to_string().contains(key_text.trim()),
        "the key is never printed"
    );
    let checked = ehrx
        .ok(["keys", "matching", "--fingerprint", "matching.key"])
        .unwrap();
    assert_eq!(checked.stdout, format!("fingerprint {fingerprint}\n"));
    let run = ehrx
        .run(["keys", "matching", "--out", "matching.key"])
        .unwrap();
    assert_fails(&run, &["matching.key already exists", "never overwritten"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("matching.key")).unwrap(),
        key_text
    );
    for net in ["net1", "net2"] {
        let public = ehrx
            .ok(["keys", "network", "--out", &format!("{net}-key.hex")])
            .unwrap();
        std::fs::write(dir.join(format!("{net}.pub")), &public.stdout).unwrap();
        let again = ehrx
            .ok([
                "admin",
                "network-key",
                "--key-file",
                &format!("{net}-key.hex"),
            ])
            .unwrap();
        assert_eq!(again.stdout, public.stdout);
    }
    ehrx.ok(["keys", "requester", "--out", "doctor.key"])
        .unwrap();

    write_walkthrough_setup(&dir, net1, net2, DOCTOR).unwrap();
    let pending: Vec<_> = [("net1", &msp1), ("net2", &msp2)]
        .into_iter()
        .map(|(net, msp)| {
            ehrx.as_user(&description_path(net), msp, "Admin")
                .start(["admin", "setup", "--file", &format!("setup-{net}.json")])
                .unwrap()
        })
        .collect();
    for setup in pending {
        setup
            .finish(Duration::from_secs(180))
            .unwrap()
            .success()
            .unwrap();
    }

    // --- Network II's uploader puts Grace's history.
    std::fs::write(dir.join("grace.json"), grace_bundle()).unwrap();
    let patient = [
        "--patient-name",
        GRACE[0],
        "--dob",
        GRACE[1],
        "--ssn",
        GRACE[2],
        "--matching-key",
        "matching.key",
    ];
    let put: Vec<&str> = ["--json", "ehr", "put", "grace.json"]
        .into_iter()
        .chain(patient)
        .collect();
    let stored = uploader.ok(&put).unwrap().json().unwrap();
    let records = stored["records"].as_array().map_or(0, Vec::len);
    assert_eq!(records, 24, "{stored}");

    // --- Readiness: nothing runs yet, so the wait fails, naming each
    // service and why.
    let mut responder_configs = Vec::new();
    for (index, (name, msp_id)) in [("org1", &msp2), ("org2", &msp2_org2)]
        .into_iter()
        .enumerate()
    {
        let health = responder_health(u16::try_from(index).unwrap());
        let config = write_responder_config(
            &dir,
            "net2",
            name,
            msp_id,
            json!({"health_address": health}),
        )
        .unwrap();
        responder_configs.push(config);
    }
    let relay_configs = ["net1", "net2"].map(relay_config_path);
    let wait: Vec<String> = relay_configs
        .iter()
        .chain(&responder_configs)
        .flat_map(|config| ["--config".to_string(), config.display().to_string()])
        .collect();
    let services_wait = |timeout: &str| -> Run {
        let args: Vec<&str> = ["services", "wait"]
            .into_iter()
            .chain(wait.iter().map(String::as_str))
            .chain(["--timeout", timeout])
            .collect();
        ehrx.run(args).unwrap()
    };
    let early = Instant::now();
    let run = services_wait("1s");
    assert!(
        early.elapsed() < Duration::from_secs(15),
        "{:?}",
        early.elapsed()
    );
    assert_fails(
        &run,
        &[
            "4 of 4 service(s) not ready after 1s",
            "responder-org2.json",
            "no answer",
        ],
    );

    // --- The services: the relays with the keys made above, II's responders.
    let mut services = Services::default();
    for net in ["net1", "net2"] {
        let key_file = format!("{net}-key.hex");
        services.push(
            ehrx.spawn_relay(net, &["--network-key-file", &key_file])
                .unwrap(),
        );
    }
    for (name, config) in ["org1", "org2"].iter().zip(&responder_configs) {
        services.push(ehrx.spawn_responder(name, config).unwrap());
    }
    let ready_in = Instant::now();
    let run = ehrx
        .ok(["--json", "services", "wait"]
            .into_iter()
            .chain(wait.iter().map(String::as_str))
            .chain(["--timeout", "90s"]))
        .unwrap();
    let ready = run.json().unwrap();
    assert_eq!(ready.as_array().map(Vec::len), Some(4), "{run}");
    eprintln!("relays and responders ready in {:?}", ready_in.elapsed());
    for service in services.iter_mut() {
        let needle = format!("{} ready", service.role());
        service.wait_for_log(&needle, SERVICE_TIMEOUT).unwrap();
    }

    // --- The doctor requests Grace's history and reads it.
    let request: Vec<&str> = ["--json", "request", "--to", "net2"]
        .into_iter()
        .chain(patient)
        .chain([
            "--requester-code",
            DOCTOR,
            "--requester-key",
            "doctor.key",
            "--key-store",
            "reply-keys",
        ])
        .collect();
    let outcome = doctor.ok(&request).unwrap().json().unwrap();
    assert_eq!(outcome["outcome"], "reply_ready", "{outcome}");
    let request_id = outcome["request_id"].as_str().unwrap().to_string();

    let run = doctor
        .ok([
            "reply",
            "show",
            &request_id,
            "--key-store",
            "reply-keys",
            "--html",
            "grace.html",
            "--fhir-ips",
            "grace-ips.json",
        ])
        .unwrap();
    assert_eq!(
        run.stdout.trim(),
        format!(
            "reply to request {request_id} from net2: 24 record(s) verified; summary written to grace.html; IPS document written to grace-ips.json"
        )
    );
    let html = std::fs::read_to_string(dir.join("grace.html")).unwrap();

    // The banner, at the top.
    let banner = [
        "class=\"banner verified\"",
        "24 of 24 records verified (responder&#39;s signature, sealed to you, hashes match the source ledger)",
        "<dt>Source network</dt><dd>net2 (signed by ",
        &format!("<dt>Request</dt><dd>{request_id}</dd>"),
        "<dt>Purpose</dt><dd>Treatment</dd>",
        &format!("<dt>Requester</dt><dd>{DOCTOR} ({msp1})</dd>"),
        "<dt>Requested</dt><dd>",
        "<dt>Replied</dt><dd>",
        "<dt>Read</dt><dd>",
    ]
    .map(String::from);
    let at = positions(&html, &banner);
    let first_section = html.find("data-section=").unwrap();
    assert!(
        at.iter().all(|&p| p < first_section),
        "the banner comes first"
    );
    assert!(!html.contains("<dd>not known</dd>"), "every time is known");

    // The sections, in IPS order, each with its records.
    let sections: Vec<String> = [
        "patient",
        "allergies",
        "medications",
        "problems",
        "immunizations",
        "procedures",
        "results",
        "vital-signs",
        "other",
    ]
    .iter()
    .map(|id| format!("data-section=\"{id}\""))
    .collect();
    let at = positions(&html, &sections);
    assert!(at.windows(2).all(|w| w[0] < w[1]), "IPS order: {at:?}");
    let content = [
        "Grace Hopper",
        "9 Dec 1906",
        "Penicillin",
        "Metformin 500 MG Oral Tablet",
        "Diabetes mellitus type 2",
        "Influenza, seasonal, injectable",
        "Appendectomy",
        "Creatinine [Mass/volume] in Serum or Plasma",
        "Body weight",
        "General examination (ambulatory)",
        "Arlington Naval Clinic",
    ]
    .map(String::from);
    let at = positions(&html, &content);
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "each in its section: {at:?}"
    );
    // Readable dates and units; decimals exactly as uploaded.
    for shown in [
        "<td>15 Mar 2022</td>",
        "2 Nov 2025, 09:00 (UTC+01:00)",
        "<td>Systolic blood pressure 142 mmHg; Diastolic blood pressure 90 mmHg</td>",
        "<span class=\"value\">37.10 °C</span>",
        &format!("<td>{} kg</td>", EXACT[0]),
        &format!("<td>{} mg/dL</td>", EXACT[1]),
        &format!("<span class=\"value\">{} kg</span>", EXACT[0]),
    ] {
        assert!(html.contains(shown), "{shown} not in the page");
    }
    // The trend charts, each an SVG drawn by plotters with its line.
    for trend in [
        "blood-pressure",
        "heart-rate",
        "weight",
        "bmi",
        "temperature",
    ] {
        let start = html
            .find(&format!("data-trend=\"{trend}\""))
            .unwrap_or_else(|| panic!("no {trend} chart"));
        let figure = &html[start..start + html[start..].find("</figure>").unwrap()];
        assert!(
            figure.contains("<svg") && figure.contains("<polyline"),
            "{trend}: {figure:.300}"
        );
        assert!(figure.contains("(latest)"), "{trend}");
    }
    assert_eq!(html.matches("<svg").count(), 5);

    // The same in text, and the records in --json as received.
    let text = doctor
        .ok(["reply", "show", &request_id, "--key-store", "reply-keys"])
        .unwrap()
        .stdout;
    assert!(
        text.starts_with("CLINICAL SUMMARY\nVERIFIED: 24 of 24 records verified"),
        "{text}"
    );
    for value in EXACT {
        assert!(text.contains(value), "{value} not in the text");
    }
    let shown = doctor.reply_json(&request_id).unwrap();
    let received: Vec<Value> = shown["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resource"].clone())
        .collect();
    assert_eq!(received.len(), 24);

    // --- The IPS document round-trips every received resource.
    let ips: Value =
        serde_json::from_slice(&std::fs::read(dir.join("grace-ips.json")).unwrap()).unwrap();
    assert_eq!(
        (ips["resourceType"].as_str(), ips["type"].as_str()),
        (Some("Bundle"), Some("document"))
    );
    assert_eq!(ips["identifier"]["value"], request_id.as_str());
    let entries = ips["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 25, "the Composition and every record");
    let composition = &entries[0]["resource"];
    assert_eq!(composition["resourceType"], "Composition");
    assert_eq!(composition["subject"]["reference"], "Patient/gh-patient");
    let titles: Vec<&str> = composition["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    // Every section, in the SDK's order (whose titles its unit tests fix).
    assert_eq!(
        titles,
        IpsSection::ORDER.map(IpsSection::title),
        "{titles:?}"
    );
    let uploaded: Value = serde_json::from_str(&grace_bundle()).unwrap();
    for resource in received.iter() {
        let in_bundle: Vec<&Value> = entries[1..]
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| *r == resource)
            .collect();
        assert_eq!(in_bundle.len(), 1, "{resource}");
        let original = uploaded["entry"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| &e["resource"] == resource);
        assert!(original, "received as uploaded: {resource}");
    }
    let references: Vec<&str> = composition["section"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["entry"].as_array().into_iter().flatten())
        .map(|r| r["reference"].as_str().unwrap())
        .collect();
    assert_eq!(references.len(), 23, "every record but the Patient, once");
    for reference in references {
        assert!(
            entries.iter().any(|e| e["fullUrl"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/fhir/{reference}"))),
            "{reference} resolves"
        );
    }
    let ips_text = std::fs::read_to_string(dir.join("grace-ips.json")).unwrap();
    for value in EXACT {
        assert!(ips_text.contains(value), "{value} not in the IPS document");
    }

    // --- A reply that does not verify (opened with another key): a red
    // banner and no records, and the command fails.
    ehrx.ok(["keys", "requester", "--out", "wrong.key"])
        .unwrap();
    let run = doctor
        .run([
            "reply",
            "show",
            &request_id,
            "--requester-key",
            "wrong.key",
            "--html",
            "failed.html",
            "--fhir-ips",
            "failed-ips.json",
        ])
        .unwrap();
    assert_fails(
        &run,
        &[
            "failed verification",
            "failed verification; nothing of it is shown (failed.html shows the failure, and no records): the sealed records cannot be opened",
        ],
    );
    let failed = std::fs::read_to_string(dir.join("failed.html")).unwrap();
    assert!(
        failed.contains("class=\"banner failed\" role=\"alert\""),
        "{failed}"
    );
    assert!(failed.contains(&format!("<dt>Request</dt><dd>{request_id}</dd>")));
    for record in ["Grace", "Penicillin", "<table", "<svg", EXACT[0]] {
        assert!(
            !failed.contains(record),
            "{record} shown despite the failure"
        );
    }
    assert!(
        !dir.join("failed-ips.json").exists(),
        "no IPS document of a failed reply"
    );

    services.stop_all(SERVICE_TIMEOUT).unwrap();
    networks.down().unwrap();

    // --- Headless Chromium: both pages render, with nothing on the console.
    for (page, size) in [("grace.html", (1100, 2600)), ("failed.html", (1100, 600))] {
        let png = dir.join(page.replace(".html", ".png"));
        let rendered = browser::screenshot(
            &dir.join(page),
            &png,
            size,
            &dir.join(format!("chromium-{page}")),
        )
        .unwrap();
        assert!(
            rendered.console.is_empty(),
            "{page}: console {:#?}\n{}",
            rendered.console,
            rendered.log
        );
        let bytes = std::fs::metadata(&png).unwrap().len();
        assert!(bytes > 20_000, "{page}: a {bytes}-byte screenshot is blank");
        eprintln!("{page}: screenshot {} ({bytes} bytes)", png.display());
    }
    // The check finds console errors when a page has them.
    let bad = dir.join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"></head>\
         <body><img src=\"http://127.0.0.1:9/x.png\"></body></html>",
    )
    .unwrap();
    let rendered = browser::screenshot(
        &bad,
        &dir.join("bad.png"),
        (400, 300),
        &dir.join("chromium-bad"),
    )
    .unwrap();
    assert!(
        rendered
            .console
            .iter()
            .any(|line| line.contains("Content Security Policy")),
        "{:#?}\n{}",
        rendered.console,
        rendered.log
    );
    eprintln!("the clinician's view flow took {:?}", started.elapsed());
}
