//! A clinician's view of a set of FHIR R4 resources, as plain text or as
//! one standalone HTML page, in the order of the HL7 International Patient
//! Summary (IPS): allergies, medications, problems, immunizations,
//! procedures, results, vital signs, then every other resource received,
//! so nothing is hidden. [`Provenance`] puts a banner at the top: where
//! the records came from, for which request, and what was verified; a
//! failed verification shows a red banner and no records. Vital signs get
//! small trend charts ([`vitals`]), dates and units are shown readably
//! ([`dates`]), and [`ips`] writes the same sections as a FHIR document
//! Bundle for the clinician's own EHR.
//!
//! Resources come from another network, so nothing in them is trusted as
//! markup: every string is escaped in HTML, and the page has inline CSS and
//! no scripts or external resources, so it opens offline and leaks nothing.
//! Values are shown as the received JSON text (`0.1000` stays `0.1000`:
//! serde_json keeps a number's text with `arbitrary_precision`), never
//! re-serialised through `f64`. Missing optional fields are left out
//! rather than guessed.

pub mod dates;
pub mod ips;
pub mod vitals;

use std::fmt::Write as _;

use serde_json::Value;

use super::{RequestEntry, VerifiedReply};

pub use dates::FhirDate;
pub use ips::{IpsError, IpsSection, ips_document};
pub use vitals::{Measurement, Trend, TrendChart, VitalSeries};

use dates::{newest_first, readable, readable_unix_ms};
use vitals::{DatedMeasurement, readable_unit};

/// Longest text a cell shows; longer text is cut, saying by how much.
pub const MAX_CELL_CHARS: usize = 2_000;

/// The patient as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientSummary {
    /// Display name.
    pub name: Option<String>,
    /// Administrative gender.
    pub gender: Option<String>,
    /// Date of birth.
    pub birth_date: Option<String>,
}

/// One Condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionSummary {
    /// What it is.
    pub name: String,
    /// Clinical status (active, resolved, …).
    pub clinical_status: Option<String>,
    /// Onset date or description.
    pub onset: Option<String>,
    /// `Type/id` of the resource.
    pub reference: Option<String>,
}

/// One MedicationStatement, MedicationRequest, MedicationAdministration or
/// MedicationDispense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicationSummary {
    /// The medication.
    pub medication: String,
    /// Its status.
    pub status: Option<String>,
    /// Dosage instructions as text.
    pub dosage: Option<String>,
    /// When (the statement's or administration's date, the request's authoring).
    pub date: Option<String>,
    /// `Type/id` of the resource.
    pub reference: Option<String>,
}

/// One AllergyIntolerance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllergySummary {
    /// The substance.
    pub substance: String,
    /// low, high or unable-to-assess.
    pub criticality: Option<String>,
    /// Manifestations of the reactions.
    pub reactions: Vec<String>,
    /// `Type/id` of the resource.
    pub reference: Option<String>,
}

/// One Immunization or Procedure: what, its status, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSummary {
    /// The vaccine or procedure.
    pub name: String,
    /// Its status.
    pub status: Option<String>,
    /// When.
    pub date: Option<String>,
    /// `Type/id` of the resource.
    pub reference: Option<String>,
}

/// One Observation or DiagnosticReport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationSummary {
    /// What was observed.
    pub name: String,
    /// The value with its unit, or the components' values, as received.
    pub value: Option<String>,
    /// When.
    pub effective: Option<String>,
    /// A vital sign (else a result).
    pub vital_sign: bool,
    /// The charted vital-sign values it carries.
    pub measurements: Vec<Measurement>,
    /// `Type/id` of the resource.
    pub reference: Option<String>,
}

/// One Encounter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncounterSummary {
    /// Its type.
    pub kind: String,
    /// Its class (ambulatory, emergency, inpatient, …).
    pub class: Option<String>,
    /// Start of its period.
    pub start: Option<String>,
    /// End of its period.
    pub end: Option<String>,
    /// `Type/id` of the resource.
    pub reference: Option<String>,
}

/// A resource of a type the IPS sections do not cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherSummary {
    /// Its resourceType.
    pub resource_type: String,
    /// What it says, as far as a generic reading goes (its code, name or
    /// status), else its id.
    pub description: String,
    /// A date it carries.
    pub date: Option<String>,
    /// `Type/id` of the resource.
    pub reference: Option<String>,
}

/// The summary of a set of resources.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClinicalSummary {
    /// Patient resources.
    pub patients: Vec<PatientSummary>,
    /// Allergies and intolerances.
    pub allergies: Vec<AllergySummary>,
    /// Medications, most recent first.
    pub medications: Vec<MedicationSummary>,
    /// Conditions, most recent onset first.
    pub conditions: Vec<ConditionSummary>,
    /// Immunizations, most recent first.
    pub immunizations: Vec<EventSummary>,
    /// Procedures, most recent first.
    pub procedures: Vec<EventSummary>,
    /// Observations and diagnostic reports (results and vital signs),
    /// most recent first.
    pub observations: Vec<ObservationSummary>,
    /// Encounters, most recent first (shown with the other resources).
    pub encounters: Vec<EncounterSummary>,
    /// Every other resource, most recent first.
    pub other_resources: Vec<OtherSummary>,
}

/// Where a reply came from and what was checked, for the banner.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    /// The network that answered (where the records are kept).
    pub source_network: String,
    /// MSP id of the responder that signed the reply.
    pub responder: Option<String>,
    /// The request.
    pub request_id: String,
    /// Why it was asked (`PURPOSE_TREATMENT` or `treatment`; shown readably).
    pub purpose: Option<String>,
    /// Who asked (requester code and organisation).
    pub requester: Option<String>,
    /// The categories asked for; empty for all.
    pub categories: Vec<String>,
    /// When the request was made (Unix ms).
    pub requested_at_ms: Option<i64>,
    /// When the responder formed the reply (Unix ms).
    pub replied_at_ms: Option<i64>,
    /// When it was read and checked here (Unix ms).
    pub read_at_ms: i64,
    /// Records whose signature, sealing and hash checked out.
    pub records_verified: usize,
    /// Records the reply lists.
    pub records_total: usize,
    /// Whether the reply holds the patient's whole history in the
    /// requested categories: `None` while replies do not say (the banner
    /// then says nothing about it).
    pub complete_history: Option<bool>,
}

impl Provenance {
    /// What is known of a request before its reply is read: its id, the
    /// network asked, and what the ledger says of it (`GetRequestStatus`),
    /// if known. No record is counted yet.
    pub fn from_request(
        request_id: &str,
        source_network: &str,
        request: Option<&RequestEntry>,
        read_at_ms: i64,
    ) -> Self {
        Self {
            source_network: source_network.to_string(),
            request_id: request_id.to_string(),
            purpose: request.map(|r| r.purpose.clone()),
            requester: request.map(|r| format!("{} ({})", r.requester_code, r.requester_msp_id)),
            categories: request.map(|r| r.categories.clone()).unwrap_or_default(),
            requested_at_ms: request.map(|r| r.created_at_ms),
            read_at_ms,
            ..Self::default()
        }
    }

    /// The provenance of a reply read and verified at `read_at_ms`, with
    /// what the ledger says of its request, if known.
    pub fn from_reply(
        reply: &VerifiedReply,
        request: Option<&RequestEntry>,
        read_at_ms: i64,
    ) -> Self {
        Self {
            responder: Some(reply.responder_msp_id.clone()),
            replied_at_ms: reply.created_at.as_ref().map(|at| {
                at.seconds
                    .saturating_mul(1000)
                    .saturating_add(i64::from(at.nanos / 1_000_000))
            }),
            // A VerifiedReply exists only once every record checked out.
            records_verified: reply.records.len(),
            records_total: reply.records.len(),
            complete_history: Some(reply.complete),
            ..Self::from_request(
                &reply.request_id,
                &reply.replying_network,
                request,
                read_at_ms,
            )
        }
    }

    /// Whether every record verified.
    pub fn verified(&self) -> bool {
        self.records_verified == self.records_total
    }

    /// The verdict line: `N of N records verified (…)`.
    pub fn verdict(&self) -> String {
        format!(
            "{} of {} records verified (responder's signature, sealed to you, hashes match the source ledger)",
            self.records_verified, self.records_total
        )
    }

    fn history_line(&self) -> Option<&'static str> {
        self.complete_history.map(|complete| {
            if complete {
                "The source network states this is the patient's whole history in the requested categories."
            } else {
                "Incomplete history: the source network states this reply does not hold the patient's whole history in the requested categories."
            }
        })
    }

    /// The banner's facts as (label, value) pairs, in order.
    fn facts(&self) -> Vec<(&'static str, String)> {
        let mut facts = vec![(
            "Source network",
            match &self.responder {
                Some(responder) => format!("{} (signed by {responder})", self.source_network),
                None => self.source_network.clone(),
            },
        )];
        facts.push(("Request", self.request_id.clone()));
        if let Some(purpose) = &self.purpose {
            facts.push(("Purpose", readable_purpose(purpose)));
        }
        if let Some(requester) = &self.requester {
            facts.push(("Requester", requester.clone()));
        }
        facts.push((
            "Categories",
            if self.categories.is_empty() {
                "all".to_string()
            } else {
                self.categories.join(", ")
            },
        ));
        let when = |at: Option<i64>| at.map_or_else(|| "not known".to_string(), readable_unix_ms);
        facts.push(("Requested", when(self.requested_at_ms)));
        facts.push(("Replied", when(self.replied_at_ms)));
        facts.push(("Read", readable_unix_ms(self.read_at_ms)));
        facts
    }

    /// The banner as text lines.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mark = if self.verified() {
            "VERIFIED"
        } else {
            "NOT VERIFIED"
        };
        let _ = writeln!(out, "{mark}: {}", self.verdict());
        if let Some(line) = self.history_line() {
            let _ = writeln!(out, "{line}");
        }
        for (label, value) in self.facts() {
            let _ = writeln!(out, "{label}: {}", cell(&value));
        }
        out
    }

    fn html(&self, failure: Option<&str>) -> String {
        let mut out = String::new();
        match failure {
            None => {
                out.push_str("<header class=\"banner verified\" role=\"status\" data-verdict=\"verified\">\n");
                let _ = writeln!(
                    out,
                    "<p class=\"verdict\"><span class=\"mark\" aria-hidden=\"true\">&#10004;</span> {}</p>",
                    escape(&self.verdict())
                );
            }
            Some(reason) => {
                out.push_str(
                    "<header class=\"banner failed\" role=\"alert\" data-verdict=\"failed\">\n",
                );
                let _ = writeln!(
                    out,
                    "<p class=\"verdict\"><span class=\"mark\" aria-hidden=\"true\">&#10008;</span> Verification failed: {}</p>\n\
                     <p>No record of this reply is shown: what it holds cannot be trusted. Ask the source network again, and tell your network's administrator.</p>",
                    escape(&cell(reason))
                );
            }
        }
        if let Some(line) = self.history_line() {
            let class = if self.complete_history == Some(true) {
                "complete"
            } else {
                "incomplete"
            };
            let _ = writeln!(
                out,
                "<p class=\"history {class}\" data-history=\"{class}\">{}</p>",
                escape(line)
            );
        }
        out.push_str("<dl class=\"provenance\">\n");
        for (label, value) in self.facts() {
            let _ = writeln!(
                out,
                "<div><dt>{}</dt><dd>{}</dd></div>",
                escape(label),
                escape(&cell(&value))
            );
        }
        out.push_str("</dl>\n</header>\n");
        out
    }
}

/// `PURPOSE_TREATMENT` or `treatment` as `Treatment`.
fn readable_purpose(purpose: &str) -> String {
    let word = purpose
        .strip_prefix("PURPOSE_")
        .unwrap_or(purpose)
        .to_lowercase();
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first
            .to_uppercase()
            .chain(chars)
            .collect::<String>()
            .replace('_', " ")
    })
}

/// The page shown when a reply failed verification: the red banner with
/// what is known of the request, and no records.
pub fn failure_html(provenance: &Provenance, reason: &str) -> String {
    let mut out = String::from(HTML_HEAD);
    out.push_str(&provenance.html(Some(reason)));
    out.push_str(HTML_TAIL);
    out
}

pub(crate) fn string(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A JSON number's text exactly as received (`arbitrary_precision` keeps
/// it); `None` for anything else.
pub(crate) fn exact_number(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A CodeableConcept's text, else its first coding's display, else code.
fn concept(value: Option<&Value>) -> Option<String> {
    let value = value?;
    string(value, "text").or_else(|| {
        let codings = value.get("coding")?.as_array()?;
        codings
            .iter()
            .find_map(|coding| string(coding, "display"))
            .or_else(|| codings.iter().find_map(|coding| string(coding, "code")))
    })
}

/// A Coding's display, else its code.
fn coding(value: Option<&Value>) -> Option<String> {
    let value = value?;
    string(value, "display").or_else(|| string(value, "code"))
}

fn first<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.get(key)?.as_array()?.first()
}

/// `Type/id` of a resource.
pub(crate) fn reference(resource: &Value) -> Option<String> {
    Some(format!(
        "{}/{}",
        string(resource, "resourceType")?,
        string(resource, "id")?
    ))
}

/// The first of `keys` that holds a date: a string, or a Period's start.
fn date_of(resource: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|key| {
        string(resource, key).or_else(|| resource.get(key).and_then(|p| string(p, "start")))
    })
}

fn human_name(name: &Value) -> Option<String> {
    string(name, "text").or_else(|| {
        let mut parts: Vec<String> = name
            .get("given")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        parts.extend(string(name, "family"));
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}

fn patient(resource: &Value) -> PatientSummary {
    let names = resource.get("name").and_then(Value::as_array);
    // The official name if there is one, else the first.
    let name = names.and_then(|names| {
        names
            .iter()
            .find(|n| n.get("use").and_then(Value::as_str) == Some("official"))
            .or_else(|| names.first())
            .and_then(human_name)
    });
    PatientSummary {
        name,
        gender: string(resource, "gender"),
        birth_date: string(resource, "birthDate"),
    }
}

fn quantity(value: &Value) -> Option<String> {
    let amount = exact_number(value.get("value")?)?;
    let comparator = string(value, "comparator").unwrap_or_default();
    Some(
        match string(value, "unit").or_else(|| string(value, "code")) {
            Some(unit) => format!("{comparator}{amount} {}", readable_unit(&unit)),
            None => format!("{comparator}{amount}"),
        },
    )
}

/// An element's value[x], for the types observations use.
fn value_x(element: &Value) -> Option<String> {
    if let Some(q) = element.get("valueQuantity") {
        return quantity(q);
    }
    if let Some(c) = element.get("valueCodeableConcept") {
        return concept(Some(c));
    }
    if let Some(b) = element.get("valueBoolean").and_then(Value::as_bool) {
        return Some(if b { "yes" } else { "no" }.to_string());
    }
    if let Some(n) = element.get("valueInteger") {
        return exact_number(n);
    }
    if let Some(range) = element.get("valueRange") {
        let low = range.get("low").and_then(quantity);
        let high = range.get("high").and_then(quantity);
        return match (low, high) {
            (Some(low), Some(high)) => Some(format!("{low} to {high}")),
            (Some(low), None) => Some(format!("≥ {low}")),
            (None, Some(high)) => Some(format!("≤ {high}")),
            (None, None) => None,
        };
    }
    if let Some(at) = string(element, "valueDateTime") {
        return Some(readable(&at));
    }
    ["valueString", "valueTime"]
        .iter()
        .find_map(|key| string(element, key))
}

fn observation(resource: &Value) -> ObservationSummary {
    let components: Vec<String> = resource
        .get("component")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|component| {
            let value = value_x(component)?;
            Some(match concept(component.get("code")) {
                Some(name) => format!("{name} {value}"),
                None => value,
            })
        })
        .collect();
    let value =
        value_x(resource).or_else(|| (!components.is_empty()).then(|| components.join("; ")));
    ObservationSummary {
        name: concept(resource.get("code")).unwrap_or_else(|| "Unnamed observation".into()),
        value,
        effective: date_of(
            resource,
            &[
                "effectiveDateTime",
                "effectivePeriod",
                "effectiveInstant",
                "issued",
            ],
        ),
        vital_sign: vitals::is_vital_sign(resource),
        measurements: vitals::measurements(resource),
        reference: reference(resource),
    }
}

fn diagnostic_report(resource: &Value) -> ObservationSummary {
    ObservationSummary {
        name: concept(resource.get("code")).unwrap_or_else(|| "Unnamed report".into()),
        value: string(resource, "conclusion").or_else(|| {
            let status = string(resource, "status")?;
            Some(format!("report {status}"))
        }),
        effective: date_of(
            resource,
            &["effectiveDateTime", "effectivePeriod", "issued"],
        ),
        vital_sign: false,
        measurements: Vec::new(),
        reference: reference(resource),
    }
}

fn condition(resource: &Value) -> ConditionSummary {
    let onset = date_of(resource, &["onsetDateTime", "onsetPeriod", "onsetString"]).or_else(|| {
        resource
            .get("onsetAge")
            .and_then(quantity)
            .map(|age| format!("age {age}"))
    });
    ConditionSummary {
        name: concept(resource.get("code")).unwrap_or_else(|| "Unnamed condition".into()),
        clinical_status: concept(resource.get("clinicalStatus")),
        onset,
        reference: reference(resource),
    }
}

fn medication(resource: &Value) -> MedicationSummary {
    let medication = concept(resource.get("medicationCodeableConcept"))
        .or_else(|| {
            resource
                .get("medicationReference")
                .and_then(|r| string(r, "display"))
        })
        .unwrap_or_else(|| "Unnamed medication".into());
    // Statements have `dosage` (a list), administrations `dosage` (one),
    // requests and dispenses `dosageInstruction`.
    let dosage = ["dosage", "dosageInstruction"].iter().find_map(|key| {
        let dosage = resource.get(key)?;
        string(
            dosage
                .as_array()
                .and_then(|list| list.first())
                .unwrap_or(dosage),
            "text",
        )
    });
    MedicationSummary {
        medication,
        status: string(resource, "status"),
        dosage,
        date: date_of(
            resource,
            &[
                "effectiveDateTime",
                "effectivePeriod",
                "authoredOn",
                "whenHandedOver",
                "dateAsserted",
            ],
        ),
        reference: reference(resource),
    }
}

fn allergy(resource: &Value) -> AllergySummary {
    let reactions = resource
        .get("reaction")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|reaction| {
            reaction
                .get("manifestation")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| concept(Some(m)))
        })
        .collect();
    AllergySummary {
        substance: concept(resource.get("code"))
            .or_else(|| first(resource, "reaction").and_then(|r| concept(r.get("substance"))))
            .unwrap_or_else(|| "Unnamed substance".into()),
        criticality: string(resource, "criticality"),
        reactions,
        reference: reference(resource),
    }
}

fn immunization(resource: &Value) -> EventSummary {
    EventSummary {
        name: concept(resource.get("vaccineCode")).unwrap_or_else(|| "Unnamed vaccine".into()),
        status: string(resource, "status"),
        date: date_of(resource, &["occurrenceDateTime", "recorded"])
            .or_else(|| string(resource, "occurrenceString")),
        reference: reference(resource),
    }
}

fn procedure(resource: &Value) -> EventSummary {
    EventSummary {
        name: concept(resource.get("code")).unwrap_or_else(|| "Unnamed procedure".into()),
        status: string(resource, "status"),
        date: date_of(resource, &["performedDateTime", "performedPeriod"])
            .or_else(|| string(resource, "performedString")),
        reference: reference(resource),
    }
}

fn encounter(resource: &Value) -> EncounterSummary {
    let period = resource.get("period");
    EncounterSummary {
        kind: first(resource, "type")
            .and_then(|t| concept(Some(t)))
            .or_else(|| concept(resource.get("serviceType")))
            .unwrap_or_else(|| "Encounter".into()),
        class: coding(resource.get("class")),
        start: period.and_then(|p| string(p, "start")),
        end: period.and_then(|p| string(p, "end")),
        reference: reference(resource),
    }
}

/// A generic reading of any resource: its code, type or name, else its
/// status, else its id; and the first date it carries.
fn other(resource: &Value, resource_type: &str) -> OtherSummary {
    let description = ["code", "type", "vaccineCode"]
        .iter()
        .find_map(|key| {
            let value = resource.get(key)?;
            concept(Some(
                value
                    .as_array()
                    .and_then(|list| list.first())
                    .unwrap_or(value),
            ))
        })
        .or_else(|| string(resource, "name"))
        .or_else(|| first(resource, "name").and_then(human_name))
        .or_else(|| string(resource, "title"))
        .or_else(|| string(resource, "status").map(|status| format!("status {status}")))
        .or_else(|| string(resource, "id").map(|id| format!("id {id}")))
        .unwrap_or_default();
    OtherSummary {
        resource_type: resource_type.to_string(),
        description,
        date: date_of(
            resource,
            &[
                "date",
                "created",
                "authoredOn",
                "recorded",
                "issued",
                "billablePeriod",
                "period",
            ],
        ),
        reference: reference(resource),
    }
}

/// A Bundle's entries nest; deeper than this is not opened.
const MAX_BUNDLE_DEPTH: usize = 4;

impl ClinicalSummary {
    /// Summarises resources; Bundles are opened and their entries summarised.
    pub fn from_resources<'a>(resources: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut summary = Self::default();
        for resource in resources {
            summary.add(resource, 0);
        }
        let newest =
            |a: &Option<String>, b: &Option<String>| newest_first(a.as_deref(), b.as_deref());
        summary.medications.sort_by(|a, b| newest(&a.date, &b.date));
        summary
            .conditions
            .sort_by(|a, b| newest(&a.onset, &b.onset));
        summary
            .immunizations
            .sort_by(|a, b| newest(&a.date, &b.date));
        summary.procedures.sort_by(|a, b| newest(&a.date, &b.date));
        summary
            .observations
            .sort_by(|a, b| newest(&a.effective, &b.effective));
        summary
            .encounters
            .sort_by(|a, b| newest(&a.start, &b.start));
        summary
            .other_resources
            .sort_by(|a, b| newest(&a.date, &b.date));
        summary
    }

    fn add(&mut self, resource: &Value, depth: usize) {
        let resource_type = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("(no resourceType)");
        match resource_type {
            "Bundle" if depth < MAX_BUNDLE_DEPTH => {
                let entries = resource.get("entry").and_then(Value::as_array);
                for entry in entries.into_iter().flatten() {
                    if let Some(inner) = entry.get("resource") {
                        self.add(inner, depth + 1);
                    }
                }
            }
            "Patient" => self.patients.push(patient(resource)),
            "AllergyIntolerance" => self.allergies.push(allergy(resource)),
            "MedicationStatement"
            | "MedicationRequest"
            | "MedicationAdministration"
            | "MedicationDispense" => self.medications.push(medication(resource)),
            "Condition" => self.conditions.push(condition(resource)),
            "Immunization" => self.immunizations.push(immunization(resource)),
            "Procedure" => self.procedures.push(procedure(resource)),
            "Observation" => self.observations.push(observation(resource)),
            "DiagnosticReport" => self.observations.push(diagnostic_report(resource)),
            "Encounter" => self.encounters.push(encounter(resource)),
            other_type => self.other_resources.push(other(resource, other_type)),
        }
    }

    /// The vital-sign trend charts.
    pub fn trends(&self) -> Vec<TrendChart> {
        let measurements: Vec<DatedMeasurement> = self
            .observations
            .iter()
            .filter(|o| o.vital_sign)
            .flat_map(|o| {
                o.measurements.iter().map(|measurement| DatedMeasurement {
                    measurement: measurement.clone(),
                    effective: o.effective.clone(),
                })
            })
            .collect();
        vitals::trend_charts(&measurements)
    }

    /// The rows of each section in IPS order, as cells, shared by the text
    /// and HTML forms and the IPS document so all show the same facts.
    pub fn sections(&self) -> Vec<Section> {
        let or_blank = |s: &Option<String>| s.clone().unwrap_or_default();
        let date = |s: &Option<String>| s.as_deref().map(readable).unwrap_or_default();
        let rows = |section: IpsSection| -> Vec<Row> {
            match section {
                IpsSection::Allergies => self
                    .allergies
                    .iter()
                    .map(|a| {
                        Row::new(
                            &a.reference,
                            [
                                a.substance.clone(),
                                or_blank(&a.criticality),
                                a.reactions.join(", "),
                            ],
                        )
                    })
                    .collect(),
                IpsSection::Medications => self
                    .medications
                    .iter()
                    .map(|m| {
                        Row::new(
                            &m.reference,
                            [
                                m.medication.clone(),
                                or_blank(&m.status),
                                or_blank(&m.dosage),
                                date(&m.date),
                            ],
                        )
                    })
                    .collect(),
                IpsSection::Problems => self
                    .conditions
                    .iter()
                    .map(|c| {
                        Row::new(
                            &c.reference,
                            [c.name.clone(), or_blank(&c.clinical_status), date(&c.onset)],
                        )
                    })
                    .collect(),
                IpsSection::Immunizations => events(&self.immunizations),
                IpsSection::Procedures => events(&self.procedures),
                IpsSection::Results | IpsSection::VitalSigns => {
                    let vital = section == IpsSection::VitalSigns;
                    self.observations
                        .iter()
                        .filter(|o| o.vital_sign == vital)
                        .map(|o| {
                            Row::new(
                                &o.reference,
                                [o.name.clone(), or_blank(&o.value), date(&o.effective)],
                            )
                        })
                        .collect()
                }
                IpsSection::Other => {
                    let encounters = self.encounters.iter().map(|e| {
                        let what = match &e.class {
                            Some(class) => format!("{} ({class})", e.kind),
                            None => e.kind.clone(),
                        };
                        Row::new(&e.reference, ["Encounter".to_string(), what, period(e)])
                    });
                    let others = self.other_resources.iter().map(|o| {
                        Row::new(
                            &o.reference,
                            [
                                o.resource_type.clone(),
                                o.description.clone(),
                                date(&o.date),
                            ],
                        )
                    });
                    encounters.chain(others).collect()
                }
            }
        };
        IpsSection::ORDER
            .iter()
            .map(|&section| Section {
                section,
                rows: rows(section),
            })
            .collect()
    }

    fn patient_rows(&self) -> Vec<[String; 3]> {
        self.patients
            .iter()
            .map(|p| {
                [
                    p.name.clone().unwrap_or_default(),
                    p.gender.clone().unwrap_or_default(),
                    p.birth_date.as_deref().map(readable).unwrap_or_default(),
                ]
            })
            .collect()
    }

    /// The summary as plain text, one section per heading.
    pub fn to_text(&self) -> String {
        self.text(None)
    }

    /// The summary as plain text, the provenance first.
    pub fn to_text_with_provenance(&self, provenance: &Provenance) -> String {
        self.text(Some(provenance))
    }

    fn text(&self, provenance: Option<&Provenance>) -> String {
        let mut out = String::from("CLINICAL SUMMARY\n");
        if let Some(provenance) = provenance {
            out.push_str(&provenance.to_text());
        }
        let _ = write!(out, "\nPatient ({})\n", self.patients.len());
        for [name, gender, born] in self.patient_rows() {
            let born = (!born.is_empty()).then(|| format!("born {born}"));
            let row = Row::new(&None, [name, gender, born.unwrap_or_default()]);
            let _ = writeln!(out, "  - {}", row.line());
        }
        let trends = self.trends();
        for section in self.sections() {
            let columns = section.section.columns();
            let _ = write!(
                out,
                "\n{} ({})\n",
                section.section.title(),
                section.rows.len()
            );
            if section.section == IpsSection::VitalSigns {
                for chart in &trends {
                    let latest: Vec<String> = chart
                        .latest
                        .iter()
                        .map(|l| match &l.when {
                            Some(when) => format!("{} {} on {when}", l.series.name(), l.value),
                            None => format!("{} {}", l.series.name(), l.value),
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "  latest {}: {}",
                        chart.trend.title().to_lowercase(),
                        latest.join(", ")
                    );
                }
            }
            if section.rows.is_empty() {
                out.push_str("  none recorded\n");
            }
            for row in &section.rows {
                let details: Vec<String> = columns[1..]
                    .iter()
                    .zip(&row.cells[1..])
                    .filter(|(_, cell)| !cell.is_empty())
                    .map(|(column, text)| format!("{}: {}", column.to_lowercase(), cell(text)))
                    .collect();
                let _ = if details.is_empty() {
                    writeln!(out, "  - {}", cell(&row.cells[0]))
                } else {
                    writeln!(out, "  - {} ({})", cell(&row.cells[0]), details.join("; "))
                };
            }
        }
        out
    }

    /// The summary as a standalone HTML page, without a provenance banner
    /// (resources that did not come in a reply).
    pub fn to_html(&self) -> String {
        self.html(None)
    }

    /// The page a clinician reads: the provenance banner at the top, then
    /// the summary; a red banner and no records if any record failed
    /// verification.
    pub fn to_html_with_provenance(&self, provenance: &Provenance) -> String {
        if !provenance.verified() {
            return failure_html(
                provenance,
                &format!(
                    "only {} of {} records verified",
                    provenance.records_verified, provenance.records_total
                ),
            );
        }
        self.html(Some(provenance))
    }

    fn html(&self, provenance: Option<&Provenance>) -> String {
        let mut out = String::from(HTML_HEAD);
        if let Some(provenance) = provenance {
            out.push_str(&provenance.html(None));
        }
        out.push_str("<h1>Clinical summary</h1>\n");
        out.push_str("<section id=\"patient\" data-section=\"patient\">\n<h2>Patient</h2>\n");
        table(
            &mut out,
            &["Name", "Gender", "Born"],
            self.patient_rows().iter().map(|r| r.as_slice()),
        );
        out.push_str("</section>\n");
        let trends = self.trends();
        for section in self.sections() {
            let id = section.section.id();
            let _ = write!(
                out,
                "<section id=\"{id}\" data-section=\"{id}\">\n<h2>{} <span class=\"count\">({})</span></h2>\n",
                escape(section.section.title()),
                section.rows.len()
            );
            if section.section == IpsSection::VitalSigns && !trends.is_empty() {
                trends_html(&mut out, &trends);
            }
            table(
                &mut out,
                section.section.columns(),
                section.rows.iter().map(|row| row.cells.as_slice()),
            );
            out.push_str("</section>\n");
        }
        out.push_str(HTML_TAIL);
        out
    }
}

fn events(list: &[EventSummary]) -> Vec<Row> {
    list.iter()
        .map(|e| {
            Row::new(
                &e.reference,
                [
                    e.name.clone(),
                    e.status.clone().unwrap_or_default(),
                    e.date.as_deref().map(readable).unwrap_or_default(),
                ],
            )
        })
        .collect()
}

/// One IPS section's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Which.
    pub section: IpsSection,
    /// Its rows, one per resource, in [`IpsSection::columns`]' order.
    pub rows: Vec<Row>,
}

/// One resource in a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// `Type/id` of the resource.
    pub reference: Option<String>,
    /// The cells, readable (dates and units), values as received.
    pub cells: Vec<String>,
}

impl Row {
    fn new<const N: usize>(reference: &Option<String>, cells: [String; N]) -> Self {
        Self {
            reference: reference.clone(),
            cells: cells.into(),
        }
    }

    /// The row as one line: its first cell, then the others that are set.
    pub fn line(&self) -> String {
        let mut parts = self.cells.iter().filter(|c| !c.is_empty()).map(|c| cell(c));
        let head = parts.next().unwrap_or_default();
        let rest: Vec<String> = parts.collect();
        if rest.is_empty() {
            head
        } else {
            format!("{head} ({})", rest.join("; "))
        }
    }
}

fn period(encounter: &EncounterSummary) -> String {
    let start = encounter.start.as_deref().map(readable);
    let end = encounter.end.as_deref().map(readable);
    match (start, end) {
        (Some(start), Some(end)) => format!("{start} – {end}"),
        (Some(start), None) => format!("from {start}"),
        (None, Some(end)) => format!("until {end}"),
        (None, None) => String::new(),
    }
}

/// Text cut to [`MAX_CELL_CHARS`], saying how much was left out.
pub(crate) fn cell(text: &str) -> String {
    match text.char_indices().nth(MAX_CELL_CHARS) {
        None => text.to_string(),
        Some((at, _)) => format!(
            "{}… ({} more characters not shown)",
            &text[..at],
            text[at..].chars().count()
        ),
    }
}

fn table<'a>(out: &mut String, columns: &[&str], rows: impl Iterator<Item = &'a [String]>) {
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        out.push_str("<p class=\"none\">None recorded.</p>\n");
        return;
    }
    out.push_str("<table>\n<thead><tr>");
    for column in columns {
        let _ = write!(out, "<th>{}</th>", escape(column));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for text in row {
            let _ = write!(out, "<td>{}</td>", escape(&cell(text)));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn trends_html(out: &mut String, trends: &[TrendChart]) {
    out.push_str("<div class=\"trends\">\n");
    for chart in trends {
        let _ = writeln!(
            out,
            "<figure class=\"trend\" data-trend=\"{}\">\n<figcaption><strong>{}</strong>",
            chart.trend.id(),
            escape(chart.trend.title())
        );
        out.push_str("<dl class=\"latest\">");
        for (index, latest) in chart.latest.iter().enumerate() {
            let _ = write!(
                out,
                "<div><dt><span class=\"swatch s{index}\"></span>{} (latest)</dt><dd><span class=\"value\">{}</span>",
                escape(latest.series.name()),
                escape(&cell(&latest.value))
            );
            if let Some(when) = &latest.when {
                let _ = write!(out, " <span class=\"when\">{}</span>", escape(&cell(when)));
            }
            out.push_str("</dd></div>");
        }
        out.push_str("</dl>");
        if chart.not_plotted > 0 {
            let _ = write!(
                out,
                "<p class=\"note\">{} value(s) not drawn (undated, another unit, or older than the latest {}).</p>",
                chart.not_plotted,
                vitals::MAX_POINTS
            );
        }
        out.push_str("</figcaption>\n");
        match &chart.svg {
            Ok(svg) => {
                let _ = writeln!(
                    out,
                    "<div class=\"chart\" role=\"img\" aria-label=\"{} over time\">{svg}</div>",
                    escape(chart.trend.title())
                );
            }
            Err(why) => {
                let _ = writeln!(out, "<p class=\"none\">No chart: {}.</p>", escape(why));
            }
        }
        out.push_str("</figure>\n");
    }
    out.push_str("</div>\n");
}

/// Escapes text for HTML element content and quoted attribute values;
/// control characters other than tab and newline become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // NUL and other controls but tab and newline are not text.
            c if c.is_control() && c != '\t' && c != '\n' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const HTML_HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>Clinical summary</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1b1f23; background: #f6f8fa; }
main { max-width: 64rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.5rem; margin: 1rem 0; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; border-bottom: 2px solid #0969da; padding-bottom: .25rem; }
.count { color: #57606a; font-weight: normal; }
table { width: 100%; border-collapse: collapse; background: #fff; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eaeef2; font-weight: 600; }
.none, .note { color: #57606a; font-style: italic; }
.banner { border-radius: 6px; padding: .75rem 1rem; border: 2px solid; }
.banner.verified { background: #dafbe1; border-color: #1a7f37; }
.banner.failed { background: #ffebe9; border-color: #cf222e; color: #82071e; }
.banner .verdict { font-weight: 600; margin: 0 0 .5rem; }
.banner .history.incomplete { font-weight: 600; color: #9a6700; }
.provenance { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: .25rem 1rem; margin: 0; }
.provenance dt, .latest dt { font-size: .75rem; color: #57606a; text-transform: uppercase; letter-spacing: .03em; }
.provenance dd, .latest dd { margin: 0; overflow-wrap: anywhere; }
.trends { display: grid; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr)); gap: 1rem; margin-bottom: 1rem; }
.trend { display: flex; gap: .75rem; margin: 0; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem; }
.trend figcaption { min-width: 8rem; }
.latest { margin: .25rem 0; }
.latest .value { font-size: 1.15rem; font-weight: 600; }
.latest .when { display: block; color: #57606a; font-size: .8rem; }
.swatch { display: inline-block; width: .7rem; height: .7rem; margin-right: .3rem; border-radius: 2px; }
.swatch.s0 { background: #0072b2; }
.swatch.s1 { background: #d55e00; }
.chart svg { display: block; max-width: 100%; height: auto; }
footer { margin-top: 2rem; color: #57606a; font-size: .8rem; }
@page { margin: 1.5cm; }
@media print {
  body { background: #fff; font-size: 10pt; }
  main { max-width: none; padding: 0; }
  .banner { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section, .trend, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
  thead { display: table-header-group; }
  .trends { grid-template-columns: 1fr 1fr; }
}
</style>
</head>
<body>
<main>
"#;

const HTML_TAIL: &str = "<footer>Rendered by ehrx from the records as received; values are shown exactly as the source sent them.</footer>\n</main>\n</body>\n</html>\n";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    fn resources() -> Vec<Value> {
        vec![
            json!({"resourceType":"Patient","id":"p","gender":"female","birthDate":"1980-02-29",
                "name":[{"use":"nickname","text":"Jo"},{"use":"official","given":["Jo <b>","Anne"],"family":"O'Neil & Sons"}]}),
            json!({"resourceType":"Condition","id":"c1",
                "clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
                "code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003","display":"Hypertension"}]},
                "onsetDateTime":"2015-03-02"}),
            json!({"resourceType":"Condition","id":"c2","code":{"text":"Asthma"},"onsetDateTime":"2019-06-01"}),
            json!({"resourceType":"Condition","id":"c3","code":{"coding":[{"code":"195967001"}]}}),
            json!({"resourceType":"MedicationStatement","id":"m1","status":"active",
                "medicationCodeableConcept":{"text":"Lisinopril 10 MG Oral Tablet"},
                "dosage":[{"text":"1 tablet daily"}],"effectiveDateTime":"2020-01-01"}),
            json!({"resourceType":"MedicationRequest","id":"m2","status":"stopped",
                "medicationReference":{"display":"Albuterol inhaler"},
                "dosageInstruction":[{"text":"2 puffs as needed"}],"authoredOn":"2021-04-05"}),
            json!({"resourceType":"MedicationAdministration","id":"m3","status":"completed",
                "medicationCodeableConcept":{"text":"Adrenaline"},"dosage":{"text":"0.5 mg IM"}}),
            json!({"resourceType":"AllergyIntolerance","id":"a1","criticality":"high",
                "code":{"text":"Peanut"},
                "reaction":[{"manifestation":[{"text":"Hives"},{"coding":[{"display":"Anaphylaxis"}]}]}]}),
            json!({"resourceType":"AllergyIntolerance","id":"a2","code":{"text":"Latex"}}),
            json!({"resourceType":"Immunization","id":"i1","status":"completed",
                "vaccineCode":{"text":"Influenza, seasonal"},"occurrenceDateTime":"2024-10-01"}),
            json!({"resourceType":"Procedure","id":"pr1","status":"completed",
                "code":{"text":"Appendectomy"},"performedPeriod":{"start":"2010-07-04T10:00:00Z"}}),
            parse(
                r#"{"resourceType":"Observation","id":"o1","status":"final",
                "code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c"}]},
                "valueQuantity":{"value":6.40,"unit":"%"},"effectiveDateTime":"2024-01-10"}"#,
            ),
            json!({"resourceType":"Observation","id":"o2","code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure"}]},
                "effectiveDateTime":"2025-05-01",
                "component":[
                    {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic"}]},"valueQuantity":{"value":128,"unit":"mm[Hg]"}},
                    {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic"}]},"valueQuantity":{"value":82,"unit":"mm[Hg]"}}]}),
            parse(
                r#"{"resourceType":"Observation","id":"o4","code":{"coding":[{"system":"http://loinc.org","code":"29463-7","display":"Body weight"}]},
                "valueQuantity":{"value":9.071778718846515,"unit":"kg"},"effectiveDateTime":"2025-11-02"}"#,
            ),
            json!({"resourceType":"Observation","id":"o3","code":{"text":"Smoker"},"valueBoolean":false}),
            json!({"resourceType":"DiagnosticReport","id":"d1","code":{"text":"Lipid panel"},"status":"final","issued":"2024-01-11T08:00:00Z"}),
            json!({"resourceType":"Encounter","id":"e1","class":{"code":"AMB","display":"ambulatory"},
                "type":[{"text":"Check-up"}],"period":{"start":"2025-05-01T09:00:00Z","end":"2025-05-01T09:30:00Z"}}),
            json!({"resourceType":"Encounter","id":"e2","class":{"code":"EMER"}}),
            json!({"resourceType":"Organization","id":"org","name":"St Mary's"}),
            json!({"resourceType":"Claim","id":"cl","status":"active","created":"2025-05-02"}),
        ]
    }

    fn provenance(total: usize) -> Provenance {
        Provenance {
            source_network: "net2".into(),
            responder: Some("Net2Org1MSP".into()),
            request_id: "4f1c2b9e-0d1a-4e55-9c1e-6b0d2f3a4b5c".into(),
            purpose: Some("PURPOSE_EMERGENCY".into()),
            requester: Some("DR-0001 (Net1Org1MSP)".into()),
            categories: Vec::new(),
            requested_at_ms: Some(1_796_552_000_000),
            replied_at_ms: Some(1_796_552_060_000),
            read_at_ms: 1_796_552_089_000,
            records_verified: total,
            records_total: total,
            complete_history: None,
        }
    }

    #[test]
    fn every_section_reads_its_fields() {
        let summary = ClinicalSummary::from_resources(&resources());
        assert_eq!(
            summary.patients,
            [PatientSummary {
                name: Some("Jo <b> Anne O'Neil & Sons".into()),
                gender: Some("female".into()),
                birth_date: Some("1980-02-29".into()),
            }]
        );
        // Most recent onset first, undated last.
        let names: Vec<&str> = summary.conditions.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Asthma", "Hypertension", "195967001"]);
        assert_eq!(
            summary.conditions[1].clinical_status.as_deref(),
            Some("active")
        );
        assert_eq!(
            summary.conditions[1].reference.as_deref(),
            Some("Condition/c1")
        );
        let medications: Vec<(&str, Option<&str>)> = summary
            .medications
            .iter()
            .map(|m| (m.medication.as_str(), m.dosage.as_deref()))
            .collect();
        assert_eq!(
            medications,
            [
                ("Albuterol inhaler", Some("2 puffs as needed")),
                ("Lisinopril 10 MG Oral Tablet", Some("1 tablet daily")),
                ("Adrenaline", Some("0.5 mg IM")),
            ]
        );
        assert_eq!(summary.allergies[0].reactions, ["Hives", "Anaphylaxis"]);
        assert_eq!(summary.immunizations[0].name, "Influenza, seasonal");
        assert_eq!(
            summary.procedures[0].date.as_deref(),
            Some("2010-07-04T10:00:00Z")
        );
        let observations: Vec<(&str, Option<&str>, bool)> = summary
            .observations
            .iter()
            .map(|o| (o.name.as_str(), o.value.as_deref(), o.vital_sign))
            .collect();
        assert_eq!(
            observations,
            [
                ("Body weight", Some("9.071778718846515 kg"), true),
                (
                    "Blood pressure",
                    Some("Systolic 128 mmHg; Diastolic 82 mmHg"),
                    true
                ),
                ("Lipid panel", Some("report final"), false),
                ("Hemoglobin A1c", Some("6.40 %"), false),
                ("Smoker", Some("no"), false),
            ]
        );
        assert_eq!(summary.encounters[0].class.as_deref(), Some("ambulatory"));
        let others: Vec<(&str, &str)> = summary
            .other_resources
            .iter()
            .map(|o| (o.resource_type.as_str(), o.description.as_str()))
            .collect();
        assert_eq!(
            others,
            [("Claim", "status active"), ("Organization", "St Mary's")]
        );
    }

    #[test]
    fn sections_come_in_ips_order_and_hide_nothing() {
        let all = resources();
        let summary = ClinicalSummary::from_resources(&all);
        let sections = summary.sections();
        let order: Vec<IpsSection> = sections.iter().map(|s| s.section).collect();
        assert_eq!(order, IpsSection::ORDER);
        // Every resource but the Patient is a row of exactly one section.
        let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
        assert_eq!(rows, all.len() - 1);
        for resource in &all[1..] {
            let reference = reference(resource).unwrap();
            let holders: Vec<IpsSection> = sections
                .iter()
                .filter(|s| {
                    s.rows
                        .iter()
                        .any(|r| r.reference.as_deref() == Some(reference.as_str()))
                })
                .map(|s| s.section)
                .collect();
            assert_eq!(holders, [IpsSection::of(resource).unwrap()], "{reference}");
        }

        let html = summary.to_html_with_provenance(&provenance(all.len()));
        let positions: Vec<usize> = std::iter::once("patient")
            .chain(IpsSection::ORDER.iter().map(|s| s.id()))
            .map(|id| html.find(&format!("data-section=\"{id}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        assert!(html.find("class=\"banner verified\"").unwrap() < positions[0]);

        let text = summary.to_text();
        assert!(
            text.contains(
                "\nPatient (1)\n  - Jo <b> Anne O'Neil & Sons (female; born 29 Feb 1980)\n"
            ),
            "{text}"
        );
        let unnamed =
            ClinicalSummary::from_resources([&json!({"resourceType": "Patient", "id": "q"})]);
        assert!(
            unnamed.to_text().contains("\nPatient (1)\n  - \n"),
            "{}",
            unnamed.to_text()
        );
        let headings: Vec<usize> = IpsSection::ORDER
            .iter()
            .map(|s| text.find(&format!("\n{} (", s.title())).unwrap())
            .collect();
        assert!(headings.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn the_page_shows_readable_dates_units_exact_values_and_charts() {
        let summary = ClinicalSummary::from_resources(&resources());
        let html = summary.to_html_with_provenance(&provenance(20));
        for shown in [
            "<td>29 Feb 1980</td>",
            "<td>2 Mar 2015</td>",
            "<td>1 May 2025, 09:00 UTC – 1 May 2025, 09:30 UTC</td>",
            "<td>Systolic 128 mmHg; Diastolic 82 mmHg</td>",
            "<td>9.071778718846515 kg</td>",
            "<td>6.40 %</td>",
            "<span class=\"value\">9.071778718846515 kg</span>",
            "<span class=\"value\">128 mmHg</span>",
            "<td>Encounter</td><td>Check-up (ambulatory)</td>",
        ] {
            assert!(html.contains(shown), "{shown} not in the page");
        }
        assert!(!html.contains("2015-03-02"), "raw ISO dates are not shown");
        assert_eq!(html.matches("<figure class=\"trend\"").count(), 2);
        for trend in ["blood-pressure", "weight"] {
            assert!(html.contains(&format!("data-trend=\"{trend}\"")), "{trend}");
        }
        assert_eq!(html.matches("<svg").count(), 2);
        assert!(html.contains("@media print"));
    }

    #[test]
    fn the_banner_says_where_from_what_was_checked_and_when() {
        let summary = ClinicalSummary::from_resources(&resources());
        let mut provenance = provenance(20);
        let html = summary.to_html_with_provenance(&provenance);
        for shown in [
            "20 of 20 records verified (responder&#39;s signature, sealed to you, hashes match the source ledger)",
            "<dt>Source network</dt><dd>net2 (signed by Net2Org1MSP)</dd>",
            "<dt>Request</dt><dd>4f1c2b9e-0d1a-4e55-9c1e-6b0d2f3a4b5c</dd>",
            "<dt>Purpose</dt><dd>Emergency</dd>",
            "<dt>Requester</dt><dd>DR-0001 (Net1Org1MSP)</dd>",
            "<dt>Categories</dt><dd>all</dd>",
            "<dt>Requested</dt><dd>6 Dec 2026, 10:13:20 UTC</dd>",
            "<dt>Replied</dt><dd>6 Dec 2026, 10:14:20 UTC</dd>",
            "<dt>Read</dt><dd>6 Dec 2026, 10:14:49 UTC</dd>",
        ] {
            assert!(html.contains(shown), "{shown} not in the banner");
        }
        assert!(
            !html.contains("data-history"),
            "nothing said while replies do not say"
        );
        provenance.complete_history = Some(false);
        let html = summary.to_html_with_provenance(&provenance);
        assert!(html.contains("data-history=\"incomplete\""));
        provenance.complete_history = Some(true);
        assert!(
            summary
                .to_html_with_provenance(&provenance)
                .contains("data-history=\"complete\"")
        );
        let text = summary.to_text_with_provenance(&provenance);
        assert!(
            text.starts_with("CLINICAL SUMMARY\nVERIFIED: 20 of 20 records verified"),
            "{text}"
        );
        assert!(text.contains("Purpose: Emergency\n"), "{text}");
        assert_eq!(readable_purpose("referral"), "Referral");
        assert_eq!(readable_purpose(""), "");
    }

    #[test]
    fn a_failed_verification_shows_a_red_banner_and_no_records() {
        let summary = ClinicalSummary::from_resources(&resources());
        let mut partial = provenance(20);
        partial.records_verified = 19;
        for html in [
            summary.to_html_with_provenance(&partial),
            failure_html(
                &provenance(20),
                "record o1 does not match its listed SHA-256",
            ),
        ] {
            assert!(
                html.contains("class=\"banner failed\" role=\"alert\""),
                "{html}"
            );
            assert!(html.contains("Verification failed:"), "{html}");
            for record in [
                "Hypertension",
                "Peanut",
                "O&#39;Neil",
                "<table",
                "<svg",
                "data-section",
            ] {
                assert!(!html.contains(record), "{record} shown despite the failure");
            }
            assert!(html.ends_with("</html>\n"));
        }
    }

    /// Every displayed field of every kind of resource, and of the banner,
    /// carrying markup.
    fn hostile(payload: &str) -> (Vec<Value>, Provenance) {
        let p = payload;
        let concept = json!({"text": p});
        let coded = json!({"coding": [{"system": "http://loinc.org", "code": p, "display": p}]});
        let quantity = json!({"value": 1, "unit": p, "comparator": p});
        let resources = vec![
            json!({"resourceType": "Patient", "id": "x", "gender": p, "birthDate": p, "name": [{"given": [p], "family": p}]}),
            json!({"resourceType": "Patient", "id": "y", "name": [{"text": p}]}),
            json!({"resourceType": "AllergyIntolerance", "id": "x", "criticality": p,
                   "reaction": [{"substance": concept, "manifestation": [concept, coded]}]}),
            json!({"resourceType": "MedicationStatement", "id": "x", "status": p, "medicationCodeableConcept": concept,
                   "dosage": [{"text": p}], "effectiveDateTime": p}),
            json!({"resourceType": "MedicationRequest", "id": "y", "medicationReference": {"display": p},
                   "dosageInstruction": {"text": p}, "authoredOn": p}),
            json!({"resourceType": "Condition", "id": "x", "code": coded, "clinicalStatus": concept, "onsetString": p}),
            json!({"resourceType": "Condition", "id": "y", "code": concept, "onsetAge": quantity}),
            json!({"resourceType": "Immunization", "id": "x", "vaccineCode": concept, "status": p, "occurrenceString": p}),
            json!({"resourceType": "Procedure", "id": "x", "code": concept, "status": p, "performedString": p}),
            json!({"resourceType": "Observation", "id": "x", "code": concept, "valueString": p, "effectiveDateTime": p}),
            json!({"resourceType": "Observation", "id": "y", "code": coded, "valueQuantity": quantity, "issued": p}),
            json!({"resourceType": "Observation", "id": "z", "code": concept, "valueCodeableConcept": concept,
                   "component": [{"code": concept, "valueRange": {"low": quantity, "high": quantity}}]}),
            json!({"resourceType": "Observation", "id": "w", "category": [{"coding": [{"code": "vital-signs"}]}],
                   "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                   "valueQuantity": {"value": 60, "unit": p}, "effectiveDateTime": p}),
            json!({"resourceType": "DiagnosticReport", "id": "x", "code": concept, "conclusion": p, "issued": p}),
            json!({"resourceType": "Encounter", "id": "x", "type": [concept], "class": {"display": p},
                   "period": {"start": p, "end": p}}),
            json!({"resourceType": p, "id": "x", "code": concept, "date": p}),
            json!({"resourceType": "Organization", "id": "y", "name": p}),
            json!({"resourceType": "Practitioner", "id": "z", "name": [{"family": p}]}),
            json!({"resourceType": "Claim", "id": p, "status": p, "created": p}),
        ];
        let provenance = Provenance {
            source_network: p.into(),
            responder: Some(p.into()),
            request_id: p.into(),
            purpose: Some(p.into()),
            requester: Some(p.into()),
            categories: vec![p.into(), p.into()],
            requested_at_ms: None,
            replied_at_ms: None,
            read_at_ms: 0,
            records_verified: resources.len(),
            records_total: resources.len(),
            complete_history: Some(false),
        };
        (resources, provenance)
    }

    #[test]
    fn markup_in_any_displayed_field_is_escaped() {
        let payload = "<script>alert('x')</script><img src=x onerror=alert(1)>\"&";
        let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&amp;";
        let (resources, provenance) = hostile(payload);
        let summary = ClinicalSummary::from_resources(&resources);
        for html in [
            summary.to_html_with_provenance(&provenance),
            failure_html(&provenance, payload),
        ] {
            for needle in ["<script", "<img", "onerror=alert(1)>"] {
                assert!(!html.contains(needle), "{needle} in {html}");
            }
            assert!(html.contains(escaped));
        }
        let html = summary.to_html_with_provenance(&provenance);
        // Each field shows the payload (so none was skipped unescaped): the
        // banner's seven, and at least one per resource.
        let shown = html.matches(escaped).count();
        assert!(
            shown >= 7 + resources.len(),
            "{shown} escaped payloads in {html}"
        );
        // Only our own tags remain: every `<` opens a known element.
        let allowed = [
            "!DOCTYPE",
            "html",
            "head",
            "meta",
            "title",
            "style",
            "body",
            "main",
            "header",
            "p",
            "span",
            "dl",
            "div",
            "dt",
            "dd",
            "h1",
            "h2",
            "section",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "figure",
            "figcaption",
            "strong",
            "footer",
            "svg",
            "rect",
            "line",
            "text",
            "polyline",
            "circle",
            "path",
            "g",
        ];
        for tag in html.split('<').skip(1) {
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
                .collect();
            assert!(
                allowed.contains(&name.as_str()) || name == "!DOCTYPE",
                "<{name} in the page"
            );
        }
        // NUL and control characters never reach the page.
        let (resources, provenance) = hostile("a\u{0}b\u{1b}[31mc");
        let html = ClinicalSummary::from_resources(&resources).to_html_with_provenance(&provenance);
        assert!(!html.contains('\u{0}') && !html.contains('\u{1b}'));
        assert!(html.contains("a\u{FFFD}b\u{FFFD}[31mc"));
    }

    #[test]
    fn huge_strings_are_cut_in_cells() {
        let huge = "A".repeat(1 << 20);
        let resource = json!({"resourceType": "Condition", "id": "c", "code": {"text": huge}, "onsetString": "B".repeat(1 << 20)});
        let summary = ClinicalSummary::from_resources([&resource]);
        let html = summary.to_html();
        assert!(html.len() < 20_000, "{} bytes", html.len());
        assert!(html.contains(&format!(
            "… ({} more characters not shown)",
            (1 << 20) - MAX_CELL_CHARS
        )));
        assert!(summary.to_text().len() < 20_000);
        assert_eq!(cell("héllo"), "héllo");
        let multibyte = "é".repeat(MAX_CELL_CHARS + 1);
        assert!(cell(&multibyte).starts_with(&"é".repeat(MAX_CELL_CHARS)));
    }

    #[test]
    fn ten_thousand_observations_render_with_bounded_charts() {
        let resources: Vec<Value> = (0..10_000)
            .map(|i| {
                let day = format!("{}-{:02}-{:02}", 1990 + i / 365, 1 + (i / 28) % 12, 1 + i % 28);
                if i % 2 == 0 {
                    parse(&format!(
                        r#"{{"resourceType":"Observation","id":"v{i}","effectiveDateTime":"{day}",
                           "code":{{"coding":[{{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}}]}},
                           "valueQuantity":{{"value":{}.5,"unit":"/min"}}}}"#,
                        60 + i % 40
                    ))
                } else {
                    json!({"resourceType":"Observation","id":format!("l{i}"),"code":{"text":"Glucose"},
                           "valueQuantity":{"value":5,"unit":"mmol/L"},"effectiveDateTime":day})
                }
            })
            .collect();
        let started = std::time::Instant::now();
        let summary = ClinicalSummary::from_resources(&resources);
        let html = summary.to_html_with_provenance(&provenance(resources.len()));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(summary.observations.len(), 10_000);
        let trends = summary.trends();
        assert_eq!(trends.len(), 1);
        assert_eq!(
            (trends[0].plotted, trends[0].not_plotted),
            (vitals::MAX_POINTS, 5_000 - vitals::MAX_POINTS)
        );
        // A row per observation, and the two tables' headers.
        assert_eq!(html.matches("<tr>").count(), 10_000 + 2);
        assert!(html.len() < 4 << 20, "{} bytes", html.len());
    }

    #[test]
    fn nested_bundles_are_opened_to_a_bounded_depth() {
        let bundle = json!({"resourceType":"Bundle","id":"b","entry":[
            {"resource":{"resourceType":"Patient","id":"p","gender":"male"}},
            {"fullUrl":"x"},
            {"resource":[]},
            {"resource":{"resourceType":"Condition","id":"c","code":{"text":"Gout"}}}]});
        let summary = ClinicalSummary::from_resources([&bundle]);
        assert_eq!(summary.patients.len(), 1);
        assert_eq!(summary.conditions[0].name, "Gout");
        let mut deep = json!({"resourceType": "Condition", "id": "deep"});
        for _ in 0..50 {
            deep = json!({"resourceType": "Bundle", "entry": [{"resource": deep}]});
        }
        let summary = ClinicalSummary::from_resources([&deep]);
        assert!(summary.conditions.is_empty());
        assert_eq!(
            summary.other_resources.len(),
            1,
            "the Bundle too deep is listed, not opened"
        );
    }

    #[test]
    fn the_page_loads_nothing_external() {
        let html =
            ClinicalSummary::from_resources(&resources()).to_html_with_provenance(&provenance(20));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.ends_with("</html>\n"));
        // The charts' SVG namespace is a name, not something fetched.
        let html = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        for needle in [
            "http://", "https://", "src=", "href=", "@import", "url(", "<script",
        ] {
            assert!(!html.contains(needle), "{needle} in {html}");
        }
        let empty = ClinicalSummary::from_resources([]).to_html();
        assert_eq!(empty.matches("None recorded.").count(), 9);
        assert!(!empty.contains("<header"));
    }
}
