//! EHRs as the ledger stores them: one FHIR R4 resource per record, the
//! record id the resource's `id` (the contract requires them equal) and its
//! category the resource type.
//!
//! A Bundle is split into its entries' resources, each uploaded as the exact
//! bytes it had in the Bundle (so the hash the ledger keeps is the hash of
//! what the hospital sent). A lone resource is uploaded as given. The
//! structure checked here is what the contract relies on; the contract
//! checks it again, this side only fails earlier and more clearly.

use std::{fs, path::Path};

use serde::Deserialize;
use serde_json::{Map, Value, value::RawValue};
use sha2::{Digest as _, Sha256};

use super::{
    EhrClient,
    error::{Error, parse_result},
    interface::{
        self, EhrMetadata, Key32, RecordMeta,
        function::PUT_EHR,
        limits::MAX_RECORD_BYTES,
        rules::{is_category, is_fhir_id},
    },
    patient::PatientRef,
};

/// The largest file read for upload (a Bundle of many records).
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Why FHIR JSON was refused.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Not JSON, or not UTF-8.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON, but not an object.
    #[error("a FHIR resource is a JSON object")]
    NotAnObject,
    /// No `resourceType` string, or not a FHIR type name.
    #[error("no valid resourceType (a capitalised ASCII name)")]
    ResourceType,
    /// No `id` string, or not a FHIR id.
    #[error("the {resource_type} has no valid id ([A-Za-z0-9-.], 1 to 64 characters)")]
    Id {
        /// The resource's type.
        resource_type: String,
    },
    /// Larger than [`MAX_RECORD_BYTES`] (or a file over [`MAX_FILE_SIZE`]).
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Which record, or the file.
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A Bundle without any entry resource.
    #[error("the Bundle has no entries with a resource")]
    EmptyBundle,
    /// A Bundle entry without a `resource`.
    #[error("Bundle entry {index} has no resource")]
    EntryWithoutResource {
        /// Its position.
        index: usize,
    },
    /// Two resources with one record id.
    #[error("record {0} appears twice")]
    Duplicate(String),
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// One record, ready for `PutEhr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EhrRecord {
    /// The resource's `id`.
    pub record_id: String,
    /// The resource type.
    pub category: String,
    /// The resource's FHIR JSON.
    pub content: Vec<u8>,
}

/// A record that was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedRecord {
    /// The resource's `id`.
    pub record_id: String,
    /// The resource type.
    pub category: String,
    /// SHA-256 of the content, as the ledger keeps it.
    pub sha256: [u8; 32],
    /// The `PutEhr` transaction.
    pub transaction_id: String,
    /// The block it committed in.
    pub block_number: u64,
}

fn json_error(e: serde_json::Error) -> RecordError {
    RecordError::Json(e.to_string())
}

/// A resource's type and id, checked; the fields stay raw so nothing is
/// re-encoded.
fn resource_head(fields: &Map<String, Value>) -> Result<(String, String), RecordError> {
    let resource_type = fields
        .get("resourceType")
        .and_then(Value::as_str)
        .filter(|name| is_category(name))
        .ok_or(RecordError::ResourceType)?
        .to_string();
    let id = fields
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| is_fhir_id(id))
        .ok_or_else(|| RecordError::Id {
            resource_type: resource_type.clone(),
        })?
        .to_string();
    Ok((resource_type, id))
}

/// Parses one resource's JSON and checks the structure every record must
/// have: an object with a `resourceType` and an `id`.
pub fn parse_resource(content: &[u8]) -> Result<Value, RecordError> {
    let value: Value = serde_json::from_slice(content).map_err(json_error)?;
    let fields = value.as_object().ok_or(RecordError::NotAnObject)?;
    resource_head(fields)?;
    Ok(value)
}

fn record(content: &[u8]) -> Result<EhrRecord, RecordError> {
    let value: Value = serde_json::from_slice(content).map_err(json_error)?;
    let fields = value.as_object().ok_or(RecordError::NotAnObject)?;
    let (resource_type, record_id) = resource_head(fields)?;
    if content.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge {
            what: record_id,
            size: content.len() as u64,
            limit: MAX_RECORD_BYTES as u64,
        });
    }
    // The contract's own reader: no key twice at any depth, bounded
    // nesting; refused here, before a transaction is spent on it.
    ehrx_interface::parse_record(content).map_err(|e| RecordError::Json(e.to_string()))?;
    Ok(EhrRecord {
        record_id,
        category: resource_type,
        content: content.to_vec(),
    })
}

#[derive(Deserialize)]
struct RawBundle<'a> {
    #[serde(default, borrow)]
    entry: Vec<RawEntry<'a>>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(borrow)]
    resource: Option<&'a RawValue>,
}

/// The records in FHIR JSON: one for a resource, one per entry for a Bundle.
pub fn records_from_fhir(json: &[u8]) -> Result<Vec<EhrRecord>, RecordError> {
    let text = std::str::from_utf8(json).map_err(|e| RecordError::Json(e.to_string()))?;
    let value: Value = serde_json::from_str(text).map_err(json_error)?;
    let fields = value.as_object().ok_or(RecordError::NotAnObject)?;
    if fields.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Ok(vec![record(json)?]);
    }
    let bundle: RawBundle<'_> = serde_json::from_str(text).map_err(json_error)?;
    let mut records = Vec::with_capacity(bundle.entry.len());
    for (index, entry) in bundle.entry.into_iter().enumerate() {
        let resource = entry
            .resource
            .ok_or(RecordError::EntryWithoutResource { index })?;
        let record = record(resource.get().as_bytes())?;
        if records
            .iter()
            .any(|seen: &EhrRecord| seen.record_id == record.record_id)
        {
            return Err(RecordError::Duplicate(record.record_id));
        }
        records.push(record);
    }
    if records.is_empty() {
        return Err(RecordError::EmptyBundle);
    }
    Ok(records)
}

/// The records in a FHIR JSON file.
pub fn records_from_file(path: &Path) -> Result<Vec<EhrRecord>, RecordError> {
    let io = |source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_SIZE {
        return Err(RecordError::TooLarge {
            what: path.display().to_string(),
            size,
            limit: MAX_FILE_SIZE,
        });
    }
    records_from_fhir(&fs::read(path).map_err(io)?)
}

/// `PutEhr`'s argument for `record` of the patient `patient_ref`: the
/// record's public metadata as JSON (its content goes as transient data
/// under [`interface::TRANSIENT_RECORD`]).
pub fn put_ehr_metadata(patient_ref: &PatientRef, record: &EhrRecord) -> Result<Vec<u8>, Error> {
    let metadata = EhrMetadata {
        record_id: record.record_id.clone(),
        patient_ref: Key32::new(*patient_ref.as_bytes()),
        category: record.category.clone(),
    };
    serde_json::to_vec(&metadata).map_err(|e| Error::unexpected(PUT_EHR, e))
}

impl EhrClient {
    /// Stores FHIR JSON (a resource or a Bundle) as the records of the
    /// patient: one `PutEhr` per record, the content in the transient map,
    /// endorsed by every organisation. The transactions are all sent before
    /// any commit is awaited, so a Bundle commits in as few blocks as the
    /// orderer's batching allows. On an error part way, the records sent
    /// before it may already be stored.
    pub async fn upload_record(
        &self,
        patient_ref: &PatientRef,
        fhir_json: &[u8],
    ) -> Result<Vec<UploadedRecord>, Error> {
        let records = records_from_fhir(fhir_json)?;
        self.upload_records(patient_ref, records).await
    }

    /// As [`Self::upload_record`], from a file.
    pub async fn upload_file(
        &self,
        patient_ref: &PatientRef,
        path: &Path,
    ) -> Result<Vec<UploadedRecord>, Error> {
        let records = records_from_file(path)?;
        self.upload_records(patient_ref, records).await
    }

    async fn upload_records(
        &self,
        patient_ref: &PatientRef,
        records: Vec<EhrRecord>,
    ) -> Result<Vec<UploadedRecord>, Error> {
        let mut commits = Vec::with_capacity(records.len());
        for record in records {
            let sha256: [u8; 32] = Sha256::digest(&record.content).into();
            let metadata = put_ehr_metadata(patient_ref, &record)?;
            let transaction = self
                .contract
                .proposal(PUT_EHR)
                .arg(metadata)
                .transient(interface::TRANSIENT_RECORD, record.content)
                .endorsing_organizations(self.settings.organizations.iter().cloned())
                .build()?
                .endorse()
                .await?;
            // What the endorsers stored must be what was sent: checked
            // before the transaction goes to the orderer.
            let result: RecordMeta = parse_result(PUT_EHR, transaction.result())?;
            if result.record_id != record.record_id || result.sha256.bytes() != &sha256 {
                return Err(Error::unexpected(
                    PUT_EHR,
                    format!(
                        "stored {} with SHA-256 {}, sent {} with {}",
                        result.record_id,
                        result.sha256,
                        record.record_id,
                        hex::encode(sha256)
                    ),
                ));
            }
            commits.push((
                record.record_id,
                record.category,
                sha256,
                transaction.submit().await?,
            ));
        }
        let mut uploaded = Vec::with_capacity(commits.len());
        for (record_id, category, sha256, commit) in commits {
            let status = commit.status().await?.into_result()?;
            uploaded.push(UploadedRecord {
                record_id,
                category,
                sha256,
                transaction_id: status.transaction_id,
                block_number: status.block_number,
            });
        }
        Ok(uploaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_one_record_with_its_exact_bytes() {
        let json = br#"{ "resourceType": "Condition", "id": "c-1", "code": {"text": "Asthma"} }"#;
        let records = records_from_fhir(json).unwrap();
        assert_eq!(
            records,
            [EhrRecord {
                record_id: "c-1".into(),
                category: "Condition".into(),
                content: json.to_vec(),
            }]
        );
    }

    #[test]
    fn a_bundle_is_one_record_per_entry_with_the_entry_bytes() {
        let json = br#"{"resourceType":"Bundle","id":"b","type":"collection","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"p1","name":[{"family":"Doe"}]}},
            {"resource": {"resourceType":"Observation", "id":"o.1", "status":"final"}}
        ]}"#;
        let records = records_from_fhir(json).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].record_id, "p1");
        assert_eq!(
            records[0].content,
            br#"{"resourceType":"Patient","id":"p1","name":[{"family":"Doe"}]}"#
        );
        assert_eq!(records[1].record_id, "o.1");
        assert_eq!(records[1].category, "Observation");
        // The spacing inside the entry is kept: these are the bytes hashed.
        assert_eq!(
            records[1].content,
            br#"{"resourceType":"Observation", "id":"o.1", "status":"final"}"#
        );
    }

    #[test]
    fn each_rejection_is_named() {
        let refuse = |json: &[u8]| records_from_fhir(json).unwrap_err();
        assert!(matches!(refuse(b"not json"), RecordError::Json(_)));
        // The contract refuses a repeated key at any depth; so does the
        // SDK, before spending a transaction.
        assert!(matches!(
            refuse(br#"{"resourceType":"Observation","id":"obs-other","id":"obs-dup"}"#),
            RecordError::Json(_)
        ));
        assert!(matches!(
            refuse(
                br#"{"resourceType":"Bundle","id":"b","type":"collection","entry":[{"resource":
                {"resourceType":"Observation","id":"o","code":{"text":"a","text":"b"}}}]}"#
            ),
            RecordError::Json(_)
        ));
        assert!(matches!(refuse(b"\xff\xfe"), RecordError::Json(_)));
        assert!(matches!(refuse(b"[1,2]"), RecordError::NotAnObject));
        assert!(matches!(
            refuse(br#"{"id":"x"}"#),
            RecordError::ResourceType
        ));
        assert!(matches!(
            refuse(br#"{"resourceType":"condition","id":"x"}"#),
            RecordError::ResourceType
        ));
        assert!(matches!(
            refuse(br#"{"resourceType":"Condition"}"#),
            RecordError::Id { .. }
        ));
        assert!(matches!(
            refuse(br#"{"resourceType":"Condition","id":"a/b"}"#),
            RecordError::Id { .. }
        ));
        let long_id = format!(
            r#"{{"resourceType":"Condition","id":"{}"}}"#,
            "a".repeat(65)
        );
        assert!(matches!(refuse(long_id.as_bytes()), RecordError::Id { .. }));
        assert!(matches!(
            refuse(br#"{"resourceType":"Bundle","id":"b","entry":[]}"#),
            RecordError::EmptyBundle
        ));
        assert!(matches!(
            refuse(br#"{"resourceType":"Bundle","id":"b","entry":[{"fullUrl":"x"}]}"#),
            RecordError::EntryWithoutResource { index: 0 }
        ));
        assert!(matches!(
            refuse(br#"{"resourceType":"Bundle","id":"b","entry":[{"resource":[]}]}"#),
            RecordError::NotAnObject
        ));
        // Record ids are the resource ids, so they must differ across types too.
        let twice = br#"{"resourceType":"Bundle","id":"b","entry":[
            {"resource":{"resourceType":"Patient","id":"p"}},
            {"resource":{"resourceType":"Condition","id":"p"}}]}"#;
        assert!(matches!(refuse(twice), RecordError::Duplicate(id) if id == "p"));
        let big = format!(
            r#"{{"resourceType":"Binary","id":"x","data":"{}"}}"#,
            "A".repeat(MAX_RECORD_BYTES)
        );
        assert!(matches!(
            refuse(big.as_bytes()),
            RecordError::TooLarge { what, .. } if what == "x"
        ));
    }

    #[test]
    fn files_are_read_and_missing_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("condition.json");
        fs::write(&path, br#"{"resourceType":"Condition","id":"c"}"#).unwrap();
        assert_eq!(records_from_file(&path).unwrap()[0].record_id, "c");
        assert!(matches!(
            records_from_file(&dir.path().join("nope.json")),
            Err(RecordError::Io { .. })
        ));
    }

    #[test]
    fn parse_resource_checks_the_structure() {
        let value = parse_resource(br#"{"resourceType":"Patient","id":"p"}"#).unwrap();
        assert_eq!(value["id"], "p");
        assert!(parse_resource(br#"{"resourceType":"Patient"}"#).is_err());
    }
}
