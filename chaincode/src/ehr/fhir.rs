//! The structure of FHIR R4 JSON that the contract relies on: a JSON
//! object with a `resourceType` and an `id`, and for a Bundle the same of
//! every entry's resource; valid UTF-8; bounded size; read with the
//! interface's strict reader, so no key appears twice at any depth (what
//! the hash covers is what every reader sees) and nesting is bounded.
//!
//! This is not a FHIR validator (profiles and terminologies are the
//! uploader's business); it guarantees what the exchange needs: a record
//! can be named, categorised and rendered.

use ehrx_interface::{
    ErrorCode, InterfaceError,
    limits::MAX_RECORD_BYTES,
    parse_record,
    rules::{FHIR_ID_RULE, is_category, is_fhir_id},
};
use serde_json::{Map, Value};

/// Why a record is not acceptable FHIR JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    /// Not UTF-8.
    #[error("the record is not valid UTF-8 (invalid byte at {0})")]
    NotUtf8(usize),
    /// Too large, not JSON, not an object, a repeated key, too deep.
    #[error(transparent)]
    Json(#[from] InterfaceError),
    /// A Bundle entry's resource is not a JSON object.
    #[error("{0} is not a JSON object")]
    NotAnObject(String),
    /// A resource lacks `resourceType` or has a malformed one.
    #[error("{0} has no valid resourceType (a string like \"Condition\")")]
    ResourceType(String),
    /// A resource lacks `id` or has a malformed one.
    #[error("{0} has no valid id ({FHIR_ID_RULE})")]
    Id(String),
    /// A Bundle's `entry` is not a list of objects with a resource.
    #[error("{0}")]
    Entry(String),
}

impl FhirError {
    /// The code a client acts on.
    pub fn code(&self) -> ErrorCode {
        match self {
            FhirError::Json(error) => error.code(),
            FhirError::NotAnObject(_) => ErrorCode::NotAnObject,
            _ => ErrorCode::BadArgument,
        }
    }
}

/// What the contract learns from a well-formed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The top-level `resourceType`.
    pub resource_type: String,
    /// The top-level `id`.
    pub id: String,
}

/// Checks `bytes` and returns the top-level resource's type and id.
pub fn check(bytes: &[u8]) -> Result<Resource, FhirError> {
    if bytes.len() <= MAX_RECORD_BYTES {
        std::str::from_utf8(bytes).map_err(|e| FhirError::NotUtf8(e.valid_up_to()))?;
    }
    let object = parse_record(bytes)?;
    check_resource(&object, "the record")
}

fn check_resource(object: &Map<String, Value>, path: &str) -> Result<Resource, FhirError> {
    let resource_type = object
        .get("resourceType")
        .and_then(Value::as_str)
        .filter(|t| is_category(t))
        .ok_or_else(|| FhirError::ResourceType(path.to_owned()))?;
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| is_fhir_id(id))
        .ok_or_else(|| FhirError::Id(path.to_owned()))?;
    if resource_type == "Bundle"
        && let Some(entries) = object.get("entry")
    {
        let entries = entries
            .as_array()
            .ok_or_else(|| FhirError::Entry(format!("{path}'s entry is not a list")))?;
        for (index, entry) in entries.iter().enumerate() {
            let resource = entry.get("resource").ok_or_else(|| {
                FhirError::Entry(format!("{path}'s entry {index} has no resource"))
            })?;
            let path = format!("{path}'s entry {index}");
            let resource = resource
                .as_object()
                .ok_or_else(|| FhirError::NotAnObject(path.clone()))?;
            check_resource(resource, &path)?;
        }
    }
    Ok(Resource {
        resource_type: resource_type.to_owned(),
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_and_a_bundle_pass() {
        assert_eq!(
            check(br#"{"resourceType":"Condition","id":"c-1"}"#).unwrap(),
            Resource {
                resource_type: "Condition".into(),
                id: "c-1".into()
            }
        );
        let bundle = br#"{"resourceType":"Bundle","id":"b1","type":"collection",
            "entry":[{"resource":{"resourceType":"Observation","id":"o1"}}]}"#;
        assert_eq!(check(bundle).unwrap().resource_type, "Bundle");
    }

    #[test]
    fn each_defect_is_named() {
        assert_eq!(check(&[0xff]), Err(FhirError::NotUtf8(0)));
        assert_eq!(check(b"{").unwrap_err().code(), ErrorCode::BadArgument);
        assert_eq!(check(b"[]").unwrap_err().code(), ErrorCode::NotAnObject);
        assert_eq!(
            check(br#"["obs-arr","ref","Observation"]"#)
                .unwrap_err()
                .code(),
            ErrorCode::NotAnObject
        );
        assert_eq!(
            check(br#"{"id":"x"}"#),
            Err(FhirError::ResourceType("the record".into()))
        );
        assert_eq!(
            check(br#"{"resourceType":"Patient"}"#),
            Err(FhirError::Id("the record".into()))
        );
        assert_eq!(
            check(br#"{"resourceType":"Patient","id":"a b"}"#),
            Err(FhirError::Id("the record".into()))
        );
        assert!(matches!(
            check(br#"{"resourceType":"Bundle","id":"b","entry":[{}]}"#),
            Err(FhirError::Entry(_))
        ));
        assert_eq!(
            check(br#"{"resourceType":"Bundle","id":"b","entry":[{"resource":[]}]}"#),
            Err(FhirError::NotAnObject("the record's entry 0".into()))
        );
        assert_eq!(
            check(br#"{"resourceType":"Bundle","id":"b","entry":[{"resource":{"id":"x"}}]}"#),
            Err(FhirError::ResourceType("the record's entry 0".into()))
        );
        let big = vec![b' '; MAX_RECORD_BYTES + 1];
        assert_eq!(check(&big).unwrap_err().code(), ErrorCode::TooLarge);
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let top = br#"{"resourceType":"Observation","id":"obs-other","id":"obs-dup"}"#;
        assert_eq!(check(top).unwrap_err().code(), ErrorCode::DuplicateKey);
        let inner = br#"{"resourceType":"Bundle","id":"b","entry":[{"resource":
            {"resourceType":"Observation","id":"o1","code":{"text":"a","text":"b"}}}]}"#;
        assert_eq!(check(inner).unwrap_err().code(), ErrorCode::DuplicateKey);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert_eq!(
            check(deep.as_bytes()).unwrap_err().code(),
            ErrorCode::TooDeep
        );
    }
}
