//! Synthetic patients for tests, demos and the experiment: realistic FHIR
//! R4 records (a Patient, Conditions with their MedicationStatements,
//! AllergyIntolerances, Encounters, and vital-sign and laboratory
//! Observations with LOINC codes and UCUM units) plus the identifiers a
//! hospital would type, so a `patient_ref` can be derived for them.
//!
//! Generation is deterministic: the same seed gives the same bytes, on any
//! machine and with any dependency versions. That is why the generator is
//! SplitMix64 written out here (Steele, Lea and Flood, 2014; the constants
//! of Vigna's reference `splitmix64.c`, checked against its published
//! outputs) rather than a crate's RNG, whose stream may change between
//! releases. Dates are relative to the fixed [`REFERENCE_DATE`], never the
//! clock.
//!
//! No real person is described: names are drawn from common-name lists,
//! and SSNs from the 900–999 area, which is never issued. The SSN appears
//! only in the identifiers, never in a record.

use serde_json::{Value, json};

use super::patient::{PatientIdentifiers, days_in_month};

/// "Today" for every generated patient: `2026-01-01`.
pub const REFERENCE_DATE: (i64, u32, u32) = (2026, 1, 1);

/// SplitMix64: a 64-bit state, one add and a mix per output.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias for the small
    /// `n` used here is below 2⁻⁵⁰).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `count` distinct indices of `0..len`, in the order drawn.
    fn sample(&mut self, len: usize, count: usize) -> Vec<usize> {
        let mut pool: Vec<usize> = (0..len).collect();
        (0..count.min(len))
            .map(|_| pool.swap_remove(self.below(pool.len() as u64) as usize))
            .collect()
    }

    /// A value in `low..=high` with `decimals` decimal places.
    fn measure(&mut self, low: f64, high: f64, decimals: i32) -> f64 {
        let scale = 10f64.powi(decimals);
        let steps = ((high - low) * scale).round() as i64;
        ((low * scale).round() + self.between(0, steps) as f64) / scale
    }

    /// A UUID v4 from the stream, as FHIR ids.
    fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

/// Days since 1970-01-01 of a civil date (Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A date-time in UTC from a day count and minutes into that day.
fn date_time(days: i64, minutes: i64) -> String {
    let days = days + minutes.div_euclid(24 * 60);
    let minutes = minutes.rem_euclid(24 * 60);
    format!("{}T{:02}:{:02}:00Z", date(days), minutes / 60, minutes % 60)
}

const FEMALE_NAMES: &[&str] = &[
    "Mary", "Ana", "Chloé", "Fatima", "Ingrid", "Mei", "Priya", "Sofía", "Zoë", "Grace", "Amara",
    "Hannah",
];
const MALE_NAMES: &[&str] = &[
    "James", "José", "Liam", "Mohammed", "Noah", "Kenji", "Luca", "Ravi", "Björn", "Kwame",
    "Mateo", "Daniel",
];
const FAMILY_NAMES: &[&str] = &[
    "Smith",
    "García",
    "O'Brien",
    "Nguyen",
    "Müller",
    "Kowalski",
    "Okafor",
    "Haddad",
    "Rossi",
    "Johansson",
    "Tanaka",
    "Da Silva",
    "Núñez",
    "Petrov",
    "Patel",
    "Van der Berg",
];

struct ConditionKind {
    snomed: &'static str,
    display: &'static str,
    chronic: bool,
    medication: Option<MedicationKind>,
}

struct MedicationKind {
    rxnorm: &'static str,
    display: &'static str,
    dosage: &'static str,
}

const fn condition(
    snomed: &'static str,
    display: &'static str,
    chronic: bool,
    medication: Option<MedicationKind>,
) -> ConditionKind {
    ConditionKind {
        snomed,
        display,
        chronic,
        medication,
    }
}

const fn medication(
    rxnorm: &'static str,
    display: &'static str,
    dosage: &'static str,
) -> Option<MedicationKind> {
    Some(MedicationKind {
        rxnorm,
        display,
        dosage,
    })
}

const CONDITIONS: &[ConditionKind] = &[
    condition(
        "38341003",
        "Hypertension",
        true,
        medication(
            "314076",
            "lisinopril 10 MG Oral Tablet",
            "1 tablet by mouth once daily",
        ),
    ),
    condition(
        "44054006",
        "Diabetes mellitus type 2",
        true,
        medication(
            "860975",
            "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
            "1 tablet by mouth twice daily with meals",
        ),
    ),
    condition(
        "195967001",
        "Asthma",
        true,
        medication(
            "745679",
            "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
            "2 puffs every 4 to 6 hours as needed for wheezing",
        ),
    ),
    condition(
        "55822004",
        "Hyperlipidemia",
        true,
        medication(
            "259255",
            "atorvastatin 80 MG Oral Tablet",
            "1 tablet by mouth at bedtime",
        ),
    ),
    condition(
        "40930008",
        "Hypothyroidism",
        true,
        medication(
            "966222",
            "levothyroxine sodium 0.075 MG Oral Tablet",
            "1 tablet by mouth every morning before breakfast",
        ),
    ),
    condition(
        "370143000",
        "Major depressive disorder",
        true,
        medication(
            "312938",
            "sertraline 100 MG Oral Tablet",
            "1 tablet by mouth once daily",
        ),
    ),
    condition(
        "49436004",
        "Atrial fibrillation",
        true,
        medication(
            "855332",
            "warfarin sodium 5 MG Oral Tablet",
            "1 tablet by mouth once daily, adjusted to INR",
        ),
    ),
    condition(
        "239873007",
        "Osteoarthritis of knee",
        true,
        medication(
            "313782",
            "acetaminophen 325 MG Oral Tablet",
            "2 tablets by mouth every 6 hours as needed for pain",
        ),
    ),
    condition("433144002", "Chronic kidney disease stage 3", true, None),
    condition("37796009", "Migraine", true, None),
    condition("10509002", "Acute bronchitis", false, None),
    condition("444814009", "Viral sinusitis", false, None),
];

struct AllergyKind {
    snomed: &'static str,
    substance: &'static str,
    category: &'static str,
    reaction_snomed: &'static str,
    reaction: &'static str,
    criticality: &'static str,
}

const ALLERGIES: &[AllergyKind] = &[
    AllergyKind {
        snomed: "256349002",
        substance: "Peanut",
        category: "food",
        reaction_snomed: "39579001",
        reaction: "Anaphylaxis",
        criticality: "high",
    },
    AllergyKind {
        snomed: "764146007",
        substance: "Penicillin",
        category: "medication",
        reaction_snomed: "271807003",
        reaction: "Skin rash",
        criticality: "low",
    },
    AllergyKind {
        snomed: "111088007",
        substance: "Latex",
        category: "environment",
        reaction_snomed: "247472004",
        reaction: "Hives",
        criticality: "low",
    },
    AllergyKind {
        snomed: "288328004",
        substance: "Bee venom",
        category: "environment",
        reaction_snomed: "39579001",
        reaction: "Anaphylaxis",
        criticality: "high",
    },
    AllergyKind {
        snomed: "227037002",
        substance: "Fish",
        category: "food",
        reaction_snomed: "247472004",
        reaction: "Hives",
        criticality: "low",
    },
    AllergyKind {
        snomed: "387406002",
        substance: "Sulfonamide",
        category: "medication",
        reaction_snomed: "271807003",
        reaction: "Skin rash",
        criticality: "low",
    },
];

struct EncounterKind {
    snomed: &'static str,
    display: &'static str,
    class: &'static str,
    class_display: &'static str,
    /// Length in minutes.
    minutes: (i64, i64),
}

const ENCOUNTERS: &[EncounterKind] = &[
    EncounterKind {
        snomed: "185349003",
        display: "Encounter for check up",
        class: "AMB",
        class_display: "ambulatory",
        minutes: (20, 45),
    },
    EncounterKind {
        snomed: "390906007",
        display: "Follow-up encounter",
        class: "AMB",
        class_display: "ambulatory",
        minutes: (15, 30),
    },
    EncounterKind {
        snomed: "185345009",
        display: "Encounter for symptom",
        class: "AMB",
        class_display: "ambulatory",
        minutes: (15, 40),
    },
    EncounterKind {
        snomed: "50849002",
        display: "Emergency room admission",
        class: "EMER",
        class_display: "emergency",
        minutes: (120, 480),
    },
    EncounterKind {
        snomed: "32485007",
        display: "Hospital admission",
        class: "IMP",
        class_display: "inpatient encounter",
        minutes: (1440, 7200),
    },
];

/// A measurement: LOINC code and name, UCUM unit, range, decimals.
struct MeasureKind {
    loinc: &'static str,
    display: &'static str,
    unit: &'static str,
    range: (f64, f64),
    decimals: i32,
}

/// A kind of measurement: LOINC code, display, UCUM unit, normal range and
/// the decimals a value is given with.
const fn measure(
    loinc: &'static str,
    display: &'static str,
    unit: &'static str,
    range: (f64, f64),
    decimals: i32,
) -> MeasureKind {
    MeasureKind {
        loinc,
        display,
        unit,
        range,
        decimals,
    }
}

const VITALS: &[MeasureKind] = &[
    measure("8867-4", "Heart rate", "/min", (55.0, 100.0), 0),
    measure("9279-1", "Respiratory rate", "/min", (12.0, 20.0), 0),
    measure("8310-5", "Body temperature", "Cel", (36.1, 37.4), 1),
    measure(
        "59408-5",
        "Oxygen saturation in Arterial blood by Pulse oximetry",
        "%",
        (94.0, 100.0),
        0,
    ),
];

const LABS: &[MeasureKind] = &[
    measure(
        "2339-0",
        "Glucose [Mass/volume] in Blood",
        "mg/dL",
        (70.0, 140.0),
        0,
    ),
    measure(
        "4548-4",
        "Hemoglobin A1c/Hemoglobin.total in Blood",
        "%",
        (4.8, 8.5),
        1,
    ),
    measure(
        "2093-3",
        "Cholesterol [Mass/volume] in Serum or Plasma",
        "mg/dL",
        (150.0, 260.0),
        0,
    ),
    measure(
        "18262-6",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay",
        "mg/dL",
        (70.0, 180.0),
        0,
    ),
    measure(
        "2085-9",
        "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
        "mg/dL",
        (35.0, 80.0),
        0,
    ),
    measure(
        "2160-0",
        "Creatinine [Mass/volume] in Serum or Plasma",
        "mg/dL",
        (0.6, 1.4),
        2,
    ),
    measure(
        "718-7",
        "Hemoglobin [Mass/volume] in Blood",
        "g/dL",
        (11.5, 17.0),
        1,
    ),
];

const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const UCUM: &str = "http://unitsofmeasure.org";

fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [{"system": system, "code": code, "display": display}], "text": display})
}

/// A UCUM quantity; whole measures are written as integers ("72", not "72.0").
fn quantity(value: f64, decimals: i32, unit: &str) -> Value {
    let value = if decimals == 0 {
        json!(value as i64)
    } else {
        json!(value)
    };
    json!({"value": value, "unit": unit, "system": UCUM, "code": unit})
}

fn observation_category(code: &str) -> Value {
    json!([{"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": code,
    }]}])
}

/// A generated patient: what the hospital types, and the records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntheticPatient {
    /// Name, date of birth and SSN.
    pub identifiers: PatientIdentifiers,
    /// The Patient resource first, then the clinical resources.
    pub resources: Vec<Value>,
}

/// Builds one patient's resources, keeping the shared parts in one place.
struct Builder {
    rng: SplitMix64,
    patient_reference: Value,
    resources: Vec<Value>,
}

impl Builder {
    fn subject(&self) -> Value {
        self.patient_reference.clone()
    }

    fn push(&mut self, mut resource: Value) -> String {
        let id = self.rng.uuid();
        if let Some(fields) = resource.as_object_mut() {
            fields.insert("id".into(), Value::String(id.clone()));
        }
        self.resources.push(resource);
        id
    }

    /// An Observation of `kind` with a value drawn from its normal range.
    fn measured(&mut self, category: &str, kind: &MeasureKind, when: &str, encounter: &str) {
        let value = self.rng.measure(kind.range.0, kind.range.1, kind.decimals);
        self.observation(
            category,
            concept(LOINC, kind.loinc, kind.display),
            ("valueQuantity", quantity(value, kind.decimals, kind.unit)),
            when,
            encounter,
        );
    }

    fn observation(
        &mut self,
        category: &str,
        code: Value,
        value: (&str, Value),
        when: &str,
        encounter: &str,
    ) {
        let mut resource = json!({
            "resourceType": "Observation",
            "status": "final",
            "category": observation_category(category),
            "code": code,
            "subject": self.subject(),
            "encounter": {"reference": format!("Encounter/{encounter}")},
            "effectiveDateTime": when,
            "issued": when,
        });
        if let Some(fields) = resource.as_object_mut() {
            fields.insert(value.0.to_string(), value.1);
        }
        self.push(resource);
    }
}

impl SyntheticPatient {
    /// The patient of `seed`.
    pub fn generate(seed: u64) -> Self {
        let mut rng = SplitMix64(seed);
        let female = rng.chance(50);
        let given = *rng.pick(if female { FEMALE_NAMES } else { MALE_NAMES });
        let family = *rng.pick(FAMILY_NAMES);
        let today = days_from_civil(REFERENCE_DATE.0, REFERENCE_DATE.1, REFERENCE_DATE.2);
        let birth_year = rng.between(1940, 2005);
        let birth_month = rng.between(1, 12) as u32;
        let birth_day =
            rng.between(1, i64::from(days_in_month(birth_year as u32, birth_month))) as u32;
        let born = days_from_civil(birth_year, birth_month, birth_day);
        let ssn = format!(
            "{:03}-{:02}-{:04}",
            rng.between(900, 999),
            rng.between(1, 99),
            rng.between(1, 9999)
        );
        let identifiers = PatientIdentifiers::new(format!("{given} {family}"), date(born), ssn);

        let patient_id = rng.uuid();
        let mut builder = Builder {
            rng,
            patient_reference: json!({"reference": format!("Patient/{patient_id}"), "display": format!("{given} {family}")}),
            resources: vec![json!({
                "resourceType": "Patient",
                "id": patient_id,
                "active": true,
                "name": [{"use": "official", "family": family, "given": [given], "text": format!("{given} {family}")}],
                "gender": if female { "female" } else { "male" },
                "birthDate": date(born),
            })],
        };

        // Encounters over the last three years, oldest first.
        let encounter_count = builder.rng.between(2, 4) as usize;
        let mut encounter_days: Vec<i64> = (0..encounter_count)
            .map(|_| today - builder.rng.between(1, 3 * 365))
            .collect();
        encounter_days.sort_unstable();
        let mut encounters = Vec::with_capacity(encounter_count);
        for day in encounter_days {
            // Mostly routine visits; now and then an emergency or admission.
            let kind = if builder.rng.chance(80) {
                &ENCOUNTERS[builder.rng.below(3) as usize]
            } else {
                builder.rng.pick(&ENCOUNTERS[3..])
            };
            let start_minute = builder.rng.between(7 * 60, 18 * 60);
            let length = builder.rng.between(kind.minutes.0, kind.minutes.1);
            let start = date_time(day, start_minute);
            let end = date_time(day, start_minute + length);
            let id = builder.push(json!({
                "resourceType": "Encounter",
                "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": kind.class, "display": kind.class_display},
                "type": [concept(SNOMED, kind.snomed, kind.display)],
                "subject": builder.subject(),
                "period": {"start": start, "end": end},
            }));
            encounters.push((id, start));
        }

        // Conditions, each with its usual medication.
        let adult = born + 18 * 365;
        let condition_count = builder.rng.between(2, 5) as usize;
        for index in builder.rng.sample(CONDITIONS.len(), condition_count) {
            let kind = &CONDITIONS[index];
            let earliest = adult.min(today - 30);
            let onset = builder.rng.between(earliest, today - 30);
            let mut resource = json!({
                "resourceType": "Condition",
                "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/condition-clinical",
                    if kind.chronic { "active" } else { "resolved" },
                    if kind.chronic { "Active" } else { "Resolved" }),
                "verificationStatus": concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"),
                "category": [concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")],
                "code": concept(SNOMED, kind.snomed, kind.display),
                "subject": builder.subject(),
                "onsetDateTime": date(onset),
                "recordedDate": date(onset),
            });
            if !kind.chronic
                && let Some(fields) = resource.as_object_mut()
            {
                fields.insert("abatementDateTime".into(), Value::String(date(onset + 14)));
            }
            let condition_id = builder.push(resource);
            if let Some(medication) = &kind.medication {
                builder.push(json!({
                    "resourceType": "MedicationStatement",
                    "status": "active",
                    "medicationCodeableConcept": concept(RXNORM, medication.rxnorm, medication.display),
                    "subject": builder.subject(),
                    "effectivePeriod": {"start": date(onset)},
                    "dateAsserted": date(onset),
                    "reasonReference": [{"reference": format!("Condition/{condition_id}")}],
                    "dosage": [{"text": medication.dosage}],
                }));
            }
        }

        // Allergies: most patients have none or one.
        let allergy_count = [0, 0, 1, 1, 2][builder.rng.below(5) as usize];
        for index in builder.rng.sample(ALLERGIES.len(), allergy_count) {
            let kind = &ALLERGIES[index];
            builder.push(json!({
                "resourceType": "AllergyIntolerance",
                "clinicalStatus": concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active"),
                "verificationStatus": concept("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed"),
                "type": "allergy",
                "category": [kind.category],
                "criticality": kind.criticality,
                "code": concept(SNOMED, kind.snomed, kind.substance),
                "patient": builder.subject(),
                "recordedDate": date(adult.min(today - 30)),
                "reaction": [{"manifestation": [concept(SNOMED, kind.reaction_snomed, kind.reaction)]}],
            }));
        }

        // Vital signs at every encounter, labs at some.
        let height = builder.rng.measure(
            if female { 150.0 } else { 162.0 },
            if female { 180.0 } else { 195.0 },
            1,
        );
        let mut weight = builder.rng.measure(50.0, 110.0, 1);
        for (encounter, when) in &encounters {
            weight = (weight + builder.rng.measure(-3.0, 3.0, 1)).clamp(40.0, 150.0);
            weight = (weight * 10.0).round() / 10.0;
            let bmi = (weight / (height / 100.0).powi(2) * 10.0).round() / 10.0;
            let body = [
                ("8302-2", "Body height", height, "cm"),
                ("29463-7", "Body weight", weight, "kg"),
                ("39156-5", "Body mass index (BMI) [Ratio]", bmi, "kg/m2"),
            ];
            for (code, display, value, unit) in body {
                builder.observation(
                    "vital-signs",
                    concept(LOINC, code, display),
                    ("valueQuantity", quantity(value, 1, unit)),
                    when,
                    encounter,
                );
            }
            for vital in VITALS {
                builder.measured("vital-signs", vital, when, encounter);
            }
            let systolic = builder.rng.measure(105.0, 150.0, 0);
            let diastolic = builder.rng.measure(65.0, 95.0, 0);
            builder.observation(
                "vital-signs",
                concept(LOINC, "85354-9", "Blood pressure panel with all children optional"),
                ("component", json!([
                    {"code": concept(LOINC, "8480-6", "Systolic blood pressure"), "valueQuantity": quantity(systolic, 0, "mm[Hg]")},
                    {"code": concept(LOINC, "8462-4", "Diastolic blood pressure"), "valueQuantity": quantity(diastolic, 0, "mm[Hg]")},
                ])),
                when,
                encounter,
            );
            if builder.rng.chance(60) {
                for index in builder.rng.sample(LABS.len(), 3) {
                    builder.measured("laboratory", &LABS[index], when, encounter);
                }
            }
        }

        Self {
            identifiers,
            resources: builder.resources,
        }
    }

    /// The resources as a FHIR `collection` Bundle.
    pub fn bundle(&self) -> Value {
        let entries: Vec<Value> = self
            .resources
            .iter()
            .map(|resource| {
                let url = format!(
                    "urn:uuid:{}",
                    resource
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                );
                json!({"fullUrl": url, "resource": resource})
            })
            .collect();
        json!({
            "resourceType": "Bundle",
            "id": self.resources.first().and_then(|p| p.get("id")).cloned().unwrap_or(Value::Null),
            "type": "collection",
            "entry": entries,
        })
    }

    /// The Bundle's JSON bytes.
    pub fn bundle_json(&self) -> Vec<u8> {
        self.bundle().to_string().into_bytes()
    }

    /// Each resource's JSON bytes, for uploading them one by one.
    pub fn resource_jsons(&self) -> Vec<Vec<u8>> {
        self.resources
            .iter()
            .map(|resource| resource.to_string().into_bytes())
            .collect()
    }
}

/// `count` patients from one seed, each with its own derived seed.
pub fn patients(seed: u64, count: usize) -> impl Iterator<Item = SyntheticPatient> {
    let mut seeds = SplitMix64(seed);
    (0..count).map(move |_| SyntheticPatient::generate(seeds.next_u64()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::ehr::{ClinicalSummary, patient::MatchingKey, records::records_from_fhir};

    #[test]
    fn every_synthetic_resource_and_bundle_is_fhir_r4_by_the_contracts_rule() {
        for patient in patients(11, 40) {
            for json in patient.resource_jsons() {
                let checked = crate::ehr::interface::fhir::check_record(&json);
                assert!(
                    checked.is_ok(),
                    "{checked:?}: {}",
                    String::from_utf8_lossy(&json)
                );
            }
            let bundle = patient.bundle_json();
            assert!(crate::ehr::interface::fhir::check_record(&bundle).is_ok());
        }
    }

    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        // Vigna's splitmix64.c seeded with 1234567.
        let mut rng = SplitMix64(1_234_567);
        let outputs: Vec<u64> = (0..5).map(|_| rng.next_u64()).collect();
        assert_eq!(
            outputs,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423,
                4_593_380_528_125_082_431,
                16_408_922_859_458_223_821
            ]
        );
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for days in [-100_000, -1, 0, 59, 60, 11_016, 20_000, 40_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(date(days_from_civil(2024, 2, 29) + 1), "2024-03-01");
        assert_eq!(date_time(0, 24 * 60 + 90), "1970-01-02T01:30:00Z");
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let a = SyntheticPatient::generate(42);
        let b = SyntheticPatient::generate(42);
        assert_eq!(a.bundle_json(), b.bundle_json());
        assert_eq!(a.identifiers, b.identifiers);
        assert_ne!(
            SyntheticPatient::generate(43).bundle_json(),
            a.bundle_json()
        );
        let first: Vec<_> = patients(7, 3).map(|p| p.bundle_json()).collect();
        let again: Vec<_> = patients(7, 3).map(|p| p.bundle_json()).collect();
        assert_eq!(first, again);
    }

    #[test]
    fn patients_are_realistic_and_uploadable() {
        let key = MatchingKey::from_bytes([1; 32]);
        let mut refs = HashSet::new();
        let mut ids = HashSet::new();
        for patient in patients(2026, 25) {
            let normalized = patient.identifiers.normalize().unwrap();
            assert!(normalized.ssn().starts_with('9'));
            refs.insert(patient.identifiers.patient_ref(&key).unwrap());

            let records = records_from_fhir(&patient.bundle_json()).unwrap();
            assert_eq!(records.len(), patient.resources.len());
            assert_eq!(records[0].category, "Patient");
            for record in &records {
                assert!(ids.insert(record.record_id.clone()), "{}", record.record_id);
            }
            for json in patient.resource_jsons() {
                records_from_fhir(&json).unwrap();
            }
            let types: HashSet<&str> = records.iter().map(|r| r.category.as_str()).collect();
            for expected in ["Patient", "Condition", "Encounter", "Observation"] {
                assert!(types.contains(expected), "{expected} missing");
            }

            let summary = ClinicalSummary::from_resources(&patient.resources);
            assert_eq!(summary.patients.len(), 1);
            assert!(summary.conditions.len() >= 2);
            assert!(summary.encounters.len() >= 2);
            assert!(summary.other_resources.is_empty());
            assert!(summary.observations.iter().all(|o| o.value.is_some()));
            let dob = patient.resources[0]["birthDate"].as_str().unwrap();
            assert_eq!(dob, normalized.date_of_birth());
            // The SSN never appears in the records.
            let digits = normalized.ssn();
            assert!(
                !String::from_utf8(patient.bundle_json())
                    .unwrap()
                    .contains(digits)
            );
        }
        assert_eq!(refs.len(), 25, "distinct patients get distinct refs");
        let medications = patients(2026, 25)
            .flat_map(|p| p.resources)
            .filter(|r| r["resourceType"] == "MedicationStatement")
            .count();
        let allergies = patients(2026, 25)
            .flat_map(|p| p.resources)
            .filter(|r| r["resourceType"] == "AllergyIntolerance")
            .count();
        assert!(medications > 0 && allergies > 0);
    }
}
