//! `PutEhr`, transaction type 1: a registered uploader stores an EHR.
//!
//! The FHIR JSON travels in the transient map (key `record`), so it never
//! enters a transaction's public payload, and is stored in the private
//! collection [`RECORDS`]; the channel ledger sees only its hash and the
//! public metadata, indexed by patient and category for the coverage
//! checks of replies.

use ehrx_interface::{
    Key32, quote,
    rules::{FHIR_ID_RULE, is_category, is_fhir_id},
    types::EhrMetadata,
};
use sha2::{Digest, Sha256};

use crate::{
    ehr::{
        access::Caller,
        audit::{self, AuditKind, Write as _},
        error::EhrError,
        fhir,
        messages::json_arg,
        state::{self, RECORDS, RecordMeta, Role, key},
    },
    shim::{
        Stub,
        contract::{Args, ContractError, Json},
    },
};

pub use ehrx_interface::names::TRANSIENT_RECORD;

/// `PutEhr(metadata_json)` with transient `record`.
pub async fn put_ehr(stub: Stub, args: Args) -> Result<Json<RecordMeta>, ContractError> {
    let caller = Caller::of(&stub)?;
    caller.require_role(&stub, Role::Uploader).await?;
    state::config(&stub).await?;
    let meta: EhrMetadata = json_arg(&args, "metadata")?;
    if !is_fhir_id(&meta.record_id) {
        return Err(
            EhrError::invalid("record_id", format!("must be a FHIR id ({FHIR_ID_RULE})")).into(),
        );
    }
    if !is_category(&meta.category) {
        return Err(EhrError::invalid(
            "category",
            "must be a FHIR resource type name such as \"Condition\"",
        )
        .into());
    }
    let transient = stub.transient()?;
    if let Some(extra) = transient
        .keys()
        .filter(|k| k.as_str() != TRANSIENT_RECORD)
        .min()
    {
        return Err(EhrError::invalid(
            "transient data",
            format!(
                "unexpected key {}; only {TRANSIENT_RECORD:?} is read",
                quote(extra)
            ),
        )
        .into());
    }
    let content = transient.get(TRANSIENT_RECORD).ok_or_else(|| {
        EhrError::invalid(
            "transient data",
            format!("no {TRANSIENT_RECORD:?} entry carrying the FHIR JSON"),
        )
    })?;
    let resource = fhir::check(content).map_err(EhrError::from)?;
    if resource.id != meta.record_id {
        return Err(EhrError::invalid(
            "record",
            format!(
                "its id {} differs from record_id {}",
                quote(&resource.id),
                quote(&meta.record_id)
            ),
        )
        .into());
    }
    let record_key = key::record(&meta.record_id)?;
    if stub.get_state(&record_key).await?.is_some()
        || stub
            .get_private_data_hash(RECORDS, &meta.record_id)
            .await?
            .is_some()
    {
        return Err(EhrError::Duplicate {
            what: "record",
            key: meta.record_id,
        }
        .into());
    }
    let record = RecordMeta {
        sha256: Key32::new(Sha256::digest(content).into()),
        record_id: meta.record_id,
        patient_ref: meta.patient_ref,
        category: meta.category,
        uploader_msp_id: caller.msp_id().to_owned(),
        uploader_id: caller.id().to_owned(),
        stored_at_ms: state::now_ms(&stub)?,
    };
    stub.put_private_data(RECORDS, &record.record_id, content.clone())
        .await?;
    state::put(&stub, &record_key, &record).await?;
    let index = key::patient_record(
        &record.patient_ref.to_hex(),
        &record.category,
        &record.record_id,
    )?;
    state::put_index(&stub, &index, &record.record_id).await?;
    audit::entry(
        &stub,
        &caller,
        AuditKind::RecordStored,
        &record.patient_ref.to_hex(),
        format!("{} record stored", record.category),
    )?
    .records(vec![record.record_id.clone()])
    .write(&stub)
    .await?;
    Ok(Json(record))
}

/// The record ids of `patient_ref` in `categories` (all when empty), in
/// record-id order: the records a reply to a request for them must list
/// (SubmitReply's coverage check) and the ones a responder reads
/// (GetRequestRecords), so both select with this one function.
pub async fn records_of(
    stub: &Stub,
    patient_ref: &str,
    categories: &[String],
) -> Result<Vec<String>, EhrError> {
    let mut ids = Vec::new();
    if categories.is_empty() {
        for (_, value) in state::list(stub, "ehrx.patient-record", &[patient_ref]).await? {
            ids.push(String::from_utf8_lossy(&value).into_owned());
        }
    } else {
        for category in categories {
            for (_, value) in
                state::list(stub, "ehrx.patient-record", &[patient_ref, category]).await?
            {
                ids.push(String::from_utf8_lossy(&value).into_owned());
            }
        }
    }
    // Keys order by category first; a record has one category, so sorting
    // is all it takes to list each once, by id.
    ids.sort_unstable();
    Ok(ids)
}
