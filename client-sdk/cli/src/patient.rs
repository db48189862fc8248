//! Who a command is about: the identifiers typed at the hospital, keyed
//! into a `patient_ref` with the consortium's matching key, or a ref given
//! as is. The identifiers go no further than this function.

use anyhow::{Context as _, anyhow};

use ehrx_client::ehr::{MatchingKey, PatientIdentifiers, PatientRef};

use crate::args::PatientArgs;

/// The patient_ref the arguments name.
pub fn patient_ref(args: &PatientArgs) -> anyhow::Result<PatientRef> {
    if let Some(hex) = &args.patient_ref {
        return PatientRef::from_hex(hex).context("--patient-ref");
    }
    // clap makes the four come together; this is for a caller that did not.
    let (Some(name), Some(dob), Some(ssn), Some(key_file)) =
        (&args.patient_name, &args.dob, &args.ssn, &args.matching_key)
    else {
        return Err(anyhow!(
            "name the patient with --patient-name, --dob, --ssn and --matching-key, or --patient-ref"
        ));
    };
    let key = MatchingKey::from_file(key_file).context("--matching-key")?;
    PatientIdentifiers::new(name.as_str(), dob.as_str(), ssn.as_str())
        .patient_ref(&key)
        .context("the patient's identifiers")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{file, temp_file};

    fn args() -> PatientArgs {
        PatientArgs {
            patient_name: None,
            dob: None,
            ssn: None,
            matching_key: None,
            patient_ref: None,
        }
    }

    #[test]
    fn identifiers_and_their_ref_name_the_same_patient() {
        let (_dir, key_file) = temp_file("matching.key", format!("{}\n", "2a".repeat(32)));
        let by_identifiers = patient_ref(&PatientArgs {
            patient_name: Some("Ada Lovelace".into()),
            dob: Some("1815-12-10".into()),
            ssn: Some("900-12-3456".into()),
            matching_key: Some(key_file),
            ..args()
        })
        .unwrap();
        let expected = PatientIdentifiers::new("Ada Lovelace", "1815-12-10", "900-12-3456")
            .patient_ref(&MatchingKey::from_bytes([0x2a; 32]))
            .unwrap();
        assert_eq!(by_identifiers, expected);
        let by_ref = patient_ref(&PatientArgs {
            patient_ref: Some(expected.to_hex()),
            ..args()
        })
        .unwrap();
        assert_eq!(by_ref, expected);
    }

    #[test]
    fn bad_refs_keys_and_identifiers_say_which() {
        let bad_ref = patient_ref(&PatientArgs {
            patient_ref: Some("xyz".into()),
            ..args()
        })
        .unwrap_err();
        assert!(
            format!("{bad_ref:#}").starts_with("--patient-ref"),
            "{bad_ref:#}"
        );

        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.key");
        let identified = |key: std::path::PathBuf, dob: &str| PatientArgs {
            patient_name: Some("Ada".into()),
            dob: Some(dob.into()),
            ssn: Some("900123456".into()),
            matching_key: Some(key),
            ..args()
        };
        let no_key = patient_ref(&identified(missing.clone(), "1815-12-10")).unwrap_err();
        let text = format!("{no_key:#}");
        assert!(
            text.contains("--matching-key") && text.contains("missing.key"),
            "{text}"
        );

        let short = file(dir.path(), "short.key", "abcd");
        let text = format!(
            "{:#}",
            patient_ref(&identified(short.clone(), "1815-12-10")).unwrap_err()
        );
        assert!(text.contains("64 hex digits"), "{text}");

        let good = file(dir.path(), "good.key", "11".repeat(32));
        let text = format!(
            "{:#}",
            patient_ref(&identified(good, "10/12/1815")).unwrap_err()
        );
        assert!(text.contains("date of birth"), "{text}");

        assert!(patient_ref(&args()).is_err());
    }
}
