//! `ehrx ehr …`: uploading records as a registered uploader. Files are all
//! read and checked before the first upload, so a bad file among many
//! fails before anything is written; then each file is one upload, one
//! transaction, all or nothing. On a refusal the report says exactly what
//! is stored: the files before it, whole, and nothing of the refused one.
//!
//! A transaction or batch Bundle's entries without an id take one from
//! their `urn:uuid:` fullUrl (or a PUT url), and references between
//! entries become `Type/id` (see `ehrx_client::ehr::records`); `--json`
//! lists each entry's `fullUrl` and the record id it became.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use ehrx_client::ehr::{
    MatchingKey,
    records::{Assigned, Prepared, Upload, prepare_file},
    synthetic,
};

use crate::{
    args::{EhrCommand, TargetArgs},
    output::{Output, json_name, table_of},
    patient, progress,
    target::Target,
};

/// One stored record, as reported.
#[derive(Debug, Serialize)]
struct Stored<'a> {
    file: &'a Path,
    record_id: String,
    category: String,
    sha256: String,
    /// `stored`, `shared` (already stored for another patient, now this
    /// one's too) or `present` (already this patient's).
    stored: String,
    transaction_id: String,
    block_number: u64,
}

/// What `ehr put --json` prints.
#[derive(Debug, Serialize)]
struct Report<'a> {
    patient_ref: String,
    records: Vec<Stored<'a>>,
    /// Each Bundle entry's `fullUrl` and the record id it became.
    assigned: Vec<&'a Assigned>,
}

/// One uploaded synthetic patient, as reported.
#[derive(Debug, Serialize)]
struct SyntheticUpload {
    patient_ref: String,
    name: String,
    date_of_birth: String,
    ssn: String,
    records: usize,
}

/// `ehrx ehr …`.
pub async fn run(target: &TargetArgs, out: &Output, command: EhrCommand) -> anyhow::Result<()> {
    match command {
        EhrCommand::Put { files, patient } => {
            let patient_ref = patient::patient_ref(&patient)?;
            let prepared = prepare_files(&files)?;
            let total: usize = prepared.iter().map(|p| p.records.len()).sum();
            let client = Target::load(target)?.client().await?;
            let bar = progress::bar(out, total as u64, "records");
            let mut uploads: Vec<(&Path, Upload)> = Vec::new();
            for (file, prepared) in files.iter().zip(prepared) {
                bar.set_message(file.display().to_string());
                let count = prepared.records.len();
                let upload = client
                    .upload(&patient_ref, prepared)
                    .await
                    .with_context(|| refused_upload(file, &uploads))?;
                bar.inc(count as u64);
                uploads.push((file, upload));
            }
            bar.finish_and_clear();
            let report = Report {
                patient_ref: patient_ref.to_hex(),
                records: uploads
                    .iter()
                    .flat_map(|(file, upload)| {
                        upload.records.iter().map(move |r| Stored {
                            file,
                            record_id: r.record_id.clone(),
                            category: r.category.clone(),
                            sha256: hex::encode(r.sha256),
                            stored: json_name(r.stored),
                            transaction_id: r.transaction_id.clone(),
                            block_number: r.block_number,
                        })
                    })
                    .collect(),
                assigned: uploads
                    .iter()
                    .flat_map(|(_, upload)| upload.assigned.iter())
                    .collect(),
            };
            out.emit(&report, || {
                format!(
                    "{} record(s) of patient {patient_ref} in {} upload(s):\n{}",
                    report.records.len(),
                    uploads.len(),
                    table_of(
                        &["RECORD", "STORED", "BLOCK", "FILE"],
                        &report.records,
                        |s| {
                            vec![
                                s.record_id.clone(),
                                s.stored.clone(),
                                s.block_number.to_string(),
                                s.file.display().to_string(),
                            ]
                        }
                    )
                )
            })
        }
        EhrCommand::Synthetic {
            seed,
            count,
            matching_key,
        } => {
            let key = MatchingKey::from_file(&matching_key).context("--matching-key")?;
            let client = Target::load(target)?.client().await?;
            let bar = progress::bar(out, count as u64, "patients");
            let mut uploads = Vec::with_capacity(count);
            for generated in synthetic::patients(seed, count) {
                let identifiers = &generated.identifiers;
                let patient_ref = identifiers
                    .patient_ref(&key)
                    .context("keying a synthetic patient's identifiers")?;
                let records = client
                    .upload_record(&patient_ref, &generated.bundle_json())
                    .await
                    .with_context(|| {
                        format!(
                            "uploading synthetic patient {} ({} uploaded before)",
                            uploads.len() + 1,
                            uploads.len()
                        )
                    })?;
                uploads.push(SyntheticUpload {
                    patient_ref: patient_ref.to_hex(),
                    name: identifiers.name.clone(),
                    date_of_birth: identifiers.date_of_birth.clone(),
                    ssn: identifiers.ssn.clone(),
                    records: records.len(),
                });
                bar.inc(1);
            }
            bar.finish_and_clear();
            out.emit(&uploads, || {
                format!(
                    "{} synthetic patient(s) uploaded (generated identifiers, not real people):\n{}",
                    uploads.len(),
                    table_of(
                        &["PATIENT_REF", "NAME", "DOB", "SSN", "RECORDS"],
                        &uploads,
                        |u| {
                            vec![
                                u.patient_ref.clone(),
                                u.name.clone(),
                                u.date_of_birth.clone(),
                                u.ssn.clone(),
                                u.records.to_string(),
                            ]
                        }
                    )
                )
            })
        }
    }
}

/// Reads and checks every file, each made ready for its upload.
fn prepare_files(files: &[PathBuf]) -> anyhow::Result<Vec<Prepared>> {
    files
        .iter()
        .map(|file| {
            prepare_file(file)
                .with_context(|| format!("{} is not an uploadable FHIR R4 file", file.display()))
        })
        .collect()
}

/// What a refused upload leaves stored: nothing of `file` (one
/// transaction), and every file uploaded before it, whole.
fn refused_upload(file: &Path, before: &[(&Path, Upload)]) -> String {
    let stored: Vec<String> = before
        .iter()
        .map(|(file, upload)| format!("{} ({} records)", file.display(), upload.records.len()))
        .collect();
    format!(
        "uploading {}: refused, nothing of it is stored (one transaction); stored before it: {}",
        file.display(),
        if stored.is_empty() {
            "nothing".to_owned()
        } else {
            stored.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{file, temp_file};

    #[test]
    fn files_are_checked_before_any_upload() {
        let (dir, bundle) = temp_file(
            "bundle.json",
            synthetic::SyntheticPatient::generate(3).bundle_json(),
        );
        let single = file(
            dir.path(),
            "patient.json",
            r#"{"resourceType":"Patient","id":"p-1"}"#,
        );
        let prepared = prepare_files(&[bundle.clone(), single.clone()]).unwrap();
        assert!(prepared[0].records.len() > 1);
        assert_eq!(prepared[1].records[0].record_id, "Patient/p-1");

        let broken = file(dir.path(), "broken.json", "{not json");
        let text = format!("{:#}", prepare_files(&[single, broken]).unwrap_err());
        assert!(
            text.contains("broken.json is not an uploadable FHIR R4 file"),
            "{text}"
        );
        let text = format!(
            "{:#}",
            prepare_files(&[dir.path().join("gone.json")]).unwrap_err()
        );
        assert!(text.contains("gone.json"), "{text}");
    }

    #[test]
    fn a_refusal_says_what_is_stored() {
        assert_eq!(
            refused_upload(Path::new("b.json"), &[]),
            "uploading b.json: refused, nothing of it is stored (one transaction); stored before it: nothing"
        );
    }
}
