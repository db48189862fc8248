//! The shape of FHIR R4 JSON that a record must have: ONE rule, applied by
//! the contract to every record of `PutEhr` and by the SDK before it
//! submits an upload.
//!
//! What is checked (FHIR R4 4.0.1, json.html and datatypes.html), on top
//! of the strict reader ([`crate::parse_record`]: one object, no key twice
//! at any depth, at most [`MAX_JSON_DEPTH`] levels, at most
//! [`MAX_RECORD_BYTES`], numbers kept exactly):
//!
//! - **resources** (the record, each Bundle entry's resource, each
//!   `contained` resource): `resourceType` is one of the 146 R4 resource
//!   types ([`RESOURCE_TYPES`]); `id` is a FHIR id (required, except on a
//!   contained resource); a contained resource contains none (dom-2);
//!   `meta` is an object whose `lastUpdated` is an instant and `versionId`
//!   an id; `text` is a Narrative (`status` one of its four codes, `div` an
//!   xhtml `<div>`); `status` is a code (a CodeableConcept on the two
//!   resource types that define it so); `language` is a code;
//! - **Bundles**: `type` is one of the nine Bundle types; `entry` is a list
//!   of objects, each with a `resource`;
//! - **everywhere**: property names are element names (a letter, then
//!   letters and digits, at most 64; `_` before a primitive's extension
//!   element); no `null` outside an array, no empty string, object or
//!   array; no control character other than tab, CR and LF in any string;
//!   an `extension` or `modifierExtension` is a list of objects each with a
//!   `url` (unknown extensions are allowed: their content is checked only
//!   by the rules above); a `reference` string is a local reference
//!   (`#id`), an absolute URI (`urn:uuid:…`, `https://…`) or a relative
//!   `Type/id` (`/_history/vid` allowed) with an R4 type; elements named
//!   `…DateTime` are dateTimes, `…Instant` instants, `birthDate` a date,
//!   each matched against the R4 regular expression of its type.
//!
//! It is not a full validator: cardinalities, value sets, other elements'
//! types and profiles are the uploader's business (see INTERFACE.md for
//! why the published JSON schema and the FHIR crates were not chosen).

use serde_json::{Map, Value};

use crate::{
    code::{ErrorCode, quote},
    json::{InterfaceError, parse_record},
    limits::{MAX_JSON_DEPTH, MAX_RECORD_BYTES},
    rules::{FHIR_ID_RULE, is_fhir_id},
};

/// Every resource type of FHIR R4 (4.0.1), sorted: the `discriminator`
/// of the published R4 JSON schema, `fhir.schema.json`.
pub const RESOURCE_TYPES: &[&str] = &[
    "Account",
    "ActivityDefinition",
    "AdverseEvent",
    "AllergyIntolerance",
    "Appointment",
    "AppointmentResponse",
    "AuditEvent",
    "Basic",
    "Binary",
    "BiologicallyDerivedProduct",
    "BodyStructure",
    "Bundle",
    "CapabilityStatement",
    "CarePlan",
    "CareTeam",
    "CatalogEntry",
    "ChargeItem",
    "ChargeItemDefinition",
    "Claim",
    "ClaimResponse",
    "ClinicalImpression",
    "CodeSystem",
    "Communication",
    "CommunicationRequest",
    "CompartmentDefinition",
    "Composition",
    "ConceptMap",
    "Condition",
    "Consent",
    "Contract",
    "Coverage",
    "CoverageEligibilityRequest",
    "CoverageEligibilityResponse",
    "DetectedIssue",
    "Device",
    "DeviceDefinition",
    "DeviceMetric",
    "DeviceRequest",
    "DeviceUseStatement",
    "DiagnosticReport",
    "DocumentManifest",
    "DocumentReference",
    "EffectEvidenceSynthesis",
    "Encounter",
    "Endpoint",
    "EnrollmentRequest",
    "EnrollmentResponse",
    "EpisodeOfCare",
    "EventDefinition",
    "Evidence",
    "EvidenceVariable",
    "ExampleScenario",
    "ExplanationOfBenefit",
    "FamilyMemberHistory",
    "Flag",
    "Goal",
    "GraphDefinition",
    "Group",
    "GuidanceResponse",
    "HealthcareService",
    "ImagingStudy",
    "Immunization",
    "ImmunizationEvaluation",
    "ImmunizationRecommendation",
    "ImplementationGuide",
    "InsurancePlan",
    "Invoice",
    "Library",
    "Linkage",
    "List",
    "Location",
    "Measure",
    "MeasureReport",
    "Media",
    "Medication",
    "MedicationAdministration",
    "MedicationDispense",
    "MedicationKnowledge",
    "MedicationRequest",
    "MedicationStatement",
    "MedicinalProduct",
    "MedicinalProductAuthorization",
    "MedicinalProductContraindication",
    "MedicinalProductIndication",
    "MedicinalProductIngredient",
    "MedicinalProductInteraction",
    "MedicinalProductManufactured",
    "MedicinalProductPackaged",
    "MedicinalProductPharmaceutical",
    "MedicinalProductUndesirableEffect",
    "MessageDefinition",
    "MessageHeader",
    "MolecularSequence",
    "NamingSystem",
    "NutritionOrder",
    "Observation",
    "ObservationDefinition",
    "OperationDefinition",
    "OperationOutcome",
    "Organization",
    "OrganizationAffiliation",
    "Parameters",
    "Patient",
    "PaymentNotice",
    "PaymentReconciliation",
    "Person",
    "PlanDefinition",
    "Practitioner",
    "PractitionerRole",
    "Procedure",
    "Provenance",
    "Questionnaire",
    "QuestionnaireResponse",
    "RelatedPerson",
    "RequestGroup",
    "ResearchDefinition",
    "ResearchElementDefinition",
    "ResearchStudy",
    "ResearchSubject",
    "RiskAssessment",
    "RiskEvidenceSynthesis",
    "Schedule",
    "SearchParameter",
    "ServiceRequest",
    "Slot",
    "Specimen",
    "SpecimenDefinition",
    "StructureDefinition",
    "StructureMap",
    "Subscription",
    "Substance",
    "SubstanceNucleicAcid",
    "SubstancePolymer",
    "SubstanceProtein",
    "SubstanceReferenceInformation",
    "SubstanceSourceMaterial",
    "SubstanceSpecification",
    "SupplyDelivery",
    "SupplyRequest",
    "Task",
    "TerminologyCapabilities",
    "TestReport",
    "TestScript",
    "ValueSet",
    "VerificationResult",
    "VisionPrescription",
];

/// Whether `name` is an R4 resource type.
pub fn is_resource_type(name: &str) -> bool {
    RESOURCE_TYPES.binary_search(&name).is_ok()
}

/// The values of `Bundle.type` (a required binding).
pub const BUNDLE_TYPES: &[&str] = &[
    "document",
    "message",
    "transaction",
    "transaction-response",
    "batch",
    "batch-response",
    "history",
    "searchset",
    "collection",
];

/// The values of `Narrative.status` (a required binding).
pub const NARRATIVE_STATUSES: &[&str] = &["generated", "extensions", "additional", "empty"];

/// The resource types whose top-level `status` is a CodeableConcept, not a
/// code.
const CONCEPT_STATUS: &[&str] = &["MedicinalProductAuthorization", "SubstanceSpecification"];

/// The longest element name accepted.
pub const MAX_ELEMENT_NAME_BYTES: usize = 64;

/// Why a record is not FHIR R4 JSON. `at` is where: `Observation.code`,
/// `Bundle.entry[2].resource`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    /// Not UTF-8.
    #[error("the record is not valid UTF-8 (invalid byte at {0})")]
    NotUtf8(usize),
    /// Too large, not JSON, not an object, a repeated key, too deep.
    #[error(transparent)]
    Json(#[from] InterfaceError),
    /// Something that must be a JSON object is not.
    #[error("{at} is not a JSON object")]
    NotAnObject {
        /// Where.
        at: String,
    },
    /// Not one of the R4 resource types, or missing.
    #[error("{at} has no R4 resourceType: {found} is not one of the 146 FHIR R4 resource types")]
    ResourceType {
        /// Where.
        at: String,
        /// What it has instead, quoted and cut short (or `none`).
        found: String,
    },
    /// A resource lacks `id` or has a malformed one.
    #[error("{at} has no valid id ({FHIR_ID_RULE})")]
    Id {
        /// Where.
        at: String,
    },
    /// Any other departure from the R4 JSON format.
    #[error("{at}: {problem}")]
    Shape {
        /// Where.
        at: String,
        /// What is wrong.
        problem: String,
    },
}

impl FhirError {
    /// The code a client acts on.
    pub fn code(&self) -> ErrorCode {
        match self {
            FhirError::Json(error) => error.code(),
            FhirError::NotAnObject { .. } => ErrorCode::NotAnObject,
            _ => ErrorCode::BadArgument,
        }
    }

    fn shape(at: &str, problem: impl Into<String>) -> Self {
        FhirError::Shape {
            at: at.to_owned(),
            problem: problem.into(),
        }
    }
}

/// A record's resource type and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The top-level `resourceType`.
    pub resource_type: String,
    /// The top-level `id`.
    pub id: String,
}

/// Reads `bytes` with the strict reader and checks the R4 shape; returns
/// the resource's type and id.
pub fn check_record(bytes: &[u8]) -> Result<Resource, FhirError> {
    if bytes.len() <= MAX_RECORD_BYTES {
        std::str::from_utf8(bytes).map_err(|e| FhirError::NotUtf8(e.valid_up_to()))?;
    }
    let object = parse_record(bytes)?;
    check_resource(&object)
}

/// Checks a parsed resource (a record): the rules of the module
/// documentation. Returns its type and id.
pub fn check_resource(object: &Map<String, Value>) -> Result<Resource, FhirError> {
    let (resource_type, id) = resource(object, None, Nesting::Top)?;
    Ok(Resource {
        resource_type: resource_type.to_owned(),
        id: id.unwrap_or_default().to_owned(),
    })
}

/// Where a resource sits: it decides whether `id` is required and whether
/// it may contain others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nesting {
    /// The record.
    Top,
    /// A Bundle entry's resource: stored as part of the record, so it is
    /// named like one.
    Entry,
    /// In `contained`: its id is optional, and it contains none.
    Contained,
    /// Another element of type Resource (`Parameters.parameter.resource`,
    /// `Bundle.entry.response.outcome`): its id is optional.
    Nested,
}

/// Checks one resource; `at` is the path of the place holding it.
fn resource<'a>(
    object: &'a Map<String, Value>,
    at: Option<&str>,
    nesting: Nesting,
) -> Result<(&'a str, Option<&'a str>), FhirError> {
    let place = at.unwrap_or("the record");
    let resource_type = match object.get("resourceType") {
        Some(Value::String(name)) if is_resource_type(name) => name.as_str(),
        Some(Value::String(name)) => {
            return Err(FhirError::ResourceType {
                at: place.to_owned(),
                found: quote(name),
            });
        }
        Some(_) | None => {
            return Err(FhirError::ResourceType {
                at: place.to_owned(),
                found: "none".to_owned(),
            });
        }
    };
    let path = match at {
        Some(at) => format!("{at}({resource_type})"),
        None => resource_type.to_owned(),
    };
    let id = match object.get("id") {
        Some(Value::String(id)) if is_fhir_id(id) => Some(id.as_str()),
        None if matches!(nesting, Nesting::Contained | Nesting::Nested) => None,
        _ => return Err(FhirError::Id { at: path }),
    };
    let mut checker = Checker;
    for (name, value) in object {
        match (name.as_str(), value) {
            ("resourceType" | "id", _) => {}
            ("meta", value) => checker.meta(value, &format!("{path}.meta"))?,
            ("text", value) => checker.narrative(value, &format!("{path}.text"))?,
            ("status", value) if CONCEPT_STATUS.contains(&resource_type) => {
                checker.object_value(value, &format!("{path}.status"))?;
            }
            ("status" | "language", value) => {
                checker.code(value, &format!("{path}.{name}"))?;
            }
            ("contained", value) => {
                let at = format!("{path}.contained");
                if nesting == Nesting::Contained {
                    return Err(FhirError::shape(
                        &at,
                        "a contained resource contains no other resources (dom-2)",
                    ));
                }
                for (index, item) in checker.list(value, &at)?.iter().enumerate() {
                    let at = format!("{at}[{index}]");
                    let contained = item
                        .as_object()
                        .ok_or_else(|| FhirError::NotAnObject { at: at.clone() })?;
                    resource(contained, Some(&at), Nesting::Contained)?;
                }
            }
            ("type", value) if resource_type == "Bundle" => {
                checker.one_of(value, BUNDLE_TYPES, &format!("{path}.type"))?;
            }
            ("entry", value) if resource_type == "Bundle" => checker.entries(value, &path)?,
            _ => checker.element(name, value, &path, 1)?,
        }
    }
    if resource_type == "Bundle" && !object.contains_key("type") {
        return Err(FhirError::shape(
            &path,
            "a Bundle has a type (document, collection, transaction, ...)",
        ));
    }
    Ok((resource_type, id))
}

/// The element-level checks; a unit struct so the rules read as methods.
struct Checker;

impl Checker {
    /// Any element below a resource: its name, then its value by name.
    fn element(
        &mut self,
        name: &str,
        value: &Value,
        parent: &str,
        depth: usize,
    ) -> Result<(), FhirError> {
        let at = element_path(parent, name)?;
        match name {
            "extension" | "modifierExtension" => return self.extensions(value, &at, depth),
            "reference" if value.is_string() => return self.reference(value, &at),
            "resource" | "outcome" if value.get("resourceType").is_some() => {
                let object = value
                    .as_object()
                    .ok_or_else(|| FhirError::NotAnObject { at: at.clone() })?;
                return resource(object, Some(&at), Nesting::Nested).map(drop);
            }
            "birthDate" => return self.matches(value, &at, Primitive::Date),
            _ if name.ends_with("DateTime") && !name.starts_with('_') => {
                return self.matches(value, &at, Primitive::DateTime);
            }
            _ if name.ends_with("Instant") && !name.starts_with('_') => {
                return self.matches(value, &at, Primitive::Instant);
            }
            _ => {}
        }
        self.value(value, &at, depth)
    }

    /// A value of no particular type: the general JSON rules, recursively.
    fn value(&mut self, value: &Value, at: &str, depth: usize) -> Result<(), FhirError> {
        if depth > MAX_JSON_DEPTH {
            return Err(FhirError::shape(
                at,
                format!("nested deeper than {MAX_JSON_DEPTH} levels"),
            ));
        }
        match value {
            Value::Null => Err(FhirError::shape(
                at,
                "null is allowed only inside a list of primitives",
            )),
            Value::Bool(_) | Value::Number(_) => Ok(()),
            Value::String(text) => string(text, at),
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(FhirError::shape(
                        at,
                        "an empty list (leave the element out)",
                    ));
                }
                for (index, item) in items.iter().enumerate() {
                    if !item.is_null() {
                        self.value(item, &format!("{at}[{index}]"), depth + 1)?;
                    }
                }
                Ok(())
            }
            Value::Object(fields) => {
                if fields.is_empty() {
                    return Err(FhirError::shape(
                        at,
                        "an empty object (leave the element out)",
                    ));
                }
                if fields.contains_key("resourceType") {
                    return Err(FhirError::shape(
                        at,
                        "a resource stands only in a Bundle entry, contained, or a resource or outcome element",
                    ));
                }
                for (name, value) in fields {
                    self.element(name, value, at, depth + 1)?;
                }
                Ok(())
            }
        }
    }

    fn object_value<'v>(
        &mut self,
        value: &'v Value,
        at: &str,
    ) -> Result<&'v Map<String, Value>, FhirError> {
        self.value(value, at, 1)?;
        value
            .as_object()
            .ok_or_else(|| FhirError::NotAnObject { at: at.to_owned() })
    }

    fn list<'v>(&mut self, value: &'v Value, at: &str) -> Result<&'v [Value], FhirError> {
        match value {
            Value::Array(items) if !items.is_empty() => Ok(items),
            Value::Array(_) => Err(FhirError::shape(
                at,
                "an empty list (leave the element out)",
            )),
            _ => Err(FhirError::shape(at, "must be a list")),
        }
    }

    fn code(&mut self, value: &Value, at: &str) -> Result<(), FhirError> {
        self.matches(value, at, Primitive::Code)
    }

    fn one_of(&mut self, value: &Value, allowed: &[&str], at: &str) -> Result<(), FhirError> {
        match value.as_str() {
            Some(code) if allowed.contains(&code) => Ok(()),
            Some(code) => Err(FhirError::shape(
                at,
                format!("{} is not one of {}", quote(code), allowed.join(", ")),
            )),
            None => Err(FhirError::shape(
                at,
                format!("must be one of {}", allowed.join(", ")),
            )),
        }
    }

    fn matches(&mut self, value: &Value, at: &str, primitive: Primitive) -> Result<(), FhirError> {
        match value.as_str() {
            Some(text) if primitive.accepts(text) => string(text, at),
            Some(text) => Err(FhirError::shape(
                at,
                format!("{} is not {}", quote(text), primitive.rule()),
            )),
            None => Err(FhirError::shape(
                at,
                format!("must be a string: {}", primitive.rule()),
            )),
        }
    }

    fn meta(&mut self, value: &Value, at: &str) -> Result<(), FhirError> {
        let meta = self.object_value(value, at)?;
        if let Some(updated) = meta.get("lastUpdated") {
            self.matches(updated, &format!("{at}.lastUpdated"), Primitive::Instant)?;
        }
        if let Some(version) = meta.get("versionId") {
            self.matches(version, &format!("{at}.versionId"), Primitive::Id)?;
        }
        Ok(())
    }

    fn narrative(&mut self, value: &Value, at: &str) -> Result<(), FhirError> {
        let text = self.object_value(value, at)?;
        self.one_of(
            text.get("status").unwrap_or(&Value::Null),
            NARRATIVE_STATUSES,
            &format!("{at}.status"),
        )?;
        match text.get("div").and_then(Value::as_str) {
            Some(div) if div.starts_with("<div") => Ok(()),
            _ => Err(FhirError::shape(
                &format!("{at}.div"),
                "a Narrative's div is XHTML text starting with <div",
            )),
        }
    }

    fn entries(&mut self, value: &Value, path: &str) -> Result<(), FhirError> {
        let at = format!("{path}.entry");
        for (index, entry) in self.list(value, &at)?.iter().enumerate() {
            let at = format!("{at}[{index}]");
            let fields = entry
                .as_object()
                .ok_or_else(|| FhirError::NotAnObject { at: at.clone() })?;
            let Some(resource_value) = fields.get("resource") else {
                return Err(FhirError::shape(&at, "a Bundle entry without a resource"));
            };
            for (name, value) in fields {
                if name != "resource" {
                    self.element(name, value, &at, 2)?;
                }
            }
            let at = format!("{at}.resource");
            let inner = resource_value
                .as_object()
                .ok_or_else(|| FhirError::NotAnObject { at: at.clone() })?;
            resource(inner, Some(&at), Nesting::Entry)?;
        }
        Ok(())
    }

    fn extensions(&mut self, value: &Value, at: &str, depth: usize) -> Result<(), FhirError> {
        for (index, item) in self.list(value, at)?.iter().enumerate() {
            let at = format!("{at}[{index}]");
            let fields = item
                .as_object()
                .ok_or_else(|| FhirError::NotAnObject { at: at.clone() })?;
            match fields.get("url") {
                Some(Value::String(url)) if Primitive::Uri.accepts(url) => {}
                _ => {
                    return Err(FhirError::shape(&at, "an extension has a url (ext-1)"));
                }
            }
            self.value(item, &at, depth + 1)?;
        }
        Ok(())
    }

    fn reference(&mut self, value: &Value, at: &str) -> Result<(), FhirError> {
        let Some(text) = value.as_str() else {
            return Err(FhirError::shape(at, "must be a string"));
        };
        string(text, at)?;
        if is_reference(text) {
            Ok(())
        } else {
            Err(FhirError::shape(
                at,
                format!(
                    "{} is not a reference: #id, an absolute URI, or Type/id with an R4 type",
                    quote(text)
                ),
            ))
        }
    }
}

/// Whether `text` is a FHIR R4 literal reference as this module accepts
/// it: `#` or `#id` (contained), an absolute URI (a scheme and a colon,
/// no whitespace), or a relative `Type/id` or `Type/id/_history/vid`.
pub fn is_reference(text: &str) -> bool {
    if let Some(local) = text.strip_prefix('#') {
        return local.is_empty() || is_fhir_id(local);
    }
    if text.chars().any(char::is_whitespace) || text.is_empty() {
        return false;
    }
    if is_absolute_uri(text) {
        return true;
    }
    let parts: Vec<&str> = text.split('/').collect();
    match parts.as_slice() {
        [resource_type, id] => is_resource_type(resource_type) && is_fhir_id(id),
        [resource_type, id, "_history", version] => {
            is_resource_type(resource_type) && is_fhir_id(id) && is_fhir_id(version)
        }
        _ => false,
    }
}

/// A URI with a scheme (RFC 3986: a letter, then letters, digits, `+ - .`,
/// then a colon).
fn is_absolute_uri(text: &str) -> bool {
    let Some((scheme, _)) = text.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// The path of element `name` below `parent`, once its name is checked.
fn element_path(parent: &str, name: &str) -> Result<String, FhirError> {
    let bare = name.strip_prefix('_').unwrap_or(name);
    let mut bytes = bare.bytes();
    let valid = name.len() <= MAX_ELEMENT_NAME_BYTES
        && matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric());
    if valid {
        Ok(format!("{parent}.{name}"))
    } else {
        Err(FhirError::shape(
            parent,
            format!(
                "{} is not an element name (a letter, then letters and digits, at most {MAX_ELEMENT_NAME_BYTES})",
                quote(name)
            ),
        ))
    }
}

/// A FHIR string: not empty, no control character but tab, CR and LF.
fn string(text: &str, at: &str) -> Result<(), FhirError> {
    if text.is_empty() {
        return Err(FhirError::shape(
            at,
            "an empty string (leave the element out)",
        ));
    }
    match text
        .char_indices()
        .find(|&(_, c)| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
    {
        Some((index, c)) => Err(FhirError::shape(
            at,
            format!(
                "the control character U+{:04X} at byte {index}",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

/// The R4 primitive types this module checks, each by the regular
/// expression R4 gives it (datatypes.html), written out as a parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Primitive {
    Code,
    Id,
    Uri,
    Date,
    DateTime,
    Instant,
}

impl Primitive {
    fn rule(self) -> &'static str {
        match self {
            Primitive::Code => "a code (no leading, trailing or double whitespace)",
            Primitive::Id => FHIR_ID_RULE,
            Primitive::Uri => "a URI (no whitespace)",
            Primitive::Date => "a date (YYYY, YYYY-MM or YYYY-MM-DD)",
            Primitive::DateTime => {
                "a dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.f] with a zone)"
            }
            Primitive::Instant => "an instant (YYYY-MM-DDThh:mm:ss[.f] with a zone: Z or +hh:mm)",
        }
    }

    fn accepts(self, text: &str) -> bool {
        match self {
            // [^\s]+(\s[^\s]+)*
            Primitive::Code => {
                let mut previous_space = true;
                for c in text.chars() {
                    let space = c.is_whitespace();
                    if space && previous_space {
                        return false;
                    }
                    previous_space = space;
                }
                !previous_space
            }
            Primitive::Id => is_fhir_id(text),
            Primitive::Uri => !text.is_empty() && !text.chars().any(char::is_whitespace),
            Primitive::Date => date_prefix(text.as_bytes()).is_some_and(|rest| rest.is_empty()),
            Primitive::DateTime => match date_prefix(text.as_bytes()) {
                Some([]) => true,
                Some(rest) if text.len() == 10 + rest.len() => time_with_zone(rest),
                _ => false,
            },
            Primitive::Instant => {
                text.len() > 10
                    && date_prefix(text.as_bytes())
                        .is_some_and(|rest| text.len() == 10 + rest.len() && time_with_zone(rest))
            }
        }
    }
}

fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(bytes.iter().fold(0, |n, &b| n * 10 + u32::from(b - b'0')))
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (year 0001 or later, month 01-12,
/// day 01-31) at the start; returns the rest.
fn date_prefix(bytes: &[u8]) -> Option<&[u8]> {
    let year = digits(bytes.get(..4)?)?;
    if year == 0 {
        return None;
    }
    let mut rest = &bytes[4..];
    for range in [1..=12, 1..=31] {
        // A month after the year, then a day after the month, each optional.
        let Some(part) = rest.strip_prefix(b"-") else {
            return Some(rest);
        };
        if !range.contains(&digits(part.get(..2)?)?) {
            return None;
        }
        rest = &part[2..];
    }
    Some(rest)
}

/// `Thh:mm:ss[.f+](Z|(+|-)hh:mm)`, hours 00-23, seconds up to 60, zones
/// -13:59 to +14:00.
fn time_with_zone(bytes: &[u8]) -> bool {
    let Some(rest) = bytes.strip_prefix(b"T") else {
        return false;
    };
    let (Some(hh), Some(b':'), Some(mm), Some(b':'), Some(ss)) = (
        rest.get(..2).and_then(digits),
        rest.get(2),
        rest.get(3..5).and_then(digits),
        rest.get(5),
        rest.get(6..8).and_then(digits),
    ) else {
        return false;
    };
    if hh > 23 || mm > 59 || ss > 60 {
        return false;
    }
    let mut rest = &rest[8..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let count = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    match rest {
        b"Z" => true,
        [b'+' | b'-', zone @ ..] if zone.len() == 5 && zone[2] == b':' => {
            let (Some(zh), Some(zm)) = (digits(&zone[..2]), digits(&zone[3..])) else {
                return false;
            };
            zm <= 59 && (zh <= 13 || (zh == 14 && zm == 0))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(json: &str) -> FhirError {
        match check_record(json.as_bytes()) {
            Ok(resource) => unreachable_ok(json, &resource),
            Err(error) => error,
        }
    }

    fn unreachable_ok(json: &str, resource: &Resource) -> FhirError {
        FhirError::shape("test", format!("{json} was accepted as {resource:?}"))
    }

    /// The refusal's message, which must name `at`.
    fn refused_at(json: &str, at: &str) -> String {
        let error = problem(json);
        let text = error.to_string();
        assert!(text.contains(at), "{json}: {text} does not name {at}");
        assert!(!text.contains("was accepted"), "{text}");
        text
    }

    const OBSERVATION: &str = r##"{"resourceType":"Observation","id":"obs-1",
        "meta":{"versionId":"3","lastUpdated":"2024-01-02T03:04:05.123+01:00","profile":["http://hl7.org/fhir/StructureDefinition/vitalsigns"]},
        "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">BP</div>"},
        "status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}],"text":"Blood pressure"},
        "subject":{"reference":"Patient/p-1","display":"Ada"},"encounter":{"reference":"urn:uuid:8b1c6a2e-5d0b-4a43-9d64-6d5d0f5c1a11"},
        "performer":[{"reference":"#pract"},{"reference":"https://example.org/fhir/Practitioner/9/_history/2"}],
        "effectiveDateTime":"2024-01-02","issued":"2024-01-02T03:04:05Z",
        "contained":[{"resourceType":"Practitioner","id":"pract","name":[{"family":"Who","given":["Doc",null]}],
                      "_given":[null,{"extension":[{"url":"http://example.org/x","valueString":"y"}]}]}],
        "extension":[{"url":"http://example.org/unknown-extension","valueDateTime":"2024-02","extension":[{"url":"inner","valueInteger":1}]}],
        "component":[{"code":{"text":"Systolic"},"valueQuantity":{"value":120.50,"unit":"mm[Hg]"}}]}"##;

    #[test]
    fn well_formed_r4_passes() {
        assert_eq!(
            check_record(OBSERVATION.as_bytes()).unwrap(),
            Resource {
                resource_type: "Observation".into(),
                id: "obs-1".into()
            }
        );
        let bundle = r#"{"resourceType":"Bundle","id":"b1","type":"collection","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p","birthDate":"1990-02-03"}},
            {"resource":{"resourceType":"Parameters","id":"q","parameter":[{"name":"r","resource":{"resourceType":"Basic","code":{"text":"x"}}}]}}]}"#;
        assert_eq!(
            check_record(bundle.as_bytes()).unwrap().resource_type,
            "Bundle"
        );
        assert!(check_record(br#"{"resourceType":"MedicinalProductAuthorization","id":"m","status":{"text":"approved"}}"#).is_ok());
        assert!(check_record(br#"{"resourceType":"Consent","id":"c","status":"active"}"#).is_ok());
    }

    #[test]
    fn the_list_holds_every_r4_resource_type_sorted() {
        assert_eq!(RESOURCE_TYPES.len(), 146);
        assert!(RESOURCE_TYPES.windows(2).all(|pair| pair[0] < pair[1]));
        for name in [
            "Patient",
            "Observation",
            "Bundle",
            "Consent",
            "AuditEvent",
            "VisionPrescription",
        ] {
            assert!(is_resource_type(name), "{name}");
        }
        // R5 and R4B only, or misspelled.
        for name in [
            "ActorDefinition",
            "Subscriptionstatus",
            "SubscriptionStatus",
            "patient",
            "Observations",
        ] {
            assert!(!is_resource_type(name), "{name}");
        }
    }

    #[test]
    fn an_unknown_resource_type_is_refused_and_named() {
        let text = refused_at(r#"{"resourceType":"Patients","id":"p"}"#, "the record");
        assert!(text.contains("\"Patients\""), "{text}");
        assert!(matches!(
            problem(r#"{"id":"p"}"#),
            FhirError::ResourceType { .. }
        ));
        assert!(matches!(
            problem(r#"{"resourceType":7,"id":"p"}"#),
            FhirError::ResourceType { .. }
        ));
        let inner = r#"{"resourceType":"Bundle","id":"b","type":"collection","entry":[{"resource":{"resourceType":"Nope","id":"n"}}]}"#;
        refused_at(inner, "Bundle.entry[0].resource");
    }

    #[test]
    fn ids_follow_the_fhir_id_rule() {
        for id in [
            r#""a b""#,
            r#""obs_1""#,
            r#""""#,
            "7",
            &format!("\"{}\"", "a".repeat(65)),
        ] {
            let json = format!(r#"{{"resourceType":"Patient","id":{id}}}"#);
            assert!(matches!(problem(&json), FhirError::Id { .. }), "{json}");
        }
        assert!(matches!(
            problem(r#"{"resourceType":"Patient"}"#),
            FhirError::Id { .. }
        ));
        // A contained resource may go without one, but not with a bad one.
        assert!(check_record(br#"{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Organization","name":"x"}]}"#).is_ok());
        refused_at(
            r#"{"resourceType":"Patient","id":"p","contained":[{"resourceType":"Organization","id":"a b"}]}"#,
            "Patient.contained[0](Organization)",
        );
        refused_at(
            r#"{"resourceType":"Patient","id":"p","meta":{"versionId":"v 1"}}"#,
            "Patient.meta.versionId",
        );
    }

    #[test]
    fn bundles_need_a_type_and_a_resource_in_every_entry() {
        let text = refused_at(
            r#"{"resourceType":"Bundle","id":"b","type":"collection","entry":[{"resource":{"resourceType":"Patient","id":"p"}},{"fullUrl":"urn:uuid:x"}]}"#,
            "Bundle.entry[1]",
        );
        assert!(text.contains("without a resource"), "{text}");
        for entry in ["[]", "{}"] {
            let json = format!(
                r#"{{"resourceType":"Bundle","id":"b","type":"collection","entry":{entry}}}"#
            );
            refused_at(&json, "Bundle.entry");
        }
        assert!(matches!(
            problem(r#"{"resourceType":"Bundle","id":"b","type":"collection","entry":[[]]}"#),
            FhirError::NotAnObject { .. }
        ));
        assert_eq!(
            problem(r#"{"resourceType":"Bundle","id":"b","type":"collection","entry":[{"resource":[]}]}"#).code(),
            ErrorCode::NotAnObject
        );
        refused_at(
            r#"{"resourceType":"Bundle","id":"b","type":"bag"}"#,
            "Bundle.type",
        );
        refused_at(r#"{"resourceType":"Bundle","id":"b"}"#, "Bundle");
        // An entry's resource needs an id like a record, a contained one does not.
        assert!(matches!(
            problem(
                r#"{"resourceType":"Bundle","id":"b","type":"collection","entry":[{"resource":{"resourceType":"Patient"}}]}"#
            ),
            FhirError::Id { .. }
        ));
    }

    #[test]
    fn primitives_of_well_known_elements_are_checked() {
        for (json, at) in [
            (
                r#"{"resourceType":"Patient","id":"p","meta":{"lastUpdated":"2024-01-02"}}"#,
                "Patient.meta.lastUpdated",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","meta":{"lastUpdated":"2024-01-02T03:04:05"}}"#,
                "Patient.meta.lastUpdated",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","meta":{"lastUpdated":"2024-01-02T24:00:00Z"}}"#,
                "Patient.meta.lastUpdated",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","meta":{"lastUpdated":"2024-01-02T03:04:05+14:30"}}"#,
                "Patient.meta.lastUpdated",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","meta":[]}"#,
                "Patient.meta",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","birthDate":"1990-13-01"}"#,
                "Patient.birthDate",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","birthDate":"0000"}"#,
                "Patient.birthDate",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","effectiveDateTime":"yesterday"}"#,
                "Observation.effectiveDateTime",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","effectiveDateTime":"2024-01-02T03:04Z"}"#,
                "Observation.effectiveDateTime",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","effectiveInstant":"2024"}"#,
                "Observation.effectiveInstant",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","status":" final"}"#,
                "Observation.status",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","status":"fi  nal"}"#,
                "Observation.status",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","status":{"text":"final"}}"#,
                "Observation.status",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","language":3}"#,
                "Observation.language",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","text":{"status":"made","div":"<div>x</div>"}}"#,
                "Observation.text.status",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","text":{"status":"generated","div":"x"}}"#,
                "Observation.text.div",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/a b"}}"#,
                "Observation.subject.reference",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","subject":{"reference":"Patients/p"}}"#,
                "Observation.subject.reference",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","subject":{"reference":"Patient?identifier=x"}}"#,
                "Observation.subject.reference",
            ),
            (
                r#"{"resourceType":"Observation","id":"o","subject":{"reference":"Patient/p/_history"}}"#,
                "Observation.subject.reference",
            ),
            (
                r##"{"resourceType":"Observation","id":"o","subject":{"reference":"#a b"}}"##,
                "Observation.subject.reference",
            ),
        ] {
            assert_eq!(problem(json).code(), ErrorCode::BadArgument, "{json}");
            refused_at(json, at);
        }
        for good in [
            "2024",
            "2024-02",
            "2024-02-29",
            "2024-02-29T23:59:60.5-13:59",
            "2024-02-29T00:00:00+14:00",
        ] {
            let json = format!(
                r#"{{"resourceType":"Observation","id":"o","effectiveDateTime":"{good}"}}"#
            );
            assert!(check_record(json.as_bytes()).is_ok(), "{json}");
        }
    }

    #[test]
    fn fhir_json_has_no_empty_or_null_values() {
        for (json, at) in [
            (
                r#"{"resourceType":"Patient","id":"p","gender":""}"#,
                "Patient.gender",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","name":[]}"#,
                "Patient.name",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","name":[{}]}"#,
                "Patient.name[0]",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","gender":null}"#,
                "Patient.gender",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","managingOrganization":{"resourceType":"Organization","id":"o"}}"#,
                "Patient.managingOrganization",
            ),
        ] {
            refused_at(json, at);
        }
    }

    #[test]
    fn extensions_need_a_url_and_are_otherwise_free() {
        assert!(check_record(br#"{"resourceType":"Patient","id":"p","extension":[{"url":"urn:any:thing","valueCodeableConcept":{"text":"z"}}]}"#).is_ok());
        for (json, at) in [
            (
                r#"{"resourceType":"Patient","id":"p","extension":[{"valueString":"x"}]}"#,
                "Patient.extension[0]",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","extension":{"url":"u"}}"#,
                "Patient.extension",
            ),
            (
                r#"{"resourceType":"Patient","id":"p","name":[{"modifierExtension":[{"url":"a b"}]}]}"#,
                "Patient.name[0].modifierExtension[0]",
            ),
        ] {
            refused_at(json, at);
        }
    }

    #[test]
    fn hostile_input_gets_a_short_clear_refusal() {
        // NUL bytes, in a value and in a key.
        let text = refused_at(
            r#"{"resourceType":"Patient","id":"p","gender":"ma\u0000le"}"#,
            "Patient.gender",
        );
        assert!(text.contains("U+0000"), "{text}");
        let text = refused_at(
            r#"{"resourceType":"Patient","id":"p","gen\u0000der":"male"}"#,
            "Patient",
        );
        assert!(text.len() < 300, "{text}");
        // A 1 MiB string, as a value and as a key: quoted short.
        let long = "x".repeat(MAX_RECORD_BYTES - 100);
        let json = format!(r#"{{"resourceType":"Patient","id":"p","gender":" {long}"}}"#);
        assert!(
            check_record(json.as_bytes()).is_ok(),
            "a long string is a string"
        );
        let json = format!(r#"{{"resourceType":"Patient","id":"p","{long}":1}}"#);
        let text = refused_at(&json, "Patient");
        assert!(text.len() < 300, "{} bytes", text.len());
        let json =
            format!(r#"{{"resourceType":"Patient","id":"p","meta":{{"lastUpdated":"{long}"}}}}"#);
        assert!(refused_at(&json, "Patient.meta.lastUpdated").len() < 300);
        let json = format!(r#"{{"resourceType":"{long}","id":"p"}}"#);
        assert!(refused_at(&json, "the record").len() < 300);
        // Over the size limit, and nesting beyond the reader's bound.
        let big = format!(
            r#"{{"resourceType":"Patient","id":"p","gender":"{}"}}"#,
            "x".repeat(MAX_RECORD_BYTES)
        );
        assert_eq!(problem(&big).code(), ErrorCode::TooLarge);
        let deep = format!(
            r#"{{"resourceType":"Patient","id":"p","x":{}1{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert_eq!(problem(&deep).code(), ErrorCode::TooDeep);
        let nested = format!(
            r#"{{"resourceType":"Patient","id":"p","contact":{}{{"a":1}}{}}}"#,
            r#"[{"b":"#.repeat(30),
            "}]".repeat(30)
        );
        assert!(check_record(nested.as_bytes()).is_ok());
        assert_eq!(check_record(&[0xff]), Err(FhirError::NotUtf8(0)));
        assert_eq!(problem("[]").code(), ErrorCode::NotAnObject);
        assert_eq!(
            problem(r#"{"resourceType":"Patient","id":"p","id":"q"}"#).code(),
            ErrorCode::DuplicateKey
        );
    }

    #[test]
    fn references_take_the_r4_literal_forms() {
        for good in [
            "#",
            "#c1",
            "Patient/p",
            "Patient/p/_history/2",
            "urn:uuid:abc",
            "urn:oid:1.2.3",
            "https://x.org/fhir/Patient/1",
        ] {
            assert!(is_reference(good), "{good}");
        }
        for bad in [
            "",
            "Patient",
            "Patient/",
            "Foo/1",
            "Patient/1/2",
            "Patient/1/_history",
            "a b:c",
            "1http:x",
            "Patient/p p",
        ] {
            assert!(!is_reference(bad), "{bad}");
        }
    }
}
