//! The exchanges: `concurrency` requesters on network I, each asking
//! network II for a patient's whole history, one exchange after another,
//! through whatever the injector is doing. An exchange ends with a
//! verified reply (every uploaded record, intact), a documented refusal,
//! or not at all (stuck at its deadline).
//!
//! A `SubmitRequest` that fails may still have committed (the commit wait
//! broke, not the transaction): before filing the exchange again, the
//! worker looks for the request it filed in the requester's own list and
//! follows it if it is there. Every request id the SDK filed is recorded
//! (by the key store, which sees each before it is submitted), so the
//! final check can tell an exchange that landed twice.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ehrx_client::ehr::interface::OutcomeKind;
use ehrx_client::ehr::{
    EhrClient, HistoryOutcome, HistoryRequest, InMemoryKeyStore, KeyStore, KeyStoreError,
    PatientRef, PendingRequest, ReplyKey,
};
use ehrx_lab::exchange::received_digests;
use ehrx_proto::exchange::Purpose;
use serde::Serialize;

/// How an exchange ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// The reply was read, verified, and holds every uploaded record.
    Verified,
    /// The exchange ended without records, for a recorded reason.
    Refused(String),
    /// A reply came back but not with the uploaded records.
    Mismatch(String),
    /// The request could not be filed before the deadline.
    NotFiled(String),
    /// Filed, but no outcome before the deadline.
    Stuck,
}

/// One exchange of the run's log.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub index: usize,
    pub worker: usize,
    pub patient: usize,
    /// Every request id filed for it (more than one when a submission
    /// failed and was filed again).
    pub attempts: Vec<String>,
    /// The request that went through.
    pub request_id: Option<String>,
    /// Submissions that failed.
    pub failed_submissions: usize,
    /// Seconds from the run's start.
    pub started_at: f64,
    pub ended_at: f64,
    pub outcome: Outcome,
}

impl Exchange {
    pub fn latency(&self) -> f64 {
        self.ended_at - self.started_at
    }
}

/// A key store that remembers the id of every request filed through it.
#[derive(Debug, Default)]
pub struct RecordingKeyStore {
    keys: InMemoryKeyStore,
    filed: Mutex<Vec<String>>,
}

impl RecordingKeyStore {
    /// Ids filed from position `from` on, and the current count.
    fn filed_since(&self, from: usize) -> (Vec<String>, usize) {
        let filed = self.filed.lock().unwrap_or_else(|e| e.into_inner());
        (filed.get(from..).unwrap_or_default().to_vec(), filed.len())
    }
}

impl KeyStore for RecordingKeyStore {
    fn save(&self, key: &ReplyKey) -> Result<(), KeyStoreError> {
        self.keys.save(key)?;
        self.filed
            .lock()
            .map_err(|_| KeyStoreError::Poisoned)?
            .push(key.request_id.clone());
        Ok(())
    }

    fn load(&self, request_id: &str) -> Result<Option<ReplyKey>, KeyStoreError> {
        self.keys.load(request_id)
    }

    fn remove(&self, request_id: &str) -> Result<(), KeyStoreError> {
        self.keys.remove(request_id)
    }
}

/// What the workers share.
#[derive(Debug)]
pub struct Pace {
    pub start: Instant,
    pub exchanges: usize,
    next: AtomicUsize,
    /// Faults planned, and how many are done (the injector's counter).
    pub faults_planned: usize,
    /// Set once the injector has finished, so the rest run freely.
    pub faults_over: AtomicBool,
    /// Set to stop taking new exchanges.
    pub abort: AtomicBool,
}

impl Pace {
    pub fn new(start: Instant, exchanges: usize, faults_planned: usize) -> Self {
        Self {
            start,
            exchanges,
            next: AtomicUsize::new(0),
            faults_planned,
            faults_over: AtomicBool::new(false),
            abort: AtomicBool::new(false),
        }
    }

    /// Whether exchange `index` may start when `faults_done` faults are
    /// done: the exchanges keep at most a tenth of the run ahead of the
    /// faults, so that faults happen throughout the run, not after it.
    pub fn may_start(&self, index: usize, faults_done: usize) -> bool {
        if self.faults_planned == 0 || self.faults_over.load(Ordering::Relaxed) {
            return true;
        }
        // The last twentieth waits for the end of the faults, so that the
        // last faults are followed by exchanges (their recovery).
        index < self.exchanges - self.exchanges / 20
            && index <= self.exchanges * faults_done / self.faults_planned + self.exchanges / 10
    }

    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// One requester's share of the run.
#[derive(Debug)]
pub struct Worker {
    pub index: usize,
    pub client: EhrClient,
    pub store: Arc<RecordingKeyStore>,
}

impl Worker {
    /// The requester `client` with a recording key store.
    pub fn new(index: usize, client: EhrClient) -> Self {
        let store = Arc::new(RecordingKeyStore::default());
        let client = client.with_key_store(store.clone());
        Self {
            index,
            client,
            store,
        }
    }

    /// Runs exchanges until none is left (or the abort), returning its log.
    pub async fn run(
        &self,
        pace: &Pace,
        faults_done: &AtomicUsize,
        patients: &[(PatientRef, BTreeMap<String, [u8; 32]>)],
        timeout: Duration,
        log: &Mutex<Vec<Exchange>>,
    ) {
        loop {
            let index = pace.next.fetch_add(1, Ordering::Relaxed);
            if index >= pace.exchanges {
                break;
            }
            while !pace.may_start(index, faults_done.load(Ordering::Relaxed))
                && !pace.abort.load(Ordering::Relaxed)
            {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            if pace.abort.load(Ordering::Relaxed) {
                break;
            }
            let patient = index % patients.len().max(1);
            let Some((patient_ref, expected)) = patients.get(patient) else {
                break;
            };
            let exchange = self
                .exchange(pace, index, patient, *patient_ref, expected, timeout)
                .await;
            tracing::debug!(index, outcome = ?exchange.outcome, latency = exchange.latency(), "exchange ended");
            log.lock().unwrap_or_else(|e| e.into_inner()).push(exchange);
        }
    }

    async fn exchange(
        &self,
        pace: &Pace,
        index: usize,
        patient: usize,
        patient_ref: PatientRef,
        expected: &BTreeMap<String, [u8; 32]>,
        timeout: Duration,
    ) -> Exchange {
        let history = HistoryRequest {
            patient_ref,
            destination_network: "net2".into(),
            categories: Vec::new(),
            purpose: Purpose::Treatment,
        };
        let started_at = pace.now();
        let deadline = tokio::time::Instant::now() + timeout;
        let (_, mut filed) = self.store.filed_since(usize::MAX);
        let mut attempts = Vec::new();
        let mut failed_submissions = 0;
        let mut last_error = String::new();
        let (request_id, outcome) = loop {
            if tokio::time::Instant::now() >= deadline {
                break (None, Outcome::NotFiled(last_error));
            }
            let submitted = self.client.submit_request(&history).await;
            let (ids, count) = self.store.filed_since(filed);
            filed = count;
            attempts.extend(ids.iter().cloned());
            match submitted {
                Ok((pending, result)) => {
                    let id = pending.request_id().to_owned();
                    if result.outcome != OutcomeKind::Validated {
                        let reason = result.reason.unwrap_or_default();
                        break (
                            Some(id),
                            Outcome::Refused(format!("rejected on I: {reason}")),
                        );
                    }
                    let outcome = self.settle(&id, Some(&pending), expected, deadline).await;
                    break (Some(id), outcome);
                }
                Err(error) => {
                    failed_submissions += 1;
                    last_error = error.to_string();
                    tracing::debug!(index, %error, "SubmitRequest failed");
                    // The commit wait may have broken, not the transaction.
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    if let Some(id) = self.landed(&ids, deadline).await {
                        let outcome = self.settle(&id, None, expected, deadline).await;
                        break (Some(id), outcome);
                    }
                }
            }
        };
        Exchange {
            index,
            worker: self.index,
            patient,
            attempts,
            request_id,
            failed_submissions,
            started_at,
            ended_at: pace.now(),
            outcome,
        }
    }

    /// The one of `ids` that network I has, if any, from the requester's
    /// own list (asked again while the peer does not answer).
    async fn landed(&self, ids: &[String], deadline: tokio::time::Instant) -> Option<String> {
        if ids.is_empty() {
            return None;
        }
        while tokio::time::Instant::now() < deadline {
            match self.client.list_requests().await {
                Ok(listed) => {
                    return ids
                        .iter()
                        .find(|id| listed.iter().any(|r| &r.request_id == *id))
                        .cloned();
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        None
    }

    /// Follows request `id` to its outcome before `deadline`: through the
    /// contract's events when the submission returned (`pending`), else
    /// by its status; reads and checks a reply.
    async fn settle(
        &self,
        id: &str,
        pending: Option<&PendingRequest>,
        expected: &BTreeMap<String, [u8; 32]>,
        deadline: tokio::time::Instant,
    ) -> Outcome {
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Outcome::Stuck;
            }
            let decided = match pending {
                Some(pending) => match self.client.await_outcome(pending, left).await {
                    Ok(HistoryOutcome::ReplyReady) => Some(None),
                    Ok(HistoryOutcome::Refused { state, reason, .. }) => {
                        Some(Some(format!("{state:?}: {}", reason.unwrap_or_default())))
                    }
                    Ok(HistoryOutcome::RejectedHere { reason }) => Some(Some(reason)),
                    Ok(HistoryOutcome::TimedOut) => return Outcome::Stuck,
                    // A stream that could not open (its peer is down).
                    Err(_) => None,
                },
                None => match self.client.request_status(id).await {
                    Ok(entry) if entry.status.has_reply() => Some(None),
                    Ok(entry) if entry.status.is_refusal() => Some(Some(format!(
                        "{:?}: {}",
                        entry.status,
                        entry.reason.unwrap_or_default()
                    ))),
                    _ => None,
                },
            };
            match decided {
                Some(Some(reason)) => return Outcome::Refused(reason),
                Some(None) => return self.verify(id, expected, deadline).await,
                None => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }

    /// Reads the reply of `id` (again while its peer does not answer) and
    /// compares its records with the uploaded ones.
    async fn verify(
        &self,
        id: &str,
        expected: &BTreeMap<String, [u8; 32]>,
        deadline: tokio::time::Instant,
    ) -> Outcome {
        let key = match self.store.load(id) {
            Ok(Some(key)) => key,
            other => return Outcome::Mismatch(format!("no reply key: {other:?}")),
        };
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            match self.client.read_reply(&key).await {
                Ok(reply) => {
                    let received = received_digests(&reply);
                    return if &received == expected {
                        Outcome::Verified
                    } else {
                        Outcome::Mismatch(format!(
                            "{} records received, {} uploaded",
                            received.len(),
                            expected.len()
                        ))
                    };
                }
                Err(error) => {
                    last = error.to_string();
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        Outcome::Mismatch(format!("reply unreadable until the deadline: {last}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges_keep_at_most_a_tenth_of_the_run_ahead_of_the_faults() {
        let pace = Pace::new(Instant::now(), 100, 50);
        assert!(pace.may_start(10, 0));
        assert!(!pace.may_start(11, 0));
        assert!(pace.may_start(60, 25));
        assert!(!pace.may_start(61, 25));
        assert!(pace.may_start(94, 49));
        assert!(
            !pace.may_start(95, 50),
            "the last twentieth after the faults"
        );
        pace.faults_over.store(true, Ordering::Relaxed);
        assert!(pace.may_start(99, 0));
        assert!(Pace::new(Instant::now(), 100, 0).may_start(99, 0));
    }

    #[test]
    fn the_recording_store_lists_each_filed_id_in_order() {
        let store = RecordingKeyStore::default();
        let key = |id: &str| ReplyKey {
            request_id: id.into(),
            source_network: "net1".into(),
            destination_network: "net2".into(),
            decryption_key: ehrx_client::ehr::RequesterKey::generate()
                .unwrap()
                .decryption_key()
                .clone(),
        };
        store.save(&key("a")).unwrap();
        let (_, mark) = store.filed_since(usize::MAX);
        assert_eq!(mark, 1);
        store.save(&key("b")).unwrap();
        store.save(&key("c")).unwrap();
        assert_eq!(store.filed_since(mark), (vec!["b".into(), "c".into()], 3));
        assert!(store.load("b").unwrap().is_some());
        store.remove("b").unwrap();
        assert!(store.load("b").unwrap().is_none());
    }
}
