//! The records the contract takes: FHIR R4 JSON, checked by the one rule
//! in `ehrx_interface::fhir` (shared with the SDK, which applies it before
//! it submits): valid UTF-8, bounded size, read by the strict reader (no
//! key twice at any depth, bounded nesting, exact decimals), an R4
//! `resourceType`, a FHIR `id`, a resource in every Bundle entry, and the
//! structural rules listed there (well-known primitives, references,
//! extensions with a url, no empty or null values, no control characters).
//!
//! This is not a profile validator (cardinalities, terminologies and
//! profiles are the uploader's business); it guarantees what the exchange
//! needs: a record is R4-shaped, can be named, categorised and rendered.

pub use ehrx_interface::fhir::{FhirError, Resource};

/// Checks `bytes` and returns the top-level resource's type and id.
pub fn check(bytes: &[u8]) -> Result<Resource, FhirError> {
    ehrx_interface::fhir::check_record(bytes)
}

#[cfg(test)]
mod tests {
    use ehrx_interface::{ErrorCode, limits::MAX_RECORD_BYTES};

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
        assert!(matches!(
            check(br#"{"id":"x"}"#),
            Err(FhirError::ResourceType { .. })
        ));
        assert!(matches!(
            check(br#"{"resourceType":"Observable","id":"x"}"#),
            Err(FhirError::ResourceType { .. })
        ));
        assert!(matches!(
            check(br#"{"resourceType":"Patient"}"#),
            Err(FhirError::Id { .. })
        ));
        assert!(matches!(
            check(br#"{"resourceType":"Patient","id":"a b"}"#),
            Err(FhirError::Id { .. })
        ));
        assert!(matches!(
            check(br#"{"resourceType":"Bundle","id":"b","type":"batch","entry":[{}]}"#),
            Err(FhirError::Shape { .. })
        ));
        assert_eq!(
            check(
                br#"{"resourceType":"Bundle","id":"b","type":"batch","entry":[{"resource":[]}]}"#
            )
            .unwrap_err()
            .code(),
            ErrorCode::NotAnObject
        );
        assert!(matches!(
            check(br#"{"resourceType":"Bundle","id":"b","type":"batch","entry":[{"resource":{"id":"x"}}]}"#),
            Err(FhirError::ResourceType { .. })
        ));
        let big = vec![b' '; MAX_RECORD_BYTES + 1];
        assert_eq!(check(&big).unwrap_err().code(), ErrorCode::TooLarge);
    }

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        let top = br#"{"resourceType":"Observation","id":"obs-other","id":"obs-dup"}"#;
        assert_eq!(check(top).unwrap_err().code(), ErrorCode::DuplicateKey);
        let inner = br#"{"resourceType":"Bundle","id":"b","type":"batch","entry":[{"resource":
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
