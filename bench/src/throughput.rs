//! Benchmark (a): per-transaction throughput on network I of an EHR upload
//! (`PutEhr` of one synthetic FHIR resource, endorsed by both
//! organisations, content in private data) and of a request submission
//! (`SubmitRequest` of a signed request: Algorithm 1), against the
//! showcase's trivial `Put` on the same network in the same run.
//!
//! At each load level every kind runs the same number of transactions with
//! the same workers, kinds interleaved (Put, PutEhr, SubmitRequest, then
//! again for the next round or level), so drift in the machine's load hits
//! them alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use ehrx_client::ehr::interface::function;
use ehrx_client::ehr::records::{put_ehr_argument, records_from_fhir};
use ehrx_client::ehr::synthetic::patients;
use ehrx_client::ehr::{HistoryRequest, MatchingKey, PatientRef};
use ehrx_client::proto::exchange::Purpose;
use ehrx_lab::networks::Networks;
use serde::Serialize;

use crate::load::{self, Operation};
use crate::participants::{self, Participant, submit_validated};
use crate::progress::Progress;
use crate::report::{Row, compare};
use crate::stats::Tally;

pub const BENCHMARK: &str = "throughput";

/// The transaction kinds, in the order they run at each level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Put,
    PutEhr,
    SubmitRequest,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Put, Kind::PutEhr, Kind::SubmitRequest];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Put => "Put",
            Kind::PutEhr => function::PUT_EHR,
            Kind::SubmitRequest => function::SUBMIT_REQUEST,
        }
    }
}

/// What benchmark (a) runs.
#[derive(Debug, Clone, Serialize)]
pub struct Params {
    /// Transactions in flight.
    pub levels: Vec<usize>,
    /// Transactions per kind and level (over all rounds).
    pub transactions: usize,
    /// Each kind's transactions at a level are split into this many
    /// interleaved rounds.
    pub rounds: usize,
    /// Unmeasured transactions per kind before the first level.
    pub warmup: usize,
    /// Seed of the synthetic patients whose resources are uploaded.
    pub seed: u64,
}

/// What every worker shares: where the next key or record comes from.
struct Shared {
    run_id: String,
    next_key: AtomicUsize,
    records: Vec<(PatientRef, Vec<u8>)>,
    next_record: AtomicUsize,
    request: HistoryRequest,
}

/// One worker's transactions of one kind.
struct Transaction {
    kind: Kind,
    participant: Participant,
    shared: Arc<Shared>,
}

impl Operation for Transaction {
    async fn run(&self, _index: usize) -> anyhow::Result<Vec<(&'static str, Duration)>> {
        let shared = &self.shared;
        match self.kind {
            Kind::Put => {
                let n = shared.next_key.fetch_add(1, Ordering::Relaxed);
                let key = format!("bench-{}-{n}", shared.run_id);
                self.participant
                    .showcase
                    .submit("Put", [key.as_bytes(), b"v"])
                    .await
                    .context("Put")?;
            }
            Kind::PutEhr => {
                let n = shared.next_record.fetch_add(1, Ordering::Relaxed);
                let (patient_ref, json) = shared
                    .records
                    .get(n)
                    .context("ran out of synthetic records")?;
                let stored = self
                    .participant
                    .client
                    .upload_record(patient_ref, json)
                    .await
                    .context(function::PUT_EHR)?;
                anyhow::ensure!(
                    stored.len() == 1,
                    "PutEhr stored {} records, not 1",
                    stored.len()
                );
            }
            Kind::SubmitRequest => {
                submit_validated(&self.participant.client, &shared.request).await?;
            }
        }
        Ok(Vec::new())
    }
}

/// Transactions of `count` rounds split as evenly as possible, larger
/// rounds first: `split(10, 3)` is 4, 3, 3.
pub fn split(count: usize, rounds: usize) -> Vec<usize> {
    let rounds = rounds.max(1);
    (0..rounds)
        .map(|round| count / rounds + usize::from(round < count % rounds))
        .collect()
}

/// Patients whose records the uploads take turns over: uploads in flight
/// together are for different patients, as a hospital's are. (Each
/// patient's record index is one private document, so two uploads for
/// one patient in the same block conflict: one fails `MVCC_READ_CONFLICT`.)
/// Twice the most in flight the benchmark runs (256), so no two uploads
/// in flight together share a patient; with 128, half of them did at 256.
const UPLOAD_PATIENTS: usize = 512;

/// The synthetic resources for `needed` uploads, each record once, taking
/// one record of each of up to [`UPLOAD_PATIENTS`] patients in turn.
fn synthetic_records(seed: u64, needed: usize) -> anyhow::Result<Vec<(PatientRef, Vec<u8>)>> {
    let matching_key = MatchingKey::from_bytes([42; 32]);
    let mut by_patient = Vec::new();
    let mut available = 0;
    for patient in patients(seed, usize::MAX) {
        if available >= needed && by_patient.len() >= UPLOAD_PATIENTS.min(needed) {
            break;
        }
        let patient_ref = patient.identifiers.patient_ref(&matching_key)?;
        let jsons = patient.resource_jsons();
        available += jsons.len();
        by_patient.push((patient_ref, jsons.into_iter()));
    }
    let mut records = Vec::with_capacity(needed);
    while records.len() < needed {
        let before = records.len();
        for (patient_ref, jsons) in &mut by_patient {
            if records.len() == needed {
                break;
            }
            if let Some(json) = jsons.next() {
                records.push((*patient_ref, json));
            }
        }
        if records.len() == before {
            break;
        }
    }
    Ok(records)
}

/// One `PutEhr` of the throughput benchmark as another driver (Hyperledger
/// Caliper, `bench/caliper/`) sends it: the upload argument and the one
/// record, carried as transient data under its record id, exactly as
/// [`EhrClient::upload_record`] builds them.
///
/// [`EhrClient::upload_record`]: ehrx_client::ehr::EhrClient::upload_record
#[derive(Debug, Serialize)]
pub struct ExportedUpload {
    /// `PutEhr`'s one argument, JSON text.
    pub metadata: String,
    /// The record id (`Type/id`): the transient key of its content.
    pub record_id: String,
    /// The FHIR JSON carried as transient data under `record_id`.
    pub record: String,
}

/// The first `count` uploads of the benchmark with `seed`, in the order it
/// sends them, one per synthetic resource.
pub fn export_uploads(seed: u64, count: usize) -> anyhow::Result<Vec<ExportedUpload>> {
    let mut uploads = Vec::with_capacity(count);
    for (patient_ref, json) in synthetic_records(seed, count)? {
        for record in records_from_fhir(&json)? {
            let metadata = put_ehr_argument(&patient_ref, std::slice::from_ref(&record))?;
            uploads.push(ExportedUpload {
                metadata: String::from_utf8(metadata).context("PutEhr metadata is not UTF-8")?,
                record_id: record.record_id.clone(),
                record: String::from_utf8(record.content)
                    .context("a synthetic resource is not UTF-8")?,
            });
        }
    }
    Ok(uploads)
}

/// Runs benchmark (a) on freshly configured networks and returns one row
/// per kind and level, with ratios to Put.
pub async fn run(
    networks: &Networks,
    params: &Params,
    progress: &Progress,
) -> anyhow::Result<Vec<Row>> {
    let most = params.levels.iter().copied().max().unwrap_or(1);
    let setup = participants::configure(networks).await?;
    let net1 = setup.net1;
    participants::raise_rate_limit(net1).await?;
    progress.note(format!(
        "registering {most} requesters and uploaders on network I"
    ));
    let participants = participants::enroll(net1, most, true).await?;

    let warmup = params.warmup.max(most);
    let uploads = warmup + params.transactions * params.levels.len();
    let records = synthetic_records(params.seed, uploads)?;
    let mean_size =
        records.iter().map(|(_, json)| json.len()).sum::<usize>() / records.len().max(1);
    progress.note(format!(
        "{} synthetic FHIR resources to upload, {mean_size} bytes on average",
        records.len()
    ));
    let shared = Arc::new(Shared {
        run_id: format!("{:x}", params.seed),
        next_key: AtomicUsize::new(0),
        records,
        next_record: AtomicUsize::new(0),
        request: HistoryRequest {
            // Algorithm 1 does not look the patient up: any ref will do.
            patient_ref: PatientRef::from_bytes([7; 32]),
            destination_network: setup.net2.name.clone(),
            categories: Vec::new(),
            purpose: Purpose::Treatment,
        },
    });
    let workers = |kind: Kind, level: usize| -> Vec<Arc<Transaction>> {
        participants
            .iter()
            .take(level)
            .map(|participant| {
                Arc::new(Transaction {
                    kind,
                    participant: participant.clone(),
                    shared: Arc::clone(&shared),
                })
            })
            .collect()
    };

    // Opens every connection and warms the chaincode services; not measured.
    for kind in Kind::ALL {
        let bar = progress.bar(warmup, format!("warm-up {}", kind.name()));
        let tally = load::run(&workers(kind, most), warmup, &bar).await?;
        bar.finish_and_clear();
        if tally.failed() > 0 {
            tracing::warn!(kind = kind.name(), failed = tally.failed(), errors = ?tally.errors, "warm-up transactions failed");
        }
    }

    let mut rows = Vec::new();
    for &level in &params.levels {
        let mut tallies: Vec<Tally> = vec![Tally::default(); Kind::ALL.len()];
        for (round, count) in split(params.transactions, params.rounds)
            .into_iter()
            .enumerate()
        {
            for (kind, tally) in Kind::ALL.into_iter().zip(tallies.iter_mut()) {
                let label = format!("{} ×{level} round {}", kind.name(), round + 1);
                let bar = progress.bar(count, label);
                let round_tally = load::run(&workers(kind, level), count, &bar).await?;
                bar.finish_and_clear();
                tally.merge(round_tally);
            }
        }
        for (kind, tally) in Kind::ALL.into_iter().zip(tallies) {
            let row = Row::new(BENCHMARK, kind.name(), level, tally);
            progress.note(format!(
                "{} at {level} in flight: {:.1} tx/s, p50 {:.0} ms, {} failed",
                kind.name(),
                row.per_second,
                row.latency_ms.map_or(f64::NAN, |l| l.p50),
                row.failed
            ));
            rows.push(row);
        }
    }
    compare(&mut rows, Kind::Put.name(), true);
    setup.stop().await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_uploads_are_what_upload_record_sends() {
        let uploads = export_uploads(7, 5).unwrap();
        assert_eq!(uploads.len(), 5);
        let records = synthetic_records(7, 5).unwrap();
        for (upload, (patient_ref, json)) in uploads.iter().zip(&records) {
            assert_eq!(upload.record.as_bytes(), json.as_slice());
            let metadata: ehrx_client::ehr::interface::EhrUpload =
                serde_json::from_str(&upload.metadata).unwrap();
            assert_eq!(metadata.patient_ref.bytes(), patient_ref.as_bytes());
            assert_eq!(metadata.records, std::slice::from_ref(&upload.record_id));
            let resource: serde_json::Value = serde_json::from_str(&upload.record).unwrap();
            let (resource_type, id) = upload.record_id.split_once('/').unwrap();
            assert_eq!(resource["id"], id);
            assert_eq!(resource["resourceType"], resource_type);
        }
        let ids: std::collections::BTreeSet<_> = uploads.iter().map(|u| &u.metadata).collect();
        assert_eq!(ids.len(), 5, "every upload is a different record");
    }

    #[test]
    fn rounds_split_the_transactions_evenly() {
        assert_eq!(split(10, 3), vec![4, 3, 3]);
        assert_eq!(split(200, 1), vec![200]);
        assert_eq!(split(2, 4), vec![1, 1, 0, 0]);
        assert_eq!(split(5, 0), vec![5]);
        assert_eq!(split(10, 3).iter().sum::<usize>(), 10);
    }

    #[test]
    fn synthetic_records_are_distinct_fhir_resources() {
        let records = synthetic_records(9, 120).unwrap();
        assert_eq!(records.len(), 120);
        let mut ids: Vec<String> = records
            .iter()
            .map(|(_, json)| {
                let value: serde_json::Value = serde_json::from_slice(json).unwrap();
                assert!(value["resourceType"].is_string());
                value["id"].as_str().unwrap().to_string()
            })
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 120);
    }

    #[test]
    fn uploads_in_flight_together_are_for_different_patients() {
        let records = synthetic_records(9, 1100).unwrap();
        assert_eq!(records.len(), 1100);
        for window in records.windows(UPLOAD_PATIENTS) {
            let patients: std::collections::HashSet<_> = window.iter().map(|(p, _)| *p).collect();
            assert_eq!(patients.len(), UPLOAD_PATIENTS);
        }
        // Fewer records than patients: one each.
        let few = synthetic_records(9, 10).unwrap();
        let patients: std::collections::HashSet<_> = few.iter().map(|(p, _)| *p).collect();
        assert_eq!((few.len(), patients.len()), (10, 10));
    }
}
