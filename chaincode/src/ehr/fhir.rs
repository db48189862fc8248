//! The structure of FHIR R4 JSON that the contract relies on: a JSON
//! object with a `resourceType` and an `id`, and for a Bundle the same of
//! every entry's resource; valid UTF-8; bounded size.
//!
//! This is not a FHIR validator (profiles and terminologies are the
//! uploader's business); it guarantees what the exchange needs: a record
//! can be named, categorised and rendered.

use serde_json::Value;

/// The largest record accepted, in bytes.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Why a record is not acceptable FHIR JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirError {
    /// Larger than [`MAX_RECORD_BYTES`].
    #[error("the record is {0} bytes, larger than the limit of {MAX_RECORD_BYTES}")]
    TooLarge(usize),
    /// Not UTF-8.
    #[error("the record is not valid UTF-8 (invalid byte at {0})")]
    NotUtf8(usize),
    /// Not JSON.
    #[error("the record is not well-formed JSON: {0}")]
    Json(String),
    /// A resource is not a JSON object.
    #[error("{0} is not a JSON object")]
    NotAnObject(String),
    /// A resource lacks `resourceType` or has a malformed one.
    #[error("{0} has no valid resourceType (a string like \"Condition\")")]
    ResourceType(String),
    /// A resource lacks `id` or has a malformed one.
    #[error("{0} has no valid id (1 to 64 of A-Z a-z 0-9 - .)")]
    Id(String),
    /// A Bundle's `entry` is not a list of objects with a resource.
    #[error("{0}")]
    Entry(String),
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
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(FhirError::TooLarge(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| FhirError::NotUtf8(e.valid_up_to()))?;
    // serde_json's recursion limit bounds nesting, so hostile input cannot
    // exhaust the stack.
    let value: Value = serde_json::from_str(text).map_err(|e| FhirError::Json(e.to_string()))?;
    check_resource(&value, "the record")
}

fn check_resource(value: &Value, path: &str) -> Result<Resource, FhirError> {
    let object = value
        .as_object()
        .ok_or_else(|| FhirError::NotAnObject(path.to_owned()))?;
    let resource_type = object
        .get("resourceType")
        .and_then(Value::as_str)
        .filter(|t| is_resource_type(t))
        .ok_or_else(|| FhirError::ResourceType(path.to_owned()))?;
    let id = object
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| is_id(id))
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
            check_resource(resource, &format!("{path}'s entry {index}"))?;
        }
    }
    Ok(Resource {
        resource_type: resource_type.to_owned(),
        id: id.to_owned(),
    })
}

/// A FHIR resource type name: an upper-case letter, then letters, at most 64.
pub fn is_resource_type(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphabetic())
}

/// A FHIR id: 1 to 64 of `A-Z a-z 0-9 - .`.
pub fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
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
        assert!(matches!(check(b"{"), Err(FhirError::Json(_))));
        assert_eq!(
            check(b"[]"),
            Err(FhirError::NotAnObject("the record".into()))
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
            check(br#"{"resourceType":"Bundle","id":"b","entry":[{"resource":{"id":"x"}}]}"#),
            Err(FhirError::ResourceType("the record's entry 0".into()))
        );
        let big = vec![b' '; MAX_RECORD_BYTES + 1];
        assert_eq!(check(&big), Err(FhirError::TooLarge(MAX_RECORD_BYTES + 1)));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(matches!(check(deep.as_bytes()), Err(FhirError::Json(_))));
    }
}
