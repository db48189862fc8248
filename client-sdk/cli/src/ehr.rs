//! `ehrx ehr …`: uploading records as a registered uploader. Files are all
//! read and checked before the first upload, so a bad file among many
//! fails before anything is written; then each file's records go up
//! together (the library sends them before awaiting the commits).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use ehrx_client::ehr::{MatchingKey, UploadedRecord, records::records_from_file, synthetic};

use crate::{
    args::{EhrCommand, TargetArgs},
    output::{Output, table},
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
    transaction_id: String,
    block_number: u64,
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
            let total = count_records(&files)?;
            let client = Target::load(target)?.client().await?;
            let bar = progress::bar(out, total as u64, "records");
            let mut uploads: Vec<(PathBuf, Vec<UploadedRecord>)> = Vec::new();
            for file in &files {
                bar.set_message(file.display().to_string());
                let uploaded = client
                    .upload_file(&patient_ref, file)
                    .await
                    .with_context(|| {
                        format!(
                            "uploading {} ({} file(s) stored before it)",
                            file.display(),
                            uploads.len()
                        )
                    })?;
                bar.inc(uploaded.len() as u64);
                uploads.push((file.clone(), uploaded));
            }
            bar.finish_and_clear();
            let stored: Vec<Stored<'_>> = uploads
                .iter()
                .flat_map(|(file, records)| {
                    records.iter().map(move |r| Stored {
                        file,
                        record_id: r.record_id.clone(),
                        category: r.category.clone(),
                        sha256: hex::encode(r.sha256),
                        transaction_id: r.transaction_id.clone(),
                        block_number: r.block_number,
                    })
                })
                .collect();
            out.emit(&stored, || {
                let rows: Vec<Vec<String>> = stored
                    .iter()
                    .map(|s| {
                        vec![
                            s.record_id.clone(),
                            s.category.clone(),
                            s.block_number.to_string(),
                            s.file.display().to_string(),
                        ]
                    })
                    .collect();
                format!(
                    "{} record(s) of patient {patient_ref} stored:\n{}",
                    stored.len(),
                    table(&["RECORD", "CATEGORY", "BLOCK", "FILE"], &rows)
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
                let rows: Vec<Vec<String>> = uploads
                    .iter()
                    .map(|u| {
                        vec![
                            u.patient_ref.clone(),
                            u.name.clone(),
                            u.date_of_birth.clone(),
                            u.ssn.clone(),
                            u.records.to_string(),
                        ]
                    })
                    .collect();
                format!(
                    "{} synthetic patient(s) uploaded (generated identifiers, not real people):\n{}",
                    uploads.len(),
                    table(&["PATIENT_REF", "NAME", "DOB", "SSN", "RECORDS"], &rows)
                )
            })
        }
    }
}

/// Reads and checks every file; the number of records in all of them.
fn count_records(files: &[PathBuf]) -> anyhow::Result<usize> {
    let mut total = 0;
    for file in files {
        total += records_from_file(file)
            .with_context(|| format!("{} is not an uploadable FHIR R4 file", file.display()))?
            .len();
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_checked_and_counted_before_any_upload() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("bundle.json");
        std::fs::write(
            &bundle,
            synthetic::SyntheticPatient::generate(3).bundle_json(),
        )
        .unwrap();
        let single = dir.path().join("patient.json");
        std::fs::write(&single, r#"{"resourceType":"Patient","id":"p-1"}"#).unwrap();
        let in_bundle = records_from_file(&bundle).unwrap().len();
        assert!(in_bundle > 1);
        assert_eq!(
            count_records(&[bundle.clone(), single.clone()]).unwrap(),
            in_bundle + 1
        );

        let broken = dir.path().join("broken.json");
        std::fs::write(&broken, "{not json").unwrap();
        let text = format!("{:#}", count_records(&[single, broken]).unwrap_err());
        assert!(
            text.contains("broken.json is not an uploadable FHIR R4 file"),
            "{text}"
        );
        let text = format!(
            "{:#}",
            count_records(&[dir.path().join("gone.json")]).unwrap_err()
        );
        assert!(text.contains("gone.json"), "{text}");
    }
}
