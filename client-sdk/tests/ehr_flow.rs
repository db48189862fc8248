//! The EHR API over real gRPC, against an in-process stand-in for a peer's
//! gateway running a miniature EHR contract. The stand-in speaks the
//! contract's interface (function names, JSON, transient record, events)
//! and plays both networks: a validated request is answered at once by a
//! "destination" that seals the patient's uploaded records to the
//! requester's key and signs the reply with a responder identity. The real
//! contract and networks are exercised by the end-to-end tests in `tests/`.

#![cfg(test)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::Engine as _;
use ehrx_client::{
    ehr::{
        ClinicalSummary, EhrClient, EhrSettings, Error, HistoryOutcome, HistoryRequest,
        InMemoryKeyStore, KeyStore as _, PatientRef, ReplyError, RequestStatus as RequestState,
        RequesterKey,
        interface::{CHAINCODE, event, function},
        synthetic::SyntheticPatient,
    },
    fabric::{Gateway, Identity, P256Signer, SigningIdentity},
};
use ehrx_proto::exchange::{
    Purpose, Record, RecordBundle, RecordDigest, Reply, ReplyStatus, Request, SignedReply,
    SignedRequest,
    seal::{SealContext, seal},
};
use hlf_protos::msp;
use hlf_testpeer::{Committed, Contract, Endorsed, Event, Invocation, TestPeer};
use prost::Message as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tonic::Status;

const ORGS: [&str; 2] = ["Net1Org1MSP", "Net1Org2MSP"];
/// A patient the destination refuses.
const REFUSED_PATIENT: [u8; 32] = [0xee; 32];
/// A patient the destination never answers about.
const SILENT_PATIENT: [u8; 32] = [0xdd; 32];
/// A patient the test answers about later, by hand.
const LATE_PATIENT: [u8; 32] = [0xcc; 32];

/// A P-256 key and its self-signed certificate.
fn credentials(seed: u8) -> (p256::ecdsa::SigningKey, String) {
    ehrx_testkit::self_signed_p256(seed, "CN=User1@org1.net1.example.com,O=org1,C=US")
}

struct StoredRecord {
    patient_ref: String,
    category: String,
    content: Vec<u8>,
    endorsers: Vec<String>,
}

struct StoredRequest {
    creator: Vec<u8>,
    state: RequestState,
    reason: Option<String>,
    reply: Option<SignedReply>,
}

/// The miniature contract's state.
#[derive(Default)]
struct Ledger {
    records: HashMap<String, StoredRecord>,
    requests: HashMap<String, StoredRequest>,
    /// The encryption key of each request, in order.
    encryption_keys: Vec<Vec<u8>>,
}

#[derive(Clone, Default)]
struct FakeContract {
    ledger: Arc<Mutex<Ledger>>,
}

/// A request entry as the contract writes it (every field, since the SDK
/// refuses unknown and missing ones).
fn state_json(id: &str, request: &StoredRequest) -> Value {
    let mut entry = json!({
        "request_id": id, "direction": "outgoing", "status": request.state,
        "source_network": "net1", "destination_network": "net2",
        "requester_code": "DR-0001", "requester_msp_id": "Org1MSP", "requester_id": "x509::a::b",
        "patient_ref": "00".repeat(32), "purpose": "PURPOSE_TREATMENT", "categories": [],
        "created_at_ms": 1, "signed_request_sha256": "00".repeat(32), "recorded_at_ms": 1,
    });
    if let Some(reason) = &request.reason {
        entry["reason"] = reason.clone().into();
    }
    entry
}

/// The destination's answer: every record of the patient, sealed to the
/// requester, or a refusal without records; signed by a responder of
/// network II.
fn form_reply(ledger: &Ledger, request: &Request, status: ReplyStatus) -> SignedReply {
    let patient = hex::encode(&request.patient_ref);
    let mut records: Vec<Record> = ledger
        .records
        .iter()
        .filter(|(_, r)| r.patient_ref == patient)
        .map(|(id, r)| Record {
            record_id: id.clone(),
            category: r.category.clone(),
            content: r.content.clone(),
        })
        .collect();
    records.sort_by(|a, b| a.record_id.cmp(&b.record_id));
    let digests = records
        .iter()
        .map(|r| RecordDigest {
            record_id: r.record_id.clone(),
            category: r.category.clone(),
            sha256: Sha256::digest(&r.content).to_vec(),
        })
        .collect();
    let context = SealContext {
        request_id: &request.request_id,
        replying_network: &request.destination_network,
        receiving_network: &request.source_network,
    };
    let sealed = seal(
        &request.requester_encryption_key,
        &context,
        &RecordBundle { records },
    )
    .unwrap();
    let ok = status == ReplyStatus::Ok;
    let reply = Reply {
        request_id: request.request_id.clone(),
        replying_network: request.destination_network.clone(),
        receiving_network: request.source_network.clone(),
        status: status as i32,
        reason: if ok {
            String::new()
        } else {
            "no records for this patient".into()
        },
        records: if ok { digests } else { Vec::new() },
        sealed_records: ok.then_some(sealed),
        created_at: request.created_at,
    };
    let (key, pem) = credentials(40);
    let responder = msp::SerializedIdentity {
        mspid: "Net2Org1MSP".into(),
        id_bytes: pem.into_bytes(),
    }
    .encode_to_vec();
    SignedReply::sign(&reply, responder, &P256Signer::new(key)).unwrap()
}

impl FakeContract {
    /// Runs one contract function: its result, and the events it emits.
    fn invoke(&self, invocation: &Invocation) -> (Vec<u8>, Vec<Event>) {
        let mut ledger = self.ledger.lock().unwrap();
        let endorsers = &invocation.endorsing_organizations;
        let function = invocation.function();
        let arg = |i: usize| invocation.args[i].clone();
        let text = |i: usize| String::from_utf8(arg(i)).unwrap();
        match function.as_str() {
            function::PUT_EHR => {
                let metadata: Value = serde_json::from_slice(&arg(1)).unwrap();
                let record_id = metadata["record_id"].as_str().unwrap().to_string();
                ledger.records.insert(
                    record_id.clone(),
                    StoredRecord {
                        patient_ref: metadata["patient_ref"].as_str().unwrap().into(),
                        category: metadata["category"].as_str().unwrap().into(),
                        content: invocation.transient["record"].clone(),
                        endorsers: endorsers.to_vec(),
                    },
                );
                // A peer that stores something else than it was sent.
                let stored = if record_id == "altered" {
                    b"{}".as_slice()
                } else {
                    invocation.transient["record"].as_slice()
                };
                let sha256 = hex::encode(Sha256::digest(stored));
                (
                    json!({"record_id": record_id, "sha256": sha256,
                        "patient_ref": metadata["patient_ref"], "category": metadata["category"],
                        "uploader_msp_id": "Org1MSP", "uploader_id": "x509::a::b", "stored_at_ms": 1})
                        .to_string()
                        .into_bytes(),
                    Vec::new(),
                )
            }
            function::SUBMIT_REQUEST => {
                let signed = SignedRequest::decode(arg(1).as_slice()).unwrap();
                let verified = signed.open().unwrap();
                let request = verified.message;
                let id = request.request_id.clone();
                if request.requester_code != "DR-0001" {
                    let result = json!({"outcome": "rejected", "reason": "unknown requester code", "request_id": id});
                    return (result.to_string().into_bytes(), Vec::new());
                }
                let mut events = vec![event(event::REQUEST_VALIDATED, &id)];
                let mut stored = StoredRequest {
                    creator: invocation.signature_header.creator.clone(),
                    state: RequestState::Validated,
                    reason: None,
                    reply: None,
                };
                ledger
                    .encryption_keys
                    .push(request.requester_encryption_key.clone());
                // The destination's reply comes back through AcceptReply:
                // `fulfilled` with records, `failed` with a refusal.
                let status = if request.patient_ref == REFUSED_PATIENT {
                    stored.state = RequestState::Failed;
                    stored.reason = Some("no records for this patient".into());
                    Some(ReplyStatus::NotFound)
                } else if request.patient_ref == SILENT_PATIENT
                    || request.patient_ref == LATE_PATIENT
                {
                    None
                } else {
                    stored.state = RequestState::Fulfilled;
                    Some(ReplyStatus::Ok)
                };
                if let Some(status) = status {
                    stored.reply = Some(form_reply(&ledger, &request, status));
                    events.push(event(event::REPLY_ACCEPTED, &id));
                }
                ledger.requests.insert(id.clone(), stored);
                let result = json!({"outcome": "validated", "request_id": id});
                (result.to_string().into_bytes(), events)
            }
            function::GET_REQUEST_STATUS => {
                let id = text(1);
                (
                    state_json(&id, &ledger.requests[&id])
                        .to_string()
                        .into_bytes(),
                    Vec::new(),
                )
            }
            function::LIST_REQUESTS => {
                let creator = &invocation.signature_header.creator;
                let mine: Vec<Value> = ledger
                    .requests
                    .iter()
                    .filter(|(_, r)| &r.creator == creator)
                    .map(|(id, r)| state_json(id, r))
                    .collect();
                (Value::Array(mine).to_string().into_bytes(), Vec::new())
            }
            function::GET_REPLY => {
                let id = text(1);
                let result = match ledger.requests.get(&id) {
                    Some(r) if r.creator != invocation.signature_header.creator => {
                        json!({"outcome": "refused", "request_id": id, "reason": "only the requester may read this reply"})
                    }
                    Some(StoredRequest {
                        reply: Some(reply), ..
                    }) => json!({
                        "outcome": "ok",
                        "request_id": id,
                        "signed_reply": base64::engine::general_purpose::STANDARD.encode(reply.encode_to_vec()),
                    }),
                    _ => json!({"outcome": "refused", "request_id": id, "reason": "no reply"}),
                };
                (result.to_string().into_bytes(), Vec::new())
            }
            other => panic!("unexpected function {other}"),
        }
    }
}

fn event(name: &str, request_id: &str) -> Event {
    Event {
        name: name.to_string(),
        payload: request_id.as_bytes().to_vec(),
    }
}

/// Each event after a transaction's own stands for a later transaction
/// of the relay's (`AcceptReply`), in a block of its own.
impl Contract for FakeContract {
    async fn evaluate(&self, invocation: Invocation) -> Result<Vec<u8>, Status> {
        Ok(self.invoke(&invocation).0)
    }

    async fn endorse(&self, invocation: Invocation) -> Result<Endorsed, Status> {
        let (payload, events) = self.invoke(&invocation);
        Ok(Endorsed { payload, events })
    }
}

struct Harness {
    peer: TestPeer<FakeContract>,
    channel: tonic::transport::Channel,
}

impl Harness {
    /// The stand-in peer, whose event streams end after the blocks already
    /// committed, as when a peer restarts: the SDK must reopen them.
    async fn start() -> Self {
        let peer = TestPeer::new(FakeContract::default());
        peer.end_streams_at_the_head();
        let address = peer.serve().await.unwrap();
        let channel = ehrx_client::fabric::ConnectionBuilder::new(address.to_string())
            .connect()
            .await
            .unwrap();
        Self { peer, channel }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.peer.contract().ledger.lock().unwrap()
    }

    /// A client of network `net1` acting as the user of key `seed`.
    fn client(&self, seed: u8) -> EhrClient {
        let (key, certificate) = credentials(seed);
        let identity = SigningIdentity::new(
            Identity::new(ORGS[0], certificate),
            Arc::new(P256Signer::new(key)),
        );
        let gateway = Gateway::new(self.channel.clone(), identity);
        EhrClient::new(
            &gateway,
            EhrSettings {
                network_id: "net1".into(),
                channel: "ehrchannel".into(),
                chaincode: "ehrx".into(),
                organizations: ORGS.map(String::from).to_vec(),
            },
        )
    }
}

fn history(patient_ref: PatientRef) -> HistoryRequest {
    HistoryRequest {
        patient_ref,
        destination_network: "net2".into(),
        categories: Vec::new(),
        purpose: Purpose::Treatment,
    }
}

#[tokio::test]
async fn upload_request_and_read_a_patients_history() {
    let harness = Harness::start().await;
    let matching_key = ehrx_client::ehr::MatchingKey::from_bytes([9; 32]);
    let patient = SyntheticPatient::generate(11);
    let patient_ref = patient.identifiers.patient_ref(&matching_key).unwrap();

    // Upload: one PutEhr per resource, transient content, both organisations.
    let uploader = harness.client(1);
    let uploaded = uploader
        .upload_record(&patient_ref, &patient.bundle_json())
        .await
        .unwrap();
    assert_eq!(uploaded.len(), patient.resources.len());
    {
        let ledger = harness.ledger();
        for (upload, resource) in uploaded.iter().zip(&patient.resources) {
            let stored = &ledger.records[&upload.record_id];
            assert_eq!(stored.patient_ref, patient_ref.to_hex());
            assert_eq!(stored.endorsers, ORGS);
            assert_eq!(
                serde_json::from_slice::<Value>(&stored.content).unwrap(),
                *resource
            );
            assert_eq!(
                harness.peer.committed(&upload.transaction_id).unwrap().0,
                upload.block_number
            );
        }
    }

    // Request: the reply key goes to the store before the request is sent.
    let store = Arc::new(InMemoryKeyStore::new());
    let registered = RequesterKey::generate().unwrap();
    let doctor = harness
        .client(2)
        .with_requester_code("DR-0001")
        .with_requester_key(registered.clone())
        .with_key_store(store.clone());
    let requested = doctor
        .request_history(&history(patient_ref), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(requested.outcome, HistoryOutcome::ReplyReady);
    let request_id = requested.pending.request_id().to_string();
    assert_eq!(requested.pending.request.source_network, "net1");
    assert_eq!(requested.pending.request.requester_code, "DR-0001");
    assert_eq!(
        harness.ledger().encryption_keys,
        [registered.public_key().to_vec()]
    );
    assert_eq!(
        doctor.request_status(&request_id).await.unwrap().status,
        RequestState::Fulfilled
    );
    let listed = doctor.list_requests().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].request_id, request_id);

    // Read, with the key as a restarted application would load it.
    let key = store.load(&request_id).unwrap().unwrap();
    let reply = doctor.read_reply(&key).await.unwrap();
    assert_eq!(reply.responder_msp_id, "Net2Org1MSP");
    assert_eq!(reply.records.len(), patient.resources.len());
    for record in &reply.records {
        let original = patient
            .resources
            .iter()
            .find(|r| r["id"] == record.record_id.as_str())
            .unwrap();
        assert_eq!(&record.resource, original);
    }
    let summary = ClinicalSummary::from_resources(reply.resources());
    assert_eq!(summary.patients.len(), 1);
    assert!(summary.to_text().contains(&patient.identifiers.name));

    // Anyone else is refused, and the refusal is typed.
    let colleague = harness.client(3);
    let refused = colleague.read_reply(&key).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Reply(ReplyError::Refused { reason }) if reason.contains("only the requester")),
        "{refused}"
    );
}

#[tokio::test]
async fn a_refusal_by_the_destination_is_an_outcome_with_its_reason() {
    let harness = Harness::start().await;
    let doctor = harness.client(2).with_requester_code("DR-0001");
    let requested = doctor
        .request_history(
            &history(PatientRef::from_bytes(REFUSED_PATIENT)),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(
        requested.outcome,
        HistoryOutcome::Refused {
            state: RequestState::Failed,
            reason: Some("no records for this patient".into()),
        }
    );
    // The destination's signed refusal is still readable, as a typed error.
    let error = doctor
        .read_reply(&requested.pending.reply_key)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Reply(ReplyError::NotFound { reason }) if reason == "no records for this patient"),
        "{error}"
    );
}

#[tokio::test]
async fn a_request_refused_by_this_network_is_rejected_here() {
    let harness = Harness::start().await;
    let stranger = harness.client(2).with_requester_code("DR-9999");
    let requested = stranger
        .request_history(
            &history(PatientRef::from_bytes([1; 32])),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(
        requested.outcome,
        HistoryOutcome::RejectedHere {
            reason: "unknown requester code".into()
        }
    );
}

#[tokio::test]
async fn no_answer_before_the_deadline_is_a_timeout() {
    let harness = Harness::start().await;
    let doctor = harness.client(2).with_requester_code("DR-0001");
    let started = std::time::Instant::now();
    let requested = doctor
        .request_history(
            &history(PatientRef::from_bytes(SILENT_PATIENT)),
            Duration::from_millis(300),
        )
        .await
        .unwrap();
    assert_eq!(requested.outcome, HistoryOutcome::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(5));
    let status = doctor
        .request_status(requested.pending.request_id())
        .await
        .unwrap();
    assert_eq!(status.status, RequestState::Validated);
}

#[tokio::test]
async fn a_refused_event_subscription_is_an_error_at_once_not_a_timeout() {
    let harness = Harness::start().await;
    harness.peer.refuse_events();
    let doctor = harness.client(2).with_requester_code("DR-0001");
    let started = std::time::Instant::now();
    let error = doctor
        .request_history(
            &history(PatientRef::from_bytes([1; 32])),
            Duration::from_secs(30),
        )
        .await
        .unwrap_err();
    assert!(error.to_string().contains("access denied"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_requester_code_is_needed_to_request() {
    let harness = Harness::start().await;
    let error = harness
        .client(2)
        .request_history(
            &history(PatientRef::from_bytes([1; 32])),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NoRequesterCode), "{error}");
}

#[tokio::test]
async fn malformed_fhir_is_refused_before_anything_is_sent() {
    let harness = Harness::start().await;
    let error = harness
        .client(1)
        .upload_record(
            &PatientRef::from_bytes([1; 32]),
            br#"{"resourceType":"Condition"}"#,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Record(_)), "{error}");
    assert!(harness.ledger().records.is_empty());
}

#[tokio::test]
async fn a_reply_that_arrives_after_the_stream_ended_is_still_seen() {
    let harness = Harness::start().await;
    let peer = harness.peer.clone();
    // The relay's AcceptReply, committed while the listener is between
    // two streams.
    tokio::spawn(async move {
        let id = loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let ledger = peer.contract().ledger.lock().unwrap();
            if let Some(id) = ledger.requests.keys().next() {
                break id.clone();
            }
        };
        peer.contract()
            .ledger
            .lock()
            .unwrap()
            .requests
            .get_mut(&id)
            .unwrap()
            .state = RequestState::Fulfilled;
        peer.commit_block(vec![Committed::with_event(
            "relay-late",
            CHAINCODE,
            event(event::REPLY_ACCEPTED, &id),
        )]);
    });
    let doctor = harness.client(2).with_requester_code("DR-0001");
    let requested = doctor
        .request_history(
            &history(PatientRef::from_bytes(LATE_PATIENT)),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(requested.outcome, HistoryOutcome::ReplyReady);
}

#[tokio::test]
async fn an_endorsement_that_stored_other_bytes_is_never_submitted() {
    let harness = Harness::start().await;
    let error = harness
        .client(1)
        .upload_record(
            &PatientRef::from_bytes([1; 32]),
            br#"{"resourceType":"Condition","id":"altered"}"#,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::UnexpectedResult { function: "PutEhr", reason } if reason.contains("SHA-256")),
        "{error}"
    );
    assert!(harness.peer.transactions().is_empty());
}
