//! `PutEhr`, transaction type 1: a registered uploader stores one upload
//! of a patient's records, all or nothing.
//!
//! The upload's metadata (patient ref, record ids) travels in the
//! transient map under `metadata`, and each record's FHIR JSON under its
//! record id (`Type/id`), so neither enters the transaction, and so the
//! block. The content is stored in the private collection [`RECORDS`],
//! the metadata in the private state (see [`state`]); the channel ledger
//! sees only their keyed hashes and value hashes. One index document per
//! patient (its record ids, [`PatientIndex`]) gives each record its place in the patient's
//! history (upload time, transaction, position in the upload), for the
//! coverage checks of replies and their order.
//!
//! One upload is one transaction: any refused record fails the whole call,
//! and an error writes nothing. A record already stored with the same bytes
//! (a provider's Organization in every patient's Bundle) is stored once
//! and linked to each patient; the same record id with other bytes is
//! refused, naming both hashes.

use std::collections::BTreeSet;

use ehrx_interface::{
    Key32,
    limits::{MAX_UPLOAD_BYTES, MAX_UPLOAD_METADATA_BYTES, MAX_UPLOAD_RECORDS},
    parse_object_within, quote,
    rules::{RECORD_ID_RULE, split_record_id},
    types::{EhrUpload, EhrUploaded, Stored, UploadedRecordMeta},
};
use sha2::{Digest, Sha256};

use crate::{
    ehr::{
        access::Caller,
        audit::{self, AuditKind, Write as _},
        error::EhrError,
        fhir,
        state::{self, PatientIndex, RECORDS, RecordMeta, Role, key},
    },
    shim::{
        Stub,
        contract::{Args, ContractError, Json},
    },
};

/// The transient key of PutEhr's metadata JSON.
pub const METADATA: &str = "metadata";

/// `PutEhr()` with its metadata JSON and one entry per record in the
/// transient map.
pub async fn put_ehr(stub: Stub, _args: Args) -> Result<Json<EhrUploaded>, ContractError> {
    let caller = Caller::in_role(&stub, Role::Uploader).await?;
    state::config(&stub).await?;
    let transient = stub.transient()?;
    let metadata = transient.get(METADATA).ok_or_else(|| {
        EhrError::invalid(
            "transient data",
            format!("no {METADATA:?} entry carrying the upload's metadata"),
        )
    })?;
    let upload: EhrUpload = parse_object_within(METADATA, metadata, MAX_UPLOAD_METADATA_BYTES)
        .map_err(EhrError::from)?;
    check_listing(&upload, transient)?;
    let patient = upload.patient_ref.to_hex();
    let now = state::now_ms(&stub)?;
    let tx_id = stub.tx_id().to_owned();
    let index_key = key::patient_records(&patient)?;
    let mut patient_index: PatientIndex = state::get(&stub, "patient index", &index_key)
        .await?
        .unwrap_or_default();
    let indexed = patient_index.records.len();
    let mut records = Vec::with_capacity(upload.records.len());
    for (index, record_id) in upload.records.iter().enumerate() {
        let place = format!("{now:020}.{tx_id}.{index:06}");
        let stored = put_one(
            &stub,
            &caller,
            &upload.patient_ref,
            record_id,
            transient,
            (&mut patient_index, place.as_str()),
            now,
        )
        .await
        .map_err(|source| EhrError::InUpload {
            index,
            record_id: record_id.clone(),
            source: Box::new(source),
        })?;
        records.push(stored);
    }
    if patient_index.records.len() != indexed {
        state::put(&stub, &index_key, &patient_index).await?;
    }
    let count = |kind: Stored| records.iter().filter(|r| r.stored == kind).count();
    let detail = format!(
        "{} record(s) stored, {} shared with other patients, {} already present",
        count(Stored::Stored),
        count(Stored::Shared),
        count(Stored::Present)
    );
    audit::entry(&stub, &caller, AuditKind::RecordStored, &patient, detail)?
        .records(
            records
                .iter()
                .zip(&upload.records)
                .filter(|(r, _)| r.stored != Stored::Present)
                .map(|(_, record_id)| record_id.clone())
                .collect(),
        )
        .write(&stub)
        .await?;
    Ok(Json(EhrUploaded {
        records,
        uploader_msp_id: caller.msp_id().to_owned(),
        uploader_id: caller.id().to_owned(),
        stored_at_ms: now,
    }))
}

/// The listing's bounds: 1 to [`MAX_UPLOAD_RECORDS`] record ids, each
/// once; the transient map holds exactly those keys besides
/// [`METADATA`], with at most [`MAX_UPLOAD_BYTES`] of records together.
fn check_listing(
    upload: &EhrUpload,
    transient: &std::collections::HashMap<String, Vec<u8>>,
) -> Result<(), EhrError> {
    if upload.records.is_empty() {
        return Err(EhrError::invalid("records", "the upload lists no record"));
    }
    if upload.records.len() > MAX_UPLOAD_RECORDS {
        return Err(EhrError::invalid(
            "records",
            format!(
                "the upload lists {} records, more than {MAX_UPLOAD_RECORDS}",
                upload.records.len()
            ),
        ));
    }
    let mut listed = BTreeSet::new();
    for record_id in &upload.records {
        if !listed.insert(record_id.as_str()) {
            return Err(EhrError::invalid(
                "records",
                format!("{} is listed twice", quote(record_id)),
            ));
        }
    }
    if let Some(extra) = transient
        .keys()
        .filter(|k| k.as_str() != METADATA && !listed.contains(k.as_str()))
        .min()
    {
        return Err(EhrError::invalid(
            "transient data",
            format!(
                "unexpected key {}; only the listed record ids are read",
                quote(extra)
            ),
        ));
    }
    let size: usize = transient
        .iter()
        .filter(|(k, _)| k.as_str() != METADATA)
        .map(|(_, v)| v.len())
        .sum();
    if size > MAX_UPLOAD_BYTES {
        return Err(EhrError::TooLarge {
            what: "the upload",
            size,
            limit: MAX_UPLOAD_BYTES,
        });
    }
    Ok(())
}

/// Stores one record of an upload, or links it to the patient, or finds it
/// already theirs.
async fn put_one(
    stub: &Stub,
    caller: &Caller,
    patient_ref: &Key32,
    record_id: &str,
    transient: &std::collections::HashMap<String, Vec<u8>>,
    (index, place): (&mut PatientIndex, &str),
    now: i64,
) -> Result<UploadedRecordMeta, EhrError> {
    let (resource_type, id) = split_record_id(record_id)
        .ok_or_else(|| EhrError::invalid("record id", format!("must be {RECORD_ID_RULE}")))?;
    let content = transient
        .get(record_id)
        .ok_or_else(|| EhrError::invalid("transient data", "no entry carrying its FHIR JSON"))?;
    let resource = fhir::check(content)?;
    if resource.resource_type != resource_type || resource.id != id {
        return Err(EhrError::invalid(
            "record",
            format!(
                "it is {}/{}, not the record id it is listed under",
                quote(&resource.resource_type),
                quote(&resource.id)
            ),
        ));
    }
    let sha256 = Key32::new(Sha256::digest(content).into());
    let record_key = key::record(resource_type, id)?;
    let stored = match state::get::<RecordMeta>(stub, "record", &record_key).await? {
        None => {
            let meta = RecordMeta {
                record_id: record_id.to_owned(),
                patient_ref: *patient_ref,
                category: resource_type.to_owned(),
                sha256,
                uploader_msp_id: caller.msp_id().to_owned(),
                uploader_id: caller.id().to_owned(),
                stored_at_ms: now,
            };
            let content_key = state::secret(stub).await?.record_key(record_id);
            stub.put_private_data(RECORDS, &content_key, content.clone())
                .await?;
            state::put(stub, &record_key, &meta).await?;
            index.records.insert(record_id.to_owned(), place.to_owned());
            Stored::Stored
        }
        Some(meta) if meta.sha256 != sha256 => {
            return Err(EhrError::Differs {
                record_id: record_id.to_owned(),
                stored: meta.sha256.to_hex(),
                stored_for: meta.patient_ref.to_hex(),
                uploaded: sha256.to_hex(),
            });
        }
        Some(_) if index.records.contains_key(record_id) => Stored::Present,
        Some(_) => {
            index.records.insert(record_id.to_owned(), place.to_owned());
            Stored::Shared
        }
    };
    Ok(UploadedRecordMeta {
        category: resource_type.to_owned(),
        sha256,
        stored,
    })
}

/// The record ids (`Type/id`) of `patient_ref` in `categories` (all when
/// empty), in the patient's upload order (upload time, transaction,
/// position in the upload: the same every time): the records a reply to a
/// request for them must list (SubmitReply's coverage check) and the ones
/// a responder reads (GetRequestRecords), so both select with this one
/// function.
pub async fn records_of(
    stub: &Stub,
    patient_ref: &str,
    categories: &[String],
) -> Result<Vec<String>, EhrError> {
    let index: PatientIndex =
        state::get(stub, "patient index", &key::patient_records(patient_ref)?)
            .await?
            .unwrap_or_default();
    let mut placed = Vec::with_capacity(index.records.len());
    for (record_id, place) in index.records {
        let (resource_type, _) = split_record_id(&record_id).ok_or_else(|| EhrError::Corrupt {
            what: "patient record index",
            key: record_id.clone(),
            reason: "not a record id".to_owned(),
        })?;
        if categories.is_empty() || categories.iter().any(|c| c == resource_type) {
            placed.push((place, record_id));
        }
    }
    // A record has one type and one place, so sorting by place lists
    // each once, in upload order.
    placed.sort_unstable();
    Ok(placed.into_iter().map(|(_, record_id)| record_id).collect())
}
