//! A clinician's view of a set of FHIR R4 resources: who the patient is,
//! their conditions, medications, allergies, observations and encounters,
//! as plain text or as one standalone HTML page.
//!
//! Resources come from another network, so nothing in them is trusted as
//! markup: every string is escaped in HTML, and the page has inline CSS and
//! no scripts or external resources, so it opens offline and leaks nothing.
//! Missing optional fields are left out rather than guessed; resource types
//! the summary does not cover are counted, so the reader knows they exist.

use std::{cmp::Ordering, collections::BTreeMap, fmt::Write as _};

use serde_json::Value;

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
}

/// One MedicationStatement or MedicationRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedicationSummary {
    /// The medication.
    pub medication: String,
    /// Its status.
    pub status: Option<String>,
    /// Dosage instructions as text.
    pub dosage: Option<String>,
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
}

/// One Observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservationSummary {
    /// What was observed.
    pub name: String,
    /// The value with its unit, or the components' values.
    pub value: Option<String>,
    /// When.
    pub effective: Option<String>,
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
}

/// The summary of a set of resources.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClinicalSummary {
    /// Patient resources.
    pub patients: Vec<PatientSummary>,
    /// Conditions, most recent onset first.
    pub conditions: Vec<ConditionSummary>,
    /// Medications.
    pub medications: Vec<MedicationSummary>,
    /// Allergies and intolerances.
    pub allergies: Vec<AllergySummary>,
    /// Observations, most recent first.
    pub observations: Vec<ObservationSummary>,
    /// Encounters, most recent first.
    pub encounters: Vec<EncounterSummary>,
    /// How many resources of each type the summary does not show.
    pub other_resources: BTreeMap<String, usize>,
}

fn string(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
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

fn number(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn quantity(value: &Value) -> Option<String> {
    let amount = number(value.get("value")?)?;
    let comparator = string(value, "comparator").unwrap_or_default();
    Some(
        match string(value, "unit").or_else(|| string(value, "code")) {
            Some(unit) => format!("{comparator}{amount} {unit}"),
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
        return number(n);
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
    ["valueString", "valueDateTime", "valueTime"]
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
    let effective = string(resource, "effectiveDateTime")
        .or_else(|| {
            resource
                .get("effectivePeriod")
                .and_then(|p| string(p, "start"))
        })
        .or_else(|| string(resource, "effectiveInstant"))
        .or_else(|| string(resource, "issued"));
    ObservationSummary {
        name: concept(resource.get("code")).unwrap_or_else(|| "Unnamed observation".into()),
        value,
        effective,
    }
}

fn condition(resource: &Value) -> ConditionSummary {
    let onset = string(resource, "onsetDateTime")
        .or_else(|| resource.get("onsetPeriod").and_then(|p| string(p, "start")))
        .or_else(|| string(resource, "onsetString"))
        .or_else(|| {
            resource
                .get("onsetAge")
                .and_then(quantity)
                .map(|age| format!("age {age}"))
        });
    ConditionSummary {
        name: concept(resource.get("code")).unwrap_or_else(|| "Unnamed condition".into()),
        clinical_status: concept(resource.get("clinicalStatus")),
        onset,
    }
}

fn medication(resource: &Value, dosage_key: &str) -> MedicationSummary {
    let medication = concept(resource.get("medicationCodeableConcept"))
        .or_else(|| {
            resource
                .get("medicationReference")
                .and_then(|r| string(r, "display"))
        })
        .unwrap_or_else(|| "Unnamed medication".into());
    MedicationSummary {
        medication,
        status: string(resource, "status"),
        dosage: first(resource, dosage_key).and_then(|d| string(d, "text")),
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
    }
}

/// Most recent first; undated entries last, in their original order. ISO
/// 8601 dates of one precision sort as strings.
fn newest_first(a: &Option<String>, b: &Option<String>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp(a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

impl ClinicalSummary {
    /// Summarises resources; Bundles are opened and their entries summarised.
    pub fn from_resources<'a>(resources: impl IntoIterator<Item = &'a Value>) -> Self {
        let mut summary = Self::default();
        for resource in resources {
            summary.add(resource);
        }
        summary
            .conditions
            .sort_by(|a, b| newest_first(&a.onset, &b.onset));
        summary
            .observations
            .sort_by(|a, b| newest_first(&a.effective, &b.effective));
        summary
            .encounters
            .sort_by(|a, b| newest_first(&a.start, &b.start));
        summary
    }

    fn add(&mut self, resource: &Value) {
        let resource_type = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("(no resourceType)");
        match resource_type {
            "Bundle" => {
                let entries = resource.get("entry").and_then(Value::as_array);
                for entry in entries.into_iter().flatten() {
                    if let Some(inner) = entry.get("resource") {
                        self.add(inner);
                    }
                }
            }
            "Patient" => self.patients.push(patient(resource)),
            "Condition" => self.conditions.push(condition(resource)),
            "MedicationStatement" => self.medications.push(medication(resource, "dosage")),
            "MedicationRequest" => self
                .medications
                .push(medication(resource, "dosageInstruction")),
            "AllergyIntolerance" => self.allergies.push(allergy(resource)),
            "Observation" => self.observations.push(observation(resource)),
            "Encounter" => self.encounters.push(encounter(resource)),
            other => *self.other_resources.entry(other.to_string()).or_default() += 1,
        }
    }

    /// The rows of each section as cells, shared by the text and HTML forms
    /// so both always show the same facts.
    fn sections(&self) -> Vec<Section> {
        let or_blank = |s: &Option<String>| s.clone().unwrap_or_default();
        vec![
            Section {
                title: "Patient",
                columns: &["Name", "Gender", "Born"],
                rows: self
                    .patients
                    .iter()
                    .map(|p| {
                        vec![
                            or_blank(&p.name),
                            or_blank(&p.gender),
                            or_blank(&p.birth_date),
                        ]
                    })
                    .collect(),
            },
            Section {
                title: "Conditions",
                columns: &["Condition", "Status", "Onset"],
                rows: self
                    .conditions
                    .iter()
                    .map(|c| {
                        vec![
                            c.name.clone(),
                            or_blank(&c.clinical_status),
                            or_blank(&c.onset),
                        ]
                    })
                    .collect(),
            },
            Section {
                title: "Medications",
                columns: &["Medication", "Status", "Dosage"],
                rows: self
                    .medications
                    .iter()
                    .map(|m| {
                        vec![
                            m.medication.clone(),
                            or_blank(&m.status),
                            or_blank(&m.dosage),
                        ]
                    })
                    .collect(),
            },
            Section {
                title: "Allergies and intolerances",
                columns: &["Substance", "Criticality", "Reactions"],
                rows: self
                    .allergies
                    .iter()
                    .map(|a| {
                        vec![
                            a.substance.clone(),
                            or_blank(&a.criticality),
                            a.reactions.join(", "),
                        ]
                    })
                    .collect(),
            },
            Section {
                title: "Observations",
                columns: &["Observation", "Value", "Date"],
                rows: self
                    .observations
                    .iter()
                    .map(|o| vec![o.name.clone(), or_blank(&o.value), or_blank(&o.effective)])
                    .collect(),
            },
            Section {
                title: "Encounters",
                columns: &["Encounter", "Class", "Period"],
                rows: self
                    .encounters
                    .iter()
                    .map(|e| vec![e.kind.clone(), or_blank(&e.class), period(e)])
                    .collect(),
            },
        ]
    }

    fn other_line(&self) -> Option<String> {
        (!self.other_resources.is_empty()).then(|| {
            let parts: Vec<String> = self
                .other_resources
                .iter()
                .map(|(kind, count)| format!("{kind} ({count})"))
                .collect();
            format!("Also received, not summarised: {}", parts.join(", "))
        })
    }

    /// The summary as plain text, one section per heading.
    pub fn to_text(&self) -> String {
        let mut out = String::from("CLINICAL SUMMARY\n");
        for section in self.sections() {
            let _ = write!(out, "\n{} ({})\n", section.title, section.rows.len());
            if section.rows.is_empty() {
                out.push_str("  none recorded\n");
            }
            for row in &section.rows {
                let details: Vec<String> = section.columns[1..]
                    .iter()
                    .zip(&row[1..])
                    .filter(|(_, cell)| !cell.is_empty())
                    .map(|(column, cell)| format!("{}: {cell}", column.to_lowercase()))
                    .collect();
                let _ = if details.is_empty() {
                    writeln!(out, "  - {}", row[0])
                } else {
                    writeln!(out, "  - {} ({})", row[0], details.join("; "))
                };
            }
        }
        if let Some(line) = self.other_line() {
            let _ = write!(out, "\n{line}\n");
        }
        out
    }

    /// The summary as a standalone HTML page.
    pub fn to_html(&self) -> String {
        let mut out = String::from(HTML_HEAD);
        for section in self.sections() {
            let _ = write!(
                out,
                "<section>\n<h2>{} <span class=\"count\">({})</span></h2>\n",
                escape(section.title),
                section.rows.len()
            );
            if section.rows.is_empty() {
                out.push_str("<p class=\"none\">None recorded.</p>\n</section>\n");
                continue;
            }
            out.push_str("<table>\n<thead><tr>");
            for column in section.columns {
                let _ = write!(out, "<th>{}</th>", escape(column));
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in &section.rows {
                out.push_str("<tr>");
                for cell in row {
                    let _ = write!(out, "<td>{}</td>", escape(cell));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</tbody>\n</table>\n</section>\n");
        }
        if let Some(line) = self.other_line() {
            let _ = writeln!(out, "<p class=\"other\">{}</p>", escape(&line));
        }
        out.push_str("</main>\n</body>\n</html>\n");
        out
    }
}

struct Section {
    title: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

fn period(encounter: &EncounterSummary) -> String {
    match (&encounter.start, &encounter.end) {
        (Some(start), Some(end)) => format!("{start} – {end}"),
        (Some(start), None) => format!("from {start}"),
        (None, Some(end)) => format!("until {end}"),
        (None, None) => String::new(),
    }
}

/// Escapes text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
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
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Clinical summary</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1b1f23; background: #f6f8fa; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; border-bottom: 2px solid #0969da; padding-bottom: .25rem; }
.count { color: #57606a; font-weight: normal; }
table { width: 100%; border-collapse: collapse; background: #fff; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { background: #eaeef2; font-weight: 600; }
.none, .other { color: #57606a; font-style: italic; }
@media print { body { background: #fff; } }
</style>
</head>
<body>
<main>
<h1>Clinical summary</h1>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
                "dosage":[{"text":"1 tablet daily"}]}),
            json!({"resourceType":"MedicationRequest","id":"m2","status":"stopped",
                "medicationReference":{"display":"Albuterol inhaler"},
                "dosageInstruction":[{"text":"2 puffs as needed"}]}),
            json!({"resourceType":"AllergyIntolerance","id":"a1","criticality":"high",
                "code":{"text":"Peanut"},
                "reaction":[{"manifestation":[{"text":"Hives"},{"coding":[{"display":"Anaphylaxis"}]}]}]}),
            json!({"resourceType":"AllergyIntolerance","id":"a2","code":{"text":"Latex"}}),
            json!({"resourceType":"Observation","id":"o1","status":"final",
                "code":{"coding":[{"system":"http://loinc.org","code":"4548-4","display":"Hemoglobin A1c"}]},
                "valueQuantity":{"value":6.4,"unit":"%"},"effectiveDateTime":"2024-01-10"}),
            json!({"resourceType":"Observation","id":"o2","code":{"text":"Blood pressure"},
                "effectiveDateTime":"2025-05-01",
                "component":[
                    {"code":{"text":"Systolic"},"valueQuantity":{"value":128,"unit":"mm[Hg]"}},
                    {"code":{"text":"Diastolic"},"valueQuantity":{"value":82,"unit":"mm[Hg]"}}]}),
            json!({"resourceType":"Observation","id":"o3","code":{"text":"Smoker"},"valueBoolean":false}),
            json!({"resourceType":"Encounter","id":"e1","class":{"code":"AMB","display":"ambulatory"},
                "type":[{"text":"Check-up"}],"period":{"start":"2025-05-01T09:00:00Z","end":"2025-05-01T09:30:00Z"}}),
            json!({"resourceType":"Encounter","id":"e2","class":{"code":"EMER"}}),
            json!({"resourceType":"DiagnosticReport","id":"d1"}),
        ]
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
        assert_eq!(summary.conditions[0].clinical_status, None);
        assert_eq!(
            summary.medications[0].dosage.as_deref(),
            Some("1 tablet daily")
        );
        assert_eq!(summary.medications[1].medication, "Albuterol inhaler");
        assert_eq!(
            summary.medications[1].dosage.as_deref(),
            Some("2 puffs as needed")
        );
        assert_eq!(summary.allergies[0].reactions, ["Hives", "Anaphylaxis"]);
        assert_eq!(summary.allergies[1].criticality, None);
        assert_eq!(summary.observations[0].name, "Blood pressure");
        assert_eq!(
            summary.observations[0].value.as_deref(),
            Some("Systolic 128 mm[Hg]; Diastolic 82 mm[Hg]")
        );
        assert_eq!(summary.observations[1].value.as_deref(), Some("6.4 %"));
        assert_eq!(summary.observations[2].value.as_deref(), Some("no"));
        assert_eq!(summary.encounters[0].class.as_deref(), Some("ambulatory"));
        assert_eq!(summary.encounters[1].kind, "Encounter");
        assert_eq!(summary.encounters[1].class.as_deref(), Some("EMER"));
        assert_eq!(summary.other_resources.get("DiagnosticReport"), Some(&1));
    }

    #[test]
    fn bundles_are_opened() {
        let bundle = json!({"resourceType":"Bundle","id":"b","entry":[
            {"resource":{"resourceType":"Patient","id":"p","gender":"male"}},
            {"fullUrl":"x"},
            {"resource":{"resourceType":"Condition","id":"c","code":{"text":"Gout"}}}]});
        let summary = ClinicalSummary::from_resources([&bundle]);
        assert_eq!(summary.patients.len(), 1);
        assert_eq!(summary.conditions[0].name, "Gout");
    }

    #[test]
    fn text_lists_each_section_and_omits_missing_fields() {
        let text = ClinicalSummary::from_resources(&resources()).to_text();
        assert!(text.starts_with("CLINICAL SUMMARY\n"), "{text}");
        assert!(text.contains("Conditions (3)\n"), "{text}");
        assert!(
            text.contains("  - Hypertension (status: active; onset: 2015-03-02)\n"),
            "{text}"
        );
        assert!(text.contains("  - 195967001\n"), "{text}");
        assert!(text.contains("  - Latex\n"), "{text}");
        assert!(text.contains(
            "  - Check-up (class: ambulatory; period: 2025-05-01T09:00:00Z – 2025-05-01T09:30:00Z)"
        ));
        assert!(text.contains("Also received, not summarised: DiagnosticReport (1)"));
        let empty = ClinicalSummary::from_resources([]).to_text();
        assert_eq!(empty.matches("none recorded").count(), 6);
    }

    #[test]
    fn html_escapes_every_text_and_loads_nothing_external() {
        let hostile = json!({"resourceType":"Condition","id":"x",
            "code":{"text":"<script>alert('x')</script> & \"quoted\""},
            "onsetString":"<img src=x onerror=alert(1)>"});
        let mut all = resources();
        all.push(hostile);
        let html = ClinicalSummary::from_resources(&all).to_html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.ends_with("</html>\n"));
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(
            html.contains(
                "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"
            )
        );
        assert!(html.contains("Jo &lt;b&gt; Anne O&#39;Neil &amp; Sons"));
        assert!(html.contains("<td>6.4 %</td>"));
        // No external resources: nothing to fetch, whatever the records say.
        for needle in ["http://", "https://", "src=\"", "href=", "@import", "url("] {
            assert!(!html.contains(needle), "{needle} in {html}");
        }
        let empty = ClinicalSummary::from_resources([]).to_html();
        assert_eq!(empty.matches("None recorded.").count(), 6);
    }
}
