//! The EHR API over real gRPC against the real contract: each network of
//! the chaincode's test world (`ehrx-chaincode-testing`) runs
//! `ehrx-chaincode` on an in-memory ledger behind an `hlf-testpeer`
//! stand-in for its peer's Gateway and Deliver services. Between the two
//! networks the world's relay takes a request validated on net1 into
//! net2 with net1's proof of validation, has net2's responder answer it
//! from the records there, and brings the reply back into net1 with net2's
//! proof, through the contract's own functions. The end-to-end tests in
//! `tests/` run the same exchange on real Fabric networks.

#![cfg(test)]

use std::{sync::Arc, time::Duration};

use ehrx_chaincode_testing::{
    CHANNEL, ContractPeer, DOCTOR_CODE, Destination, NET1, NET2, Network, Person, World,
    ehrx_chaincode::{ehr::state, shim::contract::ContractChaincode},
    snapshot,
};
use ehrx_client::{
    ehr::{
        ClinicalSummary, EhrClient, EhrSettings, Error, HistoryOutcome, HistoryRequest,
        InMemoryKeyStore, KeyStore as _, PatientRef, ReplyError, RequestEntry,
        RequestStatus as RequestState, RequestedHistory, RequesterKey,
        interface::{
            AuditKind, CHAINCODE, EhrUploaded, ErrorCode, Key32, OutcomeKind, RecordMeta,
            ReplyOutcome, error_code, function::PUT_EHR,
        },
        synthetic::SyntheticPatient,
    },
    fabric::{ConnectionBuilder, Gateway, Identity, SigningIdentity},
};
use ehrx_proto::exchange::Purpose;
use hlf_testpeer::{
    Contract, Endorsed, Invocation, TestPeer, TxValidationCode, shim::ShimContract,
};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use tonic::{Status, transport::Channel};

/// A patient net2 holds no records of: net2 rejects requests about them.
const UNKNOWN_PATIENT: [u8; 32] = [0xee; 32];

/// Net1 and net2 of a live world, each behind its own stand-in peer,
/// whose event streams end after the blocks already committed, as when a
/// peer restarts: the SDK must reopen them.
struct Harness {
    world: Arc<World>,
    net1: ContractPeer,
    net2: ContractPeer,
    channels: [Channel; 2],
}

/// A channel to a stand-in peer.
async fn connect<C: Contract>(peer: &TestPeer<C>) -> Channel {
    peer.end_streams_at_the_head();
    let address = peer.serve().await.unwrap();
    ConnectionBuilder::new(address.to_string())
        .connect()
        .await
        .unwrap()
}

/// The settings of a client of `net`, whose two organisations both
/// endorse.
fn settings(net: &Network) -> EhrSettings {
    EhrSettings {
        network_id: net.id.into(),
        channel: CHANNEL.into(),
        chaincode: CHAINCODE.into(),
        organizations: vec![net.msp_id.clone(), net.msp_id.replace("Org1", "Org2")],
    }
}

/// A client of `net` acting as `who`, through `channel`.
fn client(channel: &Channel, net: &Network, who: &Person) -> EhrClient {
    let identity = SigningIdentity::new(
        Identity::new(who.msp_id.clone(), who.cert_pem.clone()),
        Arc::clone(&who.signer),
    );
    EhrClient::new(&Gateway::new(channel.clone(), identity), settings(net))
}

impl Harness {
    /// A live world whose net2 does with net1's requests what
    /// `destination` says.
    async fn start(destination: Destination) -> Self {
        let world = Arc::new(World::live().await);
        let net1 = TestPeer::new(world.net1.contract());
        let net2 = TestPeer::new(world.net2.contract());
        let channels = [connect(&net1).await, connect(&net2).await];
        world.relay(net1.clone(), destination);
        Self {
            world,
            net1,
            net2,
            channels,
        }
    }

    /// A client of net1 acting as `who`.
    fn net1_client(&self, who: &Person) -> EhrClient {
        client(&self.channels[0], &self.world.net1, who)
    }

    /// The registered doctor, with their code and key.
    fn doctor(&self) -> EhrClient {
        self.net1_client(&self.world.doctor)
            .with_requester_code(DOCTOR_CODE)
            .with_requester_key(self.doctor_key())
    }

    /// The X25519 key the doctor is registered with.
    fn doctor_key(&self) -> RequesterKey {
        RequesterKey::from_bytes(&self.world.doctor_key.to_bytes()).unwrap()
    }

    /// The registered uploader of net2.
    fn uploader(&self) -> EhrClient {
        client(&self.channels[1], &self.world.net2, &self.world.uploader)
    }

    /// The doctor's request for `patient`'s history, waiting up to
    /// `timeout` for its outcome.
    async fn request(
        &self,
        patient: [u8; 32],
        timeout: Duration,
    ) -> Result<RequestedHistory, Error> {
        let history = history(PatientRef::from_bytes(patient));
        self.doctor().request_history(&history, timeout).await
    }

    /// A request's entry on net2, as its admin reads it.
    async fn on_net2(&self, request_id: &str) -> RequestEntry {
        let net2 = &self.world.net2;
        serde_json::from_value(net2.status(&net2.admin, request_id).await).unwrap()
    }
}

fn history(patient_ref: PatientRef) -> HistoryRequest {
    HistoryRequest {
        patient_ref,
        destination_network: NET2.into(),
        categories: Vec::new(),
        purpose: Purpose::Treatment,
    }
}

#[tokio::test]
async fn upload_request_and_read_a_patients_history() {
    let harness = Harness::start(Destination::Answers).await;
    let world = &harness.world;
    let matching_key = ehrx_client::ehr::MatchingKey::from_bytes([9; 32]);
    let patient = SyntheticPatient::generate(11);
    let patient_ref = patient.identifiers.patient_ref(&matching_key).unwrap();

    // Upload to net2: one PutEhr for the whole Bundle, each resource in the
    // transient map, both organisations; the contract stores the content
    // privately and the metadata publicly.
    let uploaded = harness
        .uploader()
        .upload_record(&patient_ref, &patient.bundle_json())
        .await
        .unwrap();
    assert_eq!(uploaded.len(), patient.resources.len());
    for (upload, resource) in uploaded.iter().zip(&patient.resources) {
        let ledger = &world.net2.ledger;
        let content = world.net2.record_content(&upload.record_id).unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&content).unwrap(),
            *resource
        );
        let (resource_type, id) = upload.record_id.split_once('/').unwrap();
        assert_eq!(id, resource["id"]);
        let key = state::key::record(resource_type, id).unwrap();
        assert_eq!(ledger.state_of(&key), None, "the metadata is private");
        let meta: RecordMeta =
            serde_json::from_slice(&world.net2.private_state(&key).unwrap()).unwrap();
        assert_eq!(meta.patient_ref, Key32::new(*patient_ref.as_bytes()));
        assert_eq!(meta.sha256.bytes(), &upload.sha256);
        assert_eq!(
            harness.net2.endorsers(&upload.transaction_id).unwrap(),
            settings(&world.net2).organizations
        );
        assert_eq!(
            harness.net2.committed(&upload.transaction_id),
            Some((upload.block_number, TxValidationCode::Valid))
        );
    }

    // Request: the reply key goes to the store before the request is sent.
    let store = Arc::new(InMemoryKeyStore::new());
    let doctor = harness.doctor().with_key_store(store.clone());
    let requested = doctor
        .request_history(&history(patient_ref), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(requested.outcome, HistoryOutcome::ReplyReady);
    let request_id = requested.pending.request_id().to_string();
    assert_eq!(requested.pending.request.source_network, NET1);
    assert_eq!(requested.pending.request.requester_code, DOCTOR_CODE);
    let status = doctor.request_status(&request_id).await.unwrap();
    assert_eq!(status.status, RequestState::Fulfilled);
    assert_eq!(
        status.requester_encryption_key,
        Some(hex::encode(harness.doctor_key().public_key()))
    );
    let listed = doctor.list_requests().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].request_id, request_id);

    // Read, with the key as a restarted application would load it: the
    // records net2's responder sealed are the ones uploaded there.
    let key = store.load(&request_id).unwrap().unwrap();
    let reply = doctor.read_reply(&key).await.unwrap();
    assert_eq!(reply.responder_msp_id, world.responder.msp_id);
    // In upload order, the history whole.
    assert_eq!(reply.records.len(), patient.resources.len());
    for (record, original) in reply.records.iter().zip(&patient.resources) {
        assert_eq!(&record.resource, original);
    }
    assert!(reply.complete);
    let summary = ClinicalSummary::from_resources(reply.resources());
    assert_eq!(summary.patients.len(), 1);
    assert!(summary.to_text().contains(&patient.identifiers.name));

    // Anyone else is refused, the refusal is typed, and net1 records it.
    let colleague = harness.net1_client(&world.net1.person("colleague", 15));
    let refused = colleague.read_reply(&key).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Reply(ReplyError::Refused { reason }) if !reason.is_empty()),
        "{refused}"
    );
    let kinds = world.net1.audit_kinds(&patient_ref.to_hex()).await;
    assert_eq!(kinds.last(), Some(&AuditKind::RetrievalRefused.name()));
}

#[tokio::test]
async fn a_refusal_by_the_destination_is_an_outcome_with_its_reason() {
    let harness = Harness::start(Destination::Answers).await;
    let doctor = harness.doctor();
    let requested = harness
        .request(UNKNOWN_PATIENT, Duration::from_secs(10))
        .await
        .unwrap();
    // net2 rejected the request and its responder refused it with the
    // rejection's reason, which is the request's outcome on net1.
    let rejected = harness.on_net2(requested.pending.request_id()).await;
    assert_eq!(rejected.status, RequestState::Replied);
    assert_eq!(
        rejected.reply.map(|reply| reply.status),
        Some(ReplyOutcome::NotFound)
    );
    let reason = rejected.reason.unwrap();
    assert_eq!(
        requested.outcome,
        HistoryOutcome::Refused {
            state: RequestState::Failed,
            reason: Some(reason.clone()),
            refusal: Some(ReplyOutcome::NotFound),
        }
    );
    // The destination's signed refusal is still readable, as a typed error.
    let error = doctor
        .read_reply(&requested.pending.reply_key)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Reply(ReplyError::NotFound { reason: why }) if *why == reason),
        "{error}"
    );
}

#[tokio::test]
async fn a_request_refused_by_this_network_is_rejected_here() {
    let harness = Harness::start(Destination::Silent).await;
    let patient = PatientRef::from_bytes(harness.world.patient);
    // An unknown requester code is refused before anything is committed,
    // with the contract's code.
    let before = harness.net1.transactions().len();
    let stranger = harness.doctor().with_requester_code("DR-9999");
    let error = stranger
        .request_history(&history(patient), Duration::from_secs(10))
        .await
        .unwrap_err();
    let Error::Fabric(failed) = &error else {
        panic!("expected a refusal by the contract, got {error}");
    };
    assert_eq!(error_code(failed), Some(ErrorCode::AccessDenied), "{error}");
    assert_eq!(harness.net1.transactions().len(), before);

    // A second request within the minute breaks the rate limit: net1
    // commits a rejection and flags the doctor.
    let doctor = harness.doctor();
    let (_, first) = doctor.submit_request(&history(patient)).await.unwrap();
    assert_eq!(first.outcome, OutcomeKind::Validated);
    let requested = doctor
        .request_history(&history(patient), Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        matches!(&requested.outcome, HistoryOutcome::RejectedHere { reason } if !reason.is_empty()),
        "{:?}",
        requested.outcome
    );
    let security = harness.world.net1.audit_kinds("security").await;
    assert_eq!(security, [AuditKind::Flagged.name()]);
}

/// One client's requests are filed in turn, each after the one before
/// committed: two filed at once by clones of one client are the first and
/// the second request within the minute, so the rate limit (one a minute
/// here) validates one and rejects the other. The stand-in ledger has no
/// MVCC check, so two requests endorsed together would both read the empty
/// window and both be validated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_clients_requests_are_filed_in_turn() {
    let harness = Harness::start(Destination::Silent).await;
    let patient = PatientRef::from_bytes(harness.world.patient);
    let doctor = harness.doctor();
    let filings: Vec<_> = (0..2)
        .map(|_| {
            let doctor = doctor.clone();
            tokio::spawn(async move { doctor.submit_request(&history(patient)).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for filing in filings {
        let (_, submitted) = filing.await.unwrap().unwrap();
        outcomes.push(submitted.outcome);
    }
    outcomes.sort_by_key(|outcome| *outcome != OutcomeKind::Validated);
    assert_eq!(outcomes, [OutcomeKind::Validated, OutcomeKind::Rejected]);
    let security = harness.world.net1.audit_kinds("security").await;
    assert_eq!(security, [AuditKind::Flagged.name()]);
}

/// One client's uploads for one patient are filed in turn, as its
/// requests are: each reads and writes the patient's index. On the
/// stand-in ledger, which has no MVCC check, two uploads endorsed together
/// would both read the empty index and the later write would drop the
/// other's record from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_clients_uploads_for_a_patient_are_filed_in_turn() {
    let harness = Harness::start(Destination::Silent).await;
    let patient_ref = PatientRef::from_bytes([0x5a; 32]);
    let uploader = harness.uploader();
    let uploads: Vec<_> = ["in-turn-1", "in-turn-2", "in-turn-3"]
        .into_iter()
        .map(|id| {
            let uploader = uploader.clone();
            let record = serde_json::json!({
                "resourceType": "Observation", "id": id, "status": "final",
                "code": {"text": "Heart rate"},
            });
            tokio::spawn(async move {
                uploader
                    .upload_record(&patient_ref, record.to_string().as_bytes())
                    .await
            })
        })
        .collect();
    for upload in uploads {
        assert_eq!(upload.await.unwrap().unwrap().len(), 1);
    }
    let key = state::key::patient_records(&hex::encode(patient_ref.as_bytes())).unwrap();
    let index: Value =
        serde_json::from_slice(&harness.world.net2.private_state(&key).unwrap()).unwrap();
    let indexed: Vec<&String> = index["records"].as_object().unwrap().keys().collect();
    assert_eq!(
        indexed,
        [
            "Observation/in-turn-1",
            "Observation/in-turn-2",
            "Observation/in-turn-3"
        ]
    );
}

#[tokio::test]
async fn no_answer_before_the_deadline_is_a_timeout() {
    let harness = Harness::start(Destination::Silent).await;
    let started = std::time::Instant::now();
    let requested = harness
        .request(harness.world.patient, Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(requested.outcome, HistoryOutcome::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(5));
    let status = harness
        .doctor()
        .request_status(requested.pending.request_id())
        .await
        .unwrap();
    assert_eq!(status.status, RequestState::Validated);
}

#[tokio::test]
async fn a_refused_event_subscription_is_an_error_at_once_not_a_timeout() {
    let harness = Harness::start(Destination::Answers).await;
    harness.net1.refuse_events();
    let started = std::time::Instant::now();
    let error = harness
        .request(harness.world.patient, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("access denied"), "{error}");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_requester_code_is_needed_to_request() {
    let harness = Harness::start(Destination::Answers).await;
    let error = harness
        .net1_client(&harness.world.doctor)
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
    let harness = Harness::start(Destination::Answers).await;
    let before = snapshot(&harness.world.net2.ledger);
    let error = harness
        .uploader()
        .upload_record(
            &PatientRef::from_bytes([1; 32]),
            br#"{"resourceType":"Condition"}"#,
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Record(_)), "{error}");
    assert!(harness.net2.transactions().is_empty());
    assert_eq!(before, snapshot(&harness.world.net2.ledger));
}

#[tokio::test]
async fn a_reply_that_arrives_after_the_stream_ended_is_still_seen() {
    // The first stream ends at once (nothing after the request's block
    // yet); the reply commits while the listener is between two streams.
    let harness = Harness::start(Destination::AnswersAfter(Duration::from_millis(300))).await;
    let requested = harness
        .request(harness.world.patient, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(requested.outcome, HistoryOutcome::ReplyReady);
}

/// net2's contract behind a peer that stores other bytes than it was
/// sent: every result it endorses names another SHA-256.
struct Tampering(ShimContract<ContractChaincode>);

impl Contract for Tampering {
    async fn evaluate(&self, invocation: Invocation) -> Result<Vec<u8>, Status> {
        self.0.evaluate(invocation).await
    }

    async fn endorse(&self, invocation: Invocation) -> Result<Endorsed, Status> {
        let mut endorsed = self.0.endorse(invocation).await?;
        let mut uploaded: EhrUploaded = serde_json::from_slice(&endorsed.payload).unwrap();
        uploaded.records[0].sha256 = Key32::new(Sha256::digest(b"{}").into());
        endorsed.payload = serde_json::to_vec(&uploaded).unwrap();
        Ok(endorsed)
    }

    async fn order(&self, transaction_id: &str, function: &str) -> TxValidationCode {
        self.0.order(transaction_id, function).await
    }
}

#[tokio::test]
async fn an_endorsement_that_stored_other_bytes_is_never_submitted() {
    let world = World::live().await;
    let net2 = TestPeer::new(Tampering(world.net2.contract()));
    let channel = connect(&net2).await;
    let before = snapshot(&world.net2.ledger);
    let error = client(&channel, &world.net2, &world.uploader)
        .upload_record(
            &PatientRef::from_bytes([1; 32]),
            br#"{"resourceType":"Condition","id":"altered"}"#,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::UnexpectedResult { function: PUT_EHR, reason } if reason.contains("SHA-256")),
        "{error}"
    );
    assert!(net2.transactions().is_empty());
    assert_eq!(before, snapshot(&world.net2.ledger));
}

/// net2's contract behind a gateway whose other endorser is a block
/// behind at each function's first endorsement: the gateway reports that
/// the endorsers' answers differ, and nothing is written.
struct LaggingOnce {
    contract: ShimContract<ContractChaincode>,
    endorsements: std::sync::Mutex<std::collections::BTreeMap<String, u32>>,
}

impl Contract for LaggingOnce {
    async fn evaluate(&self, invocation: Invocation) -> Result<Vec<u8>, Status> {
        self.contract.evaluate(invocation).await
    }

    async fn endorse(&self, invocation: Invocation) -> Result<Endorsed, Status> {
        let first = {
            let mut endorsements = self.endorsements.lock().unwrap();
            let count = endorsements.entry(invocation.function()).or_default();
            *count += 1;
            *count == 1
        };
        if first {
            return Err(Status::aborted(
                "failed to collect enough transaction endorsements, see attached details \
                 for more info; peer0.org2:9051 (Net2Org2MSP): ProposalResponsePayloads do not match",
            ));
        }
        self.contract.endorse(invocation).await
    }

    async fn order(&self, transaction_id: &str, function: &str) -> TxValidationCode {
        self.contract.order(transaction_id, function).await
    }
}

/// Every change the SDK submits, an admin's, a consent and an upload, is
/// endorsed again when an endorser was a block behind, as requests are:
/// each commits at its second endorsement.
#[tokio::test]
async fn every_change_is_endorsed_again_when_an_endorser_lags() {
    use ehrx_client::ehr::interface::consent::{ConsentStatus, ConsentTerms, Recipient};
    let world = World::live().await;
    let net2 = TestPeer::new(LaggingOnce {
        contract: world.net2.contract(),
        endorsements: Default::default(),
    });
    let channel = connect(&net2).await;
    let admin = client(&channel, &world.net2, &world.net2.admin);
    let uploader = client(&channel, &world.net2, &world.uploader);

    let responder = Identity::new(
        world.uploader.msp_id.clone(),
        world.uploader.cert_pem.clone(),
    );
    admin
        .admin()
        .register_responder(&ehrx_client::ehr::member_identity(&responder))
        .await
        .unwrap();
    let terms = ConsentTerms {
        consent_id: "c-lag".into(),
        status: ConsentStatus::Active,
        patient_ref: Key32::new(world.patient),
        start_ms: 0,
        end_ms: 4_102_444_800_000,
        recipients: vec![Recipient::Network(NET1.into())],
        purposes: vec!["PURPOSE_TREATMENT".into()],
        categories: Vec::new(),
    };
    admin
        .put_consent(terms.to_fhir().to_string().as_bytes())
        .await
        .unwrap();
    uploader
        .upload_record(
            &PatientRef::from_bytes(world.patient),
            br#"{"resourceType":"Condition","id":"after-a-lag"}"#,
        )
        .await
        .unwrap();

    let endorsements = net2.contract().endorsements.lock().unwrap().clone();
    let twice: Vec<(&str, u32)> = endorsements
        .iter()
        .map(|(function, count)| (function.as_str(), *count))
        .collect();
    assert_eq!(
        twice,
        [("PutConsent", 2), ("PutEhr", 2), ("RegisterResponder", 2)]
    );
    assert_eq!(net2.transactions().len(), 3, "each committed once");
}

#[tokio::test]
async fn consents_are_stored_listed_revoked_and_disclosures_accounted_for() {
    use ehrx_client::ehr::interface::consent::{ConsentStatus, ConsentTerms, Recipient};
    let harness = Harness::start(Destination::Answers).await;
    let world = &harness.world;
    let admin = client(&harness.channels[1], &world.net2, &world.net2.admin);
    let patient = Key32::new(world.patient);

    // Checked here with the contract's reader: nothing is sent.
    let before = snapshot(&world.net2.ledger);
    let error = admin.put_consent(b"[1]").await.unwrap_err();
    assert!(matches!(error, Error::Consent(_)), "{error}");
    assert_eq!(before, snapshot(&world.net2.ledger));

    let terms = ConsentTerms {
        consent_id: "c-1".into(),
        status: ConsentStatus::Active,
        patient_ref: patient,
        start_ms: 0,
        end_ms: 4_102_444_800_000,
        recipients: vec![Recipient::Network(NET1.into())],
        purposes: vec!["PURPOSE_TREATMENT".into()],
        categories: Vec::new(),
    };
    let (sent, receipt) = admin
        .put_consent(terms.to_fhir().to_string().as_bytes())
        .await
        .unwrap();
    assert_eq!(sent, terms);
    let listed = admin.list_consents(&patient).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (&listed[0].terms, listed[0].stored_at_ms),
        (&terms, receipt.at_ms)
    );
    let revoked = admin.revoke_consent(&patient, "c-1").await.unwrap();
    let listed = admin.list_consents(&patient).await.unwrap();
    assert_eq!(listed[0].terms.status, ConsentStatus::Inactive);
    assert_eq!(listed[0].revoked_at_ms, Some(revoked.at_ms));
    let Err(Error::Fabric(error)) = admin.revoke_consent(&patient, "c-1").await else {
        panic!("a second revocation is refused by the contract");
    };
    assert_eq!(error_code(&error), Some(ErrorCode::Conflict), "{error}");

    // net2 does not require consent: the disclosure is accounted for,
    // with neither a consent nor break-glass as its basis.
    let requested = harness
        .request(world.patient, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(requested.outcome, HistoryOutcome::ReplyReady);
    let report = admin.disclosures(&patient).await.unwrap();
    assert_eq!(report.disclosures.len(), 1, "{}", report.to_text());
    let disclosure = &report.disclosures[0];
    assert_eq!(disclosure.request_id, requested.pending.request_id());
    assert_eq!(disclosure.network, NET1);
    assert_eq!(disclosure.requester_code, DOCTOR_CODE);
    assert!(
        disclosure.basis().contains("not required"),
        "{}",
        disclosure.basis()
    );
}
