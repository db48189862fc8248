//! The IPS sections and the FHIR document the clinician imports into their
//! own EHR: `ehrx reply show --fhir-ips out.json`.
//!
//! [`ips_document`] writes a FHIR R4 `document` Bundle: a Composition
//! (LOINC 60591-5, patient summary) whose sections follow the IPS order of
//! [`IpsSection::ORDER`], each with a generated narrative and references to
//! its resources, then every received resource, byte for byte as received
//! (the records' exact JSON text, so no value or key changes). Allergies,
//! medications and problems, which IPS requires, are present even when
//! empty (`emptyReason: unavailable`); the other sections only when they
//! hold something, and resources of no IPS section go in a last section,
//! "Other records received", so nothing received is left out.
//!
//! Each entry's `fullUrl` is `https://ehrx.invalid/<source network>/fhir/<Type>/<id>`:
//! a RESTful URL, so that the relative references inside the received
//! resources (`Patient/ada`) resolve to the entries of the same Bundle as
//! FHIR's rules for Bundles say, under a host (`.invalid`, RFC 2606) that
//! never resolves outside it.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Value, json, value::RawValue};

use super::{ClinicalSummary, Provenance, escape, vitals};

/// Why no IPS document was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IpsError {
    /// A record is not JSON (a verified reply's never is).
    #[error("record {index} is not JSON: {reason}")]
    NotJson {
        /// Its position in the reply.
        index: usize,
        /// The parser's message.
        reason: String,
    },
    /// A record has no `resourceType` or `id`, so it cannot be referenced.
    #[error("record {index} has no resourceType and id to reference it by")]
    NoId {
        /// Its position in the reply.
        index: usize,
    },
    /// Two records are the same `Type/id`; a Bundle's entries must differ.
    #[error("{reference} is received twice; a document Bundle holds each resource once")]
    Duplicate {
        /// The `Type/id`.
        reference: String,
    },
}

/// A section of the summary, in the HL7 International Patient Summary's
/// order, then one for everything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpsSection {
    /// AllergyIntolerance.
    Allergies,
    /// MedicationStatement, MedicationRequest, MedicationAdministration, MedicationDispense.
    Medications,
    /// Condition.
    Problems,
    /// Immunization.
    Immunizations,
    /// Procedure.
    Procedures,
    /// Observations that are not vital signs, and DiagnosticReport.
    Results,
    /// Observations that are vital signs.
    VitalSigns,
    /// Every other resource but the Patient (the document's subject).
    Other,
}

impl IpsSection {
    /// The order shown and written.
    pub const ORDER: [Self; 8] = [
        Self::Allergies,
        Self::Medications,
        Self::Problems,
        Self::Immunizations,
        Self::Procedures,
        Self::Results,
        Self::VitalSigns,
        Self::Other,
    ];

    /// The section a resource belongs to; `None` for a Patient.
    pub fn of(resource: &Value) -> Option<Self> {
        Some(match resource.get("resourceType").and_then(Value::as_str) {
            Some("Patient") => return None,
            Some("AllergyIntolerance") => Self::Allergies,
            Some(
                "MedicationStatement"
                | "MedicationRequest"
                | "MedicationAdministration"
                | "MedicationDispense",
            ) => Self::Medications,
            Some("Condition") => Self::Problems,
            Some("Immunization") => Self::Immunizations,
            Some("Procedure") => Self::Procedures,
            Some("Observation") if vitals::is_vital_sign(resource) => Self::VitalSigns,
            Some("Observation" | "DiagnosticReport") => Self::Results,
            _ => Self::Other,
        })
    }

    /// Its heading.
    pub fn title(self) -> &'static str {
        match self {
            Self::Allergies => "Allergies and intolerances",
            Self::Medications => "Medications",
            Self::Problems => "Problems",
            Self::Immunizations => "Immunizations",
            Self::Procedures => "Procedures",
            Self::Results => "Results",
            Self::VitalSigns => "Vital signs",
            Self::Other => "Other records received",
        }
    }

    /// Its id in the page (`id` and `data-section`).
    pub fn id(self) -> &'static str {
        match self {
            Self::Allergies => "allergies",
            Self::Medications => "medications",
            Self::Problems => "problems",
            Self::Immunizations => "immunizations",
            Self::Procedures => "procedures",
            Self::Results => "results",
            Self::VitalSigns => "vital-signs",
            Self::Other => "other",
        }
    }

    /// Its table's columns.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Allergies => &["Substance", "Criticality", "Reactions"],
            Self::Medications => &["Medication", "Status", "Dosage", "Date"],
            Self::Problems => &["Condition", "Status", "Onset"],
            Self::Immunizations => &["Vaccine", "Status", "Date"],
            Self::Procedures => &["Procedure", "Status", "Date"],
            Self::Results => &["Test", "Value", "Date"],
            Self::VitalSigns => &["Measurement", "Value", "Date"],
            Self::Other => &["Type", "Description", "Date"],
        }
    }

    /// Its LOINC section code and display, as IPS names them; the last
    /// section has none.
    pub fn loinc(self) -> Option<(&'static str, &'static str)> {
        Some(match self {
            Self::Allergies => ("48765-2", "Allergies and adverse reactions Document"),
            Self::Medications => ("10160-0", "History of Medication use Narrative"),
            Self::Problems => ("11450-4", "Problem list - Reported"),
            Self::Immunizations => ("11369-6", "History of Immunization Narrative"),
            Self::Procedures => ("47519-4", "History of Procedures Document"),
            Self::Results => (
                "30954-2",
                "Relevant diagnostic tests/laboratory data Narrative",
            ),
            Self::VitalSigns => ("8716-3", "Vital signs"),
            Self::Other => return None,
        })
    }

    /// Whether IPS requires the section even when empty.
    pub fn required(self) -> bool {
        matches!(self, Self::Allergies | Self::Medications | Self::Problems)
    }
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    id: String,
    identifier: Value,
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: String,
    entry: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "fullUrl")]
    full_url: String,
    resource: Resource<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Resource<'a> {
    Made(Value),
    Received(&'a RawValue),
}

/// Only characters a FHIR id and a URL path segment both allow, and no
/// dots (no `..` segment).
fn id_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(56)
        .collect()
}

/// The IPS document of the records of a reply (each record's exact JSON
/// bytes), as pretty-printed JSON (the received resources inside as sent).
pub fn ips_document<'a>(
    records: impl IntoIterator<Item = &'a [u8]>,
    provenance: &Provenance,
) -> Result<String, IpsError> {
    let mut received = Vec::new();
    for (index, content) in records.into_iter().enumerate() {
        let raw: &RawValue = serde_json::from_slice(content).map_err(|e| IpsError::NotJson {
            index,
            reason: e.to_string(),
        })?;
        let value: Value = serde_json::from_str(raw.get()).map_err(|e| IpsError::NotJson {
            index,
            reason: e.to_string(),
        })?;
        received.push((raw, value));
    }
    let base = format!(
        "https://ehrx.invalid/{}/fhir/",
        id_part(&provenance.source_network)
    );
    let mut seen = HashSet::new();
    let mut entries = Vec::with_capacity(received.len() + 1);
    for (index, (raw, value)) in received.iter().enumerate() {
        let reference = super::reference(value).ok_or(IpsError::NoId { index })?;
        if !seen.insert(reference.clone()) {
            return Err(IpsError::Duplicate { reference });
        }
        entries.push(Entry {
            full_url: format!("{base}{reference}"),
            resource: Resource::Received(raw),
        });
    }
    let summary = ClinicalSummary::from_resources(received.iter().map(|(_, value)| value));
    let at = super::dates::rfc3339_unix_ms(provenance.read_at_ms);
    let id = format!("ips-{}", id_part(&provenance.request_id));
    let subject = received
        .iter()
        .find(|(_, value)| value.get("resourceType").and_then(Value::as_str) == Some("Patient"))
        .and_then(|(_, value)| super::reference(value));
    let mut composition = json!({
        "resourceType": "Composition",
        "id": id,
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "60591-5", "display": "Patient summary Document"}]},
        "date": at,
        "author": [{"display": format!("ehrx: records network {} sent in reply to request {}", provenance.source_network, provenance.request_id)}],
        "title": format!("Patient summary from network {}", provenance.source_network),
        "section": sections(&summary),
    });
    if let (Some(subject), Some(fields)) = (subject, composition.as_object_mut()) {
        fields.insert("subject".into(), json!({"reference": subject}));
    }
    entries.insert(
        0,
        Entry {
            full_url: format!("{base}Composition/{id}"),
            resource: Resource::Made(composition),
        },
    );
    let document = Document {
        resource_type: "Bundle",
        id: id.clone(),
        identifier: json!({"system": "urn:ehrx:request", "value": provenance.request_id}),
        kind: "document",
        timestamp: at,
        entry: entries,
    };
    serde_json::to_string_pretty(&document).map_err(|e| IpsError::NotJson {
        index: 0,
        reason: e.to_string(),
    })
}

/// The Composition's sections: a narrative of each row and a reference
/// to each resource.
fn sections(summary: &ClinicalSummary) -> Vec<Value> {
    summary
        .sections()
        .into_iter()
        .filter(|section| section.section.required() || !section.rows.is_empty())
        .map(|section| {
            let mut out = json!({"title": section.section.title()});
            if let Some((code, display)) = section.section.loinc() {
                out["code"] = json!({"coding": [{"system": "http://loinc.org", "code": code, "display": display}]});
            }
            if section.rows.is_empty() {
                out["text"] = narrative("<p>No records of this kind were received.</p>");
                out["emptyReason"] = json!({"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                    "code": "unavailable", "display": "Unavailable"}]});
            } else {
                let items: String = section
                    .rows
                    .iter()
                    .map(|row| format!("<li>{}</li>", escape(&row.line())))
                    .collect();
                out["text"] = narrative(&format!("<ul>{items}</ul>"));
                out["entry"] = section
                    .rows
                    .iter()
                    .filter_map(|row| row.reference.as_ref())
                    .map(|reference| json!({"reference": reference}))
                    .collect();
            }
            out
        })
        .collect()
}

fn narrative(xhtml: &str) -> Value {
    json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{xhtml}</div>")})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provenance() -> Provenance {
        Provenance {
            source_network: "net2".into(),
            request_id: "4f1c2b9e-0d1a-4e55-9c1e-6b0d2f3a4b5c".into(),
            read_at_ms: 1_796_552_089_000,
            records_verified: 4,
            records_total: 4,
            ..Provenance::default()
        }
    }

    const RECORDS: [&str; 4] = [
        r#"{"resourceType":"Patient","id":"ada","name":[{"family":"Lovelace"}]}"#,
        r#"{ "resourceType" : "Observation", "id":"w", "subject":{"reference":"Patient/ada"},
            "code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},
            "valueQuantity":{"value":9.071778718846515,"unit":"kg"}, "effectiveDateTime":"2025-01-01"}"#,
        r#"{"resourceType":"Organization","id":"hosp","name":"St <Mary> & \"Co\""}"#,
        r#"{"resourceType":"Observation","id":"lab","code":{"text":"Creatinine"},"valueQuantity":{"value":0.1000,"unit":"mg/dL"}}"#,
    ];

    #[derive(serde::Deserialize)]
    struct Parsed<'a> {
        #[serde(borrow)]
        entry: Vec<ParsedEntry<'a>>,
    }

    #[derive(serde::Deserialize)]
    struct ParsedEntry<'a> {
        #[serde(rename = "fullUrl")]
        full_url: String,
        #[serde(borrow)]
        resource: &'a RawValue,
    }

    #[test]
    fn the_document_round_trips_every_resource_byte_for_byte() {
        let text = ips_document(RECORDS.iter().map(|r| r.as_bytes()), &provenance()).unwrap();
        let parsed: Parsed<'_> = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.entry.len(), 5);
        assert_eq!(
            parsed.entry[0].full_url,
            "https://ehrx.invalid/net2/fhir/Composition/ips-4f1c2b9e-0d1a-4e55-9c1e-6b0d2f3a4b5c"
        );
        for (entry, record) in parsed.entry[1..].iter().zip(RECORDS) {
            assert_eq!(entry.resource.get(), record.trim(), "unchanged");
        }
        assert_eq!(
            parsed.entry[2].full_url,
            "https://ehrx.invalid/net2/fhir/Observation/w"
        );
        assert!(text.contains("9.071778718846515") && text.contains("0.1000"));

        let bundle: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "document");
        assert_eq!(bundle["timestamp"], "2026-12-06T10:14:49Z");
        let composition = &bundle["entry"][0]["resource"];
        assert_eq!(composition["resourceType"], "Composition");
        assert_eq!(composition["subject"]["reference"], "Patient/ada");
        assert_eq!(composition["type"]["coding"][0]["code"], "60591-5");
        let sections = composition["section"].as_array().unwrap();
        let titles: Vec<&str> = sections
            .iter()
            .map(|s| s["title"].as_str().unwrap())
            .collect();
        assert_eq!(
            titles,
            [
                "Allergies and intolerances",
                "Medications",
                "Problems",
                "Results",
                "Vital signs",
                "Other records received"
            ]
        );
        let section = |title: &str| sections.iter().find(|s| s["title"] == title).unwrap();
        assert_eq!(
            section("Allergies and intolerances")["emptyReason"]["coding"][0]["code"],
            "unavailable"
        );
        assert!(section("Allergies and intolerances").get("entry").is_none());
        assert_eq!(
            section("Vital signs")["entry"],
            json!([{"reference": "Observation/w"}])
        );
        assert_eq!(
            section("Vital signs")["code"]["coding"][0]["code"],
            "8716-3"
        );
        assert_eq!(
            section("Results")["entry"],
            json!([{"reference": "Observation/lab"}])
        );
        assert_eq!(
            section("Other records received")["entry"],
            json!([{"reference": "Organization/hosp"}])
        );
        // Every referenced resource is an entry; every entry but the
        // Patient (the subject) is referenced by exactly one section.
        let referenced: Vec<String> = sections
            .iter()
            .flat_map(|s| s["entry"].as_array().cloned().unwrap_or_default())
            .map(|r| r["reference"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(referenced.len(), 3);
        for reference in &referenced {
            assert!(
                parsed
                    .entry
                    .iter()
                    .any(|e| e.full_url.ends_with(&format!("/{reference}"))),
                "{reference}"
            );
        }
        // Narratives are well-formed XHTML with the text escaped.
        for section in sections {
            let div = section["text"]["div"].as_str().unwrap();
            let doc = roxmltree::Document::parse(div).unwrap();
            assert_eq!(doc.root_element().tag_name().name(), "div");
        }
        assert!(
            section("Other records received")["text"]["div"]
                .as_str()
                .unwrap()
                .contains("St &lt;Mary&gt; &amp; &quot;Co&quot;")
        );
    }

    #[test]
    fn records_that_cannot_be_entries_are_refused() {
        let bad = |records: &[&str]| {
            ips_document(records.iter().map(|r| r.as_bytes()), &provenance()).unwrap_err()
        };
        assert!(matches!(
            bad(&[RECORDS[0], "{"]),
            IpsError::NotJson { index: 1, .. }
        ));
        assert_eq!(
            bad(&[r#"{"resourceType":"Patient"}"#]),
            IpsError::NoId { index: 0 }
        );
        assert_eq!(bad(&["[1]"]), IpsError::NoId { index: 0 });
        assert_eq!(
            bad(&[RECORDS[0], RECORDS[0]]),
            IpsError::Duplicate {
                reference: "Patient/ada".into()
            }
        );
        // Two types may share an id.
        ips_document(
            [
                r#"{"resourceType":"Observation","id":"1"}"#.as_bytes(),
                r#"{"resourceType":"Condition","id":"1"}"#.as_bytes(),
            ],
            &provenance(),
        )
        .unwrap();
    }

    #[test]
    fn an_empty_reply_still_has_the_required_sections() {
        let text = ips_document([], &provenance()).unwrap();
        let bundle: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(bundle["entry"].as_array().unwrap().len(), 1);
        assert_eq!(
            bundle["entry"][0]["resource"]["section"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert!(bundle["entry"][0]["resource"].get("subject").is_none());
    }

    #[test]
    fn hostile_network_and_request_ids_stay_inside_the_urls() {
        let mut hostile = provenance();
        hostile.source_network = "../evil\"/x?y#z".into();
        hostile.request_id = "<script>".repeat(20);
        let text = ips_document([RECORDS[0].as_bytes()], &hostile).unwrap();
        let bundle: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            bundle["entry"][1]["fullUrl"],
            "https://ehrx.invalid/---evil--x-y-z/fhir/Patient/ada"
        );
        let id = bundle["id"].as_str().unwrap();
        assert!(
            id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
            "{id}"
        );
        assert_eq!(bundle["identifier"]["value"], hostile.request_id);
    }

    #[test]
    fn resources_go_to_their_ips_section() {
        let of = |v: Value| IpsSection::of(&v);
        assert_eq!(of(json!({"resourceType": "Patient"})), None);
        for (resource_type, section) in [
            ("AllergyIntolerance", IpsSection::Allergies),
            ("MedicationDispense", IpsSection::Medications),
            ("Condition", IpsSection::Problems),
            ("Immunization", IpsSection::Immunizations),
            ("Procedure", IpsSection::Procedures),
            ("DiagnosticReport", IpsSection::Results),
            ("Observation", IpsSection::Results),
            ("Claim", IpsSection::Other),
        ] {
            let resource = json!({ "resourceType": resource_type });
            assert_eq!(of(resource), Some(section), "{resource_type}");
        }
        let vital = json!({"resourceType": "Observation",
            "category": [{"coding": [{"code": "vital-signs"}]}]});
        assert_eq!(of(vital), Some(IpsSection::VitalSigns));
        assert_eq!(of(json!([])), Some(IpsSection::Other));
        let ids: HashSet<&str> = IpsSection::ORDER.iter().map(|s| s.id()).collect();
        assert_eq!(ids.len(), IpsSection::ORDER.len());
    }
}
