//! Patient consent: the FHIR R4 `Consent` resources the contract reads,
//! the terms it keeps of them, and the one rule deciding whether a consent
//! permits a disclosure. Compiled into the chaincode and the SDK, so a
//! client checks a consent with the same code before it spends a
//! transaction.
//!
//! A consent is read with the strict JSON reader (an object at the top,
//! no repeated key, bounded depth, at most [`MAX_CONSENT_BYTES`]) and then
//! for these elements only (FHIR's others, extensions included, are
//! allowed and ignored):
//!
//! - `resourceType` `Consent`, `id` a FHIR id (the consent id);
//! - `status`: `active`, `inactive` or `rejected` (only `active` permits);
//! - `patient.identifier` with system [`PATIENT_SYSTEM`] and the patient
//!   ref (64 hex) as value;
//! - `provision.type` `permit` (absent means permit);
//! - `provision.period.start` and `.end`, both required: an RFC 3339
//!   date-time with its offset, or a date (`start` from its first
//!   millisecond, `end` through its last);
//! - `provision.actor[].reference.identifier`: who may receive, one of
//!   [`NETWORK_SYSTEM`] (value: a network id), [`ORGANIZATION_SYSTEM`]
//!   (`<network id>/<MSP id>`) or [`REQUESTER_SYSTEM`]
//!   (`<network id>/<requester code>`); at least one;
//! - `provision.purpose[]`: codings of [`PURPOSE_SYSTEM`] whose code is a
//!   request purpose (`PURPOSE_TREATMENT`, `PURPOSE_EMERGENCY`,
//!   `PURPOSE_REFERRAL`); at least one;
//! - `provision.class[]`: codings of [`CLASS_SYSTEM`] whose code is a
//!   category (a FHIR resource type); absent means every category.
//!
//! A consent permits a request when it is active, the transaction time is
//! inside its period, one actor names the requester (its network, its
//! organisation on that network or its code), the request's purpose is
//! listed, and every category the request names is listed (a request for
//! every category needs a consent without `class`). A consent for other
//! categories therefore refuses rather than filters: what is disclosed is
//! always exactly what the requester asked for.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Date, OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    InterfaceError, Key32,
    json::parse_record,
    limits::MAX_CONSENT_BYTES,
    rules::{is_category, is_fhir_id, is_msp_id, is_name},
};

/// The identifier system of a patient ref in `Consent.patient`.
pub const PATIENT_SYSTEM: &str = "urn:ehrx:patient-ref";
/// An actor that is a whole network (value: its network id).
pub const NETWORK_SYSTEM: &str = "urn:ehrx:network";
/// An actor that is one organisation of a network
/// (value: `<network id>/<MSP id>`).
pub const ORGANIZATION_SYSTEM: &str = "urn:ehrx:organization";
/// An actor that is one requester (value: `<network id>/<requester code>`).
pub const REQUESTER_SYSTEM: &str = "urn:ehrx:requester";
/// The coding system of purposes (codes: the request's purpose names).
pub const PURPOSE_SYSTEM: &str = "urn:ehrx:purpose";
/// The coding system of categories (codes: FHIR resource types).
pub const CLASS_SYSTEM: &str = "http://hl7.org/fhir/resource-types";
/// The purposes a consent may list: the request's purposes, by name.
pub const PURPOSES: &[&str] = &["PURPOSE_TREATMENT", "PURPOSE_EMERGENCY", "PURPOSE_REFERRAL"];
/// The purpose that may break the glass (see `NetworkConfig::break_glass`).
pub const EMERGENCY_PURPOSE: &str = "PURPOSE_EMERGENCY";

/// A consent's status, as FHIR R4 spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsentStatus {
    /// In force.
    Active,
    /// No longer in force: revoked (`RevokeConsent`) or stored so.
    Inactive,
    /// Refused by the patient.
    Rejected,
}

/// Who may receive the records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Recipient {
    /// Any requester of this network.
    Network(String),
    /// Any requester of this organisation of this network.
    Organization {
        /// The network.
        network: String,
        /// The organisation's MSP id.
        msp_id: String,
    },
    /// This requester of this network.
    Requester {
        /// The network.
        network: String,
        /// The requester's code.
        requester_code: String,
    },
}

impl Recipient {
    /// Whether this recipient names `asker`.
    fn names(&self, asker: &Asker<'_>) -> bool {
        match self {
            Self::Network(network) => network == asker.network,
            Self::Organization { network, msp_id } => {
                network == asker.network && msp_id == asker.msp_id
            }
            Self::Requester {
                network,
                requester_code,
            } => network == asker.network && requester_code == asker.requester_code,
        }
    }
}

/// What the contract keeps of a consent: its terms, read from the FHIR
/// resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentTerms {
    /// The resource's id.
    pub consent_id: String,
    /// Its status.
    pub status: ConsentStatus,
    /// The patient it is about.
    pub patient_ref: Key32,
    /// In force from, Unix milliseconds (inclusive).
    pub start_ms: i64,
    /// In force until, Unix milliseconds (exclusive).
    pub end_ms: i64,
    /// Who may receive.
    pub recipients: Vec<Recipient>,
    /// For which purposes.
    pub purposes: Vec<String>,
    /// Which categories; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
}

/// A stored consent, as `ListConsents` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentEntry {
    /// The terms.
    pub terms: ConsentTerms,
    /// When it was stored (or last replaced).
    pub stored_at_ms: i64,
    /// Who stored it: MSP.
    pub stored_by_msp_id: String,
    /// Who stored it: client id.
    pub stored_by: String,
    /// When `RevokeConsent` revoked it, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at_ms: Option<i64>,
}

/// `PutConsent`'s and `RevokeConsent`'s result. A submitted result is part
/// of the block, so it names neither the patient nor the consent: the
/// caller, who sent them, checks the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentReceipt {
    /// SHA-256 of the transient entry the contract read (the resource, or
    /// the revocation), as sent.
    pub sha256: Key32,
    /// When it was stored or revoked: the transaction's time.
    pub at_ms: i64,
}

/// `RevokeConsent`'s argument (in the transient map, as the consent is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRevocation {
    /// The patient.
    pub patient_ref: Key32,
    /// The consent to revoke.
    pub consent_id: String,
}

/// Who asks, for what: the request a consent must permit.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    /// The requesting network.
    pub network: &'a str,
    /// The requester's MSP id.
    pub msp_id: &'a str,
    /// The requester's code.
    pub requester_code: &'a str,
    /// The request's purpose name.
    pub purpose: &'a str,
    /// The requested categories; empty means all.
    pub categories: &'a [String],
}

/// Why a consent does not permit a request (the first reason found).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// Not active.
    #[error("consent {0} is not active")]
    NotActive(String),
    /// Not yet in force.
    #[error("consent {0} is not in force yet")]
    NotYet(String),
    /// No longer in force.
    #[error("consent {0} has expired")]
    Expired(String),
    /// Names another recipient.
    #[error("consent {0} does not name this requester, organisation or network")]
    Recipient(String),
    /// For other purposes.
    #[error("consent {0} does not cover this purpose")]
    Purpose(String),
    /// For other categories.
    #[error("consent {0} does not cover every requested category")]
    Category(String),
}

impl ConsentTerms {
    /// Reads a FHIR R4 `Consent` resource.
    pub fn from_fhir(bytes: &[u8]) -> Result<Self, ConsentError> {
        if bytes.len() > MAX_CONSENT_BYTES {
            return Err(ConsentError::Json(InterfaceError::TooLarge {
                what: "the consent",
                size: bytes.len(),
                limit: MAX_CONSENT_BYTES,
            }));
        }
        let object = parse_record(bytes).map_err(ConsentError::Json)?;
        let resource: FhirConsent = serde_json::from_value(Value::Object(object))
            .map_err(|e| ConsentError::Shape(crate::code::truncate(&e.to_string(), 200)))?;
        resource.terms()
    }

    /// These terms as a FHIR R4 `Consent` resource ([`Self::from_fhir`]
    /// reads it back to the same terms).
    pub fn to_fhir(&self) -> Value {
        let coding = |system: &str, code: &str| json!({"system": system, "code": code});
        let actor = |system: &str, value: String| {
            json!({
                "role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                "reference": {"identifier": {"system": system, "value": value}}
            })
        };
        let actors: Vec<Value> = self
            .recipients
            .iter()
            .map(|recipient| match recipient {
                Recipient::Network(network) => actor(NETWORK_SYSTEM, network.clone()),
                Recipient::Organization { network, msp_id } => {
                    actor(ORGANIZATION_SYSTEM, format!("{network}/{msp_id}"))
                }
                Recipient::Requester {
                    network,
                    requester_code,
                } => actor(REQUESTER_SYSTEM, format!("{network}/{requester_code}")),
            })
            .collect();
        let mut provision = json!({
            "type": "permit",
            "period": {"start": rfc3339(self.start_ms), "end": rfc3339(self.end_ms)},
            "actor": actors,
            "purpose": self.purposes.iter().map(|p| coding(PURPOSE_SYSTEM, p)).collect::<Vec<_>>(),
        });
        if !self.categories.is_empty() {
            provision["class"] = self
                .categories
                .iter()
                .map(|c| coding(CLASS_SYSTEM, c))
                .collect();
        }
        json!({
            "resourceType": "Consent",
            "id": self.consent_id,
            "status": match self.status {
                ConsentStatus::Active => "active",
                ConsentStatus::Inactive => "inactive",
                ConsentStatus::Rejected => "rejected",
            },
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"identifier": {"system": PATIENT_SYSTEM, "value": self.patient_ref.to_hex()}},
            "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]},
            "provision": provision,
        })
    }

    /// Whether this consent permits `asker`'s request at `at_ms`.
    pub fn permits(&self, at_ms: i64, asker: &Asker<'_>) -> Result<(), Mismatch> {
        let id = || self.consent_id.clone();
        if self.status != ConsentStatus::Active {
            return Err(Mismatch::NotActive(id()));
        }
        if at_ms < self.start_ms {
            return Err(Mismatch::NotYet(id()));
        }
        if at_ms >= self.end_ms {
            return Err(Mismatch::Expired(id()));
        }
        if !self.recipients.iter().any(|r| r.names(asker)) {
            return Err(Mismatch::Recipient(id()));
        }
        if !self.purposes.iter().any(|p| p == asker.purpose) {
            return Err(Mismatch::Purpose(id()));
        }
        let covered = self.categories.is_empty()
            || (!asker.categories.is_empty()
                && asker.categories.iter().all(|c| self.categories.contains(c)));
        if !covered {
            return Err(Mismatch::Category(id()));
        }
        Ok(())
    }
}

/// Why a consent resource is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    /// Not acceptable JSON (size, nesting, duplicate key, not an object).
    #[error(transparent)]
    Json(InterfaceError),
    /// Not the shape of a FHIR `Consent`.
    #[error("the consent is not a FHIR R4 Consent: {0}")]
    Shape(String),
    /// An element has a value the contract does not take.
    #[error("the consent's {element}: {reason}")]
    Invalid {
        /// The FHIR path.
        element: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl ConsentError {
    fn invalid(element: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            element,
            reason: reason.into(),
        }
    }

    /// The code a caller acts on.
    pub fn code(&self) -> crate::ErrorCode {
        match self {
            Self::Json(error) => error.code(),
            Self::Shape(_) | Self::Invalid { .. } => crate::ErrorCode::BadArgument,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FhirConsent {
    resource_type: String,
    id: Option<String>,
    status: String,
    patient: Option<Reference>,
    provision: Option<Provision>,
}

#[derive(Deserialize)]
struct Reference {
    identifier: Option<Identifier>,
}

#[derive(Deserialize)]
struct Identifier {
    system: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct Provision {
    #[serde(rename = "type")]
    kind: Option<String>,
    period: Option<Period>,
    #[serde(default)]
    actor: Vec<Actor>,
    #[serde(default)]
    purpose: Vec<Coding>,
    #[serde(default)]
    class: Vec<Coding>,
    #[serde(default)]
    provision: Vec<Value>,
}

#[derive(Deserialize)]
struct Period {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
struct Actor {
    reference: Reference,
}

#[derive(Deserialize)]
struct Coding {
    system: Option<String>,
    code: Option<String>,
}

impl FhirConsent {
    fn terms(self) -> Result<ConsentTerms, ConsentError> {
        if self.resource_type != "Consent" {
            return Err(ConsentError::invalid(
                "resourceType",
                format!("{} is not Consent", crate::quote(&self.resource_type)),
            ));
        }
        let consent_id = self.id.filter(|id| is_fhir_id(id)).ok_or_else(|| {
            ConsentError::invalid("id", "a FHIR id is required (1 to 64 of A-Z a-z 0-9 - .)")
        })?;
        let status = match self.status.as_str() {
            "active" => ConsentStatus::Active,
            "inactive" => ConsentStatus::Inactive,
            "rejected" => ConsentStatus::Rejected,
            other => {
                return Err(ConsentError::invalid(
                    "status",
                    format!(
                        "{} is not active, inactive or rejected",
                        crate::quote(other)
                    ),
                ));
            }
        };
        let patient = self
            .patient
            .and_then(|p| p.identifier)
            .filter(|i| i.system.as_deref() == Some(PATIENT_SYSTEM))
            .and_then(|i| i.value)
            .ok_or_else(|| {
                ConsentError::invalid(
                    "patient",
                    format!("an identifier of system {PATIENT_SYSTEM} is required"),
                )
            })?;
        let patient_ref = Key32::parse(&patient)
            .map_err(|e| ConsentError::invalid("patient.identifier.value", e.to_string()))?;
        let provision = self
            .provision
            .ok_or_else(|| ConsentError::invalid("provision", "required"))?;
        if provision.kind.as_deref().is_some_and(|k| k != "permit") {
            return Err(ConsentError::invalid(
                "provision.type",
                "only permit is supported",
            ));
        }
        if !provision.provision.is_empty() {
            return Err(ConsentError::invalid(
                "provision.provision",
                "nested provisions are not supported",
            ));
        }
        let period = provision
            .period
            .ok_or_else(|| ConsentError::invalid("provision.period", "required"))?;
        let start_ms = instant("provision.period.start", period.start.as_deref(), false)?;
        let end_ms = instant("provision.period.end", period.end.as_deref(), true)?;
        if end_ms <= start_ms {
            return Err(ConsentError::invalid(
                "provision.period",
                "end is not after start",
            ));
        }
        if provision.actor.is_empty() || provision.actor.len() > MAX_CONSENT_LIST {
            return Err(ConsentError::invalid(
                "provision.actor",
                format!("1 to {MAX_CONSENT_LIST} actors are required"),
            ));
        }
        let recipients = provision
            .actor
            .into_iter()
            .map(|a| recipient(a.reference))
            .collect::<Result<Vec<_>, _>>()?;
        let purposes = codes(
            "provision.purpose",
            provision.purpose,
            PURPOSE_SYSTEM,
            |c| PURPOSES.contains(&c),
        )?;
        if purposes.is_empty() {
            return Err(ConsentError::invalid(
                "provision.purpose",
                "at least one purpose is required",
            ));
        }
        let categories = codes(
            "provision.class",
            provision.class,
            CLASS_SYSTEM,
            is_category,
        )?;
        Ok(ConsentTerms {
            consent_id,
            status,
            patient_ref,
            start_ms,
            end_ms,
            recipients,
            purposes,
            categories,
        })
    }
}

/// The most actors, purposes or classes one consent lists.
pub const MAX_CONSENT_LIST: usize = crate::limits::MAX_CATEGORIES;

fn recipient(reference: Reference) -> Result<Recipient, ConsentError> {
    const ELEMENT: &str = "provision.actor.reference.identifier";
    let identifier = reference
        .identifier
        .ok_or_else(|| ConsentError::invalid(ELEMENT, "required"))?;
    let value = identifier.value.unwrap_or_default();
    let pair = |check: fn(&str) -> bool| -> Result<(String, String), ConsentError> {
        value
            .split_once('/')
            .filter(|(network, second)| is_name(network) && check(second))
            .map(|(network, second)| (network.to_owned(), second.to_owned()))
            .ok_or_else(|| {
                ConsentError::invalid(
                    ELEMENT,
                    format!("{} is not <network id>/<id>", crate::quote(&value)),
                )
            })
    };
    match identifier.system.as_deref() {
        Some(NETWORK_SYSTEM) if is_name(&value) => Ok(Recipient::Network(value)),
        Some(NETWORK_SYSTEM) => Err(ConsentError::invalid(
            ELEMENT,
            format!("{} is not a network id", crate::quote(&value)),
        )),
        Some(ORGANIZATION_SYSTEM) => {
            let (network, msp_id) = pair(is_msp_id)?;
            Ok(Recipient::Organization { network, msp_id })
        }
        Some(REQUESTER_SYSTEM) => {
            let (network, requester_code) = pair(is_name)?;
            Ok(Recipient::Requester {
                network,
                requester_code,
            })
        }
        _ => Err(ConsentError::invalid(
            ELEMENT,
            format!(
                "the system must be {NETWORK_SYSTEM}, {ORGANIZATION_SYSTEM} or {REQUESTER_SYSTEM}"
            ),
        )),
    }
}

fn codes(
    element: &'static str,
    codings: Vec<Coding>,
    system: &str,
    valid: fn(&str) -> bool,
) -> Result<Vec<String>, ConsentError> {
    if codings.len() > MAX_CONSENT_LIST {
        return Err(ConsentError::invalid(
            element,
            format!("at most {MAX_CONSENT_LIST} codings"),
        ));
    }
    let mut codes: Vec<String> = Vec::with_capacity(codings.len());
    for coding in codings {
        let code = coding.code.unwrap_or_default();
        if coding.system.as_deref() != Some(system) || !valid(&code) {
            return Err(ConsentError::invalid(
                element,
                format!(
                    "{} is not a code of {system} this contract knows",
                    crate::quote(&code)
                ),
            ));
        }
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// Unix milliseconds as an RFC 3339 date-time in UTC (milliseconds kept).
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// A FHIR date or date-time of `element` as Unix milliseconds; as a
/// period's `end`, a date means through its last millisecond (the next
/// day's first, exclusive).
pub fn instant(element: &'static str, text: Option<&str>, end: bool) -> Result<i64, ConsentError> {
    let text = text.ok_or_else(|| ConsentError::invalid(element, "required"))?;
    let bad = || {
        ConsentError::invalid(
            element,
            format!(
                "{} is not an RFC 3339 date-time with an offset or a YYYY-MM-DD date",
                crate::quote(text)
            ),
        )
    };
    let at = match OffsetDateTime::parse(text, &Rfc3339) {
        Ok(at) => at,
        Err(_) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            let date = Date::parse(text, &format).map_err(|_| bad())?;
            let date = if end {
                date.next_day().ok_or_else(bad)?
            } else {
                date
            };
            date.midnight().assume_utc()
        }
    };
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    const PATIENT: &str = "0707070707070707070707070707070707070707070707070707070707070707";

    fn consent() -> Value {
        json!({
            "resourceType": "Consent",
            "id": "c-1",
            "status": "active",
            "scope": {"coding": [{"code": "patient-privacy"}]},
            "extension": [{"url": "urn:x", "valueString": "kept"}],
            "patient": {"identifier": {"system": PATIENT_SYSTEM, "value": PATIENT}},
            "provision": {
                "type": "permit",
                "period": {"start": "2026-01-01", "end": "2026-12-31T12:00:00Z"},
                "actor": [
                    {"reference": {"identifier": {"system": NETWORK_SYSTEM, "value": "net1"}}},
                    {"reference": {"identifier": {"system": ORGANIZATION_SYSTEM, "value": "net3/Org1MSP"}}},
                    {"reference": {"identifier": {"system": REQUESTER_SYSTEM, "value": "net4/dr-a"}}}
                ],
                "purpose": [{"system": PURPOSE_SYSTEM, "code": "PURPOSE_TREATMENT"}],
                "class": [
                    {"system": CLASS_SYSTEM, "code": "Condition"},
                    {"system": CLASS_SYSTEM, "code": "Observation"}
                ]
            }
        })
    }

    fn read(value: &Value) -> Result<ConsentTerms, ConsentError> {
        ConsentTerms::from_fhir(value.to_string().as_bytes())
    }

    fn ms(text: &str) -> i64 {
        instant("t", Some(text), false).unwrap()
    }

    fn asker<'a>(network: &'a str, categories: &'a [String]) -> Asker<'a> {
        Asker {
            network,
            msp_id: "Org1MSP",
            requester_code: "dr-a",
            purpose: "PURPOSE_TREATMENT",
            categories,
        }
    }

    #[test]
    fn a_consent_is_read_into_its_terms() {
        let terms = read(&consent()).unwrap();
        assert_eq!(terms.consent_id, "c-1");
        assert_eq!(terms.status, ConsentStatus::Active);
        assert_eq!(terms.patient_ref.to_hex(), PATIENT);
        assert_eq!(terms.start_ms, ms("2026-01-01T00:00:00Z"));
        assert_eq!(terms.end_ms, ms("2026-12-31T12:00:00Z"));
        assert_eq!(terms.recipients.len(), 3);
        assert_eq!(terms.categories, ["Condition", "Observation"]);
        let text = serde_json::to_string(&terms).unwrap();
        assert_eq!(serde_json::from_str::<ConsentTerms>(&text).unwrap(), terms);
        assert_eq!(read(&terms.to_fhir()).unwrap(), terms);
        let mut no_class = terms.clone();
        no_class.categories.clear();
        no_class.start_ms += 1;
        assert_eq!(read(&no_class.to_fhir()).unwrap(), no_class);
        let mut date_end = consent();
        date_end["provision"]["period"]["end"] = json!("2026-12-31");
        assert_eq!(read(&date_end).unwrap().end_ms, ms("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn permits_only_inside_its_period_recipients_purposes_and_categories() {
        let terms = read(&consent()).unwrap();
        let wanted = vec!["Condition".to_owned()];
        let at = ms("2026-06-01T00:00:00Z");
        assert_eq!(terms.permits(at, &asker("net1", &wanted)), Ok(()));
        assert_eq!(terms.permits(at, &asker("net3", &wanted)), Ok(()));
        assert_eq!(terms.permits(at, &asker("net4", &wanted)), Ok(()));
        let mut other_org = asker("net3", &wanted);
        other_org.msp_id = "Org2MSP";
        assert!(matches!(
            terms.permits(at, &other_org),
            Err(Mismatch::Recipient(_))
        ));
        let mut other_code = asker("net4", &wanted);
        other_code.requester_code = "dr-b";
        assert!(matches!(
            terms.permits(at, &other_code),
            Err(Mismatch::Recipient(_))
        ));
        assert!(matches!(
            terms.permits(at, &asker("net2", &wanted)),
            Err(Mismatch::Recipient(_))
        ));
        assert!(matches!(
            terms.permits(terms.start_ms - 1, &asker("net1", &wanted)),
            Err(Mismatch::NotYet(_))
        ));
        assert_eq!(
            terms.permits(terms.start_ms, &asker("net1", &wanted)),
            Ok(())
        );
        assert!(matches!(
            terms.permits(terms.end_ms, &asker("net1", &wanted)),
            Err(Mismatch::Expired(_))
        ));
        let mut emergency = asker("net1", &wanted);
        emergency.purpose = EMERGENCY_PURPOSE;
        assert!(matches!(
            terms.permits(at, &emergency),
            Err(Mismatch::Purpose(_))
        ));
        let other = vec!["Condition".to_owned(), "Patient".to_owned()];
        assert!(matches!(
            terms.permits(at, &asker("net1", &other)),
            Err(Mismatch::Category(_))
        ));
        assert!(matches!(
            terms.permits(at, &asker("net1", &[])),
            Err(Mismatch::Category(_))
        ));
        let mut all = terms.clone();
        all.categories.clear();
        assert_eq!(all.permits(at, &asker("net1", &[])), Ok(()));
        let mut inactive = terms;
        inactive.status = ConsentStatus::Inactive;
        assert!(matches!(
            inactive.permits(at, &asker("net1", &wanted)),
            Err(Mismatch::NotActive(_))
        ));
    }

    #[test]
    fn hostile_or_foreign_consents_are_refused_with_a_code() {
        let code = |bytes: &[u8]| ConsentTerms::from_fhir(bytes).unwrap_err().code();
        assert_eq!(code(b"[1,2]"), ErrorCode::NotAnObject);
        assert_eq!(
            code(br#"{"resourceType":"Consent","resourceType":"Consent"}"#),
            ErrorCode::DuplicateKey
        );
        let huge = format!(
            r#"{{"resourceType":"Consent","id":"{}"}}"#,
            "x".repeat(1 << 20)
        );
        assert_eq!(code(huge.as_bytes()), ErrorCode::TooLarge);
        let deep = format!(
            "{}{}",
            "{\"a\":".repeat(100),
            "1".to_owned() + &"}".repeat(100)
        );
        assert_eq!(code(deep.as_bytes()), ErrorCode::TooDeep);
        assert_eq!(
            code(b"{\"resourceType\":\"Consent\0\"}"),
            ErrorCode::BadArgument
        );
        let changes: Vec<(&str, Value)> = vec![
            ("/resourceType", json!("Patient")),
            ("/id", json!("bad id!")),
            ("/status", json!("draft")),
            ("/status", json!(["active"])),
            ("/patient/identifier/system", json!("urn:other")),
            ("/patient/identifier/value", json!("ABC")),
            ("/provision/type", json!("deny")),
            ("/provision/period/end", json!("2025-01-01")),
            ("/provision/period/start", json!("yesterday")),
            ("/provision/period/end", Value::Null),
            ("/provision/actor", json!([])),
            (
                "/provision/actor/0/reference/identifier/system",
                json!("urn:x"),
            ),
            (
                "/provision/actor/1/reference/identifier/value",
                json!("net3"),
            ),
            ("/provision/purpose", json!([])),
            ("/provision/purpose/0/code", json!("MARKETING")),
            ("/provision/class/0/system", json!("urn:x")),
            ("/provision/provision", json!([{"type": "deny"}])),
        ];
        for (pointer, value) in changes {
            let mut bad = consent();
            match bad.pointer_mut(pointer) {
                Some(slot) => *slot = value,
                None => {
                    let (parent, key) = pointer.rsplit_once('/').unwrap();
                    bad.pointer_mut(parent).unwrap()[key] = value;
                }
            }
            let error = read(&bad).unwrap_err();
            assert_eq!(error.code(), ErrorCode::BadArgument, "{pointer}: {error}");
        }
    }
}
