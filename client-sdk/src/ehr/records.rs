//! EHRs as the ledger stores them: one FHIR R4 resource per record, its
//! record id `Type/id` (the resource's type and `id`; the contract requires
//! them equal) and its category the resource type.
//!
//! A Bundle is split into its entries' resources, each uploaded as the
//! exact bytes it had in the Bundle (so the hash the ledger keeps is the
//! hash of what the hospital sent), with two edits a FHIR server makes
//! when it processes a transaction, and only where needed:
//!
//! - **ids**: an entry's resource without an `id` takes one, in this order:
//!   from a `PUT` request's url `Type/id`, else from its `fullUrl`
//!   `urn:uuid:<uuid>` (the id is the UUID, as written). Anything else
//!   without an id is refused, naming the entry. The id is inserted right
//!   after `resourceType`; a resource that has an id keeps it.
//! - **references**: every `reference` member (a FHIR Reference, at any
//!   depth) whose value is an entry's `fullUrl` becomes that entry's
//!   `Type/id`. In a `transaction` or `batch` Bundle a `urn:uuid:`
//!   reference that names no entry is refused.
//!
//! Nothing else changes: no value is re-encoded (decimals keep their
//! text). [`Prepared::assigned`] lists each entry's `fullUrl` and the
//! record id it became. A lone resource is uploaded as given.
//!
//! One upload is one `PutEhr` transaction, all or nothing (at most
//! [`MAX_UPLOAD_RECORDS`] records and [`MAX_UPLOAD_BYTES`] together). The
//! structure checked here is what the contract relies on; the contract
//! checks it again, this side only fails earlier and more clearly.

use std::{collections::BTreeMap, fs, ops::Range, path::Path};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, value::RawValue};
use sha2::{Digest as _, Sha256};

use super::{
    EhrClient,
    error::{Error, parse_result},
    interface::{
        self, EhrUpload, EhrUploaded, Key32, Stored,
        fhir::{FhirError, check_record},
        function::PUT_EHR,
        limits::{MAX_RECORD_BYTES, MAX_UPLOAD_BYTES, MAX_UPLOAD_RECORDS},
        rules::{is_category, is_fhir_id, record_id},
    },
    patient::PatientRef,
    peer_lag::retry_unwritten,
};

/// The largest file read for upload (a Bundle of many records).
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// Why FHIR JSON was refused. Errors about a Bundle entry name it by its
/// position (from 0).
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
    /// Larger than [`MAX_RECORD_BYTES`] (or a file over [`MAX_FILE_SIZE`],
    /// or an upload over [`MAX_UPLOAD_BYTES`]).
    #[error("{what} is {size} bytes, over the limit of {limit}")]
    TooLarge {
        /// Which record, or the file.
        what: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// More records than one upload takes.
    #[error(
        "{count} records, more than the {MAX_UPLOAD_RECORDS} one upload takes; split the Bundle"
    )]
    TooMany {
        /// How many.
        count: usize,
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
    /// A Bundle entry whose request is not one that stores a resource.
    #[error(
        "Bundle entry {index}: a {method} request does not store a resource (POST or PUT only)"
    )]
    Method {
        /// Its position.
        index: usize,
        /// The method.
        method: String,
    },
    /// A Bundle entry's resource has no id and nothing to take one from.
    #[error(
        "Bundle entry {index}: the {resource_type} has no id, and neither a PUT url Type/id \
         nor a fullUrl urn:uuid:<uuid> to take one from"
    )]
    NoId {
        /// Its position.
        index: usize,
        /// The resource's type.
        resource_type: String,
    },
    /// A transaction's `urn:uuid:` reference to no entry.
    #[error("Bundle entry {index}: the reference {reference:?} names no entry of the Bundle")]
    Unresolved {
        /// Its position.
        index: usize,
        /// The reference.
        reference: String,
    },
    /// Something wrong inside a Bundle entry.
    #[error("Bundle entry {index}: {source}")]
    Entry {
        /// Its position.
        index: usize,
        /// What.
        source: Box<RecordError>,
    },
    /// Two resources with one record id.
    #[error("record {0} appears twice")]
    Duplicate(String),
    /// Two entries with one `fullUrl` (FHIR's bdl-7).
    #[error("Bundle entry {index}: the fullUrl {full_url:?} names an earlier entry too")]
    DuplicateFullUrl {
        /// Its position.
        index: usize,
        /// The fullUrl.
        full_url: String,
    },
    /// Not FHIR R4 by the contract's rule (`ehrx_interface::fhir`): an
    /// unknown resource type, a bad id, a malformed well-known element...
    #[error("not FHIR R4: {0}")]
    Fhir(FhirError),
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
    /// `Type/id`.
    pub record_id: String,
    /// The resource type.
    pub category: String,
    /// The resource's FHIR JSON.
    pub content: Vec<u8>,
}

/// A Bundle entry's `fullUrl` and the record id it became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assigned {
    /// The entry's `fullUrl`.
    pub full_url: String,
    /// `Type/id`.
    pub record_id: String,
}

/// FHIR JSON made ready for one upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The records, in the Bundle's order.
    pub records: Vec<EhrRecord>,
    /// Each Bundle entry with a `fullUrl`, in order, and its record id.
    pub assigned: Vec<Assigned>,
}

/// A record that was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedRecord {
    /// `Type/id`.
    pub record_id: String,
    /// The resource type.
    pub category: String,
    /// SHA-256 of the content, as the ledger keeps it.
    pub sha256: [u8; 32],
    /// Stored, shared with another patient's upload, or already present.
    pub stored: Stored,
    /// The `PutEhr` transaction (one per upload).
    pub transaction_id: String,
    /// The block it committed in.
    pub block_number: u64,
}

/// An upload that committed: every record of it, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The records.
    pub records: Vec<UploadedRecord>,
    /// Each Bundle entry's `fullUrl` and its record id.
    pub assigned: Vec<Assigned>,
}

fn json_error(e: serde_json::Error) -> RecordError {
    RecordError::Json(e.to_string())
}

/// A resource's type and id, checked; the fields stay raw so nothing is
/// re-encoded.
fn resource_head(fields: &Map<String, Value>) -> Result<(String, String), RecordError> {
    let resource_type = resource_type(fields)?;
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

fn resource_type(fields: &Map<String, Value>) -> Result<String, RecordError> {
    Ok(fields
        .get("resourceType")
        .and_then(Value::as_str)
        .filter(|name| is_category(name))
        .ok_or(RecordError::ResourceType)?
        .to_string())
}

/// Parses one resource's JSON and checks the structure every record must
/// have: an object with a `resourceType` and an `id`.
pub fn parse_resource(content: &[u8]) -> Result<Value, RecordError> {
    let value: Value = serde_json::from_slice(content).map_err(json_error)?;
    let fields = value.as_object().ok_or(RecordError::NotAnObject)?;
    resource_head(fields)?;
    Ok(value)
}

/// The contract's own reader (no key twice at any depth, bounded nesting,
/// at most [`MAX_RECORD_BYTES`]): refused here, before a transaction is
/// spent on it.
fn strict(
    content: &[u8],
    what: impl FnOnce() -> String,
) -> Result<Map<String, Value>, RecordError> {
    if content.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge {
            what: what(),
            size: content.len() as u64,
            limit: MAX_RECORD_BYTES as u64,
        });
    }
    ehrx_interface::parse_record(content).map_err(|e| match e.code() {
        ehrx_interface::ErrorCode::NotAnObject => RecordError::NotAnObject,
        _ => RecordError::Json(e.to_string()),
    })
}

/// The contract's whole check of a record ([`check_record`]: the strict
/// reader, then the FHIR R4 shape), made here before a transaction is
/// spent on it.
fn checked(content: &[u8], what: impl FnOnce() -> String) -> Result<(), RecordError> {
    if content.len() > MAX_RECORD_BYTES {
        return Err(RecordError::TooLarge {
            what: what(),
            size: content.len() as u64,
            limit: MAX_RECORD_BYTES as u64,
        });
    }
    check_record(content).map(drop).map_err(|e| match e {
        FhirError::Json(e) if e.code() == ehrx_interface::ErrorCode::NotAnObject => {
            RecordError::NotAnObject
        }
        FhirError::Json(e) => RecordError::Json(e.to_string()),
        FhirError::NotUtf8(_) => RecordError::Json(e.to_string()),
        e => RecordError::Fhir(e),
    })
}

fn record(content: &[u8]) -> Result<EhrRecord, RecordError> {
    let value: Value = serde_json::from_slice(content).map_err(json_error)?;
    let fields = value.as_object().ok_or(RecordError::NotAnObject)?;
    let (resource_type, id) = resource_head(fields)?;
    checked(content, || record_id(&resource_type, &id))?;
    Ok(EhrRecord {
        record_id: record_id(&resource_type, &id),
        category: resource_type,
        content: content.to_vec(),
    })
}

#[derive(Deserialize)]
struct RawBundle<'a> {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default, borrow)]
    entry: Vec<RawEntry<'a>>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(default, rename = "fullUrl")]
    full_url: Option<String>,
    #[serde(borrow)]
    resource: Option<&'a RawValue>,
    #[serde(default)]
    request: Option<RawRequest>,
}

#[derive(Deserialize)]
struct RawRequest {
    method: String,
    #[serde(default)]
    url: Option<String>,
}

/// An entry's resource, before its edits.
struct Entry<'a> {
    text: &'a str,
    resource_type: String,
    id: String,
    /// Whether the id was taken from elsewhere and must be inserted.
    insert_id: bool,
}

/// The records in FHIR JSON: one for a resource, one per entry for a Bundle.
pub fn records_from_fhir(json: &[u8]) -> Result<Vec<EhrRecord>, RecordError> {
    prepare(json).map(|prepared| prepared.records)
}

/// FHIR JSON (a resource or a Bundle of any type) made ready for one
/// upload, as the module documentation describes.
pub fn prepare(json: &[u8]) -> Result<Prepared, RecordError> {
    let text = std::str::from_utf8(json).map_err(|e| RecordError::Json(e.to_string()))?;
    let value: Value = serde_json::from_str(text).map_err(json_error)?;
    let fields = value.as_object().ok_or(RecordError::NotAnObject)?;
    if fields.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Ok(Prepared {
            records: vec![record(json)?],
            assigned: Vec::new(),
        });
    }
    let bundle: RawBundle<'_> = serde_json::from_str(text).map_err(json_error)?;
    let transaction = matches!(bundle.kind.as_deref(), Some("transaction" | "batch"));
    let mut entries = Vec::with_capacity(bundle.entry.len());
    let mut targets = BTreeMap::new();
    let mut assigned = Vec::new();
    for (index, raw) in bundle.entry.iter().enumerate() {
        let entry = entry(index, raw)?;
        let id = record_id(&entry.resource_type, &entry.id);
        if let Some(full_url) = &raw.full_url {
            if targets.insert(full_url.as_str(), id.clone()).is_some() {
                return Err(RecordError::DuplicateFullUrl {
                    index,
                    full_url: full_url.clone(),
                });
            }
            assigned.push(Assigned {
                full_url: full_url.clone(),
                record_id: id,
            });
        }
        entries.push(entry);
    }
    let mut records: Vec<EhrRecord> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let content = edited(index, &entry, &targets, transaction)?;
        let id = record_id(&entry.resource_type, &entry.id);
        checked(content.as_bytes(), || id.clone()).map_err(|source| RecordError::Entry {
            index,
            source: Box::new(source),
        })?;
        if records.iter().any(|seen| seen.record_id == id) {
            return Err(RecordError::Duplicate(id));
        }
        records.push(EhrRecord {
            record_id: id,
            category: entry.resource_type,
            content: content.into_bytes(),
        });
    }
    if records.is_empty() {
        return Err(RecordError::EmptyBundle);
    }
    Ok(Prepared { records, assigned })
}

/// An entry's resource type and id, by the rules above.
fn entry<'a>(index: usize, raw: &RawEntry<'a>) -> Result<Entry<'a>, RecordError> {
    let in_entry = |source| RecordError::Entry {
        index,
        source: Box::new(source),
    };
    let method = raw.request.as_ref().map(|r| r.method.as_str());
    if let Some(method) = method.filter(|m| !matches!(*m, "POST" | "PUT")) {
        return Err(RecordError::Method {
            index,
            method: method.to_owned(),
        });
    }
    let resource = raw
        .resource
        .ok_or(RecordError::EntryWithoutResource { index })?;
    let text = resource.get();
    let fields = strict(text.as_bytes(), || format!("Bundle entry {index}")).map_err(in_entry)?;
    let resource_type = resource_type(&fields).map_err(in_entry)?;
    if fields.contains_key("id") {
        let (_, id) = resource_head(&fields).map_err(in_entry)?;
        return Ok(Entry {
            text,
            resource_type,
            id,
            insert_id: false,
        });
    }
    let from_put = raw
        .request
        .as_ref()
        .filter(|r| r.method == "PUT")
        .and_then(|r| r.url.as_deref())
        .and_then(|url| url.split_once('/'))
        .filter(|(url_type, id)| *url_type == resource_type && is_fhir_id(id))
        .map(|(_, id)| id.to_owned());
    let from_uuid = raw
        .full_url
        .as_deref()
        .and_then(|url| url.strip_prefix("urn:uuid:"))
        .filter(|uuid| is_fhir_id(uuid))
        .map(str::to_owned);
    let id = from_put.or(from_uuid).ok_or_else(|| RecordError::NoId {
        index,
        resource_type: resource_type.clone(),
    })?;
    Ok(Entry {
        text,
        resource_type,
        id,
        insert_id: true,
    })
}

/// The entry's text with its id inserted and its references to entries
/// rewritten; every other byte as it was.
fn edited(
    index: usize,
    entry: &Entry<'_>,
    targets: &BTreeMap<&str, String>,
    transaction: bool,
) -> Result<String, RecordError> {
    let text = entry.text;
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut references = Vec::new();
    let members = spans(text, text, &mut references).map_err(json_error)?;
    for (range, reference) in references {
        match targets.get(reference.as_str()) {
            Some(target) => edits.push((range, format!("\"{target}\""))),
            None if transaction && reference.starts_with("urn:uuid:") => {
                return Err(RecordError::Unresolved { index, reference });
            }
            None => {}
        }
    }
    if entry.insert_id {
        // resource_type() found it, so the member is there.
        let end = members
            .iter()
            .find(|(name, _)| name == "resourceType")
            .map(|(_, range)| range.end)
            .ok_or(RecordError::ResourceType)?;
        edits.push((end..end, format!(",\"id\":\"{}\"", entry.id)));
    }
    edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
    let mut out = text.to_owned();
    for (range, replacement) in edits {
        out.replace_range(range, &replacement);
    }
    Ok(out)
}

/// Where `raw` (a JSON value inside `base`) starts in `base`.
fn offset(base: &str, raw: &str) -> usize {
    raw.as_ptr() as usize - base.as_ptr() as usize
}

/// Walks the JSON value `raw` (a slice of `base`): collects the span in
/// `base` and the value of every string member named `reference`, at any
/// depth; returns the spans of the top-level object's members' values.
fn spans(
    base: &str,
    raw: &str,
    references: &mut Vec<(Range<usize>, String)>,
) -> Result<Vec<(String, Range<usize>)>, serde_json::Error> {
    let mut members = Vec::new();
    match raw.as_bytes().first() {
        Some(b'{') => {
            let object: BTreeMap<String, &RawValue> = serde_json::from_str(raw)?;
            for (name, value) in object {
                let value = value.get();
                let start = offset(base, value);
                let range = start..start + value.len();
                if name == "reference" && value.starts_with('"') {
                    references.push((range.clone(), serde_json::from_str::<String>(value)?));
                } else {
                    spans(base, value, references)?;
                }
                members.push((name, range));
            }
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(raw)?;
            for item in items {
                spans(base, item.get(), references)?;
            }
        }
        _ => {}
    }
    Ok(members)
}

/// The records in a FHIR JSON file.
pub fn records_from_file(path: &Path) -> Result<Vec<EhrRecord>, RecordError> {
    prepare_file(path).map(|prepared| prepared.records)
}

/// A FHIR JSON file made ready for one upload.
pub fn prepare_file(path: &Path) -> Result<Prepared, RecordError> {
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
    prepare(&fs::read(path).map_err(io)?)
}

/// `PutEhr`'s argument for uploading `records` of the patient
/// `patient_ref`: the upload's public part as JSON, the record ids in
/// order (each record's content goes as transient data under its record
/// id). The one builder of it, for the SDK's uploads and for other drivers
/// (the benchmarks' export).
pub fn put_ehr_argument(patient_ref: &PatientRef, records: &[EhrRecord]) -> Result<Vec<u8>, Error> {
    let upload = EhrUpload {
        patient_ref: Key32::new(*patient_ref.as_bytes()),
        records: records.iter().map(|r| r.record_id.clone()).collect(),
    };
    serde_json::to_vec(&upload).map_err(|e| Error::unexpected(PUT_EHR, e))
}

impl EhrClient {
    /// Stores FHIR JSON (a resource or a Bundle) as the records of the
    /// patient: one `PutEhr` transaction for all of them, the contents in
    /// the transient map, endorsed by every organisation. All or nothing:
    /// on an error nothing of it is stored.
    pub async fn upload_record(
        &self,
        patient_ref: &PatientRef,
        fhir_json: &[u8],
    ) -> Result<Vec<UploadedRecord>, Error> {
        Ok(self.upload(patient_ref, prepare(fhir_json)?).await?.records)
    }

    /// As [`Self::upload_record`], from a file.
    pub async fn upload_file(
        &self,
        patient_ref: &PatientRef,
        path: &Path,
    ) -> Result<Vec<UploadedRecord>, Error> {
        Ok(self.upload(patient_ref, prepare_file(path)?).await?.records)
    }

    /// Stores prepared records ([`prepare`], [`prepare_file`]) in one
    /// `PutEhr` transaction and waits for its commit.
    pub async fn upload(
        &self,
        patient_ref: &PatientRef,
        prepared: Prepared,
    ) -> Result<Upload, Error> {
        let Prepared { records, assigned } = prepared;
        if records.len() > MAX_UPLOAD_RECORDS {
            return Err(RecordError::TooMany {
                count: records.len(),
            }
            .into());
        }
        let size: usize = records.iter().map(|r| r.content.len()).sum();
        if size > MAX_UPLOAD_BYTES {
            return Err(RecordError::TooLarge {
                what: "the upload".into(),
                size: size as u64,
                limit: MAX_UPLOAD_BYTES as u64,
            }
            .into());
        }
        let metadata = put_ehr_argument(patient_ref, &records)?;
        let sent: Vec<(String, String, [u8; 32])> = records
            .iter()
            .map(|r| {
                (
                    r.record_id.clone(),
                    r.category.clone(),
                    Sha256::digest(&r.content).into(),
                )
            })
            .collect();
        // One upload of a patient at a time from this client: each reads
        // and writes the patient's index, so two endorsed together would
        // not both commit. What fails with nothing written (a lost
        // conflict with another client's upload, a lagging endorser) is
        // endorsed again.
        let _turn = self.turns.take(super::Turn::Patient(*patient_ref)).await;
        let (result, status) = retry_unwritten(patient_ref.as_bytes(), || {
            self.put_ehr(&metadata, &records, &sent)
        })
        .await?;
        Ok(Upload {
            records: result
                .records
                .into_iter()
                .zip(sent)
                .map(|(got, (record_id, category, sha256))| UploadedRecord {
                    record_id,
                    category,
                    sha256,
                    stored: got.stored,
                    transaction_id: status.transaction_id.clone(),
                    block_number: status.block_number,
                })
                .collect(),
            assigned,
        })
    }

    /// One `PutEhr` transaction: endorsed, its result checked against what
    /// was `sent` (record id, category and SHA-256 of each record), then
    /// submitted and committed.
    async fn put_ehr(
        &self,
        metadata: &[u8],
        records: &[EhrRecord],
        sent: &[(String, String, [u8; 32])],
    ) -> Result<(EhrUploaded, crate::fabric::Status), Error> {
        // Everything goes in the transient map, so that the block names
        // neither the patient nor the records.
        let mut proposal = interface::proposal(&self.contract, PUT_EHR, [metadata]);
        for record in records {
            proposal = proposal.transient(record.record_id.clone(), record.content.clone());
        }
        let transaction = proposal
            .endorsing_organizations(self.settings.organizations.iter().cloned())
            .build()?
            .endorse()
            .await?;
        // What the endorsers stored must be what was sent: checked before
        // the transaction goes to the orderer.
        let result: EhrUploaded = parse_result(PUT_EHR, transaction.result())?;
        if result.records.len() != sent.len() {
            return Err(Error::unexpected(
                PUT_EHR,
                format!(
                    "the endorsers stored {} record(s), {} were sent",
                    result.records.len(),
                    sent.len()
                ),
            ));
        }
        if let Some((got, (id, category, sha256))) =
            result
                .records
                .iter()
                .zip(sent)
                .find(|(got, (_, category, sha256))| {
                    &got.category != category || got.sha256.bytes() != sha256
                })
        {
            return Err(Error::unexpected(
                PUT_EHR,
                format!(
                    "stored {id} as {} with SHA-256 {}, sent it as {category} with {}",
                    got.category,
                    got.sha256,
                    hex::encode(sha256)
                ),
            ));
        }
        let status = transaction.submit().await?.status().await?.into_result()?;
        Ok((result, status))
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
                record_id: "Condition/c-1".into(),
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
        assert_eq!(records[0].record_id, "Patient/p1");
        assert_eq!(
            records[0].content,
            br#"{"resourceType":"Patient","id":"p1","name":[{"family":"Doe"}]}"#
        );
        assert_eq!(records[1].record_id, "Observation/o.1");
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
            RecordError::Entry { index: 0, source } if matches!(*source, RecordError::Json(_))
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
            RecordError::Entry { index: 0, source } if matches!(*source, RecordError::NotAnObject)
        ));
        // Record ids are Type/id: one type may not repeat an id, two types may.
        let twice = br#"{"resourceType":"Bundle","id":"b","entry":[
            {"resource":{"resourceType":"Patient","id":"p"}},
            {"resource":{"resourceType":"Patient","id":"p","active":true}}]}"#;
        assert!(matches!(refuse(twice), RecordError::Duplicate(id) if id == "Patient/p"));
        let two_types = br#"{"resourceType":"Bundle","id":"b","entry":[
            {"resource":{"resourceType":"Patient","id":"p"}},
            {"resource":{"resourceType":"Condition","id":"p"}}]}"#;
        assert_eq!(records_from_fhir(two_types).unwrap().len(), 2);
        let big = format!(
            r#"{{"resourceType":"Binary","id":"x","data":"{}"}}"#,
            "A".repeat(MAX_RECORD_BYTES)
        );
        assert!(matches!(
            refuse(big.as_bytes()),
            RecordError::TooLarge { what, .. } if what == "Binary/x"
        ));
    }

    #[test]
    fn the_contracts_fhir_r4_rule_refuses_before_a_transaction_is_spent() {
        let refuse = |json: &[u8]| records_from_fhir(json).unwrap_err();
        let unknown = refuse(br#"{"resourceType":"Observations","id":"o"}"#);
        assert!(
            matches!(&unknown, RecordError::Fhir(FhirError::ResourceType { .. })),
            "{unknown}"
        );
        let entry = refuse(
            br#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:6f1c","resource":{"resourceType":"Observation","status":"final",
             "effectiveDateTime":"yesterday"},"request":{"method":"POST","url":"Observation"}}]}"#,
        );
        let text = entry.to_string();
        assert!(
            matches!(&entry, RecordError::Entry { index: 0, source } if matches!(**source, RecordError::Fhir(_))),
            "{text}"
        );
        assert!(text.contains("Observation.effectiveDateTime"), "{text}");
        // The id the SDK inserts and the references it rewrites pass the rule.
        let prepared = prepare(
            br#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:6f1c","resource":{"resourceType":"Patient"},"request":{"method":"POST","url":"Patient"}},
            {"fullUrl":"urn:uuid:7a2d","resource":{"resourceType":"Observation","status":"final",
             "subject":{"reference":"urn:uuid:6f1c"}},"request":{"method":"POST","url":"Observation"}}]}"#,
        )
        .unwrap();
        for record in &prepared.records {
            assert!(check_record(&record.content).is_ok());
        }
    }

    #[test]
    fn files_are_read_and_missing_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("condition.json");
        fs::write(&path, br#"{"resourceType":"Condition","id":"c"}"#).unwrap();
        assert_eq!(
            records_from_file(&path).unwrap()[0].record_id,
            "Condition/c"
        );
        assert!(matches!(
            records_from_file(&dir.path().join("nope.json")),
            Err(RecordError::Io { .. })
        ));
    }

    /// A transaction as hospitals export it: ids only in the fullUrls,
    /// references by urn:uuid, decimals at the limits of f64.
    const TRANSACTION: &str = r#"{"resourceType":"Bundle","type":"transaction","entry":[
 {"fullUrl":"urn:uuid:6c7a4a9e-1f7e-4b1e-9d6e-0a1b2c3d4e5f","resource":{"resourceType":"Patient", "name":[{"family":"Doe"}]},
  "request":{"method":"POST","url":"Patient"}},
 {"fullUrl":"urn:uuid:0f0e0d0c-0b0a-4909-8807-060504030201","resource":{"resourceType":"Observation","status":"final",
  "subject":{"reference":"urn:uuid:6c7a4a9e-1f7e-4b1e-9d6e-0a1b2c3d4e5f","display":"urn:uuid:6c7a4a9e-1f7e-4b1e-9d6e-0a1b2c3d4e5f"},
  "valueQuantity":{"value":9.071778718846515,"unit":"mg"},"component":[{"valueQuantity":{"value":0.1000}},{"valueQuantity":{"value":1e400}}],
  "performer":[{"reference":"Organization/org-1"}]},
  "request":{"method":"POST","url":"Observation"}},
 {"fullUrl":"http://example.org/fhir/Organization/org-1","resource":{"resourceType":"Organization","id":"org-1","name":"General"},
  "request":{"method":"PUT","url":"Organization/org-1"}},
 {"resource":{"resourceType":"Practitioner","name":[{"family":"Who"}]},"request":{"method":"PUT","url":"Practitioner/pr-9"}}
]}"#;

    #[test]
    fn a_transaction_gets_ids_and_resolved_references_and_nothing_else_changes() {
        let prepared = prepare(TRANSACTION.as_bytes()).unwrap();
        let ids: Vec<&str> = prepared
            .records
            .iter()
            .map(|r| r.record_id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "Patient/6c7a4a9e-1f7e-4b1e-9d6e-0a1b2c3d4e5f",
                "Observation/0f0e0d0c-0b0a-4909-8807-060504030201",
                "Organization/org-1",
                "Practitioner/pr-9",
            ]
        );
        assert_eq!(
            prepared.assigned,
            [
                Assigned {
                    full_url: "urn:uuid:6c7a4a9e-1f7e-4b1e-9d6e-0a1b2c3d4e5f".into(),
                    record_id: ids[0].into()
                },
                Assigned {
                    full_url: "urn:uuid:0f0e0d0c-0b0a-4909-8807-060504030201".into(),
                    record_id: ids[1].into()
                },
                Assigned {
                    full_url: "http://example.org/fhir/Organization/org-1".into(),
                    record_id: ids[2].into()
                },
            ]
        );
        let text = |i: usize| String::from_utf8(prepared.records[i].content.clone()).unwrap();
        // The id goes right after resourceType; the spacing stays.
        assert_eq!(
            text(0),
            r#"{"resourceType":"Patient","id":"6c7a4a9e-1f7e-4b1e-9d6e-0a1b2c3d4e5f", "name":[{"family":"Doe"}]}"#
        );
        // Only `reference` members change; decimals keep their text.
        let observation = text(1);
        assert!(observation.contains(
            r#""subject":{"reference":"Patient/6c7a4a9e-1f7e-4b1e-9d6e-0a1b2c3d4e5f","display":"urn:uuid:6c7a4a9e"#
        ), "{observation}");
        for decimal in ["9.071778718846515", "0.1000", "1e400"] {
            assert!(
                observation.contains(&format!(r#""value":{decimal}"#)),
                "{observation}"
            );
        }
        assert!(observation.contains(r#"{"reference":"Organization/org-1"}"#));
        let original = TRANSACTION
            .find(r#"{"resourceType":"Observation""#)
            .unwrap();
        let undone = observation
            .replace(",\"id\":\"0f0e0d0c-0b0a-4909-8807-060504030201\"", "")
            .replace(
                r#""reference":"Patient/6c7a4a9e-1f7e-4b1e-9d6e-0a1b2c3d4e5f""#,
                r#""reference":"urn:uuid:6c7a4a9e-1f7e-4b1e-9d6e-0a1b2c3d4e5f""#,
            );
        assert!(TRANSACTION[original..].starts_with(&undone), "{undone}");
        // A resource that has an id is stored as it came.
        assert!(TRANSACTION.contains(&text(2)));
        assert_eq!(
            text(3),
            r#"{"resourceType":"Practitioner","id":"pr-9","name":[{"family":"Who"}]}"#
        );
    }

    #[test]
    fn what_a_transaction_cannot_store_is_named() {
        let refuse = |json: &str| prepare(json.as_bytes()).unwrap_err();
        let no_id = r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"resource":{"resourceType":"Patient","id":"p"}},
            {"fullUrl":"http://x/y","resource":{"resourceType":"Observation"}}]}"#;
        let error = refuse(no_id);
        assert!(
            matches!(&error, RecordError::NoId { index: 1, resource_type } if resource_type == "Observation"),
            "{error}"
        );
        assert!(
            error
                .to_string()
                .starts_with("Bundle entry 1: the Observation has no id")
        );
        let dangling = r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}},
            {"fullUrl":"urn:uuid:2","resource":{"resourceType":"Observation","subject":{"reference":"urn:uuid:3"}}}]}"#;
        assert!(matches!(
            refuse(dangling),
            RecordError::Unresolved { index: 1, reference } if reference == "urn:uuid:3"
        ));
        // In a collection an unknown reference is left as it is.
        let collection = dangling.replace("transaction", "collection");
        assert_eq!(prepare(collection.as_bytes()).unwrap().records.len(), 2);
        let delete = r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}},
            {"request":{"method":"DELETE","url":"Patient/9"}}]}"#;
        assert!(matches!(
            refuse(delete),
            RecordError::Method { index: 1, method } if method == "DELETE"
        ));
        let bad_id = r#"{"resourceType":"Bundle","type":"batch","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","id":"a b"}}]}"#;
        assert!(matches!(
            refuse(bad_id),
            RecordError::Entry { index: 0, source } if matches!(*source, RecordError::Id { .. })
        ));
        let same_url = r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}},
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Observation"}}]}"#;
        assert!(matches!(
            refuse(same_url),
            RecordError::DuplicateFullUrl { index: 1, full_url } if full_url == "urn:uuid:1"
        ));
        let repeated = r#"{"resourceType":"Bundle","type":"transaction","entry":[
            {"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","name":[{"a":1,"a":2}]}}]}"#;
        assert!(matches!(
            refuse(repeated),
            RecordError::Entry { index: 0, source } if matches!(*source, RecordError::Json(_))
        ));
    }

    #[test]
    fn parse_resource_checks_the_structure() {
        let value = parse_resource(br#"{"resourceType":"Patient","id":"p"}"#).unwrap();
        assert_eq!(value["id"], "p");
        assert!(parse_resource(br#"{"resourceType":"Patient"}"#).is_err());
    }
}
